import { Module } from '@nestjs/common';
import { NotificationsModule } from '../notifications/notifications.module';
import { SendersModule } from '../senders/senders.module';
import { TransferStateModule } from '../transfers/transfer-state.module';
import { ReconciliationJob } from './reconciliation.job';
import { ReconciliationService } from './reconciliation.service';

@Module({
  imports: [TransferStateModule, SendersModule, NotificationsModule],
  providers: [ReconciliationService, ReconciliationJob],
  exports: [ReconciliationService],
})
export class ReconciliationModule {}
