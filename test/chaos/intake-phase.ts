import { setTimeout as delay } from 'node:timers/promises';
import { queryAt } from '../support/database';
import type { Violation } from './archive-checks';
import type { KillablePostgres } from './killable-postgres';
import type { SeededRandom } from './seeded-random';
import { ServicePool } from './service-pool';
import type { ChaosContext } from './chaos-context';

const PLATFORM = 'esignanywhere';
const MAX_IN_FLIGHT = 12;
/** Ways a callback may be refused: the platform retries all of them. */
const REFUSALS = ['503', 'connection', 'timeout', 'no service up'];

export interface IntakeReport {
  callbacks: number;
  distinctEnvelopes: number;
  acked: number;
  refused: number;
  /** Refusals by cause: `503`, `connection`, `timeout`, or another status. */
  refusedBy: Record<string, number>;
  /** Acknowledged callbacks without their committed rows. */
  lost: number;
  serviceKills: number;
  postgresKills: number;
  durationMs: number;
  violations: Violation[];
}

interface PlannedCallback {
  /** As sent: some in upper case, as nothing obliges a platform to send lower case. */
  envelope: string;
  action: 'envelopeFinished' | 'envelopeExpired';
  atMs: number;
}

interface PlannedEvent {
  atMs: number;
  kind: 'service' | 'postgres';
  restartAfterMs: number;
}

function planIntake(
  rng: SeededRandom,
  scale: number,
): { callbacks: PlannedCallback[]; events: PlannedEvent[] } {
  const total = Math.max(250, Math.round(3000 * scale));
  const durationMs = Math.max(15_000, Math.round(60_000 * scale));
  const seen: string[] = [];
  const callbacks: PlannedCallback[] = [];
  for (let i = 0; i < total; i++) {
    let id: string;
    if (seen.length > 0 && rng.chance(0.3)) id = rng.pick(seen);
    else {
      id = rng.uuid();
      seen.push(id);
    }
    callbacks.push({
      envelope: rng.chance(0.2) ? id.toUpperCase() : id,
      action: rng.chance(0.1) ? 'envelopeExpired' : 'envelopeFinished',
      atMs: Math.round((i * durationMs) / total),
    });
  }
  const events: PlannedEvent[] = [];
  const serviceKills = Math.max(1, Math.round(4 * scale));
  const postgresKills = Math.max(1, Math.round(2 * scale));
  for (let i = 0; i < serviceKills; i++) {
    events.push({
      atMs: Math.round(rng.between(0.1, 0.85) * durationMs),
      kind: 'service',
      restartAfterMs: rng.int(300, 2000),
    });
  }
  for (let i = 0; i < postgresKills; i++) {
    events.push({
      atMs: Math.round(rng.between(0.1, 0.85) * durationMs),
      kind: 'postgres',
      restartAfterMs: rng.int(500, 3000),
    });
  }
  events.sort((a, b) => a.atMs - b.atMs);
  return { callbacks, events };
}

/**
 * Phase 1: two service processes take a burst of callbacks while a service process and PostgreSQL
 * are SIGKILLed and started again. Every callback answered 200 must have its committed rows.
 */
export async function runIntakePhase(
  ctx: ChaosContext,
  rng: SeededRandom,
  runtimeRng: SeededRandom,
  pg: KillablePostgres,
): Promise<IntakeReport> {
  const { callbacks, events } = planIntake(rng, ctx.scale);
  const databaseUrl = await pg.createDatabase('chaos_intake');
  const pool = new ServicePool('intake', 2, { ...ctx.baseEnv, DATABASE_URL: databaseUrl }, ctx.logDir);
  try {
    return await burst(ctx, runtimeRng, pg, pool, databaseUrl, callbacks, events);
  } finally {
    await pool.stopAll();
  }
}

