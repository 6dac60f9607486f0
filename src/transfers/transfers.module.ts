import { Module } from '@nestjs/common';
import { MailDeliveryJob } from '../notifications/mail-delivery.job';
import { NotificationsModule } from '../notifications/notifications.module';
import { SendersModule } from '../senders/senders.module';
import { StorageModule } from '../storage/storage.module';
import { ArchiveJob } from './archive.job';
import { ArchiveService } from './archive.service';
import { TransferStateModule } from './transfer-state.module';
import { TransferWakeListener } from './transfer-wake.listener';

@Module({
  imports: [TransferStateModule, StorageModule, NotificationsModule, SendersModule],
  providers: [ArchiveService, ArchiveJob, TransferWakeListener, MailDeliveryJob],
  exports: [ArchiveJob, TransferWakeListener, TransferStateModule],
})
export class TransfersModule {}
