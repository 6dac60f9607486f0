import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Logger } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { loadConfig } from '../../src/config/app-config';
import { ConfigModule } from '../../src/config/config.module';
import { MetricsService } from '../../src/metrics/metrics.service';
import { MailOutboxService } from '../../src/notifications/mail-outbox.service';
import { MAIL_TRANSPORT, type MailTransport } from '../../src/notifications/mail-transport';
import { TransferNotices } from '../../src/notifications/transfer-notices';
import { SIGNING_PLATFORMS } from '../../src/platforms/signing-platform';
import { SenderTokenResolver } from '../../src/senders/sender-token.resolver';
import { SenderRepository } from '../../src/senders/sender.repository';
import { TokenCipher } from '../../src/senders/token-cipher';
import { OBJECT_STORE } from '../../src/storage/object-store';
import { ArchiveError } from '../../src/transfers/archive-error';
import { ArchiveService } from '../../src/transfers/archive.service';
import { TransferRepository, type ClaimedTransfer } from '../../src/transfers/transfer.repository';
import { DUE_STATES, type TransferState } from '../../src/transfers/transfer-state';
import { createMigratedDataSource } from '../support/database';
import { FakeSigningPlatform, pdfBytes, type FakeFileSpec } from '../support/fake-signing-platform';
import { InMemoryObjectStore, type InMemoryObjectStoreOptions } from '../support/in-memory-object-store';

/**
 * The archive pipeline's decisions, fast: the real ArchiveService, repository, token resolver, notices
 * and mail outbox on the real PostgreSQL, with the platform and the bucket in memory (the HTTP and S3
 * paths have tests of their own).
 */

const BASE_ENV: Record<string, string> = {
  NODE_ENV: 'test',
  CALLBACK_AUTH: 'none',
  S3_PREFIX: 'archive',
  ALERT_TO: 'ops@example.com',
  PUBLIC_BASE_URL: 'https://archiver.example.com',
  // Retries are due at once; the tests decide when the next attempt runs.
  RETRY_BASE_DELAY_MS: '1',
  RETRY_MAX_DELAY_MS: '1',
};

const FIVE_FILES: FakeFileSpec[] = [
  { kind: 'signed_document', fileName: 'Contract.pdf', size: 40_000 },
  { kind: 'attachment', fileName: 'ID card.pdf', size: 3_000 },
  { kind: 'legal_document', fileName: 'CA22D request.pdf', size: 2_500 },
  { kind: 'audit_trail_pdf', fileName: 'audit-trail.pdf', size: 6_000 },
  { kind: 'audit_trail_xml', fileName: 'audit-trail.xml', size: 1_500 },
];

const manifestSchema = z.object({
  envelopeId: z.string(),
  envelope: z.object({ status: z.string() }),
  metadata: z.object({ fields: z.record(z.string(), z.string()) }),
  documents: z.array(
    z.object({ kind: z.string(), platformFileId: z.string(), sha256: z.string(), size: z.number() }),
  ),
});

interface TransferRow {
  id: string;
  envelope_id: string;
  state: TransferState;
  cause: string | null;
  attempts: number;
  last_error_class: string | null;
  envelope_status: string | null;
  claim_token: string | null;
  archived_at: Date | null;
  platform_deleted_at: Date | null;
  finished_at: Date | null;
  created_at: Date;
}

interface DocumentRow {
  kind: string;
  platform_file_id: string;
  s3_key: string;
  size: string | null;
  sha256: string | null;
  verified_at: Date | null;
}

/** Mail is only queued here: its delivery has tests of its own. */
const undeliveredMail: MailTransport = {
  send: () => Promise.reject(new Error('mail is not delivered in these tests')),
  ping: () => Promise.resolve(),
};

/**
 * What a run meets when its worker loses the transfer: it stops where it is and records nothing more,
 * which leaves the database as a worker that died at that point would: claimed until the lease ends.
 */
const workerStopped = (): ArchiveError => new ArchiveError('the worker stopped here', 'LEASE_LOST');

