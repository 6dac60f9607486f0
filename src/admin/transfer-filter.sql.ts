import { ENVELOPE_ID_PREFIX, SEARCH_TEXT, type TransferFilter } from './transfer-filter.schema';

const FULL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** `text` as a LIKE pattern that matches it anywhere, its own `%`, `_` and `\` taken literally. */
const containing = (text: string): string => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * The WHERE conditions for a transfer filter on alias `t`. Values go into `params` (which may
 * already hold earlier parameters); nothing from the filter is ever spliced into the SQL text.
 */
export function transferFilterConditions(filter: TransferFilter, params: unknown[]): string[] {
  const value = (v: unknown): string => {
    params.push(v);
    return `$${params.length}`;
  };
  const conditions: string[] = [];
  if (filter.states.length > 0) conditions.push(`t.state = ANY(${value(filter.states)}::text[])`);
  if (filter.causes.length > 0) {
    const named = filter.causes.filter((c): c is string => c !== null);
    const alternatives: string[] = [];
    if (named.length > 0) alternatives.push(`t.cause = ANY(${value(named)}::text[])`);
    if (named.length < filter.causes.length) alternatives.push('t.cause IS NULL');
    conditions.push(`(${alternatives.join(' OR ')})`);
  }
  if (filter.sender !== undefined) conditions.push(`lower(t.sender_email) = lower(${value(filter.sender)})`);
  if (filter.platform !== undefined) conditions.push(`t.platform = ${value(filter.platform)}`);
  const column = filter.dateField === 'updated' ? 't.updated_at' : 't.created_at';
  if (filter.from !== undefined) conditions.push(`${column} >= ${value(filter.from)}::timestamptz`);
  if (filter.to !== undefined) conditions.push(`${column} < ${value(filter.to)}::timestamptz`);
  if (filter.search !== undefined) {
    const alternatives: string[] = [];
    if (ENVELOPE_ID_PREFIX.test(filter.search)) {
      const prefix = filter.search.toLowerCase();
      alternatives.push(
        FULL_UUID.test(prefix)
          ? `t.envelope_id = ${value(prefix)}::uuid`
          : // The prefix holds only hex digits and dashes, so LIKE needs no escaping.
            `t.envelope_id::text LIKE ${value(`${prefix}%`)}`,
      );
    }
    // A whole id is looked up by the unique index alone; a name would not be one.
    if (!FULL_UUID.test(filter.search.toLowerCase()) && Array.from(filter.search).length >= SEARCH_TEXT.min) {
      const pattern = value(containing(filter.search));
      alternatives.push(
        `t.envelope_name ILIKE ${pattern} ESCAPE '\\'`,
        `t.sender_email ILIKE ${pattern} ESCAPE '\\'`,
      );
    }
    conditions.push(alternatives.length === 1 ? alternatives[0] : `(${alternatives.join(' OR ')})`);
  }
  return conditions;
}

export function whereClause(conditions: readonly string[]): string {
  return conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
}
