/** Document status: 10 initial, 20 fields complete ("sent"), 30 signed, 40 removed, 50 rejected. */
export type LsDocumentStatus = 10 | 20 | 30 | 40 | 50;
/** Signer status: 10 sent, 40 signed, 60 rejected (the others of the platform's list are never set here). */
export type LsSignerStatus = 10 | 40 | 60;

/**
 * How `GET /pdf/{uuid}/` answers for a signed document: `direct` 200 with the PDF, `redirect` 302 to the
 * download host, `dearchive` 201 "Being de-archived" until restored.
 */
export type LsDelivery = 'direct' | 'redirect' | 'dearchive';

/** Names of the simulated endpoints, used by fault rules and the request log. */
export const LS_ENDPOINTS = [
  'document.get',
  'document.list',
  'group.list',
  'pdf',
  'pdf.download',
  'auditlog',
  'document.void',
  'document.delete',
] as const;
export type LsEndpoint = (typeof LS_ENDPOINTS)[number];

export type LsDigest = 'sha1' | 'sha256';

export interface LsGroup {
  slug: string;
  name: string;
  /** Whether `DELETE /document/{uuid}/delete/` may delete permanently. */
  automatedDeletion: boolean;
}

export interface LsSigner {
  uuid: string;
  firstname: string;
  lastname: string;
  email: string;
  tel: string;
  order: number;
  status: LsSignerStatus;
}

/** A read-only snapshot of a document as the simulator holds it. */
export interface LsDocumentSnapshot {
  uuid: string;
  name: string;
  group: string;
  status: LsDocumentStatus;
  archived: boolean;
  autoArchive: boolean;
  deleted: boolean;
  delivery: LsDelivery;
  tag: string;
  tag1: string;
  tag2: string;
  signers: LsSigner[];
  /** ISO 8601 with `Z`. */
  created: string;
  modified: string;
  signTime: string | null;
  /** What `hash_value` answers: the final PDF's sha256, a value set by `setHashValue`, or null. */
  hashValue: string | null;
}

export interface LsCreateDocumentOptions {
  /** Group slug; default the first group. */
  group?: string;
  name?: string;
  tags?: { tag?: string; tag1?: string; tag2?: string };
  signers?: { firstname?: string; lastname?: string; email?: string; tel?: string }[];
  /** Size of the final PDF in bytes (default 20 000), or its exact bytes. */
  pdfBytes?: number | Buffer;
  delivery?: LsDelivery;
  autoArchive?: boolean;
  appendHistory?: boolean;
  /** Default now; an ISO date-time (no zone is UTC) or epoch ms. `modified` defaults to `created`. */
  created?: string | number;
  modified?: string | number;
}

// ---------------------------------------------------------------------------------------------------
// Faults

export type LsFault =
  /** Answer with this status and optional JSON body and headers instead of handling the request. */
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  /** 429 with `Retry-After` (seconds). */
  | { kind: 'rateLimit'; retryAfter?: number }
  /** Wait before answering (adds up with other faults). */
  | { kind: 'delay'; ms: number }
  /** The full Content-Length, then only `afterBytes` bytes of the body and a closed connection. */
  | { kind: 'truncate'; afterBytes: number }
  /** The full Content-Length, then only `afterBytes` bytes and silence, the connection left open. */
  | { kind: 'stall'; afterBytes: number }
  /** Never answer; the connection stays open until the client gives up or the simulator stops. */
  | { kind: 'hang' }
  /** TCP reset before the status line. */
  | { kind: 'reset' };

export interface LsFaultRule {
  /** Which endpoints; all when absent. */
  endpoint?: LsEndpoint | LsEndpoint[];
  /** Only requests about this document. */
  uuid?: string;
  /** Applies to the next N matching requests, then disappears; always when absent. */
  times?: number;
  fault: LsFault;
}

// ---------------------------------------------------------------------------------------------------
// Request log

export interface LsRequestLogEntry {
  seq: number;
  at: string;
  /** `api` is the API server, `download` the host `GET /pdf/` redirects to. */
  host: 'api' | 'download';
  endpoint: LsEndpoint | 'unknown';
  method: string;
  path: string;
  query: Record<string, string>;
  uuid?: string;
  /** Whether the request carried an `Authorization` header (its value is never logged). */
  authorization: boolean;
  status: number | null;
  outcome: 'complete' | 'truncated' | 'stalled' | 'hung' | 'reset' | 'client-closed';
  faults: string[];
}

