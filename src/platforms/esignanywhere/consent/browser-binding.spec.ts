import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { TokenCipher } from '../../../senders/token-cipher';
import { BrowserBinding, cookieValues, sha256Hex } from './browser-binding';
import type { ConsentSettings } from './consent-settings';

const settings: ConsentSettings = {
  missing: [],
  redirectUri: 'https://a.example/consent/oauth/callback',
  inboxUrl: 'https://esaw.example/',
  cookiePath: '/consent',
  secureCookies: true,
  stateTtlMs: 600_000,
};
const key = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const binding = (...keys: string[]) =>
  new BrowserBinding(new TokenCipher({ TOKEN_ENCRYPTION_KEYS: keys }), settings);
const cookieHeader = (setCookie: string) => setCookie.split(';')[0];

describe('browser binding cookie', () => {
  const k1 = key('k1');
  const stateHash = sha256Hex('some-state');

  it('is HttpOnly, SameSite=Lax, Secure on https, scoped to the consent path and lives 10 minutes', () => {
    const { setCookie } = binding(k1).issue(stateHash);
    const attributes = setCookie.split('; ').slice(1);
    assert.deepEqual(attributes, ['Path=/consent', 'Max-Age=600', 'HttpOnly', 'SameSite=Lax', 'Secure']);
  });

  it('verifies for its own state and nonce only', () => {
    const b = binding(k1);
    const issued = b.issue(stateHash);
    const header = `other=1; ${cookieHeader(issued.setCookie)}; more=2`;
    assert.equal(b.verify(header, stateHash, issued.nonceHash), true);
    assert.equal(b.verify(header, stateHash, sha256Hex('another nonce')), false);
    assert.equal(
      b.verify(
        header.replace(stateHash.slice(0, 16), sha256Hex('x').slice(0, 16)),
        stateHash,
        issued.nonceHash,
      ),
      false,
    );
    assert.equal(b.verify(undefined, stateHash, issued.nonceHash), false);
  });

  it('is refused when signed under a key outside the ring, and accepted after a rotation', () => {
    const issued = binding(k1).issue(stateHash);
    const header = cookieHeader(issued.setCookie);
    assert.equal(binding(key('k1')).verify(header, stateHash, issued.nonceHash), false);
    assert.equal(binding(key('k2'), k1).verify(header, stateHash, issued.nonceHash), true);
  });

  it('finds every value of a repeated cookie name', () => {
    assert.deepEqual(cookieValues('a=1; b=2; a=3;  a = 4', 'a'), ['1', '3', '4']);
    assert.deepEqual(cookieValues('', 'a'), []);
  });
});
