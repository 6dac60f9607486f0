import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { queryRows } from '../database/query-rows';
import { sleep } from './http/retry.policy';

/**
 * A platform account's budget of API calls, shared by every worker process: a call waits for its
 * permit rather than meeting the platform's 429.
 */
export interface CallBudget {
  /** Resolves when a call may be made now; rejects with the signal's reason when aborted. */
  acquire(signal?: AbortSignal): Promise<void>;
  /** The platform throttled anyway (another client of the account, a smaller quota): everyone pauses. */
  throttled(retryAfterMs: number | undefined): Promise<void>;
}

/** DI token: `CallBudgets`. */
export const CALL_BUDGETS = Symbol('CALL_BUDGETS');

/** The longest a call waits in one step before asking for its permit again. */
const MAX_STEP_MS = 1_000;

/**
 * Token buckets in PostgreSQL, one per platform instance (`platform_call_budgets`). A budget of R calls
 * a minute holds at most R/20 permits (three seconds' worth) and refills at the rest of R over a
 * minute, so no sliding minute ever sees more than R calls, from however many processes.
 */
@Injectable()
export class CallBudgets {
  private readonly seeded = new Map<string, Promise<void>>();

  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  /** The instance's budget, or undefined for no limit (`callsPerMinute` 0). */
  forInstance(instance: string, callsPerMinute: number): CallBudget | undefined {
    if (callsPerMinute <= 0) return undefined;
    const capacity = Math.max(1, Math.floor(callsPerMinute / 20));
    const perSecond = Math.max(callsPerMinute - capacity, 1) / 60;
    return {
      acquire: (signal) => this.acquire(instance, capacity, perSecond, signal),
      throttled: (retryAfterMs) => this.drain(instance, perSecond, retryAfterMs ?? 1_000),
    };
  }

  private async acquire(
    instance: string,
    capacity: number,
    perSecond: number,
    signal?: AbortSignal,
  ): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const available = await this.take(instance, capacity, perSecond);
      if (available >= 1) return;
      const waitMs = Math.min(MAX_STEP_MS, Math.ceil(((1 - available) / perSecond) * 1000));
      await sleep(Math.max(waitMs, 5), signal);
    }
  }

  /** Takes a permit when one is there; answers how many there were. */
  private async take(instance: string, capacity: number, perSecond: number): Promise<number> {
    await this.seed(instance, capacity);
    const rows = await queryRows<{ available: number }>(
      this.dataSource,
      `WITH cur AS (
         SELECT least($2::float8, tokens + extract(epoch FROM clock_timestamp() - refilled_at) * $3::float8) AS available
           FROM platform_call_budgets WHERE platform = $1 FOR UPDATE
       ), took AS (
         UPDATE platform_call_budgets b
            SET tokens = CASE WHEN cur.available >= 1 THEN cur.available - 1 ELSE cur.available END,
                refilled_at = clock_timestamp()
           FROM cur WHERE b.platform = $1
         RETURNING cur.available
       )
       SELECT available FROM took`,
      [instance, capacity, perSecond],
    );
    return rows[0]?.available ?? 0;
  }

  /** The bucket's row, made full the first time any process uses the budget. */
  private seed(instance: string, capacity: number): Promise<void> {
    let seeded = this.seeded.get(instance);
    if (!seeded) {
      seeded = this.dataSource
        .query(
          `INSERT INTO platform_call_budgets (platform, tokens, refilled_at) VALUES ($1, $2, clock_timestamp())
           ON CONFLICT (platform) DO NOTHING`,
          [instance, capacity],
        )
        .then(() => undefined);
      // A failure is tried again by the next call.
      seeded.catch(() => this.seeded.delete(instance));
      this.seeded.set(instance, seeded);
    }
    return seeded;
  }

  /** No permit for `retryAfterMs`, for any process. */
  private async drain(instance: string, perSecond: number, retryAfterMs: number): Promise<void> {
    await this.dataSource.query(
      `UPDATE platform_call_budgets
          SET tokens = least(tokens, -($2::float8 * $3::float8 / 1000)), refilled_at = clock_timestamp()
        WHERE platform = $1`,
      [instance, perSecond, Math.min(retryAfterMs, 60_000)],
    );
  }
}
