import assert from 'node:assert/strict';
import { StorageError } from '../../src/storage/storage-error';

/** The StorageError a call fails with; the test fails if it succeeds or fails otherwise. */
export async function rejection(promise: Promise<unknown>): Promise<StorageError> {
  const error = await promise.then(
    () => assert.fail('expected the call to fail'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof StorageError, `expected a StorageError, got ${String(error)}`);
  return error;
}
