import type { DataSource } from 'typeorm';
import { TokenCipher, TokenCipherError, type SealedToken } from './token-cipher';

export interface TokenRotationOptions {
  /** Rows read per query. Default 100. */
  batchSize?: number;
  /** Called after each batch with the totals so far (progress for long runs). */
  onBatch?: (progress: Readonly<TokenRotationReport>) => void;
}

export interface UnreadableToken {
  senderId: string;
  keyId: string | null;
  reason: string;
}

export interface TokenRotationReport {
  primaryKeyId: string;
  /** Sealed under an older key when read. */
  examined: number;
  /** Re-encrypted under the primary key. */
  rotated: number;
  /** Changed by someone else (a new grant) between our read and our write: already fresh, left alone. */
  changedMeanwhile: number;
  /** Could not be opened with the ring (key id missing from TOKEN_ENCRYPTION_KEYS, or altered row). */
  unreadable: UnreadableToken[];
  /** Tokens still not under the primary key after the run (the unreadable ones, or newer stragglers). */
  remaining: number;
}

interface StaleRow {
  id: string;
  keyId: string | null;
  ciphertext: Buffer;
}

/**
 * Re-encrypts every stored token that is not under the primary key. Rows are read in keyset batches
 * and each one is written by its own single-statement transaction, fenced on the key id and the exact
 * ciphertext that was read: a grant that lands in between wins and is counted, never overwritten.
 * Tokens are only ever held in memory for the moment between opening and sealing them.
 */
export async function rotateTokenKeys(
  dataSource: DataSource,
  cipher: TokenCipher,
  options: TokenRotationOptions = {},
): Promise<TokenRotationReport> {
  const batchSize = options.batchSize ?? 100;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError('batchSize must be a positive integer');
  const primaryKeyId = cipher.primaryKeyId;
  const report: TokenRotationReport = {
    primaryKeyId,
    examined: 0,
    rotated: 0,
    changedMeanwhile: 0,
    unreadable: [],
    remaining: 0,
  };

  let after: string | null = null;
  for (;;) {
    const rows: StaleRow[] = await dataSource.query(
      `SELECT id, token_key_id AS "keyId", token_ciphertext AS ciphertext
         FROM senders
        WHERE token_ciphertext IS NOT NULL AND token_key_id IS DISTINCT FROM $1
          AND ($2::uuid IS NULL OR id > $2::uuid)
        ORDER BY id
        LIMIT $3`,
      [primaryKeyId, after, batchSize],
    );
    if (rows.length === 0) break;
    for (const row of rows) {
      after = row.id;
      report.examined++;
      if (row.keyId === null) {
        report.unreadable.push({
          senderId: row.id,
          keyId: null,
          reason: 'no key id stored with the ciphertext',
        });
        continue;
      }
      let sealed: SealedToken;
      try {
        sealed = cipher.reseal({ keyId: row.keyId, blob: row.ciphertext }, row.id);
      } catch (error) {
        if (!(error instanceof TokenCipherError)) throw error;
        report.unreadable.push({ senderId: row.id, keyId: row.keyId, reason: error.code });
        continue;
      }
      const written: { n: number }[] = await dataSource.query(
        `WITH rotated AS (
           UPDATE senders SET token_ciphertext = $2, token_key_id = $3, updated_at = now()
            WHERE id = $1 AND token_key_id = $4 AND token_ciphertext = $5
            RETURNING 1
         )
         SELECT count(*)::int AS n FROM rotated`,
        [row.id, sealed.blob, sealed.keyId, row.keyId, row.ciphertext],
      );
      if (written[0].n === 1) report.rotated++;
      else report.changedMeanwhile++;
    }
    options.onBatch?.(report);
    if (rows.length < batchSize) break;
  }

  const [{ n }]: { n: number }[] = await dataSource.query(
    `SELECT count(*)::int AS n FROM senders WHERE token_ciphertext IS NOT NULL AND token_key_id IS DISTINCT FROM $1`,
    [primaryKeyId],
  );
  report.remaining = n;
  return report;
}
