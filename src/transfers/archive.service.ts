import { pipeline, type Readable } from 'node:stream';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { ArchiveConfig, StorageConfig } from '../config/app-config';
import { archiveConfig, storageConfig } from '../config/config.schema';
import { runPool } from '../common/run-pool';
import { queryRows } from '../database/query-rows';
import { TransferNotices, type NoticeSubject } from '../notifications/transfer-notices';
import {
  SIGNING_PLATFORMS,
  type EnvelopeMetadata,
  type PlatformCall,
  type PlatformEnvelope,
  type PlatformFile,
  type SigningPlatform,
  type SigningPlatforms,
} from '../platforms/signing-platform';
import { SenderTokenResolver, type SenderRef } from '../senders/sender-token.resolver';
import { escapeUntrusted } from '../common/untrusted-text';
import { idKeySegment, safeFileName, truncateUtf8 } from '../storage/object-keys';
import { normaliseTagKey } from '../storage/s3-tags';
import { OBJECT_STORE, type ObjectStore } from '../storage/object-store';
import { ArchiveError, classifyError } from './archive-error';
import { MetricsService } from '../metrics/metrics.service';
import { metadataTags } from './envelope-metadata';
import { DownloadGuard } from './download-guard.transform';
import { DeclaredChecksumCheck } from './declared-checksum.transform';
import { PdfSignatureCheck } from './pdf-signature.transform';
import { decideAfterError, type RetryDecision } from './retry-policy';
import { TransferRepository, type ClaimedTransfer, type TransitionPatch } from './transfer.repository';
import type { DocumentKind } from './transfer-document.entity';
import type { TransferState } from './transfer-state';
import { WORKER_VERSION } from './worker-identity';

interface DocumentRow {
  id: string;
  kind: DocumentKind;
  platformFileId: string;
  fileName: string;
  s3Key: string;
  size: string | null;
  sha256: string | null;
  platformSha256: string | null;
  verifiedAt: Date | null;
}

const DOCUMENT_COLUMNS = `id, kind, platform_file_id AS "platformFileId", file_name AS "fileName",
  s3_key AS "s3Key", size, sha256, platform_sha256 AS "platformSha256", verified_at AS "verifiedAt"`;

/** Tags the service always sets; they win over look-alikes in the metadata. The rest of S3's ten come from the metadata. */
const SYSTEM_TAGS = ['platform', 'envelope-status', 'document-kind'] as const;
/** What an ended envelope always keeps: its audit trails, the envelope's and each document's. */
const AUDIT_TRAIL_KINDS: readonly string[] = [
  'audit_trail_pdf',
  'audit_trail_xml',
  'audit_trail_json',
  'document_audit_trail',
];
/** A platform's file name as kept in the database, the manifest and the object's metadata. */
const MAX_NAME_CHARS = 512;
const MAX_NAME_METADATA_BYTES = 700;
/** A platform file id the service can store and ask for again. */
const USABLE_FILE_ID = /^[\x21-\x7e]{1,256}$/;

/**
 * Archives one claimed transfer: confirm the envelope on the platform, copy every file to the
 * object store and prove each copy, write the manifest, then delete the envelope on the platform.
 * Every step is resumable: what is verified is never copied again, and the delete happens only
 * after everything is verified.
 */
@Injectable()
export class ArchiveService {
  private readonly logger = new Logger(ArchiveService.name);

  constructor(
    @Inject(archiveConfig.KEY) private readonly config: ArchiveConfig,
    @Inject(storageConfig.KEY) private readonly storage: StorageConfig,
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(SIGNING_PLATFORMS) private readonly platforms: SigningPlatforms,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    private readonly claims: TransferRepository,
    private readonly tokens: SenderTokenResolver,
    private readonly notices: TransferNotices,
    private readonly metrics: MetricsService,
  ) {}

