import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Redis } from 'ioredis';
import { DataSource, In } from 'typeorm';
import { ResolvedStreamingSettings, STREAMING_SETTINGS } from '../audit-event-streaming.options';
import { AuditEventDelivery, DeliveryStatus } from './delivery.entity';
import { DELIVERY_JOB, DeliveryJob, DeliveryQueue } from './delivery-queue';
import { AuditEventStreamingMetrics } from './delivery-metrics';
import { buildDeliveryRequest } from './delivery-request';
import { AttemptResult, HttpTransport } from './http-transport';
import { DestinationHealthService } from './destination-health.service';
import { redisReady } from './waits';
import { RetryPolicy } from './retry-policy';

const RETRYABLE: DeliveryStatus[] = ['pending', 'failed'];

/**
 * The worker: runs one attempt of one delivery per job. The row decides: a job whose attempt
 * counter is stale, or whose delivery is done, does nothing; an attempt is claimed with a
 * conditional update, so two workers never make the same attempt.
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
      .process(DELIVERY_JOB, this.settings.delivery.concurrency, (job) => this.attempt(job.data))
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

  /** One attempt; returns the delivery's status afterwards (or null when the job was stale). */
  async attempt(job: DeliveryJob): Promise<DeliveryStatus | null> {
    const repo = this.db.getRepository(AuditEventDelivery);
    // `find`, not `findOne`: with a to-many relation, `findOne`'s LIMIT costs a second query.
    const [delivery] = await repo.find({
      where: { id: job.deliveryId },
      relations: { auditEvent: true, destination: { headers: true } },
    });
    if (!delivery || !RETRYABLE.includes(delivery.status) || delivery.attempts !== job.attempt)
      return null;
    const destination = delivery.destination!;
    if (!destination.active) {
      // Parked: kept for when the destination is active again (the sweeper picks it up then).
      await repo.update({ id: delivery.id, attempts: job.attempt }, { nextAttemptAt: null });
      return null;
    }
    // Circuit open: held (delayed, not attempted, not counted) until the next probe.
    const gate = await this.health.gate(destination);
    if (gate.kind === 'hold') {
      await this.health.hold(delivery.id, job.attempt, gate.until);
      return null;
    }
    const now = new Date();
    const lease = new Date(now.getTime() + this.settings.delivery.timeoutMs * 3);
    const claimed = await repo.update(
      { id: delivery.id, attempts: job.attempt, status: In(RETRYABLE) },
      { attempts: job.attempt + 1, lastAttemptAt: now, nextAttemptAt: lease },
    );
    if (!claimed.affected) return null;

    const request = buildDeliveryRequest(delivery.auditEvent!, destination, now);
    const result = await this.transport.send(destination.destinationUrl, request);
    const status = await this.settle(
      delivery.id,
      job.attempt + 1,
      result,
      delivery.attemptsBeforeReplay,
    );
    // The delivery log and the destination's health; the delivery itself is settled already.
    await this.health
      .recordAttempt(delivery.id, destination, job.attempt + 1, result)
      .catch((err: Error) =>
        this.logger.warn(`Delivery ${delivery.id}: health not recorded: ${err.message}`),
      );
    return status;
  }

  private async settle(
    deliveryId: string,
    attemptsMade: number,
    result: AttemptResult,
    attemptsBeforeReplay = 0,
  ): Promise<DeliveryStatus> {
    const repo = this.db.getRepository(AuditEventDelivery);
    const common = {
      lastStatusCode: result.statusCode,
      lastError: result.error,
      responseExcerpt: result.responseExcerpt,
    };
    if (result.ok) {
      await repo.update(
        { id: deliveryId },
        { ...common, status: 'delivered', deliveredAt: new Date(), nextAttemptAt: null },
      );
      this.metrics.attemptSettled('delivered', result);
      return 'delivered';
    }
    // A replayed delivery gets the whole schedule again.
    const delay = this.policy.nextDelayMs(attemptsMade - attemptsBeforeReplay, result.retryAfterMs);
    if (delay === null) {
      await repo.update({ id: deliveryId }, { ...common, status: 'dead', nextAttemptAt: null });
      this.logger.warn(
        `Delivery ${deliveryId} is dead after ${attemptsMade} attempts: ${result.error}`,
      );
      this.metrics.attemptSettled('dead', result);
      return 'dead';
    }
    await repo.update(
      { id: deliveryId },
      { ...common, status: 'failed', nextAttemptAt: new Date(Date.now() + delay) },
    );
    await this.queue.enqueue([{ deliveryId, attempt: attemptsMade, delayMs: delay }]);
    this.metrics.attemptSettled('retried', result);
    return 'failed';
  }
}
