import type { AuditEvent } from '../audit-events/audit-event.entity';
import { cutAuditText } from '../audit-events/audit-events.service';

/** The body GitLab streams: the audit event as JSON with `event_type` added (GITLAB-CONTRACT.md §5). */
export interface StreamedAuditEvent {
  id: string;
  author_id: number;
  author_name: string | null;
  entity_id: number;
  entity_type: string;
  entity_path: string | null;
  details: Record<string, unknown>;
  ip_address: string | null;
  target_id: number | string | null;
  target_type: string | null;
  target_details: string | null;
  created_at: string;
  event_type: string;
}

export function toStreamedEvent(event: AuditEvent): StreamedAuditEvent {
  const targetId =
    event.targetId == null ? (event.details?.target_id ?? null) : Number(event.targetId);
  return {
    id: String(event.id),
    author_id: event.authorId,
    author_name: event.authorName,
    entity_id: event.entityId,
    entity_type: event.entityType,
    entity_path: cutAuditText(event.entityPath),
    details: event.details,
    ip_address: event.ipAddress,
    target_id: targetId as number | string | null,
    target_type: event.targetType,
    target_details: cutAuditText(event.targetDetails),
    created_at: event.createdAt.toISOString(),
    event_type: event.eventType,
  };
}
