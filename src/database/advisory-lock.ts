import type { DataSource } from 'typeorm';

/**
 * Runs `work` only if no other process in the cluster holds the PostgreSQL advisory lock named
 * `name`; returns `{ ran: false }` at once otherwise. The lock is a session lock on one pooled
 * connection, held while `work` runs and released after it (or when the connection dies with its
 * process, so a crashed holder never blocks the cluster).
 */
export async function withAdvisoryTryLock<T>(
  dataSource: DataSource,
  name: string,
  work: () => Promise<T>,
): Promise<{ ran: true; result: T } | { ran: false }> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    const [{ locked }] = (await runner.query(
      `SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked`,
      [name],
    )) as { locked: boolean }[];
    if (!locked) return { ran: false };
    try {
      return { ran: true, result: await work() };
    } finally {
      await runner.query(`SELECT pg_advisory_unlock(hashtextextended($1, 0))`, [name]);
    }
  } finally {
    await runner.release();
  }
}
