import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';

export interface ConsentPage {
  title: string;
  paragraphs: readonly string[];
  /** A link the page offers; only ever a configured URL. */
  link?: { href: string; text: string };
  /** Machine-readable outcome (`granted`, or a ConsentErrorCode), for support and tests. */
  outcome: string;
}

export type ConsentOutcome =
  | { kind: 'redirect'; location: string; setCookies?: readonly string[] }
  | { kind: 'page'; status: number; page: ConsentPage; setCookies?: readonly string[] };

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1b1b1b}' +
  'h1{font-size:1.4rem}.ref{color:#555;font-size:.85rem}';

/**
 * Headers on every consent response, redirects included. The URLs here carry states and codes, so no
 * Referer may leave with them, nothing may be cached, and the pages run no script at all.
 */
export const CONSENT_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy':
    `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; ` +
    "img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
});

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

export function renderConsentPage(page: ConsentPage): string {
  const paragraphs = page.paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n');
  const link = page.link
    ? `<p><a id="continue" href="${escapeHtml(page.link.href)}">${escapeHtml(page.link.text)}</a></p>\n`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(page.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main data-outcome="${escapeHtml(page.outcome)}">
<h1>${escapeHtml(page.title)}</h1>
${paragraphs}
${link}<p class="ref">Reference: <code>${escapeHtml(page.outcome)}</code></p>
</main>
</body>
</html>
`;
}

/** Writes an outcome: a 302 to a configured URL, or an HTML page; always with the security headers. */
export function sendConsentOutcome(reply: FastifyReply, outcome: ConsentOutcome): void {
  void reply.headers(CONSENT_SECURITY_HEADERS);
  if (outcome.setCookies?.length) void reply.header('Set-Cookie', [...outcome.setCookies]);
  if (outcome.kind === 'redirect') {
    void reply.status(302).header('Location', outcome.location).send();
    return;
  }
  void reply.status(outcome.status).type('text/html; charset=utf-8').send(renderConsentPage(outcome.page));
}
