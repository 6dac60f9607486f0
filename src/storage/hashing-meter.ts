import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { StorageError } from './storage-error';

export interface HashingMeterLimits {
  /** When set, the stream fails (INTEGRITY) as soon as it is clear the byte count will differ. */
  expectedSize?: number;
  /** The stream fails (INVALID_INPUT) once more than this many bytes have passed. */
  maxSize: number;
}

/**
 * Passes bytes through unchanged while counting them and computing their sha256, so a copy can be
 * proven without ever holding the whole file. Fails the stream instead of ending it when the byte
 * count breaks a limit, so a consumer never completes an upload of the wrong bytes.
 */
export class HashingMeter extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private digest: string | undefined;
  private count = 0;

  constructor(private readonly limits: HashingMeterLimits) {
    super();
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.count;
  }

  /** Hex sha256 of everything that passed; only once the input has ended. */
  get sha256(): string {
    if (this.digest === undefined) throw new Error('HashingMeter: sha256 read before the stream ended');
    return this.digest;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.count += chunk.length;
    const { expectedSize, maxSize } = this.limits;
    if (expectedSize !== undefined && this.count > expectedSize) {
      callback(new StorageError(`the source sent more than the expected ${expectedSize} bytes`, 'INTEGRITY'));
      return;
    }
    if (this.count > maxSize) {
      callback(new StorageError(`the source is larger than the limit of ${maxSize} bytes`, 'INVALID_INPUT'));
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const { expectedSize } = this.limits;
    if (expectedSize !== undefined && this.count !== expectedSize) {
      callback(
        new StorageError(
          `the source ended after ${this.count} bytes, ${expectedSize} were expected`,
          'INTEGRITY',
        ),
      );
      return;
    }
    this.digest = this.hash.digest('hex');
    callback();
  }
}
