import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, IsNull } from 'typeorm';
import { ExternalAuditEventDestination } from '../destinations/external-audit-event-destination.entity';
import { DestinationHealthService } from './destination-health.service';
import { ResolvedStreamingSettings, STREAMING_SETTINGS } from '../audit-event-streaming.options';
import { AuditEventDelivery } from './delivery.entity';
import { deliveryJobId, DeliveryQueue, DestinationDeliveriesToEnqueue } from './delivery-queue';
import { FanOutService } from './fan-out.service';
import { WorkerLoopService } from './worker-loop';

/** Rows per sweep step, so one sweep never holds the database or Redis for long. */
const BATCH = 500;
/** Pages of due deliveries one sweep checks at most (the next sweep starts over). */
const MAX_PAGES = 40;

/**
 * The outbox's safety net, run by workers. It fans out events that were committed but never
 * fanned out (the process died after commit), and re-enqueues deliveries that are due but whose
 * job Redis no longer holds (never enqueued, or Redis restarted empty). Job ids are
 * deterministic, so several sweepers at once do no harm.
 */
@Injectable()
export class OutboxSweeper extends WorkerLoopService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(STREAMING_SETTINGS) settings: ResolvedStreamingSettings,
    private readonly fanOut: FanOutService,
    private readonly queue: DeliveryQueue,
    private readonly health: DestinationHealthService,
  ) {
    super(settings, { name: 'Sweep', intervalMs: settings.delivery.sweepIntervalMs });
  }

  protected async runOnce(): Promise<void> {
    await this.sweep();
  }

  /**
   * A circuit whose probe is overdue (its probe job was lost, or its candidate delivery is done):
   * a probe job for one of its held deliveries, so held work never waits on a job nobody has.
   */
  private async probeOverdueCircuits(before: Date): Promise<number> {
    const overdue = await this.db
      .getRepository(ExternalAuditEventDestination)
      .createQueryBuilder('dest')
      .select(['dest.id', 'dest.circuitRetryAt'])
      .where('dest.active = :active', { active: true })
      .andWhere('dest.circuit_retry_at < :before', { before })
      .limit(BATCH)
      .getMany();
    let probes = 0;
    for (const destination of overdue) {
      const candidate = await this.db.getRepository(AuditEventDelivery).findOne({
        select: { id: true, attempts: true },
        where: {
          destinationId: destination.id,
          status: In(['pending', 'failed']),
          claimToken: IsNull(),
        },
        order: { id: 'ASC' },
      });
      if (!candidate) continue;
      await this.health.enqueueProbe(
        destination.id,
        candidate.id,
        candidate.attempts,
        destination.circuitRetryAt!,
      );
      probes++;
    }
    return probes;
  }

  /** One pass; returns what it did. */
  async sweep(): Promise<{ fannedOut: number; requeued: number }> {
    const { lostJobAfterMs } = this.settings.delivery;
    const now = Date.now();
    // Committed events never fanned out (a process died, or more were recorded than fan-out
    // keeps in memory): page after page, so a large backlog is caught up in one sweep.
    let fannedOut = 0;
    for (let page = 0; page < MAX_PAGES; page++) {
      const picked = await this.fanOut.fanOutPending(
        new Date(now - Math.min(lostJobAfterMs, 5000)),
        BATCH,
      );
      fannedOut += picked;
      if (picked < BATCH) break;
    }
    // Page through every due delivery (by id, so a backlog of due rows whose jobs are still
    // queued never hides the lost ones behind it), checking their jobs one page at a time.
    const before = new Date(now - lostJobAfterMs);
    let requeued = 0;
    let after = '0';
    for (let page = 0; page < MAX_PAGES; page++) {
      const due = await this.db
        .getRepository(AuditEventDelivery)
        .createQueryBuilder('d')
        .innerJoin('d.destination', 'dest')
        .select(['d.id', 'd.attempts', 'd.jobId', 'd.destinationId'])
        .where('d.status IN (:...statuses)', { statuses: ['pending', 'failed'] })
        .andWhere('dest.active = :active', { active: true })
        // Held behind an open circuit: no jobs on purpose (the probe and `resume` send them).
        .andWhere('dest.circuit_retry_at IS NULL')
        .andWhere('(d.next_attempt_at IS NULL OR d.next_attempt_at < :before)', { before })
        .andWhere('d.id > :after', { after })
        .orderBy('d.id', 'ASC')
        .limit(BATCH)
        .getMany();
      if (!due.length) break;
      after = due[due.length - 1].id;
      // A delivery is queued while the job that carries it (fan-out's, named on the row) or its
      // own attempt's job is in Redis.
      const jobsOf = (d: AuditEventDelivery) =>
        [deliveryJobId(d.id, d.attempts), d.jobId].filter((id): id is string => !!id);
      const missing = await this.queue.missingJobs([...new Set(due.flatMap(jobsOf))]);
      const requeue = due.filter((d) => jobsOf(d).every((id) => missing.has(id)));
      if (requeue.length) {
        this.logger.log(
          `Sweeper: re-enqueueing ${requeue.length} due deliveries whose jobs were missing`,
        );
        await this.requeue(requeue, now);
        requeued += requeue.length;
      }
      if (due.length < BATCH) break;
    }
    requeued += await this.probeOverdueCircuits(before);
    return { fannedOut, requeued };
  }

  /**
   * Lost deliveries go back in jobs of many, one per destination and attempt (as fan-out sends
   * them), each named on its rows first so the next sweep finds it queued.
   */
  private async requeue(lost: AuditEventDelivery[], now: number): Promise<void> {
    const jobs = new Map<string, DestinationDeliveriesToEnqueue & { attempt: number }>();
    for (const d of lost) {
      const key = `${d.destinationId}:${d.attempts}`;
      const job = jobs.get(key) ?? {
        jobId: `s${now}d${d.destinationId}a${d.attempts}i${d.id}`,
        destinationId: d.destinationId,
        attempt: d.attempts,
        deliveryIds: [],
      };
      job.deliveryIds.push(d.id);
      jobs.set(key, job);
    }
    for (const job of jobs.values())
      await this.db
        .getRepository(AuditEventDelivery)
        .update({ id: In(job.deliveryIds), attempts: job.attempt }, { jobId: job.jobId });
    await this.queue.enqueueForDestinations([...jobs.values()]);
  }
}
