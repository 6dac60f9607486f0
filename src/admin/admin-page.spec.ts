import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { Script } from 'node:vm';
import { ADMIN_PAGE_CSP, ADMIN_PAGE_SCRIPT, ADMIN_PAGE_STYLE, renderAdminPage } from './admin-page';

const hash = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

describe('admin page document', () => {
  it('has a script that parses', () => {
    assert.doesNotThrow(() => new Script(ADMIN_PAGE_SCRIPT, { filename: 'admin-page.js' }));
  });

  it('embeds exactly the style and script its CSP hashes allow', () => {
    const html = renderAdminPage({ adminConfigured: true });
    assert.ok(html.includes(`<style>${ADMIN_PAGE_STYLE}</style>`));
    assert.ok(html.includes(`<script>${ADMIN_PAGE_SCRIPT}</script>`));
    assert.ok(ADMIN_PAGE_CSP.includes(`script-src ${hash(ADMIN_PAGE_SCRIPT)};`));
    assert.ok(ADMIN_PAGE_CSP.includes(`style-src ${hash(ADMIN_PAGE_STYLE)};`));
    assert.equal((html.match(/<script/g) ?? []).length, 1);
  });

  it('builds the DOM from text only', () => {
    assert.doesNotMatch(
      ADMIN_PAGE_SCRIPT,
      /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/,
    );
  });
});
