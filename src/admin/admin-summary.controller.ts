import { Controller, Get, UseGuards, UseInterceptors } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ADMIN_BEARER_SCHEME, errorSchema, summarySchema, type Summary } from './admin-api.schemas';
import { AdminAuthGuard } from './admin-auth.guard';
import { AdminResponseHeadersInterceptor } from './admin-response-headers.interceptor';
import { AdminSummaryService } from './admin-summary.service';

@ApiTags('summary')
@ApiBearerAuth(ADMIN_BEARER_SCHEME)
@ApiUnauthorizedResponse({
  description: 'No admin token, a wrong one, or none configured',
  standardSchema: errorSchema,
})
@Controller('admin/summary')
@UseGuards(AdminAuthGuard)
@UseInterceptors(AdminResponseHeadersInterceptor)
export class AdminSummaryController {
  constructor(private readonly summaries: AdminSummaryService) {}

  @Get()
  @ApiOperation({
    summary: 'Counts by state and cause, the oldest due transfer, last callbacks, mail backlog',
  })
  @ApiOkResponse({ description: 'The summary', standardSchema: summarySchema })
  summary(): Promise<Summary> {
    return this.summaries.summary();
  }
}
