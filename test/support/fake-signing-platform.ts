import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { PlatformError, type PlatformErrorCode } from '../../src/platforms/platform-error';
import type {
  CredentialStrategy,
  EnvelopeMetadata,
  EnvelopePhase,
  FinishedEnvelope,
  PlatformCall,
  PlatformDisplay,
  PlatformDownload,
  PlatformEnvelope,
  PlatformFile,
  SigningPlatform,
} from '../../src/platforms/signing-platform';

/**
 * A `SigningPlatform` held in memory, for fast tests of the pipeline's decisions: the test sets its
 * envelopes, files and per-method failures, and reads back every call it received. It keeps the
 * platform contract (`test/platforms/contract/`): deleted envelopes are NOT_FOUND, refused tokens
 * UNAUTHORIZED, aborted signals reject with their reason.
 */

export type FakeMethod = 'getEnvelope' | 'getMetadata' | 'listFiles' | 'openFile' | 'delete' | 'listFinished';

export interface FakeFileSpec {
  kind?: PlatformFile['kind'];
  fileId?: string;
  fileName?: string;
  /** Default: true for a name ending in `.pdf`. */
  pdf?: boolean;
  /** Default: a PDF (or, for `pdf: false`, XML) of `size` bytes made from the file id. */
  bytes?: Buffer;
  /** Default 2 000. */
  size?: number;
  contentType?: string;
  /** Whether `openFile` announces the length. Default true. */
  announceLength?: boolean;
  /** A sha256 the platform gives with the download: `true` for the bytes' own. Default: none. */
  declaredSha256?: string | true;
}

export interface FakeEnvelopeSpec {
  id?: string;
  /** Default `completed`. */
  phase?: EnvelopePhase;
  /** Default: `Completed`, `InProgress` or `Declined` by phase. */
  status?: string;
  name?: string;
  sender?: PlatformEnvelope['sender'];
  timeline?: PlatformEnvelope['timeline'];
  metadata?: EnvelopeMetadata;
  /** Default: one signed document and the audit trail PDF. */
  files?: FakeFileSpec[];
  /** When it reached its phase, for `listFinished`. Default: now, unless in progress. */
  finishedAt?: Date;
}

export interface FakeFile extends PlatformFile {
  bytes: Buffer;
  sha256: string;
  contentType: string;
  announceLength: boolean;
  declaredSha256?: string;
}

export interface FakeEnvelope {
  id: string;
  phase: EnvelopePhase;
  status: string;
  name: string;
  sender: PlatformEnvelope['sender'];
  timeline: PlatformEnvelope['timeline'];
  metadata: EnvelopeMetadata;
  files: FakeFile[];
  finishedAt?: Date;
  deleted: boolean;
}

/** One call the fake received, and how it ended. */
export interface FakeCallRecord {
  method: FakeMethod;
  envelopeId?: string;
  fileId?: string;
  token?: string;
  outcome: 'ok' | PlatformErrorCode | 'aborted' | 'error';
}

/** Which calls a rule applies to: all of a method, or those about one envelope or file. */
export interface FakeMatch {
  envelopeId?: string;
  fileId?: string;
  /** Applies to this many matching calls, then disappears. Default: 1. `Infinity` for every call. */
  times?: number;
}

/** A failure to inject: a code (a `PlatformError` is made for it) or the error itself. */
export type FakeFailure = PlatformErrorCode | { code: PlatformErrorCode; retryAfterMs?: number } | Error;

type Effect =
  | { kind: 'fail'; failure: FakeFailure }
  | { kind: 'latency'; ms: number }
  | { kind: 'stall'; afterBytes: number };

interface Rule {
  method: FakeMethod;
  envelopeId?: string;
  fileId?: string;
  remaining: number;
  effect: Effect;
}

export interface FakeSigningPlatformOptions {
  name?: string;
  displayName?: string;
  /** Default `sender_token` with a fallback token the fake accepts. */
  credentials?: 'sender_token' | 'instance';
  /** Add `listFinished`. Default false (as an adapter without reconciliation). */
  listFinished?: boolean;
}

const STATUS_BY_PHASE: Record<EnvelopePhase, string> = {
  completed: 'Completed',
  in_progress: 'InProgress',
  ended: 'Declined',
};
const CHUNK_BYTES = 16 * 1024;
/** The HTTP status a platform answers with for a code, where one status stands for it. */
const STATUS_BY_CODE: Partial<Record<PlatformErrorCode, number>> = {
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  RATE_LIMITED: 429,
  TRANSIENT: 503,
};

export const FAKE_FALLBACK_TOKEN = 'fake-fallback-token';

