import type { OnModuleDestroy } from '@nestjs/common';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { parse as parseContentDisposition } from 'content-disposition';
import type { Readable } from 'node:stream';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { z } from 'zod';
import type { AppConfig } from '../../config/app-config';
import { ConnectTimeoutHttpAgent, ConnectTimeoutHttpsAgent } from '../http/connect-timeout.agent';
import { CheckedDownloadStream, type DownloadFailure } from '../http/checked-download.stream';
import { backoffDelayMs, parseRetryAfterMs, sleep } from '../http/retry.policy';
import { PlatformError, type PlatformErrorCode } from '../platform-error';
import { isPkceVerifier } from './esignanywhere.pkce';
import {
  FILE_ID_PATTERN,
  GUID_PATTERN,
  apiErrorBodySchema,
  configurationResponseSchema,
  describeSchemaError,
  draftSendResponseSchema,
  envelopeResponseSchema,
  filesResponseSchema,
  findResponseSchema,
  oauthErrorBodySchema,
  tokenResponseSchema,
  whoAmIResponseSchema,
} from './esignanywhere.schemas';
import {
  ESAW_FIND_STATUSES,
  type EsawAuthorizeUrlParams,
  type EsawCallOptions,
  type EsawCodeExchangeParams,
  type EsawEnvelope,
  type EsawEnvelopeConfiguration,
  type EsawEnvelopeFiles,
  type EsawEnvelopeFilter,
  type EsawFileDownload,
  type EsawFoundEnvelope,
  type EsawIdentity,
  type EsawSentDraft,
  type EsawTokenGrant,
} from './esignanywhere.types';

export interface EsignAnywhereOAuthOptions {
  clientId?: string;
  clientSecret?: string;
  /** Default: `<instance root>/Auth/Authorize`, the instance root being the base URL without `/Api`. */
  authorizeUrl?: string;
  /** Default: `<instance root>/ApiToken/Retrieve`. */
  tokenUrl?: string;
}

export interface EsawRetryEvent {
  operation: string;
  /** 1 for the first retry. */
  retry: number;
  delayMs: number;
  error: PlatformError;
}

export interface EsignAnywhereClientOptions {
  /** Like `https://demo.esignanywhere.net/Api`; every API call goes to this origin only. */
  baseUrl: string;
  /** Header carrying the user's token: `ApiToken: <t>` or `Authorization: Bearer <t>`. Default ApiToken. */
  authHeader?: 'ApiToken' | 'Bearer';
  /** DNS + TCP (+ TLS) connect. Default 5 s. */
  connectTimeoutMs?: number;
  /** From sending the request to the response headers; for JSON calls, to the end of the body. Default 30 s. */
  responseTimeoutMs?: number;
  /** Longest silence while streaming a file, counted only while the consumer wants data. Default 30 s. */
  idleTimeoutMs?: number;
  /** Retries of idempotent calls on TRANSIENT and RATE_LIMITED. Default 3. */
  maxRetries?: number;
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** A Retry-After longer than this is not waited for in-process: the error goes to the caller. Default 60 s. */
  maxRetryAfterMs?: number;
  /** Largest JSON response accepted. Default 32 MiB. */
  maxJsonBytes?: number;
  oauth?: EsignAnywhereOAuthOptions;
  userAgent?: string;
  /** Randomness for backoff jitter, injectable for tests. */
  random?: () => number;
  /** Called before each retry wait, for logs and metrics. */
  onRetry?: (event: EsawRetryEvent) => void;
}

/** Maps the validated application config onto client options. */
export function esignAnywhereOptionsFromConfig(config: AppConfig): EsignAnywhereClientOptions {
  return {
    baseUrl: config.ESAW_BASE_URL,
    authHeader: config.ESAW_AUTH_HEADER,
    connectTimeoutMs: config.ESAW_CONNECT_TIMEOUT_MS,
    responseTimeoutMs: config.ESAW_RESPONSE_TIMEOUT_MS,
    idleTimeoutMs: config.ESAW_IDLE_TIMEOUT_MS,
    maxRetries: config.ESAW_MAX_RETRIES,
    oauth: {
      clientId: config.ESAW_OAUTH_CLIENT_ID,
      clientSecret: config.ESAW_OAUTH_CLIENT_SECRET,
      authorizeUrl: config.ESAW_OAUTH_AUTHORIZE_URL,
      tokenUrl: config.ESAW_OAUTH_TOKEN_URL,
    },
  };
}

const ERROR_BODY_LIMIT = 64 * 1024;
const VERIFY_WINDOW_START = new Date('2000-01-01T00:00:00Z');
const VERIFY_WINDOW_END = new Date('2000-01-01T00:00:01Z');
const MAX_SERVER_TEXT = 200;
// Certificate problems do not heal by waiting: a person has to look.
const TLS_ERROR_CODE = /^(CERT_|ERR_TLS_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|ERR_SSL_)/;
// eSAW error ids (v6 error list): ERR0007 MissingEnvelope, ERR0008 MissingFile, ERR0010 NotAllowedForUser.
const NOT_FOUND_ERROR_IDS = new Set(['ERR0007', 'ERR0008']);
const FORBIDDEN_ERROR_IDS = new Set(['ERR0010']);

