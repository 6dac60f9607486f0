import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from 'pg';
import { startTestApp, type RunningApp } from '../support/app';
import { KeepAliveClient } from '../http/raw-http';
import { ADMIN_ENV, ALICE_TOKEN, connect, failedSeed, insertTransfer, rows } from './admin-fixtures';

const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
const ID = '00000000-0000-4000-8000-000000000000';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('admin API input that is not valid', () => {
  let svc: RunningApp;
  let db: Client;
  let client: KeepAliveClient;
  before(async () => {
    svc = await startTestApp(ADMIN_ENV);
    db = await connect(svc);
    client = new KeepAliveClient(Number(new URL(svc.url).port), 2);
  });
  after(async () => {
    client.close();
    await db?.end();
    await svc?.close();
  });

  /** Sends the path byte for byte as alice and expects a 400 whose message starts with `field: `. */
  async function expect400(method: string, path: string, field: string, body?: unknown): Promise<string> {
    const answer = await client.send({
      method,
      path,
      headers: {
        authorization: `Bearer ${ALICE_TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    assert.equal(answer.status, 400, `${method} ${path}: ${answer.body}`);
    const message = (JSON.parse(answer.body) as { message: string }).message;
    assert.match(message, new RegExp(`^${escape(field)}: `), `${method} ${path}`);
    return message;
  }

  describe('cursors', () => {
    for (const [name, cursor] of [
      ['a day that does not exist', cursorOf({ c: '2025-02-30T10:00:00.000000Z', i: ID })],
      ['year 0', cursorOf({ c: '0000-01-01T00:00:00.000000Z', i: ID })],
      ['hour 25', cursorOf({ c: '2025-01-01T25:00:00.000000Z', i: ID })],
      ['month 13', cursorOf({ c: '2025-13-01T00:00:00.000000Z', i: ID })],
      ['an id that is not a UUID', cursorOf({ c: '2025-01-01T00:00:00.000000Z', i: 'x' })],
      ['a JSON array', cursorOf([1, 2])],
      ['a JSON string', cursorOf('2025-01-01')],
      ['text that is not base64url', '%%%'],
      ['an invalid percent-encoding', '%ff'],
      ['a NUL byte', 'abc%00'],
      ['500 characters', 'A'.repeat(500)],
      ['two cursors', `${cursorOf({ c: '2025-01-01T00:00:00.000000Z', i: ID })}&cursor=x`],
    ] as const) {
      it(`answers 400 naming cursor to ${name}`, async () => {
        await expect400('GET', `/admin/transfers?cursor=${cursor}`, 'cursor');
      });
    }
  });

  describe('query parameters', () => {
    for (const [query, field] of [
      ['sender=a%00b@example.com', 'sender'],
      ['sender=%ff@example.com', 'sender'],
      ['sender=a@example.com&sender=b@example.com', 'sender'],
      ['platform=%E2%82', 'platform'],
      ['q=%ff', 'q'],
      ['q=abc&q=def', 'q'],
      ['q=ab%00cd', 'q'],
      ['q=ab%0Acd', 'q'],
      [`q=${'%C3%BC'.repeat(201)}`, 'q'],
      ['limit=0x10', 'limit'],
      ['limit=1e2', 'limit'],
      ['limit=%2B5', 'limit'],
      ['limit=%205', 'limit'],
      ['limit=99999999999999999999999', 'limit'],
      ['limit=1&limit=2', 'limit'],
      ['dateField=%00', 'dateField'],
      ['dateField=created&dateField=updated', 'dateField'],
      ['from=2025-01-01&from=2025-01-02', 'from'],
      ['from=%E2%82%AC', 'from'],
      [`state=${Array(60).fill('failed').join('&state=')}`, 'state'],
      ['state=failed%ff', 'state'],
      ['x%ff=1', 'x%ff'],
      ['%ff=1', '%ff'],
    ] as const) {
      it(`answers 400 naming ${field} to ?${query.slice(0, 60)}`, async () => {
        await expect400('GET', `/admin/transfers?${query}`, field);
      });
    }

    for (const path of ['/admin/summary', '/admin/summary/hourly', '/admin/summary/consent']) {
      it(`answers 400 naming an unknown parameter of ${path}`, async () => {
        await expect400('GET', `${path}?verbose=1`, 'verbose');
      });
    }

    it('takes a search of any script and wildcard characters as text, without error', async () => {
      for (const q of ["o'brien", '%_\\', 'Müller & Söhne', '合同书', '🙂🙂🙂', 'a%25b']) {
        const answer = await client.send({
          method: 'GET',
          path: `/admin/transfers?q=${encodeURIComponent(q)}`,
          headers: { authorization: `Bearer ${ALICE_TOKEN}` },
        });
        assert.equal(answer.status, 200, `${q}: ${answer.body}`);
      }
    });
  });

  describe('transfer ids in the path', () => {
    for (const [name, id] of [
      ['an invalid percent-encoding', '%ff'],
      ['a truncated UTF-8 sequence', '%E2%82'],
      ['a NUL byte', '%00'],
      ['300 characters', 'a'.repeat(300)],
      ['a UUID with a NUL byte', `${ID}%00`],
    ] as const) {
      for (const [method, suffix] of [
        ['GET', ''],
        ['POST', '/retry'],
      ] as const) {
        it(`answers 400 naming id to ${name} (${method} ${suffix || 'detail'})`, async () => {
          await expect400(method, `/admin/transfers/${id}${suffix}`, 'id');
        });
      }
    }
  });

  describe('bodies', () => {
    it('answers 400 to a dismissal whose reason holds a NUL byte, and leaves the transfer alone', async () => {
      const transfer = await insertTransfer(db, failedSeed());
      await expect400('POST', `/admin/transfers/${transfer.id}/dismiss`, 'reason', {
        reason: 'duplicate\u0000 envelope',
      });
      const [row] = await rows(db, 'SELECT state FROM transfers WHERE id = $1', [transfer.id]);
      assert.equal(row.state, 'failed');
    });

    it('answers 400 to a bulk retry whose sender holds a NUL byte, and retries nothing', async () => {
      const transfer = await insertTransfer(db, failedSeed());
      await expect400('POST', '/admin/transfers/retry', 'sender', {
        state: 'failed',
        sender: 'a\u0000@example.com',
      });
      const [row] = await rows(db, 'SELECT state FROM transfers WHERE id = $1', [transfer.id]);
      assert.equal(row.state, 'failed');
    });

    it('answers 400 to a bulk retry whose limit is beyond any number', async () => {
      await expect400('POST', '/admin/transfers/retry', 'limit', '{"state":"failed","limit":1e400}');
    });
  });
});
