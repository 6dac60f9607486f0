import { Transform, type TransformCallback } from 'node:stream';
import { ArchiveError } from './archive-error';

export interface DownloadLimits {
  /** More bytes than this fail the file (`TOO_LARGE`). */
  maxBytes: number;
  /** After `graceMs`, the file must have come at least this fast on average, or it is cut (`TRANSIENT`). */
  minBytesPerSecond: number;
  graceMs: number;
  /** Called on every chunk: the transfer is making progress. */
  onProgress?: () => void;
}

const CHECK_EVERY_MS = 500;

/**
 * Passes a platform download through while holding it to a size limit and a minimum average rate,
 * on top of the HTTP idle timeout (which a trickle of one byte a second resets forever). A file
 * that never ends is cut at the size limit; a download that crawls is cut at the rate floor.
 */
export class DownloadGuard extends Transform {
  private bytes = 0;
  private readonly started = Date.now();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly label: string,
    private readonly limits: DownloadLimits,
  ) {
    super();
    this.timer = setInterval(() => this.checkRate(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  /** Refuses a file whose announced size is already above the limit, before a byte is read. */
  static checkAnnounced(label: string, size: number | undefined, maxBytes: number): void {
    if (size !== undefined && size > maxBytes) throw tooLarge(label, `announces ${size} bytes`, maxBytes);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limits.maxBytes) {
      callback(tooLarge(this.label, `sent more than ${this.limits.maxBytes} bytes`, this.limits.maxBytes));
      return;
    }
    this.limits.onProgress?.();
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    clearInterval(this.timer);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearInterval(this.timer);
    callback(error);
  }

  private checkRate(): void {
    const elapsed = Date.now() - this.started;
    const { graceMs, minBytesPerSecond } = this.limits;
    if (elapsed <= graceMs || this.destroyed) return;
    const required = (minBytesPerSecond * (elapsed - graceMs)) / 1000;
    if (this.bytes >= required) return;
    const seconds = Math.round(elapsed / 100) / 10;
    this.destroy(
      new ArchiveError(
        `download of ${this.label} cut: ${this.bytes} bytes in ${seconds} s, slower than the minimum ` +
          `${Math.round(minBytesPerSecond / 1024)} KB/s after the first ${Math.round(graceMs / 1000)} s`,
        'TRANSIENT',
      ),
    );
  }
}

function tooLarge(label: string, what: string, maxBytes: number): ArchiveError {
  return new ArchiveError(
    `${label} ${what}, more than the ${Math.round(maxBytes / 1024 ** 2)} MB allowed per file (ARCHIVE_MAX_FILE_MB)`,
    'TOO_LARGE',
  );
}
