import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import { createTransport } from 'nodemailer';
import { MailError } from './mail-error';
import type { MailTransport, OutgoingMail, SentMail } from './mail-transport';
import { mailErrorFromNodemailer } from './smtp-mail-transport';

/**
 * Development stand-in for SMTP: each mail is rendered by nodemailer into an .eml file (opens in
 * any mail client) under `dir`, and one line about it goes to the log.
 */
export class FileMailTransport implements MailTransport {
  private readonly logger = new Logger(FileMailTransport.name);
  private readonly composer;
  readonly directory: string;

  constructor(dir: string, from: string) {
    this.directory = resolve(dir);
    this.composer = createTransport({ streamTransport: true, buffer: true, newline: 'unix' }, { from });
  }

  async send(mail: OutgoingMail): Promise<SentMail> {
    let info;
    try {
      info = await this.composer.sendMail({
        to: [...mail.to],
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
      });
    } catch (error) {
      throw mailErrorFromNodemailer(error, `composing "${mail.subject}"`);
    }
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const file = join(this.directory, `${stamp}-${randomBytes(4).toString('hex')}.eml`);
    try {
      await mkdir(this.directory, { recursive: true });
      // Written under a temporary name and renamed, so a reader never sees half a mail.
      await writeFile(`${file}.tmp`, info.message as Buffer);
      await rename(`${file}.tmp`, file);
    } catch (error) {
      throw new MailError(`writing mail to ${file} failed: ${(error as Error).message}`, 'UNAVAILABLE', {
        cause: error,
      });
    }
    this.logger.log(`mail "${mail.subject}" to ${mail.to.join(', ')} written to ${file}`);
    return { messageId: info.messageId, rejected: [] };
  }

  async ping(): Promise<void> {
    try {
      await mkdir(this.directory, { recursive: true });
      await access(this.directory, constants.W_OK);
    } catch (error) {
      throw new MailError(`mail directory ${this.directory} is not writable`, 'CONFIG', { cause: error });
    }
  }
}
