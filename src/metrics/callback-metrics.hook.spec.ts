import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { callbackLabels, callbackRoutes, outcomeOf, statusLabel } from './callback-metrics.hook';

const ROUTES = callbackRoutes([
  {
    route: 'esignanywhere',
    actions: ['envelopeFinished', 'workstepFinished'],
    actionOf: (query) => (query as Record<string, unknown> | undefined)?.action,
  },
]);

describe('callback metric labels', () => {
  it('names the platform from the matched route template and keeps known actions', () => {
    assert.deepEqual(
      callbackLabels(ROUTES, '/callbacks/esignanywhere', '/callbacks/esignanywhere?action=x', {
        action: 'envelopeFinished',
      }),
      { platform: 'esignanywhere', action: 'envelopeFinished' },
    );
  });

  it('counts any other action, a repeated one or none as other', () => {
    for (const action of [
      'someFutureAction',
      ['envelopeFinished', 'envelopeFinished'],
      undefined,
      'toString',
    ]) {
      assert.equal(
        callbackLabels(ROUTES, '/callbacks/esignanywhere', '/callbacks/esignanywhere', { action })?.action,
        'other',
      );
    }
  });

  it('counts every path under /callbacks/ that matched no callback route as platform unknown', () => {
    for (const url of [
      '/callbacks/x1',
      '/callbacks/esignanywhere/extra',
      '/callbacks',
      '/callbacks?a=1',
      '/callbacks/%ff',
    ]) {
      assert.deepEqual(callbackLabels(ROUTES, undefined, url, { action: 'envelopeFinished' }), {
        platform: 'unknown',
        action: 'other',
      });
    }
    // A route that is not a callback platform's, even under /callbacks/.
    assert.equal(callbackLabels(ROUTES, '/callbacks/:any', '/callbacks/zz', {})?.platform, 'unknown');
  });

  it('leaves requests outside /callbacks/ alone', () => {
    for (const url of ['/admin/transfers', '/metrics', '/callbacksx', '/']) {
      assert.equal(callbackLabels(ROUTES, undefined, url, {}), undefined);
    }
  });

  it('maps statuses to known codes or their class, and to outcomes', () => {
    assert.equal(statusLabel(200), '200');
    assert.equal(statusLabel(418), '4xx');
    assert.equal(statusLabel(599), '5xx');
    assert.deepEqual([200, 401, 404, 503, 500].map(outcomeOf), [
      'accepted',
      'unauthorized',
      'rejected',
      'unavailable',
      'error',
    ]);
  });
});
