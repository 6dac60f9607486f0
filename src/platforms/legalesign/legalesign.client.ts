import type { OnModuleDestroy } from '@nestjs/common';
import { z } from 'zod';
import { codeForStatus, statusError, type FailedAnswer } from '../http/error-translation';
import { PlatformHttp, type PlatformDownload, type PlatformRequest } from '../http/platform-http';
import { parseRetryAfterMs } from '../http/retry.policy';
import { PlatformError } from '../platform-error';
import type { CallBudget } from '../call-budget';
import type { LegalesignInstance } from './legalesign.config';
import { DOCUMENT_ID_PATTERN } from './legalesign.ids';

/** How long Legalesign says restoring an archived PDF takes ("available in 4 hours"), when it gives no Retry-After. */
const DEARCHIVE_WAIT_MS = 4 * 3_600_000;
const LIST_PAGE_SIZE = 100;
/** Pages one listing follows at most (100 documents each): a `next` that never ends is cut. */
const MAX_LIST_PAGES = 1_000;

const text = z
  .string()
  .nullish()
  .transform((v) => v ?? undefined);
const uri = z.string().max(512);

const signerSchema = z.object({
  uuid: z.string().max(64).nullish(),
  email: text,
  firstname: text,
  lastname: text,
  status: z.number().int().nullish(),
});

const documentSchema = z.object({
  uuid: z.string().regex(DOCUMENT_ID_PATTERN, 'must be a UUID'),
  name: text,
  group: uri.nullish(),
  status: z.number().int(),
  archived: z.boolean().nullish(),
  download_final: z.boolean().nullish(),
  hash_value: text,
  created: text,
  modified: text,
  sign_time: text,
  tag: text,
  tag1: text,
  tag2: text,
  signer_objects: z.array(signerSchema).nullish(),
});

export type LegalesignDocument = z.output<typeof documentSchema>;

const listedSchema = z.object({
  uuid: z.string().regex(DOCUMENT_ID_PATTERN, 'must be a UUID'),
  status: z.number().int(),
  modified: text,
  sign_time: text,
});

const listMeta = z.object({ next: z.string().max(4096).nullish() });
const documentListSchema = z.object({ meta: listMeta, objects: z.array(listedSchema) });
const groupListSchema = z.object({
  meta: listMeta,
  objects: z.array(z.object({ resource_uri: uri.nullish(), slug: z.string().max(200).nullish() })),
});

export type ListedDocument = z.output<typeof listedSchema>;

export interface LegalesignClientOptions {
  instance: LegalesignInstance;
  connectTimeoutMs?: number;
  responseTimeoutMs?: number;
  idleTimeoutMs?: number;
  maxRetries?: number;
  /** The account's shared budget of API calls. */
  budget?: CallBudget;
}

/**
 * Legalesign's REST API v1 (`Authorization: ApiKey <username>:<secret>`; every path ends with `/`).
 * The final PDF may come from a short-lived location on another host, fetched without Legalesign's
 * credentials; one being restored from Legalesign's archive is a wait (`NOT_READY`), not an error.
 */
export class LegalesignClient implements OnModuleDestroy {
  private readonly http: PlatformHttp;
  private readonly label: string;

  constructor(private readonly options: LegalesignClientOptions) {
    this.label = options.instance.displayName;
    this.http = new PlatformHttp({
      label: this.label,
      baseUrl: options.instance.baseUrl,
      userAgent: 'esign-archiver (Legalesign API client)',
      connectTimeoutMs: options.connectTimeoutMs,
      responseTimeoutMs: options.responseTimeoutMs,
      idleTimeoutMs: options.idleTimeoutMs,
      maxRetries: options.maxRetries,
      toError: legalesignError,
      budget: options.budget,
    });
  }

  close(): void {
    this.http.close();
  }

  onModuleDestroy(): void {
    this.close();
  }

  async getDocument(id: string, signal?: AbortSignal): Promise<LegalesignDocument> {
    const found = await this.http.json(
      this.request(`GET document ${id}`, 'GET', `document/${documentPath(id)}/`, signal),
      documentSchema,
    );
    if (found.uuid.toLowerCase() !== id.toLowerCase()) {
      throw new PlatformError(`${this.label} GET document ${id}: answered for another document`, 'PROTOCOL');
    }
    return found;
  }

  /** The final (signed) PDF: 200, a 302 to a short-lived location, or 201 while it is de-archived. */
  finalPdf(id: string, signal?: AbortSignal): Promise<PlatformDownload> {
    return this.http.download({
      ...this.request(`GET pdf ${id}`, 'GET', `pdf/${documentPath(id)}/`, signal),
      accept: 'application/pdf',
      followRedirect: 'once-without-credentials',
    });
  }

  auditLog(id: string, signal?: AbortSignal): Promise<PlatformDownload> {
    return this.http.download({
      ...this.request(`GET document ${id} auditlog`, 'GET', `document/${documentPath(id)}/auditlog/`, signal),
      accept: 'application/pdf',
    });
  }

