import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Each platform instance's budget of API calls, shared by every worker process (a token bucket). */
export class PlatformCallBudgets1764000800000 implements MigrationInterface {
  name = 'PlatformCallBudgets1764000800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE platform_call_budgets (
        platform text PRIMARY KEY,
        tokens double precision NOT NULL,
        refilled_at timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE platform_call_budgets`);
  }
}
