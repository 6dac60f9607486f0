import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `envelope_name`: the envelope's name as the platform reported it when the transfer was archived
 * (escaped like a file name), so operators can recognise it; null until the archive job reads it.
 */
export class TransferEnvelopeName1764000300000 implements MigrationInterface {
  name = 'TransferEnvelopeName1764000300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE transfers ADD COLUMN envelope_name text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE transfers DROP COLUMN envelope_name`);
  }
}