/** A request to the download host that carried an `Authorization` header. */
export interface LsCredentialLeak {
  at: string;
  path: string;
  uuid: string | null;
  /** The header's first word (`ApiKey`, `Bearer`, ...), never the secret. */
  scheme: string;
  /** Whether the header holds one of the simulator's API keys. */
  apiKey: boolean;
}

// ---------------------------------------------------------------------------------------------------
// Callbacks

/** One entry of the batch ("all") callback's `data` list. */
export interface LsStatusChange {
  /** UTC, `2018-03-20T07:09:52`. */
  timestamp: string;
  name: 'status';
  value: string;
  resource_uri: string;
}

export interface LsRealtimeRecipient {
  uuid: string;
  email: string;
  firstname: string;
  lastname: string;
  order: number;
  status: number;
  statusText: string;
  roleText: string;
  resourceUri: string;
  rejectReason: string;
}

export interface LsRealtimeEvent {
  version: '1';
  object: string;
  event: string;
  id: string;
  /** Epoch seconds. */
  created: number;
  data: {
    uuid: string;
    name: string;
    status: number;
    statusText: string;
    tag: string;
    tag1: string;
    tag2: string;
    group: string;
    groupResourceUri: string;
    resourceUri: string;
    recipients: LsRealtimeRecipient[];
  };
}

export type LsCallbackKind = 'batch' | 'signed' | 'realtime';

export interface LsCallbackDelivery {
  id: number;
  kind: LsCallbackKind;
  url: string;
  /** The document it is about; null for a batch. */
  uuid: string | null;
  at: string;
  /** Content-Type and the other headers sent (`X-Signed`). */
  headers: Record<string, string>;
  /** The body as sent. */
  body: string;
  /** Batch: the `data` string; signed: `json_signed`. */
  data?: string;
  /** Batch: `signed`; signed: the `X-Signed` header. */
  signature?: string;
  event?: LsRealtimeEvent;
  state: 'pending' | 'delivered' | 'failed';
  /** HTTP status, or null on a timeout or a network error. */
  status: number | null;
  responseBody: string | null;
  error?: string;
}

// ---------------------------------------------------------------------------------------------------
// Settings

export interface LsSettings {
  /** Batch ("all") callback URL; batches are sent by `flushBatch()`. */
  batchUrl?: string;
  /** Legacy "signed" callback URL. */
  signedUrl?: string;
  /** Realtime callback URL. */
  realtimeUrl?: string;
  /** Digest of the callback signatures (RSA PKCS#1 v1.5); default `sha1`, as the platform signs. */
  signatureDigest?: LsDigest;
  /** Realtime `event` as `document.finalPdfCreated` instead of `finalPdfCreated`; default false. */
  realtimeEventPrefix?: boolean;
  /** Lifetime of a redirect's download link; default 60 000 ms. */
  redirectTtlMs?: number;
  /** A `dearchive` document becomes downloadable this long after the first request; manual when absent. */
  dearchiveMs?: number;
  /** How long after signing an `autoArchive` document is archived; default 0 (at once). */
  autoArchiveMs?: number;
  /** API calls allowed per sliding minute, then 429; unlimited when absent. */
  callsPerMinute?: number;
  /** One attempt per callback, never retried; default 10 000 ms. */
  callbackTimeoutMs?: number;
}

/** The settings in force, defaults filled in. */
export type LsEffectiveSettings = Required<
  Omit<LsSettings, 'batchUrl' | 'signedUrl' | 'realtimeUrl' | 'dearchiveMs' | 'callsPerMinute'>
> &
  Pick<LsSettings, 'batchUrl' | 'signedUrl' | 'realtimeUrl' | 'dearchiveMs' | 'callsPerMinute'>;

export interface LegalesignSimulatorOptions extends LsSettings {
  /** `username:secret`; random when absent (read it from `simulator.apiKey`). */
  apiKey?: string;
  /** Default one group `main-group`. */
  groups?: { slug: string; name?: string; automatedDeletion?: boolean }[];
  /** Key that signs callbacks; default the committed test key (`fixtures/callback-signing.key.pem`). */
  privateKeyPem?: string;
}
