import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  createPkceVerifier,
  pkceChallengeS256,
} from '../../../src/platforms/esignanywhere/esignanywhere.pkce';
import { startReceiver, type Receiver } from '../../platforms/esignanywhere.fixtures';
import { launchBrowser } from '../../support/browser';
import { EsignAnywhereSimulator } from './esignanywhere.simulator';
import { contentChunks, contentDigest, contentSize, type SimulatedPdf } from './simulated-file';

const T = { timeout: 20_000 };

function bytesOf(content: SimulatedPdf, corruption?: 'header' | 'trailer' | 'both'): Buffer {
  return Buffer.concat([...contentChunks(content, corruption)]);
}

/** Checks the PDF skeleton a reader relies on: header, xref offsets, stream lengths, startxref, %%EOF. */
function assertWellFormedPdf(pdf: Buffer): void {
  const text = pdf.toString('latin1');
  assert.ok(text.startsWith('%PDF-1.7\n'), 'header');
  assert.ok(text.endsWith('%%EOF\n'), 'trailer');
  const startxref = Number(/startxref\n(\d+)\n%%EOF\n$/.exec(text)?.[1]);
  assert.equal(text.slice(startxref, startxref + 5), 'xref\n', 'startxref points at the xref table');
  const table = /^xref\n0 (\d+)\n([\s\S]*?)trailer\n<< \/Size (\d+) \/Root 1 0 R/.exec(text.slice(startxref));
  assert.ok(table, 'xref table and trailer');
  const count = Number(table[1]);
  assert.equal(Number(table[3]), count);
  const entries = table[2].split('\n').filter((l) => l.length > 0);
  assert.equal(entries.length, count);
  assert.equal(entries[0], '0000000000 65535 f ');
  for (let n = 1; n < count; n++) {
    const offset = Number(entries[n].slice(0, 10));
    assert.equal(
      text.slice(offset, offset + `${n} 0 obj\n`.length),
      `${n} 0 obj\n`,
      `object ${n} at its offset`,
    );
  }
  for (const match of text.matchAll(/<< \/Length (\d+) >>\nstream\n/g)) {
    const start = (match.index ?? 0) + match[0].length;
    const length = Number(match[1]);
    assert.equal(text.slice(start + length, start + length + 10), '\nendstream', 'stream length is exact');
  }
}

describe('simulated PDF files', () => {
  it('are well-formed at any size and page count, and exactly the requested size', T, () => {
    for (const [size, pages] of [
      [20_000, 1],
      [70_000, 3],
      [5_000_000, 2],
      [262_144 * 3 + 17, 1],
    ] as const) {
      const spec: SimulatedPdf = {
        kind: 'pdf',
        size,
        seed: `seed-${size}`,
        title: 'Contract (v2) \\ Müller',
        pages,
      };
      const pdf = bytesOf(spec);
      assert.equal(pdf.length, size);
      assert.equal(contentSize(spec), size);
      assertWellFormedPdf(pdf);
      assert.equal(pdf.toString('latin1').match(/\/Type \/Page /g)?.length, pages);
    }
  });

  it('never get smaller than a minimal valid PDF', T, () => {
    const pdf = bytesOf({ kind: 'pdf', size: 0, seed: 's', title: 't', pages: 1 });
    assert.ok(pdf.length > 500);
    assertWellFormedPdf(pdf);
  });

  it(
    'are deterministic per seed, differ across seeds, and stamp every 64 KiB block with its index',
    T,
    async () => {
      const spec: SimulatedPdf = { kind: 'pdf', size: 1_000_000, seed: 'a', title: 't', pages: 1 };
      const first = await contentDigest(spec);
      assert.deepEqual(await contentDigest(spec), first);
      assert.notEqual((await contentDigest({ ...spec, seed: 'b' })).sha256, first.sha256);
      const pdf = bytesOf(spec);
      // The filler stream is the one whose /Length is written with 12 zero-padded digits.
      const fillerStart = pdf.indexOf('stream\n', pdf.indexOf('<< /Length 0000')) + 'stream\n'.length;
      const stamps = [0, 1, 2, 3].map((i) => pdf.readBigUInt64BE(fillerStart + i * 65_536));
      assert.deepEqual(stamps, [0n, 1n, 2n, 3n]);
    },
  );

  it('corruption keeps the size and breaks %PDF- and %%EOF', T, () => {
    const spec: SimulatedPdf = { kind: 'pdf', size: 30_000, seed: 'c', title: 't', pages: 1 };
    const intact = bytesOf(spec);
    const both = bytesOf(spec, 'both');
    assert.equal(both.length, intact.length);
    assert.notEqual(both.subarray(0, 5).toString('latin1'), '%PDF-');
    assert.ok(!both.subarray(-6).toString('latin1').includes('%%EOF'));
    assert.equal(bytesOf(spec, 'header').subarray(-6).toString('latin1'), '%%EOF\n');
    assert.equal(bytesOf(spec, 'trailer').subarray(0, 5).toString('latin1'), '%PDF-');
  });
});

