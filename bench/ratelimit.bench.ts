// npm run bench:ratelimit: 3 worker processes archive BENCH_ENVELOPES (default 240) envelopes from an
// eSignAnyWhere account that allows BENCH_BUDGET (default 600) API calls per sliding minute (429 with
// Retry-After past it; every call also answers 100 ms later). Run twice in the same sitting: with the
// workers sharing the budget (ESAW_CALLS_PER_MINUTE, a token bucket in PostgreSQL) and without it
// (each worker only retries on 429). Prints envelopes/min against the best the budget allows (the
// budget divided by the API calls an envelope takes; measured from one minute in, as a fresh account
// may burst through its first sliding minute), the 429s met and the transfers that failed.
// Floor: at least 0.85 of the best, 0 transfers failed.
import { Client } from 'pg';
import { EsignAnywhereSimulator } from '../test/simulators/esignanywhere/esignanywhere.simulator';
import { benchDatabases, benchWorkerEnv, callbackUrl } from './bench-support';
import { startTestS3 } from '../test/support/s3';
import { startWorkerProcess, type WorkerProcess } from '../test/support/worker-process';

const ENVELOPES = Number(process.env.BENCH_ENVELOPES ?? 240);
const BUDGET = Number(process.env.BENCH_BUDGET ?? 600);
const WORKERS = 3;

async function main(): Promise<void> {
  const databases = await benchDatabases();
  const s3 = await startTestS3({ bucket: 'bench' });

  /** One run on a fresh database and a fresh account whose budget is untouched. */
  const run = async (shared: boolean) => {
    const databaseUrl = await databases.create('bench_ratelimit');
    const sim = new EsignAnywhereSimulator({ latencyMs: 100 });
    const simBaseUrl = await sim.start();
    const { user, token } = sim.createUser({ email: 'bench@example.com' });
    const workers: WorkerProcess[] = [];
    const db = new Client({ connectionString: databaseUrl });
    try {
      for (let i = 0; i < WORKERS; i++) {
        workers.push(
          await startWorkerProcess({
            ...(await benchWorkerEnv({ databaseUrl, simBaseUrl, token, s3Endpoint: s3.endpoint })),
            LOG_LEVEL: 'error',
            ESAW_CALLS_PER_MINUTE: shared ? String(BUDGET) : '0',
            RETRY_BASE_DELAY_MS: '2000',
          }),
        );
      }
      await db.connect();
      // Start-up used no API calls; the budget starts now.
      sim.configure({ callsPerMinute: BUDGET });
      const ids = Array.from({ length: ENVELOPES }, () => {
        const e = sim.createEnvelope({
          senderUserId: user.id,
          callbackUrl: null,
          documents: [{ fileName: 'contract.pdf', size: 50_000 }],
          recipients: [{ email: 'signer@example.com' }],
        });
        sim.finishEnvelope(e.id, 'Completed');
        return e.id;
      });
      const started = performance.now();
      for (const id of ids) {
        const answer = await fetch(callbackUrl(workers[0].url, id));
        if (answer.status !== 200) throw new Error(`callback answered ${answer.status}`);
      }
      let counts = { done: 0, failed: 0 };
      // The steady rate: from one minute in (a sliding-minute budget lets a fresh account burst through
      // its first minute) until 90% are done (before the tail, while slots empty).
      let steadyFrom: { at: number; done: number } | undefined;
      let steadyTo: { at: number; done: number } | undefined;
      const deadline = Date.now() + 15 * 60_000;
      while (Date.now() < deadline) {
        const { rows } = await db.query<{ done: number; failed: number }>(
          `SELECT count(*) FILTER (WHERE state = 'done')::int AS done,
                  count(*) FILTER (WHERE state IN ('failed', 'gone'))::int AS failed
             FROM transfers WHERE envelope_id = ANY($1::text[])`,
          [ids.map((id) => id.toLowerCase())],
        );
        counts = rows[0];
        const now = performance.now();
        if (!steadyFrom && now - started >= 60_000) steadyFrom = { at: now, done: counts.done };
        if (steadyFrom && !steadyTo && counts.done >= ENVELOPES * 0.9)
          steadyTo = { at: now, done: counts.done };
        if (counts.done + counts.failed === ENVELOPES) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const minutes = (performance.now() - started) / 60_000;
      const callsPerEnvelope = sim.budgetLog.allowed / ENVELOPES;
      const best = BUDGET / callsPerEnvelope;
      const achieved = counts.done / minutes;
      const steady =
        steadyFrom && steadyTo && steadyTo.at > steadyFrom.at
          ? ((steadyTo.done - steadyFrom.done) / (steadyTo.at - steadyFrom.at)) * 60_000
          : NaN;
      return { achieved, steady, best, callsPerEnvelope, throttled: sim.budgetLog.throttled, ...counts };
    } finally {
      for (const w of workers) await w.kill('SIGTERM');
      await db.end().catch(() => undefined);
      await sim.stop();
    }
  };

  try {
    console.log(
      `${ENVELOPES} envelopes, ${WORKERS} workers (ARCHIVE_CONCURRENCY 4 each), budget ${BUDGET} API calls per sliding minute, +100 ms per call`,
    );
    for (const shared of [true, false]) {
      const r = await run(shared);
      console.log(
        `${shared ? 'shared budget   ' : 'no shared budget'}: steady ${r.steady.toFixed(1)} envelopes/min of ${r.best.toFixed(1)} possible ` +
          `(${r.callsPerEnvelope.toFixed(2)} calls an envelope): ratio ${(r.steady / r.best).toFixed(2)}; ` +
          `whole run ${r.achieved.toFixed(1)}/min (the first minute may burst); ` +
          `429s ${r.throttled}; done ${r.done}, failed ${r.failed}` +
          (shared
            ? ' (floor: ratio 0.85, 0 failed)'
            : " (its calls are front-loaded into the fresh account's first minute, so its rates are not a steady state)"),
      );
    }
  } finally {
    await s3.close();
    await databases.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
