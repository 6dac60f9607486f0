import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ArchiveWorld } from '../support/archive-world';
import { s3rverOnly } from '../support/s3';

/** What S3 holds for each document of a transfer, against what the platform serves. */
async function assertCopiesEqualPlatform(world: ArchiveWorld, envelopeId: string, transferId: string) {
  const docs = await world.query<{ platform_file_id: string; s3_key: string; verified_at: Date | null }>(
    `SELECT platform_file_id, s3_key, verified_at FROM transfer_documents WHERE transfer_id = $1 AND kind <> 'manifest'`,
    [transferId],
  );
  assert.equal(docs.length, world.sim.envelopeFiles(envelopeId).length);
  for (const doc of docs) {
    assert.ok(doc.verified_at, `${doc.s3_key} is not proven`);
    const expected = await world.sim.expectedFile(doc.platform_file_id);
    assert.equal(
      await world.objectSha256(doc.s3_key),
      expected.sha256,
      `${doc.s3_key} differs from the platform's file`,
    );
  }
}

async function mailsAbout(world: ArchiveWorld, envelopeId: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = world.smtp.messages.filter((m) => m.subject.includes(envelopeId));
    if (found.length > 0) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail about ${envelopeId} arrived`);
}

describe('copies count only when proven', () => {
  let world: ArchiveWorld;
  before(async () => {
    world = await ArchiveWorld.start();
  });
  after(async () => {
    await world.close();
  });

  s3rverOnly(it, 'corruptNextWrites makes the server keep other bytes than it was sent')(
    'a copy the store kept with other bytes is never counted: retried, replaced, then deleted once',
    async () => {
      const envelope = world.createEnvelope({ callbackUrl: null });
      world.sim.finishEnvelope(envelope.id, 'Completed');
      world.s3.corruptNextWrites(1, 'archive/20'); // a document, not the store's probe
      assert.equal(await world.sendCallback(envelope.id), 200);
      const transfer = await world.waitForState(envelope.id, ['done', 'failed'], 60_000);
      assert.equal(transfer.state, 'done');
      const attempts = await world.query<{ error_class: string | null }>(
        'SELECT error_class FROM transfer_attempts WHERE transfer_id = $1 ORDER BY id',
        [transfer.id],
      );
      assert.equal(attempts[0].error_class, 'INTEGRITY', 'the corrupted copy failed its proof');
      assert.equal(world.sim.requests({ endpoint: 'envelope.delete', envelopeId: envelope.id }).length, 1);
      await assertCopiesEqualPlatform(world, envelope.id, transfer.id);
    },
  );

  it('records the envelope name ops search by', async () => {
    const envelope = world.createEnvelope({ callbackUrl: null, name: 'Lease Müller <b>2026</b>' });
    world.sim.finishEnvelope(envelope.id, 'Completed');
    assert.equal(await world.sendCallback(envelope.id), 200);
    const transfer = await world.waitForState(envelope.id, ['done', 'failed'], 60_000);
    const [named] = await world.query<{ envelope_name: string | null }>(
      'SELECT envelope_name FROM transfers WHERE id = $1',
      [transfer.id],
    );
    assert.equal(named.envelope_name, 'Lease Müller <b>2026</b>');
  });

  s3rverOnly(it, 'corruptNextWrites makes the server keep other bytes than it was sent')(
    'a store that keeps corrupting fails as copy_not_verified, mails ops and never deletes',
    async () => {
      const envelope = world.createEnvelope({ callbackUrl: null });
      world.sim.finishEnvelope(envelope.id, 'Completed');
      world.s3.corruptNextWrites(1_000, 'archive/');
      try {
        assert.equal(await world.sendCallback(envelope.id), 200);
        const transfer = await world.waitForState(envelope.id, ['done', 'failed'], 60_000);
        assert.equal(transfer.state, 'failed');
        assert.equal(transfer.cause, 'copy_not_verified');
      } finally {
        world.s3.corruptNextWrites(0);
      }
      const mails = await mailsAbout(world, envelope.id);
      assert.match(mails[0].text, /copy_not_verified/);
      assert.equal(world.sim.requests({ endpoint: 'envelope.delete', envelopeId: envelope.id }).length, 0);
      assert.equal(world.sim.getEnvelope(envelope.id)?.deleted, false);
    },
  );

  it('a listed file that answers 404 fails as file_missing with ops mail, never gone, never deleted', async () => {
    const envelope = world.createEnvelope({ callbackUrl: null });
    world.sim.finishEnvelope(envelope.id, 'Completed');
    const [doc] = world.sim.envelopeFiles(envelope.id).filter((f) => f.kind === 'document');
    world.sim.addFault({ endpoint: 'file.get', fileId: doc.fileId, fault: { kind: 'status', status: 404 } });
    assert.equal(await world.sendCallback(envelope.id), 200);
    const transfer = await world.waitForState(envelope.id, ['failed', 'gone', 'done'], 60_000);
    assert.equal(transfer.state, 'failed');
    assert.equal(transfer.cause, 'file_missing');
    assert.equal(transfer.last_error_class, 'FILE_MISSING');
    assert.ok(transfer.attempts > 1, 'a missing file is tried again before a person is asked');
    const mails = await mailsAbout(world, envelope.id);
    assert.equal(mails.length, 1);
    assert.match(mails[0].text, /file_missing/);
    assert.match(mails[0].text, new RegExp(doc.fileName));
    assert.equal(world.sim.requests({ endpoint: 'envelope.delete', envelopeId: envelope.id }).length, 0);
  });
});

s3rverOnly(describe, 's3Features: { listUploads: false } plays a store without ListMultipartUploads')(
  'on a store without ListMultipartUploads',
  () => {
    let world: ArchiveWorld;
    before(async () => {
      world = await ArchiveWorld.start({ s3Features: { listUploads: false } });
    });
    after(async () => {
      await world.close();
    });

    it('archives, and a failing envelope shows its real cause, not the clean-up', async () => {
      const good = world.createEnvelope({
        callbackUrl: null,
        documents: [{ fileName: 'Large.pdf', size: 7 * 1024 * 1024 }],
      });
      world.sim.finishEnvelope(good.id, 'Completed');
      const bad = world.createEnvelope({ callbackUrl: null });
      world.sim.finishEnvelope(bad.id, 'Completed');
      const [doc] = world.sim.envelopeFiles(bad.id).filter((f) => f.kind === 'document');
      world.sim.addFault({
        endpoint: 'file.get',
        fileId: doc.fileId,
        fault: { kind: 'corruptPdf', mode: 'trailer' },
      });
      assert.equal(await world.sendCallback(good.id), 200);
      assert.equal(await world.sendCallback(bad.id), 200);
      const done = await world.waitForState(good.id, ['done', 'failed'], 60_000);
      assert.equal(done.state, 'done');
      await assertCopiesEqualPlatform(world, good.id, done.id);
      const failed = await world.waitForState(bad.id, ['failed'], 60_000);
      assert.equal(failed.cause, 'corrupt_pdf');
      assert.ok(failed.attempts > 1, 'the retries ran the clean-up of earlier attempts');
      assert.equal(failed.last_error_class, 'CORRUPT');
    });
  },
);
