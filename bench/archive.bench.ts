// npm run bench:archive: (a) 200 envelopes of 3 documents of 1 MB, (b) one 300 MB PDF, through the
// worker (its own process, concurrency 4) and, in the same run, through a baseline that only streams
// the same files from the simulator into s3rver. Both sides are warmed up first; (a) then runs in
// alternating rounds (BENCH_ROUNDS, default 5) and reports medians and each round's ratio. Prints
// envelopes/min, MB/s, ratios, the simulator+s3rver process's CPU per envelope and peak RSS.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres';
import { EsignAnywhereSimulator } from '../test/simulators/esignanywhere/esignanywhere.simulator';
import { TEST_CALLBACK_TOKEN } from '../test/support/app';
import { startTestS3 } from '../test/support/s3';
import { startWorkerProcess, type WorkerProcess } from '../test/support/worker-process';

const ENVELOPES = Number(process.env.BENCH_ENVELOPES ?? 200);
const DOC_MB = 1;
const BIG_MB = Number(process.env.BENCH_BIG_MB ?? 300);
const CONCURRENCY = 4;
const PART_MB = 8;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/** Envelopes each side archives before the timed rounds, so that neither is measured cold. */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 20);

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
}

/** Samples a process's RSS every 20 ms until stopped; returns the peak. */
function sampleRss(pid: number): { stop(): Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, await rssOf(pid));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

