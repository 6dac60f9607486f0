import type { CallBudget } from '../call-budget';
import type { OnModuleDestroy } from '@nestjs/common';
import type { z } from 'zod';
import { codeForStatus, statusError, type FailedAnswer } from '../http/error-translation';
import { PlatformHttp, parseBaseUrl, parseHttpUrl, type PlatformRequest } from '../http/platform-http';
import { PlatformError, type PlatformErrorCode } from '../platform-error';
import { isPkceVerifier } from './esignanywhere.pkce';
import {
  FILE_ID_PATTERN,
  GUID_PATTERN,
  apiErrorBodySchema,
  configurationResponseSchema,
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

export { parseContentDispositionFileName } from '../http/response-headers';

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
  /** The account's shared budget of API calls. */
  budget?: CallBudget;
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

const LABEL = 'eSignAnyWhere';
const VERIFY_WINDOW_START = new Date('2000-01-01T00:00:00Z');
const VERIFY_WINDOW_END = new Date('2000-01-01T00:00:01Z');
// eSAW error ids (v6 error list): ERR0007 MissingEnvelope, ERR0008 MissingFile, ERR0250 an unknown draft;
// ERR0010 NotAllowedForUser, ERR0014 NotAllowedByLicense (their HTTP status is undocumented); ERR0063
// InvalidEnvelopeApiVersion (an envelope created through API v5).
const ERROR_ID_CODES: ReadonlyMap<string, PlatformErrorCode> = new Map([
  ['ERR0007', 'NOT_FOUND'],
  ['ERR0008', 'NOT_FOUND'],
  ['ERR0250', 'NOT_FOUND'],
  ['ERR0010', 'FORBIDDEN'],
  ['ERR0014', 'FORBIDDEN'],
  ['ERR0063', 'UNSUPPORTED'],
]);

/** An API call made with a sender's token; the rest of the request is added per call. */
type ApiCall = Pick<PlatformRequest, 'operation' | 'method' | 'url' | 'body' | 'idempotent'>;

/**
 * eSignAnyWhere REST API v6 client. Every call acts with the API token it is given (one per sender), so
 * nothing here holds a user's credentials. Errors are always `PlatformError`s whose messages never contain
 * tokens, the OAuth client secret or authorization codes; their `cause` is the underlying network or
 * schema error, never an axios error (those carry the request headers, token included).
 */
export class EsignAnywhereClient implements OnModuleDestroy {
  private readonly http: PlatformHttp;
  private readonly authHeader: 'ApiToken' | 'Bearer';
  private readonly authorizeUrl: URL;
  private readonly tokenUrl: URL;
  private readonly oauthClientId?: string;
  // A native private field: not shown when the client object is inspected or logged.
  readonly #oauthClientSecret?: string;

  constructor(options: EsignAnywhereClientOptions) {
    const baseUrl = parseBaseUrl(options.baseUrl);
    this.authHeader = options.authHeader ?? 'ApiToken';
    const root = instanceRoot(baseUrl);
    this.authorizeUrl = parseHttpUrl(
      options.oauth?.authorizeUrl ?? `${root}/Auth/Authorize`,
      'oauth.authorizeUrl',
    );
    this.tokenUrl = parseHttpUrl(options.oauth?.tokenUrl ?? `${root}/ApiToken/Retrieve`, 'oauth.tokenUrl');
    this.oauthClientId = options.oauth?.clientId;
    this.#oauthClientSecret = options.oauth?.clientSecret;
    this.http = new PlatformHttp({
      label: LABEL,
      baseUrl,
      extraOrigins: [this.tokenUrl.origin],
      userAgent: options.userAgent ?? 'esign-archiver (eSignAnyWhere API v6 client)',
      connectTimeoutMs: options.connectTimeoutMs,
      responseTimeoutMs: options.responseTimeoutMs,
      idleTimeoutMs: options.idleTimeoutMs,
      maxRetries: options.maxRetries,
      retryBaseDelayMs: options.retryBaseDelayMs,
      retryMaxDelayMs: options.retryMaxDelayMs,
      maxRetryAfterMs: options.maxRetryAfterMs,
      maxJsonBytes: options.maxJsonBytes,
      toError: apiError,
      budget: options.budget,
      random: options.random,
      onRetry: options.onRetry,
    });
  }

  /** Closes pooled connections. */
  close(): void {
    this.http.close();
  }

  onModuleDestroy(): void {
    this.close();
  }

  /** `GET /v6/envelope/{id}`: status, sender and activities. */
  async getEnvelope(token: string, envelopeId: string, options: EsawCallOptions = {}): Promise<EsawEnvelope> {
    const id = guidArgument(envelopeId, 'envelope id');
    const operation = `GET /v6/envelope/${id}`;
    const envelope = await this.http.json(
      this.apiRequest(
        token,
        { operation, method: 'GET', url: `v6/envelope/${encodeURIComponent(id)}`, idempotent: true },
        options,
      ),
      envelopeResponseSchema,
    );
    if (envelope.id.toLowerCase() !== id.toLowerCase()) {
      throw new PlatformError(`${LABEL} ${operation}: answered for another envelope`, 'PROTOCOL');
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
    return this.http.json(
      this.apiRequest(
        token,
        {
          operation: `GET /v6/envelope/${id}/${part}`,
          method: 'GET',
          url: `v6/envelope/${encodeURIComponent(id)}/${part}`,
          idempotent: true,
        },
        options,
      ),
      schema,
    );
  }

  /**
   * `GET /v6/file/{fileId}`, streamed. Retried (when idempotent failures allow) only until the response
   * headers arrive; once the stream is handed out, a failure is an error on the stream.
   */
  async openFile(token: string, fileId: string, options: EsawCallOptions = {}): Promise<EsawFileDownload> {
    const id = fileIdArgument(fileId);
    return this.http.download(
      this.apiRequest(
        token,
        {
          operation: `GET /v6/file/${id}`,
          method: 'GET',
          url: `v6/file/${encodeURIComponent(id)}`,
          idempotent: true,
        },
        options,
      ),
    );
  }

  /**
   * `POST /v6/envelope/delete`. Not retried: the caller decides when to try again. A NOT_FOUND answer
   * means there is nothing (left) to delete for this token.
   */
  async deleteEnvelope(token: string, envelopeId: string, options: EsawCallOptions = {}): Promise<void> {
    const id = guidArgument(envelopeId, 'envelope id');
    await this.http.noContent(
      this.apiRequest(
        token,
        {
          operation: `POST /v6/envelope/delete (${id})`,
          method: 'POST',
          url: 'v6/envelope/delete',
          body: { json: { EnvelopeId: id } },
          idempotent: false,
        },
        options,
      ),
    );
  }

  /** `POST /v6/envelope/find` with the sender's token: that sender's envelopes matching the filter. */
  async findEnvelopes(
    token: string,
    filter: EsawEnvelopeFilter = {},
    options: EsawCallOptions = {},
  ): Promise<EsawFoundEnvelope[]> {
    const body = findRequestBody(filter);
    return this.http.json(
      this.apiRequest(
        token,
        {
          operation: 'POST /v6/envelope/find',
          method: 'POST',
          url: 'v6/envelope/find',
          body: { json: body },
          idempotent: true,
        },
        options,
      ),
      findResponseSchema,
    );
  }

  /** `POST /v6/draft/send`: sends a draft; the envelope gets a new id. Not retried (it would send twice). */
  async sendDraft(token: string, draftId: string, options: EsawCallOptions = {}): Promise<EsawSentDraft> {
    const id = guidArgument(draftId, 'draft id');
    return this.http.json(
      this.apiRequest(
        token,
        {
          operation: `POST /v6/draft/send (${id})`,
          method: 'POST',
          url: 'v6/draft/send',
          body: { json: { DraftId: id } },
          idempotent: false,
        },
        options,
      ),
      draftSendResponseSchema,
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
    return this.http.json(
      this.apiRequest(
        token,
        {
          operation: 'GET /v6/authorization/whoami',
          method: 'GET',
          url: 'v6/authorization/whoami',
          idempotent: true,
        },
        options,
      ),
      whoAmIResponseSchema,
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
        `${LABEL} token exchange: the authorization code is empty or too long`,
        'UNAUTHORIZED',
      );
    }
    if (!isPkceVerifier(params.codeVerifier)) {
      throw new RangeError('codeVerifier must be a PKCE code verifier');
    }
    const redirectUri = parseHttpUrl(params.redirectUri, 'redirectUri').href;
    const form = new URLSearchParams({
      grant_type: 'authorization_code',
      code: params.code,
      redirect_uri: redirectUri,
      client_id: clientId,
      client_secret: clientSecret,
      code_verifier: params.codeVerifier,
    });
    const grant = await this.http.json(
      {
        operation: `POST ${this.tokenUrl.pathname}`,
        method: 'POST',
        url: this.tokenUrl,
        body: { form },
        idempotent: false,
        secrets: [clientSecret, params.code, params.codeVerifier],
        signal: options.signal,
        toError: oauthError,
      },
      tokenResponseSchema,
    );
    return { accessToken: grant.accessToken };
  }

  // ---------------------------------------------------------------------------------------------------

  private requireOAuthClientId(): string {
    if (!this.oauthClientId) throw new RangeError('the OAuth client id is not configured');
    return this.oauthClientId;
  }

  /** The request for an API call with a sender's token, which is checked before anything is sent. */
  private apiRequest(token: string, call: ApiCall, options: EsawCallOptions): PlatformRequest {
    assertToken(token);
    return {
      ...call,
      headers: this.authHeader === 'Bearer' ? { Authorization: `Bearer ${token}` } : { ApiToken: token },
      secrets: [token],
      signal: options.signal,
    };
  }
}

// ---------------------------------------------------------------------------------------------------
// Helpers

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

/**
 * A non-2xx answer of the API: the status decides, except that a 4xx the status alone does not explain
 * is classified by its eSAW error id (a 400 with ERR0007 is a missing envelope).
 */
function apiError(answer: FailedAnswer): PlatformError {
  const body = parseApiError(answer.text);
  let code = codeForStatus(answer.status);
  // The error id says more than a 4xx status, except that a 401 is always a refused token.
  const byId = body?.ErrorId ? ERROR_ID_CODES.get(body.ErrorId) : undefined;
  if (byId && answer.status >= 400 && answer.status < 500 && answer.status !== 401) code = byId;
  return statusError(answer, describeApiError(body, answer), code);
}

/**
 * A non-2xx answer of the token endpoint: an OAuth error body (RFC 6749 section 5.2), except that 5xx,
 * 408 and 429 are read like any API answer.
 */
function oauthError(answer: FailedAnswer): PlatformError {
  const { status } = answer;
  if (status >= 500 || status === 408 || status === 429) return apiError(answer);
  let oauth: z.output<typeof oauthErrorBodySchema> | undefined;
  try {
    const parsed = oauthErrorBodySchema.safeParse(JSON.parse(answer.text));
    if (parsed.success) oauth = parsed.data;
  } catch {
    oauth = undefined;
  }
  const errorCode = oauth ? answer.sanitize(oauth.error) : undefined;
  const description = oauth?.error_description ? answer.sanitize(oauth.error_description) : '';
  const detail = errorCode ? ` ${errorCode}${description ? ` (${description})` : ''}` : '';
  const code: PlatformErrorCode =
    oauth?.error === 'invalid_grant' || oauth?.error === 'access_denied' ? 'UNAUTHORIZED' : 'PROTOCOL';
  return new PlatformError(`${answer.label} ${answer.operation}: HTTP ${status}${detail}`, code, { status });
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
  body: z.output<typeof apiErrorBodySchema> | undefined,
  answer: FailedAnswer,
): string {
  if (body && (body.ErrorId || body.Message)) {
    const parts: string[] = [];
    if (body.ErrorId) parts.push(answer.sanitize(body.ErrorId));
    if (body.Message) parts.push(`(${answer.sanitize(body.Message)})`);
    if (body.TraceId) parts.push(`trace ${answer.sanitize(body.TraceId)}`);
    return ` ${parts.join(' ')}`;
  }
  // Non-JSON bodies (proxy error pages) are not echoed: they are noise and may reflect request data.
  return answer.text ? ` (${answer.text.length} byte non-JSON body)` : '';
}
