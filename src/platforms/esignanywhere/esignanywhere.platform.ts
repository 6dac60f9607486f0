import { Injectable } from '@nestjs/common';
import { ESIGNANYWHERE } from './esignanywhere-callback.parser';
import type { PlatformDownload, PlatformEnvelope, PlatformFile, SigningPlatform } from '../signing-platform';
import { EsignAnywhereClient } from './esignanywhere.client';

const isPdfName = (name: string) => /\.pdf$/i.test(name);

/** eSignAnyWhere behind the pipeline's SigningPlatform interface. */
@Injectable()
export class EsignAnywherePlatform implements SigningPlatform {
  readonly name = ESIGNANYWHERE;

  constructor(private readonly client: EsignAnywhereClient) {}

  async getEnvelope(token: string, envelopeId: string, signal?: AbortSignal): Promise<PlatformEnvelope> {
    const e = await this.client.getEnvelope(token, envelopeId, { signal });
    return {
      id: e.id,
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

  async getMetadata(token: string, envelopeId: string, signal?: AbortSignal): Promise<string | null> {
    return (await this.client.getConfiguration(token, envelopeId, { signal })).metaData;
  }

  async listFiles(token: string, envelopeId: string, signal?: AbortSignal): Promise<PlatformFile[]> {
    const files = await this.client.listFiles(token, envelopeId, { signal });
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

  openFile(token: string, fileId: string, signal?: AbortSignal): Promise<PlatformDownload> {
    return this.client.openFile(token, fileId, { signal });
  }

  deleteEnvelope(token: string, envelopeId: string, signal?: AbortSignal): Promise<void> {
    return this.client.deleteEnvelope(token, envelopeId, { signal });
  }
}
