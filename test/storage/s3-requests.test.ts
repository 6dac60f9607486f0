import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { StorageError } from '../../src/storage/storage-error';
import { s3rverOnly, startTestS3, TEST_S3_TARGET, type TestS3 } from '../support/s3';
import { rejection } from '../support/storage-rejection';

/** What a request asked S3 to do, e.g. `PUT object`, `GET tagging`, `PUT tagging`. */
type Call = string;
/** Answers a request itself (true), or lets it through (false); may take its time. */
type Override = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
type Rewrite = (req: IncomingMessage, headers: IncomingMessage['headers']) => IncomingMessage['headers'];

/** An HTTP proxy in front of s3rver that notes every request and can answer some itself. */
async function startRecordingProxy(target: string): Promise<{
  endpoint: string;
  calls: Call[];
  override(fn: Override | undefined): void;
  /** Changes the headers of S3's answers on their way back. */
  rewrite(fn: Rewrite | undefined): void;
  /** Lets matching requests reach S3, then cuts the connection instead of passing the answer on. */
  loseAnswers(fn: ((req: IncomingMessage) => boolean) | undefined): void;
  close(): Promise<void>;
}> {
  const calls: Call[] = [];
  let answer: Override | undefined;
  let rewrite: Rewrite | undefined;
  let lose: ((req: IncomingMessage) => boolean) | undefined;
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => void handle(req, res));
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const subresource = [...url.searchParams.keys()].find((k) => k !== 'x-id');
    calls.push(`${req.method} ${req.headers['x-amz-copy-source'] ? 'copy' : (subresource ?? 'object')}`);
    if (await answer?.(req, res)) {
      req.resume();
      return;
    }
    const lost = lose?.(req) ?? false;
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (upstreamRes) => {
        if (lost) {
          upstreamRes.resume();
          upstreamRes.on('end', () => res.socket?.destroy());
          return;
        }
        const headers = rewrite ? rewrite(req, upstreamRes.headers) : upstreamRes.headers;
        res.writeHead(upstreamRes.statusCode ?? 502, headers);
        upstreamRes.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    override: (fn) => (answer = fn),
    loseAnswers: (fn) => (lose = fn),
    rewrite: (fn) => (rewrite = fn),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const isGetTagging = (req: IncomingMessage) =>
  req.method === 'GET' && new URL(req.url ?? '/', 'http://proxy').searchParams.has('tagging');

describe('what the store asks of S3', () => {
  let s3: TestS3;
  let proxy: Awaited<ReturnType<typeof startRecordingProxy>>;

  before(async () => {
    s3 = await startTestS3();
    proxy = await startRecordingProxy(s3.endpoint);
  });
  beforeEach(() => {
    proxy.calls.length = 0;
    proxy.override(undefined);
    proxy.rewrite(undefined);
    proxy.loseAnswers(undefined);
  });
  after(async () => {
    await proxy?.close();
    await s3?.close();
  });

  const objectBytes = async (key: string) =>
    Buffer.from(
      await (
        await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))
      ).Body!.transformToByteArray(),
    );
  // Sorted: S3 promises no order of tags (RGW answers them by key, s3rver as they were sent).
  const tagsOf = async (key: string) =>
    (await s3.client.send(new GetObjectTaggingCommand({ Bucket: s3.bucket, Key: key }))).TagSet?.map(
      (t) => `${t.Key}=${t.Value}`,
    ).sort();
  /** The requests that prove a copy: S3's sha256 on HEAD, or a read-back where it reports none. */
  const proof = (): Call[] => (s3.reportsSha256 ? ['HEAD object'] : ['HEAD object', 'GET object']);
  const upload = (store: ReturnType<TestS3['createStore']>, key: string, tags: Record<string, string>) =>
    store.putStream({
      key,
      body: Readable.from([randomBytes(10_000)]),
      contentType: 'application/pdf',
      metadata: { 'envelope-id': 'env-t' },
      tags,
    });

  test('the embedded S3 keeps the tags of a PutObject, and a later PutObject without them clears them', async () => {
    await s3.client.send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: 'raw/a.pdf',
        Body: 'x',
        Tagging: 'kind=signed&who=J%C3%BCrg%20M',
      }),
    );
    assert.deepEqual(await tagsOf('raw/a.pdf'), ['kind=signed', 'who=Jürg M']);

    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'raw/a.pdf', Body: 'y' }));
    assert.deepEqual(await tagsOf('raw/a.pdf'), []);
  });

  s3rverOnly(
    test,
    "checks the double's answers against AWS's; RGW answers 400 InvalidArgument and keeps duplicate keys",
  )('the embedded S3 refuses a bad tag set in a PutObject and stores nothing', async () => {
    const eleven = Array.from({ length: 11 }, (_, i) => `k${i}=v`).join('&');
    for (const Tagging of [eleven, 'dup=1&dup=2', `${'k'.repeat(129)}=v`]) {
      await assert.rejects(
        s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'raw/bad.pdf', Body: 'x', Tagging })),
        (error: Error) => error.name === 'InvalidTag',
      );
    }
    await assert.rejects(
      s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: 'raw/bad.pdf' })),
      (error: Error) => error.name === 'NotFound',
    );
  });

  test('once S3 is seen to keep them, a tagged document costs one write and one proof', async () => {
    const store = s3.createStore({ endpoint: proxy.endpoint });
    const first = await upload(store, 'once/1.pdf', { platform: 'esignanywhere', kind: 'signed_document' });
    assert.deepEqual(proxy.calls, [...PROBE, 'PUT object', ...proof(), 'GET tagging']);
    proxy.calls.length = 0;
    const second = await upload(store, 'once/2.pdf', { platform: 'esignanywhere', kind: 'audit_trail_pdf' });
    assert.deepEqual(proxy.calls, ['PUT object', ...proof()]);
    assert.equal(second.proof, s3.reportsSha256 ? 'checksum' : 'read-back');
    assert.deepEqual(await tagsOf(first.objectKey), ['kind=signed_document', 'platform=esignanywhere']);
    assert.deepEqual(await tagsOf(second.objectKey), ['kind=audit_trail_pdf', 'platform=esignanywhere']);
  });

  test('an S3 that drops tags sent with the upload gets them in a request of their own, from then on', async () => {
    const store = s3.createStore({ endpoint: proxy.endpoint });
    // The endpoint says the object has no tags, as one that ignores x-amz-tagging would.
    proxy.override((req, res) => {
      if (!isGetTagging(req)) return false;
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Tagging><TagSet></TagSet></Tagging>');
      return true;
    });
    await upload(store, 'drop/1.pdf', { kind: 'signed_document' });
    assert.deepEqual(proxy.calls, [...PROBE, 'PUT object', ...proof(), 'GET tagging', 'PUT tagging']);
    proxy.calls.length = 0;
    const second = await upload(store, 'drop/2.pdf', { kind: 'legal_document' });
    assert.deepEqual(proxy.calls, ['PUT object', ...proof(), 'PUT tagging']);
    assert.deepEqual(await tagsOf(second.objectKey), ['kind=legal_document']);
    // Untagged objects need no tagging request.
    proxy.calls.length = 0;
    await upload(store, 'drop/3.pdf', {});
    assert.deepEqual(proxy.calls, ['PUT object', ...proof()]);
  });

  test('a role that may not read tags back tags each object the safe way', async () => {
    const store = s3.createStore({ endpoint: proxy.endpoint });
    proxy.override((req, res) => {
      if (!isGetTagging(req)) return false;
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end(
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>',
      );
      return true;
    });
    const first = await upload(store, 'denied/1.pdf', { kind: 'signed_document' });
    assert.deepEqual(proxy.calls, [...PROBE, 'PUT object', ...proof(), 'GET tagging', 'PUT tagging']);
    assert.deepEqual(await tagsOf(first.objectKey), ['kind=signed_document']);
    proxy.calls.length = 0;
    await upload(store, 'denied/2.pdf', { kind: 'signed_document' });
    assert.deepEqual(proxy.calls, ['PUT object', ...proof(), 'PUT tagging']);
  });

  test('a tag read-back that fails for a transient reason fails the upload; the next attempt adopts the proven copy', async () => {
    const store = s3.createStore({ endpoint: proxy.endpoint, maxAttempts: 1 });
    proxy.override((req, res) => {
      if (!isGetTagging(req)) return false;
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code></Error>');
      return true;
    });
    const body = randomBytes(10_000);
    const put = () =>
      store.putStream({
        key: 'flaky/1.pdf',
        body: Readable.from([body]),
        contentType: 'application/pdf',
        metadata: {},
        tags: { kind: 'signed_document' },
      });
    await assert.rejects(put(), { code: 'TRANSIENT' });
    // The copy itself is whole and proven: it stays, as every final key does.
    const kept = await s3.client.send(
      new HeadObjectCommand({ Bucket: s3.bucket, Key: 'archive/flaky/1.pdf' }),
    );
    assert.equal(kept.Metadata?.sha256, sha256Hex(body));
    // The question is still open: the next attempt finds the same copy, proves it, and asks again.
    proxy.override(undefined);
    proxy.calls.length = 0;
    const again = await put();
    assert.equal(again.adopted, true);
    assert.deepEqual(proxy.calls, ['PUT object', 'HEAD object', ...proof(), 'GET tagging']);
    assert.deepEqual(await tagsOf(again.objectKey), ['kind=signed_document']);
  });

  s3rverOnly(test, 'corruptNextWrites makes the server keep other bytes than it was sent')(
    'a copy is proven by the sha256 S3 reports for the stored bytes, never by what a write answer echoes',
    async () => {
      const store = s3.createStore({ endpoint: proxy.endpoint });
      const body = randomBytes(20_000);
      const sha256 = createHash('sha256').update(body).digest();
      const put = (key: string) =>
        store.putStream({ key, body: Readable.from([body]), contentType: 'application/pdf', metadata: {} });

      // The write's answer echoes our checksum and the MD5 of what was sent, but a bad disk kept
      // other bytes: nothing is proven.
      s3.corruptNextWrites(1, 'archive/echo/');
      proxy.rewrite((req, headers) =>
        req.method === 'PUT'
          ? {
              ...headers,
              etag: `"${createHash('md5').update(body).digest('hex')}"`,
              'x-amz-checksum-sha256': sha256.toString('base64'),
            }
          : headers,
      );
      const error = await put('echo/1.pdf').then(
        () => assert.fail('a corrupted copy was taken as proven'),
        (e: StorageError) => e,
      );
      assert.equal(error.code, 'INTEGRITY');
      proxy.rewrite(undefined);

      // A store that reports no checksum gets a read-back.
      proxy.rewrite((req, headers) => {
        if (req.method !== 'HEAD') return headers;
        const { ['x-amz-checksum-sha256']: _sum, ['x-amz-checksum-type']: _type, ...rest } = headers;
        return rest;
      });
      proxy.calls.length = 0;
      const readBack = await put('echo/2.pdf');
      assert.equal(readBack.proof, 'read-back');
      assert.deepEqual(proxy.calls.slice(-2), ['HEAD object', 'GET object']);
      s3.corruptNextWrites(1, 'archive/echo/');
      assert.equal((await rejection(put('echo/3.pdf'))).code, 'INTEGRITY');
      proxy.rewrite(undefined);

      // The next attempt replaces a copy that proves nothing, and proves its own.
      const replaced = await put('echo/1.pdf');
      assert.deepEqual([replaced.proof, replaced.adopted], ['checksum', false]);
      assert.equal(sha256Hex(await objectBytes('archive/echo/1.pdf')), sha256.toString('hex'));
    },
  );

  test('a writer whose final request fails after another proved the key removes nothing', async () => {
    const late = s3.createStore({ endpoint: proxy.endpoint, maxAttempts: 1 });
    const winner = s3.createStore();
    const large = randomBytes(6 * MiB);
    const put = (store: ReturnType<TestS3['createStore']>) =>
      store.putStream({
        key: 'race/signed.pdf',
        body: Readable.from([large.subarray(0, MiB), large.subarray(MiB)]),
        contentType: 'application/pdf',
        metadata: {},
        tags: { kind: 'signed_document' },
      });
    let proven!: Awaited<ReturnType<typeof put>>;
    // The paused worker's copy to the final key is held until the other has proven that key, then fails.
    proxy.override(async (req, res) => {
      if (!req.headers['x-amz-copy-source']) return false;
      proven = await put(winner);
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code></Error>');
      return true;
    });
    await assert.rejects(put(late), { code: 'TRANSIENT' });
    proxy.override(undefined);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: proven.objectKey }));
    assert.equal(head.ETag, proven.etag);
    assert.equal(sha256Hex(await objectBytes(proven.objectKey)), sha256Hex(large));
    assert.deepEqual(await tagsOf(proven.objectKey), ['kind=signed_document']);

    // Its answer lost on the way back instead: the write happened or not, and nothing is removed.
    proxy.loseAnswers((req) => !!req.headers['x-amz-copy-source']);
    await assert.rejects(put(late));
    proxy.loseAnswers(undefined);
    assert.equal(sha256Hex(await objectBytes(proven.objectKey)), sha256Hex(large));
    // And once it runs again, it adopts the proven copy without writing it.
    proxy.calls.length = 0;
    const again = await put(late);
    assert.equal(again.adopted, true);
    const still = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: proven.objectKey }));
    assert.equal(still.ETag, proven.etag);
    assert.deepEqual(await late.listMultipartUploads(), []);
  });

  test('a stale writer never replaces a proven copy: the same bytes are adopted, other bytes are a conflict', async () => {
    // On s3rver also as a store that ignores conditional writes; a real S3 is what it is.
    const stores = TEST_S3_TARGET.real ? [undefined] : [undefined, { conditionalWrites: false }];
    for (const features of stores) {
      const other = await startTestS3({ features });
      try {
        const first = other.createStore();
        const stale = other.createStore();
        const body = randomBytes(30_000);
        const put = (store: ReturnType<TestS3['createStore']>, bytes: Buffer) =>
          store.putStream({
            key: 'stale/a.pdf',
            body: Readable.from([bytes]),
            contentType: 'application/pdf',
            metadata: {},
          });
        const proven = await put(first, body);
        const before = await other.client.send(
          new HeadObjectCommand({ Bucket: other.bucket, Key: proven.objectKey }),
        );
        const adopted = await put(stale, body);
        assert.equal(adopted.adopted, true);
        const conflict = await rejection(put(stale, randomBytes(30_000)));
        assert.equal(conflict.code, 'CONFLICT');
        const after = await other.client.send(
          new HeadObjectCommand({ Bucket: other.bucket, Key: proven.objectKey }),
        );
        assert.equal(after.ETag, before.ETag);
        assert.equal(after.LastModified?.getTime(), before.LastModified?.getTime());
        assert.equal(after.Metadata?.sha256, proven.sha256);
      } finally {
        await other.close();
      }
    }
  });

  test('a lost CreateMultipartUpload answer leaves no upload behind', async () => {
    const store = s3.createStore({ endpoint: proxy.endpoint });
    let lost = 0;
    proxy.loseAnswers(
      (req) => req.method === 'POST' && req.url?.includes('uploads') === true && lost++ === 0,
    );
    const large = randomBytes(6 * MiB);
    const stored = await store.putStream({
      key: 'lost/create.pdf',
      body: Readable.from([large]),
      contentType: 'application/pdf',
      metadata: {},
    });
    assert.equal(lost, 2, 'the first CreateMultipartUpload answer was lost and the SDK asked again');
    assert.equal(stored.sha256, sha256Hex(large));
    assert.deepEqual(await store.listMultipartUploads(), []);
  });

  s3rverOnly(test, 'features: { listUploads: false } plays a store without ListMultipartUploads')(
    'a store without ListMultipartUploads: clearing staging and discarding uploads only warn',
    async () => {
      const other = await startTestS3({ features: { listUploads: false } });
      try {
        const store = other.createStore();
        await assert.rejects(store.listMultipartUploads(), { code: 'REJECTED' });
        assert.deepEqual(await store.clearStaging('transfer-1'), { objects: 0, uploads: 0 });
        const large = randomBytes(6 * MiB);
        const stored = await store.putStream({
          key: 'nolist/big.pdf',
          body: Readable.from([large]),
          contentType: 'application/pdf',
          metadata: {},
          scope: 'transfer-1',
        });
        assert.equal(stored.sha256, sha256Hex(large));
      } finally {
        await other.close();
      }
    },
  );
});

const MiB = 1024 * 1024;
const PROBE = ['PUT object'];

function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
