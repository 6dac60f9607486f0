import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NoSuchBucket, NoSuchKey, S3ServiceException } from '@aws-sdk/client-s3';
import { storageErrorFromS3 } from './s3-object-store';

function serviceError(name: string, status: number): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message: name,
  });
}

describe('storageErrorFromS3', () => {
  it('calls network failures, throttling and 5xx transient', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    for (const error of [
      refused,
      serviceError('SlowDown', 503),
      serviceError('InternalError', 500),
      serviceError('WhateverNew', 502),
      serviceError('TooManyRequests', 429),
      Object.assign(new Error('timed out'), { name: 'TimeoutError' }),
    ]) {
      const mapped = storageErrorFromS3(error, 'test');
      assert.equal(mapped.code, 'TRANSIENT', error.name);
      assert.equal(mapped.cause, error);
    }
  });

  it('calls refused credentials, permissions and a missing bucket a configuration problem', () => {
    const bucket = new NoSuchBucket({ $metadata: { httpStatusCode: 404 }, message: 'gone' });
    for (const error of [
      serviceError('AccessDenied', 403),
      serviceError('InvalidAccessKeyId', 403),
      bucket,
    ]) {
      assert.equal(storageErrorFromS3(error, 'test').code, 'CONFIG', error.name);
    }
  });

  it('tells a missing object from other client errors', () => {
    assert.equal(
      storageErrorFromS3(new NoSuchKey({ $metadata: { httpStatusCode: 404 }, message: 'x' }), 't').code,
      'NOT_FOUND',
    );
    assert.equal(storageErrorFromS3(serviceError('NotFound', 404), 't').code, 'NOT_FOUND');
    assert.equal(storageErrorFromS3(serviceError('EntityTooLarge', 400), 't').code, 'REJECTED');
    assert.equal(storageErrorFromS3(serviceError('PreconditionFailed', 412), 't').code, 'REJECTED');
  });

  it('names the action and the vendor error in the message', () => {
    const mapped = storageErrorFromS3(serviceError('AccessDenied', 403), 'upload of a/b.pdf');
    assert.match(mapped.message, /upload of a\/b\.pdf failed: AccessDenied \(HTTP 403\)/);
  });
});