export class FakeSigningPlatform implements SigningPlatform {
  readonly name: string;
  readonly display: PlatformDisplay;
  readonly credentials: CredentialStrategy;
  readonly listFinished?: (since: Date, call: PlatformCall) => AsyncIterable<FinishedEnvelope>;
  /** Every call received, oldest first. */
  readonly calls: FakeCallRecord[] = [];
  private readonly envelopes = new Map<string, FakeEnvelope>();
  private readonly tokens = new Set<string>();
  private rules: Rule[] = [];
  private counter = 0;

  constructor(options: FakeSigningPlatformOptions = {}) {
    this.name = options.name ?? 'fake';
    this.display = {
      name: options.displayName ?? 'Fake Sign',
      consentPath: (platformUserId) => `/consent/fake?sender=${encodeURIComponent(platformUserId)}`,
    };
    if (options.credentials === 'instance') {
      this.credentials = { kind: 'instance' };
    } else {
      this.credentials = {
        kind: 'sender_token',
        fallbackToken: FAKE_FALLBACK_TOKEN,
        fallbackTokenSetting: 'FAKE_API_TOKEN',
      };
      this.tokens.add(FAKE_FALLBACK_TOKEN);
    }
    if (options.listFinished) this.listFinished = (since, call) => this.finishedSince(since, call);
  }

  // -------------------------------------------------------------------------------------------------
  // Set-up

  addEnvelope(spec: FakeEnvelopeSpec = {}): FakeEnvelope {
    const id = spec.id ?? `env-${++this.counter}`;
    if (this.envelopes.has(id)) throw new Error(`envelope ${id} exists`);
    const phase = spec.phase ?? 'completed';
    const envelope: FakeEnvelope = {
      id,
      phase,
      status: spec.status ?? STATUS_BY_PHASE[phase],
      name: spec.name ?? `Envelope ${id}`,
      sender: spec.sender ?? { email: 'sender@example.com', givenName: 'Sam', surname: 'Sender' },
      timeline: spec.timeline ?? [{ id: `${id}-a1`, status: 'Completed', recipient: 'signer@example.com' }],
      metadata: spec.metadata ?? { fields: {} },
      files: (
        spec.files ?? [
          { kind: 'signed_document', fileName: 'Contract.pdf' },
          { kind: 'audit_trail_pdf', fileName: 'audit-trail.pdf' },
        ]
      ).map((f, i) => makeFile(id, i, f)),
      deleted: false,
    };
    const finishedAt = spec.finishedAt ?? (phase === 'in_progress' ? undefined : new Date());
    if (finishedAt) envelope.finishedAt = finishedAt;
    this.envelopes.set(id, envelope);
    return envelope;
  }

  envelope(id: string): FakeEnvelope | undefined {
    return this.envelopes.get(id);
  }

  /** Moves an envelope to another phase (it finished meanwhile). */
  setPhase(id: string, phase: EnvelopePhase, status = STATUS_BY_PHASE[phase]): void {
    const envelope = this.require(id);
    envelope.phase = phase;
    envelope.status = status;
    if (phase !== 'in_progress') envelope.finishedAt ??= new Date();
  }

  /** Deletes an envelope as someone else would (another integration, a retention rule). */
  deleteBySomeoneElse(id: string): void {
    this.require(id).deleted = true;
  }

  /** A new token the fake accepts (under `sender_token`). */
  issueToken(): string {
    const token = `fake-token-${++this.counter}`;
    this.tokens.add(token);
    return token;
  }

  revokeToken(token: string): void {
    this.tokens.delete(token);
  }

  // -------------------------------------------------------------------------------------------------
  // Failures and the call log

  /** Matching calls of `method` fail with `failure` (once by default). */
  fail(method: FakeMethod, failure: FakeFailure, match: FakeMatch = {}): void {
    this.addRule(method, { kind: 'fail', failure }, match);
  }

  /** Matching calls of `method` answer only after `ms` (or reject at once when their signal aborts). */
  delay(method: FakeMethod, ms: number, match: FakeMatch = {}): void {
    this.addRule(method, { kind: 'latency', ms }, match);
  }

  /** Matching downloads send `afterBytes` bytes and then nothing, until their signal aborts. */
  stall(afterBytes: number, match: FakeMatch = {}): void {
    this.addRule('openFile', { kind: 'stall', afterBytes }, match);
  }

  clearFailures(): void {
    this.rules = [];
  }

  callsOf(method: FakeMethod, envelopeId?: string): FakeCallRecord[] {
    return this.calls.filter(
      (c) => c.method === method && (envelopeId === undefined || c.envelopeId === envelopeId),
    );
  }

  clearCalls(): void {
    this.calls.length = 0;
  }

  // -------------------------------------------------------------------------------------------------
  // SigningPlatform

