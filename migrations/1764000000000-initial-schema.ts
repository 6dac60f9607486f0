import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1764000000000 implements MigrationInterface {
  name = 'InitialSchema1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE noted_events (
        id bigserial PRIMARY KEY,
        platform text NOT NULL,
        envelope_id uuid NOT NULL,
        action text NOT NULL,
        received_count integer NOT NULL DEFAULT 1,
        first_received_at timestamptz NOT NULL DEFAULT now(),
        last_received_at timestamptz NOT NULL DEFAULT now(),
        request jsonb NOT NULL,
        CONSTRAINT uq_noted_events_key UNIQUE (platform, envelope_id, action)
      )`);
    await q.query(`
      CREATE TABLE transfers (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        platform text NOT NULL,
        envelope_id uuid NOT NULL,
        state text NOT NULL DEFAULT 'pending',
        cause text,
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        lease_owner text,
        lease_expires_at timestamptz,
        claim_token uuid,
        last_error text,
        last_error_class text,
        envelope_status text,
        sender_email text,
        platform_deleted_at timestamptz,
        archived_at timestamptz,
        finished_at timestamptz,
        dismissed_reason text,
        state_version integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_transfers_envelope UNIQUE (platform, envelope_id)
      )`);
    await q.query(`CREATE INDEX ix_transfers_state ON transfers (state, updated_at)`);
    await q.query(`
      CREATE TABLE transfer_documents (
        id bigserial PRIMARY KEY,
        transfer_id uuid NOT NULL,
        kind text NOT NULL,
        platform_file_id text NOT NULL,
        file_name text NOT NULL,
        s3_key text NOT NULL,
        size bigint,
        sha256 text,
        verified_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_transfer_documents_file UNIQUE (transfer_id, kind, platform_file_id)
      )`);
    await q.query(`CREATE INDEX ix_transfer_documents_transfer ON transfer_documents (transfer_id)`);
    await q.query(`
      CREATE TABLE transfer_attempts (
        id bigserial PRIMARY KEY,
        transfer_id uuid NOT NULL,
        attempt integer NOT NULL,
        worker text NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        outcome text,
        error_class text,
        error text
      )`);
    await q.query(
      `CREATE INDEX ix_transfer_attempts_transfer ON transfer_attempts (transfer_id, started_at)`,
    );
    await q.query(`
      CREATE TABLE senders (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        platform text NOT NULL,
        platform_user_id text NOT NULL,
        organization_id text,
        email text,
        token_ciphertext bytea,
        token_key_id text,
        consent_state text NOT NULL DEFAULT 'none',
        consented_at timestamptz,
        token_rejected_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_senders_user UNIQUE (platform, platform_user_id)
      )`);
    await q.query(`
      CREATE TABLE envelope_senders (
        platform text NOT NULL,
        envelope_id uuid NOT NULL,
        sender_id uuid NOT NULL,
        draft_id text,
        noted_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (platform, envelope_id)
      )`);
    await q.query(`CREATE INDEX ix_envelope_senders_sender ON envelope_senders (sender_id)`);
    await q.query(`
      CREATE TABLE admin_actions (
        id bigserial PRIMARY KEY,
        actor text NOT NULL,
        action text NOT NULL,
        transfer_ids uuid[] NOT NULL DEFAULT '{}',
        detail jsonb NOT NULL DEFAULT '{}',
        at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX ix_admin_actions_at ON admin_actions (at)`);
    await q.query(`
      CREATE TABLE outbound_mail (
        id bigserial PRIMARY KEY,
        kind text NOT NULL,
        dedupe_key text NOT NULL,
        transfer_id uuid,
        recipients text[] NOT NULL,
        subject text NOT NULL,
        body text NOT NULL,
        state text NOT NULL DEFAULT 'pending',
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        CONSTRAINT uq_outbound_mail_dedupe UNIQUE (dedupe_key)
      )`);
    await q.query(`CREATE INDEX ix_outbound_mail_due ON outbound_mail (state, next_attempt_at)`);
    await q.query(`
      CREATE TABLE oauth_states (
        state_hash text PRIMARY KEY,
        browser_hash text NOT NULL,
        code_verifier text NOT NULL,
        platform text NOT NULL,
        platform_user_id text NOT NULL,
        organization_id text,
        draft_id text,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'oauth_states',
      'outbound_mail',
      'admin_actions',
      'envelope_senders',
      'senders',
      'transfer_attempts',
      'transfer_documents',
      'transfers',
      'noted_events',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
