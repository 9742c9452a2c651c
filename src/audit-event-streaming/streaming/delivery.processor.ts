import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { DataSource, In, SelectQueryBuilder } from 'typeorm';
import { ExternalAuditEventDestination } from '../destinations/external-audit-event-destination.entity';
import { ResolvedStreamingSettings, STREAMING_SETTINGS } from '../audit-event-streaming.options';
import { AuditEvent } from '../audit-events/audit-event.entity';
import { hydrate, onPostgres, pgRows, selectColumns } from '../common/hot-sql';
import { AuditEventDelivery, DeliveryStatus } from './delivery.entity';
import { DELIVERY_JOB, DeliveryJob, DeliveryQueue } from './delivery-queue';
import { AuditEventStreamingMetrics } from './delivery-metrics';
import { buildBatchRequests, buildDeliveryRequest } from './delivery-request';
import { AttemptResult, HttpTransport } from './http-transport';
import { DestinationHealthService } from './destination-health.service';
import { redisReady } from './waits';
import { RetryPolicy } from './retry-policy';

const RETRYABLE: DeliveryStatus[] = ['pending', 'failed'];
/**
 * Requests one job has in flight at once: a job may carry hundreds of deliveries (a resumed
 * backlog), and firing them all at once would only queue them in memory behind the agent.
 */
const REQUESTS_PER_JOB = 8;
/** What a claim takes: delivery ids, their attempt, batch size (0: none), now, lease end. */
type ClaimArgs = [ids: string[], attempt: number, batchOf: number, now: Date, lease: Date];
/** Deliveries a per-event job claims, sends and settles at a time. */
const CLAIM_CHUNK = 64;

/** Runs `work` over `items`, at most REQUESTS_PER_JOB at a time. */
async function inWaves<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(REQUESTS_PER_JOB, items.length) }, lane));
}

/**
 * The worker: a job carries the attempt of one or many deliveries of one destination. The rows
 * decide: a delivery whose attempt counter is not the job's, or that is done, is not the job's
 * to attempt; attempts are claimed with a conditional update, so two workers never make the same
 * attempt.
 */
