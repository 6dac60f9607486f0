export interface ObjectTag {
  key: string;
  value: string;
}

/** S3 object tagging limits: https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html */
export const S3_MAX_TAGS = 10;
export const S3_MAX_TAG_KEY_CHARS = 128;
export const S3_MAX_TAG_VALUE_CHARS = 256;

const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}]/gu;
const WHITESPACE_CONTROLS = /[\t\n\v\f\r\u0085]/g;
// The character set AWS documents for tag keys and values: letters, separators, numbers, _ . : / = + - @
const NOT_ALLOWED = /[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu;
const RESERVED_PREFIX = /^aws:/i;

function clean(value: string, maxChars: number): string {
  const allowed = String(value)
    .normalize('NFKC')
    .replace(WHITESPACE_CONTROLS, ' ')
    .replace(INVISIBLE, '')
    .replace(/\s+/gu, ' ')
    .trim()
    .replace(NOT_ALLOWED, '_');
  // Counted in code points ("Unicode characters"), never splitting a surrogate pair.
  return Array.from(allowed).slice(0, maxChars).join('').trimEnd();
}

/** A tag key as `toS3Tags` would store it; compare these, not the raw keys. */
export function normaliseTagKey(key: string): string {
  return clean(key, S3_MAX_TAG_KEY_CHARS);
}

/**
 * Makes S3 object tags from a record, keeping to S3's rules instead of failing the upload:
 *
 * - keys and values are NFKC-normalised (full-width and other compatibility forms fold to plain
 *   ones), invisible characters are removed, whitespace runs become one space, both ends are
 *   trimmed, and characters outside S3's set become `_`;
 * - keys are cut to 128 characters, values to 256;
 * - entries whose key ends up empty or starts with the reserved `aws:` are dropped;
 * - of keys that end up equal ignoring case, the first wins;
 * - at most 10 tags are kept, in the record's insertion order: put the important ones first.
 */
export function toS3Tags(record: Readonly<Record<string, string>>): ObjectTag[] {
  const tags: ObjectTag[] = [];
  const seen = new Set<string>();
  for (const [rawKey, rawValue] of Object.entries(record)) {
    if (tags.length === S3_MAX_TAGS) break;
    const key = clean(rawKey, S3_MAX_TAG_KEY_CHARS);
    const folded = key.toLowerCase();
    if (key === '' || RESERVED_PREFIX.test(key) || seen.has(folded)) continue;
    seen.add(folded);
    tags.push({ key, value: clean(rawValue ?? '', S3_MAX_TAG_VALUE_CHARS) });
  }
  return tags;
}
