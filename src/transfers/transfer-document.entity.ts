import { Column, Entity, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';

export const DOCUMENT_KINDS = [
  'signed_document',
  'audit_trail_pdf',
  'audit_trail_xml',
  'audit_trail_json',
  'document_audit_trail',
  'legal_document',
  'attachment',
  'manifest',
] as const;
export type DocumentKind = (typeof DOCUMENT_KINDS)[number];

@Entity({ name: 'transfer_documents' })
@Unique('uq_transfer_documents_file', ['transferId', 'kind', 'platformFileId'])
@Index('ix_transfer_documents_transfer', ['transferId'])
export class TransferDocument {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ name: 'transfer_id', type: 'uuid' })
  transferId!: string;

  @Column({ type: 'text' })
  kind!: DocumentKind;

  @Column({ name: 'platform_file_id', type: 'text' })
  platformFileId!: string;

  @Column({ name: 'file_name', type: 'text' })
  fileName!: string;

  @Column({ name: 's3_key', type: 'text' })
  s3Key!: string;

  @Column({ type: 'bigint', nullable: true })
  size!: string | null;

  @Column({ type: 'text', nullable: true })
  sha256!: string | null;

  /** The platform's own sha256 of the file, when it gives one: the copy's bytes matched it. */
  @Column({ name: 'platform_sha256', type: 'text', nullable: true })
  platformSha256!: string | null;

  @Column({ name: 'verified_at', type: 'timestamptz', nullable: true })
  verifiedAt!: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}
