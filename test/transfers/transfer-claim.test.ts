import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ArchiveError } from '../../src/transfers/archive-error';
import { TransferRepository } from '../../src/transfers/transfer.repository';
import { createMigratedDataSource } from '../support/database';

describe('transfer claims', () => {
  let ctx: Awaited<ReturnType<typeof createMigratedDataSource>>;
  let claims: TransferRepository;
  before(async () => {
    ctx = await createMigratedDataSource();
    claims = new TransferRepository(ctx.dataSource);
  });
  after(async () => {
    await ctx.close();
  });
  beforeEach(async () => {
    await ctx.dataSource.query('DELETE FROM transfers');
  });

  const addTransfers = (n: number) =>
    ctx.dataSource.query(
      `INSERT INTO transfers (platform, envelope_id) SELECT 'esignanywhere', gen_random_uuid() FROM generate_series(1, $1)`,
      [n],
    );

  it('claims each due transfer once, even with workers claiming at the same time', async () => {
    await addTransfers(40);
    const batches = await Promise.all(
      Array.from({ length: 8 }, (_, i) => claims.claimDue(10, `worker-${i}`, 60_000)),
    );
    const ids = batches.flat().map((c) => c.id);
    assert.equal(ids.length, 40);
    assert.equal(new Set(ids).size, 40);
    assert.ok(batches.flat().every((c) => c.attempts === 1 && c.claimToken));
    assert.deepEqual(await claims.claimDue(10, 'late', 60_000), []);
  });

  it('each claim opens its attempt row, numbered and named after the worker that holds it', async () => {
    await addTransfers(1);
    const [first] = await claims.claimDue(1, 'worker-a', 60_000);
    await ctx.dataSource.query(`UPDATE transfers SET lease_expires_at = now() - interval '1 second'`);
    const [second] = await claims.claimDue(1, 'worker-b', 60_000);
    const rows: { id: string; attempt: number; worker: string; finished_at: Date | null }[] =
      await ctx.dataSource.query(
        `SELECT id, attempt, worker, finished_at FROM transfer_attempts WHERE transfer_id = $1 ORDER BY id`,
        [first.id],
      );
    assert.deepEqual(
      rows.map((r) => [r.id, r.attempt, r.worker, r.finished_at]),
      [
        [first.attemptId, 1, 'worker-a', null],
        [second.attemptId, 2, 'worker-b', null],
      ],
    );
  });

  it('fences a worker whose lease ran out: the one that took over wins', async () => {
    await addTransfers(1);
    const [stale] = await claims.claimDue(1, 'slow-worker', 60_000);
    // The slow worker's lease runs out (as if it hung); another worker takes the transfer over.
    await ctx.dataSource.query(`UPDATE transfers SET lease_expires_at = now() - interval '1 second'`);
    const [fresh] = await claims.claimDue(1, 'fresh-worker', 60_000);
    assert.equal(fresh.id, stale.id);
    assert.notEqual(fresh.claimToken, stale.claimToken);
    assert.equal(fresh.attempts, 2);

    assert.equal(await claims.heartbeat(stale, 60_000), false);
    await assert.rejects(
      claims.transition(stale, { state: 'done', finished: true }),
      (e: unknown) => e instanceof ArchiveError && e.errorClass === 'LEASE_LOST',
    );
    assert.equal(await claims.heartbeat(fresh, 60_000), true);
    await claims.transition(fresh, { state: 'archiving' });
    const [row] = await ctx.dataSource.query<unknown[]>(
      'SELECT state, lease_owner FROM transfers WHERE id = $1',
      [fresh.id],
    );
    assert.deepEqual(row, { state: 'archiving', lease_owner: 'fresh-worker' });
  });

  it('releases the claim when leaving the leased states, and bumps the state version once per change', async () => {
    await addTransfers(1);
    const [claim] = await claims.claimDue(1, 'w', 60_000);
    const first = await claims.transition(claim, { state: 'archiving' });
    const same = await claims.transition(claim, { state: 'archiving' });
    assert.equal(same.stateVersion, first.stateVersion);
    const last = await claims.transition(claim, {
      state: 'retrying',
      delayMs: 60_000,
      lastError: 'x',
      lastErrorClass: 'TRANSIENT',
    });
    assert.equal(last.stateVersion, first.stateVersion + 1);
    const [row] = await ctx.dataSource.query<unknown[]>(
      `SELECT claim_token, lease_owner, next_attempt_at > now() + interval '50 seconds' AS later FROM transfers`,
    );
    assert.deepEqual(row, { claim_token: null, lease_owner: null, later: true });
    assert.deepEqual(await claims.claimDue(1, 'w2', 60_000), [], 'not due before its backoff ends');
  });

  it('does not count a look at an unfinished envelope as an attempt', async () => {
    await addTransfers(1);
    const [claim] = await claims.claimDue(1, 'w', 60_000);
    await claims.transition(claim, { state: 'waiting', delayMs: 0, uncountAttempt: true });
    const [again] = await claims.claimDue(1, 'w', 60_000);
    assert.equal(again.attempts, 1);
  });
});
