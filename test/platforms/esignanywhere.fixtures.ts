import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { inspect } from 'node:util';
import { z } from 'zod';
import {
  EsignAnywhereClient,
  type EsignAnywhereClientOptions,
} from '../../src/platforms/esignanywhere/esignanywhere.client';
import { PlatformError, type PlatformErrorCode } from '../../src/platforms/platform-error';
import type { EsignAnywhereSimulator } from '../simulators/esignanywhere/esignanywhere.simulator';

/** A client with test-sized timeouts and backoff (a few milliseconds), jitter fixed. */
export function makeClient(
  sim: EsignAnywhereSimulator | { baseUrl: string },
  overrides: Partial<EsignAnywhereClientOptions> = {},
): EsignAnywhereClient {
  return new EsignAnywhereClient({
    baseUrl: sim.baseUrl,
    connectTimeoutMs: 1_000,
    responseTimeoutMs: 3_000,
    idleTimeoutMs: 1_000,
    maxRetries: 2,
    retryBaseDelayMs: 5,
    retryMaxDelayMs: 40,
    maxRetryAfterMs: 5_000,
    random: () => 0.5,
    ...overrides,
  });
}

/** Awaits a rejection and checks it is a PlatformError with this code (and message). */
export async function rejectsWithPlatformError(
  promise: Promise<unknown>,
  code: PlatformErrorCode,
  message?: RegExp,
): Promise<PlatformError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught !== undefined, `expected a rejection with ${code}, got a result`);
  assert.ok(caught instanceof PlatformError, `expected a PlatformError, got ${inspect(caught)}`);
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`);
  if (message) assert.match(caught.message, message);
  return caught;
}

/** Reads a stream to its end, hashing it; rejects with the stream's error. */
export async function sha256Of(
  stream: Readable,
): Promise<{ sha256: string; size: number; head: Buffer; tail: Buffer }> {
  const hash = createHash('sha256');
  let size = 0;
  let head = Buffer.alloc(0);
  let tail = Buffer.alloc(0);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
    if (head.length < 16) head = Buffer.concat([head, chunk.subarray(0, 16 - head.length)]);
    tail = chunk.length >= 16 ? Buffer.from(chunk.subarray(-16)) : Buffer.concat([tail, chunk]).subarray(-16);
  }
  return { sha256: hash.digest('hex'), size, head, tail };
}

export interface Receiver {
  url: string;
  hits: { path: string; query: URLSearchParams; headers: http.IncomingHttpHeaders }[];
  /** Status to answer with per hit (the last one repeats). */
  statuses: number[];
  /** Delay before answering, per hit (the last one repeats). */
  delaysMs: number[];
  close(): Promise<void>;
}

/** A loopback HTTP endpoint recording what arrives (callbacks, OAuth redirects). */
export async function startReceiver(): Promise<Receiver> {
  const receiver: Receiver = {
    url: '',
    hits: [],
    statuses: [200],
    delaysMs: [0],
    close: () => Promise.resolve(),
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://receiver.invalid');
    const index = receiver.hits.length;
    receiver.hits.push({ path: url.pathname, query: url.searchParams, headers: req.headers });
    const status = receiver.statuses[Math.min(index, receiver.statuses.length - 1)];
    const wait = receiver.delaysMs[Math.min(index, receiver.delaysMs.length - 1)];
    const timer = setTimeout(() => {
      res.writeHead(status, { 'Content-Type': 'text/plain' });
      res.end('ok');
    }, wait);
    res.once('close', () => clearTimeout(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

export interface SimulatorProcess {
  baseUrl: string;
  controlUrl: string;
  token: string;
  user: { id: string; email: string };
  control<T>(method: string, path: string, body?: unknown): Promise<T>;
  stop(): Promise<void>;
}

/** What the simulator prints on its SIMULATOR_READY line. */
const simulatorReadySchema = z.object({
  baseUrl: z.string(),
  controlUrl: z.string(),
  controlSecret: z.string(),
  token: z.string(),
  user: z.object({ id: z.string(), email: z.string() }),
});

/** Starts the simulator as its own process (main.js, as `npm run sim:esignanywhere` does). */
export async function startSimulatorProcess(args: string[] = []): Promise<SimulatorProcess> {
  const main = join(__dirname, '..', 'simulators', 'esignanywhere', 'main.js');
  const child: ChildProcess = spawn(process.execPath, [main, '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = await new Promise<z.infer<typeof simulatorReadySchema>>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as Readable });
    const timer = setTimeout(() => reject(new Error(`simulator did not start: ${stderr}`)), 15_000);
    lines.on('line', (line) => {
      if (line.startsWith('SIMULATOR_READY ')) {
        clearTimeout(timer);
        const announced = simulatorReadySchema.safeParse(JSON.parse(line.slice('SIMULATOR_READY '.length)));
        if (announced.success) resolve(announced.data);
        else reject(new Error(`simulator announced an unexpected shape: ${line}`));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`simulator exited with ${code}: ${stderr}`));
    });
  });
  return {
    baseUrl: ready.baseUrl,
    controlUrl: ready.controlUrl,
    token: ready.token,
    user: ready.user,
    async control<T>(method: string, path: string, body?: unknown): Promise<T> {
      const response = await fetch(`${ready.controlUrl}${path}`, {
        method,
        headers: { 'X-Control-Secret': ready.controlSecret, 'Content-Type': 'application/json' },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      const json = (await response.json()) as T;
      if (!response.ok)
        throw new Error(`control ${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
      return json;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
