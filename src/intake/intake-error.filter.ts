import {
  BadRequestException,
  Catch,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
  type HttpException,
} from '@nestjs/common';
import { AllExceptionsFilter } from '../common/all-exceptions.filter';
import { describeErrorChain } from '../common/database-errors';
import { IntakeError, type IntakeErrorCode } from './intake-error';

const TO_HTTP: Record<IntakeErrorCode, (message: string) => HttpException> = {
  INVALID_NOTE: (message) => new BadRequestException(message),
};

/**
 * Maps the intake's typed errors to HTTP statuses, logs their cause (the client only sees the
 * message), then lets the application's one exception filter write the answer.
 */
@Catch(IntakeError)
export class IntakeErrorFilter implements ExceptionFilter<IntakeError> {
  private readonly logger = new Logger('HTTP');
  private readonly render = new AllExceptionsFilter();

  catch(error: IntakeError, host: ArgumentsHost): void {
    this.logger.warn(`callback refused: ${describeErrorChain(error)}`);
    this.render.catch(TO_HTTP[error.code](error.message), host);
  }
}
