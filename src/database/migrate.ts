import type { DataSource } from 'typeorm';

// Any fixed 64-bit number works; it only has to be the same in every replica.
const MIGRATION_LOCK_KEY = 7_345_120_991;

/**
 * Runs pending migrations, each in its own transaction, while holding a session advisory lock,
 * so replicas that start together migrate one after another instead of racing.
 */
export async function runMigrationsLocked(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      return applied.map((m) => m.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await runner.release();
  }
}
