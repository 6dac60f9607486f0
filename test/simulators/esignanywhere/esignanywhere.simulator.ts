/**
 * A strict, unkind simulator of Namirial eSignAnyWhere REST API v6, served over real HTTP on loopback.
 *
 * Reproduced from the platform (see /work/shared/reference/esign-platform-apis.md, sections 1 to 6):
 * - Paths under `/Api/v6/...`, matched case-insensitively like the real IIS host; PascalCase JSON with
 *   nulls for absent values (.NET style); field names from the v6 swagger: `GET envelope/{id}` with
 *   `EnvelopeStatus` and `SenderUserInformation`, `/configuration` with `MetaData`, `/files` with
 *   `Documents[].Attachments`, `AuditTrail{FileId,XmlFileId}`, `LegalDocuments`; `POST envelope/find`
 *   (`Envelopes[].Status`), `POST envelope/delete {EnvelopeId}`, `POST envelope/cancel`, `GET file/{id}`,
 *   `GET authorization/whoami` (the token's user, `AuthorizationWhoAmIResponse`).
 * - Errors as v6 does: `{"ErrorId":"ERR0007","Message":"ERR0007 - ...","TraceId":"..."}` with the v6
 *   error ids (ERR0002 empty parameter, ERR0007 missing envelope, ERR0008 missing file, ERR0010 not
 *   allowed for user, ERR0011 invalid parameter format, ERR0013 action not allowed in this state,
 *   ERR0014 not allowed by licence, ERR0063 envelope created through API v5, ERR0250 missing draft); 401
 *   with an empty body for an unknown or revoked token (`unauthorizedBody: 'message'` for the ASP.NET
 *   "Authorization has been denied" body, which a request without a token always gets). Tokens are
 *   sent as `ApiToken: <t>` (header name case-insensitive) or `Authorization: Bearer <t>`.
 * - Tokens belong to users; an envelope belongs to its sender; every user has an organization id.
 * - `POST draft/send {DraftId}` turns a draft into an Active envelope with a NEW id and answers the swagger
 *   shape `{"Envelope":{"EnvelopeId":...},"EnvelopeBulk":null}`; only the draft's owner may send it. An
 *   unknown or foreign draft is 404 ERR0250.
 * - `POST envelope/find` sees only the token user's own envelopes and filters on `Status` (the reported
 *   one), `StartDate`/`EndDate` (sent date), `InStatusSinceDays` (only with `Status`; by default reached
 *   that status within the last that many days, `inStatusSinceDaysReading: 'atLeast'` for "in it for at
 *   least that many days": the real reading is not public), `SearchText`, `SenderEmail`, `RecipientEmail`,
 *   `CompletedByRecipientWithEmail`, `WaitingForRecipientWithEmail` and `EnvelopeBulkParentId`.
 * - Deleting an Active envelope succeeds (`allowDeleteActive: false` refuses it with 400 ERR0013).
 * - Finished envelopes get real PDF bytes (valid `%PDF-1.7` ... `%%EOF`, any size, generated on the fly),
 *   an audit trail PDF and XML (optionally one audit trail per document), legal documents, attachments.
 * - Two callback URLs per organisation (and per envelope), GET with `##EnvelopeId##`/`##Action##`:
 *   `CallbackUrl` gets only `envelopeFinished`, for Completed and Rejected envelopes;
 *   `StatusUpdateCallbackUrl` gets `envelopeExpired` and the workstep actions (`workstepOpened`,
 *   `workstepFinished`, `workstepRejected`, ...). A canceled envelope calls neither. Success only on
 *   exactly HTTP 200 within a timeout, up to 30 retries with growing intervals (k × 5 min, about 36
 *   hours in total).
 * - The status may lag behind the callback (`statusLagMs`): the API still says `Active` for a while.
 * - OAuth code grant at `/Auth/Authorize` and `/ApiToken/Retrieve` (outside `/Api`), returning the
 *   user's API token as `access_token`.
 *
 * Defensive readings where the reference says NOT FOUND (each one a knob):
 * - Another user's envelope or file answers 404 ERR0007/ERR0008, indistinguishable from a missing one
 *   (`foreignObjectStatus: 403` gives 403 ERR0010 instead). So a NOT_FOUND is no proof of deletion.
 * - A missing or deleted envelope is 404 (`missingObjectStatus: 400` for the 400-with-ERR0007 reading).
 *   After `envelope/delete`, every call about the envelope, its files included, is a miss.
 * - Optional response fields can be left out per envelope (`quirks`: no `MetaData`, no sender e-mail,
 *   `Documents` null, an unknown status); `emptyFindResult` drops `Envelopes` from an empty find.
 * - 403 ERR0010 and ERR0014 (status undocumented) come from the `apiError` fault, per envelope or call.
 * - Callbacks time out after 5 s. PKCE S256 is required; codes live 60 s and are used up by their first
 *   presentation, right or wrong. Files are served with Content-Length and Content-Disposition.
 * - The before-send page gets the draft id in `##EnvelopeId##` (the draft is sent later by the page).
 *
 * Everything else a test needs (users, tokens, envelopes in any state, faults per endpoint, envelope,
 * file or user, the request log, callback deliveries) is reachable through this class and through the
 * HTTP control API under `/_control/` (header `X-Control-Secret`).
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { CallbackDispatcher } from './esignanywhere-callback.dispatcher';
import { handleControlRequest } from './esignanywhere-control.api';
import { OAuthServer, type OAuthHttpResult } from './esignanywhere-oauth.server';
import {
  SIM_ENVELOPE_STATUSES,
  SIM_STATUS_UPDATE_ACTIONS,
  type CreateDraftOptions,
  type CreateEnvelopeOptions,
  type CreateUserOptions,
  type DocumentSpec,
  type EsignAnywhereSimulatorOptions,
  type ExpectedFile,
  type RecipientSpec,
  type SimActivity,
  type SimCallbackAction,
  type SimCallbackDelivery,
  type SimDocument,
  type SimDraftSnapshot,
  type SimEndpoint,
  type SimEnvelopeQuirks,
  type SimEnvelopeSnapshot,
  type SimEnvelopeStatus,
  type SimFault,
  type SimFaultRule,
  type SimFileKind,
  type SimFinishStatus,
  type SimLegalDocument,
  type SimOAuthClient,
  type SimOAuthDecision,
  type SimRequestLogEntry,
  type SimSettings,
  type SimStatusUpdateAction,
  type SimTokenState,
  type SimUser,
} from './esignanywhere-simulator.types';
import {
  contentChunks,
  contentDigest,
  contentSize,
  type CorruptionMode,
  type SimulatedContent,
} from './simulated-file';

export * from './esignanywhere-simulator.types';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_REQUEST_BODY = 1024 * 1024;
const REQUEST_LOG_LIMIT = 100_000;
const FIND_STATUSES = [...SIM_ENVELOPE_STATUSES, 'ActionRequired', 'WaitingForOthers', 'ExpiringSoon'];
const DAY_MS = 86_400_000;
/** Status of an `apiError` fault when it names none. */
const API_ERROR_STATUS: Record<string, number> = {
  ERR0007: 404,
  ERR0008: 404,
  ERR0010: 403,
  ERR0014: 403,
  ERR0063: 400,
  ERR0250: 404,
};
const API_ERROR_MESSAGES: Record<string, string> = {
  ERR0007: 'Envelope not found',
  ERR0008: 'File not found',
  ERR0010: 'Not allowed for user',
  ERR0013: 'Envelope action not allowed for envelope state',
  ERR0014: 'Not allowed by license',
  ERR0063: 'Invalid envelope API version',
  ERR0250: 'Draft not found',
};
const SETTING_KEYS = [
  'foreignObjectStatus',
  'missingObjectStatus',
  'allowDeleteActive',
  'statusLagMs',
  'unauthorizedBody',
  'emptyFindResult',
  'inStatusSinceDaysReading',
  'latencyMs',
  'callsPerMinute',
] as const satisfies readonly (keyof SimSettings)[];

interface TokenRecord {
  userId: string;
  revoked: boolean;
}

interface FileRecord {
  id: string;
  envelopeId: string;
  kind: SimFileKind;
  fileName: string;
  contentType: string;
  content: SimulatedContent;
}

interface PendingDocs {
  documents: DocumentSpec[];
  legalDocuments: { fileName?: string; size?: number; email?: string }[];
}

interface EnvelopeRecord {
  id: string;
  senderUserId: string;
  name: string;
  status: SimEnvelopeStatus;
  sentDate: string;
  finishedDate?: string;
  metaData: string | null;
  documents: SimDocument[];
  auditTrail?: { fileId: string; xmlFileId: string };
  legalDocuments: SimLegalDocument[];
  legalSpecs: { fileName?: string; size?: number; email?: string }[];
  activities: SimActivity[];
  callbackUrl: string | null | undefined;
  statusUpdateCallbackUrl: string | null | undefined;
  separateAuditTrailPerDocument: boolean;
  statusLagMs: number | undefined;
  /** While Date.now() is before this, the API reports `Active` (the status lag). */
  reportFinalFrom?: number;
  quirks: SimEnvelopeQuirks;
  deleted: boolean;
}

