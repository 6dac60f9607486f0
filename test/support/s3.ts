import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { startEmbeddedS3, type EmbeddedS3, type EmbeddedS3Options } from '../../src/storage/embedded-s3';
import { S3ObjectStore, type S3ObjectStoreOptions } from '../../src/storage/s3-object-store';

export interface TestS3 {
  endpoint: string;
  bucket: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /**
   * Whether HEAD with `x-amz-checksum-mode: ENABLED` answers the sha256 of the stored bytes; where it
   * does not, the store proves a copy by reading it back.
   */
  reportsSha256: boolean;
  /** s3rver's data directory (a fresh temporary one). */
  directory: string;
  /** A plain SDK client on the same bucket, for checks that do not go through the store. */
  client: S3Client;
  /** Options for an S3ObjectStore on this server; small parts keep multipart tests fast. */
  storeOptions(overrides?: Partial<S3ObjectStoreOptions>): S3ObjectStoreOptions;
  /** A store on this server, closed by `close()`. */
  createStore(overrides?: Partial<S3ObjectStoreOptions>): S3ObjectStore;
  /** The next `count` writes to keys starting with `keyPrefix` store one byte flipped (a bad disk). */
  corruptNextWrites(count: number, keyPrefix?: string): void;
  /** Stops the server (an outage), keeping its port and data. */
  down(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  up(): Promise<void>;
  /** Stops the server and the stores and deletes the data. */
  close(): Promise<void>;
}

/**
 * The S3 the tests run on: s3rver in this process, or, for the conformance tier (`npm run test:rgw`),
 * a real one named by TEST_S3_ENDPOINT with the keys in TEST_S3_ACCESS_KEY and TEST_S3_SECRET.
 */
export const TEST_S3_TARGET: { name: string; real: boolean } = process.env.TEST_S3_ENDPOINT
  ? { name: process.env.TEST_S3_NAME || process.env.TEST_S3_ENDPOINT, real: true }
  : { name: 's3rver', real: false };

type Register = (name: string, ...rest: never[]) => unknown;

/**
 * For tests built on one of s3rver's test hooks (`corruptNextWrites`, `features`, `down`/`up`, its
 * data directory): `s3rverOnly(it, why)('name', fn)` registers the test on s3rver; on a real S3 it
 * is not registered at all, and one line names it and says why, so nothing that did not run is
 * reported as passed (or as skipped, which the runner counts as failed).
 */
export function s3rverOnly<R extends Register>(register: R, reason: string): R {
  if (!TEST_S3_TARGET.real) return register;
  return ((name: string) => {
    console.log(`not run on ${TEST_S3_TARGET.name}: "${name}" (needs s3rver: ${reason})`);
  }) as R;
}

/** Starts s3rver on loopback in a temporary directory, with one bucket; or a fresh bucket on a real S3. */
export async function startTestS3(
  options: { bucket?: string; features?: EmbeddedS3Options['features'] } = {},
): Promise<TestS3> {
  if (TEST_S3_TARGET.real) return startRealTestS3(options);
  const directory = await mkdtemp(join(tmpdir(), 'archiver-s3-'));
  const bucket = options.bucket ?? 'test-archive';
  const { features } = options;
  let server: EmbeddedS3 | undefined = await startEmbeddedS3(directory, { bucket, features });
  const { endpoint, port, region, accessKeyId, secretAccessKey } = server;
  const credentials = { accessKeyId, secretAccessKey };
  const client = new S3Client({ endpoint, region, forcePathStyle: true, credentials });
  const stores: S3ObjectStore[] = [];

  const storeOptions = (overrides: Partial<S3ObjectStoreOptions> = {}): S3ObjectStoreOptions =>
    testStoreOptions({ endpoint, region, bucket, credentials }, overrides);

  return {
    endpoint,
    bucket,
    region,
    credentials,
    reportsSha256: features?.checksums !== false,
    directory,
    client,
    storeOptions,
    createStore(overrides) {
      const store = new S3ObjectStore(storeOptions(overrides));
      stores.push(store);
      return store;
    },
    corruptNextWrites(count, keyPrefix) {
      server?.corruptNextWrites(count, keyPrefix);
    },
    async down() {
      await server?.stop();
      server = undefined;
    },
    async up() {
      server ??= await startEmbeddedS3(directory, { bucket, port, features });
    },
    async close() {
      for (const store of stores) store.onApplicationShutdown();
      client.destroy();
      await server?.stop();
      server = undefined;
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Asked once per process: whether this S3 reports the sha256 of what it stores. */
let realReportsSha256: Promise<boolean> | undefined;

/** A fresh bucket of its own on the real S3, made with the SDK; `close()` empties and removes it. */
async function startRealTestS3(options: {
  bucket?: string;
  features?: EmbeddedS3Options['features'];
}): Promise<TestS3> {
  if (options.features && Object.keys(options.features).length > 0) {
    throw new Error(
      `startTestS3({ features }) plays a store without them on s3rver; on ${TEST_S3_TARGET.name} ` +
        'such a test needs s3rverOnly(...)',
    );
  }
  const endpoint = process.env.TEST_S3_ENDPOINT!;
  const region = process.env.TEST_S3_REGION || 'us-east-1';
  const accessKeyId = process.env.TEST_S3_ACCESS_KEY;
  const secretAccessKey = process.env.TEST_S3_SECRET;
  if (!accessKeyId || !secretAccessKey) {
    throw new Error('TEST_S3_ENDPOINT is set without TEST_S3_ACCESS_KEY and TEST_S3_SECRET');
  }
  const credentials = { accessKeyId, secretAccessKey };
  const bucket = `${options.bucket ?? 'test-archive'}-${randomBytes(5).toString('hex')}`;
  const client = new S3Client({ endpoint, region, forcePathStyle: true, credentials });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  realReportsSha256 ??= probeReportsSha256(client, bucket).catch((error: unknown) => {
    realReportsSha256 = undefined;
    throw error;
  });
  const reportsSha256 = await realReportsSha256;
  const stores: S3ObjectStore[] = [];

  const storeOptions = (overrides: Partial<S3ObjectStoreOptions> = {}): S3ObjectStoreOptions =>
    testStoreOptions({ endpoint, region, bucket, credentials }, overrides);
  const hookMissing = (hook: string) =>
    new Error(`${hook} is a test hook of s3rver; on ${TEST_S3_TARGET.name} the test needs s3rverOnly(...)`);

  return {
    endpoint,
    bucket,
    region,
    credentials,
    reportsSha256,
    get directory(): string {
      throw hookMissing("s3rver's data directory");
    },
    client,
    storeOptions,
    createStore(overrides) {
      const store = new S3ObjectStore(storeOptions(overrides));
      stores.push(store);
      return store;
    },
    corruptNextWrites() {
      throw hookMissing('corruptNextWrites');
    },
    down() {
      return Promise.reject(hookMissing('down()'));
    },
    up() {
      return Promise.reject(hookMissing('up()'));
    },
    async close() {
      for (const store of stores) store.onApplicationShutdown();
      try {
        await emptyBucket(client, bucket);
        await client.send(new DeleteBucketCommand({ Bucket: bucket }));
      } finally {
        client.destroy();
      }
    },
  };
}

async function probeReportsSha256(client: S3Client, bucket: string): Promise<boolean> {
  const Key = 'reports-sha256-probe';
  const Body = Buffer.from('probe');
  const sha256 = createHash('sha256').update(Body).digest('base64');
  await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body, ChecksumSHA256: sha256 }));
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key, ChecksumMode: 'ENABLED' }));
    return head.ChecksumSHA256 === sha256;
  } finally {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
  }
}

