// npm run bench:latency: how long a single small envelope takes from its callback to `done` (copied,
// proven, deleted) at low load, with the wake-up on commit (LISTEN/NOTIFY) and with polling only
// (ARCHIVE_POLL_INTERVAL_MS, default 5 s), in the same run: alternating rounds of BENCH_LATENCY_ENVELOPES
// (default 20) envelopes sent one at a time at random moments. Prints p50 and p99 of each and the ratio
// of the p50s (floor: at most 1/3).
import { Client } from 'pg';
import { EsignAnywhereSimulator } from '../test/simulators/esignanywhere/esignanywhere.simulator';
import { benchDatabases, benchWorkerEnv, callbackUrl } from './bench-support';
import { startTestS3 } from '../test/support/s3';
import { startWorkerProcess, type WorkerProcess } from '../test/support/worker-process';

const ENVELOPES = Number(process.env.BENCH_LATENCY_ENVELOPES ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const POLL_MS = Number(process.env.BENCH_POLL_MS ?? 5000);

const quantile = (xs: number[], q: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
};

async function main(): Promise<void> {
  const databases = await benchDatabases();
  const databaseUrl = await databases.create('bench_latency');
  const db = new Client({ connectionString: databaseUrl });

  const sim = new EsignAnywhereSimulator();
  const simBaseUrl = await sim.start();
  const { user, token } = sim.createUser({ email: 'bench@example.com' });
  const s3 = await startTestS3({ bucket: 'bench' });
  let worker: WorkerProcess | undefined;

  const startWorker = async (wake: boolean) =>
    startWorkerProcess({
      ...(await benchWorkerEnv({ databaseUrl, simBaseUrl, token, s3Endpoint: s3.endpoint })),
      ARCHIVE_POLL_INTERVAL_MS: String(POLL_MS),
      ARCHIVE_WAKE_ON_CALLBACK: String(wake),
    });

  /** One envelope at a random moment: its callback, then the time until its transfer is done. */
  const one = async (url: string): Promise<number> => {
    const envelope = sim.createEnvelope({
      senderUserId: user.id,
      callbackUrl: null,
      documents: [{ fileName: 'contract.pdf', size: 50_000 }],
      recipients: [{ email: 'signer@example.com' }],
    });
    sim.finishEnvelope(envelope.id, 'Completed');
    await new Promise((r) => setTimeout(r, Math.random() * POLL_MS));
    const started = performance.now();
    const answer = await fetch(callbackUrl(url, envelope.id));
    if (answer.status !== 200) throw new Error(`callback answered ${answer.status}`);
    for (;;) {
      const { rows } = await db.query<{ state: string }>(
        'SELECT state FROM transfers WHERE envelope_id = $1',
        [envelope.id.toLowerCase()],
      );
      if (rows[0]?.state === 'done') return performance.now() - started;
      if (rows[0]?.state === 'failed') throw new Error(`transfer of ${envelope.id} failed`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  try {
    await db.connect();
    const results: Record<'wake' | 'poll', number[]> = { wake: [], poll: [] };
    console.log(
      `${ENVELOPES} envelopes per round, one at a time, ${ROUNDS} rounds per mode, poll interval ${POLL_MS} ms`,
    );
    for (let round = 1; round <= ROUNDS; round++) {
      const order: ('wake' | 'poll')[] = round % 2 === 1 ? ['wake', 'poll'] : ['poll', 'wake'];
      for (const mode of order) {
        worker = await startWorker(mode === 'wake');
        await one(worker.url); // warm-up, not counted
        const times: number[] = [];
        for (let i = 0; i < ENVELOPES; i++) times.push(await one(worker.url));
        results[mode].push(...times);
        console.log(
          `  round ${round} ${mode === 'wake' ? 'wake-up' : 'polling'}: p50 ${quantile(times, 0.5).toFixed(0)} ms, p99 ${quantile(times, 0.99).toFixed(0)} ms`,
        );
        await worker.kill('SIGTERM');
        worker = undefined;
      }
    }
    const line = (name: string, xs: number[]) =>
      console.log(
        `${name}: p50 ${quantile(xs, 0.5).toFixed(0)} ms, p99 ${quantile(xs, 0.99).toFixed(0)} ms (${xs.length} envelopes)`,
      );
    line('wake-up on commit', results.wake);
    line('polling only     ', results.poll);
    const ratio = quantile(results.wake, 0.5) / quantile(results.poll, 0.5);
    console.log(`ratio of p50s (wake-up / polling): ${ratio.toFixed(3)} (floor: at most 0.333)`);
  } finally {
    await worker?.kill('SIGTERM');
    await db.end().catch(() => undefined);
    await sim.stop();
    await s3.close();
    await databases.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
