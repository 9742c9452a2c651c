import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { ExternalAuditEventDestination } from '../destinations/external-audit-event-destination.entity';

/**
 * `delivery`: one delivery again; `dead`: every dead delivery of a destination; `events`: every
 * event of the destination's group in a time range, GitLab's filters applied.
 */
export type ReplayKind = 'delivery' | 'dead' | 'events';

/** `running` until the last batch is queued, then `finished`; `failed` when it cannot go on. */
export type ReplayStatus = 'running' | 'finished' | 'failed';

/**
 * An owner's request to redeliver, persisted so that any worker can advance it, a batch at a
 * time, and anyone allowed can read its progress.
 */
@Entity({ name: 'audit_events_streaming_replays' })
@Index('index_streaming_replays_on_status', ['status', 'id'])
export class AuditEventStreamingReplay {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'destination_id', type: 'integer' })
  destinationId: number;

  @ManyToOne(() => ExternalAuditEventDestination, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'destination_id' })
  destination?: ExternalAuditEventDestination;

  @Column({ type: 'varchar', length: 16 })
  kind: ReplayKind;

  @Column({ type: 'varchar', length: 16 })
  status: ReplayStatus;

  /** The time range of an `events` replay (inclusive). */
  @Column({ name: 'events_from', type: Date, nullable: true })
  eventsFrom: Date | null;

  @Column({ name: 'events_to', type: Date, nullable: true })
  eventsTo: Date | null;

  /** The highest event (or delivery) id the replay covers: what came later streams live. */
  @Column({ name: 'upper_id', type: 'bigint' })
  upperId: string;

  /** The last event (or delivery) id done; the next batch starts after it. */
  @Column({ name: 'cursor_id', type: 'bigint' })
  cursorId: string;

  /** Events (or deliveries) to look at, counted when the replay was requested. */
  @Column({ type: 'integer', default: 0 })
  total: number;

  @Column({ type: 'integer', default: 0 })
  processed: number;

  /** Deliveries queued so far. */
  @Column({ type: 'integer', default: 0 })
  queued: number;

  @Column({ name: 'author_id', type: 'integer', nullable: true })
  authorId: number | null;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  /** While a worker runs a batch: until when the replay is its own. */
  @Column({ name: 'locked_until', type: Date, nullable: true })
  lockedUntil: Date | null;

  @Column({ name: 'created_at', type: Date })
  createdAt: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt: Date;

  @Column({ name: 'finished_at', type: Date, nullable: true })
  finishedAt: Date | null;
}
