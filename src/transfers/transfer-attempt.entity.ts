import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** What one run of the pipeline did for a transfer, and why it stopped. */
@Entity({ name: 'transfer_attempts' })
@Index('ix_transfer_attempts_transfer', ['transferId', 'startedAt'])
export class TransferAttempt {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ name: 'transfer_id', type: 'uuid' })
  transferId!: string;

  @Column({ type: 'integer' })
  attempt!: number;

  @Column({ type: 'text' })
  worker!: string;

  @Column({ name: 'started_at', type: 'timestamptz', default: () => 'now()' })
  startedAt!: Date;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;

  /** The state the attempt left the transfer in. */
  @Column({ type: 'text', nullable: true })
  outcome!: string | null;

  @Column({ name: 'error_class', type: 'text', nullable: true })
  errorClass!: string | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;
}
