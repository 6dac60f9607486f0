import { StorageError } from './storage-error';

/** S3 allows 2 KB of user metadata: the UTF-8 bytes of every key and value together. */
export const MAX_USER_METADATA_BYTES = 2048;
/** Metadata keys the store writes itself. */
export const SHA256_METADATA_KEY = 'sha256';
const SHA256_ENTRY_BYTES = SHA256_METADATA_KEY.length + 64;

// Lower case because S3 lower-cases metadata keys; no `_` because some proxies drop such headers.
const KEY = /^[a-z0-9][a-z0-9-]{0,127}$/;
// Printable ASCII without surrounding spaces (HTTP trims them) goes as is.
const PLAIN_VALUE = /^(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?$/;
const ENCODED_WORD = /^=\?UTF-8\?B\?([A-Za-z0-9+/]*={0,2})\?=$/i;

function encodeValue(value: string): string {
  if (PLAIN_VALUE.test(value) && !value.startsWith('=?')) return value;
  return `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/**
 * Validates user metadata and makes every value safe to send as an HTTP header. Values that are not
 * plain printable ASCII are stored as one RFC 2047 encoded word (`=?UTF-8?B?...?=`), the form S3
 * itself uses for non-ASCII metadata; `decodeUserMetadata` reverses it. Room for the `sha256`
 * entry the store adds is reserved. Throws `StorageError('INVALID_INPUT')`.
 */
export function encodeUserMetadata(metadata: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  let bytes = SHA256_ENTRY_BYTES;
  for (const [key, value] of Object.entries(metadata)) {
    if (!KEY.test(key)) {
      throw new StorageError(
        `metadata key ${JSON.stringify(key)} must be 1-128 characters of a-z, 0-9 and "-"`,
        'INVALID_INPUT',
      );
    }
    if (key === SHA256_METADATA_KEY) {
      throw new StorageError('metadata key "sha256" is reserved for the store', 'INVALID_INPUT');
    }
    if (typeof value !== 'string') {
      throw new StorageError(`metadata value of ${key} must be a string`, 'INVALID_INPUT');
    }
    const encoded = encodeValue(value);
    bytes += key.length + Buffer.byteLength(encoded, 'utf8');
    out[key] = encoded;
  }
  if (bytes > MAX_USER_METADATA_BYTES) {
    throw new StorageError(
      `user metadata takes ${bytes} bytes (with sha256), S3 allows ${MAX_USER_METADATA_BYTES}`,
      'INVALID_INPUT',
    );
  }
  return out;
}

/** Reverses `encodeUserMetadata` on what S3 returns. */
export function decodeUserMetadata(metadata: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) {
    const word = ENCODED_WORD.exec(value);
    out[key] = word ? Buffer.from(word[1], 'base64').toString('utf8') : value;
  }
  return out;
}
