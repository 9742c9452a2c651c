import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** GitLab's `audit_events` row, plus the event type and the outbox marker for fan-out. */
@Entity({ name: 'audit_events' })
@Index('index_audit_events_on_entity', ['entityType', 'entityId', 'createdAt'])
export class AuditEvent {
  /** bigint: a string in JavaScript, as in GitLab's payload (`"id": "1"`). */
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'author_id', type: 'integer' })
  authorId: number;

  @Column({ name: 'author_name', type: 'varchar', nullable: true })
  authorName: string | null;

  @Column({ name: 'entity_id', type: 'integer' })
  entityId: number;

  @Column({ name: 'entity_type', type: 'varchar' })
  entityType: string;

  @Column({ name: 'entity_path', type: 'text', nullable: true })
  entityPath: string | null;

  @Column({ name: 'target_id', type: 'bigint', nullable: true })
  targetId: string | null;

  @Column({ name: 'target_type', type: 'varchar', nullable: true })
  targetType: string | null;

  @Column({ name: 'target_details', type: 'text', nullable: true })
  targetDetails: string | null;

  @Column({ name: 'ip_address', type: 'varchar', nullable: true })
  ipAddress: string | null;

  @Column({ name: 'event_type', type: 'varchar' })
  eventType: string;

  @Column({ type: 'simple-json' })
  details: Record<string, unknown>;

  @Column({ name: 'created_at', type: Date })
  createdAt: Date;

  /** Outbox marker: set once the event's deliveries are persisted (or it was found to need none). */
  @Column({ name: 'fanned_out_at', type: Date, nullable: true })
  fannedOutAt: Date | null;
}
