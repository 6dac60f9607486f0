import type { TransferFilter } from './transfer-filter.schema';

const FULL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

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
  if (filter.envelopePrefix !== undefined) {
    conditions.push(
      FULL_UUID.test(filter.envelopePrefix)
        ? `t.envelope_id = ${value(filter.envelopePrefix)}::uuid`
        : // The prefix holds only hex digits and dashes, so LIKE needs no escaping.
          `t.envelope_id::text LIKE ${value(`${filter.envelopePrefix}%`)}`,
    );
  }
  return conditions;
}

export function whereClause(conditions: readonly string[]): string {
  return conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
}
