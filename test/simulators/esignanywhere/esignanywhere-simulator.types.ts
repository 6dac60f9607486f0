import type { CorruptionMode } from './simulated-file';

export const SIM_ENVELOPE_STATUSES = ['Active', 'Completed', 'Canceled', 'Expired', 'Rejected'] as const;
export type SimEnvelopeStatus = (typeof SIM_ENVELOPE_STATUSES)[number];
export type SimFinishStatus = 'Completed' | 'Rejected' | 'Canceled';

/**
 * Actions of the organisation's "status change" callback (`StatusUpdateCallbackUrl`). `envelopeExpired`
 * is one of them; the "completed envelope" callback (`CallbackUrl`) only ever sends `envelopeFinished`.
 */
export const SIM_STATUS_UPDATE_ACTIONS = [
  'workstepOpened',
  'workstepFinished',
  'workstepRejected',
  'workstepDelegated',
  'workstepDelegatedSenderActionRequired',
  'sendSignNotification',
  'envelopeExpired',
] as const;
export type SimStatusUpdateAction = (typeof SIM_STATUS_UPDATE_ACTIONS)[number];
export type SimCallbackAction = 'envelopeFinished' | SimStatusUpdateAction;
/** Which of the two callback URL settings a callback went to. */
export type SimCallbackChannel = 'callbackUrl' | 'statusUpdateCallbackUrl';

/** Names of the simulated endpoints, used by fault rules and the request log. */
export const SIM_ENDPOINTS = [
  'envelope.get',
  'envelope.configuration',
  'envelope.files',
  'envelope.find',
  'envelope.delete',
  'envelope.cancel',
  'file.get',
  'draft.send',
  'oauth.authorize',
  'oauth.token',
  'authorization.whoami',
] as const;
export type SimEndpoint = (typeof SIM_ENDPOINTS)[number];

export interface SimUser {
  id: string;
  email: string;
  givenName: string;
  surname: string;
  organizationId: string;
}

export interface SimFileRef {
  fileId: string;
  fileName: string;
}

export interface SimDocument extends SimFileRef {
  documentNumber: number;
  pageCount: number;
  auditTrailFileId?: string;
  attachments: SimFileRef[];
}

export interface SimLegalDocument extends SimFileRef {
  activityId?: string;
  email?: string;
}

export interface SimActivity {
  id: string;
  status: 'Pending' | 'Completed' | 'Rejected' | 'Delegated';
  actionType: 'Sign' | 'View' | 'SendCopy';
  email: string;
  givenName: string;
  surname: string;
  openedDate?: string;
  finishedDate?: string;
  statusReason?: string;
}

/** A read-only snapshot of an envelope as the simulator holds it. */
export interface SimEnvelopeSnapshot {
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
  activities: SimActivity[];
  /** The effective `CallbackUrl` template (envelope setting, else the organisation's). */
  callbackUrl: string | null;
  /** The effective `StatusUpdateCallbackUrl` template (envelope setting, else the organisation's). */
  statusUpdateCallbackUrl: string | null;
  /**
   * The `EnvelopeStatus` the API reports right now: `Active` during a status lag, a quirk's
   * `reportedStatus` when set, else `status`.
   */
  reportedStatus: string;
  quirks: SimEnvelopeQuirks;
  deleted: boolean;
}

export interface SimDraftSnapshot {
  id: string;
  ownerUserId: string;
  name: string;
  metaData: string | null;
  beforeSendRedirectUrl: string | null;
  callbackUrl: string | null;
}

export interface CreateUserOptions {
  email?: string;
  givenName?: string;
  surname?: string;
  organizationId?: string;
}

export interface DocumentSpec {
  fileName?: string;
  /** Bytes; default 20 000. The PDF never gets smaller than its minimal structure. */
  size?: number;
  pageCount?: number;
  attachments?: { fileName?: string; size?: number }[];
}

export interface RecipientSpec {
  email: string;
  givenName?: string;
  surname?: string;
  action?: 'Sign' | 'View' | 'SendCopy';
}

