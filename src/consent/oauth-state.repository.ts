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

export interface OAuthStateRecord extends NewOAuthState {
  used: boolean;
  /** Judged by the database clock, like every other expiry here. */
  expired: boolean;
}

const COLUMNS = `state_hash AS "stateHash", browser_hash AS "browserHash", code_verifier AS "codeVerifier",
  platform, platform_user_id AS "platformUserId", organization_id AS "organizationId", draft_id AS "draftId",
  used_at IS NOT NULL AS used, expires_at <= now() AS expired`;

/** Used rows are kept a day past their expiry, so a replayed callback is told "already used". */
const KEEP_AFTER_EXPIRY = '1 day';

/** Pending OAuth authorizations: stored by the state's sha256 only, single use, short-lived. */
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
   * Marks the state used, only if it is unused, unexpired and bound to this browser; one statement, so
   * of two callbacks racing with the same state exactly one gets the row.
   */
  async consume(stateHash: string, browserHash: string): Promise<OAuthStateRecord | null> {
    const rows: OAuthStateRecord[] = await this.dataSource.query(
      `WITH consumed AS (
         UPDATE oauth_states SET used_at = now()
          WHERE state_hash = $1 AND browser_hash = $2 AND used_at IS NULL AND expires_at > now()
          RETURNING *
       )
       SELECT ${COLUMNS} FROM consumed`,
      [stateHash, browserHash],
    );
    return rows[0] ?? null;
  }

  /** Drops states well past their expiry; cheap, so it runs whenever a flow starts. */
  async purgeExpired(): Promise<void> {
    await this.dataSource.query(
      `DELETE FROM oauth_states WHERE expires_at < now() - interval '${KEEP_AFTER_EXPIRY}'`,
    );
  }
}
