import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ReconciliationService } from '../../../src/reconciliation/reconciliation.service';
import { ArchiveWorld } from '../../support/archive-world';
import { CALLBACK_SIGNING_CERT_PATH, signWithTestKey } from './legalesign-callback-signing';
import { LegalesignSimulator } from './legalesign.simulator';

const CALLBACK_TOKEN = 'legalesign-callback-token-0123456789';

interface Row {
  state: string;
  cause: string | null;
  origin: string;
  platform_deleted_at: Date | null;
  last_error: string | null;
  last_error_class: string | null;
}

/**
 * Legalesign over HTTP (its simulator: batched, realtime and "signed" callbacks, 302 downloads to a
 * host that refuses Legalesign's credentials, de-archiving), archived by the real service into S3.
 */
describe('Legalesign, end to end', () => {
  let world: ArchiveWorld;
  const sim = new LegalesignSimulator({
    groups: [{ slug: 'contracts' }, { slug: 'manual-delete', automatedDeletion: false }],
  });
  let callbackUrl: string;

  before(async () => {
    await sim.start();
    world = await ArchiveWorld.start({ startApp: false });
    await world.startApp({
      LEGALESIGN_API_KEY: sim.apiKey,
      LEGALESIGN_BASE_URL: sim.baseUrl,
      LEGALESIGN_CALLBACK_CERT: CALLBACK_SIGNING_CERT_PATH,
      LEGALESIGN_CALLBACK_TOKEN: CALLBACK_TOKEN,
      LEGALESIGN_MAX_RETRIES: '0',
      LEGALESIGN_GROUPS: 'contracts',
    });
    callbackUrl = `${world.svc!.url}/callbacks/legalesign`;
    sim.configure({ batchUrl: callbackUrl });
  });
  after(async () => {
    await world?.close();
    await sim.stop();
  });

  const row = async (id: string): Promise<Row | undefined> =>
    (
      await world.query<Row>(
        `SELECT state, cause, origin, platform_deleted_at, last_error, last_error_class
           FROM transfers WHERE platform = 'legalesign' AND envelope_id = $1`,
        [id],
      )
    )[0];

  async function waitFor(id: string, states: string[], timeoutMs = 30_000): Promise<Row> {
    const deadline = Date.now() + timeoutMs;
    let last: Row | undefined;
    while (Date.now() < deadline) {
      last = await row(id);
      if (last && states.includes(last.state)) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${id} did not reach ${states.join('|')}: ${JSON.stringify(last)}`);
  }

  const counts = async () =>
    (
      await world.query<{ notes: number; transfers: number; batches: number }>(
        `SELECT (SELECT coalesce(sum(received_count), 0)::int FROM noted_events WHERE platform = 'legalesign') AS notes,
                (SELECT count(*)::int FROM transfers WHERE platform = 'legalesign') AS transfers,
                (SELECT count(*)::int FROM legalesign_callback_batches) AS batches`,
      )
    )[0];

  const post = (body: string, type: string, query = '') =>
    fetch(`${callbackUrl}${query}`, { method: 'POST', headers: { 'content-type': type }, body });
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

  async function assertArchived(id: string): Promise<{ keys: string[]; manifest: Record<string, unknown> }> {
    const done = await waitFor(id, ['done']);
    assert.ok(done.platform_deleted_at, 'deleted on the platform after the proof');
    const keys = (await world.listKeys('archive/')).filter((k) => k.includes(`/${id}/`));
    const signed = keys.filter((k) => k.includes('/signed_document/'));
    const audit = keys.filter((k) => k.includes('/audit_trail_pdf/'));
    assert.equal(signed.length, 1, keys.join('\n'));
    assert.equal(audit.length, 1, keys.join('\n'));
    assert.equal(await world.objectSha256(signed[0]), sim.expectedFile(id).sha256);
    assert.equal(await world.objectSha256(audit[0]), sim.expectedFile(id, 'auditlog').sha256);
    const manifestKey = keys.find((k) => k.endsWith('/manifest.json'))!;
    const manifest = JSON.parse((await world.objectBytes(manifestKey)).toString('utf8')) as Record<
      string,
      unknown
    >;
    const documents = manifest.documents as { kind: string; platformSha256?: string }[];
    assert.equal(
      documents.find((d) => d.kind === 'signed_document')?.platformSha256,
      sim.expectedFile(id).sha256,
      "Legalesign's hash_value is in the manifest",
    );
    const meta = await world.objectMeta(signed[0]);
    assert.equal(meta.tags.platform, 'legalesign');
    assert.equal(meta.tags.tag, 'C-17');
    return { keys, manifest };
  }

  it('a document announced by a verified batch is archived (PDF from a short-lived location, audit log, manifest), proven and deleted', async () => {
    const doc = sim.createDocument({
      group: 'contracts',
      name: 'Rahmenvertrag 2026',
      tags: { tag: 'C-17' },
      delivery: 'redirect',
    });
    sim.signDocument(doc.uuid);
    const delivery = await sim.flushBatch();
    assert.equal(delivery?.status, 200, delivery?.responseBody ?? '');
    assert.match(delivery.responseBody ?? '', /"status":"noted"/);
    await assertArchived(doc.uuid);
    assert.equal(sim.getDocument(doc.uuid)?.deleted, true, 'deleted permanently');
    assert.deepEqual(sim.credentialLeaks(), [], "Legalesign's credentials never reach the download host");
    assert.ok(sim.requests().some((r) => r.host === 'download' && r.uuid === doc.uuid && r.status === 200));
    const [batch] = await world.query<{ signature_algorithm: string; changes: number }>(
      'SELECT signature_algorithm, changes FROM legalesign_callback_batches ORDER BY id DESC LIMIT 1',
    );
    assert.equal(batch.signature_algorithm, 'RSA-SHA1');
    assert.ok(batch.changes >= 2, 'the signers’ changes are kept with the document’s');
    assert.equal((await row(doc.uuid))?.origin, 'callback');
  });

  it('a replayed batch is answered and changes nothing', async () => {
    const doc = sim.createDocument({ group: 'contracts', tags: { tag: 'C-17' } });
    sim.signDocument(doc.uuid);
    const first = await sim.flushBatch();
    assert.equal(first?.status, 200);
    await waitFor(doc.uuid, ['done']);
    const before = await counts();
    const replay = await sim.sendBatch(first.data!, first.signature!);
    assert.equal(replay?.status, 200);
    assert.match(replay.responseBody ?? '', /"status":"duplicate"/);
    assert.deepEqual(await counts(), before);
    assert.equal((await row(doc.uuid))?.state, 'done');
  });

  it('a forged or altered batch is refused (401) and writes nothing', async () => {
    const id = '6f1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b';
    const data = JSON.stringify([
      {
        timestamp: '2026-12-02T10:00:00',
        name: 'status',
        value: '30',
        resource_uri: `/api/v1/document/${id}/`,
      },
    ]);
    const before = await counts();
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const forged = await post(
      form({ data, signed: sign('sha1', Buffer.from(data), stranger).toString('base64') }),
      'application/x-www-form-urlencoded',
    );
    assert.equal(forged.status, 401);
    const genuine = signWithTestKey(data);
    const altered = await post(
      form({ data: data.replace('"30"', '"50"'), signed: genuine }),
      'application/x-www-form-urlencoded',
    );
    assert.equal(altered.status, 401);
    const unsigned = await post(form({ data, signed: '' }), 'application/x-www-form-urlencoded');
    assert.equal(unsigned.status, 401);
    assert.deepEqual(await counts(), before);
    assert.equal(await row(id), undefined);
  });

  it('a large verified batch (5 000 changes) is noted in one transaction within seconds; a change it cannot use costs no other', async () => {
    const changes = Array.from({ length: 5_000 }, (_, i) => ({
      timestamp: '2026-12-02T10:00:00',
      name: 'status',
      value: i % 2 === 0 ? '20' : '40',
      resource_uri: `/api/v1/signer/${String(i).padStart(12, '0')}/`,
    }));
    const pending = sim.createDocument({ group: 'contracts' });
    changes.push(
      {
        timestamp: '2026-12-02T10:00:01',
        name: 'status',
        value: '20',
        resource_uri: `/api/v1/document/${pending.uuid}/`,
      },
      {
        timestamp: '2026-12-02T10:00:02',
        name: 'status',
        value: '30',
        resource_uri: '/api/v1/document/not-a-uuid/',
      },
    );
    const data = JSON.stringify(changes);
    const started = Date.now();
    const answer = await post(
      form({ data, signed: signWithTestKey(data, 'sha256') }),
      'application/x-www-form-urlencoded',
    );
    const ms = Date.now() - started;
    assert.equal(answer.status, 200, await answer.text());
    assert.ok(ms < 10_000, `answered in ${ms} ms`);
    const [batch] = await world.query<{
      changes: number;
      documents: number;
      ignored: number;
      signature_algorithm: string;
    }>(
      'SELECT changes, documents, ignored, signature_algorithm FROM legalesign_callback_batches ORDER BY id DESC LIMIT 1',
    );
    assert.deepEqual(
      { ...batch },
      { changes: 5_002, documents: 1, ignored: 5_001, signature_algorithm: 'RSA-SHA256' },
    );
    const [noted] = await world.query<{ action: string }>(
      "SELECT action FROM noted_events WHERE platform = 'legalesign' AND envelope_id = $1",
      [pending.uuid],
    );
    assert.equal(noted?.action, 'status_20');
    assert.equal(
      await row(pending.uuid),
      undefined,
      'a document still out for signature calls for no transfer',
    );
  });

  it('a document announced by the realtime webhook (token in the URL) is archived; without the token nothing is noted', async () => {
    const doc = sim.createDocument({ group: 'contracts', tags: { tag: 'C-17' } });
    const refused = await post(
      JSON.stringify({ object: 'document', event: 'finalPdfCreated', data: { uuid: doc.uuid } }),
      'application/json',
      '?token=wrong-token-0123456789',
    );
    assert.equal(refused.status, 401);
    assert.equal(await row(doc.uuid), undefined);

    sim.configure({ realtimeUrl: `${callbackUrl}?token=${CALLBACK_TOKEN}`, realtimeEventPrefix: true });
    try {
      sim.signDocument(doc.uuid);
      await assertArchived(doc.uuid);
      const delivered = sim.callbackDeliveries({ kind: 'realtime', uuid: doc.uuid });
      assert.ok(delivered.some((d) => d.status === 200));
    } finally {
      sim.configure({ realtimeUrl: undefined, realtimeEventPrefix: false });
    }
  });

  it('the legacy "signed" form callback is taken; a callback naming no document UUID is 400 and writes nothing', async () => {
    const doc = sim.createDocument({ group: 'contracts', tags: { tag: 'C-17' } });
    const bad = await post(
      form({ uuid: 'not-a-uuid', resource_uri: '/api/v1/document/x/' }),
      'application/x-www-form-urlencoded',
      `?token=${CALLBACK_TOKEN}`,
    );
    assert.equal(bad.status, 400);
    sim.configure({ signedUrl: `${callbackUrl}?token=${CALLBACK_TOKEN}` });
    try {
      sim.signDocument(doc.uuid);
      await assertArchived(doc.uuid);
    } finally {
      sim.configure({ signedUrl: undefined });
    }
  });

  it('a PDF being de-archived (201) is waited for, not failed; once restored it is archived', async () => {
    const doc = sim.createDocument({ group: 'contracts', tags: { tag: 'C-17' }, delivery: 'dearchive' });
    sim.signDocument(doc.uuid);
    assert.equal((await sim.flushBatch())?.status, 200);
    const waiting = await waitFor(doc.uuid, ['waiting']);
    assert.equal(waiting.cause, 'platform_preparing');
    assert.equal(waiting.last_error_class, 'NOT_READY');
    const [due] = await world.query<{ hours: number }>(
      `SELECT round(extract(epoch FROM next_attempt_at - now()) / 3600)::int AS hours FROM transfers WHERE envelope_id = $1`,
      [doc.uuid],
    );
    assert.equal(due.hours, 4);
    sim.restore(doc.uuid);
    await world.query(`UPDATE transfers SET next_attempt_at = now() WHERE envelope_id = $1`, [doc.uuid]);
    await assertArchived(doc.uuid);
  });

  it("bytes that do not match Legalesign's hash_value are never archived, and the document is never deleted", async () => {
    const doc = sim.createDocument({ group: 'contracts', tags: { tag: 'C-17' } });
    sim.signDocument(doc.uuid);
    sim.setHashValue(doc.uuid, 'ab'.repeat(32));
    assert.equal((await sim.flushBatch())?.status, 200);
    const failed = await waitFor(doc.uuid, ['failed']);
    assert.equal(failed.cause, 'checksum_mismatch');
    assert.match(failed.last_error ?? '', /does not match the platform's checksum/);
    const keys = (await world.listKeys('archive/')).filter((k) =>
      k.includes(`/${doc.uuid}/signed_document/`),
    );
    assert.deepEqual(keys, []);
    assert.equal(sim.getDocument(doc.uuid)?.deleted, false);
  });

  it('a document missed by callbacks (and auto-archived at Legalesign) is archived by reconciliation', async () => {
    const doc = sim.createDocument({ group: 'contracts', tags: { tag: 'C-17' }, autoArchive: true });
    sim.signDocument(doc.uuid);
    assert.equal(sim.getDocument(doc.uuid)?.archived, true);
    assert.equal(await row(doc.uuid), undefined);
    const results = await world.svc!.app.get(ReconciliationService).runAll();
    const result = results.find((r) => r.platform === 'legalesign');
    assert.equal(result?.outcome, 'ok', result?.errors.join('; '));
    assert.ok((result?.created ?? 0) >= 1);
    await assertArchived(doc.uuid);
    assert.equal((await row(doc.uuid))?.origin, 'reconciliation');
  });

  it('a group that does not allow automated deletion keeps the copy and tells ops why the delete failed', async () => {
    const doc = sim.createDocument({ group: 'manual-delete', tags: { tag: 'C-17' } });
    sim.signDocument(doc.uuid);
    assert.equal((await sim.flushBatch())?.status, 200);
    const stuck = await waitFor(doc.uuid, ['archived', 'failed']);
    assert.match(stuck.last_error ?? '', /must allow automated deletion, or set LEGALESIGN_DELETE_MODE=void/);
    assert.equal(sim.getDocument(doc.uuid)?.deleted, false);
    const keys = (await world.listKeys('archive/')).filter((k) => k.includes(`/${doc.uuid}/`));
    assert.ok(
      keys.some((k) => k.endsWith('/manifest.json')),
      'archived and proven all the same',
    );
  });
});