async function burst(
  ctx: ChaosContext,
  runtimeRng: SeededRandom,
  pg: KillablePostgres,
  pool: ServicePool,
  databaseUrl: string,
  callbacks: PlannedCallback[],
  events: PlannedEvent[],
): Promise<IntakeReport> {
  const targetRng = runtimeRng.fork('targets');
  const callbackRng = runtimeRng.fork('callbacks');
  await pool.startAll();
  ctx.log(`intake: ${callbacks.length} callbacks over ${callbacks.at(-1)!.atMs} ms, ${events.length} kills`);

  const acks = new Map<string, number>();
  const refusedBy: Record<string, number> = {};
  let acked = 0;
  let refused = 0;
  const started = Date.now();
  const restarts: Promise<void>[] = [];
  let postgresBack: Promise<void> = Promise.resolve();
  let serviceKills = 0;
  let postgresKills = 0;

  const timeline = (async () => {
    for (const event of events) {
      await delay(Math.max(0, started + event.atMs - Date.now()));
      if (event.kind === 'postgres') {
        await postgresBack;
        await pg.kill();
        postgresKills++;
        ctx.log(`intake: PostgreSQL SIGKILLed; back in ${event.restartAfterMs} ms`);
        postgresBack = delay(event.restartAfterMs).then(() => pg.restart());
        restarts.push(postgresBack);
      } else {
        const candidates = pool.running();
        if (candidates.length === 0) continue;
        const slot = targetRng.pick(candidates);
        await pool.kill(slot);
        serviceKills++;
        ctx.log(`intake: ${slot.name} SIGKILLed; restart in ${event.restartAfterMs} ms`);
        restarts.push(delay(event.restartAfterMs).then(() => pool.start(slot)));
      }
    }
  })();

  let inFlight = 0;
  const sends: Promise<void>[] = [];
  for (const callback of callbacks) {
    await delay(Math.max(0, started + callback.atMs - Date.now()));
    while (inFlight >= MAX_IN_FLIGHT) await delay(5);
    const targets = pool.running();
    if (targets.length === 0) {
      refused++;
      refusedBy['no service up'] = (refusedBy['no service up'] ?? 0) + 1;
      continue;
    }
    const target = callbackRng.pick(targets).run!.url;
    inFlight++;
    sends.push(
      send(target, callback, ctx.callbackToken)
        .then((outcome) => {
          if (outcome === '200') {
            acked++;
            const key = `${callback.envelope.toLowerCase()}|${callback.action}`;
            acks.set(key, (acks.get(key) ?? 0) + 1);
          } else {
            refused++;
            refusedBy[outcome] = (refusedBy[outcome] ?? 0) + 1;
          }
        })
        .finally(() => inFlight--),
    );
  }
  await Promise.all(sends);
  await timeline;
  await Promise.all(restarts);
  await pg.restart();
  for (const slot of pool.slots) await pool.start(slot);
  const durationMs = Date.now() - started;

  // Everything is back: read what was committed.
  const noted = await queryAt<{
    platform: string;
    envelope_id: string;
    action: string;
    received_count: number;
  }>(
    databaseUrl,
    'SELECT platform, envelope_id::text AS envelope_id, action, received_count FROM noted_events',
  );
  const transfers = await queryAt<{ platform: string; envelope_id: string }>(
    databaseUrl,
    'SELECT platform, envelope_id::text AS envelope_id FROM transfers',
  );

  const notedByKey = new Map(noted.map((r) => [`${r.platform}|${r.envelope_id}|${r.action}`, r]));
  const transferKeys = new Set(transfers.map((r) => `${r.platform}|${r.envelope_id}`));
  const violations: Violation[] = [];
  let lost = 0;
  for (const [key, count] of [...acks].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const [envelopeId, action] = key.split('|');
    const row = notedByKey.get(`${PLATFORM}|${envelopeId}|${action}`);
    const hasTransfer = transferKeys.has(`${PLATFORM}|${envelopeId}`);
    const missing = !row || !hasTransfer ? count : Math.max(0, count - row.received_count);
    if (missing > 0) {
      lost += missing;
      violations.push({
        invariant: 'no lost callbacks',
        detail:
          `envelope ${envelopeId} action ${action} acknowledged ${count} time(s); ` +
          (row ? `noted_events.received_count ${row.received_count}` : 'no noted_events row') +
          (hasTransfer ? '' : '; no transfers row'),
      });
    }
  }
  // A callback the service cannot note is refused with 503 (the platform retries it), not another status.
  for (const [cause, count] of Object.entries(refusedBy)) {
    if (REFUSALS.includes(cause)) continue;
    violations.push({
      invariant: 'refusals are 503',
      detail: `${count} callback(s) answered ${cause} instead of 200 or 503 (see ${ctx.logDir}/intake-*.log)`,
    });
  }
  return {
    callbacks: callbacks.length,
    distinctEnvelopes: new Set(callbacks.map((c) => c.envelope.toLowerCase())).size,
    acked,
    refused,
    refusedBy,
    lost,
    serviceKills,
    postgresKills,
    durationMs,
    violations,
  };
}

async function send(base: string, callback: PlannedCallback, token: string): Promise<string> {
  const url =
    `${base}/callbacks/esignanywhere?envelope=${callback.envelope}` +
    `&action=${callback.action}&token=${encodeURIComponent(token)}`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    await response.arrayBuffer().catch(() => undefined);
    return String(response.status);
  } catch (error) {
    return (error as Error).name === 'TimeoutError' ? 'timeout' : 'connection';
  }
}
