import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { DatabaseConfig, ServiceConfig } from '../config/app-config';
import { databaseConfig, serviceConfig } from '../config/config.schema';
import { buildDataSourceOptions } from './data-source-options';
import { resolveDatabase, type ResolvedDatabase } from './database-url';
import { runMigrationsLocked } from './migrate';

const RESOLVED_DATABASE = Symbol('RESOLVED_DATABASE');

@Global()
@Module({
  providers: [
    {
      provide: RESOLVED_DATABASE,
      inject: [databaseConfig.KEY, serviceConfig.KEY],
      useFactory: (config: DatabaseConfig, service: ServiceConfig) =>
        resolveDatabase({ ...config, DATA_DIR: service.DATA_DIR }, (m) => new Logger('Database').log(m)),
    },
    {
      provide: DataSource,
      inject: [databaseConfig.KEY, RESOLVED_DATABASE],
      useFactory: async (config: DatabaseConfig, db: ResolvedDatabase) => {
        const logger = new Logger('Database');
        const dataSource = new DataSource(buildDataSourceOptions(db.url, config));
        await dataSource.initialize();
        const applied = await runMigrationsLocked(dataSource);
        if (applied.length > 0) logger.log(`applied migrations: ${applied.join(', ')}`);
        return dataSource;
      },
    },
  ],
  exports: [DataSource],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(RESOLVED_DATABASE) private readonly db: ResolvedDatabase,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    await this.db.embedded?.stop();
  }
}
