import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CallbackRouteLabels } from '../platforms/platform-definition';
import type { MetricsService } from './metrics.service';

/** The platform label of a request to `/callbacks/` that matched no callback route. */
export const UNKNOWN_PLATFORM = 'unknown';
/** The action label of an action that is not one of its platform's known ones, or of none. */
export const OTHER_ACTION = 'other';

/** The callback routes by name, with their known actions: the only label values besides `other`. */
export type CallbackRoutes = ReadonlyMap<
  string,
  { actions: ReadonlySet<string>; route: CallbackRouteLabels }
>;

export function callbackRoutes(routes: readonly CallbackRouteLabels[]): CallbackRoutes {
  return new Map(routes.map((route) => [route.route, { actions: new Set(route.actions), route }]));
}

/** Statuses the service answers with; any other is counted by its class (`4xx`). */
const KNOWN_STATUSES = new Set([200, 400, 401, 403, 404, 405, 408, 413, 414, 415, 429, 431, 500, 503]);

// A route template (never the raw URL) of a callback endpoint names its platform.
const CALLBACK_ROUTE = /^\/callbacks\/([a-z0-9-]+)$/;

export function outcomeOf(status: number): string {
  if (status < 300) return 'accepted';
  if (status === 401) return 'unauthorized';
  if (status === 503) return 'unavailable';
  if (status < 500) return 'rejected';
  return 'error';
}

export function statusLabel(status: number): string {
  return KNOWN_STATUSES.has(status) ? String(status) : `${Math.floor(status / 100)}xx`;
}

/**
 * The labels of a request under `/callbacks/`, or undefined for any other request. Every value
 * comes from a closed set: the platforms with a callback route (`unknown` for a path that matched
 * none), their known actions (`other` for anything else) and the outcome of the status.
 */
export function callbackLabels(
  routes: CallbackRoutes,
  routeUrl: string | undefined,
  url: string,
  query: unknown,
  body?: unknown,
): { platform: string; action: string } | undefined {
  const match = routeUrl === undefined ? null : CALLBACK_ROUTE.exec(routeUrl);
  const known = match ? routes.get(match[1]) : undefined;
  if (match && known) {
    let action: unknown;
    try {
      action = known.route.actionOf(query, body);
    } catch {
      action = undefined;
    }
    return {
      platform: match[1],
      action: typeof action === 'string' && known.actions.has(action) ? action : OTHER_ACTION,
    };
  }
  if (url === '/callbacks' || url.startsWith('/callbacks/') || url.startsWith('/callbacks?')) {
    return { platform: UNKNOWN_PLATFORM, action: OTHER_ACTION };
  }
  return undefined;
}

function matchedRoute(request: FastifyRequest): string | undefined {
  return request.is404 ? undefined : request.routeOptions.url;
}

/**
 * Counts every answer to a callback, including those refused by the guard or the body limit,
 * and its latency. Labels never hold text from the request (see `callbackLabels`), so random
 * paths and actions cannot grow /metrics.
 */
export function registerCallbackMetrics(
  fastify: FastifyInstance,
  metrics: MetricsService,
  routes: readonly CallbackRouteLabels[],
): void {
  const known = callbackRoutes(routes);
  fastify.addHook('onResponse', (request, reply, done) => {
    const labels = callbackLabels(known, matchedRoute(request), request.url, request.query, request.body);
    if (labels) {
      metrics.callbackAnswered(
        labels.platform,
        labels.action,
        outcomeOf(reply.statusCode),
        statusLabel(reply.statusCode),
        reply.elapsedTime / 1000,
      );
    }
    done();
  });
}
