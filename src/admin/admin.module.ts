import { Module } from '@nestjs/common';
import { TransferStateModule } from '../transfers/transfer-state.module';
import { AdminAuthGuard } from './admin-auth.guard';
import { AdminPage } from './admin-page';
import { AdminPageController } from './admin-page.controller';
import { AdminSummaryController } from './admin-summary.controller';
import { AdminSummaryService } from './admin-summary.service';
import { AdminTransfersController } from './admin-transfers.controller';
import { AdminTransfersService } from './admin-transfers.service';

/** The failed-transfers console: JSON API under /admin (bearer tokens from ADMIN_TOKENS) and its page. */
@Module({
  controllers: [AdminPageController, AdminSummaryController, AdminTransfersController],
  imports: [TransferStateModule],
  providers: [AdminAuthGuard, AdminTransfersService, AdminSummaryService, AdminPage],
})
export class AdminModule {}
