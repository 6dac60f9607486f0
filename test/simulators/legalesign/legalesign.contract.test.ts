import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { LegalesignClient } from '../../../src/platforms/legalesign/legalesign.client';
import { legalesignConfig, legalesignInstance } from '../../../src/platforms/legalesign/legalesign.config';
import { LegalesignPlatform } from '../../../src/platforms/legalesign/legalesign.platform';
import type { PlatformCall, SigningPlatform } from '../../../src/platforms/signing-platform';
import {
  runSigningPlatformContract,
  type InjectedFault,
  type PlatformHarness,
  type PlatformOperation,
  type SeededEnvelope,
  type SeededFile,
} from '../../platforms/contract/signing-platform.contract';
import type { LsDocumentSnapshot, LsEndpoint, LsFault } from './legalesign-simulator.types';
import { LegalesignSimulator } from './legalesign.simulator';

/** getEnvelope, getMetadata and listFiles read the document; openFile is aimed at the final PDF. */
const ENDPOINTS: Record<PlatformOperation, LsEndpoint> = {
  getEnvelope: 'document.get',
  getMetadata: 'document.get',
  listFiles: 'document.get',
  openFile: 'pdf',
  delete: 'document.delete',
  listFinished: 'document.list',
};

const TAGS = { tag: 'C-17', tag1: 'contract', tag2: 'EU' };

function toSimFault(fault: InjectedFault): LsFault {
  switch (fault.kind) {
    case 'unauthorized':
      return { kind: 'status', status: 401, body: { detail: 'Invalid API key.' } };
    case 'not_found':
      return { kind: 'status', status: 404, body: { detail: 'Not found.' } };
    case 'rate_limited':
      return { kind: 'rateLimit', retryAfter: fault.retryAfterSeconds };
    case 'server_error':
      return { kind: 'status', status: fault.status };
    case 'malformed':
      return { kind: 'status', status: 200, body: { objects: 'not a document' } };
    case 'slow':
      return { kind: 'delay', ms: fault.ms };
    case 'stall':
      return { kind: 'stall', afterBytes: fault.afterBytes };
  }
}

/** Legalesign's adapter (permanent delete, a redirected final PDF) against its simulator, retries off. */
class LegalesignHarness implements PlatformHarness {
  readonly platformName = 'legalesign';
  readonly credentials = 'instance';
  readonly supportsListFinished =
    typeof (LegalesignPlatform.prototype as SigningPlatform).listFinished === 'function';
  readonly announcesLength = true;
  readonly maxSignedDocuments = 1;
  private readonly sim = new LegalesignSimulator({ groups: [{ slug: 'contracts' }] });
  private readonly clients: LegalesignClient[] = [];
  private adapter: LegalesignPlatform | undefined;

  async start(): Promise<void> {
    await this.sim.start();
    this.adapter = this.adapterWith(this.sim.apiKey);
  }

  async stop(): Promise<void> {
    for (const client of this.clients) client.close();
    await this.sim.stop();
  }

  platform(): SigningPlatform {
    if (!this.adapter) throw new Error('the harness is not started');
    return this.adapter;
  }

  call(signal?: AbortSignal): PlatformCall {
    return signal ? { signal } : {};
  }

  /** A second API key that works once, then is revoked. */
  async refusedCredential(): Promise<{ platform: SigningPlatform; call: PlatformCall }> {
    const key = `${randomUUID()}:revocable-secret-0123456789`;
    this.sim.addApiKey(key);
    const platform = this.adapterWith(key);
    const probe = this.sim.createDocument({ name: 'Credential probe' });
    await platform.getEnvelope(probe.uuid, {});
    if (!this.sim.revokeApiKey(key)) throw new Error('the API key to revoke is unknown');
    return { platform, call: {} };
  }

