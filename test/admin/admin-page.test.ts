import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { Client } from 'pg';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { startTestApp, type RunningApp } from '../support/app';
import { launchBrowser, watchPage, type PageProblems } from '../support/browser';
import {
  ADMIN_ENV,
  ALICE_TOKEN,
  connect,
  failedSeed,
  hourStarts,
  insertAttempt,
  insertSender,
  insertTransfer,
  rows,
} from './admin-fixtures';

/** Not the default bucket, so the page's S3 locations must come from the configuration. */
const BUCKET = 'dms-archive';

/** Elements as the page function sees them (the tests compile without the DOM's types). */
interface WithAttributes {
  getAttribute(name: string): string | null;
}

/** One attribute of every element the locator finds, in document order, read at one moment. */
function attributes(locator: Locator, name: string): Promise<(string | null)[]> {
  return locator.evaluateAll(
    (elements: WithAttributes[], attribute: string) => elements.map((e) => e.getAttribute(attribute)),
    name,
  );
}

/** Retries `read` until it equals `expected` (the page updates after its requests answer). */
async function eventually<T>(
  what: string,
  read: () => Promise<T>,
  expected: T,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!isDeepStrictEqual(last, expected) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    last = await read();
  }
  assert.deepEqual(last, expected, what);
}

