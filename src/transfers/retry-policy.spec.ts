import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  NOT_READY_DEFAULT_WAIT_MS,
  NOT_READY_MAX_WAIT_MS,
  backoffDelay,
  decideAfterError,
  type RetrySettings,
} from './retry-policy';

const settings: RetrySettings = {
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  maxAttempts: 5,
  maxAgeMs: 3_600_000,
};
const ctx = { attempts: 1, ageMs: 0, copiedSomething: false };

describe('retry policy', () => {
  it('grows exponentially with jitter inside [half, full] and is capped', () => {
    assert.equal(
      backoffDelay(1, settings, undefined, () => 0),
      500,
    );
    assert.equal(
      backoffDelay(1, settings, undefined, () => 1),
      1000,
    );
    assert.equal(
      backoffDelay(3, settings, undefined, () => 1),
      4000,
    );
    assert.equal(
      backoffDelay(30, settings, undefined, () => 1),
      60_000,
    );
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(4, settings);
      assert.ok(d >= 4000 && d <= 8000, `delay ${d}`);
    }
  });

  it('honours Retry-After when it is longer than the backoff', () => {
    assert.equal(
      backoffDelay(1, settings, 30_000, () => 0),
      30_000,
    );
    assert.equal(
      backoffDelay(1, settings, 10, () => 0),
      500,
    );
  });

  it('retries transient errors until attempts or age run out', () => {
    assert.equal(decideAfterError('TRANSIENT', ctx, settings).state, 'retrying');
    assert.deepEqual(decideAfterError('TRANSIENT', { ...ctx, attempts: 5 }, settings), {
      state: 'failed',
      cause: 'attempts_exhausted',
    });
    assert.deepEqual(decideAfterError('TRANSIENT', { ...ctx, ageMs: 3_599_900 }, settings), {
      state: 'failed',
      cause: 'max_age_exceeded',
    });
  });

  it('pauses on a rejected token and ends quietly on a 404 before any copy', () => {
    assert.deepEqual(decideAfterError('UNAUTHORIZED', ctx, settings), {
      state: 'needs_consent',
      cause: 'token_rejected',
    });
    assert.deepEqual(decideAfterError('NOT_FOUND', ctx, settings), {
      state: 'gone',
      cause: 'envelope_not_found',
    });
    assert.deepEqual(decideAfterError('NOT_FOUND', { ...ctx, copiedSomething: true }, settings), {
      state: 'failed',
      cause: 'deleted_during_archive',
    });
  });

  it('counts only the same failure in a row, not interrupted attempts, against the few tries', () => {
    const integrity = (attempts: number, streak: number) =>
      decideAfterError('INTEGRITY', { ...ctx, attempts, streak }, settings).state;
    assert.equal(integrity(3, 1), 'retrying');
    assert.equal(integrity(4, 2), 'retrying');
    assert.equal(integrity(4, 3), 'failed');
  });

  it('waits for a file the platform is preparing as long as it says, within bounds and the age limit', () => {
    const ctx = { attempts: 9, ageMs: 0, copiedSomething: true };
    const long = { ...settings, maxAgeMs: 48 * 3_600_000 };
    assert.deepEqual(decideAfterError('NOT_READY', { ...ctx, retryAfterMs: 4 * 3_600_000 }, long), {
      state: 'waiting',
      cause: 'platform_preparing',
      delayMs: 4 * 3_600_000,
    });
    assert.equal(
      (decideAfterError('NOT_READY', ctx, long) as { delayMs: number }).delayMs,
      NOT_READY_DEFAULT_WAIT_MS,
    );
    assert.equal(
      (decideAfterError('NOT_READY', { ...ctx, retryAfterMs: 99 * 3_600_000 }, long) as { delayMs: number })
        .delayMs,
      NOT_READY_MAX_WAIT_MS,
    );
    assert.deepEqual(
      decideAfterError('NOT_READY', { ...ctx, ageMs: 47 * 3_600_000, retryAfterMs: 4 * 3_600_000 }, long),
      { state: 'failed', cause: 'max_age_exceeded' },
    );
  });

  it('gives corrupt files a few tries, then fails with that cause', () => {
    assert.equal(decideAfterError('CORRUPT', { ...ctx, attempts: 2 }, settings).state, 'retrying');
    assert.deepEqual(decideAfterError('CORRUPT', { ...ctx, attempts: 3 }, settings), {
      state: 'failed',
      cause: 'corrupt_pdf',
    });
  });
});
