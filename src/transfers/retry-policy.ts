import type { ArchiveErrorClass } from './archive-error';
import type { TransferState } from './transfer-state';

export interface RetrySettings {
  baseDelayMs: number;
  maxDelayMs: number;
  maxAttempts: number;
  maxAgeMs: number;
}

/** Errors that will not cure themselves get only a few tries before a person is asked. */
export const SHORT_RETRY_CLASSES: readonly ArchiveErrorClass[] = [
  'CORRUPT',
  'CHECKSUM',
  'FILE_MISSING',
  'TOO_LARGE',
  'INTEGRITY',
  'PROTOCOL',
  'UNKNOWN_STATUS',
  'INTERNAL',
];
export const SHORT_RETRY_ATTEMPTS = 3;

/** How long to wait for a file the platform is preparing, when it does not say (and at most). */
export const NOT_READY_DEFAULT_WAIT_MS = 3_600_000;
export const NOT_READY_MAX_WAIT_MS = 6 * 3_600_000;

/** Exponential backoff with full jitter, never shorter than the platform's Retry-After. */
export function backoffDelay(
  attempt: number,
  settings: Pick<RetrySettings, 'baseDelayMs' | 'maxDelayMs'>,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  // Half fixed, half random: spreads a herd without ever retrying immediately.
  const delay = Math.round(exponential / 2 + (random() * exponential) / 2);
  return Math.max(delay, Math.min(retryAfterMs ?? 0, settings.maxDelayMs * 4));
}

export type RetryDecision =
  | { state: Extract<TransferState, 'retrying'>; delayMs: number }
  | { state: Extract<TransferState, 'waiting'>; cause: 'platform_preparing'; delayMs: number }
  | { state: Extract<TransferState, 'failed'>; cause: string }
  | { state: Extract<TransferState, 'needs_consent'>; cause: 'token_rejected' }
  | { state: Extract<TransferState, 'gone'>; cause: 'envelope_not_found' };

const FAILURE_CAUSES: Partial<Record<ArchiveErrorClass, string>> = {
  CORRUPT: 'corrupt_pdf',
  CHECKSUM: 'checksum_mismatch',
  INTEGRITY: 'copy_not_verified',
  FILE_MISSING: 'file_missing',
  TOO_LARGE: 'file_too_large',
  PROTOCOL: 'protocol_error',
  UNKNOWN_STATUS: 'unknown_status',
  INTERNAL: 'internal_error',
  NO_TOKEN: 'no_token',
};

/**
 * The one place where an error becomes the transfer's next state.
 * `attempts` counts the attempt that just failed; `ageMs` is the time since the first callback.
 * `copiedSomething` tells whether documents were already verified (a 404 is then not harmless).
 * `streak` counts the attempts in a row, this one included, that failed with this same class
 * (attempts cut short by a lost lease or a crash neither count nor break it); errors that will not
 * cure themselves are judged by it, so interruptions do not use up their few tries.
 */
export function decideAfterError(
  errorClass: ArchiveErrorClass,
  ctx: { attempts: number; ageMs: number; retryAfterMs?: number; copiedSomething: boolean; streak?: number },
  settings: RetrySettings,
  random?: () => number,
): RetryDecision {
  switch (errorClass) {
    case 'UNAUTHORIZED':
      return { state: 'needs_consent', cause: 'token_rejected' };
    case 'NOT_FOUND':
      return ctx.copiedSomething
        ? { state: 'failed', cause: 'deleted_during_archive' }
        : { state: 'gone', cause: 'envelope_not_found' };
    case 'NO_TOKEN':
      return { state: 'failed', cause: 'no_token' };
    case 'NEVER_FINISHED':
      return { state: 'failed', cause: 'never_finished' };
    case 'CONFLICT':
      // Never overwritten: a person decides which copy is right.
      return { state: 'failed', cause: 'copy_conflict' };
    case 'FORBIDDEN':
      // The sender's token works; this one envelope is not allowed for it. Their other envelopes go on.
      return { state: 'failed', cause: 'forbidden' };
    case 'UNSUPPORTED':
      return { state: 'failed', cause: 'unsupported_envelope' };
    case 'NOT_READY': {
      // The platform is preparing a file and said when: a wait, which uses up no attempt, bounded by
      // the age limit like any retry.
      const delayMs = Math.min(
        Math.max(ctx.retryAfterMs ?? NOT_READY_DEFAULT_WAIT_MS, settings.baseDelayMs),
        NOT_READY_MAX_WAIT_MS,
      );
      if (ctx.ageMs + delayMs > settings.maxAgeMs) return { state: 'failed', cause: 'max_age_exceeded' };
      return { state: 'waiting', cause: 'platform_preparing', delayMs };
    }
    case 'TRANSIENT':
    case 'LEASE_LOST':
    case 'CORRUPT':
    case 'CHECKSUM':
    case 'INTEGRITY':
    case 'FILE_MISSING':
    case 'TOO_LARGE':
    case 'PROTOCOL':
    case 'UNKNOWN_STATUS':
    case 'INTERNAL':
      // Judged below, by their streak, the attempts and the age.
      break;
    default: {
      // A new class does not compile until it is decided here.
      const undecided: never = errorClass;
      throw new TypeError(`no decision for error class ${String(undecided)}`);
    }
  }
  if (
    SHORT_RETRY_CLASSES.includes(errorClass) &&
    (ctx.streak ?? ctx.attempts) >= Math.min(SHORT_RETRY_ATTEMPTS, settings.maxAttempts)
  ) {
    return { state: 'failed', cause: FAILURE_CAUSES[errorClass] ?? 'internal_error' };
  }
  if (ctx.attempts >= settings.maxAttempts) return { state: 'failed', cause: 'attempts_exhausted' };
  const delayMs = backoffDelay(ctx.attempts, settings, ctx.retryAfterMs, random);
  if (ctx.ageMs + delayMs > settings.maxAgeMs) return { state: 'failed', cause: 'max_age_exceeded' };
  return { state: 'retrying', delayMs };
}
