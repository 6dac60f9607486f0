import { createHash, randomUUID } from 'node:crypto';
import { assertValidObjectKey, MAX_OBJECT_KEY_BYTES, utf8Length } from '../../src/storage/object-keys';
import type {
  ExpectedContent,
  MultipartUploadInfo,
  ObjectHead,
  ObjectStore,
  PutObjectInput,
  PutStreamInput,
  StagingSweep,
  StoredObject,
  VerifyOptions,
} from '../../src/storage/object-store';
import { decodeUserMetadata, encodeUserMetadata, SHA256_METADATA_KEY } from '../../src/storage/s3-metadata';
import { toS3Tags } from '../../src/storage/s3-tags';
import { STAGING_FOLDER } from '../../src/storage/s3-object-store';
import { StorageError } from '../../src/storage/storage-error';

/** An object as the in-memory bucket holds it. */
export interface InMemoryObject {
  objectKey: string;
  bytes: Buffer;
  contentType: string;
  /** Decoded user metadata, `sha256` (what the writer claimed) included. */
  metadata: Record<string, string>;
  tags: Record<string, string>;
  etag: string;
  lastModified: Date;
}

/** One write the store was asked for, and how it ended. */
export interface InMemoryWrite {
  op: 'putStream' | 'putObject';
  key: string;
  outcome: 'written' | 'adopted' | 'failed';
  error?: unknown;
}

export interface InMemoryObjectStoreOptions {
  /** As S3_PREFIX: keys given and returned are relative to it. Default none. */
  prefix?: string;
  bucket?: string;
  /** Larger streams pass through the scope's staging area, as multipart uploads do. Default 5 MiB. */
  partSizeBytes?: number;
}

interface Staged {
  scope: string;
  info: MultipartUploadInfo;
}

interface WriteFailure {
  match: (key: string) => boolean;
  error: unknown;
  keepStaged: boolean;
}

const SCOPE = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * An `ObjectStore` in memory that keeps the documented rules of the real one: a final key is written
 * only where nothing is or over an object that proves nothing; an identical proven copy is adopted; a
 * different proven one is a CONFLICT; every write is proven by the sha256 of the bytes actually held.
 * Keys, metadata and tags are checked as the S3 store checks them. Tests can corrupt the next write
 * (the stored bytes then differ from those read, and the proof fails with INTEGRITY), make a write
 * fail, and look at what is stored, staged and swept.
 */
export class InMemoryObjectStore implements ObjectStore {
  readonly bucket: string;
  /** Every write asked for, oldest first. */
  readonly writes: InMemoryWrite[] = [];
  /** Every scope `clearStaging` was called with, oldest first. */
  readonly sweeps: string[] = [];
  private readonly keyPrefix: string;
  private readonly partSizeBytes: number;
  private readonly objects = new Map<string, InMemoryObject>();
  private readonly staged = new Map<string, Staged>();
  private corruptions: { match: (key: string) => boolean; remaining: number }[] = [];
  private failures: WriteFailure[] = [];

  constructor(options: InMemoryObjectStoreOptions = {}) {
    const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.keyPrefix = prefix === '' ? '' : `${prefix}/`;
    this.bucket = options.bucket ?? 'in-memory-bucket';
    this.partSizeBytes = options.partSizeBytes ?? 5 * 1024 ** 2;
  }

  // -------------------------------------------------------------------------------------------------
  // Test controls

  /**
   * Places an object as another writer would have (`key` relative to the prefix). Its `sha256`
   * metadata is the true one unless `claimedSha256` says otherwise (a copy that proves nothing).
   */
  seed(
    key: string,
    bytes: Buffer,
    options: { claimedSha256?: string; contentType?: string; metadata?: Record<string, string> } = {},
  ): InMemoryObject {
    const objectKey = this.objectKeyFor(key);
    const entry: InMemoryObject = {
      objectKey,
      bytes: Buffer.from(bytes),
      contentType: options.contentType ?? 'application/octet-stream',
      metadata: { ...options.metadata, [SHA256_METADATA_KEY]: options.claimedSha256 ?? sha256Of(bytes) },
      tags: {},
      etag: etagOf(bytes),
      lastModified: new Date(),
    };
    this.objects.set(objectKey, entry);
    return entry;
  }

  /** The object at its full key (as the database records it), if any. */
  object(objectKey: string): InMemoryObject | undefined {
    return this.objects.get(objectKey);
  }

  /** Every full key held, sorted. */
  keys(): string[] {
    return [...this.objects.keys()].sort();
  }

  /** Unfinished uploads left in a scope's staging area. */
  stagedIn(scope: string): number {
    return [...this.staged.values()].filter((s) => s.scope === scope).length;
  }

  /**
   * The next `times` writes to a matching key store other bytes than they read (one byte flipped),
   * as a store that damages data would: their proof fails with INTEGRITY.
   */
  corruptNextWrite(match: (key: string) => boolean = () => true, times = 1): void {
    this.corruptions.push({ match, remaining: times });
  }

