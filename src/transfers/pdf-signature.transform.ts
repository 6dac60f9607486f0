import { Transform, type TransformCallback } from 'node:stream';
import { ArchiveError } from './archive-error';

const HEAD = Buffer.from('%PDF-');
const TAIL = Buffer.from('%%EOF');
const TAIL_WINDOW = 1024;
const TRAILING_WHITESPACE = new Set([0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20]);

/**
 * Passes bytes through unchanged and fails the stream (CORRUPT) unless they start with `%PDF-`
 * and end with `%%EOF`, allowing trailing whitespace. Holds only a small tail in memory.
 */
export class PdfSignatureCheck extends Transform {
  private head = Buffer.alloc(0);
  private tail = Buffer.alloc(0);

  constructor(private readonly label: string) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.head.length < HEAD.length) {
      this.head = Buffer.concat([this.head, chunk.subarray(0, HEAD.length - this.head.length)]);
      if (!HEAD.subarray(0, this.head.length).equals(this.head)) {
        callback(new ArchiveError(`${this.label} is not a PDF: it does not start with %PDF-`, 'CORRUPT'));
        return;
      }
    }
    // Only the last TAIL_WINDOW bytes are kept, copied: never the whole chunk, never a view that pins it.
    if (chunk.length >= TAIL_WINDOW) {
      this.tail = Buffer.from(chunk.subarray(chunk.length - TAIL_WINDOW));
    } else {
      const joined = Buffer.concat([this.tail, chunk]);
      this.tail = joined.length > TAIL_WINDOW ? joined.subarray(joined.length - TAIL_WINDOW) : joined;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    let end = this.tail.length;
    while (end > 0 && TRAILING_WHITESPACE.has(this.tail[end - 1])) end--;
    const complete =
      this.head.equals(HEAD) && end >= TAIL.length && this.tail.subarray(end - TAIL.length, end).equals(TAIL);
    callback(
      complete
        ? null
        : new ArchiveError(`${this.label} is not a complete PDF: it does not end with %%EOF`, 'CORRUPT'),
    );
  }
}
