import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import type { Readable } from 'node:stream';
import type { z } from 'zod';
import type { CallBudget } from '../call-budget';
import { PlatformError } from '../platform-error';
import { CheckedDownloadStream } from './checked-download.stream';
import { ConnectTimeoutHttpAgent, ConnectTimeoutHttpsAgent } from './connect-timeout.agent';
import {
  describeSchemaError,
  downloadError,
  networkCause,
  networkError,
  sanitizeServerText,
  statusError,
  type AnswerToError,
  type FailedAnswer,
} from './error-translation';
import { BodyTooLargeError, decodeContent, readBody } from './response-body';
import { parseContentDispositionFileName, parseContentLength } from './response-headers';
import { backoffDelayMs, sleep } from './retry.policy';

const ERROR_BODY_LIMIT = 64 * 1024;

export interface PlatformRetryEvent {
  operation: string;
  /** 1 for the first retry. */
  retry: number;
  delayMs: number;
  error: PlatformError;
}

export interface PlatformHttpOptions {
  /** The platform's name, the first word of every error message (`<label> GET /v1/...: HTTP 503`). */
  label: string;
  /** Request paths are resolved under it, and its origin is allowed. No query, fragment or credentials. */
  baseUrl: string | URL;
  /** Further origins (or URLs on them) that absolute request URLs may point at, such as a token endpoint. */
  extraOrigins?: readonly string[];
  userAgent: string;
  /** DNS + TCP (+ TLS) connect. Default 5 s. */
  connectTimeoutMs?: number;
  /** From sending the request to the response headers; for JSON calls, to the end of the body. Default 30 s. */
  responseTimeoutMs?: number;
  /** Longest silence while streaming a download, counted only while the consumer wants data. Default 30 s. */
  idleTimeoutMs?: number;
  /** Retries of idempotent calls on TRANSIENT and RATE_LIMITED. Default 3. */
  maxRetries?: number;
  /** Default 500 ms. */
  retryBaseDelayMs?: number;
  /** Default 30 s. */
  retryMaxDelayMs?: number;
  /** A Retry-After longer than this is not waited for in-process: the error goes to the caller. Default 60 s. */
  maxRetryAfterMs?: number;
  /** Largest JSON response accepted. Default 32 MiB. */
  maxJsonBytes?: number;
  /** How a non-2xx answer becomes an error, unless a request brings its own. Default: by status alone. */
  toError?: AnswerToError;
  /** Randomness for backoff jitter, injectable for tests. */
  random?: () => number;
  /** Called before each retry wait, for logs and metrics. */
  onRetry?: (event: PlatformRetryEvent) => void;
  /** The account's shared budget of API calls: each request to an allowed origin waits for a permit. */
  budget?: CallBudget;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface PlatformRequest {
  /** Human label for messages: method and path with ids, never a token. */
  operation: string;
  method: HttpMethod;
  /** A path under the base URL (already encoded), or an absolute URL, which must be on an allowed origin. */
  url: string | URL;
  /** Authentication and other headers. Their values are not scrubbed from server text: list them in `secrets`. */
  headers?: Record<string, string>;
  body?: { json: unknown } | { form: URLSearchParams };
  /** Default `application/json`, and `*\/*` for downloads. */
  accept?: string;
  /** Only idempotent calls are retried: one that would act twice must say false. */
  idempotent: boolean;
  /** Values to scrub from any text the server sends back (tokens, secrets, codes). */
  secrets?: readonly string[];
  /** Aborts the call, including a pending retry wait; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** How a non-2xx answer to this request becomes an error, in place of the client's `toError`. */
  toError?: AnswerToError;
  /**
   * Downloads only: a redirect (301, 302, 303, 307, 308 with a Location) is followed once, to any
   * origin, WITHOUT this request's headers (no credentials reach the other host). The location must be
   * https, or http when the API itself is; a second redirect is refused. Default: redirects are refused.
   */
  followRedirect?: 'once-without-credentials';
  /**
   * `noContent` only: the 2xx statuses that mean success, where a platform answers another 2xx for a
   * failure (Legalesign's permanent delete: 204 done, 200 not done). Another one goes to `toError`.
   */
  successStatuses?: readonly number[];
}

export interface PlatformDownload {
  /**
   * The body, streamed. A failure after the body started (reset, fewer bytes than Content-Length,
   * no byte for longer than the idle timeout) is emitted as a `PlatformError`. Destroy it to abandon it.
   */
  stream: Readable;
  contentType?: string;
  contentLength?: number;
  /** From Content-Disposition, unsanitized: never use it as a path or key as is. */
  fileName?: string;
}

/** One request up to its response headers, with the deadline and abort wiring still attached. */
interface Exchange {
  status: number;
  headers: Record<string, string | undefined>;
  body: Readable;
  /** Clears the response deadline. */
  finishDeadline(): void;
  /** Turns a failure while reading the body into a PlatformError (or the caller's abort reason). */
  translate: (error: unknown) => unknown;
  release(): void;
}

/**
 * The HTTP exchange with one platform's API, the same for every platform: requests go only to allowed
 * origins and never follow redirects; a connect timeout, a response deadline and, for downloads, an idle
 * timeout bound every call; idempotent calls are retried with backoff, within a Retry-After cap; JSON
 * bodies are size-limited and validated. Every failure is a `PlatformError` whose message starts with
 * the platform's label and never holds a listed secret, and whose `cause` is never an axios error (those
 * carry the request headers, credentials included). What a platform's error bodies mean is its own
 * `toError`.
 */
export class PlatformHttp {
  private readonly http: AxiosInstance;
  private readonly httpAgent: ConnectTimeoutHttpAgent;
  private readonly httpsAgent: ConnectTimeoutHttpsAgent;
  private readonly label: string;
  private readonly baseHref: string;
  private readonly allowedOrigins: Set<string>;
  private readonly responseTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly maxRetries: number;
  private readonly retryBaseDelayMs: number;
  private readonly retryMaxDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly maxJsonBytes: number;
  private readonly toError: AnswerToError;
  private readonly random: () => number;
  private readonly onRetry?: (event: PlatformRetryEvent) => void;
  private readonly budget?: CallBudget;

