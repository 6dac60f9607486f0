import { AppError } from '../common/app-error';
import { PlatformError, type PlatformErrorCode } from '../platforms/platform-error';
import { TokenCipherError, TokenCipherErrorCode } from '../senders/token-cipher';
import { StorageError, type StorageErrorCode } from '../storage/storage-error';
/**
 * Why an archive step failed, in the pipeline's own words. Adapters' errors (platform, storage,
 * database) are translated into these in one place: `classifyError`.
 */
export type ArchiveErrorClass =
  | 'TRANSIENT' // worth retrying: 5xx, timeouts, resets, 429, S3 or database hiccups
  | 'UNAUTHORIZED' // the sender's token was rejected: needs consent again
  | 'FORBIDDEN' // the token works, but not for this envelope (permission, licence): this transfer fails
  | 'UNKNOWN_STATUS' // the platform reports a status the service does not know
  | 'NOT_READY' // the platform is preparing a file (restoring it from its archive): wait as long as it says
  | 'UNSUPPORTED' // the platform cannot serve this envelope through its API (e.g. created through an old API)
  | 'NOT_FOUND' // the envelope is gone on the platform
  | 'FILE_MISSING' // a file the platform lists answers 404
  | 'TOO_LARGE' // a file is larger than the per-file limit
  | 'CONFLICT' // another valid copy with different content holds the object key
  | 'CORRUPT' // a file said to be a PDF is not one
  | 'INTEGRITY' // the copy in S3 does not match what was read
  | 'CHECKSUM' // the bytes read do not match the checksum the platform gives for the file
  | 'PROTOCOL' // the platform answered in a shape we do not understand
  | 'NO_TOKEN' // nobody's token is known for this envelope
  | 'NEVER_FINISHED' // the envelope stayed unfinished past the waiting window
  | 'LEASE_LOST' // another worker took the transfer over
  | 'INTERNAL'; // a defect: kept, retried a few times, shown to ops

export class ArchiveError extends AppError<ArchiveErrorClass> {
  readonly retryAfterMs?: number;

  constructor(
    message: string,
    errorClass: ArchiveErrorClass,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, errorClass, options);
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }

  /** The pipeline's name for the code. */
  get errorClass(): ArchiveErrorClass {
    return this.code;
  }
}

/** What each platform error means for a transfer. */
const PLATFORM_OUTCOMES: Record<PlatformErrorCode, ArchiveErrorClass> = {
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  RATE_LIMITED: 'TRANSIENT',
  TRANSIENT: 'TRANSIENT',
  UNKNOWN_STATUS: 'UNKNOWN_STATUS',
  NOT_READY: 'NOT_READY',
  UNSUPPORTED: 'UNSUPPORTED',
  PROTOCOL: 'PROTOCOL',
};

/** What each storage error means for a transfer; `null`: the error only wraps the real reason (its cause). */
const STORAGE_OUTCOMES: Record<StorageErrorCode, ArchiveErrorClass | null> = {
  TRANSIENT: 'TRANSIENT',
  INTEGRITY: 'INTEGRITY',
  NOT_FOUND: 'INTEGRITY',
  CONFLICT: 'CONFLICT',
  CONFIG: 'INTERNAL',
  INVALID_INPUT: 'INTERNAL',
  REJECTED: 'INTERNAL',
  SOURCE: null,
  ABORTED: null,
};

/** Token store errors are an operator's to fix (a key left the ring): retried, then shown to ops. */
const TOKEN_OUTCOMES: Record<TokenCipherErrorCode, ArchiveErrorClass> = {
  [TokenCipherErrorCode.NOT_CONFIGURED]: 'INTERNAL',
  [TokenCipherErrorCode.INVALID_KEY]: 'INTERNAL',
  [TokenCipherErrorCode.UNKNOWN_KEY]: 'INTERNAL',
  [TokenCipherErrorCode.MALFORMED]: 'INTERNAL',
  [TokenCipherErrorCode.AUTHENTICATION_FAILED]: 'INTERNAL',
  [TokenCipherErrorCode.INVALID_INPUT]: 'INTERNAL',
};

/** Maps any error to the pipeline's classes, looking through `cause` chains. */
export function classifyError(error: unknown): ArchiveError {
  if (error instanceof ArchiveError) return error;
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 6; e = e.cause, depth++) {
    if (e instanceof ArchiveError) {
      return new ArchiveError(e.message, e.errorClass, { cause: error, retryAfterMs: e.retryAfterMs });
    }
    if (e instanceof PlatformError) {
      return new ArchiveError(e.message, PLATFORM_OUTCOMES[e.code], {
        cause: error,
        retryAfterMs: e.retryAfterMs,
      });
    }
    if (e instanceof StorageError) {
      const outcome = STORAGE_OUTCOMES[e.code];
      if (outcome === null && e.cause instanceof Error) continue;
      return new ArchiveError(e.message, outcome ?? 'TRANSIENT', { cause: error });
    }
    if (e instanceof TokenCipherError) {
      return new ArchiveError(e.message, TOKEN_OUTCOMES[e.code], { cause: error });
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
