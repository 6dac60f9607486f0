import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ADMIN_BEARER_SCHEME } from './admin-api.schemas';
import { AdminModule } from './admin.module';

export const ADMIN_DOCS_PATH = '/admin/docs';

/** The OpenAPI document of the admin API, built from the controllers' decorators and zod schemas. */
export function buildAdminOpenApi(app: NestFastifyApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('E-signature archiver: admin API')
    .setDescription(
      'Failed transfers: list, inspect, retry, dismiss; and a summary. Every request needs ' +
        '`Authorization: Bearer <secret>` with a secret from ADMIN_TOKENS (`name:secret` pairs); the ' +
        'name is recorded as the actor of every change in `admin_actions`.',
    )
    .setVersion('1')
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'opaque',
        description: 'The secret half of an ADMIN_TOKENS entry.',
      },
      ADMIN_BEARER_SCHEME,
    )
    .build();
  return SwaggerModule.createDocument(app, config, { include: [AdminModule] });
}

/*
 * Swagger UI is served from the `swagger-ui-dist` files that @nestjs/swagger depends on, by these
 * few routes. SwaggerModule's own UI serving needs @fastify/static on Fastify (and exits the
 * process when it is missing), which this service does not carry.
 */
const UI_ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

// Relative URLs, so the docs keep working behind a proxy that mounts the service under a path.
const UI_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Admin API · e-signature archiver</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/swagger-ui-init.js"></script>
</body>
</html>
`;

const UI_INIT = `window.ui = SwaggerUIBundle({
  url: 'docs/openapi.json',
  dom_id: '#swagger-ui',
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
  validatorUrl: null,
  persistAuthorization: false,
  tryItOutEnabled: false
});
`;

const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // Swagger UI sets element styles from script.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function swaggerUiDistDir(): string {
  // Resolved the way @nestjs/swagger resolves its own dependency.
  const fromSwagger = createRequire(require.resolve('@nestjs/swagger'));
  return dirname(fromSwagger.resolve('swagger-ui-dist/package.json'));
}

function common(reply: FastifyReply, contentType: string): FastifyReply {
  return reply
    .header('Content-Type', contentType)
    .header('X-Content-Type-Options', 'nosniff')
    .header('Referrer-Policy', 'no-referrer');
}

/**
 * Serves the admin API's OpenAPI document at `/admin/docs/openapi.json` and Swagger UI at
 * `/admin/docs`. Call it from `createApp`, before the application starts listening.
 */
export function setupAdminDocs(app: NestFastifyApplication): void {
  const document = JSON.stringify(buildAdminOpenApi(app));
  const distDir = swaggerUiDistDir();
  const assets = new Map<string, Promise<Buffer>>();
  const asset = (name: string): Promise<Buffer> => {
    let content = assets.get(name);
    if (!content) {
      content = readFile(join(distDir, name));
      content.catch(() => assets.delete(name));
      assets.set(name, content);
    }
    return content;
  };

  const fastify = app.getHttpAdapter().getInstance();
  fastify.get(ADMIN_DOCS_PATH, async (_request, reply) =>
    common(reply, 'text/html; charset=utf-8')
      .header('Content-Security-Policy', UI_CSP)
      .header('Cache-Control', 'no-cache')
      .send(UI_HTML),
  );
  fastify.get(`${ADMIN_DOCS_PATH}/openapi.json`, async (_request, reply) =>
    common(reply, 'application/json; charset=utf-8').header('Cache-Control', 'no-cache').send(document),
  );
  fastify.get(`${ADMIN_DOCS_PATH}/swagger-ui-init.js`, async (_request, reply) =>
    common(reply, 'text/javascript; charset=utf-8').header('Cache-Control', 'no-cache').send(UI_INIT),
  );
  for (const [name, contentType] of Object.entries(UI_ASSETS)) {
    fastify.get(`${ADMIN_DOCS_PATH}/${name}`, async (_request, reply) =>
      common(reply, contentType)
        .header('Cache-Control', 'public, max-age=86400')
        .send(await asset(name)),
    );
  }
}
