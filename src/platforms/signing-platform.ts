import type { Readable } from 'node:stream';
import type { DocumentKind } from '../transfers/transfer-document.entity';

export type EnvelopeStatus = 'Active' | 'Completed' | 'Canceled' | 'Expired' | 'Rejected';

export interface PlatformEnvelope {
  id: string;
  status: EnvelopeStatus;
  name: string;
  sentDate?: string;
  sender: { email?: string; givenName?: string; surname?: string };
  /** Activities as the platform reports them, for the manifest's timeline. */
  timeline: { id: string; status: string; finishedDate?: string; openedDate?: string; recipient?: string }[];
}

/** One file to archive, in the platform's words. */
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
}

/** What the archive pipeline needs from an e-signature platform, with the sender's token. */
export interface SigningPlatform {
  readonly name: string;
  getEnvelope(token: string, envelopeId: string, signal?: AbortSignal): Promise<PlatformEnvelope>;
  getMetadata(token: string, envelopeId: string, signal?: AbortSignal): Promise<string | null>;
  listFiles(token: string, envelopeId: string, signal?: AbortSignal): Promise<PlatformFile[]>;
  openFile(token: string, fileId: string, signal?: AbortSignal): Promise<PlatformDownload>;
  deleteEnvelope(token: string, envelopeId: string, signal?: AbortSignal): Promise<void>;
}

/** DI token: the platforms by name. */
export const SIGNING_PLATFORMS = Symbol('SIGNING_PLATFORMS');
export type SigningPlatforms = ReadonlyMap<string, SigningPlatform>;
