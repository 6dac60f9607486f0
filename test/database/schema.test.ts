import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../../src/database/data-source-options';
import { runMigrationsLocked } from '../../src/database/migrate';
import { createMigratedDataSource, createTestDatabase, type TestDatabase } from '../support/database';

describe('database schema', () => {
  let ctx: Awaited<ReturnType<typeof createMigratedDataSource>>;
  before(async () => {
    ctx = await createMigratedDataSource();
  });
  after(async () => {
    await ctx.close();
  });

  it('the migrations produce exactly what the entities describe', async () => {
    const pending = await ctx.dataSource.driver.createSchemaBuilder().log();
    assert.deepEqual(
      pending.upQueries.map((q) => q.query),
      [],
      'entities and migrations disagree; write a migration',
    );
  });

  it('every migration can be reverted and applied again', async () => {
    for (let i = 0; i < ctx.dataSource.migrations.length; i++) await ctx.dataSource.undoLastMigration();
    const tables = await ctx.dataSource.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'schema_migrations'`,
    );
    assert.equal(tables[0].n, 0);
    await runMigrationsLocked(ctx.dataSource);
    const pending = await ctx.dataSource.driver.createSchemaBuilder().log();
    assert.equal(pending.upQueries.length, 0);
  });
});

describe('migrations under concurrency', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db.drop();
  });

  it('two replicas starting together migrate once, without errors', async () => {
    const make = () =>
      new DataSource(
        buildDataSourceOptions(db.url, {
          DATABASE_POOL_SIZE: 3,
          DATABASE_ACQUIRE_TIMEOUT_MS: 10_000,
          DATABASE_STATEMENT_TIMEOUT_MS: 30_000,
        }),
      );
    const [a, b] = [make(), make()];
    await Promise.all([a.initialize(), b.initialize()]);
    try {
      const applied = await Promise.all([runMigrationsLocked(a), runMigrationsLocked(b)]);
      assert.equal(applied.flat().length, a.migrations.length);
      const [{ n }] = await a.query<{ n: number }[]>('SELECT count(*)::int AS n FROM schema_migrations');
      assert.equal(n, a.migrations.length);
    } finally {
      await Promise.all([a.destroy(), b.destroy()]);
    }
  });
});
