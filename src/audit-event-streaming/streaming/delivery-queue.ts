import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bull';
import { withinTimeout } from './waits';

export const DELIVERY_QUEUE = 'audit-event-streaming';
export const DELIVERY_JOB = 'deliver';

/**
 * The job payloads. Versioned and minimal: everything else is read from the delivery rows when the
 * job runs, so an upgrade never meets an in-flight job it cannot read. A delivery whose attempt
 * counter is no longer the job's is not attempted by it (another job has it).
 */
export interface SingleDeliveryJob {
  v: 1;
  deliveryId: string;
  /** The attempt counter this job is for. */
  attempt: number;
}

/** Fan-out's job: the first attempt of a pass's deliveries to one destination. */
export interface DestinationDeliveriesJob {
  v: 2;
  destinationId: number;
  deliveryIds: string[];
  attempt: number;
}

export type DeliveryJob = SingleDeliveryJob | DestinationDeliveriesJob;

export interface DestinationDeliveriesToEnqueue {
  /** Also written on the rows (`job_id`), so the sweeper can tell a lost job from a queued one. */
  jobId: string;
  destinationId: number;
  deliveryIds: string[];
  /** The attempt the deliveries are at (fan-out's: 0). */
  attempt?: number;
  delayMs?: number;
}

export interface DeliveryToEnqueue {
  deliveryId: string;
  attempt: number;
  delayMs?: number;
  /**
   * Makes the job id distinct from the attempt's own (`d<id>a<n><suffix>`), for a second job of
   * the same attempt while the first still exists: held by an open circuit, or resumed early.
   */
  jobIdSuffix?: string;
}

/** Deterministic: enqueueing the same attempt twice yields one job. */
export function deliveryJobId(deliveryId: string, attempt: number): string {
  return `d${deliveryId}a${attempt}`;
}

/** The producer side of the delivery queue. Redis only distributes work; the rows are the truth. */
@Injectable()
export class DeliveryQueue {
  private readonly logger = new Logger(DeliveryQueue.name);

  constructor(@InjectQueue(DELIVERY_QUEUE) readonly queue: Queue<DeliveryJob>) {}

  /** One job per delivery attempt. Never throws: what fails to enqueue stays in the outbox. */
  enqueue(items: DeliveryToEnqueue[]): Promise<boolean> {
    return this.add(
      items.map((item) => ({
        data: { v: 1 as const, deliveryId: item.deliveryId, attempt: item.attempt },
        jobId: deliveryJobId(item.deliveryId, item.attempt) + (item.jobIdSuffix ?? ''),
        delayMs: item.delayMs,
      })),
      items.length,
    );
  }

  /** One job per destination, each carrying many deliveries. Never throws, as `enqueue`. */
  enqueueForDestinations(items: DestinationDeliveriesToEnqueue[]): Promise<boolean> {
    return this.add(
      items.map((item) => ({
        data: {
          v: 2 as const,
          destinationId: item.destinationId,
          deliveryIds: item.deliveryIds,
          attempt: item.attempt ?? 0,
        },
        jobId: item.jobId,
        delayMs: item.delayMs,
      })),
      items.reduce((n, item) => n + item.deliveryIds.length, 0),
    );
  }

  /** Adds the jobs in one round trip; on failure, logs that the sweeper will catch up. */
  private async add(
    jobs: { data: DeliveryJob; jobId: string; delayMs?: number }[],
    deliveries: number,
  ): Promise<boolean> {
    if (!jobs.length) return true;
    try {
      await withinTimeout(
        this.queue.addBulk(
          jobs.map(({ data, jobId, delayMs }) => ({
            name: DELIVERY_JOB,
            data,
            opts: {
              jobId,
              delay: delayMs && delayMs > 0 ? delayMs : undefined,
              removeOnComplete: true,
              removeOnFail: true,
            },
          })),
        ),
      );
      return true;
    } catch (err) {
      this.logger.warn(
        `Enqueue of ${deliveries} deliveries deferred to the sweeper: ${(err as Error).message}`,
      );
      return false;
    }
  }

  /** Which of these job ids Redis no longer holds (one round trip). */
  async missingJobs(jobIds: string[]): Promise<Set<string>> {
    if (!jobIds.length) return new Set();
    const pipeline = this.queue.client.pipeline();
    for (const id of jobIds) pipeline.exists(this.queue.toKey(id));
    // Bounded like an enqueue: a Redis that does not answer must not stall the sweeper (nor the
    // shutdown that waits for it); the sweep fails and the next one tries again.
    const results = (await withinTimeout(pipeline.exec())) ?? [];
    return new Set(jobIds.filter((_, i) => results[i]?.[1] === 0));
  }
}
