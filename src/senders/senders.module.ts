import { Module } from '@nestjs/common';
import { TransferStateModule } from '../transfers/transfer-state.module';
import { SenderGrantService } from './sender-grant.service';
import { SenderTokenResolver } from './sender-token.resolver';
import { SenderRepository } from './sender.repository';
import { TokenCipher } from './token-cipher';

@Module({
  imports: [TransferStateModule],
  providers: [TokenCipher, SenderRepository, SenderTokenResolver, SenderGrantService],
  exports: [TokenCipher, SenderRepository, SenderTokenResolver, SenderGrantService],
})
export class SendersModule {}
