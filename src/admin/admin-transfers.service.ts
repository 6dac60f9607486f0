import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { StorageConfig } from '../config/app-config';
import { storageConfig } from '../config/config.schema';
import { TransferRepository } from '../transfers/transfer.repository';
import { queryRows } from '../database/query-rows';
import { DEFAULT_EMBEDDED_BUCKET } from '../storage/embedded-s3';
import {
  LEASED_STATES,
  RETRYABLE_STATES,
  type TransferOrigin,
  type TransferState,
} from '../transfers/transfer-state';
import type {
  AdminActionView,
  AttemptView,
  BulkRetryResult,
  CallbackView,
  DocumentView,
  TransferDetail,
  TransferPage,
  TransferView,
} from './admin-api.schemas';
import { AdminError } from './admin-error';
import { CURSOR_TIME_SQL, encodeCursor } from './transfer-cursor';
import type { BulkRetryRequest, TransferFilter, TransferListQuery } from './transfer-filter.schema';
import { transferFilterConditions, whereClause } from './transfer-filter.sql';
import { buildTimeline } from './transfer-timeline';

const TRANSFER_COLUMNS = `t.id, t.platform, t.envelope_id AS "envelopeId", t.envelope_name AS "envelopeName",
  t.state, t.origin, t.cause, t.attempts, t.warning,
  t.next_attempt_at AS "nextAttemptAt", t.last_error AS "lastError", t.last_error_class AS "lastErrorClass",
  t.envelope_status AS "envelopeStatus", t.sender_email AS "senderEmail", t.archived_at AS "archivedAt",
  t.platform_deleted_at AS "platformDeletedAt", t.finished_at AS "finishedAt",
  t.dismissed_reason AS "dismissedReason", t.state_version AS "stateVersion",
  t.created_at AS "createdAt", t.updated_at AS "updatedAt"`;

interface TransferRow {
  id: string;
  platform: string;
  envelopeId: string;
  envelopeName: string | null;
  state: TransferState;
  origin: TransferOrigin;
  cause: string | null;
  attempts: number;
  warning: string | null;
  nextAttemptAt: Date;
  lastError: string | null;
  lastErrorClass: string | null;
  envelopeStatus: string | null;
  senderEmail: string | null;
  archivedAt: Date | null;
  platformDeletedAt: Date | null;
  finishedAt: Date | null;
  dismissedReason: string | null;
  stateVersion: number;
  createdAt: Date;
  updatedAt: Date;
}

const iso = (d: Date): string => d.toISOString();
const isoOrNull = (d: Date | null): string | null => (d === null ? null : d.toISOString());

function toView(row: TransferRow): TransferView {
  return {
    id: row.id,
    platform: row.platform,
    envelopeId: row.envelopeId,
    envelopeName: row.envelopeName,
    state: row.state,
    origin: row.origin,
    cause: row.cause,
    attempts: row.attempts,
    nextAttemptAt: iso(row.nextAttemptAt),
    lastError: row.lastError,
    lastErrorClass: row.lastErrorClass,
    envelopeStatus: row.envelopeStatus,
    senderEmail: row.senderEmail,
    warning: row.warning,
    archivedAt: isoOrNull(row.archivedAt),
    platformDeletedAt: isoOrNull(row.platformDeletedAt),
    finishedAt: isoOrNull(row.finishedAt),
    dismissedReason: row.dismissedReason,
    stateVersion: row.stateVersion,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

/**
 * What an operator's retry does: due now with the full attempt budget. A transfer whose
 * documents are all verified retries only the delete on the platform (state `archived`); the
 * pipeline skips verified documents on its own. `last_error` stays for history.
 */
/** A bulk retry without a state filter leaves dismissed transfers alone: someone decided on each. */
const BULK_RETRY_DEFAULT_STATES: readonly TransferState[] = RETRYABLE_STATES.filter((s) => s !== 'dismissed');

/** A filter as it is written into the audit log: only what was given. */
function describeFilter(filter: TransferFilter): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries({
      state: filter.states.length > 0 ? filter.states : undefined,
      cause: filter.causes.length > 0 ? filter.causes : undefined,
      sender: filter.sender,
      platform: filter.platform,
      dateField: filter.from || filter.to ? filter.dateField : undefined,
      from: filter.from?.toISOString(),
      to: filter.to?.toISOString(),
      q: filter.search,
    }).filter(([, v]) => v !== undefined),
  );
}

/** The failed-transfers console: read transfers and their history, retry and dismiss them. */
@Injectable()
export class AdminTransfersService {
  private readonly logger = new Logger('Admin');

