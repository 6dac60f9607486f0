import axios from 'axios';
import type { z } from 'zod';
import { PlatformError, type PlatformErrorCode } from '../platform-error';
import type { DownloadFailure } from './checked-download.stream';
import { parseRetryAfterMs } from './retry.policy';

const MAX_SERVER_TEXT = 200;
// Certificate problems do not heal by waiting: a person has to look.
const TLS_ERROR_CODE = /^(CERT_|ERR_TLS_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|ERR_SSL_)/;

/** A non-2xx answer whose body has been read: what a platform needs to say why its call failed. */
export interface FailedAnswer {
  /** The platform's name, the first word of every message. */
  label: string;
  /** Method and path of the call, as given by the caller. */
  operation: string;
  status: number;
  /** Response headers by lower-case name. */
  headers: Record<string, string | undefined>;
  /** The body, decoded, at most 64 KiB; empty when there was none or it could not be read. */
  text: string;
  /** Server text made fit for a message: one short line, the request's secrets scrubbed. */
  sanitize(text: string): string;
}

/** How a platform turns a non-2xx answer into the error its callers see. */
export type AnswerToError = (answer: FailedAnswer) => PlatformError;

/** The error code an HTTP status means on its own; PROTOCOL for statuses that need the body to say more. */
export function codeForStatus(status: number): PlatformErrorCode {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404 || status === 410) return 'NOT_FOUND';
  if (status === 429) return 'RATE_LIMITED';
  if (status === 408 || status >= 500) return 'TRANSIENT';
  return 'PROTOCOL';
}

/**
 * The error for a non-2xx answer: `<label> <operation>: HTTP <status><detail>` with `code` and, when the
 * code is retryable, the server's Retry-After. A 3xx is a refused redirect whatever the code.
 */
export function statusError(
  answer: FailedAnswer,
  detail = '',
  code: PlatformErrorCode = codeForStatus(answer.status),
): PlatformError {
  const { label, operation, status, headers } = answer;
  if (status >= 300 && status < 400) {
    const location = safeOrigin(headers.location);
    return new PlatformError(
      `${label} ${operation}: redirect (HTTP ${status}${location ? ` to ${location}` : ''}) refused`,
      'PROTOCOL',
      { status },
    );
  }
  const retryAfterMs = parseRetryAfterMs(headers['retry-after']);
  return new PlatformError(`${label} ${operation}: HTTP ${status}${detail}`, code, {
    status,
    ...(retryAfterMs !== undefined && (code === 'RATE_LIMITED' || code === 'TRANSIENT') && { retryAfterMs }),
  });
}

/** Server text in our messages: single line, short, and with anything secret we sent scrubbed. */
export function sanitizeServerText(text: string, secrets: readonly string[]): string {
  let clean = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) clean = clean.split(secret).join('[redacted]');
  }
  clean = clean.replace(/\p{Cc}+/gu, ' ').trim();
  return clean.length > MAX_SERVER_TEXT ? `${clean.slice(0, MAX_SERVER_TEXT)}…` : clean;
}

/** Names the first few offending fields without echoing values (they may be personal data). */
export function describeSchemaError(error: z.ZodError, limit = 3): string {
  const parts = error.issues.slice(0, limit).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    return `${path}: ${issue.message}`;
  });
  const more = error.issues.length > limit ? ` (and ${error.issues.length - limit} more)` : '';
  return parts.join('; ') + more;
}

/**
 * The error worth keeping as `cause`: the network error underneath an axios error. Axios errors carry
 * the request config, headers included, and would put the token into any log that serializes causes.
 */
export function networkCause(error: unknown): unknown {
  let current: unknown = error;
  while (current instanceof Error && axios.isAxiosError(current)) {
    const inner: unknown = (current as { cause?: unknown }).cause;
    if (inner === undefined || inner === current) {
      const plain = new Error(current.message);
      if (current.code) (plain as Error & { code?: string }).code = current.code;
      return plain;
    }
    current = inner;
  }
  return current;
}

/** A request that got no answer: TLS and HTTP parser failures are PROTOCOL, everything else TRANSIENT. */
export function networkError(label: string, operation: string, error: unknown): PlatformError {
  const cause = networkCause(error);
  const code = errorCode(error);
  const what = code ?? (cause instanceof Error ? cause.message : 'network error');
  if (code && TLS_ERROR_CODE.test(code)) {
    return new PlatformError(`${label} ${operation}: TLS failure (${code})`, 'PROTOCOL', { cause });
  }
  if (code === 'ECONNECTTIMEOUT') {
    return new PlatformError(`${label} ${operation}: connect timeout`, 'TRANSIENT', { cause });
  }
  // An answer Node's HTTP parser refuses (headers over 16 KB, malformed framing) will be the same next time.
  if (code?.startsWith('HPE_')) {
    return new PlatformError(`${label} ${operation}: unreadable HTTP answer (${code})`, 'PROTOCOL', {
      cause,
    });
  }
  // Resets, refusals, DNS hiccups, and codes we have never seen: waiting may help, and the job's
  // attempt and age limits bound how long we keep trying.
  return new PlatformError(`${label} ${operation}: ${what}`, 'TRANSIENT', { cause });
}

/**
 * The error a download stream emits. `translate` turns the underlying failure of a lost connection into
 * a PlatformError, or returns the caller's abort reason, which is passed on as it is.
 */
export function downloadError(
  label: string,
  operation: string,
  failure: DownloadFailure,
  translate: (error: unknown) => unknown,
): Error {
  switch (failure.kind) {
    case 'idle':
      return new PlatformError(
        `${label} ${operation}: no data for ${failure.idleTimeoutMs} ms after ${failure.received} bytes`,
        'TRANSIENT',
      );
    case 'short':
      return new PlatformError(
        `${label} ${operation}: body ended after ${failure.received} of ${failure.expected} bytes`,
        'TRANSIENT',
      );
    case 'long':
      return new PlatformError(
        `${label} ${operation}: body longer than its Content-Length of ${failure.expected} bytes`,
        'PROTOCOL',
      );
    case 'aborted': {
      const translated = failure.cause === undefined ? undefined : translate(failure.cause);
      if (translated instanceof Error && !(translated instanceof PlatformError)) return translated;
      const cause = translated instanceof PlatformError ? translated.cause : undefined;
      return new PlatformError(
        `${label} ${operation}: connection lost after ${failure.received} bytes`,
        'TRANSIENT',
        { cause },
      );
    }
  }
}

/** The code of the first error in a cause chain that has one. */
function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'ERR_CANCELED' && code !== 'ERR_NETWORK') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function safeOrigin(location: string | undefined): string | undefined {
  if (!location) return undefined;
  try {
    return new URL(location).origin;
  } catch {
    return undefined;
  }
}
