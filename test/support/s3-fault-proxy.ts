import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** S3 operations as the proxy tells them apart, from method, path, query and headers. */
export type S3Operation =
  | 'PutObject'
  | 'UploadPart'
  | 'UploadPartCopy'
  | 'CopyObject'
  | 'CreateMultipartUpload'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListMultipartUploads'
  | 'ListParts'
  | 'PutObjectTagging'
  | 'GetObjectTagging'
  | 'DeleteObjectTagging'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'DeleteObjects'
  | 'ListObjects'
  | 'HeadBucket'
  | 'Other';

export type S3Fault =
  /**
   * The connection is reset. A request with a body is cut after `afterFraction` of it has arrived
   * (default a half) and never reaches S3, as S3 discards an incomplete request; one without a body is
   * reset before it is forwarded.
   */
  | { kind: 'reset'; afterFraction?: number }
  /** Forwarded and carried out by S3; its answer is dropped with a reset: the client never learns it. */
  | { kind: 'lostAnswer' }
  /** 503 SlowDown instead of forwarding (the body is read first). */
  | { kind: 'slowDown' }
  /**
   * One byte of the body is flipped on the way (at `atFraction` of the data, default a half), and the
   * headers S3 would check the body against (Content-MD5, x-amz-checksum-*, a hex
   * x-amz-content-sha256) are dropped, so S3 stores bytes other than those the client sent. Only
   * requests with a body (PutObject, UploadPart) qualify.
   */
  | { kind: 'corrupt'; atFraction?: number };

export interface S3FaultRule {
  /** Which operations; all when absent. */
  operation?: S3Operation | S3Operation[];
  /**
   * Applies to requests whose key (or, for a bucket listing, its `prefix`) contains any of these.
   * The array is read at every request, so the caller may add to it later (an id learned meanwhile).
   */
  keyIncludes?: string[];
  /** The next N matching requests, then the rule is used up; always when absent. */
  times?: number;
  fault: S3Fault;
  /** Shown in the fault log, e.g. what the rule was meant to hit. */
  label?: string;
}

/** A fault the proxy applied. */
export interface S3FaultEvent {
  seq: number;
  at: string;
  rule: number;
  label?: string;
  kind: S3Fault['kind'];
  operation: S3Operation;
  method: string;
  key: string;
  /** What happened, e.g. the flipped byte's offset, or the status S3 answered a lost answer with. */
  detail: string;
  /** S3's status, when the request reached it. */
  status?: number;
}

interface RuleEntry {
  id: number;
  rule: S3FaultRule;
  remaining?: number;
}

const BODY_OPERATIONS: readonly S3Operation[] = ['PutObject', 'UploadPart'];
const CHECKSUM_HEADERS = [
  'content-md5',
  'x-amz-checksum-crc32',
  'x-amz-checksum-crc32c',
  'x-amz-checksum-crc64nvme',
  'x-amz-checksum-sha1',
  'x-amz-checksum-sha256',
  'x-amz-sdk-checksum-algorithm',
];
const HOP_BY_HOP = ['connection', 'keep-alive', 'expect', 'transfer-encoding', 'proxy-connection', 'upgrade'];

