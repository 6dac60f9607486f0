import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ServiceConfig } from '../config/app-config';
import { logRefusedRequest } from './logging';
import { parseQueryString } from './query-string';
import { genReqId } from './request-id';

/** Request bodies are never needed beyond small JSON; anything larger is refused with 413. */
export const BODY_LIMIT_BYTES = 64 * 1024;

type HttpConfig = Pick<
  ServiceConfig,
  'HTTP_HEADERS_TIMEOUT_MS' | 'HTTP_REQUEST_TIMEOUT_MS' | 'HTTP_IDLE_TIMEOUT_MS' | 'TRUST_PROXY'
>;

// The only routes with a path parameter; a path the router cannot take apart is answered in
// their words.
const TRANSFER_ID_PATH = /^\/admin\/transfers\/[^/?]/;

/**
 * The router refuses a path that is not valid percent-encoded UTF-8, or whose parameter is
 * longer than it keeps, before any route or hook runs. Both are the client's fault: a 400 that
 * names the parameter, like every other invalid input, and without echoing the path.
 */
function onRouterError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  logRefusedRequest(request, reply);
  answerRouterError(error, request, reply);
}

function answerRouterError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (error.code !== 'FST_ERR_BAD_URL' && error.code !== 'FST_ERR_MAX_PARAM_LENGTH') {
    void reply.send(error);
    return;
  }
  const message = TRANSFER_ID_PATH.test(request.url)
    ? 'id: must be a UUID'
    : error.code === 'FST_ERR_BAD_URL'
      ? 'path: is not valid percent-encoded UTF-8'
      : 'path: a segment is too long';
  void reply.status(400).send({ statusCode: 400, error: 'Bad Request', message });
}

const CLIENT_ERROR_STATUS: Record<string, number> = {
  ERR_HTTP_REQUEST_TIMEOUT: 408,
  HPE_HEADER_OVERFLOW: 431,
};

/**
 * A request Node's parser refuses, or one too slow, is answered here and its connection closed.
 * Unlike Fastify's own handler, the answer says `Connection: close` (a keep-alive client would
 * otherwise send its next request into a closing connection), has no body (the method is not
 * known, and a HEAD client would read one as the next answer), and is not written over an answer
 * already under way on that connection.
 */
function onClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const status = CLIENT_ERROR_STATUS[error.code ?? ''] ?? 400;
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
    );
  }
  socket.destroy(error);
}

/**
 * The options of the HTTP server behind Fastify: how long a client may take, whose
 * X-Forwarded-For is believed, and how queries and malformed paths are read.
 *
 * - Headers must arrive within HTTP_HEADERS_TIMEOUT_MS, even when they trickle in a byte at a
 *   time, and the whole request (a stalled body too) within HTTP_REQUEST_TIMEOUT_MS: past either,
 *   the client gets 408, or just a closed connection when it went silent.
 * - A connection silent for HTTP_REQUEST_TIMEOUT_MS while a request is under way (a client that
 *   stops sending or stops reading) is closed; an idle keep-alive one after HTTP_IDLE_TIMEOUT_MS.
 * - The caller is the socket's peer, unless that peer is one of TRUST_PROXY: only then is its
 *   X-Forwarded-For believed, back to the first address that is not a trusted proxy.
 * - A request is known by the caller's X-Request-Id when it is a usable one, or by a new UUID.
 */
export function httpServerOptions(config: HttpConfig) {
  const requestTimeout = config.HTTP_REQUEST_TIMEOUT_MS;
  // Node refuses a headers timeout longer than the request timeout.
  const headersTimeout = Math.min(config.HTTP_HEADERS_TIMEOUT_MS, requestTimeout);
  return {
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY.length > 0 ? [...config.TRUST_PROXY] : false,
    connectionTimeout: requestTimeout,
    requestTimeout,
    keepAliveTimeout: config.HTTP_IDLE_TIMEOUT_MS,
    http: {
      headersTimeout,
      requestTimeout,
      // Node checks both deadlines on this interval (30 s by default), so it bounds how late a
      // slow client is cut.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4))),
    },
    routerOptions: { querystringParser: parseQueryString },
    genReqId,
    frameworkErrors: onRouterError,
    clientErrorHandler: onClientError,
  };
}
