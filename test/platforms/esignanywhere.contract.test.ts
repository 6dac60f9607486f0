import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { EsignAnywhereClient } from '../../src/platforms/esignanywhere/esignanywhere.client';
import {
  esignAnywhereClientOptions,
  esignAnywhereConfig,
} from '../../src/platforms/esignanywhere/esignanywhere.config';
import { EsignAnywherePlatform } from '../../src/platforms/esignanywhere/esignanywhere.platform';
import type { PlatformCall, PlatformFile, SigningPlatform } from '../../src/platforms/signing-platform';
import {
  EsignAnywhereSimulator,
  type SimEndpoint,
  type SimEnvelopeStatus,
  type SimFault,
  type SimFileKind,
} from '../simulators/esignanywhere/esignanywhere.simulator';
import {
  runSigningPlatformContract,
  type InjectedFault,
  type PlatformHarness,
  type PlatformOperation,
  type SeededEnvelope,
  type SeededFile,
} from './contract/signing-platform.contract';

const ENDPOINTS: Record<PlatformOperation, SimEndpoint> = {
  getEnvelope: 'envelope.get',
  getMetadata: 'envelope.configuration',
  listFiles: 'envelope.files',
  openFile: 'file.get',
  delete: 'envelope.delete',
  listFinished: 'envelope.find',
};

const KINDS: Record<SimFileKind, PlatformFile['kind']> = {
  document: 'signed_document',
  attachment: 'attachment',
  auditTrailPdf: 'audit_trail_pdf',
  auditTrailXml: 'audit_trail_xml',
  documentAuditTrail: 'document_audit_trail',
  legalDocument: 'legal_document',
};

/** Kinds whose names the platform gives; the adapter names the audit trails itself. */
const NAMED_BY_PLATFORM: readonly SimFileKind[] = ['document', 'attachment', 'legalDocument'];

const METADATA_XML = '<Dms><Customer><Id>C-17</Id></Customer><DocType>contract</DocType></Dms>';
const METADATA_FIELDS = { 'Customer/Id': 'C-17', DocType: 'contract' };

function toSimFault(fault: InjectedFault): SimFault {
  switch (fault.kind) {
    case 'unauthorized':
      return {
        kind: 'status',
        status: 401,
        headers: { 'WWW-Authenticate': 'Bearer' },
        body: { Message: 'Authorization has been denied for this request.' },
      };
    // A bare 404: the simulator's own answers for missing objects carry eSAW error ids already.
    case 'not_found':
      return { kind: 'status', status: 404 };
    case 'rate_limited':
      return { kind: 'rateLimit', retryAfter: fault.retryAfterSeconds };
    case 'server_error':
      return { kind: 'status', status: fault.status };
    case 'malformed':
      return { kind: 'invalidJson' };
    case 'slow':
      return { kind: 'latency', ms: fault.ms };
    case 'stall':
      return { kind: 'stall', afterBytes: fault.afterBytes };
  }
}

/** The eSignAnyWhere adapter against its simulator, on loopback, with one sender and client retries off. */
class EsignAnywhereHarness implements PlatformHarness {
  readonly platformName = 'esignanywhere';
  readonly credentials = 'sender_token';
  // Taken from the adapter, so the listing checks run whenever it has a listing.
  readonly supportsListFinished =
    typeof (EsignAnywherePlatform.prototype as SigningPlatform).listFinished === 'function';
  readonly announcesLength = true;
  private readonly sim = new EsignAnywhereSimulator();
  private client: EsignAnywhereClient | undefined;
  private adapter: EsignAnywherePlatform | undefined;
  private sender = { userId: '', token: '', email: 'sender@example.test' };

