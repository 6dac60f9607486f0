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
  /**
   * Who owns the staging area a large file passes through (a transfer id: `[A-Za-z0-9_-]`);
   * `clearStaging(scope)` removes what a crashed attempt of that owner left there.
   */
  scope?: string;
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
   * How the bytes S3 holds were proven to be these bytes: by the sha256 S3 reports for the stored
   * object (`checksum`), or by reading the object back and hashing it (`read-back`). A write is
   * never returned unproven.
   */
  proof: ProofMethod;
  /** True when an identical copy was already there (an earlier attempt's) and this one was not written. */
  adopted: boolean;
}

export type ProofMethod = 'checksum' | 'read-back';

export interface StagingSweep {
  objects: number;
  uploads: number;
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
   * Streams `body` into the bucket, hashing it on the way, and proves the stored copy. A final key is
   * written only where nothing is, or over an object that proves nothing (its bytes do not match its
   * own sha256); an identical proven copy already there is adopted; a different valid one is a
   * `CONFLICT`. Final keys are never deleted. Files above one part go through a multipart upload in
   * the scope's staging area and are copied to their key in one request.
   */
  putStream(input: PutStreamInput): Promise<StoredObject>;
  /** Writes a small object (a manifest) in one request, with its sha256 in the metadata, under the same rules. */
  putObject(input: PutObjectInput): Promise<StoredObject>;
  /** Proves a stored copy: size and metadata sha256 (and with `deep`, the bytes) must match. */
  verify(key: string, expected: ExpectedContent, options?: VerifyOptions): Promise<ObjectHead>;
  /** The object's size and metadata, or null when there is no such object. */
  head(key: string): Promise<ObjectHead | null>;
  /** Unfinished multipart uploads under the store's prefix (plus `prefix`), for tests and ops. */
  listMultipartUploads(prefix?: string): Promise<MultipartUploadInfo[]>;
  /**
   * Removes what earlier attempts of `scope` left in its staging area (unfinished uploads, staged
   * objects). Never fails: what it cannot remove is logged and left to the bucket's lifecycle rule.
   */
  clearStaging(scope: string): Promise<StagingSweep>;
  /** Readiness: the bucket answers within a few seconds. */
  ping(): Promise<void>;
}
