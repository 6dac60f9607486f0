import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `warning`: something about the transfer ops should see although it did not stop it, such as
 * envelope metadata that could not be used (the documents were archived without its tags).
 */
export class TransferWarning1764000200000 implements MigrationInterface {
  name = 'TransferWarning1764000200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE transfers ADD COLUMN warning text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE transfers DROP COLUMN warning`);
  }
}
