import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DUE_STATES, TRANSFER_STATES, type TransferState } from '../transfers/transfer-state';
import {
  CONSENT_LIST_LIMIT,
  HOURLY_WINDOW_HOURS,
  type ConsentHealth,
  type HourlySummary,
  type Summary,
} from './admin-api.schemas';

/** The numbers an operator looks at first: where transfers are, what is stuck, what went quiet. */
@Injectable()
export class AdminSummaryService {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async summary(): Promise<Summary> {
    const [byCause, [due], lastCallbacks, mail, platforms, reconciliation] = await Promise.all([
      this.dataSource.query<{ state: TransferState; cause: string | null; count: number }[]>(
        `SELECT state, cause, count(*)::int AS count FROM transfers
          GROUP BY state, cause ORDER BY state, count DESC, cause NULLS FIRST`,
      ),
      this.dataSource.query<
        {
          now: Date;
          id: string | null;
          platform: string;
          envelopeId: string;
          envelopeName: string | null;
          state: TransferState;
          dueSince: Date;
          ageSeconds: number;
        }[]
      >(
        // One statement gives the summary's time and the age measured against it, whatever the other
        // queries' timing: `now` is always there, the transfer's columns only when one is due.
        `SELECT now() AS now, d.* FROM (SELECT 1) one LEFT JOIN LATERAL (
           SELECT id, platform, envelope_id AS "envelopeId", envelope_name AS "envelopeName", state,
                  next_attempt_at AS "dueSince",
                  floor(extract(epoch FROM now() - next_attempt_at))::int AS "ageSeconds"
             FROM transfers WHERE state = ANY($1::text[]) AND next_attempt_at <= now()
            ORDER BY next_attempt_at LIMIT 1
         ) d ON true`,
        [DUE_STATES],
      ),
      this.dataSource.query<{ platform: string; lastReceivedAt: Date }[]>(
        `SELECT platform, max(last_received_at) AS "lastReceivedAt" FROM noted_events
          GROUP BY platform ORDER BY platform`,
      ),
      this.dataSource.query<{ pending: number; failed: number }[]>(
        `SELECT count(*) FILTER (WHERE state = 'pending')::int AS pending,
                count(*) FILTER (WHERE state = 'failed')::int AS failed
           FROM outbound_mail WHERE state IN ('pending', 'failed')`,
      ),
      // The distinct platforms, one index probe each (uq_transfers_envelope leads with platform).
      this.dataSource.query<{ platform: string }[]>(
        `WITH RECURSIVE p AS (
           SELECT min(platform) AS platform FROM transfers
           UNION ALL
           SELECT (SELECT min(platform) FROM transfers WHERE platform > p.platform) FROM p WHERE p.platform IS NOT NULL
         )
         SELECT platform FROM p WHERE platform IS NOT NULL`,
      ),
      this.reconciliation(),
    ]);
    const byState = Object.fromEntries(TRANSFER_STATES.map((s) => [s, 0])) as Record<TransferState, number>;
    for (const row of byCause) byState[row.state] = (byState[row.state] ?? 0) + row.count;
    const { now, ...oldest } = due;
    return {
      generatedAt: now.toISOString(),
      byState,
      byCause,
      oldestDue:
        oldest.id === null
          ? null
          : {
              id: oldest.id,
              platform: oldest.platform,
              envelopeId: oldest.envelopeId,
              envelopeName: oldest.envelopeName,
              state: oldest.state,
              dueSince: oldest.dueSince.toISOString(),
              ageSeconds: oldest.ageSeconds,
            },
      lastCallbacks: lastCallbacks.map((c) => ({
        platform: c.platform,
        lastReceivedAt: c.lastReceivedAt.toISOString(),
      })),
      mail: mail[0],
      platforms: platforms.map((p) => p.platform),
      reconciliation,
    };
  }

  /** Per platform instance that ever reconciled or had a transfer found by it: its last run and last week's finds. */
  private async reconciliation(): Promise<Summary['reconciliation']> {
    const [runs, found] = await Promise.all([
      this.dataSource.query<
        {
          platform: string;
          startedAt: Date;
          finishedAt: Date | null;
          windowFrom: Date;
          windowTo: Date;
          found: number;
          created: number;
          outcome: 'ok' | 'partial' | 'failed' | null;
          errors: string[];
        }[]
      >(
        `SELECT DISTINCT ON (platform) platform, started_at AS "startedAt", finished_at AS "finishedAt",
                window_from AS "windowFrom", window_to AS "windowTo", found, created, outcome, errors
           FROM reconciliation_runs ORDER BY platform, started_at DESC`,
      ),
      this.dataSource.query<{ platform: string; n: number }[]>(
        `SELECT platform, count(*)::int AS n FROM transfers
          WHERE origin = 'reconciliation' AND created_at > now() - interval '7 days' GROUP BY platform`,
      ),
    ]);
    const names = [...new Set([...runs.map((r) => r.platform), ...found.map((f) => f.platform)])].sort();
    return names.map((platform) => {
      const run = runs.find((r) => r.platform === platform);
      return {
        platform,
        lastRun: run
          ? {
              startedAt: run.startedAt.toISOString(),
              finishedAt: run.finishedAt?.toISOString() ?? null,
              windowFrom: run.windowFrom.toISOString(),
              windowTo: run.windowTo.toISOString(),
              found: run.found,
              created: run.created,
              outcome: run.outcome,
              errors: run.errors,
            }
          : null,
        foundOnlyByReconciliation7d: found.find((f) => f.platform === platform)?.n ?? 0,
      };
    });
  }