export interface CreateEnvelopeOptions {
  senderUserId: string;
  id?: string;
  name?: string;
  status?: SimEnvelopeStatus;
  metaData?: string | null;
  documents?: DocumentSpec[];
  legalDocuments?: { fileName?: string; size?: number; email?: string }[];
  recipients?: RecipientSpec[];
  /** The organization setting "generate separate audit trail per document". */
  separateAuditTrailPerDocument?: boolean;
  /** Overrides the organisation's `CallbackUrl` template; null disables it for this envelope. */
  callbackUrl?: string | null;
  /** Overrides the organisation's `StatusUpdateCallbackUrl` template; null disables it for this envelope. */
  statusUpdateCallbackUrl?: string | null;
  sentDate?: string;
  /** For an envelope created in a final status: when it reached it (for `InStatusSinceDays`); default now. */
  finishedDate?: string;
  /** After this envelope finishes, the API keeps reporting `Active` this long; default the `statusLagMs` setting. */
  statusLagMs?: number;
  quirks?: SimEnvelopeQuirks;
}

/**
 * Per-envelope departures from the fully filled answers, each one allowed by the v6 swagger (every
 * response field is optional there) or by the platform's error list. Change them later with
 * `setEnvelopeQuirks`.
 */
export interface SimEnvelopeQuirks {
  /** `GET envelope/{id}/configuration` without the `MetaData` key. */
  omitMetaData?: boolean;
  /** `GET envelope/{id}`: `SenderUserInformation` absent, null, or present without `Email`. */
  senderUserInformation?: 'absent' | 'null' | 'withoutEmail';
  /** `GET envelope/{id}/files`: `Documents` null or absent (as is typical for Canceled, Expired, Rejected). */
  documents?: 'null' | 'absent';
  /**
   * Reported as `EnvelopeStatus` (GET) and `Status` (find) instead of the real status, e.g. `Archived`,
   * a value outside the documented enum. `envelope/find` filters on the reported value.
   */
  reportedStatus?: string;
  /**
   * Created through API v5: `GET envelope/{id}` and `/configuration` answer 400 `ERR0063`
   * (InvalidEnvelopeApiVersion), as the v5-to-v6 migration notes say.
   */
  createdWithApiV5?: boolean;
}

export interface CreateDraftOptions {
  ownerUserId: string;
  id?: string;
  name?: string;
  metaData?: string | null;
  documents?: DocumentSpec[];
  legalDocuments?: { fileName?: string; size?: number; email?: string }[];
  recipients?: RecipientSpec[];
  beforeSendRedirectUrl?: string | null;
  callbackUrl?: string | null;
}

export interface ExpectedFile {
  fileId: string;
  envelopeId: string;
  kind: SimFileKind;
  fileName: string;
  contentType: string;
  size: number;
  sha256: string;
}

export type SimFileKind =
  'document' | 'attachment' | 'auditTrailPdf' | 'auditTrailXml' | 'documentAuditTrail' | 'legalDocument';

// ---------------------------------------------------------------------------------------------------
// Faults

