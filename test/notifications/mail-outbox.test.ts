import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import type { DataSource } from 'typeorm';
import { loadConfig, type AppConfig } from '../../src/config/app-config';
import {
  MailOutboxService,
  type EnqueueMail,
  type MailOutboxOptions,
} from '../../src/notifications/mail-outbox.service';
import { SmtpMailTransport } from '../../src/notifications/smtp-mail-transport';
import { createMigratedDataSource } from '../support/database';
import { startTestSmtp, type TestSmtp } from '../support/smtp';

const OPS = 'ops@example.test';
const FAST_RETRIES: Partial<MailOutboxOptions> = {
  retryBaseMs: 40,
  retryMaxMs: 200,
  leaseMs: 30_000,
  maxAttempts: 3,
};

interface MailRow {
  id: string;
  kind: string;
  state: string;
  attempts: number;
  lastError: string | null;
  sentAt: Date | null;
  nextAttemptAt: Date;
}

function failureMail(n: number, overrides: Partial<EnqueueMail> = {}): EnqueueMail {
  const transferId = randomUUID();
  return {
    kind: 'transfer_failed',
    dedupeKey: `${transferId}:3:transfer_failed`,
    transferId,
    recipients: [OPS],
    subject: `Archive failed: envelope env-${n} (attempts_exhausted)`,
    body: `A signed envelope could not be archived and needs a person.\n\nEnvelope:   env-${n}\nTransfer:   ${transferId}`,
    ...overrides,
  };
}

