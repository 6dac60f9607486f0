import { Module } from '@nestjs/common';
import { MailDeliveryJob } from '../notifications/mail-delivery.job';
import { NotificationsModule } from '../notifications/notifications.module';
import { PlatformsModule } from '../platforms/platforms.module';
import { SendersModule } from '../senders/senders.module';
import { StorageModule } from '../storage/storage.module';
import { ArchiveJob } from './archive.job';
import { ArchiveService } from './archive.service';
import { TransferClaimRepository } from './transfer-claim.repository';

@Module({
  imports: [PlatformsModule, StorageModule, NotificationsModule, SendersModule],
  providers: [TransferClaimRepository, ArchiveService, ArchiveJob, MailDeliveryJob],
  exports: [ArchiveJob, TransferClaimRepository],
})
export class TransfersModule {}
