import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TransferWakeListener } from '../../src/transfers/transfer-wake.listener';
import { ADMIN_ENV, ALICE_TOKEN } from '../admin/admin-fixtures';
import { ArchiveWorld } from '../support/archive-world';

/**
 * The archive job is woken on commit (LISTEN/NOTIFY) rather than at its next poll. Polls here are a
 * minute apart, so only the wake-up can archive within seconds; a lost wake-up connection is re-opened,
 * and polling finds what it missed.
 */
describe('waking the archive job on commit', () => {
  let world: ArchiveWorld;

  before(async () => {
    world = await ArchiveWorld.start({ env: { ARCHIVE_POLL_INTERVAL_MS: '60000', ...ADMIN_ENV } });
  });
  after(async () => world?.close());

  const listener = () => world.svc!.app.get(TransferWakeListener);

  async function waitUntil(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`${what} within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('a callback is archived within seconds although the next poll is a minute away', async () => {
    await waitUntil(() => listener().listening, 5_000, 'the listener connects');
    // The job's start-up pass is over: from here, only a wake-up (or a poll a minute away) claims work.
    await new Promise((r) => setTimeout(r, 300));
    const envelope = world.createEnvelope();
    world.sim.finishEnvelope(envelope.id, 'Completed');
    const before = listener().received;
    const sent = Date.now();
    assert.equal(await world.sendCallback(envelope.id), 200);
    await world.waitForState(envelope.id, ['done'], 10_000);
    assert.ok(Date.now() - sent < 10_000);
    assert.ok(listener().received > before, 'woken by a notification');
  });

  it("an operator's retry wakes the job too", async () => {
    const envelope = world.createEnvelope();
    world.sim.finishEnvelope(envelope.id, 'Completed');
    world.sim.addFault({
      endpoint: 'envelope.get',
      envelopeId: envelope.id,
      fault: { kind: 'status', status: 403 },
    });
    assert.equal(await world.sendCallback(envelope.id), 200);
    const failed = await world.waitForState(envelope.id, ['failed'], 10_000);
    world.sim.clearFaults();
    const answer = await fetch(`${world.svc!.url}/admin/transfers/${failed.id}/retry`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ALICE_TOKEN}` },
    });
    assert.equal(answer.status, 200, await answer.text());
    await world.waitForState(envelope.id, ['done'], 10_000);
  });

  it('a lost wake-up connection is re-opened, and what became due meanwhile is found', async () => {
    await waitUntil(() => listener().listening, 5_000, 'the listener connects');
    const [{ n }] = await world.query<{ n: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
        WHERE application_name = 'esign-archiver-wake' AND datname = current_database()`,
    );
    assert.equal(n, 1, 'one wake-up connection');
    await waitUntil(() => !listener().listening, 5_000, 'the loss is noticed');
    const envelope = world.createEnvelope();
    world.sim.finishEnvelope(envelope.id, 'Completed');
    assert.equal(await world.sendCallback(envelope.id), 200);
    // Re-opened within a second or so; it then looks for work at once, so no minute-long poll is waited.
    await world.waitForState(envelope.id, ['done'], 15_000);
    assert.ok(listener().listening);
  });
});
