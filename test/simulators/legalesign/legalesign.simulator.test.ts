import assert from 'node:assert/strict';
import { createHash, verify, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  CALLBACK_SIGNING_CERT_PATH,
  LegalesignSimulator,
  signWithTestKey,
  type LsRealtimeEvent,
  type LsStatusChange,
} from './legalesign.simulator';

const T = { timeout: 20_000 };
const API_KEY = '0b6c1d2e3f4a5b6c:s3cr3t-api-key';
const NAIVE_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/;

interface Hit {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A loopback endpoint that records callbacks and answers with `status` and `reply`. */
class CallbackReceiver {
  readonly hits: Hit[] = [];
  status = 200;
  reply = 'ok';
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.hits.push({
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(this.status, { 'Content-Type': 'text/plain' }).end(this.reply);
    });
  });

  async open(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const certificate = new X509Certificate(readFileSync(CALLBACK_SIGNING_CERT_PATH));

function verifies(data: string, signature: string, digest = 'sha1'): boolean {
  return verify(digest, Buffer.from(data, 'utf8'), certificate.publicKey, Buffer.from(signature, 'base64'));
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

type Json = Record<string, unknown>;
interface ListBody {
  meta: { limit: number; next: string | null; offset: number; previous: string | null; total_count: number };
  objects: Json[];
}

describe('LegalesignSimulator over HTTP', () => {
  const sim = new LegalesignSimulator({
    apiKey: API_KEY,
    groups: [{ slug: 'acme' }, { slug: 'acme-dev', name: 'Acme dev', automatedDeletion: false }],
  });
  const receiver = new CallbackReceiver();
  let hooks: string;

  before(async () => {
    hooks = await receiver.open();
    await sim.start();
  });

  afterEach(async () => {
    await sim.callbacksIdle();
    sim.reset();
    receiver.hits.length = 0;
    receiver.status = 200;
    receiver.reply = 'ok';
  });

  after(async () => {
    await sim.stop();
    await receiver.close();
  });

  function get(path: string, headers: Record<string, string> = { Authorization: `ApiKey ${API_KEY}` }) {
    return fetch(`${sim.baseUrl}${path}`, { headers, redirect: 'manual' });
  }

  function del(path: string) {
    return fetch(`${sim.baseUrl}${path}`, {
      method: 'DELETE',
      headers: { Authorization: `ApiKey ${API_KEY}` },
    });
  }

  async function json<B = Json>(response: Response): Promise<B> {
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    return (await response.json()) as B;
  }

  async function list(query: string): Promise<ListBody> {
    const response = await get(`/document/?${query}`);
    assert.equal(response.status, 200);
    return json<ListBody>(response);
  }

  it(
    'refuses a missing, unknown or revoked key with 401 and accepts it with or without "ApiKey "',
    T,
    async () => {
      const doc = sim.createDocument();
      const path = `/document/${doc.uuid}/`;
      const missing = await get(path, {});
      assert.equal(missing.status, 401);
      assert.deepEqual(await json(missing), { detail: 'Authentication credentials were not provided.' });
      assert.equal((await get(path, { Authorization: `ApiKey ${API_KEY}x` })).status, 401);
      assert.equal((await get(path, { Authorization: `Basic ${API_KEY}` })).status, 401);
      assert.equal((await get(path, { Authorization: API_KEY })).status, 200);
      assert.equal((await get(path)).status, 200);
      sim.revokeApiKey();
      const revoked = await get(path);
      assert.equal(revoked.status, 401);
      assert.deepEqual(await json(revoked), { detail: 'Invalid API key.' });
      assert.deepEqual(
        sim.requests({ endpoint: 'document.get' }).map((e) => [e.authorization, e.status]),
        [
          [false, 401],
          [true, 401],
          [true, 401],
          [true, 200],
          [true, 200],
          [true, 401],
        ],
      );
    },
  );

  it('serves the document fields, with hash_value, sign_time and download_final once signed', T, async () => {
    const doc = sim.createDocument({
      group: 'acme',
      name: 'Lease 42',
      tags: { tag: 'crm-42', tag2: 'x' },
      signers: [{ firstname: 'Ann', lastname: 'Lee', email: 'ann@example.test', tel: '+441234' }, {}],
      appendHistory: true,
    });
    const sent = await json(await get(`/document/${doc.uuid}/`));
    assert.equal(sent.resource_uri, `/api/v1/document/${doc.uuid}/`);
    assert.equal(sent.uuid, doc.uuid);
    assert.equal(sent.name, 'Lease 42');
    assert.equal(sent.group, '/api/v1/group/acme/');
    assert.equal(sent.user, '/api/v1/user/0b6c1d2e3f4a5b6c/');
    assert.deepEqual(
      [sent.status, sent.archived, sent.auto_archive, sent.download_final, sent.hash_value, sent.sign_time],
      [20, false, false, false, null, null],
    );
    assert.deepEqual([sent.tag, sent.tag1, sent.tag2, sent.append_history], ['crm-42', '', 'x', true]);
    assert.match(sent.created as string, NAIVE_DATE);
    const signer = doc.signers[0];
    assert.deepEqual((sent.signers as unknown[])[0], [
      `/api/v1/signer/${signer.uuid}/`,
      'Ann',
      'Lee',
      'ann@example.test',
      '+441234',
      false,
      10,
      0,
    ]);
    assert.deepEqual((sent.signer_objects as Json[])[1], {
      uuid: doc.signers[1].uuid,
      resource_uri: `/api/v1/signer/${doc.signers[1].uuid}/`,
      firstname: 'Signer',
      lastname: '2',
      email: 'signer2@example.test',
      tel: '',
      order: 1,
      role: 'signer',
      status: 10,
    });

    sim.signDocument(doc.uuid);
    const signed = await json(await get(`/document/${doc.uuid}/`));
    assert.equal(signed.status, 30);
    assert.equal(signed.download_final, true);
    assert.equal(signed.hash_value, sim.expectedFile(doc.uuid).sha256);
    assert.match(signed.sign_time as string, NAIVE_DATE);
    assert.ok((signed.modified as string) >= (sent.modified as string));
    assert.deepEqual(
      (signed.signer_objects as Json[]).map((s) => s.status),
      [40, 40],
    );

    sim.setHashValue(doc.uuid, 'ab'.repeat(32));
    assert.equal((await json(await get(`/document/${doc.uuid}/`))).hash_value, 'ab'.repeat(32));

    const unknown = await get('/document/00000000-0000-4000-8000-000000000000/');
    assert.equal(unknown.status, 404);
    assert.deepEqual(await json(unknown), { detail: 'Not found.' });
    assert.equal((await get(`/document/${doc.uuid}`)).status, 404);
    assert.equal((await get('/envelope/')).status, 404);
  });

  it(
    'lists a group: group required, archived split, status, created_gt/modified_gt and paging',
    T,
    async () => {
      const base = Date.parse('2025-01-10T12:00:00Z');
      const docs = Array.from({ length: 5 }, (_, i) =>
        sim.createDocument({ group: 'acme', name: `Doc ${i}`, created: base + i * 60_000 }),
      );
      sim.createDocument({ group: 'acme-dev', created: base });
      sim.signDocument(docs[1].uuid, { at: base + 3_600_000 });
      sim.archiveDocument(docs[4].uuid);

      const noGroup = await get('/document/');
      assert.equal(noGroup.status, 400);
      assert.match((await json(noGroup)).detail as string, /group/);

      const unarchived = await list('group=acme');
      assert.equal(unarchived.meta.total_count, 4);
      assert.deepEqual(
        unarchived.objects.map((o) => o.name),
        ['Doc 0', 'Doc 2', 'Doc 3', 'Doc 1'],
      );
      const archived = await list('group=acme&archived=true');
      assert.deepEqual(
        archived.objects.map((o) => o.uuid),
        [docs[4].uuid],
      );
      assert.deepEqual(
        (await list('group=acme&status=30')).objects.map((o) => o.uuid),
        [docs[1].uuid],
      );
      // 12:02 UTC spelled three ways: no zone (read as UTC), Z with milliseconds, and an offset.
      for (const since of ['2025-01-10T12:02:00', '2025-01-10T12:02:00.000Z', '2025-01-10T13:02:00+01:00']) {
        assert.deepEqual(
          (await list(`group=acme&modified_gt=${encodeURIComponent(since)}`)).objects.map((o) => o.name),
          ['Doc 3', 'Doc 1'],
          since,
        );
      }
      assert.deepEqual(
        (await list('group=acme&created_gt=2025-01-10T12:02:00%2B00:00')).objects.map((o) => o.name),
        ['Doc 3'],
      );
      const badDate = await get('/document/?group=acme&modified_gt=yesterday');
      assert.equal(badDate.status, 400);
      assert.equal((await get('/document/?group=acme&archived=maybe')).status, 400);
      assert.equal((await get('/document/?group=unknown')).status, 403);

      const first = await list('group=acme&limit=3&nosigners=1');
      assert.deepEqual(first.meta, {
        limit: 3,
        next: '/api/v1/document/?group=acme&limit=3&nosigners=1&offset=3',
        offset: 0,
        previous: null,
        total_count: 4,
      });
      assert.equal(first.objects.length, 3);
      assert.equal('signers' in first.objects[0], false);
      const nextPath = first.meta.next ?? '';
      const second = await json<ListBody>(
        await fetch(`${sim.url}${nextPath}`, { headers: { Authorization: API_KEY } }),
      );
      assert.deepEqual(
        second.objects.map((o) => o.name),
        ['Doc 1'],
      );
      assert.equal(second.meta.next, null);
      assert.equal(second.meta.previous, '/api/v1/document/?group=acme&limit=3&nosigners=1&offset=0');
      assert.equal((await list('group=acme&limit=500')).meta.limit, 100);
      assert.equal((await list('group=acme')).meta.limit, 20);
    },
  );

  it('lists the groups the key may see', T, async () => {
    const all = await json<ListBody>(await get('/group/'));
    assert.deepEqual(
      all.objects.map((g) => [g.resource_uri, g.slug, g.name]),
      [
        ['/api/v1/group/acme/', 'acme', 'acme'],
        ['/api/v1/group/acme-dev/', 'acme-dev', 'Acme dev'],
      ],
    );
    assert.equal(all.meta.total_count, 2);
    sim.addApiKey('limited:key', { groups: ['acme-dev'] });
    const limited = await json<ListBody>(await get('/group/', { Authorization: 'ApiKey limited:key' }));
    assert.deepEqual(
      limited.objects.map((g) => g.slug),
      ['acme-dev'],
    );
    const hidden = sim.createDocument({ group: 'acme' });
    assert.equal(
      (await get(`/document/${hidden.uuid}/`, { Authorization: 'ApiKey limited:key' })).status,
      404,
    );
  });

  it(
    'serves the final PDF directly after signing (400 before) and the audit log for any document',
    T,
    async () => {
      const doc = sim.createDocument({ pdfBytes: 50_000 });
      const early = await get(`/pdf/${doc.uuid}/`);
      assert.equal(early.status, 400);
      assert.deepEqual(await json(early), { detail: 'Final PDF not available' });
      const audit = await get(`/document/${doc.uuid}/auditlog/`);
      assert.equal(audit.status, 200);
      assert.equal(audit.headers.get('content-type'), 'application/pdf');
      const auditBytes = Buffer.from(await audit.arrayBuffer());
      assert.equal(sha256(auditBytes), sim.expectedFile(doc.uuid, 'auditlog').sha256);

      sim.signDocument(doc.uuid);
      const response = await get(`/pdf/${doc.uuid}/`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'application/pdf');
      const bytes = Buffer.from(await response.arrayBuffer());
      assert.equal(response.headers.get('content-length'), String(bytes.length));
      assert.equal(bytes.length, 50_000);
      assert.equal(bytes.subarray(0, 5).toString(), '%PDF-');
      assert.equal(bytes.subarray(-6).toString().trim(), '%%EOF');
      assert.equal(sha256(bytes), sim.expectedFile(doc.uuid).sha256);
      assert.equal(sha256(bytes), sim.getDocument(doc.uuid)?.hashValue);

      const exact = sim.createDocument({ pdfBytes: Buffer.from('%PDF-1.4\nexact\n%%EOF\n') });
      sim.signDocument(exact.uuid);
      assert.equal(await (await get(`/pdf/${exact.uuid}/`)).text(), '%PDF-1.4\nexact\n%%EOF\n');
    },
  );

  it(
    'redirects to a short-lived link on another origin that refuses and records any Authorization',
    T,
    async () => {
      const doc = sim.createDocument({ delivery: 'redirect' });
      sim.signDocument(doc.uuid);
      const redirect = await get(`/pdf/${doc.uuid}/`);
      assert.equal(redirect.status, 302);
      const location = new URL(redirect.headers.get('location') ?? '');
      assert.equal(location.origin, sim.downloadUrl);
      assert.notEqual(location.origin, new URL(sim.baseUrl).origin);
      assert.ok(location.searchParams.get('token'));

      const leaked = await fetch(location, { headers: { Authorization: `ApiKey ${API_KEY}` } });
      assert.equal(leaked.status, 403);
      assert.deepEqual(
        sim.credentialLeaks().map((l) => [l.uuid, l.scheme, l.apiKey]),
        [[doc.uuid, 'ApiKey', true]],
      );
      const clean = await fetch(location);
      assert.equal(clean.status, 200);
      assert.equal(sha256(Buffer.from(await clean.arrayBuffer())), sim.expectedFile(doc.uuid).sha256);

      // fetch drops Authorization on a cross-origin redirect, so following it is safe.
      const followed = await fetch(`${sim.baseUrl}/pdf/${doc.uuid}/`, {
        headers: { Authorization: API_KEY },
      });
      assert.equal(followed.status, 200);
      assert.equal(sim.credentialLeaks().length, 1);
      assert.deepEqual(
        sim.requests({ endpoint: 'pdf.download' }).map((e) => [e.host, e.authorization, e.status]),
        [
          ['download', true, 403],
          ['download', false, 200],
          ['download', false, 200],
        ],
      );

      sim.configure({ redirectTtlMs: 30 });
      const shortLived = new URL((await get(`/pdf/${doc.uuid}/`)).headers.get('location') ?? '');
      await delay(60);
      const expired = await fetch(shortLived);
      assert.equal(expired.status, 403);
      assert.match(await expired.text(), /Request has expired/);
      const forged = new URL(shortLived);
      forged.searchParams.set('token', 'forged');
      assert.equal((await fetch(forged)).status, 403);
    },
  );

  it('answers 201 while de-archiving until restored, or by itself after dearchiveMs', T, async () => {
    const doc = sim.createDocument({ delivery: 'dearchive' });
    sim.signDocument(doc.uuid);
    for (let i = 0; i < 2; i++) {
      const pending = await get(`/pdf/${doc.uuid}/`);
      assert.equal(pending.status, 201);
      assert.deepEqual(await json(pending), { detail: 'Being de-archived, available in 4 hours' });
    }
    sim.restore(doc.uuid);
    const restored = await get(`/pdf/${doc.uuid}/`);
    assert.equal(restored.status, 200);
    assert.equal(sha256(Buffer.from(await restored.arrayBuffer())), sim.expectedFile(doc.uuid).sha256);

    sim.configure({ dearchiveMs: 50 });
    const timed = sim.createDocument({ delivery: 'dearchive' });
    sim.signDocument(timed.uuid);
    assert.equal((await get(`/pdf/${timed.uuid}/`)).status, 201);
    await delay(80);
    assert.equal((await get(`/pdf/${timed.uuid}/`)).status, 200);
    assert.equal(sim.getDocument(timed.uuid)?.delivery, 'direct');
  });

  it(
    'voids with 204 and deletes for good only where the group allows it (200 is the failure)',
    T,
    async () => {
      const voided = sim.createDocument({ group: 'acme' });
      assert.equal((await del(`/document/${voided.uuid}/`)).status, 204);
      const after = await json(await get(`/document/${voided.uuid}/`));
      assert.deepEqual([after.status, after.archived], [40, true]);
      assert.equal((await del(`/document/${voided.uuid}/`)).status, 204);

      const rejected = sim.createDocument({ group: 'acme' });
      sim.rejectDocument(rejected.uuid);
      assert.deepEqual(
        [sim.voidDocument(rejected.uuid).status, sim.getDocument(rejected.uuid)?.archived],
        [40, true],
      );
      assert.deepEqual(
        sim.pendingChanges().map((c) => c.value),
        ['40', '60', '50', '40'],
      );

      const kept = sim.createDocument({ group: 'acme-dev' });
      const refused = await del(`/document/${kept.uuid}/delete/`);
      assert.equal(refused.status, 200);
      assert.deepEqual(await json(refused), {
        detail: 'Something went wrong, probably you need to allow automated deletions',
      });
      assert.equal((await get(`/document/${kept.uuid}/`)).status, 200);

      sim.allowAutomatedDeletion('acme-dev', true);
      assert.equal((await del(`/document/${kept.uuid}/delete/`)).status, 204);
      assert.equal((await get(`/document/${kept.uuid}/`)).status, 404);
      assert.equal((await del(`/document/${kept.uuid}/delete/`)).status, 404);
      assert.equal(sim.getDocument(kept.uuid)?.deleted, true);
      assert.equal((await list('group=acme-dev')).meta.total_count, 0);
      assert.equal(
        (
          await fetch(`${sim.baseUrl}/document/${voided.uuid}/delete/`, {
            headers: { Authorization: API_KEY },
          })
        ).status,
        405,
      );
    },
  );

  it('archives auto_archive documents after signing, so only archived=true lists them', T, async () => {
    const doc = sim.createDocument({ autoArchive: true });
    sim.signDocument(doc.uuid);
    assert.equal(sim.getDocument(doc.uuid)?.archived, true);
    assert.equal((await list('group=acme&status=30')).meta.total_count, 0);
    assert.equal((await list('group=acme&status=30&archived=1')).objects[0].uuid, doc.uuid);

    sim.configure({ autoArchiveMs: 40 });
    const later = sim.createDocument({ autoArchive: true });
    sim.signDocument(later.uuid);
    assert.equal(sim.getDocument(later.uuid)?.archived, false);
    await delay(80);
    assert.equal(sim.getDocument(later.uuid)?.archived, true);
  });

  it('flushes the batch as form fields data and signed, verifiable with the certificate', T, async () => {
    sim.configure({ batchUrl: `${hooks}/batch?token=abc` });
    const doc = sim.createDocument({ signers: [{}, {}] });
    sim.signDocument(doc.uuid);
    assert.equal(sim.pendingChanges().length, 3);

    receiver.status = 500;
    const failed = await sim.flushBatch();
    assert.equal(failed?.state, 'failed');
    assert.equal(failed?.status, 500);
    assert.equal(sim.pendingChanges().length, 3);

    receiver.status = 200;
    receiver.reply = 'thanks';
    const delivery = await sim.flushBatch();
    assert.equal(delivery?.state, 'delivered');
    assert.equal(delivery?.responseBody, 'thanks');
    assert.deepEqual(sim.pendingChanges(), []);
    assert.equal(await sim.flushBatch(), null);

    const hit = receiver.hits[1];
    assert.equal(hit.path, '/batch?token=abc');
    assert.equal(hit.headers['content-type'], 'application/x-www-form-urlencoded');
    const form = new URLSearchParams(hit.body);
    assert.deepEqual([...form.keys()], ['data', 'signed']);
    const data = form.get('data') ?? '';
    const signed = form.get('signed') ?? '';
    assert.equal(data, delivery?.data);
    assert.ok(verifies(data, signed));
    assert.equal(verifies(data.replace('"30"', '"40"'), signed), false);
    const changes = JSON.parse(data) as LsStatusChange[];
    assert.deepEqual(
      changes.map((c) => [c.name, c.value, c.resource_uri]),
      [
        ['status', '40', `/api/v1/signer/${doc.signers[0].uuid}/`],
        ['status', '40', `/api/v1/signer/${doc.signers[1].uuid}/`],
        ['status', '30', `/api/v1/document/${doc.uuid}/`],
      ],
    );
    assert.match(changes[0].timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);

    sim.configure({ signatureDigest: 'sha256' });
    sim.rejectDocument(sim.createDocument().uuid);
    const sha256Batch = await sim.flushBatch();
    assert.ok(verifies(sha256Batch?.data ?? '', sha256Batch?.signature ?? '', 'sha256'));
    assert.equal(verifies(sha256Batch?.data ?? '', sha256Batch?.signature ?? '', 'sha1'), false);

    const replay = await sim.sendBatch(data, signWithTestKey('[]'));
    assert.equal(new URLSearchParams(receiver.hits[3].body).get('signed'), replay?.signature);
    assert.equal(verifies(data, replay?.signature ?? ''), false);
  });

  it('posts the legacy signed form with json_signed and X-Signed, and realtime JSON events', T, async () => {
    sim.configure({ signedUrl: `${hooks}/signed`, realtimeUrl: `${hooks}/realtime?token=t1` });
    const doc = sim.createDocument({ name: 'Lease 7', tags: { tag: 'ref-7' } });
    sim.signDocument(doc.uuid);
    await sim.callbacksIdle();
    const legacy = receiver.hits.find((h) => h.path === '/signed');
    assert.ok(legacy);
    const form = new URLSearchParams(legacy.body);
    assert.equal(form.get('resource_uri'), `/api/v1/document/${doc.uuid}/`);
    assert.equal(form.get('group'), '/api/v1/group/acme/');
    assert.equal(form.get('name'), 'Lease 7');
    assert.equal(form.get('uuid'), doc.uuid);
    const jsonSigned = form.get('json_signed') ?? '';
    assert.deepEqual(JSON.parse(jsonSigned), {
      resource_uri: `/api/v1/document/${doc.uuid}/`,
      group: '/api/v1/group/acme/',
      name: 'Lease 7',
      uuid: doc.uuid,
    });
    assert.ok(verifies(jsonSigned, String(legacy.headers['x-signed'])));

    const realtime = receiver.hits.find((h) => h.path === '/realtime?token=t1');
    assert.ok(realtime);
    assert.match(realtime.headers['content-type'] ?? '', /^application\/json/);
    const event = JSON.parse(realtime.body) as LsRealtimeEvent;
    assert.deepEqual([event.version, event.object, event.event], ['1', 'document', 'finalPdfCreated']);
    assert.ok(Number.isInteger(event.created) && Math.abs(event.created - Date.now() / 1000) < 60);
    assert.deepEqual(
      [event.data.uuid, event.data.status, event.data.statusText, event.data.tag, event.data.group],
      [doc.uuid, 30, 'Signed', 'ref-7', 'acme'],
    );
    assert.equal(event.data.resourceUri, `/api/v1/document/${doc.uuid}/`);
    assert.equal(event.data.recipients[0].status, 40);

    sim.configure({ realtimeEventPrefix: true });
    const rejected = sim.createDocument();
    sim.rejectDocument(rejected.uuid, { reason: 'wrong amount' });
    await sim.callbacksIdle();
    const rejection = sim.callbackDeliveries({ kind: 'realtime', uuid: rejected.uuid })[0];
    assert.equal(rejection.event?.event, 'document.rejected');
    assert.deepEqual(
      [rejection.event?.data.status, rejection.event?.data.recipients[0].rejectReason],
      [50, 'wrong amount'],
    );
    assert.deepEqual(
      sim.callbackDeliveries({ uuid: rejected.uuid }).map((d) => d.kind),
      ['realtime'],
    );

    receiver.status = 503;
    const fired = await sim.fireRealtime(doc.uuid, 'recipient.completed', 'recipient');
    assert.deepEqual([fired?.state, fired?.status, fired?.event?.object], ['failed', 503, 'recipient']);
    await delay(50);
    assert.equal(receiver.hits.filter((h) => h.body.includes('recipient.completed')).length, 1);
  });

  it(
    'injects statuses, Retry-After, delays, truncated bodies and hangs, and enforces callsPerMinute',
    T,
    async () => {
      const doc = sim.createDocument();
      sim.signDocument(doc.uuid);
      const path = `/pdf/${doc.uuid}/`;
      sim.addFault({ endpoint: 'pdf', uuid: doc.uuid, times: 1, fault: { kind: 'status', status: 503 } });
      assert.equal((await get(path)).status, 503);
      sim.addFault({ endpoint: 'pdf', times: 1, fault: { kind: 'rateLimit', retryAfter: 7 } });
      const limited = await get(path);
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get('retry-after'), '7');
      sim.addFault({ endpoint: 'pdf', times: 1, fault: { kind: 'truncate', afterBytes: 100 } });
      const truncated = await get(path);
      assert.equal(truncated.status, 200);
      await assert.rejects(truncated.arrayBuffer());
      sim.addFault({ endpoint: 'pdf', times: 1, fault: { kind: 'hang' } });
      await assert.rejects(
        fetch(`${sim.baseUrl}${path}`, {
          headers: { Authorization: API_KEY },
          signal: AbortSignal.timeout(200),
        }),
      );
      sim.addFault({ endpoint: 'pdf', times: 1, fault: { kind: 'stall', afterBytes: 10 } });
      const stalled = await fetch(`${sim.baseUrl}${path}`, {
        headers: { Authorization: API_KEY },
        signal: AbortSignal.timeout(200),
      });
      assert.equal(stalled.status, 200);
      await assert.rejects(stalled.arrayBuffer());
      sim.addFault({ endpoint: 'document.get', times: 1, fault: { kind: 'delay', ms: 150 } });
      const started = Date.now();
      assert.equal((await get(`/document/${doc.uuid}/`)).status, 200);
      assert.ok(Date.now() - started >= 140);
      assert.equal((await get(path)).status, 200);
      assert.deepEqual(
        sim.requests({ endpoint: 'pdf' }).map((e) => [e.status, e.outcome, e.faults.join()]),
        [
          [503, 'complete', 'status:503'],
          [429, 'complete', 'rateLimit'],
          [200, 'truncated', 'truncate:100'],
          [null, 'hung', 'hang'],
          [200, 'stalled', 'stall:10'],
          [200, 'complete', ''],
        ],
      );

      sim.configure({ callsPerMinute: 2 });
      assert.equal((await get('/group/')).status, 200);
      assert.equal((await get('/group/')).status, 200);
      const throttled = await get('/group/');
      assert.equal(throttled.status, 429);
      assert.match(throttled.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
      assert.match((await json(throttled)).detail as string, /throttled/);
    },
  );
});
