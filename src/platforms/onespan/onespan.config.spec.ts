import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { oneSpanConfig, oneSpanInstances } from './onespan.config';

const parse = (env: Record<string, string>) => oneSpanConfig.parse(env);

describe('OneSpan and Conga configuration', () => {
  it('turns on no instance without a base URL', () => {
    const { value, problems } = parse({});
    assert.deepEqual(problems, []);
    assert.deepEqual(oneSpanInstances(value!), []);
  });

  it('builds a OneSpan instance with an API key, and one with client credentials and the default token URL', () => {
    const withKey = parse({
      ONESPAN_BASE_URL: 'https://sandbox.esignlive.com/api',
      ONESPAN_API_KEY: 'a2V5OnNhbHQ=',
      ONESPAN_CALLBACK_KEY: 'callback-key-0123456789',
    });
    assert.deepEqual(withKey.problems, []);
    const [onespan] = oneSpanInstances(withKey.value!);
    assert.equal(onespan.name, 'onespan');
    assert.equal(onespan.packagesPath, 'packages');
    assert.deepEqual(onespan.credential, { kind: 'api_key', apiKey: 'a2V5OnNhbHQ=' });
    assert.deepEqual(onespan.callbackAuth, { kind: 'key', key: 'callback-key-0123456789' });

    const withOAuth = parse({
      ONESPAN_BASE_URL: 'https://apps.esignlive.eu/api',
      ONESPAN_CLIENT_ID: 'client',
      ONESPAN_CLIENT_SECRET: 'secret',
      ONESPAN_CALLBACK_AUTH: 'none',
    });
    assert.deepEqual(withOAuth.problems, []);
    const [oauth] = oneSpanInstances(withOAuth.value!);
    assert.equal(oauth.credential.kind, 'client_credentials');
    assert.equal(
      oauth.credential.kind === 'client_credentials' && oauth.credential.tokenUrl,
      'https://apps.esignlive.eu/oauth2/token',
    );
    assert.deepEqual(oauth.callbackAuth, { kind: 'none' });
  });

  it("builds a Conga instance on the gateway's paths with Conga's token, or on OneSpan's paths with an API key", () => {
    const gateway = parse({
      CONGA_BASE_URL: 'https://rls.congacloud.com/api/sign',
      CONGA_CLIENT_ID: 'c',
      CONGA_CLIENT_SECRET: 's',
      CONGA_TOKEN_URL: 'https://login-rls.congacloud.com/api/v1/auth/connect/token',
      CONGA_CALLBACK_USER: 'archiver',
      CONGA_CALLBACK_PASSWORD: 'a-long-password',
    });
    assert.deepEqual(gateway.problems, []);
    const [conga] = oneSpanInstances(gateway.value!);
    assert.equal(conga.name, 'conga');
    assert.equal(conga.packagesPath, 'v1/cs-packages');
    assert.equal(conga.credential.kind === 'client_credentials' && conga.credential.scope, 'sign');
    assert.deepEqual(conga.callbackAuth, { kind: 'basic', user: 'archiver', password: 'a-long-password' });

    const legacy = parse({
      CONGA_BASE_URL: 'https://sandbox.congasign.com/api',
      CONGA_API_KEY: 'key',
      CONGA_CALLBACK_TOKEN: 'bearer-token-0123456789',
    });
    assert.deepEqual(legacy.problems, []);
    const [old] = oneSpanInstances(legacy.value!);
    assert.equal(old.packagesPath, 'packages');
    assert.deepEqual(old.callbackAuth, { kind: 'bearer', token: 'bearer-token-0123456789' });
  });

  it('refuses to start an instance without credentials or callback authentication, naming the keys', () => {
    const keys = (env: Record<string, string>) =>
      parse(env)
        .problems.map((p) => p.key)
        .sort();
    assert.deepEqual(keys({ ONESPAN_BASE_URL: 'https://x.example/api' }), [
      'ONESPAN_API_KEY',
      'ONESPAN_CALLBACK_KEY',
    ]);
    assert.deepEqual(
      keys({
        ONESPAN_BASE_URL: 'https://x.example/api',
        ONESPAN_API_KEY: 'k',
        ONESPAN_CLIENT_ID: 'c',
        ONESPAN_CLIENT_SECRET: 's',
        ONESPAN_CALLBACK_AUTH: 'none',
      }),
      ['ONESPAN_API_KEY'],
    );
    assert.deepEqual(
      keys({ CONGA_BASE_URL: 'https://x.example/api/sign', CONGA_CLIENT_ID: 'c', CONGA_CLIENT_SECRET: 's' }),
      ['CONGA_CALLBACK_TOKEN', 'CONGA_TOKEN_URL'],
    );
    assert.deepEqual(keys({ ONESPAN_CLIENT_ID: 'c' }), ['ONESPAN_CLIENT_SECRET']);
    assert.deepEqual(keys({ ONESPAN_CALLBACK_KEY: 'short' }), ['ONESPAN_CALLBACK_KEY']);
  });
});
