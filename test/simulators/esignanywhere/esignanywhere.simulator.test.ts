import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  createPkceVerifier,
  pkceChallengeS256,
} from '../../../src/platforms/esignanywhere/esignanywhere.pkce';
import { startReceiver, startSimulatorProcess, type Receiver } from '../../platforms/esignanywhere.fixtures';
import { launchBrowser } from '../../support/browser';
import { EsignAnywhereSimulator, type SimCallbackDelivery } from './esignanywhere.simulator';
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
    sim.setStatusUpdateCallbackUrlTemplate(undefined);
    sim.configure({
      foreignObjectStatus: undefined,
      missingObjectStatus: undefined,
      allowDeleteActive: undefined,
      statusLagMs: undefined,
      unauthorizedBody: undefined,
      emptyFindResult: undefined,
      inStatusSinceDaysReading: undefined,
      latencyMs: undefined,
      callsPerMinute: undefined,
    });
  });

  after(async () => {
    await sim.stop();
    await receiver.close();
  });

  const api = (path: string, init: RequestInit = {}): Promise<Response> => fetch(`${sim.url}${path}`, init);

  it('answers from far away and keeps an account to its budget of calls per minute', T, async () => {
    const { user, token } = sim.createUser();
    const envelope = sim.createEnvelope({ senderUserId: user.id, status: 'Completed' });
    const get = () => api(`/api/v6/envelope/${envelope.id}`, { headers: { ApiToken: token } });
    sim.configure({ latencyMs: 200 });
    const started = Date.now();
    assert.equal((await get()).status, 200);
    assert.ok(Date.now() - started >= 190, 'answered later');
    sim.configure({ latencyMs: undefined, callsPerMinute: 2 });
    const throttledBefore = sim.budgetLog.throttled;
    assert.equal((await get()).status, 200);
    assert.equal((await get()).status, 200);
    const third = await get();
    assert.equal(third.status, 429);
    const wait = Number(third.headers.get('retry-after'));
    assert.ok(wait >= 1 && wait <= 60, `Retry-After ${wait}`);
    assert.equal(sim.budgetLog.throttled, throttledBefore + 1);
  });

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

  it('calls the completed-envelope URL with GET for Completed and Rejected envelopes only', T, async () => {
    const { user } = sim.createUser();
    const finished = sim.createEnvelope({ senderUserId: user.id });
    const expiring = sim.createEnvelope({ senderUserId: user.id });
    sim.finishEnvelope(finished.id, 'Rejected');
    sim.expireEnvelope(expiring.id);
    const delivered = await sim.waitForCallbackDelivery(finished.id);
    assert.equal(delivered.action, 'envelopeFinished');
    assert.equal(delivered.channel, 'callbackUrl');
    assert.equal(delivered.attempts.length, 1);
    const hits = receiver.hits.map((h) => [h.path, h.query.get('envelope'), h.query.get('action')]);
    assert.deepEqual(hits, [['/esaw', finished.id, 'envelopeFinished']]);
    // No status URL is set here, so the expiry goes nowhere.
    assert.deepEqual(sim.callbackDeliveries(expiring.id), []);
    assert.equal(sim.getEnvelope(finished.id)?.activities[0].status, 'Rejected');
  });

  it('retries a failing callback at growing intervals until it gets a 200', T, async () => {
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
    sim.finishEnvelope(envelope.id, 'Rejected');
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
    const refused = await send(stranger.token);
    assert.equal(refused.status, 404);
    assert.equal(((await refused.json()) as { ErrorId: string }).ErrorId, 'ERR0250');
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

  describe('behaviours of the real platform', () => {
    const statusTemplate = (): string => `${receiver.url}/status?envelope=##EnvelopeId##&action=##Action##`;
    const read = async <B>(response: Response): Promise<B> => (await response.json()) as B;
    const get = (path: string, token: string): Promise<Response> =>
      api(path, { headers: { ApiToken: token } });
    const post = (path: string, token: string, body: unknown): Promise<Response> =>
      api(path, {
        method: 'POST',
        headers: { ApiToken: token, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    const find = async (token: string, filter: Record<string, unknown>): Promise<string[]> => {
      const response = await post('/Api/v6/envelope/find', token, filter);
      assert.equal(response.status, 200);
      const body = await read<{ Envelopes: { Id: string }[] }>(response);
      return body.Envelopes.map((e) => e.Id).sort();
    };
    const errorOf = async (response: Response): Promise<[number, string]> => [
      response.status,
      (await read<{ ErrorId: string }>(response)).ErrorId,
    ];

    /** Waits until `count` deliveries of these envelopes exist and none is pending any more. */
    async function settledDeliveries(envelopeIds: string[], count: number): Promise<SimCallbackDelivery[]> {
      const deadline = Date.now() + 5_000;
      for (;;) {
        const all = envelopeIds.flatMap((id) => sim.callbackDeliveries(id));
        if (all.length >= count && all.every((d) => d.state !== 'pending')) return all;
        assert.ok(Date.now() < deadline, `deliveries did not settle: ${JSON.stringify(all)}`);
        await delay(20);
      }
    }

    it(
      'sends envelopeFinished to CallbackUrl, and envelopeExpired and workstep actions to StatusUpdateCallbackUrl',
      T,
      async () => {
        sim.setStatusUpdateCallbackUrlTemplate(statusTemplate());
        const { user, token } = sim.createUser();
        const completed = sim.createEnvelope({
          senderUserId: user.id,
          recipients: [{ email: 'one@example.test' }, { email: 'two@example.test' }],
        });
        const rejected = sim.createEnvelope({ senderUserId: user.id });
        const expiring = sim.createEnvelope({ senderUserId: user.id });
        sim.finishEnvelope(completed.id, 'Completed');
        sim.finishEnvelope(rejected.id, 'Rejected');
        sim.expireEnvelope(expiring.id);
        const deliveries = await settledDeliveries([completed.id, rejected.id, expiring.id], 9);
        assert.equal(deliveries.length, 9);
        assert.ok(deliveries.every((d) => d.state === 'delivered'));
        const seen = (path: string): string[] =>
          receiver.hits
            .filter((h) => h.path === path)
            .map((h) => `${h.query.get('envelope')} ${h.query.get('action')}`)
            .sort();
        assert.deepEqual(
          seen('/esaw'),
          [`${completed.id} envelopeFinished`, `${rejected.id} envelopeFinished`].sort(),
        );
        assert.deepEqual(
          seen('/status'),
          [
            `${completed.id} workstepOpened`,
            `${completed.id} workstepOpened`,
            `${completed.id} workstepFinished`,
            `${completed.id} workstepFinished`,
            `${rejected.id} workstepOpened`,
            `${rejected.id} workstepRejected`,
            `${expiring.id} envelopeExpired`,
          ].sort(),
        );
        for (const d of deliveries) {
          assert.equal(
            d.channel,
            d.action === 'envelopeFinished' ? 'callbackUrl' : 'statusUpdateCallbackUrl',
          );
        }
        const config = await read<{
          CallbackConfiguration: { CallbackUrl: string | null; StatusUpdateCallbackUrl: string | null };
        }>(await get(`/Api/v6/envelope/${completed.id}/configuration`, token));
        assert.deepEqual(config.CallbackConfiguration, {
          CallbackUrl: `${receiver.url}/esaw?envelope=##EnvelopeId##&action=##Action##`,
          StatusUpdateCallbackUrl: statusTemplate(),
          ActivityActionCallbackConfiguration: null,
        });

        const delegated = sim.fireStatusUpdate(completed.id, 'workstepDelegated');
        assert.equal(delegated?.channel, 'statusUpdateCallbackUrl');
        const done = await sim.waitForCallbackDelivery(completed.id, { action: 'workstepDelegated' });
        assert.equal(done.url, `${receiver.url}/status?envelope=${completed.id}&action=workstepDelegated`);
      },
    );

    it('sends nothing for events whose URL is unset, for the organisation or the envelope', T, async () => {
      const { user } = sim.createUser();
      const expiring = sim.createEnvelope({ senderUserId: user.id });
      const completed = sim.createEnvelope({ senderUserId: user.id });
      const statusOnly = sim.createEnvelope({
        senderUserId: user.id,
        callbackUrl: null,
        statusUpdateCallbackUrl: `${receiver.url}/own/##EnvelopeId##/##Action##`,
      });
      sim.expireEnvelope(expiring.id);
      sim.finishEnvelope(completed.id, 'Completed');
      sim.finishEnvelope(statusOnly.id, 'Completed');
      await settledDeliveries([expiring.id, completed.id, statusOnly.id], 3);
      assert.deepEqual(sim.callbackDeliveries(expiring.id), []);
      assert.deepEqual(
        sim.callbackDeliveries(completed.id).map((d) => [d.action, d.channel]),
        [['envelopeFinished', 'callbackUrl']],
      );
      assert.deepEqual(
        sim.callbackDeliveries(statusOnly.id).map((d) => [d.action, d.channel]),
        [
          ['workstepOpened', 'statusUpdateCallbackUrl'],
          ['workstepFinished', 'statusUpdateCallbackUrl'],
        ],
      );
      assert.deepEqual(
        receiver.hits.map((h) => h.path).sort(),
        ['/esaw', `/own/${statusOnly.id}/workstepFinished`, `/own/${statusOnly.id}/workstepOpened`].sort(),
      );
      assert.equal(sim.fireStatusUpdate(expiring.id, 'workstepOpened'), null);
      assert.equal(sim.getEnvelope(statusOnly.id)?.callbackUrl, null);
    });

    it(
      'calls neither URL when an envelope is canceled, through the API or the control handle',
      T,
      async () => {
        sim.setStatusUpdateCallbackUrlTemplate(statusTemplate());
        const { user, token } = sim.createUser();
        const byApi = sim.createEnvelope({ senderUserId: user.id });
        const byHandle = sim.createEnvelope({ senderUserId: user.id });
        const finished = sim.createEnvelope({ senderUserId: user.id });
        assert.equal((await post('/Api/v6/envelope/cancel', token, { EnvelopeId: byApi.id })).status, 200);
        sim.finishEnvelope(byHandle.id, 'Canceled');
        sim.finishEnvelope(finished.id, 'Completed');
        await sim.waitForCallbackDelivery(finished.id);
        await delay(200);
        assert.deepEqual(sim.callbackDeliveries(byApi.id), []);
        assert.deepEqual(sim.callbackDeliveries(byHandle.id), []);
        assert.ok(receiver.hits.length >= 1);
        assert.ok(receiver.hits.every((h) => h.query.get('envelope') === finished.id));
        assert.equal(sim.getEnvelope(byApi.id)?.status, 'Canceled');
        assert.equal(sim.getEnvelope(byHandle.id)?.status, 'Canceled');
      },
    );

    it('keeps reporting Active for the status lag while the callback is already delivered', T, async () => {
      const { user, token } = sim.createUser();
      const lagMs = 800;
      const lagging = sim.createEnvelope({ senderUserId: user.id, statusLagMs: lagMs });
      const status = async (id: string): Promise<string> =>
        (await read<{ EnvelopeStatus: string }>(await get(`/Api/v6/envelope/${id}`, token))).EnvelopeStatus;
      const started = Date.now();
      sim.finishEnvelope(lagging.id, 'Completed');
      const delivery = await sim.waitForCallbackDelivery(lagging.id);
      assert.equal(delivery.state, 'delivered');
      assert.equal(await status(lagging.id), 'Active');
      assert.deepEqual(await find(token, { Status: 'Completed' }), []);
      assert.deepEqual(await find(token, { Status: 'Active' }), [lagging.id]);
      assert.ok(Date.now() - started < lagMs, 'the checks above ran inside the lag');
      const snapshot = sim.getEnvelope(lagging.id);
      assert.equal(snapshot?.status, 'Completed');
      assert.equal(snapshot?.reportedStatus, 'Active');
      while ((await status(lagging.id)) === 'Active') {
        assert.ok(Date.now() - started < 5_000, 'the lag ends');
        await delay(20);
      }
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= lagMs, `Completed after ${elapsed} ms, before the ${lagMs} ms lag`);
      assert.ok(elapsed < lagMs + 1_000, `Completed only after ${elapsed} ms`);
      assert.deepEqual(await find(token, { Status: 'Completed' }), [lagging.id]);

      sim.configure({ statusLagMs: 5_000 });
      const global = sim.createEnvelope({ senderUserId: user.id });
      const immediate = sim.createEnvelope({ senderUserId: user.id });
      const expired = sim.createEnvelope({ senderUserId: user.id });
      sim.finishEnvelope(global.id, 'Rejected');
      sim.finishEnvelope(immediate.id, 'Completed', { statusLagMs: 0 });
      sim.expireEnvelope(expired.id);
      assert.equal(await status(global.id), 'Active');
      assert.equal(await status(immediate.id), 'Completed');
      assert.equal(await status(expired.id), 'Active');
    });

    it(
      'leaves out optional fields per envelope as the swagger allows, and reports an unknown status',
      T,
      async () => {
        const { user, token } = sim.createUser();
        const envelope = sim.createEnvelope({
          senderUserId: user.id,
          status: 'Rejected',
          metaData: '<tag/>',
          quirks: { omitMetaData: true, senderUserInformation: 'withoutEmail', documents: 'null' },
        });
        const path = `/Api/v6/envelope/${envelope.id}`;
        const readEnvelope = async (): Promise<Record<string, unknown>> =>
          read<Record<string, unknown>>(await get(path, token));
        const readConfiguration = async (): Promise<Record<string, unknown>> =>
          read<Record<string, unknown>>(await get(`${path}/configuration`, token));
        const readFiles = async (): Promise<Record<string, unknown>> =>
          read<Record<string, unknown>>(await get(`${path}/files`, token));

        assert.ok(!('MetaData' in (await readConfiguration())));
        assert.deepEqual((await readEnvelope()).SenderUserInformation, {
          GivenName: user.givenName,
          Surname: user.surname,
        });
        const files = await readFiles();
        assert.equal(files.Documents, null);
        assert.ok('AuditTrail' in files);

        sim.setEnvelopeQuirks(envelope.id, { senderUserInformation: 'absent', documents: 'absent' });
        assert.ok(!('SenderUserInformation' in (await readEnvelope())));
        assert.ok(!('Documents' in (await readFiles())));
        assert.equal((await readConfiguration()).MetaData, '<tag/>');
        sim.setEnvelopeQuirks(envelope.id, { senderUserInformation: 'null' });
        assert.equal((await readEnvelope()).SenderUserInformation, null);

        sim.setEnvelopeQuirks(envelope.id, { reportedStatus: 'Archived' });
        assert.equal((await readEnvelope()).EnvelopeStatus, 'Archived');
        const listed = await read<{ Envelopes: { Id: string; Status: string }[] }>(
          await post('/Api/v6/envelope/find', token, {}),
        );
        assert.deepEqual(
          listed.Envelopes.map((e) => [e.Id, e.Status]),
          [[envelope.id, 'Archived']],
        );
        assert.deepEqual(await find(token, { Status: 'Rejected' }), []);

        sim.setEnvelopeQuirks(envelope.id, {});
        const full = await readEnvelope();
        assert.equal(full.EnvelopeStatus, 'Rejected');
        assert.equal((full.SenderUserInformation as { Email: string }).Email, user.email);
        assert.equal(((await readFiles()).Documents as unknown[]).length, 1);
      },
    );

    it('answers an empty find with Envelopes [], null or no key at all, as set', T, async () => {
      const { user, token } = sim.createUser();
      const body = async (filter: Record<string, unknown>): Promise<unknown> =>
        read(await post('/Api/v6/envelope/find', token, filter));
      assert.deepEqual(await body({ Status: 'Expired' }), { Envelopes: [] });
      sim.configure({ emptyFindResult: 'absent' });
      assert.deepEqual(await body({ Status: 'Expired' }), {});
      sim.configure({ emptyFindResult: 'null' });
      assert.deepEqual(await body({ Status: 'Expired' }), { Envelopes: null });
      const expired = sim.createEnvelope({ senderUserId: user.id, status: 'Expired' });
      const found = (await body({ Status: 'Expired' })) as { Envelopes: { Id: string }[] };
      assert.deepEqual(
        found.Envelopes.map((e) => e.Id),
        [expired.id],
      );
    });

    it('answers 403 ERR0010 or ERR0014 for one envelope or one call, and 400 when asked', T, async () => {
      const { user, token } = sim.createUser();
      const refused = sim.createEnvelope({ senderUserId: user.id, status: 'Completed' });
      const fine = sim.createEnvelope({ senderUserId: user.id, status: 'Completed' });
      sim.addFault({ envelopeId: refused.id, fault: { kind: 'apiError', errorId: 'ERR0010' } });
      const response = await get(`/Api/v6/envelope/${refused.id}`, token);
      assert.equal(response.status, 403);
      const body = await read<{ ErrorId: string; Message: string; TraceId: string }>(response);
      assert.equal(body.ErrorId, 'ERR0010');
      assert.match(body.Message, /^ERR0010 - /);
      assert.ok(body.TraceId.length > 0);
      assert.deepEqual(await errorOf(await get(`/Api/v6/envelope/${refused.id}/files`, token)), [
        403,
        'ERR0010',
      ]);
      assert.deepEqual(await errorOf(await get(`/Api/v6/file/${refused.documents[0].fileId}`, token)), [
        403,
        'ERR0010',
      ]);
      assert.equal((await get(`/Api/v6/envelope/${fine.id}`, token)).status, 200);
      sim.clearFaults();

      sim.addFault({ endpoint: 'envelope.get', times: 1, fault: { kind: 'apiError', errorId: 'ERR0014' } });
      assert.deepEqual(await errorOf(await get(`/Api/v6/envelope/${fine.id}`, token)), [403, 'ERR0014']);
      assert.equal((await get(`/Api/v6/envelope/${fine.id}`, token)).status, 200);
      sim.addFault({
        endpoint: 'envelope.get',
        times: 1,
        fault: { kind: 'apiError', errorId: 'ERR0014', status: 400 },
      });
      assert.deepEqual(await errorOf(await get(`/Api/v6/envelope/${fine.id}`, token)), [400, 'ERR0014']);
      assert.deepEqual(
        sim.requests({ envelopeId: fine.id, endpoint: 'envelope.get' }).map((e) => e.faults),
        [[], ['apiError:ERR0014'], [], ['apiError:ERR0014']],
      );
    });

    it('answers 400 ERR0063 for an envelope created through API v5', T, async () => {
      const { user, token } = sim.createUser();
      const old = sim.createEnvelope({
        senderUserId: user.id,
        status: 'Completed',
        quirks: { createdWithApiV5: true },
      });
      assert.deepEqual(await errorOf(await get(`/Api/v6/envelope/${old.id}`, token)), [400, 'ERR0063']);
      assert.deepEqual(await errorOf(await get(`/Api/v6/envelope/${old.id}/configuration`, token)), [
        400,
        'ERR0063',
      ]);
      assert.deepEqual(await find(token, { Status: 'Completed' }), [old.id]);
      sim.setEnvelopeQuirks(old.id, {});
      assert.equal((await get(`/Api/v6/envelope/${old.id}`, token)).status, 200);
    });

    it('answers 404 ERR0250 for an unknown or foreign draft', T, async () => {
      const owner = sim.createUser();
      const stranger = sim.createUser();
      const draft = sim.createDraft({ ownerUserId: owner.user.id });
      assert.deepEqual(
        await errorOf(await post('/Api/v6/draft/send', owner.token, { DraftId: randomUUID() })),
        [404, 'ERR0250'],
      );
      assert.deepEqual(
        await errorOf(await post('/Api/v6/draft/send', stranger.token, { DraftId: draft.id })),
        [404, 'ERR0250'],
      );
      assert.ok(sim.getDraft(draft.id), 'the refused send leaves the draft alone');
    });

    it(
      'answers 401 with an empty body for an unknown or revoked token, the message when set',
      T,
      async () => {
        const { user, token } = sim.createUser();
        const envelope = sim.createEnvelope({ senderUserId: user.id });
        const path = `/Api/v6/envelope/${envelope.id}`;
        const revoked = sim.issueToken(user.id);
        sim.revokeToken(revoked);
        for (const presented of ['not-a-token-at-all', revoked]) {
          const response = await get(path, presented);
          assert.equal(response.status, 401);
          assert.equal(response.headers.get('content-length'), '0');
          assert.equal(response.headers.get('www-authenticate'), 'Bearer');
          assert.equal(await response.text(), '');
        }
        const none = await api(path);
        assert.equal(none.status, 401);
        assert.deepEqual(await none.json(), { Message: 'Authorization has been denied for this request.' });
        sim.configure({ unauthorizedBody: 'message' });
        const told = await get(path, revoked);
        assert.equal(told.status, 401);
        assert.deepEqual(await told.json(), { Message: 'Authorization has been denied for this request.' });
        assert.equal((await get(path, token)).status, 200);
      },
    );

    it('deletes an Active envelope, and refuses it with 400 ERR0013 only when set to', T, async () => {
      const { user, token } = sim.createUser();
      const active = sim.createEnvelope({ senderUserId: user.id });
      const kept = sim.createEnvelope({ senderUserId: user.id });
      const deleted = await post('/Api/v6/envelope/delete', token, { EnvelopeId: active.id });
      assert.equal(deleted.status, 200);
      assert.equal(await deleted.text(), '');
      assert.equal(sim.getEnvelope(active.id)?.deleted, true);
      assert.deepEqual(await errorOf(await get(`/Api/v6/envelope/${active.id}`, token)), [404, 'ERR0007']);
      sim.configure({ allowDeleteActive: false });
      assert.deepEqual(await errorOf(await post('/Api/v6/envelope/delete', token, { EnvelopeId: kept.id })), [
        400,
        'ERR0013',
      ]);
      assert.equal(sim.getEnvelope(kept.id)?.deleted, false);
    });

    it('counts only HTTP 200 as a delivered callback: a 201 or 204 is retried', T, async () => {
      const { user } = sim.createUser();
      const envelope = sim.createEnvelope({ senderUserId: user.id });
      receiver.statuses = [201, 204, 200];
      sim.finishEnvelope(envelope.id, 'Completed');
      const delivery = await sim.waitForCallbackDelivery(envelope.id);
      assert.deepEqual(
        delivery.attempts.map((a) => [a.status, a.ok]),
        [
          [201, false],
          [204, false],
          [200, true],
        ],
      );
      assert.equal(receiver.hits.length, 3);
    });

    it(
      "finds by status, sent date and days in status, among the token user's own envelopes only",
      T,
      async () => {
        const days = (n: number): string => new Date(Date.now() - n * 86_400_000).toISOString();
        const me = sim.createUser();
        const colleague = sim.createUser();
        assert.equal(me.user.organizationId, colleague.user.organizationId);
        const mine = (
          status: 'Active' | 'Completed' | 'Canceled' | 'Expired' | 'Rejected',
          sent = 0,
          since = 0,
        ) =>
          sim.createEnvelope({
            senderUserId: me.user.id,
            status,
            sentDate: days(sent),
            ...(status !== 'Active' && { finishedDate: days(since) }),
            recipients: [{ email: 'signer@example.test' }],
          }).id;
        const oldCompleted = mine('Completed', 10, 5);
        const newCompleted = mine('Completed', 1, 0);
        const expired = mine('Expired', 20, 3);
        const canceled = mine('Canceled', 2, 2);
        const rejected = mine('Rejected', 1, 1);
        const active = mine('Active', 1);
        const theirs = sim.createEnvelope({ senderUserId: colleague.user.id, status: 'Completed' }).id;

        assert.deepEqual(await find(me.token, { Status: 'Completed' }), [oldCompleted, newCompleted].sort());
        assert.deepEqual(await find(me.token, { Status: 'Canceled' }), [canceled]);
        assert.deepEqual(await find(me.token, { Status: 'Expired' }), [expired]);
        assert.deepEqual(await find(me.token, { Status: 'Rejected' }), [rejected]);
        assert.deepEqual(await find(me.token, { Status: 'Active' }), [active]);
        // By default N days in status means: reached it within the last N days.
        assert.deepEqual(await find(me.token, { Status: 'Completed', InStatusSinceDays: 1 }), [newCompleted]);
        assert.deepEqual(
          await find(me.token, { Status: 'Completed', InStatusSinceDays: 6 }),
          [oldCompleted, newCompleted].sort(),
        );
        assert.deepEqual(await find(me.token, { Status: 'Expired', InStatusSinceDays: 2 }), []);
        assert.deepEqual(await find(me.token, { Status: 'Expired', InStatusSinceDays: 4 }), [expired]);
        sim.configure({ inStatusSinceDaysReading: 'atLeast' });
        assert.deepEqual(await find(me.token, { Status: 'Completed', InStatusSinceDays: 2 }), [oldCompleted]);
        assert.deepEqual(await find(me.token, { Status: 'Expired', InStatusSinceDays: 2 }), [expired]);
        assert.deepEqual(await find(me.token, { Status: 'Expired', InStatusSinceDays: 4 }), []);
        sim.configure({ inStatusSinceDaysReading: undefined });
        assert.deepEqual(await find(me.token, { StartDate: days(15), EndDate: days(5) }), [oldCompleted]);
        assert.deepEqual(
          await find(me.token, {
            Status: 'Completed',
            StartDate: days(3),
            EndDate: new Date().toISOString(),
          }),
          [newCompleted],
        );
        assert.deepEqual(
          await find(me.token, { CompletedByRecipientWithEmail: 'signer@example.test' }),
          [oldCompleted, newCompleted].sort(),
        );
        assert.deepEqual(await find(me.token, { WaitingForRecipientWithEmail: 'signer@example.test' }), [
          active,
        ]);
        assert.deepEqual(await find(me.token, { EnvelopeBulkParentId: randomUUID() }), []);
        assert.deepEqual(await find(colleague.token, { Status: 'Completed' }), [theirs]);
        assert.deepEqual(
          await errorOf(await post('/Api/v6/envelope/find', me.token, { InStatusSinceDays: 2 })),
          [400, 'ERR0011'],
        );
      },
    );
  });

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

    it('sets settings, quirks, status URL, status-change actions and apiError faults', T, async () => {
      const settings = await control('POST', '/settings', { statusLagMs: 300, emptyFindResult: 'absent' });
      assert.equal(settings.status, 200);
      assert.deepEqual(await settings.json(), {
        foreignObjectStatus: 404,
        missingObjectStatus: 404,
        allowDeleteActive: true,
        statusLagMs: 300,
        unauthorizedBody: 'empty',
        emptyFindResult: 'absent',
        inStatusSinceDaysReading: 'atMost',
        latencyMs: 0,
        callsPerMinute: 0,
      });
      assert.equal((await control('POST', '/settings', { bogus: 1 })).status, 400);
      assert.equal((await control('POST', '/settings', { statusLagMs: -1 })).status, 400);
      assert.equal(
        (
          (await (await control('POST', '/settings', { statusLagMs: null })).json()) as {
            statusLagMs: number;
          }
        ).statusLagMs,
        0,
      );
      assert.equal(
        ((await (await control('GET', '/settings')).json()) as { emptyFindResult: string }).emptyFindResult,
        'absent',
      );

      const statusTemplate = `${receiver.url}/status?envelope=##EnvelopeId##&action=##Action##`;
      assert.equal(
        (await control('POST', '/callbacks/status-update-template', { template: statusTemplate })).status,
        200,
      );
      const { user, token } = (await (await control('POST', '/users', {})).json()) as {
        user: { id: string };
        token: string;
      };
      const envelope = (await (
        await control('POST', '/envelopes', { senderUserId: user.id, quirks: { documents: 'null' } })
      ).json()) as { id: string; quirks: unknown; statusUpdateCallbackUrl: string };
      assert.deepEqual(envelope.quirks, { documents: 'null' });
      assert.equal(envelope.statusUpdateCallbackUrl, statusTemplate);
      const files = await fetch(`${sim.baseUrl}/v6/envelope/${envelope.id}/files`, {
        headers: { ApiToken: token },
      });
      assert.equal(((await files.json()) as { Documents: unknown }).Documents, null);
      const requirked = (await (
        await control('POST', `/envelopes/${envelope.id}/quirks`, { reportedStatus: 'Archived' })
      ).json()) as { reportedStatus: string; quirks: unknown };
      assert.deepEqual(
        [requirked.reportedStatus, requirked.quirks],
        ['Archived', { reportedStatus: 'Archived' }],
      );

      const lagged = (await (
        await control('POST', `/envelopes/${envelope.id}/expire`, { statusLagMs: 5_000 })
      ).json()) as { status: string };
      assert.equal(lagged.status, 'Expired');
      assert.equal(
        (await control('POST', `/envelopes/${envelope.id}/quirks`, { documents: 'empty' })).status,
        400,
      );
      assert.equal((await control('POST', `/envelopes/${envelope.id}/quirks`, { shiny: true })).status, 400);
      await control('POST', `/envelopes/${envelope.id}/quirks`, {});
      const reported = await fetch(`${sim.baseUrl}/v6/envelope/${envelope.id}`, {
        headers: { ApiToken: token },
      });
      assert.equal(((await reported.json()) as { EnvelopeStatus: string }).EnvelopeStatus, 'Active');
      const expiredCallback = await control(
        'GET',
        `/callbacks/wait?envelopeId=${envelope.id}&action=envelopeExpired&timeoutMs=5000`,
      );
      assert.equal(
        ((await expiredCallback.json()) as { channel: string }).channel,
        'statusUpdateCallbackUrl',
      );

      const update = await control('POST', `/envelopes/${envelope.id}/status-update`, {
        action: 'workstepDelegated',
      });
      assert.equal(((await update.json()) as { action: string }).action, 'workstepDelegated');
      assert.equal(
        (await control('POST', `/envelopes/${envelope.id}/status-update`, { action: 'envelopeFinished' }))
          .status,
        400,
      );
      const waited = await control(
        'GET',
        `/callbacks/wait?envelopeId=${envelope.id}&action=workstepDelegated&timeoutMs=5000`,
      );
      assert.equal(waited.status, 200);

      const fault = await control('POST', '/faults', {
        envelopeId: envelope.id,
        times: 1,
        fault: { kind: 'apiError', errorId: 'ERR0014', status: 400 },
      });
      assert.equal(fault.status, 200);
      const refused = await fetch(`${sim.baseUrl}/v6/envelope/${envelope.id}`, {
        headers: { ApiToken: token },
      });
      assert.equal(refused.status, 400);
      assert.equal(((await refused.json()) as { ErrorId: string }).ErrorId, 'ERR0014');
      await control('POST', '/callbacks/status-update-template', { template: null });
      await control('POST', '/settings', { emptyFindResult: null });
    });

    it(
      'runs as a process with both callback URLs and a status lag from its flags',
      { timeout: 30_000 },
      async () => {
        const simulator = await startSimulatorProcess([
          '--callback-url',
          `${receiver.url}/done?envelope=##EnvelopeId##&action=##Action##`,
          '--status-update-callback-url',
          `${receiver.url}/status?envelope=##EnvelopeId##&action=##Action##`,
          '--status-lag-ms',
          '250',
        ]);
        try {
          const settings = await simulator.control<{ statusLagMs: number }>('GET', '/settings');
          assert.equal(settings.statusLagMs, 250);
          const envelope = await simulator.control<{ id: string }>('POST', '/envelopes', {
            senderUserId: simulator.user.id,
          });
          await simulator.control('POST', `/envelopes/${envelope.id}/expire`);
          await simulator.control('GET', `/callbacks/wait?envelopeId=${envelope.id}&timeoutMs=5000`);
          const response = await fetch(`${simulator.baseUrl}/v6/envelope/${envelope.id}`, {
            headers: { ApiToken: simulator.token },
          });
          assert.equal(((await response.json()) as { EnvelopeStatus: string }).EnvelopeStatus, 'Active');
          assert.deepEqual(
            receiver.hits.map((h) => [h.path, h.query.get('action')]),
            [['/status', 'envelopeExpired']],
          );
        } finally {
          await simulator.stop();
        }
      },
    );
  });
});
