import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import type { S3ObjectStore } from '../../src/storage/s3-object-store';
import { s3rverOnly, startTestS3, TEST_S3_TARGET, type TestS3 } from '../support/s3';
import { rejection } from '../support/storage-rejection';

const MiB = 1024 * 1024;

function sha256Of(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A stream of `total` pseudo-random bytes made on demand, with its sha256 computed on the side. */
function generatedStream(total: number, chunkSize = MiB): { stream: Readable; sha256: () => string } {
  const seed = randomBytes(chunkSize);
  const hash = createHash('sha256');
  let sent = 0;
  let index = 0;
  const stream = new Readable({
    read() {
      if (sent >= total) {
        this.push(null);
        return;
      }
      const size = Math.min(chunkSize, total - sent);
      const chunk = Buffer.allocUnsafe(size);
      seed.copy(chunk, 0, 0, size);
      if (size >= 4) chunk.writeUInt32BE(index++, 0);
      hash.update(chunk);
      sent += size;
      this.push(chunk);
    },
  });
  return { stream, sha256: () => hash.digest('hex') };
}

async function download(s3: TestS3, objectKey: string): Promise<Buffer> {
  const response = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: objectKey }));
  return Buffer.from(await response.Body!.transformToByteArray());
}

async function until(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe(`S3ObjectStore against ${TEST_S3_TARGET.name}`, () => {
  let s3: TestS3;
  let store: S3ObjectStore;

  before(async () => {
    s3 = await startTestS3();
    store = s3.createStore();
  });
  after(async () => {
    await s3?.close();
  });

  test('every write comes back proven by the sha256 S3 reports for the stored bytes', async () => {
    // An S3 that reports no sha256 of what it stores gets every copy read back instead.
    const proof = s3.reportsSha256 ? 'checksum' : 'read-back';
    const small = randomBytes(64 * 1024);
    const one = await store.putStream({
      key: 'proof/small.bin',
      body: Readable.from([small]),
      contentType: 'application/octet-stream',
      metadata: {},
    });
    assert.deepEqual([one.proof, one.adopted], [proof, false]);

    const large = randomBytes(6 * 1024 * 1024); // above the 5 MiB part size of the test store
    const many = await store.putStream({
      key: 'proof/large.bin',
      body: Readable.from([large.subarray(0, 3_000_000), large.subarray(3_000_000)]),
      contentType: 'application/octet-stream',
      metadata: {},
    });
    assert.deepEqual([many.proof, many.adopted], [proof, false]);
    await store.verify('proof/large.bin', { size: large.length, sha256: sha256Of(large) }, { deep: true });

    const manifest = await store.putObject({
      key: 'proof/manifest.json',
      body: '{"a":1}',
      contentType: 'application/json',
    });
    assert.equal(manifest.proof, proof);
  });

  test('a small document round-trips with its sha256, metadata and tags', async () => {
    const content = randomBytes(300 * 1024);
    const stored = await store.putStream({
      key: '2026/11/env-1/signed_document/Vertrag_Müller.pdf',
      body: Readable.from([content.subarray(0, 1000), content.subarray(1000)]),
      contentType: 'application/pdf',
      metadata: { 'envelope-id': 'env-1', 'file-name': 'Vertrag Müller.pdf' },
      tags: { platform: 'esignanywhere', 'customer#ref': 'Ä/42?', 'aws:reserved': 'x' },
      expectedSize: content.length,
    });

    assert.equal(stored.size, content.length);
    assert.equal(stored.sha256, sha256Of(content));
    assert.equal(stored.objectKey, 'archive/2026/11/env-1/signed_document/Vertrag_Müller.pdf');
    assert.deepEqual(await download(s3, stored.objectKey), content);

    const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: stored.objectKey }));
    assert.equal(head.ContentType, 'application/pdf');
    assert.equal(head.Metadata?.sha256, sha256Of(content));
    assert.equal(head.Metadata?.['envelope-id'], 'env-1');
    const found = await store.head('2026/11/env-1/signed_document/Vertrag_Müller.pdf');
    assert.equal(found?.metadata['file-name'], 'Vertrag Müller.pdf');
    assert.equal(found?.sha256, stored.sha256);

    const tagging = await s3.client.send(
      new GetObjectTaggingCommand({ Bucket: s3.bucket, Key: stored.objectKey }),
    );
    // Sorted: S3 promises no order of tags (RGW answers them by key, s3rver as they were sent).
    assert.deepEqual(tagging.TagSet?.map((t) => [t.Key, t.Value]).sort(), [
      ['customer_ref', 'Ä/42_'],
      ['platform', 'esignanywhere'],
    ]);
  });

  test('a file larger than one part goes up in parts and still carries its sha256', async () => {
    const { stream, sha256 } = generatedStream(12 * MiB + 12345, 64 * 1024);
    const stored = await store.putStream({
      key: 'big/audit-trail.pdf',
      body: stream,
      contentType: 'application/pdf',
      metadata: { 'envelope-id': 'env-2' },
      tags: { kind: 'audit' },
    });
    const expected = sha256();

    assert.equal(stored.size, 12 * MiB + 12345);
    assert.equal(stored.sha256, expected);
    assert.equal(sha256Of(await download(s3, stored.objectKey)), expected);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: stored.objectKey }));
    assert.equal(head.Metadata?.sha256, expected);
    assert.equal(head.Metadata?.['envelope-id'], 'env-2');
    assert.equal(head.ContentType, 'application/pdf');
    const tagging = await s3.client.send(
      new GetObjectTaggingCommand({ Bucket: s3.bucket, Key: stored.objectKey }),
    );
    assert.deepEqual(tagging.TagSet, [{ Key: 'kind', Value: 'audit' }]);
    await store.verify('big/audit-trail.pdf', { size: stored.size, sha256: expected }, { deep: true });
    assert.deepEqual(await store.listMultipartUploads(), []);
  });

  test('a source failing midway leaves no multipart upload and no object, and its error is the cause', async () => {
    const source = new PassThrough();
    const sourceFailure = Object.assign(new Error('platform reset the download'), { code: 'PLATFORM_RESET' });
    const put = store.putStream({
      key: 'broken/signed.pdf',
      body: source,
      contentType: 'application/pdf',
      metadata: {},
    });
    source.write(randomBytes(6 * MiB));
    // The first part is on its way: a multipart upload exists now.
    await until(async () => (await store.listMultipartUploads()).length === 1);
    source.destroy(sourceFailure);

    const error = await rejection(put);
    assert.equal(error.code, 'SOURCE');
    assert.equal(error.cause, sourceFailure);
    assert.deepEqual(await store.listMultipartUploads(), []);
    assert.equal(await store.head('broken/signed.pdf'), null);
  });

  test('a source shorter or longer than its announced size fails with INTEGRITY and leaves nothing', async () => {
    const error = await rejection(
      store.putStream({
        key: 'short/doc.pdf',
        body: Readable.from([randomBytes(1000)]),
        contentType: 'application/pdf',
        metadata: {},
        expectedSize: 2000,
      }),
    );
    assert.equal(error.code, 'INTEGRITY');
    assert.equal(await store.head('short/doc.pdf'), null);

    const multipart = await rejection(
      store.putStream({
        key: 'short/big.pdf',
        body: generatedStream(6 * MiB).stream,
        contentType: 'application/pdf',
        metadata: {},
        expectedSize: 7 * MiB,
      }),
    );
    assert.equal(multipart.code, 'INTEGRITY');
    assert.equal(await store.head('short/big.pdf'), null);

    const long = await rejection(
      store.putStream({
        key: 'long/big.pdf',
        body: generatedStream(12 * MiB).stream,
        contentType: 'application/pdf',
        metadata: {},
        expectedSize: 7 * MiB,
      }),
    );
    assert.equal(long.code, 'INTEGRITY');
    assert.equal(await store.head('long/big.pdf'), null);
    assert.deepEqual(await store.listMultipartUploads(), []);
  });

  test('a source closed early, or already failed when handed over, is reported as its own failure', async () => {
    const early = new PassThrough();
    const put = store.putStream({
      key: 'early/a.pdf',
      body: early,
      contentType: 'application/pdf',
      metadata: {},
    });
    early.write(Buffer.alloc(1000));
    early.destroy();
    assert.equal((await rejection(put)).code, 'SOURCE');

    const failed = new PassThrough();
    const boom = new Error('the platform answered 500 mid-body');
    failed.on('error', () => undefined);
    failed.destroy(boom);
    await new Promise((resolve) => setImmediate(resolve));
    const error = await rejection(
      store.putStream({ key: 'early/b.pdf', body: failed, contentType: 'application/pdf', metadata: {} }),
    );
    assert.equal(error.code, 'SOURCE');
    assert.equal(error.cause, boom);
    assert.equal(await store.head('early/a.pdf'), null);
  });

  test('an aborted upload stops with ABORTED, releases its source and leaves no upload', async () => {
    const source = new PassThrough();
    const controller = new AbortController();
    const put = store.putStream({
      key: 'aborted/doc.pdf',
      body: source,
      contentType: 'application/pdf',
      metadata: {},
      signal: controller.signal,
    });
    source.write(randomBytes(6 * MiB));
    await until(async () => (await store.listMultipartUploads()).length === 1);
    controller.abort(new Error('lease lost'));

    const error = await rejection(put);
    assert.equal(error.code, 'ABORTED');
    assert.ok(source.destroyed);
    assert.deepEqual(await store.listMultipartUploads(), []);
    assert.equal(await store.head('aborted/doc.pdf'), null);
  });

  test('verify accepts the right size and sha256 and refuses a wrong one or a missing object', async () => {
    const content = Buffer.from('%PDF-1.7 tiny');
    const stored = await store.putStream({
      key: 'verify/doc.pdf',
      body: Readable.from([content]),
      contentType: 'application/pdf',
      metadata: {},
    });

    const ok = await store.verify('verify/doc.pdf', { size: content.length, sha256: sha256Of(content) });
    assert.equal(ok.size, content.length);
    const wrongSize = await rejection(
      store.verify('verify/doc.pdf', { size: content.length + 1, sha256: stored.sha256 }),
    );
    assert.equal(wrongSize.code, 'INTEGRITY');
    const wrongSha = await rejection(
      store.verify('verify/doc.pdf', { size: content.length, sha256: sha256Of(Buffer.from('x')) }),
    );
    assert.equal(wrongSha.code, 'INTEGRITY');
    const missing = await rejection(store.verify('verify/none.pdf', { size: 1, sha256: stored.sha256 }));
    assert.equal(missing.code, 'NOT_FOUND');
  });

  test('deep verify notices bytes changed behind intact metadata', async () => {
    const original = randomBytes(4096);
    const stored = await store.putStream({
      key: 'tampered/doc.pdf',
      body: Readable.from([original]),
      contentType: 'application/pdf',
      metadata: {},
    });
    const forged = Buffer.from(original);
    forged[100] ^= 0xff;
    await s3.client.send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: stored.objectKey,
        Body: forged,
        Metadata: { sha256: stored.sha256 },
      }),
    );

    await store.verify('tampered/doc.pdf', { size: stored.size, sha256: stored.sha256 });
    const error = await rejection(
      store.verify('tampered/doc.pdf', { size: stored.size, sha256: stored.sha256 }, { deep: true }),
    );
    assert.equal(error.code, 'INTEGRITY');
  });

  test('putObject writes a manifest in one request with its sha256 in the metadata', async () => {
    const manifest = JSON.stringify({ schema: 'test', documents: [] });
    const stored = await store.putObject({
      key: 'env-9/manifest.json',
      body: manifest,
      contentType: 'application/json',
      metadata: { 'document-kind': 'manifest' },
      tags: { kind: 'manifest' },
    });
    assert.equal(stored.sha256, sha256Of(Buffer.from(manifest)));
    assert.equal((await download(s3, stored.objectKey)).toString('utf8'), manifest);
    const verified = await store.verify('env-9/manifest.json', { size: stored.size, sha256: stored.sha256 });
    assert.equal(verified.contentType, 'application/json');
    assert.equal(verified.metadata['document-kind'], 'manifest');
  });

  test('an unsafe key is refused before anything is sent, and the source is released', async () => {
    for (const key of ['../etc/passwd', '/abs.pdf', 'a//b.pdf', 'a\u0000b.pdf', 'x'.repeat(1100)]) {
      const source = new PassThrough();
      const error = await rejection(
        store.putStream({ key, body: source, contentType: 'application/pdf', metadata: {} }),
      );
      assert.equal(error.code, 'INVALID_INPUT', key);
      assert.ok(source.destroyed, `source of ${JSON.stringify(key)} released`);
    }
    const badMetadata = await rejection(
      store.putObject({
        key: 'ok.json',
        body: '{}',
        contentType: 'application/json',
        metadata: { Bad_Key: 'x' },
      }),
    );
    assert.equal(badMetadata.code, 'INVALID_INPUT');
  });

  test('a 300 MB stream uploads with bounded memory', async (t) => {
    const bigStore = s3.createStore({ partSizeBytes: 8 * MiB, queueSize: 2 });
    const total = 300 * MiB;
    const { stream, sha256 } = generatedStream(total);
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    let stored;
    try {
      stored = await bigStore.putStream({
        key: 'big/300mb.bin',
        body: stream,
        contentType: 'application/octet-stream',
        metadata: {},
        expectedSize: total,
      });
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    const growthMiB = (peak - baseline) / MiB;
    assert.equal(stored.size, total);
    assert.equal(stored.sha256, sha256());
    t.diagnostic(`RSS grew by ${growthMiB.toFixed(0)} MiB for ${total / MiB} MiB`);
    assert.ok(growthMiB < 160, `RSS grew by ${growthMiB.toFixed(0)} MiB`);
    await bigStore.verify('big/300mb.bin', { size: total, sha256: stored.sha256 });
  });

  s3rverOnly(test, 'down() and up() stop and restart the server')(
    'with S3 down a transient StorageError comes back, and uploads work again once it is up',
    async () => {
      const put = () =>
        store.putStream({
          key: 'outage/doc.pdf',
          body: Readable.from([Buffer.from('%PDF outage test')]),
          contentType: 'application/pdf',
          metadata: {},
        });
      await s3.down();
      try {
        const error = await rejection(put());
        assert.equal(error.code, 'TRANSIENT');
        assert.equal(error.transient, true);
        const ping = await rejection(store.ping());
        assert.equal(ping.code, 'TRANSIENT');
      } finally {
        await s3.up();
      }
      const stored = await put();
      await store.verify('outage/doc.pdf', { size: stored.size, sha256: stored.sha256 });
      await store.ping();
    },
  );

  test('ping names a missing bucket as a configuration problem', async () => {
    const lost = s3.createStore({ bucket: 'no-such-bucket' });
    const error = await rejection(lost.ping());
    assert.equal(error.code, 'CONFIG');
  });
});
