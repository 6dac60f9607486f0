import type { OnModuleDestroy } from '@nestjs/common';
import { z } from 'zod';
import { codeForStatus, statusError } from '../http/error-translation';
import { PlatformHttp, type PlatformDownload, type PlatformRequest } from '../http/platform-http';
import { PlatformError } from '../platform-error';
import { PACKAGE_ID_PATTERN } from './onespan-callback.parser';
import type { OneSpanInstance } from './onespan.config';
import type { CallBudget } from '../call-budget';

/** A cached bearer token is renewed this long before it runs out (OneSpan's live about 5 minutes). */
const TOKEN_RENEW_EARLY_MS = 30_000;
const DOCUMENT_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
const LIST_PAGE_SIZE = 100;

const optionalText = z
  .string()
  .nullish()
  .transform((v) => v ?? undefined);

const packageSchema = z.object({
  id: z.string().regex(PACKAGE_ID_PATTERN, 'must be a package id'),
  name: optionalText,
  status: z.string().min(1).max(64),
  trashed: z
    .boolean()
    .nullish()
    .transform((v) => v ?? false),
  created: optionalText,
  updated: optionalText,
  completed: optionalText,
  sender: z
    .object({ email: optionalText, firstName: optionalText, lastName: optionalText })
    .nullish()
    .transform((v) => v ?? { email: undefined, firstName: undefined, lastName: undefined }),
  data: z
    .record(z.string(), z.unknown())
    .nullish()
    .transform((v) => v ?? {}),
  documents: z
    .array(
      z.object({ id: z.string().regex(DOCUMENT_ID_PATTERN, 'must be a document id'), name: optionalText }),
    )
    .nullish()
    .transform((v) => v ?? []),
});

export type OneSpanPackage = z.output<typeof packageSchema>;

const listSchema = z.object({
  count: z.number().int().nonnegative(),
  results: z.array(z.object({ id: z.string().regex(PACKAGE_ID_PATTERN), status: z.string().min(1).max(64) })),
});

const tokenSchema = z.object({
  access_token: z
    .string()
    .min(1)
    .max(8192)
    .regex(/^[\x21-\x7e]+$/),
  expires_in: z.number().positive().optional(),
});

export interface OneSpanClientOptions {
  instance: OneSpanInstance;
  connectTimeoutMs?: number;
  responseTimeoutMs?: number;
  idleTimeoutMs?: number;
  maxRetries?: number;
  /** The account's shared budget of API calls. */
  budget?: CallBudget;
}

/**
 * OneSpan Sign's REST API, on OneSpan's paths (`/packages/...`) or Conga's gateway (`/v1/cs-packages/...`),
 * with an account API key (`Authorization: Basic <key>`, the key as given) or a client-credentials bearer
 * token, cached and renewed before it runs out. Credentials never reach messages or logs.
 */
export class OneSpanClient implements OnModuleDestroy {
  private readonly http: PlatformHttp;
  private readonly instance: OneSpanInstance;
  private token?: { value: string; renewAt: number };
  private pendingToken?: Promise<string>;

  constructor(options: OneSpanClientOptions) {
    this.instance = options.instance;
    const credential = options.instance.credential;
    this.http = new PlatformHttp({
      label: options.instance.displayName,
      baseUrl: options.instance.baseUrl,
      extraOrigins: credential.kind === 'client_credentials' ? [credential.tokenUrl] : [],
      userAgent: `esign-archiver (${options.instance.displayName} API client)`,
      connectTimeoutMs: options.connectTimeoutMs,
      responseTimeoutMs: options.responseTimeoutMs,
      idleTimeoutMs: options.idleTimeoutMs,
      maxRetries: options.maxRetries,
      budget: options.budget,
    });
  }

  close(): void {
    this.http.close();
  }

  onModuleDestroy(): void {
    this.close();
  }

  async getPackage(packageId: string, signal?: AbortSignal): Promise<OneSpanPackage> {
    const found = await this.call(
      {
        operation: `GET package ${packageId}`,
        method: 'GET',
        url: this.packagePath(packageId),
        idempotent: true,
        signal,
      },
      (request) => this.http.json(request, packageSchema),
    );
    if (found.id !== packageId) {
      throw new PlatformError(`${this.instance.displayName}: answered for another package`, 'PROTOCOL');
    }
    return found;
  }

  /** A document's signed PDF, the evidence summary (`evidence/summary`) or the audit JSON (`audit`). */
  async download(
    packageId: string,
    what: { document: string } | 'evidence/summary' | 'audit',
    signal?: AbortSignal,
  ): Promise<PlatformDownload> {
    const tail =
      typeof what === 'string'
        ? what
        : `documents/${encodeURIComponent(documentArgument(what.document))}/pdf`;
    return this.call(
      {
        operation: `GET package ${packageId} ${typeof what === 'string' ? what : `document ${what.document}`}`,
        method: 'GET',
        url: `${this.packagePath(packageId)}/${tail}`,
        accept: what === 'audit' ? 'application/json' : '*/*',
        idempotent: true,
        signal,
      },
      (request) => this.http.download(request),
    );
  }

