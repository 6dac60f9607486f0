import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ESAW_ARCHIVE_ACTIONS,
  ESAW_CALLBACK_ACTIONS,
} from '../../src/platforms/esignanywhere/esignanywhere-callback.parser';
import { ADMIN_ENV, ALICE_TOKEN } from '../admin/admin-fixtures';
import { startTestApp, TEST_CALLBACK_TOKEN, type RunningApp } from '../support/app';
import { queryAt } from '../support/database';
import {
  controlCallback,
  hostileAdmin,
  hostileCallback,
  malformedHttp,
  SPOOF_PREFIXES,
  type HostileRequest,
} from './hostile-requests';
import { labelValues, samples, seriesCount } from './metrics-text';
import { KeepAliveClient, rawExchange, type Answer } from './raw-http';
import { fuzzSeed, Rng } from './seeded-random';

const HOSTILE_REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 10_000);
const RAW_REQUESTS = 300;
const CONTROL_CALLBACKS = 30;
const CONTROL_REPEATS = 10;
const WORKERS = 8;

// Callback answers that say "no" without noting anything (200 only for an unknown action).
const CALLBACK_REFUSALS = [200, 400, 401, 404, 405, 413, 415, 431];
const CALLBACK_OUTCOMES = ['accepted', 'unauthorized', 'rejected', 'unavailable', 'error'];

/** Why the answer does not fit the request, or undefined when it does. */
function misfit(req: HostileRequest, answer: Answer): string | undefined {
  const { status } = answer;
  if (status >= 500) return `answered ${status}`;
  let message: string | undefined;
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(answer.body) as Record<string, unknown>;
    message = typeof json.message === 'string' ? json.message : undefined;
  } catch {
    // HEAD answers and the admin page are not JSON.
  }
  const expect = req.expect;
  switch (expect.kind) {
    case 'control':
      return status === 200 && json?.status === 'noted' ? undefined : `control answered ${status}`;
    case 'hostile-callback':
      if (!CALLBACK_REFUSALS.includes(status)) return `answered ${status}`;
      if (status === 200 && json?.status !== 'ignored') return 'a hostile callback was accepted';
      return undefined;
    case 'admin-refused':
      if (!expect.statuses.includes(status)) return `answered ${status} without a valid token`;
      return /"items"|"byState"|"transfer"/.test(answer.body) ? 'data without a valid token' : undefined;
    case 'admin-invalid':
      if (status !== 400) return `answered ${status}, not 400`;
      if (message === undefined) return 'a 400 without a message';
      if (expect.field !== undefined && !message.startsWith(`${expect.field}: `)) {
        return `the 400 does not name ${JSON.stringify(expect.field)}`;
      }
      return undefined;
    case 'admin-other':
      return expect.statuses.includes(status) ? undefined : `answered ${status}`;
  }
}

const clip = (s: string, n = 160) => (s.length > n ? `${s.slice(0, n)}…(${s.length})` : s);

// Node refuses a request head over 16 KiB with 431 and closes the connection, possibly while the
// client is still writing it: such a client may see the connection reset instead of the 431.
const MAX_HEAD_BYTES = 16 * 1024;
const headBytes = (req: HostileRequest) =>
  req.method.length +
  req.path.length +
  Object.entries(req.headers ?? {}).reduce((n, [k, v]) => n + k.length + String(v).length + 4, 0);

