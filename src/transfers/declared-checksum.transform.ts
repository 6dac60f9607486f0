import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ArchiveError } from './archive-error';

/** A sha256 as platforms give it: 64 hex digits, compared in lower case. */
const SHA256_HEX = /^[0-9a-f]{64}$/i;

/**
 * Passes bytes through unchanged and fails the stream (CHECKSUM) at its end unless their sha256 is
 * the one the platform gives for the file. The failure comes before the end of the stream, so the
 * object store never completes a copy of bytes the platform disowns.
 */
export class DeclaredChecksumCheck extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private readonly expected: string;

  constructor(
    private readonly label: string,
    declared: string,
  ) {
    super();
    if (!SHA256_HEX.test(declared)) {
      throw new ArchiveError(
        `the platform gives ${label} a checksum that is not a sha256 (${JSON.stringify(declared.slice(0, 80))})`,
        'PROTOCOL',
      );
    }
    this.expected = declared.toLowerCase();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const actual = this.hash.digest('hex');
    callback(
      actual === this.expected
        ? null
        : new ArchiveError(
            `${this.label} does not match the platform's checksum: read sha256 ${actual}, the platform gives ${this.expected}`,
            'CHECKSUM',
          ),
    );
  }
}
