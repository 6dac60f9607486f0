import {
  BadRequestException,
  Body,
  Controller,
  HttpCode,
  Post,
  Req,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { CallbackIntakeService, type IntakeOutcome } from '../../intake/callback-intake.service';
import { describeRequest } from '../../intake/callback-request';
import { IntakeErrorFilter } from '../../intake/intake-error.filter';
import { parseOneSpanCallback } from './onespan-callback.parser';
import { OneSpanCallbackGuard } from './onespan-callback.guard';

/**
 * The callback URLs registered at OneSpan Sign (`https://<host>/callbacks/onespan`) and Conga Sign
 * (`https://<host>/callbacks/conga`): a JSON `ESLProcessEvent` per POST. OneSpan waits about 20 seconds
 * and never retries, so the answer comes as soon as the event is committed; reconciliation archives
 * what a lost callback announced.
 */
@Controller('callbacks')
@UseGuards(OneSpanCallbackGuard)
@UseFilters(IntakeErrorFilter)
export class OneSpanCallbackController {
  constructor(private readonly intake: CallbackIntakeService) {}

  @Post('onespan')
  @HttpCode(200)
  oneSpan(@Body() body: unknown, @Req() request: FastifyRequest): Promise<{ status: IntakeOutcome }> {
    return this.receive('onespan', body, request);
  }

  @Post('conga')
  @HttpCode(200)
  conga(@Body() body: unknown, @Req() request: FastifyRequest): Promise<{ status: IntakeOutcome }> {
    return this.receive('conga', body, request);
  }

  private async receive(
    platform: 'onespan' | 'conga',
    body: unknown,
    request: FastifyRequest,
  ): Promise<{ status: IntakeOutcome }> {
    const parsed = parseOneSpanCallback(body);
    if (!parsed.ok) throw new BadRequestException(parsed.reason);
    const status = await this.intake.receive({
      platform,
      envelopeId: parsed.packageId,
      action: parsed.event,
      known: parsed.known,
      createsWork: parsed.createsWork,
      request: describeRequest(request),
    });
    return { status };
  }
}