  getEnvelope(envelopeId: string, call: PlatformCall): Promise<PlatformEnvelope> {
    return this.serve({ method: 'getEnvelope', envelopeId }, call, () => {
      const e = this.existing(envelopeId);
      return {
        id: e.id,
        phase: e.phase,
        status: e.status,
        name: e.name,
        sender: { ...e.sender },
        timeline: e.timeline.map((t) => ({ ...t })),
      };
    });
  }

  getMetadata(envelopeId: string, call: PlatformCall): Promise<EnvelopeMetadata> {
    return this.serve({ method: 'getMetadata', envelopeId }, call, () => {
      const { metadata } = this.existing(envelopeId);
      return {
        fields: { ...metadata.fields },
        ...(metadata.problem !== undefined && { problem: metadata.problem }),
      };
    });
  }

  listFiles(envelopeId: string, call: PlatformCall): Promise<PlatformFile[]> {
    return this.serve({ method: 'listFiles', envelopeId }, call, () =>
      this.existing(envelopeId).files.map(({ kind, fileId, fileName, pdf }) => ({
        kind,
        fileId,
        fileName,
        pdf,
      })),
    );
  }

  openFile(envelopeId: string, file: PlatformFile, call: PlatformCall): Promise<PlatformDownload> {
    return this.serve({ method: 'openFile', envelopeId, fileId: file.fileId }, call, (stall) => {
      const found = this.existing(envelopeId).files.find((f) => f.fileId === file.fileId);
      if (!found)
        throw new PlatformError(`fake: file ${file.fileId} not found`, 'NOT_FOUND', { status: 404 });
      const download: PlatformDownload = {
        stream: fileStream(found.bytes, stall, call.signal),
        contentType: found.contentType,
      };
      if (found.announceLength) download.contentLength = found.bytes.length;
      if (found.declaredSha256 !== undefined) download.sha256 = found.declaredSha256;
      return download;
    });
  }

  delete(envelopeId: string, call: PlatformCall): Promise<void> {
    return this.serve({ method: 'delete', envelopeId }, call, () => {
      const e = this.existing(envelopeId);
      // As the platforms do: an unfinished envelope must be canceled first.
      if (e.phase === 'in_progress') {
        throw new PlatformError(
          `fake: envelope ${envelopeId} is in progress and cannot be deleted`,
          'PROTOCOL',
          {
            status: 400,
          },
        );
      }
      e.deleted = true;
    });
  }

  private async *finishedSince(since: Date, call: PlatformCall): AsyncIterable<FinishedEnvelope> {
    const found = await this.serve({ method: 'listFinished' }, call, () =>
      [...this.envelopes.values()].filter(
        (e) => !e.deleted && e.phase !== 'in_progress' && e.finishedAt !== undefined && e.finishedAt >= since,
      ),
    );
    for (const e of found) {
      call.signal?.throwIfAborted();
      yield { id: e.id, phase: e.phase as FinishedEnvelope['phase'], finishedAt: e.finishedAt };
    }
  }

  // -------------------------------------------------------------------------------------------------

  /** Runs one call: credentials, injected effects, then `answer`; records the outcome. */
  private async serve<T>(
    at: { method: FakeMethod; envelopeId?: string; fileId?: string },
    call: PlatformCall,
    answer: (stallAfter: number | undefined) => T,
  ): Promise<T> {
    const record: FakeCallRecord = { ...at, outcome: 'ok' };
    if (call.token !== undefined) record.token = call.token;
    this.calls.push(record);
    try {
      call.signal?.throwIfAborted();
      this.checkCredential(call);
      const effects = this.takeEffects(at);
      for (const effect of effects) if (effect.kind === 'latency') await sleep(effect.ms, call.signal);
      const failure = effects.find((e) => e.kind === 'fail');
      if (failure) throw toError(failure.failure, at.method);
      const stall = effects.find((e) => e.kind === 'stall');
      return answer(stall?.afterBytes);
    } catch (error) {
      record.outcome =
        call.signal?.aborted && error === call.signal.reason
          ? 'aborted'
          : error instanceof PlatformError
            ? error.code
            : 'error';
      throw error;
    }
  }

  private checkCredential(call: PlatformCall): void {
    if (this.credentials.kind === 'instance') {
      if (call.token !== undefined) {
        throw new PlatformError('fake: an instance platform was given a token', 'PROTOCOL');
      }
      return;
    }
    if (call.token === undefined) throw new PlatformError('fake: no token given', 'PROTOCOL');
    if (!this.tokens.has(call.token)) {
      throw new PlatformError('fake: HTTP 401 (token refused)', 'UNAUTHORIZED', { status: 401 });
    }
  }