  /** The bucket documents are archived to, for their `s3://` locations. */
  private readonly bucket: string;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(storageConfig.KEY) config: StorageConfig,
    private readonly transfers: TransferRepository,
  ) {
    // The store uses the embedded server's default bucket when none is configured.
    this.bucket = config.S3_BUCKET ?? DEFAULT_EMBEDDED_BUCKET;
  }

  /** Newest first, in pages; the cursor is a position, so rows added meanwhile do not shift a page. */
  async list(query: TransferListQuery): Promise<TransferPage> {
    const params: unknown[] = [];
    const conditions = transferFilterConditions(query.filter, params);
    if (query.cursor) {
      params.push(query.cursor.createdAt, query.cursor.id);
      conditions.push(`(t.created_at, t.id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(query.limit + 1);
    const rows: (TransferRow & { cursorAt: string })[] = await this.dataSource.query(
      `SELECT ${TRANSFER_COLUMNS}, ${CURSOR_TIME_SQL('t.created_at')} AS "cursorAt"
         FROM transfers t ${whereClause(conditions)}
        ORDER BY t.created_at DESC, t.id DESC
        LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toView),
      nextCursor: rows.length > query.limit ? encodeCursor({ createdAt: last.cursorAt, id: last.id }) : null,
    };
  }

  async detail(id: string): Promise<TransferDetail> {
    const rows: (TransferRow & { leaseOwner: string | null; leaseExpiresAt: Date | null })[] =
      await this.dataSource.query(
        `SELECT ${TRANSFER_COLUMNS}, t.lease_owner AS "leaseOwner", t.lease_expires_at AS "leaseExpiresAt"
           FROM transfers t WHERE t.id = $1`,
        [id],
      );
    if (rows.length === 0) throw new AdminError(`no transfer ${id}`, 'NOT_FOUND');
    const row = rows[0];
    const transfer = {
      ...toView(row),
      leaseOwner: row.leaseOwner,
      leaseExpiresAt: isoOrNull(row.leaseExpiresAt),
    };

    const [documents, attempts, callbacks, adminActions] = await Promise.all([
      this.documentsOf(id),
      this.attemptsOf(id),
      this.callbacksFor(row.platform, row.envelopeId),
      this.actionsOn(id),
    ]);
    return {
      transfer,
      documents,
      attempts,
      callbacks,
      adminActions,
      timeline: buildTimeline(transfer, attempts, callbacks, adminActions),
    };
  }

  async retry(id: string, actor: string): Promise<TransferView> {
    const retried = await this.dataSource.transaction(async (manager) => {
      const change = await this.transfers.retryByOperator(id, manager);
      if (!change) {
        const state = await this.currentState(manager, id);
        throw new AdminError(
          `the transfer is ${state}; only ${RETRYABLE_STATES.join(', ')} transfers can be retried`,
          'CONFLICT',
        );
      }
      await this.record(manager, actor, 'retry', [id], {
        from: change.previousState,
        cause: change.previousCause,
        attempts: change.previousAttempts,
        to: change.state,
      });
      return { ...(await this.rowOf(manager, id)), previousState: change.previousState };
    });
    this.logger.log({
      msg: `transfer retried by ${actor}`,
      actor,
      transferId: id,
      envelopeId: retried.envelopeId,
      from: retried.previousState,
      to: retried.state,
    });
    return toView(retried);
  }

  /**
   * Retries up to `limit` retryable transfers matching the filter (newest first, as listed),
   * skipping rows a worker is claiming this instant. Dismissed transfers are included only when
   * the filter names that state. One audit row covers them all.
   */
  async retryMany(request: BulkRetryRequest, actor: string): Promise<BulkRetryResult> {
    const { filter, limit } = request;
    const states = filter.states.length > 0 ? filter.states : BULK_RETRY_DEFAULT_STATES;
    const result = await this.dataSource.transaction(async (manager) => {
      const params: unknown[] = [];
      const conditions = transferFilterConditions({ ...filter, states: [...states] }, params);
      const where = whereClause(conditions);
      const matchParams = [...params];
      const rows = await this.transfers.retryManyByOperator(where, params, limit, manager);
      // Retried rows left the retryable states, so whatever still matches was left over.
      const [{ more }]: { more: boolean }[] = await manager.query(
        `SELECT EXISTS (SELECT 1 FROM transfers t ${where}) AS more`,
        matchParams,
      );
      const ids = rows.map((r) => r.id);
      const previousStates: Record<string, number> = {};
      for (const r of rows) previousStates[r.previousState] = (previousStates[r.previousState] ?? 0) + 1;
      await this.record(manager, actor, 'bulk_retry', ids, {
        filter: describeFilter(filter),
        limit,
        retried: ids.length,
        from: previousStates,
        more,
      });
      return { retried: ids.length, ids, more };
    });
    this.logger.log({
      msg: `${result.retried} transfers retried by ${actor}`,
      actor,
      filter: describeFilter(filter),
      more: result.more,
    });
    return result;
  }

  async dismiss(id: string, reason: string, actor: string): Promise<TransferView> {
    const dismissed = await this.dataSource.transaction(async (manager) => {
      const change = await this.transfers.dismiss(id, reason, manager);
      if (!change) {
        const state = await this.currentState(manager, id);
        throw new AdminError(
          LEASED_STATES.includes(state)
            ? `the transfer is ${state}: a worker holds it right now; try again when the attempt ends`
            : `the transfer is already ${state}`,
          'CONFLICT',
        );
      }
      await this.record(manager, actor, 'dismiss', [id], {
        from: change.previousState,
        cause: change.previousCause,
        reason,
      });
      return { ...(await this.rowOf(manager, id)), previousState: change.previousState };
    });
    this.logger.log({
      msg: `transfer dismissed by ${actor}`,
      actor,
      transferId: id,
      envelopeId: dismissed.envelopeId,
      from: dismissed.previousState,
      reason,
    });
    return toView(dismissed);
  }

  private async documentsOf(id: string): Promise<DocumentView[]> {
    const docs: (Omit<DocumentView, 'size' | 'verifiedAt' | 's3Uri'> & {
      size: string | null;
      verifiedAt: Date | null;
    })[] = await this.dataSource.query(
      `SELECT kind, file_name AS "fileName", platform_file_id AS "platformFileId", s3_key AS "s3Key",
                size, sha256, verified_at AS "verifiedAt"
           FROM transfer_documents WHERE transfer_id = $1 ORDER BY id`,
      [id],
    );
    return docs.map((d) => ({
      ...d,
      s3Uri: `s3://${this.bucket}/${d.s3Key}`,
      size: d.size === null ? null : Number(d.size),
      verifiedAt: isoOrNull(d.verifiedAt),
    }));
  }

  private async attemptsOf(id: string): Promise<AttemptView[]> {
    const attempts: (Omit<AttemptView, 'startedAt' | 'finishedAt'> & {
      startedAt: Date;
      finishedAt: Date | null;
    })[] = await this.dataSource.query(
      `SELECT attempt, worker, started_at AS "startedAt", finished_at AS "finishedAt", outcome,
                error_class AS "errorClass", error
           FROM transfer_attempts WHERE transfer_id = $1 ORDER BY started_at, id`,
      [id],
    );
    return attempts.map((a) => ({ ...a, startedAt: iso(a.startedAt), finishedAt: isoOrNull(a.finishedAt) }));
  }

  private async callbacksFor(platform: string, envelopeId: string): Promise<CallbackView[]> {
    const callbacks: (Omit<CallbackView, 'firstReceivedAt' | 'lastReceivedAt'> & {
      firstReceivedAt: Date;
      lastReceivedAt: Date;
    })[] = await this.dataSource.query(
      `SELECT action, received_count AS "receivedCount", first_received_at AS "firstReceivedAt",
              last_received_at AS "lastReceivedAt"
         FROM noted_events WHERE platform = $1 AND envelope_id = $2 ORDER BY first_received_at, id`,
      [platform, envelopeId],
    );
    return callbacks.map((c) => ({
      ...c,
      firstReceivedAt: iso(c.firstReceivedAt),
      lastReceivedAt: iso(c.lastReceivedAt),
    }));
  }

  private async actionsOn(id: string): Promise<AdminActionView[]> {
    const actions: (Omit<AdminActionView, 'at'> & { at: Date })[] = await this.dataSource.query(
      `SELECT actor, action, at, detail FROM admin_actions
        WHERE $1::uuid = ANY(transfer_ids) ORDER BY at, id LIMIT 200`,
      [id],
    );
    return actions.map((a) => ({ ...a, at: iso(a.at) }));
  }

  /** The state of a transfer the caller could not change, or NOT_FOUND. */
  private async rowOf(manager: EntityManager, id: string): Promise<TransferRow> {
    const rows = await queryRows<TransferRow>(
      manager,
      `SELECT ${TRANSFER_COLUMNS} FROM transfers t WHERE t.id = $1`,
      [id],
    );
    return rows[0];
  }

  private async currentState(manager: EntityManager, id: string): Promise<TransferState> {
    const rows: { state: TransferState }[] = await manager.query(
      'SELECT state FROM transfers WHERE id = $1',
      [id],
    );
    if (rows.length === 0) throw new AdminError(`no transfer ${id}`, 'NOT_FOUND');
    return rows[0].state;
  }

  /** The audit row, written in the caller's transaction so it exists exactly when the change does. */
  private async record(
    manager: EntityManager,
    actor: string,
    action: 'retry' | 'bulk_retry' | 'dismiss',
    transferIds: string[],
    detail: Record<string, unknown>,
  ): Promise<void> {
    await manager.query(
      `INSERT INTO admin_actions (actor, action, transfer_ids, detail) VALUES ($1, $2, $3::uuid[], $4::jsonb)`,
      [actor, action, transferIds, JSON.stringify(detail)],
    );
  }
}