  constructor(options: PlatformHttpOptions) {
    this.label = options.label;
    const baseUrl = parseBaseUrl(String(options.baseUrl));
    this.baseHref = baseUrl.href.replace(/\/+$/, '') + '/';
    this.allowedOrigins = new Set([
      baseUrl.origin,
      ...(options.extraOrigins ?? []).map((origin) => parseHttpUrl(origin, 'extraOrigins').origin),
    ]);
    const connectTimeoutMs = positive(options.connectTimeoutMs ?? 5_000, 'connectTimeoutMs');
    this.responseTimeoutMs = positive(options.responseTimeoutMs ?? 30_000, 'responseTimeoutMs');
    this.idleTimeoutMs = positive(options.idleTimeoutMs ?? 30_000, 'idleTimeoutMs');
    this.maxRetries = nonNegativeInt(options.maxRetries ?? 3, 'maxRetries');
    this.retryBaseDelayMs = positive(options.retryBaseDelayMs ?? 500, 'retryBaseDelayMs');
    this.retryMaxDelayMs = positive(options.retryMaxDelayMs ?? 30_000, 'retryMaxDelayMs');
    this.maxRetryAfterMs = nonNegativeInt(options.maxRetryAfterMs ?? 60_000, 'maxRetryAfterMs');
    this.maxJsonBytes = positive(options.maxJsonBytes ?? 32 * 1024 * 1024, 'maxJsonBytes');
    this.toError = options.toError ?? statusOnlyError;
    this.random = options.random ?? Math.random;
    this.onRetry = options.onRetry;
    this.budget = options.budget;

    // Idle pooled sockets are closed after 4 s, before common server keep-alive timeouts (Node: 5 s),
    // so a request rarely lands on a socket the server is closing.
    const agentOptions = { keepAlive: true, maxSockets: 32, maxFreeSockets: 8, timeout: 4_000 };
    this.httpAgent = new ConnectTimeoutHttpAgent(connectTimeoutMs, agentOptions);
    this.httpsAgent = new ConnectTimeoutHttpsAgent(connectTimeoutMs, agentOptions);
    this.http = axios.create({
      baseURL: this.baseHref,
      allowAbsoluteUrls: false,
      maxRedirects: 0,
      proxy: false,
      decompress: false,
      responseType: 'stream',
      validateStatus: () => true,
      transformResponse: [(data: unknown) => data],
      maxContentLength: -1,
      maxBodyLength: 1024 * 1024,
      httpAgent: this.httpAgent,
      httpsAgent: this.httpsAgent,
      headers: { 'User-Agent': options.userAgent },
    });
  }

