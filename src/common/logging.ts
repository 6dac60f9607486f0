import type { IncomingMessage, ServerResponse } from 'node:http';
import { finished } from 'node:stream';
import { RequestMethod } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PinoLogger, type Params } from 'nestjs-pino';
import { pino, type LevelWithSilent } from 'pino';
import { REQUEST_ID_HEADER, genReqId } from './request-id';

/** Field paths whose values never reach the log. */
export const REDACTED_PATHS = [
  'token',
  'apiToken',
  'accessToken',
  'refreshToken',
  'password',
  'secret',
  'clientSecret',
  'authorization',
  'cookie',
  '*.token',
  '*.apiToken',
  '*.accessToken',
  '*.refreshToken',
  '*.password',
  '*.secret',
  '*.clientSecret',
  '*.authorization',
  '*.cookie',
  'headers.authorization',
  'headers.apitoken',
  'headers.cookie',
  'headers["set-cookie"]',
  'req.headers.authorization',
  'req.headers.apitoken',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'req.query.token',
  'req.query.code',
  'req.query.state',
];

/** The route template each request matched, for its access line; unmatched requests have none. */
const routeTemplates = new WeakMap<IncomingMessage, string>();

/**
 * Gives every response the request's id in `X-Request-Id`, and notes the route template the
 * request matched. Register before our own `onRequest` hooks that may answer, so that their
 * answers carry the id too.
 */
export function registerRequestLogHooks(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    // The access line reads the id from the Node.js request.
    request.raw.id = request.id;
    if (!request.is404 && request.routeOptions.url) routeTemplates.set(request.raw, request.routeOptions.url);
    done();
  });
}

/**
 * The access line of a request the router refused before any hook ran (a path that is not valid
 * percent-encoding, or too long a parameter): Nest's middleware never sees such a request. Call it
 * before answering: it sets `X-Request-Id`, and logs once the answer is out.
 */
export function logRefusedRequest(request: FastifyRequest, reply: FastifyReply): void {
  void reply.header(REQUEST_ID_HEADER, request.id);
  // Absent only outside an application: the root logger comes with the logger module.
  const root = PinoLogger.root as PinoLogger['logger'] | undefined;
  if (!root) return;
  finished(reply.raw, () => {
    const line = { req: request.raw, res: reply.raw, responseTime: Math.round(reply.elapsedTime) };
    const log = root.child({ reqId: request.id });
    if (reply.statusCode >= 500) log.error(line, 'request failed');
    else log.info(line, 'request completed');
  });
}

/**
 * What an access line says about a request: its method and the route template it matched, never
 * the URL (its query may hold a token or an OAuth code) nor any header.
 */
function requestFields(req: IncomingMessage): { method: string | undefined; route: string | null } {
  return { method: req.method, route: routeTemplates.get(req) ?? null };
}

function responseFields(res: ServerResponse): { statusCode: number } {
  return { statusCode: res.statusCode };
}

/**
 * The one pino logger of the process, and one access line per HTTP request through `pino-http`:
 * `{ reqId, req: { method, route }, res: { statusCode }, responseTime }` (milliseconds). Lines
 * logged while a request is handled carry its `reqId`.
 */
export function loggerParams(level: LevelWithSilent): Params {
  return {
    // Spelled out: the default, `{/*splat}`, reaches @fastify/middie 9.3 as `/{/*splat}`, which
    // matches no request, so nothing would be logged.
    forRoutes: [{ path: '/{*splat}', method: RequestMethod.ALL }],
    pinoHttp: {
      level,
      base: { service: 'esign-archiver' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      // Fastify already chose the id (see `registerRequestLogHooks`); this is only a fallback.
      genReqId: (req) => req.id ?? genReqId(req),
      // Only the id is bound to lines logged during a request; the access line adds the rest.
      quietReqLogger: true,
      quietResLogger: true,
      wrapSerializers: false,
      serializers: { req: requestFields, res: responseFields, err: pino.stdSerializers.err },
      customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
      customSuccessObject: (req, _res, line: object) => ({ req, ...line }),
      // The cause of a 5xx is logged where it was caught, under the same reqId.
      customErrorObject: (req, res, _error, line: { responseTime: number }) => ({
        req,
        res,
        responseTime: line.responseTime,
      }),
      customErrorMessage: () => 'request failed',
    },
  };
}