  /** Runs the pipeline for a claimed transfer and returns the state it was left in. */
  async run(claim: ClaimedTransfer, signal: AbortSignal): Promise<TransferState> {
    let sender: SenderRef | null = null;
    let outcome: TransferState;
    let failure: ArchiveError | undefined;
    const platform = this.platforms.get(claim.platform);
    try {
      if (!platform) throw new ArchiveError(`no platform instance is named ${claim.platform}`, 'INTERNAL');
      const resolution = await this.tokens.resolve(platform, claim.envelopeId);
      if (resolution.kind === 'none') {
        throw new ArchiveError(
          `no API token is known for this envelope (no sender, no ${resolution.fallbackTokenSetting})`,
          'NO_TOKEN',
        );
      }
      if (resolution.kind === 'needs_consent') {
        sender = resolution.sender;
        throw new ArchiveError(
          `sender ${resolution.sender.platformUserId} has not granted API access`,
          'UNAUTHORIZED',
        );
      }
      const call: PlatformCall =
        resolution.kind === 'token' ? { token: resolution.token, signal } : { signal };
      sender = resolution.kind === 'token' ? resolution.sender : null;
      outcome = await this.archive(claim, platform, call, sender);
    } catch (error) {
      failure = classifyError(error);
      if (failure.errorClass === 'LEASE_LOST') {
        this.logger.warn('lease lost; another worker continues this transfer');
        await this.finishAttempt(claim.attemptId, 'lease_lost', failure);
        return 'checking';
      }
      outcome = await this.handleFailure(claim, failure, sender, platform);
    }
    await this.finishAttempt(claim.attemptId, outcome, failure);
    this.metrics.attemptFinished(outcome, failure?.errorClass);
    return outcome;
  }

  private async archive(
    claim: ClaimedTransfer,
    platform: SigningPlatform,
    call: PlatformCall,
    sender: SenderRef | null,
  ): Promise<TransferState> {
    const signal = call.signal!;
    if (!claim.archivedAt) {
      const envelope = await platform.getEnvelope(claim.envelopeId, call);
      claim.progressAt = Date.now();
      const senderEmail = envelope.sender.email ?? null;
      if (sender && senderEmail && sender.email !== senderEmail)
        await this.tokens.rememberEmail(sender.senderId, senderEmail);
      if (envelope.phase === 'in_progress') return this.waitForFinish(claim, envelope, senderEmail);

      // Marking the transfer `archiving` and reading what to copy overlap; nothing is copied before both.
      const [, metadata, listed] = await Promise.all([
        this.claims.transition(claim, {
          state: 'archiving',
          envelopeStatus: envelope.status,
          senderEmail,
          envelopeName: envelope.name,
        }),
        platform.getMetadata(claim.envelopeId, call),
        platform.listFiles(claim.envelopeId, call),
      ]);
      claim.progressAt = Date.now();
      this.logger.log(`envelope is ${envelope.status}; archiving`);
      if (metadata.problem) this.logger.warn(`metadata: ${metadata.problem}`);
      const files = this.selectFiles(envelope, listed);
      const documents = await this.planDocuments(claim, files);
      const tags = this.tagsFor(claim, envelope, metadata);

      // A few files of one envelope at a time: the per-file round trips overlap.
      const pending = documents.filter((d) => !d.verifiedAt); // the rest was proven by an earlier attempt
      // An earlier attempt that died mid-copy may have left staged parts; only this transfer's go.
      if (claim.attempts > 1 && pending.length > 0) {
        const swept = await this.store.clearStaging(claim.id);
        if (swept.objects + swept.uploads > 0)
          this.logger.log(`cleared ${swept.uploads} upload(s), ${swept.objects} staged object(s)`);
      }
      await runPool(pending, this.config.ARCHIVE_FILE_CONCURRENCY, async (doc) => {
        signal.throwIfAborted();
        const file = files.find((f) => f.kind === doc.kind && f.fileId === doc.platformFileId);
        await this.copyDocument(claim, platform, call, envelope, doc, file?.pdf ?? false, tags);
        claim.progressAt = Date.now();
      });
      await this.writeManifest(claim, envelope, metadata, tags, documents);
      await this.claims.transition(claim, {
        state: 'archiving',
        archived: true,
        // Archived anyway, without the metadata's tags: ops see why.
        warning: metadata.problem ? `metadata unusable: ${metadata.problem}` : null,
      });
      claim.archivedAt = new Date();
      this.logger.log(`all ${documents.length} documents verified in the object store`);
    }
    return this.deleteOnPlatform(claim, platform, call);
  }

