import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { describeErrorChain, isDatabaseUnavailable } from './database-errors';

/**
 * The one place where errors become HTTP answers. Clients get a status and a short message,
 * never a stack trace; an unavailable database is a 503 so callers retry.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      const message =
        typeof body === 'string' ? body : ((body as { message?: unknown }).message ?? exception.message);
      void reply.status(status).send({ statusCode: status, error: STATUS_CODES[status] ?? 'Error', message });
      return;
    }
    const statusCode = (exception as { statusCode?: unknown }).statusCode;
    if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
      // Errors raised by Fastify itself (body too large, bad content) carry their own 4xx status.
      void reply.status(statusCode).send({
        statusCode,
        error: STATUS_CODES[statusCode] ?? 'Error',
        message: statusCode === 413 ? 'request body too large' : 'bad request',
      });
      return;
    }
    if (isDatabaseUnavailable(exception)) {
      this.logger.warn(`database unavailable: ${describeErrorChain(exception)}`);
      void reply
        .status(503)
        .header('Retry-After', '30')
        .send({ statusCode: 503, error: 'Service Unavailable', message: 'storage unavailable, retry later' });
      return;
    }
    this.logger.error(
      exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
    );
    void reply
      .status(500)
      .send({ statusCode: 500, error: 'Internal Server Error', message: 'internal error' });
  }
}
