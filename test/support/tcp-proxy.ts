import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of a real server, to make it unreachable (`down`) or
 * unresponsive (`stall`) on demand, without touching the server itself; or to give a server an
 * address before it starts, the way a reverse proxy does (`pointAt`).
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private mode: 'up' | 'down' | 'stall' = 'up';
  port = 0;

  constructor(
    private readonly targetHost: string,
    private targetPort: number,
  ) {}

  /** Sends new connections to another port (a front door started before the server behind it). */
  pointAt(port: number): void {
    this.targetPort = port;
  }

  async start(): Promise<number> {
    this.server = createServer((client) => {
      if (this.mode === 'down') {
        client.destroy();
        return;
      }
      const upstream = connect(this.targetPort, this.targetHost);
      this.sockets.add(client).add(upstream);
      const forward = (from: Socket, to: Socket) =>
        from.on('data', (chunk) => {
          if (this.mode === 'up') to.write(chunk);
        });
      forward(client, upstream);
      forward(upstream, client);
      const end = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this.port;
  }

  /** Drops every connection and refuses new ones. */
  down(): void {
    this.mode = 'down';
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** Keeps connections open but forwards nothing: a database that stopped answering. */
  stall(): void {
    this.mode = 'stall';
  }

  up(): void {
    this.mode = 'up';
  }

  async stop(): Promise<void> {
    this.down();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