  private async waitForFinish(
    claim: ClaimedTransfer,
    envelope: PlatformEnvelope,
    senderEmail: string | null,
  ): Promise<TransferState> {
    const age = Date.now() - claim.ageFrom.getTime();
    if (age >= this.config.ARCHIVE_ACTIVE_WINDOW) {
      throw new ArchiveError(
        `the envelope is still ${envelope.status} ${Math.round(age / 3_600_000)} h after its callback`,
        'NEVER_FINISHED',
      );
    }
    // Re-check soon at first (the platform's post-processing takes a moment), then more rarely: a
    // quarter of the time waited so far, capped at an hour. Checks are not attempts: an envelope that
    // is slow to finish must not use up the retries its archiving may need later.
    const delay = Math.min(Math.max(this.config.RETRY_BASE_DELAY_MS, age / 4), 3_600_000);
    await this.claims.transition(claim, {
      state: 'waiting',
      envelopeStatus: envelope.status,
      senderEmail,
      cause: 'not_finished_yet',
      delayMs: Math.min(delay, Math.max(1000, this.config.ARCHIVE_ACTIVE_WINDOW - age)),
      uncountAttempt: true,
    });
    this.logger.log(`envelope is ${envelope.status}; checking again later`);
    return 'waiting';
  }

  /** Completed envelopes: everything. Others: the audit trail, and what exists if configured so. */
  private selectFiles(envelope: PlatformEnvelope, files: PlatformFile[]): PlatformFile[] {
    const unusable = files.find((f) => !USABLE_FILE_ID.test(f.fileId));
    if (unusable) {
      throw new ArchiveError(
        `the platform lists a file whose id cannot be used: ${escapeUntrusted(unusable.fileId, 80)}`,
        'PROTOCOL',
      );
    }
    // Nothing signed to keep for a completed envelope is a platform answer to look at, never an empty
    // archive followed by a delete.
    if (envelope.phase === 'completed' && !files.some((f) => f.kind === 'signed_document')) {
      throw new ArchiveError('the platform lists no signed document for the completed envelope', 'PROTOCOL');
    }
    if (envelope.phase === 'completed' || this.config.ARCHIVE_UNFINISHED_DOCUMENTS) return files;
    return files.filter((f) => AUDIT_TRAIL_KINDS.includes(f.kind));
  }

  /** Records every file to copy with its object key; keys chosen once stay the same on retries. */
  private async planDocuments(claim: ClaimedTransfer, files: PlatformFile[]): Promise<DocumentRow[]> {
    const existing = await this.loadDocuments(claim.id);
    const base = this.baseKey(claim);
    const used = new Map<string, Set<string>>();
    for (const doc of existing) {
      const folder = used.get(doc.kind) ?? new Set<string>();
      folder.add(doc.s3Key.slice(doc.s3Key.lastIndexOf('/') + 1));
      used.set(doc.kind, folder);
    }
    const fresh = files.filter(
      (f) => !existing.some((d) => d.kind === f.kind && d.platformFileId === f.fileId),
    );
    if (fresh.length === 0) return existing.filter((d) => d.kind !== 'manifest');
    const keys = fresh.map((file) => {
      const folder = used.get(file.kind) ?? new Set<string>();
      used.set(file.kind, folder);
      return this.fullKey(`${base}/${file.kind}/${safeFileName(file.fileName, folder)}`);
    });
    const inserted: DocumentRow[] = await this.dataSource.query(
      `INSERT INTO transfer_documents (transfer_id, kind, platform_file_id, file_name, s3_key)
       SELECT $1::uuid, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])
        WHERE EXISTS (SELECT 1 FROM transfers t WHERE t.id = $1::uuid AND t.claim_token = $6)
       ON CONFLICT ON CONSTRAINT uq_transfer_documents_file DO NOTHING
       RETURNING ${DOCUMENT_COLUMNS}`,
      [
        claim.id,
        fresh.map((f) => f.kind),
        fresh.map((f) => f.fileId),
        fresh.map((f) => escapeUntrusted(f.fileName, MAX_NAME_CHARS)),
        keys,
        claim.claimToken,
      ],
    );
    // A row that was there already (written meanwhile) is read back rather than guessed.
    const rows =
      inserted.length === fresh.length
        ? [...existing, ...inserted].sort((a, b) => Number(a.id) - Number(b.id))
        : await this.loadDocuments(claim.id);
    return rows.filter((d) => d.kind !== 'manifest');
  }

