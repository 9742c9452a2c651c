import { randomUUID } from 'node:crypto';
import { AuditEvent } from '../audit-events/audit-event.entity';
import type { ExternalAuditEventDestination } from '../destinations/external-audit-event-destination.entity';
import type { HostGroup, HostUser } from '../host/audit-event-streaming-host';

/** The event type of a test event: never recorded, never filtered, only sent on request. */
export const TEST_EVENT_TYPE = 'audit_events_streaming_test_event';

/**
 * A synthetic audit event for `externalAuditEventDestinationTestEventSend`: GitLab's payload
 * shape about the destination's group, by the caller, with a fresh id (`test-<uuid>`, so it can
 * never collide with a real event's id), `event_type: audit_events_streaming_test_event` and
 * `details.test: true`. It is not persisted.
 */
export function buildTestEvent(
  destination: ExternalAuditEventDestination,
  group: HostGroup,
  user: HostUser,
  ip: string | null,
  now = new Date(),
): AuditEvent {
  const target = {
    target_id: destination.id,
    target_type: 'AuditEvents::ExternalAuditEventDestination',
    target_details: destination.name,
  };
  return Object.assign(new AuditEvent(), {
    id: `test-${randomUUID()}`,
    authorId: user.id,
    authorName: user.name,
    entityId: group.id,
    entityType: 'Group',
    entityPath: group.fullPath,
    targetId: String(destination.id),
    targetType: target.target_type,
    targetDetails: target.target_details,
    ipAddress: ip,
    eventType: TEST_EVENT_TYPE,
    details: {
      author_name: user.name,
      author_class: 'User',
      ...target,
      custom_message: 'Test event from audit event streaming: no action was taken',
      ip_address: ip,
      entity_path: group.fullPath,
      test: true,
      event_name: TEST_EVENT_TYPE,
    },
    createdAt: now,
    fannedOutAt: null,
  });
}
