import { Column, Entity, JoinColumn, OneToOne, PrimaryGeneratedColumn } from 'typeorm';
import { ExternalAuditEventDestination } from './external-audit-event-destination.entity';

export type NamespaceKind = 'Group' | 'Project';

/**
 * GitLab's `AuditEvents::Streaming::HTTP::NamespaceFilter`: the destination receives only events
 * of this group (and everything below it) or this project. At most one per destination.
 */
@Entity({ name: 'audit_events_streaming_http_namespace_filters' })
export class StreamingNamespaceFilter {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'external_audit_event_destination_id', type: 'integer', unique: true })
  destinationId: number;

  @OneToOne(() => ExternalAuditEventDestination, (d) => d.namespaceFilter, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'external_audit_event_destination_id' })
  destination?: ExternalAuditEventDestination;

  @Column({ name: 'namespace_id', type: 'integer' })
  namespaceId: number;

  @Column({ name: 'namespace_type', type: 'varchar', length: 16 })
  namespaceType: NamespaceKind;

  @Column({ name: 'created_at', type: Date })
  createdAt: Date;
}
