import { Inject, UseFilters } from '@nestjs/common';
import { Args, Context, Mutation, Query, Resolver } from '@nestjs/graphql';
import { ResourceNotAvailableError } from '../common/errors';
import { GID_MODELS, toGlobalId } from '../common/global-id';
import { mutationPayload, StreamingGraphqlErrorFilter } from '../common/graphql-errors';
import { GqlContext, requestIp } from '../common/request-context';
import { AuditEventStreamingHost } from '../host/audit-event-streaming-host';
import { DestinationAccessPolicy, GroupAccess } from '../destinations/destination-access.policy';
import { DestinationsService } from '../destinations/destinations.service';
import { ExternalAuditEventDestination } from '../destinations/external-audit-event-destination.entity';
import { ReplayIdScalar } from './delivery-id.scalars';
import { buildDeliveryRequest } from './delivery-request';
import {
  DeadDeliveriesReplayInput,
  DeadDeliveriesReplayPayload,
  DeliveryRetryInput,
  DeliveryRetryPayload,
  EventsReplayInput,
  EventsReplayPayload,
  ReplayKindEnum,
  ReplayStatusEnum,
  ReplayType,
  TestEventSendInput,
  TestEventSendPayload,
} from './delivery-steering.inputs';
import { DeliveryProcessor } from './delivery.processor';
import { AuditEventStreamingReplay as Replay } from './replay.entity';
import { ReplayService } from './replay.service';
import { buildTestEvent } from './test-event';

export function toReplayType(replay: Replay): ReplayType {
  return {
    id: toGlobalId(GID_MODELS.replay, replay.id),
    kind: replay.kind as ReplayKindEnum,
    status: replay.status as ReplayStatusEnum,
    total: replay.total,
    processed: replay.processed,
    queued: replay.queued,
    startedAt: replay.eventsFrom,
    endedAt: replay.eventsTo,
    error: replay.error,
    createdAt: replay.createdAt,
    updatedAt: replay.updatedAt,
    finishedAt: replay.finishedAt,
  };
}

/**
 * Steering delivery: replays and the test event. The same rules as the destination mutations:
 * Owners of the destination's group (inherited ownership counts) and administrators, with the
 * root group's flag on; everyone else, and every object that does not exist or belongs to a
 * group the caller may not manage, gets GitLab's top-level access error.
 */
@Resolver()
@UseFilters(StreamingGraphqlErrorFilter)
export class DeliverySteeringResolver {
  constructor(
    @Inject(AuditEventStreamingHost) private readonly host: AuditEventStreamingHost,
    private readonly policy: DestinationAccessPolicy,
    private readonly destinations: DestinationsService,
    private readonly replays: ReplayService,
    private readonly processor: DeliveryProcessor,
  ) {}

  @Query(() => ReplayType, {
    name: 'auditEventStreamingReplay',
    nullable: true,
    description:
      'A replay and its progress; null when it does not exist or the caller may not manage its destination. Not in GitLab.',
  })
  async replay(
    @Args('id', { type: () => ReplayIdScalar }) id: number,
    @Context() ctx: GqlContext,
  ): Promise<ReplayType | null> {
    const replay = await this.replays.find(id);
    const destination = replay ? await this.destinations.find(replay.destinationId) : null;
    if (!replay || !destination) return null;
    const access = await this.policy.check(
      ctx.req,
      await this.host.findGroupById(destination.groupId),
    );
    return access ? toReplayType(replay) : null;
  }

  @Mutation(() => DeliveryRetryPayload, {
    name: 'auditEventsStreamingDeliveryRetry',
    nullable: true,
    description:
      'Sends one delivery again now, whatever its status (delivered, dead, or waiting for a retry), with a fresh retry schedule. Not in GitLab.',
  })
  async retryDelivery(@Args('input') input: DeliveryRetryInput, @Context() ctx: GqlContext) {
    const delivery = await this.replays.findDelivery(input.id);
    const { access, destination } = await this.authorizeDestination(ctx, delivery?.destinationId);
    return mutationPayload(input, { replay: null }, async () => ({
      replay: toReplayType(
        await this.replays.retryDelivery(destination, delivery!, access.user.id),
      ),
    }));
  }

