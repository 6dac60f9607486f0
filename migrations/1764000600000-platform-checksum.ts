import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The checksum a platform gives for a file, when it gives one; the copy's bytes were checked against it. */
export class PlatformChecksum1764000600000 implements MigrationInterface {
  name = 'PlatformChecksum1764000600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE transfer_documents ADD COLUMN platform_sha256 text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE transfer_documents DROP COLUMN platform_sha256`);
  }
}
