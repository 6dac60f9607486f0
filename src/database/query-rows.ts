import type { DataSource, EntityManager } from 'typeorm';

/**
 * Runs SQL and returns its rows. TypeORM's `query()` answers UPDATE and DELETE with
 * `[rows, rowCount]` but every other statement with the rows alone; this hides that difference,
 * so `UPDATE ... RETURNING` can be read like a SELECT.
 */
export async function queryRows<T = Record<string, unknown>>(
  runner: DataSource | EntityManager,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const result: unknown = await runner.query(sql, params);
  if (
    Array.isArray(result) &&
    result.length === 2 &&
    Array.isArray(result[0]) &&
    typeof result[1] === 'number'
  ) {
    return result[0] as T[];
  }
  return result as T[];
}
