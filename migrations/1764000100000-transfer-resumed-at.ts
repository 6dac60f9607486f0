import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `resumed_at`: when an operator retried the transfer or its sender granted access again. Age
 * limits (MAX_AGE, the waiting window) count from then, so a resumed transfer gets its full time.
 * Plus the indexes the worker's claim and the admin list walk.
 */
export class TransferResumedAt1764000100000 implements MigrationInterface {
  name = 'TransferResumedAt1764000100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE transfers ADD COLUMN resumed_at timestamptz`);
    await q.query(
      `CREATE INDEX ix_transfers_due ON transfers (next_attempt_at)
        WHERE state IN ('pending', 'waiting', 'retrying', 'archived')`,
    );
    await q.query(`CREATE INDEX ix_transfers_created ON transfers (created_at, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX ix_transfers_created`);
    await q.query(`DROP INDEX ix_transfers_due`);
    await q.query(`ALTER TABLE transfers DROP COLUMN resumed_at`);
  }
}
