import { Inject, Injectable } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { ArchiveConfig } from '../config/app-config';
import { archiveConfig } from '../config/config.schema';
import { IntervalJob, type IntervalJobSchedule } from '../common/interval-job';
import { MetricsService } from '../metrics/metrics.service';
import { MailOutboxService } from './mail-outbox.service';

/** Sends what the outbox holds, on the archive job's rhythm. A mail server that is down never stops it. */
@Injectable()
export class MailDeliveryJob extends IntervalJob {
  constructor(
    @Inject(archiveConfig.KEY) private readonly config: ArchiveConfig,
    scheduler: SchedulerRegistry,
    private readonly outbox: MailOutboxService,
    private readonly metrics: MetricsService,
  ) {
    super('mail', scheduler);
  }

  protected schedule(): IntervalJobSchedule {
    return { enabled: this.config.ARCHIVE_ENABLED, intervalMs: this.config.ARCHIVE_POLL_INTERVAL_MS };
  }

  protected async runPass(): Promise<void> {
    const report = await this.outbox.deliverDue(50);
    if (report.sent > 0) this.metrics.mailFinished('any', 'sent', report.sent);
    if (report.failed > 0) this.metrics.mailFinished('any', 'failed', report.failed);
  }
}
