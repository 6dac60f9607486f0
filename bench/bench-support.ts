// What the worker benchmarks share: a database of their own, and the environment of a worker process
// wired to the eSignAnyWhere simulator and s3rver.
import { fork } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres';
import { TEST_CALLBACK_TOKEN } from '../test/support/app';

export interface BenchDatabases {
  /** A fresh database (dropped by `close`), as a URL. */
  create(prefix: string): Promise<string>;
  close(): Promise<void>;
}

/** DATABASE_URL's server, or an embedded PostgreSQL when none is given. */
export async function benchDatabases(): Promise<BenchDatabases> {
  let adminUrl = process.env.DATABASE_URL;
  const embedded = adminUrl ? undefined : await startEmbeddedPostgres(join('.data', 'bench-postgres'));
  adminUrl ??= embedded!.url;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  const created: string[] = [];
  return {
    async create(prefix) {
      const name = `${prefix}_${Date.now()}_${created.length}`;
      await admin.query(`CREATE DATABASE ${name}`);
      created.push(name);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async close() {
      for (const name of created) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
      await embedded?.stop();
    },
  };
}

/** A worker process's environment: this database, the simulator's account and s3rver's bucket `bench`. */
export async function benchWorkerEnv(to: {
  databaseUrl: string;
  simBaseUrl: string;
  token: string;
  s3Endpoint: string;
}): Promise<Record<string, string>> {
  return {
    DATABASE_URL: to.databaseUrl,
    CALLBACK_TOKEN: TEST_CALLBACK_TOKEN,
    LOG_LEVEL: 'warn',
    ESAW_BASE_URL: to.simBaseUrl,
    ESAW_API_TOKEN: to.token,
    S3_ENDPOINT: to.s3Endpoint,
    S3_BUCKET: 'bench',
    S3_ACCESS_KEY_ID: 'S3RVER',
    S3_SECRET_ACCESS_KEY: 'S3RVER',
    S3_FORCE_PATH_STYLE: 'true',
    RECONCILE_INTERVAL: '0',
    DATA_DIR: await mkdtemp(join(tmpdir(), 'bench-data-')),
  };
}

/** The callback eSignAnyWhere would send for a finished envelope. */
export function callbackUrl(workerUrl: string, envelopeId: string): string {
  return `${workerUrl}/callbacks/esignanywhere?envelope=${envelopeId}&action=envelopeFinished&token=${TEST_CALLBACK_TOKEN}`;
}

/** s3rver in its own process (a remote S3 does not share the benchmark's event loop), bucket `bench`. */
export async function forkS3Server(): Promise<{ endpoint: string; pid: number; stop(): Promise<void> }> {
  const child = fork(join(__dirname, 's3-server.process.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.once('message', (m: { endpoint: string }) => resolve(m.endpoint));
    child.once('exit', (code) => reject(new Error(`the S3 server exited with ${code}`)));
  });
  return {
    endpoint,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
