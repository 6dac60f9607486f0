import { join } from 'node:path';
import { Logger, Module } from '@nestjs/common';
import type { MailConfig, ServiceConfig } from '../config/app-config';
import { mailConfig, serviceConfig } from '../config/config.schema';
import { FileMailTransport } from './file-mail-transport';
import { TransferNotices } from './transfer-notices';
import { MailOutboxService } from './mail-outbox.service';
import { MAIL_TRANSPORT, type MailTransport } from './mail-transport';
import { describeSmtpUrl, SmtpMailTransport } from './smtp-mail-transport';

/** SMTP when SMTP_URL is set; otherwise .eml files under <DATA_DIR>/mail and a log line per mail. */
export function createMailTransport(
  config: MailConfig,
  service: Pick<ServiceConfig, 'DATA_DIR'>,
): MailTransport {
  const logger = new Logger('NotificationsModule');
  if (config.SMTP_URL !== undefined) {
    logger.log(`mail goes through ${describeSmtpUrl(config.SMTP_URL)} from ${config.MAIL_FROM}`);
    return new SmtpMailTransport({ url: config.SMTP_URL, from: config.MAIL_FROM });
  }
  const transport = new FileMailTransport(join(service.DATA_DIR, 'mail'), config.MAIL_FROM);
  logger.warn(`SMTP_URL is not set: mail is not sent, it is written to ${transport.directory} and logged`);
  return transport;
}

/**
 * Provides MAIL_TRANSPORT and MailOutboxService. Needs the TypeORM `DataSource` from a global
 * database module and the configuration.
 */
@Module({
  providers: [
    { provide: MAIL_TRANSPORT, inject: [mailConfig.KEY, serviceConfig.KEY], useFactory: createMailTransport },
    MailOutboxService,
    TransferNotices,
  ],
  exports: [MAIL_TRANSPORT, MailOutboxService, TransferNotices],
})
export class NotificationsModule {}