  /**
   * Per hour over the last 48 (UTC hours, the current one last): transfers archived, transfers
   * given up on (an attempt ended `failed`), and transfers found still unfinished (an attempt
   * ended `waiting`). Hours without any are zeros.
   */
  async hourly(): Promise<HourlySummary> {
    // Every time counted here is written by an UPDATE of the transfer that also sets updated_at
    // (an attempt's end follows its transition within milliseconds), so only transfers touched in
    // the window, plus an hour of slack, are read: ix_transfers_state (state, updated_at) finds
    // them, and ix_transfer_attempts_transfer their attempts.
    const rows: { hour: Date; archived: number; failed: number; waiting: number; now: Date }[] =
      await this.dataSource.query(
        `WITH hours AS (
           SELECT generate_series(date_trunc('hour', now(), 'UTC') - make_interval(hours => $1::int - 1),
                                  date_trunc('hour', now(), 'UTC'), interval '1 hour') AS hour
         ),
         touched AS (
           SELECT t.id, t.archived_at FROM transfers t
            WHERE t.state = ANY($2::text[])
              AND t.updated_at >= date_trunc('hour', now(), 'UTC') - make_interval(hours => $1::int)
         ),
         archived AS (
           SELECT date_trunc('hour', archived_at, 'UTC') AS hour, count(*)::int AS n FROM touched
            WHERE archived_at >= date_trunc('hour', now(), 'UTC') - make_interval(hours => $1::int - 1)
            GROUP BY 1
         ),
         ended AS (
           SELECT date_trunc('hour', a.finished_at, 'UTC') AS hour,
                  count(DISTINCT a.transfer_id) FILTER (WHERE a.outcome = 'failed')::int AS failed,
                  count(DISTINCT a.transfer_id) FILTER (WHERE a.outcome = 'waiting')::int AS waiting
             FROM touched JOIN transfer_attempts a ON a.transfer_id = touched.id
            WHERE a.finished_at >= date_trunc('hour', now(), 'UTC') - make_interval(hours => $1::int - 1)
              AND a.outcome IN ('failed', 'waiting')
            GROUP BY 1
         )
         SELECT h.hour, coalesce(archived.n, 0) AS archived, coalesce(ended.failed, 0) AS failed,
                coalesce(ended.waiting, 0) AS waiting, now() AS now
           FROM hours h LEFT JOIN archived USING (hour) LEFT JOIN ended USING (hour)
          ORDER BY h.hour`,
        [HOURLY_WINDOW_HOURS, TRANSFER_STATES],
      );
    return {
      generatedAt: rows[0].now.toISOString(),
      hours: rows.map((r) => ({
        hour: r.hour.toISOString(),
        archived: r.archived,
        failed: r.failed,
        waiting: r.waiting,
      })),
    };
  }

  /**
   * Senders whose token the platform rejected: until they grant access again, their transfers wait
   * in `needs_consent`. The longest-waiting first.
   */
  async consent(): Promise<ConsentHealth> {
    const [senders, total] = await Promise.all([
      this.dataSource.query<
        { id: string; platform: string; email: string | null; since: Date; waitingTransfers: number }[]
      >(
        `SELECT s.id, s.platform, s.email, coalesce(s.token_rejected_at, s.updated_at) AS since,
                (SELECT count(*)::int FROM envelope_senders es
                   JOIN transfers t ON t.platform = es.platform AND t.envelope_id = es.envelope_id
                  WHERE es.sender_id = s.id AND t.state = 'needs_consent') AS "waitingTransfers"
           FROM senders s WHERE s.consent_state = 'rejected'
          ORDER BY since, s.id LIMIT $1`,
        [CONSENT_LIST_LIMIT],
      ),
      this.dataSource.query<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM senders WHERE consent_state = 'rejected'`,
      ),
    ]);
    return {
      count: total[0].n,
      senders: senders.map((s) => ({ ...s, since: s.since.toISOString() })),
    };
  }
}
