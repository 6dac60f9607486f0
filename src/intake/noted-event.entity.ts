import { Column, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';

/** Evidence of one callback kind for one envelope: append-only apart from its counter. */
@Entity({ name: 'noted_events' })
@Unique('uq_noted_events_key', ['platform', 'envelopeId', 'action'])
export class NotedEvent {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ type: 'text' })
  platform!: string;

  @Column({ name: 'envelope_id', type: 'text' })
  envelopeId!: string;

  @Column({ type: 'text' })
  action!: string;

  @Column({ name: 'received_count', type: 'integer', default: 1 })
  receivedCount!: number;

  @Column({ name: 'first_received_at', type: 'timestamptz', default: () => 'now()' })
  firstReceivedAt!: Date;

  @Column({ name: 'last_received_at', type: 'timestamptz', default: () => 'now()' })
  lastReceivedAt!: Date;

  /** The first request as received, without credentials. */
  @Column({ type: 'jsonb' })
  request!: Record<string, unknown>;
}
