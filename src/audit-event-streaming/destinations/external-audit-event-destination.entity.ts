import { Column, Entity, OneToMany, OneToOne, PrimaryGeneratedColumn } from 'typeorm';
import { StreamingEventTypeFilter } from './streaming-event-type-filter.entity';
import { StreamingHeader } from './streaming-header.entity';
import { StreamingNamespaceFilter } from './streaming-namespace-filter.entity';

/** GitLab's `AuditEvents::ExternalAuditEventDestination`: an HTTP endpoint of a top-level group. */
@Entity({ name: 'audit_events_external_audit_event_destinations' })
export class ExternalAuditEventDestination {
  @PrimaryGeneratedColumn()
  id: number;

  /** The top-level group (GitLab's `namespace_id`). */
  @Column({ name: 'namespace_id', type: 'integer' })
  groupId: number;

  @Column({ name: 'destination_url', type: 'varchar', length: 255 })
  destinationUrl: string;

  @Column({ name: 'verification_token', type: 'varchar', length: 24 })
  verificationToken: string;

  @Column({ type: 'varchar', length: 72 })
  name: string;

  @Column({ type: 'boolean', default: true })
  active: boolean;

  /** Standard Webhooks secret, `whsec_<base64>`. */
  @Column({ name: 'signing_secret', type: 'varchar' })
  signingSecret: string;

  /** The secret before the last rotation, still signed with until `previousSigningSecretExpiresAt`. */
  @Column({ name: 'previous_signing_secret', type: 'varchar', nullable: true })
  previousSigningSecret: string | null;

  @Column({ name: 'previous_signing_secret_expires_at', type: Date, nullable: true })
  previousSigningSecretExpiresAt: Date | null;

  @Column({ name: 'created_at', type: Date })
  createdAt: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt: Date;

  @OneToMany(() => StreamingHeader, (header) => header.destination)
  headers?: StreamingHeader[];

  @OneToMany(() => StreamingEventTypeFilter, (filter) => filter.destination)
  eventTypeFilters?: StreamingEventTypeFilter[];

  @OneToOne(() => StreamingNamespaceFilter, (filter) => filter.destination)
  namespaceFilter?: StreamingNamespaceFilter | null;
}
