import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { buildDataSourceOptions } from './data-source-options';
import { resolveDatabase, type ResolvedDatabase } from './database-url';
import { runMigrationsLocked } from './migrate';

const RESOLVED_DATABASE = Symbol('RESOLVED_DATABASE');

@Global()
@Module({
  providers: [
    {
      provide: RESOLVED_DATABASE,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => resolveDatabase(config, (m) => new Logger('Database').log(m)),
    },
    {
      provide: DataSource,
      inject: [APP_CONFIG, RESOLVED_DATABASE],
      useFactory: async (config: AppConfig, db: ResolvedDatabase) => {
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
