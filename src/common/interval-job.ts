import { Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { SchedulerRegistry } from '@nestjs/schedule';

export interface IntervalJobSchedule {
  /** Off: the job never runs on its own (tests, or a replica that only takes callbacks). */
  enabled: boolean;
  intervalMs: number;
  /** Run once at startup instead of waiting for the first interval. */
  runAtStart?: boolean;
}

/**
 * The scaffolding of a background job: one pass every interval, never two passes at once, a call to
 * `tick()` while a pass runs makes one more pass right after it (so no wake-up is lost), a failed
 * pass is logged and the next one comes, and no pass starts once shutdown began.
 */
export abstract class IntervalJob implements OnApplicationBootstrap, BeforeApplicationShutdown {
  protected readonly logger: Logger;
  private passRunning = false;
  private passAgain = false;
  protected stopping = false;

  protected constructor(
    /** The interval's name in the scheduler registry and the logger's context. */
    readonly jobName: string,
    private readonly scheduler: SchedulerRegistry,
  ) {
    this.logger = new Logger(jobName);
  }

  /** When the job runs; read at startup. */
  protected abstract schedule(): IntervalJobSchedule;

  /** One pass. Errors are logged by the scaffolding. */
  protected abstract runPass(): Promise<void>;

  onApplicationBootstrap(): void {
    const schedule = this.schedule();
    if (!schedule.enabled) return;
    this.scheduler.addInterval(
      this.jobName,
      setInterval(() => void this.tick(), schedule.intervalMs),
    );
    this.started(schedule);
    if (schedule.runAtStart) void this.tick();
  }

  /** Hook for a line at startup. */
  protected started(_schedule: IntervalJobSchedule): void {}

  /** Runs a pass now, or right after the one in progress. Safe to call at any time. */
  async tick(): Promise<void> {
    if (this.stopping) return;
    if (this.passRunning) {
      this.passAgain = true;
      return;
    }
    this.passRunning = true;
    try {
      do {
        this.passAgain = false;
        try {
          await this.runPass();
        } catch (error) {
          this.logger.warn(`${this.jobName} pass failed: ${(error as Error).message}`);
        }
      } while (this.passAgain && !this.stopping);
    } finally {
      this.passRunning = false;
    }
  }

  /** Stops the interval; subclasses wait for their own work after calling this. */
  beforeApplicationShutdown(): Promise<void> | void {
    this.stopping = true;
    if (this.scheduler.doesExist('interval', this.jobName)) this.scheduler.deleteInterval(this.jobName);
  }
}
