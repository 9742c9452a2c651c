import { Field, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { MutationInput, MutationPayload } from '../common/mutation.types';
import { TimeScalar } from '../common/time.scalar';
import { DestinationIdScalar } from '../destinations/destination-id.scalars';
import { DeliveryIdScalar } from './delivery-id.scalars';

/**
 * Inputs and payloads of the mutations that steer delivery: replays and the test event. Not in
 * GitLab; named and shaped in its style (`input: {...}`, `clientMutationId`, `errors`).
 */

export enum ReplayKindEnum {
  DELIVERY = 'delivery',
  DEAD_DELIVERIES = 'dead',
  EVENTS = 'events',
}
registerEnumType(ReplayKindEnum, {
  name: 'AuditEventStreamingReplayKind',
  description: 'What a replay redelivers.',
  valuesMap: {
    DELIVERY: { description: 'One delivery.' },
    DEAD_DELIVERIES: { description: 'Every delivery of the destination that was dead.' },
    EVENTS: { description: "Every event of the destination's group in a time range." },
  },
});

export enum ReplayStatusEnum {
  RUNNING = 'running',
  FINISHED = 'finished',
  FAILED = 'failed',
}
registerEnumType(ReplayStatusEnum, {
  name: 'AuditEventStreamingReplayStatus',
  description: 'Where a replay stands.',
  valuesMap: {
    RUNNING: { description: 'Batches remain to be queued.' },
    FINISHED: { description: 'Everything was queued (delivery itself follows the usual retries).' },
    FAILED: { description: 'It could not go on (see `error`).' },
  },
});

@ObjectType('AuditEventStreamingReplay', {
  description:
    "A replay: deliveries put back on the queue at an owner's request, with its progress. Large replays are queued in batches by the workers, behind live deliveries.",
})
export class ReplayType {
  @Field(() => ID, {
    description: 'Global ID (`gid://gitlab/AuditEvents::Streaming::Replay/<n>`).',
  })
  id: string;

  @Field(() => ReplayKindEnum)
  kind: ReplayKindEnum;

  @Field(() => ReplayStatusEnum)
  status: ReplayStatusEnum;

  @Field(() => Int, {
    description:
      'Events (time range) or dead deliveries to go through, counted when the replay was requested.',
  })
  total: number;

  @Field(() => Int, { description: 'How many of `total` have been gone through.' })
  processed: number;

  @Field(() => Int, { description: 'Deliveries put back on the queue so far.' })
  queued: number;

  @Field(() => TimeScalar, { nullable: true, description: 'Start of the time range (inclusive).' })
  startedAt: Date | null;

  @Field(() => TimeScalar, { nullable: true, description: 'End of the time range (inclusive).' })
  endedAt: Date | null;

  @Field(() => String, { nullable: true, description: 'Why the replay failed, if it did.' })
  error: string | null;

  @Field(() => TimeScalar)
  createdAt: Date;

  @Field(() => TimeScalar)
  updatedAt: Date;

  @Field(() => TimeScalar, { nullable: true })
  finishedAt: Date | null;
}

@ObjectType({ isAbstract: true })
abstract class ReplayPayload extends MutationPayload {
  @Field(() => ReplayType, { nullable: true, description: 'The replay, to follow its progress.' })
  replay: unknown;
}

@InputType('AuditEventsStreamingDeliveryRetryInput')
export class DeliveryRetryInput extends MutationInput {
  @Field(() => DeliveryIdScalar, { description: 'The delivery to send again.' })
  id: number;
}

@ObjectType('AuditEventsStreamingDeliveryRetryPayload')
export class DeliveryRetryPayload extends ReplayPayload {}

@InputType('ExternalAuditEventDestinationDeadDeliveriesReplayInput')
export class DeadDeliveriesReplayInput extends MutationInput {
  @Field(() => DestinationIdScalar)
  id: number;
}

@ObjectType('ExternalAuditEventDestinationDeadDeliveriesReplayPayload')
export class DeadDeliveriesReplayPayload extends ReplayPayload {}

@InputType('ExternalAuditEventDestinationEventsReplayInput')
export class EventsReplayInput extends MutationInput {
  @Field(() => DestinationIdScalar)
  id: number;

  @Field(() => TimeScalar, { description: 'Replay events created at or after this time.' })
  startedAt: Date;

  @Field(() => TimeScalar, { description: 'Replay events created at or before this time.' })
  endedAt: Date;
}

@ObjectType('ExternalAuditEventDestinationEventsReplayPayload')
export class EventsReplayPayload extends ReplayPayload {}

@InputType('ExternalAuditEventDestinationTestEventSendInput')
export class TestEventSendInput extends MutationInput {
  @Field(() => DestinationIdScalar)
  id: number;
}

@ObjectType('ExternalAuditEventDestinationTestEventSendPayload')
export class TestEventSendPayload extends MutationPayload {
  @Field(() => Boolean, {
    nullable: true,
    description: 'Whether the destination answered with a 2xx.',
  })
  success: boolean | null;

  @Field(() => Int, {
    nullable: true,
    description: "The destination's HTTP status code; null when no answer came.",
  })
  statusCode: number | null;

  @Field(() => Int, { nullable: true, description: 'How long the request took, in milliseconds.' })
  latencyMs: number | null;

  @Field(() => String, {
    nullable: true,
    description: "The start of the destination's response body.",
  })
  responseExcerpt: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'Why the request failed (`HTTP 500`, a timeout, a refused connection, a blocked address).',
  })
  errorMessage: string | null;

  @Field(() => String, { nullable: true, description: 'The `id` the test event was sent with.' })
  eventId: string | null;
}