/** Tells S3 operations apart from a path-style request (`/bucket/key?...`). */
export function s3Operation(method: string, url: URL, headers: http.IncomingHttpHeaders): S3Operation {
  const q = url.searchParams;
  const segments = url.pathname.split('/').filter((s) => s !== '');
  const hasKey = segments.length > 1;
  const copy = headers['x-amz-copy-source'] !== undefined;
  switch (method) {
    case 'PUT':
      if (!hasKey) return 'Other';
      if (q.has('partNumber') && q.has('uploadId')) return copy ? 'UploadPartCopy' : 'UploadPart';
      if (q.has('tagging')) return 'PutObjectTagging';
      return copy ? 'CopyObject' : 'PutObject';
    case 'POST':
      if (q.has('uploads')) return 'CreateMultipartUpload';
      if (q.has('uploadId')) return 'CompleteMultipartUpload';
      if (q.has('delete')) return 'DeleteObjects';
      return 'Other';
    case 'GET':
      if (!hasKey) return q.has('uploads') ? 'ListMultipartUploads' : 'ListObjects';
      if (q.has('tagging')) return 'GetObjectTagging';
      if (q.has('uploadId')) return 'ListParts';
      return 'GetObject';
    case 'HEAD':
      return hasKey ? 'HeadObject' : 'HeadBucket';
    case 'DELETE':
      if (q.has('uploadId')) return 'AbortMultipartUpload';
      if (q.has('tagging')) return 'DeleteObjectTagging';
      return hasKey ? 'DeleteObject' : 'Other';
    default:
      return 'Other';
  }
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * An HTTP proxy between S3 clients and an S3 server that injects S3's own failures on request:
 * connection resets mid-upload, answers lost after S3 acted, 503 SlowDown, and bytes changed on the
 * way. Requests are read whole before they are forwarded, so S3 only ever sees complete requests
 * (as real S3 commits nothing of a request cut short); answers are streamed back.
 */
export class S3FaultProxy {
  private server?: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private rules: RuleEntry[] = [];
  private nextRuleId = 1;
  private readonly fired: S3FaultEvent[] = [];
  private readonly counts = new Map<S3Operation, number>();
  private seq = 0;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** Starts listening on loopback; resolves to the endpoint clients should use. */
  async start(): Promise<string> {
    const server = http.createServer({ keepAliveTimeout: 5_000, requestTimeout: 0 }, (req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) {
          res.writeHead(502, { 'Content-Type': 'text/plain' });
          res.end(`s3 fault proxy: ${String(error)}`);
        } else {
          res.destroy();
        }
      });
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.endpoint;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  addFault(rule: S3FaultRule): number {
    if (rule.times !== undefined && (!Number.isInteger(rule.times) || rule.times < 1)) {
      throw new Error('times must be a positive integer');
    }
    const entry: RuleEntry = { id: this.nextRuleId++, rule };
    if (rule.times !== undefined) entry.remaining = rule.times;
    this.rules.push(entry);
    return entry.id;
  }

  clearFaults(): void {
    this.rules = [];
  }

  /** Faults applied so far, oldest first. */
  events(): S3FaultEvent[] {
    return this.fired.map((e) => ({ ...e }));
  }

  /** Requests seen per operation. */
  requestCounts(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    server.closeAllConnections();
    this.agent.destroy();
    await closed;
  }

  private match(operation: S3Operation, matchKey: string, hasBody: boolean): RuleEntry | undefined {
    for (const entry of this.rules) {
      const { rule } = entry;
      if (entry.remaining !== undefined && entry.remaining <= 0) continue;
      const ops = rule.operation === undefined ? undefined : [rule.operation].flat();
      if (ops && !ops.includes(operation)) continue;
      if (rule.keyIncludes && !rule.keyIncludes.some((part) => matchKey.includes(part))) continue;
      if (rule.fault.kind === 'corrupt' && !(hasBody && BODY_OPERATIONS.includes(operation))) continue;
      if (entry.remaining !== undefined) entry.remaining--;
      return entry;
    }
    return undefined;
  }

  private record(
    entry: RuleEntry,
    operation: S3Operation,
    method: string,
    key: string,
    detail: string,
    status?: number,
  ): void {
    this.fired.push({
      seq: ++this.seq,
      at: new Date().toISOString(),
      rule: entry.id,
      ...(entry.rule.label !== undefined && { label: entry.rule.label }),
      kind: entry.rule.fault.kind,
      operation,
      method,
      key,
      detail,
      ...(status !== undefined && { status }),
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://s3.invalid');
    const operation = s3Operation(method, url, req.headers);
    this.counts.set(operation, (this.counts.get(operation) ?? 0) + 1);
    const key = url.pathname.split('/').slice(2).map(decode).join('/');
    const matchKey = key === '' ? (url.searchParams.get('prefix') ?? '') : key;
    const declared = Number(req.headers['content-length'] ?? 0);
    const hasBody = declared > 0 || req.headers['transfer-encoding'] !== undefined;
    const entry = this.match(operation, matchKey, hasBody);
    const fault = entry?.rule.fault;

    if (entry && fault?.kind === 'reset') {
      if (!hasBody) {
        this.record(entry, operation, method, key, 'reset before forwarding');
        req.socket.resetAndDestroy();
        return;
      }
      const cut = Math.max(1, Math.floor(declared * (fault.afterFraction ?? 0.5)));
      const received = await readBody(req, cut);
      this.record(entry, operation, method, key, `reset after ${received.length} of ${declared} body bytes`);
      req.socket.resetAndDestroy();
      return;
    }

    const body = await readBody(req);
    if (body === undefined) return; // the client went away mid-request: S3 never hears of it

    if (entry && fault?.kind === 'slowDown') {
      this.record(entry, operation, method, key, 'answered 503 SlowDown', 503);
      const xml =
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>' +
        '<Message>Please reduce your request rate.</Message>' +
        `<RequestId>chaos${entry.id}x${this.seq}</RequestId></Error>`;
      res.writeHead(503, {
        'Content-Type': 'application/xml',
        'Content-Length': method === 'HEAD' ? '0' : String(Buffer.byteLength(xml)),
      });
      res.end(method === 'HEAD' ? undefined : xml);
      return;
    }

    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !HOP_BY_HOP.includes(name)) headers[name] = value;
    }
    if (body.length > 0 || req.headers['content-length'] !== undefined) {
      headers['content-length'] = String(body.length);
    }
    let corruption = '';
    if (entry && fault?.kind === 'corrupt') {
      const at = flipOneByte(body, req.headers, fault.atFraction ?? 0.5);
      for (const name of CHECKSUM_HEADERS) delete headers[name];
      if (/^[0-9a-f]{64}$/i.test(String(headers['x-amz-content-sha256'] ?? ''))) {
        headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      }
      corruption = `flipped byte ${at} of ${body.length}`;
    }

    const upstream = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const forward = http.request(
        {
          host: this.targetHost,
          port: this.targetPort,
          method,
          path: req.url,
          headers,
          agent: this.agent,
        },
        resolve,
      );
      forward.once('error', reject);
      forward.end(body.length > 0 ? body : undefined);
    });
    const status = upstream.statusCode ?? 0;

    if (entry && fault?.kind === 'lostAnswer') {
      // S3 has acted; the answer dies on the way back.
      upstream.resume();
      await new Promise<void>((resolve) => {
        upstream.once('end', resolve);
        upstream.once('error', () => resolve());
      });
      this.record(entry, operation, method, key, `S3 answered ${status}; answer dropped`, status);
      req.socket.resetAndDestroy();
      return;
    }
    if (entry && fault?.kind === 'corrupt') this.record(entry, operation, method, key, corruption, status);

    const responseHeaders: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(upstream.headers)) {
      if (value !== undefined && !['connection', 'keep-alive'].includes(name)) responseHeaders[name] = value;
    }
    res.writeHead(status, upstream.statusMessage, responseHeaders);
    upstream.pipe(res);
    upstream.once('error', () => res.destroy());
    res.once('close', () => {
      if (!upstream.complete) upstream.destroy();
    });
  }
}

