import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TEST_CALLBACK_TOKEN } from '../support/app';
import { startTestS3, type TestS3 } from '../support/s3';
import { startTestSmtp, type TestSmtp } from '../support/smtp';
import { ConsentWorld, pageOutcome } from './consent-world';

// The whole story of a revoked grant: the sender sends through the before-send page (granting
// access), later revokes it, the envelope finishes, the archive job is refused and pauses the
// transfer, the sender gets a mail with the link, grants access again in the browser, and the
// envelope is archived and deleted with the sender's new token.
describe('a sender revokes access and grants it again from the mail link', () => {
  let world: ConsentWorld;
  let s3: TestS3;
  let smtp: TestSmtp;

  before(async () => {
    [s3, smtp] = await Promise.all([startTestS3(), startTestSmtp()]);
    world = await ConsentWorld.start({
      env: {
        S3_ENDPOINT: s3.endpoint,
        S3_BUCKET: s3.bucket,
        S3_ACCESS_KEY_ID: 'S3RVER',
        S3_SECRET_ACCESS_KEY: 'S3RVER',
        S3_FORCE_PATH_STYLE: 'true',
        SMTP_URL: smtp.url,
        ALERT_TO: 'ops@example.com',
        ARCHIVE_ENABLED: 'true',
        ARCHIVE_POLL_INTERVAL_MS: '100',
        RETRY_BASE_DELAY_MS: '100',
        RETRY_MAX_DELAY_MS: '1000',
      },
    });
    world.sim.setCallbackUrlTemplate(
      `${world.publicUrl}/callbacks/esignanywhere?envelope=##EnvelopeId##&action=##Action##&token=${TEST_CALLBACK_TOKEN}`,
    );
  });
  after(async () => {
    await world?.close();
    await Promise.all([s3?.close(), smtp?.close()]);
  });

  const transferState = async (envelopeId: string) =>
    (
      await world.query<{ state: string; cause: string | null }>(
        'SELECT state, cause FROM transfers WHERE envelope_id = $1',
        [envelopeId],
      )
    )[0];
  const waitFor = async (envelopeId: string, state: string) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const row = await transferState(envelopeId);
      if (row?.state === state) return row;
      assert.ok(Date.now() < deadline, `transfer did not reach ${state}; last ${JSON.stringify(row)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('pauses in needs_consent, mails the sender the link, and completes after re-consent', async () => {
    const { user, draftId } = world.senderWithDraft();
    const context = await world.newContext();
    const page = await context.newPage();
    await page.goto(world.beforeSendUrl(draftId));
    await world.decide(page, user, 'approve');
    await page.waitForURL((url) => url.href.startsWith(world.inboxUrl));
    const [{ envelope_id: envelopeId }] = await world.query<{ envelope_id: string }>(
      `SELECT es.envelope_id FROM envelope_senders es JOIN senders s ON s.id = es.sender_id
        WHERE s.platform_user_id = $1 AND es.draft_id = $2`,
      [user.id, draftId.toLowerCase()],
    );

    world.sim.revokeAllTokens(user.id);
    world.sim.finishEnvelope(envelopeId, 'Completed');
    const paused = await waitFor(envelopeId, 'needs_consent');
    assert.equal(paused.cause, 'token_rejected');

    const mails = await smtp.waitFor(1, 30_000);
    const mail = mails.find((m) => m.envelopeTo.includes(user.email));
    assert.ok(
      mail,
      `no mail to the sender ${user.email}; got ${mails.map((m) => m.envelopeTo.join(',')).join(' | ')}`,
    );
    assert.ok(mail.envelopeTo.includes('ops@example.com'));
    const link = /(https?:\/\/\S+\/consent\/start\?sender=\S+)/.exec(mail.text)?.[1];
    assert.ok(link, 'the mail carries the re-consent link');
    assert.ok(link.startsWith(world.publicUrl));

    const again = await context.newPage();
    await again.goto(link);
    await world.decide(again, user, 'approve');
    await again.waitForLoadState();
    assert.equal(await pageOutcome(again), 'granted');

    await waitFor(envelopeId, 'done');
    const deletes = world.sim.requests({ endpoint: 'envelope.delete', envelopeId });
    assert.equal(deletes.length, 1);
    assert.equal(deletes[0].userId, user.id, 'deleted with the sender’s own token');
    const downloads = world.sim.requests({ endpoint: 'file.get' }).filter((r) => r.status === 200);
    assert.ok(downloads.length > 0 && downloads.every((r) => r.userId === user.id));
    const objects = await s3.createStore().listMultipartUploads();
    assert.deepEqual(objects, []);
    await context.close();
  });
});
