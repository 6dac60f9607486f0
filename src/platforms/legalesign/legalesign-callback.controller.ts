import {
  BadRequestException,
  Body,
  Controller,
  HttpCode,
  Inject,
  PayloadTooLargeException,
  Post,
  Req,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { CallbackIntakeService, type IncomingCallback } from '../../intake/callback-intake.service';
import { describeRequest } from '../../intake/callback-request';
import { IntakeErrorFilter } from '../../intake/intake-error.filter';
import { queryRows } from '../../database/query-rows';
import {
  callbackStyle,
  parseBatchData,
  parseRealtime,
  parseSigned,
  type DocumentNote,
  type ParsedSingle,
} from './legalesign-callback.parser';
import {
  LegalesignCallbackGuard,
  VERIFIED_ALGORITHM,
  type VerifiedRequest,
} from './legalesign-callback.guard';
import { LEGALESIGN_INSTANCE, type LegalesignInstanceRef } from './legalesign.tokens';

export type LegalesignAnswer =
  | { status: 'noted' | 'ignored' }
  | { status: 'noted' | 'duplicate'; changes: number; noted: number; ignored: number };

/**
 * Legalesign's callback URL, `https://<host>/callbacks/legalesign?token=<LEGALESIGN_CALLBACK_TOKEN>`, for
 * all three of its callbacks. A verified batch is noted whole in one transaction (each document's
 * changes, and transfers for those signed or rejected), once: a replayed batch changes nothing.
 */
@Controller('callbacks')
@UseGuards(LegalesignCallbackGuard)
@UseFilters(IntakeErrorFilter)
export class LegalesignCallbackController {
  constructor(
    private readonly intake: CallbackIntakeService,
    @Inject(LEGALESIGN_INSTANCE) private readonly instance: LegalesignInstanceRef,
  ) {}

  @Post('legalesign')
  @HttpCode(200)
  async receive(@Body() body: unknown, @Req() request: VerifiedRequest): Promise<LegalesignAnswer> {
    const instance = this.instance!;
    const style = callbackStyle(body);
    if ('error' in style) throw new BadRequestException(style.error);
    const evidence = describeRequest(request);
    if (style.style === 'batch') {
      const parsed = parseBatchData(style.data, instance.maxChanges);
      if (!parsed.ok) {
        throw parsed.tooLarge
          ? new PayloadTooLargeException(parsed.reason)
          : new BadRequestException(parsed.reason);
      }
      const digest = createHash('sha256').update(style.data, 'utf8').digest('hex');
      const algorithm = request[VERIFIED_ALGORITHM] ?? null;
      const callbacks = parsed.notes.map((note) =>
        this.incoming(note, {
          ...evidence,
          batch: digest,
          ...(note.timestamp && { timestamp: note.timestamp }),
        }),
      );
      const firstTime = (manager: EntityManager): Promise<boolean> =>
        queryRows(
          manager,
          `INSERT INTO legalesign_callback_batches
             (platform, data_sha256, signature_algorithm, changes, documents, ignored, data, request)
           VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb)
           ON CONFLICT ON CONSTRAINT uq_legalesign_callback_batches_data DO NOTHING
           RETURNING 1`,
          [
            instance.name,
            digest,
            algorithm,
            parsed.changes,
            new Set(parsed.notes.map((n) => n.documentId)).size,
            parsed.ignored,
            JSON.stringify(parsed.list),
            JSON.stringify(evidence),
          ],
        ).then((rows) => rows.length === 1);
      const result = await this.intake.receiveAll(callbacks, firstTime);
      return {
        status: result.outcome,
        changes: parsed.changes,
        noted: result.noted,
        ignored: parsed.ignored,
      };
    }
    const parsed: ParsedSingle =
      style.style === 'realtime' ? parseRealtime(style.body) : parseSigned(style.fields);
    if (!parsed.ok) throw new BadRequestException(parsed.reason);
    return { status: await this.intake.receive(this.incoming(parsed.note, evidence)) };
  }

  private incoming(note: DocumentNote, request: Record<string, unknown>): IncomingCallback {
    return {
      platform: this.instance!.name,
      envelopeId: note.documentId,
      action: note.action,
      known: note.known,
      createsWork: note.createsWork,
      request,
    };
  }
}
