/**
 * A strict simulator of the OneSpan Sign REST API and of Conga Sign's gateway in front of it, served over
 * real HTTP on loopback (see /work/shared/reference/onespan-conga-legalesign-apis.md §1 and §2, and
 * esign-platform-apis.md §8).
 *
 * Reproduced from the platform:
 * - Both path styles on one server, same resources and JSON: OneSpan's `/api/packages/...` and Conga's
 *   gateway `/api/sign/v1/cs-packages/...` (also in the other segment order, `/v1/sign/cs-packages/...`,
 *   which one Conga page shows).
 * - Three ways to authenticate. On OneSpan paths: the account API key as `Authorization: Basic <key>`
 *   (the key as given, never base64 of anything), OAuth 2.0 client credentials from `POST /oauth2/token`
 *   (form `grant_type=client_credentials`, client id and secret by HTTP Basic or form fields, answer
 *   `{access_token, token_type: "Bearer", expires_in: 300, scope}`, a JWT with `exp`), and client-app
 *   tokens from `POST /apitoken/clientApp/accessToken` (`{accessToken, expiresAt}`). On Conga paths only
 *   Conga tokens from `POST /api/v1/auth/connect/token` (form `client_id`, `client_secret`,
 *   `scope=sign`, `grant_type=client_credentials`; 3600 s; errors `ERROR_AUTHENTICATION_HEADER`,
 *   `ERROR_AUTHENTICATION_NOT_VALID`, `ERROR_AUTHENTICATION_CLIENT_DISABLED`). Tokens expire. The
 *   account's methods are exclusive when `authMethod` says so.
 * - Answers carry `Content-Type: application/json; esl-api-version=11.68.0`; media-type parameters on
 *   requests are ignored.
 * - Package JSON with the JSDK field names; `status` one of the seven; trash is the boolean `trashed`;
 *   `data` is the free string map; `documents[]` starts with `default-consent`, whose
 *   `data.esl_doc_accepted_by_signers` lists the signers who accepted it.
 * - Package ids are 28 characters of base64 of 20 bytes with `=` padding, case-sensitive, by default in the
 *   URL-safe alphabet (`-`, `_`) like `5n4obeO8jYoPp126Cm-Y3fxdfbo=`.
 * - `GET .../documents/{docId}/pdf` and `/original`, `GET .../evidence/summary`: PDF bytes with
 *   `Content-Disposition: attachment; filename*=UTF-8''...`. `GET .../audit`:
 *   `{"package-id", "audit-events": [{type, date-time, target, target-type, user, user-email, user-ip,
 *   data}]}`, or 404/403 when the account has it turned off (`audit`).
 * - `POST` or `PUT .../packages/{id}` with `{"trashed": true|false}` trashes or restores, with
 *   `{"status": "ARCHIVED"}` archives a COMPLETED package, `{"status": "COMPLETED"}` un-archives it.
 *   `DELETE .../packages/{id}` deletes for good: every later read is 404.
 * - The listing `GET .../packages` with `query` (a status name or a folder `drafts|inbox|trashed`, any
 *   case), `from`/`to` (1-based inclusive, 0 read as 1, at most 100 per page), the last-updated range in
 *   all three spellings (`startDate`/`endDate`, `lastUpdatedStartDate`/`lastUpdatedEndDate`, both
 *   inclusive), `predefined`, `sort`/`dir`, `fields=id`, `ownerUserId`/`ownerEmail`; answers
 *   `{results, count}` with `count` the total over all pages. Trashed packages are hidden unless
 *   `query=trashed`. Without an owner filter it lists the caller's own packages.
 * - Callbacks: one POST of an `ESLProcessEvent` per event to the callback URL, authenticated per instance
 *   as OneSpan does (`Basic {callbackKey}`, raw) or as Conga's registration does (`Basic
 *   base64(username:password)` or `Bearer {token}`), or not at all; 20 s timeout; never retried; a
 *   failure e-mail to the sender is recorded instead.
 *
 * Readings chosen where the reference says NOT FOUND (each documented where it is implemented):
 * - Error bodies `{"code", "messageKey", "message", "name"}` (the shape OneSpan's API answers with; the
 *   reference has no schema). 401 for a missing, unknown, revoked, expired or refused credential.
 * - Another sender's package is 403 `error.forbidden` for a non-owner credential.
 * - `DELETE` and the status updates answer 200 with an empty body; deleting a COMPLETED package is
 *   allowed. The evidence summary is served in every status.
 * - Listing default page is `from=1&to=10`, sorted by `updated` descending; `query=DRAFT`/`drafts` also
 *   lists DECLINED, EXPIRED and OPTED_OUT packages (the docs: the Drafts folder "includes ... expired and
 *   declined"); `inbox` lists SENT, COMPLETED and ARCHIVED.
 * - Dates in package JSON are ISO 8601 without milliseconds (`2018-06-30T20:15:01Z`), `completed` is null
 *   until the package completes; callback `createdDate` has milliseconds as in the documented payloads.
 * - A callback counts as delivered only on HTTP 200 (the docs say "return an HTTP status code 200").
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { contentChunks, contentSize, type SimulatedContent } from '../esignanywhere/simulated-file';
import { OnespanCallbackDispatcher } from './onespan-callback.dispatcher';
import { handleOnespanControlRequest } from './onespan-control.api';
import {
  OSS_PACKAGE_STATUSES,
  type OnespanSimulatorOptions,
  type OssCallbackDelivery,
  type OssCallbackFailureNotice,
  type OssClient,
  type OssCreatePackageOptions,
  type OssCreateSenderOptions,
  type OssCredentialKind,
  type OssCredentialState,
  type OssDocument,
  type OssEndpoint,
  type OssFault,
  type OssFaultRule,
  type OssFinishStatus,
  type OssPackageSnapshot,
  type OssPackageStatus,
  type OssPathStyle,
  type OssProcessEvent,
  type OssRequestLogEntry,
  type OssSender,
  type OssSettings,
  type OssSigner,
} from './onespan-simulator.types';

export * from './onespan-simulator.types';

const MAX_REQUEST_BODY = 1024 * 1024;
const REQUEST_LOG_LIMIT = 100_000;
const MAX_PAGE = 100;
const CONSENT_ID = 'default-consent';
const PACKAGE_ID = /^[A-Za-z0-9+/_-]{27}=$/;
const SETTING_KEYS = [
  'authMethod',
  'audit',
  'callbackUrl',
  'callbackAuth',
  'callbackEvents',
  'callbackTimeoutMs',
  'apiVersion',
  'packageIdAlphabet',
] as const satisfies readonly (keyof OssSettings)[];

interface DocumentRecord extends OssDocument {
  pages: number;
  data: Record<string, string>;
}

interface PackageRecord {
  id: string;
  name: string;
  status: OssPackageStatus;
  trashed: boolean;
  deleted: boolean;
  senderId: string;
  data: Record<string, string>;
  signers: OssSigner[];
  documents: DocumentRecord[];
  created: string;
  updated: string;
  completed: string | null;
  /** Bumped on every change, so the signed PDF differs from the flattened one served before. */
  version: number;
}

interface CredentialRecord {
  kind: OssCredentialKind;
  senderId: string;
  revoked: boolean;
  clientId?: string;
  /** Epoch ms; absent for API keys. */
  expiresAt?: number;
}

interface ClientRecord extends Required<OssClient> {
  kind: 'oauth2' | 'conga';
  disabled: boolean;
}

interface FaultEntry {
  id: number;
  rule: OssFaultRule;
  remaining?: number;
}

interface Outgoing {
  status: number;
  headers?: Record<string, string>;
  json?: unknown;
  text?: string;
  file?: { content: SimulatedContent; fileName: string };
}

interface Exchange {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  entry: OssRequestLogEntry;
  faults: OssFault[];
}

interface Route {
  endpoint: OssEndpoint;
  style: OssPathStyle | null;
  packageId?: string;
  documentId?: string;
}

interface Auth {
  kind: OssCredentialKind | null;
  state: OssCredentialState;
  senderId: string | null;
  hash?: string;
}

