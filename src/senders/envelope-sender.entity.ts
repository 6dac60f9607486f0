import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** Which sender sent which envelope, noted on the before-send page. */
@Entity({ name: 'envelope_senders' })
@Index('ix_envelope_senders_sender', ['senderId'])
export class EnvelopeSender {
  @PrimaryColumn({ type: 'text' })
  platform!: string;

  @PrimaryColumn({ name: 'envelope_id', type: 'text' })
  envelopeId!: string;

  @Column({ name: 'sender_id', type: 'uuid' })
  senderId!: string;

  @Column({ name: 'draft_id', type: 'text', nullable: true })
  draftId!: string | null;

  @Column({ name: 'noted_at', type: 'timestamptz', default: () => 'now()' })
  notedAt!: Date;
}
