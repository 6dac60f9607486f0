import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config/app-config';
import { EsignAnywhereClient } from './esignanywhere.client';

@Module({
  providers: [
    {
      provide: EsignAnywhereClient,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => EsignAnywhereClient.fromConfig(config),
    },
  ],
  exports: [EsignAnywhereClient],
})
export class EsignAnywhereModule {}
