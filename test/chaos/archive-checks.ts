import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { EsignAnywhereSimulator } from '../simulators/esignanywhere/esignanywhere.simulator';
import { queryAt } from '../support/database';
import type { TestS3 } from '../support/s3';
import type { S3FaultEvent } from '../support/s3-fault-proxy';
import type { PlannedEnvelope } from './archive-plan';
import type { DeleteWitness } from './delete-witness';

export const ARCHIVE_PREFIX = 'archive/';
export const STAGING_PREFIX = 'archive/.incoming/';

export interface Violation {
  invariant: string;
  detail: string;
}

export interface ArchiveCheckReport {
  done: number;
  failed: number;
  other: number;
  /** Envelopes whose final state or cause is not the one expected. */
  wrongOutcome: number;
  missingObjects: number;
  /** Extra copies: a platform file stored more than once. */
  duplicateObjects: number;
  /** Objects whose bytes are not the platform's (a proven copy that differs, or an unknown object). */
  mismatchedObjects: number;
  missingManifests: number;
  deletesBeforeProof: number;
  /** Proofs recorded or objects written for an envelope after its delete was sent. */
  writesAfterDelete: number;
  /** Done envelopes without exactly one delete, failed ones with any. */
  wrongDeletes: number;
  leftoverUploads: number;
  leftoverStaging: number;
  strayObjects: number;
  objectsChecked: number;
  violations: Violation[];
}

interface TransferRow {
  id: string;
  envelope_id: string;
  state: string;
  cause: string | null;
  attempts: number;
  last_error: string | null;
  last_error_class: string | null;
  created_at: Date;
}

interface DocumentRow {
  transfer_id: string;
  kind: string;
  platform_file_id: string;
  s3_key: string;
  size: string | null;
  sha256: string | null;
  verified_at: Date | null;
}

interface AttemptRow {
  transfer_id: string;
  attempt: number;
  worker: string;
  outcome: string | null;
  error_class: string | null;
  error: string | null;
}

interface StoredObject {
  key: string;
  size: number;
  sha256: string;
  /** As S3 lists it (s3rver: whole seconds). */
  lastModified?: Date;
  bytes?: Buffer;
}

interface Manifest {
  documents?: { platformFileId?: string; sha256?: string | null; key?: string }[];
}

export interface CheckInput {
  sim: EsignAnywhereSimulator;
  s3: TestS3;
  store: {
    listMultipartUploads(
      prefix?: string,
    ): Promise<{ objectKey: string; uploadId: string; initiated?: Date }[]>;
  };
  databaseUrl: string;
  envelopes: PlannedEnvelope[];
  settled: boolean;
  /** Faults the S3 proxy applied, quoted as evidence next to the objects they touched. */
  s3Events: S3FaultEvent[];
  /** What was archived at the moment of each platform delete. */
  witness: DeleteWitness;
  /** Kills, pauses and restarts with their times, quoted beside leftovers they may explain. */
  chaosEvents: { at: number; text: string }[];
}

/**
 * The invariants of phase 2, checked against the simulator's files and request log, the bucket
 * itself (every object read and hashed) and the database, with the evidence of each violation.
 */
