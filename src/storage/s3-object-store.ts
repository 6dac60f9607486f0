import { createHash } from 'node:crypto';
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
  PutObjectInput,
  PutStreamInput,
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
 * Streams stay below 5 GiB because the sha256 is stamped on a multipart object with an in-place
 * CopyObject, and S3's single-request copy stops there. Signed PDFs are far smaller.
 */
export const MAX_STREAM_BYTES = 5 * 1024 ** 3;
/** `putObject` is for manifests and the like, sent and hashed in one buffer. */
export const MAX_SMALL_OBJECT_BYTES = 16 * 1024 ** 2;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The object store on any S3 API (AWS, MinIO, Ceph, s3rver), through `@aws-sdk/client-s3` and the
 * multipart `Upload` of `@aws-sdk/lib-storage`.
 */
export class S3ObjectStore implements ObjectStore, OnApplicationShutdown {
  private readonly logger = new Logger(S3ObjectStore.name);
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly keyPrefix: string;
  /** Whether this endpoint keeps tags sent with a PutObject; unknown until the first tagged upload. */
  private tagsOnPut: boolean | undefined;

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
    let objectWritten = false;
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
      signal?.throwIfAborted();

      // Read up to one part first: a small file then goes in one PutObject that already carries its
      // sha256 (and S3 checks it); only a larger one needs the multipart path and the stamp after.
      const head = await readHead(meter, this.options.partSizeBytes);
      let etag: string | undefined;
      let proven = false;
      if (head.ended) {
        const whole = Buffer.concat(head.chunks, head.bytes);
        const sent = await this.putWhole(objectKey, whole, meter.sha256, contentType, metadata, tags);
        objectWritten = true;
        etag = sent.etag;
        proven = sent.proven;
        await this.finishTags(objectKey, tags, sent.tagsSent);
      } else {
        // The bytes already read go first, then the rest. (Not `unshift`: when the source has
        // ended meanwhile, the stream has emitted 'end' and unshifted bytes would be lost.)
        upload = this.newUpload({
          Key: objectKey,
          Body: Readable.from(headThenRest(head.chunks, meter)),
          ContentType: contentType,
          Metadata: metadata,
        });
        const completed = await upload.done();
        objectWritten = true;
        etag = await this.stampMetadata(objectKey, completed.ETag, contentType, {
          ...metadata,
          [SHA256_METADATA_KEY]: meter.sha256,
        });
        await this.finishTags(objectKey, tags, false);
      }
      return { key, objectKey, bucket: this.bucket, size: meter.bytes, sha256: meter.sha256, etag, proven };
    } catch (error) {
      const failure = this.uploadFailure(error, objectKey, body, sourceError, signal);
      // The caller gets its source back released, whatever was left unread.
      meter.destroy();
      body.destroy();
      await this.cleanUpAfterFailure(objectKey, upload?.uploadId, objectWritten);
      throw failure;
    } finally {
      body.off('error', noteSourceError);
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
    let objectWritten = false;
    try {
      const sent = await this.putWhole(objectKey, body, sha256, input.contentType, metadata, tags);
      objectWritten = true;
      await this.finishTags(objectKey, tags, sent.tagsSent);
      return {
        key,
        objectKey,
        bucket: this.bucket,
        size: body.length,
        sha256,
        etag: sent.etag,
        proven: sent.proven,
      };
    } catch (error) {
      await this.cleanUpAfterFailure(objectKey, undefined, objectWritten);
      throw storageErrorFromS3(error, `writing ${objectKey}`);
    }
  }

  async head(key: string): Promise<ObjectHead | null> {
    const objectKey = this.objectKeyFor(key);
    try {
      const found = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      const metadata = decodeUserMetadata(found.Metadata ?? {});
      const sha256 = metadata[SHA256_METADATA_KEY];
      return {
        key,
        objectKey,
        size: found.ContentLength ?? 0,
        sha256: sha256 !== undefined && SHA256_HEX.test(sha256) ? sha256 : undefined,
        etag: found.ETag,
        contentType: found.ContentType,
        lastModified: found.LastModified,
        metadata,
      };
    } catch (error) {
      const failure = storageErrorFromS3(error, `reading the metadata of ${objectKey}`);
      if (failure.code === 'NOT_FOUND') return null;
      throw failure;
    }
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
      const actual = await this.hashStoredBytes(found, options.signal);
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
    const uploads: MultipartUploadInfo[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    try {
      for (;;) {
        const page = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: `${this.keyPrefix}${prefix}` || undefined,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        );
        for (const upload of page.Uploads ?? []) {
          if (upload.Key === undefined || upload.UploadId === undefined) continue;
          uploads.push({
            key: upload.Key.slice(this.keyPrefix.length),
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

  async abortUploads(key: string): Promise<number> {
    const objectKey = this.objectKeyFor(key);
    const leftovers = (await this.listMultipartUploads(key)).filter((u) => u.objectKey === objectKey);
    for (const upload of leftovers) {
      try {
        await this.client.send(
          new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: objectKey, UploadId: upload.uploadId }),
        );
      } catch (error) {
        const failure = storageErrorFromS3(error, `aborting upload ${upload.uploadId} of ${objectKey}`);
        if (failure.code !== 'NOT_FOUND') throw failure;
      }
    }
    return leftovers.length;
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

  /** Rewrites the metadata of the object just completed, in place; S3 moves no bytes through us. */
  private async stampMetadata(
    objectKey: string,
    etag: string | undefined,
    contentType: string,
    metadata: Record<string, string>,
  ): Promise<string | undefined> {
    const result = await this.client.send(
      new CopyObjectCommand({
        Bucket: this.bucket,
        Key: objectKey,
        CopySource: `${encodeURIComponent(this.bucket)}/${objectKey.split('/').map(encodeURIComponent).join('/')}`,
        // Stamp only the object this upload wrote, not one another writer put there meanwhile.
        CopySourceIfMatch: etag,
        MetadataDirective: 'REPLACE',
        ContentType: contentType,
        Metadata: metadata,
      }),
    );
    return result.CopyObjectResult?.ETag ?? etag;
  }

  /**
   * One PutObject of bytes already in memory. It carries their sha256 twice, as the checksum S3
   * checks before storing and as the payload hash SigV4 signs (so the SDK does not hash the bytes
   * again), and the tags too, unless this endpoint is known to ignore tags sent that way.
   *
   * The answer proves the copy when S3 names the sha256 it computed over the stored bytes and it is
   * ours, or else when its ETag (the MD5 of the stored bytes) is the MD5 of what was sent.
   */
  private async putWhole(
    objectKey: string,
    body: Buffer,
    sha256: string,
    contentType: string,
    metadata: Record<string, string>,
    tags: ObjectTag[],
  ): Promise<{ etag: string | undefined; tagsSent: boolean; proven: boolean }> {
    const tagsSent = tags.length > 0 && this.tagsOnPut !== false;
    const checksum = Buffer.from(sha256, 'hex').toString('base64');
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: objectKey,
      Body: body,
      ContentLength: body.length,
      ContentType: contentType,
      Metadata: { ...metadata, [SHA256_METADATA_KEY]: sha256 },
      ChecksumSHA256: checksum,
      Tagging: tagsSent ? encodeTagging(tags) : undefined,
    });
    command.middlewareStack.add(
      (next) => (args) => {
        const request = args.request as { headers?: Record<string, string> };
        if (request.headers) request.headers['x-amz-content-sha256'] = sha256;
        return next(args);
      },
      { step: 'build', name: 'knownPayloadSha256' },
    );
    const result = await this.client.send(command);
    const proven = result.ChecksumSHA256 === checksum || etagIsMd5Of(result.ETag, body);
    return { etag: result.ETag, tagsSent, proven };
  }

  /**
   * Makes sure the object just written carries `tags`. The first time tags go with a PutObject, they
   * are read back: an S3 that kept them is trusted from then on; one that dropped them (or will not
   * say) gets them in a PutObjectTagging of their own, now and for every later object.
   */
  private async finishTags(objectKey: string, tags: ObjectTag[], sentWithPut: boolean): Promise<void> {
    if (tags.length === 0 || (sentWithPut && this.tagsOnPut === true)) return;
    if (sentWithPut && (await this.learnTagsOnPut(objectKey, tags))) return;
    await this.putTags(objectKey, tags);
  }

  /** Reads back the tags a PutObject carried and remembers whether this S3 keeps them. */
  private async learnTagsOnPut(objectKey: string, tags: ObjectTag[]): Promise<boolean> {
    let kept = false; // not allowed to look: tag the safe way
    try {
      const found = await this.client.send(
        new GetObjectTaggingCommand({ Bucket: this.bucket, Key: objectKey }),
      );
      const keys = new Set((found.TagSet ?? []).map((tag) => tag.Key));
      kept = tags.every((tag) => keys.has(tag.key));
    } catch (error) {
      const failure = storageErrorFromS3(error, `reading the tags of ${objectKey}`);
      if (failure.code !== 'CONFIG') throw failure;
    }
    // Once dropped, always sent on their own; the log says so when the answer first arrives.
    const learned = this.tagsOnPut === false ? false : kept;
    if (learned !== this.tagsOnPut) {
      if (learned) this.logger.log('S3 keeps the tags sent with an upload');
      else
        this.logger.warn(
          'S3 did not keep (or would not show) the tags sent with an upload; tagging each object with a request of its own',
        );
    }
    this.tagsOnPut = learned;
    return kept;
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

  private async hashStoredBytes(
    found: ObjectHead,
    signal: AbortSignal | undefined,
  ): Promise<{ size: number; sha256: string }> {
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: found.objectKey, IfMatch: found.etag }),
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
        throw new StorageError(`reading ${found.objectKey} back was aborted`, 'ABORTED', { cause: error });
      }
      throw storageErrorFromS3(error, `reading ${found.objectKey} back`);
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

  /**
   * `Upload` aborts its own multipart upload on failure, but if that abort failed too the parts
   * would stay (and cost money) until a bucket lifecycle rule removes them, so try once more. An
   * object already completed but not fully stamped is removed so no unproven copy stays visible.
   */
  private async cleanUpAfterFailure(
    objectKey: string,
    uploadId: string | undefined,
    objectWritten: boolean,
  ): Promise<void> {
    try {
      if (objectWritten) {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      } else if (uploadId !== undefined) {
        await this.client.send(
          new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: objectKey, UploadId: uploadId }),
        );
      }
    } catch (error) {
      const failure = storageErrorFromS3(error, 'cleaning up');
      if (failure.code === 'NOT_FOUND') return;
      this.logger.warn(
        objectWritten
          ? `could not remove the unfinished object ${objectKey}: ${failure.message}`
          : `could not abort multipart upload ${uploadId} of ${objectKey}, its parts stay until the ` +
              `bucket's lifecycle rule for incomplete uploads removes them: ${failure.message}`,
      );
    }
  }
}

/** The `x-amz-tagging` form of a tag set: a URL query string. */
function encodeTagging(tags: ObjectTag[]): string {
  return tags.map((tag) => `${encodeURIComponent(tag.key)}=${encodeURIComponent(tag.value)}`).join('&');
}

/** A single-request upload's ETag is the MD5 S3 computed over the stored bytes (unless encrypted with KMS/SSE-C). */
function etagIsMd5Of(etag: string | undefined, body: Buffer): boolean {
  const hex = etag?.replace(/"/g, '').toLowerCase();
  return (
    hex !== undefined && /^[0-9a-f]{32}$/.test(hex) && hex === createHash('md5').update(body).digest('hex')
  );
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
  if (NOT_FOUND_NAMES.has(name)) return make('NOT_FOUND');
  if (TRANSIENT_NAMES.has(name) || (e.code !== undefined && NETWORK_ERROR_CODES.has(e.code))) {
    return make('TRANSIENT');
  }
  if (status !== undefined) {
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
    const onError = (error: unknown): void => settle(() => reject(error));
    const onClose = (): void => settle(() => reject(new Error('the source closed before it ended')));
    stream.on('readable', onReadable);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}
