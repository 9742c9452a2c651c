import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { ExternalAuditEventDestination } from '../destinations/external-audit-event-destination.entity';
import { AuditEventDelivery } from './delivery.entity';
import { DeliveryQueue } from './delivery-queue';
import type { AttemptResult } from './http-transport';
import { withinTimeout } from './waits';

/** What became of one attempt: delivered, failed with a retry scheduled, or failed for good. */
export type AttemptOutcome = 'delivered' | 'retried' | 'dead';

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'paused'] as const;

/**
 * The plugin's Prometheus metrics, in a registry of its own (never prom-client's global one, so
 * that two apps in one process do not clash). Counters and the latency histogram count this
 * process's attempts; the gauges (queue depth, dead deliveries, circuit state) are read from
 * Redis and the database when scraped, so any process reports the whole picture. Labels are
 * bounded: outcomes, queue states, and destination ids (at most `destinationsPerGroup` per
 * group). The host exposes `registry` (the reference host at `GET /metrics`).
 */
@Injectable()
export class AuditEventStreamingMetrics {
  private readonly logger = new Logger(AuditEventStreamingMetrics.name);
  readonly registry = new Registry();

  private readonly deliveries = new Counter({
    name: 'audit_event_streaming_deliveries_total',
    help: 'Delivery attempts by outcome: delivered (2xx), retried (failed, retry scheduled), dead (failed, no attempt left).',
    labelNames: ['outcome'],
    registers: [this.registry],
  });

  private readonly latency = new Histogram({
    name: 'audit_event_streaming_attempt_duration_seconds',
    help: 'Duration of one delivery attempt (HTTP POST and the start of the response), by result.',
    labelNames: ['result'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly queue: DeliveryQueue,
  ) {
    for (const outcome of ['delivered', 'retried', 'dead'] satisfies AttemptOutcome[])
      this.deliveries.inc({ outcome }, 0);
    const queueJobs: Gauge<'state'> = new Gauge({
      name: 'audit_event_streaming_queue_jobs',
      help: 'Jobs in the delivery queue, by state (read from Redis when scraped).',
      labelNames: ['state'],
      registers: [this.registry],
      collect: () =>
        this.collect('queue depth', async () => {
          const counts = (await withinTimeout(
            this.queue.queue.getJobCounts(),
          )) as unknown as Record<string, number>;
          for (const state of QUEUE_STATES) queueJobs.set({ state }, counts[state] ?? 0);
        }),
    });
    const dead: Gauge = new Gauge({
      name: 'audit_event_streaming_dead_deliveries',
      help: 'Deliveries that ran out of attempts and wait for a replay (read from the database when scraped).',
      registers: [this.registry],
      collect: () =>
        this.collect('dead deliveries', async () => {
          dead.set(
            await withinTimeout(
              this.db.getRepository(AuditEventDelivery).countBy({ status: 'dead' }),
            ),
          );
        }),
    });
    const circuits: Gauge<'destination_id'> = new Gauge({
      name: 'audit_event_streaming_destination_circuit_state',
      help: 'Circuit breaker state per destination: 0 closed, 1 half-open, 2 open (read from the database when scraped).',
      labelNames: ['destination_id'],
      registers: [this.registry],
      collect: () =>
        this.collect('circuit states', async () => {
          const destinations = await withinTimeout(
            this.db.getRepository(ExternalAuditEventDestination).find(),
          );
          circuits.reset();
          for (const destination of destinations)
            circuits.set(
              { destination_id: String(destination.id) },
              circuitStateValue(destination),
            );
        }),
    });
  }

  /** A scrape reports what it can: a gauge whose source does not answer keeps its last value. */
  private async collect(what: string, read: () => Promise<void>): Promise<void> {
    try {
      await read();
    } catch (err) {
      this.logger.warn(`Metrics: ${what} not collected: ${(err as Error).message}`);
    }
  }

  /** Called by the processor when an attempt is settled. */
  attemptSettled(outcome: AttemptOutcome, result: Pick<AttemptResult, 'ok' | 'latencyMs'>): void {
    this.deliveries.inc({ outcome });
    this.latency.observe({ result: result.ok ? 'success' : 'failure' }, result.latencyMs / 1000);
  }

  /** The exposition text, for a `/metrics` endpoint. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * 0 closed, 1 half-open (open, and the next probe may go), 2 open (deliveries held until
 * `circuitRetryAt`): the circuit breaker's reading of the destination row.
 */
export function circuitStateValue(
  destination: Pick<ExternalAuditEventDestination, 'circuitRetryAt'>,
  now = Date.now(),
): number {
  const retryAt = destination.circuitRetryAt;
  if (!retryAt) return 0;
  return retryAt.getTime() > now ? 2 : 1;
}
