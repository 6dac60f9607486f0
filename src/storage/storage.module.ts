import { join } from 'node:path';
import { Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { ServiceConfig, StorageConfig } from '../config/app-config';
import { serviceConfig, storageConfig } from '../config/config.schema';
import { startEmbeddedS3, type EmbeddedS3 } from './embedded-s3';
import { OBJECT_STORE } from './object-store';
import { S3ObjectStore, type S3ObjectStoreOptions } from './s3-object-store';
import { StorageError } from './storage-error';

/** DI token for the embedded s3rver started when S3_ENDPOINT is unset, or null. */
export const EMBEDDED_S3 = Symbol('EMBEDDED_S3');

const logger = new Logger('StorageModule');

/** Store options from the configuration, or from the embedded server when there is one. */
export function s3StoreOptions(config: StorageConfig, embedded: EmbeddedS3 | null): S3ObjectStoreOptions {
  const common = {
    prefix: config.S3_PREFIX,
    partSizeBytes: config.S3_PART_SIZE_MB * 1024 * 1024,
    queueSize: config.S3_QUEUE_SIZE,
  };
  if (embedded !== null) {
    return {
      ...common,
      endpoint: embedded.endpoint,
      region: embedded.region,
      bucket: embedded.bucket,
      forcePathStyle: true,
      credentials: { accessKeyId: embedded.accessKeyId, secretAccessKey: embedded.secretAccessKey },
    };
  }
  if (config.S3_ENDPOINT === undefined || config.S3_BUCKET === undefined) {
    throw new StorageError('S3_ENDPOINT and S3_BUCKET must be set to use an external S3', 'CONFIG');
  }
  return {
    ...common,
    endpoint: config.S3_ENDPOINT,
    region: config.S3_REGION,
    bucket: config.S3_BUCKET,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    credentials:
      config.S3_ACCESS_KEY_ID !== undefined && config.S3_SECRET_ACCESS_KEY !== undefined
        ? { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY }
        : undefined,
  };
}

async function embeddedS3For(config: StorageConfig, service: ServiceConfig): Promise<EmbeddedS3 | null> {
  if (config.S3_ENDPOINT !== undefined) {
    logger.log(`archiving to bucket ${config.S3_BUCKET} at ${config.S3_ENDPOINT}`);
    return null;
  }
  // Envelopes are deleted on the platform once archived: a copy on this machine's disk is not an
  // archive, so production refuses to start without a real S3.
  if (service.NODE_ENV === 'production') {
    throw new StorageError(
      'S3_ENDPOINT is required in production (the embedded S3 is for development)',
      'CONFIG',
    );
  }
  const directory = join(service.DATA_DIR, 's3');
  const embedded = await startEmbeddedS3(directory, { bucket: config.S3_BUCKET });
  logger.warn(
    `S3_ENDPOINT is not set: started an embedded S3 (s3rver) at ${embedded.endpoint}, bucket ` +
      `${embedded.bucket}, data in ${embedded.directory}. For development only.`,
  );
  return embedded;
}

/** Provides OBJECT_STORE: the S3 in S3_ENDPOINT, or an embedded s3rver started at boot. */
@Module({
  providers: [
    { provide: EMBEDDED_S3, inject: [storageConfig.KEY, serviceConfig.KEY], useFactory: embeddedS3For },
    {
      provide: OBJECT_STORE,
      inject: [storageConfig.KEY, EMBEDDED_S3],
      useFactory: (config: StorageConfig, embedded: EmbeddedS3 | null) =>
        new S3ObjectStore(s3StoreOptions(config, embedded)),
    },
  ],
  exports: [OBJECT_STORE],
})
export class StorageModule implements OnApplicationShutdown {
  constructor(@Inject(EMBEDDED_S3) private readonly embedded: EmbeddedS3 | null) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.embedded === null) return;
    await this.embedded.stop();
    logger.log('embedded S3 stopped');
  }
}
