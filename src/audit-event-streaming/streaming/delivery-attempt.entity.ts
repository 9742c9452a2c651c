import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { AuditEventDelivery } from './delivery.entity';

/** One attempt of one delivery: the delivery log's detail, kept as long as its delivery. */
@Entity({ name: 'audit_events_streaming_delivery_attempts' })
@Index('index_streaming_delivery_attempts_on_delivery', ['deliveryId', 'id'])
export class AuditEventDeliveryAttempt {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'delivery_id', type: 'bigint' })
  deliveryId: string;

  @ManyToOne(() => AuditEventDelivery, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'delivery_id' })
  delivery?: AuditEventDelivery;

  /** 1 for the first attempt. */
  @Column({ name: 'attempt_number', type: 'integer' })
  attemptNumber: number;

  /** The receiver's HTTP status; null when no response came (timeout, refused, blocked). */
  @Column({ name: 'status_code', type: 'integer', nullable: true })
  statusCode: number | null;

  /** Null on success. */
  @Column({ type: 'text', nullable: true })
  error: string | null;

  @Column({ name: 'latency_ms', type: 'integer' })
  latencyMs: number;

  @Column({ name: 'response_excerpt', type: 'text', nullable: true })
  responseExcerpt: string | null;

  @Column({ name: 'created_at', type: Date })
  createdAt: Date;
}
