import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Legalesign's batched callback ("every 6 minutes"): each verified batch is kept once, by the sha256 of
 * its data, with every change it carried; a replayed batch finds its row and changes nothing.
 */
export class LegalesignCallbackBatches1764000700000 implements MigrationInterface {
  name = 'LegalesignCallbackBatches1764000700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE legalesign_callback_batches (
        id bigserial PRIMARY KEY,
        platform text NOT NULL,
        data_sha256 text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        signature_algorithm text,
        changes integer NOT NULL,
        documents integer NOT NULL,
        ignored integer NOT NULL,
        data jsonb NOT NULL,
        request jsonb NOT NULL,
        CONSTRAINT uq_legalesign_callback_batches_data UNIQUE (platform, data_sha256)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE legalesign_callback_batches`);
  }
}
