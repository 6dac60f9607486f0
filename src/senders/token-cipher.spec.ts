import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import { TokenCipher, TokenCipherError, TokenCipherErrorCode } from './token-cipher';

const key = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const ring = (...entries: string[]) => new TokenCipher({ TOKEN_ENCRYPTION_KEYS: entries });
const TOKEN = 'eSAW-api-token_0123456789abcdefghijklmnop';

function rejects(fn: () => unknown, code: TokenCipherErrorCode): void {
  assert.throws(fn, (error: unknown) => error instanceof TokenCipherError && error.code === code);
}

describe('TokenCipher (AES-256-GCM key ring)', () => {
  const k1 = key('k1');
  const sender = randomUUID();

  it('round-trips a token under the first key and names that key', () => {
    const cipher = ring(k1, key('k0'));
    const sealed = cipher.encrypt(TOKEN, sender);
    assert.equal(sealed.keyId, 'k1');
    assert.equal(sealed.blob.length, 12 + 16 + Buffer.byteLength(TOKEN));
    assert.equal(cipher.decrypt(sealed, sender), TOKEN);
    assert.ok(!sealed.blob.includes(Buffer.from(TOKEN)));
  });

  it('uses a fresh random IV: the same token sealed twice differs', () => {
    const cipher = ring(k1);
    const a = cipher.encrypt(TOKEN, sender);
    const b = cipher.encrypt(TOKEN, sender);
    assert.ok(!a.blob.subarray(0, 12).equals(b.blob.subarray(0, 12)));
    assert.ok(!a.blob.equals(b.blob));
  });

  it('rejects a tampered ciphertext, IV or tag', () => {
    const cipher = ring(k1);
    const sealed = cipher.encrypt(TOKEN, sender);
    for (const at of [0, 12, 28, sealed.blob.length - 1]) {
      const blob = Buffer.from(sealed.blob);
      blob[at] ^= 0x01;
      rejects(
        () => cipher.decrypt({ keyId: 'k1', blob }, sender),
        TokenCipherErrorCode.AUTHENTICATION_FAILED,
      );
    }
    rejects(
      () => cipher.decrypt({ keyId: 'k1', blob: sealed.blob.subarray(0, sealed.blob.length - 1) }, sender),
      TokenCipherErrorCode.AUTHENTICATION_FAILED,
    );
    rejects(
      () => cipher.decrypt({ keyId: 'k1', blob: sealed.blob.subarray(0, 28) }, sender),
      TokenCipherErrorCode.MALFORMED,
    );
  });

  it("rejects another sender's ciphertext: the row id is authenticated data", () => {
    const cipher = ring(k1);
    const sealed = cipher.encrypt(TOKEN, sender);
    rejects(() => cipher.decrypt(sealed, randomUUID()), TokenCipherErrorCode.AUTHENTICATION_FAILED);
    rejects(() => cipher.decrypt(sealed, ''), TokenCipherErrorCode.INVALID_INPUT);
  });

  it('rejects an unknown key id, and the same id with other key material', () => {
    const sealed = ring(k1).encrypt(TOKEN, sender);
    rejects(() => ring(key('k2')).decrypt(sealed, sender), TokenCipherErrorCode.UNKNOWN_KEY);
    rejects(() => ring(key('k1')).decrypt(sealed, sender), TokenCipherErrorCode.AUTHENTICATION_FAILED);
  });

  it('after a rotation old tokens stay readable and reseal under the new first key', () => {
    const old = ring(k1).encrypt(TOKEN, sender);
    const rotated = ring(key('k2'), k1);
    assert.ok(rotated.isStale(old));
    assert.equal(rotated.decrypt(old, sender), TOKEN);
    const resealed = rotated.reseal(old, sender);
    assert.equal(resealed.keyId, 'k2');
    assert.ok(!rotated.isStale(resealed));
    assert.equal(rotated.decrypt(resealed, sender), TOKEN);
  });

  it('refuses a malformed or ambiguous key ring without echoing key material', () => {
    const short = `k1:${randomBytes(16).toString('base64')}`;
    for (const entries of [
      [short],
      ['nocolon'],
      ['bad id!:' + randomBytes(32).toString('base64')],
      [k1, k1],
    ]) {
      assert.throws(
        () => ring(...entries),
        (error: unknown) =>
          error instanceof TokenCipherError &&
          error.code === TokenCipherErrorCode.INVALID_KEY &&
          !entries.some((e) => e.includes(':') && error.message.includes(e.split(':')[1])),
      );
    }
  });

  it('without keys it reports not configured and seals nothing', () => {
    const cipher = ring();
    assert.equal(cipher.configured, false);
    rejects(() => cipher.encrypt(TOKEN, sender), TokenCipherErrorCode.NOT_CONFIGURED);
  });

  it('refuses to seal an empty token or without a context', () => {
    const cipher = ring(k1);
    rejects(() => cipher.encrypt('', sender), TokenCipherErrorCode.INVALID_INPUT);
    rejects(() => cipher.encrypt(TOKEN, ''), TokenCipherErrorCode.INVALID_INPUT);
  });

  it('never shows key material when inspected or serialized', () => {
    const material = k1.split(':')[1];
    const cipher = ring(k1);
    assert.ok(!inspect(cipher, { showHidden: true, depth: 5 }).includes(material.slice(0, 12)));
    assert.equal(JSON.stringify(cipher), '{"keyIds":["k1"]}');
  });

  it('derives purpose-bound subkeys per ring key, primary first, unlike the keys themselves', () => {
    const k0 = key('k0');
    const cipher = ring(k1, k0);
    const a = cipher.deriveKeys('purpose-a');
    const b = cipher.deriveKeys('purpose-b');
    assert.deepEqual(
      a.map((d) => d.keyId),
      ['k1', 'k0'],
    );
    assert.ok(!a[0].key.equals(b[0].key));
    assert.ok(!a[0].key.equals(Buffer.from(k1.split(':')[1], 'base64')));
    assert.ok(a[0].key.equals(ring(k1).deriveKeys('purpose-a')[0].key), 'deterministic');
  });
});
