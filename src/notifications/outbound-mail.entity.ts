import { Column, Entity, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';

export type OutboundMailState = 'pending' | 'sent' | 'failed';

/** A mail to send, kept until it is sent; the dedupe key makes "one mail per state change" hold. */
@Entity({ name: 'outbound_mail' })
@Unique('uq_outbound_mail_dedupe', ['dedupeKey'])
@Index('ix_outbound_mail_due', ['state', 'nextAttemptAt'])
export class OutboundMail {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ type: 'text' })
  kind!: string;

  @Column({ name: 'dedupe_key', type: 'text' })
  dedupeKey!: string;

  @Column({ name: 'transfer_id', type: 'uuid', nullable: true })
  transferId!: string | null;

  @Column({ type: 'text', array: true })
  recipients!: string[];

  @Column({ type: 'text' })
  subject!: string;

  @Column({ type: 'text' })
  body!: string;

  @Column({ type: 'text', default: 'pending' })
  state!: OutboundMailState;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;

  @Column({ name: 'next_attempt_at', type: 'timestamptz', default: () => 'now()' })
  nextAttemptAt!: Date;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'sent_at', type: 'timestamptz', nullable: true })
  sentAt!: Date | null;
}
