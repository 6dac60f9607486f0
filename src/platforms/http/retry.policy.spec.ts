import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelayMs, parseRetryAfterMs, sleep } from './retry.policy';

describe('backoffDelayMs', () => {
  it('doubles per retry, keeps at least half, and never exceeds the cap', () => {
    const options = { baseDelayMs: 100, maxDelayMs: 1_000 };
    assert.equal(backoffDelayMs(0, { ...options, random: () => 0 }), 50);
    assert.equal(backoffDelayMs(0, { ...options, random: () => 0.999999 }), 100);
    assert.equal(backoffDelayMs(2, { ...options, random: () => 0 }), 200);
    assert.equal(backoffDelayMs(2, { ...options, random: () => 0.5 }), 300);
    assert.equal(backoffDelayMs(10, { ...options, random: () => 0.999999 }), 1_000);
    assert.equal(backoffDelayMs(10, { ...options, random: () => 0 }), 500);
  });
});

describe('parseRetryAfterMs', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');

  it('reads delta-seconds', () => {
    assert.equal(parseRetryAfterMs('0', now), 0);
    assert.equal(parseRetryAfterMs(' 120 ', now), 120_000);
  });

  it('reads an HTTP-date relative to now, and a past date as 0', () => {
    assert.equal(parseRetryAfterMs('Sun, 01 Mar 2026 12:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfterMs('Sun, 01 Mar 2026 11:00:00 GMT', now), 0);
  });

  it('ignores what is neither', () => {
    for (const value of [
      undefined,
      '',
      '1.5',
      '-3',
      'soon',
      '2026-03-01T12:00:30Z',
      '99999999999999999999',
    ]) {
      assert.equal(parseRetryAfterMs(value, now), undefined, String(value));
    }
  });
});

describe('sleep', () => {
  it('resolves after the delay', async () => {
    const started = Date.now();
    await sleep(30);
    assert.ok(Date.now() - started >= 25);
  });

  it('rejects with the abort reason, at once when already aborted', async () => {
    const controller = new AbortController();
    const pending = sleep(10_000, controller.signal);
    controller.abort(new Error('stop'));
    await assert.rejects(pending, /stop/);
    await assert.rejects(sleep(10_000, AbortSignal.abort(new Error('already'))), /already/);
  });
});
