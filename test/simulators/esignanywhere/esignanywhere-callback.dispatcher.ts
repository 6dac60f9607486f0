import http from 'node:http';
import https from 'node:https';
import type {
  SimCallbackAction,
  SimCallbackAttempt,
  SimCallbackChannel,
  SimCallbackDelivery,
} from './esignanywhere-simulator.types';

export interface CallbackDispatcherOptions {
  intervalUnitMs: number;
  maxRetries: number;
  timeoutMs: number;
  basicAuth?: { user: string; password: string };
}

/** What `waitForDelivery` waits for when no action is named: the callbacks that end an envelope. */
const FINAL_ACTIONS: readonly string[] = ['envelopeFinished', 'envelopeExpired'];

interface Waiter {
  envelopeId: string;
  action?: string;
  resolve: (delivery: SimCallbackDelivery) => void;
  reject: (error: Error) => void;
  timer?: NodeJS.Timeout;
}

/**
 * Calls callback URLs the way eSignAnyWhere does: an HTTP GET, success only on HTTP 200 within the timeout
 * (a 201 or 204 is a failure, as the platform "tries to call the URL until it gets a HTTP 200"),
 * otherwise retried up to `maxRetries` times, the k-th retry after k × `intervalUnitMs` (5, 10, 15 …
 * minutes on the real platform, which adds up to about 36 hours). Redirects are not followed.
 */
export class CallbackDispatcher {
  private readonly deliveries: SimCallbackDelivery[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<http.ClientRequest>();
  private waiters: Waiter[] = [];
  private nextId = 1;
  private stopped = false;

  constructor(private readonly options: CallbackDispatcherOptions) {}

  dispatch(
    envelopeId: string,
    action: SimCallbackAction,
    channel: SimCallbackChannel,
    url: string,
  ): SimCallbackDelivery {
    const delivery: SimCallbackDelivery = {
      id: this.nextId++,
      envelopeId,
      action,
      channel,
      url,
      state: 'pending',
      attempts: [],
    };
    this.deliveries.push(delivery);
    if (this.stopped) {
      delivery.state = 'stopped';
    } else {
      this.attempt(delivery);
    }
    return delivery;
  }

  list(envelopeId?: string): SimCallbackDelivery[] {
    return this.deliveries
      .filter((d) => envelopeId === undefined || d.envelopeId.toLowerCase() === envelopeId.toLowerCase())
      .map((d) => structuredClone(d));
  }

  /**
   * Resolves when a callback for the envelope is delivered; rejects when it finally fails. Without
   * `action` it waits for `envelopeFinished` or `envelopeExpired`, never a workstep action.
   */
  waitForDelivery(
    envelopeId: string,
    options: { action?: string; timeoutMs?: number } = {},
  ): Promise<SimCallbackDelivery> {
    const done = this.deliveries.find(
      (d) => this.matches(d, envelopeId, options.action) && (d.state === 'delivered' || d.state === 'failed'),
    );
    if (done) {
      return done.state === 'delivered'
        ? Promise.resolve(structuredClone(done))
        : Promise.reject(
            new Error(`callback for ${envelopeId} failed after ${done.attempts.length} attempts`),
          );
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { envelopeId, action: options.action, resolve, reject };
      const timeoutMs = options.timeoutMs ?? 10_000;
      waiter.timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no callback delivered for ${envelopeId} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Cancels pending retries and in-flight calls. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const request of this.inFlight) request.destroy();
    this.inFlight.clear();
    for (const delivery of this.deliveries) if (delivery.state === 'pending') delivery.state = 'stopped';
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error('callback dispatcher stopped'));
    }
    this.waiters = [];
  }

  /** Forgets all deliveries (after stop) and accepts new ones. */
  reset(): void {
    this.stop();
    this.deliveries.length = 0;
    this.stopped = false;
  }

  private matches(delivery: SimCallbackDelivery, envelopeId: string, action?: string): boolean {
    return (
      delivery.envelopeId.toLowerCase() === envelopeId.toLowerCase() &&
      (action === undefined ? FINAL_ACTIONS.includes(delivery.action) : delivery.action === action)
    );
  }

  private settle(delivery: SimCallbackDelivery): void {
    const remaining: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (!this.matches(delivery, waiter.envelopeId, waiter.action)) {
        remaining.push(waiter);
        continue;
      }
      clearTimeout(waiter.timer);
      if (delivery.state === 'delivered') waiter.resolve(structuredClone(delivery));
      else
        waiter.reject(
          new Error(`callback for ${delivery.envelopeId} failed after ${delivery.attempts.length} attempts`),
        );
    }
    this.waiters = remaining;
  }

  private attempt(delivery: SimCallbackDelivery): void {
    if (this.stopped) return;
    const number = delivery.attempts.length + 1;
    const started = Date.now();
    // call() never rejects (a failure is its result's error), so nothing is left unhandled here.
    void this.call(delivery.url).then((result) => {
      const record: SimCallbackAttempt = {
        attempt: number,
        at: new Date(started).toISOString(),
        status: result.status,
        durationMs: Date.now() - started,
        ok: result.status === 200,
      };
      if (result.error) record.error = result.error;
      delivery.attempts.push(record);
      if (this.stopped) return;
      if (record.ok) {
        delivery.state = 'delivered';
        this.settle(delivery);
        return;
      }
      const retry = number; // the k-th retry follows the k-th attempt
      if (retry > this.options.maxRetries) {
        delivery.state = 'failed';
        this.settle(delivery);
        return;
      }
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.attempt(delivery);
      }, retry * this.options.intervalUnitMs);
      this.timers.add(timer);
    });
  }

  private call(url: string): Promise<{ status: number | null; error?: string }> {
    return new Promise((resolve) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        resolve({ status: null, error: 'invalid callback URL' });
        return;
      }
      const transport = target.protocol === 'https:' ? https : http;
      const headers: Record<string, string> = { 'User-Agent': 'eSignAnyWhere-Simulator/6' };
      if (this.options.basicAuth) {
        const { user, password } = this.options.basicAuth;
        headers.Authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      }
      let settled = false;
      const finish = (result: { status: number | null; error?: string }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.inFlight.delete(request);
        resolve(result);
      };
      const request = transport.request(target, { method: 'GET', headers, agent: false }, (response) => {
        response.resume();
        response.on('end', () => finish({ status: response.statusCode ?? null }));
        response.on('error', (error) => finish({ status: null, error: error.message }));
      });
      const timer = setTimeout(() => {
        finish({ status: null, error: `timeout after ${this.options.timeoutMs} ms` });
        request.destroy();
      }, this.options.timeoutMs);
      request.on('error', (error) => finish({ status: null, error: error.message }));
      this.inFlight.add(request);
      request.end();
    });
  }
}
