// npm run bench:scale: envelopes/min with 1 and with 3 worker processes when the platform is far away
// (every eSignAnyWhere API call answers BENCH_PLATFORM_MS later, default 150 ms) and so is S3 (every
// byte to and from s3rver crosses a link with BENCH_S3_RTT_MS round trip, default 20 ms). Each round
// sends BENCH_ENVELOPES (default 90) envelopes of 2 documents of 100 KB and times them until all are
// done; rounds alternate 1 and 3 workers (BENCH_ROUNDS per side, default 2). Prints medians and the
// ratio (floor: 3 workers at least 2.5x one).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres';
import { EsignAnywhereSimulator } from '../test/simulators/esignanywhere/esignanywhere.simulator';
import { TEST_CALLBACK_TOKEN } from '../test/support/app';
import { LatencyProxy } from '../test/support/latency-proxy';
import { startTestS3 } from '../test/support/s3';
import { startWorkerProcess, type WorkerProcess } from '../test/support/worker-process';

const ENVELOPES = Number(process.env.BENCH_ENVELOPES ?? 90);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const PLATFORM_MS = Number(process.env.BENCH_PLATFORM_MS ?? 150);
const S3_RTT_MS = Number(process.env.BENCH_S3_RTT_MS ?? 20);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  let adminUrl = process.env.DATABASE_URL;
  const embedded = adminUrl ? undefined : await startEmbeddedPostgres(join('.data', 'bench-postgres'));
  adminUrl ??= embedded!.url;
  const dbName = `bench_scale_${Date.now()}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const dbUrl = new URL(adminUrl);
  dbUrl.pathname = `/${dbName}`;
  const db = new Client({ connectionString: dbUrl.toString() });

  const sim = new EsignAnywhereSimulator({ latencyMs: PLATFORM_MS });
  const simBaseUrl = await sim.start();
  const { user, token } = sim.createUser({ email: 'bench@example.com' });
  const s3 = await startTestS3({ bucket: 'bench' });
  const s3Link = new LatencyProxy('127.0.0.1', Number(new URL(s3.endpoint).port), S3_RTT_MS);
  await s3Link.start();
  const workers: WorkerProcess[] = [];

  const startWorker = async () =>
    startWorkerProcess({
      DATABASE_URL: dbUrl.toString(),
      CALLBACK_TOKEN: TEST_CALLBACK_TOKEN,
      LOG_LEVEL: 'warn',
      ESAW_BASE_URL: simBaseUrl,
      ESAW_API_TOKEN: token,
      S3_ENDPOINT: s3Link.url,
      S3_BUCKET: 'bench',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
      RECONCILE_INTERVAL: '0',
      DATA_DIR: await mkdtemp(join(tmpdir(), 'bench-data-')),
    });

  /** Sends `count` envelopes' callbacks to the first worker and waits until every transfer is done. */
  const run = async (count: number): Promise<number> => {
    const ids = Array.from({ length: count }, () => {
      const e = sim.createEnvelope({
        senderUserId: user.id,
        callbackUrl: null,
        documents: [
          { fileName: 'contract.pdf', size: 100_000 },
          { fileName: 'annex.pdf', size: 100_000 },
        ],
        recipients: [{ email: 'signer@example.com' }],
      });
      sim.finishEnvelope(e.id, 'Completed');
      return e.id;
    });
    const started = performance.now();
    await Promise.all(
      ids.map(async (id) => {
        const answer = await fetch(
          `${workers[0].url}/callbacks/esignanywhere?envelope=${id}&action=envelopeFinished&token=${TEST_CALLBACK_TOKEN}`,
        );
        if (answer.status !== 200) throw new Error(`callback answered ${answer.status}`);
      }),
    );
    for (;;) {
      const { rows } = await db.query<{ open: number; failed: number }>(
        `SELECT count(*) FILTER (WHERE state <> 'done')::int AS open,
                count(*) FILTER (WHERE state IN ('failed', 'gone'))::int AS failed
           FROM transfers WHERE envelope_id = ANY($1::text[])`,
        [ids.map((id) => id.toLowerCase())],
      );
      if (rows[0].failed > 0) throw new Error(`${rows[0].failed} transfers failed`);
      if (rows[0].open === 0) return performance.now() - started;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const withWorkers = async (n: number): Promise<number> => {
    while (workers.length < n) workers.push(await startWorker());
    while (workers.length > n) await workers.pop()!.kill('SIGTERM');
    return run(ENVELOPES);
  };

  try {
    await db.connect();
    console.log(
      `${ENVELOPES} envelopes (2 x 100 KB) per round; platform +${PLATFORM_MS} ms per call, S3 +${S3_RTT_MS} ms round trip; ARCHIVE_CONCURRENCY 4 per worker`,
    );
    await withWorkers(1);
    await run(8); // warm-up, not counted
    const perMin: Record<1 | 3, number[]> = { 1: [], 3: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const n of round % 2 === 1 ? ([1, 3] as const) : ([3, 1] as const)) {
        const ms = await withWorkers(n);
        const rate = (ENVELOPES / ms) * 60_000;
        perMin[n].push(rate);
        console.log(`  round ${round}: ${n} worker${n > 1 ? 's' : ' '} ${rate.toFixed(0)} envelopes/min`);
      }
    }
    const one = median(perMin[1]);
    const three = median(perMin[3]);
    console.log(`median 1 worker  ${one.toFixed(0)} envelopes/min`);
    console.log(`median 3 workers ${three.toFixed(0)} envelopes/min`);
    console.log(`ratio (3 workers / 1 worker): ${(three / one).toFixed(2)} (floor 2.5)`);
  } finally {
    for (const w of workers) await w.kill('SIGTERM');
    await db.end().catch(() => undefined);
    await sim.stop();
    await s3Link.close();
    await s3.close();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
    await embedded?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
