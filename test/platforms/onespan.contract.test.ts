import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { OneSpanClient } from '../../src/platforms/onespan/onespan.client';
import {
  oneSpanConfig,
  oneSpanInstances,
  type OneSpanInstance,
} from '../../src/platforms/onespan/onespan.config';
import { OneSpanPlatform } from '../../src/platforms/onespan/onespan.platform';
import type { PlatformCall, SigningPlatform } from '../../src/platforms/signing-platform';
import type {
  OssEndpoint,
  OssFault,
  OssFinishStatus,
  OssPackageSnapshot,
} from '../simulators/onespan/onespan-simulator.types';
import { OnespanSimulator } from '../simulators/onespan/onespan.simulator';
import {
  runSigningPlatformContract,
  type InjectedFault,
  type PlatformHarness,
  type PlatformOperation,
  type SeededEnvelope,
  type SeededFile,
} from './contract/signing-platform.contract';

/** getEnvelope, getMetadata and listFiles all read the package JSON; openFile is aimed at a signed PDF. */
const ENDPOINTS: Record<PlatformOperation, OssEndpoint> = {
  getEnvelope: 'package.get',
  getMetadata: 'package.get',
  listFiles: 'package.get',
  openFile: 'document.pdf',
  delete: 'package.delete',
  listFinished: 'package.list',
};

const CONSENT_DOCUMENT = 'default-consent';
const COMPLETED_DATA = { customer: 'C-17', docType: 'contract', region: 'EU' };
const IN_PROGRESS_DATA = { customer: 'C-18' };

