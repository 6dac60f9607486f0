import { setTimeout as delay } from 'node:timers/promises';
import { EsignAnywhereSimulator } from '../simulators/esignanywhere/esignanywhere.simulator';
import { queryAt } from '../support/database';
import { S3FaultProxy, type S3FaultEvent } from '../support/s3-fault-proxy';
import { startTestS3, type TestS3 } from '../support/s3';
import { checkArchive, type ArchiveCheckReport } from './archive-checks';
import { DeleteWitness } from './delete-witness';
import { armFaults, planArchive, type ArmedFaults, type PlannedEnvelope } from './archive-plan';
import type { ChaosContext } from './chaos-context';
import type { KillablePostgres } from './killable-postgres';
import type { SeededRandom } from './seeded-random';
import { ServicePool, type ServiceSlot } from './service-pool';

const WORKERS = 3;
const SETTLED = ['done', 'failed', 'gone', 'dismissed', 'needs_consent'];

export interface ArchiveReport {
  envelopes: number;
  badEnvelopes: number;
  bigEnvelopes: number;
  armed: Pick<ArmedFaults, 'platform' | 's3'>;
  /** Platform faults that applied, by fault kind (from the simulator's request log). */
  platformFaultsFired: Record<string, number>;
  s3FaultsFired: Record<string, number>;
  s3Events: S3FaultEvent[];
  workerKills: number;
  midUploadKills: number;
  postgresKills: number;
  pauses: number;
  longestPauseMs: number;
  skippedEvents: number;
  callbacksUnacked: string[];
  settled: boolean;
  durationMs: number;
  checks: ArchiveCheckReport;
}

interface LeaseRow {
  envelope_id: string;
  transfer_id: string;
  state: string;
  lease_owner: string | null;
}

/**
 * Phase 2: envelopes archived by three workers while workers are killed and paused past their
 * lease, PostgreSQL is killed, and the platform API and S3 misbehave; then every invariant is checked.
 */
