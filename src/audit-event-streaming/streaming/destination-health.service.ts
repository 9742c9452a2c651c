import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, IsNull } from 'typeorm';
import { AuditEventsService } from '../audit-events/audit-events.service';
import { ResolvedStreamingSettings, STREAMING_SETTINGS } from '../audit-event-streaming.options';
import { ExternalAuditEventDestination as Destination } from '../destinations/external-audit-event-destination.entity';
import { AuditEventStreamingHost } from '../host/audit-event-streaming-host';
import { CircuitBreaker, CircuitState, CLEARED_HEALTH } from './circuit-breaker';
import { AuditEventDelivery, DeliveryStatus } from './delivery.entity';
import { onPostgres, pgRows } from '../common/hot-sql';
import { AuditEventDeliveryAttempt } from './delivery-attempt.entity';
import { DeliveryQueue } from './delivery-queue';
import type { AttemptResult } from './http-transport';

const UNDELIVERED: DeliveryStatus[] = ['pending', 'failed'];

/** Rows per step when held deliveries are resumed. */
const RESUME_BATCH = 500;

/** The author of what the worker does on its own (GitLab records system actions with id -1). */
const SYSTEM_AUTHOR = { id: -1, name: 'GitLab', class: 'System' };

export type Gate = { kind: 'attempt' } | { kind: 'hold'; until: Date };

/**
 * The delivery log and destination health, written by the worker around each attempt, and the
 * circuit breaker applied to the destination row (the rules are in `circuit-breaker.ts`). Every
 * change is a conditional or relative update, so any number of workers may run at once.
 */
/** What the worker read of the destination before the attempt. */
type DestinationHealthRead = Pick<
  Destination,
  'id' | 'circuitRetryAt' | 'consecutiveFailures' | 'failingSince' | 'lastSuccessAt'
>;

