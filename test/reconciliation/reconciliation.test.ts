import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ReconciliationService } from '../../src/reconciliation/reconciliation.service';
import { SenderGrantService } from '../../src/senders/sender-grant.service';
import { SenderRepository } from '../../src/senders/sender.repository';
import { ArchiveWorld } from '../support/archive-world';

const ADMIN_TOKEN = 'ops:reconcile-admin-token-0123';

async function waitUntil<T>(
  what: string,
  read: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('reconciliation: envelopes no callback announced are found, archived and deleted', () => {
  let world: ArchiveWorld;
  before(async () => {
    world = await ArchiveWorld.start({ env: { ADMIN_TOKENS: ADMIN_TOKEN } });
  });
  after(async () => {
    await world.close();
  });

  const transferOf = (envelopeId: string) =>
    world.query<{ state: string; origin: string; platform_deleted_at: Date | null }>(
      'SELECT state, origin, platform_deleted_at FROM transfers WHERE envelope_id = $1',
      [envelopeId.toLowerCase()],
    );

  it('a canceled envelope (no callback at all) and an expired one (announced only on the status URL) are archived through reconciliation', async () => {
    // The organisation has only the "completed envelope" URL set, as many installations do.
    world.sim.setStatusUpdateCallbackUrlTemplate(undefined);
    const completed = world.createEnvelope();
    const canceled = world.createEnvelope();
    const expired = world.createEnvelope();
    world.sim.finishEnvelope(completed.id, 'Completed');
    world.sim.finishEnvelope(canceled.id, 'Canceled');
    world.sim.expireEnvelope(expired.id);
    await world.waitForState(completed.id, ['done']);
    // Neither of the other two reached the service.
    assert.equal((await transferOf(canceled.id)).length, 0);
    assert.equal((await transferOf(expired.id)).length, 0);
    assert.equal(world.sim.callbackDeliveries(canceled.id).length, 0, 'no callback for a canceled envelope');

    const [result] = await world.svc!.app.get(ReconciliationService).runAll();
    assert.equal(result.platform, 'esignanywhere');
    assert.equal(result.outcome, 'ok', result.errors.join('; '));
    // The completed one is archived and deleted on the platform already: it is not listed any more.
    assert.equal(result.found, 2);
    assert.equal(result.created, 2);

    for (const id of [canceled.id, expired.id]) {
      const row = await world.waitForState(id, ['done']);
      assert.ok(row.platform_deleted_at, 'deleted on the platform after the proven copy');
      assert.equal((await transferOf(id))[0].origin, 'reconciliation');
      assert.equal(world.sim.getEnvelope(id)?.deleted, true);
      const keys = await world.listKeys(`archive/`);
      assert.ok(
        keys.some((k) => k.includes(id.toLowerCase()) && k.endsWith('/manifest.json')),
        'the manifest proves the copy',
      );
    }
    assert.equal((await transferOf(completed.id))[0].origin, 'callback');

    // Two runs in a row: the second finds the envelope again (until it is deleted) and creates nothing.
    const keptTwin = world.createEnvelope();
    world.sim.finishEnvelope(keptTwin.id, 'Canceled');
    const [first] = await world.svc!.app.get(ReconciliationService).runAll();
    assert.equal(first.created, 1);
    const [again] = await world.svc!.app.get(ReconciliationService).runAll();
    assert.equal(again.created, 0, 'an envelope with a transfer is not created twice');
    await world.waitForState(keptTwin.id, ['done']);

    // Ops see it: the summary, the transfer views, the metrics.
    const summary = (await (
      await fetch(`${world.svc!.url}/admin/summary`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN.split(':')[1]}` },
      })
    ).json()) as {
      reconciliation: {
        platform: string;
        foundOnlyByReconciliation7d: number;
        lastRun: { created: number; outcome: string } | null;
      }[];
    };
    const esaw = summary.reconciliation.find((r) => r.platform === 'esignanywhere');
    assert.equal(esaw?.foundOnlyByReconciliation7d, 3);
    assert.equal(esaw?.lastRun?.outcome, 'ok');
    const list = (await (
      await fetch(`${world.svc!.url}/admin/transfers?q=${canceled.id}`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN.split(':')[1]}` },
      })
    ).json()) as { items: { origin: string }[] };
    assert.deepEqual(
      list.items.map((i) => i.origin),
      ['reconciliation'],
    );
    const metrics = await (await fetch(`${world.svc!.url}/metrics`)).text();
    assert.match(metrics, /esign_transfers_found_by_reconciliation_7d\{platform="esignanywhere"\} 3/);
    assert.match(
      metrics,
      /esign_reconciliation_last_run_timestamp_seconds\{platform="esignanywhere",outcome="ok"\} \d/,
    );
    // A callback came moments ago: no silence alert.
    assert.equal(world.smtp.messages.filter((m) => /callbacks look broken/.test(m.subject)).length, 0);
  });

  it('an expired envelope is announced on the status URL when it is configured, and archived from its callback', async () => {
    world.sim.setStatusUpdateCallbackUrlTemplate(world.callbackTemplate(world.svc!.url));
    const expired = world.createEnvelope();
    world.sim.expireEnvelope(expired.id);
    await world.waitForState(expired.id, ['done']);
    assert.equal((await transferOf(expired.id))[0].origin, 'callback');
    assert.ok(
      world.sim
        .callbackDeliveries(expired.id)
        .some((d) => d.action === 'envelopeExpired' && d.channel === 'statusUpdateCallbackUrl'),
    );
  });
});

