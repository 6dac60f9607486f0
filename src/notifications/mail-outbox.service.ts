import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { DataSource, type EntityManager } from 'typeorm';
import type { MailConfig } from '../config/app-config';
import { mailConfig } from '../config/config.schema';
import { MailError } from './mail-error';
import { MAIL_TRANSPORT, type MailTransport, type OutgoingMail, type SentMail } from './mail-transport';

/** DI token for optional `Partial<MailOutboxOptions>` overrides. */
export const MAIL_OUTBOX_OPTIONS = Symbol('MAIL_OUTBOX_OPTIONS');

export interface MailOutboxOptions {
  /** Attempts before a mail is marked failed. */
  maxAttempts: number;
  /** Delay after the first failed attempt; doubles with each further one, up to `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long a claimed mail stays reserved for this process; longer than any send can take. */
  leaseMs: number;
  /** More due mails of a digest kind than this, for the same recipients, go out as one digest. */
  digestThreshold: number;
  /** The most mails one digest lists. */
  maxDigestItems: number;
}

export interface EnqueueMail {
  /** What the mail is about, e.g. `transfer_failed`; `[a-z][a-z0-9_]*`. */
  kind: string;
  /** At most one mail per key ever, e.g. `<transferId>:<stateVersion>:<kind>`. */
  dedupeKey: string;
  transferId?: string | null;
  recipients: readonly string[];
  subject: string;
  body: string;
}

/** `no_recipients`: no usable address was given, so nothing was stored (and a warning logged). */
export type EnqueueResult = 'queued' | 'duplicate' | 'no_recipients';

export interface DeliveryReport {
  /** Mails taken from the outbox in this pass. */
  claimed: number;
  /** Mails delivered, those within digests included. */
  sent: number;
  digests: number;
  /** Mails left pending for a later pass. */
  retrying: number;
  /** Mails given up on (refused for good, or out of attempts). */
  failed: number;
}

/**
 * Kinds that are collected into one digest when many are due at once, with the digest's subject.
 * Mass failures (S3 down for an hour) would otherwise send ops one mail per envelope.
 */
const DIGEST_KINDS: Readonly<Record<string, (count: number) => string>> = {
  transfer_failed: (count) => `${count} envelopes could not be archived and need a person`,
};

const MAX_SUBJECT_CHARS = 250;
const MAX_BODY_CHARS = 100_000;
const MAX_DIGEST_ENTRY_CHARS = 2_000;
const MAX_ERROR_CHARS = 2_000;
const KIND = /^[a-z][a-z0-9_]{0,63}$/;
// Deliberately loose: the SMTP server is the authority; this only keeps out what cannot be an address.
const ADDRESS = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+$/;

interface ClaimedMail {
  id: string;
  kind: string;
  transferId: string | null;
  recipients: string[];
  subject: string;
  body: string;
  attempts: number;
  createdAt: Date;
  /** The reservation this process holds; every later write checks it (fencing). */
  lease: Date;
}

type Delivery = { digest: boolean; rows: ClaimedMail[]; mail: OutgoingMail };

/**
 * A durable outbox over `outbound_mail`: mails are written in the caller's transaction and sent
 * later by `deliverDue`, retried with backoff, and never lost to a mail server that is down.
 */
