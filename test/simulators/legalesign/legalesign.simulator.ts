/**
 * A strict simulator of the Legalesign API v1 served over real HTTP on loopback, driven in-process by
 * tests (see /work/shared/reference/onespan-conga-legalesign-apis.md §3 and §7, esign-platform-apis.md §9).
 *
 * Reproduced from the platform:
 * - Base `/api/v1`, every path ending with `/`; `Authorization: ApiKey <username>:<secret>` (the value
 *   without the `ApiKey ` prefix is tolerated, as the SDKs send the configured string verbatim).
 * - `GET /document/{uuid}/` with the `DocumentResponseDetail` fields; `GET /document/` with `group`
 *   required, `archived` defaulting to false, `status`, `email`, `created_gt`, `modified_gt`, `limit`
 *   (default 20) and `offset`, `nosigners=1`, in the `{meta: {limit, next, offset, previous, total_count},
 *   objects}` envelope with relative `next`/`previous` URLs; `GET /group/` in the same envelope.
 * - `GET /pdf/{uuid}/`: 200 with the PDF, 302 to a short-lived location on another origin (which refuses
 *   requests that carry Legalesign authentication, or any Authorization header), or 201 "Being
 *   de-archived, available in 4 hours". `GET /document/{uuid}/auditlog/`: the audit log as a PDF.
 * - `DELETE /document/{uuid}/` voids and archives (status 40), 204. `DELETE /document/{uuid}/delete/`
 *   deletes for good with 204, or answers 200 "Something went wrong, probably you need to allow automated
 *   deletions" and deletes nothing when the group does not allow automated deletion.
 * - `auto_archive` documents are archived soon after signing, so they drop out of the default listing.
 * - The three webhook styles: the batched "all" form post (`data`, a JSON string of status changes, and
 *   `signed`, its base64 RSA PKCS#1 v1.5 SHA-1 signature), the legacy "signed" form post (`resource_uri`,
 *   `group`, `name`, `uuid`, `json_signed` and the `X-Signed` header), and realtime JSON events.
 *
 * Readings chosen where the reference says NOT FOUND:
 * - Error bodies are `{"detail": "..."}`. An unknown group, or one the key may not see, lists as 403.
 * - Dates are naive UTC with microseconds (`2018-03-20T07:09:52.123000`), as a Django/Tastypie API
 *   renders them; `modified_gt` and `created_gt` read a missing zone as UTC and refuse what they cannot
 *   read with 400. `limit=0` means the cap (100).
 * - Voiding a signed document sets status 40 too; its final PDF stays downloadable.
 * - Signed JSON (`data`, `json_signed`) is written the way Python's `json.dumps` writes it.
 * - Callbacks are posted once, never retried, and count as delivered on any 2xx.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { contentChunks, contentSize, type SimulatedPdf } from '../esignanywhere/simulated-file';
import { pythonJson, signCallbackData, testSigningKeyPem } from './legalesign-callback-signing';
import { LegalesignCallbackDispatcher, type LsOutgoingCallback } from './legalesign-callback.dispatcher';
import type {
  LegalesignSimulatorOptions,
  LsCallbackDelivery,
  LsCallbackKind,
  LsCreateDocumentOptions,
  LsCredentialLeak,
  LsDelivery,
  LsDocumentSnapshot,
  LsDocumentStatus,
  LsEffectiveSettings,
  LsEndpoint,
  LsFault,
  LsFaultRule,
  LsGroup,
  LsRealtimeEvent,
  LsRequestLogEntry,
  LsSettings,
  LsSigner,
  LsStatusChange,
} from './legalesign-simulator.types';

export * from './legalesign-simulator.types';
export {
  CALLBACK_SIGNING_CERT_PATH,
  CALLBACK_SIGNING_KEY_PATH,
  pythonJson,
  signWithTestKey,
  testSigningCertPem,
} from './legalesign-callback-signing';

const PREFIX = '/api/v1';
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;
const REQUEST_LOG_LIMIT = 100_000;
const URL_SETTINGS = ['batchUrl', 'signedUrl', 'realtimeUrl'] as const;
const COUNT_SETTINGS = [
  'redirectTtlMs',
  'dearchiveMs',
  'autoArchiveMs',
  'callsPerMinute',
  'callbackTimeoutMs',
] as const;
const SETTING_KEYS = [
  ...URL_SETTINGS,
  ...COUNT_SETTINGS,
  'signatureDigest',
  'realtimeEventPrefix',
] as const satisfies readonly (keyof LsSettings)[];
const DOCUMENT_STATUS_TEXT: Record<number, string> = {
  10: 'Initial',
  20: 'Sent',
  30: 'Signed',
  40: 'Removed',
  50: 'Rejected',
};
const SIGNER_STATUS_TEXT: Record<number, string> = { 10: 'Sent', 40: 'Signed', 60: 'Rejected' };

type PdfSource = SimulatedPdf | Buffer;

/** The snapshot's fields, with times in epoch ms and what only the simulator needs. */
interface DocumentRecord extends Omit<
  LsDocumentSnapshot,
  'signers' | 'created' | 'modified' | 'signTime' | 'hashValue'
> {
  appendHistory: boolean;
  signers: (LsSigner & { rejectReason: string })[];
  created: number;
  modified: number;
  signTime: number | null;
  pdf: PdfSource;
  finalSha256?: string;
  hashOverride?: string;
  dearchiveRequestedAt?: number;
}

interface KeyRecord {
  revoked: boolean;
  /** Slugs the key may see; every group when absent. */
  groups?: string[];
}

interface Outgoing {
  status: number;
  headers?: Record<string, string>;
  json?: unknown;
  xml?: string;
  pdf?: { source: PdfSource; fileName: string };
}