  private async copyDocument(
    claim: ClaimedTransfer,
    platform: SigningPlatform,
    call: PlatformCall,
    envelope: PlatformEnvelope,
    doc: DocumentRow,
    pdf: boolean,
    tags: Record<string, string>,
  ): Promise<void> {
    const started = Date.now();
    const signal = call.signal!;
    const file: PlatformFile = {
      kind: doc.kind as PlatformFile['kind'],
      fileId: doc.platformFileId,
      fileName: doc.fileName,
      pdf,
    };
    const download = await platform.openFile(claim.envelopeId, file, call).catch((error: unknown) => {
      // The envelope lists the file: a 404 for it is a failure to look at, not a vanished envelope.
      if (classifyError(error).errorClass !== 'NOT_FOUND') throw error;
      throw new ArchiveError(
        `${doc.kind} ${JSON.stringify(doc.fileName)} (file ${doc.platformFileId}) is listed, but the platform answers that it does not exist`,
        'FILE_MISSING',
        { cause: error },
      );
    });
    const label = `${doc.kind} ${JSON.stringify(doc.fileName)}`;
    const limits = {
      maxBytes: this.config.ARCHIVE_MAX_FILE_MB * 1024 ** 2,
      minBytesPerSecond: this.config.ARCHIVE_MIN_RATE_KBPS * 1024,
      graceMs: this.config.ARCHIVE_FILE_GRACE_MS,
      onProgress: () => (claim.progressAt = Date.now()),
    };
    let body: Readable;
    let platformSha256: string | null = null;
    try {
      DownloadGuard.checkAnnounced(label, download.contentLength, limits.maxBytes);
      const checksum =
        download.sha256 === undefined ? undefined : new DeclaredChecksumCheck(label, download.sha256);
      body = pipeline(download.stream, new DownloadGuard(label, limits), () => undefined);
      if (pdf) body = pipeline(body, new PdfSignatureCheck(doc.fileName), () => undefined);
      if (checksum) {
        body = pipeline(body, checksum, () => undefined);
        platformSha256 = download.sha256!.toLowerCase();
      }
    } catch (error) {
      download.stream.destroy();
      throw error;
    }
    try {
      const stored = await this.store.putStream({
        key: this.relativeKey(doc.s3Key),
        body,
        signal,
        scope: claim.id,
        contentType: pdf ? 'application/pdf' : this.storedContentType(download.contentType),
        expectedSize: download.contentLength,
        metadata: {
          platform: claim.platform,
          'envelope-id': claim.envelopeId,
          'envelope-status': envelope.status,
          'document-kind': doc.kind,
          'platform-file-id': doc.platformFileId,
          'file-name': truncateUtf8(doc.fileName, MAX_NAME_METADATA_BYTES),
          'archived-by': WORKER_VERSION,
        },
        tags: { ...tags, 'document-kind': doc.kind },
      });
      // `putStream` returns only a copy proven in the store (S3's sha256 of the stored bytes, or read back).
      const updated = await queryRows<{ verifiedAt: Date }>(
        this.dataSource,
        `UPDATE transfer_documents d SET size = $3, sha256 = $4, s3_key = $5, platform_sha256 = $6, verified_at = now()
          WHERE d.id = $1 AND EXISTS (SELECT 1 FROM transfers t WHERE t.id = d.transfer_id AND t.claim_token = $2)
          RETURNING verified_at AS "verifiedAt"`,
        [doc.id, claim.claimToken, stored.size, stored.sha256, stored.objectKey, platformSha256],
      );
      if (updated.length !== 1)
        throw new ArchiveError('the transfer was taken over by another worker', 'LEASE_LOST');
      Object.assign(doc, {
        size: String(stored.size),
        sha256: stored.sha256,
        platformSha256,
        s3Key: stored.objectKey,
        verifiedAt: updated[0].verifiedAt,
      });
      this.metrics.documentArchived(doc.kind, stored.size);
      this.logger.log({
        msg: `archived ${doc.kind} ${doc.fileName}`,
        key: stored.objectKey,
        size: stored.size,
        sha256: stored.sha256,
        proof: stored.adopted ? `${stored.proof} (copy already there)` : stored.proof,
        ms: Date.now() - started,
      });
    } finally {
      if (!body.destroyed) body.destroy();
      if (!download.stream.destroyed) download.stream.destroy();
    }
  }