type HttpMethod = 'GET' | 'POST';

interface ExchangeSpec {
  /** Human label for messages: method and path with ids, never a token. */
  operation: string;
  method: HttpMethod;
  /** Path under the base URL (already encoded), or an absolute URL when `absolute`. */
  url: string;
  absolute?: boolean;
  token?: string;
  body?: { contentType: string; text: string };
  accept: string;
  /** JSON calls keep the response deadline until the body is read; downloads switch to the idle timer. */
  deadlineCovers: 'headers' | 'body';
  /** Values to scrub from any text the server sends back (tokens, secrets, codes). */
  secrets: string[];
  signal?: AbortSignal;
}

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
 * eSignAnyWhere REST API v6 client. Every call acts with the API token it is given (one per sender), so
 * nothing here holds a user's credentials. Errors are always `PlatformError`s whose messages never contain
 * tokens, the OAuth client secret or authorization codes; their `cause` is the underlying network or
 * schema error, never an axios error (those carry the request headers, token included).
 */
export class EsignAnywhereClient implements OnModuleDestroy {
  private readonly http: AxiosInstance;
  private readonly httpAgent: ConnectTimeoutHttpAgent;
  private readonly httpsAgent: ConnectTimeoutHttpsAgent;
  private readonly baseUrl: URL;
  private readonly allowedOrigins: Set<string>;
  private readonly authHeader: 'ApiToken' | 'Bearer';
  private readonly responseTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly maxRetries: number;
  private readonly retryBaseDelayMs: number;
  private readonly retryMaxDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly maxJsonBytes: number;
  private readonly authorizeUrl: URL;
  private readonly tokenUrl: URL;
  private readonly oauthClientId?: string;
  // A native private field: not shown when the client object is inspected or logged.
  readonly #oauthClientSecret?: string;
  private readonly random: () => number;
  private readonly onRetry?: (event: EsawRetryEvent) => void;

  constructor(options: EsignAnywhereClientOptions) {
    this.baseUrl = parseHttpUrl(options.baseUrl, 'baseUrl');
    if (this.baseUrl.search || this.baseUrl.hash || this.baseUrl.username || this.baseUrl.password) {
      throw new RangeError('baseUrl must not carry a query, fragment or credentials');
    }
    this.authHeader = options.authHeader ?? 'ApiToken';
    const connectTimeoutMs = positive(options.connectTimeoutMs ?? 5_000, 'connectTimeoutMs');
    this.responseTimeoutMs = positive(options.responseTimeoutMs ?? 30_000, 'responseTimeoutMs');
    this.idleTimeoutMs = positive(options.idleTimeoutMs ?? 30_000, 'idleTimeoutMs');
    this.maxRetries = nonNegativeInt(options.maxRetries ?? 3, 'maxRetries');
    this.retryBaseDelayMs = positive(options.retryBaseDelayMs ?? 500, 'retryBaseDelayMs');
    this.retryMaxDelayMs = positive(options.retryMaxDelayMs ?? 30_000, 'retryMaxDelayMs');
    this.maxRetryAfterMs = nonNegativeInt(options.maxRetryAfterMs ?? 60_000, 'maxRetryAfterMs');
    this.maxJsonBytes = positive(options.maxJsonBytes ?? 32 * 1024 * 1024, 'maxJsonBytes');
    this.random = options.random ?? Math.random;
    this.onRetry = options.onRetry;

    const root = instanceRoot(this.baseUrl);
    this.authorizeUrl = parseHttpUrl(
      options.oauth?.authorizeUrl ?? `${root}/Auth/Authorize`,
      'oauth.authorizeUrl',
    );
    this.tokenUrl = parseHttpUrl(options.oauth?.tokenUrl ?? `${root}/ApiToken/Retrieve`, 'oauth.tokenUrl');
    this.oauthClientId = options.oauth?.clientId;
    this.#oauthClientSecret = options.oauth?.clientSecret;
    this.allowedOrigins = new Set([this.baseUrl.origin, this.tokenUrl.origin]);

    // Idle pooled sockets are closed after 4 s, before common server keep-alive timeouts (Node: 5 s),
    // so a request rarely lands on a socket the server is closing.
    const agentOptions = { keepAlive: true, maxSockets: 32, maxFreeSockets: 8, timeout: 4_000 };
    this.httpAgent = new ConnectTimeoutHttpAgent(connectTimeoutMs, agentOptions);
    this.httpsAgent = new ConnectTimeoutHttpsAgent(connectTimeoutMs, agentOptions);
    this.http = axios.create({
      baseURL: this.baseUrl.href.replace(/\/+$/, '') + '/',
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
      headers: { 'User-Agent': options.userAgent ?? 'esign-archiver (eSignAnyWhere API v6 client)' },
    });
  }

