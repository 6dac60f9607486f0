import http from 'node:http';
import https from 'node:https';
import type {
  OssCallbackAuth,
  OssCallbackDelivery,
  OssCallbackFailureNotice,
  OssProcessEvent,
} from './onespan-simulator.types';

export interface OnespanDispatchTarget {
  url: string;
  auth: OssCallbackAuth;
  timeoutMs: number;
  /** Who gets the failure e-mail. */
  senderEmail: string;
}

interface Waiter {
  packageId: string;
  name: string;
  resolve: (delivery: OssCallbackDelivery) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export function callbackAuthorization(auth: OssCallbackAuth): string | null {
  switch (auth.type) {
    case 'none':
      return null;
    case 'key':
      // OneSpan sends the registered key as it is, without base64.
      return `Basic ${auth.key}`;
    case 'basic':
      return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    case 'bearer':
      return `Bearer ${auth.token}`;
  }
}

/**
 * Posts `ESLProcessEvent` JSON the way OneSpan Sign does: one POST per event, a timeout (20 s on the real
 * platform), and no retry whatever happens. Success is HTTP 200; any other answer, a timeout or a network
 * error fails the delivery and records the failure e-mail the sender would get.
 */
export class OnespanCallbackDispatcher {
  private readonly deliveries: OssCallbackDelivery[] = [];
  private readonly failures: OssCallbackFailureNotice[] = [];
  private readonly inFlight = new Set<http.ClientRequest>();
  private waiters: Waiter[] = [];
  private nextId = 1;
  private stopped = false;

  dispatch(event: OssProcessEvent, target: OnespanDispatchTarget): OssCallbackDelivery {
    const delivery: OssCallbackDelivery = {
      id: this.nextId++,
      packageId: event.packageId,
      name: event.name,
      url: target.url,
      event,
      authorization: callbackAuthorization(target.auth),
      state: this.stopped ? 'stopped' : 'pending',
      at: new Date().toISOString(),
      status: null,
    };
    this.deliveries.push(delivery);
    if (!this.stopped) {
      const started = Date.now();
      // post() never rejects: a failure is its result's error.
      void this.post(delivery, target.timeoutMs).then((result) => {
        if (delivery.state === 'stopped') return;
        delivery.status = result.status;
        delivery.durationMs = Date.now() - started;
        if (result.error) delivery.error = result.error;
        delivery.state = result.status === 200 ? 'delivered' : 'failed';
        if (delivery.state === 'failed') {
          this.failures.push({
            deliveryId: delivery.id,
            packageId: delivery.packageId,
            name: delivery.name,
            to: target.senderEmail,
            reason: result.error ?? `HTTP ${result.status}`,
          });
        }
        this.settle(delivery);
      });
    }
    return structuredClone(delivery);
  }

  list(packageId?: string): OssCallbackDelivery[] {
    return this.deliveries
      .filter((d) => packageId === undefined || d.packageId === packageId)
      .map((d) => structuredClone(d));
  }

  failureNotices(): OssCallbackFailureNotice[] {
    return this.failures.map((f) => ({ ...f }));
  }

  /** Resolves when a delivery of this event for the package has ended, delivered or failed. */
  waitFor(packageId: string, name: string, timeoutMs = 10_000): Promise<OssCallbackDelivery> {
    const done = this.deliveries.find(
      (d) =>
        d.packageId === packageId && d.name === name && (d.state === 'delivered' || d.state === 'failed'),
    );
    if (done) return Promise.resolve(structuredClone(done));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        packageId,
        name,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new Error(`no ${name} callback for ${packageId} ended within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  stop(): void {
    this.stopped = true;
    for (const request of this.inFlight) request.destroy();
    this.inFlight.clear();
    for (const delivery of this.deliveries) if (delivery.state === 'pending') delivery.state = 'stopped';
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error('callback dispatcher stopped'));
    }
    this.waiters = [];
  }

  reset(): void {
    this.stop();
    this.deliveries.length = 0;
    this.failures.length = 0;
    this.stopped = false;
  }

  private settle(delivery: OssCallbackDelivery): void {
    const remaining: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (waiter.packageId === delivery.packageId && waiter.name === delivery.name) {
        clearTimeout(waiter.timer);
        waiter.resolve(structuredClone(delivery));
      } else {
        remaining.push(waiter);
      }
    }
    this.waiters = remaining;
  }

  private post(
    delivery: OssCallbackDelivery,
    timeoutMs: number,
  ): Promise<{ status: number | null; error?: string }> {
    return new Promise((resolve) => {
      let target: URL;
      try {
        target = new URL(delivery.url);
      } catch {
        resolve({ status: null, error: 'invalid callback URL' });
        return;
      }
      const transport = target.protocol === 'https:' ? https : http;
      const body = Buffer.from(JSON.stringify(delivery.event), 'utf8');
      const headers: Record<string, string> = {
        'Content-Type': 'application/json; charset=UTF-8',
        'Content-Length': String(body.length),
        'User-Agent': 'OneSpan-Sign-Simulator',
      };
      if (delivery.authorization !== null) headers.Authorization = delivery.authorization;
      let settled = false;
      const finish = (result: { status: number | null; error?: string }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.inFlight.delete(request);
        resolve(result);
      };
      const request = transport.request(target, { method: 'POST', headers, agent: false }, (response) => {
        response.resume();
        response.on('end', () => finish({ status: response.statusCode ?? null }));
        response.on('error', (error) => finish({ status: null, error: error.message }));
      });
      const timer = setTimeout(() => {
        finish({ status: null, error: `timeout after ${timeoutMs} ms` });
        request.destroy();
      }, timeoutMs);
      request.on('error', (error) => finish({ status: null, error: error.message }));
      this.inFlight.add(request);
      request.end(body);
    });
  }
}
