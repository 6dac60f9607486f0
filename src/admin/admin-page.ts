import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdminConfig } from '../config/app-config';
import { adminConfig } from '../config/config.schema';

/*
 * The operator's page: one HTML document with its style and script inline, nothing loaded from
 * elsewhere. Script and style are the files in src/admin/assets (type-checked and linted there),
 * read once at start and served byte for byte; the Content-Security-Policy allows exactly these
 * two inline blocks by hash, so nothing injected into the page could run, and Trusted Types make
 * the browser refuse any string-to-HTML sink.
 */

/**
 * Where the page's files are looked for: beside the compiled module when a build copied them
 * there, else in the sources (`npm run build` compiles TypeScript only, and `dist/src/admin` sits
 * three levels below the project).
 */
export const ADMIN_ASSET_DIRS: readonly string[] = [
  join(__dirname, 'assets'),
  join(__dirname, '..', '..', '..', 'src', 'admin', 'assets'),
];

export interface AdminPageAssets {
  script: string;
  style: string;
}

/** Reads the page's script and style; a missing file stops the start with the places it looked. */
export function loadAdminPageAssets(dirs: readonly string[] = ADMIN_ASSET_DIRS): AdminPageAssets {
  const dir = dirs.find((d) => existsSync(join(d, 'admin-page.js')) && existsSync(join(d, 'admin-page.css')));
  if (dir === undefined) {
    throw new Error(`the admin page's admin-page.js and admin-page.css are in none of: ${dirs.join(', ')}`);
  }
  const assets = {
    script: readFileSync(join(dir, 'admin-page.js'), 'utf8'),
    style: readFileSync(join(dir, 'admin-page.css'), 'utf8'),
  };
  // Inline, a closing tag inside would end the block early; the hash would still match.
  if (/<\/script/i.test(assets.script) || /<\/style/i.test(assets.style)) {
    throw new Error(`the admin page's files in ${dir} must not contain </script or </style`);
  }
  return assets;
}

const ASSETS = loadAdminPageAssets();
export const ADMIN_PAGE_SCRIPT = ASSETS.script;
export const ADMIN_PAGE_STYLE = ASSETS.style;

