import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import { AuditEvent } from '../audit-events/audit-event.entity';
import { ResolvedStreamingSettings, STREAMING_SETTINGS } from '../audit-event-streaming.options';
import { ValidationFailedError } from '../common/errors';
import { ExternalAuditEventDestination } from '../destinations/external-audit-event-destination.entity';
import { AuditEventDelivery, DeliveryStatus } from './delivery.entity';
import { deliveryJobId, DeliveryQueue } from './delivery-queue';
import { routeMatches } from './destination-routes';
import { FanOutService } from './fan-out.service';
import { withinTimeout } from './waits';
import { WorkerLoopService } from './worker-loop';
import { AuditEventStreamingReplay as Replay, ReplayKind } from './replay.entity';

/** What a replay resets: done deliveries; pending and failed ones are on their way already. */
const DONE: DeliveryStatus[] = ['delivered', 'dead'];
const IN_FLIGHT: DeliveryStatus[] = ['pending', 'failed'];
/** Entities whose events stream to group destinations (GITLAB-CONTRACT.md §5). */
const STREAMED_ENTITIES = ['Group', 'Project'];
/** How long a worker owns a replay while it runs one step. */
const STEP_LEASE_MS = 60_000;

export const INACTIVE_DESTINATION = 'Destination must be active to replay deliveries';

/**
 * Replays (DESIGN.md §4: "a dead delivery ... can be replayed"). A replayed delivery goes back to
 * `pending` with its attempt counter unchanged, so its next job id (`d<id>a<attempts>`) is new,
 * and with `attemptsBeforeReplay` set, so it gets the whole retry schedule again.
 *
 * One delivery is replayed at once. A destination's dead deliveries and a time range of the
 * group's events are replayed by the workers, a batch per step, from a persisted replay row
 * whose progress owners can read; a step waits while the queue is backed up, so live deliveries
 * are never stuck behind a large replay.
 */
