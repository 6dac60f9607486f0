import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { Test } from '@nestjs/testing';
import { loadConfig } from '../../src/config/app-config';
import { ConfigModule } from '../../src/config/config.module';
import type { EmbeddedS3 } from '../../src/storage/embedded-s3';
import { OBJECT_STORE, type ObjectStore } from '../../src/storage/object-store';
import { StorageError } from '../../src/storage/storage-error';
import { EMBEDDED_S3, StorageModule } from '../../src/storage/storage.module';
import { startTestS3, type TestS3 } from '../support/s3';

function compile(env: Record<string, string>) {
  const config = loadConfig({ NODE_ENV: 'test', CALLBACK_AUTH: 'none', ...env });
  return Test.createTestingModule({ imports: [ConfigModule.forRoot(config), StorageModule] }).compile();
}

describe('StorageModule', () => {
  let dataDir: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'archiver-storage-module-'));
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  test('without S3_ENDPOINT it starts an embedded S3 under DATA_DIR and stops it on shutdown', async () => {
    const moduleRef = await compile({ DATA_DIR: dataDir, S3_BUCKET: 'dev-archive', S3_PREFIX: 'dev' });
    const app = await moduleRef.init();
    const embedded = app.get<EmbeddedS3>(EMBEDDED_S3);
    const store = app.get<ObjectStore>(OBJECT_STORE);
    try {
      assert.equal(embedded.directory, join(dataDir, 's3'));
      await store.ping();
      const stored = await store.putObject({ key: 'hello.txt', body: 'hello', contentType: 'text/plain' });
      assert.equal(stored.objectKey, 'dev/hello.txt');
      assert.equal(stored.bucket, 'dev-archive');
      assert.ok((await readdir(join(dataDir, 's3'))).includes('dev-archive'));
    } finally {
      await app.close();
    }
    await assert.rejects(fetch(embedded.endpoint), /fetch failed/);
  });

  test('in production it refuses to start without S3_ENDPOINT', async () => {
    await assert.rejects(
      compile({ NODE_ENV: 'production', DATA_DIR: dataDir }),
      (error: unknown) => error instanceof StorageError && error.code === 'CONFIG',
    );
  });

  describe('with S3_ENDPOINT', () => {
    let s3: TestS3;
    before(async () => {
      s3 = await startTestS3({ bucket: 'external-archive' });
    });
    after(async () => {
      await s3?.close();
    });

    test('it uses that S3, its credentials and S3_PREFIX, and starts nothing', async () => {
      const moduleRef = await compile({
        DATA_DIR: join(dataDir, 'unused'),
        S3_ENDPOINT: s3.endpoint,
        S3_BUCKET: 'external-archive',
        S3_ACCESS_KEY_ID: 'S3RVER',
        S3_SECRET_ACCESS_KEY: 'S3RVER',
        S3_FORCE_PATH_STYLE: 'true',
        S3_PREFIX: 'tenant-a/',
      });
      const app = await moduleRef.init();
      try {
        assert.equal(app.get(EMBEDDED_S3), null);
        const store = app.get<ObjectStore>(OBJECT_STORE);
        const stored = await store.putObject({
          key: 'x/manifest.json',
          body: '{}',
          contentType: 'application/json',
        });
        const head = await s3.client.send(
          new HeadObjectCommand({ Bucket: 'external-archive', Key: 'tenant-a/x/manifest.json' }),
        );
        assert.equal(head.Metadata?.sha256, stored.sha256);
      } finally {
        await app.close();
      }
      await assert.rejects(readdir(join(dataDir, 'unused')), { code: 'ENOENT' });
    });
  });
});
