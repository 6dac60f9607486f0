import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy that delays every byte by a fixed one-way latency in each direction (so a
 * request/answer round trip takes `roundTripMs` longer), keeping order and without limiting bandwidth:
 * a remote service, as far as distance goes.
 */
export class LatencyProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
    private readonly roundTripMs: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<number> {
    const oneWay = this.roundTripMs / 2;
    this.server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      this.sockets.add(client).add(upstream);
      const forward = (from: Socket, to: Socket) => {
        let releaseAt = 0;
        let queued = 0;
        from.on('data', (chunk: Buffer) => {
          // Each chunk leaves `oneWay` after it came, never before the one ahead of it.
          releaseAt = Math.max(Date.now() + oneWay, releaseAt);
          queued += chunk.length;
          // A slow reader on the far side slows the sender, as a real link would.
          if (queued > 4 * 1024 * 1024) from.pause();
          setTimeout(() => {
            queued -= chunk.length;
            if (!to.destroyed) to.write(chunk);
            if (queued <= 1024 * 1024 && from.isPaused()) from.resume();
          }, releaseAt - Date.now());
        });
        from.on('end', () => setTimeout(() => to.end(), Math.max(0, releaseAt - Date.now()) + 1));
      };
      forward(client, upstream);
      forward(upstream, client);
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this.port;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