  /** Closes pooled connections. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /** A 2xx answer's JSON body, validated against `schema`. */
  async json<S extends z.ZodType>(request: PlatformRequest, schema: S): Promise<z.output<S>> {
    return this.withRetries(request, async () => {
      const exchange = await this.open(request, 'application/json', 'body');
      try {
        if (exchange.status < 200 || exchange.status >= 300) {
          throw await this.answerError(request, exchange);
        }
        return await this.parseJsonBody(request.operation, exchange, schema);
      } finally {
        exchange.release();
      }
    });
  }

  /** A call whose 2xx answer carries nothing we need. */
  async noContent(request: PlatformRequest): Promise<void> {
    await this.withRetries(request, async () => {
      const exchange = await this.open(request, 'application/json', 'body');
      try {
        const success = request.successStatuses
          ? request.successStatuses.includes(exchange.status)
          : exchange.status >= 200 && exchange.status < 300;
        if (!success) {
          throw await this.answerError(request, exchange);
        }
        // The body (if any) is not needed; reading it keeps the connection reusable.
        await readBody(exchange.body, ERROR_BODY_LIMIT).catch(() => undefined);
      } finally {
        exchange.release();
      }
    });
  }

  /**
   * A 200 answer's body, streamed as sent (no Content-Encoding) and checked against its Content-Length.
   * Retried (when the request is idempotent) only until the response headers arrive; once the stream is
   * handed out, a failure is an error on the stream.
   */
  async download(request: PlatformRequest): Promise<PlatformDownload> {
    const { operation } = request;
    return this.withRetries(request, async () => {
      let exchange = await this.open(request, '*/*', 'headers');
      try {
        if (request.followRedirect && REDIRECT_STATUSES.has(exchange.status)) {
          const redirected = this.redirectRequest(request, exchange);
          exchange.release();
          exchange = await this.open(redirected, '*/*', 'headers', true);
          if (exchange.status !== 200) {
            throw await this.answerError({ ...redirected, toError: redirectedAnswerError }, exchange);
          }
        }
        if (exchange.status !== 200) {
          throw await this.answerError(request, exchange);
        }
        const encoding = exchange.headers['content-encoding']?.trim().toLowerCase();
        if (encoding && encoding !== 'identity') {
          // The bytes we store must be the platform's file, and Content-Length must count them.
          throw new PlatformError(
            `${this.label} ${operation}: unexpected Content-Encoding ${JSON.stringify(encoding)}`,
            'PROTOCOL',
          );
        }
        const contentLength = parseContentLength(exchange.headers['content-length']);
        if (contentLength === null) {
          throw new PlatformError(`${this.label} ${operation}: invalid Content-Length header`, 'PROTOCOL');
        }
        exchange.finishDeadline();
        const stream = new CheckedDownloadStream(exchange.body, {
          idleTimeoutMs: this.idleTimeoutMs,
          ...(contentLength !== undefined && { expectedLength: contentLength }),
          toError: (failure) => downloadError(this.label, operation, failure, exchange.translate),
        });
        stream.once('close', () => exchange.release());
        const download: PlatformDownload = { stream };
        const contentType = exchange.headers['content-type'];
        if (contentType) download.contentType = contentType;
        if (contentLength !== undefined) download.contentLength = contentLength;
        const fileName = parseContentDispositionFileName(exchange.headers['content-disposition']);
        if (fileName !== undefined) download.fileName = fileName;
        return download;
      } catch (error) {
        exchange.release();
        throw error;
      }
    });
  }

  /**
   * The request for where a download redirects: a GET without the first request's headers. Its URL is
   * never quoted in errors (short-lived locations carry their own credentials in the query).
   */
  private redirectRequest(request: PlatformRequest, exchange: Exchange): PlatformRequest {
    const operation = `${request.operation} (redirected)`;
    const refuse = (why: string): PlatformError =>
      new PlatformError(`${this.label} ${operation}: ${why}`, 'PROTOCOL', { status: exchange.status });
    const location = exchange.headers.location;
    if (!location) throw refuse(`HTTP ${exchange.status} without a Location`);
    const from = request.url instanceof URL ? request.url : new URL(request.url, this.baseHref);
    let target: URL;
    try {
      target = new URL(location, from);
    } catch {
      throw refuse('the Location is not a URL');
    }
    const protocols = from.protocol === 'https:' ? ['https:'] : ['https:', 'http:'];
    if (!protocols.includes(target.protocol)) throw refuse(`refusing a ${target.protocol} location`);
    if (target.username || target.password) throw refuse('refusing a location with credentials');
    return {
      operation,
      method: 'GET',
      url: target,
      ...(request.accept !== undefined && { accept: request.accept }),
      idempotent: true,
      secrets: [...(request.secrets ?? []), target.search],
      ...(request.signal && { signal: request.signal }),
    };
  }

