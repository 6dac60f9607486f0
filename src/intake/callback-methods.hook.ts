import type { FastifyInstance } from 'fastify';

/**
 * Fastify answers HEAD with the GET handler. A HEAD is safe by definition, so it must never note
 * a callback: it gets 405 before any handler runs.
 */
export function refuseHeadOnCallbacks(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    if (request.method === 'HEAD' && request.routeOptions.url?.startsWith('/callbacks/')) {
      void reply.status(405).header('Allow', 'GET, POST').send();
      return;
    }
    done();
  });
}
