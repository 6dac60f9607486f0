// npm run bench:ratelimit: 3 worker processes archive BENCH_ENVELOPES (default 120) envelopes from an
// eSignAnyWhere account that allows BENCH_BUDGET (default 600) API calls per sliding minute (429 with
// Retry-After past it; every call also answers 100 ms later). Run twice in the same sitting: with the
// workers sharing the budget (ESAW_CALLS_PER_MINUTE, a token bucket in PostgreSQL) and without it
// (each worker only retries on 429). Prints envelopes/min against the best the budget allows (the
// budget divided by the API calls an envelope takes), the 429s met and the transfers that failed.
// Floor: at least 0.85 of the best, 0 transfers failed.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres';
import { EsignAnywhereSimulator } from '../test/simulators/esignanywhere/esignanywhere.simulator';
import { TEST_CALLBACK_TOKEN } from '../test/support/app';
import { startTestS3 } from '../test/support/s3';
import { startWorkerProcess, type WorkerProcess } from '../test/support/worker-process';

const ENVELOPES = Number(process.env.BENCH_ENVELOPES ?? 120);
const BUDGET = Number(process.env.BENCH_BUDGET ?? 600);
const WORKERS = 3;

async function main(): Promise<void> {
  let adminUrl = process.env.DATABASE_URL;
  const embedded = adminUrl ? undefined : await startEmbeddedPostgres(join('.data', 'bench-postgres'));
  adminUrl ??= embedded!.url;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  const s3 = await startTestS3({ bucket: 'bench' });
  const databases: string[] = [];

  /** One run on a fresh database and a fresh account whose budget is untouched. */
  const run = async (shared: boolean) => {
    const dbName = `bench_ratelimit_${Date.now()}`;
    databases.push(dbName);
    await admin.query(`CREATE DATABASE ${dbName}`);
    const dbUrl = new URL(adminUrl);
    dbUrl.pathname = `/${dbName}`;
    const sim = new EsignAnywhereSimulator({ latencyMs: 100 });
    const simBaseUrl = await sim.start();
    const { user, token } = sim.createUser({ email: 'bench@example.com' });
    const workers: WorkerProcess[] = [];
    const db = new Client({ connectionString: dbUrl.toString() });
    try {
      for (let i = 0; i < WORKERS; i++) {
        workers.push(
          await startWorkerProcess({
            DATABASE_URL: dbUrl.toString(),
            CALLBACK_TOKEN: TEST_CALLBACK_TOKEN,
            LOG_LEVEL: 'error',
            ESAW_BASE_URL: simBaseUrl,
            ESAW_API_TOKEN: token,
            ESAW_CALLS_PER_MINUTE: shared ? String(BUDGET) : '0',
            S3_ENDPOINT: s3.endpoint,
            S3_BUCKET: 'bench',
            S3_ACCESS_KEY_ID: 'S3RVER',
            S3_SECRET_ACCESS_KEY: 'S3RVER',
            S3_FORCE_PATH_STYLE: 'true',
            RECONCILE_INTERVAL: '0',
            RETRY_BASE_DELAY_MS: '2000',
            DATA_DIR: await mkdtemp(join(tmpdir(), 'bench-data-')),
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
        const answer = await fetch(
          `${workers[0].url}/callbacks/esignanywhere?envelope=${id}&action=envelopeFinished&token=${TEST_CALLBACK_TOKEN}`,
        );
        if (answer.status !== 200) throw new Error(`callback answered ${answer.status}`);
      }
      let counts = { done: 0, failed: 0 };
      const deadline = Date.now() + 15 * 60_000;
      while (Date.now() < deadline) {
        const { rows } = await db.query<{ done: number; failed: number }>(
          `SELECT count(*) FILTER (WHERE state = 'done')::int AS done,
                  count(*) FILTER (WHERE state IN ('failed', 'gone'))::int AS failed
             FROM transfers WHERE envelope_id = ANY($1::text[])`,
          [ids.map((id) => id.toLowerCase())],
        );
        counts = rows[0];
        if (counts.done + counts.failed === ENVELOPES) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const minutes = (performance.now() - started) / 60_000;
      const callsPerEnvelope = sim.budgetLog.allowed / ENVELOPES;
      const best = BUDGET / callsPerEnvelope;
      const achieved = counts.done / minutes;
      return { achieved, best, callsPerEnvelope, throttled: sim.budgetLog.throttled, ...counts };
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
        `${shared ? 'shared budget   ' : 'no shared budget'}: ${r.achieved.toFixed(1)} envelopes/min of ${r.best.toFixed(1)} possible ` +
          `(${r.callsPerEnvelope.toFixed(2)} calls an envelope): ratio ${(r.achieved / r.best).toFixed(2)}; ` +
          `429s ${r.throttled}; done ${r.done}, failed ${r.failed}` +
          (shared ? ' (floor: ratio 0.85, 0 failed)' : ''),
      );
    }
  } finally {
    await s3.close();
    for (const name of databases) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
    await embedded?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
