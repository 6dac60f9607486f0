import { AppError } from '../common/app-error';
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { Inject, Injectable } from '@nestjs/common';
import type { TokensConfig } from '../config/app-config';
import { tokensConfig } from '../config/config.schema';

export enum TokenCipherErrorCode {
  /** TOKEN_ENCRYPTION_KEYS is empty: nothing can be sealed or opened. */
  NOT_CONFIGURED = 'NOT_CONFIGURED',
  /** A key ring entry is not `id:base64 of 32 bytes`, or an id repeats. */
  INVALID_KEY = 'INVALID_KEY',
  /** The ciphertext names a key id that is not in the ring (removed too early, or another deployment's). */
  UNKNOWN_KEY = 'UNKNOWN_KEY',
  /** The stored value cannot be a sealed token (too short). */
  MALFORMED = 'MALFORMED',
  /** Tampered ciphertext, wrong key material under a known id, or another row's ciphertext. */
  AUTHENTICATION_FAILED = 'AUTHENTICATION_FAILED',
  /** What was given to seal is not a plausible token or the context is empty. */
  INVALID_INPUT = 'INVALID_INPUT',
}

/** Messages name key ids at most: never key material, plaintext or ciphertext. */
export class TokenCipherError extends AppError<TokenCipherErrorCode> {
  constructor(message: string, code: TokenCipherErrorCode) {
    super(message, code);
  }
}

export interface SealedToken {
  keyId: string;
  /** iv (12 bytes) | tag (16 bytes) | ciphertext */
  blob: Buffer;
}

export interface DerivedKey {
  keyId: string;
  key: Buffer;
}

const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_PATTERN = /^[A-Za-z0-9_.-]{1,32}$/;
const BASE64_PATTERN = /^[A-Za-z0-9+/]+={0,2}$/;
/** Platform API tokens are short; anything near this is not a token and is refused before sealing. */
const MAX_TOKEN_BYTES = 8 * 1024;

/** Parses `id:base64` entries; throws naming the entry's position only, never its content. */
function parseKeyRing(entries: readonly string[]): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  entries.forEach((entry, index) => {
    const sep = entry.indexOf(':');
    const id = sep > 0 ? entry.slice(0, sep) : '';
    const encoded = sep > 0 ? entry.slice(sep + 1) : '';
    const key = BASE64_PATTERN.test(encoded) ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
    if (!KEY_ID_PATTERN.test(id) || key.length !== KEY_BYTES) {
      throw new TokenCipherError(
        `TOKEN_ENCRYPTION_KEYS entry ${index + 1} must be id:base64 of exactly ${KEY_BYTES} bytes`,
        TokenCipherErrorCode.INVALID_KEY,
      );
    }
    if (keys.has(id)) {
      throw new TokenCipherError(
        `TOKEN_ENCRYPTION_KEYS entry ${index + 1} repeats the key id ${id}`,
        TokenCipherErrorCode.INVALID_KEY,
      );
    }
    keys.set(id, key);
  });
  return keys;
}

function contextBytes(aad: string): Buffer {
  if (typeof aad !== 'string' || aad.length === 0) {
    throw new TokenCipherError(
      'a sealed token needs a non-empty context (the sender id)',
      TokenCipherErrorCode.INVALID_INPUT,
    );
  }
  return Buffer.from(aad, 'utf8');
}

/**
 * AES-256-GCM for API tokens at rest. A fresh random 96-bit IV every time; the sender id is bound
 * as additional authenticated data, so a ciphertext copied onto another sender's row does not
 * decrypt. Keys form a ring (TOKEN_ENCRYPTION_KEYS): the first encrypts, all decrypt, and the key id
 * is stored beside each ciphertext so `rotate-keys` can re-encrypt under the first key.
 *
 * Key material lives in a private field and the instance prints as its key ids only, so a logged or
 * inspected provider never shows a key.
 */
@Injectable()
export class TokenCipher {
  readonly #keys: ReadonlyMap<string, Buffer>;
  readonly #primaryKeyId: string | undefined;

