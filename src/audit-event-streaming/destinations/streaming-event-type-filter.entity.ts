import { Column, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { ExternalAuditEventDestination } from './external-audit-event-destination.entity';

/** GitLab's `AuditEvents::Streaming::EventTypeFilter`: with any, a destination gets only those types. */
@Entity({ name: 'audit_events_streaming_event_type_filters' })
export class StreamingEventTypeFilter {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'external_audit_event_destination_id', type: 'integer' })
  destinationId: number;

  @ManyToOne(() => ExternalAuditEventDestination, (d) => d.eventTypeFilters, {
    onDelete: 'CASCADE',
  })
  @JoinColumn({ name: 'external_audit_event_destination_id' })
  destination?: ExternalAuditEventDestination;

  @Column({ name: 'audit_event_type', type: 'varchar', length: 255 })
  auditEventType: string;

  @Column({ name: 'created_at', type: Date })
  createdAt: Date;
}
