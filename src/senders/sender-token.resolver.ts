import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { SigningPlatform } from '../platforms/signing-platform';
import { SenderRepository, type SenderRecord } from './sender.repository';
import { TokenCipher, TokenCipherError } from './token-cipher';

export interface SenderRef {
  senderId: string;
  platformUserId: string;
  email: string | null;
}

export type TokenResolution =
  | { kind: 'token'; token: string; sender: SenderRef | null }
  | { kind: 'needs_consent'; sender: SenderRef }
  /** The adapter authenticates itself. */
  | { kind: 'instance' }
  /** No sender is known and no fallback token is set (`fallbackTokenSetting` names the setting). */
  | { kind: 'none'; fallbackTokenSetting: string };

export type SenderTokenResolution =
  | { kind: 'token'; token: string; sender: SenderRef }
  | { kind: 'needs_consent'; sender: SenderRef }
  | { kind: 'unknown' };

/**
 * Which credential acts for an envelope. Under the `sender_token` strategy: the sender's own token
 * (noted on the before-send page), else the instance's fallback token, but only where no sender is
 * known. Under the `instance` strategy the adapter authenticates itself: no token is needed.
 *
 * A stored token that cannot be opened (its key left TOKEN_ENCRYPTION_KEYS, or the row was altered)
 * is an operator's problem, not the sender's: it throws a `TokenCipherError` naming the sender and key
 * id, so the transfer retries and reaches ops instead of mailing senders to grant access again.
 */
@Injectable()
export class SenderTokenResolver {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly cipher: TokenCipher,
    private readonly senders: SenderRepository,
  ) {}

  async resolve(platform: SigningPlatform, envelopeId: string): Promise<TokenResolution> {
    const strategy = platform.credentials;
    if (strategy.kind === 'instance') return { kind: 'instance' };
    const rows: SenderRecord[] = await this.dataSource.query(
      `SELECT s.id, s.platform, s.platform_user_id AS "platformUserId", s.organization_id AS "organizationId",
              s.email, s.token_ciphertext AS "tokenCiphertext", s.token_key_id AS "tokenKeyId",
              s.consent_state AS "consentState"
         FROM envelope_senders es JOIN senders s ON s.id = es.sender_id
        WHERE es.platform = $1 AND es.envelope_id = $2`,
      [platform.name, envelopeId],
    );
    const row = rows[0];
    if (row) return this.open(row);
    if (strategy.fallbackToken) return { kind: 'token', token: strategy.fallbackToken, sender: null };
    return { kind: 'none', fallbackTokenSetting: strategy.fallbackTokenSetting };
  }

  /**
   * Every usable credential of a platform instance, for listing its envelopes: each granted sender's
   * token, then the fallback token (`sender` null). A token that cannot be opened is skipped and named in
   * `problems` (never the token itself).
   */
  async everyCredential(
    platform: SigningPlatform,
  ): Promise<{ credentials: { token?: string; sender: SenderRef | null }[]; problems: string[] }> {
    const strategy = platform.credentials;
    if (strategy.kind === 'instance') return { credentials: [{ sender: null }], problems: [] };
    const credentials: { token?: string; sender: SenderRef | null }[] = [];
    const problems: string[] = [];
    for (const row of await this.senders.granted(platform.name)) {
      try {
        const opened = this.open(row);
        if (opened.kind === 'token') credentials.push({ token: opened.token, sender: opened.sender });
      } catch (error) {
        problems.push((error as Error).message);
      }
    }
    if (strategy.fallbackToken) credentials.push({ token: strategy.fallbackToken, sender: null });
    return { credentials, problems };
  }

  /** The token of a sender by platform user id (the before-send page and re-consent). */
  async resolveSender(platform: string, platformUserId: string): Promise<SenderTokenResolution> {
    const row = await this.senders.findByPlatformUser(platform, platformUserId);
    return row ? this.open(row) : { kind: 'unknown' };
  }

  /**
   * The platform refused the sender's token: it is unusable until the sender consents again. Pass the
   * transaction's manager to make it part of the transfer's state change.
   */
  async markRejected(senderId: string, manager?: EntityManager): Promise<void> {
    await this.senders.markRejected(senderId, manager);
  }

  /** The platform told us the sender's address: keep it for the mail that asks them to grant access again. */
  async rememberEmail(senderId: string, email: string): Promise<void> {
    await this.senders.rememberEmail(senderId, email);
  }

  private open(
    row: SenderRecord,
  ): { kind: 'token'; token: string; sender: SenderRef } | { kind: 'needs_consent'; sender: SenderRef } {
    const sender: SenderRef = { senderId: row.id, platformUserId: row.platformUserId, email: row.email };
    if (
      row.consentState !== 'granted' ||
      !row.tokenCiphertext ||
      !row.tokenKeyId ||
      !this.cipher.configured
    ) {
      return { kind: 'needs_consent', sender };
    }
    try {
      return {
        kind: 'token',
        token: this.cipher.decrypt({ keyId: row.tokenKeyId, blob: row.tokenCiphertext }, row.id),
        sender,
      };
    } catch (error) {
      if (!(error instanceof TokenCipherError)) throw error;
      throw new TokenCipherError(
        `the stored API token of sender ${row.platformUserId} (row ${row.id}) cannot be opened: ${error.message}; ` +
          `restore key ${row.tokenKeyId} to TOKEN_ENCRYPTION_KEYS, or have the sender grant access again`,
        error.code,
      );
    }
  }
}