  static fromConfig(config: AppConfig): EsignAnywhereClient {
    return new EsignAnywhereClient(esignAnywhereOptionsFromConfig(config));
  }

  /** Closes pooled connections. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  onModuleDestroy(): void {
    this.close();
  }

  /** `GET /v6/envelope/{id}`: status, sender and activities. */
  async getEnvelope(token: string, envelopeId: string, options: EsawCallOptions = {}): Promise<EsawEnvelope> {
    const id = guidArgument(envelopeId, 'envelope id');
    const operation = `GET /v6/envelope/${id}`;
    const envelope = await this.json(
      { operation, method: 'GET', url: `v6/envelope/${encodeURIComponent(id)}`, token, idempotent: true },
      envelopeResponseSchema,
      options,
    );
    if (envelope.id.toLowerCase() !== id.toLowerCase()) {
      throw new PlatformError(`eSignAnyWhere ${operation}: answered for another envelope`, 'PROTOCOL');
    }
    return envelope;
  }

  /** `GET /v6/envelope/{id}/configuration`: the envelope's `MetaData`. */
  async getConfiguration(
    token: string,
    envelopeId: string,
    options: EsawCallOptions = {},
  ): Promise<EsawEnvelopeConfiguration> {
    return this.getEnvelopePart(token, envelopeId, 'configuration', configurationResponseSchema, options);
  }

  /** `GET /v6/envelope/{id}/files`: signed documents with attachments, audit trail, legal documents. */
  async listFiles(
    token: string,
    envelopeId: string,
    options: EsawCallOptions = {},
  ): Promise<EsawEnvelopeFiles> {
    return this.getEnvelopePart(token, envelopeId, 'files', filesResponseSchema, options);
  }

  /** `GET /v6/envelope/{id}/{part}`, validated against `schema`. */
  private async getEnvelopePart<S extends z.ZodType>(
    token: string,
    envelopeId: string,
    part: 'configuration' | 'files',
    schema: S,
    options: EsawCallOptions,
  ) {
    const id = guidArgument(envelopeId, 'envelope id');
    return this.json(
      {
        operation: `GET /v6/envelope/${id}/${part}`,
        method: 'GET',
        url: `v6/envelope/${encodeURIComponent(id)}/${part}`,
        token,
        idempotent: true,
      },
      schema,
      options,
    );
  }

