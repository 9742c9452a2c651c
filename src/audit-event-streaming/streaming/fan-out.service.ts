import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager, In, IsNull } from 'typeorm';
import { AuditEventCommits } from '../audit-events/audit-event-commits';
import { AuditEvent } from '../audit-events/audit-event.entity';
import {
  BatchFormat,
  ExternalAuditEventDestination,
} from '../destinations/external-audit-event-destination.entity';
import { FeatureFlagService } from '../feature-flags/feature-flag.service';
import { AuditEventStreamingHost } from '../host/audit-event-streaming-host';
import { onPostgres, pgRows } from '../common/hot-sql';
import { AuditEventDelivery } from './delivery.entity';
import { DeliveryQueue, DestinationDeliveriesToEnqueue } from './delivery-queue';
import { LookupCache } from './lookup-cache';
import {
  DestinationRoute,
  EventScope,
  RouteSource,
  routeMatches,
  toRoute,
} from './destination-routes';

/** Events per fan-out pass. */
const MAX_BATCH = 500;
/** Committed events held in memory for fan-out at most; more wait in the outbox for the sweeper. */
const MAX_BUFFERED = 10_000;

type NewDelivery = Pick<
  AuditEventDelivery,
  'auditEventId' | 'destinationId' | 'status' | 'attempts' | 'nextAttemptAt' | 'createdAt' | 'jobId'
>;

/** Lookups shared by the events of one fan-out pass (each loaded through the `LookupCache`). */
type HostLookups = Map<string, Promise<unknown>>;

/** A group's routes and the route version they were read at. */
interface VersionedRoutes {
  version: number;
  routes: DestinationRoute[];
}

/** An event as one pass routed it: its top-level group (null: it streams nowhere) and rows. */
interface RoutedEvent {
  event: AuditEvent;
  root: number | null;
  rows: NewDelivery[];
}

/** What one pass wrote: the deliveries it created, and the groups whose routes had changed. */
interface Persisted {
  created: Pick<AuditEventDelivery, 'id' | 'destinationId' | 'jobId'>[];
  staleGroupIds: number[];
}

/** Tries of a pass whose groups' routes keep changing under it, before it is left to the sweeper. */
const MAX_ROUTE_ATTEMPTS = 3;

const ROUTE_VERSIONS = 'audit_events_streaming_route_versions';

/**
 * Fan-out after commit: each committed audit event becomes one persisted delivery per matching
 * active destination of its root group, and the event is marked fanned out in the same
 * transaction. Whatever this misses (a crash, a database hiccup), the sweeper fans out later.
 */
