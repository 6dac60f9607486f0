import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { TokenCipher, type DerivedKey } from '../../../senders/token-cipher';
import { CONSENT_SETTINGS, type ConsentSettings } from './consent-settings';

// Binds an authorization to the browser that started it (RFC 9700 §2.1, "one-time use CSRF tokens
// bound to the user agent"): a random nonce travels in a signed HttpOnly SameSite=Lax cookie, only its
// sha256 is stored with the state. The callback must come from a browser holding that cookie.
//
// The signing key is derived with HKDF from each TOKEN_ENCRYPTION_KEYS key (purpose label below), so no
// extra secret is needed; cookies are signed with the first key and accepted under any key of the ring.
// One cookie per flow (its name carries a prefix of the state hash), so two tabs do not collide.

const HKDF_INFO = 'esign-archiver/consent/browser-binding/v1';
const COOKIE_PREFIX = 'consent_';
const NONCE_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const MAC_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export interface IssuedBinding {
  /** sha256 (hex) of the nonce: stored with the state. */
  nonceHash: string;
  /** The `Set-Cookie` header value. */
  setCookie: string;
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Values of every cookie with this name in a `Cookie` header (a name can repeat across paths). */
export function cookieValues(header: string | undefined, name: string): string[] {
  if (!header) return [];
  const values: string[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) values.push(part.slice(eq + 1).trim());
  }
  return values;
}

@Injectable()
export class BrowserBinding {
  private keys: DerivedKey[] | undefined;

  constructor(
    private readonly cipher: TokenCipher,
    @Inject(CONSENT_SETTINGS) private readonly settings: ConsentSettings,
  ) {}

  issue(stateHash: string): IssuedBinding {
    const nonce = randomBytes(32).toString('base64url');
    const mac = this.mac(this.signingKeys()[0].key, stateHash, nonce);
    return {
      nonceHash: sha256Hex(nonce),
      setCookie: this.cookie(stateHash, `${nonce}.${mac}`, Math.floor(this.settings.stateTtlMs / 1000)),
    };
  }

  /** True when the request carries a cookie signed by us for this state whose nonce hashes to `nonceHash`. */
  verify(cookieHeader: string | undefined, stateHash: string, nonceHash: string): boolean {
    const expectedHash = Buffer.from(nonceHash, 'hex');
    let ok = false;
    for (const value of cookieValues(cookieHeader, this.cookieName(stateHash))) {
      const [nonce, mac, extra] = value.split('.');
      if (extra !== undefined || !NONCE_PATTERN.test(nonce ?? '') || !MAC_PATTERN.test(mac ?? '')) continue;
      const given = Buffer.from(mac, 'base64url');
      const signed = this.signingKeys().some((k) =>
        timingSafeEqual(Buffer.from(this.mac(k.key, stateHash, nonce), 'base64url'), given),
      );
      const hash = createHash('sha256').update(nonce, 'utf8').digest();
      if (signed && hash.length === expectedHash.length && timingSafeEqual(hash, expectedHash)) ok = true;
    }
    return ok;
  }

  /** Expires the flow's cookie. */
  clear(stateHash: string): string {
    return this.cookie(stateHash, '', 0);
  }

  private cookieName(stateHash: string): string {
    return `${COOKIE_PREFIX}${stateHash.slice(0, 16)}`;
  }

  private cookie(stateHash: string, value: string, maxAgeSeconds: number): string {
    const attributes = [
      `${this.cookieName(stateHash)}=${value}`,
      `Path=${this.settings.cookiePath}`,
      `Max-Age=${maxAgeSeconds}`,
      'HttpOnly',
      'SameSite=Lax',
    ];
    if (this.settings.secureCookies) attributes.push('Secure');
    return attributes.join('; ');
  }

  private mac(key: Buffer, stateHash: string, nonce: string): string {
    return createHmac('sha256', key)
      .update(`${HKDF_INFO}\n${stateHash}\n${nonce}`, 'utf8')
      .digest('base64url');
  }

  private signingKeys(): DerivedKey[] {
    this.keys ??= this.cipher.deriveKeys(HKDF_INFO);
    if (this.keys.length === 0) throw new Error('TOKEN_ENCRYPTION_KEYS is not configured');
    return this.keys;
  }
}
