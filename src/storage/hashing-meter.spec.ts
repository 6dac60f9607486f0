import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { HashingMeter } from './hashing-meter';
import { StorageError } from './storage-error';

function sink(): Writable {
  return new Writable({ write: (_chunk, _encoding, done) => done() });
}

describe('HashingMeter', () => {
  it('counts bytes and hashes them on the way through', async () => {
    const parts = [Buffer.from('hello '), Buffer.from('world'), Buffer.alloc(0)];
    const meter = new HashingMeter({ maxSize: 100 });
    await pipeline(Readable.from(parts), meter, sink());
    assert.equal(meter.bytes, 11);
    assert.equal(meter.sha256, createHash('sha256').update('hello world').digest('hex'));
  });

  it('fails with INTEGRITY when the source sends more or less than expected', async () => {
    const integrity = (error: unknown) => error instanceof StorageError && error.code === 'INTEGRITY';
    await assert.rejects(
      pipeline(
        Readable.from([Buffer.alloc(10)]),
        new HashingMeter({ expectedSize: 9, maxSize: 100 }),
        sink(),
      ),
      integrity,
    );
    await assert.rejects(
      pipeline(
        Readable.from([Buffer.alloc(10)]),
        new HashingMeter({ expectedSize: 11, maxSize: 100 }),
        sink(),
      ),
      integrity,
    );
    const exact = new HashingMeter({ expectedSize: 10, maxSize: 100 });
    await pipeline(Readable.from([Buffer.alloc(10)]), exact, sink());
    assert.equal(exact.bytes, 10);
  });

  it('fails once the size limit is passed and never reports a hash for a partial stream', async () => {
    const meter = new HashingMeter({ maxSize: 5 });
    await assert.rejects(
      pipeline(Readable.from([Buffer.alloc(3), Buffer.alloc(3)]), meter, sink()),
      (error: unknown) => error instanceof StorageError && error.code === 'INVALID_INPUT',
    );
    assert.throws(() => meter.sha256);
  });
});
