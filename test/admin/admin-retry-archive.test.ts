import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { ArchiveWorld } from '../support/archive-world';
import { launchBrowser } from '../support/browser';
import { ADMIN_ENV, ALICE_TOKEN } from './admin-fixtures';

// The operator's one action, end to end: a transfer failed for real in the pipeline, the cause is
// fixed outside (here: the platform serves the PDF intact again), a click on Retry in the page, and
// the page shows the envelope archived, with the copy in S3 and the envelope deleted.
describe('retrying a failed transfer from the admin page', () => {
  let world: ArchiveWorld;
  let browser: Browser;
  before(async () => {
    world = await ArchiveWorld.start({ env: ADMIN_ENV });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await world?.close();
  });

  it('a click on Retry archives it and the page shows it archived', async () => {
    const envelope = world.createEnvelope({ callbackUrl: null });
    world.sim.finishEnvelope(envelope.id, 'Completed');
    const [doc] = world.sim.envelopeFiles(envelope.id).filter((f) => f.kind === 'document');
    const fault = world.sim.addFault({
      endpoint: 'file.get',
      fileId: doc.fileId,
      fault: { kind: 'corruptPdf' },
    });
    assert.equal(await world.sendCallback(envelope.id), 200);
    const failed = await world.waitForState(envelope.id, ['failed']);
    assert.equal(failed.cause, 'corrupt_pdf');
    world.sim.removeFault(fault);

    const page = await (await browser.newContext()).newPage();
    await page.goto(`${world.svc!.url}/admin`);
    await page.getByLabel('Admin token').fill(ALICE_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const row = page.locator(`#attention tr[data-transfer-id="${failed.id}"]`);
    await row.waitFor();
    // Named after the envelope, now that the archive job has recorded its name.
    await page.getByRole('button', { name: `Retry envelope ${envelope.name}` }).click();
    await row.waitFor({ state: 'detached' });

    await world.waitForState(envelope.id, ['done']);
    await page.getByRole('button', { name: 'Refresh', exact: true }).click();
    await page.locator(`#archived tr[data-transfer-id="${failed.id}"]`).waitFor();
    assert.match((await page.locator('#archived').textContent()) ?? '', new RegExp(envelope.id));
    assert.equal(world.sim.requests({ endpoint: 'envelope.delete', envelopeId: envelope.id }).length, 1);
    const [{ n }] = await world.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM admin_actions WHERE actor = 'alice' AND action = 'retry' AND $1 = ANY(transfer_ids)`,
      [failed.id],
    );
    assert.equal(n, 1);
  });
});
