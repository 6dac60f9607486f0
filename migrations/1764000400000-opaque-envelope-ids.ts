import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLES = ['noted_events', 'transfers', 'envelope_senders'] as const;

/**
 * Envelope ids become opaque text: each platform has its own shape (GUIDs, OneSpan's
 * case-sensitive package ids, Legalesign's document UUIDs). Existing GUIDs keep their text form.
 */
export class OpaqueEnvelopeIds1764000400000 implements MigrationInterface {
  name = 'OpaqueEnvelopeIds1764000400000';

  async up(q: QueryRunner): Promise<void> {
    for (const table of TABLES) {
      await q.query(`ALTER TABLE ${table} ALTER COLUMN envelope_id TYPE text USING envelope_id::text`);
    }
  }

  /** Fails, and changes nothing, once an id that is not a UUID has been stored. */
  async down(q: QueryRunner): Promise<void> {
    for (const table of TABLES) {
      await q.query(`ALTER TABLE ${table} ALTER COLUMN envelope_id TYPE uuid USING envelope_id::uuid`);
    }
  }
}
