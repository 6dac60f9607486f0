import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { PlatformError, type PlatformErrorCode } from '../../../src/platforms/platform-error';
import type {
  CredentialStrategy,
  EnvelopePhase,
  FinishedEnvelope,
  PlatformCall,
  PlatformFile,
  SigningPlatform,
} from '../../../src/platforms/signing-platform';
import { DOCUMENT_KINDS } from '../../../src/transfers/transfer-document.entity';

/**
 * One contract for every `SigningPlatform` adapter, run against the platform's simulator over HTTP.
 * It checks what the archive pipeline relies on, in the core's words: phases, the raw status word, file
 * kinds and bytes, metadata as text, delete semantics, the shared error codes and cancellation.
 */

/** The calls of a `SigningPlatform`, by name. */
export type PlatformOperation =
  'getEnvelope' | 'getMetadata' | 'listFiles' | 'openFile' | 'delete' | 'listFinished';

/** What the next call meets instead of a normal answer, in platform-neutral terms. */
export type InjectedFault =
  /** HTTP 401: the credential is refused. */
  | { kind: 'unauthorized' }
  /** HTTP 404 (or the platform's own "missing" answer). */
  | { kind: 'not_found' }
  /** HTTP 429 with `Retry-After` in seconds. */
  | { kind: 'rate_limited'; retryAfterSeconds: number }
  /** A 5xx status. */
  | { kind: 'server_error'; status: number }
  /** A success status whose body is not the format the call expects (JSON calls only). */
  | { kind: 'malformed' }
  /** The answer starts only after this long. */
  | { kind: 'slow'; ms: number }
  /** A file's body stops after this many bytes while the connection stays open (openFile only). */
  | { kind: 'stall'; afterBytes: number };

/** A file the harness put into an envelope, as `listFiles` and `openFile` must give it. */
export interface SeededFile {
  kind: PlatformFile['kind'];
  /** The name `listFiles` must give, where the platform fixes it (left out where the adapter names it). */
  fileName?: string;
  pdf: boolean;
  size: number;
  sha256: string;
}

/** An envelope the harness created on the simulator. */
export interface SeededEnvelope {
  id: string;
  phase: EnvelopePhase;
  /** The platform's own status word for the envelope. */
  status: string;
  name: string;
  senderEmail?: string;
  /** Every file `listFiles` must give (not checked for envelopes in progress). */
  files: SeededFile[];
  /** The fields `getMetadata` must give. */
  metadata: Record<string, string>;
}

/** What the contract needs from a platform's test side: its simulator, adapter, seeds and fault knobs. */
export interface PlatformHarness {
  /** What the adapter's `name` must be. */
  readonly platformName: string;
  readonly credentials: CredentialStrategy['kind'];
  /** Whether the adapter implements `listFinished`. */
  readonly supportsListFinished: boolean;
  /** Whether `openFile` always announces the file's length. */
  readonly announcesLength: boolean;
  /** How many signed documents an envelope can hold at most (Legalesign: one); default unbounded. */
  readonly maxSignedDocuments?: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The adapter under test against the simulator; client retries off (or few and fast). */
  platform(): SigningPlatform;
  /** A call with working credentials: a token under `sender_token`, none under `instance`. */
  call(signal?: AbortSignal): PlatformCall;
  /** An adapter and a call whose credential the platform refuses (a revoked token, a wrong API key). */
  refusedCredential(): Promise<{ platform: SigningPlatform; call: PlatformCall }>;
  /** A completed envelope with `documents` signed documents (and whatever the platform adds) and metadata. */
  seedCompleted(options: { documents: number }): Promise<SeededEnvelope>;
  seedInProgress(): Promise<SeededEnvelope>;
  /** One envelope for each way the platform ends an envelope without completion. */
  seedEnded(): Promise<SeededEnvelope[]>;
  /** An id of the platform's shape that names no envelope. */
  missingEnvelopeId(): string;
  /** The next call of `operation` (about `envelopeId`, when given) meets `fault`. */
  failNext(operation: PlatformOperation, fault: InjectedFault, envelopeId?: string): void;
  /** Drops faults that were not used up. */
  clearFaults(): void;
}

