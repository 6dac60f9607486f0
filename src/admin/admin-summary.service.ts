import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DUE_STATES, TRANSFER_STATES, type TransferState } from '../transfers/transfer-state';
import type { Summary } from './admin-api.schemas';

/** The numbers an operator looks at first: where transfers are, what is stuck, what went quiet. */
@Injectable()
export class AdminSummaryService {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async summary(): Promise<Summary> {
    const [byCause, oldestDue, lastCallbacks, mail, now] = await Promise.all([
      this.dataSource.query(
        `SELECT state, cause, count(*)::int AS count FROM transfers
          GROUP BY state, cause ORDER BY state, count DESC, cause NULLS FIRST`,
      ) as Promise<{ state: TransferState; cause: string | null; count: number }[]>,
      this.dataSource.query(
        `SELECT id, platform, envelope_id AS "envelopeId", state, next_attempt_at AS "dueSince"
           FROM transfers WHERE state = ANY($1::text[]) AND next_attempt_at <= now()
          ORDER BY next_attempt_at LIMIT 1`,
        [DUE_STATES],
      ) as Promise<
        { id: string; platform: string; envelopeId: string; state: TransferState; dueSince: Date }[]
      >,
      this.dataSource.query(
        `SELECT platform, max(last_received_at) AS "lastReceivedAt" FROM noted_events
          GROUP BY platform ORDER BY platform`,
      ) as Promise<{ platform: string; lastReceivedAt: Date }[]>,
      this.dataSource.query(
        `SELECT count(*) FILTER (WHERE state = 'pending')::int AS pending,
                count(*) FILTER (WHERE state = 'failed')::int AS failed
           FROM outbound_mail WHERE state IN ('pending', 'failed')`,
      ) as Promise<{ pending: number; failed: number }[]>,
      this.dataSource.query('SELECT now() AS now') as Promise<{ now: Date }[]>,
    ]);
    const byState = Object.fromEntries(TRANSFER_STATES.map((s) => [s, 0])) as Record<TransferState, number>;
    for (const row of byCause) byState[row.state] = (byState[row.state] ?? 0) + row.count;
    const due = oldestDue[0];
    return {
      generatedAt: now[0].now.toISOString(),
      byState,
      byCause,
      oldestDue: due ? { ...due, dueSince: due.dueSince.toISOString() } : null,
      lastCallbacks: lastCallbacks.map((c) => ({
        platform: c.platform,
        lastReceivedAt: c.lastReceivedAt.toISOString(),
      })),
      mail: mail[0],
    };
  }
}
