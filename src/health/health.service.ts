import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { MAIL_TRANSPORT, type MailTransport } from '../notifications/mail-transport';
import { OBJECT_STORE, type ObjectStore } from '../storage/object-store';

export interface ReadinessCheck {
  name: string;
  /** A failing critical check makes the service not ready (503); others only mark it degraded. */
  critical: boolean;
  check(): Promise<void>;
}

export interface Readiness {
  ready: boolean;
  degraded: boolean;
  checks: Record<string, { ok: boolean; critical: boolean; error?: string; ms: number }>;
}

const CHECK_TIMEOUT_MS = 3000;

function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<void>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Readiness: the database decides whether callbacks can be accepted (the only critical check);
 * the object store and the mail server are checked too, and reported as degraded when they fail,
 * since callbacks are still noted safely while they are away.
 */
@Injectable()
export class HealthService {
  private readonly checks: ReadinessCheck[];

  constructor(
    @Inject(DataSource) dataSource: DataSource,
    @Inject(OBJECT_STORE) store: ObjectStore,
    @Inject(MAIL_TRANSPORT) mail: MailTransport,
  ) {
    this.checks = [
      { name: 'database', critical: true, check: async () => void (await dataSource.query('SELECT 1')) },
      { name: 'objectStore', critical: false, check: () => store.ping() },
      { name: 'mail', critical: false, check: () => mail.ping() },
    ];
  }

  async readiness(): Promise<Readiness> {
    const results = await Promise.all(
      this.checks.map(async (c) => {
        const started = Date.now();
        try {
          await withTimeout(c.check(), CHECK_TIMEOUT_MS);
          return [c.name, { ok: true, critical: c.critical, ms: Date.now() - started }] as const;
        } catch (error) {
          // A short reason only: connection strings or credentials must not leak here.
          const reason = (error instanceof Error ? error.message.split('\n')[0] : 'failed')
            .slice(0, 200)
            .replace(/\/\/[^@\s/]*@/g, '//***@');
          return [
            c.name,
            { ok: false, critical: c.critical, error: reason, ms: Date.now() - started },
          ] as const;
        }
      }),
    );
    return {
      ready: results.every(([, r]) => r.ok || !r.critical),
      degraded: results.some(([, r]) => !r.ok),
      checks: Object.fromEntries<Readiness['checks'][string]>(results),
    };
  }
}