  private async withRetries<T>(request: PlatformRequest, attempt: () => Promise<T>): Promise<T> {
    for (let retry = 0; ; retry++) {
      try {
        return await attempt();
      } catch (error) {
        if (
          !(error instanceof PlatformError) ||
          !request.idempotent ||
          !error.retryable ||
          retry >= this.maxRetries
        ) {
          throw error;
        }
        // Throttled: every process sharing the account's budget pauses, not only this call.
        if (error.code === 'RATE_LIMITED')
          await this.budget?.throttled(error.retryAfterMs).catch(() => undefined);
        // A server asking for a longer pause than we block for gets it: the caller reschedules.
        if (error.retryAfterMs !== undefined && error.retryAfterMs > this.maxRetryAfterMs) throw error;
        const backoff = backoffDelayMs(retry, {
          baseDelayMs: this.retryBaseDelayMs,
          maxDelayMs: this.retryMaxDelayMs,
          random: this.random,
        });
        const delayMs = Math.max(backoff, error.retryAfterMs ?? 0);
        this.onRetry?.({ operation: request.operation, retry: retry + 1, delayMs, error });
        await sleep(delayMs, request.signal);
      }
    }
  }

  /**
   * One HTTP exchange up to the response headers, with the response deadline and abort wiring. The
   * deadline covers the headers only, or (for JSON) the body too, until the exchange is released.
   */
  private async open(
    request: PlatformRequest,
    defaultAccept: string,
    deadlineCovers: 'headers' | 'body',
    /** A redirect the platform gave for a download: any origin, checked by `redirectRequest`. */
    anyOrigin = false,
  ): Promise<Exchange> {
    const { operation, signal } = request;
    signal?.throwIfAborted();
    const absolute = request.url instanceof URL;
    const target =
      request.url instanceof URL ? new URL(request.url.href) : new URL(request.url, this.baseHref);
    if (!anyOrigin && !this.allowedOrigins.has(target.origin)) {
      throw new PlatformError(`${this.label} ${operation}: refusing to call ${target.origin}`, 'PROTOCOL');
    }
    // A redirect's location is not the platform's API: it costs no call of the budget.
    if (!anyOrigin && this.budget) {
      await this.budget.acquire(signal).catch((error: unknown) => {
        if (signal?.aborted) throw signal.reason;
        throw new PlatformError(`${this.label} ${operation}: the call budget is out of reach`, 'TRANSIENT', {
          cause: error,
        });
      });
    }

    const controller = new AbortController();
    let deadlinePassed = false;
    const deadline = setTimeout(() => {
      deadlinePassed = true;
      controller.abort();
    }, this.responseTimeoutMs);
    const onCallerAbort = (): void => controller.abort();
    signal?.addEventListener('abort', onCallerAbort, { once: true });

    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      clearTimeout(deadline);
      signal?.removeEventListener('abort', onCallerAbort);
    };
    const translate = (error: unknown): unknown => {
      if (error instanceof PlatformError) return error;
      if (signal?.aborted) return signal.reason;
      if (deadlinePassed) {
        const phase = deadlineCovers === 'body' ? 'complete response' : 'response headers';
        return new PlatformError(
          `${this.label} ${operation}: no ${phase} within ${this.responseTimeoutMs} ms`,
          'TRANSIENT',
          { cause: networkCause(error) },
        );
      }
      return networkError(this.label, operation, error);
    };

    const headers: Record<string, string> = {
      Accept: request.accept ?? defaultAccept,
      'Accept-Encoding': 'identity',
      ...request.headers,
    };
    const body = request.body && encodeBody(request.body);
    if (body) headers['Content-Type'] = body.contentType;

    let response: AxiosResponse<Readable>;
    try {
      response = await this.http.request<Readable>({
        method: request.method,
        url: absolute ? target.href : String(request.url),
        ...(absolute && { baseURL: '' }),
        headers,
        data: body?.text,
        signal: controller.signal,
      });
    } catch (error) {
      release();
      throw translate(error);
    }

