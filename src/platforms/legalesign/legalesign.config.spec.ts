import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { legalesignConfig, legalesignInstance } from './legalesign.config';

// The simulator's test certificate, from the source tree (this file runs from dist/src/...).
const CERT = resolve(__dirname, '../../../../test/simulators/legalesign/fixtures/callback-signing.cert.pem');
const KEY = 'f0e1d2c3-b4a5-4697-8899-aabbccddeeff:api-secret-0123456789';
const TOKEN = 'callback-token-0123456789';

const problemKeys = (env: Record<string, string>) =>
  legalesignConfig
    .parse(env)
    .problems.map((p) => p.key)
    .sort();

describe('Legalesign configuration', () => {
  it('is off without an API key, and then asks for nothing else', () => {
    const parsed = legalesignConfig.parse({});
    assert.deepEqual(parsed.problems, []);
    assert.equal(legalesignInstance(parsed.value!), undefined);
  });

  it('refuses to start without the callback certificate and token, unless callbacks are unauthenticated on purpose', () => {
    assert.deepEqual(problemKeys({ LEGALESIGN_API_KEY: KEY }), [
      'LEGALESIGN_CALLBACK_CERT',
      'LEGALESIGN_CALLBACK_TOKEN',
    ]);
    assert.deepEqual(problemKeys({ LEGALESIGN_API_KEY: KEY, LEGALESIGN_CALLBACK_TOKEN: TOKEN }), [
      'LEGALESIGN_CALLBACK_CERT',
    ]);
    const open = legalesignConfig.parse({ LEGALESIGN_API_KEY: KEY, LEGALESIGN_CALLBACK_AUTH: 'none' });
    assert.deepEqual(open.problems, []);
    assert.deepEqual(legalesignInstance(open.value!)?.callbackAuth, { kind: 'none' });
  });

  it('refuses a certificate file it cannot read or that is not a PEM certificate, without echoing it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'legalesign-config-'));
    const notPem = join(dir, 'not.pem');
    writeFileSync(notPem, 'secret-looking content');
    const base = { LEGALESIGN_API_KEY: KEY, LEGALESIGN_CALLBACK_TOKEN: TOKEN };
    const unreadable = legalesignConfig.parse({
      ...base,
      LEGALESIGN_CALLBACK_CERT: join(dir, 'missing.pem'),
    });
    assert.deepEqual(unreadable.problems, [
      { key: 'LEGALESIGN_CALLBACK_CERT', message: 'the file cannot be read' },
    ]);
    const garbage = legalesignConfig.parse({ ...base, LEGALESIGN_CALLBACK_CERT: notPem });
    assert.deepEqual(garbage.problems, [
      { key: 'LEGALESIGN_CALLBACK_CERT', message: 'the file is not a PEM X509 certificate' },
    ]);
    assert.doesNotMatch(JSON.stringify(garbage.problems), /secret-looking/);
  });

  it('turns a full configuration into an instance with the ApiKey header, groups and the certificate', () => {
    const parsed = legalesignConfig.parse({
      LEGALESIGN_API_KEY: `ApiKey ${KEY}`,
      LEGALESIGN_CALLBACK_CERT: CERT,
      LEGALESIGN_CALLBACK_TOKEN: TOKEN,
      LEGALESIGN_GROUPS: 'contracts, hr-team',
      LEGALESIGN_DELETE_MODE: 'void',
    });
    assert.deepEqual(parsed.problems, []);
    const instance = legalesignInstance(parsed.value!)!;
    assert.equal(instance.authorization, `ApiKey ${KEY}`);
    assert.deepEqual(instance.groups, ['contracts', 'hr-team']);
    assert.equal(instance.deleteMode, 'void');
    assert.equal(instance.callbackAuth.kind, 'verify');
    assert.deepEqual(problemKeys({ LEGALESIGN_API_KEY: 'no-colon', LEGALESIGN_CALLBACK_AUTH: 'none' }), [
      'LEGALESIGN_API_KEY',
    ]);
    assert.deepEqual(
      problemKeys({ LEGALESIGN_API_KEY: KEY, LEGALESIGN_CALLBACK_AUTH: 'none', LEGALESIGN_GROUPS: 'a/b' }),
      ['LEGALESIGN_GROUPS'],
    );
  });
});
