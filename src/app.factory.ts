import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { setupAdminDocs } from './admin/admin-docs';
import { AppModule } from './app.module';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { BODY_LIMIT_BYTES, httpServerOptions } from './common/http-server-options';
import { registerRequestLogHooks } from './common/logging';
import { refuseHeadOnCallbacks } from './intake/callback-methods.hook';
import { registerCallbackMetrics } from './metrics/callback-metrics.hook';
import { MetricsService } from './metrics/metrics.service';
import { PLATFORMS } from './platforms/platforms.module';
import type { AppConfig } from './config/app-config';

/**
 * The whole service, logging JSON lines through pino at LOG_LEVEL: Nest's own lines, one access
 * line per request, and the lines of background work.
 */
export async function createApp(config: AppConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter(httpServerOptions(config.service));
  // Callbacks may carry any body with any content type; it is read (within the limit) and ignored.
  adapter
    .getInstance()
    .addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES }, (_req, _body, done) =>
      done(null, undefined),
    );
  registerRequestLogHooks(adapter.getInstance());
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  // After Nest's middleware (the access log): a refused HEAD is logged like any other request.
  refuseHeadOnCallbacks(adapter.getInstance());
  app.useGlobalFilters(new AllExceptionsFilter());
  setupAdminDocs(app);
  registerCallbackMetrics(
    adapter.getInstance(),
    app.get(MetricsService),
    PLATFORMS.flatMap((p) => p.callbacks),
  );
  app.enableShutdownHooks();
  return app;
}
