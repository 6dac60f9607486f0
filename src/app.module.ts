import { Module, type DynamicModule } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { LoggerModule } from 'nestjs-pino';
import { AdminModule } from './admin/admin.module';
import { loggerParams } from './common/logging';
import type { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { IntakeModule } from './intake/intake.module';
import { PlatformsModule } from './platforms/platforms.module';
import { MetricsModule } from './metrics/metrics.module';
import { ReconciliationModule } from './reconciliation/reconciliation.module';
import { TransfersModule } from './transfers/transfers.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot(loggerParams(config.service.LOG_LEVEL)),
        ScheduleModule.forRoot(),
        DatabaseModule,
        MetricsModule,
        IntakeModule,
        PlatformsModule.forRoot(config),
        TransfersModule,
        ReconciliationModule,
        AdminModule,
        HealthModule,
      ],
    };
  }
}
