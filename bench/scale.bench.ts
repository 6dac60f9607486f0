// npm run bench:scale: envelopes/min with 1 and with 3 worker processes when the platform is far away
// (every eSignAnyWhere API call answers BENCH_PLATFORM_MS later, default 150 ms) and so is S3 (s3rver,
// in a process of its own; every byte to and from it crosses a link with BENCH_S3_RTT_MS round trip, default 20 ms). Each round
// sends BENCH_ENVELOPES (default 180) envelopes of 2 documents of 100 KB and times them until all are
// done; rounds alternate 1 and 3 workers (BENCH_ROUNDS per side, default 2). Prints, as medians, the
// steady rate (from 10% to 90% done) and the whole run's, and their ratios (floor: 3 workers at least
// 2.5x one).
import { readFile } from 'node:fs/promises';
import { Client } from 'pg';
import { EsignAnywhereSimulator } from '../test/simulators/esignanywhere/esignanywhere.simulator';
import { benchDatabases, benchWorkerEnv, callbackUrl, forkS3Server } from './bench-support';
import { LatencyProxy } from '../test/support/latency-proxy';
import { startWorkerProcess, type WorkerProcess } from '../test/support/worker-process';

const ENVELOPES = Number(process.env.BENCH_ENVELOPES ?? 180);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const PLATFORM_MS = Number(process.env.BENCH_PLATFORM_MS ?? 150);
const S3_RTT_MS = Number(process.env.BENCH_S3_RTT_MS ?? 20);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const databases = await benchDatabases();
  const databaseUrl = await databases.create('bench_scale');
  const db = new Client({ connectionString: databaseUrl });

  const sim = new EsignAnywhereSimulator({ latencyMs: PLATFORM_MS });
  const simBaseUrl = await sim.start();
  const { user, token } = sim.createUser({ email: 'bench@example.com' });
  const s3 = await forkS3Server();
  const s3Link = new LatencyProxy('127.0.0.1', Number(new URL(s3.endpoint).port), S3_RTT_MS);
  await s3Link.start();
  const workers: WorkerProcess[] = [];

  const startWorker = async () =>
    startWorkerProcess(await benchWorkerEnv({ databaseUrl, simBaseUrl, token, s3Endpoint: s3Link.url }));

  /**
   * Sends `count` envelopes' callbacks to the first worker and waits until every transfer is done.
   * Answers the whole run's time and the steady rate: envelopes/min between the 10th and the 90th
   * percent done (without the start, while slots fill, and the tail, while they empty).
   */
  const run = async (count: number): Promise<{ ms: number; steadyPerMin: number }> => {
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
        const answer = await fetch(callbackUrl(workers[0].url, id));
        if (answer.status !== 200) throw new Error(`callback answered ${answer.status}`);
      }),
    );
    const low = Math.ceil(count * 0.1);
    const high = Math.floor(count * 0.9);
    let lowAt: number | undefined;
    let highAt: number | undefined;
    for (;;) {
      const { rows } = await db.query<{ done: number; failed: number }>(
        `SELECT count(*) FILTER (WHERE state = 'done')::int AS done,
                count(*) FILTER (WHERE state IN ('failed', 'gone'))::int AS failed
           FROM transfers WHERE envelope_id = ANY($1::text[])`,
        [ids.map((id) => id.toLowerCase())],
      );
      const now = performance.now();
      if (rows[0].failed > 0) throw new Error(`${rows[0].failed} transfers failed`);
      if (lowAt === undefined && rows[0].done >= low) lowAt = now;
      if (highAt === undefined && rows[0].done >= high) highAt = now;
      if (rows[0].done === count) {
        const steadyPerMin = highAt! > lowAt! ? ((high - low) / (highAt! - lowAt!)) * 60_000 : NaN;
        return { ms: now - started, steadyPerMin };
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  /** CPU seconds a process has used so far (user + system), from /proc. */
  const cpuOf = async (pid: number): Promise<number> => {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
  };

  const withWorkers = async (n: number) => {
    while (workers.length < n) workers.push(await startWorker());
    while (workers.length > n) await workers.pop()!.kill('SIGTERM');
    const pids = [...workers.map((w) => w.child.pid!), s3.pid];
    const before = await Promise.all(pids.map(cpuOf));
    const own = process.cpuUsage();
    const result = await run(ENVELOPES);
    const after = await Promise.all(pids.map(cpuOf));
    const ownUsed = process.cpuUsage(own);
    const share = (seconds: number) => `${Math.round((seconds / (result.ms / 1000)) * 100)}%`;
    const used = after.map((v, i) => v - before[i]);
    const workersCpu = used.slice(0, -1).reduce((sum, v) => sum + v, 0);
    const s3Cpu = used.at(-1)!;
    const cpu = `CPU: workers ${share(workersCpu)}, s3rver ${share(s3Cpu)}, simulator ${share((ownUsed.user + ownUsed.system) / 1e6)} of one core`;
    return { ...result, cpu };
  };

  try {
    await db.connect();
    console.log(
      `${ENVELOPES} envelopes (2 x 100 KB) per round; platform +${PLATFORM_MS} ms per call, S3 +${S3_RTT_MS} ms round trip; ARCHIVE_CONCURRENCY 4 per worker`,
    );
    await withWorkers(1);
    await run(8); // warm-up, not counted
    const whole: Record<1 | 3, number[]> = { 1: [], 3: [] };
    const steady: Record<1 | 3, number[]> = { 1: [], 3: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const n of round % 2 === 1 ? ([1, 3] as const) : ([3, 1] as const)) {
        const { ms, steadyPerMin, cpu } = await withWorkers(n);
        const rate = (ENVELOPES / ms) * 60_000;
        whole[n].push(rate);
        steady[n].push(steadyPerMin);
        console.log(
          `  round ${round}: ${n} worker${n > 1 ? 's' : ' '} ${steadyPerMin.toFixed(0)} envelopes/min steady, ${rate.toFixed(0)} over the whole run (${cpu})`,
        );
      }
    }
    const report = (name: string, of: Record<1 | 3, number[]>) => {
      const one = median(of[1]);
      const three = median(of[3]);
      console.log(
        `${name}: 1 worker ${one.toFixed(0)}, 3 workers ${three.toFixed(0)} envelopes/min (medians); ratio ${(three / one).toFixed(2)}`,
      );
    };
    report('steady (10% to 90% done)', steady);
    report('whole run (start and tail included)', whole);
    console.log('floor: 3 workers at least 2.5x one');
  } finally {
    for (const w of workers) await w.kill('SIGTERM');
    await db.end().catch(() => undefined);
    await sim.stop();
    await s3Link.close();
    await s3.stop();
    await databases.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