    const responseBody = response.data;
    const responseHeaders: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value === undefined || value === null) continue;
      responseHeaders[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    if (deadlineCovers === 'headers') clearTimeout(deadline);
    return {
      status: response.status,
      headers: responseHeaders,
      body: responseBody,
      finishDeadline: () => clearTimeout(deadline),
      translate,
      release: () => {
        release();
        if (!responseBody.readableEnded && !responseBody.destroyed) responseBody.destroy();
      },
    };
  }

  /** Reads the body of a non-2xx answer and hands it to the platform's `toError`. */
  private async answerError(request: PlatformRequest, exchange: Exchange): Promise<PlatformError> {
    const secrets = request.secrets ?? [];
    let text: string;
    try {
      const raw = await readBody(exchange.body, ERROR_BODY_LIMIT);
      text = decodeContent(raw, exchange.headers['content-encoding']).toString('utf8');
    } catch {
      text = '';
    }
    return (request.toError ?? this.toError)({
      label: this.label,
      operation: request.operation,
      status: exchange.status,
      headers: exchange.headers,
      text,
      sanitize: (value) => sanitizeServerText(value, secrets),
    });
  }

  private async parseJsonBody<S extends z.ZodType>(
    operation: string,
    exchange: Exchange,
    schema: S,
  ): Promise<z.output<S>> {
    const contentType = exchange.headers['content-type'];
    if (contentType !== undefined && !/[/+]json\b/i.test(contentType)) {
      throw new PlatformError(
        `${this.label} ${operation}: expected JSON but got ${JSON.stringify(contentType.slice(0, 80))}`,
        'PROTOCOL',
        { status: exchange.status },
      );
    }
    let raw: Buffer;
    try {
      raw = await readBody(exchange.body, this.maxJsonBytes);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        throw new PlatformError(
          `${this.label} ${operation}: response larger than ${this.maxJsonBytes} bytes`,
          'PROTOCOL',
          { status: exchange.status },
        );
      }
      throw exchange.translate(error);
    }
    let text: string;
    try {
      text = decodeContent(raw, exchange.headers['content-encoding'])
        .toString('utf8')
        .replace(/^\uFEFF/, '');
    } catch (cause) {
      throw new PlatformError(`${this.label} ${operation}: undecodable response body`, 'PROTOCOL', {
        cause,
        status: exchange.status,
      });
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // The SyntaxError is not kept: V8 quotes the body in its message, and a body can hold a token.
      throw new PlatformError(`${this.label} ${operation}: response is not valid JSON`, 'PROTOCOL', {
        status: exchange.status,
      });
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      throw new PlatformError(
        `${this.label} ${operation}: unexpected response shape: ${describeSchemaError(parsed.error)}`,
        'PROTOCOL',
        { cause: parsed.error, status: exchange.status },
      );
    }
    return parsed.data;
  }
}

/** An http(s) URL, or a RangeError naming the option. */
export function parseHttpUrl(value: string, name: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new RangeError(`${name} must be an absolute URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RangeError(`${name} must be http(s)`);
  return url;
}

/** A platform's API base URL: http(s), without query, fragment or credentials. */
export function parseBaseUrl(value: string): URL {
  const url = parseHttpUrl(value, 'baseUrl');
  if (url.search || url.hash || url.username || url.password) {
    throw new RangeError('baseUrl must not carry a query, fragment or credentials');
  }
  return url;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Where a download was redirected to answered other than 200: short-lived locations expire and then
 * refuse (403, 404, 410), which asking the platform again cures; so only a further redirect is a
 * protocol error and every other answer is transient.
 */
function redirectedAnswerError(answer: FailedAnswer): PlatformError {
  if (answer.status >= 300 && answer.status < 400) {
    return new PlatformError(
      `${answer.label} ${answer.operation}: a second redirect (HTTP ${answer.status}) refused`,
      'PROTOCOL',
      { status: answer.status },
    );
  }
  return statusError(answer, '', answer.status === 429 ? 'RATE_LIMITED' : 'TRANSIENT');
}

/** The default `toError`: the status decides, and a body is only counted (it may reflect request data). */
function statusOnlyError(answer: FailedAnswer): PlatformError {
  return statusError(answer, answer.text ? ` (${answer.text.length} byte body)` : '');
}

function encodeBody(body: NonNullable<PlatformRequest['body']>): { contentType: string; text: string } {
  if ('form' in body) {
    return { contentType: 'application/x-www-form-urlencoded', text: body.form.toString() };
  }
  return { contentType: 'application/json; charset=utf-8', text: JSON.stringify(body.json) };
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number`);
  return value;
}

function nonNegativeInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer`);
  return value;
}
