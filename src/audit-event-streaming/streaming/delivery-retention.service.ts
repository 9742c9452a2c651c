import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, LessThan } from 'typeorm';
import { ResolvedStreamingSettings, STREAMING_SETTINGS } from '../audit-event-streaming.options';
import { AuditEventDelivery } from './delivery.entity';
import { AuditEventDeliveryAttempt } from './delivery-attempt.entity';
import { WorkerLoopService } from './worker-loop';

/** Rows per delete, so the cleanup never holds locks for long. */
const BATCH = 1000;

/**
 * The delivery log's retention, run by workers: delivered deliveries older than
 * `deliveryLogRetentionMs` (by delivery time) are deleted with their attempts. Undelivered work
 * (pending, retrying, dead) is never touched, whatever its age: it waits for delivery or replay.
 */
@Injectable()
export class DeliveryRetentionService extends WorkerLoopService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(STREAMING_SETTINGS) settings: ResolvedStreamingSettings,
  ) {
    const intervalMs = settings.delivery.deliveryLogCleanupIntervalMs;
    super(settings, {
      name: 'Delivery log cleanup',
      intervalMs,
      firstRunInMs: Math.min(intervalMs, 60_000),
    });
  }

  protected async runOnce(): Promise<void> {
    await this.purge();
  }

  /** One pass; returns how many deliveries it deleted. */
  async purge(now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - this.settings.delivery.deliveryLogRetentionMs);
    const deliveries = this.db.getRepository(AuditEventDelivery);
    let deleted = 0;
    for (;;) {
      const batch = await deliveries.find({
        select: { id: true },
        where: { status: 'delivered', deliveredAt: LessThan(cutoff) },
        order: { id: 'ASC' },
        take: BATCH,
      });
      if (!batch.length) break;
      const ids = batch.map((d) => d.id);
      await this.db.transaction(async (manager) => {
        await manager.getRepository(AuditEventDeliveryAttempt).delete({ deliveryId: In(ids) });
        // Conditional: a row replayed meanwhile is undelivered work again and stays.
        const done = await manager
          .getRepository(AuditEventDelivery)
          .delete({ id: In(ids), status: 'delivered' });
        deleted += done.affected ?? 0;
      });
      if (batch.length < BATCH) break;
    }
    if (deleted)
      this.logger.log(
        `Delivery log cleanup: deleted ${deleted} deliveries delivered before ${cutoff.toISOString()}`,
      );
    return deleted;
  }
}
