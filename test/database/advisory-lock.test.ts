import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { withAdvisoryTryLock } from '../../src/database/advisory-lock';
import { createMigratedDataSource } from '../support/database';

describe('once-per-cluster work under an advisory try-lock', () => {
  let ctx: Awaited<ReturnType<typeof createMigratedDataSource>>;
  before(async () => {
    ctx = await createMigratedDataSource();
  });
  after(async () => {
    await ctx.close();
  });

  it('runs the work in one holder only; the others skip at once; the lock is free again afterwards', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const first = withAdvisoryTryLock(ctx.dataSource, 'reconcile:test', async () => {
      entered();
      await held;
      return 'first';
    });
    await inside;
    const started = Date.now();
    const second = await withAdvisoryTryLock(ctx.dataSource, 'reconcile:test', () =>
      Promise.resolve('second'),
    );
    assert.deepEqual(second, { ran: false });
    assert.ok(Date.now() - started < 2000, 'the second holder did not wait');
    // Another name is another lock.
    assert.deepEqual(await withAdvisoryTryLock(ctx.dataSource, 'reconcile:other', () => Promise.resolve(1)), {
      ran: true,
      result: 1,
    });
    release();
    assert.deepEqual(await first, { ran: true, result: 'first' });
    assert.deepEqual(
      await withAdvisoryTryLock(ctx.dataSource, 'reconcile:test', () => Promise.resolve('third')),
      {
        ran: true,
        result: 'third',
      },
    );
  });

  it('releases the lock when the work throws', async () => {
    await assert.rejects(
      withAdvisoryTryLock(ctx.dataSource, 'reconcile:throws', () => Promise.reject(new Error('boom'))),
      /boom/,
    );
    const rows = await ctx.dataSource.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    assert.equal(rows[0].n, 0);
    assert.equal(
      (await withAdvisoryTryLock(ctx.dataSource, 'reconcile:throws', () => Promise.resolve(2))).ran,
      true,
    );
  });
});
