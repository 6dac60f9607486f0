import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConfigError, loadSections } from '../config/app-config';
import { databaseConfig, serviceConfig } from '../config/config.schema';
import { buildDataSourceOptions } from './data-source-options';
import { resolveDatabase } from './database-url';
import { runMigrationsLocked } from './migrate';

async function main(): Promise<void> {
  const logger = new Logger('migrate');
  const { database, service } = loadSections({ database: databaseConfig, service: serviceConfig });
  const db = await resolveDatabase({ ...database, DATA_DIR: service.DATA_DIR }, (m) => logger.log(m));
  const dataSource = new DataSource(buildDataSourceOptions(db.url, database));
  try {
    await dataSource.initialize();
    const applied = await runMigrationsLocked(dataSource);
    logger.log(applied.length ? `applied: ${applied.join(', ')}` : 'the schema is up to date');
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await db.embedded?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(
    error instanceof ConfigError ? error.message : `migration failed: ${(error as Error).message}`,
  );
  process.exit(1);
});