  /** Deletes the package, or moves it to the trash (`{"trashed": true}`). Not retried. */
  async remove(packageId: string, mode: 'delete' | 'trash', signal?: AbortSignal): Promise<void> {
    await this.call(
      mode === 'delete'
        ? {
            operation: `DELETE package ${packageId}`,
            method: 'DELETE',
            url: this.packagePath(packageId),
            idempotent: false,
            signal,
          }
        : {
            operation: `trash package ${packageId}`,
            method: 'POST',
            url: this.packagePath(packageId),
            body: { json: { trashed: true } },
            idempotent: false,
            signal,
          },
      (request) => this.http.noContent(request),
    );
  }

  /** Packages in `status` last updated in the window, page by page (1-based inclusive `from`/`to`). */
  async *listPackages(
    status: string,
    window: { from: Date; to: Date },
    signal?: AbortSignal,
  ): AsyncIterable<{ id: string; status: string }> {
    const date = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
    for (let from = 1; ; from += LIST_PAGE_SIZE) {
      const query = new URLSearchParams({
        query: status,
        from: String(from),
        to: String(from + LIST_PAGE_SIZE - 1),
        startDate: date(window.from),
        endDate: date(window.to),
      });
      const page = await this.call(
        {
          operation: `GET packages ${status} from ${from}`,
          method: 'GET',
          url: `${this.instance.packagesPath}?${query.toString()}`,
          idempotent: true,
          signal,
        },
        (request) => this.http.json(request, listSchema),
      );
      yield* page.results;
      if (page.results.length < LIST_PAGE_SIZE || from + LIST_PAGE_SIZE > page.count) return;
    }
  }

  private packagePath(packageId: string): string {
    if (!PACKAGE_ID_PATTERN.test(packageId)) {
      throw new PlatformError(`${this.instance.displayName}: invalid package id`, 'PROTOCOL');
    }
    return `${this.instance.packagesPath}/${encodeURIComponent(packageId)}`;
  }

  /** Runs a request with the instance's credential; a refused cached token is renewed once. */
  private async call<T>(
    request: PlatformRequest,
    send: (request: PlatformRequest) => Promise<T>,
  ): Promise<T> {
    const credential = this.instance.credential;
    if (credential.kind === 'api_key') {
      return send({
        ...request,
        headers: { Authorization: `Basic ${credential.apiKey}` },
        secrets: [credential.apiKey],
      });
    }
    const token = await this.bearer(request.signal);
    try {
      return await send({ ...request, headers: { Authorization: `Bearer ${token}` }, secrets: [token] });
    } catch (error) {
      if (!(error instanceof PlatformError) || error.code !== 'UNAUTHORIZED' || this.token?.value !== token)
        throw error;
      // The platform may end a token early: ask for a new one, once.
      this.token = undefined;
      const fresh = await this.bearer(request.signal);
      return send({ ...request, headers: { Authorization: `Bearer ${fresh}` }, secrets: [fresh] });
    }
  }

  private async bearer(signal?: AbortSignal): Promise<string> {
    if (this.token && Date.now() < this.token.renewAt) return this.token.value;
    this.pendingToken ??= this.fetchToken(signal).finally(() => (this.pendingToken = undefined));
    return this.pendingToken;
  }

  private async fetchToken(signal?: AbortSignal): Promise<string> {
    const credential = this.instance.credential;
    if (credential.kind !== 'client_credentials') throw new TypeError('no client credentials');
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (credential.scope) form.set('scope', credential.scope);
    const basic = Buffer.from(`${credential.clientId}:${credential.clientSecret}`).toString('base64');
    const answer = await this.http.json(
      {
        operation: 'POST token',
        method: 'POST',
        url: new URL(credential.tokenUrl),
        headers: { Authorization: `Basic ${basic}` },
        body: { form },
        idempotent: true,
        secrets: [credential.clientSecret, basic],
        signal,
        // The token endpoint's refusals (400 invalid client, 401, 403 disabled client) all mean the
        // instance's credential is refused; 429 and 5xx keep their meaning.
        toError: (answer) =>
          statusError(
            answer,
            '',
            [400, 401, 403].includes(answer.status) ? 'UNAUTHORIZED' : codeForStatus(answer.status),
          ),
      },
      tokenSchema,
    );
    const lifetimeMs = (answer.expires_in ?? 300) * 1000;
    this.token = {
      value: answer.access_token,
      renewAt: Date.now() + Math.max(lifetimeMs - TOKEN_RENEW_EARLY_MS, lifetimeMs / 2),
    };
    return answer.access_token;
  }
}

function documentArgument(id: string): string {
  if (!DOCUMENT_ID_PATTERN.test(id)) throw new PlatformError('invalid document id', 'PROTOCOL');
  return id;
}
