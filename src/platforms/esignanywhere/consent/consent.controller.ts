import { Controller, Get, Headers, Query, Res, UseFilters, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ConsentConfiguredGuard } from './consent-configured.guard';
import { ConsentExceptionFilter } from './consent-exception.filter';
import { sendConsentOutcome } from './consent-page';
import {
  ConsentStartQueryPipe,
  OAuthCallbackQueryPipe,
  type ConsentStartQuery,
  type OAuthCallbackQuery,
} from './consent-query.pipe';
import { ConsentService } from './consent.service';

/** Re-consent (the link in the "token rejected" mail) and the OAuth redirect URI. */
@Controller('consent')
@UseGuards(ConsentConfiguredGuard)
@UseFilters(ConsentExceptionFilter)
export class ConsentController {
  constructor(private readonly consent: ConsentService) {}

  @Get('start')
  async start(
    @Query(ConsentStartQueryPipe) query: ConsentStartQuery,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    sendConsentOutcome(reply, await this.consent.start(query));
  }

  @Get('oauth/callback')
  async callback(
    @Query(OAuthCallbackQueryPipe) query: OAuthCallbackQuery,
    @Headers('cookie') cookie: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    sendConsentOutcome(reply, await this.consent.completeAuthorization(query, cookie));
  }
}