@Injectable()
export class FanOutService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(FanOutService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(AuditEventStreamingHost) private readonly host: AuditEventStreamingHost,
    private readonly flags: FeatureFlagService,
    private readonly commits: AuditEventCommits,
    private readonly queue: DeliveryQueue,
    private readonly cache: LookupCache,
  ) {}

  /** Committed events waiting for the next fan-out pass. */
  private buffer: AuditEvent[] = [];
  private draining: Promise<void> | null = null;

  onModuleInit(): void {
    this.commits.onCommitted((events) => this.collect(events));
  }

  /** Lets a fan-out in progress finish before the database closes. */
  async onModuleDestroy(): Promise<void> {
    await this.draining;
  }

  /**
   * Events committed while a pass runs (or in the same tick) are fanned out together: one insert,
   * one update and one enqueue for the lot, and each group looked up once. A pass that fails
   * leaves its events to the sweeper.
   */
  private collect(events: AuditEvent[]): void {
    // Memory stays bounded when events are recorded faster than they fan out: the excess is
    // committed and unmarked already, and the sweeper fans it out from the database.
    const room = MAX_BUFFERED - this.buffer.length;
    this.buffer.push(...(events.length > room ? events.slice(0, Math.max(0, room)) : events));
    this.draining ??= this.drain();
  }

  private async drain(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    while (this.buffer.length) {
      const batch = this.buffer.splice(0, MAX_BATCH);
      await this.fanOut(batch).catch((err: Error) =>
        this.logger.warn(
          `Fan-out of ${batch.length} audit events deferred to the sweeper: ${err?.message ?? err}`,
        ),
      );
    }
    this.draining = null;
  }

  /** Returns how many deliveries were created. */
  async fanOut(events: AuditEvent[]): Promise<number> {
    let created = 0;
    let pending = events;
    for (let attempt = 1; pending.length; attempt++) {
      if (attempt > MAX_ROUTE_ATTEMPTS) {
        this.logger.warn(
          `Fan-out of ${pending.length} audit events deferred to the sweeper: their groups' destinations kept changing`,
        );
        break;
      }
      const pass = await this.fanOutOnce(pending);
      created += pass.created;
      pending = pass.rerouted;
    }
    return created;
  }

  /**
   * One pass. The events of a group whose routes changed since they were read are not written:
   * they are answered (`rerouted`) to be routed again, while the others' deliveries go out.
   */
  private async fanOutOnce(
    events: AuditEvent[],
  ): Promise<{ created: number; rerouted: AuditEvent[] }> {
    const routesByRoot = new Map<number, Promise<VersionedRoutes>>();
    const lookups: HostLookups = new Map();
    const routed: RoutedEvent[] = [];
    const now = new Date();
    // One job per destination per pass, named on the rows it carries.
    const pass = randomUUID().replace(/-/g, '');
    const jobOf = (destinationId: number) => `f${pass}d${destinationId}`;
    const delayOf = new Map<number, number>();
    for (const event of events) {
      // One event the host cannot resolve (a lookup error) must not hold back the others: it
      // stays unmarked, and the sweeper tries it again on its next pass.
      try {
        routed.push(await this.route(event, routesByRoot, lookups, now, jobOf, delayOf));
      } catch (err) {
        this.logger.warn(
          `Fan-out of audit event ${event.id} deferred to the sweeper: ${(err as Error)?.message ?? err}`,
        );
      }
    }
    if (!routed.length) return { created: 0, rerouted: [] };
    // The route versions the pass routed with (a group whose lookup failed routed nothing).
    const versions = new Map<number, number>();
    for (const [root, routes] of routesByRoot) {
      const read = await routes.catch(() => null);
      if (read) versions.set(root, read.version);
    }
    const persisted = await this.persist(routed, now, versions);
    const stale = new Set(persisted.staleGroupIds);
    // Only the routes this pass used: a newer read by another pass stays.
    for (const root of stale) this.cache.forget(`routes:${root}`, routesByRoot.get(root));
    const created = persisted.created;
    if (created.length) {
      const jobs = new Map<string, DestinationDeliveriesToEnqueue>();
      for (const d of created) {
        const job = jobs.get(d.jobId!) ?? {
          jobId: d.jobId!,
          destinationId: d.destinationId,
          deliveryIds: [],
          delayMs: delayOf.get(d.destinationId) ?? 0,
        };
        job.deliveryIds.push(d.id);
        jobs.set(job.jobId, job);
      }
      await this.queue.enqueueForDestinations([...jobs.values()]);
    }
    return {
      created: created.length,
      rerouted: routed.filter((r) => r.root != null && stale.has(r.root)).map((r) => r.event),
    };
  }

  /**
   * Persists the pass's deliveries and marks its events fanned out, atomically, except for the
   * events of groups whose route version is no longer the one their routes were read at: those
   * are neither written nor marked, and their groups are answered. Answers the rows this pass
   * created (an event fanned out before keeps its earlier rows and jobs).
   */
  private persist(
    routed: RoutedEvent[],
    now: Date,
    versions: Map<number, number>,
  ): Promise<Persisted> {
    return onPostgres(this.db)
      ? this.persistOnPostgres(routed, now, versions)
      : this.persistPortable(routed, now, versions);
  }

  /**
   * PostgreSQL: one statement. Destinations are share-locked until it ends: one destroyed since
   * the routes were read would otherwise fail the whole insert on its foreign key.
   */
  private async persistOnPostgres(
    routed: RoutedEvent[],
    now: Date,
    versions: Map<number, number>,
  ): Promise<Persisted> {
    const rows = routed.flatMap((r) => r.rows.map((row) => ({ ...row, root: r.root })));
    const result = await pgRows<{
      id: string | null;
      destination_id: number | null;
      job_id: string | null;
      stale_group: number | null;
    }>(
      this.db,
      `WITH stale AS (
         SELECT c.group_id FROM unnest($6::int[], $7::bigint[]) AS c(group_id, version)
         LEFT JOIN ${ROUTE_VERSIONS} v ON v.group_id = c.group_id
         WHERE COALESCE(v.version, 0) <> c.version
       ), live AS (
         SELECT id FROM audit_events_external_audit_event_destinations
         WHERE id = ANY($2::int[]) FOR SHARE
       ), created AS (
         INSERT INTO audit_events_streaming_deliveries
           (audit_event_id, destination_id, job_id, status, attempts, next_attempt_at, created_at)
         SELECT r.event_id, r.destination_id, r.job_id, 'pending', 0, $4::timestamptz, $4::timestamptz
         FROM unnest($1::bigint[], $2::int[], $3::text[], $8::int[])
           AS r(event_id, destination_id, job_id, group_id)
         JOIN live ON live.id = r.destination_id
         WHERE r.group_id NOT IN (SELECT group_id FROM stale)
         ON CONFLICT DO NOTHING
         RETURNING id, destination_id, job_id
       ), marked AS (
         UPDATE audit_events a SET fanned_out_at = $4
         FROM unnest($5::bigint[], $9::int[]) AS e(id, group_id)
         WHERE a.id = e.id AND a.fanned_out_at IS NULL
           AND (e.group_id IS NULL OR e.group_id NOT IN (SELECT group_id FROM stale))
       )
       SELECT id, destination_id, job_id, NULL::int AS stale_group FROM created
       UNION ALL
       SELECT NULL, NULL, NULL, group_id FROM stale`,
      [
        rows.map((r) => r.auditEventId),
        rows.map((r) => r.destinationId),
        rows.map((r) => r.jobId),
        now,
        routed.map((r) => String(r.event.id)),
        [...versions.keys()],
        [...versions.values()],
        rows.map((r) => r.root),
        routed.map((r) => r.root),
      ],
    );
    return {
      staleGroupIds: result.filter((r) => r.stale_group != null).map((r) => r.stale_group!),
      created: result
        .filter((r) => r.id != null)
        .map((c) => ({ id: c.id!, destinationId: c.destination_id!, jobId: c.job_id! }))
        .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1)),
    };
  }

  /** Elsewhere (SQLite: one writer at a time): a transaction of TypeORM statements. */
  private async persistPortable(
    routed: RoutedEvent[],
    now: Date,
    versions: Map<number, number>,
  ): Promise<Persisted> {
    let writing: RoutedEvent[] = [];
    const staleGroupIds = await this.db.transaction(async (manager) => {
      const stale = new Set(await this.staleGroups(manager, versions));
      writing = routed.filter((r) => r.root == null || !stale.has(r.root));
      const live = await this.withLiveDestinations(
        manager,
        writing.flatMap((r) => r.rows),
      );
      if (live.length) {
        await manager
          .createQueryBuilder()
          .insert()
          .into(AuditEventDelivery)
          .values(live)
          .orIgnore()
          .execute();
      }
      if (writing.length)
        await manager
          .getRepository(AuditEvent)
          .update(
            { id: In(writing.map((r) => String(r.event.id))), fannedOutAt: IsNull() },
            { fannedOutAt: now },
          );
      return [...stale];
    });
    const jobIds = [...new Set(writing.flatMap((r) => r.rows.map((row) => row.jobId!)))];
    if (!jobIds.length) return { created: [], staleGroupIds };
    const created = await this.db.getRepository(AuditEventDelivery).find({
      select: { id: true, destinationId: true, jobId: true },
      where: { auditEventId: In(writing.map((r) => String(r.event.id))), jobId: In(jobIds) },
      order: { id: 'ASC' },
    });
    return { created, staleGroupIds };
  }

  /** The groups whose route version is no longer the one given (portable path). */
  private async staleGroups(
    manager: EntityManager,
    versions: Map<number, number>,
  ): Promise<number[]> {
    if (!versions.size) return [];
    const current = await this.routeVersions(manager, [...versions.keys()]);
    return [...versions].filter(([g, v]) => (current.get(g) ?? 0) !== v).map(([g]) => g);
  }

  /** Route versions of the groups (a group that never had a destination is at 0). */
  private async routeVersions(
    manager: EntityManager,
    groupIds: number[],
  ): Promise<Map<number, number>> {
    const marks = groupIds.map((_g, i) => (onPostgres(this.db) ? `$${i + 1}` : '?')).join(', ');
    const rows = (await manager.query(
      `SELECT group_id, version FROM ${ROUTE_VERSIONS} WHERE group_id IN (${marks})`,
      groupIds,
    )) as { group_id: number; version: number | string }[];
    return new Map(rows.map((r) => [Number(r.group_id), Number(r.version)]));
  }

  /** The rows whose destination still exists (SQLite transactions are serialized already). */
  private async withLiveDestinations(
    manager: EntityManager,
    rows: NewDelivery[],
  ): Promise<NewDelivery[]> {
    if (!rows.length) return rows;
    const ids = [...new Set(rows.map((r) => r.destinationId))];
    const alive = await manager.getRepository(ExternalAuditEventDestination).find({
      select: { id: true },
      where: { id: In(ids) },
    });
    const aliveIds = new Set(alive.map((d) => String(d.id)));
    return rows.filter((r) => aliveIds.has(String(r.destinationId)));
  }

  /** The event's root group and one pending delivery per matching active destination of it. */
  private async route(
    event: AuditEvent,
    routesByRoot: Map<number, Promise<VersionedRoutes>>,
    lookups: HostLookups,
    now: Date,
    jobOf: (destinationId: number) => string,
    delayOf: Map<number, number>,
  ): Promise<RoutedEvent> {
    const scope = await this.scopeOf(event, lookups);
    if (!scope) return { event, root: null, rows: [] };
    const root = scope.rootGroupId;
    let routes = routesByRoot.get(root);
    if (!routes) {
      routes = this.cache.get(`routes:${root}`, () => this.versionedRoutes(root));
      routesByRoot.set(root, routes);
      // A failed lookup is retried for the next event rather than failing them all.
      routes.catch(() => routesByRoot.delete(root));
    }
    const rows = (await routes).routes
      .filter((route) => routeMatches(route, event.eventType, scope))
      .map((route) => {
        delayOf.set(route.destinationId, route.batchWaitMs);
        return route;
      })
      .map((route) => ({
        jobId: jobOf(route.destinationId),
        auditEventId: String(event.id),
        destinationId: route.destinationId,
        status: 'pending' as const,
        attempts: 0,
        nextAttemptAt: now,
        createdAt: now,
      }));
    return { event, root, rows };
  }

  /** The event's root group and namespace, or null when it streams nowhere (flag off, user event...). */
  async scopeOf(event: AuditEvent, lookups: HostLookups = new Map()): Promise<EventScope | null> {
    // One host lookup per group or project per pass at most (kept across passes by the cache);
    // a failed lookup is not kept.
    const once = <T>(key: string, load: () => Promise<T>): Promise<T> => {
      let hit = lookups.get(key) as Promise<T> | undefined;
      if (!hit) {
        hit = this.cache.get(key, load);
        lookups.set(key, hit);
        hit.catch(() => lookups.delete(key));
      }
      return hit;
    };
    let groupId: number | null = null;
    let fullPath: string;
    if (event.entityType === 'Group') {
      const group = await once(`group:${event.entityId}`, () =>
        this.host.findGroupById(event.entityId),
      );
      if (!group) return null;
      groupId = group.id;
      fullPath = group.fullPath;
      // A top-level group is its own root: no second lookup.
      if (group.parentId == null) lookups.set(`root:${group.id}`, Promise.resolve(group));
    } else if (event.entityType === 'Project') {
      const project = await once(`project:${event.entityId}`, () =>
        this.host.findProjectById(event.entityId),
      );
      if (!project || project.groupId == null) return null; // personal namespace: no group destinations
      groupId = project.groupId;
      fullPath = project.fullPath;
    } else {
      return null;
    }
    const rootOf = groupId;
    const root = await once(`root:${rootOf}`, () => this.host.findRootGroup(rootOf));
    if (!root || !this.flags.isEnabled(root)) return null;
    return {
      rootGroupId: root.id,
      entityType: event.entityType,
      entityId: event.entityId,
      fullPath,
    };
  }

  /**
   * The group's routes with the route version read before them: a change committed in between
   * makes the version older than the routes, never newer, so a check against it errs on the side
   * of reading them again.
   */
  private async versionedRoutes(rootGroupId: number): Promise<VersionedRoutes> {
    const version =
      (await this.routeVersions(this.db.manager, [rootGroupId])).get(rootGroupId) ?? 0;
    return { version, routes: await this.routesOf(rootGroupId) };
  }

  /** The group's routes as they are now (uncached). */
  async routesOf(rootGroupId: number): Promise<DestinationRoute[]> {
    const destinations = await this.routeSources(rootGroupId);
    return Promise.all(
      destinations.map(async (d) => {
        const filter = d.namespaceFilter;
        if (!filter) return toRoute(d, null);
        const ns =
          filter.namespaceType === 'Group'
            ? await this.host.findGroupById(filter.namespaceId)
            : await this.host.findProjectById(filter.namespaceId);
        // A filter whose namespace is gone passes nothing rather than everything.
        return ns
          ? toRoute(d, ns.fullPath)
          : { ...toRoute(d, null), eventTypes: new Set(['\u0000none']) };
      }),
    );
  }

  /** The group's active destinations with their filters, in order (every fan-out pass reads them). */
  private async routeSources(rootGroupId: number): Promise<RouteSource[]> {
    if (!onPostgres(this.db))
      return this.db.getRepository(ExternalAuditEventDestination).find({
        where: { groupId: rootGroupId, active: true },
        relations: { eventTypeFilters: true, namespaceFilter: true },
        order: { id: 'ASC' },
      });
    const rows = await pgRows<{
      id: number;
      batch_format: BatchFormat;
      batch_max_wait_ms: number;
      event_types: string[];
      namespace_type: 'Group' | 'Project' | null;
      namespace_id: number | null;
    }>(
      this.db,
      `SELECT d.id, d.batch_format, d.batch_max_wait_ms,
              ARRAY(SELECT f.audit_event_type FROM audit_events_streaming_event_type_filters f
                    WHERE f.external_audit_event_destination_id = d.id) AS event_types,
              n.namespace_type, n.namespace_id
       FROM audit_events_external_audit_event_destinations d
       LEFT JOIN audit_events_streaming_http_namespace_filters n
         ON n.external_audit_event_destination_id = d.id
       WHERE d.namespace_id = $1 AND d.active
       ORDER BY d.id`,
      [rootGroupId],
    );
    return rows.map((r) => ({
      id: r.id,
      batchFormat: r.batch_format,
      batchMaxWaitMs: r.batch_max_wait_ms,
      eventTypeFilters: r.event_types.map((auditEventType) => ({ auditEventType })),
      namespaceFilter:
        r.namespace_type && r.namespace_id != null
          ? { namespaceType: r.namespace_type, namespaceId: r.namespace_id }
          : null,
    }));
  }

  /** For the sweeper: events committed but never fanned out, oldest first. */
  async fanOutPending(olderThan: Date, limit: number): Promise<number> {
    const events = await this.db
      .getRepository(AuditEvent)
      .createQueryBuilder('e')
      .where('e.fanned_out_at IS NULL')
      .andWhere('e.created_at < :olderThan', { olderThan })
      .orderBy('e.id', 'ASC')
      .limit(limit)
      .getMany();
    if (events.length) {
      this.logger.log(
        `Sweeper: fanning out ${events.length} committed audit events that were not yet`,
      );
      await this.fanOut(events);
    }
    return events.length;
  }
}