  private async writeManifest(
    claim: ClaimedTransfer,
    envelope: PlatformEnvelope,
    metadata: EnvelopeMetadata,
    tags: Record<string, string>,
    /** Every document of the envelope, each verified by now. */
    documents: DocumentRow[],
  ): Promise<void> {
    const key = `${this.baseKey(claim)}/manifest.json`;
    const manifest = {
      schema: 'esign-archiver/manifest@1',
      platform: claim.platform,
      envelopeId: claim.envelopeId,
      envelope: { name: envelope.name, status: envelope.status, sentDate: envelope.sentDate ?? null },
      sender: envelope.sender,
      timeline: envelope.timeline,
      metadata: { fields: metadata.fields, tags, problem: metadata.problem ?? null },
      documents: documents.map((d) => ({
        kind: d.kind,
        platformFileId: d.platformFileId,
        fileName: d.fileName,
        key: d.s3Key,
        size: d.size === null ? null : Number(d.size),
        sha256: d.sha256,
        // Only where the platform gives one, so other platforms' manifests keep their exact bytes.
        ...(d.platformSha256 !== null && { platformSha256: d.platformSha256 }),
        verifiedAt: d.verifiedAt,
      })),
      // Derived from what is recorded, so a later attempt writes the very same bytes (and adopts them).
      archivedAt: latest(documents.map((d) => d.verifiedAt)),
      worker: WORKER_VERSION,
    };
    const stored = await this.store.putObject({
      key,
      body: Buffer.from(JSON.stringify(manifest, null, 2)),
      contentType: 'application/json',
      // No tags: they classify the documents; the manifest is found beside them.
      metadata: { platform: claim.platform, 'envelope-id': claim.envelopeId, 'document-kind': 'manifest' },
    });
    // Fenced like every write of a claim: a worker that lost its lease records nothing.
    const recorded = await queryRows(
      this.dataSource,
      `INSERT INTO transfer_documents (transfer_id, kind, platform_file_id, file_name, s3_key, size, sha256, verified_at)
       SELECT $1::uuid, 'manifest', 'manifest', 'manifest.json', $2, $3::bigint, $4, now()
        WHERE EXISTS (SELECT 1 FROM transfers t WHERE t.id = $1::uuid AND t.claim_token = $5)
       ON CONFLICT ON CONSTRAINT uq_transfer_documents_file
       DO UPDATE SET size = EXCLUDED.size, sha256 = EXCLUDED.sha256, verified_at = now()
       RETURNING 1`,
      [claim.id, stored.objectKey, stored.size, stored.sha256, claim.claimToken],
    );
    if (recorded.length !== 1)
      throw new ArchiveError('the transfer was taken over by another worker', 'LEASE_LOST');
  }

