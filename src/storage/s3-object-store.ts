import { createHash, randomUUID } from 'node:crypto';
import { addAbortSignal, pipeline, Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { HashingMeter } from './hashing-meter';
import { assertValidObjectKey, MAX_OBJECT_KEY_BYTES, utf8Length } from './object-keys';
import type {
  ExpectedContent,
  MultipartUploadInfo,
  ObjectHead,
  ObjectStore,
  ProofMethod,
  PutObjectInput,
  PutStreamInput,
  StagingSweep,
  StoredObject,
  VerifyOptions,
} from './object-store';
import { decodeUserMetadata, encodeUserMetadata, SHA256_METADATA_KEY } from './s3-metadata';
import { toS3Tags, type ObjectTag } from './s3-tags';
import { StorageError } from './storage-error';

export interface S3ObjectStoreOptions {
  /** Unset means AWS's regional endpoint. */
  endpoint?: string;
  region: string;
  bucket: string;
  /** Every key is stored under `<prefix>/` (S3_PREFIX); empty for none. */
  prefix: string;
  forcePathStyle: boolean;
  /** Unset means the SDK's default credential chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  partSizeBytes: number;
  queueSize: number;
  /** SDK attempts per request, first one included. Default 3. */
  maxAttempts?: number;
  connectionTimeoutMs?: number;
  /** A socket with no traffic for this long is dropped. */
  socketTimeoutMs?: number;
  pingTimeoutMs?: number;
}

/**
 * Streams stay below 5 GiB because a large file is staged and then copied to its key in one
 * CopyObject, and S3's single-request copy stops there. Signed PDFs are far smaller.
 */
export const MAX_STREAM_BYTES = 5 * 1024 ** 3;
/** `putObject` is for manifests and the like, sent and hashed in one buffer. */
export const MAX_SMALL_OBJECT_BYTES = 16 * 1024 ** 2;
/** Under the store's prefix: attempt-private objects on their way to a final key. Never a final key. */
export const STAGING_FOLDER = '.incoming';
const SHA256_HEX = /^[0-9a-f]{64}$/;
const SCOPE = /^[A-Za-z0-9_-]{1,128}$/;
/** Rounds of "the key is taken: look at what holds it" before giving up for this attempt. */
const MAX_WRITE_ROUNDS = 3;

/** What a final write sends: bytes in memory, or a staged object copied server-side. */
type FinalSource = { kind: 'bytes'; body: Buffer } | { kind: 'staged'; stagingKey: string; etag?: string };
/** Stores differ per request kind (Ceph RGW honours conditions and tags on PutObject, not on CopyObject). */
type WriteKind = 'put' | 'copy';

interface FinalContent {
  size: number;
  sha256: string;
  contentType: string;
  metadata: Record<string, string>;
  tags: ObjectTag[];
}

/** What holds a final key we meant to write. */
type Occupant =
  | { kind: 'same'; etag?: string; proof: ProofMethod }
  | { kind: 'other'; sha256: string; size: number }
  | { kind: 'unproven'; etag?: string; why: string }
  | { kind: 'none' };

/**
 * The object store on any S3 API (AWS, MinIO, Ceph, s3rver), through `@aws-sdk/client-s3` and the
 * multipart `Upload` of `@aws-sdk/lib-storage`.
 *
 * The rule that keeps proven copies safe from any worker, whatever its lease says when its request
 * returns: a final key is never deleted, and is written only with `If-None-Match: *` (nothing is
 * there), or with `If-Match: <etag>` over an object that proves nothing (its bytes do not match the
 * sha256 it carries). Every write to a final key is one request carrying the whole object, its
 * metadata and tags. A proven copy matches its own sha256, so no condition can ever let a write
 * replace it. Stores that ignore those conditions get a look before each write instead (see
 * `conditionalWrites`).
 */
export class S3ObjectStore implements ObjectStore, OnApplicationShutdown {
  private readonly logger = new Logger(S3ObjectStore.name);
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly keyPrefix: string;
  /** Whether this endpoint keeps tags sent with each kind of write; unknown until the first tagged one. */
  private readonly tagsKept: Record<WriteKind, boolean | undefined> = { put: undefined, copy: undefined };
  /** Whether this endpoint honours `If-None-Match`/`If-Match` on each kind of write; probed once each. */
  private readonly conditional: Partial<Record<WriteKind, Promise<boolean>>> = {};
  /** Set once the store refused a quoted ETag in `If-Match` that matched (Ceph RGW compares bare ones). */
  private bareIfMatch = false;
  /** Set once the endpoint answered that it cannot list unfinished uploads. */
  private uploadListingMissing = false;

  constructor(private readonly options: S3ObjectStoreOptions) {
    this.bucket = options.bucket;
    const prefix = options.prefix.replace(/^\/+|\/+$/g, '');
    this.keyPrefix = prefix === '' ? '' : `${prefix}/`;
    const agent = { keepAlive: true, maxSockets: 64 };
    this.client = new S3Client({
      endpoint: options.endpoint,
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      credentials: options.credentials,
      maxAttempts: options.maxAttempts ?? 3,
      // The store hashes every byte with sha256 itself (and sends it where S3 checks it); the SDK's
      // own CRC32 on every request and response would only cost CPU.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: options.connectionTimeoutMs ?? 5_000,
        socketTimeout: options.socketTimeoutMs ?? 120_000,
        httpAgent: agent,
        httpsAgent: agent,
      },
    });
  }

  async putStream(input: PutStreamInput): Promise<StoredObject> {
    const { key, body, contentType, signal } = input;
    const expectedSize = input.expectedSize ?? undefined;
    // Whatever happens below, the source is consumed or destroyed: the caller never leaks a socket.
    const meter = new HashingMeter({ expectedSize, maxSize: MAX_STREAM_BYTES });
    let sourceError: unknown;
    const noteSourceError = (error: unknown): void => {
      // The meter's own failures (size limits) reach the source through the pipeline; they are not its fault.
      if (!(error instanceof StorageError)) sourceError ??= error;
    };
    body.on('error', noteSourceError);
    pipeline(body, meter, () => {
      // Errors reach the consumer through `meter`; they are classified in the catch below.
    });
    if (signal) addAbortSignal(signal, meter);

    let upload: Upload | undefined;
    let stagingKey: string | undefined;
    let failed = false;
    let objectKey = key;
    try {
      objectKey = this.objectKeyFor(key);
      const metadata = encodeUserMetadata(input.metadata);
      const tags = toS3Tags(input.tags ?? {});
      if (
        expectedSize !== undefined &&
        !(Number.isSafeInteger(expectedSize) && expectedSize >= 0 && expectedSize <= MAX_STREAM_BYTES)
      ) {
        throw new StorageError(
          `expectedSize ${expectedSize} is not a size this store accepts`,
          'INVALID_INPUT',
        );
      }
      const scope = input.scope ?? 'unscoped';
      if (!SCOPE.test(scope)) throw new StorageError(`invalid staging scope ${scope}`, 'INVALID_INPUT');
      signal?.throwIfAborted();

      // Read up to one part first: a small file then goes in one PutObject that already carries its
      // sha256 (and S3 checks it); only a larger one needs the staged multipart path.
      const head = await readHead(meter, this.options.partSizeBytes);
      let source: FinalSource;
      if (head.ended) {
        source = { kind: 'bytes', body: Buffer.concat(head.chunks, head.bytes) };
      } else {
        stagingKey = `${this.keyPrefix}${STAGING_FOLDER}/${scope}/${randomUUID()}`;
        // The bytes already read go first, then the rest. (Not `unshift`: when the source has
        // ended meanwhile, the stream has emitted 'end' and unshifted bytes would be lost.)
        upload = this.newUpload({
          Key: stagingKey,
          Body: Readable.from(headThenRest(head.chunks, meter)),
          ContentType: contentType,
        });
        const completed = await upload.done();
        source = { kind: 'staged', stagingKey, etag: normaliseEtag(completed.ETag) };
      }
      const content = { size: meter.bytes, sha256: meter.sha256, contentType, metadata, tags };
      const written = await this.writeFinal(objectKey, source, content, signal);
      return {
        key,
        objectKey,
        bucket: this.bucket,
        size: meter.bytes,
        sha256: meter.sha256,
        etag: written.etag,
        proof: written.proof,
        adopted: written.adopted,
      };
    } catch (error) {
      failed = true;
      const failure = this.uploadFailure(error, objectKey, body, sourceError, signal);
      // The caller gets its source back released, whatever was left unread.
      meter.destroy();
      body.destroy();
      throw failure;
    } finally {
      body.off('error', noteSourceError);
      // The staged copy is this call's own: nobody else ever reads it, so it always goes.
      if (stagingKey !== undefined)
        await this.discardStaged(stagingKey, failed ? upload?.uploadId : undefined);
    }
  }

  async putObject(input: PutObjectInput): Promise<StoredObject> {
    const { key } = input;
    const objectKey = this.objectKeyFor(key);
    const metadata = encodeUserMetadata(input.metadata ?? {});
    const tags = toS3Tags(input.tags ?? {});
    const body =
      typeof input.body === 'string'
        ? Buffer.from(input.body, 'utf8')
        : Buffer.from(input.body.buffer, input.body.byteOffset, input.body.byteLength);
    if (body.length > MAX_SMALL_OBJECT_BYTES) {
      throw new StorageError(
        `putObject takes at most ${MAX_SMALL_OBJECT_BYTES} bytes, use putStream for ${objectKey}`,
        'INVALID_INPUT',
      );
    }
    const sha256 = createHash('sha256').update(body).digest('hex');
    try {
      const written = await this.writeFinal(
        objectKey,
        { kind: 'bytes', body },
        { size: body.length, sha256, contentType: input.contentType, metadata, tags },
        undefined,
      );
      return {
        key,
        objectKey,
        bucket: this.bucket,
        size: body.length,
        sha256,
        etag: written.etag,
        proof: written.proof,
        adopted: written.adopted,
      };
    } catch (error) {
      throw storageErrorFromS3(error, `writing ${objectKey}`);
    }
  }

  async head(key: string): Promise<ObjectHead | null> {
    return this.headObject(this.objectKeyFor(key), key);
  }

  async verify(key: string, expected: ExpectedContent, options: VerifyOptions = {}): Promise<ObjectHead> {
    const wanted = expected.sha256.toLowerCase();
    if (!Number.isSafeInteger(expected.size) || expected.size < 0 || !SHA256_HEX.test(wanted)) {
      throw new StorageError('verify needs a size in bytes and a hex sha256', 'INVALID_INPUT');
    }
    const found = await this.head(key);
    if (found === null) {
      throw new StorageError(`${this.keyPrefix}${key} is not in bucket ${this.bucket}`, 'NOT_FOUND');
    }
    if (found.size !== expected.size) {
      throw new StorageError(
        `${found.objectKey} holds ${found.size} bytes, ${expected.size} were written`,
        'INTEGRITY',
      );
    }
    if (found.sha256 !== wanted) {
      throw new StorageError(
        `${found.objectKey} has sha256 ${found.sha256 ?? '(none)'} in its metadata, ${wanted} was written`,
        'INTEGRITY',
      );
    }
    if (options.deep) {
      const actual = await this.hashStoredBytes(found.objectKey, found.etag, options.signal);
      if (actual.size !== expected.size || actual.sha256 !== wanted) {
        throw new StorageError(
          `${found.objectKey} reads back as ${actual.size} bytes with sha256 ${actual.sha256}, ` +
            `${expected.size} bytes with sha256 ${wanted} were written`,
          'INTEGRITY',
        );
      }
    }
    return found;
  }

  async listMultipartUploads(prefix = ''): Promise<MultipartUploadInfo[]> {
    if (prefix.includes('..') || prefix.startsWith('/')) {
      throw new StorageError(`invalid key prefix ${JSON.stringify(prefix)}`, 'INVALID_INPUT');
    }
    return this.listUploadsUnder(`${this.keyPrefix}${prefix}`);
  }

  async clearStaging(scope: string): Promise<StagingSweep> {
    if (!SCOPE.test(scope)) throw new StorageError(`invalid staging scope ${scope}`, 'INVALID_INPUT');
    const folder = `${this.keyPrefix}${STAGING_FOLDER}/${scope}/`;
    const swept: StagingSweep = { objects: 0, uploads: 0 };
    swept.uploads = await this.abortUploadsUnder(folder);
    try {
      let token: string | undefined;
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: folder, ContinuationToken: token }),
        );
        for (const object of page.Contents ?? []) {
          if (object.Key === undefined) continue;
          await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: object.Key }));
          swept.objects += 1;
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (error) {
      this.logger.warn(
        `could not clear staged objects under ${folder}; the bucket's lifecycle rule for ` +
          `${this.keyPrefix}${STAGING_FOLDER}/ removes them: ${storageErrorFromS3(error, 'listing').message}`,
      );
    }
    return swept;
  }

  async ping(): Promise<void> {
    const timeoutMs = this.options.pingTimeoutMs ?? 3_000;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), {
        abortSignal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const failure = storageErrorFromS3(error, `checking bucket ${this.bucket}`);
      // HEAD has no body, so a missing bucket is a bare 404.
      if (failure.code === 'NOT_FOUND') {
        throw new StorageError(`bucket ${this.bucket} does not exist`, 'CONFIG', { cause: error });
      }
      throw failure;
    }
  }

  onApplicationShutdown(): void {
    this.client.destroy();
  }

  private objectKeyFor(key: string): string {
    assertValidObjectKey(key, MAX_OBJECT_KEY_BYTES - utf8Length(this.keyPrefix));
    return `${this.keyPrefix}${key}`;
  }

  private newUpload(params: Omit<PutObjectCommandInput, 'Bucket'>): Upload {
    return new Upload({
      client: this.client,
      params: { Bucket: this.bucket, ...params },
      partSize: this.options.partSizeBytes,
      queueSize: this.options.queueSize,
      leavePartsOnError: false,
    });
  }

  /**
   * Puts the content at its final key and proves it there; see the class comment for the rule.
   * An identical copy already there is proven and adopted instead of written again.
   */
  private async writeFinal(
    objectKey: string,
    source: FinalSource,
    content: FinalContent,
    signal: AbortSignal | undefined,
  ): Promise<{ etag?: string; proof: ProofMethod; adopted: boolean }> {
    const kind: WriteKind = source.kind === 'bytes' ? 'put' : 'copy';
    const conditional = await this.supportsConditions(kind, source);
    // Where the store enforces conditions, assume the key is free and let S3 say otherwise.
    let occupant: Occupant = conditional ? { kind: 'none' } : await this.inspect(objectKey, content, signal);
    let conditionedOn: string | undefined;
    for (let round = 0; round < MAX_WRITE_ROUNDS; round++) {
      switch (occupant.kind) {
        case 'same':
          // Its writer may have died before tagging it (on a store that needs a request of its own).
          await this.ensureTags(objectKey, content.tags);
          return { etag: occupant.etag, proof: occupant.proof, adopted: true };
        case 'other':
          throw new StorageError(
            `${objectKey} already holds a different copy (${occupant.size} bytes, sha256 ${occupant.sha256}) ` +
              `than the ${content.size} bytes with sha256 ${content.sha256} read now; it is left as it is`,
            'CONFLICT',
          );
        case 'none':
        case 'unproven': {
          if (occupant.kind === 'unproven')
            this.logger.warn(`replacing ${objectKey}, which proves nothing: ${occupant.why}`);
          const condition = !conditional
            ? {}
            : occupant.kind === 'none'
              ? { IfNoneMatch: '*' }
              : { IfMatch: this.ifMatchValue(occupant.etag) };
          let etag: string | undefined;
          let tagsSent: boolean;
          try {
            ({ etag, tagsSent } = await this.sendFinal(objectKey, source, content, kind, condition));
          } catch (error) {
            if (!isPreconditionFailure(error)) throw storageErrorFromS3(error, `writing ${objectKey}`);
            const refusedEtag = occupant.kind === 'unproven' ? occupant.etag : undefined;
            occupant = await this.inspect(objectKey, content, signal);
            // The very ETag we conditioned on is still there: the store wants it without quotes.
            if (refusedEtag !== undefined && occupant.kind === 'unproven' && occupant.etag === refusedEtag) {
              if (conditionedOn === refusedEtag || this.bareIfMatch)
                throw storageErrorFromS3(error, `replacing ${objectKey}`);
              conditionedOn = refusedEtag;
              this.bareIfMatch = true;
            }
            continue;
          }
          const proof = await this.prove(objectKey, content, etag, signal);
          await this.finishTags(objectKey, content.tags, kind, tagsSent);
          return { etag, proof, adopted: false };
        }
      }
    }
    throw new StorageError(
      `${objectKey} kept changing while it was being written; trying again later`,
      'TRANSIENT',
    );
  }

  /** One request that writes the whole object with its metadata, sha256 and tags. */
  private async sendFinal(
    objectKey: string,
    source: FinalSource,
    content: FinalContent,
    kind: WriteKind,
    condition: { IfNoneMatch?: string; IfMatch?: string },
  ): Promise<{ etag: string | undefined; tagsSent: boolean }> {
    const tagsSent = content.tags.length > 0 && this.tagsKept[kind] !== false;
    const metadata = { ...content.metadata, [SHA256_METADATA_KEY]: content.sha256 };
    if (source.kind === 'staged') {
      const result = await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          CopySource: `${encodeURIComponent(this.bucket)}/${source.stagingKey.split('/').map(encodeURIComponent).join('/')}`,
          // Only the bytes this call staged, never another writer's (where the store checks it).
          CopySourceIfMatch: source.etag,
          MetadataDirective: 'REPLACE',
          ContentType: content.contentType,
          Metadata: metadata,
          TaggingDirective: 'REPLACE',
          Tagging: tagsSent ? encodeTagging(content.tags) : undefined,
          // AWS then keeps a full-object sha256 of the copy, which the proof reads.
          ChecksumAlgorithm: 'SHA256',
          ...condition,
        }),
      );
      return { etag: normaliseEtag(result.CopyObjectResult?.ETag), tagsSent };
    }
    const checksum = Buffer.from(content.sha256, 'hex').toString('base64');
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: objectKey,
      Body: source.body,
      ContentLength: source.body.length,
      ContentType: content.contentType,
      Metadata: metadata,
      ChecksumSHA256: checksum,
      Tagging: tagsSent ? encodeTagging(content.tags) : undefined,
      ...condition,
    });
    const sha256 = content.sha256;
    // The payload hash SigV4 signs is the sha256 already computed: the SDK need not hash the bytes again.
    command.middlewareStack.add(
      (next) => (args) => {
        const request = args.request as { headers?: Record<string, string> };
        if (request.headers) request.headers['x-amz-content-sha256'] = sha256;
        return next(args);
      },
      { step: 'build', name: 'knownPayloadSha256' },
    );
    const result = await this.client.send(command);
    return { etag: normaliseEtag(result.ETag), tagsSent };
  }

  /**
   * Proves that the object at `objectKey` holds exactly `expected`: by the full-object sha256 S3
   * reports for what it stored, or, where it reports none, by reading every byte back. What S3
   * echoes in a write's answer is not taken as proof: it describes what arrived, not what is kept.
   */
  private async prove(
    objectKey: string,
    expected: { size: number; sha256: string },
    etag: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<ProofMethod> {
    const found = await this.headObject(objectKey, objectKey, true);
    if (found === null) {
      throw new StorageError(
        `${objectKey} is not in bucket ${this.bucket} right after it was written`,
        'INTEGRITY',
      );
    }
    if (etag !== undefined && found.etag !== undefined && found.etag !== etag) {
      throw new StorageError(`${objectKey} changed while it was being proven`, 'TRANSIENT');
    }
    if (found.size !== expected.size) {
      throw new StorageError(
        `${objectKey} holds ${found.size} bytes, ${expected.size} were written`,
        'INTEGRITY',
      );
    }
    if (found.checksumSha256 !== undefined) {
      if (found.checksumSha256 !== expected.sha256) {
        throw new StorageError(
          `${objectKey}: S3 reports sha256 ${found.checksumSha256} for the stored bytes, ${expected.sha256} were written`,
          'INTEGRITY',
        );
      }
      return 'checksum';
    }
    const actual = await this.hashStoredBytes(objectKey, found.etag, signal);
    if (actual.size !== expected.size || actual.sha256 !== expected.sha256) {
      throw new StorageError(
        `${objectKey} reads back as ${actual.size} bytes with sha256 ${actual.sha256}, ` +
          `${expected.size} bytes with sha256 ${expected.sha256} were written`,
        'INTEGRITY',
      );
    }
    return 'read-back';
  }

  /** Tells what holds `objectKey`: our content proven, another valid copy, something unproven, or nothing. */
  private async inspect(
    objectKey: string,
    content: FinalContent,
    signal: AbortSignal | undefined,
  ): Promise<Occupant> {
    const found = await this.headObject(objectKey, objectKey);
    if (found === null) return { kind: 'none' };
    if (found.sha256 === undefined)
      return { kind: 'unproven', etag: found.etag, why: 'it carries no sha256' };
    const claimed = { size: found.size, sha256: found.sha256 };
    try {
      const proof = await this.prove(objectKey, claimed, found.etag, signal);
      if (claimed.sha256 === content.sha256 && claimed.size === content.size) {
        return { kind: 'same', etag: found.etag, proof };
      }
      return { kind: 'other', ...claimed };
    } catch (error) {
      if (error instanceof StorageError && error.code === 'INTEGRITY') {
        return { kind: 'unproven', etag: found.etag, why: error.message };
      }
      throw error;
    }
  }

  /**
   * Whether the endpoint honours conditions on this kind of write. Asked once per kind, with a write
   * that a store honouring them refuses without writing anything: `If-Match` on a key that does not
   * exist. Only a store that ignores them writes the throwaway object (removed at once). A failed
   * question is asked again next time.
   */
  private supportsConditions(kind: WriteKind, source: FinalSource): Promise<boolean> {
    const asked = this.conditional[kind];
    if (asked) return asked;
    const answer = (async () => {
      // A store that ignores them on PutObject ignores them on CopyObject too.
      if (kind === 'copy' && !(await this.supportsConditions('put', source))) return false;
      return this.probeConditions(kind, source);
    })().then(
      (supported) => {
        const what = kind === 'put' ? 'PutObject' : 'CopyObject';
        if (supported) this.logger.log(`S3 honours conditional writes on ${what}`);
        else
          this.logger.warn(
            `S3 ignores conditional writes (If-Match, If-None-Match) on ${what}: each final key is looked at ` +
              'before it is written, which leaves a short window between look and write; prefer a store that honours them',
          );
        return supported;
      },
      (error: unknown) => {
        delete this.conditional[kind];
        throw storageErrorFromS3(error, 'checking whether S3 honours conditional writes');
      },
    );
    this.conditional[kind] = answer;
    return answer;
  }

  private async probeConditions(kind: WriteKind, source: FinalSource): Promise<boolean> {
    const Key = `${this.keyPrefix}${STAGING_FOLDER}/probe-${randomUUID()}`;
    const IfMatch = this.ifMatchValue('"00000000000000000000000000000000"');
    try {
      if (kind === 'put' || source.kind === 'bytes') {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key,
            Body: 'probe',
            ContentType: 'text/plain',
            IfMatch,
          }),
        );
      } else {
        await this.client.send(
          new CopyObjectCommand({
            Bucket: this.bucket,
            Key,
            CopySource: `${encodeURIComponent(this.bucket)}/${source.stagingKey.split('/').map(encodeURIComponent).join('/')}`,
            IfMatch,
          }),
        );
      }
    } catch (error) {
      if (isPreconditionFailure(error) || storageErrorFromS3(error, 'probe').code === 'NOT_FOUND')
        return true;
      if (isNotImplemented(error) || storageErrorFromS3(error, 'probe').code === 'REJECTED') return false;
      throw error;
    }
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key })).catch(() => undefined);
    return false;
  }

  /** An ETag for `If-Match`, quoted as HTTP says, or bare for a store that compares bare ones. */
  private ifMatchValue(etag: string | undefined): string | undefined {
    if (etag === undefined) return undefined;
    return this.bareIfMatch ? etag.replace(/"/g, '') : etag;
  }

  /**
   * Makes sure the object just written carries `tags`. The first time tags go with a write, they
   * are read back: an S3 that kept them is trusted from then on; one that dropped them (or will not
   * say) gets them in a PutObjectTagging of their own, now and for every later object. That request
   * only ever carries the same tag set the write did.
   */
  private async finishTags(
    objectKey: string,
    tags: ObjectTag[],
    kind: WriteKind,
    sentWithWrite: boolean,
  ): Promise<void> {
    if (tags.length === 0 || (sentWithWrite && this.tagsKept[kind] === true)) return;
    if (sentWithWrite && (await this.learnTags(objectKey, tags, kind))) return;
    await this.putTags(objectKey, tags);
  }

  /** Reads back the tags a write carried and remembers whether this S3 keeps them on that kind of write. */
  private async learnTags(objectKey: string, tags: ObjectTag[], kind: WriteKind): Promise<boolean> {
    const kept = (await this.hasTags(objectKey, tags)) ?? false; // not allowed to look: tag the safe way
    // Once dropped, always sent on their own; the log says so when the answer first arrives.
    const learned = this.tagsKept[kind] === false ? false : kept;
    const what = kind === 'put' ? 'an upload' : 'a copy';
    if (learned !== this.tagsKept[kind]) {
      if (learned) this.logger.log(`S3 keeps the tags sent with ${what}`);
      else
        this.logger.warn(
          `S3 did not keep (or would not show) the tags sent with ${what}; tagging each such object with a request of its own`,
        );
    }
    this.tagsKept[kind] = learned;
    return kept;
  }

  /** Tags an adopted copy whose writer did not get to tag it; the tag set is the same every attempt sends. */
  private async ensureTags(objectKey: string, tags: ObjectTag[]): Promise<void> {
    if (tags.length === 0) return;
    if ((await this.hasTags(objectKey, tags)) === false) await this.putTags(objectKey, tags);
  }

  /** Whether the object carries every one of `tags`; undefined when the role may not look. */
  private async hasTags(objectKey: string, tags: ObjectTag[]): Promise<boolean | undefined> {
    try {
      const found = await this.client.send(
        new GetObjectTaggingCommand({ Bucket: this.bucket, Key: objectKey }),
      );
      const keys = new Set((found.TagSet ?? []).map((tag) => tag.Key));
      return tags.every((tag) => keys.has(tag.key));
    } catch (error) {
      const failure = storageErrorFromS3(error, `reading the tags of ${objectKey}`);
      if (failure.code !== 'CONFIG') throw failure;
      return undefined;
    }
  }

  private async putTags(objectKey: string, tags: ObjectTag[]): Promise<void> {
    await this.client.send(
      new PutObjectTaggingCommand({
        Bucket: this.bucket,
        Key: objectKey,
        Tagging: { TagSet: tags.map((tag) => ({ Key: tag.key, Value: tag.value })) },
      }),
    );
  }

  private async headObject(
    objectKey: string,
    key: string,
    withChecksum = false,
  ): Promise<(ObjectHead & { checksumSha256?: string }) | null> {
    try {
      const found = await this.client.send(
        new HeadObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          ChecksumMode: withChecksum ? 'ENABLED' : undefined,
        }),
      );
      const metadata = decodeUserMetadata(found.Metadata ?? {});
      const sha256 = metadata[SHA256_METADATA_KEY];
      return {
        key,
        objectKey,
        size: found.ContentLength ?? 0,
        sha256: sha256 !== undefined && SHA256_HEX.test(sha256) ? sha256 : undefined,
        etag: normaliseEtag(found.ETag),
        contentType: found.ContentType,
        lastModified: found.LastModified,
        metadata,
        checksumSha256: fullObjectSha256(found.ChecksumSHA256, found.ChecksumType),
      };
    } catch (error) {
      const failure = storageErrorFromS3(error, `reading the metadata of ${objectKey}`);
      if (failure.code === 'NOT_FOUND') return null;
      throw failure;
    }
  }

  private async hashStoredBytes(
    objectKey: string,
    etag: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ size: number; sha256: string }> {
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: objectKey, IfMatch: etag }),
        { abortSignal: signal },
      );
      if (!(response.Body instanceof Readable)) throw new Error('GetObject returned no readable body');
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of response.Body as AsyncIterable<Buffer>) {
        hash.update(chunk);
        size += chunk.length;
      }
      return { size, sha256: hash.digest('hex') };
    } catch (error) {
      if (signal?.aborted) {
        throw new StorageError(`reading ${objectKey} back was aborted`, 'ABORTED', { cause: error });
      }
      const failure = storageErrorFromS3(error, `reading ${objectKey} back`);
      // The object changed between the look and the read: say so, and let the caller try again.
      if (isPreconditionFailure(error)) {
        throw new StorageError(`${objectKey} changed while it was read back`, 'TRANSIENT', { cause: error });
      }
      throw failure;
    }
  }

  private async listUploadsUnder(prefix: string): Promise<MultipartUploadInfo[]> {
    const uploads: MultipartUploadInfo[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    try {
      for (;;) {
        const page = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: prefix || undefined,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        );
        for (const upload of page.Uploads ?? []) {
          if (upload.Key === undefined || upload.UploadId === undefined) continue;
          uploads.push({
            key:
              this.keyPrefix && upload.Key.startsWith(this.keyPrefix)
                ? upload.Key.slice(this.keyPrefix.length)
                : upload.Key,
            objectKey: upload.Key,
            uploadId: upload.UploadId,
            initiated: upload.Initiated,
          });
        }
        if (!page.IsTruncated) return uploads;
        keyMarker = page.NextKeyMarker;
        uploadIdMarker = page.NextUploadIdMarker;
      }
    } catch (error) {
      throw storageErrorFromS3(error, `listing multipart uploads in ${this.bucket}`);
    }
  }

  /**
   * Aborts every unfinished upload under `prefix` (a staging key or folder). Never fails: a store
   * that cannot list uploads, or a transient error, is logged, and the lifecycle rule is the net.
   */
  private async abortUploadsUnder(prefix: string, known?: string): Promise<number> {
    let uploads: MultipartUploadInfo[] = [];
    if (!this.uploadListingMissing) {
      try {
        uploads = await this.listUploadsUnder(prefix);
      } catch (error) {
        if (isNotImplemented(error)) {
          this.uploadListingMissing = true;
          this.logger.warn(
            'S3 cannot list unfinished multipart uploads (NotImplemented); uploads whose abort was lost ' +
              'stay until the bucket lifecycle rule for incomplete uploads removes them',
          );
        } else {
          this.logger.warn(`could not list unfinished uploads under ${prefix}: ${messageOf(error)}`);
        }
      }
    }
    const ids = new Map(uploads.map((u) => [u.uploadId, u.objectKey]));
    if (known !== undefined && !ids.has(known)) ids.set(known, prefix);
    let aborted = 0;
    for (const [uploadId, Key] of ids) {
      try {
        await this.client.send(
          new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: uploadId }),
        );
        aborted += 1;
      } catch (error) {
        const failure = storageErrorFromS3(error, `aborting upload ${uploadId} of ${Key}`);
        if (failure.code !== 'NOT_FOUND')
          this.logger.warn(
            `${failure.message}; its parts stay until the bucket lifecycle rule for incomplete uploads removes them`,
          );
      }
    }
    return aborted;
  }

  /**
   * Removes a staged object and any upload left under its key: one `Upload` aborts itself on
   * failure, but an answer to CreateMultipartUpload that was lost (and retried) leaves an upload
   * nobody knows the id of. Never fails.
   */
  private async discardStaged(stagingKey: string, uploadId: string | undefined): Promise<void> {
    await this.abortUploadsUnder(stagingKey, uploadId);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: stagingKey }));
    } catch (error) {
      this.logger.warn(
        `could not remove the staged object ${stagingKey}; the bucket lifecycle rule removes it: ${messageOf(error)}`,
      );
    }
  }

  /** Says whose fault a failed upload was: the caller's signal, the source, the limits, or S3. */
  private uploadFailure(
    error: unknown,
    objectKey: string,
    body: Readable,
    sourceError: unknown,
    signal: AbortSignal | undefined,
  ): StorageError {
    if (signal?.aborted) {
      return new StorageError(`upload of ${objectKey} was aborted`, 'ABORTED', { cause: signal.reason });
    }
    // `errored` also covers a source that had failed before it was handed over.
    const sourceFailure = sourceError ?? (body.errored instanceof StorageError ? undefined : body.errored);
    if (sourceFailure !== undefined && sourceFailure !== null) {
      return new StorageError(
        `upload of ${objectKey} failed: its source failed: ${messageOf(sourceFailure)}`,
        'SOURCE',
        { cause: sourceFailure },
      );
    }
    if (error instanceof StorageError) {
      return new StorageError(`upload of ${objectKey} failed: ${error.message}`, error.code, {
        cause: error,
      });
    }
    // Destroyed without an error by someone else: the source stopped before its end.
    if (body.destroyed && !body.readableEnded) {
      return new StorageError(`upload of ${objectKey} failed: its source closed before its end`, 'SOURCE', {
        cause: error,
      });
    }
    return storageErrorFromS3(error, `upload of ${objectKey}`);
  }
}

