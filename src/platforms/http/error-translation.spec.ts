import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AxiosError } from 'axios';
import { z } from 'zod';
import { PlatformError } from '../platform-error';
import {
  codeForStatus,
  describeSchemaError,
  downloadError,
  networkCause,
  networkError,
  sanitizeServerText,
  statusError,
  type FailedAnswer,
} from './error-translation';

function answer(status: number, headers: Record<string, string> = {}, text = ''): FailedAnswer {
  return {
    label: 'Acme',
    operation: 'GET /things/1',
    status,
    headers,
    text,
    sanitize: (value) => sanitizeServerText(value, ['sekret-token']),
  };
}

describe('codeForStatus', () => {
  it('maps the statuses that speak for themselves, and everything else to PROTOCOL', () => {
    assert.equal(codeForStatus(401), 'UNAUTHORIZED');
    assert.equal(codeForStatus(403), 'FORBIDDEN');
    assert.equal(codeForStatus(404), 'NOT_FOUND');
    assert.equal(codeForStatus(410), 'NOT_FOUND');
    assert.equal(codeForStatus(429), 'RATE_LIMITED');
    assert.equal(codeForStatus(408), 'TRANSIENT');
    assert.equal(codeForStatus(503), 'TRANSIENT');
    assert.equal(codeForStatus(400), 'PROTOCOL');
    assert.equal(codeForStatus(418), 'PROTOCOL');
    assert.equal(codeForStatus(204), 'PROTOCOL');
  });
});

describe('statusError', () => {
  it('names the platform, the operation, the status and the detail', () => {
    const error = statusError(answer(400), ' E42 (bad input)');
    assert.equal(error.message, 'Acme GET /things/1: HTTP 400 E42 (bad input)');
    assert.equal(error.code, 'PROTOCOL');
    assert.equal(error.status, 400);
  });

  it('lets the platform choose the code', () => {
    assert.equal(statusError(answer(400), '', 'NOT_FOUND').code, 'NOT_FOUND');
  });

  it('keeps Retry-After only for retryable codes', () => {
    assert.equal(statusError(answer(429, { 'retry-after': '7' })).retryAfterMs, 7_000);
    assert.equal(statusError(answer(503, { 'retry-after': '2' })).retryAfterMs, 2_000);
    assert.equal(statusError(answer(401, { 'retry-after': '7' })).retryAfterMs, undefined);
  });

  it('refuses a redirect, naming only the origin it points at', () => {
    const error = statusError(answer(302, { location: 'https://elsewhere.example/steal?token=sekret' }));
    assert.equal(
      error.message,
      'Acme GET /things/1: redirect (HTTP 302 to https://elsewhere.example) refused',
    );
    assert.equal(error.code, 'PROTOCOL');
    assert.equal(statusError(answer(301)).message, 'Acme GET /things/1: redirect (HTTP 301) refused');
  });
});

describe('sanitizeServerText', () => {
  it('scrubs secrets, flattens control characters and cuts long text', () => {
    assert.equal(
      sanitizeServerText('bad token sekret-token\r\nX-Injected: 1', ['sekret-token']),
      'bad token [redacted] X-Injected: 1',
    );
    assert.equal(sanitizeServerText('abc', ['', 'abc']), 'abc', 'secrets under 4 characters stay');
    const long = sanitizeServerText('x'.repeat(500), []);
    assert.equal(long, `${'x'.repeat(200)}…`);
  });
});

describe('describeSchemaError', () => {
  it('names up to three paths and counts the rest', () => {
    const result = z
      .object({ a: z.string(), b: z.object({ c: z.number() }), d: z.string(), e: z.string() })
      .safeParse({ b: {} });
    assert.ok(!result.success);
    const text = describeSchemaError(result.error);
    assert.match(text, /^a: .+; b\.c: .+; d: .+ \(and 1 more\)$/);
  });
});

describe('networkError', () => {
  const withCode = (code: string): Error => Object.assign(new Error(`failed ${code}`), { code });

  it('sorts failures into PROTOCOL (TLS, unreadable answers) and TRANSIENT (everything else)', () => {
    const tls = networkError('Acme', 'GET /x', withCode('CERT_HAS_EXPIRED'));
    assert.equal(tls.code, 'PROTOCOL');
    assert.equal(tls.message, 'Acme GET /x: TLS failure (CERT_HAS_EXPIRED)');
    const parser = networkError('Acme', 'GET /x', withCode('HPE_HEADER_OVERFLOW'));
    assert.equal(parser.code, 'PROTOCOL');
    assert.match(parser.message, /unreadable HTTP answer \(HPE_HEADER_OVERFLOW\)/);
    const connect = networkError('Acme', 'GET /x', withCode('ECONNECTTIMEOUT'));
    assert.equal(connect.code, 'TRANSIENT');
    assert.equal(connect.message, 'Acme GET /x: connect timeout');
    const reset = networkError('Acme', 'GET /x', withCode('ECONNRESET'));
    assert.equal(reset.code, 'TRANSIENT');
    assert.equal(reset.message, 'Acme GET /x: ECONNRESET');
  });

  it('never keeps an axios error (it carries the request headers) as the cause', () => {
    const socketError = withCode('ECONNRESET');
    const wrapped = new AxiosError('socket hang up', 'ECONNRESET', undefined, undefined, undefined);
    (wrapped as { cause?: unknown }).cause = socketError;
    assert.equal(networkCause(wrapped), socketError);
    const bare = new AxiosError('boom', 'ERR_BAD_RESPONSE');
    const cause = networkCause(bare);
    assert.ok(cause instanceof Error && !(cause instanceof AxiosError));
    assert.equal((cause as Error & { code?: string }).code, 'ERR_BAD_RESPONSE');
    const error = networkError('Acme', 'GET /x', wrapped);
    assert.equal(error.cause, socketError);
  });
});

describe('downloadError', () => {
  const translate = (error: unknown): unknown => networkError('Acme', 'GET /f', error);

  it('turns each way a body can fail into a PlatformError with the platform label', () => {
    const idle = downloadError(
      'Acme',
      'GET /f',
      { kind: 'idle', received: 10, idleTimeoutMs: 50 },
      translate,
    );
    assert.ok(idle instanceof PlatformError && idle.code === 'TRANSIENT');
    assert.equal(idle.message, 'Acme GET /f: no data for 50 ms after 10 bytes');
    const short = downloadError('Acme', 'GET /f', { kind: 'short', received: 3, expected: 9 }, translate);
    assert.ok(short instanceof PlatformError && short.code === 'TRANSIENT');
    const long = downloadError('Acme', 'GET /f', { kind: 'long', received: 10, expected: 9 }, translate);
    assert.ok(long instanceof PlatformError && long.code === 'PROTOCOL');
    const lost = downloadError(
      'Acme',
      'GET /f',
      { kind: 'aborted', received: 5, cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) },
      translate,
    );
    assert.ok(lost instanceof PlatformError && lost.code === 'TRANSIENT');
    assert.equal(lost.message, 'Acme GET /f: connection lost after 5 bytes');
  });

  it("passes the caller's abort reason on as it is", () => {
    const reason = new Error('shutting down');
    const error = downloadError('Acme', 'GET /f', { kind: 'aborted', received: 5, cause: 'x' }, () => reason);
    assert.equal(error, reason);
  });
});
