import {
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  Unique,
} from 'typeorm';
import { AuditEvent } from '../audit-events/audit-event.entity';
import { ExternalAuditEventDestination } from '../destinations/external-audit-event-destination.entity';

/**
 * `pending`: waiting for its first attempt; `failed`: an attempt failed and another is scheduled;
 * `delivered`: a 2xx was received; `dead`: attempts ran out (kept, visible, replayable).
 */
export type DeliveryStatus = 'pending' | 'failed' | 'delivered' | 'dead';

/** The outbox row: one per (audit event, destination). The database is the source of truth. */
@Entity({ name: 'audit_events_streaming_deliveries' })
@Unique('uq_streaming_delivery', ['auditEventId', 'destinationId'])
@Index('index_streaming_deliveries_undelivered', ['destinationId', 'id'], {
  where: `"status" IN ('pending', 'failed')`,
})
export class AuditEventDelivery {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'audit_event_id', type: 'bigint' })
  auditEventId: string;

  @ManyToOne(() => AuditEvent)
  @JoinColumn({ name: 'audit_event_id' })
  auditEvent?: AuditEvent;

  @Column({ name: 'destination_id', type: 'integer' })
  destinationId: number;

  @ManyToOne(() => ExternalAuditEventDestination, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'destination_id' })
  destination?: ExternalAuditEventDestination;

  @Column({ type: 'varchar', length: 16 })
  status: DeliveryStatus;

  /** Attempts made so far (an attempt is counted when it starts). */
  @Column({ type: 'integer', default: 0 })
  attempts: number;

  /**
   * `attempts` when the delivery was last replayed: the retry schedule counts from here, while
   * `attempts` (and so the job ids, `d<id>a<attempt>`) keeps counting up.
   */
  @Column({ name: 'attempts_before_replay', type: 'integer', default: 0 })
  attemptsBeforeReplay: number;

  /** When the next attempt is due (or, while one runs, when its lease expires). */
  @Column({ name: 'next_attempt_at', type: Date, nullable: true })
  nextAttemptAt: Date | null;

  @Column({ name: 'last_attempt_at', type: Date, nullable: true })
  lastAttemptAt: Date | null;

  @Column({ name: 'last_status_code', type: 'integer', nullable: true })
  lastStatusCode: number | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  /** The start of the last response's body (at most `responseExcerptBytes`). */
  @Column({ name: 'response_excerpt', type: 'text', nullable: true })
  responseExcerpt: string | null;

  @Column({ name: 'delivered_at', type: Date, nullable: true })
  deliveredAt: Date | null;

  @Column({ name: 'created_at', type: Date })
  createdAt: Date;

  /** The job that carries this delivery to a worker (fan-out's jobs carry many). */
  @Column({ name: 'job_id', type: 'varchar', length: 64, nullable: true })
  jobId: string | null;

  /** Set by the worker that claimed the current attempt, to read its claimed rows back. */
  @Column({ name: 'claim_token', type: 'varchar', length: 36, nullable: true })
  claimToken: string | null;
}
