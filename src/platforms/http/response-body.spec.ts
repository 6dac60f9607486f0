import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { BodyTooLargeError, decodeContent, readBody } from './response-body';
import { parseContentDispositionFileName, parseContentLength } from './response-headers';

describe('readBody', () => {
  it('reads a body up to the limit and refuses one byte more', async () => {
    const body = await readBody(Readable.from([Buffer.from('abc'), Buffer.from('de')]), 5);
    assert.equal(body.toString(), 'abcde');
    const source = Readable.from([Buffer.from('abc'), Buffer.from('def')]);
    await assert.rejects(readBody(source, 5), BodyTooLargeError);
    assert.ok(source.destroyed);
  });
});

describe('decodeContent', () => {
  it('undoes gzip, deflate and br, and leaves identity alone', () => {
    const text = Buffer.from('{"ok":true}');
    assert.equal(decodeContent(text, undefined), text);
    assert.equal(decodeContent(text, ' Identity '), text);
    assert.deepEqual(decodeContent(gzipSync(text), 'gzip'), text);
    assert.deepEqual(decodeContent(gzipSync(text), 'x-gzip'), text);
    assert.deepEqual(decodeContent(deflateSync(text), 'deflate'), text);
    assert.deepEqual(decodeContent(brotliCompressSync(text), 'BR'), text);
  });

  it('throws for an unknown encoding and for bytes that do not decode', () => {
    assert.throws(() => decodeContent(Buffer.from('x'), 'zstd'), /unsupported Content-Encoding zstd/);
    assert.throws(() => decodeContent(Buffer.from('not gzip'), 'gzip'));
  });
});

describe('parseContentLength', () => {
  it('is undefined when absent and null when malformed', () => {
    assert.equal(parseContentLength(undefined), undefined);
    assert.equal(parseContentLength(' 42 '), 42);
    assert.equal(parseContentLength('0'), 0);
    for (const bad of ['', '-1', '1.5', '12, 12', '99999999999999999999']) {
      assert.equal(parseContentLength(bad), null, bad);
    }
  });
});

describe('parseContentDispositionFileName', () => {
  it('prefers filename* and ignores what does not parse', () => {
    assert.equal(
      parseContentDispositionFileName(`attachment; filename="a.pdf"; filename*=UTF-8''M%C3%BCller.pdf`),
      'Müller.pdf',
    );
    assert.equal(parseContentDispositionFileName('attachment; filename="a.pdf"'), 'a.pdf');
    assert.equal(parseContentDispositionFileName('attachment'), undefined);
    assert.equal(parseContentDispositionFileName('attachment; filename='), undefined);
    assert.equal(parseContentDispositionFileName(undefined), undefined);
  });
});