class HttpError extends Error {
  constructor(readonly outgoing: Outgoing) {
    super(`HTTP ${outgoing.status}`);
  }
}

const ERROR_NAMES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Resource Not Found',
  405: 'Method Not Allowed',
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
};

/** OneSpan's error body (shape chosen: the reference documents none). */
function eslError(status: number, messageKey: string, message: string): HttpError {
  return new HttpError({
    status,
    json: { code: status, messageKey, message, name: ERROR_NAMES[status] ?? 'Error' },
  });
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** ISO 8601 without milliseconds, as package JSON shows dates. */
function eslDate(at: string | number | Date): string {
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function parseListDate(value: string, name: string): number {
  // The swagger's examples include `2018-12-12Z`, which Date.parse does not read.
  const normalized = /^\d{4}-\d{2}-\d{2}Z$/.test(value) ? `${value.slice(0, 10)}T00:00:00Z` : value;
  const at = Date.parse(normalized);
  if (Number.isNaN(at)) throw eslError(400, 'error.validation.invalidParameter', `Invalid date ${name}`);
  return at;
}

function routeOf(method: string, pathname: string): Route | { status: 404 | 405 } {
  const p = pathname.replace(/\/+$/, '');
  const post = (endpoint: OssEndpoint): Route | { status: 405 } =>
    method === 'POST' ? { endpoint, style: null } : { status: 405 };
  if (p === '/oauth2/token') return post('oauth2.token');
  if (p === '/apitoken/clientApp/accessToken') return post('clientApp.token');
  if (p === '/api/v1/auth/connect/token') return post('conga.token');
  let style: OssPathStyle;
  let rest: string;
  let m = /^\/api\/packages(\/.*)?$/.exec(p);
  if (m) {
    style = 'onespan';
    rest = m[1] ?? '';
  } else {
    m = /^(?:\/api\/sign\/v1|\/v1\/sign)\/cs-packages(\/.*)?$/.exec(p);
    if (!m) return { status: 404 };
    style = 'conga';
    rest = m[1] ?? '';
  }
  let segments: string[];
  try {
    segments = rest.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return { status: 404 };
  }
  const only = (allowed: string[], route: Route): Route | { status: 405 } =>
    allowed.includes(method) ? route : { status: 405 };
  if (segments.length === 0) return only(['GET'], { endpoint: 'package.list', style });
  const [packageId, a, b, c] = segments;
  if (segments.length === 1) {
    if (method === 'GET') return { endpoint: 'package.get', style, packageId };
    if (method === 'POST' || method === 'PUT') return { endpoint: 'package.update', style, packageId };
    if (method === 'DELETE') return { endpoint: 'package.delete', style, packageId };
    return { status: 405 };
  }
  if (segments.length === 2 && a === 'audit')
    return only(['GET'], { endpoint: 'audit.get', style, packageId });
  if (segments.length === 3 && a === 'evidence' && b === 'summary')
    return only(['GET'], { endpoint: 'evidence.summary', style, packageId });
  if (segments.length === 4 && a === 'documents' && (c === 'pdf' || c === 'original')) {
    return only(['GET'], {
      endpoint: c === 'pdf' ? 'document.pdf' : 'document.original',
      style,
      packageId,
      documentId: b,
    });
  }
  return { status: 404 };
}

function describeFault(fault: OssFault): string {
  switch (fault.kind) {
    case 'status':
      return `status:${fault.status}`;
    case 'latency':
      return `latency:${fault.ms}`;
    case 'rateLimit':
    case 'reset':
    case 'truncate':
    case 'stall':
    case 'resetAfterHandling':
    case 'invalidJson':
    case 'replaceJson':
    case 'mutateJson':
    case 'revokeCredential':
    case 'deletePackage':
    case 'corruptPdf':
    case 'contentType':
      return fault.kind;
  }
}

export class OnespanSimulator {
  readonly controlSecret: string;
  private readonly options: OnespanSimulatorOptions;
  private server: http.Server | undefined;
  private readonly sockets = new Set<Socket>();
  private origin: string | undefined;
  private readonly jwtKey = randomBytes(32);

  private readonly senders = new Map<string, OssSender>();
  private ownerId = '';
  private readonly credentials = new Map<string, CredentialRecord>();
  private readonly clients = new Map<string, ClientRecord>();
  private readonly packages = new Map<string, PackageRecord>();
  private faultRules: FaultEntry[] = [];
  private nextFaultId = 1;
  private log: OssRequestLogEntry[] = [];
  private nextSeq = 1;
  private senderCounter = 0;
  private settings: OssSettings;
  private readonly callbacks = new OnespanCallbackDispatcher();

  constructor(options: OnespanSimulatorOptions = {}) {
    this.options = { ...options };
    this.controlSecret = options.controlSecret ?? randomBytes(18).toString('base64url');
    this.settings = pickSettings(options);
    this.seedOwner();
  }

  // ------------------------------------------------------------------------------------------------
  // Lifecycle and URLs

  /** Starts listening on loopback; resolves to the OneSpan API base URL (`http://127.0.0.1:PORT/api`). */
  async start(options: { port?: number; host?: string } = {}): Promise<string> {
    if (this.server) throw new Error('the simulator is already started');
    const server = http.createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ code: 500, message: `simulator failure: ${String(error)}` }));
        } else {
          res.destroy();
        }
      });
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.origin = `http://${host}:${address.port}`;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    this.callbacks.stop();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    server.closeAllConnections();
    await closed;
  }

  get url(): string {
    if (!this.origin) throw new Error('the simulator is not started');
    return this.origin;
  }

  /** OneSpan's API base: `http://127.0.0.1:PORT/api`. */
  get baseUrl(): string {
    return `${this.url}/api`;
  }

  /** Conga's gateway base: `http://127.0.0.1:PORT/api/sign/v1` (packages at `/cs-packages`). */
  get congaBaseUrl(): string {
    return `${this.url}/api/sign/v1`;
  }

  get oauthTokenUrl(): string {
    return `${this.url}/oauth2/token`;
  }

  get clientAppTokenUrl(): string {
    return `${this.url}/apitoken/clientApp/accessToken`;
  }

  /** On the real platform this is another host (`login-rls.congacloud.com`); here the same server. */
  get congaTokenUrl(): string {
    return `${this.url}/api/v1/auth/connect/token`;
  }

  get controlUrl(): string {
    return `${this.url}/_control`;
  }

  /** Forgets senders (a new owner is seeded), credentials, clients, packages, faults, log and callbacks. */
  reset(): void {
    this.callbacks.reset();
    this.senders.clear();
    this.credentials.clear();
    this.clients.clear();
    this.packages.clear();
    this.faultRules = [];
    this.log = [];
    this.senderCounter = 0;
    this.settings = pickSettings(this.options);
    this.seedOwner();
  }

  // ------------------------------------------------------------------------------------------------
  // Senders and credentials

  get owner(): OssSender {
    return { ...this.requireSender(this.ownerId) };
  }

  createSender(options: OssCreateSenderOptions = {}): OssSender {
    this.senderCounter++;
    const sender: OssSender = {
      id: randomBytes(9).toString('base64url'),
      email: options.email ?? `sender${this.senderCounter}@example.test`,
      firstName: options.firstName ?? 'Sam',
      lastName: options.lastName ?? `Sender${this.senderCounter}`,
      company: options.company ?? 'Example Ltd',
      owner: false,
    };
    this.senders.set(sender.id, sender);
    return { ...sender };
  }

  listSenders(): OssSender[] {
    return [...this.senders.values()].map((s) => ({ ...s }));
  }

  /** A new API key for a sender (default the owner): opaque base64 text, sent as `Basic <key>`. */
  createApiKey(senderId: string = this.ownerId): string {
    this.requireSender(senderId);
    const key = Buffer.from(
      `${randomBytes(9).toString('base64url')}:${randomBytes(12).toString('base64url')}`,
    ).toString('base64');
    this.credentials.set(hashSecret(key), { kind: 'apiKey', senderId, revoked: false });
    return key;
  }

  /** Registers an OAuth 2.0 client-credentials client for `POST /oauth2/token` and client-app tokens. */
  registerOAuthClient(client: OssClient): void {
    this.registerClient(client, 'oauth2');
  }

  /** Registers a Conga integration user's client for `POST /api/v1/auth/connect/token`. */
  registerCongaClient(client: OssClient): void {
    this.registerClient(client, 'conga');
  }

  /** Revokes an API key or a token; later requests with it get 401. */
  revokeCredential(secret: string): boolean {
    const record = this.credentials.get(hashSecret(secret));
    if (!record) return false;
    record.revoked = true;
    return true;
  }

  /** Disables a client: its tokens are revoked and it gets no new ones. */
  disableClient(clientId: string): boolean {
    const client = this.clients.get(clientId);
    if (!client) return false;
    client.disabled = true;
    for (const record of this.credentials.values()) if (record.clientId === clientId) record.revoked = true;
    return true;
  }

  /** Makes every token issued so far expire now (API keys do not expire). */
  expireTokens(): number {
    let count = 0;
    for (const record of this.credentials.values()) {
      if (record.expiresAt !== undefined && record.expiresAt > Date.now()) {
        record.expiresAt = Date.now() - 1;
        count++;
      }
    }
    return count;
  }

  // ------------------------------------------------------------------------------------------------
  // Packages

  /** A new package id of the real shape: 28 characters, base64 of 20 bytes with `=` padding. */
  newPackageId(): string {
    const id = randomBytes(20).toString('base64');
    return this.currentSettings().packageIdAlphabet === 'urlsafe'
      ? id.replace(/\+/g, '-').replace(/\//g, '_')
      : id;
  }

  createPackage(options: OssCreatePackageOptions = {}): OssPackageSnapshot {
    const id = options.id ?? this.newPackageId();
    if (!PACKAGE_ID.test(id)) throw new Error('a package id is 27 base64 characters and "="');
    if (this.packages.has(id)) throw new Error(`package ${id} exists`);
    const sender = this.requireSender(options.senderId ?? this.ownerId);
    const now = eslDate(Date.now());
    const signers = (options.signers?.length ? options.signers : [{ email: 'signer@example.test' }]).map(
      (s, i): OssSigner => ({
        id: randomBytes(16)
          .toString('hex')
          .replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-'),
        email: s.email,
        firstName: s.firstName ?? 'Signer',
        lastName: s.lastName ?? String(i + 1),
      }),
    );
    const documents: DocumentRecord[] = [
      {
        id: CONSENT_ID,
        name: 'Electronic Disclosures and Signatures Consent',
        index: 0,
        size: 0,
        pages: 1,
        data: {},
      },
      ...(options.documents ?? [{}]).map((spec, i) => ({
        id: spec.id ?? randomBytes(24).toString('hex'),
        name: spec.name ?? `Document ${i + 1}`,
        index: i + 1,
        size: spec.size ?? 20_000,
        pages: spec.pages ?? 1,
        data: {},
      })),
    ];
    const record: PackageRecord = {
      id,
      name: options.name ?? 'Simulated package',
      status: 'DRAFT',
      trashed: options.trashed ?? false,
      deleted: false,
      senderId: sender.id,
      data: { ...(options.data ?? {}) },
      signers,
      documents,
      created: options.created ? eslDate(options.created) : now,
      updated: now,
      completed: null,
      version: 0,
    };
    this.packages.set(id, record);
    const status = options.status ?? 'SENT';
    if (status !== 'DRAFT') {
      record.status = status === 'ARCHIVED' ? 'COMPLETED' : status;
      if (status === 'COMPLETED' || status === 'ARCHIVED') this.completeState(record);
      record.status = status;
    }
    if (options.updated) record.updated = eslDate(options.updated);
    for (const doc of record.documents) doc.size = contentSize(this.documentContent(record, doc));
    return this.snapshot(record);
  }

  getPackage(packageId: string): OssPackageSnapshot | undefined {
    const record = this.packages.get(packageId);
    return record ? this.snapshot(record) : undefined;
  }

  /** DRAFT to SENT: `PACKAGE_ACTIVATE`. */
  sendPackage(packageId: string): OssPackageSnapshot {
    const record = this.requireLive(packageId);
    if (record.status !== 'DRAFT') throw new Error(`package ${packageId} is ${record.status}, not DRAFT`);
    record.status = 'SENT';
    this.touch(record);
    this.fireEvent(packageId, 'PACKAGE_ACTIVATE', { sessionUser: record.senderId });
    return this.snapshot(record);
  }

  /**
   * Ends a SENT package. COMPLETED: each signer accepts the consent and signs every document
   * (`DOCUMENT_SIGNED`, with `documentId: "default-consent"` for the consent), `SIGNER_COMPLETE`, then
   * `PACKAGE_COMPLETE` with the last signer as `sessionUser`. DECLINED: `PACKAGE_DECLINE` with the reason
   * in `message`. OPTED_OUT: `PACKAGE_OPT_OUT` with the reason. EXPIRED: `PACKAGE_EXPIRE` as the sender.
   */
  finishPackage(
    packageId: string,
    status: OssFinishStatus,
    options: { message?: string } = {},
  ): OssPackageSnapshot {
    const record = this.requireLive(packageId);
    if (record.status !== 'SENT') throw new Error(`package ${packageId} is ${record.status}, not SENT`);
    const first = record.signers[0];
    switch (status) {
      case 'COMPLETED':
        this.completeState(record);
        for (const signer of record.signers) {
          for (const doc of record.documents) {
            this.fireEvent(packageId, 'DOCUMENT_SIGNED', { sessionUser: signer.id, documentId: doc.id });
          }
          this.fireEvent(packageId, 'SIGNER_COMPLETE', { sessionUser: signer.id });
        }
        this.touch(record);
        this.fireEvent(packageId, 'PACKAGE_COMPLETE', {
          sessionUser: record.signers[record.signers.length - 1].id,
        });
        break;
      case 'DECLINED':
        record.status = 'DECLINED';
        this.touch(record);
        this.fireEvent(packageId, 'PACKAGE_DECLINE', {
          sessionUser: first.id,
          message: options.message ?? 'I do not agree with the terms.',
        });
        break;
      case 'OPTED_OUT':
        record.status = 'OPTED_OUT';
        this.touch(record);
        this.fireEvent(packageId, 'PACKAGE_OPT_OUT', {
          sessionUser: first.id,
          message: options.message ?? 'the personal info is not correct',
        });
        break;
      case 'EXPIRED':
        record.status = 'EXPIRED';
        this.touch(record);
        this.fireEvent(packageId, 'PACKAGE_EXPIRE', { sessionUser: record.senderId });
        break;
    }
    return this.snapshot(record);
  }

  /** Trashes (`PACKAGE_TRASH`) or restores (`PACKAGE_RESTORE`) a package, as another user of the account would. */
  setTrashed(packageId: string, trashed: boolean): OssPackageSnapshot {
    const record = this.requireLive(packageId);
    this.applyTrash(record, trashed, record.senderId);
    return this.snapshot(record);
  }

  /** Archives a COMPLETED package (`PACKAGE_ARCHIVE`). */
  archivePackage(packageId: string): OssPackageSnapshot {
    const record = this.requireLive(packageId);
    this.applyStatus(record, 'ARCHIVED', record.senderId);
    return this.snapshot(record);
  }

  /** Deletes a package as someone else would (a retention policy, the UI): `PACKAGE_DELETE`. */
  deletePackage(packageId: string): boolean {
    const record = this.packages.get(packageId);
    if (!record || record.deleted) return false;
    this.applyDelete(record, record.senderId);
    return true;
  }

  /** Sets a package's `data` map (replacing it). */
  setPackageData(packageId: string, data: Record<string, string>): OssPackageSnapshot {
    const record = this.requireLive(packageId);
    record.data = { ...data };
    this.touch(record);
    return this.snapshot(record);
  }

  /** Expected bytes of a served PDF: `documentId` or `evidence-summary`. */
  expectedFile(packageId: string, documentId: string): { sha256: string; size: number } {
    const record = this.packages.get(packageId);
    if (!record) throw new Error(`unknown package ${packageId}`);
    const content =
      documentId === 'evidence-summary'
        ? this.evidenceContent(record)
        : this.documentContent(record, this.requireDocument(record, documentId));
    const hash = createHash('sha256');
    let size = 0;
    for (const chunk of contentChunks(content)) {
      hash.update(chunk);
      size += chunk.length;
    }
    return { sha256: hash.digest('hex'), size };
  }

  // ------------------------------------------------------------------------------------------------
  // Callbacks

  /**
   * Sends one event to the callback URL when one is set and the event is registered; returns the
   * delivery or null. Any name can be sent, unknown ones and duplicates included.
   */
  fireEvent(
    packageId: string,
    name: string,
    options: {
      sessionUser?: string;
      documentId?: string | null;
      message?: string | null;
      createdDate?: string;
    } = {},
  ): OssCallbackDelivery | null {
    const settings = this.currentSettings();
    if (!settings.callbackUrl) return null;
    if (settings.callbackEvents && !settings.callbackEvents.includes(name)) return null;
    const record = this.packages.get(packageId);
    const sender = this.senders.get(record?.senderId ?? this.ownerId);
    const event: OssProcessEvent = {
      '@class': 'com.silanis.esl.packages.event.ESLProcessEvent',
      name,
      sessionUser: options.sessionUser ?? sender?.id ?? this.ownerId,
      packageId,
      message: options.message ?? null,
      documentId: options.documentId ?? null,
      createdDate: options.createdDate ?? new Date().toISOString(),
    };
    return this.callbacks.dispatch(event, {
      url: settings.callbackUrl,
      auth: settings.callbackAuth,
      timeoutMs: settings.callbackTimeoutMs,
      senderEmail: sender?.email ?? '',
    });
  }

  callbackDeliveries(packageId?: string): OssCallbackDelivery[] {
    return this.callbacks.list(packageId);
  }

  /** The failure e-mails OneSpan would have sent instead of retrying. */
  callbackFailureNotices(): OssCallbackFailureNotice[] {
    return this.callbacks.failureNotices();
  }

  /** Resolves when the delivery of `name` for the package has ended (delivered or failed). */
  waitForCallback(packageId: string, name: string, timeoutMs?: number): Promise<OssCallbackDelivery> {
    return this.callbacks.waitFor(packageId, name, timeoutMs);
  }

  // ------------------------------------------------------------------------------------------------
  // Faults, log, settings

  addFault(rule: OssFaultRule): number {
    if (rule.times !== undefined && (!Number.isInteger(rule.times) || rule.times < 1))
      throw new Error('times must be a positive integer');
    const entry: FaultEntry = { id: this.nextFaultId++, rule };
    if (rule.times !== undefined) entry.remaining = rule.times;
    this.faultRules.push(entry);
    return entry.id;
  }

  removeFault(id: number): boolean {
    const before = this.faultRules.length;
    this.faultRules = this.faultRules.filter((f) => f.id !== id);
    return this.faultRules.length < before;
  }

  clearFaults(): void {
    this.faultRules = [];
  }

  /** Requests received (not the control API), oldest first. */
  requests(
    filter: { endpoint?: OssEndpoint; packageId?: string; pathStyle?: OssPathStyle; method?: string } = {},
  ): OssRequestLogEntry[] {
    return this.log
      .filter(
        (e) =>
          (filter.endpoint === undefined || e.endpoint === filter.endpoint) &&
          (filter.packageId === undefined || e.packageId === filter.packageId) &&
          (filter.pathStyle === undefined || e.pathStyle === filter.pathStyle) &&
          (filter.method === undefined || e.method === filter.method),
      )
      .map((e) => structuredClone(e));
  }

  clearRequests(): void {
    this.log = [];
  }

  /** Changes settings while running; keys left out keep their value, `undefined` restores the default. */
  configure(settings: OssSettings): ReturnType<OnespanSimulator['currentSettings']> {
    const unknown = Object.keys(settings).filter((key) => !(SETTING_KEYS as readonly string[]).includes(key));
    if (unknown.length > 0) throw new Error(`unknown settings: ${unknown.join(', ')}`);
    const next: OssSettings = { ...this.settings };
    for (const key of SETTING_KEYS) {
      if (!(key in settings)) continue;
      const value = settings[key];
      if (value === undefined) delete next[key];
      else (next as Record<string, unknown>)[key] = value;
    }
    checkSettings(next);
    this.settings = next;
    return this.currentSettings();
  }

  currentSettings(): Required<Omit<OssSettings, 'callbackUrl' | 'callbackEvents'>> &
    Pick<OssSettings, 'callbackUrl' | 'callbackEvents'> {
    const s = this.settings;
    return {
      authMethod: s.authMethod ?? 'any',
      audit: s.audit ?? 'enabled',
      callbackUrl: s.callbackUrl,
      callbackAuth: s.callbackAuth ?? { type: 'none' },
      callbackEvents: s.callbackEvents,
      callbackTimeoutMs: s.callbackTimeoutMs ?? 20_000,
      apiVersion: s.apiVersion ?? '11.68.0',
      packageIdAlphabet: s.packageIdAlphabet ?? 'urlsafe',
    };
  }

  checkControlSecret(presented: string | undefined): boolean {
    if (presented === undefined) return false;
    const a = createHash('sha256').update(presented).digest();
    const b = createHash('sha256').update(this.controlSecret).digest();
    return timingSafeEqual(a, b);
  }

  // ------------------------------------------------------------------------------------------------
  // State helpers

  private seedOwner(): void {
    const owner = this.createSender({
      email: this.options.ownerEmail ?? 'owner@example.test',
      firstName: 'Olive',
      lastName: 'Owner',
    });
    this.senders.get(owner.id)!.owner = true;
    this.ownerId = owner.id;
    this.senderCounter = 0;
  }

  private registerClient(client: OssClient, kind: 'oauth2' | 'conga'): void {
    if (!client.clientId || !client.clientSecret) throw new Error('clientId and clientSecret are required');
    const senderId = client.senderId ?? this.ownerId;
    this.requireSender(senderId);
    this.clients.set(client.clientId, { ...client, senderId, kind, disabled: false });
  }

  private requireSender(senderId: string): OssSender {
    const sender = this.senders.get(senderId);
    if (!sender) throw new Error(`unknown sender ${senderId}`);
    return sender;
  }

  private requireLive(packageId: string): PackageRecord {
    const record = this.packages.get(packageId);
    if (!record || record.deleted) throw new Error(`unknown package ${packageId}`);
    return record;
  }

  private requireDocument(record: PackageRecord, documentId: string): DocumentRecord {
    const doc = record.documents.find((d) => d.id === documentId);
    if (!doc) throw new Error(`unknown document ${documentId}`);
    return doc;
  }

  private completeState(record: PackageRecord): void {
    record.status = 'COMPLETED';
    record.completed = eslDate(Date.now());
    const consent = record.documents.find((d) => d.id === CONSENT_ID);
    if (consent) consent.data.esl_doc_accepted_by_signers = record.signers.map((s) => s.id).join(',');
    record.version++;
    for (const doc of record.documents) doc.size = contentSize(this.documentContent(record, doc));
  }

  private touch(record: PackageRecord): void {
    record.updated = eslDate(Date.now());
  }

  private applyTrash(record: PackageRecord, trashed: boolean, sessionUser: string): void {
    if (record.trashed === trashed) return;
    record.trashed = trashed;
    this.touch(record);
    this.fireEvent(record.id, trashed ? 'PACKAGE_TRASH' : 'PACKAGE_RESTORE', { sessionUser });
  }

  private applyStatus(record: PackageRecord, status: string, sessionUser: string): void {
    if (status === 'ARCHIVED') {
      // Archive "is available only for 'COMPLETED' transactions".
      if (record.status !== 'COMPLETED')
        throw eslError(
          400,
          'error.validation.packageNotCompleted',
          'Only a completed package can be archived.',
        );
      record.status = 'ARCHIVED';
      this.touch(record);
      this.fireEvent(record.id, 'PACKAGE_ARCHIVE', { sessionUser });
      return;
    }
    if (status === 'COMPLETED' && record.status === 'ARCHIVED') {
      record.status = 'COMPLETED';
      this.touch(record);
      return;
    }
    if (status === record.status) return;
    throw eslError(
      400,
      'error.validation.invalidStatusChange',
      `Cannot change status ${record.status} to ${status}.`,
    );
  }

  private applyDelete(record: PackageRecord, sessionUser: string): void {
    record.deleted = true;
    this.fireEvent(record.id, 'PACKAGE_DELETE', { sessionUser });
  }

  private documentContent(record: PackageRecord, doc: DocumentRecord, original = false): SimulatedContent {
    const signed = !original && (record.status === 'COMPLETED' || record.status === 'ARCHIVED');
    const seed = `${record.id}/${doc.id}/${original ? 'original' : `v${record.version}`}`;
    const title = `${doc.name}${signed ? ' (signed)' : ''}`;
    const size = doc.id === CONSENT_ID ? 12_000 : doc.size || 20_000;
    return { kind: 'pdf', size, seed, title, pages: doc.pages };
  }

  private evidenceContent(record: PackageRecord): SimulatedContent {
    return {
      kind: 'pdf',
      size: 25_000,
      seed: `${record.id}/evidence/v${record.version}`,
      title: `Evidence Summary of ${record.name}`,
      pages: 2,
    };
  }

  private snapshot(record: PackageRecord): OssPackageSnapshot {
    return {
      id: record.id,
      name: record.name,
      status: record.status,
      trashed: record.trashed,
      deleted: record.deleted,
      senderId: record.senderId,
      data: { ...record.data },
      signers: record.signers.map((s) => ({ ...s })),
      documents: record.documents.map((d) => ({ id: d.id, name: d.name, index: d.index, size: d.size })),
      created: record.created,
      updated: record.updated,
      completed: record.completed,
    };
  }

  private packageJson(record: PackageRecord): unknown {
    const sender = this.requireSender(record.senderId);
    const signed = record.status === 'COMPLETED' || record.status === 'ARCHIVED';
    return {
      id: record.id,
      name: record.name,
      description: '',
      type: 'PACKAGE',
      status: record.status,
      trashed: record.trashed,
      language: 'en',
      visibility: 'ACCOUNT',
      autocomplete: true,
      notarized: false,
      emailMessage: '',
      consent: CONSENT_ID,
      timezoneId: 'UTC',
      due: null,
      created: record.created,
      updated: record.updated,
      completed: record.completed,
      data: { ...record.data },
      sender: {
        id: sender.id,
        email: sender.email,
        firstName: sender.firstName,
        lastName: sender.lastName,
        company: sender.company,
      },
      roles: record.signers.map((s, i) => ({
        id: s.id,
        name: `Signer${i + 1}`,
        type: 'SIGNER',
        index: i + 1,
        reassign: false,
        signers: [
          {
            id: s.id,
            email: s.email,
            firstName: s.firstName,
            lastName: s.lastName,
            company: '',
            delivery: { email: false, download: false, provider: false },
            auth: { scheme: 'NONE', challenges: [] },
          },
        ],
      })),
      documents: record.documents.map((d) => ({
        id: d.id,
        name: d.name,
        description: '',
        index: d.index,
        size: d.size,
        pages: Array.from({ length: d.pages }, (_, i) => ({ id: `${d.id}-p${i}`, index: i, version: 0 })),
        approvals:
          d.id === CONSENT_ID
            ? []
            : record.signers.map((s) => ({
                id: `${d.id}-${s.id}`,
                role: s.id,
                signed: signed ? record.completed : null,
              })),
        fields: [],
        data: { ...d.data },
        extract: false,
        tagged: false,
        external: null,
        signedHash: null,
      })),
      messages: [],
      settings: { ceremony: { inPerson: false } },
    };
  }

  private auditJson(record: PackageRecord): unknown {
    const events: unknown[] = [];
    const sender = this.requireSender(record.senderId);
    events.push({
      type: 'Send',
      'date-time': record.created,
      target: record.name,
      'target-type': 'Package',
      user: `${sender.firstName} ${sender.lastName}`,
      'user-email': sender.email,
      'user-ip': '192.0.2.10',
      data: '',
    });
    if (record.status === 'COMPLETED' || record.status === 'ARCHIVED') {
      for (const signer of record.signers) {
        for (const [type, target] of [
          ['Login', record.name],
          ['Accept', 'Electronic Disclosures and Signatures Consent'],
          ...record.documents.filter((d) => d.id !== CONSENT_ID).map((d) => ['Click To Sign', d.name]),
          ['Confirm', record.name],
        ]) {
          events.push({
            type,
            'date-time': record.completed,
            target,
            'target-type': type === 'Login' || type === 'Confirm' ? 'Package' : 'Document',
            user: `${signer.firstName} ${signer.lastName}`,
            'user-email': signer.email,
            'user-ip': '198.51.100.7',
            data: '',
          });
        }
      }
    }
    return { 'package-id': record.id, 'audit-events': events };
  }

  // ------------------------------------------------------------------------------------------------
  // HTTP

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    if (/^\/_control(\/|$)/.test(url.pathname)) {
      await handleOnespanControlRequest(this, req, res, url);
      return;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const entry: OssRequestLogEntry = {
      seq: this.nextSeq++,
      at: new Date().toISOString(),
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      endpoint: 'unknown',
      pathStyle: null,
      credentialKind: null,
      credentialState: 'none',
      senderId: null,
      accept: typeof req.headers.accept === 'string' ? req.headers.accept : null,
      status: null,
      bytesSent: 0,
      durationMs: 0,
      outcome: 'complete',
      faults: [],
    };
    this.log.push(entry);
    if (this.log.length > REQUEST_LOG_LIMIT) this.log.splice(0, this.log.length - REQUEST_LOG_LIMIT);
    const started = Date.now();
    res.once('close', () => {
      entry.durationMs = Date.now() - started;
      entry.status = res.headersSent ? res.statusCode : null;
      if (entry.outcome === 'complete' && !res.writableFinished) entry.outcome = 'client-closed';
    });
    const exchange: Exchange = { req, res, entry, faults: [] };

    const route = routeOf(method, url.pathname);
    if (!('endpoint' in route)) {
      await this.send(
        exchange,
        route.status === 404
          ? eslError(404, 'error.notFound', 'The requested resource was not found.').outgoing
          : eslError(405, 'error.methodNotAllowed', `Method ${method} is not allowed.`).outgoing,
      );
      return;
    }
    entry.endpoint = route.endpoint;
    entry.pathStyle = route.style;
    if (route.packageId !== undefined) entry.packageId = route.packageId;
    if (route.documentId !== undefined) entry.documentId = route.documentId;

    let body: Buffer | undefined;
    if (method === 'POST' || method === 'PUT') {
      try {
        body = await readBody(req);
      } catch (error) {
        if (error instanceof HttpError) await this.send(exchange, error.outgoing);
        else res.destroy();
        return;
      }
    }
    try {
      const outgoing = await this.dispatch(exchange, route, body, url);
      if (outgoing) await this.send(exchange, outgoing);
    } catch (error) {
      if (error instanceof HttpError) await this.send(exchange, error.outgoing);
      else throw error;
    }
  }

  private authenticate(req: http.IncomingMessage, style: OssPathStyle): Auth {
    const header = req.headers.authorization;
    if (typeof header !== 'string' || header.trim() === '')
      return { kind: null, state: 'none', senderId: null };
    const m = /^(basic|bearer)\s+(\S+)$/i.exec(header.trim());
    if (!m) return { kind: null, state: 'unknown', senderId: null };
    const scheme = m[1].toLowerCase();
    const hash = hashSecret(m[2]);
    const record = this.credentials.get(hash);
    if (!record || (scheme === 'basic') !== (record.kind === 'apiKey'))
      return { kind: scheme === 'basic' ? 'apiKey' : null, state: 'unknown', senderId: null };
    const result: Auth = { kind: record.kind, state: 'valid', senderId: record.senderId, hash };
    if (record.revoked) result.state = 'revoked';
    else if (record.expiresAt !== undefined && record.expiresAt <= Date.now()) result.state = 'expired';
    else if (style === 'conga' ? record.kind !== 'conga' : record.kind === 'conga') result.state = 'refused';
    else {
      const method = this.currentSettings().authMethod;
      if (method === 'oauth2' && record.kind !== 'oauth2') result.state = 'refused';
      if (method === 'apiKey' && record.kind === 'oauth2') result.state = 'refused';
    }
    return result;
  }

  private matchFaults(route: Route): OssFault[] {
    const matched: OssFault[] = [];
    for (const entry of this.faultRules) {
      const rule = entry.rule;
      const endpoints =
        rule.endpoint === undefined
          ? undefined
          : Array.isArray(rule.endpoint)
            ? rule.endpoint
            : [rule.endpoint];
      if (endpoints && !endpoints.includes(route.endpoint)) continue;
      if (rule.packageId !== undefined && rule.packageId !== route.packageId) continue;
      if (rule.pathStyle !== undefined && rule.pathStyle !== route.style) continue;
      matched.push(rule.fault);
      if (entry.remaining !== undefined) entry.remaining--;
    }
    this.faultRules = this.faultRules.filter((e) => e.remaining === undefined || e.remaining > 0);
    return matched;
  }

  private async dispatch(
    exchange: Exchange,
    route: Route,
    body: Buffer | undefined,
    url: URL,
  ): Promise<Outgoing | undefined> {
    const { req, entry } = exchange;
    const faults = this.matchFaults(route);
    exchange.faults = faults;
    entry.faults = faults.map(describeFault);

    const auth = route.style ? this.authenticate(req, route.style) : undefined;
    for (const fault of faults) {
      if (fault.kind === 'revokeCredential' && auth?.hash) {
        const record = this.credentials.get(auth.hash);
        if (record) {
          record.revoked = true;
          if (record.clientId) this.disableClient(record.clientId);
        }
        auth.state = 'revoked';
      }
      if (fault.kind === 'deletePackage' && route.packageId) {
        const record = this.packages.get(route.packageId);
        if (record && !record.deleted) this.applyDelete(record, record.senderId);
      }
    }
    if (auth) {
      entry.credentialKind = auth.kind;
      entry.credentialState = auth.state;
      entry.senderId = auth.senderId;
    }
    const latency = faults.reduce((sum, f) => sum + (f.kind === 'latency' ? f.ms : 0), 0);
    if (latency > 0) {
      await delay(latency);
      if (exchange.res.destroyed) return undefined;
    }
    for (const fault of faults) {
      switch (fault.kind) {
        case 'status':
          return {
            status: fault.status,
            json: fault.body ?? { code: fault.status, message: `Simulated HTTP ${fault.status}` },
            ...(fault.headers && { headers: fault.headers }),
          };
        case 'rateLimit':
          return {
            status: 429,
            headers: { 'Retry-After': String(fault.retryAfter ?? 1) },
            json: {
              code: 429,
              messageKey: 'error.tooManyRequests',
              message: 'Too many requests.',
              name: 'Too Many Requests',
            },
          };
        case 'reset':
          if (fault.afterBytes === undefined) {
            entry.outcome = 'reset';
            req.socket.resetAndDestroy();
            return undefined;
          }
          break;
        case 'latency':
        case 'truncate':
        case 'stall':
        case 'resetAfterHandling':
        case 'invalidJson':
        case 'replaceJson':
        case 'mutateJson':
        case 'revokeCredential':
        case 'deletePackage':
        case 'corruptPdf':
        case 'contentType':
          break;
      }
    }

    if (route.endpoint === 'oauth2.token') return this.oauthToken(req, body);
    if (route.endpoint === 'clientApp.token') return this.clientAppToken(req, body);
    if (route.endpoint === 'conga.token') return this.congaToken(req, body);

    if (!auth || auth.state !== 'valid' || !auth.senderId) {
      const bearer = auth?.kind !== 'apiKey' && auth?.state !== 'none';
      return {
        ...eslError(401, 'error.unauthorised.noSession', 'Not authorized to access this resource.').outgoing,
        ...(bearer && {
          headers: {
            'WWW-Authenticate':
              auth?.state === 'expired'
                ? 'Bearer error="invalid_token", error_description="expired"'
                : 'Bearer',
          },
        }),
      };
    }
    const caller = this.requireSender(auth.senderId);

    if (route.endpoint === 'package.list') return { status: 200, json: this.list(url.searchParams, caller) };
    const record = this.readable(route.packageId, caller);
    switch (route.endpoint) {
      case 'package.get':
        return { status: 200, json: this.packageJson(record) };
      case 'package.update': {
        const update = jsonObject(req, body);
        if (typeof update.trashed === 'boolean') this.applyTrash(record, update.trashed, caller.id);
        if (update.status !== undefined) {
          if (typeof update.status !== 'string')
            throw eslError(400, 'error.validation.invalidParameter', 'status must be a string');
          this.applyStatus(record, update.status, caller.id);
        }
        return { status: 200, text: '' };
      }
      case 'package.delete':
        this.applyDelete(record, caller.id);
        return { status: 200, text: '' };
      case 'document.pdf':
      case 'document.original': {
        const doc = record.documents.find((d) => d.id === route.documentId);
        if (!doc) throw eslError(404, 'error.notFound.document', 'The specified document was not found.');
        return {
          status: 200,
          file: {
            content: this.documentContent(record, doc, route.endpoint === 'document.original'),
            fileName: `${doc.name}.pdf`,
          },
        };
      }
      case 'evidence.summary':
        return {
          status: 200,
          file: { content: this.evidenceContent(record), fileName: 'evidence-summary.pdf' },
        };
      case 'audit.get': {
        const audit = this.currentSettings().audit;
        if (audit === 'notFound')
          throw eslError(404, 'error.notFound', 'The requested resource was not found.');
        if (audit === 'forbidden')
          throw eslError(
            403,
            'error.forbidden.auditDisabled',
            'Audit trail access is disabled for this account.',
          );
        return { status: 200, json: this.auditJson(record) };
      }
      default:
        throw eslError(404, 'error.notFound', 'The requested resource was not found.');
    }
  }

  /** A live package the caller may read: the owner reads all, a sender only their own. */
  private readable(packageId: string | undefined, caller: OssSender): PackageRecord {
    const record = packageId === undefined ? undefined : this.packages.get(packageId);
    if (!record || record.deleted)
      throw eslError(404, 'error.notFound.package', `The package ${packageId ?? ''} was not found.`);
    if (!caller.owner && record.senderId !== caller.id)
      throw eslError(403, 'error.forbidden', 'You are not allowed to access this package.');
    return record;
  }

  private list(params: URLSearchParams, caller: OssSender): unknown {
    const query = params.get('query')?.toUpperCase();
    const predefined = params.get('predefined')?.toLowerCase();
    let statuses: readonly string[] | undefined;
    let trashed = false;
    if (query !== undefined && query !== '') {
      if (query === 'TRASHED') trashed = true;
      else if (query === 'DRAFTS' || query === 'DRAFT')
        statuses = ['DRAFT', 'DECLINED', 'EXPIRED', 'OPTED_OUT'];
      else if (query === 'INBOX') statuses = ['SENT', 'COMPLETED', 'ARCHIVED'];
      else if ((OSS_PACKAGE_STATUSES as readonly string[]).includes(query)) statuses = [query];
      else throw eslError(400, 'error.validation.invalidParameter', `Invalid query ${params.get('query')}`);
    }
    const byPredefined: Record<string, readonly string[] | undefined> = {
      all: undefined,
      awaitingsignature: ['SENT'],
      sent: ['SENT'],
      completed: ['COMPLETED'],
      expiringsoon: [],
    };
    if (predefined !== undefined && predefined !== '' && !(predefined in byPredefined))
      throw eslError(
        400,
        'error.validation.invalidParameter',
        `Invalid predefined ${params.get('predefined')}`,
      );
    const predefinedStatuses = predefined ? byPredefined[predefined] : undefined;
    const date = (names: string[]): number | undefined => {
      for (const name of names) {
        const value = params.get(name);
        if (value !== null && value !== '') return parseListDate(value, name);
      }
      return undefined;
    };
    const start = date(['startDate', 'lastUpdatedStartDate']);
    const end = date(['endDate', 'lastUpdatedEndDate']);
    const ownerUserId = params.get('ownerUserId');
    const ownerEmail = params.get('ownerEmail')?.toLowerCase();
    let ownerId = caller.id;
    if (ownerUserId || ownerEmail) {
      if (!caller.owner)
        throw eslError(403, 'error.forbidden', "Not allowed to manage other users' transactions.");
      const owner = [...this.senders.values()].find(
        (s) =>
          (ownerUserId ? s.id === ownerUserId : true) &&
          (ownerEmail ? s.email.toLowerCase() === ownerEmail : true),
      );
      if (!owner) return { results: [], count: 0 };
      ownerId = owner.id;
    }
    const int = (name: string, fallback: number): number => {
      const value = params.get(name);
      if (value === null || value === '') return fallback;
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0)
        throw eslError(400, 'error.validation.invalidParameter', `Invalid ${name}`);
      return n;
    };
    const from = Math.max(1, int('from', 1));
    const to = Math.min(int('to', from + 9), from + MAX_PAGE - 1);
    const sort = params.get('sort') ?? 'updated';
    if (!['created', 'completed', 'updated', 'due', 'name', 'status'].includes(sort))
      throw eslError(400, 'error.validation.invalidParameter', `Invalid sort ${sort}`);
    const dir = (params.get('dir') ?? 'desc').toLowerCase();
    if (dir !== 'asc' && dir !== 'desc')
      throw eslError(400, 'error.validation.invalidParameter', 'Invalid dir');

    const matches = [...this.packages.values()].filter((p) => {
      if (p.deleted || p.senderId !== ownerId || p.trashed !== trashed) return false;
      if (statuses && !statuses.includes(p.status)) return false;
      if (predefinedStatuses && !predefinedStatuses.includes(p.status)) return false;
      const updated = Date.parse(p.updated);
      if (start !== undefined && updated < start) return false;
      if (end !== undefined && updated > end) return false;
      return true;
    });
    const key = (p: PackageRecord): string =>
      sort === 'name'
        ? p.name
        : sort === 'status'
          ? p.status
          : sort === 'due'
            ? ''
            : (p[sort as 'created'] ?? '');
    matches.sort((a, b) => {
      const order = key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a.id < b.id ? -1 : 1;
      return dir === 'asc' ? order : -order;
    });
    const page = to < from ? [] : matches.slice(from - 1, to);
    const idsOnly = params.get('fields') === 'id';
    return {
      results: page.map((p) => (idsOnly ? { id: p.id } : this.packageJson(p))),
      count: matches.length,
    };
  }

  // ------------------------------------------------------------------------------------------------
  // Token endpoints

  private clientCredentials(
    req: http.IncomingMessage,
    form: URLSearchParams,
  ): { clientId: string; clientSecret: string; viaHeader: boolean } | undefined {
    const header = req.headers.authorization;
    if (typeof header === 'string') {
      const m = /^basic\s+(\S+)$/i.exec(header.trim());
      if (m) {
        const decoded = Buffer.from(m[1], 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon > 0) {
          return {
            clientId: decodeURIComponent(decoded.slice(0, colon)),
            clientSecret: decodeURIComponent(decoded.slice(colon + 1)),
            viaHeader: true,
          };
        }
      }
    }
    const clientId = form.get('client_id');
    const clientSecret = form.get('client_secret');
    if (clientId && clientSecret) return { clientId, clientSecret, viaHeader: false };
    return undefined;
  }

  private client(kind: 'oauth2' | 'conga', id: string, secret: string): ClientRecord | undefined {
    const client = this.clients.get(id);
    if (!client || client.kind !== kind) return undefined;
    const a = createHash('sha256').update(secret).digest();
    const b = createHash('sha256').update(client.clientSecret).digest();
    return timingSafeEqual(a, b) ? client : undefined;
  }

  private issueToken(kind: OssCredentialKind, client: ClientRecord, ttlMs: number, token: string): number {
    const expiresAt = Date.now() + ttlMs;
    this.credentials.set(hashSecret(token), {
      kind,
      senderId: client.senderId,
      revoked: false,
      clientId: client.clientId,
      expiresAt,
    });
    return expiresAt;
  }

  private oauthToken(req: http.IncomingMessage, body: Buffer | undefined): Outgoing {
    const oauthError = (status: number, error: string, description: string): Outgoing => ({
      status,
      json: { error, error_description: description },
      headers: { 'Cache-Control': 'no-store' },
    });
    const form = formBody(req, body);
    if (!form) return oauthError(400, 'invalid_request', 'expected application/x-www-form-urlencoded');
    if (form.get('grant_type') !== 'client_credentials')
      return oauthError(400, 'unsupported_grant_type', 'grant_type must be client_credentials');
    const credentials = this.clientCredentials(req, form);
    if (!credentials) return oauthError(401, 'invalid_client', 'client authentication is required');
    const client = this.client('oauth2', credentials.clientId, credentials.clientSecret);
    if (!client || client.disabled) return oauthError(401, 'invalid_client', 'client authentication failed');
    if (this.currentSettings().authMethod === 'apiKey')
      return oauthError(400, 'unauthorized_client', 'OAuth 2.0 is not enabled for this account');
    const ttlMs = this.options.oauthTokenTtlMs ?? 300_000;
    const now = Math.floor(Date.now() / 1000);
    const jwtPart = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${jwtPart({ alg: 'HS256', typ: 'JWT' })}.${jwtPart({
      iss: this.origin,
      sub: client.clientId,
      iat: now,
      exp: Math.floor((Date.now() + ttlMs) / 1000),
      jti: randomBytes(12).toString('hex'),
      sender_id: form.get('sender_id') ?? client.senderId,
    })}`;
    const token = `${unsigned}.${createHmac('sha256', this.jwtKey).update(unsigned).digest('base64url')}`;
    this.issueToken('oauth2', client, ttlMs, token);
    return {
      status: 200,
      headers: { 'Cache-Control': 'no-store' },
      json: { access_token: token, token_type: 'Bearer', expires_in: Math.ceil(ttlMs / 1000), scope: 'api' },
    };
  }

  private clientAppToken(req: http.IncomingMessage, body: Buffer | undefined): Outgoing {
    const request = jsonObject(req, body);
    const { clientId, secret, type } = request;
    if (typeof clientId !== 'string' || typeof secret !== 'string' || (type !== 'OWNER' && type !== 'SENDER'))
      throw eslError(
        400,
        'error.validation.invalidParameter',
        'clientId, secret and type OWNER|SENDER are required',
      );
    const client = this.client('oauth2', clientId, secret);
    if (!client || client.disabled)
      throw eslError(401, 'error.unauthorised.invalidClient', 'Invalid client credentials.');
    if (this.currentSettings().authMethod === 'oauth2')
      throw eslError(401, 'error.unauthorised.apiTokenDisabled', 'API tokens are disabled for this account.');
    let senderClient = client;
    if (type === 'SENDER') {
      const email = typeof request.email === 'string' ? request.email.toLowerCase() : '';
      const sender = [...this.senders.values()].find((s) => s.email.toLowerCase() === email);
      if (!sender) throw eslError(400, 'error.validation.invalidParameter', 'Unknown sender email.');
      senderClient = { ...client, senderId: sender.id };
    }
    const token = randomBytes(32).toString('base64url');
    const expiresAt = this.issueToken(
      'clientApp',
      senderClient,
      this.options.clientAppTokenTtlMs ?? 1_800_000,
      token,
    );
    return { status: 200, json: { accessToken: token, expiresAt: new Date(expiresAt).toISOString() } };
  }

  private congaToken(req: http.IncomingMessage, body: Buffer | undefined): Outgoing {
    const form = formBody(req, body);
    const credentials = form ? this.clientCredentials(req, form) : undefined;
    if (!form || !credentials || form.get('grant_type') !== 'client_credentials')
      return { status: 400, json: { error: 'ERROR_AUTHENTICATION_HEADER' } };
    const client = this.clients.get(credentials.clientId);
    if (client?.kind === 'conga' && client.disabled)
      return { status: 403, json: { error: 'ERROR_AUTHENTICATION_CLIENT_DISABLED' } };
    const valid = this.client('conga', credentials.clientId, credentials.clientSecret);
    if (!valid || form.get('scope') !== 'sign')
      return { status: 400, json: { error: 'ERROR_AUTHENTICATION_NOT_VALID' } };
    const ttlMs = this.options.congaTokenTtlMs ?? 3_600_000;
    const token = randomBytes(48).toString('base64url');
    this.issueToken('conga', valid, ttlMs, token);
    return {
      status: 200,
      json: { access_token: token, expires_in: Math.ceil(ttlMs / 1000), token_type: 'Bearer', scope: 'sign' },
    };
  }

  // ------------------------------------------------------------------------------------------------
  // Writing responses (with body faults)

  private async send(exchange: Exchange, outgoing: Outgoing): Promise<void> {
    const { res, entry, faults } = exchange;
    if (res.destroyed) return;
    if (faults.some((f) => f.kind === 'resetAfterHandling')) {
      entry.outcome = 'reset';
      entry.lostStatus = outgoing.status;
      exchange.req.socket.resetAndDestroy();
      return;
    }
    const headers: Record<string, string> = { ...(outgoing.headers ?? {}) };
    let chunks: Iterable<Buffer>;
    let length: number;
    if (outgoing.file) {
      const corrupt = faults.find(
        (f): f is Extract<OssFault, { kind: 'corruptPdf' }> => f.kind === 'corruptPdf',
      );
      chunks = contentChunks(outgoing.file.content, corrupt ? (corrupt.mode ?? 'both') : undefined);
      length = contentSize(outgoing.file.content);
      const typeFault = faults.find(
        (f): f is Extract<OssFault, { kind: 'contentType' }> => f.kind === 'contentType',
      );
      headers['Content-Type'] = typeFault?.value ?? 'application/pdf';
      headers['Content-Disposition'] =
        `attachment; filename*=UTF-8''${encodeURIComponent(outgoing.file.fileName)}`;
    } else {
      let text: string;
      if (outgoing.json !== undefined && outgoing.status >= 200 && outgoing.status < 300) {
        let json: unknown = outgoing.json;
        let invalid = false;
        for (const fault of faults) {
          if (fault.kind === 'mutateJson') json = fault.mutate(structuredClone(json));
          if (fault.kind === 'replaceJson') {
            json = fault.body;
            if (fault.status !== undefined) outgoing = { ...outgoing, status: fault.status };
          }
          if (fault.kind === 'invalidJson') invalid = true;
        }
        text = invalid ? '<html><body>Service Unavailable</body></html>{"id":' : JSON.stringify(json);
      } else if (outgoing.json !== undefined) {
        text = JSON.stringify(outgoing.json);
      } else {
        text = outgoing.text ?? '';
      }
      if (outgoing.json !== undefined)
        headers['Content-Type'] ??= `application/json; esl-api-version=${this.currentSettings().apiVersion}`;
      const buffer = Buffer.from(text, 'utf8');
      chunks = buffer.length > 0 ? [buffer] : [];
      length = buffer.length;
    }

    const truncate = faults.find((f): f is Extract<OssFault, { kind: 'truncate' }> => f.kind === 'truncate');
    const reset = faults.find(
      (f): f is Extract<OssFault, { kind: 'reset' }> => f.kind === 'reset' && f.afterBytes !== undefined,
    );
    const stall = faults.find((f): f is Extract<OssFault, { kind: 'stall' }> => f.kind === 'stall');
    const cut = truncate?.afterBytes ?? reset?.afterBytes ?? stall?.afterBytes;
    const limit = cut === undefined ? Infinity : Math.max(0, Math.min(cut, length));
    headers['Content-Length'] = String(length);
    res.writeHead(outgoing.status, headers);
    entry.status = outgoing.status;

    let sent = 0;
    for (const chunk of chunks) {
      if (sent >= limit) break;
      const piece = sent + chunk.length > limit ? chunk.subarray(0, limit - sent) : chunk;
      if (!(await write(res, piece, entry))) return;
      sent += piece.length;
    }
    if (cut === undefined || limit >= length) {
      res.end();
      return;
    }
    const socket = res.socket;
    if (truncate) {
      entry.outcome = 'truncated';
      await new Promise<void>((resolve) => res.write('', () => resolve()));
      socket?.end();
    } else if (reset) {
      entry.outcome = 'reset';
      await new Promise<void>((resolve) => res.write('', () => resolve()));
      socket?.resetAndDestroy();
    } else {
      // Stall: the connection stays open and silent until the client gives up or the simulator stops.
      entry.outcome = 'stalled';
    }
  }
}

function write(res: http.ServerResponse, chunk: Buffer, entry: OssRequestLogEntry): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  entry.bytesSent += chunk.length;
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

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BODY && !failed) {
        failed = true;
        reject(eslError(413, 'error.requestTooLarge', 'The request is too large.'));
        req.resume();
        return;
      }
      if (!failed) chunks.push(chunk);
    });
    req.once('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.once('error', (error) => {
      if (!failed) reject(error);
    });
  });
}

/** A JSON object body; the media type may carry parameters (`esl-api-version=...`), which are ignored. */
function jsonObject(req: http.IncomingMessage, body: Buffer | undefined): Record<string, unknown> {
  const contentType = req.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(contentType))
    throw eslError(415, 'error.unsupportedMediaType', `Unsupported media type ${contentType.split(';')[0]}`);
  let value: unknown;
  try {
    value = JSON.parse(body?.toString('utf8') ?? '');
  } catch {
    throw eslError(400, 'error.validation.invalidJson', 'The request body is not valid JSON.');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw eslError(400, 'error.validation.invalidJson', 'Expected a JSON object.');
  return value as Record<string, unknown>;
}

function formBody(req: http.IncomingMessage, body: Buffer | undefined): URLSearchParams | undefined {
  const contentType = req.headers['content-type'] ?? '';
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(contentType)) return undefined;
  return new URLSearchParams(body?.toString('utf8') ?? '');
}

function pickSettings(options: OnespanSimulatorOptions): OssSettings {
  const settings: OssSettings = {};
  for (const key of SETTING_KEYS) {
    if (options[key] !== undefined) (settings as Record<string, unknown>)[key] = options[key];
  }
  checkSettings(settings);
  return settings;
}

function checkSettings(s: OssSettings): void {
  if (s.authMethod !== undefined && !['any', 'apiKey', 'oauth2'].includes(s.authMethod))
    throw new Error('authMethod is any, apiKey or oauth2');
  if (s.audit !== undefined && !['enabled', 'notFound', 'forbidden'].includes(s.audit))
    throw new Error('audit is enabled, notFound or forbidden');
  if (s.callbackUrl !== undefined) new URL(s.callbackUrl);
  const auth = s.callbackAuth;
  if (auth !== undefined) {
    const valid =
      auth.type === 'none' ||
      (auth.type === 'key' && typeof auth.key === 'string' && auth.key !== '') ||
      (auth.type === 'basic' && typeof auth.username === 'string' && typeof auth.password === 'string') ||
      (auth.type === 'bearer' && typeof auth.token === 'string' && auth.token !== '');
    if (!valid) throw new Error('callbackAuth is {type: none|key|basic|bearer} with its fields');
  }
  if (
    s.callbackEvents !== undefined &&
    (!Array.isArray(s.callbackEvents) || s.callbackEvents.some((e) => typeof e !== 'string'))
  )
    throw new Error('callbackEvents is a list of event names');
  if (
    s.callbackTimeoutMs !== undefined &&
    (!Number.isSafeInteger(s.callbackTimeoutMs) || s.callbackTimeoutMs < 1)
  )
    throw new Error('callbackTimeoutMs is a positive integer');
  if (s.apiVersion !== undefined && !/^[\w.]+$/.test(s.apiVersion))
    throw new Error('apiVersion is like 11.68.0');
  if (
    s.packageIdAlphabet !== undefined &&
    s.packageIdAlphabet !== 'urlsafe' &&
    s.packageIdAlphabet !== 'standard'
  )
    throw new Error('packageIdAlphabet is urlsafe or standard');
}
