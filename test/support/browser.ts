import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium unless CHROMIUM_PATH points elsewhere. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A headless Chromium that talks only to what the test opens (no updates, sync or QUIC). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** What a page complained about: uncaught errors and Content-Security-Policy violations. */
export interface PageProblems {
  errors: string[];
  cspViolations: string[];
}

/** Collects the page's uncaught errors and CSP violation reports from the console. */
export function watchPage(page: Page): PageProblems {
  const problems: PageProblems = { errors: [], cspViolations: [] };
  page.on('pageerror', (error) => problems.errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content[- ]Security[- ]Policy|Trusted Type/i.test(message.text())) {
      problems.cspViolations.push(message.text());
    }
  });
  return problems;
}
