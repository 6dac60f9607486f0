import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { SIGNING_PLATFORMS, type SigningPlatforms } from '../../src/platforms/signing-platform';
import { SenderTokenResolver } from '../../src/senders/sender-token.resolver';
import type { SimUser } from '../simulators/esignanywhere/esignanywhere-simulator.types';
import { bindingCookie, ConsentWorld, get, pageOutcome } from './consent-world';

// The before-send URL is public and its parameters are whatever the browser sends, so nothing a
// request says about a sender may change that sender's token, consent state or address until the
// platform itself has named the signed-in account as that sender.

interface SenderRow {
  id: string;
  consent_state: string;
  token_ciphertext: Buffer | null;
  token_key_id: string | null;
  email: string | null;
  consented_at: Date | null;
  token_rejected_at: Date | null;
}

const s256 = (value: string) => createHash('sha256').update(value, 'ascii').digest('base64url');

describe('the before-send page cannot be used against a sender', () => {
  let world: ConsentWorld;
  let resolver: SenderTokenResolver;
  let platforms: SigningPlatforms;
  const esaw = () => platforms.get('esignanywhere')!;

  before(async () => {
    // Another user's draft answers 403 ERR0010 here, one reading of a status the platform does not
    // document; under it a foreign draft looks like a refused token.
    world = await ConsentWorld.start({ sim: { foreignObjectStatus: 403 } });
    resolver = world.svc.app.get(SenderTokenResolver);
    platforms = world.svc.app.get<SigningPlatforms>(SIGNING_PLATFORMS);
  });
  after(async () => {
    await world?.close();
  });
  beforeEach(() => {
    world.sim.clearFaults();
    world.sim.clearRequests();
    world.sim.setOAuthDecision(null);
  });

  const senderRow = async (userId: string): Promise<SenderRow | undefined> =>
    (await world.query<SenderRow>('SELECT * FROM senders WHERE platform_user_id = $1', [userId]))[0];

  /** A sender who granted access in their browser; the draft became an envelope with a transfer. */
  async function grantedSender(): Promise<{ user: SimUser; envelopeId: string; row: SenderRow }> {
    const { user, draftId } = world.senderWithDraft();
    const context = await world.newContext();
    const page = await context.newPage();
    await page.goto(world.beforeSendUrl(draftId));
    await world.decide(page, user, 'approve');
    await page.waitForURL(world.inboxUrl);
    await context.close();
    const [{ envelope_id: envelopeId }] = await world.query<{ envelope_id: string }>(
      'SELECT envelope_id FROM envelope_senders WHERE draft_id = $1',
      [draftId.toLowerCase()],
    );
    await world.query(
      `INSERT INTO transfers (platform, envelope_id, state) VALUES ('esignanywhere', $1, 'pending')`,
      [envelopeId],
    );
    const row = await senderRow(user.id);
    assert.ok(row && row.consent_state === 'granted' && row.email === user.email);
    return { user, envelopeId, row };
  }

  async function assertUnchanged(user: SimUser, before: SenderRow): Promise<void> {
    const now = await senderRow(user.id);
    assert.ok(now);
    assert.equal(now.consent_state, before.consent_state);
    assert.equal(now.token_rejected_at?.getTime(), before.token_rejected_at?.getTime());
    assert.equal(now.consented_at?.getTime(), before.consented_at?.getTime());
    assert.ok(now.token_ciphertext?.equals(before.token_ciphertext!), 'the stored token is the same');
    assert.equal(now.email, before.email);
  }

  it("an unauthenticated before-send with someone else's draft leaves the sender's token, state and address alone", async () => {
    const alice = await grantedSender();
    const held = await resolver.resolve(esaw(), alice.envelopeId);
    assert.equal(held.kind, 'token');
    const mallory = world.senderWithDraft();

    const forged = (draftId: string) =>
      `${world.publicUrl}/consent/before-send?envelope=${draftId}&sender=${encodeURIComponent(alice.user.id)}` +
      `&org=${encodeURIComponent(alice.user.organizationId)}`;
    const missing = await get(forged(randomUUID()));
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /data-outcome="DRAFT_NOT_FOUND"/);
    const foreign = await get(forged(mallory.draftId));
    assert.equal(foreign.status, 302, 'at most, a sign-in is offered');
    assert.ok(foreign.headers.get('location')!.startsWith(world.sim.authorizeUrl));

    await assertUnchanged(alice.user, alice.row);
    // What the archive job asks next: the same working token, so nothing is paused.
    const after = await resolver.resolve(esaw(), alice.envelopeId);
    assert.equal(after.kind, 'token');
    assert.equal((after as { token: string }).token, (held as { token: string }).token);
    const [transfer] = await world.query<{ state: string }>(
      'SELECT state FROM transfers WHERE envelope_id = $1',
      [alice.envelopeId],
    );
    assert.equal(transfer.state, 'pending');
    assert.ok(world.sim.getDraft(mallory.draftId), "mallory's draft was not sent");
  });

  it("a sign-in by another account on the sender's before-send page is refused with a clear page and stores nothing", async () => {
    const alice = await grantedSender();
    const mallory = world.senderWithDraft();
    world.sim.clearRequests();

    const context = await world.newContext();
    const page = await context.newPage();
    await page.goto(
      `${world.publicUrl}/consent/before-send?envelope=${mallory.draftId}&sender=${encodeURIComponent(alice.user.id)}`,
    );
    const callback = page.waitForResponse((r) =>
      r.url().startsWith(`${world.publicUrl}/consent/oauth/callback`),
    );
    await world.decide(page, mallory.user, 'approve');
    const response = await callback;

    assert.equal(response.status(), 403);
    assert.equal(await pageOutcome(page), 'WRONG_ACCOUNT');
    assert.match(await page.locator('h1').innerText(), /Signed in with another account/);
    assert.match(await page.locator('main').innerText(), /nothing was stored/i);
    await context.close();

    await assertUnchanged(alice.user, alice.row);
    assert.equal(await senderRow(mallory.user.id), undefined);
    const whoami = world.sim.requests({ endpoint: 'authorization.whoami' });
    assert.deepEqual(
      whoami.map((r) => [r.userId, r.status]),
      [[mallory.user.id, 200]],
      'the platform was asked whose token the grant gave',
    );
    assert.deepEqual(world.sim.requests({ endpoint: 'draft.send', userId: mallory.user.id }), []);
    assert.ok(world.sim.getDraft(mallory.draftId));
    const held = await resolver.resolve(esaw(), alice.envelopeId);
    assert.equal(held.kind, 'token');
    const check = await fetch(`${world.sim.baseUrl}/v6/envelope/${alice.envelopeId}`, {
      headers: { ApiToken: (held as { token: string }).token },
    });
    assert.equal(check.status, 200, "alice's own token is still the one stored");
  });

  it('a sender waiting to grant access again cannot be given another account’s token either', async () => {
    const alice = await grantedSender();
    // The archive job's own call was refused: it marked the token rejected.
    await resolver.markRejected(alice.row.id);
    const rejected = (await senderRow(alice.user.id))!;
    const mallory = world.senderWithDraft();

    world.sim.setOAuthDecision({ decision: 'approve', userId: mallory.user.id });
    const start = await get(
      `${world.publicUrl}/consent/before-send?envelope=${mallory.draftId}&sender=${encodeURIComponent(alice.user.id)}`,
    );
    assert.equal(start.status, 302);
    const authorized = await get(start.headers.get('location')!);
    const res = await get(authorized.headers.get('location')!, bindingCookie(start));
    assert.equal(res.status, 403);
    assert.match(await res.text(), /data-outcome="WRONG_ACCOUNT"/);

    await assertUnchanged(alice.user, rejected);
    assert.equal((await senderRow(alice.user.id))?.consent_state, 'rejected');
    assert.equal(await senderRow(mallory.user.id), undefined);
    assert.ok(world.sim.getDraft(mallory.draftId));
  });

  it('a sender who signs in as themselves is stored with the address the platform gives for their account', async () => {
    const { user, draftId } = world.senderWithDraft();
    // The sent envelope cannot be read: the address can only come from the identity answer.
    world.sim.addFault({ endpoint: 'envelope.get', fault: { kind: 'status', status: 503 } });
    const context = await world.newContext();
    const page = await context.newPage();
    await page.goto(world.beforeSendUrl(draftId));
    await world.decide(page, user, 'approve');
    await page.waitForURL(world.inboxUrl);
    await context.close();

    const row = await senderRow(user.id);
    assert.equal(row?.consent_state, 'granted');
    assert.equal(row?.email, user.email);
    assert.deepEqual(
      world.sim.requests({ endpoint: 'authorization.whoami' }).map((r) => [r.userId, r.status]),
      [[user.id, 200]],
    );
    assert.equal(world.sim.getDraft(draftId), undefined, 'the draft went out');
    assert.deepEqual(
      world.sim.requests({ endpoint: 'draft.send' }).map((r) => [r.userId, r.status]),
      [[user.id, 200]],
    );
  });

  it('once used, neither the OAuth state nor the PKCE verifier can be read from the database', async () => {
    const readable = async (state: string, challenge: string): Promise<string[]> => {
      const found: string[] = [];
      for (const row of await world.query('SELECT * FROM oauth_states')) {
        for (const [column, value] of Object.entries(row)) {
          if (typeof value !== 'string') continue;
          if (value === state) found.push(`${column} holds the state`);
          if (/^[A-Za-z0-9._~-]{43,128}$/.test(value) && s256(value) === challenge) {
            found.push(`${column} holds the verifier`);
          }
        }
      }
      return found;
    };

    for (const decision of ['approve', 'deny'] as const) {
      const { user, draftId } = world.senderWithDraft();
      world.sim.setOAuthDecision({ decision, userId: user.id });
      const start = await get(world.beforeSendUrl(draftId));
      const authorize = new URL(start.headers.get('location')!);
      const state = authorize.searchParams.get('state')!;
      const challenge = authorize.searchParams.get('code_challenge')!;
      assert.deepEqual(await readable(state, challenge), ['code_verifier holds the verifier'], 'in use');

      const callback = await get((await get(authorize.href)).headers.get('location')!, bindingCookie(start));
      assert.equal(callback.status, decision === 'approve' ? 302 : 403);
      assert.deepEqual(await readable(state, challenge), [], `after a callback that ended in ${decision}`);
      const [row] = await world.query<{ used_at: Date | null }>(
        'SELECT used_at FROM oauth_states WHERE state_hash = $1',
        [createHash('sha256').update(state).digest('hex')],
      );
      assert.ok(row.used_at instanceof Date, 'the hash stays to recognise a replay');
    }

    // A flow abandoned until it expired keeps no verifier past the next start.
    const { draftId } = world.senderWithDraft();
    const abandoned = new URL((await get(world.beforeSendUrl(draftId))).headers.get('location')!);
    await world.query(
      `UPDATE oauth_states SET expires_at = now() - interval '1 second' WHERE used_at IS NULL`,
    );
    await get(world.beforeSendUrl(world.senderWithDraft().draftId));
    assert.deepEqual(
      await readable(abandoned.searchParams.get('state')!, abandoned.searchParams.get('code_challenge')!),
      [],
    );
  });
});
