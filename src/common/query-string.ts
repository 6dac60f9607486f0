/** Where a parsed query keeps the names of parameters whose percent-encoding could not be decoded. */
const MALFORMED = Symbol('malformedParameters');

export type ParsedQuery = Record<string, string | string[]>;

function decode(text: string): string | undefined {
  if (!text.includes('%') && !text.includes('+')) return text;
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/**
 * Parses a query string the way Fastify's default parser does (`+` is a space, a repeated name
 * gives an array, no prototype), except that text which is not valid percent-encoded UTF-8 is
 * kept as written and its parameter's name is remembered (see `malformedParameters`), so that a
 * validator can refuse it by name instead of guessing what the client meant.
 */
export function parseQueryString(input: string): ParsedQuery {
  const query = Object.create(null) as ParsedQuery;
  const malformed = new Set<string>();
  for (const part of input.split('&')) {
    const eq = part.indexOf('=');
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    if (rawKey === '') continue;
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    const decodedKey = decode(rawKey);
    const decodedValue = decode(rawValue);
    const key = decodedKey ?? rawKey;
    if (decodedKey === undefined || decodedValue === undefined) malformed.add(key);
    const value = decodedValue ?? rawValue;
    const existing = query[key];
    if (existing === undefined) query[key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else query[key] = [existing, value];
  }
  if (malformed.size > 0)
    Object.defineProperty(query, MALFORMED, { value: [...malformed], enumerable: false });
  return query;
}

/** The names of the parameters whose text `parseQueryString` could not decode, in order of appearance. */
export function malformedParameters(query: unknown): readonly string[] {
  if (typeof query !== 'object' || query === null) return [];
  const names = (query as { [MALFORMED]?: readonly string[] })[MALFORMED];
  return names ?? [];
}
