import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import { GetObjectTaggingCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startTestS3, type TestS3 } from '../support/s3';

/** What a request asked S3 to do, e.g. `PUT object`, `GET tagging`, `PUT tagging`. */
type Call = string;
type Override = (req: IncomingMessage, res: ServerResponse) => boolean;
type Rewrite = (req: IncomingMessage, headers: IncomingMessage['headers']) => IncomingMessage['headers'];

/** An HTTP proxy in front of s3rver that notes every request and can answer some itself. */
async function startRecordingProxy(target: string): Promise<{
  endpoint: string;
  calls: Call[];
  override(fn: Override | undefined): void;
  /** Changes the headers of S3's answers on their way back. */
  rewrite(fn: Rewrite | undefined): void;
  close(): Promise<void>;
}> {
  const calls: Call[] = [];
  let answer: Override | undefined;
  let rewrite: Rewrite | undefined;
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const subresource = [...url.searchParams.keys()].find((k) => k !== 'x-id');
    calls.push(`${req.method} ${subresource ?? 'object'}`);
    if (answer?.(req, res)) {
      req.resume();
      return;
    }
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (upstreamRes) => {
        const headers = rewrite ? rewrite(req, upstreamRes.headers) : upstreamRes.headers;
        res.writeHead(upstreamRes.statusCode ?? 502, headers);
        upstreamRes.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    override: (fn) => (answer = fn),
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
  });
  after(async () => {
    await proxy?.close();
    await s3?.close();
  });

  const tagsOf = async (key: string) =>
    (await s3.client.send(new GetObjectTaggingCommand({ Bucket: s3.bucket, Key: key }))).TagSet?.map(
      (t) => `${t.Key}=${t.Value}`,
    );
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

  test('the embedded S3 refuses a bad tag set in a PutObject and stores nothing', async () => {
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

  test('once S3 is seen to keep them, a tagged document costs one request', async () => {
    const store = s3.createStore({ endpoint: proxy.endpoint });
    const first = await upload(store, 'once/1.pdf', { platform: 'esignanywhere', kind: 'signed_document' });
    assert.deepEqual(proxy.calls, ['PUT object', 'GET tagging']);
    proxy.calls.length = 0;
    const second = await upload(store, 'once/2.pdf', { platform: 'esignanywhere', kind: 'audit_trail_pdf' });
    assert.deepEqual(proxy.calls, ['PUT object']);
    assert.equal(second.proven, true);
    assert.deepEqual(await tagsOf(first.objectKey), ['platform=esignanywhere', 'kind=signed_document']);
    assert.deepEqual(await tagsOf(second.objectKey), ['platform=esignanywhere', 'kind=audit_trail_pdf']);
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
    assert.deepEqual(proxy.calls, ['PUT object', 'GET tagging', 'PUT tagging']);
    proxy.calls.length = 0;
    const second = await upload(store, 'drop/2.pdf', { kind: 'legal_document' });
    assert.deepEqual(proxy.calls, ['PUT object', 'PUT tagging']);
    assert.deepEqual(await tagsOf(second.objectKey), ['kind=legal_document']);
    // Untagged objects still take one request.
    proxy.calls.length = 0;
    await upload(store, 'drop/3.pdf', {});
    assert.deepEqual(proxy.calls, ['PUT object']);
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
    assert.deepEqual(proxy.calls, ['PUT object', 'GET tagging', 'PUT tagging']);
    assert.deepEqual(await tagsOf(first.objectKey), ['kind=signed_document']);
    proxy.calls.length = 0;
    await upload(store, 'denied/2.pdf', { kind: 'signed_document' });
    assert.deepEqual(proxy.calls, ['PUT object', 'PUT tagging']);
  });

  test('a read-back that fails for a transient reason fails the upload and leaves no object', async () => {
    const store = s3.createStore({ endpoint: proxy.endpoint, maxAttempts: 1 });
    proxy.override((req, res) => {
      if (!isGetTagging(req)) return false;
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code></Error>');
      return true;
    });
    await assert.rejects(upload(store, 'flaky/1.pdf', { kind: 'signed_document' }), {
      code: 'TRANSIENT',
    });
    await assert.rejects(
      s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: 'archive/flaky/1.pdf' })),
      (error: Error) => error.name === 'NotFound',
    );
    // The question is still open: the next upload asks again, and S3 answers this time.
    proxy.override(undefined);
    proxy.calls.length = 0;
    await upload(store, 'flaky/2.pdf', { kind: 'signed_document' });
    assert.deepEqual(proxy.calls, ['PUT object', 'GET tagging']);
  });

  test('a single-request copy is proven by the sha256 S3 answers with, or else by its ETag', async () => {
    const store = s3.createStore({ endpoint: proxy.endpoint });
    const body = randomBytes(20_000);
    const sha256 = createHash('sha256').update(body).digest();
    const put = (key: string) =>
      store.putStream({ key, body: Readable.from([body]), contentType: 'application/pdf', metadata: {} });
    const answering = (checksum: string) =>
      proxy.rewrite((req, headers) =>
        req.method === 'PUT'
          ? { ...headers, etag: '"0123456789abcdef0123456789abcdef"', 'x-amz-checksum-sha256': checksum }
          : headers,
      );

    // As AWS answers: the checksum it computed. The ETag (here a wrong one) is not needed then.
    answering(sha256.toString('base64'));
    assert.equal((await put('proof/echo.pdf')).proven, true);
    // A checksum that is not ours and an ETag that is no MD5 of the bytes prove nothing: read it back.
    answering(createHash('sha256').update('other bytes').digest('base64'));
    assert.equal((await put('proof/other.pdf')).proven, false);
    // No checksum in the answer (s3rver): the ETag proves it.
    proxy.rewrite(undefined);
    assert.equal((await put('proof/etag.pdf')).proven, true);
  });
});
