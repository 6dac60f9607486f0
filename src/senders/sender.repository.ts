import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { ConsentState } from './sender.entity';

// TypeORM answers `UPDATE|DELETE ... RETURNING` with `[rows, count]` but SELECT and INSERT with `rows`;
// every statement here that returns rows from an UPDATE wraps it in a CTE, so all answers are rows.

/** A sender row as the token code needs it; the ciphertext is never decrypted here. */
export interface SenderRecord {
  id: string;
  platform: string;
  platformUserId: string;
  organizationId: string | null;
  email: string | null;
  tokenCiphertext: Buffer | null;
  tokenKeyId: string | null;
  consentState: ConsentState;
}

const SENDER_COLUMNS = `id, platform, platform_user_id AS "platformUserId", organization_id AS "organizationId",
  email, token_ciphertext AS "tokenCiphertext", token_key_id AS "tokenKeyId", consent_state AS "consentState"`;

/** Queries on `senders` and `envelope_senders`. Plaintext tokens never pass through here. */
@Injectable()
export class SenderRepository {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async findByPlatformUser(platform: string, platformUserId: string): Promise<SenderRecord | null> {
    const rows: SenderRecord[] = await this.dataSource.query(
      `SELECT ${SENDER_COLUMNS} FROM senders WHERE platform = $1 AND platform_user_id = $2`,
      [platform, platformUserId],
    );
    return rows[0] ?? null;
  }

  async findById(senderId: string): Promise<SenderRecord | null> {
    const rows: SenderRecord[] = await this.dataSource.query(
      `SELECT ${SENDER_COLUMNS} FROM senders WHERE id = $1`,
      [senderId],
    );
    return rows[0] ?? null;
  }

  /**
   * The sender's row, created (without a token, consent `none`) when missing; its id is the context the
   * token is sealed under and what envelope notes point to.
   */
  async upsert(
    platform: string,
    platformUserId: string,
    organizationId: string | null,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<string> {
    const rows: { id: string }[] = await manager.query(
      `INSERT INTO senders (platform, platform_user_id, organization_id) VALUES ($1, $2, $3)
       ON CONFLICT (platform, platform_user_id) DO UPDATE
         SET organization_id = coalesce(EXCLUDED.organization_id, senders.organization_id), updated_at = now()
       RETURNING id`,
      [platform, platformUserId, organizationId],
    );
    return rows[0].id;
  }

  /** A confirmed grant: the sealed token, consent `granted`, and the address when the platform gave one. */
  async saveGrant(
    senderId: string,
    sealed: { keyId: string; blob: Buffer },
    email: string | null,
    manager: EntityManager,
  ): Promise<void> {
    await manager.query(
      `UPDATE senders
          SET token_ciphertext = $2, token_key_id = $3, consent_state = 'granted', consented_at = now(),
              token_rejected_at = NULL, email = coalesce($4, email), updated_at = now()
        WHERE id = $1`,
      [senderId, sealed.blob, sealed.keyId, email?.slice(0, 320) ?? null],
    );
  }

  /** The platform refused the sender's token: it stays stored but is not used until a new grant. */
  async markRejected(senderId: string, manager: EntityManager = this.dataSource.manager): Promise<void> {
    await manager.query(
      `UPDATE senders SET consent_state = 'rejected', token_rejected_at = now(), updated_at = now() WHERE id = $1`,
      [senderId],
    );
  }

  /** Senders of a platform instance whose token is stored and not known to be refused. */
  async granted(platform: string): Promise<SenderRecord[]> {
    return this.dataSource.query(
      `SELECT ${SENDER_COLUMNS} FROM senders
        WHERE platform = $1 AND consent_state = 'granted' AND token_ciphertext IS NOT NULL
        ORDER BY id`,
      [platform],
    );
  }

  /**
   * Notes who sent an envelope that reconciliation found with that sender's token, unless someone is
   * noted already (a note from the before-send page stays).
   */
  async noteEnvelopeSenderIfAbsent(platform: string, envelopeId: string, senderId: string): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO envelope_senders (platform, envelope_id, sender_id) VALUES ($1, $2, $3)
       ON CONFLICT (platform, envelope_id) DO NOTHING`,
      [platform, envelopeId, senderId],
    );
  }

  /**
   * Notes, before the draft is sent, that this sender is sending it, keyed by the draft id: if the
   * platform keeps the id for the envelope, or our answer is lost after the send, the note is what
   * is left. An existing note is never overwritten here: only a successful send proves who sent it.
   */
  async noteDraft(platform: string, draft: string, senderId: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `INSERT INTO envelope_senders (platform, envelope_id, sender_id, draft_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT (platform, envelope_id) DO NOTHING
       RETURNING 1`,
      [platform, draft, senderId, draft],
    );
    return rows.length === 1;
  }

  /** Withdraws a draft note made by `noteDraft` once the platform has said the draft was not sent. */
  async forgetDraftNote(platform: string, draft: string, senderId: string): Promise<void> {
    await this.dataSource.query(
      `DELETE FROM envelope_senders WHERE platform = $1 AND envelope_id = $2 AND draft_id = $3 AND sender_id = $4`,
      [platform, draft, draft, senderId],
    );
  }

  /** Remembers the sender's e-mail as the platform reports it, so "grant access again" mail can reach them. */
  async rememberEmail(senderId: string, email: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE senders SET email = $2, updated_at = now() WHERE id = $1 AND email IS DISTINCT FROM $2`,
      [senderId, email.slice(0, 320)],
    );
  }

  /** Notes the envelope a draft became, against the sender whose token sent it; the draft note goes. */
  async noteSentEnvelope(platform: string, envelope: string, senderId: string, draft: string): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await manager.query(
        `INSERT INTO envelope_senders (platform, envelope_id, sender_id, draft_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT (platform, envelope_id) DO UPDATE
           SET sender_id = EXCLUDED.sender_id, draft_id = EXCLUDED.draft_id, noted_at = now()`,
        [platform, envelope, senderId, draft],
      );
      if (envelope !== draft) {
        await manager.query(
          `DELETE FROM envelope_senders WHERE platform = $1 AND envelope_id = $2 AND draft_id = $3`,
          [platform, draft, draft],
        );
      }
    });
  }
}