@Injectable()
export class MailOutboxService {
  private readonly logger = new Logger(MailOutboxService.name);
  private readonly options: MailOutboxOptions;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(MAIL_TRANSPORT) private readonly transport: MailTransport,
    @Inject(mailConfig.KEY) config: MailConfig,
    @Optional() @Inject(MAIL_OUTBOX_OPTIONS) options?: Partial<MailOutboxOptions>,
    @Optional() @Inject(PinoLogger) private readonly logContext?: PinoLogger,
  ) {
    this.options = {
      maxAttempts: 8,
      retryBaseMs: 60_000,
      retryMaxMs: 3_600_000,
      leaseMs: 300_000,
      digestThreshold: config.MAIL_DIGEST_THRESHOLD,
      maxDigestItems: 500,
      ...options,
    };
  }

  /**
   * Stores a mail for delivery, at most once per `dedupeKey`. Pass the caller's EntityManager to
   * make the mail part of its transaction: it exists exactly when the state change it reports does.
   */
  async enqueue(mail: EnqueueMail, manager?: EntityManager): Promise<EnqueueResult> {
    if (!KIND.test(mail.kind)) {
      throw new TypeError(`mail kind ${JSON.stringify(mail.kind)} is not [a-z][a-z0-9_]*`);
    }
    if (mail.dedupeKey.length === 0 || mail.dedupeKey.length > 500) {
      throw new TypeError('a mail needs a dedupe key of 1-500 characters');
    }
    const recipients = cleanRecipients(mail.recipients);
    const dropped = mail.recipients.length - recipients.length;
    if (recipients.length === 0) {
      this.logger.warn(`mail ${mail.dedupeKey} (${mail.kind}) has no usable recipient and is not queued`);
      return 'no_recipients';
    }
    if (dropped > 0) this.logger.warn(`mail ${mail.dedupeKey}: ${dropped} unusable recipient(s) left out`);
    const rows: { id: string }[] = await (manager ?? this.dataSource.manager).query(
      `INSERT INTO outbound_mail (kind, dedupe_key, transfer_id, recipients, subject, body)
       VALUES ($1, $2, $3, $4::text[], $5, $6)
       ON CONFLICT (dedupe_key) DO NOTHING
       RETURNING id`,
      [
        mail.kind,
        mail.dedupeKey,
        mail.transferId ?? null,
        recipients,
        cleanSubject(mail.subject),
        cutBody(mail.body),
      ],
    );
    return rows.length === 1 ? 'queued' : 'duplicate';
  }

  /**
   * Sends the mails that are due, up to `limit` of them (digest kinds are claimed separately, up to
   * `maxDigestItems`, so a storm becomes one digest). Claims use `FOR UPDATE SKIP LOCKED` and a
   * lease, so several processes can deliver at once and a crashed one's mails come back after the
   * lease. A mail that cannot be sent is recorded and retried, never thrown; only a failing
   * database makes this throw.
   */
  async deliverDue(limit = 50): Promise<DeliveryReport> {
    const digestKinds = Object.keys(DIGEST_KINDS);
    const claimed = [
      ...(await this.claim(this.options.maxDigestItems, digestKinds, true)),
      ...(await this.claim(limit, digestKinds, false)),
    ];
    const report: DeliveryReport = { claimed: claimed.length, sent: 0, digests: 0, retrying: 0, failed: 0 };
    let outage: MailError | undefined;
    for (const delivery of this.plan(claimed)) {
      outage = await this.inLogContext(delivery, () => this.deliver(delivery, outage, report));
    }
    return report;
  }

  /** Sends one delivery and records how it went; returns the outage it ran into or was given. */
  private async deliver(
    delivery: Delivery,
    outage: MailError | undefined,
    report: DeliveryReport,
  ): Promise<MailError | undefined> {
    if (outage) {
      // The server is down or refuses us: trying the rest now would only wait out timeouts.
      await this.settleFailure(delivery, outage, false, report);
      return outage;
    }
    let sent: SentMail;
    try {
      sent = await this.transport.send(delivery.mail);
    } catch (error) {
      const failure =
        error instanceof MailError
          ? error
          : new MailError(`sending failed: ${String(error)}`, 'TRANSIENT', { cause: error });
      this.logger.warn(
        `${delivery.digest ? `digest of ${delivery.rows.length} mails` : `mail ${delivery.rows[0].id}`} ` +
          `not sent: ${failure.message}`,
      );
      await this.settleFailure(delivery, failure, true, report);
      return failure.affectsAllMail ? failure : undefined;
    }
    await this.settleSent(delivery, sent, report);
    return undefined;
  }

  /** One child logger per delivery: every line logged while it is sent carries the mails' ids. */
  private inLogContext<T>(delivery: Delivery, fn: () => Promise<T>): Promise<T> {
    if (!this.logContext) return fn();
    const [first] = delivery.rows;
    const bindings = delivery.digest
      ? { mailIds: delivery.rows.map((r) => r.id), mailKind: first.kind }
      : { mailId: first.id, mailKind: first.kind, ...(first.transferId && { transferId: first.transferId }) };
    return this.logContext.runInContext(fn, { bindings });
  }

  private async claim(limit: number, kinds: string[], digestKinds: boolean): Promise<ClaimedMail[]> {
    if (limit <= 0) return [];
    const { rows } = await this.execute<ClaimedMail>(
      `UPDATE outbound_mail m
          SET next_attempt_at = date_trunc('milliseconds', now()) + $2::float8 * interval '1 millisecond'
        WHERE m.id IN (
              SELECT id FROM outbound_mail
               WHERE state = 'pending' AND next_attempt_at <= now()
                 AND ${digestKinds ? 'kind = ANY($3::text[])' : 'kind <> ALL($3::text[])'}
               ORDER BY next_attempt_at, id
               LIMIT $1
               FOR UPDATE SKIP LOCKED)
    RETURNING m.id, m.kind, m.transfer_id AS "transferId", m.recipients, m.subject, m.body, m.attempts,
              m.created_at AS "createdAt", m.next_attempt_at AS lease`,
      [limit, this.options.leaseMs, kinds],
    );
    return rows.sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)));
  }

  /** One delivery per mail, except digest kinds above the threshold: one per recipient set. */
  private plan(claimed: ClaimedMail[]): Delivery[] {
    const digests: Delivery[] = [];
    const singles: ClaimedMail[] = [];
    const groups = new Map<string, ClaimedMail[]>();
    for (const row of claimed) {
      if (!(row.kind in DIGEST_KINDS)) {
        singles.push(row);
        continue;
      }
      const group = `${row.kind}\n${[...new Set(row.recipients.map((r) => r.toLowerCase()))].sort().join(',')}`;
      groups.set(group, [...(groups.get(group) ?? []), row]);
    }
    for (const rows of groups.values()) {
      if (rows.length > this.options.digestThreshold) {
        digests.push({ digest: true, rows, mail: digestMail(rows, DIGEST_KINDS[rows[0].kind]) });
      } else {
        singles.push(...rows);
      }
    }
    singles.sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)));
    return [
      ...digests,
      ...singles.map((row) => ({
        digest: false,
        rows: [row],
        mail: { to: row.recipients, subject: row.subject, text: row.body },
      })),
    ];
  }

  private async settleSent(delivery: Delivery, sent: SentMail, report: DeliveryReport): Promise<void> {
    const { rows } = delivery;
    if (delivery.digest) {
      report.digests += 1;
      this.logger.log(`digest ${sent.messageId} sent for mails ${rows.map((r) => r.id).join(', ')}`);
    } else {
      this.logger.log(`mail ${rows[0].id} (${rows[0].kind}) sent as ${sent.messageId}`);
    }
    try {
      const { count } = await this.execute(
        `UPDATE outbound_mail m SET state = 'sent', sent_at = now(), attempts = m.attempts + 1
           FROM unnest($1::bigint[], $2::timestamptz[]) AS c(id, lease)
          WHERE m.id = c.id AND m.state = 'pending' AND m.next_attempt_at = c.lease`,
        [rows.map((r) => r.id), rows.map((r) => r.lease)],
      );
      if (count < rows.length) this.warnLeaseLost(rows, count);
    } catch (error) {
      // The mail is out; the row comes back after its lease and may be sent once more.
      this.logger.error(
        `mail ${rows.map((r) => r.id).join(', ')} sent but not marked: ${(error as Error).message}`,
      );
    }
    report.sent += rows.length;
  }

  /**
   * Records the failure: a refused-for-good mail or one out of attempts becomes `failed`, the rest
   * wait `retryBaseMs * 2^(attempts-1)` (jittered, capped). `attempted` is false for mails not even
   * tried because the server was found down: their attempt count stays.
   */
  private async settleFailure(
    delivery: Delivery,
    error: MailError,
    attempted: boolean,
    report: DeliveryReport,
  ): Promise<void> {
    const { rows } = delivery;
    const lastError = `${attempted ? '' : 'not attempted: '}${error.code}: ${error.message}`.slice(
      0,
      MAX_ERROR_CHARS,
    );
    try {
      const { rows: updated } = await this.execute<{ id: string; state: string }>(
        `UPDATE outbound_mail m
            SET attempts = m.attempts + $3::int,
                last_error = $4,
                state = CASE WHEN $5::boolean OR m.attempts + $3::int >= $6 THEN 'failed' ELSE 'pending' END,
                next_attempt_at = CASE WHEN $5::boolean OR m.attempts + $3::int >= $6 THEN m.next_attempt_at
                  ELSE now() + least($7::float8 * power(2, least(greatest(m.attempts + $3::int - 1, 0), 30)), $8::float8)
                             * $9::float8 * interval '1 millisecond' END
           FROM unnest($1::bigint[], $2::timestamptz[]) AS c(id, lease)
          WHERE m.id = c.id AND m.state = 'pending' AND m.next_attempt_at = c.lease
      RETURNING m.id, m.state`,
        [
          rows.map((r) => r.id),
          rows.map((r) => r.lease),
          attempted ? 1 : 0,
          lastError,
          attempted && error.code === 'REJECTED',
          this.options.maxAttempts,
          this.options.retryBaseMs,
          this.options.retryMaxMs,
          0.8 + Math.random() * 0.4,
        ],
      );
      if (updated.length < rows.length) this.warnLeaseLost(rows, updated.length);
      for (const row of updated) {
        if (row.state === 'failed') {
          report.failed += 1;
          const mail = rows.find((r) => r.id === row.id);
          this.logger.error(`mail ${row.id} (${mail?.kind}: "${mail?.subject}") given up: ${lastError}`);
        } else {
          report.retrying += 1;
        }
      }
    } catch (dbError) {
      // The lease runs out and the mails are tried again; nothing is lost.
      this.logger.error(
        `recording the failure of mails ${rows.map((r) => r.id).join(', ')} failed: ${(dbError as Error).message}`,
      );
      report.retrying += rows.length;
    }
  }

  private warnLeaseLost(rows: ClaimedMail[], updated: number): void {
    this.logger.warn(
      `${rows.length - updated} of mails ${rows.map((r) => r.id).join(', ')} were taken over after their lease ran out`,
    );
  }

  private async execute<T = unknown>(sql: string, params: unknown[]): Promise<{ rows: T[]; count: number }> {
    const runner = this.dataSource.createQueryRunner();
    try {
      const result = await runner.query(sql, params, true);
      return { rows: (result.records ?? []) as T[], count: result.affected ?? 0 };
    } finally {
      await runner.release();
    }
  }
}

