import { Column, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { ExternalAuditEventDestination } from './external-audit-event-destination.entity';

/** GitLab's `AuditEvents::Streaming::Header`: a custom header sent with every delivery. */
@Entity({ name: 'audit_events_streaming_headers' })
export class StreamingHeader {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'external_audit_event_destination_id', type: 'integer' })
  destinationId: number;

  @ManyToOne(() => ExternalAuditEventDestination, (d) => d.headers, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'external_audit_event_destination_id' })
  destination?: ExternalAuditEventDestination;

  @Column({ type: 'varchar', length: 255 })
  key: string;

  @Column({ type: 'varchar', length: 2000 })
  value: string;

  @Column({ type: 'boolean', default: true })
  active: boolean;

  @Column({ name: 'created_at', type: Date })
  createdAt: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt: Date;
}
