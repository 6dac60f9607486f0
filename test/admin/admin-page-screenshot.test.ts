import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from 'pg';
import type { Browser } from 'playwright-core';
import { startTestApp, type RunningApp } from '../support/app';
import { launchBrowser, watchPage } from '../support/browser';
import {
  ADMIN_ENV,
  ALICE_TOKEN,
  connect,
  failedSeed,
  hourStarts,
  insertAttempt,
  insertSender,
  insertTransfer,
} from './admin-fixtures';

/**
 * The page with a day's worth of plausible data, as docs/admin-page.png shows it. Written to
 * ADMIN_PAGE_SCREENSHOT when set (`ADMIN_PAGE_SCREENSHOT=docs/admin-page.png node
 * scripts/run-tests.mjs admin-page-screenshot`), else to a temporary file.
 */
describe('admin page screenshot', () => {
  let svc: RunningApp;
  let db: Client;
  let browser: Browser;
  before(async () => {
    svc = await startTestApp({ ...ADMIN_ENV, S3_BUCKET: 'dms-archive' });
    db = await connect(svc);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await db?.end();
    await svc?.close();
  });

  async function seed(): Promise<void> {
    const hour = await hourStarts(db);
    const at = (hoursAgo: number, minutes: number) => new Date(hour(hoursAgo).getTime() + minutes * 60_000);
    const names = [
      'Rahmenvertrag Lieferant Nord GmbH 2026',
      'Mietvertrag Büro Graz',
      'NDA Projekt Falke',
      'Arbeitsvertrag M. Huber',
      'Purchase order 4711',
      'Service agreement Q3',
      'Datenschutzvereinbarung AVV',
      'Offer 2026-118',
    ];
    const senders = ['anna.berger@example.com', 'ben.koch@example.com', 'carla.rossi@example.com'];
    // Office hours archive most; the night is quiet.
    let n = 0;
    for (let ago = 47; ago >= 0; ago--) {
      const local = (hour(ago).getUTCHours() + 1) % 24;
      const count = local >= 8 && local <= 18 ? 2 + ((ago * 7) % 5) : ago % 5 === 0 ? 1 : 0;
      for (let i = 0; i < count; i++, n++) {
        const archivedAt = at(ago, 5 + i * 9);
        await insertTransfer(db, {
          state: 'done',
          envelopeName: `${names[n % names.length]}${n >= names.length ? ` (${Math.floor(n / names.length) + 1})` : ''}`,
          senderEmail: senders[n % senders.length],
          createdAt: new Date(archivedAt.getTime() - 90_000),
          archivedAt,
          platformDeletedAt: archivedAt,
          finishedAt: archivedAt,
          warning: n % 23 === 4 ? 'metadata unusable: more than 32 levels of nesting' : null,
        });
      }
    }
    const corrupt = await insertTransfer(
      db,
      failedSeed({
        envelopeName: 'Lieferantenvertrag Süd AG',
        senderEmail: senders[0],
        lastError: 'Anlage_2.pdf does not start with %PDF-',
      }),
    );
    await insertAttempt(db, corrupt.id, { outcome: 'failed', finishedAt: at(3, 14), errorClass: 'CORRUPT' });
    const exhausted = await insertTransfer(
      db,
      failedSeed({
        cause: 'attempts_exhausted',
        envelopeName: 'Kaufvertrag Fahrzeug W-123',
        senderEmail: senders[2],
        lastError: 'HTTP 503 from the platform',
        lastErrorClass: 'TRANSIENT',
        attempts: 12,
      }),
    );
    await insertAttempt(db, exhausted.id, {
      outcome: 'failed',
      finishedAt: at(9, 40),
      errorClass: 'TRANSIENT',
    });
    const consent = [
      await insertTransfer(db, {
        state: 'needs_consent',
        cause: 'token_rejected',
        envelopeName: 'Kooperationsvertrag Uni Wien',
        senderEmail: 'david.maier@example.com',
        lastError: "the platform refused the sender's token (401)",
        lastErrorClass: 'UNAUTHORIZED',
      }),
      await insertTransfer(db, {
        state: 'needs_consent',
        cause: 'token_rejected',
        envelopeName: 'Zusatzvereinbarung Homeoffice',
        senderEmail: 'david.maier@example.com',
        lastError: "the platform refused the sender's token (401)",
        lastErrorClass: 'UNAUTHORIZED',
      }),
    ];
    await insertSender(db, {
      email: 'david.maier@example.com',
      consentState: 'rejected',
      tokenRejectedAt: at(20, 12),
      envelopeIds: consent.map((t) => t.envelopeId),
    });
    await insertSender(db, { email: null, consentState: 'rejected', tokenRejectedAt: at(2, 51) });
    await insertSender(db, { email: senders[0], consentState: 'granted' });
    await insertTransfer(db, {
      state: 'retrying',
      envelopeName: 'Wartungsvertrag Aufzug',
      senderEmail: senders[1],
      attempts: 2,
      lastError: 'HTTP 502 from the platform',
      lastErrorClass: 'TRANSIENT',
      nextAttemptAt: new Date(Date.now() + 7 * 60_000),
    });
    for (const [i, name] of ['Angebot Solaranlage', 'Vollmacht Steuerberatung'].entries()) {
      const waiting = await insertTransfer(db, {
        state: 'waiting',
        cause: 'not_finished_yet',
        envelopeName: name,
        senderEmail: senders[i],
        nextAttemptAt: new Date(Date.now() + (20 + i * 25) * 60_000),
      });
      for (let ago = 6 + i; ago >= 0; ago -= 2) {
        await insertAttempt(db, waiting.id, { outcome: 'waiting', finishedAt: at(ago, 30) });
      }
    }
    await insertTransfer(db, {
      state: 'pending',
      envelopeName: 'Mietvertrag Lager Linz',
      nextAttemptAt: new Date(Date.now() - 4 * 60_000),
    });
  }

  it('shows a day of work: names, chart, consent, attention, a search, and writes the PNG', async () => {
    await seed();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB' });
    const page = await context.newPage();
    const problems = watchPage(page);
    await page.goto(`${svc.url}/admin#q=vertrag&state=failed`);
    await page.getByLabel('Admin token').fill(ALICE_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('img', { name: 'Transfers per hour over the last 48 hours' }).waitFor();
    await page.getByRole('region', { name: 'Find transfers' }).getByText('2 transfers match.').waitFor();
    await page.getByText('2 senders must grant access again.').waitFor();
    await page.evaluate('window.scrollTo(0, 0)');

    const path = process.env.ADMIN_PAGE_SCREENSHOT
      ? resolve(process.env.ADMIN_PAGE_SCREENSHOT)
      : join(mkdtempSync(join(tmpdir(), 'admin-page-')), 'admin-page.png');
    // Down to the first few recently archived rows; the rest of that list is more of the same.
    const archived = await page.getByRole('heading', { name: 'Recently archived' }).boundingBox();
    assert.ok(archived);
    const height = Math.round(archived.y + 480);
    await page.screenshot({ path, fullPage: true, clip: { x: 0, y: 0, width: 1280, height } });
    await context.close();

    const png = readFileSync(path);
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], 'a PNG');
    assert.equal(png.readUInt32BE(16), 1280, 'as wide as the viewport');
    assert.equal(png.readUInt32BE(20), height);
    assert.deepEqual(problems, { errors: [], cspViolations: [] });
  });
});