/** An ETag in one form (quoted, as HEAD answers it), whatever form a store answered with; undefined when empty. */
function normaliseEtag(etag: string | undefined): string | undefined {
  const bare = etag?.replace(/"/g, '').trim();
  return bare ? `"${bare}"` : undefined;
}

/** A full-object sha256 S3 reports, as lower-case hex; composite (per-part) checksums are not one. */
function fullObjectSha256(checksum: string | undefined, type: string | undefined): string | undefined {
  if (checksum === undefined || type === 'COMPOSITE' || checksum.includes('-')) return undefined;
  const hex = Buffer.from(checksum, 'base64').toString('hex');
  return SHA256_HEX.test(hex) ? hex : undefined;
}

function sdkStatus(error: unknown): { name?: string; status?: number } {
  const e = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  return { name: e.name, status: e.$metadata?.httpStatusCode };
}

/** S3 refused a conditional request: the key's state is not what the condition said. */
function isPreconditionFailure(error: unknown): boolean {
  const { name, status } = sdkStatus(error);
  return (name !== undefined && PRECONDITION_NAMES.has(name)) || status === 412 || status === 409;
}

function isNotImplemented(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const { name, status } = sdkStatus(e);
    if (name === 'NotImplemented' || status === 501) return true;
  }
  return false;
}