@Injectable()
export class ReplayService extends WorkerLoopService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(STREAMING_SETTINGS) settings: ResolvedStreamingSettings,
    private readonly fanOut: FanOutService,
    private readonly queue: DeliveryQueue,
  ) {
    super(settings, { name: 'Replay step', intervalMs: settings.delivery.sweepIntervalMs });
  }

  protected runOnce(): Promise<boolean> {
    return this.tick();
  }

  find(id: number): Promise<Replay | null> {
    return this.db.getRepository(Replay).findOneBy({ id });
  }

  findDelivery(id: number): Promise<AuditEventDelivery | null> {
    return this.db.getRepository(AuditEventDelivery).findOneBy({ id: String(id) });
  }

  // --- requests --------------------------------------------------------------------------------

  /** Redelivers one delivery now, whatever its state; recorded as a finished replay. */
  async retryDelivery(
    destination: ExternalAuditEventDestination,
    delivery: AuditEventDelivery,
    authorId: number | null,
  ): Promise<Replay> {
    this.assertActive(destination);
    const queued = await this.requeue(destination.id, [delivery.id], true);
    const now = new Date();
    return this.db.getRepository(Replay).save(
      this.newReplay(destination, 'delivery', authorId, {
        status: 'finished',
        upperId: delivery.id,
        cursorId: delivery.id,
        total: 1,
        processed: 1,
        queued,
        finishedAt: now,
      }),
    );
  }

  /** Every delivery of the destination that is dead now. */
  async replayDead(
    destination: ExternalAuditEventDestination,
    authorId: number | null,
  ): Promise<Replay> {
    this.assertActive(destination);
    const stats = await this.db
      .getRepository(AuditEventDelivery)
      .createQueryBuilder('d')
      .select('COUNT(*)', 'total')
      .addSelect('MAX(d.id)', 'upper')
      .where('d.destination_id = :destinationId', { destinationId: destination.id })
      .andWhere('d.status = :status', { status: 'dead' })
      .getRawOne<{ total: string | number; upper: string | number | null }>();
    return this.start(
      this.newReplay(destination, 'dead', authorId, {
        total: Number(stats?.total ?? 0),
        upperId: String(stats?.upper ?? 0),
      }),
    );
  }

  /** Every event of the destination's group created in [from, to], GitLab's filters applied. */
  async replayEvents(
    destination: ExternalAuditEventDestination,
    from: Date,
    to: Date,
    authorId: number | null,
  ): Promise<Replay> {
    this.assertActive(destination);
    if (to.getTime() < from.getTime())
      throw new ValidationFailedError(['Ended at must not be before started at']);
    const stats = await this.eventsInRange(from, to)
      .select('COUNT(*)', 'total')
      .addSelect('MAX(e.id)', 'upper')
      .getRawOne<{ total: string | number; upper: string | number | null }>();
    return this.start(
      this.newReplay(destination, 'events', authorId, {
        eventsFrom: from,
        eventsTo: to,
        total: Number(stats?.total ?? 0),
        upperId: String(stats?.upper ?? 0),
      }),
    );
  }

  private assertActive(destination: ExternalAuditEventDestination): void {
    if (!destination.active) throw new ValidationFailedError([INACTIVE_DESTINATION]);
  }

  private newReplay(
    destination: ExternalAuditEventDestination,
    kind: ReplayKind,
    authorId: number | null,
    values: Partial<Replay>,
  ): Replay {
    const now = new Date();
    return this.db.getRepository(Replay).create({
      destinationId: destination.id,
      kind,
      status: 'running',
      eventsFrom: null,
      eventsTo: null,
      upperId: '0',
      cursorId: '0',
      total: 0,
      processed: 0,
      queued: 0,
      authorId,
      error: null,
      lockedUntil: null,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
      ...values,
    });
  }

  private async start(replay: Replay): Promise<Replay> {
    if (replay.total === 0) {
      replay.status = 'finished';
      replay.finishedAt = replay.createdAt;
    }
    const saved = await this.db.getRepository(Replay).save(replay);
    if (saved.status === 'running') this.kick();
    return saved;
  }

  private eventsInRange(from: Date, to: Date) {
    return this.db
      .getRepository(AuditEvent)
      .createQueryBuilder('e')
      .where('e.created_at >= :from', { from })
      .andWhere('e.created_at <= :to', { to })
      .andWhere('e.entity_type IN (:...types)', { types: STREAMED_ENTITIES });
  }

  // --- delivery resets -------------------------------------------------------------------------

  /**
   * Puts these deliveries of the destination back on the queue: done ones go back to `pending`
   * (a fresh retry schedule, the next attempt number); in-flight ones are enqueued for their
   * current attempt (a no-op when their job is still there), and, with `now`, a retry waiting for
   * its backoff is made due at once. Returns how many were queued.
   */
  private async requeue(destinationId: number, ids: string[], now = false): Promise<number> {
    if (!ids.length) return 0;
    const repo = this.db.getRepository(AuditEventDelivery);
    const at = new Date();
    await repo
      .createQueryBuilder()
      .update(AuditEventDelivery)
      .set({
        status: 'pending',
        nextAttemptAt: at,
        deliveredAt: null,
        attemptsBeforeReplay: () => 'attempts',
      })
      .where({ id: In(ids), destinationId, status: In(DONE) })
      .execute();
    const rows = await repo.find({
      select: { id: true, attempts: true, status: true },
      where: { id: In(ids), destinationId, status: In(IN_FLIGHT) },
    });
    if (now) {
      // A retry waiting out its backoff goes now; an attempt in flight is left alone.
      for (const row of rows) {
        const job = await withinTimeout(
          this.queue.queue.getJob(deliveryJobId(row.id, row.attempts)),
        ).catch(() => null);
        if (!job || !(await job.isDelayed().catch(() => false))) continue;
        await job.promote().catch(() => {});
        await repo.update(
          { id: row.id, attempts: row.attempts, status: 'failed' },
          { nextAttemptAt: at },
        );
      }
    }
    await this.queue.enqueue(rows.map((r) => ({ deliveryId: r.id, attempt: r.attempts })));
    return rows.length;
  }

  // --- the workers' loop -----------------------------------------------------------------------

  /** A replay was requested here: start on it now rather than at the next tick. */
  private kick(): void {
    this.loop.kick();
  }

  /** One step of each running replay (oldest first); true when there is more to do right away. */
  async tick(): Promise<boolean> {
    const replays = await this.db.getRepository(Replay).find({
      where: { status: 'running' },
      order: { id: 'ASC' },
      take: 10,
    });
    let busy = false;
    for (const replay of replays) {
      if (this.loop.stopped) break;
      if (await this.backedUp()) return false;
      if (await this.step(replay)) busy = true;
    }
    return busy;
  }

  /** Live deliveries first: no step while the queue holds more than a batch of waiting jobs. */
  private async backedUp(): Promise<boolean> {
    const waiting = await withinTimeout(this.queue.queue.getWaitingCount());
    return waiting > this.settings.delivery.replayBatchSize;
  }

  /** Claims the replay and runs one batch of it; false when another worker has it or it ended. */
  async step(replay: Replay): Promise<boolean> {
    const repo = this.db.getRepository(Replay);
    const now = new Date();
    const claimed = await repo
      .createQueryBuilder()
      .update(Replay)
      .set({ lockedUntil: new Date(now.getTime() + STEP_LEASE_MS) })
      .where('id = :id AND status = :status', { id: replay.id, status: 'running' })
      .andWhere('(locked_until IS NULL OR locked_until < :now)', { now })
      .execute();
    if (!claimed.affected) return false;
    const fresh = await repo.findOneBy({ id: replay.id });
    if (!fresh) return false;
    try {
      const progress =
        fresh.kind === 'dead' ? await this.deadBatch(fresh) : await this.eventsBatch(fresh);
      const finished = progress.status !== 'running';
      await repo.update(
        { id: fresh.id },
        {
          ...progress,
          processed: finished && progress.status === 'finished' ? fresh.total : progress.processed,
          lockedUntil: null,
          error: progress.error ?? null,
          updatedAt: new Date(),
          finishedAt: finished ? new Date() : null,
        },
      );
      return !finished;
    } catch (err) {
      await repo.update(
        { id: fresh.id },
        { lockedUntil: null, error: (err as Error).message.slice(0, 1000), updatedAt: new Date() },
      );
      throw err;
    }
  }

  private async deadBatch(replay: Replay): Promise<Partial<Replay>> {
    const batch = this.settings.delivery.replayBatchSize;
    const rows = await this.db
      .getRepository(AuditEventDelivery)
      .createQueryBuilder('d')
      .select(['d.id'])
      .where('d.destination_id = :destinationId', { destinationId: replay.destinationId })
      .andWhere('d.status = :status', { status: 'dead' })
      .andWhere('d.id > :cursor AND d.id <= :upper', {
        cursor: replay.cursorId,
        upper: replay.upperId,
      })
      .orderBy('d.id', 'ASC')
      .limit(batch)
      .getMany();
    const queued = await this.requeue(
      replay.destinationId,
      rows.map((r) => r.id),
    );
    return {
      cursorId: rows.length ? rows[rows.length - 1].id : replay.cursorId,
      processed: Math.min(replay.total, replay.processed + rows.length),
      queued: replay.queued + queued,
      status: rows.length < batch ? 'finished' : 'running',
    };
  }

  /**
   * One batch of a time range: each event is placed as fan-out places it (its root group, its
   * namespace, the flag) and routed with GitLab's filters; matching events get a delivery for
   * the destination if they had none, and existing deliveries are queued again.
   */
  private async eventsBatch(replay: Replay): Promise<Partial<Replay>> {
    const batch = this.settings.delivery.replayBatchSize;
    const destination = await this.db
      .getRepository(ExternalAuditEventDestination)
      .findOneBy({ id: replay.destinationId });
    const route = destination?.active
      ? (await this.fanOut.routesOf(destination.groupId)).find(
          (r) => r.destinationId === destination.id,
        )
      : undefined;
    if (!destination || !route) return { status: 'failed', error: INACTIVE_DESTINATION };
    const events = await this.eventsInRange(replay.eventsFrom!, replay.eventsTo!)
      .andWhere('e.id > :cursor AND e.id <= :upper', {
        cursor: replay.cursorId,
        upper: replay.upperId,
      })
      .orderBy('e.id', 'ASC')
      .limit(batch)
      .getMany();
    const matched: string[] = [];
    for (const event of events) {
      const scope = await this.fanOut.scopeOf(event);
      if (!scope || scope.rootGroupId !== destination.groupId) continue;
      if (routeMatches(route, event.eventType, scope)) matched.push(String(event.id));
    }
    let queued = 0;
    if (matched.length) {
      const now = new Date();
      await this.db
        .createQueryBuilder()
        .insert()
        .into(AuditEventDelivery)
        .values(
          matched.map((auditEventId) => ({
            auditEventId,
            destinationId: destination.id,
            status: 'pending' as const,
            attempts: 0,
            nextAttemptAt: now,
            createdAt: now,
          })),
        )
        .orIgnore()
        .execute();
      const deliveries = await this.db.getRepository(AuditEventDelivery).find({
        select: { id: true },
        where: { auditEventId: In(matched), destinationId: destination.id },
      });
      queued = await this.requeue(
        destination.id,
        deliveries.map((d) => d.id),
      );
    }
    return {
      cursorId: events.length ? String(events[events.length - 1].id) : replay.cursorId,
      processed: Math.min(replay.total, replay.processed + events.length),
      queued: replay.queued + queued,
      status: events.length < batch ? 'finished' : 'running',
    };
  }
}
