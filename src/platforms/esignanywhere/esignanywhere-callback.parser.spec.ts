import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEsawCallback } from './esignanywhere-callback.parser';

describe('eSignAnyWhere callback parsing', () => {
  it('normalises the envelope id to lower case and marks finishing actions as work', () => {
    const parsed = parseEsawCallback({
      envelope: 'ABCDEF01-2345-6789-ABCD-EF0123456789',
      action: 'envelopeFinished',
    });
    assert.deepEqual(parsed, {
      ok: true,
      envelopeId: 'abcdef01-2345-6789-abcd-ef0123456789',
      action: 'envelopeFinished',
      known: true,
      createsWork: true,
    });
  });

  it('knows status actions that create no work, and unknown actions', () => {
    const status = parseEsawCallback({
      envelope: 'abcdef01-2345-6789-abcd-ef0123456789',
      action: 'workstepOpened',
    });
    assert.ok(status.ok && status.known && !status.createsWork);
    const unknown = parseEsawCallback({
      envelope: 'abcdef01-2345-6789-abcd-ef0123456789',
      action: 'newThing',
    });
    assert.ok(unknown.ok && !unknown.known && !unknown.createsWork);
  });

  it('rejects malformed input with a short reason', () => {
    assert.deepEqual(parseEsawCallback({}), { ok: false, reason: 'envelope is missing' });
    assert.deepEqual(parseEsawCallback({ envelope: 'abc', action: 'x' }), {
      ok: false,
      reason: 'envelope must be a GUID',
    });
    assert.deepEqual(parseEsawCallback({ envelope: ['a', 'b'] }), {
      ok: false,
      reason: 'envelope is given more than once',
    });
    assert.deepEqual(
      parseEsawCallback({ envelope: 'abcdef01-2345-6789-abcd-ef0123456789', action: 'x'.repeat(65) }),
      {
        ok: false,
        reason: 'action is malformed',
      },
    );
  });
});