  @Mutation(() => DeadDeliveriesReplayPayload, {
    name: 'externalAuditEventDestinationDeadDeliveriesReplay',
    nullable: true,
    description:
      'Puts every dead delivery of the destination back on the queue, each with a fresh retry schedule, in batches behind live deliveries. Follow it with `auditEventStreamingReplay(id)`. Not in GitLab.',
  })
  async replayDead(@Args('input') input: DeadDeliveriesReplayInput, @Context() ctx: GqlContext) {
    const { access, destination } = await this.authorizeDestination(ctx, input.id);
    return mutationPayload(input, { replay: null }, async () => ({
      replay: toReplayType(await this.replays.replayDead(destination, access.user.id)),
    }));
  }

  @Mutation(() => EventsReplayPayload, {
    name: 'externalAuditEventDestinationEventsReplay',
    nullable: true,
    description:
      "Delivers again every audit event of the destination's group (its subgroups and projects included) created between `startedAt` and `endedAt` (inclusive), with the destination's event type and namespace filters applied: for a new destination, or a receiver that lost data. Events without a delivery to the destination get one; delivered and dead ones are sent again. Queued in batches behind live deliveries; follow it with `auditEventStreamingReplay(id)`. Not in GitLab.",
  })
  async replayEvents(@Args('input') input: EventsReplayInput, @Context() ctx: GqlContext) {
    const { access, destination } = await this.authorizeDestination(ctx, input.id);
    return mutationPayload(input, { replay: null }, async () => ({
      replay: toReplayType(
        await this.replays.replayEvents(
          destination,
          input.startedAt,
          input.endedAt,
          access.user.id,
        ),
      ),
    }));
  }

  @Mutation(() => TestEventSendPayload, {
    name: 'externalAuditEventDestinationTestEventSend',
    nullable: true,
    description:
      "Sends a synthetic test event to the destination at once (not through the queue, no retries) and returns the destination's answer. The body has GitLab's payload shape with `event_type: \"audit_events_streaming_test_event\"`, `details.test: true` and a fresh `id` (`test-<uuid>`); it carries the destination's headers and signatures and goes through the same transport and address checks as every delivery. The destination may be inactive. Not in GitLab.",
  })
  async sendTestEvent(@Args('input') input: TestEventSendInput, @Context() ctx: GqlContext) {
    const { access, destination } = await this.authorizeDestination(ctx, input.id);
    const empty = {
      success: null,
      statusCode: null,
      latencyMs: null,
      responseExcerpt: null,
      errorMessage: null,
      eventId: null,
    };
    return mutationPayload(input, empty, async () => {
      const now = new Date();
      const event = buildTestEvent(destination, access.group, access.user, requestIp(ctx.req), now);
      const request = buildDeliveryRequest(event, destination, now);
      const result = await this.processor.transport.send(destination.destinationUrl, request);
      return {
        success: result.ok,
        statusCode: result.statusCode,
        latencyMs: result.latencyMs,
        responseExcerpt: result.responseExcerpt,
        errorMessage: result.error,
        eventId: event.id,
      };
    });
  }

  /** The destination, if the caller may manage it (its group's owners and admins, flag on). */
  private async authorizeDestination(
    ctx: GqlContext,
    id: number | undefined,
  ): Promise<{ access: GroupAccess; destination: ExternalAuditEventDestination }> {
    const destination = id === undefined ? null : await this.destinations.find(id);
    if (!destination) throw new ResourceNotAvailableError();
    const access = await this.policy.authorizeGroupId(ctx.req, destination.groupId);
    return { access, destination };
  }
}