const BODY = `
<header>
  <h1>E-signature archive: transfers</h1>
  <div class="session" id="session" hidden>
    <span id="refreshed" class="muted"></span>
    <button type="button" id="refresh">Refresh</button>
    <button type="button" id="signout">Sign out</button>
  </div>
</header>
<p id="status" role="status" aria-live="polite" aria-atomic="true"></p>
<main>
  <section id="disabled" hidden aria-labelledby="disabled-title">
    <h2 id="disabled-title">Admin access is disabled</h2>
    <p>No admin tokens are configured, so every admin request is refused. Set <code>ADMIN_TOKENS</code>
      (<code>name:secret</code> pairs, comma-separated, secrets of at least 16 characters) and restart the service.</p>
  </section>
  <form id="login" hidden aria-labelledby="login-title" novalidate>
    <h2 id="login-title">Sign in</h2>
    <label for="token">Admin token</label>
    <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required>
    <p class="hint">Kept for this browser tab only and sent with each request.</p>
    <p id="login-error" class="error" aria-live="assertive"></p>
    <button type="submit" class="primary">Sign in</button>
  </form>
  <div id="app" hidden>
    <section aria-labelledby="summary-title">
      <h2 id="summary-title">Summary</h2>
      <div id="summary"></div>
    </section>
    <section aria-labelledby="activity-title">
      <h2 id="activity-title">Last 48 hours</h2>
      <p class="hint">Per hour: transfers archived (every document proven in the object store), transfers
        that failed (given up on), and transfers checked whose envelope was not finished yet.</p>
      <div id="activity"></div>
    </section>
    <section aria-labelledby="consent-title">
      <h2 id="consent-title">Sender consent</h2>
      <p id="consent-count"></p>
      <p class="hint">The platform rejected these senders' API tokens. Each got a mail with the link to grant
        access again; their transfers wait in needs-consent and resume by themselves once they do.</p>
      <div id="consent"></div>
    </section>
    <section aria-labelledby="attention-title">
      <h2 id="attention-title" tabindex="-1">Needs attention</h2>
      <p class="hint">Failed, needs-consent, retrying and waiting transfers, grouped by cause. Retry resumes
        where the transfer stopped and grants a fresh set of attempts.</p>
      <div id="attention"></div>
      <button type="button" id="more" hidden>Load more</button>
    </section>
    <section aria-labelledby="search-title">
      <h2 id="search-title">Find transfers</h2>
      <form id="search-form" class="filters" role="search" aria-labelledby="search-title" novalidate>
        <div class="search">
          <label for="search-q">Envelope id or name, or sender</label>
          <input id="search-q" name="q" type="search" autocomplete="off" spellcheck="false" maxlength="200"
            aria-describedby="search-help">
        </div>
        <div>
          <label for="search-platform">Platform</label>
          <select id="search-platform" name="platform"></select>
        </div>
        <div>
          <label for="search-state">State</label>
          <select id="search-state" name="state"></select>
        </div>
        <div>
          <label for="search-cause">Cause</label>
          <select id="search-cause" name="cause"></select>
        </div>
        <div>
          <label for="search-sender">Sender address</label>
          <input id="search-sender" name="sender" type="text" inputmode="email" autocomplete="off"
            spellcheck="false" maxlength="320">
        </div>
        <div class="buttons">
          <button type="submit" class="primary">Search</button>
          <button type="button" id="search-clear">Clear</button>
        </div>
      </form>
      <p id="search-help" class="hint">The start of an envelope id, or at least 3 characters of its name or of
        the sender's address. The filters are kept in this page's URL, so a filtered view can be linked.</p>
      <p id="search-error" class="error" aria-live="assertive"></p>
      <p id="results-count" aria-live="polite"></p>
      <div id="results"></div>
      <button type="button" id="results-more" hidden>Load more</button>
    </section>
    <section aria-labelledby="archived-title">
      <h2 id="archived-title">Recently archived</h2>
      <div id="archived"></div>
    </section>
  </div>
</main>
<dialog id="detail" aria-labelledby="detail-title">
  <div class="dialog-head">
    <h2 id="detail-title">Transfer</h2>
    <button type="button" id="detail-close">Close</button>
  </div>
  <div id="detail-body"></div>
</dialog>
<dialog id="dismiss" aria-labelledby="dismiss-title">
  <form id="dismiss-form" novalidate>
    <h2 id="dismiss-title">Dismiss transfer</h2>
    <p id="dismiss-what"></p>
    <label for="dismiss-reason">Reason (3 to 500 characters)</label>
    <textarea id="dismiss-reason" rows="3" maxlength="500" required></textarea>
    <p id="dismiss-error" class="error" aria-live="assertive"></p>
    <div class="dialog-actions">
      <button type="submit" id="dismiss-submit" class="danger">Dismiss</button>
      <button type="button" id="dismiss-cancel">Cancel</button>
    </div>
  </form>
</dialog>
`;

const cspHash = (source: string): string =>
  `'sha256-${createHash('sha256').update(source, 'utf8').digest('base64')}'`;

/** Only the page's own inline style and script may apply; nothing else may load, frame or post. */
export const ADMIN_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${cspHash(ADMIN_PAGE_SCRIPT)}`,
  `style-src ${cspHash(ADMIN_PAGE_STYLE)}`,
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

export function renderAdminPage(options: { adminConfigured: boolean }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Transfers · e-signature archive admin</title>
<style>${ADMIN_PAGE_STYLE}</style>
</head>
<body data-admin-configured="${options.adminConfigured ? 'true' : 'false'}">${BODY}<script>${ADMIN_PAGE_SCRIPT}</script>
</body>
</html>
`;
}

/** The page as served by this instance (it says so when no admin token is configured). */
@Injectable()
export class AdminPage {
  readonly html: string;

  constructor(@Inject(adminConfig.KEY) config: AdminConfig) {
    this.html = renderAdminPage({ adminConfigured: config.ADMIN_TOKENS.length > 0 });
  }
}
