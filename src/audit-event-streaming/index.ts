// The plugin's public API: hosts import from here and nowhere else.
export { AuditEventStreamingModule } from './audit-event-streaming.module';
export {
  AUDIT_EVENT_STREAMING_OPTIONS,
  DEFAULT_FEATURE_FLAG,
} from './audit-event-streaming.options';
export type {
  AuditEventStreamingOptions,
  DeliveryOptions,
  FeatureFlagOptions,
  LimitOptions,
  UnleashBootstrap,
} from './audit-event-streaming.options';
export { AUDIT_EVENT_STREAMING_ENTITIES, AUDIT_EVENT_STREAMING_MIGRATIONS } from './entities';
export { AuditEvent } from './audit-events/audit-event.entity';
export { AuditEventsService, AUDIT_TEXT_LIMIT } from './audit-events/audit-events.service';
export type {
  AuditEventQuery,
  RecordAuditEventInput,
  RecordOptions,
} from './audit-events/audit-events.service';
export { AuditEventTypeRegistry, PLUGIN_AUDIT_EVENT_TYPES } from './audit-events/audit-event-types';
export { AuditEventCommits } from './audit-events/audit-event-commits';
export { FeatureFlagService } from './feature-flags/feature-flag.service';
export { AccessLevel, AuditEventStreamingHost } from './host/audit-event-streaming-host';
export type { HostGroup, HostProject, HostUser } from './host/audit-event-streaming-host';
export { GroupType } from './common/group.type';
export { GID_MODELS, toGlobalId } from './common/global-id';
export { ResourceNotAvailableError, UnknownAuditEventTypeError } from './common/errors';
export { AuditEventStreamingMetrics } from './streaming/delivery-metrics';
export { LookupCache } from './streaming/lookup-cache';
export type { AttemptOutcome } from './streaming/delivery-metrics';
export { TEST_EVENT_TYPE } from './streaming/test-event';
