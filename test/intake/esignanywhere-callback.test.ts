import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, TEST_CALLBACK_TOKEN, type RunningApp } from '../support/app';
import { createTestDatabase, queryAt } from '../support/database';
import { TcpProxy } from '../support/tcp-proxy';

const ENVELOPE = '6F1C7E0A-2B3D-4E5F-8A9B-0C1D2E3F4A5B';

const rows = (url: string, sql: string, params: unknown[] = []) => queryAt(url, sql, params);

function callbackUrl(base: string, params: Record<string, string | undefined>): string {
  const url = new URL('/callbacks/esignanywhere', base);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.append(k, v);
  return url.toString();
}

describe('eSignAnyWhere callback intake', () => {
  let svc: RunningApp;
  before(async () => {
    svc = await startTestApp();
  });
  after(async () => {
    await svc.close();
  });

  it('thirty identical callbacks at once: thirty 200s, one noted row counting 30, one transfer', async () => {
    const url = callbackUrl(svc.url, {
      envelope: ENVELOPE,
      action: 'envelopeFinished',
      token: TEST_CALLBACK_TOKEN,
    });
    const responses = await Promise.all(Array.from({ length: 30 }, () => fetch(url)));
    assert.deepEqual(
      responses.map((r) => r.status),
      Array(30).fill(200),
    );
    const noted = await rows(svc.db.url, 'SELECT * FROM noted_events WHERE envelope_id = $1', [
      ENVELOPE.toLowerCase(),
    ]);
    assert.equal(noted.length, 1);
    assert.equal(noted[0].received_count, 30);
    assert.equal(noted[0].action, 'envelopeFinished');
    assert.ok((noted[0].last_received_at as Date) >= (noted[0].first_received_at as Date));
    const transfers = await rows(svc.db.url, 'SELECT * FROM transfers WHERE envelope_id = $1', [
      ENVELOPE.toLowerCase(),
    ]);
    assert.equal(transfers.length, 1);
    assert.equal(transfers[0].state, 'pending');
    assert.equal(transfers[0].platform, 'esignanywhere');
  });

  it('stores the request as evidence without the token', async () => {
    const envelope = '11111111-2222-4333-8444-555555555555';
    const res = await fetch(
      callbackUrl(svc.url, {
        envelope,
        action: 'workstepFinished',
        token: TEST_CALLBACK_TOKEN,
        ref: 'order-7',
      }),
      { headers: { 'user-agent': 'eSAW-test' } },
    );
    assert.equal(res.status, 200);
    const [noted] = await rows(svc.db.url, 'SELECT request FROM noted_events WHERE envelope_id = $1', [
      envelope,
    ]);
    const request = noted.request as { query: Record<string, string>; headers: Record<string, string> };
    assert.equal(request.query.ref, 'order-7');
    assert.equal(request.query.envelope, envelope);
    assert.equal(request.headers['user-agent'], 'eSAW-test');
    assert.ok(!JSON.stringify(noted).includes(TEST_CALLBACK_TOKEN));
    // A status callback is evidence only: no archive work.
    assert.equal(
      (await rows(svc.db.url, 'SELECT 1 FROM transfers WHERE envelope_id = $1', [envelope])).length,
      0,
    );
  });

  it('notes a callback whose other parameters hold a NUL byte or a broken percent-encoding', async () => {
    const envelope = '12121212-2222-4333-8444-555555555555';
    const res = await fetch(
      `${callbackUrl(svc.url, { envelope, action: 'workstepFinished', token: TEST_CALLBACK_TOKEN })}` +
        '&ref=a%00b&note=%E2%82',
    );
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'noted' });
    const [noted] = await rows(svc.db.url, 'SELECT request FROM noted_events WHERE envelope_id = $1', [
      envelope,
    ]);
    const request = noted.request as { query: Record<string, string> };
    assert.equal(request.query.ref, 'a\uFFFDb');
    assert.equal(request.query.note, '%E2%82');
  });

  it('answers 405 to HEAD and notes nothing: a HEAD is never a callback', async () => {
    const envelope = '13131313-2222-4333-8444-555555555555';
    const res = await fetch(
      callbackUrl(svc.url, { envelope, action: 'envelopeFinished', token: TEST_CALLBACK_TOKEN }),
      { method: 'HEAD' },
    );
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, POST');
    assert.equal(
      (await rows(svc.db.url, 'SELECT 1 FROM noted_events WHERE envelope_id = $1', [envelope])).length,
      0,
    );
  });

  it('accepts POST with any body and ignores it; envelopeExpired creates work', async () => {
    const envelope = '22222222-2222-4333-8444-555555555555';
    const res = await fetch(
      callbackUrl(svc.url, { envelope, action: 'envelopeExpired', token: TEST_CALLBACK_TOKEN }),
      {
        method: 'POST',
        headers: { 'content-type': 'application/xml' },
        body: '<anything/>',
      },
    );
    assert.equal(res.status, 200);
    assert.equal(
      (await rows(svc.db.url, 'SELECT 1 FROM transfers WHERE envelope_id = $1', [envelope])).length,
      1,
    );
  });

  it('refuses a body over 64 KiB with 413 and writes nothing', async () => {
    const envelope = '33333333-2222-4333-8444-555555555555';
    const res = await fetch(
      callbackUrl(svc.url, { envelope, action: 'envelopeFinished', token: TEST_CALLBACK_TOKEN }),
      {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: Buffer.alloc(65 * 1024, 1),
      },
    );
    assert.equal(res.status, 413);
    assert.equal(
      (await rows(svc.db.url, 'SELECT 1 FROM noted_events WHERE envelope_id = $1', [envelope])).length,
      0,
    );
  });

  for (const [name, params, reason] of [
    ['no envelope', { action: 'envelopeFinished' }, 'envelope is missing'],
    [
      'an envelope that is not a GUID',
      { envelope: '##EnvelopeId##', action: 'envelopeFinished' },
      'envelope must be a GUID',
    ],
    ['no action', { envelope: ENVELOPE }, 'action is missing'],
    ['a malformed action', { envelope: ENVELOPE, action: '<script>' }, 'action is malformed'],
  ] as const) {
    it(`answers 400 to ${name} and writes nothing`, async () => {
      const before = await rows(
        svc.db.url,
        'SELECT count(*)::int AS n, coalesce(sum(received_count),0)::int AS c FROM noted_events',
      );
      const res = await fetch(callbackUrl(svc.url, { ...params, token: TEST_CALLBACK_TOKEN }));
      assert.equal(res.status, 400);
      const body = (await res.json()) as { message: string };
      assert.equal(body.message, reason);
      const afterRows = await rows(
        svc.db.url,
        'SELECT count(*)::int AS n, coalesce(sum(received_count),0)::int AS c FROM noted_events',
      );
      assert.deepEqual(afterRows, before);
    });
  }

  it('answers 400 to a repeated envelope parameter', async () => {
    const url =
      callbackUrl(svc.url, { envelope: ENVELOPE, action: 'envelopeFinished', token: TEST_CALLBACK_TOKEN }) +
      `&envelope=${ENVELOPE}`;
    const res = await fetch(url);
    assert.equal(res.status, 400);
  });

  it('answers 200 to an unknown action and creates no work', async () => {
    const envelope = '44444444-2222-4333-8444-555555555555';
    const res = await fetch(
      callbackUrl(svc.url, { envelope, action: 'someFutureAction', token: TEST_CALLBACK_TOKEN }),
    );
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ignored' });
    assert.equal(
      (await rows(svc.db.url, 'SELECT 1 FROM transfers WHERE envelope_id = $1', [envelope])).length,
      0,
    );
    assert.equal(
      (await rows(svc.db.url, 'SELECT 1 FROM noted_events WHERE envelope_id = $1', [envelope])).length,
      0,
    );
  });

  for (const [name, token, headers] of [
    ['no credentials', undefined, {}],
    ['a wrong token', 'wrong-token-wrong-token', {}],
    ['a token that is a prefix of the right one', TEST_CALLBACK_TOKEN.slice(0, 10), {}],
    [
      'Basic credentials when only a token is configured',
      undefined,
      { authorization: 'Basic ' + Buffer.from('a:b').toString('base64') },
    ],
  ] as const) {
    it(`answers 401 to ${name} and writes nothing`, async () => {
      const envelope = '55555555-2222-4333-8444-555555555555';
      const res = await fetch(callbackUrl(svc.url, { envelope, action: 'envelopeFinished', token }), {
        headers,
      });
      assert.equal(res.status, 401);
      assert.equal(
        (await rows(svc.db.url, 'SELECT 1 FROM noted_events WHERE envelope_id = $1', [envelope])).length,
        0,
      );
    });
  }

  it('checks authentication before validation', async () => {
    const res = await fetch(callbackUrl(svc.url, { envelope: 'not-a-guid' }));
    assert.equal(res.status, 401);
  });

  it('live and ready answer while the database is up', async () => {
    assert.equal((await fetch(`${svc.url}/health/live`)).status, 200);
    const ready = await fetch(`${svc.url}/health/ready`);
    assert.equal(ready.status, 200);
    assert.equal(
      ((await ready.json()) as { checks: { database: { ok: boolean } } }).checks.database.ok,
      true,
    );
  });
});