/** The `x-amz-tagging` form of a tag set: a URL query string. */
function encodeTagging(tags: ObjectTag[]): string {
  return tags.map((tag) => `${encodeURIComponent(tag.key)}=${encodeURIComponent(tag.value)}`).join('&');
}

const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'ERR_STREAM_PREMATURE_CLOSE',
]);
const TRANSIENT_NAMES = new Set([
  'TimeoutError',
  'AbortError',
  'RequestTimeout',
  'RequestTimeoutException',
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ServiceUnavailable',
  'InternalError',
]);
const CONFIG_NAMES = new Set([
  'AccessDenied',
  'AccountProblem',
  'AllAccessDisabled',
  'AuthorizationHeaderMalformed',
  'CredentialsProviderError',
  'ExpiredToken',
  'InvalidAccessKeyId',
  'InvalidBucketName',
  'InvalidToken',
  'NoSuchBucket',
  'PermanentRedirect',
  'SignatureDoesNotMatch',
]);
const NOT_FOUND_NAMES = new Set(['NoSuchKey', 'NotFound', 'NoSuchUpload']);
const PRECONDITION_NAMES = new Set(['PreconditionFailed', 'ConditionalRequestConflict']);

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Translates an AWS SDK (or socket) error into a `StorageError`, keeping it as the cause. */
export function storageErrorFromS3(error: unknown, action: string): StorageError {
  if (error instanceof StorageError) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const detail = `${name}${status !== undefined ? ` (HTTP ${status})` : ''}: ${e.message ?? String(error)}`;
  const make = (code: StorageError['code']) =>
    new StorageError(`${action} failed: ${detail}`, code, { cause: error });

  if (CONFIG_NAMES.has(name)) return make('CONFIG');
  if (name === 'NotImplemented') return make('REJECTED');
  if (NOT_FOUND_NAMES.has(name)) return make('NOT_FOUND');
  if (TRANSIENT_NAMES.has(name) || (e.code !== undefined && NETWORK_ERROR_CODES.has(e.code))) {
    return make('TRANSIENT');
  }
  if (status !== undefined) {
    if (status === 501) return make('REJECTED');
    if (status >= 500 || status === 429 || status === 408) return make('TRANSIENT');
    if (status === 401 || status === 403 || status === 301 || status === 307) return make('CONFIG');
    if (status === 404) return make('NOT_FOUND');
    if (status >= 400) return make('REJECTED');
  }
  // No HTTP answer and no known socket code: most likely the network too; the caller's retry
  // budget bounds the cost of being wrong.
  return make('TRANSIENT');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

interface Head {
  chunks: Buffer[];
  bytes: number;
  /** True when the stream ended within the limit: `chunks` is the whole content. */
  ended: boolean;
}

/** Reads until more than `limit` bytes have arrived or the stream ends, leaving the rest unread. */
async function* headThenRest(head: Buffer[], rest: Readable): AsyncGenerator<Buffer> {
  yield* head;
  for await (const chunk of rest) yield chunk as Buffer;
}

function readHead(stream: Readable, limit: number): Promise<Head> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const settle = (finish: () => void): void => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
      finish();
    };
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while (bytes <= limit && (chunk = stream.read() as Buffer | null) !== null) {
        chunks.push(chunk);
        bytes += chunk.length;
      }
      if (bytes > limit) settle(() => resolve({ chunks, bytes, ended: false }));
    };
    const onEnd = (): void => settle(() => resolve({ chunks, bytes, ended: true }));
    const onError = (error: Error): void => settle(() => reject(error));
    const onClose = (): void => settle(() => reject(new Error('the source closed before it ended')));
    stream.on('readable', onReadable);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}
