import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Compares two secrets in constant time. Both sides are hashed first, so neither the
 * content nor the length of the expected secret leaks through timing.
 */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** Finds the entry whose secret matches, checking every entry so timing does not reveal which. */
export function findBySecret<T extends { secret: string }>(
  given: string,
  entries: readonly T[],
): T | undefined {
  let found: T | undefined;
  for (const entry of entries) {
    if (secretsEqual(given, entry.secret) && found === undefined) found = entry;
  }
  return found;
}

/** Query keys that may carry credentials; they are never stored or logged. */
export const SECRET_KEY_PATTERN = /token|secret|password|passwd|pwd|key|auth|signature|sig|code/i;
