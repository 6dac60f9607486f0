import { Module } from '@nestjs/common';
import { CallbackAuthGuard } from './callback-auth.guard';
import { CallbackIntakeService } from './callback-intake.service';
import { EsignAnywhereCallbackController } from './esignanywhere-callback.controller';
import { NotedEventWriter } from './noted-event.writer';

@Module({
  controllers: [EsignAnywhereCallbackController],
  providers: [CallbackAuthGuard, CallbackIntakeService, NotedEventWriter],
})
export class IntakeModule {}
