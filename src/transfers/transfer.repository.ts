import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { escapeUntrusted } from '../common/untrusted-text';
import { queryRows } from '../database/query-rows';
import { ArchiveError } from './archive-error';
import {
  DUE_STATES,
  FINAL_STATES,
  LEASED_STATES,
  RETRYABLE_STATES,
  TRANSFER_STATES,
  type TransferOrigin,
  type TransferState,
} from './transfer-state';

/** A transfer held by this worker: every later write must carry its claim token. */
export interface ClaimedTransfer {
  id: string;
  platform: string;
  envelopeId: string;
  claimToken: string;
  attempts: number;
  createdAt: Date;
  /** Age limits count from here: the first callback, or the latest operator retry or re-consent. */
  ageFrom: Date;
  archivedAt: Date | null;
  senderEmail: string | null;
  stateVersion: number;
  /** The `transfer_attempts` row this claim opened; the run records its outcome there. */
  attemptId: string;
  /** When the run last moved (a step done, a chunk copied); the lease is renewed only while it moves. */
  progressAt?: number;
}

export interface TransitionPatch {
  state: TransferState;
  cause?: string | null;
  lastError?: string | null;
  lastErrorClass?: string | null;
  /** When the transfer becomes due again, counted from the database's clock. */
  delayMs?: number;
  envelopeStatus?: string;
  senderEmail?: string | null;
  archived?: boolean;
  platformDeleted?: boolean;
  finished?: boolean;
  /** The claim was only a look (the envelope is not finished yet), not an attempt at the work. */
  uncountAttempt?: boolean;
  /** Something ops should see that did not stop the transfer; null clears it. */
  warning?: string | null;
  /** The envelope's name from the platform; stored escaped, an empty one as null. */
  envelopeName?: string | null;
}

/** Envelope names are the platform's text: kept whole up to this many code points, escaped. */
const MAX_ENVELOPE_NAME_CHARS = 512;

const CLAIM_COLUMNS = `t.id, t.platform, t.envelope_id AS "envelopeId", t.claim_token AS "claimToken", t.attempts,
  t.created_at AS "createdAt", coalesce(t.resumed_at, t.created_at) AS "ageFrom", t.archived_at AS "archivedAt", t.sender_email AS "senderEmail",
  t.state_version AS "stateVersion"`;

/** What an operator's retry or dismiss changed. */
export interface OperatorChange {
  id: string;
  state: TransferState;
  previousState: TransferState;
  previousCause: string | null;
  previousAttempts: number;
}

/** The envelope a transfer is for; `origin` says who asked for it. */
export interface DueEnvelope {
  platform: string;
  envelopeId: string;
}

const RETRY_SET = `state = CASE WHEN t.archived_at IS NULL THEN 'pending' ELSE 'archived' END,
  next_attempt_at = now(), resumed_at = now(), cause = NULL, attempts = 0, finished_at = NULL, dismissed_reason = NULL,
  claim_token = NULL, lease_owner = NULL, lease_expires_at = NULL,
  state_version = t.state_version + 1, updated_at = now()`;

/** One transfer (`$1`) locked while in one of the states `$2`, before an operator's change. */
const ONE_TARGET = `WITH target AS (
  SELECT id, state, cause, attempts FROM transfers WHERE id = $1 AND state = ANY($2::text[]) FOR UPDATE
)`;

const CHANGE_COLUMNS = `t.id, t.state, target.state AS "previousState", target.cause AS "previousCause",
  target.attempts AS "previousAttempts"`;

/** The states a transfer may be dismissed from: not finished, and not held by a worker. */
export const DISMISSABLE_STATES: readonly TransferState[] = TRANSFER_STATES.filter(
  (s) => !FINAL_STATES.includes(s) && !LEASED_STATES.includes(s),
);