describe('archive pipeline decisions (in-memory platform and bucket, real PostgreSQL)', () => {
  let db: Awaited<ReturnType<typeof createMigratedDataSource>>;
  let claims: TransferRepository;
  const modules: TestingModule[] = [];

  before(async () => {
    Logger.overrideLogger(['error']);
    db = await createMigratedDataSource();
    claims = new TransferRepository(db.dataSource);
  });

  after(async () => {
    for (const m of modules.splice(0)) await m.close();
    await db.close();
  });

  beforeEach(async () => {
    await db.dataSource.query(
      'TRUNCATE transfers, transfer_documents, transfer_attempts, outbound_mail, senders, envelope_senders CASCADE',
    );
  });

  /** A pipeline with its own platform and bucket, configured by `env` over the base settings. */
  async function world(env: Record<string, string> = {}, storeOptions: InMemoryObjectStoreOptions = {}) {
    const config = loadConfig({ ...BASE_ENV, ...env });
    const platform = new FakeSigningPlatform();
    const store = new InMemoryObjectStore({ prefix: config.storage.S3_PREFIX, ...storeOptions });
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config)],
      providers: [
        ArchiveService,
        TransferRepository,
        SenderTokenResolver,
        SenderRepository,
        TokenCipher,
        TransferNotices,
        MailOutboxService,
        MetricsService,
        { provide: DataSource, useValue: db.dataSource },
        { provide: MAIL_TRANSPORT, useValue: undeliveredMail },
        { provide: SIGNING_PLATFORMS, useValue: new Map([[platform.name, platform]]) },
        { provide: OBJECT_STORE, useValue: store },
      ],
    }).compile();
    modules.push(moduleRef);
    const service = moduleRef.get(ArchiveService);

    return {
      platform,
      store,
      /** A transfer for the envelope, as a callback would make it. */
      async callbackFor(envelopeId: string): Promise<TransferRow> {
        await claims.ensureDue([{ platform: platform.name, envelopeId }], db.dataSource.manager);
        return transfer(envelopeId);
      },
      /** Claims the one due transfer (made due now) and runs the pipeline on it once. */
      async runOnce(): Promise<{ claim: ClaimedTransfer; state: TransferState }> {
        await db.dataSource.query('UPDATE transfers SET next_attempt_at = now() WHERE state = ANY($1)', [
          DUE_STATES,
        ]);
        const claimed = await claims.claimDue(2, 'decision-test', 60_000);
        assert.equal(claimed.length, 1, `expected one due transfer, claimed ${claimed.length}`);
        const state = await service.run(claimed[0], new AbortController().signal);
        return { claim: claimed[0], state };
      },
    };
  }

  async function transfer(envelopeId: string): Promise<TransferRow> {
    const rows = await db.dataSource.query<TransferRow[]>('SELECT * FROM transfers WHERE envelope_id = $1', [
      envelopeId,
    ]);
    assert.equal(rows.length, 1, `no transfer for ${envelopeId}`);
    return rows[0];
  }

  function documents(transferId: string): Promise<DocumentRow[]> {
    return db.dataSource.query<DocumentRow[]>(
      `SELECT kind, platform_file_id, s3_key, size, sha256, verified_at FROM transfer_documents
        WHERE transfer_id = $1 ORDER BY id`,
      [transferId],
    );
  }

  function mails(
    transferId: string,
  ): Promise<{ kind: string; recipients: string[]; subject: string; body: string }[]> {
    return db.dataSource.query(
      'SELECT kind, recipients, subject, body FROM outbound_mail WHERE transfer_id = $1 ORDER BY id',
      [transferId],
    );
  }

  /** The key the pipeline gives a file, relative to S3_PREFIX. */
  function keyOf(row: TransferRow, kind: string, name: string): string {
    const d = new Date(row.created_at);
    const month = String(d.getUTCMonth() + 1).padStart(2, '0');
    return `${d.getUTCFullYear()}/${month}/${row.envelope_id}/${kind}/${name}`;
  }

  describe('finished envelopes', () => {
    it('completed: every file is copied and proven, the manifest is written, then the envelope is deleted', async () => {
      const w = await world();
      const envelope = w.platform.addEnvelope({
        id: 'env-completed',
        metadata: { fields: { 'Customer/Id': 'C-17', DocType: 'contract' } },
        files: FIVE_FILES,
      });
      const row = await w.callbackFor(envelope.id);

      assert.equal((await w.runOnce()).state, 'done');

      const done = await transfer(envelope.id);
      assert.equal(done.state, 'done');
      assert.equal(done.envelope_status, 'Completed');
      assert.equal(done.last_error_class, null);
      assert.ok(done.archived_at && done.platform_deleted_at && done.finished_at);
      const docs = await documents(row.id);
      assert.deepEqual(
        docs.map((d) => d.kind),
        ['signed_document', 'attachment', 'legal_document', 'audit_trail_pdf', 'audit_trail_xml', 'manifest'],
      );
      for (const file of envelope.files) {
        const doc = docs.find((d) => d.platform_file_id === file.fileId)!;
        assert.equal(doc.sha256, file.sha256);
        assert.equal(Number(doc.size), file.bytes.length);
        assert.ok(doc.verified_at, `${file.fileName} not proven`);
        assert.equal(doc.s3_key, `archive/${keyOf(row, file.kind, file.fileName.replace(/ /g, '_'))}`);
        const stored = w.store.object(doc.s3_key)!;
        assert.ok(stored.bytes.equals(file.bytes), `${file.fileName}: stored bytes differ`);
        assert.equal(stored.contentType, file.pdf ? 'application/pdf' : 'application/xml');
        assert.equal(stored.metadata['envelope-id'], 'env-completed');
        assert.equal(stored.metadata['document-kind'], file.kind);
        assert.deepEqual(
          [stored.tags['document-kind'], stored.tags['envelope-status'], stored.tags.Id, stored.tags.DocType],
          [file.kind, 'Completed', 'C-17', 'contract'],
        );
      }
      const manifestRow = docs.find((d) => d.kind === 'manifest')!;
      const manifest = manifestSchema.parse(
        JSON.parse(w.store.object(manifestRow.s3_key)!.bytes.toString('utf8')),
      );
      assert.equal(manifest.envelopeId, 'env-completed');
      assert.equal(manifest.envelope.status, 'Completed');
      assert.deepEqual(manifest.metadata.fields, { 'Customer/Id': 'C-17', DocType: 'contract' });
      assert.deepEqual(
        manifest.documents.map((d) => [d.platformFileId, d.sha256, d.size]).sort(),
        envelope.files.map((f) => [f.fileId, f.sha256, f.bytes.length]).sort(),
      );
      assert.equal(w.store.keys().length, 6);

      const methods = w.platform.calls.map((c) => c.method);
      assert.deepEqual(
        w.platform
          .callsOf('openFile')
          .map((c) => c.fileId)
          .sort(),
        envelope.files.map((f) => f.fileId).sort(),
        'each file is downloaded once',
      );
      assert.equal(methods.filter((m) => m === 'delete').length, 1);
      assert.equal(methods.at(-1), 'delete', 'the delete comes after every download');
      assert.equal(w.platform.envelope(envelope.id)!.deleted, true);
      const [attempt] = await db.dataSource.query<{ outcome: string; error_class: string | null }[]>(
        'SELECT outcome, error_class FROM transfer_attempts WHERE transfer_id = $1',
        [row.id],
      );
      assert.deepEqual({ ...attempt }, { outcome: 'done', error_class: null });
    });

    it('ended, with ARCHIVE_UNFINISHED_DOCUMENTS=false: only the audit trails are copied, then it is deleted', async () => {
      const w = await world({ ARCHIVE_UNFINISHED_DOCUMENTS: 'false' });
      const envelope = w.platform.addEnvelope({
        id: 'env-declined',
        phase: 'ended',
        status: 'Declined',
        files: FIVE_FILES,
      });
      const row = await w.callbackFor(envelope.id);

      assert.equal((await w.runOnce()).state, 'done');

      const docs = await documents(row.id);
      assert.deepEqual(
        docs.map((d) => d.kind),
        ['audit_trail_pdf', 'audit_trail_xml', 'manifest'],
      );
      const audit = envelope.files.filter((f) => f.kind.startsWith('audit_trail'));
      assert.deepEqual(
        w.platform
          .callsOf('openFile')
          .map((c) => c.fileId)
          .sort(),
        audit.map((f) => f.fileId).sort(),
      );
      assert.equal(w.store.keys().length, 3);
      assert.equal((await transfer(envelope.id)).envelope_status, 'Declined');
      assert.equal(w.platform.callsOf('delete').length, 1);
    });

    it('ended, with the default settings: every file that exists is copied', async () => {
      const w = await world();
      const envelope = w.platform.addEnvelope({
        id: 'env-expired',
        phase: 'ended',
        status: 'Expired',
        files: FIVE_FILES,
      });
      const row = await w.callbackFor(envelope.id);

      assert.equal((await w.runOnce()).state, 'done');

      assert.equal((await documents(row.id)).filter((d) => d.verified_at).length, 6);
      assert.equal(w.platform.callsOf('openFile').length, 5);
    });

    it('an identical copy already in the bucket is adopted, not written again', async () => {
      const w = await world();
      const envelope = w.platform.addEnvelope({ id: 'env-adopt' });
      const row = await w.callbackFor(envelope.id);
      const contract = envelope.files[0];
      const key = keyOf(row, 'signed_document', 'Contract.pdf');
      w.store.seed(key, contract.bytes);

      assert.equal((await w.runOnce()).state, 'done');

      assert.deepEqual(
        w.store.writes.filter((x) => x.key === key).map((x) => x.outcome),
        ['adopted'],
      );
      const doc = (await documents(row.id)).find((d) => d.kind === 'signed_document')!;
      assert.equal(doc.sha256, contract.sha256);
      assert.ok(doc.verified_at);
    });
  });

  describe('envelopes that are not ready, or not there', () => {
    it('in progress: the transfer waits, uncounted; nothing is copied, nothing deleted', async () => {
      const w = await world();
      w.platform.addEnvelope({ id: 'env-active', phase: 'in_progress', files: FIVE_FILES });
      const row = await w.callbackFor('env-active');

      assert.equal((await w.runOnce()).state, 'waiting');

      const waiting = await transfer('env-active');
      assert.deepEqual(
        [waiting.state, waiting.cause, waiting.attempts, waiting.envelope_status, waiting.archived_at],
        ['waiting', 'not_finished_yet', 0, 'InProgress', null],
      );
      assert.deepEqual(
        w.platform.calls.map((c) => c.method),
        ['getEnvelope'],
      );
      assert.deepEqual(w.store.writes, []);
      assert.deepEqual(await documents(row.id), []);
    });

    it('a waiting transfer is archived once its envelope has finished', async () => {
      const w = await world();
      w.platform.addEnvelope({ id: 'env-later', phase: 'in_progress' });
      await w.callbackFor('env-later');
      assert.equal((await w.runOnce()).state, 'waiting');

      w.platform.setPhase('env-later', 'completed');
      assert.equal((await w.runOnce()).state, 'done');

      assert.equal(w.platform.callsOf('openFile').length, 2);
      assert.equal(w.platform.envelope('env-later')!.deleted, true);
    });

    it('missing before anything was copied: the transfer is gone, without mail or delete', async () => {
      const w = await world();
      const row = await w.callbackFor('env-never-there');

      assert.equal((await w.runOnce()).state, 'gone');

      const gone = await transfer('env-never-there');
      assert.deepEqual(
        [gone.state, gone.cause, gone.last_error_class, gone.finished_at !== null],
        ['gone', 'envelope_not_found', 'NOT_FOUND', true],
      );
      assert.deepEqual(
        w.platform.calls.map((c) => [c.method, c.outcome]),
        [['getEnvelope', 'NOT_FOUND']],
      );
      assert.deepEqual(w.store.writes, []);
      assert.deepEqual(await mails(row.id), []);
    });

    it('missing after some files were copied: failed for ops (deleted during archive), not gone', async () => {
      const w = await world({ ARCHIVE_FILE_CONCURRENCY: '1' });
      const envelope = w.platform.addEnvelope({ id: 'env-vanishing' });
      const row = await w.callbackFor(envelope.id);
      w.platform.fail('openFile', 'TRANSIENT', { fileId: envelope.files[1].fileId });
      assert.equal((await w.runOnce()).state, 'retrying');
      assert.equal((await documents(row.id)).filter((d) => d.verified_at).length, 1);

      w.platform.deleteBySomeoneElse(envelope.id);
      assert.equal((await w.runOnce()).state, 'failed');

      const failed = await transfer(envelope.id);
      assert.deepEqual([failed.cause, failed.last_error_class], ['deleted_during_archive', 'NOT_FOUND']);
      assert.deepEqual(
        (await mails(row.id)).map((m) => [m.kind, m.recipients]),
        [['transfer_failed', ['ops@example.com']]],
      );
      assert.equal(w.platform.callsOf('delete').length, 0);
    });
  });

  describe('refusals and failures', () => {
    it('a refused token: the transfer needs consent, ops are asked to replace the fallback token, nothing is deleted', async () => {
      const w = await world();
      w.platform.addEnvelope({ id: 'env-refused' });
      const row = await w.callbackFor('env-refused');
      w.platform.fail('getEnvelope', 'UNAUTHORIZED');

      assert.equal((await w.runOnce()).state, 'needs_consent');

      const paused = await transfer('env-refused');
      assert.deepEqual(
        [paused.state, paused.cause, paused.last_error_class, paused.finished_at],
        ['needs_consent', 'token_rejected', 'UNAUTHORIZED', null],
      );
      const [mail, ...more] = await mails(row.id);
      assert.deepEqual(more, []);
      assert.equal(mail.kind, 'token_rejected');
      assert.deepEqual(mail.recipients, ['ops@example.com']);
      assert.match(mail.body, /Fake Sign refused the API access/);
      assert.match(mail.body, /FAKE_API_TOKEN was refused and must be replaced/);
      assert.deepEqual(w.store.writes, []);
      assert.equal(w.platform.callsOf('delete').length, 0);
    });

    it('a token refused in the middle of copying also pauses for consent and deletes nothing', async () => {
      const w = await world();
      const envelope = w.platform.addEnvelope({ id: 'env-refused-later' });
      await w.callbackFor(envelope.id);
      w.platform.fail('openFile', 'UNAUTHORIZED', { fileId: envelope.files[1].fileId });

      assert.equal((await w.runOnce()).state, 'needs_consent');
      assert.equal(w.platform.callsOf('delete').length, 0);
      assert.equal(w.platform.envelope(envelope.id)!.deleted, false);
    });

    it('a listed file the platform says is missing: FILE_MISSING is retried, then fails for ops; never deleted', async () => {
      const w = await world();
      const envelope = w.platform.addEnvelope({ id: 'env-file-missing' });
      const row = await w.callbackFor(envelope.id);
      const contract = envelope.files[0];
      w.platform.fail('openFile', 'NOT_FOUND', { fileId: contract.fileId, times: Infinity });

      const states: TransferState[] = [];
      for (let i = 0; i < 3; i++) states.push((await w.runOnce()).state);

      assert.deepEqual(states, ['retrying', 'retrying', 'failed']);
      const failed = await transfer(envelope.id);
      assert.deepEqual([failed.cause, failed.last_error_class], ['file_missing', 'FILE_MISSING']);
      const doc = (await documents(row.id)).find((d) => d.platform_file_id === contract.fileId)!;
      assert.equal(doc.verified_at, null);
      const sent = await mails(row.id);
      assert.deepEqual(
        sent.map((m) => m.kind),
        ['transfer_failed'],
      );
      assert.match(sent[0].subject, /file_missing/);
      assert.equal(w.platform.callsOf('delete').length, 0);
    });

    it('a file whose platform gives its sha256: the bytes are checked against it and the manifest lists it', async () => {
      const w = await world();
      const envelope = w.platform.addEnvelope({
        id: 'env-declared',
        files: [
          { kind: 'signed_document', fileName: 'Signed.pdf', declaredSha256: true },
          { kind: 'audit_trail_pdf', fileName: 'audit.pdf' },
        ],
      });
      const row = await w.callbackFor(envelope.id);

      assert.equal((await w.runOnce()).state, 'done');

      const docs = await db.dataSource.query<{ kind: string; platform_sha256: string | null }[]>(
        'SELECT kind, platform_sha256 FROM transfer_documents WHERE transfer_id = $1 ORDER BY id',
        [row.id],
      );
      assert.deepEqual(
        docs.map((d) => [d.kind, d.platform_sha256]),
        [
          ['signed_document', envelope.files[0].sha256],
          ['audit_trail_pdf', null],
          ['manifest', null],
        ],
      );
      const manifestKey = w.store.keys().find((k) => k.endsWith('/manifest.json'))!;
      const manifest = JSON.parse(w.store.object(manifestKey)!.bytes.toString('utf8')) as {
        documents: Record<string, unknown>[];
      };
      assert.deepEqual(
        manifest.documents.map((d) => [d.kind, d.platformSha256]),
        [
          ['signed_document', envelope.files[0].sha256],
          ['audit_trail_pdf', undefined],
        ],
      );
    });

    it("bytes that do not match the platform's own sha256 are never archived: retried, then failed for ops; never deleted", async () => {
      const w = await world();
      const envelope = w.platform.addEnvelope({
        id: 'env-checksum',
        files: [
          { kind: 'signed_document', fileName: 'Signed.pdf', declaredSha256: 'ab'.repeat(32), size: 300_000 },
          { kind: 'audit_trail_pdf', fileName: 'audit.pdf' },
        ],
      });
      const row = await w.callbackFor(envelope.id);

      const states: TransferState[] = [];
      for (let i = 0; i < 3; i++) states.push((await w.runOnce()).state);

      assert.deepEqual(states, ['retrying', 'retrying', 'failed']);
      const failed = await transfer(envelope.id);
      assert.deepEqual([failed.cause, failed.last_error_class], ['checksum_mismatch', 'CHECKSUM']);
      const signed = (await documents(row.id)).find((d) => d.kind === 'signed_document')!;
      assert.equal(signed.verified_at, null);
      assert.equal(w.store.object(signed.s3_key), undefined, 'no copy of the disowned bytes');
      assert.ok(!w.store.keys().some((k) => k.endsWith('/manifest.json')));
      assert.equal(w.platform.callsOf('delete').length, 0);
      assert.match((await mails(row.id))[0].subject, /checksum_mismatch/);
    });

    it('a platform checksum that is not a sha256 is a protocol error, not a copy', async () => {
      const w = await world();
      const envelope = w.platform.addEnvelope({
        id: 'env-bad-checksum',
        files: [{ kind: 'signed_document', fileName: 'Signed.pdf', declaredSha256: 'md5:abc' }],
      });
      await w.callbackFor(envelope.id);

      assert.equal((await w.runOnce()).state, 'retrying');
      assert.equal((await transfer(envelope.id)).last_error_class, 'PROTOCOL');
      assert.deepEqual(w.store.keys(), []);
    });

    it('a file the platform is still preparing: the transfer waits as long as it says, uncounted, then archives', async () => {
      const w = await world();
      const envelope = w.platform.addEnvelope({ id: 'env-preparing', files: FIVE_FILES });
      const row = await w.callbackFor(envelope.id);
      w.platform.fail(
        'openFile',
        { code: 'NOT_READY', retryAfterMs: 4 * 3_600_000 },
        { fileId: envelope.files[0].fileId, times: 2 },
      );

      for (let i = 0; i < 2; i++) {
        assert.equal((await w.runOnce()).state, 'waiting');
        const [waiting] = await db.dataSource.query<(TransferRow & { wait_s: number; last_error: string })[]>(
          `SELECT *, extract(epoch FROM next_attempt_at - now())::int AS wait_s FROM transfers WHERE id = $1`,
          [row.id],
        );
        assert.deepEqual(
          [waiting.state, waiting.cause, waiting.attempts, waiting.last_error_class],
          ['waiting', 'platform_preparing', 0, 'NOT_READY'],
        );
        assert.ok(Math.abs(waiting.wait_s - 4 * 3600) < 60, `waits ${waiting.wait_s} s`);
      }
      assert.equal(w.platform.callsOf('delete').length, 0);

      assert.equal((await w.runOnce()).state, 'done');
      // Each file proven while the first one waited is copied once, never again.
      const opened = w.platform.callsOf('openFile').map((c) => c.fileId);
      assert.deepEqual(
        envelope.files.map((f) => opened.filter((id) => id === f.fileId).length),
        [3, 1, 1, 1, 1],
      );
      assert.equal((await mails(row.id)).length, 0, 'a wait is not a failure to mail about');
    });

    it('a file still being prepared past MAX_AGE fails as max_age_exceeded rather than waiting forever', async () => {
      const w = await world({ MAX_AGE: '2h' });
      const envelope = w.platform.addEnvelope({ id: 'env-preparing-long' });
      await w.callbackFor(envelope.id);
      w.platform.fail('openFile', { code: 'NOT_READY', retryAfterMs: 4 * 3_600_000 }, { times: Infinity });

      assert.equal((await w.runOnce()).state, 'failed');
      assert.deepEqual(
        [(await transfer(envelope.id)).cause, (await transfer(envelope.id)).last_error_class],
        ['max_age_exceeded', 'NOT_READY'],
      );
    });

    it('a different copy already at the key: failed (copy_conflict), that copy is kept, nothing is deleted', async () => {
      const w = await world();
      const envelope = w.platform.addEnvelope({ id: 'env-conflict' });
      const row = await w.callbackFor(envelope.id);
      const theirs = pdfBytes('written by someone else', 5_000);
      const key = keyOf(row, 'signed_document', 'Contract.pdf');
      w.store.seed(key, theirs);

      assert.equal((await w.runOnce()).state, 'failed');

      const failed = await transfer(envelope.id);
      assert.deepEqual([failed.cause, failed.last_error_class], ['copy_conflict', 'CONFLICT']);
      assert.ok(w.store.object(`archive/${key}`)!.bytes.equals(theirs), 'the other copy was overwritten');
      assert.equal((await documents(row.id)).find((d) => d.kind === 'signed_document')!.verified_at, null);
      assert.deepEqual(
        (await mails(row.id)).map((m) => m.kind),
        ['transfer_failed'],
      );
      assert.equal(w.platform.callsOf('delete').length, 0);
      assert.equal(w.platform.envelope(envelope.id)!.deleted, false);
    });

    it('a write whose stored bytes cannot be proven is never done and never deleted; once the bucket heals, it is', async () => {
      const w = await world();
      const envelope = w.platform.addEnvelope({ id: 'env-corrupt' });
      const row = await w.callbackFor(envelope.id);
      w.store.corruptNextWrite((key) => key.endsWith('/Contract.pdf'), 3);

      const states: TransferState[] = [];
      for (let i = 0; i < 3; i++) states.push((await w.runOnce()).state);

      assert.deepEqual(states, ['retrying', 'retrying', 'failed']);
      const failed = await transfer(envelope.id);
      assert.deepEqual(
        [failed.cause, failed.last_error_class, failed.archived_at],
        ['copy_not_verified', 'INTEGRITY', null],
      );
      assert.equal((await documents(row.id)).find((d) => d.kind === 'signed_document')!.verified_at, null);
      assert.equal(w.platform.callsOf('delete').length, 0);

      // An operator retries once the bucket is sound: the copy that proves nothing is replaced.
      await db.dataSource.transaction((manager) => claims.retryByOperator(row.id, manager));
      assert.equal((await w.runOnce()).state, 'done');
      const contract = envelope.files[0];
      const stored = w.store.object(`archive/${keyOf(row, 'signed_document', 'Contract.pdf')}`)!;
      assert.ok(stored.bytes.equals(contract.bytes));
      assert.equal(w.platform.callsOf('delete').length, 1);
    });
  });

  describe('the delete', () => {
    it('a delete answered NOT_FOUND counts as done: the envelope is gone either way', async () => {
      const w = await world();
      w.platform.addEnvelope({ id: 'env-already-deleted' });
      await w.callbackFor('env-already-deleted');
      w.platform.fail('delete', 'NOT_FOUND');

      assert.equal((await w.runOnce()).state, 'done');

      const done = await transfer('env-already-deleted');
      assert.ok(done.platform_deleted_at && done.finished_at);
      assert.deepEqual(
        w.platform.callsOf('delete').map((c) => c.outcome),
        ['NOT_FOUND'],
      );
    });

    it('a delete that fails for now leaves the transfer archived; the next run only deletes', async () => {
      const w = await world();
      w.platform.addEnvelope({ id: 'env-delete-later' });
      await w.callbackFor('env-delete-later');
      w.platform.fail('delete', 'TRANSIENT');

      assert.equal((await w.runOnce()).state, 'archived');
      const archived = await transfer('env-delete-later');
      assert.ok(archived.archived_at);
      assert.equal(archived.platform_deleted_at, null);
      const writes = w.store.writes.length;
      w.platform.clearCalls();

      assert.equal((await w.runOnce()).state, 'done');
      assert.deepEqual(
        w.platform.calls.map((c) => [c.method, c.outcome]),
        [['delete', 'ok']],
      );
      assert.equal(w.store.writes.length, writes, 'nothing was written again');
    });

    it('DELETE_AFTER_ARCHIVE=false: done without a delete; the envelope stays on the platform', async () => {
      const w = await world({ DELETE_AFTER_ARCHIVE: 'false' });
      w.platform.addEnvelope({ id: 'env-kept' });
      await w.callbackFor('env-kept');

      assert.equal((await w.runOnce()).state, 'done');

      const done = await transfer('env-kept');
      assert.ok(done.archived_at && done.finished_at);
      assert.equal(done.platform_deleted_at, null);
      assert.equal(w.platform.callsOf('delete').length, 0);
      assert.equal(w.platform.envelope('env-kept')!.deleted, false);
    });
  });

  describe('resuming after a worker stopped', () => {
    it('stopped after every copy was proven: the next run copies nothing again, writes the manifest and deletes', async () => {
      const w = await world();
      const envelope = w.platform.addEnvelope({
        id: 'env-crash-after-copy',
        files: FIVE_FILES.slice(0, 3),
      });
      const row = await w.callbackFor(envelope.id);
      w.store.failNextWrite({ match: (key) => key.endsWith('/manifest.json'), error: workerStopped() });

      assert.equal((await w.runOnce()).state, 'checking', 'the stopped run records no outcome');
      const stopped = await transfer(envelope.id);
      assert.equal(stopped.state, 'archiving');
      assert.notEqual(stopped.claim_token, null, 'still claimed until the lease runs out');
      assert.equal((await documents(row.id)).filter((d) => d.verified_at).length, 3);

      await db.dataSource.query(
        `UPDATE transfers SET lease_expires_at = now() - interval '1 second' WHERE id = $1`,
        [row.id],
      );
      const resumed = await w.runOnce();
      assert.equal(resumed.claim.attempts, 2);
      assert.equal(resumed.state, 'done');

      assert.equal(w.platform.callsOf('openFile').length, 3, 'no file downloaded twice');
      assert.deepEqual(
        w.store.writes.map((x) => [x.op, x.outcome]),
        [
          ['putStream', 'written'],
          ['putStream', 'written'],
          ['putStream', 'written'],
          ['putObject', 'failed'],
          ['putObject', 'written'],
        ],
      );
      assert.deepEqual(w.store.sweeps, [], 'nothing was left to sweep');
      assert.equal(w.platform.callsOf('delete').length, 1);
      const [first, second] = await db.dataSource.query<{ outcome: string }[]>(
        'SELECT outcome FROM transfer_attempts WHERE transfer_id = $1 ORDER BY id',
        [row.id],
      );
      assert.deepEqual([first.outcome, second.outcome], ['lease_lost', 'done']);
    });

    it('stopped in the middle of a copy: the next run sweeps its staging, copies only what was not proven', async () => {
      const w = await world({ ARCHIVE_FILE_CONCURRENCY: '1' }, { partSizeBytes: 1024 });
      const envelope = w.platform.addEnvelope({
        id: 'env-crash-mid-copy',
        files: [
          { fileName: 'One.pdf', size: 4_000 },
          { fileName: 'Two.pdf', size: 4_000 },
          { fileName: 'Three.pdf', size: 4_000 },
        ],
      });
      const row = await w.callbackFor(envelope.id);
      w.store.failNextWrite({
        match: (key) => key.endsWith('/Three.pdf'),
        error: workerStopped(),
        keepStaged: true,
      });

      assert.equal((await w.runOnce()).state, 'checking');
      assert.equal(w.store.stagedIn(row.id), 1, 'the stopped upload left its parts');
      assert.deepEqual(
        (await documents(row.id)).map((d) => d.verified_at !== null),
        [true, true, false],
      );

      await db.dataSource.query(
        `UPDATE transfers SET lease_expires_at = now() - interval '1 second' WHERE id = $1`,
        [row.id],
      );
      assert.equal((await w.runOnce()).state, 'done');

      assert.deepEqual(w.store.sweeps, [row.id]);
      assert.equal(w.store.stagedIn(row.id), 0);
      const downloads = (fileId: string) =>
        w.platform.callsOf('openFile').filter((c) => c.fileId === fileId).length;
      assert.deepEqual(
        envelope.files.map((f) => downloads(f.fileId)),
        [1, 1, 2],
      );
      assert.deepEqual(
        w.store.writes.filter((x) => x.op === 'putStream').map((x) => [x.key.split('/').pop(), x.outcome]),
        [
          ['One.pdf', 'written'],
          ['Two.pdf', 'written'],
          ['Three.pdf', 'failed'],
          ['Three.pdf', 'written'],
        ],
      );
      assert.equal(w.platform.callsOf('delete').length, 1);
    });
  });
});
