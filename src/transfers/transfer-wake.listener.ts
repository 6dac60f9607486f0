import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import type { ArchiveConfig } from '../config/app-config';
import { archiveConfig } from '../config/config.schema';
import { ArchiveJob } from './archive.job';
import { TRANSFERS_DUE_CHANNEL } from './transfer.repository';

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;
const SECOND_LOOK_MS = 250;

/**
 * Wakes the archive job when a transfer becomes due (a callback's commit, an operator's retry): one
 * dedicated connection LISTENs on the transfers' channel. The job's polling stays the fallback, so a
 * notification lost while the connection is down costs at most one poll interval; the connection is
 * re-opened with backoff.
 */
@Injectable()
export class TransferWakeListener implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('archive');
  private client: Client | undefined;
  private stopping = false;
  private retryMs = RECONNECT_MIN_MS;
  private timer: NodeJS.Timeout | undefined;
  private again: NodeJS.Timeout | undefined;
  /** Notifications received, for tests. */
  received = 0;

  constructor(
    @Inject(archiveConfig.KEY) private readonly config: ArchiveConfig,
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly job: ArchiveJob,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.ARCHIVE_ENABLED || !this.config.ARCHIVE_WAKE_ON_CALLBACK) return;
    void this.connect();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    clearTimeout(this.again);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  /** Whether the listening connection is up (for tests and health). */
  get listening(): boolean {
    return this.client !== undefined;
  }

  private async connect(): Promise<void> {
    if (this.stopping) return;
    const { url } = this.dataSource.options as { url?: string };
    const client = new Client({
      connectionString: url,
      application_name: 'esign-archiver-wake',
      keepAlive: true,
    });
    client.on('notification', () => {
      this.received++;
      void this.job.tick();
      // A row another transaction holds locked this instant (a duplicate callback's upsert of the same
      // transfer) is skipped by the claim; one more look a moment later finds it.
      if (!this.again) {
        this.again = setTimeout(() => {
          this.again = undefined;
          if (!this.stopping) void this.job.tick();
        }, SECOND_LOOK_MS);
        this.again.unref();
      }
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${TRANSFERS_DUE_CHANNEL}`);
    } catch (error) {
      this.lost(client, error as Error);
      return;
    }
    if (this.stopping) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.retryMs = RECONNECT_MIN_MS;
    // Whatever became due while no one listened is found now, not at the next poll.
    void this.job.tick();
  }

  private lost(client: Client, error?: Error): void {
    if (this.client === client) this.client = undefined;
    client.removeAllListeners('end');
    client.removeAllListeners('error');
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    if (this.stopping || this.timer) return;
    this.logger.warn(
      `wake-up connection lost${error ? ` (${error.message})` : ''}; polling every ${this.config.ARCHIVE_POLL_INTERVAL_MS} ms until it is back`,
    );
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connect();
    }, this.retryMs);
    this.timer.unref();
    this.retryMs = Math.min(this.retryMs * 2, RECONNECT_MAX_MS);
  }
}
