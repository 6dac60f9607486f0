import { AppError } from '../common/app-error';
export const MAIL_ERROR_CODES = [
  /** The mail server could not be reached or dropped the connection: nothing can be sent now. */
  'UNAVAILABLE',
  /** Login, TLS or sender address refused: nothing can be sent until an operator acts. */
  'CONFIG',
  /** The server refused this message for now (4xx): the same message may go through later. */
  'TRANSIENT',
  /** The server refused this message for good (5xx): sending it again gets the same answer. */
  'REJECTED',
] as const;

export type MailErrorCode = (typeof MAIL_ERROR_CODES)[number];

/** The one error type mail transports throw. The transport's own error is kept as `cause`. */
export class MailError extends AppError<MailErrorCode> {
  constructor(message: string, code: MailErrorCode, options?: { cause?: unknown }) {
    super(message, code, options);
  }

  /** True when the failure is about the server, not this message: other mails would fail too. */
  get affectsAllMail(): boolean {
    return this.code === 'UNAVAILABLE' || this.code === 'CONFIG';
  }
}
