import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeUserMetadata, encodeUserMetadata, MAX_USER_METADATA_BYTES } from './s3-metadata';
import { StorageError } from './storage-error';

const invalid = (error: unknown) => error instanceof StorageError && error.code === 'INVALID_INPUT';

describe('user metadata', () => {
  it('sends printable ASCII as is and everything else as one encoded word that decodes back', () => {
    const input = {
      'envelope-id': 'abc-123',
      'file-name': 'Vertrag Müller.pdf',
      note: ' padded ',
      tricky: '=?x?=',
    };
    const encoded = encodeUserMetadata(input);
    assert.equal(encoded['envelope-id'], 'abc-123');
    for (const value of Object.values(encoded))
      assert.match(value, /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/);
    assert.match(encoded['file-name'], /^=\?UTF-8\?B\?/);
    assert.deepEqual(decodeUserMetadata(encoded), input);
  });

  it('refuses keys S3 or proxies would change or drop, and the reserved sha256', () => {
    for (const key of ['Envelope', 'file_name', '-x', 'a b', '', 'sha256']) {
      assert.throws(() => encodeUserMetadata({ [key]: 'v' }), invalid, key);
    }
  });

  it('refuses metadata over S3’s 2 KB, counting the sha256 the store adds', () => {
    const room = MAX_USER_METADATA_BYTES - 'sha256'.length - 64 - 'k'.length;
    assert.doesNotThrow(() => encodeUserMetadata({ k: 'x'.repeat(room) }));
    assert.throws(() => encodeUserMetadata({ k: 'x'.repeat(room + 1) }), invalid);
  });
});
