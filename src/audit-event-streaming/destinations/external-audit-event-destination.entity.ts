import { Column, Entity, OneToMany, OneToOne, PrimaryGeneratedColumn } from 'typeorm';
import { StreamingEventTypeFilter } from './streaming-event-type-filter.entity';
import { StreamingHeader } from './streaming-header.entity';
import { StreamingNamespaceFilter } from './streaming-namespace-filter.entity';

/** GitLab's `AuditEvents::ExternalAuditEventDestination`: an HTTP endpoint of a top-level group. */
/** How a destination receives events: one request each, or many per request. */
export type BatchFormat = 'none' | 'ndjson' | 'splunk_hec';

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

  /** Batch mode (ours): `none` is GitLab's one request per event. */
  @Column({ name: 'batch_format', type: 'varchar', length: 16, default: 'none' })
  batchFormat: BatchFormat;

  @Column({ name: 'batch_max_events', type: 'integer', default: 100 })
  batchMaxEvents: number;

  @Column({ name: 'batch_max_bytes', type: 'integer', default: 1048576 })
  batchMaxBytes: number;

  /** How long the oldest event of a batch may wait for the batch to fill. */
  @Column({ name: 'batch_max_wait_ms', type: 'integer', default: 1000 })
  batchMaxWaitMs: number;

  @Column({ name: 'created_at', type: Date })
  createdAt: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt: Date;

  // --- health (written by the delivery worker; see streaming/circuit-breaker.ts) ---------------

  /** Failed attempts since the last success. */
  @Column({ name: 'consecutive_failures', type: 'integer', default: 0 })
  consecutiveFailures: number;

  @Column({ name: 'last_success_at', type: Date, nullable: true })
  lastSuccessAt: Date | null;

  @Column({ name: 'last_failure_at', type: Date, nullable: true })
  lastFailureAt: Date | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  /** The first failure since the last success: deactivation counts from here. */
  @Column({ name: 'failing_since', type: Date, nullable: true })
  failingSince: Date | null;

  @Column({ name: 'circuit_opened_at', type: Date, nullable: true })
  circuitOpenedAt: Date | null;

  /** Set while the circuit is open: when the next probe may go. */
  @Column({ name: 'circuit_retry_at', type: Date, nullable: true })
  circuitRetryAt: Date | null;

  /** Why the worker deactivated the destination (null when active or deactivated by an owner). */
  @Column({ name: 'deactivated_reason', type: 'text', nullable: true })
  deactivatedReason: string | null;

  @OneToMany(() => StreamingHeader, (header) => header.destination)
  headers?: StreamingHeader[];

  @OneToMany(() => StreamingEventTypeFilter, (filter) => filter.destination)
  eventTypeFilters?: StreamingEventTypeFilter[];

  @OneToOne(() => StreamingNamespaceFilter, (filter) => filter.destination)
  namespaceFilter?: StreamingNamespaceFilter | null;
}
