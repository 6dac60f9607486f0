import { Controller, Get, Query, UseGuards, UseInterceptors, UsePipes } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { z } from 'zod';
import {
  ADMIN_BEARER_SCHEME,
  consentHealthSchema,
  errorSchema,
  hourlySummarySchema,
  summarySchema,
  type ConsentHealth,
  type HourlySummary,
  type Summary,
} from './admin-api.schemas';
import { AdminAuthGuard } from './admin-auth.guard';
import { AdminResponseHeadersInterceptor } from './admin-response-headers.interceptor';
import { AdminSummaryService } from './admin-summary.service';
import { AdminValidationPipe } from './admin-validation.pipe';

/** The summaries take no parameters; one they do not know is refused like the list's. */
export const summaryQuerySchema = z.strictObject({});

@ApiTags('summary')
@ApiBearerAuth(ADMIN_BEARER_SCHEME)
@ApiUnauthorizedResponse({
  description: 'No admin token, a wrong one, or none configured',
  standardSchema: errorSchema,
})
@ApiBadRequestResponse({ description: 'A query parameter was given', standardSchema: errorSchema })
@Controller('admin/summary')
@UseGuards(AdminAuthGuard)
@UsePipes(AdminValidationPipe)
@UseInterceptors(AdminResponseHeadersInterceptor)
export class AdminSummaryController {
  constructor(private readonly summaries: AdminSummaryService) {}

  @Get()
  @ApiOperation({
    summary: 'Counts by state and cause, the oldest due transfer, last callbacks, mail backlog',
  })
  @ApiOkResponse({ description: 'The summary', standardSchema: summarySchema })
  summary(@Query({ schema: summaryQuerySchema }) _query: Record<string, never>): Promise<Summary> {
    return this.summaries.summary();
  }

  @Get('hourly')
  @ApiOperation({
    summary: 'Archived, failed and waiting transfers per hour over the last 48 hours',
    description: 'One entry per hour (UTC), the current hour last; hours without any are zeros.',
  })
  @ApiOkResponse({ description: 'The hourly counts', standardSchema: hourlySummarySchema })
  hourly(@Query({ schema: summaryQuerySchema }) _query: Record<string, never>): Promise<HourlySummary> {
    return this.summaries.hourly();
  }

  @Get('consent')
  @ApiOperation({
    summary: 'Senders who must grant API access again',
    description:
      'Senders whose token the platform rejected; their transfers wait in needs_consent until they do.',
  })
  @ApiOkResponse({ description: 'How many, and the longest-waiting', standardSchema: consentHealthSchema })
  consent(@Query({ schema: summaryQuerySchema }) _query: Record<string, never>): Promise<ConsentHealth> {
    return this.summaries.consent();
  }
}
