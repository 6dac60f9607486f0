import type { FastifyRequest } from 'fastify';
import { SECRET_KEY_PATTERN } from '../common/secrets';

// No X-Forwarded-For: anyone can write one. `request.ip` already follows it where TRUST_PROXY
// says it may be believed.
const KEPT_HEADERS = ['user-agent', 'content-type', 'content-length', 'x-request-id'];

const clip = (value: unknown, max = 256): string => {
  const s = Array.isArray(value) ? value.join(',') : String(value);
  // PostgreSQL cannot store NUL in jsonb; a stray one in an unrelated parameter must not cost the note.
  const text = s.replaceAll('\u0000', '\uFFFD');
  return text.length > max ? `${text.slice(0, max)}…` : text;
};

/** The request as evidence: method, query, a few headers and the caller's address, without credentials. */
export function describeRequest(request: FastifyRequest): Record<string, unknown> {
  const query: Record<string, string> = {};
  for (const [key, value] of Object.entries((request.query as Record<string, unknown>) ?? {}).slice(0, 20)) {
    if (!SECRET_KEY_PATTERN.test(key)) query[clip(key, 64)] = clip(value);
  }
  const headers: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const value = request.headers[name];
    if (value !== undefined) headers[name] = clip(value);
  }
  return {
    method: request.method,
    query,
    headers,
    ip: request.ip,
    basicAuth: Boolean(request.headers.authorization),
  };
}