describe('reconciliation when callbacks have gone silent', () => {
  let world: ArchiveWorld;
  before(async () => {
    world = await ArchiveWorld.start({ env: { CALLBACK_SILENCE_ALERT: '1' } });
  });
  after(async () => {
    await world.close();
  });

  it('tells ops once that the callbacks look broken, with the count and the oldest envelope', async () => {
    world.sim.setCallbackUrlTemplate(undefined);
    world.sim.setStatusUpdateCallbackUrlTemplate(undefined);
    const envelopes = [world.createEnvelope(), world.createEnvelope()];
    for (const e of envelopes) world.sim.finishEnvelope(e.id, 'Completed');
    const [result] = await world.svc!.app.get(ReconciliationService).runAll();
    assert.equal(result.created, 2);
    const [mail] = await world.smtp
      .waitFor(1, 20_000)
      .then((all) => all.filter((m) => /callbacks look broken/.test(m.subject)));
    assert.ok(mail, 'one silence mail');
    assert.match(mail.text ?? '', /2 finished envelope\(s\)/);
    assert.match(mail.text ?? '', /no callback from it has ever arrived/);
    const oldest = envelopes.map((e) => e.id.toLowerCase()).sort()[0];
    assert.match(mail.text ?? '', new RegExp(`Oldest such envelope: ${oldest}`));
    for (const e of envelopes) await world.waitForState(e.id, ['done']);
    // The same silence does not mail again.
    const more = world.createEnvelope();
    world.sim.finishEnvelope(more.id, 'Completed');
    await world.svc!.app.get(ReconciliationService).runAll();
    await world.waitForState(more.id, ['done']);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(world.smtp.messages.filter((m) => /callbacks look broken/.test(m.subject)).length, 1);
  });
});

