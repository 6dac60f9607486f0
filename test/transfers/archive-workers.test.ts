import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TEST_CALLBACK_TOKEN } from '../support/app';
import { ArchiveWorld } from '../support/archive-world';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

describe('archive workers as separate processes', () => {
  let world: ArchiveWorld;
  const workers: WorkerProcess[] = [];
  before(async () => {
    world = await ArchiveWorld.start({ startApp: false });
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    await world.close();
  });

  const callback = (w: WorkerProcess, envelopeId: string) =>
    fetch(
      `${w.url}/callbacks/esignanywhere?envelope=${envelopeId}&action=envelopeFinished&token=${TEST_CALLBACK_TOKEN}`,
    );

  it('two workers on one database never handle a transfer twice', async () => {
    const a = await startWorkerProcess(world.env({ ARCHIVE_CONCURRENCY: '3' }));
    const b = await startWorkerProcess(world.env({ ARCHIVE_CONCURRENCY: '3' }));
    workers.push(a, b);
    const envelopes = Array.from({ length: 10 }, () => {
      const e = world.createEnvelope({ callbackUrl: null });
      world.sim.finishEnvelope(e.id, 'Completed');
      return e;
    });
    // Every callback arrives at both workers, as behind a load balancer with platform retries.
    for (const e of envelopes) {
      const [ra, rb] = await Promise.all([callback(a, e.id), callback(b, e.id)]);
      assert.equal(ra.status, 200);
      assert.equal(rb.status, 200);
    }
    for (const e of envelopes) await world.waitForState(e.id, ['done'], 90_000);

    for (const e of envelopes) {
      for (const file of world.sim.envelopeFiles(e.id)) {
        const downloads = world.sim
          .requests({ endpoint: 'file.get' })
          .filter((r) => r.fileId === file.fileId);
        assert.equal(
          downloads.length,
          1,
          `file ${file.fileName} of ${e.id} downloaded ${downloads.length} times`,
        );
      }
      assert.equal(world.sim.requests({ endpoint: 'envelope.delete', envelopeId: e.id }).length, 1);
    }
    const workersSeen = await world.query<{ worker: string }>(
      'SELECT DISTINCT worker FROM transfer_attempts',
    );
    assert.ok(workersSeen.length >= 1);
    await Promise.all([a.kill('SIGTERM'), b.kill('SIGTERM')]);
  });

  it('a worker killed mid-upload: after restart exactly one copy, no leftover multipart upload, one delete', async () => {
    const env = world.env({ ARCHIVE_LEASE_MS: '2000', S3_PART_SIZE_MB: '5' });
    const first = await startWorkerProcess(env);
    workers.push(first);
    const envelope = world.createEnvelope({
      callbackUrl: null,
      documents: [{ fileName: 'Large.pdf', size: 24 * 1024 * 1024 }],
    });
    world.sim.finishEnvelope(envelope.id, 'Completed');
    const [big] = world.sim.envelopeFiles(envelope.id).filter((f) => f.kind === 'document');
    world.sim.addFault({
      endpoint: 'file.get',
      fileId: big.fileId,
      times: 1,
      fault: { kind: 'trickle', bytesPerSecond: 4 * 1024 * 1024 },
    });
    assert.equal((await callback(first, envelope.id)).status, 200);

    const store = world.s3.createStore();
    const deadline = Date.now() + 30_000;
    while ((await store.listMultipartUploads()).length === 0) {
      assert.ok(Date.now() < deadline, 'the upload never started');
      await new Promise((r) => setTimeout(r, 50));
    }
    await first.kill('SIGKILL');
    assert.equal((await world.transfer(envelope.id))?.state, 'archiving');
    assert.ok((await store.listMultipartUploads()).length > 0, 'the killed worker left an unfinished upload');

    const second = await startWorkerProcess(env);
    workers.push(second);
    const transfer = await world.waitForState(envelope.id, ['done'], 90_000);

    const docs = await world.query<{ s3_key: string; platform_file_id: string; sha256: string }>(
      'SELECT s3_key, platform_file_id, sha256 FROM transfer_documents WHERE transfer_id = $1',
      [transfer.id],
    );
    const keys = await world.listKeys(`archive/`);
    const mine = keys.filter((k) => k.includes(envelope.id));
    assert.equal(mine.length, docs.length, 'one object per document, nothing else');
    const bigRow = docs.find((d) => d.platform_file_id === big.fileId)!;
    assert.equal(await world.objectSha256(bigRow.s3_key), (await world.sim.expectedFile(big.fileId)).sha256);
    assert.deepEqual(await store.listMultipartUploads(), []);
    assert.equal(world.sim.requests({ endpoint: 'envelope.delete', envelopeId: envelope.id }).length, 1);
    await second.kill('SIGTERM');
  });
});
