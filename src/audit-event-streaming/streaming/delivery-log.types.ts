import { ArgsType, Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { PageInfo } from '../common/connection';
import { ConnectionArgsType } from '../common/request-context';
import { TimeScalar } from '../common/time.scalar';

/** The delivery states owners filter on; the values are the stored statuses. */
export enum DeliveryStatusEnum {
  PENDING = 'pending',
  FAILED = 'failed',
  DELIVERED = 'delivered',
  DEAD = 'dead',
}

registerEnumType(DeliveryStatusEnum, {
  name: 'AuditEventStreamingDeliveryStatus',
  description: 'State of the delivery of one audit event to one streaming destination.',
  valuesMap: {
    PENDING: { description: 'Waiting for its first attempt.' },
    FAILED: { description: 'An attempt failed; another is scheduled (retrying).' },
    DELIVERED: { description: 'The destination answered with a 2xx.' },
    DEAD: { description: 'Every attempt failed; kept, and can be replayed.' },
  },
});

export enum DestinationHealthStatusEnum {
  HEALTHY = 'healthy',
  FAILING = 'failing',
  CIRCUIT_OPEN = 'circuit_open',
  DISABLED = 'disabled',
}

registerEnumType(DestinationHealthStatusEnum, {
  name: 'AuditEventStreamingDestinationHealthStatus',
  description: 'Health of a streaming destination.',
  valuesMap: {
    HEALTHY: { description: 'The last attempt succeeded (or none was made yet).' },
    FAILING: { description: 'Recent attempts failed; deliveries are retried on schedule.' },
    CIRCUIT_OPEN: {
      description:
        'Failed too many times in a row: deliveries are held (never dropped) and one probe is ' +
        'sent at intervals until the destination answers again.',
    },
    DISABLED: {
      description:
        'Not active: turned off by an owner, or deactivated after failing for too long or ' +
        'answering 410 Gone. Undelivered events are kept for replay.',
    },
  },
});

@ObjectType('AuditEventStreamingDeliveryAttempt', {
  description: 'One attempt to deliver an audit event to a streaming destination.',
})
export class DeliveryAttemptType {
  @Field(() => ID, { description: 'Global ID of the attempt.' })
  id: string;

  @Field(() => Int, { description: 'Number of the attempt, starting at 1.' })
  attemptNumber: number;

  @Field(() => Boolean, { description: 'Whether the destination answered with a 2xx.' })
  succeeded: boolean;

  @Field(() => Int, {
    nullable: true,
    description: 'HTTP status code of the answer; null when none came.',
  })
  statusCode: number | null;

  @Field(() => String, {
    nullable: true,
    description: 'Why the attempt failed, such as `HTTP 500` or a connection error.',
  })
  error: string | null;

  @Field(() => Int, { description: 'How long the attempt took, in milliseconds.' })
  latencyMs: number;

  @Field(() => String, { nullable: true, description: 'Start of the response body.' })
  responseExcerpt: string | null;

  @Field(() => TimeScalar, { description: 'When the attempt was made.' })
  createdAt: Date;
}

@ObjectType('AuditEventStreamingDeliveryAttemptEdge')
export class DeliveryAttemptEdge {
  @Field(() => DeliveryAttemptType, { nullable: true })
  node: DeliveryAttemptType;

  @Field()
  cursor: string;
}

@ObjectType('AuditEventStreamingDeliveryAttemptConnection')
export class DeliveryAttemptConnection {
  @Field(() => [DeliveryAttemptType], { nullable: 'itemsAndList' })
  nodes: DeliveryAttemptType[];

  @Field(() => [DeliveryAttemptEdge], { nullable: 'itemsAndList' })
  edges: DeliveryAttemptEdge[];

  @Field(() => PageInfo)
  pageInfo: PageInfo;
}

@ObjectType('AuditEventStreamingDelivery', {
  description: 'Delivery of one audit event to one streaming destination (the delivery log).',
})
export class DeliveryType {
  @Field(() => ID, {
    description: 'Global ID of the delivery (`gid://gitlab/AuditEvents::Streaming::Delivery/<n>`).',
  })
  id: string;

  @Field(() => ID, { description: 'ID of the audit event: the `id` of the streamed payload.' })
  auditEventId: string;

  @Field({ description: 'Type of the audit event, such as `group_created`.' })
  eventType: string;

  @Field(() => DeliveryStatusEnum)
  status: DeliveryStatusEnum;

  @Field(() => Int, { description: 'Attempts made so far.' })
  attemptCount: number;

  @Field(() => Int, {
    nullable: true,
    description: 'HTTP status code of the last answer; null when none came.',
  })
  lastStatusCode: number | null;

  @Field(() => String, { nullable: true, description: 'Why the last attempt failed.' })
  lastError: string | null;

  @Field(() => String, { nullable: true, description: "Start of the last response's body." })
  responseExcerpt: string | null;

  @Field(() => TimeScalar, { nullable: true, description: 'When the last attempt was made.' })
  lastAttemptAt: Date | null;

  @Field(() => TimeScalar, {
    nullable: true,
    description: 'When the next attempt is due; null once delivered, dead or parked.',
  })
  nextAttemptAt: Date | null;

  @Field(() => TimeScalar, { nullable: true, description: 'When it was delivered.' })
  deliveredAt: Date | null;

  @Field(() => TimeScalar, { description: 'When the delivery was created (the event streamed).' })
  createdAt: Date;

  @Field(() => DeliveryAttemptConnection, {
    description: 'The attempts made, newest first.',
  })
  attempts: DeliveryAttemptConnection;
}

@ObjectType('AuditEventStreamingDeliveryEdge')
export class DeliveryEdge {
  @Field(() => DeliveryType, { nullable: true })
  node: DeliveryType;

  @Field()
  cursor: string;
}

@ObjectType('AuditEventStreamingDeliveryConnection')
export class DeliveryConnection {
  @Field(() => [DeliveryType], { nullable: 'itemsAndList' })
  nodes: DeliveryType[];

  @Field(() => [DeliveryEdge], { nullable: 'itemsAndList' })
  edges: DeliveryEdge[];

  @Field(() => PageInfo)
  pageInfo: PageInfo;
}

@ArgsType()
export class DeliveriesArgs extends ConnectionArgsType {
  @Field(() => DeliveryStatusEnum, {
    nullable: true,
    description: 'Only deliveries in this state.',
  })
  status?: DeliveryStatusEnum | null;

  @Field(() => TimeScalar, {
    nullable: true,
    description: 'Only deliveries created at or after this time.',
  })
  createdAfter?: Date | null;

  @Field(() => TimeScalar, {
    nullable: true,
    description: 'Only deliveries created at or before this time.',
  })
  createdBefore?: Date | null;
}

@ObjectType('AuditEventStreamingDestinationHealth', {
  description: 'How deliveries to a streaming destination are going.',
})
export class DestinationHealthType {
  @Field(() => DestinationHealthStatusEnum)
  status: DestinationHealthStatusEnum;

  @Field(() => Int, { description: 'Failed attempts since the last success.' })
  consecutiveFailures: number;

  @Field(() => TimeScalar, { nullable: true, description: 'When an attempt last succeeded.' })
  lastSuccessAt: Date | null;

  @Field(() => TimeScalar, { nullable: true, description: 'When an attempt last failed.' })
  lastFailureAt: Date | null;

  @Field(() => String, { nullable: true, description: 'Why the last failed attempt failed.' })
  lastError: string | null;

  @Field(() => TimeScalar, {
    nullable: true,
    description: 'First failure since the last success; deactivation counts from here.',
  })
  failingSince: Date | null;

  @Field(() => TimeScalar, {
    nullable: true,
    description: 'While the circuit is open: when the next probe may be sent.',
  })
  circuitOpenUntil: Date | null;

  @Field(() => String, {
    nullable: true,
    description: 'Why the destination was deactivated automatically.',
  })
  deactivatedReason: string | null;

  @Field(() => Int, { description: 'Deliveries not yet delivered that are still retried.' })
  pendingCount: number;

  @Field(() => Int, { description: 'Deliveries whose attempts ran out (replayable).' })
  deadCount: number;
}
