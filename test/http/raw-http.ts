import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface OutgoingRequest {
  method: string;
  /** Sent as is: may hold any byte from 0x21 to 0xff, percent-encoding errors included. */
  path: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
}

/**
 * Requests over a few keep-alive connections, with paths sent byte for byte (no URL normalising,
 * unlike fetch), so percent-encoding errors and odd characters reach the server as written.
 */
export class KeepAliveClient {
  private readonly agent: Agent;

  constructor(
    private readonly port: number,
    maxSockets: number,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  /** Retries a request the server never saw: one sent on a kept-alive connection it had just closed. */
  async send(outgoing: OutgoingRequest): Promise<Answer> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.sendOnce(outgoing);
      } catch (error) {
        const { code, reusedSocket } = error as NodeJS.ErrnoException & { reusedSocket?: boolean };
        if (!reusedSocket || attempt >= 5 || (code !== 'ECONNRESET' && code !== 'EPIPE')) throw error;
      }
    }
  }

  private sendOnce(outgoing: OutgoingRequest): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.port,
          method: outgoing.method,
          path: outgoing.path,
          // Node's client sends a DELETE, OPTIONS or TRACE body without a length, which the
          // server can only read as the start of a second, garbage request.
          headers:
            outgoing.body === undefined
              ? outgoing.headers
              : { ...outgoing.headers, 'content-length': String(Buffer.byteLength(outgoing.body)) },
          agent: this.agent,
          insecureHTTPParser: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              headers: res.headers,
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', (error: Error) => reject(Object.assign(error, { reusedSocket: req.reusedSocket })));
      req.end(outgoing.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface RawOutcome {
  /** The status of the answer, when one came. */
  status?: number;
  /** When the server closed the connection, in ms after the first byte was sent. */
  closedAfterMs?: number;
  /** The connection was still open at the deadline. */
  stillOpen: boolean;
  bytesSent: number;
}

/**
 * Writes `chunks` (strings as latin1, so `\xNN` is one raw byte) on a fresh connection, one every
 * `intervalMs` (a slow or stalled client), then
 * waits; ends when the server closes the connection or at `deadlineMs` after the first byte.
 */
export function rawExchange(
  port: number,
  chunks: readonly (string | Buffer)[],
  options: { intervalMs?: number; deadlineMs: number },
): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let received = '';
    let bytesSent = 0;
    let started = 0;
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (stillOpen: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(deadline);
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(received);
      socket.destroy();
      resolve({
        status: match ? Number(match[1]) : undefined,
        closedAfterMs: stillOpen ? undefined : Date.now() - started,
        stillOpen,
        bytesSent,
      });
    };
    let deadline: NodeJS.Timeout | undefined;
    socket.on('data', (d: Buffer) => {
      received += d.toString('latin1');
    });
    socket.on('close', () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('connect', () => {
      started = Date.now();
      deadline = setTimeout(() => finish(true), options.deadlineMs);
      let i = 0;
      const writeNext = () => {
        if (done || i >= chunks.length) return;
        const chunk = chunks[i++];
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
        bytesSent += bytes.length;
        socket.write(bytes);
        if (options.intervalMs) timer = setTimeout(writeNext, options.intervalMs);
        else writeNext();
      };
      writeNext();
    });
  });
}

/** The text split into one-byte chunks, for a client that sends a byte at a time. */
export const byteByByte = (text: string): Buffer[] =>
  [...Buffer.from(text, 'latin1')].map((b) => Buffer.from([b]));