@Injectable()
export class DestinationHealthService {
  private readonly logger = new Logger(DestinationHealthService.name);
  readonly breaker: CircuitBreaker;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(STREAMING_SETTINGS) private readonly settings: ResolvedStreamingSettings,
    @Inject(AuditEventStreamingHost) private readonly host: AuditEventStreamingHost,
    private readonly queue: DeliveryQueue,
    private readonly auditEvents: AuditEventsService,
  ) {
    this.breaker = new CircuitBreaker(settings.delivery);
  }

  /**
   * Whether a delivery to this destination may be attempted now. While the circuit is open,
   * deliveries are held until the probe time; then one job (whichever claims the probe slot
   * first) goes, and the slot moves on by one probe interval.
   */
  async gate(destination: Destination, now = new Date()): Promise<Gate> {
    const admission = this.breaker.admit(destination, now);
    if (admission.kind !== 'probe') return admission;
    const claimed = await this.db
      .createQueryBuilder()
      .update(Destination)
      .set({ circuitRetryAt: this.breaker.nextProbeAt(now) })
      .where('id = :id', { id: destination.id })
      .andWhere('circuit_retry_at IS NOT NULL')
      .andWhere('circuit_retry_at <= :now', { now })
      .execute();
    if (claimed.affected) return { kind: 'attempt' };
    const fresh = await this.db
      .getRepository(Destination)
      .findOne({ select: { id: true, circuitRetryAt: true }, where: { id: destination.id } });
    if (!fresh?.circuitRetryAt) return { kind: 'attempt' }; // closed meanwhile
    return {
      kind: 'hold',
      until:
        fresh.circuitRetryAt.getTime() > now.getTime()
          ? fresh.circuitRetryAt
          : this.breaker.nextProbeAt(now),
    };
  }

  /**
   * Holds deliveries (not attempted, not counted) while the circuit is open: their
   * `next_attempt_at` says until when (the sweeper leaves them alone meanwhile), and they get no
   * jobs of their own, so an outage never makes held jobs wake and sleep again by the thousand.
   * One probe job per probe time (its id is the same for every holder) carries one of them;
   * when the circuit closes, `resume` sends them all.
   */
  async hold(
    destinationId: number,
    deliveryIds: string[],
    attempt: number,
    until: Date,
  ): Promise<void> {
    if (!deliveryIds.length) return;
    const held = await this.db
      .getRepository(AuditEventDelivery)
      .update(
        { id: In(deliveryIds), attempts: attempt, status: In(UNDELIVERED) },
        { nextAttemptAt: until },
      );
    if (!held.affected) return;
    await this.enqueueProbe(destinationId, deliveryIds[0], attempt, until);
  }

  /** The probe job for one probe time of a destination: whoever enqueues it first, it is one job. */
  async enqueueProbe(
    destinationId: number,
    deliveryId: string,
    attempt: number,
    at: Date,
  ): Promise<void> {
    await this.queue.enqueueForDestinations([
      {
        jobId: `p${destinationId}t${at.getTime()}`,
        destinationId,
        deliveryIds: [deliveryId],
        attempt,
        delayMs: at.getTime() - Date.now(),
      },
    ]);
  }

  /**
   * After an attempt: its row in the delivery log, and the destination's health (failures
   * counted, the circuit opened, re-armed or closed, the destination deactivated).
   * `destination` is the row as read before the attempt.
   */
  async recordAttempt(
    deliveryId: string,
    destination: DestinationHealthRead,
    attemptNumber: number,
    result: AttemptResult,
  ): Promise<void> {
    await this.recordAttempts(destination, [{ deliveryId, attemptNumber, result }]);
  }

  /**
   * The attempts of one job: their rows in the delivery log (one insert), then the destination's
   * health, once per request (the deliveries of one batch request share its result).
   */
  async recordAttempts(
    destination: DestinationHealthRead,
    attempts: { deliveryId: string; attemptNumber: number; result: AttemptResult }[],
  ): Promise<void> {
    if (!attempts.length) return;
    const now = new Date();
    await this.logAttempts(attempts, now);
    const requests = [...new Set(attempts.map((a) => a.result))];
    for (const failure of requests.filter((r) => !r.ok))
      await this.failed(destination.id, failure, now);
    if (requests.some((r) => r.ok))
      await this.succeeded(
        destination,
        now,
        requests.some((r) => !r.ok),
      );
  }

  /** The delivery log: one row per attempt, in one insert. */
  private async logAttempts(
    attempts: { deliveryId: string; attemptNumber: number; result: AttemptResult }[],
    now: Date,
  ): Promise<void> {
    const rows = attempts.map(({ deliveryId, attemptNumber, result }) => ({
      deliveryId,
      attemptNumber,
      statusCode: result.statusCode,
      error: result.error,
      latencyMs: Math.max(0, Math.round(result.latencyMs)),
      responseExcerpt: result.responseExcerpt,
      createdAt: now,
    }));
    if (!onPostgres(this.db)) {
      await this.db.getRepository(AuditEventDeliveryAttempt).insert(rows);
      return;
    }
    const column = <K extends keyof (typeof rows)[number]>(key: K) => rows.map((r) => r[key]);
    await pgRows(
      this.db,
      `INSERT INTO audit_events_streaming_delivery_attempts
         (delivery_id, attempt_number, status_code, error, latency_ms, response_excerpt, created_at)
       SELECT a.*, $7::timestamptz
       FROM unnest($1::bigint[], $2::int[], $3::int[], $4::text[], $5::int[], $6::text[]) AS a`,
      [
        column('deliveryId'),
        column('attemptNumber'),
        column('statusCode'),
        column('error'),
        column('latencyMs'),
        column('responseExcerpt'),
        now,
      ],
    );
  }

  private async succeeded(
    destination: DestinationHealthRead,
    now: Date,
    /** Failures were just counted in this job: the row as read is stale. */
    afterFailures = false,
  ): Promise<void> {
    const update = () =>
      this.db
        .createQueryBuilder()
        .update(Destination)
        .set({ ...CLEARED_HEALTH, lastSuccessAt: now })
        .where('id = :id', { id: destination.id });
    // A healthy destination's row is written at most about once a second, not once per delivery;
    // when the row as read before the attempt says so already, not even a round trip is made.
    const stale = now.getTime() - 1000;
    const healthy =
      !destination.circuitRetryAt &&
      destination.consecutiveFailures === 0 &&
      !destination.failingSince &&
      destination.lastSuccessAt &&
      destination.lastSuccessAt.getTime() >= stale;
    if (healthy && !afterFailures) return;
    // An open circuit closes with a success, whichever attempt brings it (a probe, or one that
    // started before the circuit opened), and whatever the row said when it was read: the held
    // deliveries are sent at once, not at their next probe.
    const closed = await update().andWhere('circuit_retry_at IS NOT NULL').execute();
    if (closed.affected) {
      this.logger.log(`Destination ${destination.id} answers again: circuit closed`);
      await this.resume(destination.id, now);
      return;
    }
    // (A circuit opened since is left to its probe, which resumes what it holds.)
    await update()
      .andWhere('circuit_retry_at IS NULL')
      .andWhere(
        '(consecutive_failures <> 0 OR failing_since IS NOT NULL' +
          ' OR last_success_at IS NULL OR last_success_at < :stale)',
        { stale: new Date(stale) },
      )
      .execute();
  }

  private async failed(destinationId: number, result: AttemptResult, now: Date): Promise<void> {
    await this.db
      .createQueryBuilder()
      .update(Destination)
      .set({
        consecutiveFailures: () => 'consecutive_failures + 1',
        failingSince: () => 'COALESCE(failing_since, :now)',
        lastFailureAt: now,
        lastError: result.error,
      })
      .where('id = :id', { id: destinationId })
      .setParameter('now', now)
      .execute();
    const state: CircuitState | null = await this.db.getRepository(Destination).findOne({
      select: {
        id: true,
        active: true,
        consecutiveFailures: true,
        failingSince: true,
        circuitRetryAt: true,
      },
      where: { id: destinationId },
    });
    if (!state) return;
    const decision = this.breaker.afterFailure(state, result.statusCode, now);
    if (
      decision.circuitRetryAt &&
      decision.circuitRetryAt.getTime() !== state.circuitRetryAt?.getTime()
    ) {
      await this.db
        .createQueryBuilder()
        .update(Destination)
        .set({
          circuitRetryAt: decision.circuitRetryAt,
          circuitOpenedAt: () => 'COALESCE(circuit_opened_at, :now)',
        })
        .where('id = :id', { id: destinationId })
        .setParameter('now', now)
        .execute();
      if (!state.circuitRetryAt)
        this.logger.warn(
          `Destination ${destinationId} failed ${state.consecutiveFailures} times in a row: ` +
            `circuit open, deliveries held, next probe at ${decision.circuitRetryAt.toISOString()}`,
        );
    }
    if (decision.deactivate) await this.deactivate(destinationId, decision.deactivate);
  }

  /**
   * Deactivates a destination (once, whichever worker gets there first) and records it as an
   * audit event of its group, so that the group's other destinations see it. Its undelivered
   * deliveries stay: the worker parks them, and they go when an owner reactivates it or replays.
   */
  async deactivate(destinationId: number, reason: string): Promise<boolean> {
    return this.db.transaction(async (manager) => {
      const repo = manager.getRepository(Destination);
      const done = await repo.update(
        { id: destinationId, active: true },
        { active: false, deactivatedReason: reason, updatedAt: new Date() },
      );
      if (!done.affected) return false;
      const destination = (await repo.findOneBy({ id: destinationId }))!;
      const group = await this.host.findGroupById(destination.groupId);
      this.logger.warn(`Destination ${destinationId} deactivated: ${reason}`);
      if (!group) return true;
      await this.auditEvents.record(
        {
          eventType: 'event_streaming_destination_deactivated',
          author: SYSTEM_AUTHOR,
          entity: { type: 'Group', id: group.id, path: group.fullPath },
          target: {
            type: 'AuditEvents::ExternalAuditEventDestination',
            id: destination.id,
            details: destination.name,
          },
          message: `Deactivated event streaming destination ${destination.name}: ${reason}`,
          details: { deactivated_reason: reason },
        },
        { manager },
      );
      return true;
    });
  }

  /**
   * After the circuit closes: everything held (or backing off) for the destination goes now, in
   * jobs of up to a batch (attempts not yet claimed by a worker only).
   */
  private async resume(destinationId: number, now: Date): Promise<void> {
    const repo = this.db.getRepository(AuditEventDelivery);
    let after = '0';
    for (;;) {
      const held = await repo
        .createQueryBuilder('d')
        .select(['d.id', 'd.attempts'])
        .where('d.destination_id = :destinationId', { destinationId })
        .andWhere('d.status IN (:...undelivered)', { undelivered: UNDELIVERED })
        .andWhere('d.claim_token IS NULL')
        .andWhere('d.id > :after', { after })
        .orderBy('d.id', 'ASC')
        .limit(RESUME_BATCH)
        .getMany();
      if (!held.length) return;
      after = held[held.length - 1].id;
      // Only rows still unclaimed: one a job claimed since the read keeps its lease (made due
      // again, another job would send it a second time while the first request is out).
      await repo.update(
        { id: In(held.map((d) => d.id)), claimToken: IsNull(), status: In(UNDELIVERED) },
        { nextAttemptAt: now },
      );
      const byAttempt = new Map<number, string[]>();
      for (const d of held) byAttempt.set(d.attempts, [...(byAttempt.get(d.attempts) ?? []), d.id]);
      await this.queue.enqueueForDestinations(
        [...byAttempt].map(([attempt, deliveryIds]) => ({
          jobId: `r${now.getTime()}d${destinationId}a${attempt}i${deliveryIds[0]}`,
          destinationId,
          deliveryIds,
          attempt,
        })),
      );
      if (held.length < RESUME_BATCH) return;
    }
  }
}