interface Route {
  endpoint: LsEndpoint;
  uuid?: string;
}

interface Exchange {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  entry: LsRequestLogEntry;
  faults: LsFault[];
}

class HttpError extends Error {
  constructor(readonly outgoing: Outgoing) {
    super(`HTTP ${outgoing.status}`);
  }
}

function detail(status: number, message: string, headers?: Record<string, string>): HttpError {
  return new HttpError({ status, json: { detail: message }, ...(headers && { headers }) });
}

const notFound = (): HttpError => detail(404, 'Not found.');

/** The download host looks like an object store: XML errors. */
function storeError(status: number, code: string, message: string): HttpError {
  return new HttpError({
    status,
    xml: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`,
  });
}

/** Naive UTC with microseconds, as the API renders date-times. */
function apiDate(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000');
}

/** ISO 8601 date or date-time, with or without seconds, fraction and zone; no zone is UTC. NaN if unreadable. */
function parseUtc(value: string): number {
  const m =
    /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(?::(\d{2})(?:\.(\d+))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/.exec(
      value,
    );
  if (!m) return NaN;
  const [, date, time = '00:00', seconds = '00', fraction = '', zone = 'Z'] = m;
  const offset = zone === 'Z' ? zone : `${zone.slice(0, 3)}:${zone.length > 3 ? zone.slice(-2) : '00'}`;
  return Date.parse(`${date}T${time}:${seconds}.${fraction.padEnd(3, '0').slice(0, 3)}${offset}`);
}

function parseQueryDate(value: string, name: string): number {
  const at = parseUtc(value);
  if (Number.isNaN(at)) throw detail(400, `Invalid date-time for ${name}: ${value}`);
  return at;
}

function parseCount(value: string | null, name: string, fallback: number): number {
  if (value === null || value === '') return fallback;
  if (!/^\d+$/.test(value)) throw detail(400, `Invalid ${name}: ${value}`);
  return Number(value);
}

function parseBoolean(value: string | null, name: string): boolean | undefined {
  if (value === null) return undefined;
  if (/^(true|1)$/i.test(value)) return true;
  if (/^(false|0)$/i.test(value)) return false;
  throw detail(400, `Invalid ${name}: ${value}`);
}

function toMs(value: string | number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const ms = typeof value === 'number' ? value : parseUtc(value);
  if (Number.isNaN(ms)) throw new Error(`invalid date ${String(value)}`);
  return ms;
}

function pdfSize(source: PdfSource): number {
  return Buffer.isBuffer(source) ? source.length : contentSize(source);
}

function pdfChunks(source: PdfSource): Iterable<Buffer> {
  return Buffer.isBuffer(source) ? [source] : contentChunks(source);
}

function digestOf(source: PdfSource): { sha256: string; size: number } {
  const hash = createHash('sha256');
  for (const chunk of pdfChunks(source)) hash.update(chunk);
  return { sha256: hash.digest('hex'), size: pdfSize(source) };
}

function routeOf(method: string, pathname: string): Route {
  if (!pathname.startsWith(`${PREFIX}/`) || !pathname.endsWith('/')) throw notFound();
  const segments = pathname.slice(PREFIX.length + 1, -1).split('/');
  const only = (allowed: string, route: Route): Route => {
    if (method !== allowed) throw detail(405, `Method "${method}" not allowed.`);
    return route;
  };
  const [resource, uuid, action] = segments;
  if (segments.length === 1 && resource === 'document') return only('GET', { endpoint: 'document.list' });
  if (segments.length === 1 && resource === 'group') return only('GET', { endpoint: 'group.list' });
  if (!uuid) throw notFound();
  if (segments.length === 2 && resource === 'pdf') return only('GET', { endpoint: 'pdf', uuid });
  if (resource !== 'document') throw notFound();
  if (segments.length === 2) {
    if (method === 'DELETE') return { endpoint: 'document.void', uuid };
    return only('GET', { endpoint: 'document.get', uuid });
  }
  if (segments.length === 3 && action === 'delete')
    return only('DELETE', { endpoint: 'document.delete', uuid });
  if (segments.length === 3 && action === 'auditlog') return only('GET', { endpoint: 'auditlog', uuid });
  throw notFound();
}

function describeFault(fault: LsFault): string {
  switch (fault.kind) {
    case 'status':
      return `status:${fault.status}`;
    case 'delay':
      return `delay:${fault.ms}`;
    case 'truncate':
    case 'stall':
      return `${fault.kind}:${fault.afterBytes}`;
    case 'rateLimit':
    case 'hang':
    case 'reset':
      return fault.kind;
  }
}

export class LegalesignSimulator {
  /** The configured API key, `username:secret`. */
  readonly apiKey: string;
  /** The key's user, whose URI documents carry in `user`. */
  readonly userId: string;
  private readonly options: LegalesignSimulatorOptions;
  private readonly privateKeyPem: string;
  private apiServer: http.Server | undefined;
  private downloadServer: http.Server | undefined;
  private apiOrigin: string | undefined;
  private downloadOrigin: string | undefined;
  private readonly sockets = new Set<Socket>();

  private settings: LsSettings = {};
  private readonly keys = new Map<string, KeyRecord>();
  private readonly groupRecords = new Map<string, LsGroup>();
  private readonly documents = new Map<string, DocumentRecord>();
  private readonly downloadTokens = new Map<string, { uuid: string; expiresAt: number }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private faultRules: { id: number; rule: LsFaultRule; remaining?: number }[] = [];
  private nextFaultId = 1;
  private log: LsRequestLogEntry[] = [];
  private nextSeq = 1;
  private leaks: LsCredentialLeak[] = [];
  private callTimes: number[] = [];
  private pending: LsStatusChange[] = [];
  private readonly callbacks = new LegalesignCallbackDispatcher();

  constructor(options: LegalesignSimulatorOptions = {}) {
    this.options = { ...options };
    this.apiKey = options.apiKey ?? `${randomUUID()}:${randomBytes(20).toString('hex')}`;
    if (!/^[^:\s]+:\S+$/.test(this.apiKey)) throw new Error('apiKey is username:secret');
    this.userId = this.apiKey.split(':')[0];
    this.privateKeyPem = options.privateKeyPem ?? testSigningKeyPem();
    this.reset();
  }

  // ------------------------------------------------------------------------------------------------
  // Lifecycle and URLs

  /** Starts the API and the download host on loopback; resolves to the API base (`.../api/v1`). */
  async start(): Promise<string> {
    if (this.apiServer) throw new Error('the simulator is already started');
    [this.apiServer, this.apiOrigin] = await this.listen('api');
    [this.downloadServer, this.downloadOrigin] = await this.listen('download');
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    this.callbacks.stop();
    this.clearTimers();
    const servers = [this.apiServer, this.downloadServer].filter((s): s is http.Server => !!s);
    this.apiServer = this.downloadServer = this.apiOrigin = this.downloadOrigin = undefined;
    const closed = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    for (const socket of this.sockets) socket.destroy();
    for (const server of servers) server.closeAllConnections();
    await Promise.all(closed);
  }

  /** `http://127.0.0.1:PORT` of the API server. */
  get url(): string {
    if (!this.apiOrigin) throw new Error('the simulator is not started');
    return this.apiOrigin;
  }

  /** `http://127.0.0.1:PORT/api/v1`. */
  get baseUrl(): string {
    return `${this.url}${PREFIX}`;
  }

  /** Origin of the host that `GET /pdf/` redirects to. */
  get downloadUrl(): string {
    if (!this.downloadOrigin) throw new Error('the simulator is not started');
    return this.downloadOrigin;
  }

  /** Forgets documents, keys (the configured one is valid again), groups, faults, logs and callbacks. */
  reset(): void {
    this.callbacks.reset();
    this.clearTimers();
    this.keys.clear();
    this.keys.set(this.apiKey, { revoked: false });
    this.groupRecords.clear();
    for (const group of this.options.groups ?? [{ slug: 'main-group', name: 'Main group' }])
      this.createGroup(group);
    this.documents.clear();
    this.downloadTokens.clear();
    this.faultRules = [];
    this.log = [];
    this.leaks = [];
    this.callTimes = [];
    this.pending = [];
    this.settings = {};
    this.configure(Object.fromEntries(SETTING_KEYS.map((k) => [k, this.options[k]])));
  }

  // ------------------------------------------------------------------------------------------------
  // Keys and groups

  /** Another valid key, optionally limited to some groups. */
  addApiKey(key: string, options: { groups?: string[] } = {}): void {
    this.keys.set(key, { revoked: false, ...(options.groups && { groups: [...options.groups] }) });
  }

  /** Later requests with the key get 401. */
  revokeApiKey(key: string = this.apiKey): boolean {
    const record = this.keys.get(key);
    if (!record) return false;
    record.revoked = true;
    return true;
  }

  createGroup(group: { slug: string; name?: string; automatedDeletion?: boolean }): LsGroup {
    if (!/^[\w-]+$/.test(group.slug)) throw new Error('a group slug is letters, digits, - and _');
    const record: LsGroup = {
      slug: group.slug,
      name: group.name ?? group.slug,
      automatedDeletion: group.automatedDeletion ?? true,
    };
    this.groupRecords.set(record.slug, record);
    return { ...record };
  }

  /** The group setting `DELETE /document/{uuid}/delete/` needs (default enabled). */
  allowAutomatedDeletion(slug: string, allowed: boolean): void {
    this.requireGroup(slug).automatedDeletion = allowed;
  }

  groups(): LsGroup[] {
    return [...this.groupRecords.values()].map((g) => ({ ...g }));
  }

  // ------------------------------------------------------------------------------------------------
  // Documents

  /** A sent document (status 20), signers at status 10. */
  createDocument(options: LsCreateDocumentOptions = {}): LsDocumentSnapshot {
    const group = this.requireGroup(options.group ?? this.groupRecords.keys().next().value ?? '');
    const uuid = randomUUID();
    const created = toMs(options.created, Date.now());
    const name = options.name ?? 'Simulated document';
    const signers = (options.signers?.length ? options.signers : [{}]).map((s, order) => ({
      uuid: randomUUID(),
      firstname: s.firstname ?? 'Signer',
      lastname: s.lastname ?? String(order + 1),
      email: s.email ?? `signer${order + 1}@example.test`,
      tel: s.tel ?? '',
      order,
      status: 10 as const,
      rejectReason: '',
    }));
    const pdf = Buffer.isBuffer(options.pdfBytes)
      ? Buffer.from(options.pdfBytes)
      : {
          kind: 'pdf' as const,
          size: options.pdfBytes ?? 20_000,
          seed: `${uuid}:final`,
          title: name,
          pages: 1,
        };
    const record: DocumentRecord = {
      uuid,
      name,
      group: group.slug,
      status: 20,
      archived: false,
      autoArchive: options.autoArchive ?? false,
      appendHistory: options.appendHistory ?? false,
      deleted: false,
      delivery: options.delivery ?? 'direct',
      tag: options.tags?.tag ?? '',
      tag1: options.tags?.tag1 ?? '',
      tag2: options.tags?.tag2 ?? '',
      signers,
      created,
      modified: toMs(options.modified, created),
      signTime: null,
      pdf,
    };
    this.documents.set(uuid, record);
    return this.snapshot(record);
  }

  getDocument(uuid: string): LsDocumentSnapshot | undefined {
    const record = this.documents.get(uuid);
    return record ? this.snapshot(record) : undefined;
  }

  /**
   * Every signer signs (40), the document is signed (30) with its final PDF and `hash_value`; the status
   * changes queue for the next batch, and the "signed" and realtime `finalPdfCreated` callbacks are sent.
   */
  signDocument(uuid: string, options: { at?: string | number } = {}): LsDocumentSnapshot {
    const record = this.requireOpen(uuid);
    const at = toMs(options.at, Date.now());
    for (const signer of record.signers) {
      signer.status = 40;
      this.queueChange(`${PREFIX}/signer/${signer.uuid}/`, 40, at);
    }
    record.status = 30;
    record.signTime = record.modified = at;
    this.queueChange(this.documentUri(record), 30, at);
    this.sendSigned(record);
    void this.fireRealtime(uuid, this.realtimeName('finalPdfCreated'));
    if (record.autoArchive) {
      const wait = this.currentSettings().autoArchiveMs;
      if (wait === 0) this.applyArchive(record);
      else this.later(wait, () => this.applyArchive(record));
    }
    return this.snapshot(record);
  }

  /** One signer (default the first) rejects: signer 60, document 50, a realtime `rejected` event. */
  rejectDocument(uuid: string, options: { signer?: number; reason?: string } = {}): LsDocumentSnapshot {
    const record = this.requireOpen(uuid);
    const signer = record.signers[options.signer ?? 0];
    if (!signer) throw new Error(`no signer ${options.signer}`);
    const at = Date.now();
    signer.status = 60;
    signer.rejectReason = options.reason ?? 'I do not agree.';
    this.queueChange(`${PREFIX}/signer/${signer.uuid}/`, 60, at);
    record.status = 50;
    record.modified = at;
    this.queueChange(this.documentUri(record), 50, at);
    void this.fireRealtime(uuid, this.realtimeName('rejected'));
    return this.snapshot(record);
  }

  /** Archives as the platform or a user would (status unchanged). */
  archiveDocument(uuid: string): LsDocumentSnapshot {
    const record = this.requireLive(uuid);
    this.applyArchive(record);
    return this.snapshot(record);
  }

  /** Voids as the sender would (`DELETE /document/{uuid}/`): status 40 and archived. */
  voidDocument(uuid: string): LsDocumentSnapshot {
    const record = this.requireLive(uuid);
    this.applyArchive(record, 40);
    return this.snapshot(record);
  }

  /** Ends de-archiving: `GET /pdf/` serves the PDF directly. */
  restore(uuid: string): LsDocumentSnapshot {
    return this.setDelivery(uuid, 'direct');
  }

  setDelivery(uuid: string, mode: LsDelivery): LsDocumentSnapshot {
    const record = this.requireLive(uuid);
    record.delivery = mode;
    delete record.dearchiveRequestedAt;
    return this.snapshot(record);
  }

  /** Makes `hash_value` answer this value instead of the final PDF's sha256; undefined restores it. */
  setHashValue(uuid: string, value: string | undefined): LsDocumentSnapshot {
    const record = this.requireLive(uuid);
    if (value === undefined) delete record.hashOverride;
    else record.hashOverride = value;
    return this.snapshot(record);
  }

  /** sha256 and size of the bytes served for the final PDF or the audit log. */
  expectedFile(uuid: string, kind: 'final' | 'auditlog' = 'final'): { sha256: string; size: number } {
    const record = this.documents.get(uuid);
    if (!record) throw new Error(`unknown document ${uuid}`);
    return digestOf(kind === 'final' ? record.pdf : this.auditPdf(record));
  }

  // ------------------------------------------------------------------------------------------------
  // Callbacks

  /** Status changes not yet delivered in a batch, oldest first. */
  pendingChanges(): LsStatusChange[] {
    return this.pending.map((c) => ({ ...c }));
  }

  /**
   * Sends the pending changes as one batch ("all") callback; they are dropped from the pending list only
   * when the receiver answers 2xx. Null when no batch URL is set or nothing is pending.
   */
  async flushBatch(): Promise<LsCallbackDelivery | null> {
    const count = this.pending.length;
    if (count === 0 || !this.currentSettings().batchUrl) return null;
    const data = pythonJson(this.pending.slice(0, count));
    const delivery = await this.sendBatch(data, this.sign(data));
    if (delivery?.state === 'delivered') this.pending.splice(0, count);
    return delivery;
  }

  /** Posts any `data` and `signed` values as a batch: forged, replayed or tampered ones included. */
  async sendBatch(data: string, signature: string): Promise<LsCallbackDelivery | null> {
    const url = this.currentSettings().batchUrl;
    if (!url) return null;
    const body = new URLSearchParams({ data, signed: signature }).toString();
    return this.post({ kind: 'batch', url, uuid: null, headers: formHeaders(), body, data, signature });
  }

  /** Posts a realtime event of any name about a document; null when no realtime URL is set. */
  async fireRealtime(uuid: string, event: string, object = 'document'): Promise<LsCallbackDelivery | null> {
    const record = this.documents.get(uuid);
    if (!record) throw new Error(`unknown document ${uuid}`);
    const url = this.currentSettings().realtimeUrl;
    if (!url) return null;
    const body: LsRealtimeEvent = {
      version: '1',
      object,
      event,
      id: randomUUID(),
      created: Math.floor(Date.now() / 1000),
      data: {
        uuid,
        name: record.name,
        status: record.status,
        statusText: DOCUMENT_STATUS_TEXT[record.status],
        tag: record.tag,
        tag1: record.tag1,
        tag2: record.tag2,
        group: record.group,
        groupResourceUri: this.groupUri(record.group),
        resourceUri: this.documentUri(record),
        recipients: record.signers.map((s) => ({
          uuid: s.uuid,
          email: s.email,
          firstname: s.firstname,
          lastname: s.lastname,
          order: s.order,
          status: s.status,
          statusText: SIGNER_STATUS_TEXT[s.status],
          roleText: 'Signer',
          resourceUri: `${PREFIX}/signer/${s.uuid}/`,
          rejectReason: s.rejectReason,
        })),
      },
    };
    return this.post({
      kind: 'realtime',
      url,
      uuid,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      event: body,
    });
  }

  callbackDeliveries(filter: { kind?: LsCallbackKind; uuid?: string } = {}): LsCallbackDelivery[] {
    return this.callbacks.list(filter);
  }

  /** Resolves when every callback sent so far has been answered or has failed. */
  callbacksIdle(): Promise<void> {
    return this.callbacks.idle();
  }

  /** Requests to the download host that carried an Authorization header (each was refused with 403). */
  credentialLeaks(): LsCredentialLeak[] {
    return this.leaks.map((l) => ({ ...l }));
  }

  // ------------------------------------------------------------------------------------------------
  // Faults, log, settings

  addFault(rule: LsFaultRule): number {
    if (rule.times !== undefined && (!Number.isInteger(rule.times) || rule.times < 1))
      throw new Error('times must be a positive integer');
    const id = this.nextFaultId++;
    this.faultRules.push({ id, rule, ...(rule.times !== undefined && { remaining: rule.times }) });
    return id;
  }

  removeFault(id: number): boolean {
    const before = this.faultRules.length;
    this.faultRules = this.faultRules.filter((f) => f.id !== id);
    return this.faultRules.length < before;
  }

  clearFaults(): void {
    this.faultRules = [];
  }

  /** Requests received by both hosts, oldest first. */
  requests(
    filter: { endpoint?: LsEndpoint; uuid?: string; host?: 'api' | 'download' } = {},
  ): LsRequestLogEntry[] {
    return this.log
      .filter(
        (e) =>
          (filter.endpoint === undefined || e.endpoint === filter.endpoint) &&
          (filter.uuid === undefined || e.uuid === filter.uuid) &&
          (filter.host === undefined || e.host === filter.host),
      )
      .map((e) => structuredClone(e));
  }

  clearRequests(): void {
    this.log = [];
  }

  /** Changes settings; keys left out keep their value, `undefined` restores the default. */
  configure(settings: LsSettings): LsEffectiveSettings {
    const unknown = Object.keys(settings).filter((k) => !(SETTING_KEYS as readonly string[]).includes(k));
    if (unknown.length > 0) throw new Error(`unknown settings: ${unknown.join(', ')}`);
    const next: Record<string, unknown> = { ...this.settings };
    for (const [key, value] of Object.entries(settings)) {
      if (value === undefined) delete next[key];
      else next[key] = value;
    }
    const checked = next as LsSettings;
    for (const key of URL_SETTINGS) if (checked[key] !== undefined) new URL(checked[key]);
    for (const key of COUNT_SETTINGS) {
      const value = checked[key];
      if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0))
        throw new Error(`${key} is a whole number >= 0`);
    }
    if (checked.signatureDigest !== undefined && !['sha1', 'sha256'].includes(checked.signatureDigest))
      throw new Error('signatureDigest is sha1 or sha256');
    this.settings = checked;
    return this.currentSettings();
  }

  currentSettings(): LsEffectiveSettings {
    const s = this.settings;
    return {
      ...s,
      signatureDigest: s.signatureDigest ?? 'sha1',
      realtimeEventPrefix: s.realtimeEventPrefix ?? false,
      redirectTtlMs: s.redirectTtlMs ?? 60_000,
      autoArchiveMs: s.autoArchiveMs ?? 0,
      callbackTimeoutMs: s.callbackTimeoutMs ?? 10_000,
    };
  }

  // ------------------------------------------------------------------------------------------------
  // State helpers

  private requireGroup(slug: string): LsGroup {
    const group = this.groupRecords.get(slug);
    if (!group) throw new Error(`unknown group ${slug}`);
    return group;
  }

  private requireLive(uuid: string): DocumentRecord {
    const record = this.documents.get(uuid);
    if (!record || record.deleted) throw new Error(`unknown or deleted document ${uuid}`);
    return record;
  }

  private requireOpen(uuid: string): DocumentRecord {
    const record = this.requireLive(uuid);
    if (record.status !== 10 && record.status !== 20)
      throw new Error(`document ${uuid} has status ${record.status}, not 10 or 20`);
    return record;
  }

  private applyArchive(record: DocumentRecord, status?: LsDocumentStatus): void {
    if (record.deleted) return;
    const at = Date.now();
    record.archived = true;
    record.modified = at;
    if (status !== undefined && record.status !== status) {
      record.status = status;
      this.queueChange(this.documentUri(record), status, at);
    }
  }

  private queueChange(resourceUri: string, value: number, at: number): void {
    this.pending.push({
      timestamp: new Date(at).toISOString().slice(0, 19),
      name: 'status',
      value: String(value),
      resource_uri: resourceUri,
    });
  }

  private realtimeName(event: string): string {
    return this.currentSettings().realtimeEventPrefix ? `document.${event}` : event;
  }

  private sendSigned(record: DocumentRecord): void {
    const url = this.currentSettings().signedUrl;
    if (!url) return;
    const fields = {
      resource_uri: this.documentUri(record),
      group: this.groupUri(record.group),
      name: record.name,
      uuid: record.uuid,
    };
    const data = pythonJson(fields);
    const signature = this.sign(data);
    const body = new URLSearchParams({ ...fields, json_signed: data }).toString();
    void this.post({
      kind: 'signed',
      url,
      uuid: record.uuid,
      headers: { ...formHeaders(), 'X-Signed': signature },
      body,
      data,
      signature,
    });
  }

  private post(outgoing: LsOutgoingCallback): Promise<LsCallbackDelivery> {
    return this.callbacks.send(outgoing, this.currentSettings().callbackTimeoutMs);
  }

  private sign(data: string): string {
    return signCallbackData(data, this.currentSettings().signatureDigest, this.privateKeyPem);
  }

  private later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  private clearTimers(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private documentUri(record: DocumentRecord): string {
    return `${PREFIX}/document/${record.uuid}/`;
  }

  private groupUri(slug: string): string {
    return `${PREFIX}/group/${slug}/`;
  }

  private finalSha256(record: DocumentRecord): string {
    record.finalSha256 ??= digestOf(record.pdf).sha256;
    return record.finalSha256;
  }

  private auditPdf(record: DocumentRecord): SimulatedPdf {
    return {
      kind: 'pdf',
      size: 4_000,
      seed: `${record.uuid}:auditlog`,
      title: `Audit log ${record.name}`,
      pages: 1,
    };
  }

  private snapshot(record: DocumentRecord): LsDocumentSnapshot {
    const iso = (ms: number): string => new Date(ms).toISOString();
    const { uuid, name, group, status, archived, autoArchive, deleted, delivery, tag, tag1, tag2 } = record;
    return {
      ...{ uuid, name, group, status, archived, autoArchive, deleted, delivery, tag, tag1, tag2 },
      signers: record.signers.map(({ rejectReason: _, ...s }) => ({ ...s })),
      created: iso(record.created),
      modified: iso(record.modified),
      signTime: record.signTime === null ? null : iso(record.signTime),
      hashValue: this.hashValue(record),
    };
  }

  private hashValue(record: DocumentRecord): string | null {
    if (record.hashOverride !== undefined) return record.hashOverride;
    return record.signTime === null ? null : this.finalSha256(record);
  }

  // ------------------------------------------------------------------------------------------------
  // JSON

  private documentJson(record: DocumentRecord, withSigners: boolean): Record<string, unknown> {
    const json: Record<string, unknown> = {
      uuid: record.uuid,
      resource_uri: this.documentUri(record),
      name: record.name,
      group: this.groupUri(record.group),
      user: `${PREFIX}/user/${this.userId}/`,
      status: record.status,
      archived: record.archived,
      auto_archive: record.autoArchive,
      download_final: record.signTime !== null,
      hash_value: this.hashValue(record),
      created: apiDate(record.created),
      modified: apiDate(record.modified),
      sign_time: record.signTime === null ? null : apiDate(record.signTime),
      tag: record.tag,
      tag1: record.tag1,
      tag2: record.tag2,
      append_history: record.appendHistory,
      append_pdf: false,
      template: null,
      templatepdf: null,
      redirect: '',
      cc_emails: '',
      pdf_password: null,
      pdf_password_type: null,
    };
    if (withSigners) {
      json.signers = record.signers.map((s) => [
        `${PREFIX}/signer/${s.uuid}/`,
        s.firstname,
        s.lastname,
        s.email,
        s.tel,
        false,
        s.status,
        s.order,
      ]);
      json.signer_objects = record.signers.map((s) => ({
        uuid: s.uuid,
        resource_uri: `${PREFIX}/signer/${s.uuid}/`,
        firstname: s.firstname,
        lastname: s.lastname,
        email: s.email,
        tel: s.tel,
        order: s.order,
        role: 'signer',
        status: s.status,
      }));
    }
    return json;
  }

  private page(items: unknown[], query: URLSearchParams, path: string): unknown {
    const requested = parseCount(query.get('limit'), 'limit', DEFAULT_LIMIT);
    const limit = requested === 0 ? MAX_LIMIT : Math.min(requested, MAX_LIMIT);
    const offset = parseCount(query.get('offset'), 'offset', 0);
    const link = (at: number): string => {
      const params = new URLSearchParams(query);
      params.set('limit', String(limit));
      params.set('offset', String(at));
      return `${PREFIX}${path}?${params.toString()}`;
    };
    return {
      meta: {
        limit,
        next: offset + limit < items.length ? link(offset + limit) : null,
        offset,
        previous: offset > 0 ? link(Math.max(0, offset - limit)) : null,
        total_count: items.length,
      },
      objects: items.slice(offset, offset + limit),
    };
  }

  private visibleGroup(key: KeyRecord, slug: string): boolean {
    return this.groupRecords.has(slug) && (key.groups === undefined || key.groups.includes(slug));
  }

  private listDocuments(query: URLSearchParams, key: KeyRecord): unknown {
    const group = query.get('group');
    if (!group) throw detail(400, 'The group parameter is required.');
    if (!this.visibleGroup(key, group)) throw detail(403, 'You do not have permission to access this group.');
    const archived = parseBoolean(query.get('archived'), 'archived') ?? false;
    const statusText = query.get('status');
    const status = statusText === null ? undefined : parseCount(statusText, 'status', 0);
    const email = query.get('email')?.toLowerCase();
    const createdText = query.get('created_gt');
    const modifiedText = query.get('modified_gt');
    const createdGt = createdText === null ? undefined : parseQueryDate(createdText, 'created_gt');
    const modifiedGt = modifiedText === null ? undefined : parseQueryDate(modifiedText, 'modified_gt');
    const withSigners = parseBoolean(query.get('nosigners'), 'nosigners') !== true;
    const matches = [...this.documents.values()]
      .filter(
        (d) =>
          !d.deleted &&
          d.group === group &&
          d.archived === archived &&
          (status === undefined || d.status === status) &&
          (email === undefined || d.signers.some((s) => s.email.toLowerCase() === email)) &&
          (createdGt === undefined || d.created > createdGt) &&
          (modifiedGt === undefined || d.modified > modifiedGt),
      )
      .sort((a, b) => a.modified - b.modified || (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0));
    return this.page(
      matches.map((d) => this.documentJson(d, withSigners)),
      query,
      '/document/',
    );
  }

  // ------------------------------------------------------------------------------------------------
  // HTTP

  private async listen(host: 'api' | 'download'): Promise<[http.Server, string]> {
    const server = http.createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
      this.serve(host, req, res).catch((error: unknown) => {
        if (res.headersSent) res.destroy();
        else
          res
            .writeHead(500, { 'Content-Type': 'application/json' })
            .end(JSON.stringify({ detail: String(error) }));
      });
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return [server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`];
  }

  private async serve(
    host: 'api' | 'download',
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    const entry: LsRequestLogEntry = {
      seq: this.nextSeq++,
      at: new Date().toISOString(),
      host,
      endpoint: 'unknown',
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authorization: req.headers.authorization !== undefined,
      status: null,
      outcome: 'complete',
      faults: [],
    };
    this.log.push(entry);
    if (this.log.length > REQUEST_LOG_LIMIT) this.log.splice(0, this.log.length - REQUEST_LOG_LIMIT);
    res.once('close', () => {
      if (entry.outcome === 'complete' && !res.writableFinished) entry.outcome = 'client-closed';
    });
    const exchange: Exchange = { req, res, entry, faults: [] };
    req.resume();
    try {
      const route = host === 'api' ? routeOf(method, url.pathname) : downloadRoute(method, url.pathname);
      entry.endpoint = route.endpoint;
      if (route.uuid !== undefined) entry.uuid = route.uuid;
      if (host === 'api') this.throttle();
      exchange.faults = this.matchFaults(route);
      entry.faults = exchange.faults.map(describeFault);
      if (!(await this.applyFaults(exchange))) return;
      const outgoing = host === 'api' ? this.api(req, route, url) : this.download(req, route, url);
      await this.send(exchange, outgoing);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      await this.send(exchange, error.outgoing);
    }
  }

  private throttle(): void {
    const limit = this.currentSettings().callsPerMinute;
    if (limit === undefined) return;
    const now = Date.now();
    this.callTimes = this.callTimes.filter((t) => t > now - 60_000);
    if (this.callTimes.length >= limit) {
      const seconds = Math.max(1, Math.ceil((this.callTimes[0] + 60_000 - now) / 1000));
      throw detail(429, `Request was throttled. Expected available in ${seconds} seconds.`, {
        'Retry-After': String(seconds),
      });
    }
    this.callTimes.push(now);
  }

  private matchFaults(route: Route): LsFault[] {
    const matched: LsFault[] = [];
    for (const entry of this.faultRules) {
      const { endpoint, uuid, fault } = entry.rule;
      if (endpoint !== undefined && ![endpoint].flat().includes(route.endpoint)) continue;
      if (uuid !== undefined && uuid !== route.uuid) continue;
      matched.push(fault);
      if (entry.remaining !== undefined) entry.remaining--;
    }
    this.faultRules = this.faultRules.filter((e) => e.remaining === undefined || e.remaining > 0);
    return matched;
  }

  /** Applies the faults that act before handling; false when the request gets no answer. */
  private async applyFaults(exchange: Exchange): Promise<boolean> {
    const { req, res, entry, faults } = exchange;
    const wait = faults.reduce((sum, f) => sum + (f.kind === 'delay' ? f.ms : 0), 0);
    if (wait > 0) await delay(wait);
    if (res.destroyed) return false;
    for (const fault of faults) {
      switch (fault.kind) {
        case 'status':
          throw new HttpError({
            status: fault.status,
            json: fault.body ?? { detail: `Simulated HTTP ${fault.status}` },
            ...(fault.headers && { headers: fault.headers }),
          });
        case 'rateLimit':
          throw detail(429, 'Request was throttled.', { 'Retry-After': String(fault.retryAfter ?? 1) });
        case 'hang':
          entry.outcome = 'hung';
          return false;
        case 'reset':
          entry.outcome = 'reset';
          req.socket.resetAndDestroy();
          return false;
        case 'delay':
        case 'truncate':
        case 'stall':
          break;
      }
    }
    return true;
  }

  private authenticate(req: http.IncomingMessage): KeyRecord {
    const header = req.headers.authorization;
    if (header === undefined || header.trim() === '')
      throw detail(401, 'Authentication credentials were not provided.');
    const record = this.keys.get(header.trim().replace(/^apikey\s+/i, ''));
    if (!record || record.revoked) throw detail(401, 'Invalid API key.');
    return record;
  }

  private api(req: http.IncomingMessage, route: Route, url: URL): Outgoing {
    const key = this.authenticate(req);
    if (route.endpoint === 'document.list')
      return { status: 200, json: this.listDocuments(url.searchParams, key) };
    if (route.endpoint === 'group.list') {
      const groups = [...this.groupRecords.values()]
        .filter((g) => this.visibleGroup(key, g.slug))
        .map((g) => ({
          resource_uri: this.groupUri(g.slug),
          slug: g.slug,
          name: g.name,
          public_name: g.name,
        }));
      return { status: 200, json: this.page(groups, url.searchParams, '/group/') };
    }
    const record = this.documents.get(route.uuid ?? '');
    if (!record || record.deleted || !this.visibleGroup(key, record.group)) throw notFound();
    switch (route.endpoint) {
      case 'document.get':
        return { status: 200, json: this.documentJson(record, true) };
      case 'auditlog':
        return {
          status: 200,
          pdf: { source: this.auditPdf(record), fileName: `${record.uuid}-auditlog.pdf` },
        };
      case 'document.void':
        this.applyArchive(record, 40);
        return { status: 204 };
      case 'document.delete':
        if (!this.requireGroup(record.group).automatedDeletion)
          return {
            status: 200,
            json: { detail: 'Something went wrong, probably you need to allow automated deletions' },
          };
        record.deleted = true;
        return { status: 204 };
      case 'pdf':
        return this.finalPdf(record);
      case 'pdf.download':
        throw notFound();
    }
  }

  private finalPdf(record: DocumentRecord): Outgoing {
    if (record.signTime === null) throw detail(400, 'Final PDF not available');
    const now = Date.now();
    if (record.delivery === 'dearchive') {
      const wait = this.currentSettings().dearchiveMs;
      record.dearchiveRequestedAt ??= now;
      if (wait === undefined || now - record.dearchiveRequestedAt < wait)
        return { status: 201, json: { detail: 'Being de-archived, available in 4 hours' } };
      this.setDelivery(record.uuid, 'direct');
    }
    if (record.delivery === 'redirect') {
      const token = randomBytes(24).toString('base64url');
      const expiresAt = now + this.currentSettings().redirectTtlMs;
      this.downloadTokens.set(token, { uuid: record.uuid, expiresAt });
      const location = `${this.downloadUrl}/files/${record.uuid}/final.pdf?token=${token}&expires=${Math.floor(expiresAt / 1000)}`;
      return { status: 302, headers: { Location: location }, json: { detail: 'Found' } };
    }
    return { status: 200, pdf: { source: record.pdf, fileName: `${record.name}.pdf` } };
  }

  private download(req: http.IncomingMessage, route: Route, url: URL): Outgoing {
    const header = req.headers.authorization;
    if (header !== undefined) {
      this.leaks.push({
        at: new Date().toISOString(),
        path: url.pathname,
        uuid: route.uuid ?? null,
        scheme: header.trim().split(/\s+/)[0] ?? '',
        apiKey: this.keys.has(header.trim().replace(/^apikey\s+/i, '')),
      });
      throw storeError(403, 'AccessDenied', 'Only one auth mechanism allowed');
    }
    const token = this.downloadTokens.get(url.searchParams.get('token') ?? '');
    if (!token || token.uuid !== route.uuid) throw storeError(403, 'AccessDenied', 'Invalid token');
    if (token.expiresAt <= Date.now()) throw storeError(403, 'AccessDenied', 'Request has expired');
    const record = this.documents.get(token.uuid);
    if (!record || record.deleted) throw storeError(404, 'NoSuchKey', 'The specified key does not exist.');
    return { status: 200, pdf: { source: record.pdf, fileName: `${record.name}.pdf` } };
  }

  private async send(exchange: Exchange, outgoing: Outgoing): Promise<void> {
    const { res, entry, faults } = exchange;
    if (res.destroyed) return;
    const headers: Record<string, string> = { ...(outgoing.headers ?? {}) };
    let chunks: Iterable<Buffer> = [];
    let length = 0;
    if (outgoing.pdf) {
      chunks = pdfChunks(outgoing.pdf.source);
      length = pdfSize(outgoing.pdf.source);
      headers['Content-Type'] = 'application/pdf';
      headers['Content-Disposition'] =
        `attachment; filename*=UTF-8''${encodeURIComponent(outgoing.pdf.fileName)}`;
    } else if (outgoing.json !== undefined || outgoing.xml !== undefined) {
      const body = Buffer.from(outgoing.xml ?? JSON.stringify(outgoing.json), 'utf8');
      chunks = [body];
      length = body.length;
      headers['Content-Type'] = outgoing.xml === undefined ? 'application/json' : 'application/xml';
    }
    if (outgoing.status !== 204) headers['Content-Length'] = String(length);
    res.writeHead(outgoing.status, headers);
    entry.status = outgoing.status;
    const cut = faults.find(
      (f): f is Extract<LsFault, { kind: 'truncate' | 'stall' }> =>
        f.kind === 'truncate' || f.kind === 'stall',
    );
    const limit = cut ? Math.min(cut.afterBytes, length) : length;
    let sent = 0;
    for (const chunk of chunks) {
      if (sent >= limit) break;
      const piece = chunk.subarray(0, limit - sent);
      if (!(await write(res, piece))) return;
      sent += piece.length;
    }
    if (sent >= length) {
      res.end();
      return;
    }
    // A stalled answer stays open and silent until the client gives up or the simulator stops.
    entry.outcome = cut?.kind === 'stall' ? 'stalled' : 'truncated';
    if (entry.outcome === 'stalled') return;
    await new Promise<void>((resolve) => res.write('', () => resolve()));
    res.socket?.destroy();
  }
}

function downloadRoute(method: string, pathname: string): Route {
  const m = /^\/files\/([^/]+)\/final\.pdf$/.exec(pathname);
  if (!m) throw storeError(404, 'NoSuchKey', 'The specified key does not exist.');
  if (method !== 'GET') throw storeError(405, 'MethodNotAllowed', 'The method is not allowed.');
  return { endpoint: 'pdf.download', uuid: m[1] };
}

function formHeaders(): Record<string, string> {
  return { 'Content-Type': 'application/x-www-form-urlencoded' };
}

function write(res: http.ServerResponse, chunk: Buffer): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  if (res.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onDrain = (): void => {
      res.off('close', onClose);
      resolve(true);
    };
    const onClose = (): void => {
      res.off('drain', onDrain);
      resolve(false);
    };
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}
