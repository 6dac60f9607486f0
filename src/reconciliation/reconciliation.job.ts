import { Inject, Injectable } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { IntervalJob, type IntervalJobSchedule } from '../common/interval-job';
import type { ArchiveConfig, ReconciliationConfig } from '../config/app-config';
import { archiveConfig, reconciliationConfig } from '../config/config.schema';
import { withAdvisoryTryLock } from '../database/advisory-lock';
import { ReconciliationService } from './reconciliation.service';

/** The lock that makes reconciliation run on one replica of the cluster at a time. */
export const RECONCILIATION_LOCK = 'esign-archiver:reconciliation';

/** Every RECONCILE_INTERVAL (and at start), once per cluster: reconcile every platform instance. */
@Injectable()
export class ReconciliationJob extends IntervalJob {
  private readonly abort = new AbortController();

  constructor(
    @Inject(reconciliationConfig.KEY) private readonly config: ReconciliationConfig,
    @Inject(archiveConfig.KEY) private readonly archive: ArchiveConfig,
    @Inject(DataSource) private readonly dataSource: DataSource,
    scheduler: SchedulerRegistry,
    private readonly reconciliation: ReconciliationService,
  ) {
    super('reconciliation', scheduler);
  }

  protected schedule(): IntervalJobSchedule {
    return {
      // A replica that does not archive does not reconcile either (tests, intake-only replicas).
      enabled: this.archive.ARCHIVE_ENABLED && this.config.RECONCILE_INTERVAL > 0,
      intervalMs: this.config.RECONCILE_INTERVAL,
      runAtStart: true,
    };
  }

  protected override started(schedule: IntervalJobSchedule): void {
    this.logger.log(
      `reconciliation: every ${Math.round(schedule.intervalMs / 60_000)} min, once per cluster`,
    );
  }

  protected async runPass(): Promise<void> {
    const result = await withAdvisoryTryLock(this.dataSource, RECONCILIATION_LOCK, () =>
      this.reconciliation.runAll(this.abort.signal),
    );
    if (!result.ran) this.logger.debug('another replica is reconciling');
  }

  override async beforeApplicationShutdown(): Promise<void> {
    this.abort.abort(new Error('shutting down'));
    await super.beforeApplicationShutdown();
  }
}
