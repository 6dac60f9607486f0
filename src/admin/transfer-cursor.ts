import { z } from 'zod';

/**
 * A position in the newest-first transfer list: the last row's `created_at` (as PostgreSQL's
 * microsecond text, so no row is skipped or repeated by rounding to milliseconds) and its id.
 */
export interface TransferCursor {
  createdAt: string;
  id: string;
}

const CURSOR_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{6}Z$/;

/** A time PostgreSQL takes: year 1 to 9999, a day its month has, hours 0 to 23. */
export function isCursorTime(value: string): boolean {
  const match = CURSOR_TIME.exec(value);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number);
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return (
    year >= 1 && days !== undefined && day >= 1 && day <= days && hour <= 23 && minute <= 59 && second <= 59
  );
}

const cursorShape = z.strictObject({
  c: z.string().refine(isCursorTime),
  i: z.guid(),
});

/** Opaque to clients: base64url of a small JSON object. */
export function encodeCursor(cursor: TransferCursor): string {
  return Buffer.from(JSON.stringify({ c: cursor.createdAt, i: cursor.id }), 'utf8').toString('base64url');
}

/** The position, or undefined for anything this API did not hand out. */
export function decodeCursor(value: string): TransferCursor | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(value)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = cursorShape.safeParse(json);
  return parsed.success ? { createdAt: parsed.data.c, id: parsed.data.i.toLowerCase() } : undefined;
}

/** The SQL expression that renders `created_at` the way cursors carry it. */
export const CURSOR_TIME_SQL = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
