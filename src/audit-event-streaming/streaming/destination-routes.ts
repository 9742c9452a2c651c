import type { ExternalAuditEventDestination } from '../destinations/external-audit-event-destination.entity';

/** Where an audit event belongs: its top-level group, and the group or project it is about. */
export interface EventScope {
  rootGroupId: number;
  entityType: 'Group' | 'Project';
  entityId: number;
  /** The current full path of the group or project the event is about. */
  fullPath: string;
}

/** A destination as fan-out sees it: its filters, with the namespace filter's path resolved. */
export interface DestinationRoute {
  destinationId: number;
  /** Empty: every type. */
  eventTypes: Set<string>;
  namespace: { type: 'Group' | 'Project'; id: number; fullPath: string } | null;
  /** Batch mode: how long a new delivery's job waits for others to join it (0: at once). */
  batchWaitMs: number;
}

/** What of a destination its route is made of (a destination entity is one). */
export interface RouteSource {
  id: number;
  batchFormat: ExternalAuditEventDestination['batchFormat'];
  batchMaxWaitMs: number;
  eventTypeFilters?: { auditEventType: string }[];
  namespaceFilter?: { namespaceType: 'Group' | 'Project'; namespaceId: number } | null;
}

export function toRoute(destination: RouteSource, namespacePath: string | null): DestinationRoute {
  const filter = destination.namespaceFilter;
  return {
    destinationId: destination.id,
    eventTypes: new Set((destination.eventTypeFilters ?? []).map((f) => f.auditEventType)),
    namespace:
      filter && namespacePath != null
        ? { type: filter.namespaceType, id: filter.namespaceId, fullPath: namespacePath }
        : null,
    batchWaitMs:
      destination.batchFormat && destination.batchFormat !== 'none'
        ? destination.batchMaxWaitMs
        : 0,
  };
}

/**
 * GitLab's filters: no event type filter passes every type; a group namespace filter passes the
 * group and everything below it; a project namespace filter passes that project.
 */
export function routeMatches(
  route: DestinationRoute,
  eventType: string,
  scope: EventScope,
): boolean {
  if (route.eventTypes.size > 0 && !route.eventTypes.has(eventType)) return false;
  const ns = route.namespace;
  if (!ns) return true;
  if (ns.type === 'Project') return scope.entityType === 'Project' && scope.entityId === ns.id;
  return scope.fullPath === ns.fullPath || scope.fullPath.startsWith(`${ns.fullPath}/`);
}
