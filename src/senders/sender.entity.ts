import { Column, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';

export type ConsentState = 'none' | 'granted' | 'rejected';

@Entity({ name: 'senders' })
@Unique('uq_senders_user', ['platform', 'platformUserId'])
export class Sender {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'text' })
  platform!: string;

  @Column({ name: 'platform_user_id', type: 'text' })
  platformUserId!: string;

  @Column({ name: 'organization_id', type: 'text', nullable: true })
  organizationId!: string | null;

  @Column({ type: 'text', nullable: true })
  email!: string | null;

  /** AES-256-GCM: iv | tag | ciphertext, with the sender id as additional authenticated data. */
  @Column({ name: 'token_ciphertext', type: 'bytea', nullable: true })
  tokenCiphertext!: Buffer | null;

  @Column({ name: 'token_key_id', type: 'text', nullable: true })
  tokenKeyId!: string | null;

  @Column({ name: 'consent_state', type: 'text', default: 'none' })
  consentState!: ConsentState;

  @Column({ name: 'consented_at', type: 'timestamptz', nullable: true })
  consentedAt!: Date | null;

  @Column({ name: 'token_rejected_at', type: 'timestamptz', nullable: true })
  tokenRejectedAt!: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}