/**
 * The whole body, or its first `limit` bytes (then reading stops); undefined when the client went
 * away before the end.
 */
function readBody(req: http.IncomingMessage): Promise<Buffer | undefined>;
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer>;
function readBody(req: http.IncomingMessage, limit?: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (value: Buffer | undefined): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      if (limit !== undefined && size >= limit) {
        req.pause();
        settle(Buffer.concat(chunks, size));
      }
    };
    req.on('data', onData);
    req.once('end', () => settle(Buffer.concat(chunks, size)));
    req.once('error', () => settle(limit === undefined ? undefined : Buffer.concat(chunks, size)));
    req.once('close', () => {
      if (!req.complete) settle(limit === undefined ? undefined : Buffer.concat(chunks, size));
    });
  });
}

/**
 * Flips the low bit of one byte of the payload and returns its offset. With `aws-chunked` framing
 * the byte is taken inside the first chunk's data, so the framing stays intact.
 */
function flipOneByte(body: Buffer, headers: http.IncomingHttpHeaders, fraction: number): number {
  let start = 0;
  let length = body.length;
  const streaming = String(headers['x-amz-content-sha256'] ?? '').startsWith('STREAMING-');
  if (streaming || String(headers['content-encoding'] ?? '').includes('aws-chunked')) {
    const lineEnd = body.indexOf('\r\n');
    const size = parseInt(body.subarray(0, lineEnd).toString('latin1').split(';')[0], 16);
    if (lineEnd > 0 && Number.isFinite(size) && size > 0) {
      start = lineEnd + 2;
      length = Math.min(size, body.length - start);
    }
  }
  const at = start + Math.min(length - 1, Math.max(0, Math.floor(length * fraction)));
  body[at] ^= 0x01;
  return at;
}
