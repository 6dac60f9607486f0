import { Controller, Get, Query, Res, UseFilters, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ConsentConfiguredGuard } from './consent-configured.guard';
import { ConsentExceptionFilter } from './consent-exception.filter';
import { sendConsentOutcome } from './consent-page';
import { BeforeSendQueryPipe, type BeforeSendQuery } from './consent-query.pipe';
import { ConsentService } from './consent.service';

/**
 * The page set as eSignAnyWhere's "redirect url before sending a draft":
 * `https://<host>/consent/before-send?envelope=##EnvelopeId##&sender=##SenderUserId##&org=##OrganizationId##`.
 * It sends the draft with the sender's own token (asking for access first when needed) and returns the
 * browser to eSignAnyWhere.
 */
@Controller('consent')
@UseGuards(ConsentConfiguredGuard)
@UseFilters(ConsentExceptionFilter)
export class BeforeSendController {
  constructor(private readonly consent: ConsentService) {}

  @Get('before-send')
  async beforeSend(
    @Query(BeforeSendQueryPipe) query: BeforeSendQuery,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    sendConsentOutcome(reply, await this.consent.beforeSend(query));
  }
}
