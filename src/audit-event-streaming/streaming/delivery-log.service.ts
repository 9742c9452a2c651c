import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { GraphQLError } from 'graphql';
import { DataSource, In, SelectQueryBuilder } from 'typeorm';
import {
  Connection,
  ConnectionArgs,
  decodeCursor,
  encodeCursor,
  MAX_PAGE_SIZE,
} from '../common/connection';
import { AuditEventDelivery, DeliveryStatus } from './delivery.entity';
import { AuditEventDeliveryAttempt } from './delivery-attempt.entity';

export interface DeliveryFilter {
  status?: DeliveryStatus | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
}

export interface DeliveryCounts {
  /** The destination id. */
  id: number;
  pending: number;
  dead: number;
}

/** Reads of the delivery log: keyset pages over a destination's deliveries, newest first. */
@Injectable()
export class DeliveryLogService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async deliveries(
    destinationId: number,
    filter: DeliveryFilter,
    args: ConnectionArgs,
  ): Promise<Connection<AuditEventDelivery>> {
    if (filter.createdAfter && filter.createdBefore && filter.createdAfter > filter.createdBefore)
      throw new GraphQLError('createdAfter must be before createdBefore');
    const base = () => {
      const qb = this.db
        .getRepository(AuditEventDelivery)
        .createQueryBuilder('d')
        .where('d.destination_id = :destinationId', { destinationId });
      if (filter.status) qb.andWhere('d.status = :status', { status: filter.status });
      if (filter.createdAfter)
        qb.andWhere('d.created_at >= :createdAfter', { createdAfter: filter.createdAfter });
      if (filter.createdBefore)
        qb.andWhere('d.created_at <= :createdBefore', { createdBefore: filter.createdBefore });
      return qb;
    };
    return newestFirst(base, args, (qb) =>
      qb.leftJoin('d.auditEvent', 'e').addSelect(['e.id', 'e.eventType']),
    );
  }

  /** Attempts of many deliveries in one query, oldest first per delivery. */
  async attemptsOf(deliveryIds: number[]): Promise<{ id: number; rows: AttemptRow[] }[]> {
    const rows = await this.db.getRepository(AuditEventDeliveryAttempt).find({
      where: { deliveryId: In(deliveryIds.map(String)) },
      order: { id: 'ASC' },
    });
    const byDelivery = new Map<number, AttemptRow[]>(deliveryIds.map((id) => [id, []]));
    for (const row of rows)
      byDelivery.get(Number(row.deliveryId))?.push(Object.assign(row, { id: Number(row.id) }));
    return [...byDelivery].map(([id, list]) => ({ id, rows: list }));
  }

  /** Pending (and retrying) and dead deliveries of many destinations, in one query. */
  async countsOf(destinationIds: number[]): Promise<DeliveryCounts[]> {
    const raw: { destination_id: number; status: DeliveryStatus; n: string | number }[] =
      await this.db
        .getRepository(AuditEventDelivery)
        .createQueryBuilder('d')
        .select('d.destination_id', 'destination_id')
        .addSelect('d.status', 'status')
        .addSelect('COUNT(*)', 'n')
        .where('d.destination_id IN (:...ids)', { ids: destinationIds })
        .andWhere('d.status IN (:...statuses)', { statuses: ['pending', 'failed', 'dead'] })
        .groupBy('d.destination_id')
        .addGroupBy('d.status')
        .getRawMany();
    const counts = new Map<number, DeliveryCounts>(
      destinationIds.map((id) => [id, { id, pending: 0, dead: 0 }]),
    );
    for (const r of raw) {
      const c = counts.get(Number(r.destination_id));
      if (!c) continue;
      if (r.status === 'dead') c.dead += Number(r.n);
      else c.pending += Number(r.n);
    }
    return [...counts.values()];
  }
}

export type AttemptRow = Omit<AuditEventDeliveryAttempt, 'id'> & { id: number };

function checkSize(name: string, value: number | null | undefined): void {
  if (value != null && value < 0)
    throw new GraphQLError(`Argument '${name}' on Field must be non-negative`);
}

/**
 * Relay pagination in the database, newest (highest id) first: `after` pages towards older rows,
 * `before` towards newer ones. `hasNextPage`/`hasPreviousPage` look at the whole filtered set,
 * as `paginate()` does for small lists.
 */
async function newestFirst<T extends { id: string }>(
  base: () => SelectQueryBuilder<T>,
  args: ConnectionArgs,
  select: (qb: SelectQueryBuilder<T>) => SelectQueryBuilder<T>,
): Promise<Connection<T>> {
  checkSize('first', args.first);
  checkSize('last', args.last);
  const after = args.after ? decodeCursor(args.after) : null;
  const before = args.before ? decodeCursor(args.before) : null;
  const windowed = () => {
    const qb = base();
    if (after !== null) qb.andWhere('d.id < :after', { after });
    if (before !== null) qb.andWhere('d.id > :before', { before });
    return qb;
  };
  const first = args.first == null ? null : Math.min(args.first, MAX_PAGE_SIZE);
  const last = args.last == null ? null : Math.min(args.last, MAX_PAGE_SIZE);
  let rows: T[];
  if (first === null && last !== null) {
    // The `last` rows of the window: the oldest ones, read from the old end.
    rows = last
      ? (await select(windowed()).orderBy('d.id', 'ASC').take(last).getMany()).reverse()
      : [];
  } else {
    const size = first ?? MAX_PAGE_SIZE;
    rows = size ? await select(windowed()).orderBy('d.id', 'DESC').take(size).getMany() : [];
    if (last !== null) rows = rows.slice(Math.max(0, rows.length - last));
  }
  const exists = async (condition: string, value: number) =>
    !!(await base()
      .select('d.id', 'id')
      .andWhere(condition, { bound: value })
      .limit(1)
      .getRawOne());
  const ids = rows.map((r) => Number(r.id));
  const [hasNextPage, hasPreviousPage] = await Promise.all([
    rows.length
      ? exists('d.id < :bound', Math.min(...ids))
      : before !== null && exists('d.id <= :bound', before),
    rows.length
      ? exists('d.id > :bound', Math.max(...ids))
      : after !== null && exists('d.id >= :bound', after),
  ]);
  const edges = rows.map((node) => ({ node, cursor: encodeCursor(Number(node.id)) }));
  return {
    nodes: rows,
    edges,
    pageInfo: {
      hasNextPage,
      hasPreviousPage,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
}
