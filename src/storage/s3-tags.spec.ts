import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normaliseTagKey, S3_MAX_TAG_KEY_CHARS, S3_MAX_TAG_VALUE_CHARS, toS3Tags } from './s3-tags';

describe('toS3Tags', () => {
  it('passes valid tags through in insertion order', () => {
    assert.deepEqual(
      toS3Tags({ platform: 'esignanywhere', 'envelope-status': 'Completed', 'a:b/c=d+e@f': 'x y' }),
      [
        { key: 'platform', value: 'esignanywhere' },
        { key: 'envelope-status', value: 'Completed' },
        { key: 'a:b/c=d+e@f', value: 'x y' },
      ],
    );
  });

  it('keeps Unicode letters and replaces characters outside S3’s set with underscores', () => {
    assert.deepEqual(toS3Tags({ 'Kunde#Nr': 'Müller & Söhne (GmbH)?', abteilung: '営業部' }), [
      { key: 'Kunde_Nr', value: 'Müller _ Söhne _GmbH__' },
      { key: 'abteilung', value: '営業部' },
    ]);
  });

  it('collapses whitespace and drops invisible characters', () => {
    assert.deepEqual(toS3Tags({ '  team \t name ': ' a\n\nb\u200B ' }), [{ key: 'team name', value: 'a b' }]);
  });

  it('cuts keys to 128 and values to 256 characters without splitting a character', () => {
    const [tag] = toS3Tags({ ['k'.repeat(200)]: '𠀀'.repeat(300) });
    assert.equal(tag.key.length, S3_MAX_TAG_KEY_CHARS);
    assert.equal(tag.value, '𠀀'.repeat(S3_MAX_TAG_VALUE_CHARS));
  });

  it('folds compatibility forms (NFKC) and removes invisible characters before comparing keys', () => {
    assert.equal(normaliseTagKey('ｐｌａｔｆｏｒｍ'), 'platform');
    assert.equal(normaliseTagKey('plat\u200Bform\u00AD'), 'platform');
    assert.deepEqual(
      toS3Tags({
        platform: 'esignanywhere',
        ｐｌａｔｆｏｒｍ: 'evil',
        Platform: 'evil',
        'plat\u200Bform': 'evil',
      }),
      [{ key: 'platform', value: 'esignanywhere' }],
    );
  });

  it('drops empty keys, the reserved aws: prefix and keys that collide after cleaning', () => {
    assert.deepEqual(
      toS3Tags({ '': 'x', ' ': 'y', 'aws:cloudformation': 'z', 'AWS:x': 'z', 'a#': '1', 'a?': '2' }),
      [{ key: 'a_', value: '1' }],
    );
  });

  it('keeps at most ten tags, the first ones', () => {
    const record = Object.fromEntries(Array.from({ length: 14 }, (_, i) => [`k${i}`, `v${i}`]));
    const tags = toS3Tags(record);
    assert.equal(tags.length, 10);
    assert.deepEqual(tags.at(-1), { key: 'k9', value: 'v9' });
  });

  it('allows empty values', () => {
    assert.deepEqual(toS3Tags({ flag: '' }), [{ key: 'flag', value: '' }]);
  });
});
