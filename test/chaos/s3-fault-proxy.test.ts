import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3FaultProxy } from '../support/s3-fault-proxy';
import { startTestS3, type TestS3 } from '../support/s3';

const T = { timeout: 30_000 };

describe('S3 fault proxy', () => {
  let s3: TestS3;
  let proxy: S3FaultProxy;
  let client: S3Client;

  before(async () => {
    s3 = await startTestS3();
    proxy = new S3FaultProxy('127.0.0.1', Number(new URL(s3.endpoint).port));
    await proxy.start();
    // One attempt per request, so each fault is seen by the caller as it happened.
    client = new S3Client({
      endpoint: proxy.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      maxAttempts: 1,
    });
  });

  after(async () => {
    client.destroy();
    await proxy.stop();
    await s3.close();
  });

  const body = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => i % 251));
  const put = (key: string) =>
    client.send(
      new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body, ContentLength: body.length }),
    );
  const stored = async (key: string): Promise<Buffer | undefined> => {
    try {
      const res = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
      return Buffer.from(await res.Body!.transformToByteArray());
    } catch {
      return undefined;
    }
  };

  it('passes requests through untouched when no rule matches', T, async () => {
    proxy.addFault({ keyIncludes: ['elsewhere/'], fault: { kind: 'slowDown' } });
    await put('plain/a.bin');
    assert.deepEqual(await stored('plain/a.bin'), body);
    const head = await client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: 'plain/a.bin' }));
    assert.equal(head.ContentLength, body.length);
  });

  it('stores one flipped byte and drops the checksum S3 would check it with', T, async () => {
    proxy.addFault({
      operation: 'PutObject',
      keyIncludes: ['corrupt/'],
      times: 1,
      fault: { kind: 'corrupt' },
    });
    await client.send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: 'corrupt/a.bin',
        Body: body,
        ContentLength: body.length,
        ChecksumAlgorithm: 'SHA256',
      }),
    );
    const bytes = (await stored('corrupt/a.bin'))!;
    assert.equal(bytes.length, body.length);
    const differing = [...bytes.keys()].filter((i) => bytes[i] !== body[i]);
    assert.equal(differing.length, 1);
    const [event] = proxy.events().filter((e) => e.key === 'corrupt/a.bin');
    assert.equal(event.kind, 'corrupt');
    assert.equal(event.detail, `flipped byte ${differing[0]} of ${body.length}`);
    await put('corrupt/b.bin');
    assert.deepEqual(await stored('corrupt/b.bin'), body, 'the rule was used up');
  });

  it('carries out a request whose answer it then loses', T, async () => {
    proxy.addFault({
      operation: 'PutObject',
      keyIncludes: ['lost/'],
      times: 1,
      fault: { kind: 'lostAnswer' },
    });
    await assert.rejects(put('lost/a.bin'));
    assert.deepEqual(await stored('lost/a.bin'), body);
  });

  it('cuts an upload mid-body without S3 ever seeing the request', T, async () => {
    proxy.addFault({
      operation: 'PutObject',
      keyIncludes: ['cut/'],
      times: 1,
      fault: { kind: 'reset', afterFraction: 0.3 },
    });
    await assert.rejects(put('cut/a.bin'));
    assert.equal(await stored('cut/a.bin'), undefined);
    const [event] = proxy.events().filter((e) => e.key === 'cut/a.bin');
    assert.match(event.detail, /^reset after \d+ of 65536 body bytes$/);
  });

  it('answers 503 SlowDown without forwarding', T, async () => {
    proxy.addFault({ keyIncludes: ['slow/'], times: 1, fault: { kind: 'slowDown' } });
    await assert.rejects(put('slow/a.bin'), (error: Error & { $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(error.name, 'SlowDown');
      assert.equal(error.$metadata?.httpStatusCode, 503);
      return true;
    });
    assert.equal(await stored('slow/a.bin'), undefined);
    assert.deepEqual(
      proxy
        .events()
        .filter((e) => e.kind === 'slowDown')
        .map((e) => [e.operation, e.key, e.status]),
      [['PutObject', 'slow/a.bin', 503]],
    );
  });
});