export type SimFault =
  /** Answer with this status (and optional JSON body / headers) instead of handling the request. */
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  /** 429 with `Retry-After` (seconds, or an HTTP-date string). */
  | { kind: 'rateLimit'; retryAfter?: number | string }
  /** Wait before answering. */
  | { kind: 'latency'; ms: number }
  /** TCP reset: before the status line when `afterBytes` is absent, else after that many body bytes. */
  | { kind: 'reset'; afterBytes?: number }
  /** Full Content-Length header, then only `afterBytes` bytes and a clean close. */
  | { kind: 'truncate'; afterBytes: number }
  /** The body at this rate. */
  | { kind: 'trickle'; bytesPerSecond: number }
  /** Send `afterBytes` bytes, then nothing, keeping the connection open. */
  | { kind: 'stall'; afterBytes: number }
  /**
   * Handle the request (its effect happens: a delete deletes), then reset the connection before the
   * status line: the caller never learns the answer. The log entry keeps the lost status.
   */
  | { kind: 'resetAfterHandling' }
  /** Chunked transfer instead of Content-Length. */
  | { kind: 'omitContentLength' }
  /** Serve a file with this Content-Type instead of its own. */
  | { kind: 'contentType'; value: string }
  /** Delete the envelope this request is about before handling it ("deleted between two calls"). */
  | { kind: 'deleteEnvelope' }
  /** Revoke the presented token before handling the request. */
  | { kind: 'revokeToken' }
  /** Serve PDF bytes without `%PDF-` (header) and/or `%%EOF` (trailer); the size stays the same. */
  | { kind: 'corruptPdf'; mode?: CorruptionMode }
  /**
   * The platform's error body `{ErrorId, Message, TraceId}`. Default statuses: 403 for `ERR0010`
   * (not allowed for user) and `ERR0014` (not allowed by licence; the real status is undocumented),
   * 400 for `ERR0063` (envelope created through API v5), 404 for `ERR0007`, `ERR0008`, `ERR0250`,
   * 400 for any other id. Scope it with `envelopeId` for one envelope, `times` for single calls.
   */
  | { kind: 'apiError'; errorId: string; status?: number; message?: string }
  /** Answer 200 (or `status`) with this JSON instead of the real one. */
  | { kind: 'replaceJson'; body: unknown; status?: number }
  /** Rewrite the real JSON body (in-process only). */
  | { kind: 'mutateJson'; mutate: (body: unknown) => unknown }
  /**
   * Awaited just before the request is handled (after any latency; not when another fault answered
   * instead), to look at the world at that moment, e.g. what was archived when a delete happens
   * (in-process only).
   */
  | { kind: 'observe'; observe: (request: SimObservedRequest) => void | Promise<void> }
  /** A 200 whose body is not JSON. */
  | { kind: 'invalidJson' }
  /** A redirect to `location`. */
  | { kind: 'redirect'; location: string; status?: number };

/** What an `observe` fault is told about the request it is about to let through. */
export interface SimObservedRequest {
  /** The request log entry's `seq`. */
  seq: number;
  endpoint: SimEndpoint;
  envelopeId?: string;
  fileId?: string;
}

export interface SimFaultRule {
  /** Which endpoints; all when absent. */
  endpoint?: SimEndpoint | SimEndpoint[];
  envelopeId?: string;
  fileId?: string;
  /** Matches requests made with this user's token. */
  userId?: string;
  /** Applies to the next N matching requests, then disappears; always when absent. */
  times?: number;
  fault: SimFault;
}

// ---------------------------------------------------------------------------------------------------
// Request log

export type SimTokenState = 'none' | 'valid' | 'unknown' | 'revoked';

export interface SimRequestLogEntry {
  seq: number;
  /** ISO time the request arrived. */
  at: string;
  method: string;
  path: string;
  query: Record<string, string>;
  endpoint: SimEndpoint | 'unknown';
  /** The user whose token was presented; tokens themselves are never logged. */
  userId: string | null;
  tokenState: SimTokenState;
  envelopeId?: string;
  fileId?: string;
  draftId?: string;
  /** Status sent; null when the connection was reset before a status line. */
  status: number | null;
  bytesSent: number;
  durationMs: number;
  outcome: 'complete' | 'reset' | 'truncated' | 'stalled' | 'client-closed';
  faults: string[];
  /** The status the request was handled with when a `resetAfterHandling` fault lost the answer. */
  lostStatus?: number;
}

// ---------------------------------------------------------------------------------------------------
// Callbacks

export interface SimCallbackAttempt {
  attempt: number;
  at: string;
  /** HTTP status, or null on a timeout or network error. */
  status: number | null;
  error?: string;
  durationMs: number;
  /** Exactly HTTP 200; any other status, a 201 or 204 included, is a failed attempt. */
  ok: boolean;
}

export interface SimCallbackDelivery {
  id: number;
  envelopeId: string;
  action: SimCallbackAction;
  channel: SimCallbackChannel;
  url: string;
  state: 'pending' | 'delivered' | 'failed' | 'stopped';
  attempts: SimCallbackAttempt[];
}

// ---------------------------------------------------------------------------------------------------
// OAuth

export interface SimOAuthClient {
  clientId: string;
  clientSecret: string;
  /** Exact-match allowlist, as in the AdminWeb OAuth application. */
  redirectUris: string[];
  name?: string;
}