  /**
   * `GET /v6/file/{fileId}`, streamed. Retried (when idempotent failures allow) only until the response
   * headers arrive; once the stream is handed out, a failure is an error on the stream.
   */
  async openFile(token: string, fileId: string, options: EsawCallOptions = {}): Promise<EsawFileDownload> {
    const id = fileIdArgument(fileId);
    assertToken(token);
    const operation = `GET /v6/file/${id}`;
    return this.withRetries(operation, true, options.signal, async () => {
      const exchange = await this.open({
        operation,
        method: 'GET',
        url: `v6/file/${encodeURIComponent(id)}`,
        token,
        accept: '*/*',
        deadlineCovers: 'headers',
        secrets: [token],
        signal: options.signal,
      });
      try {
        if (exchange.status !== 200) {
          throw await this.statusError(operation, exchange, [token]);
        }
        const encoding = exchange.headers['content-encoding']?.trim().toLowerCase();
        if (encoding && encoding !== 'identity') {
          // The bytes we store must be the platform's file, and Content-Length must count them.
          throw new PlatformError(
            `eSignAnyWhere ${operation}: unexpected Content-Encoding ${JSON.stringify(encoding)}`,
            'PROTOCOL',
          );
        }
        const contentLength = parseContentLength(exchange.headers['content-length']);
        if (contentLength === null) {
          throw new PlatformError(`eSignAnyWhere ${operation}: invalid Content-Length header`, 'PROTOCOL');
        }
        exchange.finishDeadline();
        const stream = new CheckedDownloadStream(exchange.body, {
          idleTimeoutMs: this.idleTimeoutMs,
          ...(contentLength !== undefined && { expectedLength: contentLength }),
          toError: (failure) => downloadError(operation, failure, exchange.translate),
        });
        stream.once('close', () => exchange.release());
        const download: EsawFileDownload = { stream };
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
   * `POST /v6/envelope/delete`. Not retried: the caller decides when to try again. A NOT_FOUND answer
   * means there is nothing (left) to delete for this token.
   */
  async deleteEnvelope(token: string, envelopeId: string, options: EsawCallOptions = {}): Promise<void> {
    const id = guidArgument(envelopeId, 'envelope id');
    await this.noContent(
      {
        operation: `POST /v6/envelope/delete (${id})`,
        method: 'POST',
        url: 'v6/envelope/delete',
        token,
        jsonBody: { EnvelopeId: id },
        idempotent: false,
      },
      options,
    );
  }

  /** `POST /v6/envelope/find` with the sender's token: that sender's envelopes matching the filter. */
  async findEnvelopes(
    token: string,
    filter: EsawEnvelopeFilter = {},
    options: EsawCallOptions = {},
  ): Promise<EsawFoundEnvelope[]> {
    return this.json(
      {
        operation: 'POST /v6/envelope/find',
        method: 'POST',
        url: 'v6/envelope/find',
        token,
        jsonBody: findRequestBody(filter),
        idempotent: true,
      },
      findResponseSchema,
      options,
    );
  }

  /** `POST /v6/draft/send`: sends a draft; the envelope gets a new id. Not retried (it would send twice). */
  async sendDraft(token: string, draftId: string, options: EsawCallOptions = {}): Promise<EsawSentDraft> {
    const id = guidArgument(draftId, 'draft id');
    return this.json(
      {
        operation: `POST /v6/draft/send (${id})`,
        method: 'POST',
        url: 'v6/draft/send',
        token,
        jsonBody: { DraftId: id },
        idempotent: false,
      },
      draftSendResponseSchema,
      options,
    );
  }

  /**
   * Proves a token works with one cheap authenticated call: an `envelope/find` over one second in 2000,
   * which matches nothing. Throws UNAUTHORIZED when the platform refuses the token.
   */
  async verifyToken(token: string, options: EsawCallOptions = {}): Promise<void> {
    await this.findEnvelopes(token, { startDate: VERIFY_WINDOW_START, endDate: VERIFY_WINDOW_END }, options);
  }

  /** `GET /v6/authorization/whoami`: the user the token belongs to. UNAUTHORIZED when it is refused. */
  async whoAmI(token: string, options: EsawCallOptions = {}): Promise<EsawIdentity> {
    return this.json(
      {
        operation: 'GET /v6/authorization/whoami',
        method: 'GET',
        url: 'v6/authorization/whoami',
        token,
        idempotent: true,
      },
      whoAmIResponseSchema,
      options,
    );
  }

  /** The URL to send a browser to for the OAuth code grant (PKCE S256). */
  buildAuthorizeUrl(params: EsawAuthorizeUrlParams): string {
    const clientId = this.requireOAuthClientId();
    const redirectUri = parseHttpUrl(params.redirectUri, 'redirectUri').href;
    if (typeof params.state !== 'string' || params.state.length < 16 || params.state.length > 512) {
      throw new RangeError('state must be an unguessable value of 16 to 512 characters');
    }
    if (!/^[A-Za-z0-9_-]{43}$/.test(params.codeChallenge)) {
      throw new RangeError('codeChallenge must be an S256 PKCE challenge (43 base64url characters)');
    }
    const url = new URL(this.authorizeUrl.href);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', clientId);
    url.searchParams.set('redirect_uri', redirectUri);
    url.searchParams.set('state', params.state);
    url.searchParams.set('code_challenge', params.codeChallenge);
    url.searchParams.set('code_challenge_method', 'S256');
    return url.href;
  }

  /**
   * Exchanges an authorization code for the user's API token. Not retried: codes are single-use.
   * invalid_grant (code expired, reused, or not ours) is UNAUTHORIZED; a refused client or any other
   * OAuth error is PROTOCOL (configuration); 5xx and network failures are TRANSIENT.
   */
  async exchangeCode(params: EsawCodeExchangeParams, options: EsawCallOptions = {}): Promise<EsawTokenGrant> {
    const clientId = this.requireOAuthClientId();
    const clientSecret = this.#oauthClientSecret;
    if (!clientSecret) throw new RangeError('the OAuth client secret is not configured');
    if (typeof params.code !== 'string' || params.code.length === 0 || params.code.length > 2048) {
      throw new PlatformError(
        'eSignAnyWhere token exchange: the authorization code is empty or too long',
        'UNAUTHORIZED',
      );
    }
    if (!isPkceVerifier(params.codeVerifier)) {
      throw new RangeError('codeVerifier must be a PKCE code verifier');
    }
    const redirectUri = parseHttpUrl(params.redirectUri, 'redirectUri').href;
    const secrets = [clientSecret, params.code, params.codeVerifier];
    const operation = `POST ${this.tokenUrl.pathname}`;
    const form = new URLSearchParams({
      grant_type: 'authorization_code',
      code: params.code,
      redirect_uri: redirectUri,
      client_id: clientId,
      client_secret: clientSecret,
      code_verifier: params.codeVerifier,
    });
    const exchange = await this.open({
      operation,
      method: 'POST',
      url: this.tokenUrl.href,
      absolute: true,
      accept: 'application/json',
      body: { contentType: 'application/x-www-form-urlencoded', text: form.toString() },
      deadlineCovers: 'body',
      secrets,
      signal: options.signal,
    });
    try {
      if (exchange.status < 200 || exchange.status >= 300) {
        throw await this.oauthError(operation, exchange, secrets);
      }
      const grant = await this.parseJsonBody(operation, exchange, tokenResponseSchema);
      return { accessToken: grant.accessToken };
    } finally {
      exchange.release();
    }
  }

  // ---------------------------------------------------------------------------------------------------

  private requireOAuthClientId(): string {
    if (!this.oauthClientId) throw new RangeError('the OAuth client id is not configured');
    return this.oauthClientId;
  }

  private async json<S extends z.ZodType>(
    call: {
      operation: string;
      method: HttpMethod;
      url: string;
      token: string;
      jsonBody?: unknown;
      idempotent: boolean;
    },
    schema: S,
    options: EsawCallOptions,
  ): Promise<z.output<S>> {
    assertToken(call.token);
    return this.withRetries(call.operation, call.idempotent, options.signal, async () => {
      const exchange = await this.open(this.apiSpec(call, options.signal));
      try {
        if (exchange.status < 200 || exchange.status >= 300) {
          throw await this.statusError(call.operation, exchange, [call.token]);
        }
        return await this.parseJsonBody(call.operation, exchange, schema);
      } finally {
        exchange.release();
      }
    });
  }

  private async noContent(
    call: {
      operation: string;
      method: HttpMethod;
      url: string;
      token: string;
      jsonBody?: unknown;
      idempotent: boolean;
    },
    options: EsawCallOptions,
  ): Promise<void> {
    assertToken(call.token);
    await this.withRetries(call.operation, call.idempotent, options.signal, async () => {
      const exchange = await this.open(this.apiSpec(call, options.signal));
      try {
        if (exchange.status < 200 || exchange.status >= 300) {
          throw await this.statusError(call.operation, exchange, [call.token]);
        }
        // The body (if any) is not needed; reading it keeps the connection reusable.
        await readBody(exchange.body, ERROR_BODY_LIMIT).catch(() => undefined);
      } finally {
        exchange.release();
      }
    });
  }

  private apiSpec(
    call: { operation: string; method: HttpMethod; url: string; token: string; jsonBody?: unknown },
    signal: AbortSignal | undefined,
  ): ExchangeSpec {
    const spec: ExchangeSpec = {
      operation: call.operation,
      method: call.method,
      url: call.url,
      token: call.token,
      accept: 'application/json',
      deadlineCovers: 'body',
      secrets: [call.token],
      signal,
    };
    if (call.jsonBody !== undefined) {
      spec.body = { contentType: 'application/json; charset=utf-8', text: JSON.stringify(call.jsonBody) };
    }
    return spec;
  }

  private async withRetries<T>(
    operation: string,
    idempotent: boolean,
    signal: AbortSignal | undefined,
    attempt: () => Promise<T>,
  ): Promise<T> {
    for (let retry = 0; ; retry++) {
      try {
        return await attempt();
      } catch (error) {
        if (
          !(error instanceof PlatformError) ||
          !idempotent ||
          !error.retryable ||
          retry >= this.maxRetries
        ) {
          throw error;
        }
        // A server asking for a longer pause than we block for gets it: the caller reschedules.
        if (error.retryAfterMs !== undefined && error.retryAfterMs > this.maxRetryAfterMs) throw error;
        const backoff = backoffDelayMs(retry, {
          baseDelayMs: this.retryBaseDelayMs,
          maxDelayMs: this.retryMaxDelayMs,
          random: this.random,
        });
        const delayMs = Math.max(backoff, error.retryAfterMs ?? 0);
        this.onRetry?.({ operation, retry: retry + 1, delayMs, error });
        await sleep(delayMs, signal);
      }
    }
  }

  /** One HTTP exchange up to the response headers, with the response deadline and abort wiring. */
  private async open(spec: ExchangeSpec): Promise<Exchange> {
    spec.signal?.throwIfAborted();
    const target = spec.absolute ? new URL(spec.url) : new URL(spec.url, this.http.defaults.baseURL);
    if (!this.allowedOrigins.has(target.origin)) {
      throw new PlatformError(
        `eSignAnyWhere ${spec.operation}: refusing to call ${target.origin}`,
        'PROTOCOL',
      );
    }

    const controller = new AbortController();
    let deadlinePassed = false;
    const deadline = setTimeout(() => {
      deadlinePassed = true;
      controller.abort();
    }, this.responseTimeoutMs);
    const onCallerAbort = (): void => controller.abort();
    spec.signal?.addEventListener('abort', onCallerAbort, { once: true });

    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      clearTimeout(deadline);
      spec.signal?.removeEventListener('abort', onCallerAbort);
    };
    const translate = (error: unknown): unknown => {
      if (error instanceof PlatformError) return error;
      if (spec.signal?.aborted) return spec.signal.reason;
      if (deadlinePassed) {
        const phase = spec.deadlineCovers === 'body' ? 'complete response' : 'response headers';
        return new PlatformError(
          `eSignAnyWhere ${spec.operation}: no ${phase} within ${this.responseTimeoutMs} ms`,
          'TRANSIENT',
          { cause: networkCause(error) },
        );
      }
      return networkError(spec.operation, error);
    };

    const headers: Record<string, string> = { Accept: spec.accept, 'Accept-Encoding': 'identity' };
    if (spec.token !== undefined) {
      if (this.authHeader === 'Bearer') headers.Authorization = `Bearer ${spec.token}`;
      else headers.ApiToken = spec.token;
    }
    if (spec.body) headers['Content-Type'] = spec.body.contentType;

    let response: AxiosResponse<Readable>;
    try {
      response = await this.http.request<Readable>({
        method: spec.method,
        url: spec.absolute ? target.href : spec.url,
        ...(spec.absolute && { baseURL: '' }),
        headers,
        data: spec.body?.text,
        signal: controller.signal,
      });
    } catch (error) {
      release();
      throw translate(error);
    }

    const body = response.data;
    const responseHeaders: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value === undefined || value === null) continue;
      responseHeaders[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    if (spec.deadlineCovers === 'headers') clearTimeout(deadline);
    return {
      status: response.status,
      headers: responseHeaders,
      body,
      finishDeadline: () => clearTimeout(deadline),
      translate,
      release: () => {
        release();
        if (!body.readableEnded && !body.destroyed) body.destroy();
      },
    };
  }

  private async parseJsonBody<S extends z.ZodType>(
    operation: string,
    exchange: Exchange,
    schema: S,
  ): Promise<z.output<S>> {
    const contentType = exchange.headers['content-type'];
    if (contentType !== undefined && !/[/+]json\b/i.test(contentType)) {
      throw new PlatformError(
        `eSignAnyWhere ${operation}: expected JSON but got ${JSON.stringify(contentType.slice(0, 80))}`,
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
          `eSignAnyWhere ${operation}: response larger than ${this.maxJsonBytes} bytes`,
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
      throw new PlatformError(`eSignAnyWhere ${operation}: undecodable response body`, 'PROTOCOL', {
        cause,
        status: exchange.status,
      });
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // The SyntaxError is not kept: V8 quotes the body in its message, and a body can hold a token.
      throw new PlatformError(`eSignAnyWhere ${operation}: response is not valid JSON`, 'PROTOCOL', {
        status: exchange.status,
      });
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      throw new PlatformError(
        `eSignAnyWhere ${operation}: unexpected response shape: ${describeSchemaError(parsed.error)}`,
        'PROTOCOL',
        { cause: parsed.error, status: exchange.status },
      );
    }
    return parsed.data;
  }

  private async statusError(
    operation: string,
    exchange: Exchange,
    secrets: string[],
  ): Promise<PlatformError> {
    const { status, headers } = exchange;
    const text = await readErrorText(exchange);
    const apiError = parseApiError(text);
    const detail = describeApiError(apiError, text, secrets);
    const label = `eSignAnyWhere ${operation}: HTTP ${status}${detail}`;
    const retryAfterMs = parseRetryAfterMs(headers['retry-after']);

    let code: PlatformErrorCode;
    if (status === 401 || status === 403) code = 'UNAUTHORIZED';
    else if (status === 404 || status === 410) code = 'NOT_FOUND';
    else if (status === 429) code = 'RATE_LIMITED';
    else if (status === 408 || status >= 500) code = 'TRANSIENT';
    else if (status >= 400 && apiError?.ErrorId && NOT_FOUND_ERROR_IDS.has(apiError.ErrorId))
      code = 'NOT_FOUND';
    else if (status >= 400 && apiError?.ErrorId && FORBIDDEN_ERROR_IDS.has(apiError.ErrorId))
      code = 'UNAUTHORIZED';
    else code = 'PROTOCOL';

    if (status >= 300 && status < 400) {
      const location = safeOrigin(headers.location);
      return new PlatformError(
        `eSignAnyWhere ${operation}: redirect (HTTP ${status}${location ? ` to ${location}` : ''}) refused`,
        'PROTOCOL',
        { status },
      );
    }
    return new PlatformError(label, code, {
      status,
      ...(retryAfterMs !== undefined &&
        (code === 'RATE_LIMITED' || code === 'TRANSIENT') && { retryAfterMs }),
    });
  }

  private async oauthError(operation: string, exchange: Exchange, secrets: string[]): Promise<PlatformError> {
    const { status } = exchange;
    if (status >= 500 || status === 408 || status === 429) {
      return this.statusError(operation, exchange, secrets);
    }
    const text = await readErrorText(exchange);
    let oauth: z.output<typeof oauthErrorBodySchema> | undefined;
    try {
      const parsed = oauthErrorBodySchema.safeParse(JSON.parse(text));
      if (parsed.success) oauth = parsed.data;
    } catch {
      oauth = undefined;
    }
    const errorCode = oauth ? sanitizeServerText(oauth.error, secrets) : undefined;
    const description = oauth?.error_description ? sanitizeServerText(oauth.error_description, secrets) : '';
    const detail = errorCode ? ` ${errorCode}${description ? ` (${description})` : ''}` : '';
    const code: PlatformErrorCode =
      oauth?.error === 'invalid_grant' || oauth?.error === 'access_denied' ? 'UNAUTHORIZED' : 'PROTOCOL';
    return new PlatformError(`eSignAnyWhere ${operation}: HTTP ${status}${detail}`, code, { status });
  }
}

// ---------------------------------------------------------------------------------------------------
// Helpers

class BodyTooLargeError extends Error {}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number`);
  return value;
}

function nonNegativeInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer`);
  return value;
}

function parseHttpUrl(value: string, name: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new RangeError(`${name} must be an absolute URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RangeError(`${name} must be http(s)`);
  return url;
}

/** `https://host/Api` and `https://host/prefix/Api/` give `https://host` and `https://host/prefix`. */
function instanceRoot(baseUrl: URL): string {
  const path = baseUrl.pathname.replace(/\/+$/, '').replace(/\/api$/i, '');
  return `${baseUrl.origin}${path}`;
}

function guidArgument(value: string, what: string): string {
  if (typeof value !== 'string' || !GUID_PATTERN.test(value)) {
    throw new PlatformError(`invalid ${what}: expected a GUID`, 'PROTOCOL');
  }
  return value;
}

function fileIdArgument(value: string): string {
  if (typeof value !== 'string' || !FILE_ID_PATTERN.test(value)) {
    throw new PlatformError('invalid file id: expected 1 to 128 characters of [A-Za-z0-9_-]', 'PROTOCOL');
  }
  return value;
}

function assertToken(token: string): void {
  // Printable ASCII only: anything else could split or smuggle headers and is no token eSAW issues.
  if (
    typeof token !== 'string' ||
    token.length === 0 ||
    token.length > 4096 ||
    !/^[\x21-\x7e]+$/.test(token)
  ) {
    throw new PlatformError('the API token is empty or malformed', 'UNAUTHORIZED');
  }
}

function findRequestBody(filter: EsawEnvelopeFilter): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const date = (value: Date | undefined, name: string): string | undefined => {
    if (value === undefined) return undefined;
    if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
      throw new PlatformError(`invalid envelope filter: ${name} is not a valid date`, 'PROTOCOL');
    }
    return value.toISOString();
  };
  const text = (value: string | undefined, name: string): string | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.length === 0 || value.length > 1000) {
      throw new PlatformError(`invalid envelope filter: ${name} must be 1 to 1000 characters`, 'PROTOCOL');
    }
    return value;
  };
  if (filter.status !== undefined) {
    if (!(ESAW_FIND_STATUSES as readonly string[]).includes(filter.status)) {
      throw new PlatformError('invalid envelope filter: unknown status', 'PROTOCOL');
    }
    body.Status = filter.status;
  }
  if (filter.inStatusSinceDays !== undefined) {
    if (
      !Number.isInteger(filter.inStatusSinceDays) ||
      filter.inStatusSinceDays < 0 ||
      filter.status === undefined
    ) {
      throw new PlatformError(
        'invalid envelope filter: inStatusSinceDays must be a non-negative integer and needs a status',
        'PROTOCOL',
      );
    }
    body.InStatusSinceDays = filter.inStatusSinceDays;
  }
  if (filter.envelopeBulkParentId !== undefined) {
    body.EnvelopeBulkParentId = guidArgument(filter.envelopeBulkParentId, 'envelope bulk parent id');
  }
  const fields: [string, string | undefined][] = [
    ['StartDate', date(filter.startDate, 'startDate')],
    ['EndDate', date(filter.endDate, 'endDate')],
    ['SearchText', text(filter.searchText, 'searchText')],
    ['SenderEmail', text(filter.senderEmail, 'senderEmail')],
    ['RecipientEmail', text(filter.recipientEmail, 'recipientEmail')],
    [
      'CompletedByRecipientWithEmail',
      text(filter.completedByRecipientWithEmail, 'completedByRecipientWithEmail'),
    ],
    [
      'WaitingForRecipientWithEmail',
      text(filter.waitingForRecipientWithEmail, 'waitingForRecipientWithEmail'),
    ],
  ];
  for (const [name, value] of fields) if (value !== undefined) body[name] = value;
  return body;
}

