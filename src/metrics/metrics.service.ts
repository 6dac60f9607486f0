import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DataSource } from 'typeorm';
import { DUE_STATES, TRANSFER_STATES } from '../transfers/transfer-state';

/** Every Prometheus metric the service exposes, in one registry per application instance. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  private readonly callbacks = new Counter({
    name: 'esign_callbacks_total',
    help: 'Callbacks answered, by platform (unknown: a path no platform has), action (other: not a known one) and outcome.',
    labelNames: ['platform', 'action', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly ackLatency = new Histogram({
    name: 'esign_callback_ack_seconds',
    help: 'Time from receiving a callback to answering it.',
    labelNames: ['platform', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  private readonly attempts = new Counter({
    name: 'esign_transfer_attempts_total',
    help: 'Archive attempts, by the state they left the transfer in and the error class (none on success).',
    labelNames: ['outcome', 'error_class'] as const,
    registers: [this.registry],
  });

  private readonly documents = new Counter({
    name: 'esign_documents_archived_total',
    help: 'Documents copied to the object store and verified, by kind.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  private readonly bytes = new Counter({
    name: 'esign_bytes_archived_total',
    help: 'Bytes copied to the object store and verified.',
    registers: [this.registry],
  });

  private readonly mails = new Counter({
    name: 'esign_mails_total',
    help: 'Mails by outcome (sent, failed).',
    labelNames: ['kind', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor(@Inject(DataSource) dataSource: DataSource) {
    collectDefaultMetrics({ register: this.registry, prefix: 'esign_process_' });
    new Gauge({
      name: 'esign_transfers',
      help: 'Transfers by state.',
      labelNames: ['state'] as const,
      registers: [this.registry],
      async collect() {
        const rows: { state: string; n: number }[] = await dataSource
          .query<{ state: string; n: number }[]>(
            'SELECT state, count(*)::int AS n FROM transfers GROUP BY state',
          )
          .catch(() => []);
        this.reset();
        for (const state of TRANSFER_STATES) this.set({ state }, rows.find((r) => r.state === state)?.n ?? 0);
      },
    });
    new Gauge({
      name: 'esign_oldest_due_transfer_age_seconds',
      help: 'How long the oldest due transfer has been waiting for a worker (0 when none is due).',
      registers: [this.registry],
      async collect() {
        const rows: { age: number | null }[] = await dataSource
          .query<{ age: number | null }[]>(
            `SELECT extract(epoch FROM now() - min(next_attempt_at))::float8 AS age
               FROM transfers WHERE state = ANY($1::text[]) AND next_attempt_at <= now()`,
            [DUE_STATES],
          )
          .catch(() => [{ age: null }]);
        this.set(rows[0]?.age ?? 0);
      },
    });
    // Reconciliation runs on one replica at a time: the database, not this process, knows the last run.
    new Gauge({
      name: 'esign_reconciliation_last_run_timestamp_seconds',
      help: 'When the last finished reconciliation run of each platform instance ended (Unix time).',
      labelNames: ['platform', 'outcome'] as const,
      registers: [this.registry],
      async collect() {
        const rows = await dataSource
          .query<{ platform: string; outcome: string; at: number }[]>(
            `SELECT DISTINCT ON (platform) platform, outcome, extract(epoch FROM finished_at)::float8 AS at
               FROM reconciliation_runs WHERE finished_at IS NOT NULL ORDER BY platform, finished_at DESC`,
          )
          .catch(() => []);
        this.reset();
        for (const r of rows) this.set({ platform: r.platform, outcome: r.outcome }, r.at);
      },
    });
    new Gauge({
      name: 'esign_transfers_found_by_reconciliation_7d',
      help: 'Transfers of the last 7 days that reconciliation created: finished envelopes no callback announced.',
      labelNames: ['platform'] as const,
      registers: [this.registry],
      async collect() {
        const rows = await dataSource
          .query<{ platform: string; n: number }[]>(
            `SELECT platform, count(*)::int AS n FROM transfers
              WHERE origin = 'reconciliation' AND created_at > now() - interval '7 days' GROUP BY platform`,
          )
          .catch(() => []);
        this.reset();
        for (const r of rows) this.set({ platform: r.platform }, r.n);
      },
    });
  }

  /** Every label value must come from a closed set (see `callbackLabels`), never from the request. */
  callbackAnswered(platform: string, action: string, outcome: string, status: string, seconds: number): void {
    this.callbacks.inc({ platform, action, outcome });
    this.ackLatency.observe({ platform, status }, seconds);
  }

  attemptFinished(outcome: string, errorClass?: string): void {
    this.attempts.inc({ outcome, error_class: errorClass ?? 'none' });
  }

  documentArchived(kind: string, size: number): void {
    this.documents.inc({ kind });
    this.bytes.inc(size);
  }

  mailFinished(kind: string, outcome: 'sent' | 'failed', count = 1): void {
    this.mails.inc({ kind, outcome }, count);
  }
}
