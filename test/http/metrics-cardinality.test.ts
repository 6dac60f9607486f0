import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ESAW_CALLBACK_ACTIONS } from '../../src/platforms/esignanywhere/esignanywhere-callback.parser';
import { startTestApp, TEST_CALLBACK_TOKEN, type RunningApp } from '../support/app';
import { KeepAliveClient, type OutgoingRequest } from './raw-http';
import { labelValues, samples, seriesCount } from './metrics-text';
import { Rng } from './seeded-random';

const CALLBACK_METRICS = 'esign_callback';
const ENVELOPE = 'c1c1c1c1-2222-4333-8444-555555555555';

describe('metrics under random callback paths and actions', () => {
  let svc: RunningApp;
  let client: KeepAliveClient;
  before(async () => {
    svc = await startTestApp();
    client = new KeepAliveClient(Number(new URL(svc.url).port), 8);
  });
  after(async () => {
    client.close();
    await svc.close();
  });

  const scrape = async (): Promise<string> => {
    const res = await fetch(`${svc.url}/metrics`);
    assert.equal(res.status, 200);
    return res.text();
  };

  const withAction = (action: string): OutgoingRequest => ({
    method: 'GET',
    path: `/callbacks/esignanywhere?envelope=${ENVELOPE}&action=${action}&token=${TEST_CALLBACK_TOKEN}`,
  });

  it('1,500 requests to random /callbacks/ paths and actions leave /metrics as it was', async () => {
    // One of each kind first, so every answer the flood gets has been counted once.
    for (const req of [
      { method: 'GET', path: '/callbacks/first-random-path' },
      withAction('firstUnknownAction'),
      withAction('first%20malformed'),
      withAction('workstepOpened'),
    ]) {
      assert.ok((await client.send(req)).status < 500);
    }
    const before = await scrape();

    const rng = new Rng(7);
    const sent: string[] = [];
    const requests: OutgoingRequest[] = [];
    for (let i = 0; i < 1500; i++) {
      const word = `z${rng.string(rng.int(6, 24))}`;
      sent.push(word);
      if (i % 3 === 0) requests.push({ method: 'GET', path: `/callbacks/${word}?action=envelopeFinished` });
      else if (i % 3 === 1) requests.push(withAction(word));
      else requests.push(withAction(`${word}%20x`));
    }
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < requests.length) {
          const answer = await client.send(requests[next++]);
          assert.ok(answer.status < 500, `answered ${answer.status}`);
        }
      }),
    );

    const afterText = await scrape();
    const beforeSamples = samples(before);
    const afterSamples = samples(afterText);
    assert.equal(
      seriesCount(afterSamples, CALLBACK_METRICS),
      seriesCount(beforeSamples, CALLBACK_METRICS),
      'new callback series appeared',
    );
    // Counter values grow by a few digits; nothing else may.
    assert.ok(afterText.length < before.length + 2048, `${before.length} -> ${afterText.length} bytes`);
    const labels = labelValues(afterSamples, CALLBACK_METRICS);
    for (const platform of labels.get('platform') ?? []) {
      assert.ok(['esignanywhere', 'unknown'].includes(platform), `platform="${platform}"`);
    }
    for (const action of labels.get('action') ?? []) {
      assert.ok([...ESAW_CALLBACK_ACTIONS, 'other'].includes(action), `action="${action}"`);
    }
    assert.ok(labels.get('platform')?.has('unknown'), 'requests to unknown platforms are not counted');
    for (const word of sent) assert.ok(!afterText.includes(word), `/metrics holds "${word}"`);
  });
});