export async function checkArchive(input: CheckInput): Promise<ArchiveCheckReport> {
  const { sim, s3, databaseUrl } = input;
  const report: ArchiveCheckReport = {
    done: 0,
    failed: 0,
    other: 0,
    wrongOutcome: 0,
    missingObjects: 0,
    duplicateObjects: 0,
    mismatchedObjects: 0,
    missingManifests: 0,
    deletesBeforeProof: 0,
    writesAfterDelete: 0,
    wrongDeletes: 0,
    leftoverUploads: 0,
    leftoverStaging: 0,
    strayObjects: 0,
    objectsChecked: 0,
    violations: [],
  };
  const violate = (invariant: string, detail: string): void => {
    report.violations.push({ invariant, detail });
  };

  const transfers = await queryAt<TransferRow>(
    databaseUrl,
    `SELECT id::text AS id, envelope_id::text AS envelope_id, state, cause, attempts, last_error,
            last_error_class, created_at FROM transfers`,
  );
  const documents = await queryAt<DocumentRow>(
    databaseUrl,
    `SELECT transfer_id::text AS transfer_id, kind, platform_file_id, s3_key, size::text AS size, sha256, verified_at
       FROM transfer_documents ORDER BY id`,
  );
  const attempts = await queryAt<AttemptRow>(
    databaseUrl,
    `SELECT transfer_id::text AS transfer_id, attempt, worker, outcome, error_class, left(error, 240) AS error
       FROM transfer_attempts ORDER BY transfer_id, id`,
  );
  const objects = await readAllObjects(s3);
  report.objectsChecked = objects.size;
  const history = (transferId: string): string =>
    attempts
      .filter((a) => a.transfer_id === transferId)
      .map(
        (a) =>
          `\n      attempt ${a.attempt} by ${a.worker}: ${a.outcome ?? 'unfinished'}` +
          (a.error_class ? ` ${a.error_class}: ${a.error}` : ''),
      )
      .join('');

  const accounted = new Set<string>();
  /** Keys already reported as holding the wrong bytes (each counted once). */
  const mismatched = new Set<string>();
  for (const envelope of input.envelopes) {
    const transfer = transfers.find((t) => t.envelope_id === envelope.id);
    if (!transfer) {
      report.other++;
      report.wrongOutcome++;
      violate('final state', `envelope ${envelope.id}: no transfer row`);
      continue;
    }
    if (transfer.state === 'done') report.done++;
    else if (transfer.state === 'failed') report.failed++;
    else report.other++;
    const expected = envelope.bad ? 'failed/corrupt_pdf' : 'done';
    const actual = transfer.state === 'done' ? 'done' : `${transfer.state}/${transfer.cause ?? '-'}`;
    if (actual !== expected) {
      report.wrongOutcome++;
      violate(
        envelope.bad ? 'true cause' : 'final state',
        `envelope ${envelope.id} (transfer ${transfer.id}): expected ${expected}, got ${actual} after ` +
          `${transfer.attempts} attempt(s); last error ${transfer.last_error_class ?? '-'}: ` +
          `${(transfer.last_error ?? '-').slice(0, 600)}` +
          s3FaultsOn(input.s3Events, [envelope.id, transfer.id]) +
          history(transfer.id),
      );
    }

    const created = transfer.created_at;
    const folder =
      `${ARCHIVE_PREFIX}${created.getUTCFullYear()}/${String(created.getUTCMonth() + 1).padStart(2, '0')}/` +
      `${envelope.id}/`;
    const inFolder = [...objects.values()].filter((o) => o.key.startsWith(folder));
    for (const o of inFolder) accounted.add(o.key);
    for (const o of objects.values()) {
      if (o.key.includes(envelope.id) && !o.key.startsWith(folder) && !o.key.startsWith(STAGING_PREFIX)) {
        accounted.add(o.key);
        report.strayObjects++;
        violate('archive layout', `envelope ${envelope.id}: object ${o.key} is outside ${folder}`);
      }
    }

    const files = await Promise.all(sim.envelopeFiles(envelope.id).map((f) => sim.expectedFile(f.fileId)));
    const docs = documents.filter((d) => d.transfer_id === transfer.id);

    // A proven copy is byte-equal to the platform's file, whatever became of the transfer.
    for (const doc of docs.filter((d) => d.verified_at !== null)) {
      const stored = objects.get(doc.s3_key);
      if (doc.kind === 'manifest') {
        if (!stored || stored.sha256 !== doc.sha256) {
          mismatched.add(doc.s3_key);
          violate(
            'byte-equal copies',
            `envelope ${envelope.id}: manifest ${doc.s3_key} proven with sha256 ${doc.sha256}, bucket holds ` +
              (stored ? `${stored.size} bytes with sha256 ${stored.sha256}` : 'nothing'),
          );
        }
        continue;
      }
      const file = files.find((f) => f.fileId === doc.platform_file_id);
      if (!file) {
        violate(
          'byte-equal copies',
          `envelope ${envelope.id}: proven document of unknown file ${doc.platform_file_id}`,
        );
        continue;
      }
      if (!stored || stored.sha256 !== file.sha256 || stored.size !== file.size) {
        mismatched.add(doc.s3_key);
        violate(
          'byte-equal copies',
          `envelope ${envelope.id}: ${file.kind} ${file.fileName} (file ${file.fileId}) proven at ${doc.s3_key} ` +
            `(recorded ${doc.size} bytes, sha256 ${doc.sha256}); the bucket holds ` +
            (stored ? `${stored.size} bytes with sha256 ${stored.sha256}` : 'no such object') +
            `; the platform's file is ${file.size} bytes with sha256 ${file.sha256}` +
            s3FaultsOn(input.s3Events, [envelope.id, transfer.id]),
        );
      }
    }

    const deletes = sim
      .requests({ endpoint: 'envelope.delete', envelopeId: envelope.id })
      .filter((r) => r.status === 200 || r.lostStatus === 200);
    const onPlatform = sim.getEnvelope(envelope.id);

    if (transfer.state === 'done') {
      // Every platform file exactly once, byte-equal, in the envelope's folder.
      for (const file of files) {
        const copies = inFolder.filter((o) => o.sha256 === file.sha256 && o.size === file.size);
        if (copies.length === 0) {
          report.missingObjects++;
          const row = docs.find((d) => d.platform_file_id === file.fileId && d.kind !== 'manifest');
          violate(
            'every file archived',
            `envelope ${envelope.id}: ${file.kind} ${file.fileName} (file ${file.fileId}, sha256 ${file.sha256}) ` +
              `has no byte-equal object under ${folder}` +
              (row
                ? `; its row names ${row.s3_key}, proven ${row.verified_at?.toISOString() ?? 'never'}`
                : ''),
          );
        } else if (copies.length > 1) {
          report.duplicateObjects += copies.length - 1;
          violate(
            'exactly one copy',
            `envelope ${envelope.id}: ${file.kind} ${file.fileName} is stored ${copies.length} times: ` +
              copies.map((c) => c.key).join(', '),
          );
        }
      }
      for (const o of inFolder) {
        if (o.key === `${folder}manifest.json`) continue;
        if (files.some((f) => f.sha256 === o.sha256 && f.size === o.size)) continue;
        if (mismatched.has(o.key)) continue;
        mismatched.add(o.key);
        violate(
          'byte-equal copies',
          `envelope ${envelope.id}: ${o.key} (${o.size} bytes, sha256 ${o.sha256}) matches none of the ` +
            `platform's files` +
            s3FaultsOn(input.s3Events, [envelope.id, transfer.id]),
        );
      }
      const manifest = objects.get(`${folder}manifest.json`);
      if (!manifest) {
        report.missingManifests++;
        violate('manifest', `envelope ${envelope.id}: no ${folder}manifest.json`);
      } else {
        const problem = manifestProblem(manifest, files);
        if (problem) {
          report.missingManifests++;
          violate('manifest', `envelope ${envelope.id}: ${folder}manifest.json ${problem}`);
        }
      }
      if (deletes.length !== 1) {
        report.wrongDeletes++;
        violate(
          'one delete per archived envelope',
          `envelope ${envelope.id}: ${deletes.length} successful platform deletes` +
            deletes
              .map((d) => ` [#${d.seq} at ${d.at}, status ${d.status ?? `lost ${d.lostStatus}`}]`)
              .join(''),
        );
      }
      if (!onPlatform?.deleted) {
        report.wrongDeletes++;
        violate(
          'one delete per archived envelope',
          `envelope ${envelope.id}: done but still on the platform`,
        );
      }
      const unproven = docs.filter((d) => d.verified_at === null);
      for (const d of unproven) {
        violate(
          'delete after proof',
          `envelope ${envelope.id}: done with an unproven document ${d.kind} ${d.s3_key} (file ${d.platform_file_id})`,
        );
      }
    }

    // The delete comes after every copy was proven: as seen at the moment the platform carried it out.
    for (const del of deletes) {
      const seen = input.witness.snapshot(del.seq);
      if (seen && seen.error === undefined) {
        if (seen.problems.length > 0) {
          report.deletesBeforeProof++;
          violate(
            'delete after proof',
            `envelope ${envelope.id}: platform delete #${del.seq} (sent by ${del.at}) was carried out at ${seen.at} ` +
              `when ${seen.problems.join('; ')}${history(transfer.id)}`,
          );
        }
        continue;
      }
      // Not witnessed (PostgreSQL was down then): judged from the final records.
      const at = Date.parse(del.at);
      const unprovenThen = docs.filter((d) => d.verified_at === null || d.verified_at.getTime() > at);
      if (unprovenThen.length > 0) {
        report.deletesBeforeProof++;
        violate(
          'delete after proof',
          `envelope ${envelope.id}: platform delete #${del.seq} arrived at ${del.at} (not witnessed: ` +
            `${seen?.error ?? 'no snapshot'}), before ` +
            unprovenThen
              .map((d) => `${d.kind} ${d.s3_key} was proven (${d.verified_at?.toISOString() ?? 'never'})`)
              .join('; '),
        );
      }
    }

    // Once the delete is sent, the attempt that sent it holds the transfer: nobody else writes.
    if (deletes.length > 0) {
      const sentBy = Math.min(...deletes.map((d) => Date.parse(d.at)));
      const sentAt = new Date(sentBy).toISOString();
      const lateRows = docs.filter((d) => d.verified_at !== null && d.verified_at.getTime() > sentBy);
      const lateObjects = [...objects.values()].filter(
        (o) =>
          o.key.startsWith(folder) && o.lastModified !== undefined && o.lastModified.getTime() > sentBy + 999,
      );
      if (lateRows.length > 0 || lateObjects.length > 0) {
        report.writesAfterDelete += lateRows.length + lateObjects.length;
        violate(
          'no writes after the delete',
          `envelope ${envelope.id}: the platform delete was sent by ${sentAt}, yet ` +
            [
              ...lateRows.map(
                (d) => `${d.kind} ${d.s3_key} was recorded as proven at ${d.verified_at!.toISOString()}`,
              ),
              ...lateObjects.map((o) => `${o.key} was written at ${o.lastModified!.toISOString()}`),
            ].join('; ') +
            history(transfer.id),
        );
      }
    }

    if (transfer.state !== 'done') {
      if (deletes.length > 0 || onPlatform?.deleted) {
        report.wrongDeletes++;
        violate(
          'no delete without an archive',
          `envelope ${envelope.id} is ${transfer.state}/${transfer.cause ?? '-'} but was deleted on the platform ` +
            `(${deletes.length} successful delete requests)`,
        );
      }
    }
  }

  for (const upload of await input.store.listMultipartUploads()) {
    report.leftoverUploads++;
    violate(
      'no leftover uploads',
      `multipart upload ${upload.uploadId} of ${upload.objectKey}, started ${upload.initiated?.toISOString() ?? '?'}, ` +
        'was never completed or aborted' +
        (upload.initiated ? chaosNear(input.chaosEvents, upload.initiated.getTime()) : ''),
    );
  }
  for (const o of objects.values()) {
    if (o.key.startsWith(STAGING_PREFIX)) {
      report.leftoverStaging++;
      violate(
        'no leftover staging objects',
        `${o.key} (${o.size} bytes, written ${o.lastModified?.toISOString() ?? '?'}) is still in the staging area` +
          (o.lastModified ? chaosNear(input.chaosEvents, o.lastModified.getTime()) : ''),
      );
    } else if (!accounted.has(o.key)) {
      report.strayObjects++;
      violate('archive layout', `${o.key} (${o.size} bytes) belongs to no envelope of this run`);
    }
  }
  report.mismatchedObjects = mismatched.size;
  if (!input.settled) violate('settled', 'not every transfer reached a final state before the deadline');
  return report;
}

