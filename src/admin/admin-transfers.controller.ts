import {
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  UseFilters,
  UseGuards,
  UseInterceptors,
  UsePipes,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import {
  ADMIN_BEARER_SCHEME,
  bulkRetryResultSchema,
  errorSchema,
  transferDetailSchema,
  transferPageSchema,
  transferViewSchema,
  type BulkRetryResult,
  type TransferDetail,
  type TransferPage,
  type TransferView,
} from './admin-api.schemas';
import { AdminActor, AdminAuthGuard } from './admin-auth.guard';
import { AdminErrorFilter } from './admin-error.filter';
import { AdminResponseHeadersInterceptor } from './admin-response-headers.interceptor';
import { AdminTransfersService } from './admin-transfers.service';
import { AdminValidationPipe } from './admin-validation.pipe';
import {
  bulkRetryBodySchema,
  dismissBodySchema,
  transferIdSchema,
  transferListQuerySchema,
  type BulkRetryRequest,
  type TransferListQuery,
} from './transfer-filter.schema';

const transferId = ApiParam({
  name: 'id',
  description: 'The transfer id',
  schema: { type: 'string', format: 'uuid' },
});

@ApiTags('transfers')
@ApiBearerAuth(ADMIN_BEARER_SCHEME)
@ApiUnauthorizedResponse({
  description: 'No admin token, a wrong one, or none configured',
  standardSchema: errorSchema,
})
@ApiBadRequestResponse({
  description: 'Invalid input; the message names each field',
  standardSchema: errorSchema,
})
@Controller('admin/transfers')
@UseGuards(AdminAuthGuard)
@UsePipes(AdminValidationPipe)
@UseFilters(AdminErrorFilter)
@UseInterceptors(AdminResponseHeadersInterceptor)
export class AdminTransfersController {
  constructor(private readonly transfers: AdminTransfersService) {}

  @Get()
  @ApiOperation({ summary: 'List transfers, newest first, filtered, in pages' })
  @ApiOkResponse({ description: 'One page of transfers', standardSchema: transferPageSchema })
  list(@Query({ schema: transferListQuerySchema }) query: TransferListQuery): Promise<TransferPage> {
    return this.transfers.list(query);
  }

  @Post('retry')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Retry every retryable transfer matching a filter (bounded)',
    description:
      'The body is the list filter and must name a state or a cause. Without a state, failed, ' +
      'needs_consent, retrying and waiting transfers are retried; dismissed ones only when named.',
  })
  @ApiOkResponse({
    description: 'How many transfers were retried, and which',
    standardSchema: bulkRetryResultSchema,
  })
  retryMany(
    @Body({ schema: bulkRetryBodySchema }) request: BulkRetryRequest,
    @AdminActor() actor: string,
  ): Promise<BulkRetryResult> {
    return this.transfers.retryMany(request, actor);
  }

  @Get(':id')
  @transferId
  @ApiOperation({ summary: 'One transfer with its documents, attempts, callbacks and timeline' })
  @ApiOkResponse({ description: 'The transfer and its history', standardSchema: transferDetailSchema })
  @ApiNotFoundResponse({ description: 'No such transfer', standardSchema: errorSchema })
  detail(@Param('id', { schema: transferIdSchema }) id: string): Promise<TransferDetail> {
    return this.transfers.detail(id);
  }

  @Post(':id/retry')
  @HttpCode(200)
  @transferId
  @ApiOperation({
    summary: 'Retry one transfer now, with a fresh attempt budget',
    description:
      'Allowed from failed, needs_consent, retrying, waiting and dismissed. The pipeline resumes ' +
      'where it stopped: verified documents are not copied again, and a transfer whose documents ' +
      'are all archived retries only the delete on the platform.',
  })
  @ApiOkResponse({ description: 'The transfer as it is now', standardSchema: transferViewSchema })
  @ApiNotFoundResponse({ description: 'No such transfer', standardSchema: errorSchema })
  @ApiConflictResponse({
    description: 'The transfer is in a state that cannot be retried',
    standardSchema: errorSchema,
  })
  retry(
    @Param('id', { schema: transferIdSchema }) id: string,
    @AdminActor() actor: string,
  ): Promise<TransferView> {
    return this.transfers.retry(id, actor);
  }

  @Post(':id/dismiss')
  @HttpCode(200)
  @transferId
  @ApiOperation({
    summary: 'Give up on a transfer, with a reason',
    description:
      'Allowed from any unfinished state except while a worker holds the transfer (checking, archiving).',
  })
  @ApiOkResponse({ description: 'The transfer as it is now', standardSchema: transferViewSchema })
  @ApiNotFoundResponse({ description: 'No such transfer', standardSchema: errorSchema })
  @ApiConflictResponse({
    description: 'The transfer is finished or held by a worker',
    standardSchema: errorSchema,
  })
  dismiss(
    @Param('id', { schema: transferIdSchema }) id: string,
    @Body({ schema: dismissBodySchema }) body: { reason: string },
    @AdminActor() actor: string,
  ): Promise<TransferView> {
    return this.transfers.dismiss(id, body.reason, actor);
  }
}
