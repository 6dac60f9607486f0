import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Script } from 'node:vm';
import ts from 'typescript';
import {
  ADMIN_ASSET_DIRS,
  ADMIN_PAGE_CSP,
  ADMIN_PAGE_SCRIPT,
  ADMIN_PAGE_STYLE,
  loadAdminPageAssets,
  renderAdminPage,
} from './admin-page';

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

  it('serves the files in src/admin/assets byte for byte', () => {
    const fromSources = loadAdminPageAssets([ADMIN_ASSET_DIRS[ADMIN_ASSET_DIRS.length - 1]]);
    assert.equal(ADMIN_PAGE_SCRIPT, fromSources.script);
    assert.equal(ADMIN_PAGE_STYLE, fromSources.style);
    assert.match(ADMIN_PAGE_SCRIPT, /^\/\/ @ts-check\n/);
  });

  it('refuses to start without its files, naming where it looked', () => {
    const empty = mkdtempSync(join(tmpdir(), 'admin-assets-'));
    assert.throws(() => loadAdminPageAssets([empty]), new RegExp(`in none of: ${empty}`));
  });

  it('refuses a file that would end its inline block early', () => {
    const dir = mkdtempSync(join(tmpdir(), 'admin-assets-'));
    writeFileSync(join(dir, 'admin-page.js'), "const x = '</script>';\n");
    writeFileSync(join(dir, 'admin-page.css'), 'body {}\n');
    assert.throws(() => loadAdminPageAssets([dir]), /must not contain <\/script or <\/style/);
  });

  it('builds the DOM from text only', () => {
    assert.doesNotMatch(
      ADMIN_PAGE_SCRIPT,
      /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function|setAttribute\('style'/,
    );
  });

  it('has a script that type-checks against the admin API types', () => {
    const dir = ADMIN_ASSET_DIRS.find((d) => existsSync(join(d, 'tsconfig.json')));
    assert.ok(dir, 'src/admin/assets/tsconfig.json exists');
    const config = ts.getParsedCommandLineOfConfigFile(join(dir, 'tsconfig.json'), undefined, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) =>
        assert.fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    });
    assert.ok(config);
    assert.ok(config.fileNames.some((f) => f.endsWith('admin-page.js')));
    assert.equal(config.options.checkJs, true);
    const program = ts.createProgram(config.fileNames, config.options);
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const where =
        d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
      const place = d.file ? `${d.file.fileName}:${(where?.line ?? 0) + 1}` : '';
      return `${place} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    assert.deepEqual(problems, []);
  });
});
