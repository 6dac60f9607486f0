import { AppError } from '../common/app-error';
export const STORAGE_ERROR_CODES = [
  /** S3 unreachable, 5xx, throttled or timed out: the same call may succeed later. */
  'TRANSIENT',
  /** Credentials, permissions, bucket or endpoint are wrong: an operator must act. */
  'CONFIG',
  /** The object does not exist. */
  'NOT_FOUND',
  /** The stored object's size or sha256 is not what was expected. */
  'INTEGRITY',
  /** Another valid object with different content already holds the key; it is never overwritten. */
  'CONFLICT',
  /** The source stream failed; its own error is the `cause`, for the caller to classify. */
  'SOURCE',
  /** The caller's AbortSignal stopped the operation. */
  'ABORTED',
  /** The request was refused before reaching S3: bad key, metadata, size. A bug, not a retry case. */
  'INVALID_INPUT',
  /** S3 answered with a client error this adapter has no better name for. Retrying will not help. */
  'REJECTED',
] as const;

export type StorageErrorCode = (typeof STORAGE_ERROR_CODES)[number];

/** The one error type the object store throws. Vendor errors are kept as `cause`. */
export class StorageError extends AppError<StorageErrorCode> {
  constructor(message: string, code: StorageErrorCode, options?: { cause?: unknown }) {
    super(message, code, options);
  }

  get transient(): boolean {
    return this.code === 'TRANSIENT';
  }
}