describe('EsignAnywhereSimulator over HTTP', () => {
  let receiver: Receiver;
  const sim = new EsignAnywhereSimulator({
    callbackIntervalUnitMs: 20,
    callbackMaxRetries: 3,
    callbackTimeoutMs: 300,
  });

  before(async () => {
    receiver = await startReceiver();
    sim.setCallbackUrlTemplate(`${receiver.url}/esaw?envelope=##EnvelopeId##&action=##Action##`);
    await sim.start();
  });

  afterEach(() => {
    receiver.hits.length = 0;
    receiver.statuses = [200];
    receiver.delaysMs = [0];
    sim.clearFaults();
  });

  after(async () => {
    await sim.stop();
    await receiver.close();
  });

  const api = (path: string, init: RequestInit = {}): Promise<Response> => fetch(`${sim.url}${path}`, init);

  it(
    'serves v6 paths case-insensitively with either token header, and logs users, never tokens',
    T,
    async () => {
      const { user, token } = sim.createUser();
      const envelope = sim.createEnvelope({ senderUserId: user.id, status: 'Completed' });
      for (const [path, headers] of [
        [`/Api/v6/envelope/${envelope.id}`, { ApiToken: token }],
        [`/api/V6/ENVELOPE/${envelope.id.toUpperCase()}/`, { APITOKEN: token }],
        [`/API/v6/envelope/${envelope.id}`, { Authorization: `Bearer ${token}` }],
      ] as const) {
        const response = await api(path, { headers });
        assert.equal(response.status, 200, path);
        const body = (await response.json()) as {
          Id: string;
          EnvelopeStatus: string;
          SenderUserInformation: { Email: string };
        };
        assert.equal(body.Id, envelope.id);
        assert.equal(body.EnvelopeStatus, 'Completed');
        assert.equal(body.SenderUserInformation.Email, user.email);
      }
      const log = sim.requests({ envelopeId: envelope.id });
      assert.ok(log.length >= 3 && log.every((e) => e.userId === user.id && e.tokenState === 'valid'));
      assert.ok(!JSON.stringify(sim.requests()).includes(token));
    },
  );

  it('answers 401 to no token, an unknown or revoked token, and two different tokens', T, async () => {
    const { user, token } = sim.createUser();
    const other = sim.createUser();
    const envelope = sim.createEnvelope({ senderUserId: user.id });
    const path = `/Api/v6/envelope/${envelope.id}`;
    const none = await api(path);
    assert.equal(none.status, 401);
    assert.deepEqual(await none.json(), { Message: 'Authorization has been denied for this request.' });
    assert.equal((await api(path, { headers: { ApiToken: 'nope-nope-nope' } })).status, 401);
    assert.equal(
      (await api(path, { headers: { ApiToken: token, Authorization: `Bearer ${other.token}` } })).status,
      401,
    );
    sim.revokeToken(token);
    assert.equal((await api(path, { headers: { ApiToken: token } })).status, 401);
    const states = sim.requests({ envelopeId: envelope.id }).map((e) => e.tokenState);
    assert.deepEqual(states.slice(-4), ['none', 'unknown', 'unknown', 'revoked']);
  });

  it("answers whoami with the token's own user, and 401 once the token is revoked", T, async () => {
    const { user, token } = sim.createUser();
    sim.createUser();
    const response = await api('/Api/v6/authorization/whoami', { headers: { ApiToken: token } });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { UserId: string; Email: string; GivenName: string };
    assert.equal(body.UserId, user.id);
    assert.equal(body.Email, user.email);
    assert.equal(body.GivenName, user.givenName);
    sim.revokeToken(token);
    assert.equal((await api('/Api/v6/authorization/whoami', { headers: { ApiToken: token } })).status, 401);
    assert.deepEqual(
      sim.requests({ endpoint: 'authorization.whoami', userId: user.id }).map((e) => e.status),
      [200, 401],
    );
  });

  it('answers unknown paths 404, wrong methods 405, non-JSON bodies 415, bad ids 400', T, async () => {
    const { token } = sim.createUser();
    assert.equal((await api('/Api/v6/nothing', { headers: { ApiToken: token } })).status, 404);
    assert.equal((await api('/Api/v6/envelope/delete', { headers: { ApiToken: token } })).status, 405);
    const plain = await api('/Api/v6/envelope/delete', {
      method: 'POST',
      headers: { ApiToken: token, 'Content-Type': 'text/plain' },
      body: 'x',
    });
    assert.equal(plain.status, 415);
    const bad = await api('/Api/v6/envelope/delete', {
      method: 'POST',
      headers: { ApiToken: token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ EnvelopeId: 'nope' }),
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { ErrorId: string }).ErrorId, 'ERR0011');
  });

  it("hides other users' envelopes and files as 404 by default", T, async () => {
    const owner = sim.createUser();
    const stranger = sim.createUser();
    const envelope = sim.createEnvelope({ senderUserId: owner.user.id, status: 'Completed' });
    const response = await api(`/Api/v6/envelope/${envelope.id}/files`, {
      headers: { ApiToken: stranger.token },
    });
    assert.equal(response.status, 404);
    assert.equal(((await response.json()) as { ErrorId: string }).ErrorId, 'ERR0007');
    const file = await api(`/Api/v6/file/${envelope.documents[0].fileId}`, {
      headers: { ApiToken: stranger.token },
    });
    assert.equal(file.status, 404);
    assert.equal(((await file.json()) as { ErrorId: string }).ErrorId, 'ERR0008');
  });

  it('can answer 403 ERR0010 for foreign objects and 400 ERR0007 for missing ones instead', T, async () => {
    const strict = new EsignAnywhereSimulator({ foreignObjectStatus: 403, missingObjectStatus: 400 });
    await strict.start();
    try {
      const owner = strict.createUser();
      const stranger = strict.createUser();
      const envelope = strict.createEnvelope({ senderUserId: owner.user.id });
      const foreign = await fetch(`${strict.baseUrl}/v6/envelope/${envelope.id}`, {
        headers: { ApiToken: stranger.token },
      });
      assert.equal(foreign.status, 403);
      assert.equal(((await foreign.json()) as { ErrorId: string }).ErrorId, 'ERR0010');
      strict.deleteEnvelope(envelope.id);
      const missing = await fetch(`${strict.baseUrl}/v6/envelope/${envelope.id}`, {
        headers: { ApiToken: owner.token },
      });
      assert.equal(missing.status, 400);
      assert.equal(((await missing.json()) as { ErrorId: string }).ErrorId, 'ERR0007');
    } finally {
      await strict.stop();
    }
  });

  it(
    'serves files with Content-Length and Content-Disposition, and nothing once the envelope is deleted',
    T,
    async () => {
      const { user, token } = sim.createUser();
      const envelope = sim.createEnvelope({
        senderUserId: user.id,
        status: 'Completed',
        documents: [{ fileName: 'Offer €.pdf', size: 40_000 }],
      });
      const fileId = envelope.documents[0].fileId;
      const response = await api(`/Api/v6/file/${fileId}`, { headers: { ApiToken: token } });
      assert.equal(response.headers.get('content-length'), '40000');
      assert.equal(response.headers.get('content-type'), 'application/pdf');
      assert.match(
        response.headers.get('content-disposition') ?? '',
        /filename\*=UTF-8''Offer%20%E2%82%AC\.pdf/,
      );
      const body = Buffer.from(await response.arrayBuffer());
      assert.equal(body.length, 40_000);
      assertWellFormedPdf(body);
      const deleted = await api('/Api/v6/envelope/delete', {
        method: 'POST',
        headers: { ApiToken: token, 'Content-Type': 'application/json' },
        body: JSON.stringify({ EnvelopeId: envelope.id }),
      });
      assert.equal(deleted.status, 200);
      assert.equal((await api(`/Api/v6/file/${fileId}`, { headers: { ApiToken: token } })).status, 404);
      assert.equal(
        (await api(`/Api/v6/envelope/${envelope.id}/configuration`, { headers: { ApiToken: token } })).status,
        404,
      );
    },
  );

  it('calls the callback URL with GET when an envelope finishes or expires', T, async () => {
    const { user } = sim.createUser();
    const finished = sim.createEnvelope({ senderUserId: user.id });
    const expiring = sim.createEnvelope({ senderUserId: user.id });
    sim.finishEnvelope(finished.id, 'Rejected');
    sim.expireEnvelope(expiring.id);
    const delivered = await sim.waitForCallbackDelivery(finished.id);
    await sim.waitForCallbackDelivery(expiring.id, { action: 'envelopeExpired' });
    assert.equal(delivered.action, 'envelopeFinished');
    assert.equal(delivered.attempts.length, 1);
    const hits = receiver.hits.map((h) => [h.query.get('envelope'), h.query.get('action')]);
    assert.deepEqual(
      hits.sort(),
      [
        [expiring.id, 'envelopeExpired'],
        [finished.id, 'envelopeFinished'],
      ].sort(),
    );
    assert.equal(sim.getEnvelope(finished.id)?.activities[0].status, 'Rejected');
  });

  it('retries a failing callback at growing intervals until it gets a 2xx', T, async () => {
    const { user } = sim.createUser();
    const envelope = sim.createEnvelope({ senderUserId: user.id });
    receiver.statuses = [500, 503, 200];
    sim.finishEnvelope(envelope.id, 'Completed');
    const delivery = await sim.waitForCallbackDelivery(envelope.id);
    assert.deepEqual(
      delivery.attempts.map((a) => a.status),
      [500, 503, 200],
    );
    const at = delivery.attempts.map((a) => Date.parse(a.at));
    assert.ok(at[1] - at[0] >= 20, `first retry after ${at[1] - at[0]} ms`);
    assert.ok(at[2] - at[1] >= 40, `second retry after ${at[2] - at[1]} ms`);
  });

  it('counts a slow callback as failed and gives up after the last retry', T, async () => {
    const { user } = sim.createUser();
    const envelope = sim.createEnvelope({ senderUserId: user.id });
    receiver.delaysMs = [1_000];
    sim.finishEnvelope(envelope.id, 'Canceled');
    await assert.rejects(
      sim.waitForCallbackDelivery(envelope.id, { timeoutMs: 5_000 }),
      /failed after 4 attempts/,
    );
    const [delivery] = sim.callbackDeliveries(envelope.id);
    assert.equal(delivery.state, 'failed');
    assert.equal(delivery.attempts.length, 4);
    assert.ok(delivery.attempts.every((a) => a.status === null && /timeout/.test(a.error ?? '')));
  });

  it('uses a per-envelope callback URL, or none when disabled', T, async () => {
    const { user } = sim.createUser();
    const custom = sim.createEnvelope({
      senderUserId: user.id,
      callbackUrl: `${receiver.url}/custom/##EnvelopeId##/##Action##`,
    });
    const silent = sim.createEnvelope({ senderUserId: user.id, callbackUrl: null });
    sim.finishEnvelope(custom.id, 'Completed');
    sim.finishEnvelope(silent.id, 'Completed');
    await sim.waitForCallbackDelivery(custom.id);
    assert.deepEqual(
      receiver.hits.map((h) => h.path),
      [`/custom/${custom.id}/envelopeFinished`],
    );
    assert.deepEqual(sim.callbackDeliveries(silent.id), []);
  });

  it('cancels an active envelope through the API, once', T, async () => {
    const { user, token } = sim.createUser();
    const envelope = sim.createEnvelope({ senderUserId: user.id });
    const cancel = (): Promise<Response> =>
      api('/Api/v6/envelope/cancel', {
        method: 'POST',
        headers: { ApiToken: token, 'Content-Type': 'application/json' },
        body: JSON.stringify({ EnvelopeId: envelope.id }),
      });
    assert.equal((await cancel()).status, 200);
    assert.equal(sim.getEnvelope(envelope.id)?.status, 'Canceled');
    const again = await cancel();
    assert.equal(again.status, 400);
    assert.equal(((await again.json()) as { ErrorId: string }).ErrorId, 'ERR0013');
    await sim.waitForCallbackDelivery(envelope.id);
  });

  it('sends a draft as a new envelope with the swagger response shape, for its owner only', T, async () => {
    const owner = sim.createUser();
    const stranger = sim.createUser();
    const draft = sim.createDraft({
      ownerUserId: owner.user.id,
      beforeSendRedirectUrl:
        'https://dms.example/before-send?draft=##EnvelopeId##&user=##SenderUserId##&org=##OrganizationId##',
    });
    assert.equal(
      sim.beforeSendRedirectUrl(draft.id),
      `https://dms.example/before-send?draft=${draft.id}&user=${owner.user.id}&org=${owner.user.organizationId}`,
    );
    const send = (token: string): Promise<Response> =>
      api('/Api/v6/draft/send', {
        method: 'POST',
        headers: { ApiToken: token, 'Content-Type': 'application/json' },
        body: JSON.stringify({ DraftId: draft.id }),
      });
    assert.equal((await send(stranger.token)).status, 404);
    const response = await send(owner.token);
    const body = (await response.json()) as { Envelope: { EnvelopeId: string }; EnvelopeBulk: null };
    assert.equal(response.status, 200);
    assert.equal(body.EnvelopeBulk, null);
    assert.notEqual(body.Envelope.EnvelopeId, draft.id);
    assert.equal(sim.getEnvelope(body.Envelope.EnvelopeId)?.status, 'Active');
    assert.equal(sim.getDraft(draft.id), undefined);
  });

  it('applies counted faults to the next N matching requests only', T, async () => {
    const { user, token } = sim.createUser();
    const envelope = sim.createEnvelope({ senderUserId: user.id });
    sim.addFault({
      endpoint: 'envelope.get',
      envelopeId: envelope.id,
      times: 2,
      fault: { kind: 'status', status: 503 },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await api(`/Api/v6/envelope/${envelope.id}`, { headers: { ApiToken: token } })).status);
    assert.deepEqual(statuses, [503, 503, 200]);
  });

  it('declares the full Content-Length on a truncated body and then closes', T, async () => {
    const { user, token } = sim.createUser();
    const envelope = sim.createEnvelope({ senderUserId: user.id, documents: [{ size: 100_000 }] });
    sim.addFault({ endpoint: 'file.get', times: 1, fault: { kind: 'truncate', afterBytes: 1_000 } });
    const response = await api(`/Api/v6/file/${envelope.documents[0].fileId}`, {
      headers: { ApiToken: token },
    });
    assert.equal(response.headers.get('content-length'), '100000');
    await assert.rejects(response.arrayBuffer());
  });

  it('carries out a delete and then loses its answer, keeping the status in the log', T, async () => {
    const { user, token } = sim.createUser();
    const envelope = sim.createEnvelope({ senderUserId: user.id, status: 'Completed' });
    sim.addFault({ endpoint: 'envelope.delete', times: 1, fault: { kind: 'resetAfterHandling' } });
    const remove = (): Promise<Response> =>
      api('/Api/v6/envelope/delete', {
        method: 'POST',
        headers: { ApiToken: token, 'Content-Type': 'application/json' },
        body: JSON.stringify({ EnvelopeId: envelope.id }),
      });
    await assert.rejects(remove());
    assert.equal(sim.getEnvelope(envelope.id)?.deleted, true);
    const [entry] = sim.requests({ endpoint: 'envelope.delete', envelopeId: envelope.id });
    assert.equal(entry.status, null);
    assert.equal(entry.outcome, 'reset');
    assert.equal(entry.lostStatus, 200);
    assert.equal((await remove()).status, 404);
  });

  it(
    'lets an observer look before a request is handled, and not when a fault answered instead',
    T,
    async () => {
      const { user, token } = sim.createUser();
      const envelope = sim.createEnvelope({ senderUserId: user.id, status: 'Completed' });
      const seen: { seq: number; deleted: boolean | undefined }[] = [];
      sim.addFault({ endpoint: 'envelope.delete', times: 1, fault: { kind: 'status', status: 503 } });
      sim.addFault({
        endpoint: 'envelope.delete',
        fault: {
          kind: 'observe',
          observe: async ({ seq, envelopeId }) => {
            await delay(20);
            seen.push({ seq, deleted: sim.getEnvelope(envelopeId!)?.deleted });
          },
        },
      });
      const remove = (): Promise<Response> =>
        api('/Api/v6/envelope/delete', {
          method: 'POST',
          headers: { ApiToken: token, 'Content-Type': 'application/json' },
          body: JSON.stringify({ EnvelopeId: envelope.id }),
        });
      assert.equal((await remove()).status, 503);
      assert.equal((await remove()).status, 200);
      const [, handled] = sim.requests({ endpoint: 'envelope.delete', envelopeId: envelope.id });
      assert.deepEqual(seen, [{ seq: handled.seq, deleted: false }]);
    },
  );

  describe('OAuth', () => {
    const clientId = 'archiver-app';
    const clientSecret = 'app-secret-0123456789';
    let redirectUri: string;

    before(() => {
      redirectUri = `${receiver.url}/oauth/callback`;
      sim.registerOAuthClient({ clientId, clientSecret, redirectUris: [redirectUri], name: 'Archiver' });
    });

    afterEach(() => sim.setOAuthDecision(null));

    function authorizeUrl(params: Record<string, string>): string {
      const url = new URL(sim.authorizeUrl);
      const defaults = {
        response_type: 'code',
        client_id: clientId,
        redirect_uri: redirectUri,
        state: 'st-1',
        code_challenge: pkceChallengeS256(createPkceVerifier()),
        code_challenge_method: 'S256',
      };
      for (const [k, v] of Object.entries({ ...defaults, ...params }))
        if (v !== '') url.searchParams.set(k, v);
      return url.href;
    }

    it(
      'shows an error page, never a redirect, for an unknown client or a redirect_uri off the allowlist',
      T,
      async () => {
        const cases: Record<string, string>[] = [
          { client_id: 'someone-else' },
          { redirect_uri: `${receiver.url}/oauth/callback/../evil` },
          { redirect_uri: 'https://evil.example/cb' },
        ];
        for (const params of cases) {
          const response = await fetch(authorizeUrl(params), { redirect: 'manual' });
          assert.equal(response.status, 400);
          assert.equal(response.headers.get('location'), null);
        }
      },
    );

    it('redirects protocol errors back: wrong response_type, no PKCE, plain PKCE', T, async () => {
      const cases: [Record<string, string>, string][] = [
        [{ response_type: 'token' }, 'unsupported_response_type'],
        [{ code_challenge: '', code_challenge_method: '' }, 'invalid_request'],
        [{ code_challenge_method: 'plain' }, 'invalid_request'],
      ];
      for (const [params, error] of cases) {
        const response = await fetch(authorizeUrl(params), { redirect: 'manual' });
        assert.equal(response.status, 302);
        const back = new URL(response.headers.get('location') as string);
        assert.equal(back.searchParams.get('error'), error);
        assert.equal(back.searchParams.get('state'), 'st-1');
      }
    });

    it('expires codes after their lifetime', T, async () => {
      const short = new EsignAnywhereSimulator({
        oauthCodeTtlMs: 50,
        oauthClients: [{ clientId, clientSecret, redirectUris: [redirectUri] }],
      });
      await short.start();
      try {
        const { user } = short.createUser();
        short.setOAuthDecision({ decision: 'approve', userId: user.id });
        const verifier = createPkceVerifier();
        const url = new URL(authorizeUrl({ code_challenge: pkceChallengeS256(verifier) }));
        const response = await fetch(`${short.authorizeUrl}${url.search}`, { redirect: 'manual' });
        const code = new URL(response.headers.get('location') as string).searchParams.get('code') as string;
        await delay(120);
        const token = await fetch(short.tokenUrl, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'authorization_code',
            code,
            redirect_uri: redirectUri,
            client_id: clientId,
            client_secret: clientSecret,
            code_verifier: verifier,
          }),
        });
        assert.equal(token.status, 400);
        assert.equal(((await token.json()) as { error: string }).error, 'invalid_grant');
      } finally {
        await short.stop();
      }
    });

    it('lets a real browser sign in as a chosen user and approve or deny', { timeout: 60_000 }, async () => {
      sim.createUser();
      const chosen = sim.createUser({ email: 'chosen@example.test' });
      const envelope = sim.createEnvelope({ senderUserId: chosen.user.id });
      const browser = await launchBrowser();
      try {
        const page = await browser.newPage();
        const verifier = createPkceVerifier();
        await page.goto(
          authorizeUrl({ state: 'browser-state', code_challenge: pkceChallengeS256(verifier) }),
        );
        await page.selectOption('#userId', chosen.user.id);
        await Promise.all([
          page.waitForURL((url) => url.href.startsWith(`${redirectUri}?`)),
          page.click('#approve'),
        ]);
        const back = new URL(page.url());
        assert.equal(back.searchParams.get('state'), 'browser-state');
        const code = back.searchParams.get('code') as string;
        assert.ok(code);

        const exchange = await fetch(sim.tokenUrl, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'authorization_code',
            code,
            redirect_uri: redirectUri,
            client_id: clientId,
            client_secret: clientSecret,
            code_verifier: verifier,
          }),
        });
        assert.equal(exchange.status, 200);
        const grant = (await exchange.json()) as { access_token: string; token_type: string };
        assert.equal(grant.token_type, 'Bearer');
        const owned = await fetch(`${sim.baseUrl}/v6/envelope/${envelope.id}`, {
          headers: { Authorization: `Bearer ${grant.access_token}` },
        });
        assert.equal(owned.status, 200, 'the token belongs to the user chosen in the browser');

        await page.goto(authorizeUrl({ state: 'deny-state' }));
        await Promise.all([
          page.waitForURL((url) => url.href.startsWith(`${redirectUri}?`)),
          page.click('#deny'),
        ]);
        const denied = new URL(page.url());
        assert.equal(denied.searchParams.get('error'), 'access_denied');
        assert.equal(denied.searchParams.get('state'), 'deny-state');
      } finally {
        await browser.close();
      }
    });
  });

  describe('control API', () => {
    const control = (
      method: string,
      path: string,
      body?: unknown,
      secret = sim.controlSecret,
    ): Promise<Response> =>
      fetch(`${sim.controlUrl}${path}`, {
        method,
        headers: { 'X-Control-Secret': secret, 'Content-Type': 'application/json' },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });

    it('refuses a missing or wrong secret', T, async () => {
      assert.equal((await fetch(`${sim.controlUrl}/requests`)).status, 401);
      assert.equal((await control('GET', '/requests', undefined, 'wrong')).status, 401);
    });

    it('creates users and envelopes, finishes them, sets faults and reads the log', T, async () => {
      const created = (await (await control('POST', '/users', { email: 'ctl@example.test' })).json()) as {
        user: { id: string };
        token: string;
      };
      const envelope = (await (
        await control('POST', '/envelopes', { senderUserId: created.user.id, documents: [{ size: 25_000 }] })
      ).json()) as {
        id: string;
        documents: { fileId: string }[];
      };
      const finished = (await (
        await control('POST', `/envelopes/${envelope.id}/finish`, { status: 'Completed' })
      ).json()) as { status: string };
      assert.equal(finished.status, 'Completed');
      const expected = (await (
        await control('GET', `/files/${envelope.documents[0].fileId}/expected`)
      ).json()) as { size: number; sha256: string };
      assert.equal(expected.size, 25_000);
      assert.match(expected.sha256, /^[0-9a-f]{64}$/);

      const fault = (await (
        await control('POST', '/faults', {
          endpoint: 'envelope.get',
          times: 1,
          fault: { kind: 'status', status: 500 },
        })
      ).json()) as { id: number };
      assert.ok(fault.id > 0);
      const first = await fetch(`${sim.baseUrl}/v6/envelope/${envelope.id}`, {
        headers: { ApiToken: created.token },
      });
      const second = await fetch(`${sim.baseUrl}/v6/envelope/${envelope.id}`, {
        headers: { ApiToken: created.token },
      });
      assert.deepEqual([first.status, second.status], [500, 200]);
      const log = (await (await control('GET', `/requests?envelopeId=${envelope.id}`)).json()) as {
        status: number;
        userId: string;
      }[];
      assert.deepEqual(
        log.map((e) => e.status),
        [500, 200],
      );
      assert.ok(log.every((e) => e.userId === created.user.id));
      assert.equal((await control('POST', '/faults', { fault: { kind: 'mutateJson' } })).status, 400);
      const waited = await control('GET', `/callbacks/wait?envelopeId=${envelope.id}&timeoutMs=5000`);
      assert.equal(waited.status, 200);
      assert.equal(((await waited.json()) as { action: string }).action, 'envelopeFinished');
      const callbacks = (await (await control('GET', `/callbacks?envelopeId=${envelope.id}`)).json()) as {
        state: string;
      }[];
      assert.deepEqual(
        callbacks.map((c) => c.state),
        ['delivered'],
      );
    });
  });
});
