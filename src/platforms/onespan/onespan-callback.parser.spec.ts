import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOneSpanCallback } from './onespan-callback.parser';

const event = (fields: Record<string, unknown>) => ({
  '@class': 'com.silanis.esl.packages.event.ESLProcessEvent',
  sessionUser: 'signer-1',
  message: null,
  documentId: null,
  createdDate: '2026-11-30T10:00:00.000Z',
  ...fields,
});

describe('OneSpan callback parsing', () => {
  it('keeps the package id exactly as sent and says which events create work', () => {
    assert.deepEqual(
      parseOneSpanCallback(event({ name: 'PACKAGE_COMPLETE', packageId: 'wVdZEaPD2igwUnFGJBjDD0dpO7k=' })),
      {
        ok: true,
        packageId: 'wVdZEaPD2igwUnFGJBjDD0dpO7k=',
        event: 'PACKAGE_COMPLETE',
        known: true,
        createsWork: true,
      },
    );
    for (const name of ['PACKAGE_DECLINE', 'PACKAGE_EXPIRE', 'PACKAGE_OPT_OUT']) {
      const parsed = parseOneSpanCallback(event({ name, packageId: 'Ab-_9' }));
      assert.ok(parsed.ok && parsed.createsWork, name);
    }
    for (const name of ['PACKAGE_TRASH', 'PACKAGE_DELETE', 'PACKAGE_ARCHIVE', 'DOCUMENT_SIGNED']) {
      const parsed = parseOneSpanCallback(event({ name, packageId: 'Ab-_9' }));
      assert.ok(parsed.ok && parsed.known && !parsed.createsWork, name);
    }
    const future = parseOneSpanCallback(event({ name: 'RECORDINGS_READY', packageId: 'Ab-_9' }));
    assert.ok(future.ok && !future.known && !future.createsWork);
  });

  it('refuses what is not an event, with a short reason', () => {
    const reasons = [
      [null, /JSON object/],
      [[], /JSON object/],
      ['PACKAGE_COMPLETE', /JSON object/],
      [event({ packageId: 'x' }), /name is missing/],
      [event({ name: 'package complete', packageId: 'x' }), /name is malformed/],
      [event({ name: 'PACKAGE_COMPLETE' }), /packageId is missing/],
      [event({ name: 'PACKAGE_COMPLETE', packageId: 17 }), /packageId is missing/],
      [event({ name: 'PACKAGE_COMPLETE', packageId: '../../admin' }), /packageId must be/],
      [event({ name: 'PACKAGE_COMPLETE', packageId: 'a'.repeat(256) }), /packageId must be/],
      [event({ name: 'PACKAGE_COMPLETE', packageId: 'a b' }), /packageId must be/],
    ] as const;
    for (const [body, reason] of reasons) {
      const parsed = parseOneSpanCallback(body);
      assert.equal(parsed.ok, false, JSON.stringify(body));
      assert.match((parsed as { reason: string }).reason, reason);
    }
  });
});
