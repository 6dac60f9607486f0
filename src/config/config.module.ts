import { Global, Module, type DynamicModule } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from './app-config';
import { CORE_SECTIONS } from './config.schema';

/** Provides each core section under its own token (and the whole for bootstrap code). */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    const sections = Object.entries(CORE_SECTIONS).map(([name, section]) => ({
      provide: section.KEY,
      useValue: config[name as keyof typeof CORE_SECTIONS],
    }));
    return {
      module: ConfigModule,
      providers: [{ provide: APP_CONFIG, useValue: config }, ...sections],
      exports: [APP_CONFIG, ...sections.map((s) => s.provide)],
    };
  }
}
