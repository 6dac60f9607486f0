import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeCursor, encodeCursor } from './transfer-cursor';

describe('transfer list cursor', () => {
  const position = { createdAt: '2025-05-01T10:00:00.000500Z', id: '6f1c7e0a-2b3d-4e5f-8a9b-0c1d2e3f4a5b' };

  it('takes the first and last days PostgreSQL and the calendar allow', () => {
    for (const c of [
      '0001-01-01T00:00:00.000000Z',
      '2024-02-29T23:59:59.999999Z',
      '9999-12-31T23:59:59.999999Z',
    ]) {
      assert.deepEqual(decodeCursor(encodeCursor({ createdAt: c, id: position.id })), {
        createdAt: c,
        id: position.id,
      });
    }
  });

  it('round-trips a position with microseconds, as URL-safe text', () => {
    const cursor = encodeCursor(position);
    assert.match(cursor, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeCursor(cursor), position);
  });

  for (const [name, value] of [
    ['empty text', ''],
    ['characters outside base64url', 'abc$def'],
    ['base64 of something that is not JSON', Buffer.from('nope').toString('base64url')],
    ['a JSON array', Buffer.from('[1,2]').toString('base64url')],
    [
      'a time without microseconds',
      Buffer.from(JSON.stringify({ c: '2025-05-01T10:00:00Z', i: position.id })).toString('base64url'),
    ],
    [
      'an id that is not a UUID',
      Buffer.from(JSON.stringify({ c: position.createdAt, i: "1' OR 1=1" })).toString('base64url'),
    ],
    [
      'extra fields',
      Buffer.from(JSON.stringify({ c: position.createdAt, i: position.id, x: 1 })).toString('base64url'),
    ],
    ...[
      '2025-02-30T10:00:00.000000Z',
      '2025-02-29T10:00:00.000000Z',
      '2025-13-01T10:00:00.000000Z',
      '2025-00-01T10:00:00.000000Z',
      '2025-04-31T10:00:00.000000Z',
      '0000-01-01T00:00:00.000000Z',
      '2025-01-01T24:00:00.000000Z',
      '2025-01-01T10:60:00.000000Z',
      '2025-01-01T10:00:60.000000Z',
    ].map(
      (c) =>
        [
          `a time PostgreSQL cannot read (${c})`,
          Buffer.from(JSON.stringify({ c, i: position.id })).toString('base64url'),
        ] as const,
    ),
  ] as const) {
    it(`refuses ${name}`, () => {
      assert.equal(decodeCursor(value), undefined);
    });
  }
});