describe('admin page in Chromium', () => {
  let svc: RunningApp;
  let db: Client;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: PageProblems;

  before(async () => {
    svc = await startTestApp({ ...ADMIN_ENV, S3_BUCKET: BUCKET });
    db = await connect(svc);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await db?.end();
    await svc?.close();
  });
  beforeEach(async () => {
    // Each test starts from empty tables and a fresh tab.
    await db.query('DELETE FROM transfers');
    await db.query('DELETE FROM transfer_attempts');
    await db.query('DELETE FROM envelope_senders');
    await db.query('DELETE FROM senders');
    context = await browser.newContext();
    page = await context.newPage();
    problems = watchPage(page);
  });
  afterEach(async () => {
    await context?.close();
    assert.deepEqual(
      problems,
      { errors: [], cspViolations: [] },
      'the page ran without errors or CSP violations',
    );
  });

  async function signIn(token = ALICE_TOKEN): Promise<void> {
    await page.goto(`${svc.url}/admin`);
    await page.getByLabel('Admin token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  const row = (transferId: string) => page.locator(`tr[data-transfer-id="${transferId}"]`);

  it('shows a failed transfer under its cause with its error; Retry takes it out of the list and the database records alice', async () => {
    const failed = await insertTransfer(
      db,
      failedSeed({
        cause: 'copy_not_verified',
        lastError: 'sha256 of the stored copy differs from what was read',
        lastErrorClass: 'INTEGRITY',
        senderEmail: 'erin@example.com',
        attempts: 3,
      }),
    );
    const retrying = await insertTransfer(db, {
      state: 'retrying',
      lastError: 'HTTP 503 from the platform',
      lastErrorClass: 'TRANSIENT',
      nextAttemptAt: new Date(Date.now() + 15 * 60_000),
    });
    await signIn();

    const group = page.locator('section.group', {
      has: page.getByRole('heading', {
        name: /Failed: The copy in the object store could not be proven \(copy_not_verified\)/,
      }),
    });
    await group.waitFor();
    const failedRow = group.locator(`tr[data-transfer-id="${failed.id}"]`);
    const cells = await failedRow.locator('td').allTextContents();
    assert.equal(cells[0], failed.envelopeId, 'the id while no name is known');
    assert.equal(cells[1], 'esignanywhere');
    assert.equal(cells[2], 'erin@example.com');
    assert.equal(cells[3], 'INTEGRITY: sha256 of the stored copy differs from what was read');
    assert.equal(cells[4], '3');
    assert.match(cells[5], /not scheduled/);

    const retryingRow = page
      .locator('section.group', { has: page.getByRole('heading', { name: /^Retrying: No cause recorded/ }) })
      .locator(`tr[data-transfer-id="${retrying.id}"]`);
    assert.match((await retryingRow.locator('td').nth(5).textContent()) ?? '', /in 1[45] min/);

    await page.getByRole('button', { name: `Retry envelope ${failed.envelopeId}` }).click();
    await row(failed.id).waitFor({ state: 'detached' });
    await page
      .getByRole('status')
      .filter({ hasText: `Envelope ${failed.envelopeId} retried; it is now pending.` })
      .waitFor();
    assert.equal(await row(retrying.id).count(), 1, 'the other transfer is still listed');

    const [transfer] = await rows(db, 'SELECT state, attempts, cause FROM transfers WHERE id = $1', [
      failed.id,
    ]);
    assert.deepEqual(transfer, { state: 'pending', attempts: 0, cause: null });
    const actions = await rows(db, 'SELECT actor, action FROM admin_actions WHERE $1 = ANY(transfer_ids)', [
      failed.id,
    ]);
    assert.deepEqual(actions, [{ actor: 'alice', action: 'retry' }]);
  });

  it('shows an HTML-looking error, name and warning as text and never runs them', async () => {
    const payload = '<img src=x onerror=alert(1)><script>alert(2)</script>';
    const transfer = await insertTransfer(
      db,
      failedSeed({
        lastError: payload,
        lastErrorClass: 'INTERNAL',
        senderEmail: '<b>mallory</b>@example.com',
        envelopeName: '<svg onload=alert(3)>Offer</svg>',
        warning: 'metadata unusable: <iframe src=javascript:alert(4)>',
      }),
    );
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await signIn();
    await row(transfer.id).waitFor();
    const cells = await row(transfer.id).locator('td').allTextContents();
    assert.equal(cells[2], '<b>mallory</b>@example.com');
    assert.equal(cells[3], `INTERNAL: ${payload}`);
    assert.equal(
      await row(transfer.id).locator('.envelope-name').first().textContent(),
      '<svg onload=alert(3)>Offer</svg>',
    );

    await page
      .getByRole('button', {
        name: `Details of envelope <svg onload=alert(3)>Offer</svg> (${transfer.envelopeId})`,
      })
      .first()
      .click();
    await page.getByRole('dialog').getByText(`INTERNAL: ${payload}`).waitFor();
    await page.getByRole('dialog').getByText('metadata unusable: <iframe src=javascript:alert(4)>').waitFor();

    assert.equal(await page.locator('img').count(), 0);
    assert.equal(await page.locator('b').count(), 0);
    assert.equal(await page.locator('iframe').count(), 0);
    assert.equal(await page.locator('svg:not(.chart)').count(), 0, 'only the chart is SVG');
    assert.equal(await page.locator('script').count(), 1, 'only the page script');
    assert.deepEqual(dialogs, []);
  });

  it('opens the detail view with documents, attempts and callbacks', async () => {
    const transfer = await insertTransfer(db, failedSeed({ cause: 'corrupt_pdf' }));
    await db.query(
      `INSERT INTO transfer_documents (transfer_id, kind, platform_file_id, file_name, s3_key, size, sha256, verified_at)
       VALUES ($1, 'signed_document', 'f1', 'contract.pdf', 'esign-archive/e/contract.pdf', 2048, $2, now())`,
      [transfer.id, 'b'.repeat(64)],
    );
    await db.query(
      `INSERT INTO transfer_attempts (transfer_id, attempt, worker, finished_at, outcome, error_class, error)
       VALUES ($1, 1, 'worker-7', now(), 'failed', 'CORRUPT', 'annex.pdf does not start with %PDF-')`,
      [transfer.id],
    );
    await db.query(
      `INSERT INTO noted_events (platform, envelope_id, action, received_count, request)
       VALUES ('esignanywhere', $1, 'envelopeFinished', 4, '{}')`,
      [transfer.envelopeId],
    );
    await signIn();
    await page.getByRole('button', { name: `Details of envelope ${transfer.envelopeId}` }).click();
    const dialog = page.getByRole('dialog', { name: `Envelope ${transfer.envelopeId}` });
    await dialog.waitFor();

    const documents = dialog.getByRole('table', { name: 'Documents' });
    const cells = documents.locator('tbody td');
    assert.deepEqual(await cells.allTextContents().then((c) => [c[0], c[1], c[3], c[4]]), [
      'signed_document',
      'contract.pdf',
      '2048',
      'b'.repeat(64),
    ]);
    assert.equal(
      await cells.nth(2).locator('code').textContent(),
      `s3://${BUCKET}/esign-archive/e/contract.pdf`,
      'the S3 location: bucket and key',
    );
    const attempts = await dialog
      .getByRole('table', { name: 'Attempts' })
      .locator('tbody td')
      .allTextContents();
    assert.equal(attempts[1], 'worker-7');
    assert.equal(attempts[5], 'CORRUPT: annex.pdf does not start with %PDF-');
    const callbacks = await dialog
      .getByRole('table', { name: 'Callbacks received' })
      .locator('tbody td')
      .allTextContents();
    assert.deepEqual(callbacks.slice(0, 2), ['envelopeFinished', '4']);
    assert.ok((await dialog.locator('ol.timeline li').count()) >= 3);

    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'hidden' });
  });

  it('dismisses a transfer with the reason typed into the dialog', async () => {
    const transfer = await insertTransfer(db, failedSeed({ cause: 'no_token' }));
    await signIn();
    await page.getByRole('button', { name: `Dismiss envelope ${transfer.envelopeId}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Dismiss transfer' });
    await dialog.getByRole('button', { name: 'Dismiss' }).click();
    await dialog.getByText('Give a reason of 3 to 500 characters.').waitFor();
    await dialog.getByLabel(/Reason/).fill('Sender archived it by hand');
    await dialog.getByRole('button', { name: 'Dismiss' }).click();
    await row(transfer.id).waitFor({ state: 'detached' });

    const [state] = await rows(db, 'SELECT state, dismissed_reason FROM transfers WHERE id = $1', [
      transfer.id,
    ]);
    assert.deepEqual(state, { state: 'dismissed', dismissed_reason: 'Sender archived it by hand' });
    const actions = await rows(db, 'SELECT actor, action FROM admin_actions WHERE $1 = ANY(transfer_ids)', [
      transfer.id,
    ]);
    assert.deepEqual(actions, [{ actor: 'alice', action: 'dismiss' }]);
  });

  it('retries a whole cause group at once after confirmation', async () => {
    const a = await insertTransfer(db, failedSeed({ cause: 'protocol_error' }));
    const b = await insertTransfer(db, failedSeed({ cause: 'protocol_error' }));
    const other = await insertTransfer(db, failedSeed({ cause: 'corrupt_pdf' }));
    const confirmations: string[] = [];
    page.on('dialog', (dialog) => {
      confirmations.push(dialog.message());
      void dialog.accept();
    });
    await signIn();
    await page.getByRole('button', { name: 'Retry all 2 in this group' }).click();
    await row(a.id).waitFor({ state: 'detached' });
    await row(b.id).waitFor({ state: 'detached' });
    assert.equal(await row(other.id).count(), 1);
    assert.deepEqual(confirmations, ['Retry up to 2 transfers in "Failed / protocol_error"?']);

    const states = await rows<{ id: string; state: string }>(
      db,
      'SELECT id, state FROM transfers ORDER BY id',
    );
    assert.deepEqual(Object.fromEntries(states.map((s) => [s.id, s.state])), {
      [a.id]: 'pending',
      [b.id]: 'pending',
      [other.id]: 'failed',
    });
    const actions = await rows<{ actor: string; action: string; transfer_ids: string[] }>(
      db,
      `SELECT actor, action, transfer_ids FROM admin_actions WHERE action = 'bulk_retry' AND $1 = ANY(transfer_ids)`,
      [a.id],
    );
    assert.equal(actions.length, 1);
    assert.equal(actions[0].actor, 'alice');
    assert.deepEqual(new Set(actions[0].transfer_ids), new Set([a.id, b.id]));
  });

  it("shows each transfer's envelope name, platform and sender in every list, and the id while no name is known", async () => {
    const named = await insertTransfer(
      db,
      failedSeed({ envelopeName: 'Rahmenvertrag Lieferant 2026', senderEmail: 'anna@example.com' }),
    );
    const unnamed = await insertTransfer(db, failedSeed({ cause: 'no_token', senderEmail: null }));
    const archived = await insertTransfer(db, {
      state: 'done',
      platform: 'docusign',
      envelopeName: 'NDA Ben',
      senderEmail: 'ben@example.com',
      archivedAt: new Date(),
      platformDeletedAt: new Date(),
      finishedAt: new Date(),
    });
    await signIn();

    const attentionRow = row(named.id);
    await attentionRow.waitFor();
    assert.equal(await attentionRow.locator('.envelope-name').textContent(), 'Rahmenvertrag Lieferant 2026');
    assert.equal(await attentionRow.locator('.envelope-id').textContent(), named.envelopeId);
    const cells = await attentionRow.locator('td').allTextContents();
    assert.deepEqual(cells.slice(1, 3), ['esignanywhere', 'anna@example.com']);
    await page
      .getByRole('button', { name: `Retry envelope Rahmenvertrag Lieferant 2026 (${named.envelopeId})` })
      .waitFor();

    assert.equal(await row(unnamed.id).locator('.envelope-name').count(), 0);
    assert.deepEqual((await row(unnamed.id).locator('td').allTextContents()).slice(0, 3), [
      unnamed.envelopeId,
      'esignanywhere',
      'unknown',
    ]);

    const archivedRow = page
      .getByRole('region', { name: 'Recently archived' })
      .locator(`tr[data-transfer-id="${archived.id}"]`);
    assert.deepEqual((await archivedRow.locator('td').allTextContents()).slice(0, 3), [
      `NDA Ben${archived.envelopeId}`,
      'docusign',
      'ben@example.com',
    ]);

    await page.getByRole('button', { name: `Details of envelope NDA Ben (${archived.envelopeId})` }).click();
    const dialog = page.getByRole('dialog', { name: 'Envelope NDA Ben' });
    await dialog.waitFor();
    await dialog
      .getByRole('definition')
      .filter({ hasText: /^NDA Ben$/ })
      .waitFor();
  });

  it("shows a transfer's warning in the lists and in its detail view", async () => {
    const warning = 'metadata unusable: more than 32 levels of nesting';
    const archived = await insertTransfer(db, {
      state: 'done',
      envelopeName: 'Offer 7',
      warning,
      archivedAt: new Date(),
      platformDeletedAt: new Date(),
      finishedAt: new Date(),
    });
    const failed = await insertTransfer(db, failedSeed({ warning: 'metadata unusable: DOCTYPE' }));
    const clean = await insertTransfer(db, failedSeed({ cause: 'no_token' }));
    await signIn();

    const archivedRow = page
      .getByRole('region', { name: 'Recently archived' })
      .locator(`tr[data-transfer-id="${archived.id}"]`);
    assert.equal(await archivedRow.locator('.warning').textContent(), `Warning: ${warning}`);
    assert.equal(
      await row(failed.id).locator('.warning').textContent(),
      'Warning: metadata unusable: DOCTYPE',
    );
    assert.equal(await row(clean.id).locator('.warning').count(), 0);

    await archivedRow.getByRole('button', { name: /^Details of envelope Offer 7/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Envelope Offer 7' });
    await dialog.getByText(warning, { exact: true }).waitFor();
  });

  it("shows each document's S3 location as s3://bucket/key and copies it", async () => {
    const transfer = await insertTransfer(
      db,
      failedSeed({ cause: 'copy_not_verified', envelopeName: 'Lease' }),
    );
    const key = `esign-archive/esignanywhere/2026/${transfer.envelopeId}/signed-document/lease.pdf`;
    await db.query(
      `INSERT INTO transfer_documents (transfer_id, kind, platform_file_id, file_name, s3_key, size, sha256, verified_at)
       VALUES ($1, 'signed_document', 'f1', 'lease.pdf', $2, 4096, $3, now())`,
      [transfer.id, key, 'c'.repeat(64)],
    );
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: svc.url });
    await signIn();
    await page.getByRole('button', { name: `Details of envelope Lease (${transfer.envelopeId})` }).click();
    const dialog = page.getByRole('dialog', { name: 'Envelope Lease' });
    const documents = dialog.getByRole('table', { name: 'Documents' });
    await documents.waitFor();
    assert.deepEqual(await documents.locator('thead th').allTextContents(), [
      'Kind',
      'File',
      'S3 location',
      'Size',
      'SHA-256',
      'Verified',
    ]);
    const uri = `s3://${BUCKET}/${key}`;
    assert.equal(await documents.locator('.s3-uri').textContent(), uri);

    await dialog.getByRole('button', { name: 'Copy the S3 location of lease.pdf' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Copied ${uri}` })
      .waitFor();
    assert.equal(await page.evaluate<string>('navigator.clipboard.readText()'), uri);
  });

  it('draws archived, failed and waiting transfers per hour over 48 hours, with the numbers as a table', async () => {
    const hour = await hourStarts(db);
    const at = (hoursAgo: number, minutes = 10) => new Date(hour(hoursAgo).getTime() + minutes * 60_000);
    const archivedSeed = (archivedAt: Date) => ({
      state: 'done',
      archivedAt,
      platformDeletedAt: archivedAt,
      finishedAt: archivedAt,
    });
    for (const minutes of [5, 20, 55]) await insertTransfer(db, archivedSeed(at(2, minutes)));
    await insertTransfer(db, archivedSeed(at(0, 1)));
    await insertTransfer(db, archivedSeed(at(50))); // before the window
    // One transfer failing twice in an hour counts once; another in the same hour makes two.
    const twice = await insertTransfer(db, failedSeed());
    await insertAttempt(db, twice.id, { outcome: 'retrying', finishedAt: at(5, 1), errorClass: 'TRANSIENT' });
    await insertAttempt(db, twice.id, { outcome: 'failed', finishedAt: at(5, 20), attempt: 2 });
    await insertAttempt(db, twice.id, { outcome: 'failed', finishedAt: at(5, 40), attempt: 3 });
    const once = await insertTransfer(db, failedSeed({ cause: 'no_token' }));
    await insertAttempt(db, once.id, { outcome: 'failed', finishedAt: at(5, 30) });
    // Checked three times in three hours, unfinished each time.
    const waiting = await insertTransfer(db, {
      state: 'waiting',
      cause: 'not_finished_yet',
      nextAttemptAt: new Date(Date.now() + 3_600_000),
    });
    for (const hoursAgo of [1, 2, 3])
      await insertAttempt(db, waiting.id, { outcome: 'waiting', finishedAt: at(hoursAgo) });
    // Due for 3 h 12 min (and half a minute, so the minute does not turn while the test runs).
    await insertTransfer(db, {
      state: 'pending',
      envelopeName: 'Late one',
      nextAttemptAt: new Date(Date.now() - (3 * 60 + 12.5) * 60_000),
    });
    await signIn();

    const chart = page.getByRole('img', { name: 'Transfers per hour over the last 48 hours' });
    await chart.waitFor();
    const bars = async (series: string) => {
      const rects = page.locator(`svg.chart g[data-series="${series}"] rect.bar`);
      const [hours, counts] = await Promise.all([
        attributes(rects, 'data-hour'),
        attributes(rects, 'data-count'),
      ]);
      return hours.map((h, i) => [h, Number(counts[i])]);
    };
    const expected = (counts: Record<number, number>) => {
      const out: [string, number][] = [];
      for (let ago = 47; ago >= 0; ago--) out.push([hour(ago).toISOString(), counts[ago] ?? 0]);
      return out;
    };
    assert.deepEqual(await bars('archived'), expected({ 2: 3, 0: 1 }));
    assert.deepEqual(await bars('failed'), expected({ 5: 2 }));
    assert.deepEqual(await bars('waiting'), expected({ 1: 1, 2: 1, 3: 1 }));
    const heights = (
      await attributes(page.locator('svg.chart g[data-series="archived"] rect.bar'), 'height')
    ).map(Number);
    assert.ok(heights[45] > heights[47] && heights[47] > 0, 'three archived stand taller than one');
    assert.equal(heights[0], 0);
    assert.match(
      (await page.locator('#activity-chart-desc').textContent()) ?? '',
      /^Archived: 4 in 48 hours, at most 3 in one hour\. Failed: 2 in 48 hours, at most 2 in one hour\. Waiting: 3 in 48 hours, at most 1 in one hour\.$/,
    );

    await page.getByText('The numbers, hour by hour').click();
    const numbers = page.getByRole('table', { name: 'Transfers per hour (your local time)' });
    assert.equal(await numbers.locator('tbody tr').count(), 48);
    const cellsOf = (ago: number) =>
      numbers.locator(`tr[data-hour="${hour(ago).toISOString()}"] td`).allTextContents();
    assert.deepEqual(await cellsOf(2), ['3', '0', '1']);
    assert.deepEqual(await cellsOf(5), ['0', '2', '0']);
    assert.deepEqual(await cellsOf(0), ['1', '0', '0']);

    const oldestDue = page.locator('#oldest-due');
    assert.match((await oldestDue.textContent()) ?? '', /^due for 3 h 12 min — Late one \(/);
  });

  it('counts and lists the senders who must grant access again, with the transfers waiting for them', async () => {
    const paused = [
      await insertTransfer(db, { state: 'needs_consent', cause: 'token_rejected' }),
      await insertTransfer(db, { state: 'needs_consent', cause: 'token_rejected' }),
    ];
    const done = await insertTransfer(db, { state: 'done' });
    const since = new Date(Date.now() - 2 * 86_400_000 - 3 * 3_600_000);
    const anna = await insertSender(db, {
      email: 'anna@example.com',
      consentState: 'rejected',
      tokenRejectedAt: since,
      envelopeIds: [...paused.map((t) => t.envelopeId), done.envelopeId],
    });
    const nameless = await insertSender(db, {
      email: null,
      consentState: 'rejected',
      tokenRejectedAt: new Date(Date.now() - 3_600_000),
    });
    await insertSender(db, { email: 'fine@example.com', consentState: 'granted' });
    await insertSender(db, { email: 'never@example.com', consentState: 'none' });
    await signIn();

    const region = page.getByRole('region', { name: 'Sender consent' });
    await region.getByText('2 senders must grant access again.').waitFor();
    const list = region.getByRole('table', { name: 'Senders whose token was rejected' });
    assert.deepEqual(await attributes(list.locator('tbody tr'), 'data-sender-id'), [anna, nameless]);
    const first = await list.locator('tbody tr').first().locator('td').allTextContents();
    assert.equal(first[0], 'anna@example.com');
    assert.equal(first[1], 'esignanywhere');
    assert.equal(first[2], anna);
    assert.match(first[3], /\(2 days 3 h ago\)$/);
    assert.equal(first[4], '2', 'the transfers paused for that sender, not the finished one');
    assert.equal(await list.locator(`time[datetime="${since.toISOString()}"]`).count(), 1);
    assert.equal(
      (await list.locator('tbody tr').nth(1).locator('td').allTextContents())[0],
      'no address known',
    );
  });

  it("says every sender's access works when none was rejected", async () => {
    await insertSender(db, { email: 'fine@example.com', consentState: 'granted' });
    await signIn();
    const region = page.getByRole('region', { name: 'Sender consent' });
    await region.getByText("Every sender's access works.").waitFor();
    assert.equal(await region.getByRole('table').count(), 0);
  });

  it('shows the last reconciliation of each platform and the callbacks it found missing', async () => {
    await db.query('DELETE FROM reconciliation_runs');
    await db.query(
      `INSERT INTO reconciliation_runs (platform, started_at, finished_at, window_from, window_to, found, created, outcome)
       VALUES ('esignanywhere', now() - interval '2 minutes', now() - interval '1 minute', now() - interval '6 hours', now() - interval '2 minutes', 7, 2, 'ok')`,
    );
    await insertTransfer(db, failedSeed({ platform: 'esignanywhere' }));
    await db.query(`UPDATE transfers SET origin = 'reconciliation'`);
    await signIn();
    const summary = page.locator('#summary');
    await summary.getByText('Reconciliation of esignanywhere').waitFor();
    assert.match(await summary.innerText(), /7 finished, 2 had no callback/);
    const missed = summary.locator('dt', { hasText: 'Missed callbacks, 7 days (esignanywhere)' });
    await missed.waitFor();
    const value = summary.locator('dt:has-text("Missed callbacks, 7 days (esignanywhere)") + dd');
    assert.equal(await value.innerText(), '1');
    assert.match((await value.getAttribute('class')) ?? '', /warning/);
  });

  describe('search and filters', () => {
    let seeded: Record<'rahmen' | 'nda' | 'kunde' | 'plain', { id: string; envelopeId: string }>;
    const results = () => page.getByRole('region', { name: 'Find transfers' });
    const shown = async () => (await attributes(results().locator('tbody tr'), 'data-transfer-id')).sort();
    const expectShown = (what: string, ...names: (keyof typeof seeded)[]) =>
      eventually(what, shown, names.map((n) => seeded[n].id).sort());
    const hash = () => page.evaluate<string>('location.hash');

    beforeEach(async () => {
      seeded = {
        rahmen: await insertTransfer(
          db,
          failedSeed({ envelopeName: 'Rahmenvertrag Lieferant 2026', senderEmail: 'anna@example.com' }),
        ),
        nda: await insertTransfer(
          db,
          failedSeed({
            platform: 'docusign',
            cause: 'no_token',
            envelopeName: 'NDA',
            senderEmail: 'ben@example.com',
          }),
        ),
        kunde: await insertTransfer(db, {
          state: 'done',
          envelopeName: 'Rahmenvertrag Kunde',
          senderEmail: 'Anna@Example.com',
          archivedAt: new Date(),
          finishedAt: new Date(),
        }),
        plain: await insertTransfer(db, {
          state: 'retrying',
          envelopeId: 'bead5e00-0000-4000-8000-000000000001',
          senderEmail: 'carl@example.com',
          nextAttemptAt: new Date(Date.now() + 600_000),
        }),
      };
    });

    it('lists nothing until asked, then narrows by name, id prefix and sender address as the operator types', async () => {
      await signIn();
      await results().getByText('Search, or choose a filter, to list transfers.').waitFor();
      assert.deepEqual(await shown(), []);
      const box = page.getByLabel('Envelope id or name, or sender');

      await box.fill('rahmenVERTRAG');
      await expectShown('a name, in any case', 'rahmen', 'kunde');
      assert.equal(await hash(), '#q=rahmenVERTRAG');
      await results().getByText('2 transfers match.').waitFor();

      await box.fill('bead5e');
      await box.press('Enter');
      await expectShown('the start of an envelope id', 'plain');

      await box.fill('ben@exa');
      await box.press('Enter');
      await expectShown("part of the sender's address", 'nda');

      await box.fill('zz');
      await box.press('Enter');
      await results()
        .getByText('Type at least 3 characters of a name or address, or the start of an envelope id.')
        .waitFor();
      assert.deepEqual(await shown(), [], 'no stale rows beside a search that was not run');

      await box.fill(`${seeded.plain.envelopeId}0`);
      await box.press('Enter');
      await results().getByText('An envelope id has 36 characters; this is longer.').waitFor();

      await box.fill('no such name');
      await box.press('Enter');
      await results().getByText('No transfer matches these filters.').waitFor();
      assert.deepEqual(await shown(), []);
    });

    it('narrows the list by each filter: platform, state, cause and sender', async () => {
      await signIn();
      await results().getByText('Search, or choose a filter, to list transfers.').waitFor();
      const platform = page.getByLabel('Platform', { exact: true });
      const state = page.getByLabel('State', { exact: true });
      const cause = page.getByLabel('Cause', { exact: true });
      const sender = page.getByLabel('Sender address');

      assert.deepEqual(await platform.locator('option').allTextContents(), [
        'Any platform',
        'docusign',
        'esignanywhere',
      ]);
      await platform.selectOption('docusign');
      await expectShown('platform', 'nda');
      assert.equal(await hash(), '#platform=docusign');

      await platform.selectOption('');
      await state.selectOption('done');
      await expectShown('state', 'kunde');

      await state.selectOption('');
      await cause.selectOption('corrupt_pdf');
      await expectShown('cause', 'rahmen');
      await cause.selectOption('none');
      await expectShown('no cause recorded', 'kunde', 'plain');

      await cause.selectOption('');
      await sender.fill('anna@example.com');
      await sender.press('Enter');
      await expectShown('sender, in any case', 'rahmen', 'kunde');
      await state.selectOption('failed');
      await expectShown('sender and state together', 'rahmen');
      assert.equal(await hash(), '#state=failed&sender=anna%40example.com');

      await sender.fill('anna');
      await sender.press('Enter');
      await results().getByText('The sender filter takes a whole e-mail address.').waitFor();

      await page.getByRole('button', { name: 'Clear' }).click();
      await results().getByText('Search, or choose a filter, to list transfers.').waitFor();
      assert.equal(await hash(), '');
    });

    it('keeps a filtered view in the link: a reload and a new tab open with the same filters', async () => {
      await signIn();
      await page.getByLabel('Envelope id or name, or sender').fill('rahmen');
      await page.getByLabel('State', { exact: true }).selectOption('failed');
      await expectShown('search and state', 'rahmen');
      const link = page.url();
      assert.match(link, /\/admin#q=rahmen&state=failed$/);

      await page.reload();
      await expectShown('after a reload', 'rahmen');
      assert.equal(await page.getByLabel('Envelope id or name, or sender').inputValue(), 'rahmen');
      assert.equal(await page.getByLabel('State', { exact: true }).inputValue(), 'failed');

      const other = await context.newPage();
      const otherProblems = watchPage(other);
      await other.goto(`${svc.url}/admin#platform=docusign&cause=no_token`);
      await other.getByLabel('Admin token').fill(ALICE_TOKEN);
      await other.getByRole('button', { name: 'Sign in' }).click();
      await eventually(
        'a link opened in a new tab, after signing in',
        () =>
          attributes(
            other.getByRole('region', { name: 'Find transfers' }).locator('tbody tr'),
            'data-transfer-id',
          ),
        [seeded.nda.id],
      );
      assert.equal(await other.getByLabel('Platform', { exact: true }).inputValue(), 'docusign');
      assert.equal(await other.getByLabel('Cause', { exact: true }).inputValue(), 'no_token');

      // A fragment edited by hand (or a link followed within the tab) applies at once.
      await other.evaluate("location.hash = '#state=retrying'");
      await eventually(
        'the fragment changed in place',
        () =>
          attributes(
            other.getByRole('region', { name: 'Find transfers' }).locator('tbody tr'),
            'data-transfer-id',
          ),
        [seeded.plain.id],
      );
      assert.deepEqual(otherProblems, { errors: [], cspViolations: [] });
    });

    it('ignores fragment values that cannot be filters, and shows what the API refuses', async () => {
      await page.goto(`${svc.url}/admin#state=<b>x</b>&platform=../etc&cause=DROP%20TABLE&sender=nobody`);
      await page.getByLabel('Admin token').fill(ALICE_TOKEN);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await results().getByText('The sender filter takes a whole e-mail address.').waitFor();
      assert.equal(await page.getByLabel('State', { exact: true }).inputValue(), '');
      assert.equal(await page.getByLabel('Platform', { exact: true }).inputValue(), '');
      assert.equal(await page.getByLabel('Cause', { exact: true }).inputValue(), '');
      assert.equal(await page.locator('b').count(), 0);
    });
  });

  it('lists done and archived transfers under "Recently archived"', async () => {
    const done = await insertTransfer(db, {
      state: 'done',
      archivedAt: new Date(),
      platformDeletedAt: new Date(),
      finishedAt: new Date(),
    });
    await signIn();
    const section = page.getByRole('region', { name: 'Recently archived' });
    await section.locator(`tr[data-transfer-id="${done.id}"]`).waitFor();
    assert.equal(
      await page
        .getByRole('region', { name: 'Needs attention' })
        .locator(`tr[data-transfer-id="${done.id}"]`)
        .count(),
      0,
    );
    assert.match((await section.locator('tbody tr').first().textContent()) ?? '', /Done/);
  });

  it('refuses a wrong token, keeps nothing, and asks again', async () => {
    await insertTransfer(db, failedSeed());
    await signIn('not-the-admin-token-0000');
    await page.getByText('The token was not accepted: missing or wrong admin token').waitFor();
    assert.equal(await page.getByLabel('Admin token').isVisible(), true);
    assert.equal(await page.locator('tr[data-transfer-id]').count(), 0);
    await page.reload();
    await page.getByLabel('Admin token').waitFor();
    assert.equal(await page.getByRole('heading', { name: 'Needs attention' }).isVisible(), false);
  });

  it('keeps the token for the tab only: a reload stays signed in, a new tab asks again', async () => {
    const transfer = await insertTransfer(db, failedSeed());
    await signIn();
    await row(transfer.id).waitFor();
    await page.reload();
    await row(transfer.id).waitFor();

    const otherTab = await context.newPage();
    const otherProblems = watchPage(otherTab);
    await otherTab.goto(`${svc.url}/admin`);
    await otherTab.getByLabel('Admin token').waitFor();
    assert.equal(await otherTab.locator('tr[data-transfer-id]').count(), 0);
    assert.deepEqual(otherProblems, { errors: [], cspViolations: [] });

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor();
    await page.reload();
    await page.getByLabel('Admin token').waitFor();
  });

  it('renders Swagger UI for the admin API under its CSP', async () => {
    await page.goto(`${svc.url}/admin/docs`);
    await page.getByRole('heading', { name: /E-signature archiver: admin API/ }).waitFor();
    await page.getByText('/admin/transfers/{id}/retry').first().waitFor();
    await page.getByRole('button', { name: /Authorize/ }).waitFor();
  });
});

describe('admin page without configured tokens', () => {
  let svc: RunningApp;
  let browser: Browser;
  before(async () => {
    svc = await startTestApp({ ADMIN_TOKENS: '' });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await svc?.close();
  });

  it('says admin access is disabled and asks for no token', async () => {
    const page = await browser.newPage();
    const problems = watchPage(page);
    await page.goto(`${svc.url}/admin`);
    await page.getByRole('heading', { name: 'Admin access is disabled' }).waitFor();
    assert.equal(await page.getByLabel('Admin token').isVisible(), false);
    assert.deepEqual(problems, { errors: [], cspViolations: [] });
    await page.close();
  });
});
