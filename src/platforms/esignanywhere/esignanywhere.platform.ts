import { Inject, Injectable } from '@nestjs/common';
import { parseEnvelopeMetadata } from '../../transfers/envelope-metadata';
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
import { ESIGNANYWHERE } from './esignanywhere-callback.parser';
import { EsignAnywhereClient } from './esignanywhere.client';
import { esignAnywhereConfig, type EsignAnywhereConfig } from './esignanywhere.config';
import type { EsawEnvelopeStatus } from './esignanywhere.types';

const isPdfName = (name: string) => /\.pdf$/i.test(name);

const PHASES: Record<EsawEnvelopeStatus, EnvelopePhase> = {
  Active: 'in_progress',
  Completed: 'completed',
  Canceled: 'ended',
  Expired: 'ended',
  Rejected: 'ended',
};

/** eSignAnyWhere behind the pipeline's SigningPlatform interface; every call acts with a sender's token. */
@Injectable()
export class EsignAnywherePlatform implements SigningPlatform {
  readonly name = ESIGNANYWHERE;
  readonly display: PlatformDisplay = {
    name: 'eSignAnyWhere',
    consentPath: (platformUserId) => `/consent/start?sender=${encodeURIComponent(platformUserId)}`,
  };
  readonly credentials: CredentialStrategy;

  constructor(
    private readonly client: EsignAnywhereClient,
    @Inject(esignAnywhereConfig.KEY) config: EsignAnywhereConfig,
  ) {
    this.credentials = {
      kind: 'sender_token',
      fallbackToken: config.ESAW_API_TOKEN,
      fallbackTokenSetting: 'ESAW_API_TOKEN',
    };
  }

  async getEnvelope(envelopeId: string, call: PlatformCall): Promise<PlatformEnvelope> {
    const e = await this.client.getEnvelope(tokenOf(call), envelopeId, { signal: call.signal });
    const phase = phaseOf(e.status);
    if (!phase) {
      throw new PlatformError(
        `eSignAnyWhere reports the envelope as ${JSON.stringify(e.status.slice(0, 64))}, a status the service does not know`,
        'UNKNOWN_STATUS',
      );
    }
    return {
      id: e.id,
      phase,
      status: e.status,
      name: e.name,
      sentDate: e.sentDate,
      sender: e.sender,
      timeline: e.activities.map((a) => ({
        id: a.id,
        status: a.status,
        finishedDate: a.finishedDate,
        openedDate: a.openedDate,
        recipient: a.recipient?.email,
      })),
    };
  }

  async getMetadata(envelopeId: string, call: PlatformCall): Promise<EnvelopeMetadata> {
    const raw = (await this.client.getConfiguration(tokenOf(call), envelopeId, { signal: call.signal }))
      .metaData;
    return parseEnvelopeMetadata(raw);
  }

  async listFiles(envelopeId: string, call: PlatformCall): Promise<PlatformFile[]> {
    const files = await this.client.listFiles(tokenOf(call), envelopeId, { signal: call.signal });
    const out: PlatformFile[] = [];
    for (const d of files.documents) {
      out.push({
        kind: 'signed_document',
        fileId: d.fileId,
        fileName: d.fileName || `document-${d.fileId}.pdf`,
        pdf: true,
      });
      if (d.auditTrailFileId) {
        out.push({
          kind: 'document_audit_trail',
          fileId: d.auditTrailFileId,
          fileName: `audit-trail-${d.fileName || d.fileId}`.replace(/(\.pdf)?$/i, '.pdf'),
          pdf: true,
        });
      }
      for (const a of d.attachments) {
        const name = a.fileName || `attachment-${a.fileId}`;
        out.push({ kind: 'attachment', fileId: a.fileId, fileName: name, pdf: isPdfName(name) });
      }
    }
    if (files.auditTrail.fileId) {
      out.push({
        kind: 'audit_trail_pdf',
        fileId: files.auditTrail.fileId,
        fileName: 'audit-trail.pdf',
        pdf: true,
      });
    }
    if (files.auditTrail.xmlFileId) {
      out.push({
        kind: 'audit_trail_xml',
        fileId: files.auditTrail.xmlFileId,
        fileName: 'audit-trail.xml',
        pdf: false,
      });
    }
    for (const l of files.legalDocuments) {
      const name = l.fileName || `legal-document-${l.fileId}.pdf`;
      out.push({ kind: 'legal_document', fileId: l.fileId, fileName: name, pdf: isPdfName(name) });
    }
    return out;
  }

  // Files have ids of their own on eSignAnyWhere: the envelope is not part of the request.
  openFile(_envelopeId: string, file: PlatformFile, call: PlatformCall): Promise<PlatformDownload> {
    return this.client.openFile(tokenOf(call), file.fileId, { signal: call.signal });
  }

  delete(envelopeId: string, call: PlatformCall): Promise<void> {
    return this.client.deleteEnvelope(tokenOf(call), envelopeId, { signal: call.signal });
  }

  /**
   * `envelope/find` once per final status. The platform's day-granular `InStatusSinceDays` has no public
   * definition of its direction, so the listing asks by status alone, bounded to envelopes sent within
   * `SENT_WITHIN_MS` before `since` (an envelope is finished within that long of being sent); finding an
   * envelope again is harmless. Each token sees the envelopes its user may see: the core asks with every
   * granted sender's token and the fallback token.
   */
  async *listFinished(since: Date, call: PlatformCall): AsyncIterable<FinishedEnvelope> {
    const startDate = new Date(since.getTime() - SENT_WITHIN_MS);
    for (const status of FINAL_STATUSES) {
      const found = await this.client.findEnvelopes(
        tokenOf(call),
        { status, startDate },
        { signal: call.signal },
      );
      for (const envelope of found) {
        // Only what the platform itself says is final now; a lagging or odd status is left to the next run.
        const phase = phaseOf(envelope.status);
        // Ids are noted in lower case, like the callbacks' (the platform's case varies).
        if (phase === 'completed' || phase === 'ended') yield { id: envelope.id.toLowerCase(), phase };
      }
    }
  }
}

/** How long before a reconciliation window an envelope may have been sent and still be listed. */
const SENT_WITHIN_MS = 180 * 86_400_000;
const FINAL_STATUSES = ['Completed', 'Canceled', 'Expired', 'Rejected'] as const;

function phaseOf(status: string): EnvelopePhase | undefined {
  return Object.hasOwn(PHASES, status) ? PHASES[status as EsawEnvelopeStatus] : undefined;
}

function tokenOf(call: PlatformCall): string {
  if (call.token === undefined) {
    throw new PlatformError('eSignAnyWhere calls need a sender or fallback token', 'PROTOCOL');
  }
  return call.token;
}