describe('eSignAnyWhere as it really answers', () => {
  let world: ArchiveWorld;
  before(async () => {
    world = await ArchiveWorld.start({
      env: { TOKEN_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 9).toString('base64')}` },
    });
  });
  after(async () => {
    await world.close();
  });

  it("an envelope refused with ERR0014 fails alone as forbidden; the same sender's other envelopes archive", async () => {
    const refused = world.createEnvelope();
    const others = [world.createEnvelope(), world.createEnvelope()];
    // The sender granted access: their own stored token acts for all three.
    const { senderId } = await world.svc!.app.get(SenderGrantService).storeGrant({
      platform: 'esignanywhere',
      platformUserId: world.senderId,
      organizationId: null,
      token: world.senderToken,
    });
    const senders = world.svc!.app.get(SenderRepository);
    for (const e of [refused, ...others]) {
      await senders.noteSentEnvelope('esignanywhere', e.id.toLowerCase(), senderId, e.id.toLowerCase());
    }
    world.sim.addFault({
      endpoint: 'envelope.get',
      envelopeId: refused.id,
      fault: { kind: 'apiError', errorId: 'ERR0014' },
    });
    world.sim.finishEnvelope(refused.id, 'Completed');
    for (const e of others) world.sim.finishEnvelope(e.id, 'Completed');
    const row = await world.waitForState(refused.id, ['failed', 'needs_consent']);
    assert.equal(row.state, 'failed');
    assert.equal(row.cause, 'forbidden');
    for (const e of others) await world.waitForState(e.id, ['done']);
    assert.equal(world.sim.getEnvelope(refused.id)?.deleted, false, 'kept on the platform');
    const mails = await waitUntil('the ops mail', () => {
      const found = world.smtp.messages.filter((m) => m.subject.includes(refused.id.toLowerCase()));
      return Promise.resolve(found.length > 0 ? found : undefined);
    });
    assert.match(mails[0].subject, /forbidden/);
    assert.equal(world.smtp.messages.filter((m) => /grant API access again/.test(m.subject)).length, 0);
    const [sender] = await world.query<{ consent_state: string }>(
      'SELECT consent_state FROM senders WHERE id = $1',
      [senderId],
    );
    assert.equal(sender.consent_state, 'granted', "one refused envelope does not pause the sender's token");
  });

  it('an envelope still reported Active after its callback waits, then archives', async () => {
    const lagging = world.createEnvelope({ statusLagMs: 1500 });
    world.sim.finishEnvelope(lagging.id, 'Completed');
    await world.waitForState(lagging.id, ['waiting']);
    const row = await world.waitForState(lagging.id, ['done']);
    assert.ok(row.platform_deleted_at);
  });

  it('answers without MetaData and sender information are archived; a canceled envelope without Documents keeps its audit trail', async () => {
    const bare = world.createEnvelope({ quirks: { omitMetaData: true, senderUserInformation: 'absent' } });
    world.sim.finishEnvelope(bare.id, 'Completed');
    await world.waitForState(bare.id, ['done']);
    const canceled = world.createEnvelope({ quirks: { documents: 'null' } });
    world.sim.finishEnvelope(canceled.id, 'Canceled');
    await world.sendCallback(canceled.id, 'envelopeFinished');
    await world.waitForState(canceled.id, ['done']);
    const keys = await world.listKeys('archive/');
    assert.ok(keys.some((k) => k.includes(canceled.id.toLowerCase()) && k.includes('/audit_trail_pdf/')));
  });

  it('a completed envelope that lists no document is never archived as empty nor deleted', async () => {
    const empty = world.createEnvelope({ quirks: { documents: 'absent' } });
    world.sim.finishEnvelope(empty.id, 'Completed');
    const row = await world.waitForState(empty.id, ['failed']);
    assert.equal(row.cause, 'protocol_error');
    assert.equal(world.sim.getEnvelope(empty.id)?.deleted, false);
  });

  it('a status the service does not know is retried, then fails with its own cause, and nothing is deleted', async () => {
    const odd = world.createEnvelope();
    world.sim.finishEnvelope(odd.id, 'Completed');
    world.sim.setEnvelopeQuirks(odd.id, { reportedStatus: 'Archived' });
    const row = await world.waitForState(odd.id, ['failed']);
    assert.equal(row.cause, 'unknown_status');
    assert.equal(row.last_error_class, 'UNKNOWN_STATUS');
    assert.ok(row.attempts >= 3, `retried first (${row.attempts} attempts)`);
    assert.equal(world.sim.getEnvelope(odd.id)?.deleted, false);
  });

  it('an envelope created through API v5 (ERR0063) fails with its own cause', async () => {
    const old = world.createEnvelope({ quirks: { createdWithApiV5: true } });
    world.sim.finishEnvelope(old.id, 'Completed');
    const row = await world.waitForState(old.id, ['failed']);
    assert.equal(row.cause, 'unsupported_envelope');
    assert.equal(world.sim.getEnvelope(old.id)?.deleted, false);
  });
});
