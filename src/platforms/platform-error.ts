import { AppError } from '../common/app-error';
/**
 * How a call to an e-signature platform failed, in the terms the archive pipeline acts on:
 * - UNAUTHORIZED: the credential itself was refused (401): pause until the sender grants access again.
 * - FORBIDDEN: the credential works, but this object or action is not allowed for it (a permission or a
 *   licence, HTTP 403): that one transfer fails; the sender's other envelopes go on.
 * - NOT_FOUND: the object does not exist (any more) for this token (404 or the platform's "missing" error).
 * - RATE_LIMITED: the platform asked us to slow down (429); `retryAfterMs` says for how long when it told us.
 * - TRANSIENT: worth retrying later: 5xx, timeouts, connection resets, truncated bodies.
 * - UNKNOWN_STATUS: the platform reports a status the service does not know; retried, then shown to ops.
 * - NOT_READY: the platform is preparing the object (restoring it from its own archive) and says when to
 *   ask again (`retryAfterMs`): a wait, not a failure.
 * - UNSUPPORTED: the platform cannot serve this object through the API the service uses (an envelope
 *   made through an older API version); needs a person.
 * - PROTOCOL: the platform answered something we do not understand (bad JSON, changed shape, unexpected
 *   status) or we were asked to send something the protocol does not allow (an invalid id); needs a person.
 */
export type PlatformErrorCode =
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'RATE_LIMITED'
  | 'TRANSIENT'
  | 'UNKNOWN_STATUS'
  | 'NOT_READY'
  | 'UNSUPPORTED'
  | 'PROTOCOL';

export const PLATFORM_ERROR_CODES: readonly PlatformErrorCode[] = [
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'RATE_LIMITED',
  'TRANSIENT',
  'UNKNOWN_STATUS',
  'NOT_READY',
  'UNSUPPORTED',
  'PROTOCOL',
];

export interface PlatformErrorOptions {
  cause?: unknown;
  retryAfterMs?: number;
  status?: number;
}

/** Messages never carry tokens, secrets or authorization codes: they end up in logs and in ops mail. */
export class PlatformError extends AppError<PlatformErrorCode> {
  readonly retryAfterMs?: number;
  readonly status?: number;

  constructor(message: string, code: PlatformErrorCode, options: PlatformErrorOptions = {}) {
    super(message, code, options);
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    if (options.status !== undefined) this.status = options.status;
  }

  /** Whether waiting and asking again can help (the caller still decides how long to wait). */
  get retryable(): boolean {
    return this.code === 'TRANSIENT' || this.code === 'RATE_LIMITED';
  }
}

export function isPlatformError(value: unknown): value is PlatformError {
  return value instanceof PlatformError;
}
