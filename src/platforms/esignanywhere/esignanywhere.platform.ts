import { Inject, Injectable } from '@nestjs/common';
import { parseEnvelopeMetadata } from '../../transfers/envelope-metadata';
import { PlatformError } from '../platform-error';
import type {
  CredentialStrategy,
  EnvelopeMetadata,
  EnvelopePhase,
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
    return {
      id: e.id,
      phase: PHASES[e.status],
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
}

function tokenOf(call: PlatformCall): string {
  if (call.token === undefined) {
    throw new PlatformError('eSignAnyWhere calls need a sender or fallback token', 'PROTOCOL');
  }
  return call.token;
}