describe('hostile requests against the real service', () => {
  const seed = fuzzSeed();
  let svc: RunningApp;
  let client: KeepAliveClient;
  let port: number;
  before(async () => {
    // Printed first, so that a run that hangs can still be replayed.
    console.log(`hostile requests: FUZZ_SEED=${seed}`);
    svc = await startTestApp({
      ...ADMIN_ENV,
      HTTP_HEADERS_TIMEOUT_MS: '1000',
      HTTP_REQUEST_TIMEOUT_MS: '2000',
      HTTP_IDLE_TIMEOUT_MS: '5000',
    });
    port = Number(new URL(svc.url).port);
    client = new KeepAliveClient(port, WORKERS);
  });
  after(async () => {
    client?.close();
    await svc?.close();
  });

  it(`${HOSTILE_REQUESTS.toLocaleString('en')} hostile callbacks and admin requests: no 5xx, no rows but the valid callbacks, /metrics stays small`, async (t) => {
    const rng = new Rng(seed);
    const started = Date.now();

    // The plan: hostile requests with the valid callbacks spread among them.
    const plan: HostileRequest[] = [];
    for (let i = 0; i < HOSTILE_REQUESTS; i++) {
      plan.push(rng.chance(0.6) ? hostileCallback(rng, TEST_CALLBACK_TOKEN) : hostileAdmin(rng, ALICE_TOKEN));
    }
    const controls: { envelope: string; action: string }[] = [];
    for (let i = 0; i < CONTROL_CALLBACKS; i++) {
      controls.push({ envelope: rng.guid(), action: rng.pick(ESAW_CALLBACK_ACTIONS) });
    }
    const expectedCounts = new Map<string, number>();
    for (let i = 0; i < CONTROL_CALLBACKS + CONTROL_REPEATS; i++) {
      const { envelope, action } = i < CONTROL_CALLBACKS ? controls[i] : rng.pick(controls);
      const key = `${envelope}|${action}`;
      expectedCounts.set(key, (expectedCounts.get(key) ?? 0) + 1);
      plan.splice(rng.int(0, plan.length), 0, controlCallback(rng, TEST_CALLBACK_TOKEN, envelope, action));
    }
    const rawPlan = Array.from({ length: RAW_REQUESTS }, () => malformedHttp(rng, 'not-the-callback-token'));

    const [rowsBefore] = await queryAt<{ events: number; transfers: number }>(
      svc.db.url,
      'SELECT (SELECT count(*) FROM noted_events)::int AS events, (SELECT count(*) FROM transfers)::int AS transfers',
    );

    const statuses = new Map<number, number>();
    const families = new Map<string, Map<number, number>>();
    const misfits: string[] = [];
    const noAnswer: string[] = [];
    let cutWhileSending = 0;
    let midpointMetrics = '';
    let next = 0;
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        while (next < plan.length) {
          const index = next++;
          const req = plan[index];
          if (index === Math.floor(plan.length / 2)) {
            midpointMetrics = await (await fetch(`${svc.url}/metrics`)).text();
          }
          let answer: Answer;
          try {
            answer = await client.send(req);
          } catch (error) {
            if (headBytes(req) > MAX_HEAD_BYTES) cutWhileSending++;
            else noAnswer.push(`${req.method} ${clip(req.path)}: ${(error as Error).message}`);
            continue;
          }
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          const byStatus = families.get(req.family) ?? new Map<number, number>();
          byStatus.set(answer.status, (byStatus.get(answer.status) ?? 0) + 1);
          families.set(req.family, byStatus);
          const problem = misfit(req, answer);
          if (problem)
            misfits.push(`${problem}: ${req.method} ${clip(req.path)} -> ${clip(answer.body, 200)}`);
        }
      }),
    );

    // Requests that are not even HTTP, each on its own connection.
    const rawStatuses = new Map<string, number>();
    let rawNext = 0;
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        while (rawNext < rawPlan.length) {
          const outcome = await rawExchange(port, [rawPlan[rawNext++]], { deadlineMs: 5000 });
          const key =
            outcome.status !== undefined ? String(outcome.status) : outcome.stillOpen ? 'open' : 'closed';
          rawStatuses.set(key, (rawStatuses.get(key) ?? 0) + 1);
        }
      }),
    );
    const elapsed = Date.now() - started;

    const metricsText = await (await fetch(`${svc.url}/metrics`)).text();
    const events = await queryAt<{
      platform: string;
      envelope: string;
      action: string;
      n: number;
      request: unknown;
    }>(
      svc.db.url,
      `SELECT platform, envelope_id::text AS envelope, action, received_count AS n, request FROM noted_events`,
    );
    const transfers = await queryAt<{ envelope: string }>(
      svc.db.url,
      'SELECT envelope_id::text AS envelope FROM transfers',
    );

    const sorted = (m: Map<number | string, number>) =>
      [...m.entries()].sort(([a], [b]) => (String(a) < String(b) ? -1 : 1)).map(([k, v]) => `${k}×${v}`);
    t.diagnostic(
      `seed ${seed}: ${plan.length} requests over keep-alive + ${rawPlan.length} raw in ${elapsed} ms; ` +
        `statuses ${sorted(statuses).join(' ')}, cut while sending a head over 16 KiB ×${cutWhileSending}; ` +
        `raw ${sorted(rawStatuses).join(' ')}`,
    );
    for (const [family, byStatus] of [...families.entries()].sort()) {
      t.diagnostic(`  ${family}: ${sorted(byStatus).join(' ')}`);
    }
    t.diagnostic(
      `rows: noted_events ${rowsBefore.events} -> ${events.length}, transfers ${rowsBefore.transfers} -> ${transfers.length}; ` +
        `/metrics ${midpointMetrics.length} bytes at half time, ${metricsText.length} at the end`,
    );

    assert.deepEqual(noAnswer.slice(0, 10), [], `${noAnswer.length} requests got no answer`);
    assert.deepEqual(misfits.slice(0, 15), [], `${misfits.length} answers do not fit (seed ${seed})`);
    for (const [status] of rawStatuses) assert.ok(!/^5/.test(status), `a raw request was answered ${status}`);
    assert.equal(rawStatuses.get('open') ?? 0, 0, 'a raw connection stayed open past every timeout');

    // Exactly the valid callbacks were noted, each as often as it was sent.
    assert.deepEqual(rowsBefore, { events: 0, transfers: 0 });
    assert.deepEqual(
      new Map(events.map((e) => [`${e.envelope}|${e.action}`, e.n])),
      expectedCounts,
      'noted_events holds rows no valid callback wrote',
    );
    assert.ok(events.every((e) => e.platform === 'esignanywhere'));
    assert.deepEqual(
      transfers.map((tr) => tr.envelope).sort(),
      [
        ...new Set(controls.filter((c) => ESAW_ARCHIVE_ACTIONS.includes(c.action)).map((c) => c.envelope)),
      ].sort(),
    );
    // What the clients claimed in X-Forwarded-For is not what was stored.
    for (const e of events) {
      const request = e.request as { ip?: string };
      assert.equal(request.ip, '127.0.0.1');
      const text = JSON.stringify(request);
      for (const prefix of SPOOF_PREFIXES) assert.ok(!text.includes(prefix), text);
    }

    // /metrics: closed label sets, and the second half of the run added no series.
    const all = samples(metricsText);
    const labels = labelValues(all, 'esign_callback');
    const known = (name: string, allowed: readonly string[]) => {
      for (const value of labels.get(name) ?? []) assert.ok(allowed.includes(value), `${name}="${value}"`);
    };
    known('platform', ['esignanywhere', 'unknown']);
    known('action', [...ESAW_CALLBACK_ACTIONS, 'other']);
    known('outcome', CALLBACK_OUTCOMES);
    for (const status of labels.get('status') ?? []) assert.match(status, /^([1-5]\d\d|[1-5]xx)$/);
    assert.ok((labels.get('status')?.size ?? 0) <= 16, `status has ${labels.get('status')?.size} values`);
    const series = seriesCount(all, 'esign_callback');
    const seriesAtHalf = seriesCount(samples(midpointMetrics), 'esign_callback');
    assert.ok(series <= seriesAtHalf + 40, `callback series grew from ${seriesAtHalf} to ${series}`);
    assert.ok(metricsText.length < 128 * 1024, `/metrics is ${metricsText.length} bytes`);
  });
});
