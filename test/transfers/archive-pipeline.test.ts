import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { ArchiveWorld } from '../support/archive-world';
import { s3rverOnly } from '../support/s3';

/** The parts of the manifest these tests read. */
const manifestSchema = z.object({
  envelopeId: z.string(),
  envelope: z.object({ status: z.string() }),
  sender: z.object({ email: z.string() }),
  metadata: z.object({ fields: z.record(z.string(), z.string()) }),
  documents: z.array(z.object({ sha256: z.string(), platformFileId: z.string() })),
  worker: z.string(),
});

describe('archive pipeline', () => {
  let world: ArchiveWorld;
  before(async () => {
    world = await ArchiveWorld.start();
  });
  after(async () => {
    await world.close();
  });

  it('archives a completed envelope: the bytes, metadata, tags and manifest are right, and it is deleted once after the uploads', async () => {
    const envelope = world.createEnvelope();
    world.sim.finishEnvelope(envelope.id, 'Completed'); // the simulator calls our callback URL
    const transfer = await world.waitForState(envelope.id, ['done']);
    assert.ok(transfer.archived_at && transfer.platform_deleted_at);

    const docs = await world.query<{
      kind: string;
      platform_file_id: string;
      s3_key: string;
      sha256: string;
      size: string;
    }>(
      `SELECT kind, platform_file_id, s3_key, sha256, size FROM transfer_documents WHERE transfer_id = $1 ORDER BY id`,
      [transfer.id],
    );
    const files = world.sim.envelopeFiles(envelope.id);
    // documents, attachment, legal document, audit trail PDF and XML, and the manifest
    assert.equal(docs.length, files.length + 1);
    for (const file of files) {
      const doc = docs.find((d) => d.platform_file_id === file.fileId);
      assert.ok(doc, `no document row for ${file.kind} ${file.fileName}`);
      const expected = await world.sim.expectedFile(file.fileId);
      assert.equal(doc.sha256, expected.sha256);
      assert.equal(Number(doc.size), expected.size);
      assert.equal(
        await world.objectSha256(doc.s3_key),
        expected.sha256,
        `bytes in S3 differ for ${doc.s3_key}`,
      );
      const yyyy = new Date().getUTCFullYear();
      assert.match(doc.s3_key, new RegExp(`^archive/${yyyy}/\\d{2}/${envelope.id}/${doc.kind}/[^/]+$`));
    }
    const contract = docs.find((d) => d.kind === 'signed_document')!;
    const meta = await world.objectMeta(contract.s3_key);
    assert.equal(meta.metadata.sha256, contract.sha256);
    assert.equal(meta.metadata['envelope-id'], envelope.id);
    assert.equal(meta.metadata['document-kind'], 'signed_document');
    assert.equal(meta.tags.Id, 'C-17');
    assert.equal(meta.tags.DocType, 'contract');
    assert.equal(meta.tags['envelope-status'], 'Completed');
    assert.ok(Object.keys(meta.tags).length <= 10);

    const manifestRow = docs.find((d) => d.kind === 'manifest')!;
    const manifest = manifestSchema.parse(
      JSON.parse((await world.objectBytes(manifestRow.s3_key)).toString('utf8')),
    );
    assert.equal(manifest.envelopeId, envelope.id);
    assert.equal(manifest.envelope.status, 'Completed');
    assert.equal(manifest.sender.email, 'sender@example.com');
    assert.equal(manifest.metadata.fields['Customer/Id'], 'C-17');
    assert.equal(manifest.documents.length, files.length);
    for (const d of manifest.documents) {
      assert.equal(d.sha256, (await world.sim.expectedFile(d.platformFileId)).sha256);
    }
    assert.match(manifest.worker, /^esign-archiver\//);

    const log = world.sim.requests({ envelopeId: envelope.id });
    const deletes = world.sim.requests({ endpoint: 'envelope.delete', envelopeId: envelope.id });
    assert.equal(deletes.length, 1);
    const downloads = world.sim
      .requests({ endpoint: 'file.get' })
      .filter((r) => files.some((f) => f.fileId === r.fileId));
    assert.equal(downloads.length, files.length, 'each file downloaded exactly once');
    assert.ok(
      downloads.every((d) => d.seq < deletes[0].seq),
      'deleted only after every download',
    );
    assert.ok(
      log.every((r) => r.userId === world.senderId),
      'only the sender token was used',
    );
  });

  it('thirty duplicate callbacks archive the envelope once and delete it once', async () => {
    const envelope = world.createEnvelope({ callbackUrl: null });
    world.sim.finishEnvelope(envelope.id, 'Completed');
    const statuses = await Promise.all(Array.from({ length: 30 }, () => world.sendCallback(envelope.id)));
    assert.deepEqual(statuses, Array(30).fill(200));
    await world.waitForState(envelope.id, ['done']);
    // Late replays after completion create no new work either.
    assert.equal(await world.sendCallback(envelope.id), 200);
    await new Promise((r) => setTimeout(r, 500));
    const files = world.sim.envelopeFiles(envelope.id);
    for (const file of files) {
      assert.equal(
        world.sim.requests({ endpoint: 'file.get' }).filter((r) => r.fileId === file.fileId).length,
        1,
      );
    }
    assert.equal(world.sim.requests({ endpoint: 'envelope.delete', envelopeId: envelope.id }).length, 1);
    const [{ n }] = await world.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM transfers WHERE envelope_id = $1',
      [envelope.id],
    );
    assert.equal(n, 1);
    const keys = await world.listKeys(`archive/`);
    assert.equal(keys.filter((k) => k.includes(envelope.id)).length, files.length + 1);
  });

  it('archives through 5xx, resets, truncated bodies, 429 and a slow trickle', async () => {
    const envelope = world.createEnvelope({
      callbackUrl: null,
      documents: [{ fileName: 'Big.pdf', size: 300_000 }],
    });
    world.sim.finishEnvelope(envelope.id, 'Completed');
    const [doc] = world.sim.envelopeFiles(envelope.id).filter((f) => f.kind === 'document');
    world.sim.addFault({
      endpoint: 'envelope.get',
      envelopeId: envelope.id,
      times: 2,
      fault: { kind: 'status', status: 503 },
    });
    world.sim.addFault({
      endpoint: 'envelope.files',
      envelopeId: envelope.id,
      times: 1,
      fault: { kind: 'rateLimit', retryAfter: 1 },
    });
    world.sim.addFault({
      endpoint: 'file.get',
      fileId: doc.fileId,
      times: 1,
      fault: { kind: 'reset', afterBytes: 1000 },
    });
    world.sim.addFault({
      endpoint: 'file.get',
      fileId: doc.fileId,
      times: 1,
      fault: { kind: 'truncate', afterBytes: 50_000 },
    });
    world.sim.addFault({
      endpoint: 'file.get',
      fileId: doc.fileId,
      times: 1,
      fault: { kind: 'trickle', bytesPerSecond: 400_000 },
    });
    world.sim.addFault({
      endpoint: 'envelope.delete',
      envelopeId: envelope.id,
      times: 1,
      fault: { kind: 'status', status: 500 },
    });
    assert.equal(await world.sendCallback(envelope.id), 200);
    const transfer = await world.waitForState(envelope.id, ['done'], 90_000);
    assert.ok(transfer.attempts > 1);
    const [row] = await world.query<{ s3_key: string; sha256: string }>(
      `SELECT s3_key, sha256 FROM transfer_documents WHERE transfer_id = $1 AND platform_file_id = $2`,
      [transfer.id, doc.fileId],
    );
    assert.equal(await world.objectSha256(row.s3_key), (await world.sim.expectedFile(doc.fileId)).sha256);
    // The failed delete was retried alone: the files were not downloaded again after the archive.
    const deletes = world.sim.requests({ endpoint: 'envelope.delete', envelopeId: envelope.id });
    assert.equal(deletes.filter((d) => d.status === 200).length, 1);
    const lastDownload = Math.max(
      ...world.sim
        .requests({ endpoint: 'file.get' })
        .filter((r) => r.fileId === doc.fileId)
        .map((r) => r.seq),
    );
    assert.ok(lastDownload < deletes[0].seq);
    const attempts = await world.query<{ error_class: string | null }>(
      'SELECT error_class FROM transfer_attempts WHERE transfer_id = $1 ORDER BY id',
      [transfer.id],
    );
    assert.ok(attempts.some((a) => a.error_class === 'TRANSIENT'));
  });

  it('fails a corrupt PDF with that cause, mails ops once, and keeps the envelope', async () => {
    const envelope = world.createEnvelope({ callbackUrl: null });
    world.sim.finishEnvelope(envelope.id, 'Completed');
    const [doc] = world.sim.envelopeFiles(envelope.id).filter((f) => f.kind === 'document');
    world.sim.addFault({
      endpoint: 'file.get',
      fileId: doc.fileId,
      fault: { kind: 'corruptPdf', mode: 'trailer' },
    });
    assert.equal(await world.sendCallback(envelope.id), 200);
    const transfer = await world.waitForState(envelope.id, ['failed'], 60_000);
    assert.equal(transfer.cause, 'corrupt_pdf');
    assert.equal(transfer.last_error_class, 'CORRUPT');
    const mails = await waitForMail(world, (m) => m.subject.includes(envelope.id));
    assert.equal(mails.length, 1);
    assert.deepEqual(mails[0].envelopeTo, ['ops@example.com']);
    assert.match(mails[0].text, /corrupt_pdf/);
    assert.match(mails[0].text, new RegExp(transfer.id));
    assert.equal(world.sim.requests({ endpoint: 'envelope.delete', envelopeId: envelope.id }).length, 0);
    assert.equal(world.sim.getEnvelope(envelope.id)?.deleted, false);
    // no leftover multipart upload and no object for the corrupt file
    assert.deepEqual(await world.s3.createStore().listMultipartUploads(), []);
  });

  it('moves to needs_consent on a rejected token and mails the link', async () => {
    const envelope = world.createEnvelope({ callbackUrl: null });
    world.sim.finishEnvelope(envelope.id, 'Completed');
    world.sim.addFault({
      endpoint: 'envelope.get',
      envelopeId: envelope.id,
      times: 1,
      fault: { kind: 'status', status: 401 },
    });
    assert.equal(await world.sendCallback(envelope.id), 200);
    const transfer = await world.waitForState(envelope.id, ['needs_consent']);
    assert.equal(transfer.cause, 'token_rejected');
    const mails = await waitForMail(
      world,
      (m) => m.subject.includes(envelope.id) && /grant API access/.test(m.subject),
    );
    assert.equal(mails.length, 1);
    assert.match(mails[0].text, /ESAW_API_TOKEN/);
    // paused: not retried by itself
    await new Promise((r) => setTimeout(r, 800));
    assert.equal((await world.transfer(envelope.id))?.state, 'needs_consent');
  });

  it('ends as gone, without mail, when the envelope was deleted before we came', async () => {
    const envelope = world.createEnvelope({ callbackUrl: null });
    world.sim.finishEnvelope(envelope.id, 'Completed');
    world.sim.deleteEnvelope(envelope.id);
    const before = world.smtp.messages.length;
    assert.equal(await world.sendCallback(envelope.id), 200);
    const transfer = await world.waitForState(envelope.id, ['gone']);
    assert.equal(transfer.cause, 'envelope_not_found');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(world.smtp.messages.filter((m) => m.subject.includes(envelope.id)).length, 0);
    assert.ok(world.smtp.messages.length >= before);
  });

  it('waits for an envelope that is still active, then archives it when it finishes', async () => {
    const envelope = world.createEnvelope({ callbackUrl: null });
    assert.equal(await world.sendCallback(envelope.id), 200);
    const waiting = await world.waitForState(envelope.id, ['waiting']);
    assert.equal(waiting.cause, 'not_finished_yet');
    world.sim.finishEnvelope(envelope.id, 'Completed');
    assert.equal(await world.sendCallback(envelope.id), 200); // the finished callback makes it due at once
    await world.waitForState(envelope.id, ['done']);
  });

  it('archives the audit trail of a rejected envelope', async () => {
    const envelope = world.createEnvelope({ callbackUrl: null });
    world.sim.finishEnvelope(envelope.id, 'Rejected');
    assert.equal(await world.sendCallback(envelope.id), 200);
    const transfer = await world.waitForState(envelope.id, ['done']);
    const kinds = (
      await world.query<{ kind: string }>('SELECT kind FROM transfer_documents WHERE transfer_id = $1', [
        transfer.id,
      ])
    ).map((r) => r.kind);
    assert.ok(kinds.includes('audit_trail_pdf') && kinds.includes('audit_trail_xml'));
  });

  s3rverOnly(it, 'down() and up() stop and restart the server')(
    'keeps retrying while S3 is down and archives once it is back',
    async () => {
      const envelope = world.createEnvelope({ callbackUrl: null });
      world.sim.finishEnvelope(envelope.id, 'Completed');
      await world.s3.down();
      try {
        assert.equal(await world.sendCallback(envelope.id), 200);
        const retrying = await world.waitForState(envelope.id, ['retrying']);
        assert.equal(retrying.last_error_class, 'TRANSIENT');
        assert.equal(world.sim.requests({ endpoint: 'envelope.delete', envelopeId: envelope.id }).length, 0);
      } finally {
        await world.s3.up();
      }
      await world.waitForState(envelope.id, ['done'], 60_000);
      assert.equal(world.sim.requests({ endpoint: 'envelope.delete', envelopeId: envelope.id }).length, 1);
    },
  );
});

async function waitForMail(
  world: ArchiveWorld,
  match: (m: { subject: string; text: string }) => boolean,
  timeoutMs = 30_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = world.smtp.messages.filter(match);
    if (found.length > 0) {
      await new Promise((r) => setTimeout(r, 300)); // a duplicate would arrive right behind it
      return world.smtp.messages.filter(match);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no matching mail arrived');
}
