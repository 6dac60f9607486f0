import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSamePlatformUser } from './platform-user-match';

describe('isSamePlatformUser', () => {
  const id = '3f2b8c1e-7a4d-4e0b-9c55-0d6f1a2b3c4d';

  it('matches a GUID written in either case', () => {
    assert.equal(isSamePlatformUser(id, id), true);
    assert.equal(isSamePlatformUser(id.toUpperCase(), id), true);
    assert.equal(isSamePlatformUser(id, id.toUpperCase()), true);
  });

  it('tells two GUIDs apart, and a GUID from anything else', () => {
    assert.equal(isSamePlatformUser(id, '3f2b8c1e-7a4d-4e0b-9c55-0d6f1a2b3c4e'), false);
    assert.equal(isSamePlatformUser(id, `${id} `), false);
    assert.equal(isSamePlatformUser(id, `{${id}}`), false);
    assert.equal(isSamePlatformUser('', id), false);
  });

  it('compares ids that are not GUIDs exactly', () => {
    assert.equal(isSamePlatformUser('alice', 'alice'), true);
    assert.equal(isSamePlatformUser('Alice', 'alice'), false);
  });
});
