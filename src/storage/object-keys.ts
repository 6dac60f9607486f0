import { createHash } from 'node:crypto';
import { StorageError } from './storage-error';

/** S3's limit for a whole key, in UTF-8 bytes. */
export const MAX_OBJECT_KEY_BYTES = 1024;
/**
 * Limit for one `/`-separated segment. S3 has none, but DMS exports and s3rver write segments as
 * file names, and file systems stop at 255 bytes.
 */
export const MAX_KEY_SEGMENT_BYTES = 200;
/** Limit for names made by `safeFileName`, leaving room for a de-duplication suffix and a prefix. */
export const MAX_FILE_NAME_BYTES = 150;

// Control, format (bidi overrides, zero-width), surrogate, private-use and unassigned code points.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}]/gu;
const INVISIBLE_TEST = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}]/u;
// Letters, combining marks, digits and `. _ ( ) -`: a set that needs no special handling in S3
// keys, URLs (copy sources), shells or Windows file names.
const NOT_SAFE = /[^\p{L}\p{M}\p{N}._()-]/gu;
const EXTENSION = /^[\p{L}\p{N}]{1,16}$/u;
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])$/i;
const FALLBACK_NAME = 'file';

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

export function utf8Length(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

/** Cuts `value` to at most `maxBytes` UTF-8 bytes without splitting a character or a grapheme. */
export function truncateUtf8(value: string, maxBytes: number): string {
  if (utf8Length(value) <= maxBytes) return value;
  let out = '';
  let bytes = 0;
  for (const { segment } of segmenter.segment(value)) {
    const size = utf8Length(segment);
    if (bytes + size > maxBytes) break;
    out += segment;
    bytes += size;
  }
  return out;
}

/**
 * Throws `StorageError('INVALID_INPUT')` unless `key` is a plain relative object key: non-empty,
 * NFC-normalised, `/`-separated non-empty segments, no `..`, no leading or trailing `/`, no
 * backslash, no invisible characters, within the byte limits. `maxBytes` lets the caller reserve
 * room for a prefix.
 */
export function assertValidObjectKey(key: string, maxBytes = MAX_OBJECT_KEY_BYTES): void {
  const problem = objectKeyProblem(key, maxBytes);
  if (problem !== undefined) {
    throw new StorageError(`invalid object key ${JSON.stringify(key)}: ${problem}`, 'INVALID_INPUT');
  }
}

function objectKeyProblem(key: string, maxBytes: number): string | undefined {
  if (typeof key !== 'string' || key.length === 0) return 'must be a non-empty string';
  if (INVISIBLE_TEST.test(key)) return 'contains control or invisible characters';
  if (key !== key.normalize('NFC')) return 'must be Unicode NFC-normalised';
  if (key.includes('\\')) return 'contains a backslash';
  if (key.includes('..')) return 'contains ".."';
  if (key.startsWith('/') || key.endsWith('/')) return 'starts or ends with "/"';
  const bytes = utf8Length(key);
  if (bytes > maxBytes) return `is ${bytes} bytes long, more than ${maxBytes}`;
  for (const segment of key.split('/')) {
    if (segment === '') return 'contains an empty segment ("//")';
    if (segment === '.') return 'contains a "." segment';
    if (utf8Length(segment) > MAX_KEY_SEGMENT_BYTES) {
      return `has a segment longer than ${MAX_KEY_SEGMENT_BYTES} bytes`;
    }
  }
  return undefined;
}

const ID_KEEP = /[A-Za-z0-9_-]/;
/** Encoded ids longer than this end in a digest of the whole id instead. */
const MAX_ID_SEGMENT_BYTES = 150;

/**
 * An opaque platform id (an envelope id) as one key segment, reversibly: letters, digits, `_` and `-`
 * stay; every other byte of its UTF-8 form is written `~XX` (hex), so `/`, `.`, `..`, `+`, `=` and
 * invisible characters cannot shape the key. GUIDs come out unchanged. An id whose encoding would
 * be longer than 150 bytes keeps its first 100 and a sha256 prefix of the whole id.
 */
export function idKeySegment(id: string): string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new StorageError('an id used in an object key must be non-empty text', 'INVALID_INPUT');
  }
  let out = '';
  for (const char of id) {
    if (ID_KEEP.test(char)) out += char;
    else
      for (const byte of Buffer.from(char, 'utf8'))
        out += `~${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (out.length <= MAX_ID_SEGMENT_BYTES) return out;
  const digest = createHash('sha256').update(id, 'utf8').digest('hex').slice(0, 32);
  return `${out.slice(0, 100).replace(/~[0-9A-F]?$/, '')}~~${digest}`;
}

/**
 * Turns a file name from a platform into one safe S3 key segment, unique within `usedNames`, and
 * records it there.
 *
 * - Unicode NFC; invisible characters (controls, bidi overrides, zero-width) removed.
 * - Path separators, whitespace and anything but letters, digits and `. _ ( ) -` become `_`;
 *   runs of `_` or `.` shrink to one; leading and trailing `. _ -` are dropped.
 * - The extension (1-16 letters or digits after the last dot) is kept; Windows device names
 *   (CON, NUL, COM1, ...) get a leading `_`; an empty result becomes `file`.
 * - At most `MAX_FILE_NAME_BYTES` UTF-8 bytes, shortened before the extension.
 * - Names that collide case-insensitively with one in `usedNames` get `-2`, `-3`, ... before the
 *   extension, since DMS exports often land on case-insensitive file systems.
 */
export function safeFileName(name: string, usedNames: Set<string>): string {
  const cleaned = String(name)
    .normalize('NFC')
    .replace(INVISIBLE, '')
    .replace(NOT_SAFE, '_')
    .replace(/\.{2,}/g, '.')
    .replace(/_{2,}/g, '_');

  let base = cleaned;
  let extension = '';
  const dot = cleaned.lastIndexOf('.');
  if (dot >= 0 && EXTENSION.test(cleaned.slice(dot + 1))) {
    base = cleaned.slice(0, dot);
    extension = cleaned.slice(dot);
  }
  base = base.replace(/^[._-]+|[._-]+$/g, '') || FALLBACK_NAME;
  if (WINDOWS_DEVICE.test(base)) base = `_${base}`;

  const compose = (suffix: string): string => {
    const room = MAX_FILE_NAME_BYTES - utf8Length(suffix) - utf8Length(extension);
    const head = truncateUtf8(base, room).replace(/[._-]+$/, '') || FALLBACK_NAME;
    return `${head}${suffix}${extension}`;
  };
  const taken = (candidate: string): boolean => {
    const folded = candidate.toLowerCase();
    for (const used of usedNames) if (used.toLowerCase() === folded) return true;
    return false;
  };

  let candidate = compose('');
  for (let n = 2; taken(candidate); n++) candidate = compose(`-${n}`);
  usedNames.add(candidate);
  return candidate;
}
