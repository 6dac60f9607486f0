import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export interface NewOAuthState {
  stateHash: string;
  browserHash: string;
  codeVerifier: string;
  platform: string;
  platformUserId: string;
  organizationId: string | null;
  draftId: string | null;
}

/** What the callback may know about a state before it uses it: never the PKCE verifier. */
export interface OAuthStateRecord extends Omit<NewOAuthState, 'codeVerifier'> {
  used: boolean;
  /** Judged by the database clock, like every other expiry here. */
  expired: boolean;
}

/** A state just used up, with the verifier its code exchange needs; the row no longer holds it. */
export interface ConsumedOAuthState extends NewOAuthState {
  used: true;
  expired: false;
}

const COLUMNS = `state_hash AS "stateHash", browser_hash AS "browserHash", platform,
  platform_user_id AS "platformUserId", organization_id AS "organizationId", draft_id AS "draftId",
  used_at IS NOT NULL AS used, expires_at <= now() AS expired`;

/** Used rows are kept a day past their expiry, so a replayed callback is told "already used". */
const KEEP_AFTER_EXPIRY = '1 day';

/**
 * Pending OAuth authorizations: stored by the state's sha256 only, single use, short-lived. The PKCE
 * verifier is the one secret a row holds, and only while the flow can still complete: using the
 * state clears it, and so does the expiry (at the next purge).
 */
@Injectable()
export class OAuthStateRepository {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async create(state: NewOAuthState, ttlMs: number): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO oauth_states
         (state_hash, browser_hash, code_verifier, platform, platform_user_id, organization_id, draft_id, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8::double precision / 1000))`,
      [
        state.stateHash,
        state.browserHash,
        state.codeVerifier,
        state.platform,
        state.platformUserId,
        state.organizationId,
        state.draftId,
        ttlMs,
      ],
    );
  }

  async find(stateHash: string): Promise<OAuthStateRecord | null> {
    const rows: OAuthStateRecord[] = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM oauth_states WHERE state_hash = $1`,
      [stateHash],
    );
    return rows[0] ?? null;
  }

  /**
   * Marks the state used and hands out its verifier, clearing it in the row, only if the state is
   * unused, unexpired and bound to this browser. One statement, so of two callbacks racing with the
   * same state exactly one gets the row (the other waits on the row lock, then finds it used).
   */
  async consume(stateHash: string, browserHash: string): Promise<ConsumedOAuthState | null> {
    const rows: ConsumedOAuthState[] = await this.dataSource.query(
      `WITH consumed AS (
         UPDATE oauth_states s SET used_at = now(), code_verifier = NULL
           FROM (SELECT state_hash, code_verifier FROM oauth_states WHERE state_hash = $1 FOR UPDATE) before
          WHERE s.state_hash = before.state_hash AND s.browser_hash = $2 AND s.used_at IS NULL
            AND s.expires_at > now() AND before.code_verifier IS NOT NULL
          RETURNING s.*, before.code_verifier AS verifier
       )
       SELECT ${COLUMNS}, verifier AS "codeVerifier" FROM consumed`,
      [stateHash, browserHash],
    );
    return rows[0] ?? null;
  }

  /** Clears the verifiers of expired states and drops states well past their expiry; runs whenever a flow starts. */
  async purgeExpired(): Promise<void> {
    await this.dataSource.query(
      `UPDATE oauth_states SET code_verifier = NULL WHERE expires_at <= now() AND code_verifier IS NOT NULL`,
    );
    await this.dataSource.query(
      `DELETE FROM oauth_states WHERE expires_at < now() - interval '${KEEP_AFTER_EXPIRY}'`,
    );
  }
}
