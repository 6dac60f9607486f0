import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PlatformError } from '../platforms/platform-error';
import { StorageError } from '../storage/storage-error';
import { ArchiveError, classifyError } from './archive-error';

describe('error classification', () => {
  it('maps platform errors by code and keeps Retry-After', () => {
    const e = classifyError(new PlatformError('slow down', 'RATE_LIMITED', { retryAfterMs: 3000 }));
    assert.equal(e.errorClass, 'TRANSIENT');
    assert.equal(e.retryAfterMs, 3000);
    assert.equal(classifyError(new PlatformError('x', 'UNAUTHORIZED')).errorClass, 'UNAUTHORIZED');
    assert.equal(classifyError(new PlatformError('x', 'NOT_FOUND')).errorClass, 'NOT_FOUND');
  });

  it('looks through a storage error that only wraps its source', () => {
    const corrupt = new ArchiveError('not a PDF', 'CORRUPT');
    assert.equal(
      classifyError(new StorageError('upload failed', 'SOURCE', { cause: corrupt })).errorClass,
      'CORRUPT',
    );
    const revoked = new PlatformError('revoked', 'UNAUTHORIZED');
    assert.equal(
      classifyError(new StorageError('upload failed', 'SOURCE', { cause: revoked })).errorClass,
      'UNAUTHORIZED',
    );
    assert.equal(classifyError(new StorageError('s3 down', 'TRANSIENT')).errorClass, 'TRANSIENT');
    assert.equal(classifyError(new StorageError('mismatch', 'INTEGRITY')).errorClass, 'INTEGRITY');
  });

  it('treats unknown errors as defects and connection errors as transient', () => {
    assert.equal(classifyError(new TypeError('x is undefined')).errorClass, 'INTERNAL');
    assert.equal(classifyError(new Error('read ECONNRESET')).errorClass, 'TRANSIENT');
  });
});
