import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { TokenCipher } from '../../src/senders/token-cipher';
import { watchPage } from '../support/browser';
import { ConsentWorld, KEY_1, OAUTH_CLIENT_ID, pageOutcome } from './consent-world';

interface SenderRow {
  id: string;
  platform_user_id: string;
  organization_id: string | null;
  token_ciphertext: Buffer | null;
  token_key_id: string | null;
  consent_state: string;
  consented_at: Date | null;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('before-send page with the OAuth code grant (simulator over HTTP, real Chromium)', () => {
  let world: ConsentWorld;
  const cipher = new TokenCipher({ TOKEN_ENCRYPTION_KEYS: [KEY_1] });

  before(async () => {
    world = await ConsentWorld.start();
  });
  after(async () => {
    await world?.close();
  });

  const senderRow = async (userId: string) =>
    (await world.query<SenderRow>('SELECT * FROM senders WHERE platform_user_id = $1', [userId]))[0];

  beforeEach(() => world.sim.clearRequests());

  it('a first-time sender approves, the draft is sent with their own token and the browser lands in the inbox', async () => {
    const { user, draftId } = world.senderWithDraft();
    const context = await world.newContext();
    const page = await context.newPage();

    await page.goto(world.beforeSendUrl(draftId));
    await world.decide(page, user, 'approve');
    await page.waitForURL(world.inboxUrl);

    // The authorization request: code flow, our client, the exact redirect URI, a state and PKCE S256.
    const [authorize] = world.sim.requests({ endpoint: 'oauth.authorize', method: 'GET' });
    assert.equal(authorize.query.response_type, 'code');
    assert.equal(authorize.query.client_id, OAUTH_CLIENT_ID);
    assert.equal(authorize.query.redirect_uri, `${world.publicUrl}/consent/oauth/callback`);
    assert.equal(authorize.query.code_challenge_method, 'S256');
    assert.match(authorize.query.code_challenge, /^[A-Za-z0-9_-]{43}$/);
    assert.match(authorize.query.state, /^[A-Za-z0-9_-]{43}$/); // 256 random bits

    // The draft went out once, with the sender's token, and became an envelope of theirs.
    const sends = world.sim.requests({ endpoint: 'draft.send' });
    assert.equal(sends.length, 1);
    assert.equal(sends[0].userId, user.id);
    assert.equal(sends[0].status, 200);
    assert.equal(world.sim.getDraft(draftId), undefined);

    const sender = await senderRow(user.id);
    assert.equal(sender.consent_state, 'granted');
    assert.ok(sender.consented_at instanceof Date);
    assert.equal(sender.organization_id, user.organizationId);
    assert.equal(sender.token_key_id, 'k1');

    const notes = await world.query<{ envelope_id: string; sender_id: string; draft_id: string }>(
      'SELECT envelope_id, sender_id, draft_id FROM envelope_senders WHERE sender_id = $1',
      [sender.id],
    );
    assert.equal(notes.length, 1, 'one note: the envelope, the draft note replaced');
    assert.equal(notes[0].draft_id, draftId.toLowerCase());
    assert.notEqual(notes[0].envelope_id, draftId.toLowerCase());
    assert.equal(world.sim.getEnvelope(notes[0].envelope_id)?.senderUserId, user.id);

    // The token is stored sealed: bound to the row, not readable in the ciphertext, and it is the
    // sender's working token.
    const token = cipher.decrypt({ keyId: sender.token_key_id, blob: sender.token_ciphertext! }, sender.id);
    assert.ok(!sender.token_ciphertext!.includes(Buffer.from(token)));
    assert.throws(() =>
      cipher.decrypt({ keyId: 'k1', blob: sender.token_ciphertext! }, notes[0].sender_id + 'x'),
    );
    const check = await fetch(`${world.sim.baseUrl}/v6/envelope/${notes[0].envelope_id}`, {
      headers: { ApiToken: token },
    });
    assert.equal(check.status, 200);

    // Only the state's hash is stored, and it is used up.
    const states = await world.query<{ used_at: Date | null; platform_user_id: string; draft_id: string }>(
      'SELECT used_at, platform_user_id, draft_id FROM oauth_states WHERE state_hash = $1',
      [sha256(authorize.query.state)],
    );
    assert.equal(states.length, 1);
    assert.ok(states[0].used_at instanceof Date);
    assert.equal(states[0].platform_user_id, user.id);
    assert.equal(states[0].draft_id, draftId);
    const dump = JSON.stringify(await world.query('SELECT * FROM oauth_states'));
    assert.ok(!dump.includes(authorize.query.state));

    // The binding cookie is gone once the flow is complete.
    assert.deepEqual(
      (await context.cookies()).filter((c) => c.name.startsWith('consent_')),
      [],
    );
    await context.close();
  });

  it('a second before-send of the same sender needs no consent: the stored token sends the draft at once', async () => {
    const { user, draftId } = world.senderWithDraft();
    const context = await world.newContext();
    const page = await context.newPage();
    await page.goto(world.beforeSendUrl(draftId));
    await world.decide(page, user, 'approve');
    await page.waitForURL(world.inboxUrl);

    world.sim.clearRequests();
    const second = world.draftOf(user);
    const fresh = await world.newContext(); // even another browser: the grant belongs to the sender
    const page2 = await fresh.newPage();
    await page2.goto(world.beforeSendUrl(second));
    await page2.waitForURL(world.inboxUrl);

    assert.deepEqual(world.sim.requests({ endpoint: 'oauth.authorize' }), []);
    assert.deepEqual(world.sim.requests({ endpoint: 'oauth.token' }), []);
    const sends = world.sim.requests({ endpoint: 'draft.send' });
    assert.equal(sends.length, 1);
    assert.equal(sends[0].userId, user.id);
    assert.equal(world.sim.getDraft(second), undefined);
    const sender = await senderRow(user.id);
    const notes = await world.query<{ draft_id: string }>(
      'SELECT draft_id FROM envelope_senders WHERE sender_id = $1 ORDER BY noted_at',
      [sender.id],
    );
    assert.deepEqual(
      notes.map((n) => n.draft_id),
      [draftId.toLowerCase(), second.toLowerCase()],
    );
    await Promise.all([context.close(), fresh.close()]);
  });

  it('a sender who denies sees a clear page, the draft stays unsent and nothing is stored', async () => {
    const { user, draftId } = world.senderWithDraft();
    const context = await world.newContext();
    const page = await context.newPage();
    const problems = watchPage(page);
    await page.goto(world.beforeSendUrl(draftId));
    const callback = page.waitForResponse((r) =>
      r.url().startsWith(`${world.publicUrl}/consent/oauth/callback`),
    );
    await world.decide(page, user, 'deny');
    const response = await callback;

    assert.equal(response.status(), 403);
    assert.equal(await pageOutcome(page), 'ACCESS_DENIED');
    // The page's only style is allowed by its CSP hash; nothing else runs or loads.
    assert.equal(await page.evaluate('getComputedStyle(document.body).maxWidth'), '576px');
    assert.deepEqual(problems, { errors: [], cspViolations: [] });
    assert.match(await page.locator('h1').innerText(), /Access was not granted/);
    assert.equal(response.headers()['referrer-policy'], 'no-referrer');
    assert.equal(response.headers()['cache-control'], 'no-store');
    assert.match(response.headers()['content-security-policy'], /default-src 'none'/);

    assert.equal(await senderRow(user.id), undefined);
    assert.deepEqual(
      await world.query('SELECT * FROM envelope_senders WHERE draft_id = $1', [draftId.toLowerCase()]),
      [],
    );
    assert.ok(world.sim.getDraft(draftId), 'the draft is still a draft');
    assert.deepEqual(world.sim.requests({ endpoint: 'draft.send' }), []);
    assert.deepEqual(world.sim.requests({ endpoint: 'oauth.token' }), [], 'no code, no exchange');
    await context.close();
  });

  it('replaying a used callback URL shows an error page and exchanges nothing again', async () => {
    const { user, draftId } = world.senderWithDraft();
    const context = await world.newContext();
    const page = await context.newPage();
    await page.goto(world.beforeSendUrl(draftId));
    const callback = page.waitForRequest((r) =>
      r.url().startsWith(`${world.publicUrl}/consent/oauth/callback`),
    );
    await world.decide(page, user, 'approve');
    const callbackUrl = (await callback).url();
    await page.waitForURL(world.inboxUrl);
    const exchanges = world.sim.requests({ endpoint: 'oauth.token' }).length;
    const sends = world.sim.requests({ endpoint: 'draft.send' }).length;

    const replay = await page.goto(callbackUrl);
    assert.equal(replay?.status(), 400);
    assert.equal(await pageOutcome(page), 'STATE_USED');
    assert.equal(world.sim.requests({ endpoint: 'oauth.token' }).length, exchanges);
    assert.equal(world.sim.requests({ endpoint: 'draft.send' }).length, sends);
    await context.close();
  });

  it('a callback replayed from another browser gets 403 and does not use the state up', async () => {
    const { user, draftId } = world.senderWithDraft();
    const victim = await world.newContext();
    const page = await victim.newPage();
    // Hold the sender's browser back at the redirect, as if an attacker had read the URL on its way.
    let captured = '';
    const hold = (url: URL) => url.pathname === '/Auth/Authorize';
    await victim.route(hold, async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      const response = await route.fetch({ maxRedirects: 0 });
      captured = response.headers()['location'] ?? '';
      await route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><p>held</p>' });
    });
    await page.goto(world.beforeSendUrl(draftId));
    await world.decide(page, user, 'approve');
    await waitFor(() => captured !== '');
    assert.ok(captured.startsWith(`${world.publicUrl}/consent/oauth/callback?`));

    const attacker = await world.newContext();
    const attackerPage = await attacker.newPage();
    const response = await attackerPage.goto(captured);
    assert.equal(response?.status(), 403);
    assert.equal(await pageOutcome(attackerPage), 'BROWSER_MISMATCH');
    assert.equal(await senderRow(user.id), undefined, 'nothing stored');
    assert.deepEqual(world.sim.requests({ endpoint: 'oauth.token' }), [], 'the code was not exchanged');
    assert.ok(world.sim.getDraft(draftId));

    // The sender's own browser can still finish.
    await victim.unroute(hold);
    await page.goto(captured);
    await page.waitForURL(world.inboxUrl);
    assert.equal((await senderRow(user.id))?.consent_state, 'granted');
    assert.equal(world.sim.getDraft(draftId), undefined);
    await Promise.all([victim.close(), attacker.close()]);
  });

  it('a stored token the platform refuses sends the sender to sign in again, unmarked until the new grant replaces it, then the draft goes out', async () => {
    const { user, draftId } = world.senderWithDraft();
    const context = await world.newContext();
    const page = await context.newPage();
    await page.goto(world.beforeSendUrl(draftId));
    await world.decide(page, user, 'approve');
    await page.waitForURL(world.inboxUrl);
    const before = await senderRow(user.id);

    world.sim.revokeAllTokens(user.id);
    const next = world.draftOf(user);
    await page.goto(world.beforeSendUrl(next));
    await page.waitForURL((url) => url.pathname === '/Auth/Authorize');
    // Opening the page proves nothing about who opened it: the stored token is left to the archive job.
    const asking = await senderRow(user.id);
    assert.equal(asking.consent_state, 'granted');
    assert.ok(asking.token_ciphertext!.equals(before.token_ciphertext!));
    await world.decide(page, user, 'approve');
    await page.waitForURL(world.inboxUrl);

    const after = await senderRow(user.id);
    assert.equal(after.id, before.id);
    assert.equal(after.consent_state, 'granted');
    assert.ok(!after.token_ciphertext!.equals(before.token_ciphertext!));
    assert.equal(world.sim.getDraft(next), undefined);
    await context.close();
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
