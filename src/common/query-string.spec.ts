import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { malformedParameters, parseQueryString } from './query-string';

describe('query string parsing', () => {
  it('decodes percent-encoding and plus signs, and gathers a repeated name into an array', () => {
    const query = parseQueryString('a=1&b=x+y%2Bz&a=2&a=3&c&d=%E2%82%AC&e=%00');
    assert.deepEqual({ ...query }, { a: ['1', '2', '3'], b: 'x y+z', c: '', d: '\u20ac', e: '\u0000' });
    assert.deepEqual(malformedParameters(query), []);
  });

  it('has no prototype, so __proto__ is an ordinary parameter', () => {
    const query = parseQueryString('__proto__=x&constructor=y');
    assert.equal(Object.getPrototypeOf(query), null);
    assert.deepEqual(Object.keys(query), ['__proto__', 'constructor']);
  });

  it('keeps text that is not valid percent-encoded UTF-8 as written and names its parameter', () => {
    const query = parseQueryString('ok=1&cursor=%ff&x%E2%82=1&action=a%&last=%C0%AF&cursor=b');
    assert.deepEqual(
      { ...query },
      { ok: '1', cursor: ['%ff', 'b'], 'x%E2%82': '1', action: 'a%', last: '%C0%AF' },
    );
    assert.deepEqual(malformedParameters(query), ['cursor', 'x%E2%82', 'action', 'last']);
    assert.deepEqual(
      Object.keys(query),
      ['ok', 'cursor', 'x%E2%82', 'action', 'last'],
      'the mark is not a key',
    );
  });

  it('skips empty parts and nameless values', () => {
    assert.deepEqual({ ...parseQueryString('&&=x&a=1&') }, { a: '1' });
    assert.deepEqual(malformedParameters(undefined), []);
  });
});
