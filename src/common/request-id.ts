import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';

// What a proxy or client sends as its id (UUIDs, ULIDs, trace ids): short, and nothing that could
// break a log line or a header.
const USABLE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's `X-Request-Id` when it is one this service can carry, otherwise a new UUID. */
export function requestIdFor(header: string | string[] | undefined): string {
  return typeof header === 'string' && USABLE_REQUEST_ID.test(header) ? header : randomUUID();
}

/** Fastify's `genReqId`: the id the request is known by in the log and in the response. */
export function genReqId(request: IncomingMessage): string {
  return requestIdFor(request.headers[REQUEST_ID_HEADER]);
}
