import { PlatformError } from '../platform-error';
import type {
  CredentialStrategy,
  EnvelopeMetadata,
  EnvelopePhase,
  FinishedEnvelope,
  PlatformCall,
  PlatformDisplay,
  PlatformDownload,
  PlatformEnvelope,
  PlatformFile,
  SigningPlatform,
} from '../signing-platform';
import type { LegalesignClient } from './legalesign.client';
import type { LegalesignInstance } from './legalesign.config';

/** Document statuses (Legalesign API v1): their words, and their phase in the core's terms. */
const STATUSES: Readonly<Record<number, { word: string; phase: EnvelopePhase }>> = {
  10: { word: 'initial', phase: 'in_progress' },
  20: { word: 'fields_complete', phase: 'in_progress' },
  30: { word: 'signed', phase: 'completed' },
  40: { word: 'removed', phase: 'ended' },
  50: { word: 'rejected', phase: 'ended' },
};
const SIGNER_STATUSES: Readonly<Record<number, string>> = {
  4: 'unsent',
  5: 'scheduled',
  10: 'sent',
  15: 'email_opened',
  20: 'visited',
  30: 'fields_complete',
  35: 'fields_complete_ex_signature',
  39: 'waiting_for_witness',
  40: 'signed',
  50: 'downloaded',
  60: 'rejected',
};
/** What reconciliation lists: signed documents (completed), rejected and removed ones (ended). */
const FINAL_LISTING: readonly { status: number; phase: FinishedEnvelope['phase'] }[] = [
  { status: 30, phase: 'completed' },
  { status: 50, phase: 'ended' },
  { status: 40, phase: 'ended' },
];
const FINAL_PDF = 'final';
const AUDIT_LOG = 'auditlog';

/** Legalesign behind the pipeline's SigningPlatform interface: documents are its envelopes. */
export class LegalesignPlatform implements SigningPlatform {
  readonly name: string;
  readonly display: PlatformDisplay;
  /** The adapter authenticates itself with the account's API key. */
  readonly credentials: CredentialStrategy = { kind: 'instance' };

  constructor(
    private readonly instance: LegalesignInstance,
    private readonly client: LegalesignClient,
  ) {
    this.name = instance.name;
    this.display = { name: instance.displayName };
  }

  async getEnvelope(envelopeId: string, call: PlatformCall): Promise<PlatformEnvelope> {
    const document = await this.client.getDocument(envelopeId, call.signal);
    const known = Object.hasOwn(STATUSES, document.status) ? STATUSES[document.status] : undefined;
    if (!known) {
      throw new PlatformError(
        `${this.display.name} reports the document as status ${document.status}, a status the service does not know`,
        'UNKNOWN_STATUS',
      );
    }
    const signedAt = legalesignDate(document.sign_time)?.toISOString();
    // Signed, but the final PDF is still being made: not finished for the archive yet.
    const phase =
      known.phase === 'completed' && document.download_final !== true ? 'in_progress' : known.phase;
    return {
      id: document.uuid.toLowerCase(),
      phase,
      status: known.word,
      name: document.name ?? '',
      sentDate: legalesignDate(document.created)?.toISOString(),
      sender: {},
      timeline: (document.signer_objects ?? []).map((signer, i) => ({
        id: signer.uuid ?? `signer-${i + 1}`,
        status: SIGNER_STATUSES[signer.status ?? -1] ?? String(signer.status ?? 'unknown'),
        ...(signer.email && { recipient: signer.email }),
        ...(signer.status === 40 && signedAt && { finishedDate: signedAt }),
      })),
    };
  }

  /** The document's own references (`tag`, `tag1`, `tag2`) and its group. */
  async getMetadata(envelopeId: string, call: PlatformCall): Promise<EnvelopeMetadata> {
    const document = await this.client.getDocument(envelopeId, call.signal);
    const fields: Record<string, string> = {};
    for (const key of ['tag', 'tag1', 'tag2'] as const) {
      const value = document[key];
      if (value) fields[key] = value;
    }
    const group = /\/group\/([^/]+)\/?$/.exec(document.group ?? '')?.[1];
    if (group) fields.group = group;
    return { fields };
  }

  /** The signed PDF once it exists, and the audit log always. */
  async listFiles(envelopeId: string, call: PlatformCall): Promise<PlatformFile[]> {
    const document = await this.client.getDocument(envelopeId, call.signal);
    const files: PlatformFile[] = [];
    if (document.status === 30 && document.download_final === true) {
      const name = document.name?.trim() || envelopeId;
      files.push({
        kind: 'signed_document',
        fileId: FINAL_PDF,
        fileName: /\.pdf$/i.test(name) ? name : `${name}.pdf`,
        pdf: true,
      });
    }
    files.push({ kind: 'audit_trail_pdf', fileId: AUDIT_LOG, fileName: 'audit-log.pdf', pdf: true });
    return files;
  }

  /** The final PDF comes with Legalesign's sha256 of it (`hash_value`), which the bytes must match. */
  async openFile(envelopeId: string, file: PlatformFile, call: PlatformCall): Promise<PlatformDownload> {
    if (file.fileId === AUDIT_LOG) return this.client.auditLog(envelopeId, call.signal);
    if (file.fileId !== FINAL_PDF) {
      throw new PlatformError(`${this.display.name}: no file ${JSON.stringify(file.fileId)}`, 'NOT_FOUND');
    }
    const document = await this.client.getDocument(envelopeId, call.signal);
    const download = await this.client.finalPdf(envelopeId, call.signal);
    return {
      stream: download.stream,
      ...(download.contentType !== undefined && { contentType: download.contentType }),
      ...(download.contentLength !== undefined && { contentLength: download.contentLength }),
      ...(document.hash_value && { sha256: document.hash_value }),
    };
  }

  delete(envelopeId: string, call: PlatformCall): Promise<void> {
    return this.instance.deleteMode === 'void'
      ? this.client.voidDocument(envelopeId, call.signal)
      : this.client.deletePermanently(envelopeId, call.signal);
  }

  /**
   * Signed, rejected and removed documents modified since `since`, per group, in the default listing and among
   * archived ones (auto-archived documents leave the default listing soon after completion).
   */
  async *listFinished(since: Date, call: PlatformCall): AsyncIterable<FinishedEnvelope> {
    const groups =
      this.instance.groups.length > 0 ? this.instance.groups : await this.client.groups(call.signal);
    for (const group of groups) {
      for (const { status, phase } of FINAL_LISTING) {
        for (const archived of [false, true]) {
          const query = { group, status, archived, modifiedAfter: since };
          for await (const document of this.client.documents(query, call.signal)) {
            if (document.status !== status) continue;
            const at = legalesignDate(document.sign_time ?? document.modified);
            yield { id: document.uuid.toLowerCase(), phase, ...(at && { finishedAt: at }) };
          }
        }
      }
    }
  }
}

/** Legalesign writes UTC date-times without a zone (`2025-01-10T12:00:00.123000`); read them as UTC. */
export function legalesignDate(text: string | undefined): Date | undefined {
  if (!text) return undefined;
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(text) ? text : `${text}Z`;
  const date = new Date(zoned);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
