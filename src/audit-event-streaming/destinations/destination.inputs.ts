import { Field, ID, InputType, Int, ObjectType } from '@nestjs/graphql';
import { MutationInput, MutationPayload } from '../common/mutation.types';
import { BatchFormatValue } from './batch-options';
import {
  DestinationIdScalar,
  HeaderIdScalar,
  NamespaceFilterIdScalar,
} from './destination-id.scalars';
import { DestinationType, NamespaceFilterType, StreamingHeaderType } from './destination.types';

/** GitLab's inputs and payloads for the ten streaming mutations (GITLAB-CONTRACT.md §2). */

/** Batch mode (ours), on create and on update. */
@InputType({ isAbstract: true })
abstract class BatchOptionsInput extends MutationInput {
  @Field(() => BatchFormatValue, {
    nullable: true,
    description: 'Batch mode (not in GitLab); NONE, one request per event, by default.',
  })
  batchFormat?: BatchFormatValue | null;

  @Field(() => Int, {
    nullable: true,
    description: 'Events per batch request (1-1000, default 100).',
  })
  batchMaxEvents?: number | null;

  @Field(() => Int, {
    nullable: true,
    description: 'Bytes per batch request (1 KB-25 MB, default 1 MB); a larger event goes alone.',
  })
  batchMaxBytes?: number | null;

  @Field(() => Int, {
    nullable: true,
    description: 'How long an event may wait for its batch to fill, ms (0-60000, default 1000).',
  })
  batchMaxWaitMs?: number | null;
}

/** The payload of a mutation answering the destination it made or changed. */
@ObjectType({ isAbstract: true })
abstract class DestinationPayload extends MutationPayload {
  @Field(() => DestinationType, { nullable: true })
  externalAuditEventDestination: unknown;
}

@InputType('ExternalAuditEventDestinationCreateInput')
export class DestinationCreateInput extends BatchOptionsInput {
  @Field()
  destinationUrl: string;

  @Field(() => ID)
  groupPath: string;

  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => String, { nullable: true })
  verificationToken?: string | null;
}

@ObjectType('ExternalAuditEventDestinationCreatePayload')
export class DestinationCreatePayload extends DestinationPayload {}

@InputType('ExternalAuditEventDestinationUpdateInput')
export class DestinationUpdateInput extends BatchOptionsInput {
  @Field(() => DestinationIdScalar)
  id: number;

  @Field(() => String, { nullable: true })
  destinationUrl?: string | null;

  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => Boolean, { nullable: true })
  active?: boolean | null;
}

@ObjectType('ExternalAuditEventDestinationUpdatePayload')
export class DestinationUpdatePayload extends DestinationPayload {}

@InputType('ExternalAuditEventDestinationDestroyInput')
export class DestinationDestroyInput extends MutationInput {
  @Field(() => DestinationIdScalar)
  id: number;
}

@ObjectType('ExternalAuditEventDestinationDestroyPayload')
export class DestinationDestroyPayload extends MutationPayload {}

@InputType('ExternalAuditEventDestinationSigningSecretRotateInput')
export class DestinationSigningSecretRotateInput extends MutationInput {
  @Field(() => DestinationIdScalar)
  id: number;
}

@ObjectType('ExternalAuditEventDestinationSigningSecretRotatePayload')
export class DestinationSigningSecretRotatePayload extends DestinationPayload {}

@InputType('AuditEventsStreamingHeadersCreateInput')
export class HeaderCreateInput extends MutationInput {
  @Field(() => DestinationIdScalar)
  destinationId: number;

  @Field()
  key: string;

  @Field()
  value: string;

  @Field(() => Boolean, { nullable: true, defaultValue: true })
  active?: boolean | null;
}

@ObjectType('AuditEventsStreamingHeadersCreatePayload')
export class HeaderCreatePayload extends MutationPayload {
  @Field(() => StreamingHeaderType, { nullable: true })
  header: unknown;
}

@InputType('AuditEventsStreamingHeadersUpdateInput')
export class HeaderUpdateInput extends MutationInput {
  @Field(() => HeaderIdScalar)
  headerId: number;

  @Field(() => String, { nullable: true })
  key?: string | null;

  @Field(() => String, { nullable: true })
  value?: string | null;

  @Field(() => Boolean, { nullable: true })
  active?: boolean | null;
}

@ObjectType('AuditEventsStreamingHeadersUpdatePayload')
export class HeaderUpdatePayload extends MutationPayload {
  @Field(() => StreamingHeaderType, { nullable: true })
  header: unknown;
}

@InputType('AuditEventsStreamingHeadersDestroyInput')
export class HeaderDestroyInput extends MutationInput {
  @Field(() => HeaderIdScalar)
  headerId: number;
}

@ObjectType('AuditEventsStreamingHeadersDestroyPayload')
export class HeaderDestroyPayload extends MutationPayload {}

@InputType('AuditEventsStreamingDestinationEventsAddInput')
export class EventTypeFiltersAddInput extends MutationInput {
  @Field(() => DestinationIdScalar)
  destinationId: number;

  @Field(() => [String])
  eventTypeFilters: string[];
}

@ObjectType('AuditEventsStreamingDestinationEventsAddPayload')
export class EventTypeFiltersAddPayload extends MutationPayload {
  @Field(() => [String], { nullable: true })
  eventTypeFilters: string[] | null;
}

@InputType('AuditEventsStreamingDestinationEventsRemoveInput')
export class EventTypeFiltersRemoveInput extends MutationInput {
  @Field(() => DestinationIdScalar)
  destinationId: number;

  @Field(() => [String])
  eventTypeFilters: string[];
}

@ObjectType('AuditEventsStreamingDestinationEventsRemovePayload')
export class EventTypeFiltersRemovePayload extends MutationPayload {}

@InputType('AuditEventsStreamingHTTPNamespaceFiltersAddInput')
export class NamespaceFilterAddInput extends MutationInput {
  @Field(() => DestinationIdScalar)
  destinationId: number;

  @Field(() => ID, { nullable: true })
  groupPath?: string | null;

  @Field(() => ID, { nullable: true })
  projectPath?: string | null;
}

@ObjectType('AuditEventsStreamingHTTPNamespaceFiltersAddPayload')
export class NamespaceFilterAddPayload extends MutationPayload {
  @Field(() => NamespaceFilterType, { nullable: true })
  namespaceFilter: unknown;
}

@InputType('AuditEventsStreamingHTTPNamespaceFiltersDeleteInput')
export class NamespaceFilterDeleteInput extends MutationInput {
  @Field(() => NamespaceFilterIdScalar)
  namespaceFilterId: number;
}

@ObjectType('AuditEventsStreamingHTTPNamespaceFiltersDeletePayload')
export class NamespaceFilterDeletePayload extends MutationPayload {}
