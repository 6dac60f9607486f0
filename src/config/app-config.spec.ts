import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from './app-config';
import { parseDuration } from './config.schema';

const BASE = { CALLBACK_TOKEN: 'a-long-enough-callback-token' };

describe('configuration', () => {
  it('applies defaults and freezes the result', () => {
    const config = loadConfig(BASE);
    assert.equal(config.service.PORT, 3000);
    assert.equal(config.archive.ARCHIVE_POLL_INTERVAL_MS, 5000);
    assert.equal(config.archive.MAX_AGE, 48 * 3600 * 1000);
    assert.equal(config.archive.DELETE_AFTER_ARCHIVE, true);
    assert.ok(
      Object.isFrozen(config) && Object.isFrozen(config.service) && Object.isFrozen(config.platforms),
    );
    assert.throws(() => {
      (config.service as { PORT: number }).PORT = 1;
    });
  });

  it('names every bad key and never echoes a value', () => {
    const secret = 'sup3r-s3cret-value-that-is-wrong';
    try {
      loadConfig({
        ...BASE,
        PORT: 'eighty',
        S3_ACCESS_KEY_ID: secret,
        ADMIN_TOKENS: `ops${secret}`,
        MAX_AGE: 'soon',
      });
      assert.fail('expected a ConfigError');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      const keys = error.problems.map((p) => p.key).sort();
      assert.deepEqual(keys, ['ADMIN_TOKENS', 'MAX_AGE', 'PORT', 'S3_SECRET_ACCESS_KEY']);
      assert.ok(!error.message.includes(secret));
    }
  });

  it('refuses to start without callback authentication unless CALLBACK_AUTH=none', () => {
    assert.throws(
      () => loadConfig({}),
      (e: unknown) => e instanceof ConfigError && e.problems[0].key === 'CALLBACK_TOKEN',
    );
    assert.doesNotThrow(() => loadConfig({ CALLBACK_AUTH: 'none' }));
    assert.doesNotThrow(() =>
      loadConfig({ CALLBACK_BASIC_USER: 'u', CALLBACK_BASIC_PASSWORD: 'long-enough-pw' }),
    );
    assert.throws(() => loadConfig({ CALLBACK_BASIC_USER: 'u' }), ConfigError);
    assert.throws(() => loadConfig({ CALLBACK_TOKEN: 'short' }), ConfigError);
  });

  it('parses admin tokens and encryption keys', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const config = loadConfig({
      ...BASE,
      ADMIN_TOKENS: 'alice:0123456789abcdef0,bob:fedcba98765432100',
      TOKEN_ENCRYPTION_KEYS: `k1:${key}`,
    });
    assert.deepEqual(
      config.admin.ADMIN_TOKENS.map((t) => t.name),
      ['alice', 'bob'],
    );
    assert.throws(() => loadConfig({ ...BASE, TOKEN_ENCRYPTION_KEYS: 'k1:c2hvcnQ=' }), ConfigError);
  });

  it('parses durations', () => {
    assert.equal(parseDuration('500'), 500);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('24h'), 86_400_000);
    assert.equal(parseDuration('2d'), 172_800_000);
    assert.equal(parseDuration('soon'), undefined);
  });
});