async function main(): Promise<void> {
  let adminUrl = process.env.DATABASE_URL;
  const embedded = adminUrl ? undefined : await startEmbeddedPostgres(join('.data', 'bench-postgres'));
  adminUrl ??= embedded!.url;
  const dbName = `bench_archive_${Date.now()}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const dbUrl = new URL(adminUrl);
  dbUrl.pathname = `/${dbName}`;

  const sim = new EsignAnywhereSimulator();
  const simBaseUrl = await sim.start();
  const { user, token } = sim.createUser({ email: 'bench@example.com' });
  const s3 = await startTestS3({ bucket: 'bench' });
  let worker: WorkerProcess | undefined;

  const makeEnvelopes = (count: number, docMb: number, docs: number) =>
    Array.from({ length: count }, () => {
      const e = sim.createEnvelope({
        senderUserId: user.id,
        callbackUrl: null,
        documents: Array.from({ length: docs }, (_, i) => ({
          fileName: `doc-${i + 1}.pdf`,
          size: docMb * 1024 * 1024,
        })),
        recipients: [{ email: 'signer@example.com' }],
      });
      sim.finishEnvelope(e.id, 'Completed');
      return e;
    });

  /** How busy this process (the simulator and s3rver) was while `work` ran: % of one core, and ms per envelope. */
  const parentCpu = async <T>(
    envelopes: number,
    work: () => Promise<T & { ms: number }>,
  ): Promise<T & { ms: number; parentCpu: string }> => {
    const before = process.cpuUsage();
    const result = await work();
    const used = process.cpuUsage(before);
    const usedMs = (used.user + used.system) / 1000;
    const share = Math.round((usedMs / result.ms) * 100);
    return { ...result, parentCpu: `${share}% CPU, ${(usedMs / envelopes).toFixed(0)} ms/envelope` };
  };

  const runBaseline = async (envelopes: { id: string }[]) => {
    const jobFile = join(await mkdtemp(join(tmpdir(), 'bench-')), 'job.json');
    const files = envelopes.map((e) => ({
      id: e.id,
      fileIds: sim.envelopeFiles(e.id).map((f) => f.fileId),
    }));
    await writeFile(
      jobFile,
      JSON.stringify({
        simBaseUrl,
        token,
        endpoint: s3.endpoint,
        bucket: 'bench',
        partSizeMb: PART_MB,
        concurrency: CONCURRENCY,
        envelopes: files,
      }),
    );
    const child: ChildProcess = fork(join(__dirname, 'baseline-archive.worker.js'), [jobFile], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const rss = sampleRss(child.pid!);
    const idle = await rssOf(child.pid!);
    const ms = await new Promise<number>((resolve, reject) => {
      child.once('message', (m: { ms: number }) => resolve(m.ms));
      child.once('exit', (code) => code !== 0 && reject(new Error(`baseline exited with ${code}`)));
    });
    const peak = await rss.stop();
    child.kill();
    return { ms, peak, idle };
  };

  const bytesOf = (envelopes: { id: string }[]) =>
    envelopes.reduce((sum, e) => sum + sim.envelopeFiles(e.id).reduce((s, f) => s + f.size, 0), 0);

  const runWorker = async (envelopes: { id: string }[]) => {
    const pid = worker!.child.pid!;
    await new Promise((r) => setTimeout(r, 500));
    const idle = await rssOf(pid);
    const rss = sampleRss(pid);
    const started = Date.now();
    for (const e of envelopes) {
      const res = await fetch(
        `${worker!.url}/callbacks/esignanywhere?envelope=${e.id}&action=envelopeFinished&token=${TEST_CALLBACK_TOKEN}`,
      );
      if (res.status !== 200) throw new Error(`callback answered ${res.status}`);
    }
    const db = new Client({ connectionString: dbUrl.toString() });
    await db.connect();
    for (;;) {
      const [{ open, failed }] = (
        await db.query<{ open: number; failed: number }>(
          `SELECT count(*) FILTER (WHERE state NOT IN ('done','failed','gone'))::int AS open,
                  count(*) FILTER (WHERE state = 'failed')::int AS failed
             FROM transfers WHERE envelope_id = ANY($1::text[])`,
          [envelopes.map((e) => e.id.toLowerCase())],
        )
      ).rows;
      if (failed > 0) throw new Error(`${failed} transfers failed`);
      if (open === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const ms = Date.now() - started;
    await db.end();
    return { ms, peak: await rss.stop(), idle };
  };

  const startWorker = async () =>
    startWorkerProcess({
      DATABASE_URL: dbUrl.toString(),
      CALLBACK_TOKEN: TEST_CALLBACK_TOKEN,
      LOG_LEVEL: 'warn',
      ESAW_BASE_URL: simBaseUrl,
      ESAW_API_TOKEN: token,
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: 'bench',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
      S3_PART_SIZE_MB: String(PART_MB),
      ARCHIVE_CONCURRENCY: String(CONCURRENCY),
      ARCHIVE_POLL_INTERVAL_MS: '200',
      RECONCILE_INTERVAL: '0',
      // Lets a run compare settings, e.g. BENCH_FILE_CONCURRENCY=4.
      ...(process.env.BENCH_FILE_CONCURRENCY
        ? { ARCHIVE_FILE_CONCURRENCY: process.env.BENCH_FILE_CONCURRENCY }
        : {}),
      DATA_DIR: await mkdtemp(join(tmpdir(), 'bench-data-')),
    });

  try {
    worker = await startWorker();

    // (a) many small envelopes: alternating rounds, medians (the machine is shared and noisy)
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
    const perMin = (n: number, ms: number) => (n / ms) * 60_000;
    const workerMs: number[] = [];
    const baselineMs: number[] = [];
    let aBytes = 0;
    let peak = 0;
    let idle = Number.POSITIVE_INFINITY;
    console.log(
      `(a) ${ENVELOPES} envelopes x 3 documents of ${DOC_MB} MB (+ audit trails), concurrency ${CONCURRENCY}`,
    );
    if (WARMUP > 0) {
      await runWorker(makeEnvelopes(WARMUP, DOC_MB, 3));
      await runBaseline(makeEnvelopes(WARMUP, DOC_MB, 3));
      console.log(`    (warm-up: ${WARMUP} envelopes each, not counted)`);
    }
    for (let round = 1; round <= ROUNDS; round++) {
      const forWorker = makeEnvelopes(ENVELOPES, DOC_MB, 3);
      const forBaseline = makeEnvelopes(ENVELOPES, DOC_MB, 3);
      aBytes = bytesOf(forWorker);
      const order = round % 2 === 1 ? ['worker', 'baseline'] : ['baseline', 'worker'];
      for (const who of order) {
        if (who === 'worker') {
          const r = await parentCpu(ENVELOPES, () => runWorker(forWorker));
          workerMs.push(r.ms);
          peak = Math.max(peak, r.peak);
          idle = Math.min(idle, r.idle);
          console.log(
            `    round ${round} worker   ${perMin(ENVELOPES, r.ms).toFixed(0)} envelopes/min (simulator+s3rver process ${r.parentCpu})`,
          );
        } else {
          const r = await parentCpu(ENVELOPES, () => runBaseline(forBaseline));
          baselineMs.push(r.ms);
          console.log(
            `    round ${round} baseline ${perMin(ENVELOPES, r.ms).toFixed(0)} envelopes/min (simulator+s3rver process ${r.parentCpu})`,
          );
        }
      }
    }
    const a = median(workerMs);
    const aBase = median(baselineMs);
    console.log(
      `    median worker   ${perMin(ENVELOPES, a).toFixed(0)} envelopes/min  ${mb((aBytes / a) * 1000)} MB/s`,
    );
    console.log(
      `    median baseline ${perMin(ENVELOPES, aBase).toFixed(0)} envelopes/min  ${mb((aBytes / aBase) * 1000)} MB/s`,
    );
    // Each round's two runs are minutes apart at most, so their ratio cancels the machine's drift.
    const roundRatios = workerMs.map((ms, i) => baselineMs[i] / ms);
    console.log(
      `    ratio of medians (worker / baseline throughput): ${(aBase / a).toFixed(2)}  (floor 0.7); ` +
        `per round ${roundRatios.map((r) => r.toFixed(2)).join(' ')}, median ${median(roundRatios).toFixed(2)}`,
    );
    console.log(`    worker peak RSS ${mb(peak)} MB (idle ${mb(idle)} MB)`);

    // (b) one large PDF, on a fresh worker process so that its idle RSS is a true idle
    await worker.kill('SIGTERM');
    worker = await startWorker();
    const [big] = makeEnvelopes(1, BIG_MB, 1);
    const [bigBase] = makeEnvelopes(1, BIG_MB, 1);
    const b = await parentCpu(1, () => runWorker([big]));
    const bBase = await parentCpu(1, () => runBaseline([bigBase]));
    const bBytes = bytesOf([big]);
    console.log(`(b) one ${BIG_MB} MB PDF`);
    console.log(`    worker   ${mb((bBytes / b.ms) * 1000)} MB/s  (${(b.ms / 1000).toFixed(1)} s)`);
    console.log(`    baseline ${mb((bBytes / bBase.ms) * 1000)} MB/s  (${(bBase.ms / 1000).toFixed(1)} s)`);
    console.log(`    ratio (worker / baseline throughput): ${(bBase.ms / b.ms).toFixed(2)}`);
    console.log(
      `    worker peak RSS ${mb(b.peak)} MB, idle ${mb(b.idle)} MB: +${mb(b.peak - b.idle)} MB (floor: +160 MB)`,
    );
    console.log(`    baseline peak RSS ${mb(bBase.peak)} MB`);
  } finally {
    await worker?.kill('SIGTERM');
    await sim.stop();
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
