import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { TEST_CALLBACK_TOKEN } from '../support/app';
import { ArchiveWorld } from '../support/archive-world';
import { TcpProxy } from '../support/tcp-proxy';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

// The log an operator reads: the real service as its own process (dist/src/main.js), its stdout
// parsed line by line.

const OAUTH_CLIENT_ID = 'esign-archiver-log-test';
const OAUTH_CLIENT_SECRET = `oauth-client-secret-${randomBytes(12).toString('hex')}`;
const ADMIN_TOKEN = `admin-secret-${randomBytes(12).toString('hex')}`;
const ENCRYPTION_KEY = randomBytes(32).toString('base64');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

type LogLine = Record<string, unknown> & {
  level: string;
  msg?: string;
  reqId?: string;
  req?: { method?: string; route?: string | null };
  res?: { statusCode?: number };
  responseTime?: number;
};

function logLines(output: string): LogLine[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

const isAccessLine = (line: LogLine) => line.req !== undefined && line.res !== undefined;

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('the service log', () => {
  let world: ArchiveWorld;
  let door: TcpProxy;
  let worker: WorkerProcess;
  const workers: WorkerProcess[] = [];

  before(async () => {
    world = await ArchiveWorld.start({ startApp: false });
    // The OAuth redirect URI is the service's public address, known before the service starts.
    door = new TcpProxy('127.0.0.1', 0);
    await door.start();
    world.sim.registerOAuthClient({
      clientId: OAUTH_CLIENT_ID,
      clientSecret: OAUTH_CLIENT_SECRET,
      redirectUris: [`http://127.0.0.1:${door.port}/consent/oauth/callback`],
      name: 'Archive service',
    });
    worker = await startWorkerProcess(
      world.env({
        LOG_LEVEL: 'info',
        ADMIN_TOKENS: `ops:${ADMIN_TOKEN}`,
        PUBLIC_BASE_URL: `http://127.0.0.1:${door.port}`,
        ESAW_OAUTH_CLIENT_ID: OAUTH_CLIENT_ID,
        ESAW_OAUTH_CLIENT_SECRET: OAUTH_CLIENT_SECRET,
        ESAW_OAUTH_AUTHORIZE_URL: world.sim.authorizeUrl,
        ESAW_OAUTH_TOKEN_URL: world.sim.tokenUrl,
        ESAW_INBOX_URL: `${world.sim.url}/EnvelopeManagement/Inbox`,
        TOKEN_ENCRYPTION_KEYS: `k1:${ENCRYPTION_KEY}`,
      }),
    );
    workers.push(worker);
    door.pointAt(Number(new URL(worker.url).port));
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    await door?.stop();
    await world?.close();
  });

  it('one access line per request with method, route template, status, duration and request id; no secret anywhere', async () => {
    const publicUrl = `http://127.0.0.1:${door.port}`;
    const wrongCallbackToken = `wrong-callback-secret-${randomBytes(8).toString('hex')}`;
    const basicPassword = `basic-password-${randomBytes(8).toString('hex')}`;
    const wrongAdminToken = `wrong-admin-secret-${randomBytes(8).toString('hex')}`;
    const sent: { id: string; method: string; route: string | null; status: number }[] = [];
    /** A request that names itself with X-Request-Id; the answer must carry the same id. */
    const send = async (
      route: string | null,
      url: string,
      init: { method?: string; headers?: Record<string, string>; id?: string } = {},
    ): Promise<Response> => {
      const id = init.id ?? `log-test-${randomUUID()}`;
      const res = await fetch(url, {
        method: init.method ?? 'GET',
        redirect: 'manual',
        headers: { ...init.headers, 'x-request-id': id },
      });
      await res.arrayBuffer();
      assert.equal(res.headers.get('x-request-id'), id, `${url}: the id is returned`);
      sent.push({ id, method: init.method ?? 'GET', route, status: res.status });
      return res;
    };

    const envelope = world.createEnvelope({ callbackUrl: null });
    const callback = (token: string) =>
      `${worker.url}/callbacks/esignanywhere?envelope=${envelope.id}&action=envelopeSent&token=${token}`;
    const basic = `Basic ${Buffer.from(`platform:${basicPassword}`).toString('base64')}`;
    const cookie = `session=cookie-secret-${randomBytes(8).toString('hex')}`;
    assert.equal(
      (
        await send('/callbacks/esignanywhere', callback(TEST_CALLBACK_TOKEN), {
          headers: { authorization: basic, cookie },
        })
      ).status,
      200,
    );
    assert.equal(
      (
        await send('/callbacks/esignanywhere', callback(wrongCallbackToken), {
          headers: { authorization: basic },
        })
      ).status,
      401,
    );
    assert.equal(
      (
        await send('/admin/transfers', `${worker.url}/admin/transfers?limit=5`, {
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        })
      ).status,
      200,
    );
    const refusedAdminId = randomUUID();
    assert.equal(
      (
        await send('/admin/transfers/:id', `${worker.url}/admin/transfers/${randomUUID()}`, {
          headers: { authorization: `Bearer ${wrongAdminToken}` },
          id: refusedAdminId,
        })
      ).status,
      401,
    );

    // The consent flow, as a browser goes through it: NEXT, the authorize page, the callback.
    const { user } = world.sim.createUser();
    const draftId = world.sim.createDraft({ ownerUserId: user.id }).id;
    world.sim.setOAuthDecision({ decision: 'approve', userId: user.id });
    const beforeSend = await send(
      '/consent/before-send',
      world.sim.beforeSendRedirectUrl(
        draftId,
        `${publicUrl}/consent/before-send?envelope=##EnvelopeId##&sender=##SenderUserId##&org=##OrganizationId##`,
      ),
    );
    assert.equal(beforeSend.status, 302);
    const bindingCookie = beforeSend.headers
      .getSetCookie()
      .find((c) => c.startsWith('consent_'))!
      .split(';')[0];
    const authorize = await fetch(beforeSend.headers.get('location')!, { redirect: 'manual' });
    assert.equal(authorize.status, 302);
    const callbackUrl = authorize.headers.get('location')!;
    const code = new URL(callbackUrl).searchParams.get('code')!;
    const state = new URL(callbackUrl).searchParams.get('state')!;
    assert.ok(code && state);
    const granted = await send('/consent/oauth/callback', callbackUrl, {
      headers: { cookie: bindingCookie },
    });
    assert.equal(granted.status, 302, 'access granted, the draft sent');
    const replayId = randomUUID();
    const replayed = await send('/consent/oauth/callback', callbackUrl, {
      headers: { cookie: bindingCookie },
      id: replayId,
    });
    assert.equal(replayed.status, 400, 'a used state is refused');

    assert.equal((await send(null, `${worker.url}/no-such-page?token=${wrongCallbackToken}`)).status, 404);
    assert.equal(
      (await send('/callbacks/esignanywhere', callback(TEST_CALLBACK_TOKEN), { method: 'HEAD' })).status,
      405,
    );
    assert.equal(
      (await send(null, `${worker.url}/admin/transfers/%E0%A4%A?token=${wrongCallbackToken}`)).status,
      400,
    );

    // An id that is not one the service can carry is replaced.
    for (const unusable of ['has spaces', 'x'.repeat(129), 'a,b']) {
      const res = await fetch(`${worker.url}/health/live`, { headers: { 'x-request-id': unusable } });
      assert.match(res.headers.get('x-request-id')!, UUID, JSON.stringify(unusable));
    }
    const unnamed = await fetch(`${worker.url}/health/live`);
    const unnamedId = unnamed.headers.get('x-request-id')!;
    assert.match(unnamedId, UUID);

    const lines = await waitFor('the access lines', () => {
      const parsed = logLines(worker.output());
      const ids = new Set(parsed.filter(isAccessLine).map((l) => l.reqId));
      return [...sent.map((s) => s.id), unnamedId].every((id) => ids.has(id)) ? parsed : undefined;
    });
    for (const request of sent) {
      const access = lines.filter((l) => isAccessLine(l) && l.reqId === request.id);
      assert.equal(access.length, 1, `one access line for ${request.method} ${request.route}`);
      const [line] = access;
      assert.deepEqual(line.req, { method: request.method, route: request.route });
      assert.deepEqual(line.res, { statusCode: request.status });
      assert.equal(typeof line.responseTime, 'number');
      assert.ok(line.responseTime! >= 0);
      assert.equal(line.level, request.status >= 500 ? 'error' : 'info');
    }
    // Lines logged while a request is handled carry its id.
    assert.ok(
      lines.some((l) => l.context === 'AdminAuth' && l.reqId === refusedAdminId),
      'the refusal of an admin request is logged under its id',
    );
    assert.ok(
      lines.some((l) => l.context === 'Consent' && l.code === 'STATE_USED' && l.reqId === replayId),
      'the refusal of a replayed consent callback is logged under its id',
    );

    // Nest's own lines are JSON lines too.
    assert.ok(lines.some((l) => l.context === 'NestApplication' && l.level === 'info'));

    const output = worker.output();
    const secrets = {
      callbackToken: TEST_CALLBACK_TOKEN,
      wrongCallbackToken,
      basicPassword,
      basicHeader: basic.slice('Basic '.length),
      cookie: cookie.split('=')[1],
      adminToken: ADMIN_TOKEN,
      wrongAdminToken,
      bindingCookie: bindingCookie.split('=')[1],
      code,
      state,
      oauthClientSecret: OAUTH_CLIENT_SECRET,
      apiToken: world.senderToken,
      encryptionKey: ENCRYPTION_KEY,
      s3SecretKey: world.s3.credentials.secretAccessKey,
    };
    for (const [name, secret] of Object.entries(secrets)) {
      assert.ok(secret.length >= 6, name);
      assert.ok(!output.includes(secret), `${name} appears in the log`);
      assert.ok(!output.includes(encodeURIComponent(secret)), `${name} (URL-encoded) appears in the log`);
    }
    assert.ok(!/[?&](token|code|state)=/.test(output), 'no query string is logged');
  });

  it('archive and mail lines carry the ids of the transfer and of the mail they are about', async () => {
    const envelope = world.createEnvelope({ callbackUrl: null });
    world.sim.finishEnvelope(envelope.id, 'Completed');
    const refused = world.createEnvelope({ callbackUrl: null });
    world.sim.finishEnvelope(refused.id, 'Completed');
    world.sim.addFault({
      endpoint: 'envelope.get',
      envelopeId: refused.id,
      fault: { kind: 'status', status: 401 },
    });
    for (const id of [envelope.id, refused.id]) {
      const res = await fetch(
        `${worker.url}/callbacks/esignanywhere?envelope=${id}&action=envelopeFinished&token=${TEST_CALLBACK_TOKEN}`,
      );
      assert.equal(res.status, 200);
    }
    const done = await world.waitForState(envelope.id, ['done'], 60_000);
    const paused = await world.waitForState(refused.id, ['needs_consent'], 60_000);

    const archiveLines = await waitFor('the archive lines', () => {
      const lines = logLines(worker.output()).filter((l) => l.transferId === done.id);
      return lines.some((l) => l.msg === 'envelope deleted on the platform') ? lines : undefined;
    });
    const fromService = archiveLines.filter((l) => l.context === 'ArchiveService');
    assert.ok(fromService.length >= 3, `${fromService.length} lines of the archive service`);
    for (const line of archiveLines) {
      assert.equal(line.envelopeId, envelope.id.toLowerCase(), line.msg);
      assert.equal(line.platform, 'esignanywhere', line.msg);
      assert.equal(line.reqId, undefined, 'background work is not tied to a request');
    }
    assert.ok(
      fromService.some(
        (l) => typeof l.msg === 'string' && l.msg.startsWith('archived signed_document Contract.pdf'),
      ),
      'each copied file is logged with the transfer',
    );

    const failure = await waitFor('the failed attempt line', () =>
      logLines(worker.output()).find((l) => l.transferId === paused.id && l.errorClass !== undefined),
    );
    assert.equal(failure.envelopeId, refused.id.toLowerCase());
    assert.equal(failure.errorClass, 'UNAUTHORIZED');

    const mailLine = await waitFor('the mail line', () =>
      logLines(worker.output()).find(
        (l) => l.mailKind === 'token_rejected' && l.transferId === paused.id && l.msg?.includes('sent'),
      ),
    );
    const [mail] = await world.query<{ id: string }>('SELECT id FROM outbound_mail WHERE transfer_id = $1', [
      paused.id,
    ]);
    assert.equal(mailLine.mailId, mail.id);
    assert.equal(mailLine.context, 'MailOutboxService');
  });

  it('LOG_LEVEL=warn keeps info lines out: no start-up line, no access line of an answered request', async () => {
    const quiet = await startWorkerProcess(world.env({ LOG_LEVEL: 'warn', ARCHIVE_ENABLED: 'false' }));
    workers.push(quiet);
    const res = await fetch(`${quiet.url}/health/live`);
    assert.equal(res.status, 200);
    await quiet.kill('SIGTERM');
    const lines = logLines(quiet.output());
    assert.deepEqual(
      lines.filter((l) => l.level === 'info' || l.level === 'debug'),
      [],
      'nothing below warn is written',
    );
  });
});