  private async deleteOnPlatform(
    claim: ClaimedTransfer,
    platform: SigningPlatform,
    call: PlatformCall,
  ): Promise<TransferState> {
    if (!this.config.DELETE_AFTER_ARCHIVE) {
      await this.claims.transition(claim, { state: 'done', cause: null, lastError: null, finished: true });
      return 'done';
    }
    try {
      await platform.delete(claim.envelopeId, call);
      this.logger.log('envelope deleted on the platform');
    } catch (error) {
      // Already gone is what we wanted.
      if (classifyError(error).errorClass !== 'NOT_FOUND') throw error;
      this.logger.log('envelope was already deleted on the platform');
    }
    await this.claims.transition(claim, {
      state: 'done',
      cause: null,
      lastError: null,
      lastErrorClass: null,
      platformDeleted: true,
      finished: true,
    });
    return 'done';
  }

  private async handleFailure(
    claim: ClaimedTransfer,
    error: ArchiveError,
    sender: SenderRef | null,
    platform: SigningPlatform | undefined,
  ): Promise<TransferState> {
    const [verified, earlier] = await Promise.all([
      this.dataSource.query<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM transfer_documents WHERE transfer_id = $1 AND verified_at IS NOT NULL AND kind <> 'manifest'`,
        [claim.id],
      ),
      // Earlier attempts that ended with an error class of their own, newest first.
      queryRows<{ errorClass: string }>(
        this.dataSource,
        `SELECT error_class AS "errorClass" FROM transfer_attempts
          WHERE transfer_id = $1 AND id <> $2 AND error_class IS NOT NULL AND error_class <> 'LEASE_LOST'
          ORDER BY id DESC LIMIT 20`,
        [claim.id, claim.attemptId],
      ),
    ]);
    const previousSame = earlier.findIndex((a) => a.errorClass !== error.errorClass);
    const decision: RetryDecision = decideAfterError(
      error.errorClass,
      {
        attempts: claim.attempts,
        ageMs: Date.now() - claim.ageFrom.getTime(),
        retryAfterMs: error.retryAfterMs,
        copiedSomething: verified[0].n > 0 && !claim.archivedAt,
        streak: 1 + (previousSame === -1 ? earlier.length : previousSame),
      },
      {
        baseDelayMs: this.config.RETRY_BASE_DELAY_MS,
        maxDelayMs: this.config.RETRY_MAX_DELAY_MS,
        maxAttempts: this.config.MAX_ATTEMPTS,
        maxAgeMs: this.config.MAX_AGE,
      },
    );
    // Everything is copied and only the delete is left: say so, and retry the delete alone.
    const state = decision.state === 'retrying' && claim.archivedAt ? 'archived' : decision.state;

    const patch: TransitionPatch = {
      state,
      lastError: error.message,
      lastErrorClass: error.errorClass,
      cause: decision.state === 'retrying' ? null : decision.cause,
      delayMs: 'delayMs' in decision ? decision.delayMs : undefined,
      finished: decision.state === 'gone' || decision.state === 'failed' ? true : undefined,
      // Waiting for the platform to prepare a file is not an attempt at the work.
      uncountAttempt: decision.state === 'waiting' ? true : undefined,
    };
    await this.dataSource.transaction(async (manager) => {
      const { stateVersion } = await this.claims.transition(claim, patch, manager);
      const subject: NoticeSubject = {
        transferId: claim.id,
        envelopeId: claim.envelopeId,
        platform: { name: claim.platform, display: platform?.display ?? { name: claim.platform } },
        senderEmail: claim.senderEmail,
        attempts: claim.attempts,
        stateVersion,
      };
      if (decision.state === 'failed') {
        const failure = { cause: decision.cause, errorClass: error.errorClass, message: error.message };
        await this.notices.transferFailed(subject, failure, manager);
      } else if (decision.state === 'needs_consent') {
        if (sender) await this.tokens.markRejected(sender.senderId, manager);
        const fallback =
          platform?.credentials.kind === 'sender_token'
            ? platform.credentials.fallbackTokenSetting
            : undefined;
        await this.notices.accessRefused(subject, sender, fallback, manager);
      }
    });
    const msg =
      decision.state === 'retrying'
        ? `attempt ${claim.attempts} failed (${error.errorClass}); retrying in ${Math.round(decision.delayMs / 1000)} s`
        : decision.state === 'waiting'
          ? `the platform is preparing a file (${error.message}); checking again in ${Math.round(decision.delayMs / 60_000)} min`
          : `transfer ${decision.state}: ${decision.cause}`;
    if (decision.state === 'gone' || decision.state === 'waiting') this.logger.log(msg);
    else this.logger.warn({ msg, error: error.message, errorClass: error.errorClass });
    return state;
  }

  /**
   * The system tags first, then the metadata's. A metadata tag that normalises (case, width,
   * invisible characters) to a system tag's name is dropped, so no envelope can shadow them.
   */
  private tagsFor(
    claim: ClaimedTransfer,
    envelope: PlatformEnvelope,
    metadata: EnvelopeMetadata,
  ): Record<string, string> {
    const mapping = this.storage.S3_TAG_MAPPING
      ? (JSON.parse(this.storage.S3_TAG_MAPPING) as Record<string, string>)
      : undefined;
    const system: Record<string, string> = { platform: claim.platform, 'envelope-status': envelope.status };
    const reserved = new Set<string>(SYSTEM_TAGS);
    const fromMetadata = metadataTags(metadata.fields, mapping, 10 - SYSTEM_TAGS.length);
    for (const [key, value] of Object.entries(fromMetadata)) {
      const normalised = normaliseTagKey(key).toLowerCase();
      if (normalised === '' || reserved.has(normalised)) continue;
      system[key] = value;
    }
    return system;
  }

  /** A content type from the allow-list as given (without parameters); any other as octet-stream. */
  private storedContentType(given: string | undefined): string {
    const bare = given?.split(';')[0].trim().toLowerCase();
    return bare !== undefined && this.config.ARCHIVE_CONTENT_TYPES.includes(bare)
      ? bare
      : 'application/octet-stream';
  }

  /** `<yyyy>/<mm>/<envelope id, encoded>` under S3_PREFIX, dated by the first callback so retries land in the same place. */
  private baseKey(claim: ClaimedTransfer): string {
    const d = claim.createdAt;
    return `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${idKeySegment(claim.envelopeId)}`;
  }

  private get prefix(): string {
    return this.storage.S3_PREFIX.replace(/^\/+|\/+$/g, '');
  }

  /** The key in the bucket, as stored in the database and shown to people. */
  private fullKey(relative: string): string {
    return this.prefix ? `${this.prefix}/${relative}` : relative;
  }

  /** The key relative to S3_PREFIX, as the object store takes it. */
  private relativeKey(full: string): string {
    return this.prefix && full.startsWith(`${this.prefix}/`) ? full.slice(this.prefix.length + 1) : full;
  }

  private loadDocuments(transferId: string): Promise<DocumentRow[]> {
    return this.dataSource.query(
      `SELECT ${DOCUMENT_COLUMNS} FROM transfer_documents WHERE transfer_id = $1 ORDER BY id`,
      [transferId],
    );
  }

  private async finishAttempt(id: string, outcome: string, error?: ArchiveError): Promise<void> {
    await this.dataSource.query(
      `UPDATE transfer_attempts SET finished_at = now(), outcome = $2, error_class = $3, error = $4 WHERE id = $1`,
      [id, outcome, error?.errorClass ?? null, error?.message.slice(0, 2000) ?? null],
    );
  }
}

/** The latest of some times, as ISO text; null when there are none. */
function latest(times: (Date | null)[]): string | null {
  const ms = times.filter((t): t is Date => t !== null).map((t) => new Date(t).getTime());
  return ms.length === 0 ? null : new Date(Math.max(...ms)).toISOString();
}
