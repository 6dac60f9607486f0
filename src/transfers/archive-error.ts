/**
 * Why an archive step failed, in the pipeline's own words. Adapters' errors (platform, storage,
 * database) are translated into these in one place: `classifyError`.
 */
export type ArchiveErrorClass =
  | 'TRANSIENT' // worth retrying: 5xx, timeouts, resets, 429, S3 or database hiccups
  | 'UNAUTHORIZED' // the sender's token was rejected: needs consent again
  | 'NOT_FOUND' // the envelope is gone on the platform
  | 'FILE_MISSING' // a file the platform lists answers 404
  | 'TOO_LARGE' // a file is larger than the per-file limit
  | 'CONFLICT' // another valid copy with different content holds the object key
  | 'CORRUPT' // a file said to be a PDF is not one
  | 'INTEGRITY' // the copy in S3 does not match what was read
  | 'PROTOCOL' // the platform answered in a shape we do not understand
  | 'NO_TOKEN' // nobody's token is known for this envelope
  | 'NEVER_FINISHED' // the envelope stayed unfinished past the waiting window
  | 'LEASE_LOST' // another worker took the transfer over
  | 'INTERNAL'; // a defect: kept, retried a few times, shown to ops

export class ArchiveError extends Error {
  constructor(
    message: string,
    readonly errorClass: ArchiveErrorClass,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, { cause: options?.cause });
    this.name = 'ArchiveError';
    this.retryAfterMs = options?.retryAfterMs;
  }
  readonly retryAfterMs?: number;
}

const PLATFORM_CODES: Record<string, ArchiveErrorClass> = {
  UNAUTHORIZED: 'UNAUTHORIZED',
  NOT_FOUND: 'NOT_FOUND',
  RATE_LIMITED: 'TRANSIENT',
  TRANSIENT: 'TRANSIENT',
  PROTOCOL: 'PROTOCOL',
};

const STORAGE_CODES: Record<string, ArchiveErrorClass> = {
  TRANSIENT: 'TRANSIENT',
  INTEGRITY: 'INTEGRITY',
  NOT_FOUND: 'INTEGRITY',
  CONFLICT: 'CONFLICT',
  CONFIG: 'INTERNAL',
  INVALID_INPUT: 'INTERNAL',
  REJECTED: 'INTERNAL',
};

/** Storage errors that only wrap the real reason (the source stream's error, the abort reason). */
const STORAGE_WRAPPERS = new Set(['SOURCE', 'ABORTED']);

/** Maps any error to the pipeline's classes, looking through `cause` chains. */
export function classifyError(error: unknown): ArchiveError {
  if (error instanceof ArchiveError) return error;
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 6; e = e.cause, depth++) {
    if (e instanceof ArchiveError) {
      return new ArchiveError(e.message, e.errorClass, { cause: error, retryAfterMs: e.retryAfterMs });
    }
    const code = (e as { code?: unknown }).code;
    if (e.name === 'PlatformError' && typeof code === 'string' && PLATFORM_CODES[code]) {
      return new ArchiveError(e.message, PLATFORM_CODES[code], {
        cause: error,
        retryAfterMs: (e as { retryAfterMs?: number }).retryAfterMs,
      });
    }
    if (e.name === 'StorageError' && typeof code === 'string') {
      if (STORAGE_WRAPPERS.has(code) && e.cause instanceof Error) continue;
      return new ArchiveError(e.message, STORAGE_CODES[code] ?? 'TRANSIENT', { cause: error });
    }
    if (e.name === 'AbortError')
      return new ArchiveError('the work was interrupted', 'TRANSIENT', { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  // Connection-level failures anywhere are transient; anything else is a defect to look at.
  if (/ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|socket hang up|timeout|Connection terminated/i.test(message)) {
    return new ArchiveError(message, 'TRANSIENT', { cause: error });
  }
  return new ArchiveError(message, 'INTERNAL', { cause: error });
}
