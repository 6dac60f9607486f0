import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requestIdFor } from './request-id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('request ids', () => {
  it("keeps the caller's id when it is short and plain", () => {
    for (const id of [
      '0f8fad5b-d9cb-469f-a165-70867728950e',
      '01ARZ3NDEKTSV4RRFFQ69G5FAV',
      'lb.req:42_a-b',
      'x',
    ]) {
      assert.equal(requestIdFor(id), id);
    }
  });

  it('makes a new one for a missing, repeated, long or unusual id', () => {
    const unusable = [undefined, '', ['a', 'b'], 'x'.repeat(129), 'two words', 'a,b', '{"x":1}', 'é', 'a\nb'];
    for (const header of unusable) assert.match(requestIdFor(header), UUID, JSON.stringify(header));
    assert.notEqual(requestIdFor(undefined), requestIdFor(undefined));
  });
});
