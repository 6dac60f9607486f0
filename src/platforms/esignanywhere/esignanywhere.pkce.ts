import { createHash, randomBytes } from 'node:crypto';

// PKCE (RFC 7636) for the OAuth code grant: the verifier stays with us, only its S256 challenge travels
// through the browser.

const VERIFIER_PATTERN = /^[A-Za-z0-9\-._~]{43,128}$/;

/** A fresh code verifier: 32 random bytes, base64url (43 characters). */
export function createPkceVerifier(): string {
  return randomBytes(32).toString('base64url');
}

export function isPkceVerifier(value: string): boolean {
  return VERIFIER_PATTERN.test(value);
}

/** BASE64URL(SHA256(ASCII(verifier))), the `code_challenge` for `code_challenge_method=S256`. */
export function pkceChallengeS256(verifier: string): string {
  if (!isPkceVerifier(verifier)) {
    throw new RangeError('a PKCE code verifier has 43 to 128 characters of [A-Za-z0-9-._~]');
  }
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}