function cleanRecipients(recipients: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of recipients) {
    const address = String(raw).trim();
    const folded = address.toLowerCase();
    if (!ADDRESS.test(address) || seen.has(folded)) continue;
    seen.add(folded);
    out.push(address);
  }
  return out;
}

function cleanSubject(subject: string): string {
  const flat = subject.replace(/[\r\n\t\f\v]+/g, ' ').trim();
  return Array.from(flat).slice(0, MAX_SUBJECT_CHARS).join('');
}

function cutBody(body: string, max = MAX_BODY_CHARS): string {
  return body.length <= max ? body : `${body.slice(0, max)}\n[... ${body.length - max} more characters cut]`;
}

function digestMail(rows: ClaimedMail[], subjectFor: (count: number) => string): OutgoingMail {
  const lines = [
    `${rows.length} mails of this kind were due at the same time; they are listed here in one mail instead.`,
    '',
  ];
  rows.forEach((row, i) => {
    lines.push(`${i + 1}. ${row.subject}`);
    if (row.transferId) lines.push(`   Transfer: ${row.transferId}`);
    lines.push(`   Queued:   ${row.createdAt.toISOString()}`, '');
    for (const line of cutBody(row.body, MAX_DIGEST_ENTRY_CHARS).split('\n'))
      lines.push(line ? `   ${line}` : '');
    lines.push('');
  });
  return { to: rows[0].recipients, subject: subjectFor(rows.length), text: lines.join('\n') };
}
