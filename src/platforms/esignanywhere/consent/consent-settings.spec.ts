import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { consentSettingsFromConfig, defaultInboxUrl } from './consent-settings';

const complete = {
  PUBLIC_BASE_URL: 'https://archiver.example.com',
  ESAW_BASE_URL: 'https://demo.esignanywhere.net/Api',
  ESAW_INBOX_URL: undefined,
  ESAW_OAUTH_CLIENT_ID: 'client',
  ESAW_OAUTH_CLIENT_SECRET: 'secret',
  TOKEN_ENCRYPTION_KEYS: [`k1:${randomBytes(32).toString('base64')}`],
};

describe('consent settings', () => {
  it('derive the redirect URI, a Secure cookie on https, and the instance start page as inbox', () => {
    const s = consentSettingsFromConfig(complete);
    assert.deepEqual(s.missing, []);
    assert.equal(s.redirectUri, 'https://archiver.example.com/consent/oauth/callback');
    assert.equal(s.inboxUrl, 'https://demo.esignanywhere.net/');
    assert.equal(s.cookiePath, '/consent');
    assert.equal(s.secureCookies, true);
  });

  it('keep a path prefix of the public URL (behind a reverse proxy) in the redirect URI and cookie path', () => {
    const s = consentSettingsFromConfig({ ...complete, PUBLIC_BASE_URL: 'http://10.0.0.5:8080/archiver/' });
    assert.equal(s.redirectUri, 'http://10.0.0.5:8080/archiver/consent/oauth/callback');
    assert.equal(s.cookiePath, '/archiver/consent');
    assert.equal(s.secureCookies, false);
  });

  it('name every missing key, and refuse an inbox URL that is not http(s)', () => {
    const s = consentSettingsFromConfig({
      ...complete,
      PUBLIC_BASE_URL: undefined,
      ESAW_OAUTH_CLIENT_SECRET: undefined,
      TOKEN_ENCRYPTION_KEYS: [],
      ESAW_INBOX_URL: 'javascript:alert(1)',
    });
    assert.deepEqual([...s.missing].sort(), [
      'ESAW_INBOX_URL',
      'ESAW_OAUTH_CLIENT_SECRET',
      'PUBLIC_BASE_URL',
      'TOKEN_ENCRYPTION_KEYS',
    ]);
  });

  it('take the instance root from API base URLs with or without a prefix', () => {
    assert.equal(defaultInboxUrl('https://host.example/Api/'), 'https://host.example/');
    assert.equal(defaultInboxUrl('https://host.example/esign/api'), 'https://host.example/esign/');
  });
});