interface DraftRecord {
  id: string;
  ownerUserId: string;
  name: string;
  metaData: string | null;
  docs: PendingDocs;
  recipients: RecipientSpec[];
  beforeSendRedirectUrl: string | null;
  callbackUrl: string | null | undefined;
}

interface FaultEntry {
  id: number;
  rule: SimFaultRule;
  remaining?: number;
}

interface Outgoing {
  status: number;
  headers?: Record<string, string>;
  /** JSON body (serialized here, after JSON faults). */
  json?: unknown;
  /** Raw body. */
  text?: string;
  file?: FileRecord;
}

interface Exchange {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  entry: SimRequestLogEntry;
  faults: SimFault[];
}

interface Route {
  endpoint: SimEndpoint;
  method: string;
  id?: string;
}

class HttpError extends Error {
  constructor(readonly outgoing: Outgoing) {
    super(`HTTP ${outgoing.status}`);
  }
}

function apiError(status: number, errorId: string, message: string): HttpError {
  return new HttpError({
    status,
    json: { ErrorId: errorId, Message: `${errorId} - ${message}`, TraceId: randomUUID() },
  });
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function newToken(): string {
  return randomBytes(24).toString('base64url');
}

function routeOf(method: string, path: string): Route | { status: 404 | 405 } {
  const p = path.replace(/\/+$/, '');
  const named = (
    pattern: RegExp,
    endpoint: SimEndpoint,
    allowed: string,
  ): Route | { status: 405 } | undefined =>
    pattern.test(p) ? (method === allowed ? { endpoint, method } : { status: 405 }) : undefined;
  const fixed =
    named(/^\/api\/v6\/envelope\/find$/i, 'envelope.find', 'POST') ??
    named(/^\/api\/v6\/envelope\/delete$/i, 'envelope.delete', 'POST') ??
    named(/^\/api\/v6\/envelope\/cancel$/i, 'envelope.cancel', 'POST') ??
    named(/^\/api\/v6\/draft\/send$/i, 'draft.send', 'POST') ??
    named(/^\/api\/v6\/authorization\/whoami$/i, 'authorization.whoami', 'GET') ??
    named(/^\/apitoken\/retrieve$/i, 'oauth.token', 'POST');
  if (fixed) return fixed;
  if (/^\/auth\/authorize$/i.test(p)) {
    return method === 'GET' || method === 'POST' ? { endpoint: 'oauth.authorize', method } : { status: 405 };
  }
  let m = /^\/api\/v6\/envelope\/([^/]+)(\/configuration|\/files)?$/i.exec(p);
  if (m) {
    if (method !== 'GET') return { status: 405 };
    const endpoint: SimEndpoint = !m[2]
      ? 'envelope.get'
      : m[2].toLowerCase() === '/files'
        ? 'envelope.files'
        : 'envelope.configuration';
    return { endpoint, method, id: m[1] };
  }
  m = /^\/api\/v6\/file\/([^/]+)$/i.exec(p);
  if (m) return method === 'GET' ? { endpoint: 'file.get', method, id: m[1] } : { status: 405 };
  return { status: 404 };
}

function describeFault(fault: SimFault): string {
  switch (fault.kind) {
    case 'status':
      return `status:${fault.status}`;
    case 'apiError':
      return `apiError:${fault.errorId}`;
    case 'rateLimit':
      return 'rateLimit';
    case 'latency':
      return `latency:${fault.ms}`;
    case 'reset':
    case 'truncate':
    case 'trickle':
    case 'stall':
    case 'resetAfterHandling':
    case 'omitContentLength':
    case 'contentType':
    case 'deleteEnvelope':
    case 'revokeToken':
    case 'corruptPdf':
    case 'replaceJson':
    case 'mutateJson':
    case 'observe':
    case 'invalidJson':
    case 'redirect':
      return fault.kind;
  }
}

export class EsignAnywhereSimulator {
  readonly controlSecret: string;
  private readonly options: EsignAnywhereSimulatorOptions;
  private server: http.Server | undefined;
  private readonly sockets = new Set<Socket>();
  private origin: string | undefined;
  private organizationId = randomUUID();

  private readonly users = new Map<string, SimUser>();
  private readonly tokens = new Map<string, TokenRecord>();
  private readonly appTokens = new Map<string, string>();
  private readonly envelopes = new Map<string, EnvelopeRecord>();
  private readonly drafts = new Map<string, DraftRecord>();
  private readonly files = new Map<string, FileRecord>();
  private readonly digests = new Map<string, Promise<{ sha256: string; size: number }>>();
  private faultRules: FaultEntry[] = [];
  private nextFaultId = 1;
  private log: SimRequestLogEntry[] = [];
  private nextSeq = 1;
  private userCounter = 0;
  private settings: SimSettings;
  private callbackTemplate: string | undefined;
  private statusUpdateTemplate: string | undefined;
  private readonly callbacks: CallbackDispatcher;
  private readonly oauth: OAuthServer;

  constructor(options: EsignAnywhereSimulatorOptions = {}) {
    this.options = { ...options };
    this.controlSecret = options.controlSecret ?? randomBytes(18).toString('base64url');
    this.settings = pickSettings(options);
    this.callbackTemplate = options.callbackUrlTemplate;
    this.statusUpdateTemplate = options.statusUpdateCallbackUrlTemplate;
    this.callbacks = new CallbackDispatcher({
      intervalUnitMs: options.callbackIntervalUnitMs ?? 5 * 60_000,
      maxRetries: options.callbackMaxRetries ?? 30,
      timeoutMs: options.callbackTimeoutMs ?? 5_000,
      ...(options.callbackBasicAuth && { basicAuth: options.callbackBasicAuth }),
    });
    this.oauth = new OAuthServer(
      {
        users: () => [...this.users.values()],
        apiTokenFor: (userId, clientId) => this.apiTokenFor(userId, clientId),
      },
      {
        codeTtlMs: options.oauthCodeTtlMs ?? 60_000,
        requirePkce: options.oauthRequirePkce ?? true,
        decision: options.oauthDecision ?? null,
      },
    );
    for (const client of options.oauthClients ?? []) this.oauth.registerClient(client);
  }

  // ------------------------------------------------------------------------------------------------
  // Lifecycle

  /** Starts listening on loopback; resolves to the API base URL (`http://127.0.0.1:PORT/Api`). */
  async start(options: { port?: number; host?: string } = {}): Promise<string> {
    if (this.server) throw new Error('the simulator is already started');
    const server = http.createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) {
          res.statusCode = 500;
          res.setHeader('Content-Type', 'application/json; charset=utf-8');
          res.end(JSON.stringify({ Message: `simulator failure: ${String(error)}` }));
        } else {
          res.destroy();
        }
      });
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const address = server.address() as AddressInfo;
    const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.origin = `http://${shownHost}:${address.port}`;
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

  /** `http://127.0.0.1:PORT` */
  get url(): string {
    if (!this.origin) throw new Error('the simulator is not started');
    return this.origin;
  }

  /** `http://127.0.0.1:PORT/Api`, the value for ESAW_BASE_URL. */
  get baseUrl(): string {
    return `${this.url}/Api`;
  }

  get controlUrl(): string {
    return `${this.url}/_control`;
  }

  get authorizeUrl(): string {
    return `${this.url}/Auth/Authorize`;
  }

  get tokenUrl(): string {
    return `${this.url}/ApiToken/Retrieve`;
  }

  /**
   * Forgets all users, envelopes, drafts, faults, log entries and callbacks, and restores the
   * constructor's settings and callback URLs (OAuth clients stay).
   */
  reset(): void {
    this.callbacks.reset();
    this.users.clear();
    this.tokens.clear();
    this.appTokens.clear();
    this.envelopes.clear();
    this.drafts.clear();
    this.files.clear();
    this.digests.clear();
    this.faultRules = [];
    this.log = [];
    this.userCounter = 0;
    this.organizationId = randomUUID();
    this.settings = pickSettings(this.options);
    this.callbackTemplate = this.options.callbackUrlTemplate;
    this.statusUpdateTemplate = this.options.statusUpdateCallbackUrlTemplate;
    this.oauth.clear();
    this.oauth.decision = this.options.oauthDecision ?? null;
  }

  // ------------------------------------------------------------------------------------------------
  // Users and tokens

  createUser(options: CreateUserOptions = {}): { user: SimUser; token: string } {
    this.userCounter++;
    const user: SimUser = {
      id: randomUUID(),
      email: options.email ?? `sender${this.userCounter}@example.test`,
      givenName: options.givenName ?? 'Sam',
      surname: options.surname ?? `Sender${this.userCounter}`,
      organizationId: options.organizationId ?? this.organizationId,
    };
    this.users.set(user.id, user);
    return { user: { ...user }, token: this.issueToken(user.id) };
  }

  getUser(userId: string): SimUser | undefined {
    const user = this.users.get(userId);
    return user ? { ...user } : undefined;
  }

  /** A new API token for the user ("Api Tokens and Apps" in the user settings). */
  issueToken(userId: string): string {
    if (!this.users.has(userId)) throw new Error(`unknown user ${userId}`);
    const token = newToken();
    this.tokens.set(hashToken(token), { userId, revoked: false });
    return token;
  }

  /** Revokes one token; later requests with it get 401. */
  revokeToken(token: string): boolean {
    const record = this.tokens.get(hashToken(token));
    if (!record) return false;
    record.revoked = true;
    return true;
  }

  revokeAllTokens(userId: string): number {
    let count = 0;
    for (const record of this.tokens.values()) {
      if (record.userId === userId && !record.revoked) {
        record.revoked = true;
        count++;
      }
    }
    return count;
  }

  // ------------------------------------------------------------------------------------------------
  // Envelopes and drafts

  createEnvelope(options: CreateEnvelopeOptions): SimEnvelopeSnapshot {
    const sender = this.requireUser(options.senderUserId);
    const id = options.id ?? randomUUID();
    if (!GUID.test(id)) throw new Error('an envelope id is a GUID');
    if (this.envelopes.has(id.toLowerCase())) throw new Error(`envelope ${id} exists`);
    if (options.finishedDate !== undefined && Number.isNaN(Date.parse(options.finishedDate)))
      throw new Error('finishedDate is an ISO date-time');
    const envelope: EnvelopeRecord = {
      id,
      senderUserId: sender.id,
      name: options.name ?? 'Simulated envelope',
      status: 'Active',
      sentDate: options.sentDate ?? new Date().toISOString(),
      metaData: options.metaData ?? null,
      documents: [],
      legalDocuments: [],
      legalSpecs: options.legalDocuments ?? [],
      activities: this.buildActivities(options.recipients),
      callbackUrl: options.callbackUrl,
      statusUpdateCallbackUrl: options.statusUpdateCallbackUrl,
      separateAuditTrailPerDocument: options.separateAuditTrailPerDocument ?? false,
      statusLagMs: lagOption(options.statusLagMs),
      quirks: checkQuirks({ ...options.quirks }),
      deleted: false,
    };
    this.envelopes.set(id.toLowerCase(), envelope);
    this.addDocuments(envelope, options.documents ?? [{}]);
    const status = options.status ?? 'Active';
    if (status !== 'Active') {
      this.finalize(envelope, status, false);
      if (options.finishedDate !== undefined) envelope.finishedDate = options.finishedDate;
    }
    return this.snapshot(envelope);
  }

  getEnvelope(envelopeId: string): SimEnvelopeSnapshot | undefined {
    const envelope = this.envelopes.get(envelopeId.toLowerCase());
    return envelope ? this.snapshot(envelope) : undefined;
  }

  /**
   * Finishes an Active envelope. Completed: every recipient opens and finishes (`workstepOpened`,
   * `workstepFinished` on the status URL), then `envelopeFinished` on the callback URL. Rejected: the
   * first recipient opens and rejects (`workstepOpened`, `workstepRejected`), then `envelopeFinished`.
   * Canceled: no callback at all. `statusLagMs` overrides the envelope's and the global lag.
   */
  finishEnvelope(
    envelopeId: string,
    status: SimFinishStatus,
    options: { statusLagMs?: number } = {},
  ): SimEnvelopeSnapshot {
    const envelope = this.requireActiveEnvelope(envelopeId);
    this.finalize(envelope, status, true, lagOption(options.statusLagMs));
    return this.snapshot(envelope);
  }

  /** Expires an Active envelope and sends `envelopeExpired` to the status URL. */
  expireEnvelope(envelopeId: string, options: { statusLagMs?: number } = {}): SimEnvelopeSnapshot {
    const envelope = this.requireActiveEnvelope(envelopeId);
    this.finalize(envelope, 'Expired', true, lagOption(options.statusLagMs));
    return this.snapshot(envelope);
  }

  /**
   * Sends one status-change action (e.g. `workstepDelegated`, `sendSignNotification`) for an envelope to
   * its status URL, without changing the envelope. Returns the delivery, or null when no URL is set.
   */
  fireStatusUpdate(envelopeId: string, action: SimStatusUpdateAction): SimCallbackDelivery | null {
    if (!(SIM_STATUS_UPDATE_ACTIONS as readonly string[]).includes(action))
      throw new Error(`${action} is not a status-change action`);
    const envelope = this.envelopes.get(envelopeId.toLowerCase());
    if (!envelope || envelope.deleted) throw new Error(`unknown envelope ${envelopeId}`);
    return this.fireCallback(envelope, action);
  }

  /** Replaces an envelope's quirks (see `SimEnvelopeQuirks`); `{}` serves it fully filled again. */
  setEnvelopeQuirks(envelopeId: string, quirks: SimEnvelopeQuirks): SimEnvelopeSnapshot {
    const envelope = this.envelopes.get(envelopeId.toLowerCase());
    if (!envelope) throw new Error(`unknown envelope ${envelopeId}`);
    envelope.quirks = checkQuirks({ ...quirks });
    return this.snapshot(envelope);
  }

  /** Deletes an envelope as if someone else had (another integration, a retention job). */
  deleteEnvelope(envelopeId: string): boolean {
    const envelope = this.envelopes.get(envelopeId.toLowerCase());
    if (!envelope || envelope.deleted) return false;
    envelope.deleted = true;
    return true;
  }

  createDraft(options: CreateDraftOptions): SimDraftSnapshot {
    const owner = this.requireUser(options.ownerUserId);
    const id = options.id ?? randomUUID();
    if (!GUID.test(id)) throw new Error('a draft id is a GUID');
    const draft: DraftRecord = {
      id,
      ownerUserId: owner.id,
      name: options.name ?? 'Simulated draft',
      metaData: options.metaData ?? null,
      docs: { documents: options.documents ?? [{}], legalDocuments: options.legalDocuments ?? [] },
      recipients: options.recipients ?? [],
      beforeSendRedirectUrl: options.beforeSendRedirectUrl ?? null,
      callbackUrl: options.callbackUrl,
    };
    this.drafts.set(id.toLowerCase(), draft);
    return this.draftSnapshot(draft);
  }

  getDraft(draftId: string): SimDraftSnapshot | undefined {
    const draft = this.drafts.get(draftId.toLowerCase());
    return draft ? this.draftSnapshot(draft) : undefined;
  }

  /**
   * The URL a browser is sent to when the sender presses NEXT on a draft with a before-send redirect:
   * `##EnvelopeId##` is the draft id, plus `##SenderUserId##` and `##OrganizationId##`.
   */
  beforeSendRedirectUrl(draftId: string, template?: string): string {
    const draft = this.drafts.get(draftId.toLowerCase());
    if (!draft) throw new Error(`unknown draft ${draftId}`);
    const chosen = template ?? draft.beforeSendRedirectUrl ?? this.options.beforeSendRedirectUrlTemplate;
    if (!chosen) throw new Error('no before-send redirect URL template configured');
    const owner = this.requireUser(draft.ownerUserId);
    return chosen
      .split('##EnvelopeId##')
      .join(draft.id)
      .split('##SenderUserId##')
      .join(owner.id)
      .split('##OrganizationId##')
      .join(owner.organizationId);
  }

  // ------------------------------------------------------------------------------------------------
  // Files

  /** Expected bytes of a file (intact, as served without a corruption fault): sha256 and size. */
  async expectedFile(fileId: string): Promise<ExpectedFile> {
    const file = this.files.get(fileId.toLowerCase());
    if (!file) throw new Error(`unknown file ${fileId}`);
    let digest = this.digests.get(file.id);
    if (!digest) {
      digest = contentDigest(file.content);
      this.digests.set(file.id, digest);
    }
    const { sha256, size } = await digest;
    return {
      fileId: file.id,
      envelopeId: file.envelopeId,
      kind: file.kind,
      fileName: file.fileName,
      contentType: file.contentType,
      size,
      sha256,
    };
  }

  /** Every file of an envelope with its kind (documents, attachments, audit trails, legal documents). */
  envelopeFiles(envelopeId: string): { fileId: string; kind: SimFileKind; fileName: string; size: number }[] {
    return [...this.files.values()]
      .filter((f) => f.envelopeId.toLowerCase() === envelopeId.toLowerCase())
      .map((f) => ({ fileId: f.id, kind: f.kind, fileName: f.fileName, size: contentSize(f.content) }));
  }

  // ------------------------------------------------------------------------------------------------
  // Faults, log, callbacks, OAuth

  /** Adds a fault rule; returns its id. */
  addFault(rule: SimFaultRule): number {
    if (rule.times !== undefined && (!Number.isInteger(rule.times) || rule.times < 1)) {
      throw new Error('times must be a positive integer');
    }
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

  /** Requests received on the platform API and OAuth endpoints (not the control API), oldest first. */
  requests(
    filter: { endpoint?: SimEndpoint; envelopeId?: string; userId?: string; method?: string } = {},
  ): SimRequestLogEntry[] {
    return this.log
      .filter(
        (e) =>
          (filter.endpoint === undefined || e.endpoint === filter.endpoint) &&
          (filter.envelopeId === undefined ||
            e.envelopeId?.toLowerCase() === filter.envelopeId.toLowerCase()) &&
          (filter.userId === undefined || e.userId === filter.userId) &&
          (filter.method === undefined || e.method === filter.method),
      )
      .map((e) => structuredClone(e));
  }

  clearRequests(): void {
    this.log = [];
  }

  /** The organisation's `CallbackUrl` (only `envelopeFinished`); undefined unsets it. */
  setCallbackUrlTemplate(template: string | undefined): void {
    this.callbackTemplate = template;
  }

  /** The organisation's `StatusUpdateCallbackUrl` (`envelopeExpired`, workstep actions); undefined unsets it. */
  setStatusUpdateCallbackUrlTemplate(template: string | undefined): void {
    this.statusUpdateTemplate = template;
  }

  /** Changes settings while running; keys left out keep their value, `undefined` restores the default. */
  configure(settings: SimSettings): SimSettings {
    const unknown = Object.keys(settings).filter((key) => !(SETTING_KEYS as readonly string[]).includes(key));
    if (unknown.length > 0) throw new Error(`unknown settings: ${unknown.join(', ')}`);
    const next: SimSettings = { ...this.settings };
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

  /** Calls allowed by the account's budget in the last minute, and throttled ones, for benchmarks. */
  readonly budgetLog = { allowed: 0, throttled: 0 };
  private readonly callTimes: number[] = [];

  /** The account's budget (`callsPerMinute` per sliding minute): a 429 past it, else undefined. */
  private throttle(): Outgoing | undefined {
    const limit = this.currentSettings().callsPerMinute;
    if (limit === 0) return undefined;
    const now = Date.now();
    while (this.callTimes.length > 0 && this.callTimes[0] <= now - 60_000) this.callTimes.shift();
    if (this.callTimes.length >= limit) {
      this.budgetLog.throttled++;
      const seconds = Math.max(1, Math.ceil((this.callTimes[0] + 60_000 - now) / 1000));
      return {
        status: 429,
        headers: { 'Retry-After': String(seconds) },
        json: { Message: 'API call quota exceeded. Please retry later.' },
      };
    }
    this.callTimes.push(now);
    this.budgetLog.allowed++;
    return undefined;
  }

  /** The settings in force, defaults filled in. */
  currentSettings(): Required<SimSettings> {
    return {
      foreignObjectStatus: this.settings.foreignObjectStatus ?? 404,
      missingObjectStatus: this.settings.missingObjectStatus ?? 404,
      allowDeleteActive: this.settings.allowDeleteActive ?? true,
      statusLagMs: this.settings.statusLagMs ?? 0,
      unauthorizedBody: this.settings.unauthorizedBody ?? 'empty',
      emptyFindResult: this.settings.emptyFindResult ?? 'emptyList',
      inStatusSinceDaysReading: this.settings.inStatusSinceDaysReading ?? 'atMost',
      latencyMs: this.settings.latencyMs ?? 0,
      callsPerMinute: this.settings.callsPerMinute ?? 0,
    };
  }

  callbackDeliveries(envelopeId?: string): SimCallbackDelivery[] {
    return this.callbacks.list(envelopeId);
  }

  /** Without `action`: the first `envelopeFinished` or `envelopeExpired` of the envelope. */
  waitForCallbackDelivery(
    envelopeId: string,
    options: { action?: SimCallbackAction; timeoutMs?: number } = {},
  ): Promise<SimCallbackDelivery> {
    return this.callbacks.waitForDelivery(envelopeId, options);
  }

  registerOAuthClient(client: SimOAuthClient): void {
    this.oauth.registerClient(client);
  }

  /** Answer the authorize page automatically (approve as a user, or deny); null shows the HTML page. */
  setOAuthDecision(decision: SimOAuthDecision | null): void {
    this.oauth.decision = decision;
  }

  /** Compares a presented control secret in constant time. */
  checkControlSecret(presented: string | undefined): boolean {
    if (presented === undefined) return false;
    const a = createHash('sha256').update(presented).digest();
    const b = createHash('sha256').update(this.controlSecret).digest();
    return timingSafeEqual(a, b);
  }

  // ------------------------------------------------------------------------------------------------
  // State helpers

  private requireUser(userId: string): SimUser {
    const user = this.users.get(userId);
    if (!user) throw new Error(`unknown user ${userId}`);
    return user;
  }

  private requireActiveEnvelope(envelopeId: string): EnvelopeRecord {
    const envelope = this.envelopes.get(envelopeId.toLowerCase());
    if (!envelope || envelope.deleted) throw new Error(`unknown envelope ${envelopeId}`);
    if (envelope.status !== 'Active')
      throw new Error(`envelope ${envelopeId} is ${envelope.status}, not Active`);
    return envelope;
  }

  private apiTokenFor(userId: string, clientId: string): string {
    const key = `${clientId}\u0000${userId}`;
    const existing = this.appTokens.get(key);
    if (existing && this.tokens.get(hashToken(existing))?.revoked === false) return existing;
    const token = this.issueToken(userId);
    this.appTokens.set(key, token);
    return token;
  }

  private buildActivities(recipients: RecipientSpec[] | undefined): SimActivity[] {
    const list = recipients?.length
      ? recipients
      : [{ email: 'signer@example.test', givenName: 'Sid', surname: 'Signer' }];
    return list.map((r) => ({
      id: randomUUID(),
      status: 'Pending',
      actionType: r.action ?? 'Sign',
      email: r.email,
      givenName: r.givenName ?? 'Recipient',
      surname: r.surname ?? 'Person',
    }));
  }

  private addFile(
    envelopeId: string,
    kind: SimFileKind,
    fileName: string,
    content: SimulatedContent,
    contentType = 'application/pdf',
  ): string {
    const id = randomUUID();
    this.files.set(id.toLowerCase(), { id, envelopeId, kind, fileName, contentType, content });
    return id;
  }

  private pdf(seed: string, title: string, size: number | undefined, pages = 1): SimulatedContent {
    if (size !== undefined && (!Number.isSafeInteger(size) || size < 0))
      throw new Error('a size is a byte count');
    return { kind: 'pdf', size: size ?? 20_000, seed, title, pages };
  }

  private addDocuments(envelope: EnvelopeRecord, specs: DocumentSpec[]): void {
    specs.forEach((spec, index) => {
      const fileName = spec.fileName ?? `Document-${index + 1}.pdf`;
      const pageCount = spec.pageCount ?? 1;
      const fileId = this.addFile(
        envelope.id,
        'document',
        fileName,
        this.pdf(`${envelope.id}/doc/${index}`, `${fileName} (${envelope.name})`, spec.size, pageCount),
      );
      const attachments = (spec.attachments ?? []).map((a, i) => {
        const name = a.fileName ?? `Attachment-${index + 1}-${i + 1}.pdf`;
        return {
          fileId: this.addFile(
            envelope.id,
            'attachment',
            name,
            this.pdf(`${envelope.id}/att/${index}/${i}`, name, a.size),
          ),
          fileName: name,
        };
      });
      envelope.documents.push({ fileId, fileName, documentNumber: index + 1, pageCount, attachments });
    });
  }

  private finalize(
    envelope: EnvelopeRecord,
    status: SimEnvelopeStatus,
    notify: boolean,
    statusLagMs?: number,
  ): void {
    const now = new Date().toISOString();
    envelope.status = status;
    envelope.finishedDate = now;
    const workstepActions: SimStatusUpdateAction[] = [];
    for (const [i, activity] of envelope.activities.entries()) {
      if (status === 'Completed') {
        if (activity.openedDate === undefined) workstepActions.push('workstepOpened');
        workstepActions.push('workstepFinished');
        activity.status = 'Completed';
        activity.openedDate ??= now;
        activity.finishedDate = now;
      } else if (status === 'Rejected' && i === 0) {
        if (activity.openedDate === undefined) workstepActions.push('workstepOpened');
        workstepActions.push('workstepRejected');
        activity.status = 'Rejected';
        activity.openedDate ??= now;
        activity.finishedDate = now;
        activity.statusReason = 'I do not agree with the terms.';
      }
    }
    const auditPdf = this.addFile(
      envelope.id,
      'auditTrailPdf',
      'AuditTrail.pdf',
      this.pdf(`${envelope.id}/audit`, `Audit trail of ${envelope.name}`, 30_000, 2),
    );
    const auditXml = this.addFile(
      envelope.id,
      'auditTrailXml',
      'AuditTrail.xml',
      { kind: 'text', content: this.auditXml(envelope) },
      'application/xml',
    );
    envelope.auditTrail = { fileId: auditPdf, xmlFileId: auditXml };
    if (envelope.separateAuditTrailPerDocument) {
      for (const document of envelope.documents) {
        document.auditTrailFileId = this.addFile(
          envelope.id,
          'documentAuditTrail',
          document.fileName.replace(/\.pdf$/i, '') + '-AuditTrail.pdf',
          this.pdf(`${envelope.id}/audit/${document.fileId}`, `Audit trail of ${document.fileName}`, 15_000),
        );
      }
    }
    envelope.legalDocuments = envelope.legalSpecs.map((spec, i) => {
      const fileName = spec.fileName ?? `CA22D-CertificateRequest-${i + 1}.pdf`;
      const activity = envelope.activities[i % envelope.activities.length];
      return {
        fileId: this.addFile(
          envelope.id,
          'legalDocument',
          fileName,
          this.pdf(`${envelope.id}/legal/${i}`, fileName, spec.size),
        ),
        fileName,
        activityId: activity.id,
        email: spec.email ?? activity.email,
      };
    });
    if (!notify) return;
    const lag = statusLagMs ?? envelope.statusLagMs ?? this.settings.statusLagMs ?? 0;
    if (lag > 0) envelope.reportFinalFrom = Date.now() + lag;
    // The platform documents no callback for a canceled envelope, on either URL.
    if (status === 'Canceled') return;
    for (const action of workstepActions) this.fireCallback(envelope, action);
    this.fireCallback(envelope, status === 'Expired' ? 'envelopeExpired' : 'envelopeFinished');
  }

  private auditXml(envelope: EnvelopeRecord): string {
    const esc = (s: string): string => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
    const events = envelope.activities
      .map(
        (a) =>
          `  <Activity Id="${a.id}" Action="${a.actionType}" Status="${a.status}" Email="${esc(a.email)}"${a.finishedDate ? ` Finished="${a.finishedDate}"` : ''}/>`,
      )
      .join('\n');
    return `<?xml version="1.0" encoding="utf-8"?>\n<AuditTrail EnvelopeId="${envelope.id}" Name="${esc(envelope.name)}" Status="${envelope.status}" Sent="${envelope.sentDate}" Finished="${envelope.finishedDate ?? ''}">\n${events}\n</AuditTrail>\n`;
  }

  /** `envelopeFinished` goes to `CallbackUrl`, every other action to `StatusUpdateCallbackUrl`. */
  private fireCallback(envelope: EnvelopeRecord, action: SimCallbackAction): SimCallbackDelivery | null {
    const channel = action === 'envelopeFinished' ? 'callbackUrl' : 'statusUpdateCallbackUrl';
    const template =
      channel === 'callbackUrl' ? this.callbackUrlOf(envelope) : this.statusUpdateCallbackUrlOf(envelope);
    if (!template) return null;
    const url = template.split('##EnvelopeId##').join(envelope.id).split('##Action##').join(action);
    return this.callbacks.dispatch(envelope.id, action, channel, url);
  }

  private callbackUrlOf(envelope: EnvelopeRecord): string | null {
    return envelope.callbackUrl === undefined ? (this.callbackTemplate ?? null) : envelope.callbackUrl;
  }

  private statusUpdateCallbackUrlOf(envelope: EnvelopeRecord): string | null {
    return envelope.statusUpdateCallbackUrl === undefined
      ? (this.statusUpdateTemplate ?? null)
      : envelope.statusUpdateCallbackUrl;
  }

  /** The status the API shows now: a quirk's value, `Active` during the lag, else the real one. */
  private reportedStatus(envelope: EnvelopeRecord): string {
    if (envelope.quirks.reportedStatus !== undefined) return envelope.quirks.reportedStatus;
    if (envelope.reportFinalFrom !== undefined && Date.now() < envelope.reportFinalFrom) return 'Active';
    return envelope.status;
  }

  private snapshot(envelope: EnvelopeRecord): SimEnvelopeSnapshot {
    const snapshot: SimEnvelopeSnapshot = {
      id: envelope.id,
      senderUserId: envelope.senderUserId,
      name: envelope.name,
      status: envelope.status,
      sentDate: envelope.sentDate,
      metaData: envelope.metaData,
      documents: structuredClone(envelope.documents),
      legalDocuments: structuredClone(envelope.legalDocuments),
      activities: structuredClone(envelope.activities),
      callbackUrl: this.callbackUrlOf(envelope),
      statusUpdateCallbackUrl: this.statusUpdateCallbackUrlOf(envelope),
      reportedStatus: this.reportedStatus(envelope),
      quirks: { ...envelope.quirks },
      deleted: envelope.deleted,
    };
    if (envelope.finishedDate) snapshot.finishedDate = envelope.finishedDate;
    if (envelope.auditTrail) snapshot.auditTrail = { ...envelope.auditTrail };
    return snapshot;
  }

  private draftSnapshot(draft: DraftRecord): SimDraftSnapshot {
    return {
      id: draft.id,
      ownerUserId: draft.ownerUserId,
      name: draft.name,
      metaData: draft.metaData,
      beforeSendRedirectUrl: draft.beforeSendRedirectUrl,
      callbackUrl: draft.callbackUrl ?? null,
    };
  }

  // ------------------------------------------------------------------------------------------------
  // HTTP

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    if (/^\/_control(\/|$)/.test(url.pathname)) {
      await handleControlRequest(this, req, res, url);
      return;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const entry: SimRequestLogEntry = {
      seq: this.nextSeq++,
      at: new Date().toISOString(),
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      endpoint: 'unknown',
      userId: null,
      tokenState: 'none',
      status: null,
      bytesSent: 0,
      durationMs: 0,
      outcome: 'complete',
      faults: [],
    };
    // Only OAuth secrets travel in queries/forms of this API; keep codes and secrets out of the log.
    for (const key of ['code', 'client_secret', 'code_verifier'])
      if (key in entry.query) entry.query[key] = '[redacted]';
    this.log.push(entry);
    // A long-running demo process must not grow without bound: keep the newest entries.
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
          ? {
              status: 404,
              json: { Message: `No HTTP resource was found that matches the request URI '${url.pathname}'.` },
            }
          : {
              status: 405,
              json: { Message: `The requested resource does not support http method '${method}'.` },
            },
      );
      return;
    }
    entry.endpoint = route.endpoint;

    let body: Buffer | undefined;
    if (method === 'POST') {
      try {
        body = await this.readRequestBody(req);
      } catch (error) {
        if (error instanceof HttpError) await this.send(exchange, error.outgoing);
        else res.destroy();
        return;
      }
    }

    const auth = this.authenticate(req);
    entry.userId = auth.userId;
    entry.tokenState = auth.state;

    try {
      const outgoing = await this.dispatch(exchange, route, body, url, auth);
      if (outgoing) await this.send(exchange, outgoing);
    } catch (error) {
      if (error instanceof HttpError) await this.send(exchange, error.outgoing);
      else throw error;
    }
  }

  private authenticate(req: http.IncomingMessage): {
    userId: string | null;
    state: SimTokenState;
    token?: string;
  } {
    const apiToken = req.headers['apitoken'];
    const authorization = req.headers.authorization;
    const presented: string[] = [];
    if (typeof apiToken === 'string') presented.push(apiToken.trim());
    if (typeof authorization === 'string') {
      const m = /^bearer\s+(.+)$/i.exec(authorization.trim());
      if (m) presented.push(m[1].trim());
    }
    if (presented.length === 0) return { userId: null, state: 'none' };
    if (presented.some((t) => t !== presented[0])) return { userId: null, state: 'unknown' };
    const token = presented[0];
    const record = this.tokens.get(hashToken(token));
    if (!record) return { userId: null, state: 'unknown', token };
    return { userId: record.userId, state: record.revoked ? 'revoked' : 'valid', token };
  }

  private readRequestBody(req: http.IncomingMessage): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let failed = false;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_REQUEST_BODY && !failed) {
          failed = true;
          reject(new HttpError({ status: 413, json: { Message: 'The request is too large.' } }));
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

  private jsonBody(req: http.IncomingMessage, body: Buffer | undefined): Record<string, unknown> {
    const contentType = req.headers['content-type'] ?? '';
    if (!/^application\/json\b/i.test(contentType)) {
      throw new HttpError({
        status: 415,
        json: {
          Message: `The request entity's media type '${contentType.split(';')[0]}' is not supported for this resource.`,
        },
      });
    }
    if (!body || body.length === 0) throw apiError(400, 'ERR0002', 'Request body is empty');
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch {
      throw apiError(400, 'ERR0011', 'Invalid parameter format: the body is not valid JSON');
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw apiError(400, 'ERR0011', 'Invalid parameter format: expected a JSON object');
    }
    return value as Record<string, unknown>;
  }

  private guidParameter(value: unknown, name: string): string {
    if (value === undefined || value === null || value === '')
      throw apiError(400, 'ERR0002', `Parameter ${name} is empty`);
    if (typeof value !== 'string' || !GUID.test(value)) {
      throw apiError(400, 'ERR0011', `Invalid parameter format: ${name}`);
    }
    return value;
  }

  /** Matching fault rules, in order; counted rules are used up as they apply. */
  private matchFaults(
    route: Route,
    ids: { envelopeId?: string; fileId?: string },
    userId: string | null,
  ): SimFault[] {
    const matched: SimFault[] = [];
    for (const entry of this.faultRules) {
      const rule = entry.rule;
      const endpoints =
        rule.endpoint === undefined
          ? undefined
          : Array.isArray(rule.endpoint)
            ? rule.endpoint
            : [rule.endpoint];
      if (endpoints && !endpoints.includes(route.endpoint)) continue;
      if (rule.envelopeId !== undefined && rule.envelopeId.toLowerCase() !== ids.envelopeId?.toLowerCase())
        continue;
      if (rule.fileId !== undefined && rule.fileId.toLowerCase() !== ids.fileId?.toLowerCase()) continue;
      if (rule.userId !== undefined && rule.userId !== userId) continue;
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
    auth: { userId: string | null; state: SimTokenState; token?: string },
  ): Promise<Outgoing | undefined> {
    const { req, entry } = exchange;

    // Ids the request is about, for fault matching and the log (parsed leniently; handlers validate).
    let parsedBody: Record<string, unknown> | undefined;
    const ids: { envelopeId?: string; fileId?: string } = {};
    if (route.endpoint === 'file.get') {
      ids.fileId = safeDecode(route.id);
      const file = ids.fileId ? this.files.get(ids.fileId.toLowerCase()) : undefined;
      if (file) ids.envelopeId = file.envelopeId;
    } else if (route.id !== undefined) {
      ids.envelopeId = safeDecode(route.id);
    } else if (
      route.endpoint === 'envelope.delete' ||
      route.endpoint === 'envelope.cancel' ||
      route.endpoint === 'draft.send'
    ) {
      try {
        parsedBody = this.jsonBody(req, body);
      } catch {
        parsedBody = undefined;
      }
      const key = route.endpoint === 'draft.send' ? 'DraftId' : 'EnvelopeId';
      const value = parsedBody?.[key];
      if (typeof value === 'string') {
        if (route.endpoint === 'draft.send') entry.draftId = value;
        else ids.envelopeId = value;
      }
    }
    if (ids.envelopeId) entry.envelopeId = ids.envelopeId;
    if (ids.fileId) entry.fileId = ids.fileId;

    const faults = this.matchFaults(route, ids, auth.userId);
    exchange.faults = faults;
    entry.faults = faults.map(describeFault);

    for (const fault of faults) {
      if (fault.kind === 'revokeToken' && auth.token) {
        this.revokeToken(auth.token);
        auth.state = 'revoked';
        entry.tokenState = 'revoked';
      }
      if (fault.kind === 'deleteEnvelope' && ids.envelopeId) this.deleteEnvelope(ids.envelopeId);
    }
    const throttled = this.throttle();
    if (throttled) return throttled;
    const latency =
      this.currentSettings().latencyMs +
      faults.reduce((sum, f) => sum + (f.kind === 'latency' ? f.ms : 0), 0);
    if (latency > 0) {
      await delay(latency);
      if (exchange.res.destroyed) return undefined;
    }
    for (const fault of faults) {
      switch (fault.kind) {
        case 'status':
          return {
            status: fault.status,
            json: fault.body ?? { Message: `Simulated HTTP ${fault.status}` },
            ...(fault.headers && { headers: fault.headers }),
          };
        case 'apiError':
          throw apiError(
            fault.status ?? API_ERROR_STATUS[fault.errorId] ?? 400,
            fault.errorId,
            fault.message ?? API_ERROR_MESSAGES[fault.errorId] ?? 'Simulated error',
          );
        case 'rateLimit':
          return {
            status: 429,
            headers: { 'Retry-After': String(fault.retryAfter ?? 1) },
            json: { Message: 'Too many requests. Please retry later.' },
          };
        case 'redirect':
          return { status: fault.status ?? 302, headers: { Location: fault.location }, text: '' };
        case 'reset':
          if (fault.afterBytes === undefined) {
            entry.outcome = 'reset';
            exchange.req.socket.resetAndDestroy();
            return undefined;
          }
          break;
        // Applied before (latency, revokeToken, deleteEnvelope), after (observe) or to the response.
        case 'latency':
        case 'truncate':
        case 'trickle':
        case 'stall':
        case 'resetAfterHandling':
        case 'omitContentLength':
        case 'contentType':
        case 'deleteEnvelope':
        case 'revokeToken':
        case 'corruptPdf':
        case 'replaceJson':
        case 'mutateJson':
        case 'observe':
        case 'invalidJson':
          break;
      }
    }
    for (const fault of faults) {
      if (fault.kind !== 'observe') continue;
      await fault.observe({ seq: entry.seq, endpoint: route.endpoint, ...ids });
      if (exchange.res.destroyed) return undefined;
    }

    if (route.endpoint === 'oauth.authorize') {
      return this.oauthResult(
        route.method === 'GET'
          ? this.oauth.authorize(url.searchParams)
          : this.oauth.submitConsent(this.formBody(req, body)),
      );
    }
    if (route.endpoint === 'oauth.token') {
      return this.oauthResult(this.oauth.token(this.formBody(req, body), req.headers.authorization));
    }

    if (auth.state !== 'valid' || !auth.userId) {
      // The real platform may send a 401 without a body; a request with no token at all gets ASP.NET's.
      if (auth.state !== 'none' && this.currentSettings().unauthorizedBody === 'empty') {
        return { status: 401, headers: { 'WWW-Authenticate': 'Bearer' }, text: '' };
      }
      return {
        status: 401,
        headers: { 'WWW-Authenticate': 'Bearer' },
        json: { Message: 'Authorization has been denied for this request.' },
      };
    }
    const userId = auth.userId;

    switch (route.endpoint) {
      case 'envelope.get':
        return { status: 200, json: this.envelopeJson(this.v6Envelope(ids.envelopeId, userId)) };
      case 'envelope.configuration':
        return { status: 200, json: this.configurationJson(this.v6Envelope(ids.envelopeId, userId)) };
      case 'envelope.files':
        return { status: 200, json: this.filesJson(this.ownedEnvelope(ids.envelopeId, userId)) };
      case 'envelope.find':
        return { status: 200, json: this.find(this.jsonBody(req, body), userId) };
      case 'envelope.delete': {
        const envelope = this.ownedEnvelope(
          this.guidParameter(this.jsonBody(req, body).EnvelopeId, 'EnvelopeId'),
          userId,
        );
        if (envelope.status === 'Active' && !this.currentSettings().allowDeleteActive) {
          throw apiError(400, 'ERR0013', 'Envelope action not allowed for envelope state Active');
        }
        envelope.deleted = true;
        return { status: 200, text: '' };
      }
      case 'envelope.cancel': {
        const envelope = this.ownedEnvelope(
          this.guidParameter(this.jsonBody(req, body).EnvelopeId, 'EnvelopeId'),
          userId,
        );
        if (envelope.status !== 'Active') {
          throw apiError(400, 'ERR0013', `Envelope action not allowed for envelope state ${envelope.status}`);
        }
        this.finalize(envelope, 'Canceled', true);
        return { status: 200, text: '' };
      }
      case 'draft.send':
        return {
          status: 200,
          json: this.sendDraft(this.guidParameter(this.jsonBody(req, body).DraftId, 'DraftId'), userId),
        };
      case 'file.get':
        return { status: 200, file: this.ownedFile(ids.fileId, userId) };
      case 'authorization.whoami': {
        const user = this.requireUser(userId);
        return {
          status: 200,
          json: {
            UserId: user.id,
            Email: user.email,
            GivenName: user.givenName,
            Surname: user.surname,
            UserName: user.email,
            Sid: null,
            SamlAssignments: [],
            OAuthAssignments: [],
            Roles: ['User'],
          },
        };
      }
      default:
        return { status: 404, json: { Message: 'No HTTP resource was found.' } };
    }
  }

  private formBody(req: http.IncomingMessage, body: Buffer | undefined): URLSearchParams {
    const contentType = req.headers['content-type'] ?? '';
    if (!/^application\/x-www-form-urlencoded\b/i.test(contentType)) {
      throw new HttpError({
        status: 400,
        json: { error: 'invalid_request', error_description: 'expected application/x-www-form-urlencoded' },
      });
    }
    return new URLSearchParams(body?.toString('utf8') ?? '');
  }

  private oauthResult(result: OAuthHttpResult): Outgoing {
    return { status: result.status, headers: result.headers, text: result.body };
  }

  private missing(kind: 'envelope' | 'file'): HttpError {
    const status = this.currentSettings().missingObjectStatus;
    return kind === 'envelope'
      ? apiError(status, 'ERR0007', 'Envelope not found')
      : apiError(status, 'ERR0008', 'File not found');
  }

  private foreign(kind: 'envelope' | 'file'): HttpError {
    if (this.currentSettings().foreignObjectStatus === 403) {
      return apiError(403, 'ERR0010', 'Not allowed for user');
    }
    return this.missing(kind);
  }

  private ownedEnvelope(envelopeId: string | undefined, userId: string): EnvelopeRecord {
    if (!envelopeId || !GUID.test(envelopeId))
      throw apiError(400, 'ERR0011', 'Invalid parameter format: envelopeId');
    const envelope = this.envelopes.get(envelopeId.toLowerCase());
    if (!envelope || envelope.deleted) throw this.missing('envelope');
    if (envelope.senderUserId !== userId) throw this.foreign('envelope');
    return envelope;
  }

  /** An own envelope readable through v6: one created through API v5 answers 400 ERR0063. */
  private v6Envelope(envelopeId: string | undefined, userId: string): EnvelopeRecord {
    const envelope = this.ownedEnvelope(envelopeId, userId);
    if (envelope.quirks.createdWithApiV5) {
      throw apiError(400, 'ERR0063', API_ERROR_MESSAGES.ERR0063);
    }
    return envelope;
  }

  private ownedFile(fileId: string | undefined, userId: string): FileRecord {
    const file = fileId ? this.files.get(fileId.toLowerCase()) : undefined;
    if (!file) throw this.missing('file');
    const envelope = this.envelopes.get(file.envelopeId.toLowerCase());
    if (!envelope || envelope.deleted) throw this.missing('file');
    if (envelope.senderUserId !== userId) throw this.foreign('file');
    return file;
  }

  private find(filter: Record<string, unknown>, userId: string): unknown {
    const status = filter.Status;
    if (
      status !== undefined &&
      status !== null &&
      (typeof status !== 'string' || !FIND_STATUSES.includes(status))
    ) {
      throw apiError(400, 'ERR0011', 'Invalid parameter format: Status');
    }
    const date = (value: unknown, name: string): number | undefined => {
      if (value === undefined || value === null) return undefined;
      const at = typeof value === 'string' ? Date.parse(value) : NaN;
      if (Number.isNaN(at)) throw apiError(400, 'ERR0011', `Invalid parameter format: ${name}`);
      return at;
    };
    const start = date(filter.StartDate, 'StartDate');
    const end = date(filter.EndDate, 'EndDate');
    const text = (name: string): string | undefined => {
      const value = filter[name];
      if (value === undefined || value === null) return undefined;
      if (typeof value !== 'string') throw apiError(400, 'ERR0011', `Invalid parameter format: ${name}`);
      return value.toLowerCase();
    };
    const searchText = text('SearchText');
    const senderEmail = text('SenderEmail');
    const recipientEmail = text('RecipientEmail');
    const completedBy = text('CompletedByRecipientWithEmail');
    const waitingFor = text('WaitingForRecipientWithEmail');
    const bulkParentId = text('EnvelopeBulkParentId');
    if (bulkParentId !== undefined && !GUID.test(bulkParentId))
      throw apiError(400, 'ERR0011', 'Invalid parameter format: EnvelopeBulkParentId');
    const sinceDays = filter.InStatusSinceDays;
    if (sinceDays !== undefined && sinceDays !== null) {
      if (typeof sinceDays !== 'number' || !Number.isInteger(sinceDays) || sinceDays < 0)
        throw apiError(400, 'ERR0011', 'Invalid parameter format: InStatusSinceDays');
      // The swagger: "It must be combined with Status".
      if (typeof status !== 'string')
        throw apiError(400, 'ERR0011', 'Invalid parameter format: InStatusSinceDays needs Status');
    }
    const sender = this.users.get(userId);
    const atMost = this.currentSettings().inStatusSinceDaysReading === 'atMost';
    const result = [...this.envelopes.values()].filter((e) => {
      // Only the token user's own envelopes: v6 tokens belong to users, and nothing public says a
      // colleague's or an administrator's token sees more.
      if (e.deleted || e.senderUserId !== userId) return false;
      const reported = this.reportedStatus(e);
      if (typeof status === 'string') {
        if (status === 'WaitingForOthers' && reported !== 'Active') return false;
        if (status === 'ActionRequired' || status === 'ExpiringSoon') return false;
        if ((SIM_ENVELOPE_STATUSES as readonly string[]).includes(status) && reported !== status)
          return false;
      }
      const sent = Date.parse(e.sentDate);
      if (start !== undefined && sent < start) return false;
      if (end !== undefined && sent > end) return false;
      if (typeof sinceDays === 'number') {
        // In the reported status since it was reached: the finish of a final one, the sending of Active.
        const since = Date.parse(reported !== 'Active' && e.finishedDate ? e.finishedDate : e.sentDate);
        const inStatusMs = Date.now() - since;
        if (atMost ? inStatusMs > sinceDays * DAY_MS : inStatusMs < sinceDays * DAY_MS) return false;
      }
      if (searchText) {
        const haystack = [
          e.name,
          sender?.email,
          sender?.givenName,
          sender?.surname,
          ...e.activities.flatMap((a) => [a.email, a.givenName, a.surname]),
        ];
        if (!haystack.some((value) => value?.toLowerCase().includes(searchText))) return false;
      }
      if (senderEmail && sender?.email.toLowerCase() !== senderEmail) return false;
      if (recipientEmail && !e.activities.some((a) => a.email.toLowerCase() === recipientEmail)) return false;
      if (
        completedBy &&
        !e.activities.some((a) => a.email.toLowerCase() === completedBy && a.status === 'Completed')
      )
        return false;
      if (
        waitingFor &&
        (reported !== 'Active' ||
          !e.activities.some((a) => a.email.toLowerCase() === waitingFor && a.status === 'Pending'))
      )
        return false;
      // Simulated envelopes never belong to a bulk.
      if (bulkParentId !== undefined) return false;
      return true;
    });
    if (result.length === 0) {
      const empty = this.currentSettings().emptyFindResult;
      if (empty === 'absent') return {};
      if (empty === 'null') return { Envelopes: null };
    }
    return {
      Envelopes: result.map((e) => ({
        Status: this.reportedStatus(e),
        Id: e.id,
        Name: e.name,
        MetaData: e.metaData,
        EnvelopeBulkParentId: null,
        IsExpiringSoon: false,
      })),
    };
  }

  private sendDraft(draftId: string, userId: string): unknown {
    const draft = this.drafts.get(draftId.toLowerCase());
    // An unknown draft is 404 ERR0250 on the live demo platform; another user's looks the same.
    if (!draft) throw apiError(404, 'ERR0250', API_ERROR_MESSAGES.ERR0250);
    if (draft.ownerUserId !== userId) {
      throw this.currentSettings().foreignObjectStatus === 403
        ? apiError(403, 'ERR0010', API_ERROR_MESSAGES.ERR0010)
        : apiError(404, 'ERR0250', API_ERROR_MESSAGES.ERR0250);
    }
    this.drafts.delete(draftId.toLowerCase());
    const envelope = this.createEnvelope({
      senderUserId: draft.ownerUserId,
      name: draft.name,
      metaData: draft.metaData,
      documents: draft.docs.documents,
      legalDocuments: draft.docs.legalDocuments,
      recipients: draft.recipients,
      ...(draft.callbackUrl !== undefined && { callbackUrl: draft.callbackUrl }),
    });
    return { Envelope: { EnvelopeId: envelope.id }, EnvelopeBulk: null };
  }

  private envelopeJson(e: EnvelopeRecord): unknown {
    const sender = this.users.get(e.senderUserId);
    const json: Record<string, unknown> = {
      Id: e.id,
      EnvelopeStatus: this.reportedStatus(e),
      Name: e.name,
      SentDate: e.sentDate,
      EnvelopeBulkParentId: null,
      Activities: e.activities.map((a) => ({
        Id: a.id,
        Status: a.status,
        StatusReason: a.statusReason ?? null,
        FinishedDate: a.finishedDate ?? null,
        OpenedDate: a.openedDate ?? null,
        Action: {
          [a.actionType]: {
            ContactInformation: {
              Email: a.email,
              GivenName: a.givenName,
              Surname: a.surname,
              PhoneNumber: null,
              LanguageCode: 'EN',
            },
          },
        },
      })),
      SenderUserInformation: {
        Email: sender?.email ?? null,
        GivenName: sender?.givenName ?? null,
        Surname: sender?.surname ?? null,
      },
    };
    switch (e.quirks.senderUserInformation) {
      case 'absent':
        delete json.SenderUserInformation;
        break;
      case 'null':
        json.SenderUserInformation = null;
        break;
      case 'withoutEmail':
        delete (json.SenderUserInformation as Record<string, unknown>).Email;
        break;
      case undefined:
        break;
    }
    return json;
  }

  private configurationJson(e: EnvelopeRecord): unknown {
    const json: Record<string, unknown> = {
      MetaData: e.metaData,
      AddDocumentTimestamp: false,
      ShareWithTeam: false,
      LockFormFieldsOnFinish: false,
      Activities: e.activities.map((a) => ({
        Id: a.id,
        Action: { [a.actionType]: {} },
        VisibilityOptions: [],
      })),
      EmailConfiguration: { Subject: `Please sign: ${e.name}`, Message: null, SenderDisplayName: null },
      ReminderConfiguration: {
        Enabled: false,
        FirstReminderInDays: 0,
        ReminderResendIntervalInDays: 0,
        BeforeExpirationInDays: 0,
      },
      ExpirationConfiguration: { ExpirationDate: null },
      CallbackConfiguration: {
        CallbackUrl: this.callbackUrlOf(e),
        StatusUpdateCallbackUrl: this.statusUpdateCallbackUrlOf(e),
        ActivityActionCallbackConfiguration: null,
      },
      AgreementConfiguration: null,
      SealingConfiguration: null,
    };
    if (e.quirks.omitMetaData) delete json.MetaData;
    return json;
  }

  private filesJson(e: EnvelopeRecord): unknown {
    const json: Record<string, unknown> = {
      Documents: e.documents.map((d) => ({
        FileId: d.fileId,
        FileName: d.fileName,
        AuditTrailFileId: d.auditTrailFileId ?? null,
        Attachments: d.attachments.map((a) => ({ FileId: a.fileId, FileName: a.fileName })),
        PageCount: d.pageCount,
        DocumentNumber: d.documentNumber,
      })),
      AuditTrail: { FileId: e.auditTrail?.fileId ?? null, XmlFileId: e.auditTrail?.xmlFileId ?? null },
      LegalDocuments: e.legalDocuments.map((l) => ({
        FileId: l.fileId,
        FileName: l.fileName,
        ActivityId: l.activityId ?? null,
        Email: l.email ?? null,
      })),
    };
    if (e.quirks.documents === 'null') json.Documents = null;
    if (e.quirks.documents === 'absent') delete json.Documents;
    return json;
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
      const file = outgoing.file;
      const corrupt = faults.find(
        (f): f is Extract<SimFault, { kind: 'corruptPdf' }> => f.kind === 'corruptPdf',
      );
      const corruption: CorruptionMode | undefined =
        corrupt && file.content.kind === 'pdf' ? (corrupt.mode ?? 'both') : undefined;
      chunks = contentChunks(file.content, corruption);
      length = contentSize(file.content);
      const typeFault = faults.find(
        (f): f is Extract<SimFault, { kind: 'contentType' }> => f.kind === 'contentType',
      );
      headers['Content-Type'] = typeFault?.value ?? file.contentType;
      headers['Content-Disposition'] =
        `attachment; filename="${file.fileName.replace(/[^\x20-\x7e]|["\\]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(file.fileName)}`;
      headers['Cache-Control'] = 'private';
    } else {
      let text: string;
      if (outgoing.json !== undefined && outgoing.status >= 200 && outgoing.status < 300) {
        let json: unknown = outgoing.json;
        let invalid = false;
        for (const fault of faults) {
          if (fault.kind === 'mutateJson') json = fault.mutate(structuredClone(json));
          if (fault.kind === 'replaceJson') json = fault.body;
          if (fault.kind === 'invalidJson') invalid = true;
        }
        text = invalid
          ? '<html><body>Service temporarily unavailable</body></html>{"Id":'
          : JSON.stringify(json);
        const replaced = faults.find(
          (f): f is Extract<SimFault, { kind: 'replaceJson' }> => f.kind === 'replaceJson',
        );
        if (replaced?.status !== undefined) outgoing = { ...outgoing, status: replaced.status };
      } else if (outgoing.json !== undefined) {
        text = JSON.stringify(outgoing.json);
      } else {
        text = outgoing.text ?? '';
      }
      if (outgoing.json !== undefined) headers['Content-Type'] ??= 'application/json; charset=utf-8';
      const buffer = Buffer.from(text, 'utf8');
      chunks = buffer.length > 0 ? [buffer] : [];
      length = buffer.length;
    }

    const truncate = faults.find((f): f is Extract<SimFault, { kind: 'truncate' }> => f.kind === 'truncate');
    const reset = faults.find(
      (f): f is Extract<SimFault, { kind: 'reset' }> => f.kind === 'reset' && f.afterBytes !== undefined,
    );
    const stall = faults.find((f): f is Extract<SimFault, { kind: 'stall' }> => f.kind === 'stall');
    const trickle = faults.find((f): f is Extract<SimFault, { kind: 'trickle' }> => f.kind === 'trickle');
    const chunked = faults.some((f) => f.kind === 'omitContentLength');
    const cut = truncate?.afterBytes ?? reset?.afterBytes ?? stall?.afterBytes;
    const limit = cut === undefined ? Infinity : Math.max(0, Math.min(cut, length));

    if (!chunked) headers['Content-Length'] = String(length);
    res.writeHead(outgoing.status, headers);

    let sent = 0;
    for (const chunk of chunks) {
      if (sent >= limit) break;
      const piece = sent + chunk.length > limit ? chunk.subarray(0, limit - sent) : chunk;
      const ok = trickle
        ? await this.trickle(res, piece, trickle.bytesPerSecond, entry)
        : await this.write(res, piece, entry);
      if (!ok) return;
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
      // Stall: the connection stays open and silent until the client gives up (or the simulator stops).
      entry.outcome = 'stalled';
    }
  }

  private write(res: http.ServerResponse, chunk: Buffer, entry: SimRequestLogEntry): Promise<boolean> {
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

  private async trickle(
    res: http.ServerResponse,
    chunk: Buffer,
    bytesPerSecond: number,
    entry: SimRequestLogEntry,
  ): Promise<boolean> {
    const step = Math.max(1, Math.floor(bytesPerSecond / 10));
    for (let at = 0; at < chunk.length; at += step) {
      if (!(await this.write(res, chunk.subarray(at, at + step), entry))) return false;
      await delay(100);
      if (res.destroyed) return false;
    }
    return true;
  }
}

function safeDecode(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function pickSettings(options: EsignAnywhereSimulatorOptions): SimSettings {
  const settings: SimSettings = {};
  for (const key of SETTING_KEYS) {
    if (options[key] !== undefined) (settings as Record<string, unknown>)[key] = options[key];
  }
  checkSettings(settings);
  return settings;
}

function checkSettings(settings: SimSettings): void {
  const { foreignObjectStatus, missingObjectStatus, allowDeleteActive, unauthorizedBody, emptyFindResult } =
    settings;
  if (foreignObjectStatus !== undefined && foreignObjectStatus !== 403 && foreignObjectStatus !== 404)
    throw new Error('foreignObjectStatus is 403 or 404');
  if (missingObjectStatus !== undefined && missingObjectStatus !== 400 && missingObjectStatus !== 404)
    throw new Error('missingObjectStatus is 400 or 404');
  if (allowDeleteActive !== undefined && typeof allowDeleteActive !== 'boolean')
    throw new Error('allowDeleteActive is a boolean');
  lagOption(settings.statusLagMs);
  for (const key of ['latencyMs', 'callsPerMinute'] as const) {
    const value = settings[key];
    if (value !== undefined && (!Number.isInteger(value) || value < 0))
      throw new Error(`${key} is a non-negative integer`);
  }
  if (unauthorizedBody !== undefined && unauthorizedBody !== 'empty' && unauthorizedBody !== 'message')
    throw new Error('unauthorizedBody is empty or message');
  const reading = settings.inStatusSinceDaysReading;
  if (reading !== undefined && reading !== 'atLeast' && reading !== 'atMost')
    throw new Error('inStatusSinceDaysReading is atLeast or atMost');
  if (
    emptyFindResult !== undefined &&
    emptyFindResult !== 'emptyList' &&
    emptyFindResult !== 'null' &&
    emptyFindResult !== 'absent'
  )
    throw new Error('emptyFindResult is emptyList, null or absent');
}

const QUIRK_VALUES: Record<keyof SimEnvelopeQuirks, (value: unknown) => boolean> = {
  omitMetaData: (v) => typeof v === 'boolean',
  senderUserInformation: (v) => v === 'absent' || v === 'null' || v === 'withoutEmail',
  documents: (v) => v === 'null' || v === 'absent',
  reportedStatus: (v) => typeof v === 'string' && v.length > 0,
  createdWithApiV5: (v) => typeof v === 'boolean',
};

function checkQuirks(quirks: SimEnvelopeQuirks): SimEnvelopeQuirks {
  for (const [key, value] of Object.entries(quirks)) {
    const valid = Object.hasOwn(QUIRK_VALUES, key) ? QUIRK_VALUES[key as keyof SimEnvelopeQuirks] : undefined;
    if (!valid) throw new Error(`unknown quirk ${key}`);
    if (value !== undefined && !valid(value)) throw new Error(`invalid value for quirk ${key}`);
  }
  return quirks;
}

function lagOption(value: number | undefined): number | undefined {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 0))
    throw new Error('statusLagMs is a non-negative integer of milliseconds');
  return value;
}