/** The file id rule of the archive pipeline: printable ASCII, at most 256 characters. */
const USABLE_FILE_ID = /^[\x21-\x7e]{1,256}$/;
const FILE_KINDS = DOCUMENT_KINDS.filter((k) => k !== 'manifest');
/** How long a call may take to give up once its signal is aborted. */
const PROMPT_MS = 1_500;
/** How long a slowed answer waits: far longer than `PROMPT_MS`. */
const SLOW_MS = 3_000;
const T = { timeout: 20_000 };

/** Awaits a rejection and checks it is a `PlatformError` with this code. */
export async function expectPlatformError(
  promise: Promise<unknown>,
  code: PlatformErrorCode,
): Promise<PlatformError> {
  let caught: unknown;
  let settled = false;
  try {
    await promise;
    settled = true;
  } catch (error) {
    caught = error;
  }
  assert.equal(settled, false, `expected a rejection with ${code}, got a result`);
  assert.ok(caught instanceof PlatformError, `expected a PlatformError ${code}, got ${inspect(caught)}`);
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`);
  return caught;
}

/** Reads a stream to its end: sha256, size and the first and last bytes. */
async function digest(
  stream: Readable,
): Promise<{ sha256: string; size: number; head: string; tail: string }> {
  const hash = createHash('sha256');
  let size = 0;
  let head = Buffer.alloc(0);
  let tail = Buffer.alloc(0);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
    if (head.length < 8) head = Buffer.concat([head, chunk.subarray(0, 8 - head.length)]);
    tail = Buffer.concat([tail, chunk]).subarray(-1024);
  }
  return { sha256: hash.digest('hex'), size, head: head.toString('latin1'), tail: tail.toString('latin1') };
}

/** Whether `error` is the caller's own abort: the reason itself, an error caused by it, or an AbortError. */
function isAbortOutcome(error: unknown, reason: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 6; depth++) {
    if (e === reason) return true;
    if (e instanceof Error && e.name === 'AbortError') return true;
    e = e instanceof Error ? e.cause : undefined;
  }
  return false;
}

/** Runs `start` with a signal aborted after `afterMs`; checks it rejects with that abort, promptly. */
async function expectPromptAbort(start: (signal: AbortSignal) => Promise<unknown>, afterMs = 100) {
  const controller = new AbortController();
  const reason = new Error('the caller stopped waiting');
  const began = Date.now();
  const timer = setTimeout(() => controller.abort(reason), afterMs);
  let caught: unknown;
  let settled = false;
  try {
    await start(controller.signal);
    settled = true;
  } catch (error) {
    caught = error;
  } finally {
    clearTimeout(timer);
  }
  const elapsed = Date.now() - began;
  assert.equal(settled, false, 'the call succeeded although its signal was aborted');
  assert.ok(isAbortOutcome(caught, reason), `expected the abort to surface, got ${inspect(caught)}`);
  assert.ok(elapsed < afterMs + PROMPT_MS, `the call took ${elapsed} ms to give up after its abort`);
}

/**
 * Registers the contract suite for one platform. `harnessFactory` is called once; the suite starts
 * and stops the harness itself.
 */
export function runSigningPlatformContract(name: string, harnessFactory: () => PlatformHarness): void {
  describe(`${name} keeps the SigningPlatform contract`, () => {
    const harness = harnessFactory();
    let platform: SigningPlatform;
    let completed: SeededEnvelope;
    let inProgress: SeededEnvelope;
    let ended: SeededEnvelope[];
    /** Faults are aimed at this one, so a fault that slips through cannot disturb other checks. */
    let target: SeededEnvelope;
    let targetFile: PlatformFile;
    let seededSince: Date;
    const DOCUMENTS = 3;

    before(async () => {
      await harness.start();
      platform = harness.platform();
      // Listings for reconciliation may round to the second: look from a little before the seeds.
      seededSince = new Date(Date.now() - 2_000);
      completed = await harness.seedCompleted({ documents: DOCUMENTS });
      inProgress = await harness.seedInProgress();
      ended = await harness.seedEnded();
      target = await harness.seedCompleted({ documents: 1 });
      const files = await platform.listFiles(target.id, harness.call());
      const signed = files.find((f) => f.kind === 'signed_document');
      assert.ok(signed, 'the fault target lists no signed document');
      targetFile = signed;
    });

    after(async () => {
      await harness.stop();
    });

    /** Opens every listed file and matches it, by its bytes, to exactly one seeded file. */
    async function checkFiles(envelope: SeededEnvelope): Promise<void> {
      const listed = await platform.listFiles(envelope.id, harness.call());
      assert.equal(
        listed.length,
        envelope.files.length,
        `${envelope.status}: ${listed.length} files listed, ${envelope.files.length} seeded`,
      );
      const keys = new Set(listed.map((f) => `${f.kind}\u0000${f.fileId}`));
      assert.equal(keys.size, listed.length, 'a (kind, file id) pair is listed twice');
      const unmatched = [...envelope.files];
      for (const file of listed) {
        assert.ok(FILE_KINDS.includes(file.kind), `kind ${file.kind} is not in the core vocabulary`);
        assert.match(file.fileId, USABLE_FILE_ID, `file id ${JSON.stringify(file.fileId)} is not usable`);
        assert.equal(typeof file.fileName, 'string');
        assert.ok(file.fileName.trim().length > 0, `${file.kind} ${file.fileId} has no name`);
        assert.equal(typeof file.pdf, 'boolean');

        const download = await platform.openFile(envelope.id, file, harness.call());
        const got = await digest(download.stream);
        if (harness.announcesLength || download.contentLength !== undefined) {
          assert.equal(download.contentLength, got.size, `${file.fileName}: announced length is wrong`);
        }
        const index = unmatched.findIndex((s) => s.sha256 === got.sha256);
        assert.ok(index >= 0, `${file.kind} ${file.fileName}: ${got.size} bytes that no seeded file has`);
        const [seeded] = unmatched.splice(index, 1);
        assert.equal(file.kind, seeded.kind, `${file.fileName}: kind`);
        assert.equal(got.size, seeded.size, `${file.fileName}: size`);
        assert.equal(file.pdf, seeded.pdf, `${file.fileName}: PDF flag`);
        if (seeded.fileName !== undefined) assert.equal(file.fileName, seeded.fileName);
        if (file.pdf) {
          assert.equal(got.head.slice(0, 5), '%PDF-', `${file.fileName} is flagged PDF but is not one`);
          assert.match(got.tail, /%%EOF\s*$/, `${file.fileName} is flagged PDF but does not end as one`);
        }
      }
      assert.deepEqual(unmatched, [], 'seeded files that were not listed');
    }

    describe('identity', () => {
      it('names itself, says how people call it, and declares its credential strategy', T, () => {
        assert.equal(platform.name, harness.platformName);
        assert.equal(typeof platform.display.name, 'string');
        assert.ok(platform.display.name.trim().length > 0, 'no display name');
        assert.equal(platform.credentials.kind, harness.credentials);
        const call = harness.call();
        if (harness.credentials === 'sender_token') {
          assert.equal(typeof call.token, 'string', 'a sender_token platform is called with a token');
          if (platform.credentials.kind === 'sender_token')
            assert.match(platform.credentials.fallbackTokenSetting, /^[A-Z][A-Z0-9_]*$/);
        } else {
          assert.equal(call.token, undefined, 'an instance platform is called without a token');
        }
        const path = platform.display.consentPath?.('user-1');
        if (path !== undefined) assert.match(path, /^\/[^/]/);
      });
    });

    describe('phases and status words', () => {
      it('a completed envelope is phase completed, with the platform status word kept raw', T, async () => {
        const envelope = await platform.getEnvelope(completed.id, harness.call());
        assert.equal(envelope.phase, 'completed');
        assert.equal(envelope.status, completed.status);
      });

      it('an envelope in progress is phase in_progress, with its raw status word', T, async () => {
        const envelope = await platform.getEnvelope(inProgress.id, harness.call());
        assert.equal(envelope.phase, 'in_progress');
        assert.equal(envelope.status, inProgress.status);
      });

      it('every way of ending without completion is phase ended, with its raw status word', T, async () => {
        assert.ok(ended.length > 0, 'the harness seeds no ended envelope');
        for (const seeded of ended) {
          assert.equal(seeded.phase, 'ended');
          const envelope = await platform.getEnvelope(seeded.id, harness.call());
          assert.deepEqual([envelope.phase, envelope.status], ['ended', seeded.status]);
        }
        assert.equal(new Set(ended.map((e) => e.status)).size, ended.length, 'ended seeds repeat a status');
      });

      it('getEnvelope reports the id, name, sender and timeline as text', T, async () => {
        const envelope = await platform.getEnvelope(completed.id, harness.call());
        assert.equal(envelope.id, completed.id);
        assert.equal(envelope.name, completed.name);
        if (completed.senderEmail !== undefined) assert.equal(envelope.sender.email, completed.senderEmail);
        if (envelope.sentDate !== undefined) assert.ok(!Number.isNaN(Date.parse(envelope.sentDate)));
        assert.ok(Array.isArray(envelope.timeline));
        for (const entry of envelope.timeline) {
          assert.equal(typeof entry.id, 'string');
          assert.equal(typeof entry.status, 'string');
          for (const date of [entry.finishedDate, entry.openedDate]) {
            if (date !== undefined) assert.ok(!Number.isNaN(Date.parse(date)), `bad date ${date}`);
          }
        }
      });
    });

    describe('files', () => {
      it(
        'a completed envelope lists every seeded file, of core kinds, each streaming its exact bytes',
        T,
        async () => {
          assert.equal(
            completed.files.filter((f) => f.kind === 'signed_document').length,
            Math.min(DOCUMENTS, harness.maxSignedDocuments ?? DOCUMENTS),
            'the harness seeded another number of signed documents',
          );
          await checkFiles(completed);
        },
      );

      it('ended envelopes list what exists, each file streaming its exact bytes', T, async () => {
        for (const seeded of ended) await checkFiles(seeded);
      });
    });

    describe('metadata', () => {
      it('getMetadata gives the seeded fields as text', T, async () => {
        assert.ok(Object.keys(completed.metadata).length > 0, 'the harness seeds no metadata');
        for (const seeded of [completed, inProgress, ...ended]) {
          const metadata = await platform.getMetadata(seeded.id, harness.call());
          for (const [key, value] of Object.entries(metadata.fields)) {
            assert.equal(typeof value, 'string', `metadata field ${key} is not text`);
          }
          assert.deepEqual({ ...metadata.fields }, seeded.metadata);
          assert.equal(metadata.problem, undefined, `metadata problem: ${metadata.problem}`);
        }
      });
    });

    describe('delete', () => {
      it(
        'deletes once: then the envelope, its metadata, files and a second delete are NOT_FOUND',
        T,
        async () => {
          const doomed = await harness.seedCompleted({ documents: 1 });
          const [file] = await platform.listFiles(doomed.id, harness.call());
          await platform.delete(doomed.id, harness.call());
          await expectPlatformError(platform.getEnvelope(doomed.id, harness.call()), 'NOT_FOUND');
          await expectPlatformError(platform.getMetadata(doomed.id, harness.call()), 'NOT_FOUND');
          await expectPlatformError(platform.listFiles(doomed.id, harness.call()), 'NOT_FOUND');
          await expectPlatformError(platform.openFile(doomed.id, file, harness.call()), 'NOT_FOUND');
          // The pipeline takes this answer for "already deleted": done.
          await expectPlatformError(platform.delete(doomed.id, harness.call()), 'NOT_FOUND');
          // Other envelopes are untouched.
          assert.equal((await platform.getEnvelope(completed.id, harness.call())).phase, 'completed');
        },
      );
    });

    describe('errors', () => {
      it('an envelope that does not exist is NOT_FOUND for every envelope call', T, async () => {
        const missing = harness.missingEnvelopeId();
        await expectPlatformError(platform.getEnvelope(missing, harness.call()), 'NOT_FOUND');
        await expectPlatformError(platform.getMetadata(missing, harness.call()), 'NOT_FOUND');
        await expectPlatformError(platform.listFiles(missing, harness.call()), 'NOT_FOUND');
        await expectPlatformError(platform.delete(missing, harness.call()), 'NOT_FOUND');
      });

      it('a refused credential is UNAUTHORIZED for every call, and deletes nothing', T, async () => {
        const refused = await harness.refusedCredential();
        const p = refused.platform;
        await expectPlatformError(p.getEnvelope(target.id, refused.call), 'UNAUTHORIZED');
        await expectPlatformError(p.getMetadata(target.id, refused.call), 'UNAUTHORIZED');
        await expectPlatformError(p.listFiles(target.id, refused.call), 'UNAUTHORIZED');
        await expectPlatformError(p.openFile(target.id, targetFile, refused.call), 'UNAUTHORIZED');
        await expectPlatformError(p.delete(target.id, refused.call), 'UNAUTHORIZED');
        assert.equal((await platform.getEnvelope(target.id, harness.call())).phase, 'completed');
      });

      /** Each envelope call on the fault target, with an optional signal. */
      const calls: [PlatformOperation, (signal?: AbortSignal) => Promise<unknown>][] = [
        ['getEnvelope', (signal) => platform.getEnvelope(target.id, harness.call(signal))],
        ['getMetadata', (signal) => platform.getMetadata(target.id, harness.call(signal))],
        ['listFiles', (signal) => platform.listFiles(target.id, harness.call(signal))],
        ['openFile', (signal) => platform.openFile(target.id, targetFile, harness.call(signal))],
        ['delete', (signal) => platform.delete(target.id, harness.call(signal))],
      ];
      const statusFaults: [string, InjectedFault, PlatformErrorCode][] = [
        ['HTTP 401', { kind: 'unauthorized' }, 'UNAUTHORIZED'],
        ['HTTP 404', { kind: 'not_found' }, 'NOT_FOUND'],
        ['HTTP 503', { kind: 'server_error', status: 503 }, 'TRANSIENT'],
        ['HTTP 500', { kind: 'server_error', status: 500 }, 'TRANSIENT'],
      ];
      for (const [operation, run] of calls) {
        for (const [label, fault, code] of statusFaults) {
          it(`${operation}: ${label} is ${code}`, T, async () => {
            harness.failNext(operation, fault, target.id);
            try {
              await expectPlatformError(run(), code);
            } finally {
              harness.clearFaults();
            }
          });
        }

        it(
          `${operation}: a throttle is RATE_LIMITED or TRANSIENT, with the wait the platform asked for`,
          T,
          async () => {
            harness.failNext(operation, { kind: 'rate_limited', retryAfterSeconds: 7 }, target.id);
            let caught: unknown;
            await run()
              .catch((error: unknown) => (caught = error))
              .finally(() => harness.clearFaults());
            assert.ok(caught instanceof PlatformError, `expected a PlatformError, got ${inspect(caught)}`);
            assert.ok(['RATE_LIMITED', 'TRANSIENT'].includes(caught.code), `got ${caught.code}`);
            assert.equal(caught.retryAfterMs, 7_000);
          },
        );

        it(`${operation}: an aborted signal rejects promptly`, T, async () => {
          harness.failNext(operation, { kind: 'slow', ms: SLOW_MS }, target.id);
          try {
            await expectPromptAbort(run);
          } finally {
            harness.clearFaults();
          }
        });
      }

      for (const [operation, run] of calls.filter(([op]) => op !== 'openFile' && op !== 'delete')) {
        it(`${operation}: an answer that is not the expected format is PROTOCOL`, T, async () => {
          harness.failNext(operation, { kind: 'malformed' }, target.id);
          try {
            await expectPlatformError(run(), 'PROTOCOL');
          } finally {
            harness.clearFaults();
          }
        });
      }

      it('a signal aborted before the call rejects it at once', T, async () => {
        const controller = new AbortController();
        const reason = new Error('stopped before it began');
        controller.abort(reason);
        const began = Date.now();
        for (const [, run] of calls) {
          let caught: unknown;
          await run(controller.signal).catch((error: unknown) => (caught = error));
          assert.ok(isAbortOutcome(caught, reason), `expected the abort, got ${inspect(caught)}`);
        }
        assert.ok(Date.now() - began < PROMPT_MS);
        assert.equal((await platform.getEnvelope(target.id, harness.call())).phase, 'completed');
      });

      it('aborting while a file streams ends the stream promptly with that abort', T, async () => {
        harness.failNext('openFile', { kind: 'stall', afterBytes: 1000 }, target.id);
        const controller = new AbortController();
        const reason = new Error('the lease was lost');
        const download = await platform.openFile(target.id, targetFile, harness.call(controller.signal));
        let received = 0;
        const began = Date.now();
        const reading = (async () => {
          for await (const chunk of download.stream as AsyncIterable<Buffer>) {
            received += chunk.length;
            if (received >= 1000) controller.abort(reason);
          }
        })();
        let caught: unknown;
        await reading.catch((error: unknown) => (caught = error));
        harness.clearFaults();
        assert.equal(received, 1000);
        assert.ok(isAbortOutcome(caught, reason), `expected the abort, got ${inspect(caught)}`);
        assert.ok(Date.now() - began < PROMPT_MS, 'the stream did not end promptly');
      });
    });

    describe('listFinished', () => {
      it('is present exactly when the harness says the platform supports it', T, () => {
        assert.equal(typeof platform.listFinished === 'function', harness.supportsListFinished);
      });

      // Registered only where it exists: a skipped test would not be a pass.
      if (harness.supportsListFinished) {
        it(
          'yields the finished envelopes since a date with their phase, and not the one in progress',
          T,
          async () => {
            const found = new Map<string, FinishedEnvelope>();
            for await (const item of platform.listFinished!(seededSince, harness.call())) {
              assert.ok(
                ['completed', 'ended'].includes(item.phase),
                `phase ${item.phase} listed as finished`,
              );
              if (item.finishedAt !== undefined) assert.ok(!Number.isNaN(item.finishedAt.getTime()));
              found.set(item.id, item);
            }
            for (const seeded of [completed, ...ended]) {
              assert.equal(found.get(seeded.id)?.phase, seeded.phase, `${seeded.status} envelope not listed`);
            }
            assert.equal(found.has(inProgress.id), false, 'the envelope in progress is listed');
          },
        );

        it('listFinished: an aborted signal rejects promptly', T, async () => {
          harness.failNext('listFinished', { kind: 'slow', ms: SLOW_MS });
          try {
            await expectPromptAbort(async (signal) => {
              for await (const item of platform.listFinished!(seededSince, harness.call(signal))) void item;
            });
          } finally {
            harness.clearFaults();
          }
        });
      }
    });
  });
}
