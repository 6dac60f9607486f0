import type { FastifyInstance } from 'fastify';
import { ESAW_CALLBACK_ACTIONS } from '../platforms/esignanywhere/esignanywhere-callback.parser';
import type { MetricsService } from './metrics.service';

const KNOWN_ACTIONS = new Set<string>(ESAW_CALLBACK_ACTIONS);

function outcomeOf(status: number): string {
  if (status < 300) return 'accepted';
  if (status === 401) return 'unauthorized';
  if (status === 503) return 'unavailable';
  if (status < 500) return 'rejected';
  return 'error';
}

/**
 * Counts every answer to a callback, including those refused by the guard or the body limit,
 * and its latency. Labels stay bounded: unknown actions are counted as `other`.
 */
export function registerCallbackMetrics(fastify: FastifyInstance, metrics: MetricsService): void {
  fastify.addHook('onResponse', (request, reply, done) => {
    const match = /^\/callbacks\/([a-z0-9-]{1,32})(?:[/?]|$)/.exec(request.url);
    if (match) {
      const action = (request.query as Record<string, unknown> | undefined)?.action;
      metrics.callbackAnswered(
        match[1],
        typeof action === 'string' && KNOWN_ACTIONS.has(action) ? action : 'other',
        outcomeOf(reply.statusCode),
        reply.statusCode,
        reply.elapsedTime / 1000,
      );
    }
    done();
  });
}
