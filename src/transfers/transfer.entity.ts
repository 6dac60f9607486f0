import { Column, Entity, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';
import type { TransferOrigin, TransferState } from './transfer-state';

@Entity({ name: 'transfers' })
@Unique('uq_transfers_envelope', ['platform', 'envelopeId'])
@Index('ix_transfers_state', ['state', 'updatedAt'])
@Index('ix_transfers_due', ['nextAttemptAt'], {
  where: `state IN ('pending', 'waiting', 'retrying', 'archived')`,
})
@Index('ix_transfers_created', ['createdAt', 'id'])
export class Transfer {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'text' })
  platform!: string;

  @Column({ name: 'envelope_id', type: 'text' })
  envelopeId!: string;

  @Column({ type: 'text', default: 'pending' })
  state!: TransferState;

  /** Who asked for the transfer: a platform's callback, or reconciliation finding the finished envelope. */
  @Column({ type: 'text', default: 'callback' })
  origin!: TransferOrigin;

  /** Short machine-readable reason for the current state (e.g. never_finished, corrupt_pdf). */
  @Column({ type: 'text', nullable: true })
  cause!: string | null;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ name: 'next_attempt_at', type: 'timestamptz', default: () => 'now()' })
  nextAttemptAt!: Date;

  @Column({ name: 'lease_owner', type: 'text', nullable: true })
  leaseOwner!: string | null;

  @Column({ name: 'lease_expires_at', type: 'timestamptz', nullable: true })
  leaseExpiresAt!: Date | null;

  @Column({ name: 'claim_token', type: 'uuid', nullable: true })
  claimToken!: string | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;

  @Column({ name: 'last_error_class', type: 'text', nullable: true })
  lastErrorClass!: string | null;

  /** The platform's status when last checked (Active, Completed, ...). */
  @Column({ name: 'envelope_status', type: 'text', nullable: true })
  envelopeStatus!: string | null;

  @Column({ name: 'sender_email', type: 'text', nullable: true })
  senderEmail!: string | null;

  @Column({ name: 'platform_deleted_at', type: 'timestamptz', nullable: true })
  platformDeletedAt!: Date | null;

  @Column({ name: 'archived_at', type: 'timestamptz', nullable: true })
  archivedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;

  @Column({ name: 'dismissed_reason', type: 'text', nullable: true })
  dismissedReason!: string | null;

  /** Bumped on every state change; mail is sent at most once per value. */
  @Column({ name: 'state_version', type: 'integer', default: 0 })
  stateVersion!: number;

  /** When an operator retried it or its sender granted access again; age limits count from here. */
  @Column({ name: 'resumed_at', type: 'timestamptz', nullable: true })
  resumedAt!: Date | null;

  /** Something ops should see that did not stop the transfer (e.g. unusable metadata). */
  @Column({ type: 'text', nullable: true })
  warning!: string | null;

  /** The envelope's name as the platform reported it, escaped; null until the archive job read it. */
  @Column({ name: 'envelope_name', type: 'text', nullable: true })
  envelopeName!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}
