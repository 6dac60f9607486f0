import { SMTPServer, type SMTPServerAddress } from 'smtp-server';

/** One message as the server received it, with headers and body decoded. */
export interface CapturedMail {
  /** SMTP envelope sender and recipients (MAIL FROM / RCPT TO). */
  envelopeFrom: string;
  envelopeTo: string[];
  /** Header names lower-cased, values unfolded and with encoded words decoded. */
  headers: Map<string, string>;
  subject: string;
  from: string;
  to: string;
  messageId: string;
  /** The text/plain part, line endings as \n. */
  text: string;
  html?: string;
  raw: string;
}

export interface SmtpRejection {
  code: number;
  message: string;
}

export interface TestSmtpOptions {
  /** Answer RCPT TO for an address with this error instead of accepting it. */
  rejectRecipient?: (address: string) => SmtpRejection | undefined;
}

export interface TestSmtp {
  /** smtp://127.0.0.1:<port>, no TLS, no login. */
  url: string;
  port: number;
  messages: CapturedMail[];
  /** Resolves once at least `count` messages arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<CapturedMail[]>;
  /** Stops listening (pending sessions get a 421), keeping the port for `up()`. */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

/** A capturing SMTP server on a free loopback port. */
export async function startTestSmtp(options: TestSmtpOptions = {}): Promise<TestSmtp> {
  const messages: CapturedMail[] = [];
  let waiters: (() => void)[] = [];
  let server: SMTPServer | undefined;

  const listen = (port: number): Promise<number> => {
    const created = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      disableReverseLookup: true,
      closeTimeout: 100,
      onRcptTo(address: SMTPServerAddress, _session, callback) {
        const rejection = options.rejectRecipient?.(address.address);
        if (!rejection) return callback();
        callback(Object.assign(new Error(rejection.message), { responseCode: rejection.code }));
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const envelope = session.envelope;
          messages.push({
            ...parseMessage(raw),
            envelopeFrom: envelope.mailFrom ? envelope.mailFrom.address : '',
            envelopeTo: envelope.rcptTo.map((r) => r.address),
            raw,
          });
          const ready = waiters;
          waiters = [];
          for (const wake of ready) wake();
          callback();
        });
      },
    });
    server = created;
    return new Promise((resolve, reject) => {
      created.on('error', reject);
      created.listen(port, '127.0.0.1', () => {
        const address = created.server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  };

  const stop = async (): Promise<void> => {
    const running = server;
    server = undefined;
    if (running) await new Promise<void>((resolve) => running.close(() => resolve()));
  };

  const port = await listen(0);
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    async waitFor(count, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < count) {
        const left = deadline - Date.now();
        if (left <= 0)
          throw new Error(`expected ${count} mail(s), ${messages.length} arrived within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return messages;
    },
    down: stop,
    async up() {
      if (!server) await listen(port);
    },
    close: stop,
  };
}

function parseMessage(raw: string): Omit<CapturedMail, 'envelopeFrom' | 'envelopeTo' | 'raw'> {
  const { headers, body } = splitEntity(raw);
  const { text, html } = readBody(headers, body);
  return {
    headers,
    subject: headers.get('subject') ?? '',
    from: headers.get('from') ?? '',
    to: headers.get('to') ?? '',
    messageId: headers.get('message-id') ?? '',
    text: text ?? '',
    html,
  };
}

function splitEntity(raw: string): { headers: Map<string, string>; body: string } {
  const normalized = raw.replace(/\r\n/g, '\n');
  const end = normalized.indexOf('\n\n');
  const head = end === -1 ? normalized : normalized.slice(0, end);
  const body = end === -1 ? '' : normalized.slice(end + 2);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, decodeWords(line.slice(colon + 1).trim()));
  }
  return { headers, body };
}

function readBody(headers: Map<string, string>, body: string): { text?: string; html?: string } {
  const type = (headers.get('content-type') ?? 'text/plain').toLowerCase();
  const boundary = /boundary="?([^";]+)"?/i.exec(headers.get('content-type') ?? '')?.[1];
  if (type.startsWith('multipart/') && boundary) {
    const out: { text?: string; html?: string } = {};
    const parts = body.split(`--${boundary}`).slice(1);
    for (const part of parts) {
      if (part.startsWith('--')) break;
      const entity = splitEntity(part.replace(/^\n/, ''));
      const found = readBody(entity.headers, entity.body);
      out.text ??= found.text;
      out.html ??= found.html;
    }
    return out;
  }
  // The line break before a boundary or the end of the message is not part of the content.
  const decoded = decodeTransfer(body, headers.get('content-transfer-encoding') ?? '7bit').replace(/\n$/, '');
  return type.startsWith('text/html') ? { html: decoded } : { text: decoded };
}

function decodeTransfer(body: string, encoding: string): string {
  switch (encoding.toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8').replace(/\r\n/g, '\n');
    case 'quoted-printable':
      return decodeQuotedPrintable(body.replace(/=\n/g, ''));
    default:
      return body;
  }
}

function decodeQuotedPrintable(value: string): string {
  return quotedPrintableBytes(value).toString('utf8');
}

function quotedPrintableBytes(value: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(value[i], 'utf8'));
    }
  }
  return Buffer.from(bytes);
}

const ENCODED_WORD = /=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g;
const ENCODED_RUN = /=\?[^?]+\?[BbQq]\?[^?]*\?=(?:\s*=\?[^?]+\?[BbQq]\?[^?]*\?=)*/g;

/** RFC 2047 encoded words, as nodemailer writes non-ASCII headers; adjacent words join up. */
function decodeWords(value: string): string {
  return value.replace(ENCODED_RUN, (run) => {
    const bytes = [...run.matchAll(ENCODED_WORD)].map(([, , encoding, text]) =>
      encoding.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64')
        : quotedPrintableBytes(text.replace(/_/g, ' ')),
    );
    return Buffer.concat(bytes).toString('utf8');
  });
}
