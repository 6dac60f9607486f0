/** DI token for the `MailTransport`. */
export const MAIL_TRANSPORT = Symbol('MAIL_TRANSPORT');

export interface OutgoingMail {
  to: readonly string[];
  subject: string;
  text: string;
  html?: string;
}

export interface SentMail {
  messageId: string;
  /** Recipients the server refused while accepting the mail for the others. */
  rejected: string[];
}

/** Hands mail to the outside world (an SMTP server, or files in development). Throws `MailError`. */
export interface MailTransport {
  send(mail: OutgoingMail): Promise<SentMail>;
  /** Readiness: the server answers and accepts the login. */
  ping(): Promise<void>;
}
