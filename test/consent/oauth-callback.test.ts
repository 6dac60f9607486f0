import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { SimUser } from '../simulators/esignanywhere/esignanywhere-simulator.types';
import { startTestApp, TEST_CALLBACK_TOKEN } from '../support/app';
import { bindingCookie, ConsentWorld, get } from './consent-world';

// The redirect and callback rules at the HTTP level: what a browser would see, step by step, with the
// simulator answering the authorize page by itself (approve as a given user, or deny).

describe('OAuth callback: state, browser binding and failures', () => {
  let world: ConsentWorld;
  before(async () => {
    world = await ConsentWorld.start();
  });
  after(async () => {
    await world?.close();
  });
  beforeEach(() => {
    world.sim.clearFaults();
    world.sim.clearRequests();
  });

  /** NEXT pressed, authorize page answered: the callback URL and the cookie of the browser that started. */
  async function flowUpToCallback(
    user: SimUser,
    draftId: string | null,
  ): Promise<{ callbackUrl: string; cookie: string }> {
    world.sim.setOAuthDecision({ decision: 'approve', userId: user.id });
    const start = await get(
      draftId
        ? world.beforeSendUrl(draftId)
        : `${world.publicUrl}/consent/start?sender=${encodeURIComponent(user.id)}`,
    );
    assert.equal(start.status, 302);
    const authorize = await get(start.headers.get('location')!);
    assert.equal(authorize.status, 302);
    return { callbackUrl: authorize.headers.get('location')!, cookie: bindingCookie(start) };
  }

  const storedSenders = async (user: SimUser) =>
    world.query<{ id: string; consent_state: string; token_ciphertext: Buffer | null }>(
      'SELECT * FROM senders WHERE platform_user_id = $1',
      [user.id],
    );

  it('before-send redirects only to the configured authorize URL, with a signed, scoped, short-lived cookie', async () => {
    const { draftId } = world.senderWithDraft();
    const res = await get(world.beforeSendUrl(draftId));
    assert.equal(res.status, 302);
    const location = new URL(res.headers.get('location')!);
    assert.equal(`${location.origin}${location.pathname}`, world.sim.authorizeUrl);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('consent_'))!;
    assert.match(cookie, /^consent_[0-9a-f]{16}=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}; /);
    for (const attribute of ['Path=/consent', 'Max-Age=600', 'HttpOnly', 'SameSite=Lax']) {
      assert.ok(cookie.split('; ').includes(attribute), `${attribute} in ${cookie.split('=')[0]}`);
    }
    assert.ok(!cookie.includes('Secure'), 'plain http public URL: no Secure attribute');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.match(res.headers.get('content-security-policy')!, /default-src 'none'/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
  });

  it('malformed or placeholder parameters get a 400 page that echoes nothing, and nothing is stored', async () => {
    const cases: [string, RegExp][] = [
      ['envelope=%23%23EnvelopeId%23%23&sender=u1', /still holds a placeholder/],
      [
        `envelope=${randomUUID()}&sender=%3Cscript%3Ealert(1)%3C%2Fscript%3E`,
        /&quot;sender&quot; must be an eSignAnyWhere user id/,
      ],
      [
        `envelope=${randomUUID()}&envelope=${randomUUID()}&sender=u1`,
        /&quot;envelope&quot; must be given exactly once/,
      ],
      [`sender=u1`, /&quot;envelope&quot; is missing/],
      [`envelope=${randomUUID()}&sender=u1&org=${'x'.repeat(200)}`, /&quot;org&quot; must be/],
    ];
    const states = async () =>
      (await world.query<{ n: number }>('SELECT count(*)::int AS n FROM oauth_states'))[0].n;
    const statesBefore = await states();
    for (const [query, reason] of cases) {
      const res = await get(`${world.publicUrl}/consent/before-send?${query}`);
      const html = await res.text();
      assert.equal(res.status, 400, query);
      assert.match(res.headers.get('content-type')!, /^text\/html/);
      assert.match(html, reason);
      assert.match(html, /data-outcome="INVALID_REQUEST"/);
      assert.ok(!html.includes('<script>'), 'request values are never echoed raw');
    }
    assert.equal(await states(), statesBefore);
    assert.deepEqual(world.sim.requests(), []);
  });

  it('a callback without the cookie, or with a forged one, is 403 and leaves the state usable', async () => {
    const { user, draftId } = world.senderWithDraft();
    const { callbackUrl, cookie } = await flowUpToCallback(user, draftId);

    const none = await get(callbackUrl);
    assert.equal(none.status, 403);
    assert.match(await none.text(), /data-outcome="BROWSER_MISMATCH"/);

    const [name, value] = cookie.split('=');
    const [nonce, mac] = value.split('.');
    const forgedNonce = `${name}=${randomBytes(32).toString('base64url')}.${mac}`;
    const forgedMac = `${name}=${nonce}.${randomBytes(32).toString('base64url')}`;
    for (const forged of [forgedNonce, forgedMac, `${name}=${nonce}`]) {
      const res = await get(callbackUrl, forged);
      assert.equal(res.status, 403, forged.slice(0, 20));
    }
    assert.deepEqual(world.sim.requests({ endpoint: 'oauth.token' }), []);
    assert.deepEqual(await storedSenders(user), []);

    const ok = await get(callbackUrl, cookie);
    assert.equal(ok.status, 302);
    assert.equal(ok.headers.get('location'), world.inboxUrl);
    assert.ok(
      ok.headers.getSetCookie().some((c) => c.startsWith(`${name}=;`) && c.includes('Max-Age=0')),
      'the binding cookie is cleared',
    );
  });

  it('an unknown, missing or expired state is a 400 page and nothing is exchanged or stored', async () => {
    const { user, draftId } = world.senderWithDraft();
    const { callbackUrl, cookie } = await flowUpToCallback(user, draftId);

    const unknown = new URL(callbackUrl);
    unknown.searchParams.set('state', randomBytes(32).toString('base64url'));
    const res1 = await get(unknown.href, cookie);
    assert.equal(res1.status, 400);
    assert.match(await res1.text(), /data-outcome="STATE_INVALID"/);

    const missing = new URL(callbackUrl);
    missing.searchParams.delete('state');
    const res2 = await get(missing.href, cookie);
    assert.equal(res2.status, 400);
    assert.match(await res2.text(), /data-outcome="STATE_INVALID"/);

    await world.query(
      `UPDATE oauth_states SET expires_at = now() - interval '1 second' WHERE used_at IS NULL`,
    );
    const res3 = await get(callbackUrl, cookie);
    assert.equal(res3.status, 400);
    assert.match(await res3.text(), /data-outcome="STATE_EXPIRED"/);

    assert.deepEqual(world.sim.requests({ endpoint: 'oauth.token' }), []);
    assert.deepEqual(await storedSenders(user), []);
    assert.ok(world.sim.getDraft(draftId));
  });

  it('two callbacks racing with one state: exactly one exchanges the code', async () => {
    const { user, draftId } = world.senderWithDraft();
    const { callbackUrl, cookie } = await flowUpToCallback(user, draftId);
    const results = await Promise.all(Array.from({ length: 5 }, () => get(callbackUrl, cookie)));
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [302, 400, 400, 400, 400]);
    assert.equal(world.sim.requests({ endpoint: 'oauth.token' }).length, 1);
    assert.equal(world.sim.requests({ endpoint: 'draft.send' }).length, 1);
  });

  it('a failed code exchange is a 502 page and stores nothing', async () => {
    const { user, draftId } = world.senderWithDraft();
    const { callbackUrl, cookie } = await flowUpToCallback(user, draftId);
    world.sim.addFault({ endpoint: 'oauth.token', times: 1, fault: { kind: 'status', status: 503 } });
    const res = await get(callbackUrl, cookie);
    const html = await res.text();
    assert.equal(res.status, 502);
    assert.match(html, /data-outcome="EXCHANGE_FAILED"/);
    assert.ok(!html.includes(new URL(callbackUrl).searchParams.get('code')!));
    assert.deepEqual(await storedSenders(user), []);
    assert.ok(world.sim.getDraft(draftId), 'the draft was not sent');

    const again = await get(callbackUrl, cookie);
    assert.equal(again.status, 400, 'the state is used up even though the exchange failed');
  });

  it('a token the platform refuses right after issuing it is a 502 page and is not stored', async () => {
    const { user, draftId } = world.senderWithDraft();
    const { callbackUrl, cookie } = await flowUpToCallback(user, draftId);
    world.sim.addFault({
      endpoint: 'authorization.whoami',
      times: 1,
      fault: { kind: 'status', status: 401 },
    });
    const res = await get(callbackUrl, cookie);
    assert.equal(res.status, 502);
    assert.match(await res.text(), /data-outcome="TOKEN_REJECTED"/);
    assert.equal(
      world.sim.requests({ endpoint: 'authorization.whoami' }).length,
      1,
      'one API call checks the token and names its user',
    );
    assert.deepEqual(await storedSenders(user), []);
    assert.deepEqual(world.sim.requests({ endpoint: 'draft.send' }), []);
  });

  it('an authorization error other than a denial is a 502 page naming the OAuth error code, escaped', async () => {
    const { user, draftId } = world.senderWithDraft();
    const { callbackUrl, cookie } = await flowUpToCallback(user, draftId);
    const failed = new URL(callbackUrl);
    failed.searchParams.delete('code');
    failed.searchParams.set('error', 'server_error');
    failed.searchParams.set('error_description', '<img src=x onerror=alert(1)>');
    const res = await get(failed.href, cookie);
    const html = await res.text();
    assert.equal(res.status, 502);
    assert.match(html, /data-outcome="AUTHORIZATION_FAILED"/);
    assert.match(html, /eSignAnyWhere reported: server_error\./);
    assert.ok(!html.includes('<img'));
    assert.deepEqual(await storedSenders(user), []);
  });

  it('a draft the platform does not know is a 404 page with the way back, for a sender with a working token', async () => {
    const { user, draftId } = world.senderWithDraft();
    const { callbackUrl, cookie } = await flowUpToCallback(user, draftId);
    assert.equal((await get(callbackUrl, cookie)).status, 302);

    const gone = randomUUID();
    const res = await get(
      `${world.publicUrl}/consent/before-send?envelope=${gone}&sender=${encodeURIComponent(user.id)}`,
    );
    const html = await res.text();
    assert.equal(res.status, 404);
    assert.match(html, /data-outcome="DRAFT_NOT_FOUND"/);
    assert.ok(html.includes(`href="${world.inboxUrl}"`));
    assert.equal(
      (await storedSenders(user))[0].consent_state,
      'granted',
      'a missing draft is no reason to ask again',
    );
    assert.deepEqual(
      await world.query('SELECT 1 FROM envelope_senders WHERE envelope_id = $1', [gone]),
      [],
      'no note left',
    );
  });

  it("access granted by another eSignAnyWhere account than the draft's owner is refused and not stored", async () => {
    const { user, draftId } = world.senderWithDraft();
    const { user: colleague } = world.sim.createUser();
    const { callbackUrl, cookie } = await flowUpToCallback(colleague, draftId);
    const res = await get(callbackUrl, cookie);
    assert.equal(res.status, 403);
    assert.match(await res.text(), /data-outcome="WRONG_ACCOUNT"/);
    assert.ok(world.sim.getDraft(draftId), 'the draft was not sent');
    assert.deepEqual(world.sim.requests({ endpoint: 'draft.send' }), [], 'not even tried');
    assert.deepEqual(await storedSenders(user), []);
    assert.deepEqual(await storedSenders(colleague), []);
    assert.deepEqual(
      await world.query('SELECT 1 FROM envelope_senders WHERE draft_id = $1', [draftId.toLowerCase()]),
      [],
    );
  });

  it('a send the platform leaves unanswered is a 502 page warning not to send twice, and the draft note stays', async () => {
    const { user, draftId } = world.senderWithDraft();
    const { callbackUrl, cookie } = await flowUpToCallback(user, draftId);
    assert.equal((await get(callbackUrl, cookie)).status, 302);

    const next = world.draftOf(user);
    world.sim.addFault({ endpoint: 'draft.send', times: 1, fault: { kind: 'reset' } });
    const res = await get(world.beforeSendUrl(next));
    assert.equal(res.status, 502);
    assert.match(await res.text(), /data-outcome="SEND_UNCONFIRMED"/);
    const notes = await world.query('SELECT * FROM envelope_senders WHERE envelope_id = $1', [
      next.toLowerCase(),
    ]);
    assert.equal(notes.length, 1, 'the sender noted before the send is kept for whoever looks later');
  });
});

describe('consent without its configuration', () => {
  it('answers 503 "consent is not configured" while callbacks are still accepted', async () => {
    const svc = await startTestApp({ TOKEN_ENCRYPTION_KEYS: undefined, ESAW_OAUTH_CLIENT_ID: undefined });
    try {
      for (const path of [
        `/consent/before-send?envelope=${randomUUID()}&sender=u1`,
        '/consent/start?sender=u1',
        '/consent/oauth/callback?state=x&code=y',
      ]) {
        const res = await get(`${svc.url}${path}`);
        const html = await res.text();
        assert.equal(res.status, 503, path);
        assert.match(html, /Consent is not configured/);
        assert.equal(res.headers.get('cache-control'), 'no-store');
      }
      const callback = await fetch(
        `${svc.url}/callbacks/esignanywhere?envelope=${randomUUID()}&action=envelopeFinished&token=${TEST_CALLBACK_TOKEN}`,
      );
      assert.equal(callback.status, 200);
    } finally {
      await svc.close();
    }
  });
});
