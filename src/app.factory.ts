import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LoggerService } from '@nestjs/common';
import { setupAdminDocs } from './admin/admin-docs';
import { AppModule } from './app.module';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { registerCallbackMetrics } from './metrics/callback-metrics.hook';
import { MetricsService } from './metrics/metrics.service';
import type { AppConfig } from './config/app-config';

/** Request bodies are never needed beyond small JSON; anything larger is refused with 413. */
export const BODY_LIMIT_BYTES = 64 * 1024;

export async function createApp(
  config: AppConfig,
  logger: LoggerService | false,
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({ bodyLimit: BODY_LIMIT_BYTES, trustProxy: true });
  // Callbacks may carry any body with any content type; it is read (within the limit) and ignored.
  adapter
    .getInstance()
    .addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES }, (_req, _body, done) =>
      done(null, undefined),
    );
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
