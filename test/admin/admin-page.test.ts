import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { Client } from 'pg';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestApp, type RunningApp } from '../support/app';
import { launchBrowser, watchPage, type PageProblems } from '../support/browser';
import { ADMIN_ENV, ALICE_TOKEN, connect, failedSeed, insertTransfer, rows } from './admin-fixtures';

describe('admin page in Chromium', () => {
  let svc: RunningApp;
  let db: Client;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: PageProblems;

  before(async () => {
    svc = await startTestApp(ADMIN_ENV);
    db = await connect(svc);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await db?.end();
    await svc?.close();
  });
  beforeEach(async () => {
    // Each test starts from an empty list of transfers and a fresh tab.
    await db.query('DELETE FROM transfers');
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
    assert.equal(cells[0], failed.envelopeId);
    assert.equal(cells[1], 'erin@example.com');
    assert.equal(cells[2], 'INTEGRITY: sha256 of the stored copy differs from what was read');
    assert.equal(cells[3], '3');
    assert.match(cells[4], /not scheduled/);

    const retryingRow = page
      .locator('section.group', { has: page.getByRole('heading', { name: /^Retrying: No cause recorded/ }) })
      .locator(`tr[data-transfer-id="${retrying.id}"]`);
    assert.match((await retryingRow.locator('td').nth(4).textContent()) ?? '', /in 1[45] min/);

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

  it('shows an HTML-looking error as text and never runs it', async () => {
    const payload = '<img src=x onerror=alert(1)><script>alert(2)</script>';
    const transfer = await insertTransfer(
      db,
      failedSeed({
        lastError: payload,
        lastErrorClass: 'INTERNAL',
        senderEmail: '<b>mallory</b>@example.com',
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
    assert.equal(cells[1], '<b>mallory</b>@example.com');
    assert.equal(cells[2], `INTERNAL: ${payload}`);

    await page.getByRole('button', { name: `Details of envelope ${transfer.envelopeId}` }).click();
    await page.getByRole('dialog').getByText(`INTERNAL: ${payload}`).waitFor();

    assert.equal(await page.locator('img').count(), 0);
    assert.equal(await page.locator('b').count(), 0);
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
    assert.deepEqual((await documents.locator('tbody td').allTextContents()).slice(0, 5), [
      'signed_document',
      'contract.pdf',
      'esign-archive/e/contract.pdf',
      '2048',
      'b'.repeat(64),
    ]);
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