/** Keys in a stable order, so concurrent writers (other replicas) cannot deadlock on each other. */
function ensureDueParams(envelopes: readonly DueEnvelope[]): [string[], string[]] {
  const keyed = new Map(envelopes.map((e) => [`${e.platform}\u0000${e.envelopeId}`, e]));
  const sorted = [...keyed.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
  return [sorted.map((e) => e.platform), sorted.map((e) => e.envelopeId)];
}

/** The insert behind ensure-due, its two arrays after `base` parameters; a waiting transfer becomes due. */
function ensureDueSql(base: number, origin: TransferOrigin): string {
  return `INSERT INTO transfers AS tr (platform, envelope_id, origin)
    SELECT platform, envelope_id, '${origin}' FROM unnest($${base + 1}::text[], $${base + 2}::text[]) AS k(platform, envelope_id)
    ON CONFLICT ON CONSTRAINT uq_transfers_envelope DO UPDATE
      SET next_attempt_at = now(), updated_at = now()
      WHERE tr.state = 'waiting'`;
}

/**
 * Transfers became due: workers listening on this channel look for work at once (NOTIFY is delivered
 * on commit, and only then). Polling stays the fallback for a notification that is lost.
 */
export const TRANSFERS_DUE_CHANNEL = 'esign_archiver_transfers_due';

/** A scalar subquery that notifies the workers once when the CTE `cte` holds any row. */
const WAKE_IF_ANY = (cte: string): string =>
  `SELECT count(*) FROM (SELECT pg_notify('${TRANSFERS_DUE_CHANNEL}', '') FROM ${cte} LIMIT 1) wake`;

async function wakeWorkers(runner: DataSource | EntityManager): Promise<void> {
  await runner.query(`SELECT pg_notify($1, '')`, [TRANSFERS_DUE_CHANNEL]);
}

/**
 * The one owner of the `transfers` state machine: every write to the table is one of these named
 * transitions. Others may read the table; none writes it.
 */
@Injectable()
export class TransferRepository {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  /**
   * Makes sure a transfer exists for each envelope (from a callback or reconciliation). One that waits
   * for its envelope to finish becomes due at once. Keys are taken in a stable order, so concurrent
   * writers (other replicas) cannot deadlock on each other.
   *
   * `along` is the caller's own data-modifying statement (its `$1..$n` parameters in `params`, without
   * a RETURNING clause) to commit in the same statement: the intake notes a callback and ensures its
   * transfer in one round trip, which a callback's latency depends on.
   */
  async ensureDue(
    envelopes: readonly DueEnvelope[],
    runner: DataSource | EntityManager,
    along?: { sql: string; params: readonly unknown[] },
  ): Promise<number> {
    const base = along?.params.length ?? 0;
    const rows = await queryRows<{ n: number }>(
      runner,
      `WITH ${along ? `along AS (${along.sql} RETURNING 1),` : ''} work AS (
         ${ensureDueSql(base, 'callback')}
         RETURNING 1
       )
       SELECT count(*)::int AS n, (${WAKE_IF_ANY('work')}) AS woke FROM work`,
      [...(along?.params ?? []), ...ensureDueParams(envelopes)],
    );
    return rows[0].n;
  }

  /**
   * Reconciliation's ensure-due: transfers for finished envelopes no callback announced are created with
   * origin `reconciliation`; existing ones are left as they are (a waiting one becomes due). Returns
   * the transfers it created.
   */
  async ensureFound(
    envelopes: readonly DueEnvelope[],
    runner: DataSource | EntityManager,
  ): Promise<DueEnvelope[]> {
    if (envelopes.length === 0) return [];
    const found = await queryRows<DueEnvelope>(
      runner,
      `WITH work AS (
         ${ensureDueSql(0, 'reconciliation')}
         RETURNING tr.platform, tr.envelope_id, (xmax = 0) AS inserted
       )
       SELECT platform, envelope_id AS "envelopeId" FROM work WHERE inserted`,
      ensureDueParams(envelopes),
    );
    if (found.length > 0) await wakeWorkers(runner);
    return found;
  }

  /**
   * Transfers of a sender's envelopes that were paused for consent become due again: those still to be
   * copied go back to `pending`; those already archived, which only wait for the platform delete, to
   * `archived`. Returns how many moved.
   */
  async resumeAfterConsent(platform: string, senderId: string, manager: EntityManager): Promise<number> {
    const rows = await queryRows<{ n: number }>(
      manager,
      `WITH resumed AS (
         UPDATE transfers
            SET state = CASE WHEN archived_at IS NOT NULL THEN 'archived' ELSE 'pending' END,
                next_attempt_at = now(), resumed_at = now(), cause = NULL, state_version = state_version + 1,
                updated_at = now()
          WHERE state = 'needs_consent' AND platform = $1
            AND envelope_id IN (SELECT envelope_id FROM envelope_senders WHERE platform = $1 AND sender_id = $2)
          RETURNING 1
       )
       SELECT count(*)::int AS n, (${WAKE_IF_ANY('resumed')}) AS woke FROM resumed`,
      [platform, senderId],
    );
    return rows[0].n;
  }

  /** An operator's retry: due at once, attempts and age counted afresh. Undefined when not retryable now. */
  async retryByOperator(id: string, manager: EntityManager): Promise<OperatorChange | undefined> {
    const rows = await queryRows<OperatorChange>(
      manager,
      `${ONE_TARGET}
       UPDATE transfers t SET ${RETRY_SET}
         FROM target WHERE t.id = target.id
       RETURNING ${CHANGE_COLUMNS}`,
      [id, RETRYABLE_STATES],
    );
    if (rows.length > 0) await wakeWorkers(manager);
    return rows[0];
  }

  /**
   * An operator's retry of up to `limit` transfers matching `where` (conditions on alias `t`, values in
   * `params`), newest first, skipping rows a worker is claiming this instant.
   */
  async retryManyByOperator(
    where: string,
    params: readonly unknown[],
    limit: number,
    manager: EntityManager,
  ): Promise<OperatorChange[]> {
    const changed = await queryRows<OperatorChange>(
      manager,
      `WITH target AS (
         SELECT t.id, t.state, t.cause, t.attempts FROM transfers t ${where}
          ORDER BY t.created_at DESC, t.id DESC
          LIMIT $${params.length + 1}
          FOR UPDATE SKIP LOCKED
       )
       UPDATE transfers t SET ${RETRY_SET}
         FROM target WHERE t.id = target.id
       RETURNING ${CHANGE_COLUMNS}`,
      [...params, limit],
    );
    if (changed.length > 0) await wakeWorkers(manager);
    return changed;
  }

  /** An operator's dismiss: the transfer ends with the reason given. Undefined when not dismissable now. */
  async dismiss(id: string, reason: string, manager: EntityManager): Promise<OperatorChange | undefined> {
    const rows = await queryRows<OperatorChange>(
      manager,
      `${ONE_TARGET}
       UPDATE transfers t
          SET state = 'dismissed', dismissed_reason = $3, finished_at = now(),
              claim_token = NULL, lease_owner = NULL, lease_expires_at = NULL,
              state_version = t.state_version + 1, updated_at = now()
         FROM target WHERE t.id = target.id
       RETURNING ${CHANGE_COLUMNS}`,
      [id, DISMISSABLE_STATES, reason],
    );
    return rows[0];
  }

  /**
   * Claims up to `limit` due transfers, and those whose worker's lease ran out, skipping rows
   * another worker is claiming right now. Each claim counts as an attempt and opens its
   * `transfer_attempts` row in the same statement.
   */
  async claimDue(limit: number, owner: string, leaseMs: number): Promise<ClaimedTransfer[]> {
    if (limit <= 0) return [];
    return queryRows<ClaimedTransfer>(
      this.dataSource,
      `WITH due AS (
         SELECT id FROM transfers
          WHERE (state = ANY($1::text[]) AND next_attempt_at <= now())
             OR (state = ANY($2::text[]) AND lease_expires_at < now())
          ORDER BY next_attempt_at
          LIMIT $3
          FOR UPDATE SKIP LOCKED
       ),
       claimed AS (
         UPDATE transfers t
            SET state = 'checking', claim_token = gen_random_uuid(), lease_owner = $4,
                lease_expires_at = now() + make_interval(secs => $5::double precision / 1000),
                attempts = t.attempts + 1, updated_at = now()
           FROM due WHERE t.id = due.id
         RETURNING ${CLAIM_COLUMNS}
       ),
       attempt AS (
         INSERT INTO transfer_attempts (transfer_id, attempt, worker)
         SELECT id, attempts, $4 FROM claimed
         RETURNING id, transfer_id
       )
       SELECT claimed.*, attempt.id AS "attemptId"
         FROM claimed JOIN attempt ON attempt.transfer_id = claimed.id`,
      [DUE_STATES, LEASED_STATES, limit, owner, leaseMs],
    );
  }

  /** Extends the lease; false when another worker has taken the transfer over. */
  async heartbeat(claim: ClaimedTransfer, leaseMs: number): Promise<boolean> {
    const result = await queryRows(
      this.dataSource,
      `UPDATE transfers SET lease_expires_at = now() + make_interval(secs => $3::double precision / 1000)
        WHERE id = $1 AND claim_token = $2 RETURNING 1`,
      [claim.id, claim.claimToken, leaseMs],
    );
    return result.length === 1;
  }

  /**
   * Moves a claimed transfer to its next state, fenced by the claim token. Leaving the leased
   * states releases the claim; a state change bumps `state_version` (mail is sent once per value).
   */
  async transition(
    claim: ClaimedTransfer,
    patch: TransitionPatch,
    manager?: EntityManager,
  ): Promise<{ stateVersion: number }> {
    const sets: string[] = [
      'state = $3',
      'updated_at = now()',
      'state_version = state_version + CASE WHEN state <> $3 THEN 1 ELSE 0 END',
    ];
    const params: unknown[] = [claim.id, claim.claimToken, patch.state];
    const set = (column: string, value: unknown) => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    if (patch.cause !== undefined) set('cause', patch.cause);
    if (patch.lastError !== undefined) set('last_error', patch.lastError?.slice(0, 2000) ?? null);
    if (patch.lastErrorClass !== undefined) set('last_error_class', patch.lastErrorClass);
    if (patch.envelopeStatus !== undefined) set('envelope_status', patch.envelopeStatus);
    if (patch.senderEmail !== undefined) set('sender_email', patch.senderEmail);
    if (patch.warning !== undefined) set('warning', patch.warning?.slice(0, 2000) ?? null);
    if (patch.envelopeName !== undefined) {
      set(
        'envelope_name',
        patch.envelopeName ? escapeUntrusted(patch.envelopeName, MAX_ENVELOPE_NAME_CHARS) : null,
      );
    }
    if (patch.delayMs !== undefined) {
      params.push(patch.delayMs);
      sets.push(
        `next_attempt_at = now() + make_interval(secs => $${params.length}::double precision / 1000)`,
      );
    }
    if (patch.archived) sets.push('archived_at = coalesce(archived_at, now())');
    if (patch.platformDeleted) sets.push('platform_deleted_at = coalesce(platform_deleted_at, now())');
    if (patch.finished) sets.push('finished_at = now()');
    if (patch.uncountAttempt) sets.push('attempts = greatest(attempts - 1, 0)');
    if (!LEASED_STATES.includes(patch.state)) {
      sets.push('claim_token = NULL', 'lease_owner = NULL', 'lease_expires_at = NULL');
    }
    const runner = manager ?? this.dataSource.manager;
    const rows = await queryRows<{ stateVersion: number }>(
      runner,
      `UPDATE transfers SET ${sets.join(', ')} WHERE id = $1 AND claim_token = $2 RETURNING state_version AS "stateVersion"`,
      params,
    );
    if (rows.length !== 1) {
      throw new ArchiveError(`transfer ${claim.id} was taken over by another worker`, 'LEASE_LOST');
    }
    return rows[0];
  }
}
