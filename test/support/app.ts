import 'reflect-metadata';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/app.factory';
import { loadConfig, type AppConfig } from '../../src/config/app-config';
import { createTestDatabase, type TestDatabase } from './database';

export const TEST_CALLBACK_TOKEN = 'test-callback-token-0123456789';

export interface RunningApp {
  app: NestFastifyApplication;
  config: AppConfig;
  url: string;
  db: TestDatabase;
  close(): Promise<void>;
}

/**
 * Starts the whole service on a free loopback port against a fresh database.
 * `env` overrides configuration; the background archive job is off unless asked for.
 */
export async function startTestApp(
  env: Record<string, string | undefined> = {},
  options: { db?: TestDatabase; customize?: (app: NestFastifyApplication) => void } = {},
): Promise<RunningApp> {
  const db = options.db ?? (await createTestDatabase());
  const config = loadConfig({
    NODE_ENV: 'test',
    // TEST_LOG_LEVEL=debug shows the service's log while a test runs.
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATABASE_URL: db.url,
    CALLBACK_TOKEN: TEST_CALLBACK_TOKEN,
    ARCHIVE_ENABLED: 'false',
    // Reconciliation asks the platform at start; tests about it turn it on.
    RECONCILE_INTERVAL: '0',
    // Embedded S3 and mail files of a test never land in the project's .data folder.
    DATA_DIR: mkdtempSync(join(tmpdir(), 'archiver-data-')),
    ...env,
  });
  const app = await createApp(config);
  options.customize?.(app);
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return {
    app,
    config,
    url,
    db,
    async close() {
      await app.close();
      if (!options.db) await db.drop();
    },
  };
}
