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
  const fastify = adapter.getInstance();
  // Callbacks may carry any body with any content type; it is read (within the limit) and ignored.
  // JSON and form bodies are parsed (Nest's parsers; a repeated form field becomes a list).
  fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES }, (_req, _body, done) =>
    done(null, undefined),
  );
  // A callback route that takes larger bodies (a batch of changes) says so; no other route does.
  const bodyLimits = new Map(
    PLATFORMS.flatMap((p) => p.callbacks)
      .filter((c) => c.maxBodyBytes !== undefined)
      .map((c) => [`/callbacks/${c.route}`, c.maxBodyBytes!]),
  );
  fastify.addHook('onRoute', (route) => {
    const limit = bodyLimits.get(route.url);
    if (limit !== undefined) route.bodyLimit = limit;
  });
  registerRequestLogHooks(fastify);
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  // After Nest's middleware (the access log): a refused HEAD is logged like any other request.
  refuseHeadOnCallbacks(fastify);
  app.useGlobalFilters(new AllExceptionsFilter());
  setupAdminDocs(app);
  registerCallbackMetrics(
    fastify,
    app.get(MetricsService),
    PLATFORMS.flatMap((p) => p.callbacks),
  );
  app.enableShutdownHooks();
  return app;
}
