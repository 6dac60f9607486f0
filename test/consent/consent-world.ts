import { randomBytes } from 'node:crypto';
import { queryAt } from '../support/database';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser } from '../support/browser';
import { TcpProxy } from '../support/tcp-proxy';
import { startTestApp, type RunningApp } from '../support/app';
import { EsignAnywhereSimulator } from '../simulators/esignanywhere/esignanywhere.simulator';
import type {
  EsignAnywhereSimulatorOptions,
  SimUser,
} from '../simulators/esignanywhere/esignanywhere-simulator.types';

export const OAUTH_CLIENT_ID = 'esign-archiver-test';
export const OAUTH_CLIENT_SECRET = 'oauth-client-secret-for-tests-0123456789';
export const KEY_1 = `k1:${randomBytes(32).toString('base64')}`;

export interface ConsentWorldOptions {
  env?: Record<string, string | undefined>;
  sim?: EsignAnywhereSimulatorOptions;
}

/**
 * The eSignAnyWhere simulator over HTTP, the whole service on a fresh database behind its public
 * address, and (on first use) a headless Chromium: what a sender's NEXT click goes through.
 */
export class ConsentWorld {
  private constructor(
    readonly sim: EsignAnywhereSimulator,
    readonly svc: RunningApp,
    readonly publicUrl: string,
    readonly inboxUrl: string,
    // The service's public address: PUBLIC_BASE_URL must be known before the service starts.
    private readonly door: TcpProxy,
  ) {}

  private launched?: Promise<Browser>;

  /** Chromium, started on first use. */
  browser(): Promise<Browser> {
    this.launched ??= launchBrowser();
    return this.launched;
  }

  static async start(options: ConsentWorldOptions = {}): Promise<ConsentWorld> {
    const sim = new EsignAnywhereSimulator(options.sim);
    await sim.start();
    const door = new TcpProxy('127.0.0.1', 0);
    await door.start();
    const publicUrl = `http://127.0.0.1:${door.port}`;
    sim.registerOAuthClient({
      clientId: OAUTH_CLIENT_ID,
      clientSecret: OAUTH_CLIENT_SECRET,
      redirectUris: [`${publicUrl}/consent/oauth/callback`],
      name: 'Archive service',
    });
    const inboxUrl = `${sim.url}/EnvelopeManagement/Inbox`;
    const svc = await startTestApp({
      ESAW_BASE_URL: sim.baseUrl,
      ESAW_OAUTH_CLIENT_ID: OAUTH_CLIENT_ID,
      ESAW_OAUTH_CLIENT_SECRET: OAUTH_CLIENT_SECRET,
      ESAW_OAUTH_AUTHORIZE_URL: sim.authorizeUrl,
      ESAW_OAUTH_TOKEN_URL: sim.tokenUrl,
      ESAW_INBOX_URL: inboxUrl,
      ESAW_MAX_RETRIES: '0',
      PUBLIC_BASE_URL: publicUrl,
      TOKEN_ENCRYPTION_KEYS: KEY_1,
      ...options.env,
    });
    door.pointAt(Number(new URL(svc.url).port));
    return new ConsentWorld(sim, svc, publicUrl, inboxUrl, door);
  }

  /** A sender with a draft waiting on the summary page. */
  senderWithDraft(): { user: SimUser; draftId: string } {
    const { user } = this.sim.createUser();
    return { user, draftId: this.sim.createDraft({ ownerUserId: user.id }).id };
  }

  /** Another draft of an existing sender. */
  draftOf(user: SimUser): string {
    return this.sim.createDraft({ ownerUserId: user.id }).id;
  }

  /** Where eSignAnyWhere sends the browser when the sender presses NEXT. */
  beforeSendUrl(draftId: string): string {
    return this.sim.beforeSendRedirectUrl(
      draftId,
      `${this.publicUrl}/consent/before-send?envelope=##EnvelopeId##&sender=##SenderUserId##&org=##OrganizationId##`,
    );
  }

  /**
   * A fresh browser profile (its own cookies). The eSignAnyWhere inbox is answered by a stub page:
   * the simulator has no web UI, and the test only cares that the browser got there.
   */
  async newContext(): Promise<BrowserContext> {
    const context = await (await this.browser()).newContext();
    await context.route(`${this.inboxUrl}**`, (route) =>
      route.fulfill({
        status: 200,
        contentType: 'text/html',
        body: '<!doctype html><title>Inbox</title><h1>Inbox</h1>',
      }),
    );
    return context;
  }

  /** On the simulator's consent page: sign in as `user` and press Approve or Deny. */
  async decide(page: Page, user: SimUser, decision: 'approve' | 'deny'): Promise<void> {
    await page.waitForURL((url) => url.pathname === '/Auth/Authorize');
    await page.selectOption('#userId', user.id);
    await page.click(`#${decision}`);
  }

  query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return queryAt<T>(this.svc.db.url, sql, params);
  }

  async close(): Promise<void> {
    // A browser that never started must not keep the service (and the test file) running.
    await this.launched?.then((browser) => browser.close()).catch(() => undefined);
    await this.svc.close();
    await this.door.stop();
    await this.sim.stop();
  }
}

/** The outcome marker every consent page carries (`granted` or an error code). */
export async function pageOutcome(page: Page): Promise<string | null> {
  return page.locator('main').getAttribute('data-outcome');
}

/** A GET as a browser would send it, without following redirects; cookies are passed by hand. */
export function get(url: string, cookie?: string): Promise<Response> {
  return fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
}

/** The consent binding cookie a response sets, as `name=value` for a `Cookie` header. */
export function bindingCookie(response: Response): string {
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith('consent_'));
  if (!cookie) throw new Error('no consent cookie was set');
  return cookie.split(';')[0];
}
