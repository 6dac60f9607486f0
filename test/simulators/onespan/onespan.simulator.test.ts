import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { OnespanSimulator, type OssProcessEvent } from './onespan.simulator';

const T = { timeout: 20_000 };

interface Hit {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface Receiver {
  url: string;
  hits: Hit[];
  status: number;
  delayMs: number;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const receiver: Receiver = { url: '', hits: [], status: 200, delayMs: 0, close: () => Promise.resolve() };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      receiver.hits.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const timer = setTimeout(() => {
        res.writeHead(receiver.status, { 'Content-Type': 'text/plain' });
        res.end('ok');
      }, receiver.delayMs);
      res.once('close', () => clearTimeout(timer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callbacks`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

function basic(key: string): Record<string, string> {
  return { Authorization: `Basic ${key}`, Accept: 'application/json; esl-api-version=11.68.0' };
}

function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}`, Accept: 'application/json; esl-api-version=11.21' };
}

async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

function form(values: Record<string, string>): { headers: Record<string, string>; body: string } {
  return {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(values).toString(),
  };
}

function enc(id: string): string {
  return encodeURIComponent(id);
}

describe('OnespanSimulator over HTTP', () => {
  let receiver: Receiver;
  const sim = new OnespanSimulator({ callbackTimeoutMs: 300 });
  let apiKey: string;

  before(async () => {
    receiver = await startReceiver();
    await sim.start();
    apiKey = sim.createApiKey();
    sim.registerOAuthClient({ clientId: 'os-client', clientSecret: 'os-secret' });
    sim.registerCongaClient({ clientId: 'conga-client', clientSecret: 'conga-secret' });
  });

  afterEach(() => {
    receiver.hits.length = 0;
    receiver.status = 200;
    receiver.delayMs = 0;
    sim.clearFaults();
    sim.configure({
      authMethod: undefined,
      audit: undefined,
      callbackUrl: undefined,
      callbackAuth: undefined,
      callbackEvents: undefined,
      callbackTimeoutMs: 300,
      packageIdAlphabet: undefined,
    });
  });

  after(async () => {
    await sim.stop();
    await receiver.close();
  });

  async function oauthToken(): Promise<string> {
    const request = form({ grant_type: 'client_credentials' });
    const response = await fetch(sim.oauthTokenUrl, {
      method: 'POST',
      headers: {
        ...request.headers,
        Authorization: `Basic ${Buffer.from('os-client:os-secret').toString('base64')}`,
      },
      body: request.body,
    });
    assert.equal(response.status, 200);
    return (await json<{ access_token: string }>(response)).access_token;
  }

  async function congaToken(): Promise<string> {
    const request = form({
      client_id: 'conga-client',
      client_secret: 'conga-secret',
      scope: 'sign',
      grant_type: 'client_credentials',
    });
    const response = await fetch(sim.congaTokenUrl, { method: 'POST', ...request });
    assert.equal(response.status, 200);
    return (await json<{ access_token: string }>(response)).access_token;
  }

  it(
    'serves a package to the API key sent raw as Basic, with esl-api-version on the media type',
    T,
    async () => {
      const pkg = sim.createPackage({
        id: '5n4obeO8jYoPp126Cm-Y3fxdfbo=',
        name: 'Loan agreement',
        data: { crmId: 'CRM-42' },
        documents: [{ name: 'Contract' }],
      });
      const response = await fetch(`${sim.baseUrl}/packages/${pkg.id}`, { headers: basic(apiKey) });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'application/json; esl-api-version=11.68.0');
      const body = await json<{
        id: string;
        name: string;
        status: string;
        trashed: boolean;
        data: Record<string, string>;
        sender: { email: string; firstName: string };
        documents: { id: string; name: string }[];
        completed: string | null;
        updated: string;
      }>(response);
      assert.equal(body.id, '5n4obeO8jYoPp126Cm-Y3fxdfbo=');
      assert.equal(body.name, 'Loan agreement');
      assert.equal(body.status, 'SENT');
      assert.equal(body.trashed, false);
      assert.deepEqual(body.data, { crmId: 'CRM-42' });
      assert.equal(body.sender.email, 'owner@example.test');
      assert.deepEqual(
        body.documents.map((d) => d.name),
        ['Electronic Disclosures and Signatures Consent', 'Contract'],
      );
      assert.equal(body.documents[0].id, 'default-consent');
      assert.match(body.documents[1].id, /^[0-9a-f]{48}$/);
      assert.equal(body.completed, null);
      assert.match(body.updated, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

      // Ids are case-sensitive.
      const other = await fetch(`${sim.baseUrl}/packages/5N4OBEO8JYOPP126CM-Y3FXDFBO=`, {
        headers: basic(apiKey),
      });
      assert.equal(other.status, 404);
      assert.equal((await json(other)).messageKey, 'error.notFound.package');
    },
  );

  it('refuses base64(user:password), unknown keys and a missing header with 401', T, async () => {
    const pkg = sim.createPackage();
    const url = `${sim.baseUrl}/packages/${pkg.id}`;
    const encoded = Buffer.from(`user:${apiKey}`).toString('base64');
    assert.equal((await fetch(url, { headers: basic(encoded) })).status, 401);
    assert.equal((await fetch(url, { headers: basic('not-a-key') })).status, 401);
    const none = await fetch(url);
    assert.equal(none.status, 401);
    assert.deepEqual(await json(none), {
      code: 401,
      messageKey: 'error.unauthorised.noSession',
      message: 'Not authorized to access this resource.',
      name: 'Unauthorized',
    });
  });

  it(
    'generates 28-character base64 ids and serves standard-alphabet ids only percent-encoded',
    T,
    async () => {
      for (let i = 0; i < 20; i++) assert.match(sim.newPackageId(), /^[A-Za-z0-9_-]{27}=$/);
      const pkg = sim.createPackage({ id: 'ab+cd/efghijklmnopqrstuvwxy=' });
      const encoded = await fetch(`${sim.baseUrl}/packages/${enc(pkg.id)}`, { headers: basic(apiKey) });
      assert.equal(encoded.status, 200);
      assert.equal((await json(encoded)).id, 'ab+cd/efghijklmnopqrstuvwxy=');
      const raw = await fetch(`${sim.baseUrl}/packages/${pkg.id}`, { headers: basic(apiKey) });
      assert.equal(raw.status, 404);
      sim.configure({ packageIdAlphabet: 'standard' });
      assert.match(sim.newPackageId(), /^[A-Za-z0-9+/]{27}=$/);
    },
  );

  it(
    'issues OAuth 2.0 tokens for Basic or form client credentials and accepts them as Bearer',
    T,
    async () => {
      const pkg = sim.createPackage();
      const viaForm = form({
        grant_type: 'client_credentials',
        client_id: 'os-client',
        client_secret: 'os-secret',
      });
      const response = await fetch(sim.oauthTokenUrl, { method: 'POST', ...viaForm });
      assert.equal(response.status, 200);
      const token = await json<{ access_token: string; token_type: string; expires_in: number }>(response);
      assert.equal(token.token_type, 'Bearer');
      assert.equal(token.expires_in, 300);
      const payload = JSON.parse(Buffer.from(token.access_token.split('.')[1], 'base64url').toString()) as {
        exp: number;
      };
      assert.ok(Math.abs(payload.exp - (Date.now() / 1000 + 300)) < 5);
      const read = await fetch(`${sim.baseUrl}/packages/${pkg.id}`, { headers: bearer(token.access_token) });
      assert.equal(read.status, 200);
      const viaHeader = await oauthToken();
      assert.equal(
        (await fetch(`${sim.baseUrl}/packages/${pkg.id}`, { headers: bearer(viaHeader) })).status,
        200,
      );

      const wrong = await fetch(sim.oauthTokenUrl, {
        method: 'POST',
        ...form({ grant_type: 'client_credentials', client_id: 'os-client', client_secret: 'nope' }),
      });
      assert.equal(wrong.status, 401);
      assert.equal((await json(wrong)).error, 'invalid_client');
      const grant = await fetch(sim.oauthTokenUrl, {
        method: 'POST',
        ...form({ grant_type: 'password', client_id: 'os-client', client_secret: 'os-secret' }),
      });
      assert.equal(grant.status, 400);
      assert.equal((await json(grant)).error, 'unsupported_grant_type');
    },
  );

  it('lets OAuth 2.0 tokens expire after the configured lifetime', T, async () => {
    const short = new OnespanSimulator({ oauthTokenTtlMs: 1_000 });
    await short.start();
    try {
      short.registerOAuthClient({ clientId: 'c', clientSecret: 's' });
      const pkg = short.createPackage();
      const response = await fetch(short.oauthTokenUrl, {
        method: 'POST',
        ...form({ grant_type: 'client_credentials', client_id: 'c', client_secret: 's' }),
      });
      const token = await json<{ access_token: string; expires_in: number }>(response);
      assert.equal(token.expires_in, 1);
      const url = `${short.baseUrl}/packages/${enc(pkg.id)}`;
      assert.equal((await fetch(url, { headers: bearer(token.access_token) })).status, 200);
      await delay(1_100);
      const expired = await fetch(url, { headers: bearer(token.access_token) });
      assert.equal(expired.status, 401);
      assert.match(expired.headers.get('www-authenticate') ?? '', /invalid_token/);
      assert.equal(short.requests({ endpoint: 'package.get' }).at(-1)?.credentialState, 'expired');
    } finally {
      await short.stop();
    }
  });

  it(
    'keeps the account methods exclusive: OAuth-only refuses the API key, API-key-only refuses tokens',
    T,
    async () => {
      const pkg = sim.createPackage();
      const url = `${sim.baseUrl}/packages/${enc(pkg.id)}`;
      const token = await oauthToken();
      sim.configure({ authMethod: 'oauth2' });
      assert.equal((await fetch(url, { headers: basic(apiKey) })).status, 401);
      assert.equal((await fetch(url, { headers: bearer(token) })).status, 200);
      sim.configure({ authMethod: 'apiKey' });
      assert.equal((await fetch(url, { headers: bearer(token) })).status, 401);
      assert.equal((await fetch(url, { headers: basic(apiKey) })).status, 200);
      assert.equal(sim.requests({ packageId: pkg.id }).at(-2)?.credentialState, 'refused');
    },
  );

  it('serves the same package JSON on the Conga gateway to Conga tokens only', T, async () => {
    const pkg = sim.createPackage({ data: { ref: 'x' } });
    const token = await congaToken();
    const conga = await fetch(`${sim.congaBaseUrl}/cs-packages/${enc(pkg.id)}`, { headers: bearer(token) });
    assert.equal(conga.status, 200);
    const onespan = await fetch(`${sim.baseUrl}/packages/${enc(pkg.id)}`, { headers: basic(apiKey) });
    assert.deepEqual(await json(conga), await json(onespan));
    const otherOrder = await fetch(`${sim.url}/v1/sign/cs-packages/${enc(pkg.id)}`, {
      headers: bearer(token),
    });
    assert.equal(otherOrder.status, 200);
    assert.equal(
      (await fetch(`${sim.congaBaseUrl}/cs-packages/${enc(pkg.id)}`, { headers: basic(apiKey) })).status,
      401,
    );
    assert.equal(
      (await fetch(`${sim.baseUrl}/packages/${enc(pkg.id)}`, { headers: bearer(token) })).status,
      401,
    );
    assert.deepEqual(
      sim.requests({ packageId: pkg.id }).map((e) => [e.pathStyle, e.credentialKind, e.status]),
      [
        ['conga', 'conga', 200],
        ['onespan', 'apiKey', 200],
        ['conga', 'conga', 200],
        ['conga', 'apiKey', 401],
        ['onespan', 'conga', 401],
      ],
    );
  });

  it('answers the Conga token endpoint with 3600 s tokens and its own error codes', T, async () => {
    const ok = await fetch(sim.congaTokenUrl, {
      method: 'POST',
      ...form({
        client_id: 'conga-client',
        client_secret: 'conga-secret',
        scope: 'sign',
        grant_type: 'client_credentials',
      }),
    });
    const body = await json(ok);
    assert.equal(body.expires_in, 3600);
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.scope, 'sign');
    const badScope = await fetch(sim.congaTokenUrl, {
      method: 'POST',
      ...form({
        client_id: 'conga-client',
        client_secret: 'conga-secret',
        scope: 'x',
        grant_type: 'client_credentials',
      }),
    });
    assert.equal(badScope.status, 400);
    assert.deepEqual(await json(badScope), { error: 'ERROR_AUTHENTICATION_NOT_VALID' });
    const noCredentials = await fetch(sim.congaTokenUrl, {
      method: 'POST',
      ...form({ scope: 'sign', grant_type: 'client_credentials' }),
    });
    assert.deepEqual(await json(noCredentials), { error: 'ERROR_AUTHENTICATION_HEADER' });
    sim.registerCongaClient({ clientId: 'off', clientSecret: 'off' });
    sim.disableClient('off');
    const disabled = await fetch(sim.congaTokenUrl, {
      method: 'POST',
      ...form({ client_id: 'off', client_secret: 'off', scope: 'sign', grant_type: 'client_credentials' }),
    });
    assert.equal(disabled.status, 403);
    assert.deepEqual(await json(disabled), { error: 'ERROR_AUTHENTICATION_CLIENT_DISABLED' });
  });

  it('serves signed PDFs, the consent document, the evidence summary and the audit JSON', T, async () => {
    const pkg = sim.createPackage({ documents: [{ name: 'Contract', size: 40_000 }] });
    sim.finishPackage(pkg.id, 'COMPLETED');
    const doc = sim.getPackage(pkg.id)!.documents[1];
    const base = `${sim.baseUrl}/packages/${enc(pkg.id)}`;
    const pdf = await fetch(`${base}/documents/${doc.id}/pdf`, {
      headers: { ...basic(apiKey), Accept: 'application/octet-stream; esl-api-version=11.68.0' },
    });
    assert.equal(pdf.status, 200);
    assert.equal(pdf.headers.get('content-type'), 'application/pdf');
    assert.equal(pdf.headers.get('content-disposition'), "attachment; filename*=UTF-8''Contract.pdf");
    const bytes = Buffer.from(await pdf.arrayBuffer());
    assert.equal(bytes.subarray(0, 5).toString(), '%PDF-');
    assert.equal(bytes.length, 40_000);
    assert.deepEqual(sim.expectedFile(pkg.id, doc.id), {
      sha256: createHash('sha256').update(bytes).digest('hex'),
      size: 40_000,
    });
    const consent = await fetch(`${base}/documents/default-consent/pdf`, { headers: basic(apiKey) });
    assert.equal(consent.status, 200);
    const packageJson = await json<{ documents: { id: string; data: Record<string, string> }[] }>(
      await fetch(base, { headers: basic(apiKey) }),
    );
    assert.equal(
      packageJson.documents[0].data.esl_doc_accepted_by_signers,
      sim
        .getPackage(pkg.id)!
        .signers.map((s) => s.id)
        .join(','),
    );
    const evidence = await fetch(`${base}/evidence/summary`, { headers: basic(apiKey) });
    assert.equal(evidence.headers.get('content-type'), 'application/pdf');
    assert.equal(
      Buffer.from(await evidence.arrayBuffer())
        .subarray(0, 5)
        .toString(),
      '%PDF-',
    );
    const audit = await json<{
      'package-id': string;
      'audit-events': { type: string; 'user-email': string }[];
    }>(await fetch(`${base}/audit`, { headers: basic(apiKey) }));
    assert.equal(audit['package-id'], pkg.id);
    assert.deepEqual(
      audit['audit-events'].map((e) => e.type),
      ['Send', 'Login', 'Accept', 'Click To Sign', 'Confirm'],
    );
    assert.equal((await fetch(`${base}/documents/nope/pdf`, { headers: basic(apiKey) })).status, 404);
    sim.configure({ audit: 'notFound' });
    assert.equal((await fetch(`${base}/audit`, { headers: basic(apiKey) })).status, 404);
    sim.configure({ audit: 'forbidden' });
    assert.equal((await fetch(`${base}/audit`, { headers: basic(apiKey) })).status, 403);
  });

  it(
    'deletes a package for good: every read is 404 afterwards, and PACKAGE_DELETE is posted',
    T,
    async () => {
      sim.configure({ callbackUrl: receiver.url });
      const pkg = sim.createPackage({ status: 'COMPLETED' });
      const base = `${sim.baseUrl}/packages/${enc(pkg.id)}`;
      const doc = pkg.documents[1];
      const deleted = await fetch(base, { method: 'DELETE', headers: basic(apiKey) });
      assert.equal(deleted.status, 200);
      assert.equal(await deleted.text(), '');
      for (const path of ['', `/documents/${doc.id}/pdf`, '/evidence/summary', '/audit']) {
        assert.equal((await fetch(`${base}${path}`, { headers: basic(apiKey) })).status, 404, path);
      }
      assert.equal((await fetch(base, { method: 'DELETE', headers: basic(apiKey) })).status, 404);
      const delivery = await sim.waitForCallback(pkg.id, 'PACKAGE_DELETE');
      assert.equal(delivery.state, 'delivered');
      assert.equal(delivery.event.sessionUser, sim.owner.id);
    },
  );

  it('trashes, restores and archives through POST or PUT on the package', T, async () => {
    sim.configure({ callbackUrl: receiver.url });
    const pkg = sim.createPackage({ status: 'COMPLETED' });
    const base = `${sim.baseUrl}/packages/${enc(pkg.id)}`;
    const headers = { ...basic(apiKey), 'Content-Type': 'application/json; esl-api-version=11.68.0' };
    assert.equal(
      (await fetch(base, { method: 'POST', headers, body: JSON.stringify({ trashed: true }) })).status,
      200,
    );
    assert.equal((await json(await fetch(base, { headers }))).trashed, true);
    assert.equal(
      (await fetch(base, { method: 'PUT', headers, body: JSON.stringify({ trashed: false }) })).status,
      200,
    );
    assert.equal(
      (await fetch(base, { method: 'PUT', headers, body: JSON.stringify({ status: 'ARCHIVED' }) })).status,
      200,
    );
    assert.equal((await json(await fetch(base, { headers }))).status, 'ARCHIVED');
    const sent = sim.createPackage();
    const refused = await fetch(`${sim.baseUrl}/packages/${enc(sent.id)}`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ status: 'ARCHIVED' }),
    });
    assert.equal(refused.status, 400);
    await sim.waitForCallback(pkg.id, 'PACKAGE_ARCHIVE');
    assert.deepEqual(
      sim.callbackDeliveries(pkg.id).map((d) => d.name),
      ['PACKAGE_TRASH', 'PACKAGE_RESTORE', 'PACKAGE_ARCHIVE'],
    );
  });

  it(
    'lists packages by status and last-updated range, 1-based inclusive pages with the total count',
    T,
    async () => {
      const owner = sim.createSender({ email: 'lister@example.test' });
      const key = sim.createApiKey(owner.id);
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) {
        ids.push(
          sim.createPackage({
            senderId: owner.id,
            status: 'COMPLETED',
            updated: `2024-03-${String(i + 1).padStart(2, '0')}T10:00:00Z`,
          }).id,
        );
      }
      sim.createPackage({ senderId: owner.id, status: 'SENT', updated: '2024-03-05T10:00:00Z' });
      sim.createPackage({
        senderId: owner.id,
        status: 'COMPLETED',
        trashed: true,
        updated: '2024-03-05T10:00:00Z',
      });
      type Page = { count: number; results: { id: string; status?: string }[] };
      const list = async (query: string): Promise<Page> => {
        const response = await fetch(`${sim.baseUrl}/packages?${query}`, { headers: basic(key) });
        assert.equal(response.status, 200, query);
        return json<Page>(response);
      };
      const first = await list(
        'query=COMPLETED&from=1&to=5&sort=updated&dir=asc&lastUpdatedStartDate=2024-03-02T10:00:00Z&lastUpdatedEndDate=2024-03-11T10:00:00Z',
      );
      assert.equal(first.count, 10);
      assert.deepEqual(
        first.results.map((r) => r.id),
        ids.slice(1, 6),
      );
      const second = await list(
        'query=completed&from=6&to=10&sort=updated&dir=asc&startDate=2024-03-02T10:00:00Z&endDate=2024-03-11T10:00:00Z',
      );
      assert.deepEqual(
        second.results.map((r) => r.id),
        ids.slice(6, 11),
      );
      const zero = await list('query=COMPLETED&from=0&to=2&sort=updated&dir=asc&fields=id');
      // `from=0` reads as `from=1`: positions 1 and 2.
      assert.deepEqual(zero.results, [{ id: ids[0] }, { id: ids[1] }]);
      assert.equal((await list('query=COMPLETED&from=1&to=500')).results.length, 12);
      assert.equal((await list('query=COMPLETED&startDate=2024-03-12Z')).count, 1);
      assert.equal((await list('query=trashed')).count, 1);
      assert.equal((await list('query=SENT')).count, 1);
      assert.equal((await list('')).count, 13);
      const bad = await fetch(`${sim.baseUrl}/packages?query=NOPE`, { headers: basic(key) });
      assert.equal(bad.status, 400);
      // The owner lists another sender's packages only by naming them.
      const byOwner = await fetch(`${sim.baseUrl}/packages?ownerEmail=lister@example.test&query=COMPLETED`, {
        headers: basic(apiKey),
      });
      assert.equal((await json(byOwner)).count, 12);
      const forbidden = await fetch(`${sim.baseUrl}/packages?ownerEmail=owner@example.test`, {
        headers: basic(key),
      });
      assert.equal(forbidden.status, 403);
    },
  );

  it(
    'posts PACKAGE_COMPLETE with the callback key sent raw as Basic, and the signing events before it',
    T,
    async () => {
      sim.configure({ callbackUrl: receiver.url, callbackAuth: { type: 'key', key: 'cb-key-123' } });
      const pkg = sim.createPackage({ signers: [{ email: 'a@example.test' }, { email: 'b@example.test' }] });
      sim.finishPackage(pkg.id, 'COMPLETED');
      const delivery = await sim.waitForCallback(pkg.id, 'PACKAGE_COMPLETE');
      assert.equal(delivery.state, 'delivered');
      assert.equal(delivery.status, 200);
      const hit = receiver.hits.find(
        (h) => (JSON.parse(h.body) as OssProcessEvent).name === 'PACKAGE_COMPLETE',
      );
      assert.ok(hit);
      assert.equal(hit.method, 'POST');
      assert.equal(hit.headers.authorization, 'Basic cb-key-123');
      assert.match(hit.headers['content-type'] ?? '', /^application\/json/);
      const event = JSON.parse(hit.body) as OssProcessEvent;
      assert.equal(event['@class'], 'com.silanis.esl.packages.event.ESLProcessEvent');
      assert.equal(event.packageId, pkg.id);
      assert.equal(event.sessionUser, pkg.signers[1].id);
      assert.equal(event.message, null);
      assert.equal(event.documentId, null);
      assert.match(event.createdDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const names = sim.callbackDeliveries(pkg.id).map((d) => `${d.name}:${d.event.documentId ?? ''}`);
      assert.equal(names.filter((n) => n === 'DOCUMENT_SIGNED:default-consent').length, 2);
      assert.equal(names.filter((n) => n.startsWith('SIGNER_COMPLETE')).length, 2);
      assert.equal(names.at(-1), 'PACKAGE_COMPLETE:');
    },
  );

  it(
    'authenticates callbacks the Conga way (Basic user:password or Bearer) and sends only registered events',
    T,
    async () => {
      sim.configure({
        callbackUrl: receiver.url,
        callbackAuth: { type: 'basic', username: 'hook', password: 'pw' },
        callbackEvents: ['PACKAGE_DECLINE', 'PACKAGE_EXPIRE', 'PACKAGE_OPT_OUT'],
      });
      const declined = sim.createPackage();
      sim.finishPackage(declined.id, 'DECLINED', { message: 'wrong amount' });
      const first = await sim.waitForCallback(declined.id, 'PACKAGE_DECLINE');
      assert.equal(first.authorization, `Basic ${Buffer.from('hook:pw').toString('base64')}`);
      assert.equal(first.event.message, 'wrong amount');
      sim.configure({ callbackAuth: { type: 'bearer', token: 'tok-1' } });
      const expired = sim.createPackage();
      sim.finishPackage(expired.id, 'EXPIRED');
      await sim.waitForCallback(expired.id, 'PACKAGE_EXPIRE');
      const optedOut = sim.createPackage();
      sim.finishPackage(optedOut.id, 'OPTED_OUT');
      await sim.waitForCallback(optedOut.id, 'PACKAGE_OPT_OUT');
      assert.deepEqual(
        receiver.hits.map((h) => [(JSON.parse(h.body) as OssProcessEvent).name, h.headers.authorization]),
        [
          ['PACKAGE_DECLINE', `Basic ${Buffer.from('hook:pw').toString('base64')}`],
          ['PACKAGE_EXPIRE', 'Bearer tok-1'],
          ['PACKAGE_OPT_OUT', 'Bearer tok-1'],
        ],
      );
      sim.configure({ callbackAuth: { type: 'none' }, callbackEvents: ['X_UNKNOWN'] });
      sim.fireEvent(optedOut.id, 'X_UNKNOWN');
      await sim.waitForCallback(optedOut.id, 'X_UNKNOWN');
      assert.equal(receiver.hits.at(-1)?.headers.authorization, undefined);
    },
  );

  it(
    'never retries a failed callback: one POST on a 500, one on a timeout, and a failure e-mail each',
    T,
    async () => {
      sim.configure({ callbackUrl: receiver.url, callbackEvents: ['PACKAGE_COMPLETE'] });
      receiver.status = 500;
      const failing = sim.createPackage();
      sim.finishPackage(failing.id, 'COMPLETED');
      const failed = await sim.waitForCallback(failing.id, 'PACKAGE_COMPLETE');
      assert.equal(failed.state, 'failed');
      assert.equal(failed.status, 500);
      receiver.status = 200;
      receiver.delayMs = 1_000;
      const slow = sim.createPackage();
      sim.finishPackage(slow.id, 'COMPLETED');
      const timedOut = await sim.waitForCallback(slow.id, 'PACKAGE_COMPLETE');
      assert.equal(timedOut.state, 'failed');
      assert.equal(timedOut.status, null);
      assert.equal(timedOut.error, 'timeout after 300 ms');
      await delay(1_500);
      assert.equal(receiver.hits.length, 2);
      assert.deepEqual(
        sim
          .callbackFailureNotices()
          .filter((n) => n.packageId === failing.id || n.packageId === slow.id)
          .map((n) => [n.packageId, n.reason, n.to]),
        [
          [failing.id, 'HTTP 500', 'owner@example.test'],
          [slow.id, 'timeout after 300 ms', 'owner@example.test'],
        ],
      );
    },
  );

  it(
    'injects 5xx, 429 with Retry-After, resets, truncated bodies, malformed JSON and stalls',
    T,
    async () => {
      const pkg = sim.createPackage();
      const url = `${sim.baseUrl}/packages/${enc(pkg.id)}`;
      sim.addFault({
        endpoint: 'package.get',
        packageId: pkg.id,
        times: 1,
        fault: { kind: 'status', status: 503 },
      });
      assert.equal((await fetch(url, { headers: basic(apiKey) })).status, 503);
      sim.addFault({ endpoint: 'package.get', times: 1, fault: { kind: 'rateLimit', retryAfter: 7 } });
      const limited = await fetch(url, { headers: basic(apiKey) });
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get('retry-after'), '7');
      sim.addFault({ endpoint: 'package.get', times: 1, fault: { kind: 'reset' } });
      await assert.rejects(fetch(url, { headers: basic(apiKey) }));
      sim.addFault({ endpoint: 'package.get', times: 1, fault: { kind: 'truncate', afterBytes: 20 } });
      await assert.rejects(async () => (await fetch(url, { headers: basic(apiKey) })).text());
      sim.addFault({ endpoint: 'package.get', times: 1, fault: { kind: 'invalidJson' } });
      const malformed = await fetch(url, { headers: basic(apiKey) });
      assert.equal(malformed.status, 200);
      await assert.rejects(malformed.json());
      sim.addFault({ endpoint: 'package.get', times: 1, fault: { kind: 'stall', afterBytes: 10 } });
      const stalled = await fetch(url, { headers: basic(apiKey), signal: AbortSignal.timeout(300) });
      await assert.rejects(stalled.text());
      assert.equal((await fetch(url, { headers: basic(apiKey) })).status, 200);
      assert.deepEqual(
        sim.requests({ packageId: pkg.id }).map((e) => [e.status, e.outcome, e.faults.join()]),
        [
          [503, 'complete', 'status:503'],
          [429, 'complete', 'rateLimit'],
          [null, 'reset', 'reset'],
          [200, 'truncated', 'truncate'],
          [200, 'complete', 'invalidJson'],
          [200, 'stalled', 'stall'],
          [200, 'complete', ''],
        ],
      );
    },
  );

  it('revokes the presented credential: the request and every later one get 401', T, async () => {
    const pkg = sim.createPackage();
    const key = sim.createApiKey();
    const url = `${sim.baseUrl}/packages/${enc(pkg.id)}`;
    sim.addFault({ endpoint: 'package.get', times: 1, fault: { kind: 'revokeCredential' } });
    assert.equal((await fetch(url, { headers: basic(key) })).status, 401);
    assert.equal((await fetch(url, { headers: basic(key) })).status, 401);
    assert.equal(sim.requests({ packageId: pkg.id }).at(-1)?.credentialState, 'revoked');
    assert.equal((await fetch(url, { headers: basic(apiKey) })).status, 200);
  });

  it('is driven over the control API with the control secret', T, async () => {
    const control = async (method: string, path: string, body?: unknown): Promise<Response> =>
      fetch(`${sim.controlUrl}${path}`, {
        method,
        headers: { 'X-Control-Secret': sim.controlSecret, 'Content-Type': 'application/json' },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
    assert.equal((await fetch(`${sim.controlUrl}/senders`)).status, 401);
    assert.equal((await control('POST', '/settings', { callbackUrl: receiver.url })).status, 200);
    const created = await json<{ id: string }>(await control('POST', '/packages', { name: 'Via control' }));
    const finished = await control('POST', `/packages/${enc(created.id)}/finish`, { status: 'COMPLETED' });
    assert.equal((await json(finished)).status, 'COMPLETED');
    const waited = await control('GET', `/callbacks/wait?packageId=${enc(created.id)}&name=PACKAGE_COMPLETE`);
    assert.equal((await json(waited)).state, 'delivered');
    const fault = await control('POST', '/faults', {
      endpoint: 'package.get',
      fault: { kind: 'status', status: 502 },
    });
    assert.equal(fault.status, 200);
    assert.equal(
      (await fetch(`${sim.baseUrl}/packages/${enc(created.id)}`, { headers: basic(apiKey) })).status,
      502,
    );
    assert.equal((await control('DELETE', '/faults')).status, 200);
    const log = await json<{ status: number }[]>(
      await control('GET', `/requests?endpoint=package.get&packageId=${enc(created.id)}`),
    );
    assert.deepEqual(
      log.map((e) => e.status),
      [502],
    );
    const key = await json<{ apiKey: string }>(await control('POST', '/api-keys', {}));
    assert.equal(
      (await fetch(`${sim.baseUrl}/packages/${enc(created.id)}`, { headers: basic(key.apiKey) })).status,
      200,
    );
  });
});

describe('OneSpan simulator process', () => {
  it('starts from main.js and prints a ready line with working credentials', T, async () => {
    const child = spawn(process.execPath, [join(__dirname, 'main.js'), '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const ready = await new Promise<{
        baseUrl: string;
        apiKey: string;
        controlUrl: string;
        controlSecret: string;
      }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('simulator did not start')), 15_000);
        createInterface({ input: child.stdout }).on('line', (line) => {
          if (!line.startsWith('SIMULATOR_READY ')) return;
          clearTimeout(timer);
          resolve(JSON.parse(line.slice('SIMULATOR_READY '.length)) as never);
        });
      });
      const created = await fetch(`${ready.controlUrl}/packages`, {
        method: 'POST',
        headers: { 'X-Control-Secret': ready.controlSecret },
        body: '{}',
      });
      const pkg = await json<{ id: string }>(created);
      const read = await fetch(`${ready.baseUrl}/packages/${enc(pkg.id)}`, { headers: basic(ready.apiKey) });
      assert.equal(read.status, 200);
      assert.equal((await json(read)).id, pkg.id);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
