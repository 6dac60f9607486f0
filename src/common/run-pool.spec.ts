import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runPool } from './run-pool';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('runPool', () => {
  it('runs every item with at most `limit` at once', async () => {
    let active = 0;
    let peak = 0;
    const done: number[] = [];
    await runPool([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      active++;
      peak = Math.max(peak, active);
      await tick();
      done.push(n);
      active--;
    });
    assert.equal(peak, 3);
    assert.deepEqual(done.sort(), [1, 2, 3, 4, 5, 6, 7]);
  });

  it('starts nothing new after a failure, lets running items finish, and throws the first error', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    await assert.rejects(
      runPool([1, 2, 3, 4, 5], 2, async (n) => {
        started.push(n);
        await tick();
        if (n === 1) throw new Error('first');
        finished.push(n);
      }),
      /first/,
    );
    assert.deepEqual(started, [1, 2]);
    assert.deepEqual(finished, [2]);
  });
});
