import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { ReconciliationConfig } from '../config/app-config';
import { reconciliationConfig } from '../config/config.schema';
import { queryRows } from '../database/query-rows';
import { TransferNotices } from '../notifications/transfer-notices';
import {
  SIGNING_PLATFORMS,
  type FinishedEnvelope,
  type SigningPlatform,
  type SigningPlatforms,
} from '../platforms/signing-platform';
import { SenderRepository } from '../senders/sender.repository';
import { SenderTokenResolver } from '../senders/sender-token.resolver';
import { TransferRepository } from '../transfers/transfer.repository';

/** Envelopes one run takes from one credential at most: a platform answering without end is cut. */
const MAX_ENVELOPES_PER_CREDENTIAL = 50_000;
/** Runs overlap the previous window by this much: a late listing never falls between two runs. */
const WINDOW_OVERLAP_MS = 3_600_000;
/** Errors kept with a run. */
const MAX_ERRORS_KEPT = 20;

export interface ReconciliationResult {
  platform: string;
  found: number;
  created: number;
  outcome: 'ok' | 'partial' | 'failed';
  errors: string[];
}

/**
 * The backstop for callbacks that never came: asks each platform instance that can list finished
 * envelopes for those that finished since its last run, and creates the transfers that do not exist
 * yet (origin `reconciliation`). Each run is recorded; a run that found envelopes while the platform's
 * callbacks have been silent for long tells ops.
 */
@Injectable()
export class ReconciliationService {
  private readonly logger = new Logger(ReconciliationService.name);

  constructor(
    @Inject(reconciliationConfig.KEY) private readonly config: ReconciliationConfig,
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(SIGNING_PLATFORMS) private readonly platforms: SigningPlatforms,
    private readonly tokens: SenderTokenResolver,
    private readonly senders: SenderRepository,
    private readonly transfers: TransferRepository,
    private readonly notices: TransferNotices,
  ) {}

  /** One run for every platform instance with a listing; one failing instance does not stop the others. */
  async runAll(signal?: AbortSignal): Promise<ReconciliationResult[]> {
    const results: ReconciliationResult[] = [];
    for (const platform of this.platforms.values()) {
      if (!platform.listFinished) continue;
      signal?.throwIfAborted();
      results.push(await this.run(platform, signal));
    }
    return results;
  }

  async run(platform: SigningPlatform, signal?: AbortSignal): Promise<ReconciliationResult> {
    const to = new Date();
    const from = await this.windowStart(platform.name, to);
    const [{ id: runId }] = await queryRows<{ id: string }>(
      this.dataSource,
      `INSERT INTO reconciliation_runs (platform, window_from, window_to) VALUES ($1, $2, $3) RETURNING id`,
      [platform.name, from, to],
    );
    const errors: string[] = [];
    const found = new Map<string, { envelope: FinishedEnvelope; senderId: string | null }>();
    const { credentials, problems } = await this.tokens.everyCredential(platform);
    errors.push(...problems);
    let listed = 0;
    for (const credential of credentials) {
      const who = credential.sender
        ? `sender ${credential.sender.platformUserId}`
        : 'the fallback credential';
      try {
        let taken = 0;
        for await (const envelope of platform.listFinished!(from, { token: credential.token, signal })) {
          if (++taken > MAX_ENVELOPES_PER_CREDENTIAL) {
            errors.push(
              `${who}: more than ${MAX_ENVELOPES_PER_CREDENTIAL} envelopes listed; the rest waits for the next run`,
            );
            break;
          }
          if (!found.has(envelope.id))
            found.set(envelope.id, { envelope, senderId: credential.sender?.senderId ?? null });
        }
        listed++;
      } catch (error) {
        if (signal?.aborted) throw error;
        errors.push(`${who}: ${(error as Error).message}`);
      }
    }
    let created: { envelopeId: string }[] = [];
    try {
      // Who sent it, where a sender's own token found it: their token will archive it.
      for (const [envelopeId, { senderId }] of found) {
        if (senderId) await this.senders.noteEnvelopeSenderIfAbsent(platform.name, envelopeId, senderId);
      }
      created = await this.transfers.ensureFound(
        [...found.keys()].map((envelopeId) => ({ platform: platform.name, envelopeId })),
        this.dataSource,
      );
    } catch (error) {
      errors.push(`recording what was found: ${(error as Error).message}`);
    }
    const outcome: ReconciliationResult['outcome'] =
      credentials.length > 0 && listed === 0 ? 'failed' : errors.length > 0 ? 'partial' : 'ok';
    await this.dataSource.query(
      `UPDATE reconciliation_runs SET finished_at = now(), found = $2, created = $3, errors = $4::jsonb, outcome = $5
        WHERE id = $1`,
      [runId, found.size, created.length, JSON.stringify(errors.slice(0, MAX_ERRORS_KEPT)), outcome],
    );
    const line = `reconciliation of ${platform.name}: ${found.size} finished since ${from.toISOString()}, ${created.length} without a transfer`;
    if (outcome === 'ok') this.logger.log(line);
    else this.logger.warn({ msg: `${line} (${outcome})`, errors: errors.slice(0, MAX_ERRORS_KEPT) });
    if (created.length > 0)
      await this.alertOnSilence(
        platform,
        created.map((c) => c.envelopeId),
      );
    return { platform: platform.name, found: found.size, created: created.length, outcome, errors };
  }

  /** From the end of the last run that listed something (less an overlap), else the lookback. */
  private async windowStart(platform: string, now: Date): Promise<Date> {
    const [last] = await queryRows<{ to: Date }>(
      this.dataSource,
      `SELECT window_to AS "to" FROM reconciliation_runs
        WHERE platform = $1 AND outcome IN ('ok', 'partial') ORDER BY window_to DESC LIMIT 1`,
      [platform],
    );
    const lookback = now.getTime() - this.config.RECONCILE_LOOKBACK;
    return new Date(last ? Math.max(lookback, last.to.getTime() - WINDOW_OVERLAP_MS) : lookback);
  }

  private async alertOnSilence(platform: SigningPlatform, createdIds: string[]): Promise<void> {
    const [{ last }] = await queryRows<{ last: Date | null }>(
      this.dataSource,
      `SELECT max(last_received_at) AS last FROM noted_events WHERE platform = $1`,
      [platform.name],
    );
    if (last && Date.now() - last.getTime() < this.config.CALLBACK_SILENCE_ALERT) return;
    this.logger.warn(
      `no callback from ${platform.name} for ${last ? `${Math.round((Date.now() - last.getTime()) / 3_600_000)} h` : 'ever'}, yet ${createdIds.length} finished envelope(s) were found`,
    );
    await this.notices.callbacksSilent({
      platform: { name: platform.name, display: platform.display },
      lastCallbackAt: last,
      foundWithoutCallback: createdIds.length,
      oldestEnvelopeId: [...createdIds].sort()[0],
    });
  }
}
