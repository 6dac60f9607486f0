import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertValidObjectKey,
  idKeySegment,
  MAX_FILE_NAME_BYTES,
  safeFileName,
  utf8Length,
} from './object-keys';
import { StorageError } from './storage-error';

function names(...inputs: string[]): string[] {
  const used = new Set<string>();
  return inputs.map((name) => safeFileName(name, used));
}

describe('safeFileName', () => {
  it('keeps ordinary names, Unicode letters and the extension', () => {
    assert.deepEqual(names('contract.pdf', 'Vertrag Müller.pdf', '契約書.PDF', 'a.tar.gz'), [
      'contract.pdf',
      'Vertrag_Müller.pdf',
      '契約書.PDF',
      'a.tar.gz',
    ]);
  });

  it('normalises to NFC so decomposed and composed spellings are one name', () => {
    const [composed, decomposed] = names('Mu\u0308ller.pdf', 'M\u00fcller.pdf');
    assert.equal(composed, 'M\u00fcller.pdf');
    assert.equal(decomposed, 'M\u00fcller-2.pdf');
  });

  it('removes path separators, traversal, control and bidi characters', () => {
    assert.deepEqual(
      names('../../etc/passwd', 'C:\\Users\\x\\scan.pdf', 'evil\u202Efdp.exe', 'a\u0000b\u200Bc.pdf'),
      ['etc_passwd', 'C_Users_x_scan.pdf', 'evilfdp.exe', 'abc.pdf'],
    );
    for (const name of names('..', '...pdf', '/', '.hidden')) {
      assert.doesNotThrow(() => assertValidObjectKey(`prefix/${name}`), name);
    }
  });

  it('replaces characters that need escaping anywhere with underscores', () => {
    assert.deepEqual(names('a#b?c&d=e+f%g.pdf', 'report  (final)  v2.docx', '📄 signed.pdf'), [
      'a_b_c_d_e_f_g.pdf',
      'report_(final)_v2.docx',
      'signed.pdf',
    ]);
  });

  it('gives empty or unusable names a placeholder and guards Windows device names', () => {
    assert.deepEqual(names('', '////', '.pdf', 'CON.txt', 'nul'), [
      'file',
      'file-2',
      'file.pdf',
      '_CON.txt',
      '_nul',
    ]);
  });

  it('bounds the length in UTF-8 bytes, keeping the extension and whole characters', () => {
    const [ascii, wide] = names(`${'a'.repeat(400)}.pdf`, `${'ü'.repeat(300)}.pdf`);
    assert.ok(utf8Length(ascii) <= MAX_FILE_NAME_BYTES);
    assert.ok(ascii.endsWith('.pdf'));
    assert.ok(utf8Length(wide) <= MAX_FILE_NAME_BYTES);
    assert.match(wide, /^ü+\.pdf$/);
  });

  it('de-duplicates case-insensitively with a numbered suffix before the extension', () => {
    assert.deepEqual(names('report.pdf', 'Report.PDF', 'report.pdf', 'report-2.pdf'), [
      'report.pdf',
      'Report-2.PDF',
      'report-3.pdf',
      'report-2-2.pdf',
    ]);
    const used = new Set(['manifest.json']);
    assert.equal(safeFileName('manifest.json', used), 'manifest-2.json');
    assert.ok(used.has('manifest-2.json'));
  });

  it('keeps de-duplicated long names within the bound', () => {
    const long = `${'x'.repeat(300)}.pdf`;
    const [first, second] = names(long, long);
    assert.notEqual(first, second);
    assert.ok(utf8Length(second) <= MAX_FILE_NAME_BYTES);
    assert.ok(second.endsWith('-2.pdf'));
  });
});

describe('assertValidObjectKey', () => {
  it('accepts plain relative keys', () => {
    for (const key of ['a.pdf', '2026/11/env-1/signed_document/Vertrag_Müller.pdf', 'x/y-z_(1).json']) {
      assert.doesNotThrow(() => assertValidObjectKey(key), key);
    }
  });

  it('refuses traversal, absolute, empty segments, control characters and oversize keys', () => {
    const bad = [
      '',
      '../a',
      'a/../b',
      'a..b',
      '/a',
      'a/',
      'a//b',
      './a',
      'a\\b',
      'a\nb',
      'a\u202Eb',
      'Mu\u0308ller',
      'x'.repeat(1025),
      `${'x'.repeat(201)}/a`,
    ];
    for (const key of bad) {
      assert.throws(
        () => assertValidObjectKey(key),
        (error: unknown) => error instanceof StorageError && error.code === 'INVALID_INPUT',
        JSON.stringify(key),
      );
    }
  });

  it('counts the limit in bytes and lets the caller reserve room for a prefix', () => {
    assert.doesNotThrow(() => assertValidObjectKey('a'.repeat(100)));
    assert.throws(() => assertValidObjectKey('a'.repeat(100), 99));
    assert.throws(() => assertValidObjectKey('ü'.repeat(60), 100));
  });
});

describe('idKeySegment', () => {
  it('keeps GUIDs as they are', () => {
    assert.equal(
      idKeySegment('0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'),
      '0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
    );
  });

  it('encodes every byte that could shape a key, reversibly and case-preserving', () => {
    assert.equal(idKeySegment('wVdZEaPD2igwUnFGJBjDD0dpO7k='), 'wVdZEaPD2igwUnFGJBjDD0dpO7k~3D');
    assert.equal(idKeySegment('a/b+c'), 'a~2Fb~2Bc');
    assert.equal(idKeySegment('..'), '~2E~2E');
    assert.equal(idKeySegment('ü\u0000'), '~C3~BC~00');
    assert.notEqual(idKeySegment('Abc'), idKeySegment('abc'));
    for (const id of ['..', '.', 'a/../b', '\u202e', 'x'.repeat(255), '/'.repeat(255)]) {
      assert.doesNotThrow(() => assertValidObjectKey(`p/2026/01/${idKeySegment(id)}/manifest.json`), id);
    }
  });

  it('bounds long ids with a digest of the whole id, so two long ids never share a segment', () => {
    const a = idKeySegment(`${'='.repeat(200)}a`);
    const b = idKeySegment(`${'='.repeat(200)}b`);
    assert.ok(a.length <= 150 && b.length <= 150);
    assert.notEqual(a, b);
    assert.match(a, /^(~3D)+~~[0-9a-f]{32}$/);
  });

  it('refuses an empty id', () => {
    assert.throws(() => idKeySegment(''), StorageError);
  });
});
