import type { LsCallbackDelivery, LsCallbackKind, LsRealtimeEvent } from './legalesign-simulator.types';

export interface LsOutgoingCallback {
  kind: LsCallbackKind;
  url: string;
  uuid: string | null;
  headers: Record<string, string>;
  body: string;
  data?: string;
  signature?: string;
  event?: LsRealtimeEvent;
}

/**
 * Posts callbacks once each, as Legalesign is documented to (no retry is known): a delivery succeeds on
 * any 2xx; another status, a timeout or a network error fails it. Every delivery is recorded with the
 * status and the body the receiver answered.
 */
export class LegalesignCallbackDispatcher {
  private deliveries: LsCallbackDelivery[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private abort = new AbortController();
  private nextId = 1;

  /** Resolves with the finished delivery; never rejects. */
  send(outgoing: LsOutgoingCallback, timeoutMs: number): Promise<LsCallbackDelivery> {
    const delivery: LsCallbackDelivery = {
      id: this.nextId++,
      ...outgoing,
      at: new Date().toISOString(),
      state: 'pending',
      status: null,
      responseBody: null,
    };
    this.deliveries.push(delivery);
    const done = this.post(delivery, timeoutMs);
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
    return done.then(() => structuredClone(delivery));
  }

  list(filter: { kind?: LsCallbackKind; uuid?: string } = {}): LsCallbackDelivery[] {
    return this.deliveries
      .filter(
        (d) =>
          (filter.kind === undefined || d.kind === filter.kind) &&
          (filter.uuid === undefined || d.uuid === filter.uuid),
      )
      .map((d) => structuredClone(d));
  }

  /** Resolves when every delivery started so far has ended. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Aborts what is in flight; later sends work again. */
  stop(): void {
    this.abort.abort();
    this.abort = new AbortController();
  }

  reset(): void {
    this.stop();
    this.deliveries = [];
  }

  private async post(delivery: LsCallbackDelivery, timeoutMs: number): Promise<void> {
    try {
      const response = await fetch(delivery.url, {
        method: 'POST',
        headers: { ...delivery.headers, 'User-Agent': 'Legalesign-Simulator' },
        body: delivery.body,
        redirect: 'manual',
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(timeoutMs)]),
      });
      delivery.status = response.status;
      delivery.responseBody = await response.text();
      delivery.state = response.status >= 200 && response.status < 300 ? 'delivered' : 'failed';
    } catch (error) {
      delivery.state = 'failed';
      delivery.error =
        error instanceof Error && error.name === 'TimeoutError'
          ? `timeout after ${timeoutMs} ms`
          : String(error instanceof Error && error.cause instanceof Error ? error.cause.message : error);
    }
  }
}