describe('callback authentication with HTTP Basic', () => {
  let svc: RunningApp;
  before(async () => {
    svc = await startTestApp({
      CALLBACK_TOKEN: '',
      CALLBACK_BASIC_USER: 'esaw',
      CALLBACK_BASIC_PASSWORD: 'correct horse battery',
    });
  });
  after(async () => {
    await svc.close();
  });

  const basic = (user: string, password: string) => ({
    authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64'),
  });

  it('accepts the right user and password', async () => {
    const res = await fetch(callbackUrl(svc.url, { envelope: ENVELOPE, action: 'envelopeFinished' }), {
      headers: basic('esaw', 'correct horse battery'),
    });
    assert.equal(res.status, 200);
  });

  for (const [name, headers] of [
    ['a wrong password', basic('esaw', 'wrong horse battery')],
    ['a wrong user', basic('other', 'correct horse battery')],
    ['no credentials', {}],
    ['a malformed header', { authorization: 'Basic %%%' }],
  ] as const) {
    it(`answers 401 with a Basic challenge to ${name}`, async () => {
      const envelope = '66666666-2222-4333-8444-555555555555';
      const res = await fetch(callbackUrl(svc.url, { envelope, action: 'envelopeFinished' }), { headers });
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Basic/);
      assert.equal(
        (await rows(svc.db.url, 'SELECT 1 FROM noted_events WHERE envelope_id = $1', [envelope])).length,
        0,
      );
    });
  }
});

