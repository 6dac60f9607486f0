import type { Readable } from 'node:stream';

export const ESAW_ENVELOPE_STATUSES = ['Active', 'Completed', 'Canceled', 'Expired', 'Rejected'] as const;
export type EsawEnvelopeStatus = (typeof ESAW_ENVELOPE_STATUSES)[number];

/** `envelope/find` also filters on states derived from `Active`. */
export const ESAW_FIND_STATUSES = [
  ...ESAW_ENVELOPE_STATUSES,
  'ActionRequired',
  'WaitingForOthers',
  'ExpiringSoon',
] as const;
export type EsawFindStatus = (typeof ESAW_FIND_STATUSES)[number];

export type EsawActivityStatus = 'Pending' | 'Completed' | 'Rejected' | 'Delegated';

export interface EsawContact {
  email?: string;
  givenName?: string;
  surname?: string;
}

export interface EsawActivity {
  id: string;
  /** Known values are typed; a value added by a later platform version is passed through unchanged. */
  status: EsawActivityStatus | (string & {});
  statusReason?: string;
  openedDate?: string;
  finishedDate?: string;
  /** The action kind as the platform names it (`Sign`, `View`, `SendCopy`, `SignAsP7M`, `SignAutomatic`). */
  actionType?: string;
  recipient?: EsawContact;
}

export interface EsawEnvelope {
  id: string;
  /** Known values are typed; a status added by a later platform version is passed through unchanged. */
  status: EsawEnvelopeStatus | (string & {});
  name: string;
  /** As the platform wrote it (RFC 3339 date-time). */
  sentDate?: string;
  bulkParentId?: string;
  sender: { email?: string; givenName?: string; surname?: string };
  activities: EsawActivity[];
}

export interface EsawEnvelopeConfiguration {
  /** The envelope's `MetaData` string (often XML written by a DMS tagging page), or null when unset. */
  metaData: string | null;
}

export interface EsawFileRef {
  fileId: string;
  /** Empty when the platform gives no name. */
  fileName: string;
}

export interface EsawDocument extends EsawFileRef {
  /** Only present when the organization generates a separate audit trail per document. */
  auditTrailFileId?: string;
  attachments: EsawFileRef[];
  pageCount?: number;
  documentNumber?: number;
}

export interface EsawLegalDocument extends EsawFileRef {
  activityId?: string;
  email?: string;
}

export interface EsawEnvelopeFiles {
  documents: EsawDocument[];
  /** `fileId` is the audit trail PDF, `xmlFileId` the audit trail XML. */
  auditTrail: { fileId?: string; xmlFileId?: string };
  legalDocuments: EsawLegalDocument[];
}

export interface EsawEnvelopeFilter {
  status?: EsawFindStatus;
  /** Envelopes sent after this instant. */
  startDate?: Date;
  /** Envelopes sent before this instant. */
  endDate?: Date;
  /** The platform documents this search as very resource intensive. */
  searchText?: string;
  /** Only together with `status`. */
  inStatusSinceDays?: number;
  senderEmail?: string;
  recipientEmail?: string;
  completedByRecipientWithEmail?: string;
  waitingForRecipientWithEmail?: string;
  envelopeBulkParentId?: string;
}

export interface EsawFoundEnvelope {
  id: string;
  status: EsawEnvelopeStatus | (string & {});
  name: string;
  metaData: string | null;
  bulkParentId?: string;
  isExpiringSoon?: boolean;
}

export interface EsawFileDownload {
  /**
   * The body, streamed. A failure after the body started (reset, fewer bytes than Content-Length,
   * no byte for longer than the idle timeout) is emitted as a `PlatformError` with code TRANSIENT.
   * Destroy it to abandon the download.
   */
  stream: Readable;
  contentType?: string;
  contentLength?: number;
  /** From Content-Disposition, unsanitized: never use it as a path or key as is. */
  fileName?: string;
}

export interface EsawSentDraft {
  envelopeId: string;
}

export interface EsawAuthorizeUrlParams {
  redirectUri: string;
  state: string;
  /** BASE64URL(SHA256(code_verifier)), see `pkceChallengeS256`. */
  codeChallenge: string;
}

export interface EsawCodeExchangeParams {
  code: string;
  redirectUri: string;
  codeVerifier: string;
}

export interface EsawTokenGrant {
  /** The user's eSignAnyWhere API token. */
  accessToken: string;
}

/** Whose token it is, from `GET /v6/authorization/whoami`. */
export interface EsawIdentity {
  /** The user id as the platform gives it. */
  userId: string;
  /** Absent when the platform names none, or nothing shaped like an address. */
  email?: string;
}

/** Per-call options; every method accepts them as its last argument. */
export interface EsawCallOptions {
  /** Aborts the call, including a pending retry wait; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}
