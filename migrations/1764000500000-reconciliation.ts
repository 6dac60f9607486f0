import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Reconciliation: each transfer records who asked for it (`origin`: a callback, or reconciliation
 * finding a finished envelope no callback announced), and each reconciliation run is recorded.
 */
export class Reconciliation1764000500000 implements MigrationInterface {
  name = 'Reconciliation1764000500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE transfers ADD COLUMN origin text NOT NULL DEFAULT 'callback'`);
    await q.query(`
      CREATE TABLE reconciliation_runs (
        id bigserial PRIMARY KEY,
        platform text NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        window_from timestamptz NOT NULL,
        window_to timestamptz NOT NULL,
        found integer NOT NULL DEFAULT 0,
        created integer NOT NULL DEFAULT 0,
        errors jsonb NOT NULL DEFAULT '[]',
        outcome text
      )`);
    await q.query(
      `CREATE INDEX ix_reconciliation_runs_platform ON reconciliation_runs (platform, started_at)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE reconciliation_runs`);
    await q.query(`ALTER TABLE transfers DROP COLUMN origin`);
  }
}