  private existing(envelopeId: string): FakeEnvelope {
    const e = this.envelopes.get(envelopeId);
    if (!e || e.deleted) {
      throw new PlatformError(`fake: envelope ${envelopeId} not found`, 'NOT_FOUND', { status: 404 });
    }
    return e;
  }

  private require(id: string): FakeEnvelope {
    const e = this.envelopes.get(id);
    if (!e) throw new Error(`no envelope ${id}`);
    return e;
  }

  private addRule(method: FakeMethod, effect: Effect, match: FakeMatch): void {
    const times = match.times ?? 1;
    if (!(times >= 1)) throw new Error('times must be at least 1');
    this.rules.push({ method, envelopeId: match.envelopeId, fileId: match.fileId, remaining: times, effect });
  }

  private takeEffects(at: { method: FakeMethod; envelopeId?: string; fileId?: string }): Effect[] {
    const effects: Effect[] = [];
    for (const rule of this.rules) {
      if (rule.method !== at.method) continue;
      if (rule.envelopeId !== undefined && rule.envelopeId !== at.envelopeId) continue;
      if (rule.fileId !== undefined && rule.fileId !== at.fileId) continue;
      effects.push(rule.effect);
      rule.remaining--;
    }
    this.rules = this.rules.filter((r) => r.remaining > 0);
    return effects;
  }
}

function makeFile(envelopeId: string, index: number, spec: FakeFileSpec): FakeFile {
  const kind = spec.kind ?? 'signed_document';
  const fileId = spec.fileId ?? `${envelopeId}-f${index + 1}`;
  const fileName = spec.fileName ?? `${kind}-${index + 1}.pdf`;
  const pdf = spec.pdf ?? /\.pdf$/i.test(fileName);
  const bytes =
    spec.bytes ?? (pdf ? pdfBytes(fileId, spec.size ?? 2_000) : xmlBytes(fileId, spec.size ?? 2_000));
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return {
    kind,
    fileId,
    fileName,
    pdf,
    bytes,
    sha256,
    contentType: spec.contentType ?? (pdf ? 'application/pdf' : 'application/xml'),
    announceLength: spec.announceLength ?? true,
    ...(spec.declaredSha256 !== undefined && {
      declaredSha256: spec.declaredSha256 === true ? sha256 : spec.declaredSha256,
    }),
  };
}

/** A PDF-shaped file of exactly `size` bytes whose content depends on `seed`. */
export function pdfBytes(seed: string, size: number): Buffer {
  const head = Buffer.from(`%PDF-1.7\n% ${seed}\n`, 'latin1');
  const tail = Buffer.from('\n%%EOF\n', 'latin1');
  const fill = Math.max(0, size - head.length - tail.length);
  const body = Buffer.alloc(fill);
  const pattern = createHash('sha256').update(seed).digest();
  for (let i = 0; i < fill; i++) body[i] = 0x20 + (pattern[i % pattern.length] % 90);
  return Buffer.concat([head, body, tail]);
}

function xmlBytes(seed: string, size: number): Buffer {
  const head = `<?xml version="1.0" encoding="utf-8"?>\n<AuditTrail Id="${seed}">`;
  const tail = '</AuditTrail>\n';
  return Buffer.from(head + 'x'.repeat(Math.max(0, size - head.length - tail.length)) + tail, 'utf8');
}

function toError(failure: FakeFailure, method: FakeMethod): Error {
  if (failure instanceof Error) return failure;
  const { code, retryAfterMs } =
    typeof failure === 'string' ? { code: failure, retryAfterMs: undefined } : failure;
  const status = STATUS_BY_CODE[code];
  return new PlatformError(`fake: ${method} failed${status ? ` (HTTP ${status})` : ''}`, code, {
    ...(status !== undefined && { status }),
    ...(retryAfterMs !== undefined && { retryAfterMs }),
  });
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The file's bytes in chunks; stops after `stallAfter` bytes if set; fails with the signal's reason on abort. */
function fileStream(
  bytes: Buffer,
  stallAfter: number | undefined,
  signal: AbortSignal | undefined,
): Readable {
  const limit = stallAfter === undefined ? bytes.length : Math.min(stallAfter, bytes.length);
  let offset = 0;
  const stream = new Readable({
    read() {
      if (offset < limit) {
        const end = Math.min(offset + CHUNK_BYTES, limit);
        this.push(bytes.subarray(offset, end));
        offset = end;
      } else if (stallAfter === undefined || limit === bytes.length) {
        this.push(null);
      }
      // Stalled: nothing more until the signal aborts or the reader destroys the stream.
    },
  });
  if (signal) {
    const onAbort = (): void => {
      stream.destroy(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    stream.once('close', () => signal.removeEventListener('abort', onAbort));
  }
  return stream;
}
