import {
  Catch,
  ConflictException,
  NotFoundException,
  type ArgumentsHost,
  type ExceptionFilter,
  type HttpException,
} from '@nestjs/common';
import { AllExceptionsFilter } from '../common/all-exceptions.filter';
import { AdminError, type AdminErrorCode } from './admin-error';

const TO_HTTP: Record<AdminErrorCode, (message: string) => HttpException> = {
  NOT_FOUND: (message) => new NotFoundException(message),
  CONFLICT: (message) => new ConflictException(message),
};

/**
 * Maps the admin services' typed errors to HTTP statuses, then lets the application's one
 * exception filter write the answer, so every error body has the same shape.
 */
@Catch(AdminError)
export class AdminErrorFilter implements ExceptionFilter<AdminError> {
  private readonly render = new AllExceptionsFilter();

  catch(error: AdminError, host: ArgumentsHost): void {
    this.render.catch(TO_HTTP[error.code](error.message), host);
  }
}
