import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { z } from 'zod';
import { PlatformError } from '../platform-error';
import { codeForStatus, statusError, type FailedAnswer } from './error-translation';
import { PlatformHttp, type PlatformHttpOptions, type PlatformRetryEvent } from './platform-http';

// A platform unlike eSignAnyWhere: `Authorization: Basic <key>` and errors as {"messageKey","message"}.
const API_KEY = 'acme-api-key-0042';
const errorBody = z.object({ messageKey: z.string(), message: z.string() });

function acmeError(answer: FailedAnswer): PlatformError {
  let code = codeForStatus(answer.status);
  let body: z.output<typeof errorBody> | undefined;
  try {
    body = errorBody.parse(JSON.parse(answer.text));
  } catch {
    return statusError(answer, '', code);
  }
  if (body.messageKey === 'error.missing' && code === 'PROTOCOL') code = 'NOT_FOUND';
  return statusError(answer, ` ${answer.sanitize(body.messageKey)} (${answer.sanitize(body.message)})`, code);
}

interface Seen {
  method?: string;
  url?: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

describe('PlatformHttp against a local server', () => {
  const seen: Seen[] = [];
  let fail503 = 0;
  let server: http.Server;
  let other: http.Server;
  let baseUrl: string;
  let otherOrigin: string;
  const clients: PlatformHttp[] = [];

  const client = (overrides: Partial<PlatformHttpOptions> = {}): PlatformHttp => {
    const created = new PlatformHttp({
      label: 'Acme',
      baseUrl,
      userAgent: 'archiver-test',
      connectTimeoutMs: 1_000,
      responseTimeoutMs: 2_000,
      idleTimeoutMs: 1_000,
      retryBaseDelayMs: 5,
      retryMaxDelayMs: 20,
      random: () => 0.5,
      toError: acmeError,
      ...overrides,
    });
    clients.push(created);
    return created;
  };
  const auth = { Authorization: `Basic ${API_KEY}` };

  before(async () => {
    server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        seen.push({
          method: request.method,
          url: request.url,
          headers: request.headers,
          body: Buffer.concat(chunks).toString(),
        });
        const json = (status: number, value: unknown): void => {
          response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(value));
        };
        switch (request.url) {
          case '/api/things/1':
            json(200, { id: '1', name: 'first' });
            return;
          case '/api/flaky':
            if (fail503-- > 0) json(503, { messageKey: 'error.busy', message: 'try later' });
            else json(200, { id: 'flaky', name: 'recovered' });
            return;
          case '/api/missing':
            json(400, { messageKey: 'error.missing', message: `no such thing for ${API_KEY}` });
            return;
          case '/api/moved':
            response.writeHead(302, { Location: `${otherOrigin}/stolen` }).end();
            return;
          case '/api/moved-file':
            response.writeHead(302, { Location: `${otherOrigin}/file?sig=short-lived-secret` }).end();
            return;
          case '/api/moved-twice':
            response.writeHead(307, { Location: `${otherOrigin}/again` }).end();
            return;
          case '/api/moved-expired':
            response.writeHead(302, { Location: `${otherOrigin}/expired?sig=short-lived-secret` }).end();
            return;
          case '/api/moved-ftp':
            response.writeHead(302, { Location: 'ftp://127.0.0.1/file' }).end();
            return;
          case '/api/delete-refused':
            json(200, { messageKey: 'error.not_deleted', message: 'automated deletion is off' });
            return;
          case '/api/huge':
            json(200, { id: 'x'.repeat(5_000), name: 'huge' });
            return;
          case '/api/slow':
            setTimeout(() => json(200, { id: 'slow', name: 'late' }), 1_000);
            return;
          case '/api/file':
            response.writeHead(200, {
              'Content-Type': 'application/pdf',
              'Content-Length': '6',
              'Content-Disposition': 'attachment; filename="a.pdf"',
            });
            response.end('%PDF-1');
            return;
          case '/api/stall':
            response.writeHead(200, { 'Content-Type': 'application/pdf', 'Content-Length': '100' });
            response.write('%PDF-');
            return;
          case undefined:
          default:
            json(404, { messageKey: 'error.route', message: 'no route' });
        }
      });
    });
    other = http.createServer((request, response) => {
      seen.push({ method: request.method, url: `other:${request.url}`, headers: request.headers, body: '' });
      if (request.url?.startsWith('/file?')) {
        // A short-lived location: it refuses any credentials meant for the platform.
        if (request.headers.authorization) response.writeHead(403).end();
        else
          response
            .writeHead(200, { 'Content-Type': 'application/pdf', 'Content-Length': '7' })
            .end('%PDF-2x');
      } else if (request.url === '/again') {
        response.writeHead(302, { Location: `${otherOrigin}/file?sig=x` }).end();
      } else if (request.url?.startsWith('/expired')) {
        response.writeHead(403).end('link expired: short-lived-secret');
      } else {
        response.writeHead(200, { 'Content-Type': 'application/json' }).end('{"id":"o","name":"other"}');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
    otherOrigin = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  });

  beforeEach(() => {
    seen.length = 0;
    fail503 = 0;
  });

  after(async () => {
    for (const c of clients) c.close();
    server.closeAllConnections();
    other.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => other.close(() => resolve()));
  });

  const thing = z.object({ id: z.string(), name: z.string() });

  it('sends the platform headers and a JSON body, and validates the answer', async () => {
    const result = await client().json(
      {
        operation: 'POST /things/1',
        method: 'POST',
        url: 'things/1',
        headers: auth,
        body: { json: { q: 'x' } },
        idempotent: false,
      },
      thing,
    );
    assert.deepEqual(result, { id: '1', name: 'first' });
    const [request] = seen;
    assert.equal(request.headers.authorization, `Basic ${API_KEY}`);
    assert.equal(request.headers['user-agent'], 'archiver-test');
    assert.equal(request.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(request.body, '{"q":"x"}');
  });

  it("hands error answers to the platform's toError, with its secrets scrubbed", async () => {
    await assert.rejects(
      client().json(
        {
          operation: 'GET /missing',
          method: 'GET',
          url: 'missing',
          headers: auth,
          idempotent: true,
          secrets: [API_KEY],
        },
        thing,
      ),
      (e: unknown) => {
        assert.ok(e instanceof PlatformError);
        assert.equal(e.code, 'NOT_FOUND');
        assert.equal(e.status, 400);
        assert.equal(e.message, 'Acme GET /missing: HTTP 400 error.missing (no such thing for [redacted])');
        return true;
      },
    );
    assert.equal(seen.length, 1, 'a NOT_FOUND is not retried');
  });

  it('retries idempotent calls on 503 and reports each retry; other calls are tried once', async () => {
    fail503 = 2;
    const events: PlatformRetryEvent[] = [];
    const result = await client({ onRetry: (event) => events.push(event) }).json(
      { operation: 'GET /flaky', method: 'GET', url: 'flaky', idempotent: true },
      thing,
    );
    assert.equal(result.name, 'recovered');
    assert.deepEqual(
      events.map((e) => [e.operation, e.retry, e.error.code]),
      [
        ['GET /flaky', 1, 'TRANSIENT'],
        ['GET /flaky', 2, 'TRANSIENT'],
      ],
    );
    fail503 = 1;
    seen.length = 0;
    await assert.rejects(
      client().noContent({ operation: 'POST /flaky', method: 'POST', url: 'flaky', idempotent: false }),
      /Acme POST \/flaky: HTTP 503 error\.busy \(try later\)/,
    );
    assert.equal(seen.length, 1);
  });

  it('calls absolute URLs only on allowed origins, and follows no redirect', async () => {
    const absolute = new URL(`${otherOrigin}/token`);
    const request = { operation: 'POST /token', method: 'POST' as const, url: absolute, idempotent: false };
    await assert.rejects(client().json(request, thing), /Acme POST \/token: refusing to call http:\/\/127/);
    assert.equal(seen.length, 0);
    const allowed = await client({ extraOrigins: [otherOrigin] }).json(
      { ...request, body: { form: new URLSearchParams({ grant_type: 'x' }) } },
      thing,
    );
    assert.equal(allowed.name, 'other');

    seen.length = 0;
    await assert.rejects(
      client().json({ operation: 'GET /moved', method: 'GET', url: 'moved', idempotent: true }, thing),
      /Acme GET \/moved: redirect \(HTTP 302 to http:\/\/127\.0\.0\.1:\d+\) refused/,
    );
    assert.deepEqual(
      seen.map((s) => s.url),
      ['/api/moved'],
    );
  });

  it('follows one download redirect when asked, to another host, without the credentials', async () => {
    const download = (url: string, maxRetries = 0) =>
      client({ maxRetries }).download({
        operation: `GET /${url}`,
        method: 'GET',
        url,
        headers: auth,
        idempotent: true,
        secrets: [API_KEY],
        followRedirect: 'once-without-credentials',
      });
    const followed = await download('moved-file');
    const chunks: Buffer[] = [];
    for await (const chunk of followed.stream as AsyncIterable<Buffer>) chunks.push(chunk);
    assert.equal(Buffer.concat(chunks).toString(), '%PDF-2x');
    assert.deepEqual(
      seen.map((s) => [s.url, s.headers.authorization]),
      [
        ['/api/moved-file', `Basic ${API_KEY}`],
        ['other:/file?sig=short-lived-secret', undefined],
      ],
    );

    await assert.rejects(download('moved-twice'), (e: unknown) => {
      assert.ok(e instanceof PlatformError);
      assert.equal(e.code, 'PROTOCOL');
      assert.match(e.message, /GET \/moved-twice \(redirected\): a second redirect \(HTTP 302\) refused/);
      return true;
    });
    // An expired location is asked for again; its credentials never appear in the error.
    seen.length = 0;
    await assert.rejects(download('moved-expired', 1), (e: unknown) => {
      assert.ok(e instanceof PlatformError);
      assert.equal(e.code, 'TRANSIENT');
      assert.doesNotMatch(e.message, /short-lived-secret/);
      return true;
    });
    assert.equal(seen.filter((s) => s.url === '/api/moved-expired').length, 2);
    await assert.rejects(download('moved-ftp'), /refusing a ftp: location/);
    // Without the option, the same answer is a refused redirect.
    await assert.rejects(
      client().download({ operation: 'GET /moved-file', method: 'GET', url: 'moved-file', idempotent: true }),
      /redirect \(HTTP 302 to http:\/\/127\.0\.0\.1:\d+\) refused/,
    );
  });

  it('takes only the listed 2xx statuses as success when a request lists them', async () => {
    const request = {
      operation: 'DELETE /delete-refused',
      method: 'DELETE' as const,
      url: 'delete-refused',
      idempotent: true,
    };
    await client().noContent(request);
    await assert.rejects(client().noContent({ ...request, successStatuses: [204] }), (e: unknown) => {
      assert.ok(e instanceof PlatformError);
      assert.equal(e.status, 200);
      assert.equal(e.code, 'PROTOCOL');
      assert.match(e.message, /HTTP 200 error\.not_deleted \(automated deletion is off\)/);
      return true;
    });
  });

  it('refuses a JSON answer over the size limit, and one later than the response deadline', async () => {
    await assert.rejects(
      client({ maxJsonBytes: 1_000 }).json(
        { operation: 'GET /huge', method: 'GET', url: 'huge', idempotent: true },
        thing,
      ),
      (e: unknown) =>
        e instanceof PlatformError &&
        e.code === 'PROTOCOL' &&
        /response larger than 1000 bytes/.test(e.message),
    );
    await assert.rejects(
      client({ responseTimeoutMs: 100, maxRetries: 0 }).json(
        { operation: 'GET /slow', method: 'GET', url: 'slow', idempotent: true },
        thing,
      ),
      (e: unknown) =>
        e instanceof PlatformError &&
        e.code === 'TRANSIENT' &&
        e.message === 'Acme GET /slow: no complete response within 100 ms',
    );
  });

  it('streams a download with its length and file name, and fails a stalled one', async () => {
    const download = await client().download({
      operation: 'GET /file',
      method: 'GET',
      url: 'file',
      idempotent: true,
    });
    assert.equal(download.contentLength, 6);
    assert.equal(download.fileName, 'a.pdf');
    assert.equal(download.contentType, 'application/pdf');
    const chunks: Buffer[] = [];
    for await (const chunk of download.stream as AsyncIterable<Buffer>) chunks.push(chunk);
    assert.equal(Buffer.concat(chunks).toString(), '%PDF-1');

    const stalled = await client({ idleTimeoutMs: 100 }).download({
      operation: 'GET /stall',
      method: 'GET',
      url: 'stall',
      idempotent: true,
    });
    await assert.rejects(
      (async () => {
        for await (const _chunk of stalled.stream as AsyncIterable<Buffer>) void _chunk;
      })(),
      (e: unknown) =>
        e instanceof PlatformError &&
        e.code === 'TRANSIENT' &&
        e.message === 'Acme GET /stall: no data for 100 ms after 5 bytes',
    );
  });
});
