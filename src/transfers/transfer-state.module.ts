import { Module } from '@nestjs/common';
import { TransferRepository } from './transfer.repository';

/** The transfers state machine's repository, for every module that moves a transfer (intake, senders, admin, the pipeline). */
@Module({
  providers: [TransferRepository],
  exports: [TransferRepository],
})
export class TransferStateModule {}