  /** Permanent delete: only 204 is done; Legalesign answers 200 when the group does not allow it. */
  deletePermanently(id: string, signal?: AbortSignal): Promise<void> {
    return this.http.noContent({
      ...this.request(
        `DELETE document ${id} (permanent)`,
        'DELETE',
        `document/${documentPath(id)}/delete/`,
        signal,
      ),
      successStatuses: [204],
      toError: (answer) =>
        answer.status === 200
          ? new PlatformError(
              `${this.label} DELETE document ${id} (permanent): not deleted (HTTP 200); the document's group must allow automated deletion, or set LEGALESIGN_DELETE_MODE=void`,
              'PROTOCOL',
              { status: 200 },
            )
          : legalesignError(answer),
    });
  }

  /** Void and archive it at Legalesign (status 40, "removed"); nothing is deleted there. */
  voidDocument(id: string, signal?: AbortSignal): Promise<void> {
    return this.http.noContent(
      this.request(`DELETE document ${id}`, 'DELETE', `document/${documentPath(id)}/`, signal),
    );
  }

  /** The slugs of the groups the key can see. */
  async groups(signal?: AbortSignal): Promise<string[]> {
    const slugs: string[] = [];
    for await (const page of this.pages(
      'GET group',
      `group/?limit=${LIST_PAGE_SIZE}`,
      groupListSchema,
      signal,
    )) {
      for (const group of page.objects) {
        const slug = group.slug ?? /\/group\/([^/]+)\/?$/.exec(group.resource_uri ?? '')?.[1];
        if (slug && /^[\w-]{1,100}$/.test(slug)) slugs.push(slug);
      }
    }
    return slugs;
  }

  /** Documents of a group in a status, modified after `since`, archived or not, page by page. */
  async *documents(
    query: { group: string; status: number; archived: boolean; modifiedAfter: Date },
    signal?: AbortSignal,
  ): AsyncIterable<ListedDocument> {
    const params = new URLSearchParams({
      group: query.group,
      status: String(query.status),
      archived: String(query.archived),
      modified_gt: query.modifiedAfter.toISOString(),
      nosigners: '1',
      limit: String(LIST_PAGE_SIZE),
      offset: '0',
    });
    const operation = `GET document list (group ${query.group}, status ${query.status}${query.archived ? ', archived' : ''})`;
    for await (const page of this.pages(
      operation,
      `document/?${params.toString()}`,
      documentListSchema,
      signal,
    )) {
      yield* page.objects;
    }
  }

  /** Follows `meta.next` (a path on the API's origin) from `first`, within a page limit. */
  private async *pages<T extends { meta: { next?: string | null } }>(
    operation: string,
    first: string,
    schema: z.ZodType<T>,
    signal?: AbortSignal,
  ): AsyncIterable<T> {
    let url: string | URL = first;
    for (let n = 0; n < MAX_LIST_PAGES; n++) {
      const page: T = await this.http.json(this.request(operation, 'GET', url, signal), schema);
      yield page;
      const next: string | null | undefined = page.meta.next;
      if (!next) return;
      // A relative `next` is on the API's origin; an absolute one must be too (PlatformHttp checks).
      url = new URL(next, this.options.instance.baseUrl);
    }
    throw new PlatformError(`${this.label} ${operation}: more than ${MAX_LIST_PAGES} pages`, 'PROTOCOL');
  }

  private request(
    operation: string,
    method: 'GET' | 'DELETE',
    url: string | URL,
    signal?: AbortSignal,
  ): PlatformRequest {
    const authorization = this.options.instance.authorization;
    return {
      operation,
      method,
      url,
      headers: { Authorization: authorization },
      idempotent: true,
      secrets: [authorization, authorization.replace(/^ApiKey /, '').split(':')[1] ?? ''],
      ...(signal && { signal }),
    };
  }
}

function documentPath(id: string): string {
  if (!DOCUMENT_ID_PATTERN.test(id)) {
    throw new PlatformError(
      `Legalesign: ${JSON.stringify(id.slice(0, 80))} is not a document id`,
      'PROTOCOL',
    );
  }
  return id.toLowerCase();
}

/**
 * Legalesign's answers: a 201 to a PDF request means it is being restored from the archive (a wait of
 * hours); errors carry `{"detail": "..."}` (or text), quoted sanitized and short.
 */
function legalesignError(answer: FailedAnswer): PlatformError {
  if (answer.status === 201) {
    return new PlatformError(
      `${answer.label} ${answer.operation}: the PDF is being restored from Legalesign's archive`,
      'NOT_READY',
      { status: 201, retryAfterMs: parseRetryAfterMs(answer.headers['retry-after']) ?? DEARCHIVE_WAIT_MS },
    );
  }
  let detail = '';
  try {
    const body = JSON.parse(answer.text) as { detail?: unknown };
    if (typeof body.detail === 'string') detail = ` (${answer.sanitize(body.detail)})`;
  } catch {
    if (answer.text) detail = ` (${answer.text.length} byte body)`;
  }
  return statusError(answer, detail, codeForStatus(answer.status));
}
