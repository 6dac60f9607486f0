import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LoggerService } from '@nestjs/common';
import { setupAdminDocs } from './admin/admin-docs';
import { AppModule } from './app.module';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { BODY_LIMIT_BYTES, httpServerOptions } from './common/http-server-options';
import { refuseHeadOnCallbacks } from './intake/callback-methods.hook';
import { registerCallbackMetrics } from './metrics/callback-metrics.hook';
import { MetricsService } from './metrics/metrics.service';
import type { AppConfig } from './config/app-config';

export async function createApp(
  config: AppConfig,
  logger: LoggerService | false,
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter(httpServerOptions(config));
  // Callbacks may carry any body with any content type; it is read (within the limit) and ignored.
  adapter
    .getInstance()
    .addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES }, (_req, _body, done) =>
      done(null, undefined),
    );
  refuseHeadOnCallbacks(adapter.getInstance());
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    logger: logger === false ? false : logger,
    bufferLogs: false,
  });
  app.useGlobalFilters(new AllExceptionsFilter());
  setupAdminDocs(app);
  registerCallbackMetrics(adapter.getInstance(), app.get(MetricsService));
  app.enableShutdownHooks();
  return app;
}