export interface SimOAuthDecision {
  decision: 'approve' | 'deny';
  /** The user who signs in and approves; default: the only user, when there is exactly one. */
  userId?: string;
}

/**
 * Behaviour settings that can also change while the simulator runs (`configure`, or
 * `POST /_control/settings`); `reset()` restores the constructor's values.
 */
export interface SimSettings {
  /** Status for an envelope or file of another user: 404 (default, indistinguishable from missing) or 403. */
  foreignObjectStatus?: 403 | 404;
  /** Status for a missing or deleted envelope/file: 404 (default) or 400 (both carry ERR0007/ERR0008). */
  missingObjectStatus?: 400 | 404;
  /**
   * Allow deleting an Active envelope. Default true, as on the real platform; false refuses it with
   * 400 ERR0013 (cancel it first).
   */
  allowDeleteActive?: boolean;
  /**
   * After an envelope finishes, expires or is canceled, the API keeps reporting `Active` this long
   * (the callbacks are sent at once). Default 0. An envelope's own `statusLagMs` wins.
   */
  statusLagMs?: number;
  /**
   * Body of the 401 for an unknown or revoked token: `empty` (default, no body at all) or `message`
   * (the ASP.NET `{"Message":"Authorization has been denied for this request."}`). A request without
   * any token always gets the message.
   */
  unauthorizedBody?: 'empty' | 'message';
  /** `envelope/find` with no match: `Envelopes: []` (default), `Envelopes: null`, or no `Envelopes` key. */
  emptyFindResult?: 'emptyList' | 'null' | 'absent';
  /**
   * How `envelope/find` reads `InStatusSinceDays` N. The swagger says only "envelopes having the given
   * status for the specified days are matched"; which way it counts is not public. `atMost` (default,
   * the reading of "in status since N days" as a window): reached the status within the last N days.
   * `atLeast`: in the status for N days or more.
   */
  inStatusSinceDaysReading?: 'atLeast' | 'atMost';
  /** Every API answer comes this much later (a platform far away). Default 0. */
  latencyMs?: number;
  /**
   * API calls the account may make per sliding minute; past it, 429 with `Retry-After` (whole seconds
   * until a call is allowed again). Default 0: no limit. Throttled calls do not count.
   */
  callsPerMinute?: number;
}

export interface EsignAnywhereSimulatorOptions extends SimSettings {
  /** Secret for the HTTP control API (header `X-Control-Secret`); random when absent. */
  controlSecret?: string;
  /**
   * The organisation's `CallbackUrl` ("callback for completed envelope") with `##EnvelopeId##` and
   * `##Action##`: only `envelopeFinished`, for Completed and Rejected envelopes. None when absent.
   */
  callbackUrlTemplate?: string;
  /**
   * The organisation's `StatusUpdateCallbackUrl` ("callback for envelope status change"), same
   * placeholders: `envelopeExpired` and the workstep actions. None when absent. Canceling an envelope
   * calls neither URL.
   */
  statusUpdateCallbackUrlTemplate?: string;
  /** Basic authentication the platform adds to callbacks (the org-level "basic" callback auth). */
  callbackBasicAuth?: { user: string; password: string };
  /** Retry k (1-based) waits k × this; default 5 minutes, so 30 retries span about 36 hours. */
  callbackIntervalUnitMs?: number;
  /** Default 30. */
  callbackMaxRetries?: number;
  /** A callback not answered within this is a failure. Default 5000 ms. */
  callbackTimeoutMs?: number;
  /** Before-send redirect template with `##EnvelopeId##`, `##SenderUserId##`, `##OrganizationId##`. */
  beforeSendRedirectUrlTemplate?: string;
  oauthClients?: SimOAuthClient[];
  /** Authorization codes expire after this. Default 60 s. */
  oauthCodeTtlMs?: number;
  /** Require PKCE S256 on every authorization. Default true. */
  oauthRequirePkce?: boolean;
  /** Answer the authorize page automatically; absent: render the HTML consent page. */
  oauthDecision?: SimOAuthDecision | null;
}
