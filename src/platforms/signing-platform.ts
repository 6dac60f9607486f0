import type { Readable } from 'node:stream';
import type { DocumentKind } from '../transfers/transfer-document.entity';

/**
 * Where an envelope stands, in the core's words:
 * - `in_progress`: not finished yet (sent, out for signature, or still settling after its callback);
 * - `completed`: every party signed; everything is archived;
 * - `ended`: finished without completion (declined, expired, canceled); what exists is archived.
 */
export type EnvelopePhase = 'in_progress' | 'completed' | 'ended';

export interface PlatformEnvelope {
  id: string;
  phase: EnvelopePhase;
  /** The platform's own status word, kept for people, tags and the manifest. */
  status: string;
  name: string;
  sentDate?: string;
  sender: { email?: string; givenName?: string; surname?: string };
  /** Activities as the platform reports them, for the manifest's timeline. */
  timeline: { id: string; status: string; finishedDate?: string; openedDate?: string; recipient?: string }[];
}

/** The envelope's metadata as flat text fields; `problem` says why some could not be read. */
export interface EnvelopeMetadata {
  fields: Record<string, string>;
  problem?: string;
}

/** One file to archive, in the core's vocabulary of kinds. */
export interface PlatformFile {
  kind: Exclude<DocumentKind, 'manifest'>;
  fileId: string;
  fileName: string;
  /** True when the file must be a PDF (checked for `%PDF-` ... `%%EOF`). */
  pdf: boolean;
}

export interface PlatformDownload {
  stream: Readable;
  contentType?: string;
  contentLength?: number;
  /**
   * The platform's own sha256 of the file (hex), when it gives one: the bytes read must match it or
   * the file fails as corrupt, never archived; it is recorded in the manifest.
   */
  sha256?: string;
}

/** An envelope that reached a final phase, as a listing for reconciliation reports it. */
export interface FinishedEnvelope {
  id: string;
  phase: Exclude<EnvelopePhase, 'in_progress'>;
  finishedAt?: Date;
}

/** How the service acts on a platform instance's API. */
export type CredentialStrategy =
  /** Each sender grants their own token (stored encrypted); a fallback token acts where no sender is known. */
  | { kind: 'sender_token'; fallbackToken?: string; fallbackTokenSetting: string }
  /** The adapter authenticates itself (an account API key, a client-credentials token). */
  | { kind: 'instance' };

/** What a call needs besides its arguments. */
export interface PlatformCall {
  /** The sender's (or fallback) token under the `sender_token` strategy; absent under `instance`. */
  token?: string;
  signal?: AbortSignal;
}

/** Words and links for mail and pages about this instance. */
export interface PlatformDisplay {
  /** The platform's name as people know it, e.g. "OneSpan Sign". */
  readonly name: string;
  /**
   * The path (below PUBLIC_BASE_URL) where a sender grants API access again, when the platform has a
   * consent capability.
   */
  consentPath?(platformUserId: string): string;
}

/**
 * One configured platform instance, as the archive pipeline uses it. Errors are `PlatformError`s
 * with the shared code set; nothing here speaks the platform's own status words except `status`.
 */
export interface SigningPlatform {
  /** The instance's name: the `platform` column, the callback route, metrics and tags. */
  readonly name: string;
  readonly display: PlatformDisplay;
  readonly credentials: CredentialStrategy;
  getEnvelope(envelopeId: string, call: PlatformCall): Promise<PlatformEnvelope>;
  getMetadata(envelopeId: string, call: PlatformCall): Promise<EnvelopeMetadata>;
  listFiles(envelopeId: string, call: PlatformCall): Promise<PlatformFile[]>;
  openFile(envelopeId: string, file: PlatformFile, call: PlatformCall): Promise<PlatformDownload>;
  delete(envelopeId: string, call: PlatformCall): Promise<void>;
  /**
   * Optional: envelopes that reached a final phase since `since`, for reconciliation (the backstop for
   * callbacks that never came).
   */
  listFinished?(since: Date, call: PlatformCall): AsyncIterable<FinishedEnvelope>;
}

/** DI token: the platform instances by name. */
export const SIGNING_PLATFORMS = Symbol('SIGNING_PLATFORMS');
export type SigningPlatforms = ReadonlyMap<string, SigningPlatform>;
