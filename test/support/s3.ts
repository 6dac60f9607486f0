import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { startEmbeddedS3, type EmbeddedS3, type EmbeddedS3Options } from '../../src/storage/embedded-s3';
import { S3ObjectStore, type S3ObjectStoreOptions } from '../../src/storage/s3-object-store';

export interface TestS3 {
  endpoint: string;
  bucket: string;
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

/** Starts s3rver on loopback in a temporary directory, with one bucket. */
export async function startTestS3(
  options: { bucket?: string; features?: EmbeddedS3Options['features'] } = {},
): Promise<TestS3> {
  const directory = await mkdtemp(join(tmpdir(), 'archiver-s3-'));
  const bucket = options.bucket ?? 'test-archive';
  const { features } = options;
  let server: EmbeddedS3 | undefined = await startEmbeddedS3(directory, { bucket, features });
  const { endpoint, port, region, accessKeyId, secretAccessKey } = server;
  const credentials = { accessKeyId, secretAccessKey };
  const client = new S3Client({ endpoint, region, forcePathStyle: true, credentials });
  const stores: S3ObjectStore[] = [];

  const storeOptions = (overrides: Partial<S3ObjectStoreOptions> = {}): S3ObjectStoreOptions => ({
    endpoint,
    region,
    bucket,
    prefix: 'archive',
    forcePathStyle: true,
    credentials,
    partSizeBytes: 5 * 1024 * 1024,
    queueSize: 2,
    ...overrides,
  });

  return {
    endpoint,
    bucket,
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