  /**
   * The next write to a matching key reads its source, then fails with `error` before writing its
   * key. With `keepStaged`, what it staged stays, as after a process that died mid-upload.
   */
  failNextWrite(options: { match?: (key: string) => boolean; error: unknown; keepStaged?: boolean }): void {
    this.failures.push({
      match: options.match ?? (() => true),
      error: options.error,
      keepStaged: options.keepStaged ?? false,
    });
  }

  /** Drops corruptions and failures that were not used up. */
  clearFaults(): void {
    this.corruptions = [];
    this.failures = [];
  }

  // -------------------------------------------------------------------------------------------------
  // ObjectStore

  async putStream(input: PutStreamInput): Promise<StoredObject> {
    const { key, body, signal } = input;
    const write: InMemoryWrite = { op: 'putStream', key, outcome: 'failed' };
    this.writes.push(write);
    let staging: string | undefined;
    let keepStaged = false;
    const onAbort = (): void => {
      body.destroy(new StorageError(`upload of ${key} was aborted`, 'ABORTED', { cause: signal?.reason }));
    };
    try {
      const objectKey = this.objectKeyFor(key);
      const metadata = decodeUserMetadata(encodeUserMetadata(input.metadata));
      const tags = tagRecord(input.tags);
      const scope = input.scope ?? 'unscoped';
      if (!SCOPE.test(scope)) throw new StorageError(`invalid staging scope ${scope}`, 'INVALID_INPUT');
      const expected = input.expectedSize;
      if (expected !== undefined && !(Number.isSafeInteger(expected) && expected >= 0)) {
        throw new StorageError(`expectedSize ${expected} is not a size this store accepts`, 'INVALID_INPUT');
      }
      signal?.throwIfAborted();
      signal?.addEventListener('abort', onAbort, { once: true });

      const chunks: Buffer[] = [];
      let size = 0;
      try {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          chunks.push(chunk);
          size += chunk.length;
          if (expected !== undefined && size > expected) {
            throw new StorageError(`the source sent more than the expected ${expected} bytes`, 'INTEGRITY');
          }
          if (staging === undefined && size > this.partSizeBytes) staging = this.stage(scope);
        }
      } catch (error) {
        if (signal?.aborted) {
          throw new StorageError(`upload of ${objectKey} was aborted`, 'ABORTED', { cause: signal.reason });
        }
        if (error instanceof StorageError) throw error;
        throw new StorageError(`upload of ${objectKey} failed: its source failed`, 'SOURCE', {
          cause: error,
        });
      }
      if (expected !== undefined && size !== expected) {
        throw new StorageError(
          `the source ended after ${size} bytes, ${expected} were expected`,
          'INTEGRITY',
        );
      }
      const failure = this.takeFailure(key);
      if (failure) {
        keepStaged = failure.keepStaged;
        throw failure.error;
      }
      const bytes = Buffer.concat(chunks, size);
      const stored = this.writeFinal(objectKey, bytes, input.contentType, metadata, tags);
      write.outcome = stored.adopted ? 'adopted' : 'written';
      return { key, ...stored };
    } catch (error) {
      const failure =
        signal?.aborted && !(error instanceof StorageError && error.code === 'ABORTED')
          ? new StorageError(`upload of ${key} was aborted`, 'ABORTED', { cause: signal.reason })
          : error;
      write.error = failure;
      body.destroy();
      throw failure;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (staging !== undefined && !keepStaged) this.staged.delete(staging);
    }
  }

  putObject(input: PutObjectInput): Promise<StoredObject> {
    const write: InMemoryWrite = { op: 'putObject', key: input.key, outcome: 'failed' };
    this.writes.push(write);
    try {
      const objectKey = this.objectKeyFor(input.key);
      const metadata = decodeUserMetadata(encodeUserMetadata(input.metadata ?? {}));
      const tags = tagRecord(input.tags);
      const failure = this.takeFailure(input.key);
      if (failure) throw failure.error;
      const bytes =
        typeof input.body === 'string' ? Buffer.from(input.body, 'utf8') : Buffer.from(input.body);
      const stored = this.writeFinal(objectKey, bytes, input.contentType, metadata, tags);
      write.outcome = stored.adopted ? 'adopted' : 'written';
      return Promise.resolve({ key: input.key, ...stored });
    } catch (error) {
      write.error = error;
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  async verify(key: string, expected: ExpectedContent, options: VerifyOptions = {}): Promise<ObjectHead> {
    const found = await this.head(key);
    if (found === null) throw new StorageError(`${this.keyPrefix}${key} is not in the bucket`, 'NOT_FOUND');
    const wanted = expected.sha256.toLowerCase();
    if (found.size !== expected.size) {
      throw new StorageError(
        `${found.objectKey} holds ${found.size} bytes, ${expected.size} were written`,
        'INTEGRITY',
      );
    }
    if (found.sha256 !== wanted) {
      throw new StorageError(
        `${found.objectKey} has sha256 ${found.sha256 ?? '(none)'}, ${wanted} was written`,
        'INTEGRITY',
      );
    }
    if (options.deep && sha256Of(this.objects.get(found.objectKey)!.bytes) !== wanted) {
      throw new StorageError(`${found.objectKey} reads back as other bytes than were written`, 'INTEGRITY');
    }
    return found;
  }

  head(key: string): Promise<ObjectHead | null> {
    const objectKey = this.objectKeyFor(key);
    const entry = this.objects.get(objectKey);
    if (!entry) return Promise.resolve(null);
    return Promise.resolve({
      key,
      objectKey,
      size: entry.bytes.length,
      sha256: entry.metadata[SHA256_METADATA_KEY],
      etag: entry.etag,
      contentType: entry.contentType,
      lastModified: entry.lastModified,
      metadata: { ...entry.metadata },
    });
  }

  listMultipartUploads(prefix = ''): Promise<MultipartUploadInfo[]> {
    const under = `${this.keyPrefix}${prefix}`;
    return Promise.resolve(
      [...this.staged.values()].filter((s) => s.info.objectKey.startsWith(under)).map((s) => ({ ...s.info })),
    );
  }

  clearStaging(scope: string): Promise<StagingSweep> {
    if (!SCOPE.test(scope)) {
      return Promise.reject(new StorageError(`invalid staging scope ${scope}`, 'INVALID_INPUT'));
    }
    this.sweeps.push(scope);
    let uploads = 0;
    for (const [id, staged] of this.staged) {
      if (staged.scope !== scope) continue;
      this.staged.delete(id);
      uploads++;
    }
    return Promise.resolve({ objects: 0, uploads });
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  // -------------------------------------------------------------------------------------------------

  private objectKeyFor(key: string): string {
    assertValidObjectKey(key, MAX_OBJECT_KEY_BYTES - utf8Length(this.keyPrefix));
    return `${this.keyPrefix}${key}`;
  }

  private stage(scope: string): string {
    const uploadId = randomUUID();
    const stagingKey = `${this.keyPrefix}${STAGING_FOLDER}/${scope}/${randomUUID()}`;
    this.staged.set(uploadId, {
      scope,
      info: {
        key: stagingKey.slice(this.keyPrefix.length),
        objectKey: stagingKey,
        uploadId,
        initiated: new Date(),
      },
    });
    return uploadId;
  }

  private takeFailure(key: string): WriteFailure | undefined {
    const index = this.failures.findIndex((f) => f.match(key));
    return index < 0 ? undefined : this.failures.splice(index, 1)[0];
  }

  /** The rule for a final key, then the proof by the bytes held. */
  private writeFinal(
    objectKey: string,
    bytes: Buffer,
    contentType: string,
    metadata: Record<string, string>,
    tags: Record<string, string>,
  ): Omit<StoredObject, 'key'> {
    const sha256 = sha256Of(bytes);
    const occupant = this.objects.get(objectKey);
    if (occupant) {
      const claimed = occupant.metadata[SHA256_METADATA_KEY];
      const proven = claimed !== undefined && claimed === sha256Of(occupant.bytes);
      if (proven && claimed === sha256) {
        return {
          objectKey,
          bucket: this.bucket,
          size: bytes.length,
          sha256,
          etag: occupant.etag,
          proof: 'read-back',
          adopted: true,
        };
      }
      if (proven) {
        throw new StorageError(
          `${objectKey} already holds a different copy (${occupant.bytes.length} bytes, sha256 ${claimed}) ` +
            `than the ${bytes.length} bytes with sha256 ${sha256} read now; it is left as it is`,
          'CONFLICT',
        );
      }
      // An object that proves nothing may be replaced.
    }
    const held = this.takeCorruption(objectKey) ? corrupted(bytes) : Buffer.from(bytes);
    const entry: InMemoryObject = {
      objectKey,
      bytes: held,
      contentType,
      metadata: { ...metadata, [SHA256_METADATA_KEY]: sha256 },
      tags,
      etag: etagOf(held),
      lastModified: new Date(),
    };
    this.objects.set(objectKey, entry);
    const actual = sha256Of(held);
    if (actual !== sha256 || held.length !== bytes.length) {
      throw new StorageError(
        `${objectKey} reads back as ${held.length} bytes with sha256 ${actual}, ` +
          `${bytes.length} bytes with sha256 ${sha256} were written`,
        'INTEGRITY',
      );
    }
    return {
      objectKey,
      bucket: this.bucket,
      size: bytes.length,
      sha256,
      etag: entry.etag,
      proof: 'read-back',
      adopted: false,
    };
  }

  private takeCorruption(objectKey: string): boolean {
    const key = objectKey.slice(this.keyPrefix.length);
    const rule = this.corruptions.find((c) => c.match(key));
    if (!rule) return false;
    rule.remaining--;
    this.corruptions = this.corruptions.filter((c) => c.remaining > 0);
    return true;
  }
}

function sha256Of(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function etagOf(bytes: Buffer): string {
  return `"${createHash('md5').update(bytes).digest('hex')}"`;
}

function corrupted(bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  if (copy.length === 0) return Buffer.from([0]);
  copy[copy.length >> 1] ^= 0xff;
  return copy;
}

function tagRecord(tags: Readonly<Record<string, string>> | undefined): Record<string, string> {
  return Object.fromEntries(toS3Tags(tags ?? {}).map((t) => [t.key, t.value]));
}
