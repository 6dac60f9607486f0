import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import type { DatabaseConfig } from '../config/app-config';
import { ENTITIES } from './entities';

/** The one TypeORM configuration, shared by the service, the migration CLI and the tests. */
export function buildDataSourceOptions(
  url: string,
  config: Pick<
    DatabaseConfig,
    'DATABASE_POOL_SIZE' | 'DATABASE_ACQUIRE_TIMEOUT_MS' | 'DATABASE_STATEMENT_TIMEOUT_MS'
  >,
): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    installExtensions: false,
    uuidExtension: 'pgcrypto',
    poolSize: config.DATABASE_POOL_SIZE,
    logging: false,
    extra: {
      // A bounded wait for a pooled connection: a stalled database yields an error (503), never a hang.
      connectionTimeoutMillis: config.DATABASE_ACQUIRE_TIMEOUT_MS,
      statement_timeout: config.DATABASE_STATEMENT_TIMEOUT_MS,
      query_timeout: config.DATABASE_STATEMENT_TIMEOUT_MS + 1000,
      application_name: 'esign-archiver',
    },
  };
}
