import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { PdfSignatureCheck } from './pdf-signature.transform';

async function check(chunks: (string | Buffer)[]): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(chunks.map((c) => Buffer.from(c))),
    new PdfSignatureCheck('test.pdf'),
    new Writable({
      write(chunk: Buffer, _e, cb) {
        out.push(chunk);
        cb();
      },
    }),
  );
  return Buffer.concat(out);
}

describe('PDF signature check', () => {
  it('passes a PDF through unchanged, even split into single bytes', async () => {
    const pdf = '%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\r\n \n';
    assert.equal((await check(pdf.split(''))).toString(), pdf);
  });

  it('rejects a file that does not start with %PDF-', async () => {
    await assert.rejects(check(['<html>', '%%EOF']), /does not start with %PDF-/);
    await assert.rejects(check(['%P', 'DX-1.7 ... %%EOF']), /does not start with %PDF-/);
  });

  it('rejects a truncated PDF without %%EOF', async () => {
    await assert.rejects(check(['%PDF-1.7\n', 'stream...']), /does not end with %%EOF/);
    await assert.rejects(check(['%PDF']), /does not end with %%EOF/);
    await assert.rejects(check([]), /does not end with %%EOF/);
  });

  it('finds %%EOF split across chunks', async () => {
    const body = await check(['%PDF-1.4\n', Buffer.alloc(5000, 0x41), '%%E', 'OF\n']);
    assert.equal(body.length, 9 + 5000 + 6);
  });

  it('looks only at the very end, whatever the chunk sizes', async () => {
    const big = (fill: number, tail = '') => Buffer.concat([Buffer.alloc(70_000, fill), Buffer.from(tail)]);
    await check(['%PDF-1.4\n', big(0x41, '%%EOF'), '\n', ' ']);
    await check(['%PDF-1.4\n', big(0x41), Buffer.from('x%%EO'), 'F']);
    await assert.rejects(check(['%PDF-1.4\n', big(0x41, '%%EOF'), big(0x42)]), /does not end with %%EOF/);
    await assert.rejects(
      check(['%PDF-1.4\n', big(0x41, '%%EOF'), 'trailing junk']),
      /does not end with %%EOF/,
    );
  });
});
