import { Module } from '@nestjs/common';
import { CallbackIntakeService } from './callback-intake.service';
import { IntakeErrorFilter } from './intake-error.filter';
import { TransferStateModule } from '../transfers/transfer-state.module';
import { NotedEventWriter } from './noted-event.writer';

/**
 * The platform-neutral note-down of callbacks. Each platform's callback controller (in its own
 * folder) authenticates and parses, then hands the callback to `CallbackIntakeService`.
 */
@Module({
  imports: [TransferStateModule],
  providers: [CallbackIntakeService, NotedEventWriter, IntakeErrorFilter],
  exports: [CallbackIntakeService, IntakeErrorFilter],
})
export class IntakeModule {}