  constructor(@Inject(tokensConfig.KEY) config: TokensConfig) {
    this.#keys = parseKeyRing(config.TOKEN_ENCRYPTION_KEYS);
    this.#primaryKeyId = this.#keys.keys().next().value;
  }

  get configured(): boolean {
    return this.#primaryKeyId !== undefined;
  }

  /** The key new ciphertexts are sealed under. */
  get primaryKeyId(): string {
    if (this.#primaryKeyId === undefined) {
      throw new TokenCipherError(
        'TOKEN_ENCRYPTION_KEYS is not configured',
        TokenCipherErrorCode.NOT_CONFIGURED,
      );
    }
    return this.#primaryKeyId;
  }

  /** Every key id in the ring, the primary first. */
  get keyIds(): readonly string[] {
    return [...this.#keys.keys()];
  }

  encrypt(token: string, aad: string): SealedToken {
    if (
      typeof token !== 'string' ||
      token.length === 0 ||
      Buffer.byteLength(token, 'utf8') > MAX_TOKEN_BYTES
    ) {
      throw new TokenCipherError(
        'only a non-empty token of at most 8 KiB can be sealed',
        TokenCipherErrorCode.INVALID_INPUT,
      );
    }
    const context = contextBytes(aad);
    const keyId = this.primaryKeyId;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.#keys.get(keyId)!, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(context);
    const ciphertext = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
    return { keyId, blob: Buffer.concat([iv, cipher.getAuthTag(), ciphertext]) };
  }

  decrypt(sealed: SealedToken, aad: string): string {
    const context = contextBytes(aad);
    const key = this.#keys.get(sealed.keyId);
    if (!key) {
      throw new TokenCipherError(
        `no key with id ${KEY_ID_PATTERN.test(sealed.keyId) ? sealed.keyId : '(malformed)'} in TOKEN_ENCRYPTION_KEYS`,
        TokenCipherErrorCode.UNKNOWN_KEY,
      );
    }
    if (!Buffer.isBuffer(sealed.blob) || sealed.blob.length <= IV_BYTES + TAG_BYTES) {
      throw new TokenCipherError('sealed token is too short', TokenCipherErrorCode.MALFORMED);
    }
    const decipher = createDecipheriv(ALGORITHM, key, sealed.blob.subarray(0, IV_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(context);
    decipher.setAuthTag(sealed.blob.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([
        decipher.update(sealed.blob.subarray(IV_BYTES + TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      // Never say more: the cause would only help someone tampering with the row.
      throw new TokenCipherError(
        'sealed token failed authentication',
        TokenCipherErrorCode.AUTHENTICATION_FAILED,
      );
    }
  }

  /** Opens a token sealed under any key of the ring and seals it again under the primary key. */
  reseal(sealed: SealedToken, aad: string): SealedToken {
    return this.encrypt(this.decrypt(sealed, aad), aad);
  }

  /** True when the token was sealed under an older key and should be re-encrypted. */
  isStale(sealed: Pick<SealedToken, 'keyId'>): boolean {
    return sealed.keyId !== this.#primaryKeyId;
  }

  /**
   * Purpose-bound subkeys (HKDF-SHA256, `info` names the purpose), one per ring key, the primary's
   * first: sign with the first, accept any, and a rotation does not break what is already in flight.
   * A subkey reveals nothing about the encryption key it was derived from.
   */
  deriveKeys(info: string, length = 32): DerivedKey[] {
    if (!info)
      throw new TokenCipherError('a derived key needs a purpose', TokenCipherErrorCode.INVALID_INPUT);
    return [...this.#keys].map(([keyId, key]) => ({
      keyId,
      key: Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), Buffer.from(info, 'utf8'), length)),
    }));
  }

  toJSON(): { keyIds: readonly string[] } {
    return { keyIds: this.keyIds };
  }

  [inspect.custom](): string {
    return `TokenCipher { keyIds: [${this.keyIds.join(', ')}] }`;
  }
}