/** Reads a whole body, refusing more than `limit` bytes. */
async function readBody(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      stream.destroy();
      throw new BodyTooLargeError();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

async function readErrorText(exchange: Exchange): Promise<string> {
  try {
    const raw = await readBody(exchange.body, ERROR_BODY_LIMIT);
    return decodeContent(raw, exchange.headers['content-encoding']).toString('utf8');
  } catch {
    return '';
  }
}

function decodeContent(raw: Buffer, encoding: string | undefined): Buffer {
  switch (encoding?.trim().toLowerCase()) {
    case undefined:
    case '':
    case 'identity':
      return raw;
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(raw);
    case 'deflate':
      return inflateSync(raw);
    case 'br':
      return brotliDecompressSync(raw);
    default:
      throw new Error(`unsupported Content-Encoding ${encoding}`);
  }
}

function parseApiError(text: string): z.output<typeof apiErrorBodySchema> | undefined {
  if (!text) return undefined;
  try {
    const parsed = apiErrorBodySchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function describeApiError(
  apiError: z.output<typeof apiErrorBodySchema> | undefined,
  text: string,
  secrets: string[],
): string {
  if (apiError && (apiError.ErrorId || apiError.Message)) {
    const parts: string[] = [];
    if (apiError.ErrorId) parts.push(sanitizeServerText(apiError.ErrorId, secrets));
    if (apiError.Message) parts.push(`(${sanitizeServerText(apiError.Message, secrets)})`);
    if (apiError.TraceId) parts.push(`trace ${sanitizeServerText(apiError.TraceId, secrets)}`);
    return ` ${parts.join(' ')}`;
  }
  // Non-JSON bodies (proxy error pages) are not echoed: they are noise and may reflect request data.
  return text ? ` (${text.length} byte non-JSON body)` : '';
}

/** Server text in our messages: single line, short, and with anything secret we sent scrubbed. */
function sanitizeServerText(text: string, secrets: string[]): string {
  let clean = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) clean = clean.split(secret).join('[redacted]');
  }
  clean = clean.replace(/\p{Cc}+/gu, ' ').trim();
  return clean.length > MAX_SERVER_TEXT ? `${clean.slice(0, MAX_SERVER_TEXT)}…` : clean;
}

function safeOrigin(location: string | undefined): string | undefined {
  if (!location) return undefined;
  try {
    return new URL(location).origin;
  } catch {
    return undefined;
  }
}

/** undefined when absent, null when present but not a non-negative integer. */
function parseContentLength(value: string | undefined): number | undefined | null {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (!/^\d+$/.test(trimmed)) return null;
  const length = Number(trimmed);
  return Number.isSafeInteger(length) ? length : null;
}

/**
 * The file name of a Content-Disposition header (RFC 6266; `filename*` in UTF-8 or ISO-8859-1 wins
 * over `filename`), or undefined when there is none or the header cannot be parsed.
 */
export function parseContentDispositionFileName(value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    const name = parseContentDisposition(value).parameters.filename;
    return typeof name === 'string' && name !== '' ? name : undefined;
  } catch {
    return undefined;
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

/**
 * The error worth keeping as `cause`: the network error underneath an axios error. Axios errors carry
 * the request config, headers included, and would put the token into any log that serializes causes.
 */
function networkCause(error: unknown): unknown {
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

function networkError(operation: string, error: unknown): PlatformError {
  const cause = networkCause(error);
  const code = errorCode(error);
  const what = code ?? (cause instanceof Error ? cause.message : 'network error');
  if (code && TLS_ERROR_CODE.test(code)) {
    return new PlatformError(`eSignAnyWhere ${operation}: TLS failure (${code})`, 'PROTOCOL', { cause });
  }
  if (code === 'ECONNECTTIMEOUT') {
    return new PlatformError(`eSignAnyWhere ${operation}: connect timeout`, 'TRANSIENT', { cause });
  }
  // An answer Node's HTTP parser refuses (headers over 16 KB, malformed framing) will be the same next time.
  if (code?.startsWith('HPE_')) {
    return new PlatformError(`eSignAnyWhere ${operation}: unreadable HTTP answer (${code})`, 'PROTOCOL', {
      cause,
    });
  }
  // Resets, refusals, DNS hiccups, and codes we have never seen: waiting may help, and the job's
  // attempt and age limits bound how long we keep trying.
  return new PlatformError(`eSignAnyWhere ${operation}: ${what}`, 'TRANSIENT', { cause });
}

function downloadError(
  operation: string,
  failure: DownloadFailure,
  translate: (error: unknown) => unknown,
): Error {
  switch (failure.kind) {
    case 'idle':
      return new PlatformError(
        `eSignAnyWhere ${operation}: no data for ${failure.idleTimeoutMs} ms after ${failure.received} bytes`,
        'TRANSIENT',
      );
    case 'short':
      return new PlatformError(
        `eSignAnyWhere ${operation}: body ended after ${failure.received} of ${failure.expected} bytes`,
        'TRANSIENT',
      );
    case 'long':
      return new PlatformError(
        `eSignAnyWhere ${operation}: body longer than its Content-Length of ${failure.expected} bytes`,
        'PROTOCOL',
      );
    case 'aborted': {
      const translated = failure.cause === undefined ? undefined : translate(failure.cause);
      if (translated instanceof Error && !(translated instanceof PlatformError)) return translated;
      const cause = translated instanceof PlatformError ? translated.cause : undefined;
      return new PlatformError(
        `eSignAnyWhere ${operation}: connection lost after ${failure.received} bytes`,
        'TRANSIENT',
        { cause },
      );
    }
  }
}
