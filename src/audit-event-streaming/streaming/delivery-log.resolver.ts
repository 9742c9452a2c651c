import { Inject, UseFilters } from '@nestjs/common';
import { Args, Context, ID, Int, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { paginate } from '../common/connection';
import { GID_MODELS, toGlobalId } from '../common/global-id';
import { StreamingGraphqlErrorFilter } from '../common/graphql-errors';
import { batchLoad, ConnectionArgsType, GqlContext, memo } from '../common/request-context';
import { DestinationAccessPolicy, GroupAccess } from '../destinations/destination-access.policy';
import { DestinationType } from '../destinations/destination.types';
import { ExternalAuditEventDestination as Destination } from '../destinations/external-audit-event-destination.entity';
import { AuditEventStreamingHost } from '../host/audit-event-streaming-host';
import { AuditEventDelivery } from './delivery.entity';
import {
  DeliveriesArgs,
  DeliveryAttemptConnection,
  DeliveryAttemptType,
  DeliveryConnection,
  DeliveryType,
  DestinationHealthStatusEnum,
  DestinationHealthType,
} from './delivery-log.types';
import { AttemptRow, DeliveryLogService } from './delivery-log.service';
import { DestinationHealthService } from './destination-health.service';

/**
 * `ExternalAuditEventDestination.deliveries` and `.health`: owners only, under the same policy
 * and flag as the destinations themselves (null otherwise, as `externalAuditEventDestinations`).
 * Counts are batched per request, so a list of destinations costs one count query.
 */
@Resolver(() => DestinationType)
@UseFilters(StreamingGraphqlErrorFilter)
export class DestinationDeliveryLogResolver {
  constructor(
    @Inject(AuditEventStreamingHost) private readonly host: AuditEventStreamingHost,
    private readonly policy: DestinationAccessPolicy,
    private readonly log: DeliveryLogService,
    private readonly healthService: DestinationHealthService,
  ) {}

  private access(ctx: GqlContext, destination: Destination): Promise<GroupAccess | null> {
    return memo(ctx, `streamingAccess:${destination.groupId}`, async () =>
      this.policy.check(
        ctx.req,
        await memo(ctx, `group:${destination.groupId}`, () =>
          this.host.findGroupById(destination.groupId),
        ),
      ),
    );
  }

  @ResolveField(() => DeliveryConnection, {
    nullable: true,
    description:
      'Delivery log of the destination, newest first. Delivered deliveries are kept for the ' +
      'retention period; undelivered ones until they are delivered.',
  })
  async deliveries(
    @Parent() destination: Destination,
    @Args() args: DeliveriesArgs,
    @Context() ctx: GqlContext,
  ) {
    if (!(await this.access(ctx, destination))) return null;
    return this.log.deliveries(destination.id, args, args);
  }

  @ResolveField(() => DestinationHealthType, {
    nullable: true,
    description: 'How deliveries to the destination are going.',
  })
  async health(
    @Parent() destination: Destination,
    @Context() ctx: GqlContext,
  ): Promise<DestinationHealthType | null> {
    if (!(await this.access(ctx, destination))) return null;
    const counts = await batchLoad(ctx, 'streamingDeliveryCounts', destination.id, (ids) =>
      this.log.countsOf(ids),
    );
    return {
      status: this.healthService.breaker.status(destination) as DestinationHealthStatusEnum,
      consecutiveFailures: destination.consecutiveFailures,
      lastSuccessAt: destination.lastSuccessAt,
      lastFailureAt: destination.lastFailureAt,
      lastError: destination.lastError,
      failingSince: destination.failingSince,
      circuitOpenUntil: destination.active ? destination.circuitRetryAt : null,
      deactivatedReason: destination.deactivatedReason,
      pendingCount: counts?.pending ?? 0,
      deadCount: counts?.dead ?? 0,
    };
  }
}

/** Fields of `AuditEventStreamingDelivery`; attempts of a page of deliveries in one query. */
@Resolver(() => DeliveryType)
@UseFilters(StreamingGraphqlErrorFilter)
export class DeliveryFieldsResolver {
  constructor(private readonly log: DeliveryLogService) {}

  @ResolveField(() => ID)
  id(@Parent() delivery: AuditEventDelivery): string {
    return toGlobalId(GID_MODELS.delivery, delivery.id);
  }

  @ResolveField(() => String)
  eventType(@Parent() delivery: AuditEventDelivery): string {
    return delivery.auditEvent?.eventType ?? '';
  }

  @ResolveField(() => Int)
  attemptCount(@Parent() delivery: AuditEventDelivery): number {
    return delivery.attempts;
  }

  @ResolveField(() => DeliveryAttemptConnection)
  async attempts(
    @Parent() delivery: AuditEventDelivery,
    @Args() args: ConnectionArgsType,
    @Context() ctx: GqlContext,
  ) {
    const loaded = await batchLoad(ctx, 'streamingDeliveryAttempts', Number(delivery.id), (ids) =>
      this.log.attemptsOf(ids),
    );
    return paginate<AttemptRow>(loaded?.rows ?? [], args);
  }
}

@Resolver(() => DeliveryAttemptType)
export class DeliveryAttemptFieldsResolver {
  @ResolveField(() => ID)
  id(@Parent() attempt: AttemptRow): string {
    return toGlobalId(GID_MODELS.deliveryAttempt, attempt.id);
  }

  @ResolveField(() => Boolean)
  succeeded(@Parent() attempt: AttemptRow): boolean {
    return attempt.statusCode !== null && attempt.statusCode >= 200 && attempt.statusCode < 300;
  }
}
