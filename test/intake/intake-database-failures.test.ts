import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { startTestApp, TEST_CALLBACK_TOKEN, type RunningApp } from '../support/app';
import { createTestDatabase, queryAt, type TestDatabase } from '../support/database';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function adminUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run the tests through `npm test`');
  return url;
}

const admin = (sql: string, params: unknown[] = []) => queryAt(adminUrl(), sql, params);

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('intake when PostgreSQL refuses the database', () => {
  let db: TestDatabase;
  let role: string;
  let svc: RunningApp;

  before(async () => {
    db = await createTestDatabase();
    // Superusers ignore connection limits, so the service connects as the database's owner instead.
    role = `${db.name}_app`;
    // A password of its own: the embedded PostgreSQL asks for one, where a local one may trust.
    const password = randomBytes(12).toString('hex');
    await admin(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    await admin(`ALTER DATABASE ${db.name} OWNER TO ${role}`);
    const appUrl = new URL(db.url);
    appUrl.username = role;
    appUrl.password = password;
    svc = await startTestApp(
      { DATABASE_URL: appUrl.toString(), DATABASE_POOL_SIZE: '2' },
      { db: { ...db, url: appUrl.toString() } },
    );
  });
  after(async () => {
    await svc?.app.close().catch(() => undefined);
    await db.drop();
    await admin(`DROP ROLE IF EXISTS ${role}`);
  });

  const callback = (envelope: string) => {
    const url = new URL('/callbacks/esignanywhere', svc.url);
    url.searchParams.set('envelope', envelope);
    url.searchParams.set('action', 'envelopeFinished');
    url.searchParams.set('token', TEST_CALLBACK_TOKEN);
    return fetch(url);
  };

  const appBackends = async () =>
    (
      await admin('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND usename = $2', [
        db.name,
        role,
      ])
    )[0].n as number;

  // Waits until the server has ended them, then lets the pool see its sockets close.
  async function terminateAppBackends(): Promise<void> {
    await admin(
      'SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = $1 AND usename = $2',
      [db.name, role],
    );
    await waitFor('the service to lose its connections', async () => (await appBackends()) === 0);
    await sleep(200);
  }

  async function assertRetryLater(pending: Promise<Response>): Promise<void> {
    const started = Date.now();
    const res = await pending;
    const body = await res.text();
    assert.equal(res.status, 503, body);
    assert.equal(res.headers.get('retry-after'), '30');
    assert.ok(
      Date.now() - started < svc.config.intake.INTAKE_TIMEOUT_MS + 1000,
      'answered after the deadline',
    );
    assert.doesNotMatch(body, /at \w+ \(|stack|SQLSTATE|postgres/i);
  }

  const notedRows = async (envelope: string) =>
    queryAt<{ received_count: number }>(
      db.url,
      'SELECT received_count FROM noted_events WHERE envelope_id = $1',
      [envelope],
    );

  async function assertNothingNoted(envelope: string): Promise<void> {
    assert.deepEqual(await notedRows(envelope), []);
    assert.deepEqual(await queryAt(db.url, 'SELECT 1 FROM transfers WHERE envelope_id = $1', [envelope]), []);
  }

  async function assertNotedOnceAfterRetry(envelope: string): Promise<void> {
    const res = await callback(envelope);
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { status: 'noted' });
    assert.deepEqual(await notedRows(envelope), [{ received_count: 1 }]);
    assert.equal(
      (await queryAt(db.url, 'SELECT 1 FROM transfers WHERE envelope_id = $1', [envelope])).length,
      1,
    );
  }

  it('answers 503 while the database accepts no connections, and notes the retry once it does', async () => {
    const envelope = 'a1000000-2222-4333-8444-555555555555';
    try {
      await admin(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS false`);
      await terminateAppBackends();
      await assertRetryLater(callback(envelope));
    } finally {
      await admin(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`);
    }
    await assertNothingNoted(envelope);
    await assertNotedOnceAfterRetry(envelope);
  });

  it('answers 503 while the database has too many clients (connection limit 0), then 200', async () => {
    const envelope = 'a2000000-2222-4333-8444-555555555555';
    try {
      await admin(`ALTER DATABASE ${db.name} CONNECTION LIMIT 0`);
      await terminateAppBackends();
      await assertRetryLater(callback(envelope));
    } finally {
      await admin(`ALTER DATABASE ${db.name} CONNECTION LIMIT -1`);
    }
    await assertNothingNoted(envelope);
    await assertNotedOnceAfterRetry(envelope);
  });

  it('answers 503 when an administrator ends the connection in the middle of the write, then 200', async () => {
    const envelope = 'a3000000-2222-4333-8444-555555555555';
    // Holding the table makes the service's write wait, so the shutdown lands while it is in flight.
    const locker = new Client({ connectionString: db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE noted_events IN ACCESS EXCLUSIVE MODE');
      const pending = callback(envelope);
      await waitFor('the write to wait on the lock', async () => {
        const [{ n }] = await admin(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = $1 AND usename = $2 AND wait_event_type = 'Lock'`,
          [db.name, role],
        );
        return n === 1;
      });
      await admin(
        'SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = $1 AND usename = $2',
        [db.name, role],
      );
      await assertRetryLater(pending);
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
    }
    await assertNothingNoted(envelope);
    await assertNotedOnceAfterRetry(envelope);
  });

  it('answers 503 while the database does not exist under its name, then 200 once it is back', async () => {
    const envelope = 'a4000000-2222-4333-8444-555555555555';
    const away = `${db.name}_away`;
    let renamed = false;
    try {
      // A renamed database looks to the service exactly like a dropped one, and can be brought back.
      await admin(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS false`);
      await terminateAppBackends();
      await admin(`ALTER DATABASE ${db.name} RENAME TO ${away}`);
      renamed = true;
      await admin(`ALTER DATABASE ${away} ALLOW_CONNECTIONS true`);
      await assertRetryLater(callback(envelope));
    } finally {
      if (renamed) await admin(`ALTER DATABASE ${away} RENAME TO ${db.name}`);
      await admin(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`);
    }
    await assertNothingNoted(envelope);
    await assertNotedOnceAfterRetry(envelope);
  });

  it('answers 400 to a callback the database refuses as invalid, and 200 to those committed with it', async () => {
    const bad = 'a5000000-0000-4000-8000-000000000000';
    const good = ['a5000000-1111-4333-8444-555555555555', 'a5000000-2222-4333-8444-555555555555'];
    const first = 'a5000000-3333-4333-8444-555555555555';
    // Stands in for any row the schema refuses (SQLSTATE class 23).
    await queryAt(
      db.url,
      `ALTER TABLE noted_events ADD CONSTRAINT refuse_one_envelope CHECK (envelope_id <> '${bad}')`,
    );
    const locker = new Client({ connectionString: db.url });
    await locker.connect();
    try {
      // While one write waits on the lock, the next callbacks queue up and are written in one statement.
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE noted_events IN ACCESS EXCLUSIVE MODE');
      const firstAnswer = callback(first);
      await waitFor('the first write to wait on the lock', async () => {
        const [{ n }] = await admin(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = $1 AND usename = $2 AND wait_event_type = 'Lock'`,
          [db.name, role],
        );
        return n === 1;
      });
      const answers = [callback(good[0]), callback(bad), callback(good[1])];
      await sleep(500);
      await locker.query('ROLLBACK');
      const [firstRes, good0, badRes, good1] = await Promise.all([firstAnswer, ...answers]);
      assert.deepEqual([firstRes.status, good0.status, badRes.status, good1.status], [200, 200, 400, 200]);
      const body = (await badRes.json()) as { message: string };
      assert.equal(body.message, 'the callback cannot be noted: the database refused its data as invalid');
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
      await queryAt(db.url, 'ALTER TABLE noted_events DROP CONSTRAINT IF EXISTS refuse_one_envelope');
    }
    await assertNothingNoted(bad);
    for (const envelope of [first, ...good]) {
      assert.deepEqual(await notedRows(envelope), [{ received_count: 1 }]);
    }
  });
});