@Injectable()
export class DeliveryProcessor implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DeliveryProcessor.name);
  readonly policy: RetryPolicy;
  readonly transport: HttpTransport;
  private readonly stopping = new AbortController();
  private workerStarted: Promise<void> = Promise.resolve();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(STREAMING_SETTINGS) private readonly settings: ResolvedStreamingSettings,
    private readonly queue: DeliveryQueue,
    private readonly metrics: AuditEventStreamingMetrics,
    private readonly health: DestinationHealthService,
  ) {
    this.policy = new RetryPolicy(settings.delivery);
    this.transport = new HttpTransport(settings.delivery);
  }

  onApplicationBootstrap(): void {
    if (!this.settings.worker) return;
    // Started in the background so a host boots even while Redis is still connecting.
    this.workerStarted = this.startWorker().catch((err: Error) => {
      if (!this.stopping.signal.aborted)
        this.logger.error(`Delivery worker did not start: ${err.message}`);
    });
  }

  /**
   * Bull names its worker connection as soon as `process` is called and throws from inside its
   * own promise chain when a connection closes half-open; so `process` is called only on a ready
   * connection, and shutdown waits until the naming round trip is over.
   */
  private async startWorker(): Promise<void> {
    // `bclient` is Bull's blocking connection, created by `process`; its typings leave it out.
    const queue = this.queue.queue as DeliveryQueue['queue'] & { bclient: Redis };
    await redisReady(queue.client, this.stopping.signal);
    // Errors inside `attempt` are results, not job failures: Bull's own retries stay out of it.
    void queue
      .process(DELIVERY_JOB, this.settings.delivery.concurrency, (job) => this.run(job.data))
      .catch((err?: Error) => {
        if (!this.stopping.signal.aborted)
          this.logger.error(`Delivery worker stopped: ${err?.message ?? err}`);
      });
    await redisReady(queue.bclient, this.stopping.signal);
    await queue.bclient.client('GETNAME');
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping.abort();
    await this.workerStarted;
    this.transport.close();
  }

  /**
   * One job: the deliveries it carries that are still at its attempt, claimed and attempted
   * together (in batch mode, with whatever else of the destination is due, up to a batch). A
   * delivery another job has taken, or that is done, is left alone.
   */
  async run(job: DeliveryJob): Promise<void> {
    const repo = this.db.getRepository(AuditEventDelivery);
    const mine = await this.stillAt(job.v === 2 ? job.deliveryIds : [job.deliveryId], job.attempt);
    // Nothing of this job is left (in batch mode an earlier job took its deliveries along): the
    // deliveries made since have jobs of their own, which run when their wait is over, so a
    // batch fills for up to `batchMaxWaitMs` instead of leaving with whatever came meanwhile.
    if (!mine.length) return;
    const destinationId = job.v === 2 ? job.destinationId : mine[0].destinationId;
    const [destination] = await this.db.getRepository(ExternalAuditEventDestination).find({
      where: { id: destinationId },
      relations: { headers: true },
    });
    if (!destination) return;
    const batchMode = destination.batchFormat !== 'none';
    if (!destination.active) {
      // Parked: kept for when the destination is active again (the sweeper picks them up then).
      await repo.update(
        { id: In(mine.map((d) => d.id)), attempts: job.attempt },
        { nextAttemptAt: null },
      );
      return;
    }
    // Circuit open: held (delayed, not attempted, not counted) until the next probe.
    const gate = await this.health.gate(destination);
    if (gate.kind === 'hold') {
      await this.health.hold(
        destination.id,
        mine.map((d) => d.id),
        job.attempt,
        gate.until,
      );
      return;
    }
    // A probe is one request: the rest wait (the sweeper finds them, the circuit holds them).
    const probe = destination.circuitRetryAt != null;
    const ids = (probe ? mine.slice(0, 1) : mine).map((d) => d.id);
    if (batchMode) {
      await this.attempt(destination, ids, job.attempt, probe ? 0 : destination.batchMaxEvents);
      return;
    }
    // A few dozen at a time: a job of hundreds (a resumed backlog) never holds them all in memory.
    for (let i = 0; i < ids.length; i += CLAIM_CHUNK)
      await this.attempt(destination, ids.slice(i, i + CLAIM_CHUNK), job.attempt, 0);
  }

  /**
   * Claims these deliveries (in batch mode, with up to `batchOf` in all of the destination's due
   * ones), sends them, settles them and logs the attempts.
   */
  private async attempt(
    destination: ExternalAuditEventDestination,
    claiming: string[],
    attempt: number,
    batchOf: number,
  ): Promise<void> {
    const batchMode = destination.batchFormat !== 'none';
    const now = new Date();
    // The lease covers every request the job may make, a few at a time, each up to the timeout.
    const most = Math.max(claiming.length, batchOf);
    const waves = batchMode
      ? Math.ceil(most / destination.batchMaxEvents / REQUESTS_PER_JOB) + 1
      : Math.ceil(most / REQUESTS_PER_JOB);
    const lease = new Date(now.getTime() + this.settings.delivery.timeoutMs * (waves + 2));
    const claimed = await this.claim(destination, claiming, attempt, batchOf, now, lease);
    if (!claimed.length) return;

    const results = new Map<string, AttemptResult>();
    if (batchMode) {
      const batches = buildBatchRequests(
        claimed.map((d) => d.auditEvent!),
        destination,
        now,
      );
      // Without `batchOf` (a probe), one request.
      await inWaves(batchOf ? batches : batches.slice(0, 1), async (batch) => {
        const result = await this.transport.send(destination.destinationUrl, batch.request);
        for (const event of batch.events) results.set(String(event.id), result);
      });
    } else {
      await inWaves(claimed, async (d) => {
        const request = buildDeliveryRequest(d.auditEvent!, destination, now);
        results.set(
          String(d.auditEventId),
          await this.transport.send(destination.destinationUrl, request),
        );
      });
    }
    const attempted = claimed.filter((d) => results.has(String(d.auditEventId)));
    await this.settle(destination, attempted, (d) => results.get(String(d.auditEventId))!);
    // The delivery log and the destination's health; the deliveries themselves are settled.
    await this.health
      .recordAttempts(
        destination,
        attempted.map((d) => ({
          deliveryId: d.id,
          attemptNumber: d.attempts,
          result: results.get(String(d.auditEventId))!,
        })),
      )
      .catch((err: Error) =>
        this.logger.warn(`Destination ${destination.id}: health not recorded: ${err.message}`),
      );
  }

  /** Which of these deliveries are still waiting for this attempt. */
  private async stillAt(
    ids: string[],
    attempt: number,
  ): Promise<Pick<AuditEventDelivery, 'id' | 'destinationId'>[]> {
    if (!onPostgres(this.db))
      return this.db.getRepository(AuditEventDelivery).find({
        select: { id: true, destinationId: true },
        where: { id: In(ids), attempts: attempt, status: In(RETRYABLE) },
      });
    // Looked up by primary key only, the rest checked here: a condition on the status would let
    // the planner walk every undelivered row of the partial index instead.
    const rows = await pgRows<{
      id: string;
      destination_id: number;
      attempts: number;
      status: string;
    }>(
      this.db,
      `SELECT id, destination_id, attempts, status FROM audit_events_streaming_deliveries
       WHERE id = ANY($1::bigint[])`,
      [ids],
    );
    return rows
      .filter((r) => r.attempts === attempt && RETRYABLE.includes(r.status as DeliveryStatus))
      .map((r) => ({ id: r.id, destinationId: r.destination_id }));
  }

  /**
   * Claims the attempt of these deliveries (those still at `attempt`), and in batch mode up to
   * `batchOf` in all with other due deliveries of the destination (their own jobs then find them
   * taken), with one token; returns the claimed rows with their events. Attempts are counted as
   * they start, and the lease (`next_attempt_at`) lets the sweeper retry a worker that died.
   */
  private async claim(
    destination: ExternalAuditEventDestination,
    ...[ids, attempt, batchOf, now, lease]: ClaimArgs
  ): Promise<AuditEventDelivery[]> {
    const token = randomUUID();
    if (onPostgres(this.db))
      return this.claimOnPostgres(destination, ids, attempt, batchOf, now, lease, token);
    const set = {
      attempts: () => 'attempts + 1',
      lastAttemptAt: now,
      nextAttemptAt: lease,
      claimToken: token,
    };
    // SQLite runs one writer at a time: plain subqueries pick the rows.
    const claimWhere = async (pick: (q: SelectQueryBuilder<AuditEventDelivery>) => void) => {
      const picked = this.db
        .getRepository(AuditEventDelivery)
        .createQueryBuilder('pick')
        .select('pick.id')
        .where('pick.status IN (:...retryable)');
      pick(picked);
      const claimed = await this.db
        .createQueryBuilder()
        .update(AuditEventDelivery)
        .set(set)
        .where(`id IN (${picked.getQuery()})`)
        .setParameters({ ...picked.getParameters(), retryable: RETRYABLE })
        .execute();
      return claimed.affected ?? 0;
    };
    let own = 0;
    if (ids.length) {
      own = await claimWhere((q) =>
        q
          .andWhere('pick.id IN (:...ids)', { ids })
          .andWhere('pick.attempts = :attempt', { attempt })
          .orderBy('pick.id', 'ASC'),
      );
    }
    if (own && batchOf > ids.length) {
      // Batch mode: other due deliveries of the destination join (their own jobs then find them
      // taken); a claimed row's lease is in the future, so it is never due twice. A job that got
      // none of its own (another job took them) takes nothing else: those have jobs of their own.
      await claimWhere((q) =>
        q
          .andWhere('pick.destination_id = :destinationId', { destinationId: destination.id })
          .andWhere('pick.next_attempt_at <= :now', { now })
          .orderBy('pick.id', 'ASC')
          .limit(batchOf - ids.length),
      );
    }
    return this.db.getRepository(AuditEventDelivery).find({
      where: { claimToken: token },
      relations: { auditEvent: true },
      order: { id: 'ASC' },
    });
  }

  /**
   * PostgreSQL: the claim and the load in one statement. Rows are picked with `FOR UPDATE SKIP
   * LOCKED`: concurrent claims never wait on each other, so they cannot deadlock, and a row
   * another worker is claiming at that moment is left to it.
   */
  private async claimOnPostgres(
    destination: ExternalAuditEventDestination,
    ...[ids, attempt, batchOf, now, lease, token]: [...ClaimArgs, string]
  ): Promise<AuditEventDelivery[]> {
    const rows = await pgRows(
      this.db,
      `WITH own AS (
         SELECT id FROM audit_events_streaming_deliveries
         WHERE id = ANY($1::bigint[]) AND attempts = $2
           -- (not "IN ('pending', 'failed')", which would steer the planner to the partial index)
           AND status <> 'delivered' AND status <> 'dead'
         ORDER BY id FOR UPDATE SKIP LOCKED
       ), due AS (
         SELECT id FROM audit_events_streaming_deliveries
         WHERE destination_id = $6 AND status IN ('pending', 'failed') AND next_attempt_at <= $3
           -- Only with some of the job's own: those of a job another one is taking now have
           -- jobs of their own, which come when their wait is over.
           AND EXISTS (SELECT 1 FROM own)
         ORDER BY id LIMIT $7 FOR UPDATE SKIP LOCKED
       ), claimed AS (
         UPDATE audit_events_streaming_deliveries d
         SET attempts = d.attempts + 1, last_attempt_at = $3, next_attempt_at = $4, claim_token = $5
         WHERE d.id IN (SELECT id FROM own UNION SELECT id FROM due)
         RETURNING d.*
       )
       SELECT ${selectColumns(this.db, AuditEventDelivery, 'c', 'd_')},
              ${selectColumns(this.db, AuditEvent, 'e', 'e_')}
       FROM claimed c JOIN audit_events e ON e.id = c.audit_event_id
       ORDER BY c.id`,
      [ids, attempt, now, lease, token, destination.id, Math.max(0, batchOf - ids.length)],
    );
    return rows.map((row) => {
      const delivery = hydrate(this.db, AuditEventDelivery, row, 'd_');
      delivery.auditEvent = hydrate(this.db, AuditEvent, row, 'e_');
      return delivery;
    });
  }

  /**
   * After the attempts: the delivered in one update (per distinct answer); each failure retried
   * on the schedule, or dead when attempts run out. In batch mode the events of a failed request
   * are retried together, at one time and in one job, so they stay a batch.
   */
  private async settle(
    destination: ExternalAuditEventDestination,
    deliveries: AuditEventDelivery[],
    resultOf: (d: AuditEventDelivery) => AttemptResult,
  ): Promise<void> {
    // Successes with the same answer share one update (per-event mode: typically all of them);
    // a failed request's deliveries stay together (a batch).
    const groups = new Map<AttemptResult | string, AuditEventDelivery[]>();
    const resultOfGroup = new Map<AttemptResult | string, AttemptResult>();
    for (const d of deliveries) {
      const result = resultOf(d);
      const key = result.ok ? JSON.stringify(lastAnswer(result)) : result;
      const group = groups.get(key) ?? [];
      group.push(d);
      groups.set(key, group);
      resultOfGroup.set(key, result);
    }
    const now = new Date();
    for (const [key, rows] of groups) {
      const result = resultOfGroup.get(key)!;
      if (result.ok) {
        await this.delivered(
          rows.map((d) => d.id),
          result,
          now,
        );
        for (let i = 0; i < rows.length; i++) this.metrics.attemptSettled('delivered', result);
      } else if (destination.batchFormat !== 'none' && rows.length > 1) {
        await this.batchFailed(destination, rows, result);
      } else {
        for (const d of rows) await this.failed(d, result);
      }
    }
  }

  /** The delivered, in one update. */
  private async delivered(ids: string[], result: AttemptResult, now: Date): Promise<void> {
    const answer = lastAnswer(result);
    if (onPostgres(this.db)) {
      await pgRows(
        this.db,
        `UPDATE audit_events_streaming_deliveries
         SET status = 'delivered', delivered_at = $2, next_attempt_at = NULL, claim_token = NULL,
             last_status_code = $3, last_error = $4, response_excerpt = $5
         WHERE id = ANY($1::bigint[])`,
        [ids, now, answer.lastStatusCode, answer.lastError, answer.responseExcerpt],
      );
      return;
    }
    await this.db
      .getRepository(AuditEventDelivery)
      .update(
        { id: In(ids) },
        { ...answer, status: 'delivered', deliveredAt: now, nextAttemptAt: null, claimToken: null },
      );
  }

  /** A failed batch request: its events retried together (those with attempts left). */
  private async batchFailed(
    destination: ExternalAuditEventDestination,
    rows: AuditEventDelivery[],
    result: AttemptResult,
  ): Promise<void> {
    const delayOf = (d: AuditEventDelivery) =>
      this.policy.nextDelayMs(d.attempts - d.attemptsBeforeReplay, result.retryAfterMs);
    const retried = rows.filter((d) => delayOf(d) !== null);
    for (const d of rows.filter((d) => delayOf(d) === null)) await this.failed(d, result);
    if (!retried.length) return;
    const delay = delayOf(retried[0])!;
    const jobId = `b${retried[0].claimToken}`;
    await this.db.getRepository(AuditEventDelivery).update(
      { id: In(retried.map((d) => d.id)) },
      {
        ...lastAnswer(result),
        status: 'failed',
        nextAttemptAt: new Date(Date.now() + delay),
        claimToken: null,
        jobId,
      },
    );
    await this.queue.enqueueForDestinations([
      {
        jobId,
        destinationId: destination.id,
        deliveryIds: retried.map((d) => d.id),
        attempt: retried[0].attempts,
        delayMs: delay,
      },
    ]);
    for (let i = 0; i < retried.length; i++) this.metrics.attemptSettled('retried', result);
  }

  private async failed(delivery: AuditEventDelivery, result: AttemptResult): Promise<void> {
    const repo = this.db.getRepository(AuditEventDelivery);
    const attemptsMade = delivery.attempts;
    // A replayed delivery gets the whole schedule again.
    const delay = this.policy.nextDelayMs(
      attemptsMade - delivery.attemptsBeforeReplay,
      result.retryAfterMs,
    );
    if (delay === null) {
      await repo.update(
        { id: delivery.id },
        { ...lastAnswer(result), status: 'dead', nextAttemptAt: null, claimToken: null },
      );
      this.logger.warn(
        `Delivery ${delivery.id} is dead after ${attemptsMade} attempts: ${result.error}`,
      );
      this.metrics.attemptSettled('dead', result);
      return;
    }
    await repo.update(
      { id: delivery.id },
      {
        ...lastAnswer(result),
        status: 'failed',
        nextAttemptAt: new Date(Date.now() + delay),
        claimToken: null,
      },
    );
    await this.queue.enqueue([{ deliveryId: delivery.id, attempt: attemptsMade, delayMs: delay }]);
    this.metrics.attemptSettled('retried', result);
  }
}

function lastAnswer(result: AttemptResult) {
  return {
    lastStatusCode: result.statusCode,
    lastError: result.error,
    responseExcerpt: result.responseExcerpt,
  };
}
