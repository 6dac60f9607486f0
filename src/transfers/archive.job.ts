import { Inject, Injectable } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { PinoLogger } from 'nestjs-pino';
import type { ArchiveConfig } from '../config/app-config';
import { archiveConfig } from '../config/config.schema';
import { IntervalJob, type IntervalJobSchedule } from '../common/interval-job';
import { ArchiveError } from './archive-error';
import { ArchiveService } from './archive.service';
import { TransferRepository, type ClaimedTransfer } from './transfer.repository';
import { workerName } from './worker-identity';

const SHUTDOWN_GRACE_MS = 15_000;

/**
 * The scheduled job: on every tick, claim as many due transfers as there are free slots
 * (ARCHIVE_CONCURRENCY) and run each through the archive pipeline under a heartbeat lease.
 */
@Injectable()
export class ArchiveJob extends IntervalJob {
  readonly worker = workerName();
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();

  constructor(
    @Inject(archiveConfig.KEY) private readonly config: ArchiveConfig,
    scheduler: SchedulerRegistry,
    private readonly claims: TransferRepository,
    private readonly archive: ArchiveService,
    private readonly logContext: PinoLogger,
  ) {
    super('archive', scheduler);
  }

  protected schedule(): IntervalJobSchedule {
    return {
      enabled: this.config.ARCHIVE_ENABLED,
      intervalMs: this.config.ARCHIVE_POLL_INTERVAL_MS,
      runAtStart: true,
    };
  }

  protected override started(): void {
    this.logger.log(
      `archive job: every ${this.config.ARCHIVE_POLL_INTERVAL_MS} ms, up to ${this.config.ARCHIVE_CONCURRENCY} at once, as ${this.worker}`,
    );
  }

  /** Claims work for the free slots. */
  protected async runPass(): Promise<void> {
    const free = this.config.ARCHIVE_CONCURRENCY - this.running.size;
    const claimed = await this.claims.claimDue(free, this.worker, this.config.ARCHIVE_LEASE_MS);
    for (const claim of claimed) this.start(claim);
  }

  private start(claim: ClaimedTransfer): void {
    const abort = new AbortController();
    // One child logger per claimed transfer: every line logged while it runs, down to the platform
    // client and the object store, carries its ids.
    const bindings = { transferId: claim.id, envelopeId: claim.envelopeId, platform: claim.platform };
    const done = this.logContext
      .runInContext(() => this.runClaimed(claim, abort), { bindings })
      .finally(() => {
        this.running.delete(claim.id);
        // A slot is free: look for more work now rather than at the next tick.
        if (!this.stopping) void this.tick();
      });
    this.running.set(claim.id, { abort, done });
  }

  private async runClaimed(claim: ClaimedTransfer, abort: AbortController): Promise<void> {
    claim.progressAt = Date.now();
    let stalledLogged = false;
    const heartbeat = setInterval(
      () => {
        // A run that has not moved for a whole lease (a download that stopped) lets its lease go:
        // another worker takes the transfer over, and this one's writes are fenced off.
        const still = Date.now() - (claim.progressAt ?? 0);
        if (still > this.config.ARCHIVE_LEASE_MS) {
          if (!stalledLogged)
            this.logger.warn(`no progress for ${Math.round(still / 1000)} s; the lease is not renewed`);
          stalledLogged = true;
          return;
        }
        this.claims.heartbeat(claim, this.config.ARCHIVE_LEASE_MS).then(
          (held) => {
            if (!held) abort.abort(new ArchiveError('another worker took the transfer over', 'LEASE_LOST'));
          },
          // The database may be briefly away; the lease still has time left.
          (error: unknown) => this.logger.warn(`heartbeat failed: ${(error as Error).message}`),
        );
      },
      Math.max(100, Math.floor(this.config.ARCHIVE_LEASE_MS / 3)),
    );
    try {
      await this.archive.run(claim, abort.signal);
    } catch (error) {
      this.logger.error(`archive run failed: ${(error as Error).message}`);
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Stops claiming, interrupts running transfers (they resume elsewhere) and waits for them. */
  override async beforeApplicationShutdown(): Promise<void> {
    await super.beforeApplicationShutdown();
    const runs = [...this.running.values()];
    // Interrupted, not failed: the transfer is retried (by this worker's successor or another).
    for (const r of runs) r.abort.abort(new ArchiveError('the worker is shutting down', 'TRANSIENT'));
    await Promise.race([
      Promise.allSettled(runs.map((r) => r.done)),
      new Promise((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref()),
    ]);
  }

  /** For tests and the demo: how many transfers this process is working on. */
  get activeCount(): number {
    return this.running.size;
  }
}
