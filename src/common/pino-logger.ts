import type { LoggerService } from '@nestjs/common';
import pino, { type Logger } from 'pino';

/** Field paths whose values never reach the log. */
export const REDACTED_PATHS = [
  'token',
  'apiToken',
  'accessToken',
  'password',
  'secret',
  'authorization',
  '*.token',
  '*.apiToken',
  '*.accessToken',
  '*.password',
  '*.secret',
  '*.authorization',
  'headers.authorization',
  'headers.apitoken',
  'req.headers.authorization',
  'req.headers.apitoken',
];

export function createRootLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'esign-archiver' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/**
 * Nest's logger interface on top of pino: one JSON line per entry. An object passed as the
 * message (e.g. `{ msg, transferId, envelopeId }`) becomes fields of that line.
 */
export class PinoLoggerService implements LoggerService {
  constructor(private readonly root: Logger) {}

  private write(
    level: 'info' | 'error' | 'warn' | 'debug' | 'trace' | 'fatal',
    message: unknown,
    rest: unknown[],
  ) {
    // Nest passes the context (class name) as the last string argument, and a stack before it for errors.
    const params = [...rest];
    const context = typeof params[params.length - 1] === 'string' ? (params.pop() as string) : undefined;
    const stack = level === 'error' && typeof params[0] === 'string' ? (params.shift() as string) : undefined;
    const fields: Record<string, unknown> = { context };
    if (stack) fields.stack = stack;
    if (message instanceof Error) {
      this.root[level]({ ...fields, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      const { msg, ...others } = message as Record<string, unknown>;
      this.root[level]({ ...fields, ...others }, typeof msg === 'string' ? msg : '');
    } else {
      this.root[level](fields, String(message));
    }
  }

  log(message: unknown, ...rest: unknown[]) {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]) {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]) {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]) {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]) {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]) {
    this.write('fatal', message, rest);
  }
}
