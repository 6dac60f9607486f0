import { Controller, Get, HttpCode, Post, Query, Req, UseFilters, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { EsignAnywhereCallbackGuard } from './esignanywhere-callback.guard';
import { CallbackIntakeService, type IntakeOutcome } from '../../intake/callback-intake.service';
import { describeRequest } from '../../intake/callback-request';
import { EsignAnywhereCallbackPipe } from './esignanywhere-callback.pipe';
import { IntakeErrorFilter } from '../../intake/intake-error.filter';
import { ESIGNANYWHERE, type ValidEsawCallback } from './esignanywhere-callback.parser';

/**
 * The URL configured at eSignAnyWhere:
 * `https://<host>/callbacks/esignanywhere?envelope=##EnvelopeId##&action=##Action##`.
 * GET is what the platform uses; POST is accepted too and its body ignored.
 */
@Controller('callbacks/esignanywhere')
@UseGuards(EsignAnywhereCallbackGuard)
@UseFilters(IntakeErrorFilter)
export class EsignAnywhereCallbackController {
  constructor(private readonly intake: CallbackIntakeService) {}

  @Get()
  @HttpCode(200)
  receiveGet(
    @Query(EsignAnywhereCallbackPipe) callback: ValidEsawCallback,
    @Req() request: FastifyRequest,
  ): Promise<{ status: IntakeOutcome }> {
    return this.receive(callback, request);
  }

  @Post()
  @HttpCode(200)
  receivePost(
    @Query(EsignAnywhereCallbackPipe) callback: ValidEsawCallback,
    @Req() request: FastifyRequest,
  ): Promise<{ status: IntakeOutcome }> {
    return this.receive(callback, request);
  }

  private async receive(
    callback: ValidEsawCallback,
    request: FastifyRequest,
  ): Promise<{ status: IntakeOutcome }> {
    const status = await this.intake.receive({
      platform: ESIGNANYWHERE,
      envelopeId: callback.envelopeId,
      action: callback.action,
      known: callback.known,
      createsWork: callback.createsWork,
      request: describeRequest(request),
    });
    return { status };
  }
}