describe('intake when the database fails', () => {
  let svc: RunningApp;
  let proxy: TcpProxy;
  before(async () => {
    const db = await createTestDatabase();
    const target = new URL(db.url);
    proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    await proxy.start();
    const viaProxy = new URL(db.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    svc = await startTestApp(
      { DATABASE_URL: viaProxy.toString(), DATABASE_POOL_SIZE: '2' },
      { db: { ...db, url: viaProxy.toString() } },
    );
    // keep the real URL for cleanup
    svc.db = db;
  });
  after(async () => {
    await svc.app.close().catch(() => undefined);
    await proxy.stop();
    await svc.db.drop();
  });

  it('answers 503 within 5 seconds when the database stops answering, and never 200', async () => {
    proxy.stall();
    const started = Date.now();
    const res = await fetch(
      callbackUrl(svc.url, {
        envelope: '77777777-2222-4333-8444-555555555555',
        action: 'envelopeFinished',
        token: TEST_CALLBACK_TOKEN,
      }),
    );
    const elapsed = Date.now() - started;
    assert.equal(res.status, 503);
    assert.ok(elapsed < 5000, `took ${elapsed} ms`);
    const body = await res.text();
    assert.doesNotMatch(body, /at \w+ \(|stack/i);
    const ready = await fetch(`${svc.url}/health/ready`);
    assert.equal(ready.status, 503);
  });

  it('answers 503 quickly when the database is unreachable', async () => {
    proxy.down();
    const started = Date.now();
    const res = await fetch(
      callbackUrl(svc.url, {
        envelope: '88888888-2222-4333-8444-555555555555',
        action: 'envelopeFinished',
        token: TEST_CALLBACK_TOKEN,
      }),
    );
    assert.equal(res.status, 503);
    assert.ok(Date.now() - started < 5000);
    assert.equal(res.headers.get('retry-after'), '30');
  });

  it('recovers once the database is back', async () => {
    proxy.up();
    const envelope = '99999999-2222-4333-8444-555555555555';
    let status = 0;
    for (let i = 0; i < 20 && status !== 200; i++) {
      status = (
        await fetch(
          callbackUrl(svc.url, { envelope, action: 'envelopeFinished', token: TEST_CALLBACK_TOKEN }),
        )
      ).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(status, 200);
    assert.equal(
      (await rows(svc.db.url, 'SELECT 1 FROM transfers WHERE envelope_id = $1', [envelope])).length,
      1,
    );
  });
});
