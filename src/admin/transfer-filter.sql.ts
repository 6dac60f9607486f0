import { ENVELOPE_ID_PREFIX, type TransferFilter } from './transfer-filter.schema';

/** `text` with its own `%`, `_` and `\` taken literally in a LIKE pattern. */
const literal = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`);

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
    const pattern = value(`%${literal(filter.search)}%`);
    const alternatives = [
      `t.envelope_name ILIKE ${pattern} ESCAPE '\\'`,
      `t.sender_email ILIKE ${pattern} ESCAPE '\\'`,
    ];
    // Ids are opaque text; their case is the platform's, so the start of one is matched in any case.
    if (ENVELOPE_ID_PREFIX.test(filter.search))
      alternatives.unshift(`t.envelope_id ILIKE ${value(`${literal(filter.search)}%`)} ESCAPE '\\'`);
    conditions.push(`(${alternatives.join(' OR ')})`);
  }
  return conditions;
}

export function whereClause(conditions: readonly string[]): string {
  return conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
}
