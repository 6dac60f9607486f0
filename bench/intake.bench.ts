// npm run bench:intake: the service's callback intake against a bare node:http + pg baseline doing the
// same work, in one run, alternating, on the same PostgreSQL. Prints req/s, p50, p99 and the ratio.
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../src/database/data-source-options';
import { freePort, startEmbeddedPostgres } from '../src/database/embedded-postgres';
import { runMigrationsLocked } from '../src/database/migrate';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TOKEN = 'bench-callback-token-0123456789';
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

interface Result {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
}

function startServer(script: string, env: Record<string, string>): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    // Pin the server to core 0 and leave core 1 to the load generator, when the machine allows it.
    const child = fork(script, [], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      execPath: hasTaskset ? 'taskset' : process.execPath,
      execArgv: hasTaskset ? ['-c', '0', process.execPath] : [],
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    child.on('message', (m) => m === 'ready' && resolve(child));
  });
}

async function waitForHttp(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(url)).status < 500) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

async function load(port: number, seconds: number): Promise<Result> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'GET',
        // Every request a new envelope: the worst case, two inserts each.
        setupRequest: (req) => ({
          ...req,
          path: `/callbacks/esignanywhere?envelope=${randomUUID()}&action=envelopeFinished&token=${TOKEN}`,
        }),
      },
    ],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx + result.errors,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  let adminUrl = process.env.DATABASE_URL;
  const embedded = adminUrl ? undefined : await startEmbeddedPostgres(join('.data', 'bench-postgres'));
  adminUrl ??= embedded!.url;
  const dbName = `bench_${Date.now()}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const dbUrl = new URL(adminUrl);
  dbUrl.pathname = `/${dbName}`;
  const ds = new DataSource(
    buildDataSourceOptions(dbUrl.toString(), {
      DATABASE_POOL_SIZE: 2,
      DATABASE_ACQUIRE_TIMEOUT_MS: 5000,
      DATABASE_STATEMENT_TIMEOUT_MS: 60_000,
    }),
  );
  await ds.initialize();
  await runMigrationsLocked(ds);

  const env = {
    DATABASE_URL: dbUrl.toString(),
    DATABASE_POOL_SIZE: '10',
    CALLBACK_TOKEN: TOKEN,
    LOG_LEVEL: 'warn',
    ARCHIVE_ENABLED: 'false',
    DATA_DIR: join('.data', 'bench-intake'),
  };
  const appPort = await freePort();
  const basePort = await freePort();
  const app = await startServerHttp(
    join(__dirname, '../src/main.js'),
    { ...env, PORT: String(appPort), HOST: '127.0.0.1' },
    appPort,
  );
  const baseline = await startServer(join(__dirname, 'baseline-intake.server.js'), {
    ...env,
    PORT: String(basePort),
  });

  const runs: { app: Result[]; baseline: Result[] } = { app: [], baseline: [] };
  try {
    await load(appPort, 3); // warm-up
    await load(basePort, 3);
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, port] of [
        ['app', appPort],
        ['baseline', basePort],
      ] as const) {
        await ds.query('TRUNCATE noted_events, transfers');
        const r = await load(port, DURATION_S);
        runs[name].push(r);
        console.log(
          `round ${round} ${name.padEnd(8)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms  non-2xx ${r.non2xx}`,
        );
      }
    }
    const summary = (rs: Result[]) => ({
      rps: median(rs.map((r) => r.rps)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
    });
    const a = summary(runs.app);
    const b = summary(runs.baseline);
    console.log(
      `\nmedians over ${ROUNDS} rounds of ${DURATION_S}s at ${CONNECTIONS} connections${hasTaskset ? ' (server on core 0)' : ''}:`,
    );
    console.log(`  service   ${a.rps.toFixed(0)} req/s  p50 ${a.p50} ms  p99 ${a.p99} ms`);
    console.log(`  baseline  ${b.rps.toFixed(0)} req/s  p50 ${b.p50} ms  p99 ${b.p99} ms`);
    console.log(`  ratio (service / baseline req/s): ${(a.rps / b.rps).toFixed(2)}`);
    const rows = await ds.query<{ n: number }[]>('SELECT count(*)::int AS n FROM noted_events');
    console.log(`  rows after the last run: ${rows[0].n}`);
  } finally {
    app.kill();
    baseline.kill();
    await ds.destroy();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
    await embedded?.stop();
  }
}

async function startServerHttp(
  script: string,
  env: Record<string, string>,
  port: number,
): Promise<ChildProcess> {
  const child = fork(script, [], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    execPath: hasTaskset ? 'taskset' : process.execPath,
    execArgv: hasTaskset ? ['-c', '0', process.execPath] : [],
  });
  await waitForHttp(`http://127.0.0.1:${port}/health/live`);
  return child;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