export async function runArchivePhase(
  ctx: ChaosContext,
  rng: SeededRandom,
  runtimeRng: SeededRandom,
  pg: KillablePostgres,
): Promise<ArchiveReport> {
  const plan = planArchive(rng, ctx.scale);
  const sim = new EsignAnywhereSimulator();
  await sim.start();
  const s3 = await startTestS3({ bucket: 'chaos-archive' });
  const proxy = new S3FaultProxy('127.0.0.1', Number(new URL(s3.endpoint).port));
  await proxy.start();
  const { user, token } = sim.createUser({
    email: 'sender@example.com',
    givenName: 'Sam',
    surname: 'Sender',
  });

  for (const e of plan.envelopes) {
    sim.createEnvelope({
      id: e.id,
      senderUserId: user.id,
      name: `Chaos ${e.id.slice(0, 8)}`,
      documents: e.documents,
      legalDocuments: e.legalDocuments,
      separateAuditTrailPerDocument: e.separateAuditTrailPerDocument,
      metaData: '<Dms><Customer><Id>C-17</Id></Customer><DocType>contract</DocType></Dms>',
      recipients: [{ email: 'signer@example.com' }],
      callbackUrl: null,
    });
    sim.finishEnvelope(e.id, e.finish);
  }
  const armed = armFaults(rng, ctx.scale, sim, plan.envelopes, (rule) => proxy.addFault(rule));
  const databaseUrl = await pg.createDatabase('chaos_archive');
  const witness = new DeleteWitness(sim, s3, databaseUrl);
  witness.attach();
  const pool = new ServicePool(
    'worker',
    WORKERS,
    {
      ...ctx.baseEnv,
      DATABASE_URL: databaseUrl,
      ESAW_BASE_URL: sim.baseUrl,
      ESAW_API_TOKEN: token,
      S3_ENDPOINT: proxy.endpoint,
      S3_BUCKET: s3.bucket,
      ARCHIVE_ENABLED: 'true',
      RECONCILE_INTERVAL: '0',
      ARCHIVE_CONCURRENCY: '2',
      ARCHIVE_POLL_INTERVAL_MS: '200',
      ARCHIVE_LEASE_MS: String(plan.leaseMs),
      RETRY_BASE_DELAY_MS: '200',
      RETRY_MAX_DELAY_MS: '2000',
      MAX_ATTEMPTS: '100',
      LOG_LEVEL: 'info',
    },
    ctx.logDir,
  );
  // Whatever happens, no process, server or proxy of this phase outlives it.
  try {
    await pool.startAll();
    const store = s3.createStore({ prefix: '' });
    ctx.log(
      `archive: ${plan.envelopes.length} envelopes (${plan.envelopes.filter((e) => e.bad).length} bad, ` +
        `${plan.envelopes.filter((e) => e.big).length} with a multipart file), ${plan.events.length} chaos events ` +
        `over ${plan.windowMs} ms`,
    );

    // Runtime choices (whom to hit, where to send a callback) draw from streams of their own.
    const targetRng = runtimeRng.fork('targets');
    const callbackRng = runtimeRng.fork('callbacks');
    const started = Date.now();
    const report = {
      workerKills: 0,
      midUploadKills: 0,
      postgresKills: 0,
      pauses: 0,
      longestPauseMs: 0,
      skippedEvents: 0,
    };
    const background: Promise<unknown>[] = [];
    const chaosEvents: { at: number; text: string }[] = [];
    const note = (text: string): void => {
      chaosEvents.push({ at: Date.now(), text });
      ctx.log(`archive: ${text}`);
    };
    const transferIds = new Map<string, string>();

    const leases = async (): Promise<LeaseRow[]> =>
      queryAt<LeaseRow>(
        databaseUrl,
        `SELECT envelope_id::text AS envelope_id, id::text AS transfer_id, state, lease_owner FROM transfers
        WHERE state IN ('checking', 'archiving') AND lease_owner IS NOT NULL ORDER BY envelope_id`,
      ).catch(() => []);
    const slotOfOwner = (owner: string | null): ServiceSlot | undefined => {
      const pid = Number(owner?.split(':').at(-2));
      const slot = Number.isInteger(pid) ? pool.slotOfPid(pid) : undefined;
      return slot?.state === 'running' ? slot : undefined;
    };
    const allSettled = async (): Promise<boolean> => {
      const rows = await queryAt<{ envelope_id: string; state: string }>(
        databaseUrl,
        'SELECT envelope_id::text AS envelope_id, state FROM transfers',
      ).catch(() => undefined);
      if (!rows) return false;
      const states = new Map(rows.map((r) => [r.envelope_id, r.state]));
      return plan.envelopes.every((e) => SETTLED.includes(states.get(e.id) ?? ''));
    };

    /** Workers holding a lease, with a multipart upload of their transfer in flight when `midUpload`. */
    const candidates = async (midUpload: boolean): Promise<ServiceSlot[]> => {
      let held = await leases();
      if (midUpload) {
        const uploads = await store.listMultipartUploads().catch(() => []);
        held = held.filter((l) =>
          uploads.some((u) => u.objectKey.includes(l.envelope_id) || u.objectKey.includes(l.transfer_id)),
        );
      }
      const slots = held.map((l) => slotOfOwner(l.lease_owner)).filter((s): s is ServiceSlot => !!s);
      return [...new Set(slots)].sort((a, b) => (a.name < b.name ? -1 : 1));
    };

    /**
     * Whom an event hits: a worker in the middle of a multipart upload, or one holding a lease,
     * waited for a few seconds; else anyone running.
     */
    const chooseWorker = async (
      target: 'mid-upload' | 'leaseholder' | 'any',
    ): Promise<{ slot: ServiceSlot; midUpload: boolean } | undefined> => {
      const until = Date.now() + (target === 'mid-upload' ? 6_000 : 4_000);
      while (target !== 'any' && Date.now() < until) {
        const busy = await candidates(target === 'mid-upload');
        if (busy.length > 0) return { slot: targetRng.pick(busy), midUpload: target === 'mid-upload' };
        await delay(150);
      }
      const running = pool.running();
      return running.length > 0 ? { slot: targetRng.pick(running), midUpload: false } : undefined;
    };

    let postgresBack: Promise<void> = Promise.resolve();
    const timeline = (async () => {
      for (const event of plan.events) {
        await delay(Math.max(0, started + event.atMs - Date.now()));
        if (await allSettled()) {
          report.skippedEvents++;
          continue;
        }
        if (event.kind === 'postgres') {
          await postgresBack;
          await pg.kill();
          report.postgresKills++;
          note(`PostgreSQL SIGKILLed; back in ${event.durationMs} ms`);
          postgresBack = delay(event.durationMs)
            .then(() => pg.restart())
            .then(() => note('PostgreSQL started again'));
          background.push(postgresBack);
          continue;
        }
        const chosen = await chooseWorker(event.target);
        if (!chosen) {
          report.skippedEvents++;
          continue;
        }
        const { slot, midUpload } = chosen;
        const pid = slot.run?.pid;
        if (event.kind === 'kill') {
          await pool.kill(slot);
          report.workerKills++;
          if (midUpload) report.midUploadKills++;
          note(
            `${slot.name} (pid ${pid}) SIGKILLed${midUpload ? ' mid-upload' : ''}; restart in ${event.durationMs} ms`,
          );
          background.push(
            delay(event.durationMs)
              .then(() => pool.start(slot))
              .then(() => note(`${slot.name} started again (pid ${slot.run?.pid})`)),
          );
        } else {
          pool.pause(slot);
          report.pauses++;
          report.longestPauseMs = Math.max(report.longestPauseMs, event.durationMs);
          note(`${slot.name} (pid ${pid}) SIGSTOPped for ${event.durationMs} ms (lease ${plan.leaseMs} ms)`);
          background.push(
            delay(event.durationMs).then(() => {
              if (slot.state !== 'paused' || slot.run?.pid !== pid) return;
              pool.resume(slot);
              note(`${slot.name} (pid ${pid}) SIGCONTinued`);
            }),
          );
        }
      }
    })();

    const callbacksUnacked: string[] = [];
    const callbacks = plan.envelopes
      .flatMap((e) => [
        { envelope: e, atMs: e.callbackAtMs },
        ...(e.repeatCallbackAtMs === undefined ? [] : [{ envelope: e, atMs: e.repeatCallbackAtMs }]),
      ])
      .sort((a, b) => a.atMs - b.atMs);
    const sender = (async () => {
      const sends: Promise<void>[] = [];
      for (const { envelope, atMs } of callbacks) {
        await delay(Math.max(0, started + atMs - Date.now()));
        sends.push(
          deliver(pool, envelope, ctx.callbackToken, callbackRng).then(async (acked) => {
            if (!acked) callbacksUnacked.push(envelope.id);
            else await learnTransferId(envelope);
          }),
        );
      }
      await Promise.all(sends);
    })();

    // S3 rules also match the transfer's own keys (a staging area named after the transfer).
    async function learnTransferId(envelope: PlannedEnvelope): Promise<void> {
      if (transferIds.has(envelope.id)) return;
      for (let i = 0; i < 50; i++) {
        const rows = await queryAt<{ id: string }>(
          databaseUrl,
          'SELECT id::text AS id FROM transfers WHERE envelope_id = $1',
          [envelope.id],
        ).catch(() => []);
        if (rows.length > 0) {
          transferIds.set(envelope.id, rows[0].id);
          armed.s3Keys.get(envelope.id)?.push(rows[0].id);
          return;
        }
        await delay(200);
      }
    }

    await Promise.all([timeline, sender]);
    await Promise.all(background);
    await pg.restart();
    for (const slot of pool.slots) {
      if (slot.state === 'paused') pool.resume(slot);
      if (slot.state === 'down') await pool.start(slot);
    }
    ctx.log(`archive: chaos over after ${Date.now() - started} ms; waiting for every transfer to settle`);
    const deadline = Date.now() + plan.settleMs;
    let settled = false;
    while (Date.now() < deadline) {
      if (await allSettled()) {
        settled = true;
        break;
      }
      await delay(1_000);
    }
    const durationMs = Date.now() - started;
    ctx.log(`archive: ${settled ? 'settled' : 'NOT settled'} after ${durationMs} ms; stopping workers`);
    await pool.stopAll();

    const s3Events = proxy.events();
    const checks = await checkArchive({
      sim,
      s3,
      store,
      databaseUrl,
      envelopes: plan.envelopes,
      settled,
      s3Events,
      witness,
      chaosEvents,
    });
    const platformFaultsFired: Record<string, number> = {};
    for (const entry of sim.requests()) {
      for (const fault of entry.faults) {
        const kind = fault.split(':')[0];
        if (kind === 'observe') continue;
        platformFaultsFired[kind] = (platformFaultsFired[kind] ?? 0) + 1;
      }
    }
    const s3FaultsFired: Record<string, number> = {};
    for (const event of s3Events) s3FaultsFired[event.kind] = (s3FaultsFired[event.kind] ?? 0) + 1;

    return {
      envelopes: plan.envelopes.length,
      badEnvelopes: plan.envelopes.filter((e) => e.bad).length,
      bigEnvelopes: plan.envelopes.filter((e) => e.big).length,
      armed: { platform: armed.platform, s3: armed.s3 },
      platformFaultsFired,
      s3FaultsFired,
      s3Events,
      ...report,
      callbacksUnacked,
      settled,
      durationMs,
      checks,
    };
  } finally {
    await pool.stopAll();
    await proxy.stop();
    await sim.stop();
    await closeS3(s3);
  }
}

async function closeS3(s3: TestS3): Promise<void> {
  await s3.close().catch(() => undefined);
}

/** Sends an envelope's callback to a running worker until one answers 200 (as a platform retries). */
async function deliver(
  pool: ServicePool,
  envelope: PlannedEnvelope,
  token: string,
  runtimeRng: SeededRandom,
): Promise<boolean> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const running = pool.running();
    if (running.length > 0) {
      const url =
        `${runtimeRng.pick(running).run!.url}/callbacks/esignanywhere?envelope=${envelope.id}` +
        `&action=envelopeFinished&token=${encodeURIComponent(token)}`;
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(8_000) });
        await response.arrayBuffer().catch(() => undefined);
        if (response.status === 200) return true;
      } catch {
        /* killed, paused or not up yet: try again */
      }
    }
    await delay(300);
  }
  return false;
}
