import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

/** Optional extra readiness checks (object store, mail) registered by other modules. */
export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

export interface Readiness {
  ready: boolean;
  checks: Record<string, { ok: boolean; error?: string; ms: number }>;
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

@Injectable()
export class HealthService {
  private readonly checks: ReadinessCheck[];

  constructor(
    @Inject(DataSource) dataSource: DataSource,
    @Inject(READINESS_CHECKS) extra: ReadinessCheck[][],
  ) {
    this.checks = [
      { name: 'database', check: async () => void (await dataSource.query('SELECT 1')) },
      ...extra.flat(),
    ];
  }

  async readiness(): Promise<Readiness> {
    const results = await Promise.all(
      this.checks.map(async (c) => {
        const started = Date.now();
        try {
          await withTimeout(c.check(), CHECK_TIMEOUT_MS);
          return [c.name, { ok: true, ms: Date.now() - started }] as const;
        } catch (error) {
          // A short reason only: connection strings or credentials must not leak here.
          const reason = error instanceof Error ? error.message.split('\n')[0].slice(0, 200) : 'failed';
          return [
            c.name,
            { ok: false, error: reason.replace(/\/\/[^@\s]*@/g, '//***@'), ms: Date.now() - started },
          ] as const;
        }
      }),
    );
    return { ready: results.every(([, r]) => r.ok), checks: Object.fromEntries(results) };
  }
}