/** Aborts every unfinished upload and deletes every object, one request each (no Content-MD5 needed). */
async function emptyBucket(client: S3Client, bucket: string): Promise<void> {
  for (let round = 0; ; round++) {
    if (round === 20) throw new Error(`bucket ${bucket} keeps unfinished uploads after 20 rounds of aborts`);
    const page = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    const uploads = page.Uploads ?? [];
    if (uploads.length === 0) break;
    for (const { Key, UploadId } of uploads) {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId }));
    }
  }
  for (let round = 0; ; round++) {
    if (round === 1_000) throw new Error(`bucket ${bucket} keeps objects after 1000 rounds of deletes`);
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (page.Contents ?? []).map((o) => o.Key!);
    if (keys.length === 0) break;
    for (let i = 0; i < keys.length; i += 8) {
      await Promise.all(
        keys.slice(i, i + 8).map((Key) => client.send(new DeleteObjectCommand({ Bucket: bucket, Key }))),
      );
    }
  }
}

/** Options for a store on a test bucket; small parts keep multipart tests fast. */
function testStoreOptions(
  target: Pick<S3ObjectStoreOptions, 'endpoint' | 'region' | 'bucket' | 'credentials'>,
  overrides: Partial<S3ObjectStoreOptions>,
): S3ObjectStoreOptions {
  return {
    ...target,
    prefix: 'archive',
    forcePathStyle: true,
    partSizeBytes: 5 * 1024 * 1024,
    queueSize: 2,
    ...overrides,
  };
}
