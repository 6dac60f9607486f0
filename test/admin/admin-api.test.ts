import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from 'pg';
import { startTestApp, type RunningApp } from '../support/app';
import {
  ADMIN_ENV,
  BOB_TOKEN,
  admin,
  connect,
  failedSeed,
  hourStarts,
  insertAttempt,
  insertSender,
  insertTransfer,
  json,
  rows,
} from './admin-fixtures';
import { TransferRepository } from '../../src/transfers/transfer.repository';

interface TransferItem {
  id: string;
  envelopeId: string;
  envelopeName: string | null;
  warning: string | null;
  state: string;
  cause: string | null;
  attempts: number;
  lastError: string | null;
  senderEmail: string | null;
  platform: string;
  createdAt: string;
  nextAttemptAt: string;
  finishedAt: string | null;
}
interface Page {
  items: TransferItem[];
  nextCursor: string | null;
}
interface ErrorBody {
  statusCode: number;
  message: string;
}

const ids = (page: Page) => page.items.map((i) => i.id);

describe('admin API', () => {
  let svc: RunningApp;
  let db: Client;
  before(async () => {
    svc = await startTestApp(ADMIN_ENV);
    db = await connect(svc);
  });
  after(async () => {
    await db?.end();
    await svc?.close();
  });

  describe('authentication', () => {
    for (const [name, headers] of [
      ['no credentials', {}],
      ['a wrong token', { authorization: 'Bearer not-the-admin-token-at-all' }],
      ['the first characters of a right token', { authorization: `Bearer ${BOB_TOKEN.slice(0, 12)}` }],
      [
        'a right token with Basic',
        { authorization: `Basic ${Buffer.from(`bob:${BOB_TOKEN}`).toString('base64')}` },
      ],
      ['a right token without a scheme', { authorization: BOB_TOKEN }],
    ] as const) {
      it(`answers 401 with a Bearer challenge to ${name}, on reads and on actions`, async () => {
        const transfer = await insertTransfer(db, failedSeed());
        for (const [method, path] of [
          ['GET', '/admin/transfers'],
          ['GET', '/admin/summary'],
          ['GET', `/admin/transfers/${transfer.id}`],
          ['POST', `/admin/transfers/${transfer.id}/retry`],
        ] as const) {
          const res = await admin(svc, path, { method, token: null, headers });
          assert.equal(res.status, 401, `${method} ${path}`);
          assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
          const body = await json<ErrorBody>(res, 401);
          assert.doesNotMatch(JSON.stringify(body), /failed|corrupt/, 'a refused request sees no data');
        }
        const [row] = await rows(db, 'SELECT state FROM transfers WHERE id = $1', [transfer.id]);
        assert.equal(row.state, 'failed');
        assert.equal(
          (await rows(db, 'SELECT 1 FROM admin_actions WHERE $1 = ANY(transfer_ids)', [transfer.id])).length,
          0,
        );
      });
    }

    it('checks the token before validating input', async () => {
      const res = await admin(svc, '/admin/transfers/not-a-uuid', { token: null });
      assert.equal(res.status, 401);
      const list = await admin(svc, '/admin/transfers?limit=100000', { token: 'wrong-wrong-wrong-wrong' });
      assert.equal(list.status, 401);
    });

    it('accepts either configured token, the scheme in any case, and records who acted', async () => {
      const transfer = await insertTransfer(db, failedSeed());
      const res = await admin(svc, `/admin/transfers/${transfer.id}/retry`, {
        method: 'POST',
        token: null,
        headers: { authorization: `bearer ${BOB_TOKEN}` },
      });
      await json(res);
      const actions = await rows(db, 'SELECT actor, action FROM admin_actions WHERE $1 = ANY(transfer_ids)', [
        transfer.id,
      ]);
      assert.deepEqual(actions, [{ actor: 'bob', action: 'retry' }]);
    });

    it('marks answers as not cacheable', async () => {
      const res = await admin(svc, '/admin/transfers?limit=1');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    });
  });

  describe('GET /admin/transfers', () => {
    it('filters by state (repeated or comma-separated), cause (including none) and platform', async () => {
      const platform = 'filters-a';
      const corrupt = await insertTransfer(db, failedSeed({ platform }));
      const exhausted = await insertTransfer(db, failedSeed({ platform, cause: 'attempts_exhausted' }));
      const retrying = await insertTransfer(db, { state: 'retrying', platform, lastErrorClass: 'TRANSIENT' });
      const consent = await insertTransfer(db, { state: 'needs_consent', platform, cause: 'token_rejected' });
      await insertTransfer(db, { state: 'done', platform });
      await insertTransfer(db, failedSeed({ platform: 'filters-other' }));

      const failed = await json<Page>(await admin(svc, `/admin/transfers?platform=${platform}&state=failed`));
      assert.deepEqual(new Set(ids(failed)), new Set([corrupt.id, exhausted.id]));

      const repeated = await json<Page>(
        await admin(svc, `/admin/transfers?platform=${platform}&state=failed&state=needs_consent`),
      );
      const commas = await json<Page>(
        await admin(svc, `/admin/transfers?platform=${platform}&state=failed,needs_consent`),
      );
      assert.deepEqual(new Set(ids(repeated)), new Set([corrupt.id, exhausted.id, consent.id]));
      assert.deepEqual(new Set(ids(commas)), new Set(ids(repeated)));

      const byCause = await json<Page>(
        await admin(svc, `/admin/transfers?platform=${platform}&cause=corrupt_pdf`),
      );
      assert.deepEqual(ids(byCause), [corrupt.id]);

      const noCause = await json<Page>(
        await admin(svc, `/admin/transfers?platform=${platform}&state=retrying,failed&cause=none`),
      );
      assert.deepEqual(ids(noCause), [retrying.id]);

      const all = await json<Page>(await admin(svc, `/admin/transfers?platform=${platform}`));
      assert.equal(all.items.length, 5);
      assert.ok(all.items.every((i) => i.platform === platform));
    });

    it('filters by sender e-mail (ignoring case) and by envelope id prefix', async () => {
      const platform = 'filters-b';
      const mine = await insertTransfer(
        db,
        failedSeed({ platform, senderEmail: 'Carol.Signer@Example.com' }),
      );
      await insertTransfer(db, failedSeed({ platform, senderEmail: 'dave@example.com' }));
      const bySender = await json<Page>(
        await admin(
          svc,
          `/admin/transfers?platform=${platform}&sender=${encodeURIComponent('carol.signer@example.com')}`,
        ),
      );
      assert.deepEqual(ids(bySender), [mine.id]);
      assert.equal(bySender.items[0].senderEmail, 'Carol.Signer@Example.com');

      const envelope = 'abcdef12-3456-4789-8abc-def012345678';
      const target = await insertTransfer(db, failedSeed({ platform, envelopeId: envelope }));
      const byPrefix = await json<Page>(await admin(svc, `/admin/transfers?q=ABCDEF12-34`));
      assert.deepEqual(ids(byPrefix), [target.id]);
      const byFullId = await json<Page>(await admin(svc, `/admin/transfers?q=${envelope}`));
      assert.deepEqual(ids(byFullId), [target.id]);
      assert.equal((await json<Page>(await admin(svc, '/admin/transfers?q=abcdef13'))).items.length, 0);
    });

    it('answers each transfer with its envelope name and warning, null while there are none', async () => {
      const platform = 'names-a';
      const named = await insertTransfer(
        db,
        failedSeed({ platform, envelopeName: 'Rahmenvertrag 2026', warning: 'metadata unusable: DOCTYPE' }),
      );
      const plain = await insertTransfer(db, failedSeed({ platform }));
      const page = await json<Page>(await admin(svc, `/admin/transfers?platform=${platform}`));
      const byId = new Map(page.items.map((i) => [i.id, i]));
      assert.equal(byId.get(named.id)?.envelopeName, 'Rahmenvertrag 2026');
      assert.equal(byId.get(named.id)?.warning, 'metadata unusable: DOCTYPE');
      assert.equal(byId.get(plain.id)?.envelopeName, null);
      assert.equal(byId.get(plain.id)?.warning, null);
      const detail = await json<{ transfer: { envelopeName: string | null; warning: string | null } }>(
        await admin(svc, `/admin/transfers/${named.id}`),
      );
      assert.equal(detail.transfer.envelopeName, 'Rahmenvertrag 2026');
      assert.equal(detail.transfer.warning, 'metadata unusable: DOCTYPE');
    });

    it('finds by q within envelope names and sender addresses, ignoring case, with % and _ taken literally', async () => {
      const platform = 'search-a';
      const rahmen = await insertTransfer(
        db,
        failedSeed({ platform, envelopeName: 'Rahmenvertrag Müller 2026', senderEmail: 'anna@example.com' }),
      );
      const percent = await insertTransfer(
        db,
        failedSeed({ platform, envelopeName: 'Offer 50% off_now', senderEmail: 'ben@example.com' }),
      );
      const other = await insertTransfer(
        db,
        failedSeed({ platform, envelopeName: 'Offer 500 offer', senderEmail: 'carl@example.org' }),
      );
      const find = async (q: string) =>
        new Set(
          ids(
            await json<Page>(
              await admin(svc, `/admin/transfers?platform=${platform}&q=${encodeURIComponent(q)}`),
            ),
          ),
        );
      assert.deepEqual(await find('MÜLLER'), new Set([rahmen.id]));
      assert.deepEqual(await find('Mu\u0308ller'), new Set([rahmen.id]), 'a decomposed ü is the same letter');
      assert.deepEqual(await find('offer'), new Set([percent.id, other.id]));
      assert.deepEqual(await find('50% off_'), new Set([percent.id]));
      assert.deepEqual(await find('50%'), new Set([percent.id]), '% is not a wildcard');
      assert.deepEqual(await find('f_now'), new Set([percent.id]));
      assert.deepEqual(await find('example.com'), new Set([rahmen.id, percent.id]));
      assert.deepEqual(await find('@example.org'), new Set([other.id]));
      assert.deepEqual(await find('nothing like it'), new Set());
    });

    it('answers the bulk retry of a q that names an envelope name with exactly those transfers', async () => {
      const platform = 'search-b';
      const match = await insertTransfer(db, failedSeed({ platform, envelopeName: 'Quarterly report Q3' }));
      const keep = await insertTransfer(db, failedSeed({ platform, envelopeName: 'Annual report' }));
      const result = await json<{ retried: number; ids: string[] }>(
        await admin(svc, '/admin/transfers/retry', {
          method: 'POST',
          body: { platform, state: 'failed', q: 'quarterly' },
        }),
      );
      assert.deepEqual(result.ids, [match.id]);
      const [row] = await rows(db, 'SELECT state FROM transfers WHERE id = $1', [keep.id]);
      assert.equal(row.state, 'failed');
      const [action] = await rows<{ detail: { filter: Record<string, unknown> } }>(
        db,
        `SELECT detail FROM admin_actions WHERE action = 'bulk_retry' AND $1 = ANY(transfer_ids)`,
        [match.id],
      );
      assert.deepEqual(action.detail.filter, { state: ['failed'], platform, q: 'quarterly' });
    });

    it('filters by a time range on created_at or on updated_at', async () => {
      const platform = 'filters-c';
      const old = await insertTransfer(
        db,
        failedSeed({
          platform,
          createdAt: '2025-01-10T10:00:00Z',
          updatedAt: '2025-03-01T10:00:00Z',
        }),
      );
      const newer = await insertTransfer(
        db,
        failedSeed({
          platform,
          createdAt: '2025-02-10T10:00:00Z',
          updatedAt: '2025-02-11T10:00:00Z',
        }),
      );
      const created = await json<Page>(
        await admin(svc, `/admin/transfers?platform=${platform}&from=2025-02-01&to=2025-03-01T00:00:00Z`),
      );
      assert.deepEqual(ids(created), [newer.id]);
      const updated = await json<Page>(
        await admin(
          svc,
          `/admin/transfers?platform=${platform}&dateField=updated&from=2025-02-20T00:00:00%2B01:00`,
        ),
      );
      assert.deepEqual(ids(updated), [old.id]);
      const exclusiveEnd = await json<Page>(
        await admin(svc, `/admin/transfers?platform=${platform}&to=2025-01-10T10:00:00Z`),
      );
      assert.deepEqual(ids(exclusiveEnd), []);
    });

    it('pages newest first with an opaque cursor, without skipping or repeating rows', async () => {
      const platform = 'paging';
      const seeded: string[] = [];
      // Three rows share one created_at and two differ by a microsecond: the cursor must keep both apart.
      const times = [
        '2025-05-01T10:00:00.000001Z',
        '2025-05-01T10:00:00.000002Z',
        '2025-05-01T10:00:00.000500Z',
        '2025-05-01T10:00:00.000500Z',
        '2025-05-01T10:00:00.000500Z',
        '2025-05-02T08:00:00Z',
        '2025-05-03T08:00:00Z',
      ];
      for (const createdAt of times)
        seeded.push((await insertTransfer(db, failedSeed({ platform, createdAt }))).id);

      const seen: string[] = [];
      const pageSizes: number[] = [];
      let cursor: string | null = null;
      do {
        const query: string = `/admin/transfers?platform=${platform}&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
        const page: Page = await json<Page>(await admin(svc, query));
        pageSizes.push(page.items.length);
        seen.push(...ids(page));
        cursor = page.nextCursor;
        if (cursor) assert.match(cursor, /^[A-Za-z0-9_-]+$/);
      } while (cursor !== null && pageSizes.length < 10);

      assert.deepEqual(pageSizes, [3, 3, 1]);
      assert.equal(new Set(seen).size, 7);
      assert.deepEqual(new Set(seen), new Set(seeded));
      const expected = await rows<{ id: string }>(
        db,
        'SELECT id FROM transfers WHERE platform = $1 ORDER BY created_at DESC, id DESC',
        [platform],
      );
      assert.deepEqual(
        seen,
        expected.map((r) => r.id),
      );
    });

    it('answers a full last page without a cursor and defaults to 50 rows', async () => {
      const platform = 'paging-default';
      for (let i = 0; i < 52; i++) await insertTransfer(db, failedSeed({ platform }));
      const first = await json<Page>(await admin(svc, `/admin/transfers?platform=${platform}`));
      assert.equal(first.items.length, 50);
      assert.ok(first.nextCursor);
      const second = await json<Page>(
        await admin(svc, `/admin/transfers?platform=${platform}&cursor=${first.nextCursor}`),
      );
      assert.equal(second.items.length, 2);
      assert.equal(second.nextCursor, null);
    });

    for (const [query, field] of [
      ['state=bogus', 'state'],
      ['state=failed,bogus', 'state'],
      ['cause=Not%20A%20Cause', 'cause'],
      ['limit=0', 'limit'],
      ['limit=201', 'limit'],
      ['limit=ten', 'limit'],
      ['cursor=not-a-cursor', 'cursor'],
      [`cursor=${Buffer.from('{"c":"x","i":"y"}').toString('base64url')}`, 'cursor'],
      ['from=yesterday', 'from'],
      ['from=2025-02-01&to=2025-01-01', 'to'],
      ['dateField=finished', 'dateField'],
      ['q=zz', 'q'],
      [`q=${'x'.repeat(201)}`, 'q'],
      ['q=%20%20zz%20', 'q'],
      ['q=ab', 'q'],
      ['sender=nobody', 'sender'],
      ['status=failed', 'status'],
    ] as const) {
      it(`answers 400 naming ${field} for ?${query}`, async () => {
        const body = await json<ErrorBody>(await admin(svc, `/admin/transfers?${query}`), 400);
        assert.match(body.message, new RegExp(`^${field}: `));
      });
    }
  });

  describe('GET /admin/transfers/:id', () => {
    it('shows the transfer with documents, attempts, callbacks, admin actions and a timeline', async () => {
      const transfer = await insertTransfer(
        db,
        failedSeed({
          createdAt: '2025-06-01T09:00:00Z',
          lastError: 'audit-trail.pdf is not a PDF',
        }),
      );
      await db.query(
        `INSERT INTO transfer_documents (transfer_id, kind, platform_file_id, file_name, s3_key, size, sha256, verified_at, created_at)
         VALUES ($1, 'signed_document', 'f1', 'contract.pdf', 'esign-archive/x/contract.pdf', 12345, $2, '2025-06-01T09:05:00Z', '2025-06-01T09:04:00Z'),
                ($1, 'audit_trail_pdf', 'f2', 'audit-trail.pdf', 'esign-archive/x/audit-trail.pdf', NULL, NULL, NULL, '2025-06-01T09:04:00Z')`,
        [transfer.id, 'a'.repeat(64)],
      );
      await db.query(
        `INSERT INTO transfer_attempts (transfer_id, attempt, worker, started_at, finished_at, outcome, error_class, error)
         VALUES ($1, 1, 'worker-a', '2025-06-01T09:01:00Z', '2025-06-01T09:01:02Z', 'retrying', 'TRANSIENT', 'HTTP 502 from the platform'),
                ($1, 2, 'worker-b', '2025-06-01T09:04:00Z', '2025-06-01T09:06:00Z', 'failed', 'CORRUPT', 'audit-trail.pdf is not a PDF')`,
        [transfer.id],
      );
      await db.query(
        `INSERT INTO noted_events (platform, envelope_id, action, received_count, first_received_at, last_received_at, request)
         VALUES ('esignanywhere', $1, 'envelopeFinished', 30, '2025-06-01T09:00:00Z', '2025-06-01T12:00:00Z', '{}'),
                ('esignanywhere', $1, 'workstepFinished', 1, '2025-06-01T08:59:00Z', '2025-06-01T08:59:00Z', '{}'),
                ('other-platform', $1, 'envelopeFinished', 1, '2025-06-01T08:59:00Z', '2025-06-01T08:59:00Z', '{}')`,
        [transfer.envelopeId],
      );

      const detail = await json<{
        transfer: TransferItem;
        documents: {
          kind: string;
          fileName: string;
          s3Key: string;
          size: number | null;
          sha256: string | null;
          verifiedAt: string | null;
        }[];
        attempts: { attempt: number; worker: string; outcome: string; errorClass: string; error: string }[];
        callbacks: {
          action: string;
          receivedCount: number;
          firstReceivedAt: string;
          lastReceivedAt: string;
        }[];
        adminActions: unknown[];
        timeline: { at: string; kind: string; summary: string }[];
      }>(await admin(svc, `/admin/transfers/${transfer.id.toUpperCase()}`));

      assert.equal(detail.transfer.id, transfer.id);
      assert.equal(detail.transfer.state, 'failed');
      assert.equal(detail.transfer.cause, 'corrupt_pdf');
      assert.equal(detail.transfer.lastError, 'audit-trail.pdf is not a PDF');
      assert.ok(!('claimToken' in detail.transfer), 'the fencing token stays internal');
      assert.deepEqual(detail.documents, [
        {
          kind: 'signed_document',
          fileName: 'contract.pdf',
          platformFileId: 'f1',
          s3Key: 'esign-archive/x/contract.pdf',
          s3Uri: 's3://esign-archive/esign-archive/x/contract.pdf',
          size: 12345,
          sha256: 'a'.repeat(64),
          verifiedAt: '2025-06-01T09:05:00.000Z',
        },
        {
          kind: 'audit_trail_pdf',
          fileName: 'audit-trail.pdf',
          platformFileId: 'f2',
          s3Key: 'esign-archive/x/audit-trail.pdf',
          s3Uri: 's3://esign-archive/esign-archive/x/audit-trail.pdf',
          size: null,
          sha256: null,
          verifiedAt: null,
        },
      ]);
      assert.deepEqual(
        detail.attempts.map((a) => [a.attempt, a.worker, a.outcome, a.errorClass, a.error]),
        [
          [1, 'worker-a', 'retrying', 'TRANSIENT', 'HTTP 502 from the platform'],
          [2, 'worker-b', 'failed', 'CORRUPT', 'audit-trail.pdf is not a PDF'],
        ],
      );
      assert.deepEqual(
        detail.callbacks.map((c) => [c.action, c.receivedCount, c.firstReceivedAt, c.lastReceivedAt]),
        [
          ['workstepFinished', 1, '2025-06-01T08:59:00.000Z', '2025-06-01T08:59:00.000Z'],
          ['envelopeFinished', 30, '2025-06-01T09:00:00.000Z', '2025-06-01T12:00:00.000Z'],
        ],
      );
      assert.deepEqual(detail.adminActions, []);
      assert.deepEqual(
        detail.timeline.map((e) => e.kind),
        ['callback', 'created', 'callback', 'attempt', 'attempt', 'finished'],
      );
      assert.match(
        detail.timeline[4].summary,
        /attempt 2 on worker-b: ended failed — CORRUPT: audit-trail\.pdf is not a PDF/,
      );

      // A retry then shows up in the detail and its timeline.
      await json(await admin(svc, `/admin/transfers/${transfer.id}/retry`, { method: 'POST' }));
      const after = await json<{
        adminActions: { actor: string; action: string }[];
        timeline: { kind: string; summary: string }[];
      }>(await admin(svc, `/admin/transfers/${transfer.id}`));
      assert.deepEqual(
        after.adminActions.map((a) => [a.actor, a.action]),
        [['alice', 'retry']],
      );
      const last = after.timeline[after.timeline.length - 1];
      assert.equal(last.kind, 'admin_action');
      assert.match(last.summary, /retry by alice \(was failed\)/);
    });

    it('answers 400 to an id that is not a UUID and 404 to an unknown one', async () => {
      const bad = await json<ErrorBody>(await admin(svc, '/admin/transfers/12345'), 400);
      assert.match(bad.message, /^id: must be a UUID/);
      const unknown = await json<ErrorBody>(await admin(svc, `/admin/transfers/${randomUUID()}`), 404);
      assert.match(unknown.message, /no transfer/);
    });
  });

  describe('POST /admin/transfers/:id/retry', () => {
    it('makes a failed transfer due now with a fresh attempt budget, keeps the last error, and records alice', async () => {
      const transfer = await insertTransfer(
        db,
        failedSeed({
          attempts: 12,
          cause: 'attempts_exhausted',
          lastError: 'HTTP 503 from the platform',
          lastErrorClass: 'TRANSIENT',
          nextAttemptAt: '2025-01-01T00:00:00Z',
          stateVersion: 7,
        }),
      );
      const res = await admin(svc, `/admin/transfers/${transfer.id}/retry`, { method: 'POST' });
      const body = await json<TransferItem>(res);
      assert.equal(body.state, 'pending');
      assert.equal(res.headers.get('cache-control'), 'no-store');

      const [row] = await rows(
        db,
        `SELECT state, cause, attempts, last_error, last_error_class, state_version, finished_at,
                abs(extract(epoch FROM next_attempt_at - now())) < 30 AS due_now
           FROM transfers WHERE id = $1`,
        [transfer.id],
      );
      assert.deepEqual(row, {
        state: 'pending',
        cause: null,
        attempts: 0,
        last_error: 'HTTP 503 from the platform',
        last_error_class: 'TRANSIENT',
        state_version: 8,
        finished_at: null,
        due_now: true,
      });
      const actions = await rows(
        db,
        'SELECT actor, action, transfer_ids, detail FROM admin_actions WHERE $1 = ANY(transfer_ids)',
        [transfer.id],
      );
      assert.deepEqual(actions, [
        {
          actor: 'alice',
          action: 'retry',
          transfer_ids: [transfer.id],
          detail: { from: 'failed', cause: 'attempts_exhausted', attempts: 12, to: 'pending' },
        },
      ]);
    });

    it('retries only the delete when every document is already archived', async () => {
      const transfer = await insertTransfer(
        db,
        failedSeed({ archivedAt: new Date(), cause: 'attempts_exhausted' }),
      );
      const body = await json<TransferItem>(
        await admin(svc, `/admin/transfers/${transfer.id}/retry`, { method: 'POST' }),
      );
      assert.equal(body.state, 'archived');
      const [row] = await rows(db, 'SELECT state, attempts FROM transfers WHERE id = $1', [transfer.id]);
      assert.deepEqual(row, { state: 'archived', attempts: 0 });
    });

    it('brings back a dismissed transfer and clears its dismissal', async () => {
      const transfer = await insertTransfer(db, {
        state: 'dismissed',
        cause: 'no_token',
        finishedAt: new Date(),
      });
      await db.query(`UPDATE transfers SET dismissed_reason = 'sender left' WHERE id = $1`, [transfer.id]);
      await json(await admin(svc, `/admin/transfers/${transfer.id}/retry`, { method: 'POST' }));
      const [row] = await rows(
        db,
        'SELECT state, dismissed_reason, finished_at FROM transfers WHERE id = $1',
        [transfer.id],
      );
      assert.deepEqual(row, { state: 'pending', dismissed_reason: null, finished_at: null });
    });

    for (const state of ['pending', 'checking', 'archiving', 'archived', 'done', 'gone'] as const) {
      it(`answers 409 for a ${state} transfer and changes nothing`, async () => {
        const transfer = await insertTransfer(db, { state, attempts: 2 });
        const before = await rows(db, 'SELECT * FROM transfers WHERE id = $1', [transfer.id]);
        const body = await json<ErrorBody>(
          await admin(svc, `/admin/transfers/${transfer.id}/retry`, { method: 'POST' }),
          409,
        );
        assert.match(
          body.message,
          new RegExp(`the transfer is ${state}; only failed, needs_consent, retrying, waiting, dismissed`),
        );
        assert.deepEqual(await rows(db, 'SELECT * FROM transfers WHERE id = $1', [transfer.id]), before);
        assert.equal(
          (await rows(db, 'SELECT 1 FROM admin_actions WHERE $1 = ANY(transfer_ids)', [transfer.id])).length,
          0,
        );
      });
    }

    it('answers 404 for an unknown transfer and 400 for a malformed id', async () => {
      await json(await admin(svc, `/admin/transfers/${randomUUID()}/retry`, { method: 'POST' }), 404);
      const bad = await json<ErrorBody>(
        await admin(svc, '/admin/transfers/x/retry', { method: 'POST' }),
        400,
      );
      assert.match(bad.message, /^id: /);
    });
  });

  describe('POST /admin/transfers/retry (bulk)', () => {
    it('retries at most the limit, reports how many and which, and writes one audit row per call', async () => {
      const platform = 'bulk';
      const matching: string[] = [];
      for (let i = 0; i < 7; i++)
        matching.push((await insertTransfer(db, failedSeed({ platform, cause: 'copy_not_verified' }))).id);
      const otherCause = await insertTransfer(db, failedSeed({ platform, cause: 'corrupt_pdf' }));
      const dismissed = await insertTransfer(db, {
        state: 'dismissed',
        platform,
        cause: 'copy_not_verified',
      });
      const done = await insertTransfer(db, { state: 'done', platform, cause: 'copy_not_verified' });

      const first = await json<{ retried: number; ids: string[]; more: boolean }>(
        await admin(svc, '/admin/transfers/retry', {
          method: 'POST',
          body: { platform, cause: 'copy_not_verified', limit: 5 },
        }),
      );
      assert.equal(first.retried, 5);
      assert.equal(first.ids.length, 5);
      assert.equal(first.more, true);
      assert.ok(first.ids.every((id) => matching.includes(id)));

      const second = await json<{ retried: number; ids: string[]; more: boolean }>(
        await admin(svc, '/admin/transfers/retry', {
          method: 'POST',
          body: { platform, cause: ['copy_not_verified'], limit: 5 },
        }),
      );
      assert.equal(second.retried, 2);
      assert.equal(second.more, false);
      assert.deepEqual(new Set([...first.ids, ...second.ids]), new Set(matching));

      const states = await rows<{ id: string; state: string; attempts: number }>(
        db,
        'SELECT id, state, attempts FROM transfers WHERE platform = $1',
        [platform],
      );
      for (const row of states) {
        const expected = matching.includes(row.id)
          ? 'pending'
          : row.id === otherCause.id
            ? 'failed'
            : row.id === dismissed.id
              ? 'dismissed'
              : 'done';
        assert.equal(row.state, expected, row.id);
      }
      assert.ok(states.filter((r) => matching.includes(r.id)).every((r) => r.attempts === 0));
      assert.ok(!states.some((r) => r.id === done.id && r.state !== 'done'));

      const audit = await rows<{
        actor: string;
        action: string;
        transfer_ids: string[];
        detail: Record<string, unknown>;
      }>(
        db,
        `SELECT actor, action, transfer_ids, detail FROM admin_actions WHERE action = 'bulk_retry' AND detail->'filter'->>'platform' = $1 ORDER BY id`,
        [platform],
      );
      assert.equal(audit.length, 2);
      assert.equal(audit[0].actor, 'alice');
      assert.deepEqual(new Set(audit[0].transfer_ids), new Set(first.ids));
      assert.deepEqual(audit[0].detail, {
        filter: { cause: ['copy_not_verified'], platform },
        limit: 5,
        retried: 5,
        from: { failed: 5 },
        more: true,
      });
    });

    it('passes over a transfer a worker has locked this instant instead of waiting for it', async () => {
      const platform = 'bulk-locked';
      const locked = await insertTransfer(db, failedSeed({ platform }));
      const free = await insertTransfer(db, failedSeed({ platform }));
      const worker = await connect(svc);
      try {
        await worker.query('BEGIN');
        await worker.query('SELECT 1 FROM transfers WHERE id = $1 FOR UPDATE', [locked.id]);
        const result = await json<{ retried: number; ids: string[]; more: boolean }>(
          await admin(svc, '/admin/transfers/retry', { method: 'POST', body: { platform, state: 'failed' } }),
        );
        assert.deepEqual(result, { retried: 1, ids: [free.id], more: true });
        await worker.query('ROLLBACK');
      } finally {
        await worker.end();
      }
      const [row] = await rows(db, 'SELECT state FROM transfers WHERE id = $1', [locked.id]);
      assert.equal(row.state, 'failed');
    });

    it('retries dismissed transfers only when the filter names that state', async () => {
      const platform = 'bulk-dismissed';
      const dismissed = await insertTransfer(db, { state: 'dismissed', platform, cause: 'no_token' });
      const none = await json<{ retried: number }>(
        await admin(svc, '/admin/transfers/retry', { method: 'POST', body: { platform, cause: 'no_token' } }),
      );
      assert.equal(none.retried, 0);
      const named = await json<{ retried: number; ids: string[] }>(
        await admin(svc, '/admin/transfers/retry', {
          method: 'POST',
          body: { platform, state: ['dismissed'] },
        }),
      );
      assert.deepEqual(named.ids, [dismissed.id]);
    });

    for (const [name, body, field] of [
      ['neither state nor cause', { platform: 'x' }, 'state'],
      ['a limit over 500', { state: 'failed', limit: 501 }, 'limit'],
      ['a limit that is not a number', { state: 'failed', limit: '5' }, 'limit'],
      ['a state that cannot be retried', { state: ['failed', 'done'] }, 'state'],
      ['an unknown field', { state: 'failed', stat: 'x' }, 'stat'],
      ['a body that is not an object', ['failed'], 'body'],
    ] as const) {
      it(`answers 400 naming ${field} to ${name}, and retries nothing`, async () => {
        const transfer = await insertTransfer(db, failedSeed());
        const res = await admin(svc, '/admin/transfers/retry', { method: 'POST', body });
        const error = await json<ErrorBody>(res, 400);
        assert.match(error.message, new RegExp(`^${field}: `));
        const [row] = await rows(db, 'SELECT state FROM transfers WHERE id = $1', [transfer.id]);
        assert.equal(row.state, 'failed');
      });
    }
  });

  describe('POST /admin/transfers/:id/dismiss', () => {
    for (const [name, body] of [
      ['no body', undefined],
      ['no reason', {}],
      ['a reason of two characters', { reason: 'no' }],
      ['a blank reason', { reason: '      ' }],
      ['a reason over 500 characters', { reason: 'x'.repeat(501) }],
      ['a reason that is not text', { reason: 42 }],
    ] as const) {
      it(`answers 400 to ${name} and leaves the transfer alone`, async () => {
        const transfer = await insertTransfer(db, failedSeed());
        const error = await json<ErrorBody>(
          await admin(svc, `/admin/transfers/${transfer.id}/dismiss`, { method: 'POST', body }),
          400,
        );
        assert.match(error.message, /^(reason|body): /);
        const [row] = await rows(db, 'SELECT state FROM transfers WHERE id = $1', [transfer.id]);
        assert.equal(row.state, 'failed');
      });
    }

    it('dismisses with the reason, finishes the transfer and records the action', async () => {
      const transfer = await insertTransfer(db, failedSeed({ finishedAt: null, stateVersion: 4 }));
      const body = await json<TransferItem & { dismissedReason: string }>(
        await admin(svc, `/admin/transfers/${transfer.id}/dismiss`, {
          method: 'POST',
          token: BOB_TOKEN,
          body: { reason: '  Archived by hand from the sender mailbox  ' },
        }),
      );
      assert.equal(body.state, 'dismissed');
      assert.equal(body.dismissedReason, 'Archived by hand from the sender mailbox');
      const [row] = await rows(
        db,
        'SELECT state, dismissed_reason, finished_at IS NOT NULL AS finished, state_version FROM transfers WHERE id = $1',
        [transfer.id],
      );
      assert.deepEqual(row, {
        state: 'dismissed',
        dismissed_reason: 'Archived by hand from the sender mailbox',
        finished: true,
        state_version: 5,
      });
      const actions = await rows(
        db,
        'SELECT actor, action, detail FROM admin_actions WHERE $1 = ANY(transfer_ids)',
        [transfer.id],
      );
      assert.deepEqual(actions, [
        {
          actor: 'bob',
          action: 'dismiss',
          detail: {
            from: 'failed',
            cause: 'corrupt_pdf',
            reason: 'Archived by hand from the sender mailbox',
          },
        },
      ]);
    });

    for (const [state, message] of [
      ['checking', /a worker holds it right now/],
      ['archiving', /a worker holds it right now/],
      ['done', /already done/],
      ['gone', /already gone/],
      ['dismissed', /already dismissed/],
    ] as const) {
      it(`answers 409 for a ${state} transfer`, async () => {
        const transfer = await insertTransfer(db, { state });
        const error = await json<ErrorBody>(
          await admin(svc, `/admin/transfers/${transfer.id}/dismiss`, {
            method: 'POST',
            body: { reason: 'not needed' },
          }),
          409,
        );
        assert.match(error.message, message);
        const [row] = await rows(db, 'SELECT state, dismissed_reason FROM transfers WHERE id = $1', [
          transfer.id,
        ]);
        assert.deepEqual(row, { state, dismissed_reason: null });
      });
    }

    it('answers 404 for an unknown transfer', async () => {
      await json(
        await admin(svc, `/admin/transfers/${randomUUID()}/dismiss`, {
          method: 'POST',
          body: { reason: 'gone' },
        }),
        404,
      );
    });
  });

  describe('API documentation', () => {
    it('serves the OpenAPI document with every admin route and the bearer scheme', async () => {
      const res = await fetch(`${svc.url}/admin/docs/openapi.json`);
      const doc = await json<{
        openapi: string;
        paths: Record<
          string,
          Record<string, { security?: unknown[]; parameters?: { name: string; in: string }[] }>
        >;
        components: { securitySchemes: Record<string, { type: string; scheme: string }> };
      }>(res);
      assert.match(doc.openapi, /^3\./);
      assert.deepEqual(Object.keys(doc.paths).sort(), [
        '/admin/summary',
        '/admin/summary/consent',
        '/admin/summary/hourly',
        '/admin/transfers',
        '/admin/transfers/retry',
        '/admin/transfers/{id}',
        '/admin/transfers/{id}/dismiss',
        '/admin/transfers/{id}/retry',
      ]);
      assert.deepEqual(doc.components.securitySchemes['admin-token'], {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'opaque',
        description: 'The secret half of an ADMIN_TOKENS entry.',
      });
      assert.deepEqual(doc.paths['/admin/transfers'].get.security, [{ 'admin-token': [] }]);
      const listParams = (doc.paths['/admin/transfers'].get.parameters ?? []).map((p) => `${p.in}:${p.name}`);
      for (const name of ['state', 'cause', 'sender', 'platform', 'from', 'to', 'q', 'limit', 'cursor']) {
        assert.ok(listParams.includes(`query:${name}`), `list documents ?${name}`);
      }
      assert.ok(!JSON.stringify(doc).includes('/metrics'), 'only the admin API is documented');
    });

    it('documents the envelope name and warning of a transfer, the S3 location of a document, and the hourly and consent summaries', async () => {
      const doc = await json<{
        components: {
          schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }>;
        };
      }>(await fetch(`${svc.url}/admin/docs/openapi.json`));
      const schemas = doc.components.schemas;
      for (const field of ['envelopeName', 'warning']) {
        assert.ok(schemas.Transfer.properties?.[field], `Transfer.${field}`);
        assert.ok(schemas.Transfer.required?.includes(field), `Transfer.${field} is always present`);
        assert.ok(
          JSON.stringify(schemas.TransferDetail).includes(`"${field}"`),
          `TransferDetail has ${field}`,
        );
      }
      assert.ok(schemas.TransferDocument.properties?.s3Uri);
      assert.deepEqual(Object.keys(schemas.HourlySummary.properties ?? {}).sort(), ['generatedAt', 'hours']);
      assert.deepEqual(Object.keys(schemas.ConsentHealth.properties ?? {}).sort(), ['count', 'senders']);
    });

    it('serves Swagger UI at /admin/docs from this service only', async () => {
      const res = await fetch(`${svc.url}/admin/docs`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
      const html = await res.text();
      assert.match(html, /<div id="swagger-ui">/);
      assert.doesNotMatch(html, /https?:\/\//, 'nothing is loaded from elsewhere');
      const bundle = await fetch(`${svc.url}/admin/docs/swagger-ui-bundle.js`);
      assert.equal(bundle.status, 200);
      assert.match(bundle.headers.get('content-type') ?? '', /javascript/);
      assert.ok((await bundle.arrayBuffer()).byteLength > 100_000);
    });
  });

  describe('GET /admin (page)', () => {
    it('is one self-contained document under a strict Content-Security-Policy', async () => {
      const res = await fetch(`${svc.url}/admin`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
      assert.equal(res.headers.get('cache-control'), 'no-store');
      const csp = res.headers.get('content-security-policy') ?? '';
      const html = await res.text();
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
      const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
      const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
      const sha = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;
      assert.ok(csp.includes(`script-src ${sha(script)}`), 'the inline script is allowed by its hash');
      assert.ok(csp.includes(`style-src ${sha(style)}`), 'the inline style is allowed by its hash');
      // The SVG namespace is a name, not a place anything is loaded from.
      const loaded = html.replaceAll("'http://www.w3.org/2000/svg'", '');
      assert.doesNotMatch(loaded, /<script src|<link |https?:\/\//, 'nothing is loaded from elsewhere');
      assert.doesNotMatch(script, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
      assert.match(html, /data-admin-configured="true"/);
    });
  });
});

describe('admin summary and metrics', () => {
  let svc: RunningApp;
  let db: Client;
  before(async () => {
    svc = await startTestApp(ADMIN_ENV);
    db = await connect(svc);
  });
  after(async () => {
    await db?.end();
    await svc?.close();
  });

  it('counts transfers by state and cause, finds the oldest due one, the last callbacks and the mail backlog', async () => {
    await insertTransfer(db, failedSeed({ cause: 'corrupt_pdf' }));
    await insertTransfer(db, failedSeed({ cause: 'corrupt_pdf' }));
    await insertTransfer(db, failedSeed({ cause: 'no_token' }));
    await insertTransfer(db, { state: 'retrying', nextAttemptAt: new Date(Date.now() + 3_600_000) });
    const oldest = await insertTransfer(db, { state: 'pending', nextAttemptAt: '2025-01-01T00:00:00Z' });
    await insertTransfer(db, {
      state: 'waiting',
      cause: 'not_finished_yet',
      nextAttemptAt: '2025-02-01T00:00:00Z',
    });
    await insertTransfer(db, { state: 'done' });
    // Not due: a failed transfer's old next_attempt_at does not make it due.
    await insertTransfer(db, failedSeed({ nextAttemptAt: '2024-01-01T00:00:00Z', cause: 'no_token' }));
    await db.query(
      `INSERT INTO noted_events (platform, envelope_id, action, first_received_at, last_received_at, request)
       VALUES ('esignanywhere', gen_random_uuid(), 'envelopeFinished', '2025-03-01T00:00:00Z', '2025-03-02T00:00:00Z', '{}'),
              ('esignanywhere', gen_random_uuid(), 'envelopeFinished', '2025-03-01T00:00:00Z', '2025-03-05T00:00:00Z', '{}'),
              ('docusign', gen_random_uuid(), 'completed', '2025-03-01T00:00:00Z', '2025-03-03T00:00:00Z', '{}')`,
    );
    await db.query(
      `INSERT INTO outbound_mail (kind, dedupe_key, recipients, subject, body, state)
       VALUES ('failure', 'a', '{ops@example.com}', 's', 'b', 'pending'),
              ('failure', 'b', '{ops@example.com}', 's', 'b', 'failed'),
              ('failure', 'c', '{ops@example.com}', 's', 'b', 'failed'),
              ('failure', 'd', '{ops@example.com}', 's', 'b', 'sent')`,
    );

    const summary = await json<{
      byState: Record<string, number>;
      byCause: { state: string; cause: string | null; count: number }[];
      oldestDue: { id: string; envelopeId: string; dueSince: string; ageSeconds: number } | null;
      lastCallbacks: { platform: string; lastReceivedAt: string }[];
      mail: { pending: number; failed: number };
      platforms: string[];
      generatedAt: string;
    }>(await admin(svc, '/admin/summary'));

    assert.deepEqual(summary.byState, {
      pending: 1,
      checking: 0,
      waiting: 1,
      archiving: 0,
      archived: 0,
      done: 1,
      retrying: 1,
      needs_consent: 0,
      gone: 0,
      failed: 4,
      dismissed: 0,
    });
    const byCause = Object.fromEntries(summary.byCause.map((g) => [`${g.state}/${g.cause}`, g.count]));
    assert.deepEqual(byCause, {
      'done/null': 1,
      'failed/corrupt_pdf': 2,
      'failed/no_token': 2,
      'pending/null': 1,
      'retrying/null': 1,
      'waiting/not_finished_yet': 1,
    });
    assert.equal(summary.oldestDue?.id, oldest.id);
    assert.equal(summary.oldestDue?.envelopeId, oldest.envelopeId);
    assert.equal(summary.oldestDue?.dueSince, '2025-01-01T00:00:00.000Z');
    const age = (Date.parse(summary.generatedAt) - Date.parse('2025-01-01T00:00:00Z')) / 1000;
    assert.ok(Math.abs((summary.oldestDue?.ageSeconds ?? 0) - age) <= 1, 'its age by the database clock');
    assert.deepEqual(summary.platforms, ['esignanywhere']);
    assert.deepEqual(summary.lastCallbacks, [
      { platform: 'docusign', lastReceivedAt: '2025-03-03T00:00:00.000Z' },
      { platform: 'esignanywhere', lastReceivedAt: '2025-03-05T00:00:00.000Z' },
    ]);
    assert.deepEqual(summary.mail, { pending: 1, failed: 2 });
  });

  it('GET /metrics answers without admin auth, in the registry content type, with transfers by state', async () => {
    const res = await fetch(`${svc.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /^esign_transfers\{state="failed"\} 4$/m);
    assert.match(text, /^esign_transfers\{state="pending"\} 1$/m);
    assert.match(text, /^esign_transfers\{state="checking"\} 0$/m);

    await insertTransfer(db, failedSeed());
    assert.match(await (await fetch(`${svc.url}/metrics`)).text(), /^esign_transfers\{state="failed"\} 5$/m);
  });

  it('GET /admin/summary/hourly counts archived, failed and waiting transfers per UTC hour over 48 hours, zeros included', async () => {
    const hour = await hourStarts(db);
    const at = (hoursAgo: number, minutes = 15) => new Date(hour(hoursAgo).getTime() + minutes * 60_000);
    for (const hoursAgo of [0, 3, 3, 47, 48]) {
      await insertTransfer(db, { state: 'done', archivedAt: at(hoursAgo), finishedAt: at(hoursAgo) });
    }
    const failing = await insertTransfer(db, failedSeed());
    await insertAttempt(db, failing.id, { outcome: 'failed', finishedAt: at(6, 1) });
    await insertAttempt(db, failing.id, { outcome: 'failed', finishedAt: at(6, 50), attempt: 2 });
    await insertAttempt(db, failing.id, { outcome: 'failed', finishedAt: at(49), attempt: 3 });
    const waiting = await insertTransfer(db, { state: 'waiting', cause: 'not_finished_yet' });
    await insertAttempt(db, waiting.id, { outcome: 'waiting', finishedAt: at(6) });
    await insertAttempt(db, waiting.id, { outcome: 'retrying', finishedAt: at(7), errorClass: 'TRANSIENT' });
    // An attempt still running has no outcome yet and counts nowhere.
    await db.query(`INSERT INTO transfer_attempts (transfer_id, attempt, worker) VALUES ($1, 3, 'w')`, [
      waiting.id,
    ]);

    const hourly = await json<{
      generatedAt: string;
      hours: { hour: string; archived: number; failed: number; waiting: number }[];
    }>(await admin(svc, '/admin/summary/hourly'));
    assert.equal(hourly.hours.length, 48);
    assert.deepEqual(
      hourly.hours.map((h) => h.hour),
      Array.from({ length: 48 }, (_, i) => hour(47 - i).toISOString()),
      'the last 48 hours, oldest first, the current one last',
    );
    const nonZero = Object.fromEntries(
      hourly.hours
        .map((h, i) => [47 - i, [h.archived, h.failed, h.waiting]] as const)
        .filter(([, counts]) => counts.some((n) => n > 0)),
    );
    assert.deepEqual(nonZero, { 47: [1, 0, 0], 6: [0, 1, 1], 3: [2, 0, 0], 0: [1, 0, 0] });
  });

  it('GET /admin/summary/consent counts and lists senders whose token was rejected, longest-waiting first', async () => {
    const paused = await insertTransfer(db, { state: 'needs_consent', cause: 'token_rejected' });
    const older = await insertSender(db, {
      email: 'old@example.com',
      consentState: 'rejected',
      tokenRejectedAt: new Date('2025-03-01T10:00:00Z'),
      envelopeIds: [paused.envelopeId],
    });
    const newer = await insertSender(db, {
      email: null,
      consentState: 'rejected',
      tokenRejectedAt: new Date('2025-03-02T10:00:00Z'),
      platform: 'docusign',
    });
    await insertSender(db, { email: 'ok@example.com', consentState: 'granted' });
    await insertSender(db, { email: 'new@example.com', consentState: 'none' });
    const consent = await json(await admin(svc, '/admin/summary/consent'));
    assert.deepEqual(consent, {
      count: 2,
      senders: [
        {
          id: older,
          platform: 'esignanywhere',
          email: 'old@example.com',
          since: '2025-03-01T10:00:00.000Z',
          waitingTransfers: 1,
        },
        {
          id: newer,
          platform: 'docusign',
          email: null,
          since: '2025-03-02T10:00:00.000Z',
          waitingTransfers: 0,
        },
      ],
    });
  });

  it('shows the envelope name the archive job records, escaped like any text from a platform', async () => {
    const transfer = await insertTransfer(db, { state: 'pending', nextAttemptAt: '2000-01-01T00:00:00Z' });
    const claims = svc.app.get(TransferRepository);
    const [claim] = await claims.claimDue(1, 'test-worker', 60_000);
    assert.equal(claim.id, transfer.id);
    await claims.transition(claim, { state: 'archiving', envelopeName: 'Vertrag\u0000 \u202eMu\u0308ller' });
    const detail = await json<{ transfer: { envelopeName: string | null } }>(
      await admin(svc, `/admin/transfers/${transfer.id}`),
    );
    assert.equal(detail.transfer.envelopeName, 'Vertrag\\u{0} \\u{202e}Müller');
    const found = await json<Page>(await admin(svc, '/admin/transfers?q=vertrag'));
    assert.deepEqual(ids(found), [transfer.id]);
    await claims.transition(claim, { state: 'archiving', envelopeName: '' });
    const [row] = await rows(db, 'SELECT envelope_name FROM transfers WHERE id = $1', [transfer.id]);
    assert.equal(row.envelope_name, null, 'an empty name is no name');
  });
});

describe('admin API without configured tokens', () => {
  let svc: RunningApp;
  before(async () => {
    svc = await startTestApp({ ADMIN_TOKENS: '' });
  });
  after(async () => {
    await svc?.close();
  });

  it('refuses every admin request and says why', async () => {
    for (const token of [null, 'anything-at-all-0123456789', '']) {
      const body = await json<ErrorBody>(await admin(svc, '/admin/summary', { token }), 401);
      assert.match(body.message, /admin access is disabled: ADMIN_TOKENS is not configured/);
    }
  });

  it('serves a page that says admin access is disabled', async () => {
    const html = await (await fetch(`${svc.url}/admin`)).text();
    assert.match(html, /data-admin-configured="false"/);
    assert.match(html, /Admin access is disabled/);
  });
});
