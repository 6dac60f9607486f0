import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type {
  EsignAnywhereSimulator,
  SimObservedRequest,
} from '../simulators/esignanywhere/esignanywhere.simulator';
import { queryAt } from '../support/database';
import type { TestS3 } from '../support/s3';

/** What was archived at the moment the platform was about to delete an envelope. */
export interface DeleteSnapshot {
  seq: number;
  envelopeId: string;
  at: string;
  /** Every way the archive fell short of proof at that moment; empty when all was proven. */
  problems: string[];
  /** Set when the archive could not be looked at (PostgreSQL down). */
  error?: string;
}

/**
 * Looks at the database and the bucket each time the simulator is about to carry out a delete:
 * every platform file must then have a proven row and a byte-equal object in the envelope's folder,
 * and the manifest must be there. The delete waits while it looks.
 */
export class DeleteWitness {
  private readonly snapshots = new Map<number, DeleteSnapshot>();

  constructor(
    private readonly sim: EsignAnywhereSimulator,
    private readonly s3: TestS3,
    private readonly databaseUrl: string,
  ) {}

  attach(): void {
    this.sim.addFault({
      endpoint: 'envelope.delete',
      fault: { kind: 'observe', observe: (request) => this.observe(request) },
    });
  }

  snapshot(seq: number): DeleteSnapshot | undefined {
    return this.snapshots.get(seq);
  }

  private async observe(request: SimObservedRequest): Promise<void> {
    const envelopeId = request.envelopeId?.toLowerCase();
    if (!envelopeId) return;
    const snapshot: DeleteSnapshot = {
      seq: request.seq,
      envelopeId,
      at: new Date().toISOString(),
      problems: [],
    };
    this.snapshots.set(request.seq, snapshot);
    try {
      const [transfer] = await queryAt<{ id: string; created_at: Date }>(
        this.databaseUrl,
        'SELECT id::text AS id, created_at FROM transfers WHERE envelope_id = $1',
        [envelopeId],
      );
      if (!transfer) {
        snapshot.problems.push('no transfer row');
        return;
      }
      const rows = await queryAt<{
        kind: string;
        platform_file_id: string;
        s3_key: string;
        verified_at: Date | null;
      }>(
        this.databaseUrl,
        'SELECT kind, platform_file_id, s3_key, verified_at FROM transfer_documents WHERE transfer_id = $1',
        [transfer.id],
      );
      const created = transfer.created_at;
      const folder =
        `archive/${created.getUTCFullYear()}/${String(created.getUTCMonth() + 1).padStart(2, '0')}/` +
        `${envelopeId}/`;
      const objects = await this.hashFolder(folder);
      for (const listed of this.sim.envelopeFiles(envelopeId)) {
        const file = await this.sim.expectedFile(listed.fileId);
        const row = rows.find((r) => r.platform_file_id === file.fileId && r.kind !== 'manifest');
        if (!row) snapshot.problems.push(`${file.kind} ${file.fileName} (file ${file.fileId}) has no row`);
        else if (!row.verified_at)
          snapshot.problems.push(`${file.kind} ${file.fileName} is not proven (${row.s3_key})`);
        if (!objects.some((o) => o.sha256 === file.sha256 && o.size === file.size)) {
          const atKey = row ? objects.find((o) => o.key === row.s3_key) : undefined;
          snapshot.problems.push(
            `${file.kind} ${file.fileName} (sha256 ${file.sha256}) has no byte-equal object under ${folder}` +
              (atKey ? `; ${atKey.key} holds ${atKey.size} bytes with sha256 ${atKey.sha256}` : ''),
          );
        }
      }
      if (!objects.some((o) => o.key === `${folder}manifest.json`)) {
        snapshot.problems.push(`no ${folder}manifest.json`);
      }
    } catch (error) {
      snapshot.error = error instanceof Error ? error.message : String(error);
    }
  }

  private async hashFolder(prefix: string): Promise<{ key: string; size: number; sha256: string }[]> {
    const out: { key: string; size: number; sha256: string }[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.client.send(
        new ListObjectsV2Command({ Bucket: this.s3.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        const res = await this.s3.client.send(new GetObjectCommand({ Bucket: this.s3.bucket, Key: o.Key! }));
        const bytes = Buffer.from(await res.Body!.transformToByteArray());
        out.push({
          key: o.Key!,
          size: bytes.length,
          sha256: createHash('sha256').update(bytes).digest('hex'),
        });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }
}
