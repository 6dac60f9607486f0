import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

@Entity({ name: 'admin_actions' })
@Index('ix_admin_actions_at', ['at'])
export class AdminAction {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  /** The name half of the admin token that acted. */
  @Column({ type: 'text' })
  actor!: string;

  @Column({ type: 'text' })
  action!: string;

  @Column({ name: 'transfer_ids', type: 'uuid', array: true, default: () => "'{}'" })
  transferIds!: string[];

  @Column({ type: 'jsonb', default: () => "'{}'" })
  detail!: Record<string, unknown>;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  at!: Date;
}
