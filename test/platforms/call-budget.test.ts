import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { CallBudgets } from '../../src/platforms/call-budget';
import { buildDataSourceOptions } from '../../src/database/data-source-options';
import { createMigratedDataSource } from '../support/database';

/**
 * The shared call budget on the real PostgreSQL: three "processes" (each its own connection pool)
 * drawing on one account's budget never exceed it together, and a throttle pauses all of them.
 */
describe('call budgets shared through PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof createMigratedDataSource>>;
  const others: DataSource[] = [];

  before(async () => {
    db = await createMigratedDataSource();
    for (let i = 0; i < 2; i++) {
      const source = new DataSource(
        buildDataSourceOptions(db.db.url, {
          DATABASE_POOL_SIZE: 4,
          DATABASE_ACQUIRE_TIMEOUT_MS: 5000,
          DATABASE_STATEMENT_TIMEOUT_MS: 30_000,
        }),
      );
      await source.initialize();
      others.push(source);
    }
  });
  after(async () => {
    for (const source of others) await source.destroy();
    await db.close();
  });

  it('is absent for no limit', () => {
    assert.equal(new CallBudgets(db.dataSource).forInstance('unlimited', 0), undefined);
  });

  it('three processes calling as fast as they can stay within the budget together, and use most of it', async () => {
    const perMinute = 600; // 30 permits at once, then 9.5 a second
    const budgets = [db.dataSource, ...others].map((source) =>
      new CallBudgets(source).forInstance('shared-account', perMinute)!,
    );
    const calls: number[] = [];
    const until = Date.now() + 3_000;
    await Promise.all(
      budgets.flatMap((budget) =>
        Array.from({ length: 4 }, async () => {
          while (Date.now() < until) {
            await budget.acquire();
            if (Date.now() < until) calls.push(Date.now());
          }
        }),
      ),
    );
    // At most the burst plus 3 s of refill.
    const most = 30 + 3 * (570 / 60);
    assert.ok(calls.length <= most, `${calls.length} calls, more than ${most}`);
    assert.ok(calls.length >= 0.8 * most, `${calls.length} calls: the budget was left unused`);
    // Spread by the refill, not bunched: no second after the burst holds more than its refill and a bit.
    const afterBurst = calls.sort((a, b) => a - b).slice(31);
    const start = afterBurst[0];
    const inFirstSecond = afterBurst.filter((t) => t < start + 1_000).length;
    assert.ok(inFirstSecond <= 12, `${inFirstSecond} calls in one second`);
  });

  it('a throttle pauses every process sharing the budget, and an abort ends a wait at once', async () => {
    const first = new CallBudgets(db.dataSource).forInstance('throttled-account', 600)!;
    const second = new CallBudgets(others[0]).forInstance('throttled-account', 600)!;
    await first.acquire();
    await first.throttled(1_000);
    const started = Date.now();
    await second.acquire();
    const waited = Date.now() - started;
    assert.ok(waited >= 900, `the other process waited only ${waited} ms`);

    await first.throttled(5_000);
    const controller = new AbortController();
    const reason = new Error('shutting down');
    setTimeout(() => controller.abort(reason), 100);
    const abortStarted = Date.now();
    await assert.rejects(second.acquire(controller.signal), (e: unknown) => e === reason);
    assert.ok(Date.now() - abortStarted < 1_500);
  });
});
