import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, TEST_CALLBACK_TOKEN, type RunningApp } from '../support/app';
import { queryAt } from '../support/database';
import { byteByByte, rawExchange } from './raw-http';

const HEADERS_TIMEOUT_MS = 500;
const REQUEST_TIMEOUT_MS = 1000;
const IDLE_TIMEOUT_MS = 1000;
// Node checks its header and request deadlines periodically; a loaded machine adds its own delay.
const SLACK_MS = 1500;

const callbackPath = (envelope: string) =>
  `/callbacks/esignanywhere?envelope=${envelope}&action=envelopeFinished&token=${TEST_CALLBACK_TOKEN}`;

describe('slow and stalled clients', () => {
  let svc: RunningApp;
  let port: number;
  before(async () => {
    svc = await startTestApp({
      HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      HTTP_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
    });
    port = Number(new URL(svc.url).port);
  });
  after(async () => {
    await svc.close();
  });

  const noted = async (envelope: string) =>
    (await queryAt(svc.db.url, 'SELECT 1 FROM noted_events WHERE envelope_id = $1', [envelope])).length;

  it('drops a callback whose body stalls after 5 bytes within the request timeout, and notes nothing', async () => {
    const envelope = 'a1a1a1a1-2222-4333-8444-555555555555';
    const outcome = await rawExchange(
      port,
      [
        `POST ${callbackPath(envelope)} HTTP/1.1\r\nHost: localhost\r\n` +
          'Content-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\nhello',
      ],
      { deadlineMs: REQUEST_TIMEOUT_MS + 5000 },
    );
    assert.equal(outcome.stillOpen, false, 'the stalled connection is still open');
    assert.ok(
      outcome.closedAfterMs! < REQUEST_TIMEOUT_MS + SLACK_MS,
      `closed after ${outcome.closedAfterMs} ms`,
    );
    if (outcome.status !== undefined) assert.equal(outcome.status, 408);
    assert.equal(await noted(envelope), 0);
  });

  it('cuts a client that sends its headers a byte at a time within the headers timeout', async () => {
    const envelope = 'a2a2a2a2-2222-4333-8444-555555555555';
    const request =
      `GET ${callbackPath(envelope)} HTTP/1.1\r\nHost: localhost\r\n` +
      `User-Agent: ${'slow'.repeat(100)}\r\n\r\n`;
    const outcome = await rawExchange(port, byteByByte(request), {
      intervalMs: 20,
      deadlineMs: HEADERS_TIMEOUT_MS + 5000,
    });
    assert.equal(outcome.stillOpen, false, `still open after ${outcome.bytesSent} bytes`);
    assert.ok(
      outcome.closedAfterMs! < HEADERS_TIMEOUT_MS + SLACK_MS,
      `closed after ${outcome.closedAfterMs} ms`,
    );
    assert.ok(outcome.bytesSent < Buffer.byteLength(request), 'the whole request got through');
    if (outcome.status !== undefined) assert.equal(outcome.status, 408);
    assert.equal(await noted(envelope), 0);
  });

  it('closes an idle keep-alive connection after the idle timeout', async () => {
    const outcome = await rawExchange(port, ['GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n'], {
      deadlineMs: IDLE_TIMEOUT_MS + 5000,
    });
    assert.equal(outcome.status, 200);
    assert.equal(outcome.stillOpen, false, 'the idle connection is still open');
    assert.ok(outcome.closedAfterMs! >= IDLE_TIMEOUT_MS / 2, `closed after ${outcome.closedAfterMs} ms`);
    assert.ok(
      outcome.closedAfterMs! < IDLE_TIMEOUT_MS + SLACK_MS,
      `closed after ${outcome.closedAfterMs} ms`,
    );
  });

  it('still answers a client that is slow but within every limit', async () => {
    const envelope = 'a3a3a3a3-2222-4333-8444-555555555555';
    const head = `POST ${callbackPath(envelope)} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n`;
    const outcome = await rawExchange(
      port,
      [
        head.slice(0, 40),
        head.slice(40),
        'Content-Type: application/xml\r\nContent-Length: 10\r\n\r\n',
        '<a/>',
        '<b/>\r\n',
      ],
      { intervalMs: 80, deadlineMs: 5000 },
    );
    assert.equal(outcome.status, 200);
    assert.equal(await noted(envelope), 1);
  });
});
