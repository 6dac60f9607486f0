import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { MailOutboxService } from './mail-outbox.service';

/** Sends what the outbox holds, on the archive job's rhythm. A mail server that is down never stops it. */
@Injectable()
export class MailDeliveryJob implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(MailDeliveryJob.name);
  private busy = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly scheduler: SchedulerRegistry,
    private readonly outbox: MailOutboxService,
    private readonly metrics: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.ARCHIVE_ENABLED) return;
    this.scheduler.addInterval(
      'mail',
      setInterval(() => void this.tick(), this.config.ARCHIVE_POLL_INTERVAL_MS),
    );
  }

  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const report = await this.outbox.deliverDue(50);
      if (report.sent > 0) this.metrics.mailFinished('any', 'sent', report.sent);
      if (report.failed > 0) this.metrics.mailFinished('any', 'failed', report.failed);
    } catch (error) {
      this.logger.warn(`mail delivery pass failed: ${(error as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  beforeApplicationShutdown(): void {
    if (this.scheduler.doesExist('interval', 'mail')) this.scheduler.deleteInterval('mail');
  }
}
