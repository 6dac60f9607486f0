import http from 'node:http';
import https from 'node:https';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** Raised when DNS lookup, TCP connect and (for https) the TLS handshake take longer than allowed. */
export class ConnectTimeoutError extends Error {
  readonly code = 'ECONNECTTIMEOUT';

  constructor(readonly timeoutMs: number) {
    super(`connection not established within ${timeoutMs} ms`);
    this.name = 'ConnectTimeoutError';
  }
}

// Node's own timeouts (and axios' `timeout`) only start once a socket is connected, so a black-holed
// host would hang for the OS connect timeout (minutes). The agent arms a timer per new socket instead.
function armConnectTimeout(socket: Duplex | null | undefined, timeoutMs: number, secure: boolean): void {
  if (!(socket instanceof Socket) || !socket.connecting) return;
  const timer = setTimeout(() => socket.destroy(new ConnectTimeoutError(timeoutMs)), timeoutMs);
  timer.unref();
  const clear = (): void => {
    clearTimeout(timer);
    socket.off(secure ? 'secureConnect' : 'connect', clear);
    socket.off('close', clear);
  };
  socket.once(secure ? 'secureConnect' : 'connect', clear);
  socket.once('close', clear);
}

export class ConnectTimeoutHttpAgent extends http.Agent {
  constructor(
    private readonly connectTimeoutMs: number,
    options: http.AgentOptions = {},
  ) {
    super(options);
  }

  override createConnection(
    options: http.ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const socket = super.createConnection(options, callback);
    armConnectTimeout(socket, this.connectTimeoutMs, false);
    return socket;
  }
}

export class ConnectTimeoutHttpsAgent extends https.Agent {
  constructor(
    private readonly connectTimeoutMs: number,
    options: https.AgentOptions = {},
  ) {
    super(options);
  }

  override createConnection(
    options: https.RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const socket = super.createConnection(options, callback);
    armConnectTimeout(socket, this.connectTimeoutMs, true);
    return socket;
  }
}
