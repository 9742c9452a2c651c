import { AuditEvent } from './audit-events/audit-event.entity';
import { ExternalAuditEventDestination } from './destinations/external-audit-event-destination.entity';
import { StreamingEventTypeFilter } from './destinations/streaming-event-type-filter.entity';
import { StreamingHeader } from './destinations/streaming-header.entity';
import { StreamingNamespaceFilter } from './destinations/streaming-namespace-filter.entity';
import { AuditEventStreaming1764000000000 } from '../../migrations/audit-event-streaming/1764000000000-AuditEventStreaming';
import { StreamingDeliveries1764000000002 } from '../../migrations/audit-event-streaming/1764000000002-StreamingDeliveries';
import { AuditEventDelivery } from './streaming/delivery.entity';
import { AuditEventDeliveryAttempt } from './streaming/delivery-attempt.entity';
import { DeliveryLog1764000000003 } from '../../migrations/audit-event-streaming/1764000000003-DeliveryLog';
import { AuditEventStreamingReplay } from './streaming/replay.entity';
import { Replays1764000000004 } from '../../migrations/audit-event-streaming/1764000000004-Replays';
import { DeliveryBatches1764000000005 } from '../../migrations/audit-event-streaming/1764000000005-DeliveryBatches';
import { LeanerOutboxIndexes1764000000006 } from '../../migrations/audit-event-streaming/1764000000006-LeanerOutboxIndexes';
import { RouteVersions1764000000007 } from '../../migrations/audit-event-streaming/1764000000007-RouteVersions';

/** Add these to the host's `TypeOrmModule.forRoot({ entities })`. */
export const AUDIT_EVENT_STREAMING_ENTITIES = [
  AuditEvent,
  ExternalAuditEventDestination,
  StreamingHeader,
  StreamingEventTypeFilter,
  StreamingNamespaceFilter,
  AuditEventDelivery,
  AuditEventDeliveryAttempt,
  AuditEventStreamingReplay,
];

/** Add these to the host's `migrations`; they run on PostgreSQL and SQLite alike. */
export const AUDIT_EVENT_STREAMING_MIGRATIONS = [
  AuditEventStreaming1764000000000,
  StreamingDeliveries1764000000002,
  DeliveryLog1764000000003,
  Replays1764000000004,
  DeliveryBatches1764000000005,
  LeanerOutboxIndexes1764000000006,
  RouteVersions1764000000007,
];
