import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** One reconciliation of one platform instance: the window it asked about and what it found. */
@Entity({ name: 'reconciliation_runs' })
@Index('ix_reconciliation_runs_platform', ['platform', 'startedAt'])
export class ReconciliationRun {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ type: 'text' })
  platform!: string;

  @Column({ name: 'started_at', type: 'timestamptz', default: () => 'now()' })
  startedAt!: Date;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;

  @Column({ name: 'window_from', type: 'timestamptz' })
  windowFrom!: Date;

  @Column({ name: 'window_to', type: 'timestamptz' })
  windowTo!: Date;

  /** Finished envelopes the platform listed in the window. */
  @Column({ type: 'integer', default: 0 })
  found!: number;

  /** Of those, the ones no transfer existed for: callbacks that never came. */
  @Column({ type: 'integer', default: 0 })
  created!: number;

  /** What went wrong, one line per credential or call (never a token). */
  @Column({ type: 'jsonb', default: () => "'[]'" })
  errors!: string[];

  /** `ok`, `partial` (some credentials failed) or `failed`; null while it runs. */
  @Column({ type: 'text', nullable: true })
  outcome!: string | null;
}
