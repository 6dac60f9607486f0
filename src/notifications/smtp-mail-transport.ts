import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { createTransport, type SMTPPoolOptions } from 'nodemailer';
import { MailError } from './mail-error';
import type { MailTransport, OutgoingMail, SentMail } from './mail-transport';

export interface SmtpMailTransportOptions {
  /** smtp://user:pass@host:587 (STARTTLS when offered) or smtps://host:465; nodemailer URL options apply. */
  url: string;
  from: string;
  /** Defaults keep a dead or black-holed server from holding a delivery pass for minutes. */
  connectionTimeoutMs?: number;
  greetingTimeoutMs?: number;
  socketTimeoutMs?: number;
  maxConnections?: number;
}

/** The SMTP URL without credentials, for logs. */
export function describeSmtpUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}`;
}

/** Sends mail through an SMTP server with nodemailer's connection pool. */
export class SmtpMailTransport implements MailTransport, OnApplicationShutdown {
  private readonly logger = new Logger(SmtpMailTransport.name);
  private readonly transporter;

  constructor(options: SmtpMailTransportOptions) {
    const pool: SMTPPoolOptions & { pool: true } = {
      pool: true,
      url: options.url,
      maxConnections: options.maxConnections ?? 2,
      maxMessages: 100,
      connectionTimeout: options.connectionTimeoutMs ?? 10_000,
      greetingTimeout: options.greetingTimeoutMs ?? 10_000,
      socketTimeout: options.socketTimeoutMs ?? 30_000,
      dnsTimeout: 10_000,
    };
    this.transporter = createTransport(pool, { from: options.from });
  }

  async send(mail: OutgoingMail): Promise<SentMail> {
    try {
      const info = await this.transporter.sendMail({
        to: [...mail.to],
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
      });
      const rejected = info.rejected.map(String);
      if (rejected.length > 0) {
        this.logger.warn(`mail "${mail.subject}" was refused for ${rejected.join(', ')}`);
      }
      return { messageId: info.messageId, rejected };
    } catch (error) {
      throw mailErrorFromNodemailer(error, `sending "${mail.subject}"`);
    }
  }

  async ping(): Promise<void> {
    try {
      await this.transporter.verify();
    } catch (error) {
      throw mailErrorFromNodemailer(error, 'checking the SMTP server');
    }
  }

  onApplicationShutdown(): void {
    this.transporter.close();
  }
}

const CONFIG_CODES = new Set(['EAUTH', 'ENOAUTH', 'EOAUTH2', 'ETLS', 'EREQUIRETLS', 'ECONFIG']);
const UNAVAILABLE_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'EPROXY',
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

interface NodemailerErrorShape {
  code?: string;
  responseCode?: number;
  permanent?: boolean;
  command?: string;
  message?: string;
}

/** Translates a nodemailer error into a `MailError`, keeping it as the cause. */
export function mailErrorFromNodemailer(error: unknown, action: string): MailError {
  const e = (typeof error === 'object' && error !== null ? error : {}) as NodemailerErrorShape;
  const detail = [e.code, e.responseCode].filter((part) => part !== undefined).join(' ');
  const message = `${action} failed${detail ? ` (${detail})` : ''}: ${e.message ?? String(error)}`;
  const make = (code: MailError['code']) => new MailError(message, code, { cause: error });

  if (e.code !== undefined && CONFIG_CODES.has(e.code)) return make('CONFIG');
  if (e.responseCode !== undefined) {
    // 421: the server is closing the session, whatever the message.
    if (e.responseCode === 421) return make('UNAVAILABLE');
    const permanent = e.permanent ?? (e.responseCode >= 500 && e.responseCode !== 503);
    // The sender address refused for good is MAIL_FROM's fault, not this message's.
    if (permanent && e.command?.startsWith('MAIL FROM')) return make('CONFIG');
    return make(permanent ? 'REJECTED' : 'TRANSIENT');
  }
  if (e.code !== undefined && UNAVAILABLE_CODES.has(e.code)) return make('UNAVAILABLE');
  // Nodemailer's own checks (no recipient, malformed address) fail before talking to the server.
  if (e.code === 'EENVELOPE') return make('REJECTED');
  return make('TRANSIENT');
}