/** Kills and pauses from just before to a few seconds after `at` (S3 times are whole seconds). */
function chaosNear(events: { at: number; text: string }[], at: number): string {
  const near = events.filter((e) => e.at >= at - 2_000 && e.at <= at + 5_000);
  if (near.length === 0) return '; no kill or pause near that time';
  return `; around then: ${near.map((e) => `${new Date(e.at).toISOString()} ${e.text}`).join(', ')}`;
}

/** The S3 faults applied to an envelope's keys, as evidence beside a damaged copy. */
function s3FaultsOn(events: S3FaultEvent[], ids: string[]): string {
  const mine = events.filter((e) => ids.some((id) => e.key.includes(id)));
  if (mine.length === 0) return '; no S3 fault touched its keys';
  return `; S3 faults on its keys: ${mine.map((e) => `${e.kind} ${e.operation} ${e.key} (${e.detail}) at ${e.at}`).join('; ')}`;
}

function manifestProblem(
  manifest: StoredObject,
  files: { fileId: string; sha256: string; fileName: string }[],
): string | undefined {
  let parsed: Manifest;
  try {
    parsed = JSON.parse(manifest.bytes!.toString('utf8')) as Manifest;
  } catch (error) {
    return `is not JSON (${(error as Error).message})`;
  }
  const listed = parsed.documents ?? [];
  const problems: string[] = [];
  for (const file of files) {
    const entry = listed.find((d) => d.platformFileId === file.fileId);
    if (!entry) problems.push(`does not list ${file.fileName} (file ${file.fileId})`);
    else if (entry.sha256 !== file.sha256)
      problems.push(`lists ${file.fileName} with sha256 ${entry.sha256}, the platform's is ${file.sha256}`);
  }
  return problems.length > 0 ? problems.join('; ') : undefined;
}

/** Every object in the bucket with its size and sha256 (read through, never trusted from metadata). */
async function readAllObjects(s3: TestS3): Promise<Map<string, StoredObject>> {
  const keys: { key: string; size: number; lastModified?: Date }[] = [];
  let token: string | undefined;
  do {
    const page = await s3.client.send(
      new ListObjectsV2Command({ Bucket: s3.bucket, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? [])
      keys.push({ key: o.Key!, size: o.Size ?? 0, lastModified: o.LastModified });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const out = new Map<string, StoredObject>();
  for (const { key, lastModified } of keys) {
    const res = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
    const bytes = Buffer.from(await res.Body!.transformToByteArray());
    out.set(key, {
      key,
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      lastModified,
      ...(key.endsWith('/manifest.json') && { bytes }),
    });
  }
  return out;
}
