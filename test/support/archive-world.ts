import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import { EsignAnywhereSimulator } from '../simulators/esignanywhere/esignanywhere.simulator';
import type { EsignAnywhereSimulatorOptions } from '../simulators/esignanywhere/esignanywhere-simulator.types';
import { startTestApp, TEST_CALLBACK_TOKEN, type RunningApp } from './app';
import { createTestDatabase, queryAt, type TestDatabase } from './database';
import { startTestS3, type TestS3 } from './s3';
import { startTestSmtp, type TestSmtp } from './smtp';

export interface TransferRow {
  id: string;
  state: string;
  cause: string | null;
  attempts: number;
  last_error: string | null;
  last_error_class: string | null;
  archived_at: Date | null;
  platform_deleted_at: Date | null;
}

/**
 * Everything the archive pipeline talks to, for real, on loopback: PostgreSQL, s3rver, an SMTP
 * server, the eSignAnyWhere simulator, and (unless asked not to) the service itself.
 */
export class ArchiveWorld {
  svc?: RunningApp;
  private constructor(
    readonly sim: EsignAnywhereSimulator,
    readonly s3: TestS3,
    readonly smtp: TestSmtp,
    readonly db: TestDatabase,
    readonly senderId: string,
    readonly senderToken: string,
  ) {}

  static async start(
    options: {
      env?: Record<string, string>;
      startApp?: boolean;
      sim?: EsignAnywhereSimulatorOptions;
      /** Features of the S3 double to turn off, to play a store without them. */
      s3Features?: NonNullable<Parameters<typeof startTestS3>[0]>['features'];
    } = {},
  ): Promise<ArchiveWorld> {
    const sim = new EsignAnywhereSimulator({
      callbackIntervalUnitMs: 50,
      callbackTimeoutMs: 2000,
      ...options.sim,
    });
    await sim.start();
    const [s3, smtp, db] = await Promise.all([
      startTestS3({ features: options.s3Features }),
      startTestSmtp(),
      createTestDatabase(),
    ]);
    const { user, token } = sim.createUser({
      email: 'sender@example.com',
      givenName: 'Sam',
      surname: 'Sender',
    });
    const world = new ArchiveWorld(sim, s3, smtp, db, user.id, token);
    if (options.startApp !== false) await world.startApp(options.env);
    return world;
  }

  /** The service's environment for this world; child processes get the same. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      DATABASE_URL: this.db.url,
      CALLBACK_TOKEN: TEST_CALLBACK_TOKEN,
      ESAW_BASE_URL: this.sim.baseUrl,
      ESAW_API_TOKEN: this.senderToken,
      ESAW_MAX_RETRIES: '1',
      ESAW_IDLE_TIMEOUT_MS: '3000',
      ESAW_RESPONSE_TIMEOUT_MS: '5000',
      S3_ENDPOINT: this.s3.endpoint,
      S3_BUCKET: this.s3.bucket,
      S3_ACCESS_KEY_ID: this.s3.credentials.accessKeyId,
      S3_SECRET_ACCESS_KEY: this.s3.credentials.secretAccessKey,
      S3_REGION: this.s3.region,
      S3_FORCE_PATH_STYLE: 'true',
      S3_PREFIX: 'archive',
      S3_PART_SIZE_MB: '5',
      SMTP_URL: this.smtp.url,
      MAIL_FROM: 'archiver@example.com',
      ALERT_TO: 'ops@example.com',
      ARCHIVE_ENABLED: 'true',
      RECONCILE_INTERVAL: '0',
      ARCHIVE_POLL_INTERVAL_MS: '100',
      ARCHIVE_LEASE_MS: '3000',
      RETRY_BASE_DELAY_MS: '100',
      RETRY_MAX_DELAY_MS: '1000',
      PUBLIC_BASE_URL: 'https://archiver.example.com',
      ...extra,
    };
  }

  async startApp(extra: Record<string, string> = {}): Promise<RunningApp> {
    this.svc = await startTestApp(this.env(extra), { db: this.db });
    this.sim.setCallbackUrlTemplate(this.callbackTemplate(this.svc.url));
    return this.svc;
  }

  callbackTemplate(base: string): string {
    return `${base}/callbacks/esignanywhere?envelope=##EnvelopeId##&action=##Action##&token=${TEST_CALLBACK_TOKEN}`;
  }

  /** Creates an Active envelope of the sender with no automatic callback. */
  createEnvelope(spec: Partial<Parameters<EsignAnywhereSimulator['createEnvelope']>[0]> = {}) {
    return this.sim.createEnvelope({
      senderUserId: this.senderId,
      documents: [
        { fileName: 'Contract.pdf', size: 40_000, attachments: [{ fileName: 'ID card.pdf', size: 3000 }] },
      ],
      legalDocuments: [{ fileName: 'CA22D request.pdf', size: 5000 }],
      metaData: '<Dms><Customer><Id>C-17</Id></Customer><DocType>contract</DocType></Dms>',
      recipients: [{ email: 'signer@example.com' }],
      ...spec,
    });
  }

  async sendCallback(envelopeId: string, action = 'envelopeFinished'): Promise<number> {
    const url = `${this.svc!.url}/callbacks/esignanywhere?envelope=${envelopeId}&action=${action}&token=${TEST_CALLBACK_TOKEN}`;
    return (await fetch(url)).status;
  }

  query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return queryAt<T>(this.db.url, sql, params);
  }

  async transfer(envelopeId: string): Promise<TransferRow | undefined> {
    const rows = await this.query<TransferRow>('SELECT * FROM transfers WHERE envelope_id = $1', [
      envelopeId.toLowerCase(),
    ]);
    return rows[0];
  }

  /** Polls until the envelope's transfer is in one of `states`. */
  async waitForState(envelopeId: string, states: string[], timeoutMs = 60_000): Promise<TransferRow> {
    const deadline = Date.now() + timeoutMs;
    let last: TransferRow | undefined;
    while (Date.now() < deadline) {
      last = await this.transfer(envelopeId);
      if (last && states.includes(last.state)) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(
      `transfer of ${envelopeId} did not reach ${states.join('|')} in ${timeoutMs} ms; last: ${JSON.stringify(last)}`,
    );
  }

  async objectBytes(key: string): Promise<Buffer> {
    const res = await this.s3.client.send(new GetObjectCommand({ Bucket: this.s3.bucket, Key: key }));
    return Buffer.from(await res.Body!.transformToByteArray());
  }

  async objectSha256(key: string): Promise<string> {
    return createHash('sha256')
      .update(await this.objectBytes(key))
      .digest('hex');
  }

  async objectMeta(key: string) {
    const [head, tagging] = await Promise.all([
      this.s3.client.send(new HeadObjectCommand({ Bucket: this.s3.bucket, Key: key })),
      this.s3.client.send(new GetObjectTaggingCommand({ Bucket: this.s3.bucket, Key: key })),
    ]);
    return {
      metadata: head.Metadata ?? {},
      size: head.ContentLength,
      tags: Object.fromEntries((tagging.TagSet ?? []).map((t) => [t.Key!, t.Value!])),
    };
  }

  async listKeys(prefix = ''): Promise<string[]> {
    const res = await this.s3.client.send(
      new ListObjectsV2Command({ Bucket: this.s3.bucket, Prefix: prefix }),
    );
    return (res.Contents ?? []).map((o) => o.Key!).sort();
  }

  async close(): Promise<void> {
    await this.svc?.app.close().catch(() => undefined);
    await this.sim.stop();
    await Promise.all([this.s3.close(), this.smtp.close()]);
    await this.db.drop();
  }
}
