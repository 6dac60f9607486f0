import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Global, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { loadConfig } from '../../src/config/app-config';
import { ConfigModule } from '../../src/config/config.module';
import { FileMailTransport } from '../../src/notifications/file-mail-transport';
import { MailError } from '../../src/notifications/mail-error';
import { MailOutboxService } from '../../src/notifications/mail-outbox.service';
import { MAIL_TRANSPORT, type MailTransport } from '../../src/notifications/mail-transport';
import { NotificationsModule } from '../../src/notifications/notifications.module';
import { SmtpMailTransport } from '../../src/notifications/smtp-mail-transport';
import { createMigratedDataSource } from '../support/database';
import { startTestSmtp, type TestSmtp } from '../support/smtp';

async function mailError(promise: Promise<unknown>): Promise<MailError> {
  const error = await promise.then(
    () => assert.fail('expected the call to fail'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof MailError, `expected a MailError, got ${String(error)}`);
  return error;
}

describe('mail transports', () => {
  let dir: string;
  let smtp: TestSmtp;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'archiver-mail-'));
    smtp = await startTestSmtp();
  });
  after(async () => {
    await smtp?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('the SMTP transport delivers text and HTML to every recipient', async () => {
    const transport = new SmtpMailTransport({ url: smtp.url, from: 'Archiver <archiver@example.test>' });
    try {
      await transport.ping();
      const sent = await transport.send({
        to: ['a@example.test', 'b@example.test'],
        subject: 'Hello',
        text: 'plain body',
        html: '<p>html body</p>',
      });
      assert.ok(sent.messageId);
      const [received] = await smtp.waitFor(1);
      assert.deepEqual(received.envelopeTo, ['a@example.test', 'b@example.test']);
      assert.equal(received.from, 'Archiver <archiver@example.test>');
      assert.equal(received.text, 'plain body');
      assert.equal(received.html, '<p>html body</p>');
      assert.equal(received.messageId, `<${sent.messageId.replace(/^<|>$/g, '')}>`);
    } finally {
      transport.onApplicationShutdown();
    }
  });

  test('a closed port fails as UNAVAILABLE at once', async () => {
    const closed = await listenAndClose();
    const transport = new SmtpMailTransport({ url: `smtp://127.0.0.1:${closed}`, from: 'a@example.test' });
    try {
      const started = Date.now();
      assert.equal((await mailError(transport.ping())).code, 'UNAVAILABLE');
      assert.equal(
        (await mailError(transport.send({ to: ['x@example.test'], subject: 's', text: 't' }))).code,
        'UNAVAILABLE',
      );
      assert.ok(Date.now() - started < 2_000);
    } finally {
      transport.onApplicationShutdown();
    }
  });

  test('a server that accepts but never greets fails as UNAVAILABLE within the greeting timeout', async () => {
    const silent = await silentServer();
    const transport = new SmtpMailTransport({
      url: `smtp://127.0.0.1:${silent.port}`,
      from: 'a@example.test',
      greetingTimeoutMs: 300,
    });
    try {
      const started = Date.now();
      const error = await mailError(transport.send({ to: ['x@example.test'], subject: 's', text: 't' }));
      assert.equal(error.code, 'UNAVAILABLE');
      assert.ok(Date.now() - started < 3_000, `took ${Date.now() - started} ms`);
    } finally {
      transport.onApplicationShutdown();
      silent.close();
    }
  });

  test('the file transport writes each mail as an .eml file', async () => {
    const mailDir = join(dir, 'files');
    const transport = new FileMailTransport(mailDir, 'archiver@example.test');
    await transport.ping();
    const sent = await transport.send({ to: ['ops@example.test'], subject: 'Prüfung', text: 'Inhalt ü' });
    const files = await readdir(mailDir);
    assert.equal(files.length, 1);
    assert.match(files[0], /\.eml$/);
    const eml = await readFile(join(mailDir, files[0]), 'utf8');
    assert.match(eml, /^To: ops@example\.test$/m);
    assert.match(eml, /^From: archiver@example\.test$/m);
    assert.ok(eml.includes(sent.messageId));
  });

  describe('NotificationsModule', () => {
    let db: Awaited<ReturnType<typeof createMigratedDataSource>>;
    before(async () => {
      db = await createMigratedDataSource();
    });
    after(async () => {
      await db?.close();
    });

    const compile = (env: Record<string, string>) => {
      @Global()
      @Module({ providers: [{ provide: DataSource, useValue: db.dataSource }], exports: [DataSource] })
      class TestDatabaseModule {}
      const config = loadConfig({ NODE_ENV: 'test', CALLBACK_AUTH: 'none', ...env });
      return Test.createTestingModule({
        imports: [ConfigModule.forRoot(config), TestDatabaseModule, NotificationsModule],
      }).compile();
    };

    test('with SMTP_URL the outbox delivers through SMTP', async () => {
      const app = await (await compile({ SMTP_URL: smtp.url, MAIL_FROM: 'archiver@example.test' })).init();
      try {
        assert.ok(app.get<MailTransport>(MAIL_TRANSPORT) instanceof SmtpMailTransport);
        const outbox = app.get(MailOutboxService);
        const before = smtp.messages.length;
        await outbox.enqueue({
          kind: 'test',
          dedupeKey: 'module-smtp',
          recipients: ['ops@example.test'],
          subject: 'via module',
          body: 'b',
        });
        assert.equal((await outbox.deliverDue()).sent, 1);
        const received = await smtp.waitFor(before + 1);
        assert.equal(received.at(-1)?.subject, 'via module');
      } finally {
        await app.close();
      }
    });

    test('without SMTP_URL the outbox writes mail under DATA_DIR/mail', async () => {
      const dataDir = join(dir, 'data');
      const app = await (await compile({ DATA_DIR: dataDir })).init();
      try {
        assert.ok(app.get<MailTransport>(MAIL_TRANSPORT) instanceof FileMailTransport);
        const outbox = app.get(MailOutboxService);
        await outbox.enqueue({
          kind: 'test',
          dedupeKey: 'module-file',
          recipients: ['ops@example.test'],
          subject: 'to a file',
          body: 'b',
        });
        assert.equal((await outbox.deliverDue()).sent, 1);
        const files = await readdir(join(dataDir, 'mail'));
        assert.equal(files.length, 1);
        assert.match(await readFile(join(dataDir, 'mail', files[0]), 'utf8'), /^Subject: to a file$/m);
      } finally {
        await app.close();
      }
    });
  });
});

/** A loopback port nobody listens on any more. */
async function listenAndClose(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Accepts connections and says nothing, like a hung or black-holed mail server. */
async function silentServer(): Promise<{ port: number; close(): void }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}
