import type { Readable } from 'node:stream';

/** DI token for the `ObjectStore` (the S3 bucket of the DMS). */
export const OBJECT_STORE = Symbol('OBJECT_STORE');

/**
 * Keys passed in and handed back are relative to the configured `S3_PREFIX` and checked with
 * `assertValidObjectKey`; `objectKey` is the full key in the bucket, the one to show people and
 * store in the database.
 */
export interface PutStreamInput {
  key: string;
  body: Readable;
  contentType: string;
  /** User metadata: keys `[a-z0-9-]`, total with values at most 2 KB; `sha256` is set by the store. */
  metadata: Record<string, string>;
  /** Made safe with `toS3Tags` (at most 10, S3's charset and lengths). */
  tags?: Record<string, string>;
  /** When known (e.g. Content-Length), a source that sends more or fewer bytes fails with INTEGRITY. */
  expectedSize?: number;
  /** Stops the upload (and the source) with `ABORTED`, e.g. on lease loss or shutdown. */
  signal?: AbortSignal;
}

export interface PutObjectInput {
  key: string;
  body: string | Uint8Array;
  contentType: string;
  metadata?: Record<string, string>;
  tags?: Record<string, string>;
}

export interface StoredObject {
  key: string;
  objectKey: string;
  bucket: string;
  size: number;
  /** Lower-case hex sha256 of the bytes, also stored in the object's user metadata `sha256`. */
  sha256: string;
  etag?: string;
  /**
   * True when the write itself proves the copy: a single-request upload for which S3 answered with
   * the sha256 it computed over the bytes it stored and it is ours, or whose ETag, the MD5 that S3
   * computed over those bytes, equals the MD5 of the bytes sent. Otherwise (multipart uploads, an
   * encrypted bucket that names no checksum and whose ETag is no MD5) call `verify`.
   */
  proven: boolean;
}

export interface ObjectHead {
  key: string;
  objectKey: string;
  size: number;
  /** From the user metadata; absent when the object was not written by this store. */
  sha256?: string;
  etag?: string;
  contentType?: string;
  lastModified?: Date;
  /** User metadata, decoded; includes `sha256`. */
  metadata: Record<string, string>;
}

export interface ExpectedContent {
  size: number;
  sha256: string;
}

export interface VerifyOptions {
  /** Also read the whole object back and hash it (streamed), instead of trusting its metadata. */
  deep?: boolean;
  signal?: AbortSignal;
}

export interface MultipartUploadInfo {
  key: string;
  objectKey: string;
  uploadId: string;
  initiated?: Date;
}

/** What the archive pipeline needs from the DMS bucket. Every failure is a `StorageError`. */
export interface ObjectStore {
  /**
   * Streams `body` into the bucket (multipart above one part size), hashing it on the way. Nothing
   * is left behind on failure: the multipart upload is aborted and a half-finished object removed.
   */
  putStream(input: PutStreamInput): Promise<StoredObject>;
  /** Writes a small object (a manifest) in one request, with its sha256 in the metadata. */
  putObject(input: PutObjectInput): Promise<StoredObject>;
  /** Proves a stored copy: size and metadata sha256 (and with `deep`, the bytes) must match. */
  verify(key: string, expected: ExpectedContent, options?: VerifyOptions): Promise<ObjectHead>;
  /** The object's size and metadata, or null when there is no such object. */
  head(key: string): Promise<ObjectHead | null>;
  /** Unfinished multipart uploads under the store's prefix (plus `prefix`), for tests and ops. */
  listMultipartUploads(prefix?: string): Promise<MultipartUploadInfo[]>;
  /**
   * Aborts the unfinished multipart uploads of exactly this key, such as those a worker that died
   * mid-upload left behind. Returns how many were aborted.
   */
  abortUploads(key: string): Promise<number>;
  /** Readiness: the bucket answers within a few seconds. */
  ping(): Promise<void>;
}