  async start(): Promise<void> {
    await this.sim.start();
    const { user, token } = this.sim.createUser({ email: this.sender.email });
    this.sender = { userId: user.id, token, email: user.email };
    const parsed = esignAnywhereConfig.parse({
      CALLBACK_AUTH: 'none',
      ESAW_BASE_URL: this.sim.baseUrl,
      ESAW_MAX_RETRIES: '0',
      ESAW_CONNECT_TIMEOUT_MS: '2000',
      ESAW_RESPONSE_TIMEOUT_MS: '10000',
      ESAW_IDLE_TIMEOUT_MS: '10000',
    });
    if (!parsed.value) throw new Error(`invalid test configuration: ${JSON.stringify(parsed.problems)}`);
    this.client = new EsignAnywhereClient({ ...esignAnywhereClientOptions(parsed.value), random: () => 0.5 });
    this.adapter = new EsignAnywherePlatform(this.client, parsed.value);
  }

  async stop(): Promise<void> {
    this.client?.close();
    await this.sim.stop();
  }

  platform(): SigningPlatform {
    if (!this.adapter) throw new Error('the harness is not started');
    return this.adapter;
  }

  call(signal?: AbortSignal): PlatformCall {
    return { token: this.sender.token, ...(signal && { signal }) };
  }

  refusedCredential(): Promise<{ platform: SigningPlatform; call: PlatformCall }> {
    const token = this.sim.issueToken(this.sender.userId);
    this.sim.revokeToken(token);
    return Promise.resolve({ platform: this.platform(), call: { token } });
  }

  seedCompleted(options: { documents: number }): Promise<SeededEnvelope> {
    return this.seed('Completed', {
      name: `Contract bundle of ${options.documents}`,
      metaData: METADATA_XML,
      // Distinct sizes, one above a typical stream chunk; an attachment and a legal document on top.
      documents: Array.from({ length: options.documents }, (_, i) => ({
        fileName: `Document ${i + 1}.pdf`,
        size: 3_000 + i * 70_001,
        attachments: i === 0 ? [{ fileName: 'Passport scan.pdf', size: 2_500 }] : [],
      })),
      legalDocuments: [{ fileName: 'CA22D request.pdf', size: 1_800 }],
      separateAuditTrailPerDocument: true,
    });
  }

  seedInProgress(): Promise<SeededEnvelope> {
    return this.seed('Active', { name: 'Waiting for signatures' });
  }

  seedEnded(): Promise<SeededEnvelope[]> {
    return Promise.all(
      (['Rejected', 'Canceled', 'Expired'] as const).map((status) =>
        this.seed(status, { name: `${status} offer`, documents: [{ fileName: 'Offer.pdf', size: 4_000 }] }),
      ),
    );
  }

  missingEnvelopeId(): string {
    return randomUUID();
  }

  failNext(operation: PlatformOperation, fault: InjectedFault, envelopeId?: string): void {
    this.sim.addFault({
      endpoint: ENDPOINTS[operation],
      ...(envelopeId !== undefined && { envelopeId }),
      times: 1,
      fault: toSimFault(fault),
    });
  }

  clearFaults(): void {
    this.sim.clearFaults();
  }

  private async seed(
    status: SimEnvelopeStatus,
    spec: Omit<Parameters<EsignAnywhereSimulator['createEnvelope']>[0], 'senderUserId' | 'status'>,
  ): Promise<SeededEnvelope> {
    const envelope = this.sim.createEnvelope({ senderUserId: this.sender.userId, status, ...spec });
    const files: SeededFile[] = [];
    for (const file of this.sim.envelopeFiles(envelope.id)) {
      const expected = await this.sim.expectedFile(file.fileId);
      files.push({
        kind: KINDS[file.kind],
        ...(NAMED_BY_PLATFORM.includes(file.kind) && { fileName: file.fileName }),
        pdf: file.kind !== 'auditTrailXml' && /\.pdf$/i.test(file.fileName),
        size: expected.size,
        sha256: expected.sha256,
      });
    }
    return {
      id: envelope.id,
      phase: status === 'Active' ? 'in_progress' : status === 'Completed' ? 'completed' : 'ended',
      status,
      name: envelope.name,
      senderEmail: this.sender.email,
      files,
      metadata: envelope.metaData === null ? {} : METADATA_FIELDS,
    };
  }
}

runSigningPlatformContract('eSignAnyWhere', () => new EsignAnywhereHarness());
