import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { isInvalidDataError } from '../common/database-errors';
import { TransferRepository } from '../transfers/transfer.repository';

export interface CallbackNote {
  platform: string;
  envelopeId: string;
  action: string;
  /** Ensure a transfer (the archive work item) exists for this envelope. */
  createsWork: boolean;
  request: Record<string, unknown>;
}

interface Waiter {
  note: CallbackNote;
  resolve: () => void;
  reject: (error: unknown) => void;
}

const MAX_BATCH = 500;

// Counts are pre-aggregated per key because one INSERT ... ON CONFLICT DO UPDATE may not touch a
// row twice.
const NOTE_SQL = `
INSERT INTO noted_events AS ne (platform, envelope_id, action, received_count, request)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::jsonb[])
ON CONFLICT ON CONSTRAINT uq_noted_events_key DO UPDATE
  SET received_count = ne.received_count + EXCLUDED.received_count, last_received_at = now()`;

/**
 * Writes callback notes durably: the noted events and the transfers they call for commit together,
 * in one statement (the transfers' part written by their repository). Callbacks that arrive while a write is in flight are committed
 * together in the next statement (group commit); each caller is answered only after the commit
 * that holds its note.
 */
@Injectable()
export class NotedEventWriter {
  private queue: Waiter[] = [];
  private flushing = false;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly transfers: TransferRepository,
  ) {}

  note(note: CallbackNote): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ note, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        try {
          await this.write(batch.map((w) => w.note));
          for (const w of batch) w.resolve();
        } catch (error) {
          if (batch.length > 1 && isInvalidDataError(error)) await this.writeEachAlone(batch);
          else for (const w of batch) w.reject(error);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  // The statement is all or nothing: one note the database refuses must not fail the callbacks
  // that happened to share it.
  private async writeEachAlone(batch: Waiter[]): Promise<void> {
    for (const w of batch) {
      try {
        await this.write([w.note]);
        w.resolve();
      } catch (error) {
        w.reject(error);
      }
    }
  }

  /**
   * Notes many callbacks inside the caller's transaction (one request that carries many changes), in
   * one statement with their transfers: all or none, and outside the group commit.
   */
  async noteTogether(notes: readonly CallbackNote[], manager: EntityManager): Promise<void> {
    if (notes.length > 0) await this.write(notes, manager);
  }

  private async write(
    notes: readonly CallbackNote[],
    runner: DataSource | EntityManager = this.dataSource,
  ): Promise<void> {
    const events = new Map<string, { note: CallbackNote; n: number }>();
    const work = new Map<string, CallbackNote>();
    for (const note of notes) {
      const key = `${note.platform}|${note.envelopeId}|${note.action}`;
      const seen = events.get(key);
      if (seen) seen.n += 1;
      else events.set(key, { note, n: 1 });
      if (note.createsWork) work.set(`${note.platform}|${note.envelopeId}`, note);
    }
    // A stable order keeps concurrent writers (other replicas) from deadlocking on each other.
    const ev = [...events.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v);
    // One statement: the noted events and their transfers commit together, in one round trip.
    await this.transfers.ensureDue([...work.values()], runner, {
      sql: NOTE_SQL,
      params: [
        ev.map((e) => e.note.platform),
        ev.map((e) => e.note.envelopeId),
        ev.map((e) => e.note.action),
        ev.map((e) => e.n),
        ev.map((e) => JSON.stringify(e.note.request)),
      ],
    });
  }
}
