import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `oauth_states.code_verifier` becomes nullable: the PKCE verifier is cleared once its state is used
 * or has expired, so a used row keeps only hashes (enough to answer a replay with "already used").
 */
export class OAuthVerifierClearedAfterUse1764000210000 implements MigrationInterface {
  name = 'OAuthVerifierClearedAfterUse1764000210000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE oauth_states ALTER COLUMN code_verifier DROP NOT NULL`);
    await q.query(
      `UPDATE oauth_states SET code_verifier = NULL WHERE used_at IS NOT NULL OR expires_at <= now()`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    // Rows without a verifier can no longer complete a flow; they only remember a used state.
    await q.query(`DELETE FROM oauth_states WHERE code_verifier IS NULL`);
    await q.query(`ALTER TABLE oauth_states ALTER COLUMN code_verifier SET NOT NULL`);
  }
}