function toSimFault(fault: InjectedFault): OssFault {
  switch (fault.kind) {
    case 'unauthorized':
      return {
        kind: 'status',
        status: 401,
        body: {
          code: 401,
          messageKey: 'error.unauthorised.noSession',
          message: 'Not authorized to access this resource.',
          name: 'Unauthorized',
        },
      };
    case 'not_found':
      return {
        kind: 'status',
        status: 404,
        body: {
          code: 404,
          messageKey: 'error.notFound',
          message: 'The requested resource was not found.',
          name: 'Not Found',
        },
      };
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

/** How one instance of the plugin reaches its simulator. */
interface InstanceSetup {
  name: 'onespan' | 'conga';
  /** The configuration that turns the instance on. */
  env(sim: OnespanSimulator): Record<string, string>;
  /** An environment for the same instance whose credential the simulator refuses. */
  refusedEnv(sim: OnespanSimulator): Record<string, string>;
  /** Makes the credential of `refusedEnv` refused, after the adapter has used it once. */
  refuse(sim: OnespanSimulator): void;
}

const COMMON_ENV = {
  ONESPAN_MAX_RETRIES: '0',
  ONESPAN_CONNECT_TIMEOUT_MS: '2000',
  ONESPAN_RESPONSE_TIMEOUT_MS: '10000',
  ONESPAN_IDLE_TIMEOUT_MS: '10000',
};

/** OneSpan Sign: an account API key on OneSpan's paths; a refused credential is a revoked key. */
function oneSpanSetup(): InstanceSetup {
  let revocable = '';
  return {
    name: 'onespan',
    env: (sim) => ({
      ONESPAN_BASE_URL: sim.baseUrl,
      ONESPAN_API_KEY: sim.createApiKey(),
      ONESPAN_CALLBACK_AUTH: 'none',
    }),
    refusedEnv: (sim) => {
      revocable = sim.createApiKey();
      return { ONESPAN_BASE_URL: sim.baseUrl, ONESPAN_API_KEY: revocable, ONESPAN_CALLBACK_AUTH: 'none' };
    },
    refuse: (sim) => {
      if (!sim.revokeCredential(revocable)) throw new Error('the API key to revoke is unknown');
    },
  };
}

/** Conga Sign: the gateway's paths with Conga's client-credentials token; a refused one is a disabled client. */
function congaSetup(): InstanceSetup {
  const client = (sim: OnespanSimulator, clientId: string) => {
    const clientSecret = `${clientId}-secret-0123456789`;
    sim.registerCongaClient({ clientId, clientSecret });
    return {
      CONGA_BASE_URL: `${sim.url}/api/sign`,
      CONGA_CLIENT_ID: clientId,
      CONGA_CLIENT_SECRET: clientSecret,
      CONGA_TOKEN_URL: sim.congaTokenUrl,
      CONGA_CALLBACK_AUTH: 'none',
    };
  };
  return {
    name: 'conga',
    env: (sim) => client(sim, 'archiver-client'),
    refusedEnv: (sim) => client(sim, 'disabled-client'),
    refuse: (sim) => {
      if (!sim.disableClient('disabled-client')) throw new Error('the client to disable is unknown');
    },
  };
}

function instanceFrom(env: Record<string, string>, name: OneSpanInstance['name']) {
  const parsed = oneSpanConfig.parse({ ...COMMON_ENV, ...env });
  if (!parsed.value) throw new Error(`invalid test configuration: ${JSON.stringify(parsed.problems)}`);
  const config = parsed.value;
  const instance = oneSpanInstances(config).find((i) => i.name === name);
  if (!instance) throw new Error(`the configuration turns on no ${name} instance`);
  const client = new OneSpanClient({
    instance,
    connectTimeoutMs: config.ONESPAN_CONNECT_TIMEOUT_MS,
    responseTimeoutMs: config.ONESPAN_RESPONSE_TIMEOUT_MS,
    idleTimeoutMs: config.ONESPAN_IDLE_TIMEOUT_MS,
    maxRetries: config.ONESPAN_MAX_RETRIES,
  });
  const platform = new OneSpanPlatform(instance, client, {
    deleteMode: config.ONESPAN_DELETE_MODE,
    auditJson: config.ONESPAN_AUDIT_JSON,
    consentDocument: config.ONESPAN_CONSENT_DOCUMENT,
  });
  return { client, platform };
}

/**
 * One instance of the OneSpan plugin (with its default options: delete, audit JSON, consent document)
 * against its own simulator over loopback, client retries off.
 */
class OneSpanHarness implements PlatformHarness {
  readonly credentials = 'instance';
  // Taken from the adapter, so the listing checks run whenever it has a listing.
  readonly supportsListFinished =
    typeof (OneSpanPlatform.prototype as SigningPlatform).listFinished === 'function';
  readonly announcesLength = true;
  private readonly sim = new OnespanSimulator();
  private readonly clients: OneSpanClient[] = [];
  private adapter: OneSpanPlatform | undefined;
  /** The harness's own API key, on OneSpan's paths, to read expected bytes without the adapter. */
  private readerKey = '';

  constructor(private readonly setup: InstanceSetup) {}

  get platformName(): string {
    return this.setup.name;
  }

  async start(): Promise<void> {
    await this.sim.start();
    this.readerKey = this.sim.createApiKey();
    const { client, platform } = instanceFrom(this.setup.env(this.sim), this.setup.name);
    this.clients.push(client);
    this.adapter = platform;
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

  /** A second adapter whose credential worked once and is then refused by the platform. */
  async refusedCredential(): Promise<{ platform: SigningPlatform; call: PlatformCall }> {
    const { client, platform } = instanceFrom(this.setup.refusedEnv(this.sim), this.setup.name);
    this.clients.push(client);
    const probe = this.sim.createPackage({ name: 'Credential probe' });
    await platform.getEnvelope(probe.id, {});
    this.setup.refuse(this.sim);
    return { platform, call: {} };
  }

  seedCompleted(options: { documents: number }): Promise<SeededEnvelope> {
    // Distinct sizes, one above a typical stream chunk; one name the platform gives with its extension.
    const documents = Array.from({ length: options.documents }, (_, i) => ({
      name: i === 0 ? 'Annex A.pdf' : `Contract part ${i + 1}`,
      size: 3_000 + i * 70_001,
    }));
    return this.seed('COMPLETED', {
      name: `Contract bundle of ${options.documents}`,
      data: COMPLETED_DATA,
      documents,
    });
  }

  seedInProgress(): Promise<SeededEnvelope> {
    return this.seed(undefined, { name: 'Waiting for signatures', data: IN_PROGRESS_DATA });
  }

  seedEnded(): Promise<SeededEnvelope[]> {
    return Promise.all(
      (['DECLINED', 'EXPIRED', 'OPTED_OUT'] as const).map((status) =>
        this.seed(status, { name: `${status} offer`, documents: [{ name: 'Offer', size: 4_000 }] }),
      ),
    );
  }

  missingEnvelopeId(): string {
    return this.sim.newPackageId();
  }

  /**
   * A 401 stays until `clearFaults`: a client that authenticates with a token renews it once on a 401
   * and asks again, and the fault stands for a platform that refuses the call, not for one expired token.
   * Every other fault meets one request.
   */
  failNext(operation: PlatformOperation, fault: InjectedFault, envelopeId?: string): void {
    this.sim.addFault({
      endpoint: ENDPOINTS[operation],
      ...(envelopeId !== undefined && { packageId: envelopeId }),
      ...(fault.kind !== 'unauthorized' && { times: 1 }),
      fault: toSimFault(fault),
    });
  }

  clearFaults(): void {
    this.sim.clearFaults();
  }

  private async seed(
    finish: OssFinishStatus | undefined,
    spec: { name: string; data?: Record<string, string>; documents?: { name: string; size: number }[] },
  ): Promise<SeededEnvelope> {
    const created = this.sim.createPackage({ status: 'SENT', ...spec });
    const pkg = finish ? this.sim.finishPackage(created.id, finish) : created;
    return {
      id: pkg.id,
      phase: pkg.status === 'SENT' ? 'in_progress' : pkg.status === 'COMPLETED' ? 'completed' : 'ended',
      status: pkg.status,
      name: pkg.name,
      senderEmail: this.sim.owner.email,
      files: await this.expectedFiles(pkg),
      metadata: { ...pkg.data },
    };
  }

  /** The consent, every document, the evidence summary and the audit JSON, as the simulator serves them. */
  private async expectedFiles(pkg: OssPackageSnapshot): Promise<SeededFile[]> {
    const files: SeededFile[] = [];
    for (const doc of pkg.documents) {
      const expected = this.sim.expectedFile(pkg.id, doc.id);
      if (doc.id === CONSENT_DOCUMENT) {
        files.push({ kind: 'legal_document', pdf: true, ...expected });
      } else {
        files.push({
          kind: 'signed_document',
          // A name that already ends in .pdf is the platform's; the adapter adds the extension otherwise.
          ...(/\.pdf$/i.test(doc.name) && { fileName: doc.name }),
          pdf: true,
          ...expected,
        });
      }
    }
    files.push({ kind: 'audit_trail_pdf', pdf: true, ...this.sim.expectedFile(pkg.id, 'evidence-summary') });
    files.push({ kind: 'audit_trail_json', pdf: false, ...(await this.auditBytes(pkg.id)) });
    return files;
  }

  /** The audit JSON's bytes, read straight from the simulator with the harness's own key. */
  private async auditBytes(packageId: string): Promise<{ sha256: string; size: number }> {
    const answer = await fetch(`${this.sim.baseUrl}/packages/${encodeURIComponent(packageId)}/audit`, {
      headers: { Authorization: `Basic ${this.readerKey}`, Accept: 'application/json' },
    });
    if (answer.status !== 200) throw new Error(`the audit of ${packageId} answered ${answer.status}`);
    const bytes = Buffer.from(await answer.arrayBuffer());
    return { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
  }
}

runSigningPlatformContract('OneSpan Sign (API key)', () => new OneSpanHarness(oneSpanSetup()));
runSigningPlatformContract(
  'Conga Sign (gateway, client credentials)',
  () => new OneSpanHarness(congaSetup()),
);
