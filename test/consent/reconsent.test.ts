import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { EsignAnywhereClient } from '../../src/platforms/esignanywhere/esignanywhere.client';
import { PlatformError } from '../../src/platforms/platform-error';
import { SIGNING_PLATFORMS, type SigningPlatforms } from '../../src/platforms/signing-platform';
import { SenderTokenResolver } from '../../src/senders/sender-token.resolver';
import type { SimUser } from '../simulators/esignanywhere/esignanywhere-simulator.types';
import { ConsentWorld, get, pageOutcome } from './consent-world';

// A sender revokes the archive service's access in eSignAnyWhere. The archive job's side is played
// here by the same calls it makes (SenderTokenResolver.resolve, the platform client, markRejected)
// and by transfer rows in `needs_consent`; the mail link /consent/start then re-grants in Chromium.

interface TransferRow {
  envelope_id: string;
  state: string;
  cause: string | null;
  state_version: number;
  next_attempt_at: Date;
}

describe('re-consent after a revoked token', () => {
  let world: ConsentWorld;
  let resolver: SenderTokenResolver;
  let platforms: SigningPlatforms;
  const esaw = () => platforms.get('esignanywhere')!;
  let client: EsignAnywhereClient;

  before(async () => {
    world = await ConsentWorld.start();
    resolver = world.svc.app.get(SenderTokenResolver);
    platforms = world.svc.app.get<SigningPlatforms>(SIGNING_PLATFORMS);
    client = world.svc.app.get(EsignAnywhereClient);
  });
  after(async () => {
    await world?.close();
  });

  /** The sender sends a draft through the before-send page (granting access on the first one). */
  async function sendThroughBeforeSend(user: SimUser, draftId: string, grant = true): Promise<string> {
    const context = await world.newContext();
    const page = await context.newPage();
    await page.goto(world.beforeSendUrl(draftId));
    if (grant) await world.decide(page, user, 'approve');
    await page.waitForURL(world.inboxUrl);
    await context.close();
    const [note] = await world.query<{ envelope_id: string }>(
      'SELECT envelope_id FROM envelope_senders WHERE draft_id = $1',
      [draftId.toLowerCase()],
    );
    return note.envelope_id;
  }

  async function insertTransfer(envelopeId: string, state: string, archived: boolean): Promise<void> {
    await world.query(
      `INSERT INTO transfers (platform, envelope_id, state, cause, next_attempt_at, archived_at, state_version)
       VALUES ('esignanywhere', $1, $2, $3, now() + interval '30 days', $4, 3)`,
      [envelopeId, state, state === 'needs_consent' ? 'token_rejected' : null, archived ? new Date() : null],
    );
  }

  const transfer = async (envelopeId: string) =>
    (await world.query<TransferRow>('SELECT * FROM transfers WHERE envelope_id = $1', [envelopeId]))[0];

  it('the sender re-grants from the mail link and their paused transfers resume by themselves', async () => {
    const { user, draftId } = world.senderWithDraft();
    const sent = await sendThroughBeforeSend(user, draftId);
    const archivedOnly = await sendThroughBeforeSend(user, world.draftOf(user), false);
    const other = world.senderWithDraft();
    const othersEnvelope = await sendThroughBeforeSend(other.user, other.draftId);

    // The archive job's view before the revocation: the sender's own token.
    const resolved = await resolver.resolve(esaw(), sent);
    assert.equal(resolved.kind, 'token');
    assert.equal(
      (await client.getEnvelope((resolved as { token: string }).token, sent)).id.toLowerCase(),
      sent,
    );

    // The sender revokes the app; the job's next call is refused and it pauses the transfers.
    world.sim.revokeAllTokens(user.id);
    const refused = await client.getEnvelope((resolved as { token: string }).token, sent).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(refused instanceof PlatformError && refused.code === 'UNAUTHORIZED');
    const senderId = (resolved as { sender: { senderId: string } }).sender.senderId;
    await resolver.markRejected(senderId);
    await insertTransfer(sent, 'needs_consent', false);
    await insertTransfer(archivedOnly, 'needs_consent', true);
    await insertTransfer(othersEnvelope, 'needs_consent', false);
    assert.equal((await resolver.resolve(esaw(), sent)).kind, 'needs_consent');

    // The link from the "token rejected" mail, in the sender's browser.
    const context = await world.newContext();
    const page = await context.newPage();
    await page.goto(`${world.publicUrl}/consent/start?sender=${encodeURIComponent(user.id)}`);
    const granted = page.waitForResponse((r) =>
      r.url().startsWith(`${world.publicUrl}/consent/oauth/callback`),
    );
    await world.decide(page, user, 'approve');
    assert.equal((await granted).status(), 200);
    assert.equal(await pageOutcome(page), 'granted');
    assert.match(
      await page.locator('main').innerText(),
      /2 envelopes that were waiting for this will now be archived/,
    );
    await context.close();

    const [resumed, afterArchive, untouched] = await Promise.all([
      transfer(sent),
      transfer(archivedOnly),
      transfer(othersEnvelope),
    ]);
    assert.equal(resumed.state, 'pending');
    assert.equal(resumed.cause, null);
    assert.equal(resumed.state_version, 4);
    assert.ok(resumed.next_attempt_at.getTime() <= Date.now() + 1000, 'due now');
    assert.equal(afterArchive.state, 'archived', 'already copied: only the platform delete is left');
    assert.equal(untouched.state, 'needs_consent', "another sender's transfer stays paused");

    // The job's next lookup finds the new token, and it works.
    const fresh = await resolver.resolve(esaw(), sent);
    assert.equal(fresh.kind, 'token');
    assert.notEqual((fresh as { token: string }).token, (resolved as { token: string }).token);
    assert.equal((await client.getEnvelope((fresh as { token: string }).token, sent)).id.toLowerCase(), sent);
    const [row] = await world.query<{ consent_state: string; token_rejected_at: Date | null }>(
      'SELECT consent_state, token_rejected_at FROM senders WHERE id = $1',
      [senderId],
    );
    assert.deepEqual(row, { consent_state: 'granted', token_rejected_at: null });
  });

  it('a mail link opened while the token still works asks nothing and resumes paused transfers', async () => {
    const { user, draftId } = world.senderWithDraft();
    const envelope = await sendThroughBeforeSend(user, draftId);
    await insertTransfer(envelope, 'needs_consent', false);
    world.sim.clearRequests();

    const res = await get(`${world.publicUrl}/consent/start?sender=${encodeURIComponent(user.id)}`);
    const html = await res.text();
    assert.equal(res.status, 200);
    assert.match(html, /Access is already granted/);
    assert.deepEqual(world.sim.requests({ endpoint: 'oauth.authorize' }), []);
    assert.equal((await transfer(envelope)).state, 'pending');
  });

  it('re-consent granted by another eSignAnyWhere account is refused: the sender keeps waiting, nothing replaced', async () => {
    const { user, draftId } = world.senderWithDraft();
    const envelope = await sendThroughBeforeSend(user, draftId);
    world.sim.revokeAllTokens(user.id);
    const [before] = await world.query<{ id: string; token_ciphertext: Buffer }>(
      'SELECT id, token_ciphertext FROM senders WHERE platform_user_id = $1',
      [user.id],
    );
    await resolver.markRejected(before.id);
    await insertTransfer(envelope, 'needs_consent', false);

    const { user: colleague } = world.sim.createUser();
    world.sim.setOAuthDecision({ decision: 'approve', userId: colleague.id });
    try {
      const start = await get(`${world.publicUrl}/consent/start?sender=${encodeURIComponent(user.id)}`);
      const cookie = start.headers.getSetCookie()[0].split(';')[0];
      const authorized = await get(start.headers.get('location')!);
      const res = await get(authorized.headers.get('location')!, cookie);
      assert.equal(res.status, 403);
      assert.match(await res.text(), /data-outcome="WRONG_ACCOUNT"/);
    } finally {
      world.sim.setOAuthDecision(null);
    }
    const [after] = await world.query<{ consent_state: string; token_ciphertext: Buffer }>(
      'SELECT consent_state, token_ciphertext FROM senders WHERE id = $1',
      [before.id],
    );
    assert.equal(after.consent_state, 'rejected');
    assert.ok(after.token_ciphertext.equals(before.token_ciphertext));
    assert.equal((await transfer(envelope)).state, 'needs_consent');
  });

  it('a mail link for a sender this service never saw is a 404 page and starts nothing', async () => {
    const res = await get(`${world.publicUrl}/consent/start?sender=${randomUUID()}`);
    assert.equal(res.status, 404);
    assert.match(await res.text(), /data-outcome="UNKNOWN_SENDER"/);
  });
});
