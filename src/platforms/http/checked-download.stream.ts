import { Readable } from 'node:stream';

export interface CheckedDownloadOptions {
  /** Longest wait for the next byte while the consumer is asking for data. */
  idleTimeoutMs: number;
  /** Declared Content-Length; the body must have exactly this many bytes. */
  expectedLength?: number;
  /** Turns a failure into the error the stream emits (so callers see one error type). */
  toError: (failure: DownloadFailure) => Error;
  highWaterMark?: number;
}

export type DownloadFailure =
  | { kind: 'idle'; received: number; idleTimeoutMs: number }
  | { kind: 'short'; received: number; expected: number }
  | { kind: 'long'; received: number; expected: number }
  | { kind: 'aborted'; received: number; cause?: unknown };

/**
 * Wraps a response body so that every way it can silently go wrong becomes an error on the stream:
 * a reset or premature close, fewer (or more) bytes than declared, or a server that stops sending.
 *
 * The idle timer only runs while the consumer wants data: time spent waiting for a slow consumer (an S3
 * upload applying backpressure) is not the server's idleness and must not abort the download.
 */
export class CheckedDownloadStream extends Readable {
  private received = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private settled = false;

  constructor(
    private readonly source: Readable,
    private readonly options: CheckedDownloadOptions,
  ) {
    super({ highWaterMark: options.highWaterMark ?? 256 * 1024 });
    source.on('data', this.onData);
    source.once('end', this.onEnd);
    source.once('error', this.onSourceError);
    source.once('close', this.onSourceClose);
    source.pause();
  }

  /** Bytes received so far. */
  get bytesReceived(): number {
    return this.received;
  }

  override _read(): void {
    if (this.settled) return;
    this.source.resume();
    this.armIdle();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.settled = true;
    this.clearIdle();
    this.detach();
    if (!this.source.destroyed) this.source.destroy();
    callback(error);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.settled) return;
    this.clearIdle();
    this.received += chunk.length;
    const expected = this.options.expectedLength;
    if (expected !== undefined && this.received > expected) {
      this.fail({ kind: 'long', received: this.received, expected });
      return;
    }
    if (this.push(chunk)) {
      this.armIdle();
    } else {
      this.source.pause();
    }
  };

  private readonly onEnd = (): void => {
    if (this.settled) return;
    const expected = this.options.expectedLength;
    if (expected !== undefined && this.received !== expected) {
      this.fail({ kind: 'short', received: this.received, expected });
      return;
    }
    this.settled = true;
    this.clearIdle();
    this.detach();
    this.push(null);
  };

  private readonly onSourceError = (cause: unknown): void => {
    this.fail({ kind: 'aborted', received: this.received, cause });
  };

  private readonly onSourceClose = (): void => {
    // 'close' without 'end' (and without 'error') is still a body that did not arrive whole.
    if (!this.settled) this.fail({ kind: 'aborted', received: this.received });
  };

  private fail(failure: DownloadFailure): void {
    if (this.settled) return;
    this.settled = true;
    this.clearIdle();
    this.destroy(this.options.toError(failure));
  }

  private armIdle(): void {
    if (this.settled || this.idleTimer) return;
    const idleTimeoutMs = this.options.idleTimeoutMs;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      this.fail({ kind: 'idle', received: this.received, idleTimeoutMs });
    }, idleTimeoutMs);
  }

  private clearIdle(): void {
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
  }

  private detach(): void {
    this.source.off('data', this.onData);
    this.source.off('end', this.onEnd);
    this.source.off('close', this.onSourceClose);
    // Keep an error listener: a late socket error on a detached source must not crash the process.
    this.source.off('error', this.onSourceError);
    this.source.on('error', noop);
  }
}

function noop(): void {}
