import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { MailConfig, ServiceConfig } from '../config/app-config';
import { mailConfig, serviceConfig } from '../config/config.schema';
import type { PlatformDisplay } from '../platforms/signing-platform';
import { MailOutboxService } from './mail-outbox.service';

/** A transfer the pipeline is reporting on, in the words mail needs. */
export interface NoticeSubject {
  transferId: string;
  envelopeId: string;
  /** The platform instance's name and how people call it. */
  platform: { name: string; display: PlatformDisplay };
  senderEmail: string | null;
  attempts: number;
  /** Each state change mails at most once (the outbox de-duplicates on it). */
  stateVersion: number;
}

/** The sender whose access was refused, when one is known. */
export interface NoticeSender {
  platformUserId: string;
  email: string | null;
}

/**
 * The mail the archive pipeline causes: the pipeline says what happened, this says it to people,
 * with the links that let them act. Mail is queued in the caller's transaction, with its state change.
 */
@Injectable()
export class TransferNotices {
  constructor(
    private readonly outbox: MailOutboxService,
    @Inject(mailConfig.KEY) private readonly mail: MailConfig,
    @Inject(serviceConfig.KEY) private readonly service: ServiceConfig,
  ) {}

  /** The transfer failed for good and needs a person (ops). */
  async transferFailed(
    subject: NoticeSubject,
    failure: { cause: string; errorClass: string; message: string },
    manager: EntityManager,
  ): Promise<void> {
    if (this.mail.ALERT_TO.length === 0) return;
    const where =
      this.publicLink(`/admin#transfer=${subject.transferId}`) ??
      `GET /admin/transfers/${subject.transferId}`;
    await this.outbox.enqueue(
      {
        kind: 'transfer_failed',
        dedupeKey: `${subject.transferId}:${subject.stateVersion}:transfer_failed`,
        transferId: subject.transferId,
        recipients: [...this.mail.ALERT_TO],
        subject: `Archive failed: envelope ${subject.envelopeId} (${failure.cause})`,
        body: [
          `A signed envelope could not be archived and needs a person.`,
          ``,
          `Envelope:   ${subject.envelopeId} (${subject.platform.name})`,
          `Sender:     ${subject.senderEmail ?? 'unknown'}`,
          `Cause:      ${failure.cause}`,
          `Last error: ${failure.errorClass}: ${failure.message}`,
          `Attempts:   ${subject.attempts}`,
          `Transfer:   ${subject.transferId}`,
          `Where:      ${where}`,
          ``,
          `The envelope was not deleted on the platform. Retry or dismiss it in the admin page.`,
        ].join('\n'),
      },
      manager,
    );
  }

  /**
   * The platform refused the API access used for the transfer: the sender (and ops) are asked to grant
   * it again, or, where no sender is known, to replace the fallback token.
   */
  async accessRefused(
    subject: NoticeSubject,
    sender: NoticeSender | null,
    fallbackTokenSetting: string | undefined,
    manager: EntityManager,
  ): Promise<void> {
    const recipients = [
      ...new Set(
        [sender?.email ?? subject.senderEmail, ...this.mail.ALERT_TO].filter((r): r is string => !!r),
      ),
    ];
    if (recipients.length === 0) return;
    const display = subject.platform.display;
    const path = sender && display.consentPath?.(sender.platformUserId);
    const link = path ? this.publicLink(path) : undefined;
    const envelopeId = subject.envelopeId;
    await this.outbox.enqueue(
      {
        kind: 'token_rejected',
        dedupeKey: `${subject.transferId}:${subject.stateVersion}:token_rejected`,
        transferId: subject.transferId,
        recipients,
        subject: `Action needed: grant API access again to archive envelope ${envelopeId}`,
        body: [
          `${display.name} refused the API access used to archive envelope ${envelopeId}.`,
          `The envelope is kept on the platform and its archiving is paused until access is granted again.`,
          ``,
          link
            ? `Grant access again here: ${link}`
            : sender
              ? `Ask the operator for the consent link of sender ${sender.platformUserId}.`
              : `No sender is known for this envelope: the configured ${fallbackTokenSetting ?? 'API credential'} was refused and must be replaced.`,
          ``,
          `Transfer: ${subject.transferId}`,
        ].join('\n'),
      },
      manager,
    );
  }

  /**
   * Reconciliation found finished envelopes no callback announced, while no callback has come from the
   * platform instance for longer than the alert threshold: its callbacks look broken. One mail per
   * silence (keyed by the last callback seen).
   */
  async callbacksSilent(report: {
    platform: { name: string; display: PlatformDisplay };
    lastCallbackAt: Date | null;
    foundWithoutCallback: number;
    oldestEnvelopeId: string;
  }): Promise<void> {
    if (this.mail.ALERT_TO.length === 0) return;
    const { platform, lastCallbackAt } = report;
    await this.outbox.enqueue({
      kind: 'callbacks_silent',
      dedupeKey: `callbacks_silent:${platform.name}:${lastCallbackAt?.toISOString() ?? 'never'}`,
      transferId: null,
      recipients: [...this.mail.ALERT_TO],
      subject: `${platform.display.name} callbacks look broken (${platform.name})`,
      body: [
        `Reconciliation found ${report.foundWithoutCallback} finished envelope(s) on ${platform.display.name} (${platform.name}) that no callback announced,`,
        lastCallbackAt
          ? `and the last callback from it arrived at ${lastCallbackAt.toISOString()}.`
          : `and no callback from it has ever arrived.`,
        ``,
        `Oldest such envelope: ${report.oldestEnvelopeId}`,
        ``,
        `The envelopes are being archived all the same, but only as often as reconciliation runs.`,
        `Check the callback URL(s) configured on the platform, their authentication, and the way in.`,
        ...(this.publicLink('/admin') ? [``, `Admin page: ${this.publicLink('/admin')}`] : []),
      ].join('\n'),
    });
  }

  private publicLink(path: string): string | undefined {
    const base = this.service.PUBLIC_BASE_URL;
    return base ? `${base.replace(/\/$/, '')}${path}` : undefined;
  }
}