describe('MailOutboxService with a real SMTP server and PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof createMigratedDataSource>>;
  let dataSource: DataSource;
  let smtp: TestSmtp;
  let config: AppConfig;
  const transports: SmtpMailTransport[] = [];
  const refused = new Map<string, number>();

  const outbox = (options: Partial<MailOutboxOptions> = {}): MailOutboxService => {
    const transport = new SmtpMailTransport({
      url: smtp.url,
      from: config.mail.MAIL_FROM,
      connectionTimeoutMs: 2_000,
    });
    transports.push(transport);
    return new MailOutboxService(dataSource, transport, config.mail, { ...FAST_RETRIES, ...options });
  };

  const rows = (): Promise<MailRow[]> =>
    dataSource.query(
      `SELECT id, kind, state, attempts, last_error AS "lastError", sent_at AS "sentAt", next_attempt_at AS "nextAttemptAt"
         FROM outbound_mail ORDER BY id`,
    );

  /** Runs delivery passes until `done` holds, as the scheduled job would. */
  const deliverUntil = async (
    service: MailOutboxService,
    done: () => Promise<boolean>,
    timeoutMs = 5_000,
  ) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await done())) {
      if (Date.now() > deadline) assert.fail('delivery did not reach the expected state in time');
      await service.deliverDue();
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };

  before(async () => {
    db = await createMigratedDataSource();
    dataSource = db.dataSource;
    smtp = await startTestSmtp({
      rejectRecipient: (address) => {
        const code = refused.get(address);
        return code === undefined ? undefined : { code, message: `mailbox ${address} refused` };
      },
    });
    config = loadConfig({
      NODE_ENV: 'test',
      CALLBACK_AUTH: 'none',
      SMTP_URL: smtp.url,
      MAIL_FROM: 'archiver@example.test',
      MAIL_DIGEST_THRESHOLD: '3',
    });
  });
  beforeEach(async () => {
    await dataSource.query('DELETE FROM outbound_mail');
    smtp.messages.length = 0;
    refused.clear();
  });
  afterEach(() => {
    for (const transport of transports.splice(0)) transport.onApplicationShutdown();
  });
  after(async () => {
    await smtp?.close();
    await db?.close();
  });

  test('enqueueing one dedupe key twice sends one mail, with subject, body and sender intact', async () => {
    const service = outbox();
    const mail = failureMail(1, {
      subject: 'Archiv fehlgeschlagen: Umschlag „Müller“',
      body: 'Zeile 1\nÜberprüfen Sie die Übertragung.',
    });
    assert.equal(await service.enqueue(mail), 'queued');
    assert.equal(await service.enqueue({ ...mail, subject: 'a second version' }), 'duplicate');

    const report = await service.deliverDue();
    assert.deepEqual(report, { claimed: 1, sent: 1, digests: 0, retrying: 0, failed: 0 });
    const [received] = await smtp.waitFor(1);
    assert.equal(received.subject, 'Archiv fehlgeschlagen: Umschlag „Müller“');
    assert.equal(received.text, 'Zeile 1\nÜberprüfen Sie die Übertragung.');
    assert.deepEqual(received.envelopeTo, [OPS]);
    assert.equal(received.envelopeFrom, 'archiver@example.test');

    assert.deepEqual(await service.deliverDue(), { claimed: 0, sent: 0, digests: 0, retrying: 0, failed: 0 });
    assert.equal(smtp.messages.length, 1);
    const [row] = await rows();
    assert.equal(row.state, 'sent');
    assert.equal(row.attempts, 1);
    assert.ok(row.sentAt instanceof Date);
  });

  test('a mail enqueued in a transaction that rolls back is never sent', async () => {
    const service = outbox();
    await assert.rejects(
      dataSource.transaction(async (manager) => {
        assert.equal(await service.enqueue(failureMail(2), manager), 'queued');
        throw new Error('the state change failed');
      }),
      /the state change failed/,
    );
    await dataSource.transaction(async (manager) => {
      await service.enqueue(failureMail(3), manager);
    });
    assert.equal((await service.deliverDue()).sent, 1);
    const [received] = await smtp.waitFor(1);
    assert.match(received.subject, /env-3/);
  });

  test('with SMTP down mails are kept with the error and arrive once the server is back', async () => {
    const service = outbox();
    await service.enqueue(failureMail(4, { kind: 'token_rejected' }));
    await service.enqueue(failureMail(5, { kind: 'token_rejected' }));
    await smtp.down();
    try {
      const report = await service.deliverDue();
      assert.deepEqual(report, { claimed: 2, sent: 0, digests: 0, retrying: 2, failed: 0 });
      const [first, second] = await rows();
      assert.equal(first.state, 'pending');
      assert.equal(first.attempts, 1);
      assert.match(first.lastError ?? '', /^UNAVAILABLE: /);
      // Once the server is known to be down the rest of the pass is not even tried.
      assert.equal(second.attempts, 0);
      assert.match(second.lastError ?? '', /^not attempted: UNAVAILABLE/);
      assert.ok(first.nextAttemptAt.getTime() > Date.now() - 1_000);
    } finally {
      await smtp.up();
    }
    await deliverUntil(service, async () => (await rows()).every((r) => r.state === 'sent'));
    const received = await smtp.waitFor(2);
    assert.deepEqual(received.map((m) => m.subject).sort(), [failureMail(4).subject, failureMail(5).subject]);
  });

  test('more failures than the threshold due at once go to ops as one digest', async () => {
    const service = outbox();
    const failures = [10, 11, 12, 13, 14].map((n) => failureMail(n));
    for (const mail of failures) await service.enqueue(mail);
    await service.enqueue(failureMail(15, { kind: 'token_rejected', recipients: ['sender@example.test'] }));

    const report = await service.deliverDue();
    assert.deepEqual(report, { claimed: 6, sent: 6, digests: 1, retrying: 0, failed: 0 });
    const received = await smtp.waitFor(2);
    assert.equal(received.length, 2);
    const digest = received.find((m) => m.envelopeTo.includes(OPS));
    assert.ok(digest);
    assert.equal(digest.subject, '5 envelopes could not be archived and need a person');
    for (const mail of failures) {
      assert.ok(digest.text.includes(mail.subject), `digest lists ${mail.subject}`);
      assert.ok(digest.text.includes(`Transfer: ${mail.transferId}`));
    }
    assert.deepEqual(received.find((m) => m !== digest)?.envelopeTo, ['sender@example.test']);
    assert.ok((await rows()).every((r) => r.state === 'sent' && r.sentAt !== null));
  });

  test('failures up to the threshold still go out one by one', async () => {
    const service = outbox();
    for (const n of [20, 21, 22]) await service.enqueue(failureMail(n));
    assert.equal((await service.deliverDue()).digests, 0);
    assert.equal((await smtp.waitFor(3)).length, 3);
  });

  test('a mail refused for good fails at once, one refused for now is retried until attempts run out', async () => {
    const service = outbox();
    refused.set('gone@example.test', 550);
    refused.set('busy@example.test', 451);
    await service.enqueue(failureMail(30, { kind: 'token_rejected', recipients: ['gone@example.test'] }));
    await service.enqueue(failureMail(31, { kind: 'token_rejected', recipients: ['busy@example.test'] }));
    await service.enqueue(failureMail(32, { kind: 'token_rejected', recipients: ['fine@example.test'] }));

    const report = await service.deliverDue();
    assert.deepEqual(report, { claimed: 3, sent: 1, digests: 0, retrying: 1, failed: 1 });
    const [gone, busy, fine] = await rows();
    assert.equal(gone.state, 'failed');
    assert.match(gone.lastError ?? '', /^REJECTED: .*550/);
    assert.equal(busy.state, 'pending');
    assert.match(busy.lastError ?? '', /^TRANSIENT: .*451/);
    assert.equal(fine.state, 'sent');

    await deliverUntil(service, async () => (await rows())[1].state === 'failed');
    const [, exhausted] = await rows();
    assert.equal(exhausted.attempts, FAST_RETRIES.maxAttempts);
    assert.deepEqual(
      smtp.messages.map((m) => m.envelopeTo),
      [['fine@example.test']],
    );
  });

  test('enqueue drops unusable addresses and stores nothing without a recipient', async () => {
    const service = outbox();
    assert.equal(
      await service.enqueue(failureMail(40, { recipients: ['', 'not an address', 'x@y\r\nBcc: z@w'] })),
      'no_recipients',
    );
    assert.equal(
      await service.enqueue(
        failureMail(41, { recipients: [' ops@example.test ', 'OPS@example.test', 'junk'] }),
      ),
      'queued',
    );
    assert.equal((await rows()).length, 1);
    const [recipients] = await dataSource.query<{ recipients: string[] }[]>(
      `SELECT recipients FROM outbound_mail`,
    );
    assert.deepEqual(recipients.recipients, ['ops@example.test']);
  });

  test('two delivery workers running at once send every mail exactly once', async () => {
    const first = outbox();
    const second = outbox();
    for (let n = 0; n < 20; n++) await first.enqueue(failureMail(100 + n, { kind: 'token_rejected' }));
    const reports = await Promise.all([
      first.deliverDue(),
      second.deliverDue(),
      first.deliverDue(),
      second.deliverDue(),
    ]);
    assert.equal(
      reports.reduce((sum, r) => sum + r.sent, 0),
      20,
    );
    const received = await smtp.waitFor(20);
    assert.equal(new Set(received.map((m) => m.subject)).size, 20);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(smtp.messages.length, 20);
  });
});
