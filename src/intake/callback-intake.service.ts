import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { IntakeConfig } from '../config/app-config';
import { intakeConfig } from '../config/config.schema';
import {
  DatabaseUnavailableError,
  isDatabaseUnavailable,
  isInvalidDataError,
} from '../common/database-errors';
import { IntakeError } from './intake-error';
import { NotedEventWriter } from './noted-event.writer';

export interface IncomingCallback {
  platform: string;
  envelopeId: string;
  action: string;
  known: boolean;
  createsWork: boolean;
  request: Record<string, unknown>;
}

export type IntakeOutcome = 'noted' | 'ignored';

@Injectable()
export class CallbackIntakeService {
  private readonly logger = new Logger(CallbackIntakeService.name);

  constructor(
    @Inject(intakeConfig.KEY) private readonly config: IntakeConfig,
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly writer: NotedEventWriter,
  ) {}

  /**
   * Notes a callback down durably; resolves only after the commit. An unknown action is
   * acknowledged without any work (platforms add action codes over time).
   */
  async receive(callback: IncomingCallback): Promise<IntakeOutcome> {
    if (!callback.known) {
      this.logger.log(
        `ignored unknown ${callback.platform} action ${callback.action} for ${callback.envelopeId}`,
      );
      return 'ignored';
    }
    try {
      await this.withDeadline(
        this.writer.note({
          platform: callback.platform,
          envelopeId: callback.envelopeId,
          action: callback.action,
          createsWork: callback.createsWork,
          request: callback.request,
        }),
      );
    } catch (error) {
      throw this.noteFailure(error);
    }
    return 'noted';
  }

  /**
   * Notes the known callbacks of one delivery that carries many (a platform's batch) in one
   * transaction, all or none, and resolves after the commit. `first` runs first in that transaction:
   * when it answers false (the delivery was noted before), nothing is written and the answer is
   * `duplicate`.
   */
  async receiveAll(
    callbacks: readonly IncomingCallback[],
    first?: (manager: EntityManager) => Promise<boolean>,
  ): Promise<{ outcome: 'noted' | 'duplicate'; noted: number }> {
    const known = callbacks.filter((c) => c.known);
    try {
      return await this.withDeadline(
        this.dataSource.transaction(async (manager) => {
          if (first && !(await first(manager))) return { outcome: 'duplicate' as const, noted: 0 };
          await this.writer.noteTogether(
            known.map((c) => ({
              platform: c.platform,
              envelopeId: c.envelopeId,
              action: c.action,
              createsWork: c.createsWork,
              request: c.request,
            })),
            manager,
          );
          return { outcome: 'noted' as const, noted: known.length };
        }),
      );
    } catch (error) {
      throw this.noteFailure(error);
    }
  }

  // Only data the database refuses is the request's fault; every other failure may pass, so the
  // platform is told to retry rather than given a 500 it may not retry.
  private noteFailure(error: unknown): Error {
    if (isInvalidDataError(error)) {
      return new IntakeError(
        'the callback cannot be noted: the database refused its data as invalid',
        'INVALID_NOTE',
        { cause: error },
      );
    }
    if (error instanceof DatabaseUnavailableError) return error;
    if (!isDatabaseUnavailable(error)) {
      // Still a 503, but a failure nobody has named yet must stand out in the log.
      const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
      this.logger.error(`unexpected failure while noting a callback: ${detail}`);
    }
    return new DatabaseUnavailableError('the database could not note the callback', { cause: error });
  }

  // The platform must hear back within seconds; past the deadline it gets a 503 and retries.
  private withDeadline<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new DatabaseUnavailableError('the database did not confirm the note in time')),
        this.config.INTAKE_TIMEOUT_MS,
      );
    });
    work.catch(() => undefined); // a late failure after the deadline is already answered
    return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
  }
}