  /** Legalesign signs one PDF per document; `documents` is what the contract asks, one is what it gets. */
  seedCompleted(options: { documents: number }): Promise<SeededEnvelope> {
    const doc = this.sim.createDocument({
      name: `Contract bundle of ${options.documents}`,
      tags: TAGS,
      pdfBytes: 90_001,
      delivery: 'redirect',
    });
    return Promise.resolve(this.seeded(this.sim.signDocument(doc.uuid)));
  }

  seedInProgress(): Promise<SeededEnvelope> {
    return Promise.resolve(
      this.seeded(this.sim.createDocument({ name: 'Waiting for signatures', tags: { tag: 'C-18' } })),
    );
  }

  /** Rejected by a signer; removed (voided) by its sender. */
  seedEnded(): Promise<SeededEnvelope[]> {
    const rejected = this.sim.createDocument({ name: 'Rejected offer' });
    const removed = this.sim.createDocument({ name: 'Withdrawn offer' });
    return Promise.resolve([
      this.seeded(this.sim.rejectDocument(rejected.uuid)),
      this.seeded(this.sim.voidDocument(removed.uuid)),
    ]);
  }

  missingEnvelopeId(): string {
    return randomUUID();
  }

  failNext(operation: PlatformOperation, fault: InjectedFault, envelopeId?: string): void {
    this.sim.addFault({
      // The final PDF's bytes come from the host the API redirects to.
      endpoint: fault.kind === 'stall' ? 'pdf.download' : ENDPOINTS[operation],
      ...(envelopeId !== undefined && operation !== 'listFinished' && { uuid: envelopeId }),
      times: 1,
      fault: toSimFault(fault),
    });
  }

  clearFaults(): void {
    this.sim.clearFaults();
  }

  private adapterWith(apiKey: string): LegalesignPlatform {
    const parsed = legalesignConfig.parse({
      LEGALESIGN_API_KEY: apiKey,
      LEGALESIGN_BASE_URL: this.sim.baseUrl,
      LEGALESIGN_CALLBACK_AUTH: 'none',
      LEGALESIGN_GROUPS: 'contracts',
      LEGALESIGN_MAX_RETRIES: '0',
      LEGALESIGN_RESPONSE_TIMEOUT_MS: '10000',
      LEGALESIGN_IDLE_TIMEOUT_MS: '10000',
    });
    if (!parsed.value) throw new Error(`invalid test configuration: ${JSON.stringify(parsed.problems)}`);
    const instance = legalesignInstance(parsed.value)!;
    const client = new LegalesignClient({
      instance,
      maxRetries: 0,
      responseTimeoutMs: parsed.value.LEGALESIGN_RESPONSE_TIMEOUT_MS,
      idleTimeoutMs: parsed.value.LEGALESIGN_IDLE_TIMEOUT_MS,
    });
    this.clients.push(client);
    return new LegalesignPlatform(instance, client);
  }

  private seeded(doc: LsDocumentSnapshot): SeededEnvelope {
    const phase =
      doc.status === 30 ? 'completed' : doc.status === 40 || doc.status === 50 ? 'ended' : 'in_progress';
    const files: SeededFile[] = [];
    if (doc.status === 30)
      files.push({
        kind: 'signed_document',
        fileName: `${doc.name}.pdf`,
        pdf: true,
        ...this.sim.expectedFile(doc.uuid),
      });
    files.push({
      kind: 'audit_trail_pdf',
      fileName: 'audit-log.pdf',
      pdf: true,
      ...this.sim.expectedFile(doc.uuid, 'auditlog'),
    });
    const metadata: Record<string, string> = { group: doc.group };
    for (const key of ['tag', 'tag1', 'tag2'] as const) if (doc[key]) metadata[key] = doc[key];
    return {
      id: doc.uuid,
      phase,
      status: { 10: 'initial', 20: 'fields_complete', 30: 'signed', 40: 'removed', 50: 'rejected' }[
        doc.status
      ],
      name: doc.name,
      files,
      metadata,
    };
  }
}

runSigningPlatformContract('Legalesign', () => new LegalesignHarness());
