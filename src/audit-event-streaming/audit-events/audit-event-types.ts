import { Injectable } from '@nestjs/common';
import { UnknownAuditEventTypeError } from '../common/errors';

/** The event types the plugin records itself (GitLab's names). */
export const PLUGIN_AUDIT_EVENT_TYPES = [
  'create_event_streaming_destination',
  'update_event_streaming_destination',
  'destroy_event_streaming_destination',
  'audit_events_streaming_headers_create',
  'audit_events_streaming_headers_update',
  'audit_events_streaming_headers_destroy',
  'event_type_filters_created',
  'event_type_filters_deleted',
  'create_http_namespace_filter',
  'delete_http_namespace_filter',
  'event_streaming_destination_signing_secret_rotated',
  'event_streaming_destination_deactivated',
] as const;

/**
 * Every event type that may be recorded or filtered on. The plugin declares its own; the host
 * declares its own through the module's `eventTypes` option (or `declare()` at start-up).
 */
@Injectable()
export class AuditEventTypeRegistry {
  private readonly types = new Set<string>(PLUGIN_AUDIT_EVENT_TYPES);

  declare(...types: string[]): void {
    for (const type of types) {
      if (!/^[a-z0-9_]+$/.test(type)) throw new Error(`Invalid audit event type name: ${type}`);
      this.types.add(type);
    }
  }

  has(type: string): boolean {
    return this.types.has(type);
  }

  assertKnown(type: string): void {
    if (!this.has(type)) throw new UnknownAuditEventTypeError(type);
  }

  list(): string[] {
    return [...this.types].sort();
  }
}
