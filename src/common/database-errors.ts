import { AppError } from './app-error';
/** The database could not durably store or read what a request needs. Maps to 503. */
export class DatabaseUnavailableError extends AppError<'UNAVAILABLE'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'UNAVAILABLE', options);
  }
}

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  '3D000', // invalid_catalog_name: the database is gone (dropped or renamed)
  '57014', // query_canceled (statement_timeout)
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available
]);

// Whole classes: 08 connection_exception, 53 insufficient_resources (too many connections, disk
// full, out of memory), 57P0x the server or an administrator ended or refused the session.
const CONNECTION_ERROR_PREFIXES = ['08', '53', '57P0'];

// Five characters; no SQLSTATE class starts with E, which keeps Node's EPIPE or EPERM out.
const SQLSTATE = /^[0-9A-DF-Z][0-9A-Z]{4}$/;

function ownCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The SQLSTATE PostgreSQL answered with, looking through TypeORM's wrapper and error causes. */
export function sqlState(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    for (const candidate of [e, (e as { driverError?: unknown }).driverError]) {
      const code = ownCode(candidate);
      if (code !== undefined && SQLSTATE.test(code)) return code;
    }
  }
  return undefined;
}

/**
 * True for data_exception (class 22) and integrity_constraint_violation (class 23): the database
 * refused what it was given, so sending the same again cannot succeed.
 */
export function isInvalidDataError(error: unknown): boolean {
  return /^2[23]/.test(sqlState(error) ?? '');
}

function isConnectionRefusal(code: string, message: string): boolean {
  if (CONNECTION_ERROR_CODES.has(code)) return true;
  if (SQLSTATE.test(code) && CONNECTION_ERROR_PREFIXES.some((prefix) => code.startsWith(prefix))) return true;
  // 55000 (object_not_in_prerequisite_state) also covers programming errors; only this message is "come back later".
  return code === '55000' && /not currently accepting connections/i.test(message);
}

/** True for errors meaning "the database is down, overloaded or too slow" rather than a bug. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof DatabaseUnavailableError) return true;
    const code = ownCode(e);
    if (code !== undefined && isConnectionRefusal(code, e.message)) return true;
    const driverError = (e as { driverError?: unknown }).driverError;
    if (driverError instanceof Error && isDatabaseUnavailable(driverError)) return true;
    if (
      /timeout exceeded when trying to connect|Connection terminated|Query read timeout|connection timeout|not queryable/i.test(
        e.message,
      )
    )
      return true;
  }
  return false;
}

/** A thrown value that is not an Error: a primitive as its text, an object by its kind only. */
function describeThrown(value: unknown): string {
  return typeof value === 'object' && value !== null ? Object.prototype.toString.call(value) : String(value);
}

/** An error and its causes on one line, each with its SQLSTATE where it has one, for the log. */
export function describeErrorChain(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 5; depth++) {
    if (!(e instanceof Error)) {
      parts.push(describeThrown(e));
      break;
    }
    const code = ownCode(e);
    parts.push(code ? `${e.message} (${code})` : e.message);
    e = e.cause;
  }
  return parts.join(' <- ');
}
