export const OSS_PACKAGE_STATUSES = [
  'DRAFT',
  'SENT',
  'COMPLETED',
  'ARCHIVED',
  'DECLINED',
  'OPTED_OUT',
  'EXPIRED',
] as const;
export type OssPackageStatus = (typeof OSS_PACKAGE_STATUSES)[number];
/** The statuses a SENT package can end in. */
export type OssFinishStatus = 'COMPLETED' | 'DECLINED' | 'OPTED_OUT' | 'EXPIRED';

/** Event names of OneSpan's callback registration (any other string can be fired too). */
export const OSS_EVENT_NAMES = [
  'DOCUMENT_SIGNED',
  'DOCUMENT_VIEWED',
  'EMAIL_BOUNCE',
  'KBA_FAILURE',
  'PACKAGE_ACTIVATE',
  'PACKAGE_ARCHIVE',
  'PACKAGE_ATTACHMENT',
  'PACKAGE_COMPLETE',
  'PACKAGE_CREATE',
  'PACKAGE_DEACTIVATE',
  'PACKAGE_DECLINE',
  'PACKAGE_DELETE',
  'PACKAGE_EXPIRE',
  'PACKAGE_OPT_OUT',
  'PACKAGE_READY_FOR_COMPLETE',
  'PACKAGE_RESTORE',
  'PACKAGE_TRASH',
  'ROLE_REASSIGN',
  'SIGNER_COMPLETE',
  'SIGNER_LOCKED',
  'TEMPLATE_CREATE',
] as const;

/** Names of the simulated endpoints, used by fault rules and the request log. */
export const OSS_ENDPOINTS = [
  'package.get',
  'package.list',
  'package.update',
  'package.delete',
  'document.pdf',
  'document.original',
  'evidence.summary',
  'audit.get',
  'oauth2.token',
  'clientApp.token',
  'conga.token',
] as const;
export type OssEndpoint = (typeof OSS_ENDPOINTS)[number];

/** `onespan`: `/api/packages/...`; `conga`: the gateway's `/api/sign/v1/cs-packages/...`. */
export type OssPathStyle = 'onespan' | 'conga';

export type OssCredentialKind = 'apiKey' | 'oauth2' | 'clientApp' | 'conga';
export type OssCredentialState = 'none' | 'valid' | 'unknown' | 'revoked' | 'expired' | 'refused';

export interface OssSender {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  company: string;
  /** The account owner reads every package of the account and may list other senders' packages. */
  owner: boolean;
}

export interface OssSigner {
  /** The role id, also the `sessionUser` of the signer's events. */
  id: string;
  email: string;
  firstName: string;
  lastName: string;
}

export interface OssDocument {
  id: string;
  name: string;
  index: number;
  /** Bytes of the served PDF. */
  size: number;
}

/** A read-only snapshot of a package as the simulator holds it. */
export interface OssPackageSnapshot {
  id: string;
  name: string;
  status: OssPackageStatus;
  trashed: boolean;
  deleted: boolean;
  senderId: string;
  data: Record<string, string>;
  signers: OssSigner[];
  /** `default-consent` first, then the uploaded documents. */
  documents: OssDocument[];
  created: string;
  updated: string;
  completed: string | null;
}

export interface OssDocumentSpec {
  /** Default 48 hex characters, as OneSpan generates them. */
  id?: string;
  name?: string;
  /** Bytes; default 20 000. */
  size?: number;
  pages?: number;
}

export interface OssCreatePackageOptions {
  /** Default: a new 28-character id in the instance's `packageIdAlphabet`. */
  id?: string;
  /** Default: the account owner. */
  senderId?: string;
  name?: string;
  status?: OssPackageStatus;
  data?: Record<string, string>;
  documents?: OssDocumentSpec[];
  signers?: { email: string; firstName?: string; lastName?: string }[];
  trashed?: boolean;
  created?: string;
  /** The `updated` time the listing filters on; default now. */
  updated?: string;
}

export interface OssCreateSenderOptions {
  email?: string;
  firstName?: string;
  lastName?: string;
  company?: string;
}

// ---------------------------------------------------------------------------------------------------
// Faults

export type OssFault =
  /** Answer with this status and optional JSON body / headers instead of handling the request. */
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  /** 429 with `Retry-After` (seconds, or an HTTP-date string). */
  | { kind: 'rateLimit'; retryAfter?: number | string }
  /** Wait before answering. */
  | { kind: 'latency'; ms: number }
  /** TCP reset: before the status line when `afterBytes` is absent, else after that many body bytes. */
  | { kind: 'reset'; afterBytes?: number }
  /** Full Content-Length header, then only `afterBytes` bytes and a clean close. */
  | { kind: 'truncate'; afterBytes: number }
  /** Send `afterBytes` bytes, then nothing, keeping the connection open. */
  | { kind: 'stall'; afterBytes: number }
  /** Handle the request (a delete deletes), then reset before the status line. */
  | { kind: 'resetAfterHandling' }
  /** A 200 whose body is not JSON. */
  | { kind: 'invalidJson' }
  /** Answer 200 (or `status`) with this JSON instead of the real one. */
  | { kind: 'replaceJson'; body: unknown; status?: number }
  /** Rewrite the real JSON body (in-process only). */
  | { kind: 'mutateJson'; mutate: (body: unknown) => unknown }
  /** Revoke the presented credential (API key, token or its client) before handling the request. */
  | { kind: 'revokeCredential' }
  /** Delete the package this request is about before handling it. */
  | { kind: 'deletePackage' }
  /** Serve PDF bytes without `%PDF-` and/or `%%EOF`; the size stays the same. */
  | { kind: 'corruptPdf'; mode?: 'header' | 'trailer' | 'both' }
  /** Serve a file with this Content-Type instead of `application/pdf`. */
  | { kind: 'contentType'; value: string };

