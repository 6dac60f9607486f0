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
import type { OneSpanClient } from './onespan.client';
import type { OneSpanInstance } from './onespan.config';

/**
 * Package statuses in the core's words. `ARCHIVED` is a completed package an operator filed away: it is
 * archived like `COMPLETED`. A trashed package (`trashed: true`, whatever its status) is treated like a
 * missing one: somebody on the platform already decided to discard it, so nothing is deleted there and
 * the transfer ends as `gone` (the admin page shows it).
 */
const PHASES: Readonly<Record<string, EnvelopePhase>> = {
  DRAFT: 'in_progress',
  SENT: 'in_progress',
  COMPLETED: 'completed',
  ARCHIVED: 'completed',
  DECLINED: 'ended',
  EXPIRED: 'ended',
  OPTED_OUT: 'ended',
};

const FINAL_LISTING = ['COMPLETED', 'DECLINED', 'EXPIRED', 'OPTED_OUT'] as const;
const CONSENT_DOCUMENT = 'default-consent';
const EVIDENCE_FILE = 'evidence/summary';
const AUDIT_FILE = 'audit';

export interface OneSpanPlatformOptions {
  deleteMode: 'delete' | 'trash';
  auditJson: boolean;
  consentDocument: boolean;
}

/** One OneSpan Sign (or Conga Sign) instance behind the pipeline's SigningPlatform interface. */
export class OneSpanPlatform implements SigningPlatform {
  readonly name: string;
  readonly display: PlatformDisplay;
  /** The adapter authenticates itself with the instance's API key or client credentials. */
  readonly credentials: CredentialStrategy = { kind: 'instance' };

  constructor(
    instance: OneSpanInstance,
    private readonly client: OneSpanClient,
    private readonly options: OneSpanPlatformOptions,
  ) {
    this.name = instance.name;
    this.display = { name: instance.displayName };
  }

  async getEnvelope(envelopeId: string, call: PlatformCall): Promise<PlatformEnvelope> {
    const pkg = await this.client.getPackage(envelopeId, call.signal);
    if (pkg.trashed) {
      throw new PlatformError(`${this.display.name}: the package is in the trash`, 'NOT_FOUND');
    }
    const phase = Object.hasOwn(PHASES, pkg.status) ? PHASES[pkg.status] : undefined;
    if (!phase) {
      throw new PlatformError(
        `${this.display.name} reports the package as ${JSON.stringify(pkg.status)}, a status the service does not know`,
        'UNKNOWN_STATUS',
      );
    }
    return {
      id: pkg.id,
      phase,
      status: pkg.status,
      name: pkg.name ?? '',
      sentDate: pkg.created,
      sender: { email: pkg.sender.email, givenName: pkg.sender.firstName, surname: pkg.sender.lastName },
      timeline: pkg.completed ? [{ id: 'package', status: pkg.status, finishedDate: pkg.completed }] : [],
    };
  }

  /** The package's `data` map: text values as they are, other values as JSON. */
  async getMetadata(envelopeId: string, call: PlatformCall): Promise<EnvelopeMetadata> {
    const pkg = await this.client.getPackage(envelopeId, call.signal);
    const fields: Record<string, string> = {};
    for (const [key, value] of Object.entries(pkg.data)) {
      if (value === null || value === undefined) continue;
      fields[key] = typeof value === 'string' ? value : JSON.stringify(value);
    }
    return { fields };
  }

  async listFiles(envelopeId: string, call: PlatformCall): Promise<PlatformFile[]> {
    const pkg = await this.client.getPackage(envelopeId, call.signal);
    const files: PlatformFile[] = [];
    for (const doc of pkg.documents) {
      if (doc.id === CONSENT_DOCUMENT) {
        if (this.options.consentDocument) {
          files.push({
            kind: 'legal_document',
            fileId: doc.id,
            fileName: `${doc.name || 'consent'}.pdf`,
            pdf: true,
          });
        }
        continue;
      }
      files.push({
        kind: 'signed_document',
        fileId: doc.id,
        fileName: /\.pdf$/i.test(doc.name ?? '') ? doc.name! : `${doc.name || doc.id}.pdf`,
        pdf: true,
      });
    }
    files.push({
      kind: 'audit_trail_pdf',
      fileId: EVIDENCE_FILE,
      fileName: 'evidence-summary.pdf',
      pdf: true,
    });
    if (this.options.auditJson) {
      files.push({ kind: 'audit_trail_json', fileId: AUDIT_FILE, fileName: 'audit.json', pdf: false });
    }
    return files;
  }

  openFile(envelopeId: string, file: PlatformFile, call: PlatformCall): Promise<PlatformDownload> {
    if (file.fileId === EVIDENCE_FILE || file.fileId === AUDIT_FILE) {
      return this.client.download(envelopeId, file.fileId, call.signal);
    }
    return this.client.download(envelopeId, { document: file.fileId }, call.signal);
  }

  delete(envelopeId: string, call: PlatformCall): Promise<void> {
    return this.client.remove(envelopeId, this.options.deleteMode, call.signal);
  }

  /** The packages in a final status last updated since `since` (OneSpan's listing by status and date range). */
  async *listFinished(since: Date, call: PlatformCall): AsyncIterable<FinishedEnvelope> {
    const window = { from: since, to: new Date() };
    for (const status of FINAL_LISTING) {
      for await (const pkg of this.client.listPackages(status, window, call.signal)) {
        if (pkg.status !== status) continue;
        yield { id: pkg.id, phase: PHASES[status] === 'completed' ? 'completed' : 'ended' };
      }
    }
  }
}
