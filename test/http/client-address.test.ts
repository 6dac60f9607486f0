import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, TEST_CALLBACK_TOKEN, type RunningApp } from '../support/app';
import { queryAt } from '../support/database';

// What a client claims: the first address is made up by the client, the second is what a proxy in
// front of the service would append (the peer it saw).
const SPOOFED = '198.51.100.7';
const SEEN_BY_PROXY = '203.0.113.9';

async function storedRequest(svc: RunningApp, envelope: string): Promise<Record<string, unknown>> {
  const res = await fetch(
    `${svc.url}/callbacks/esignanywhere?envelope=${envelope}&action=workstepFinished&token=${TEST_CALLBACK_TOKEN}`,
    { headers: { 'x-forwarded-for': `${SPOOFED}, ${SEEN_BY_PROXY}`, 'x-real-ip': SPOOFED } },
  );
  assert.equal(res.status, 200);
  const rows = await queryAt<{ request: Record<string, unknown> }>(
    svc.db.url,
    'SELECT request FROM noted_events WHERE envelope_id = $1',
    [envelope],
  );
  assert.equal(rows.length, 1);
  return rows[0].request;
}

describe('the caller address stored with a callback', () => {
  describe('without TRUST_PROXY', () => {
    let svc: RunningApp;
    before(async () => {
      svc = await startTestApp();
    });
    after(async () => {
      await svc.close();
    });

    it("is the socket's peer; X-Forwarded-For from the client is neither believed nor stored", async () => {
      const request = await storedRequest(svc, 'b1b1b1b1-2222-4333-8444-555555555555');
      assert.equal(request.ip, '127.0.0.1');
      const text = JSON.stringify(request);
      assert.ok(!text.includes(SPOOFED), text);
      assert.ok(!text.includes(SEEN_BY_PROXY), text);
    });
  });

  describe('with TRUST_PROXY naming another network', () => {
    let svc: RunningApp;
    before(async () => {
      svc = await startTestApp({ TRUST_PROXY: '10.0.0.0/8, fd00::/8' });
    });
    after(async () => {
      await svc.close();
    });

    it("is still the socket's peer when the peer is not one of the proxies", async () => {
      const request = await storedRequest(svc, 'b2b2b2b2-2222-4333-8444-555555555555');
      assert.equal(request.ip, '127.0.0.1');
      assert.ok(!JSON.stringify(request).includes(SPOOFED));
    });
  });

  describe('with TRUST_PROXY=127.0.0.1', () => {
    let svc: RunningApp;
    before(async () => {
      svc = await startTestApp({ TRUST_PROXY: '127.0.0.1' });
    });
    after(async () => {
      await svc.close();
    });

    it('is the address the trusted proxy saw, not what the client wrote before it', async () => {
      const request = await storedRequest(svc, 'b3b3b3b3-2222-4333-8444-555555555555');
      assert.equal(request.ip, SEEN_BY_PROXY);
      assert.ok(!JSON.stringify(request).includes(SPOOFED));
    });
  });
});