export interface OssFaultRule {
  /** Which endpoints; all when absent. */
  endpoint?: OssEndpoint | OssEndpoint[];
  packageId?: string;
  pathStyle?: OssPathStyle;
  /** Applies to the next N matching requests, then disappears; always when absent. */
  times?: number;
  fault: OssFault;
}

// ---------------------------------------------------------------------------------------------------
// Request log

export interface OssRequestLogEntry {
  seq: number;
  at: string;
  method: string;
  path: string;
  query: Record<string, string>;
  endpoint: OssEndpoint | 'unknown';
  pathStyle: OssPathStyle | null;
  /** What was presented; secrets themselves are never logged. */
  credentialKind: OssCredentialKind | null;
  credentialState: OssCredentialState;
  senderId: string | null;
  packageId?: string;
  documentId?: string;
  accept: string | null;
  status: number | null;
  bytesSent: number;
  durationMs: number;
  outcome: 'complete' | 'reset' | 'truncated' | 'stalled' | 'client-closed';
  faults: string[];
  lostStatus?: number;
}

// ---------------------------------------------------------------------------------------------------
// Callbacks

/** The `ESLProcessEvent` JSON OneSpan POSTs. */
export interface OssProcessEvent {
  '@class': 'com.silanis.esl.packages.event.ESLProcessEvent';
  name: string;
  sessionUser: string;
  packageId: string;
  message: string | null;
  documentId: string | null;
  createdDate: string;
}

/**
 * How callbacks authenticate. `key`: OneSpan's callback key, sent raw as `Basic {key}`. `basic`: Conga's
 * registration with username and password, sent as `Basic base64(username:password)`. `bearer`: Conga's
 * bearer registration, `Bearer {token}`. `none`: no Authorization header.
 */
export type OssCallbackAuth =
  | { type: 'none' }
  | { type: 'key'; key: string }
  | { type: 'basic'; username: string; password: string }
  | { type: 'bearer'; token: string };

export interface OssCallbackDelivery {
  id: number;
  packageId: string;
  name: string;
  url: string;
  event: OssProcessEvent;
  /** The Authorization header sent, or null. */
  authorization: string | null;
  state: 'pending' | 'delivered' | 'failed' | 'stopped';
  at: string;
  /** HTTP status, or null on a timeout or network error. */
  status: number | null;
  error?: string;
  durationMs?: number;
}

/** The e-mail OneSpan sends the package's sender when a callback fails (it never resends the callback). */
export interface OssCallbackFailureNotice {
  deliveryId: number;
  packageId: string;
  name: string;
  to: string;
  reason: string;
}

// ---------------------------------------------------------------------------------------------------
// Settings

export interface OssSettings {
  /**
   * The account's API authentication method. OneSpan makes them exclusive: `oauth2` refuses API keys and
   * client-app tokens with 401, `apiKey` refuses OAuth 2.0 tokens. Default `any`.
   */
  authMethod?: 'any' | 'apiKey' | 'oauth2';
  /** `GET /packages/{id}/audit`: `enabled` (default), or turned off for the account with 404 or 403. */
  audit?: 'enabled' | 'notFound' | 'forbidden';
  /** Callback URL; none when absent. */
  callbackUrl?: string;
  /** Default `{type: 'none'}`. */
  callbackAuth?: OssCallbackAuth;
  /** Registered event names; all when absent. */
  callbackEvents?: string[];
  /** One attempt, never retried; default 20 000 ms. */
  callbackTimeoutMs?: number;
  /** The `esl-api-version` parameter of the answers' media types; default `11.68.0`. */
  apiVersion?: string;
  /**
   * Alphabet of generated package ids: `urlsafe` (default, `-` and `_`, as in `5n4obeO8jYoPp126Cm-Y3fxdfbo=`)
   * or `standard` (`+` and `/`, which a client must percent-encode in paths).
   */
  packageIdAlphabet?: 'urlsafe' | 'standard';
}

export interface OnespanSimulatorOptions extends OssSettings {
  /** Secret for the HTTP control API (header `X-Control-Secret`); random when absent. */
  controlSecret?: string;
  /** Lifetime of `/oauth2/token` tokens; default 300 000 ms (five minutes). */
  oauthTokenTtlMs?: number;
  /** Lifetime of Conga tokens; default 3 600 000 ms. */
  congaTokenTtlMs?: number;
  /** Lifetime of client-app API tokens; default 1 800 000 ms. */
  clientAppTokenTtlMs?: number;
  /** Account owner's e-mail; default `owner@example.test`. */
  ownerEmail?: string;
}

export interface OssClient {
  clientId: string;
  clientSecret: string;
  /** Default: the account owner. */
  senderId?: string;
}
