import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../../src/database/data-source-options';
import { runMigrationsLocked } from '../../src/database/migrate';

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

function adminUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run the tests through `npm test`');
  return url;
}

/** A fresh, empty database on the test server; each test file gets its own. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new Client({ connectionString: adminUrl() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** A migrated DataSource on a fresh database, for tests that work below the HTTP layer. */
export async function createMigratedDataSource(): Promise<{
  dataSource: DataSource;
  db: TestDatabase;
  close(): Promise<void>;
}> {
  const db = await createTestDatabase();
  const dataSource = new DataSource(
    buildDataSourceOptions(db.url, {
      DATABASE_POOL_SIZE: 5,
      DATABASE_ACQUIRE_TIMEOUT_MS: 5000,
      DATABASE_STATEMENT_TIMEOUT_MS: 30_000,
    }),
  );
  await dataSource.initialize();
  await runMigrationsLocked(dataSource);
  return {
    dataSource,
    db,
    async close() {
      await dataSource.destroy();
      await db.drop();
    },
  };
}

/** Runs one statement on a database by URL and returns its rows (a short-lived connection). */
export async function queryAt<T = Record<string, unknown>>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new Client({ connectionString: url });
  // A server that goes away (the chaos suite kills it) fails the query, which the caller sees; the
  // connection's own 'error' event must not also end the process as an unhandled error.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}
