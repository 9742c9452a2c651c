import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { BatchFormatValue } from './batch-options';
import { PageInfo } from '../common/connection';
import { GroupType } from '../common/group.type';

/** GitLab's `Namespace` (a group, or a project's namespace), as a namespace filter names it. */
@ObjectType('Namespace')
export class NamespaceType {
  @Field(() => ID)
  id: string;

  @Field()
  name: string;

  @Field()
  path: string;

  @Field(() => ID)
  fullPath: string;

  @Field()
  fullName: string;
}

@ObjectType('AuditEventStreamingHeader')
export class StreamingHeaderType {
  @Field(() => ID)
  id: string;

  @Field()
  key: string;

  @Field()
  value: string;

  @Field()
  active: boolean;
}

@ObjectType('AuditEventStreamingHeaderEdge')
export class StreamingHeaderEdge {
  @Field(() => StreamingHeaderType, { nullable: true })
  node: StreamingHeaderType;

  @Field()
  cursor: string;
}

@ObjectType('AuditEventStreamingHeaderConnection')
export class StreamingHeaderConnection {
  @Field(() => [StreamingHeaderType], { nullable: 'itemsAndList' })
  nodes: StreamingHeaderType[];

  @Field(() => [StreamingHeaderEdge], { nullable: 'itemsAndList' })
  edges: StreamingHeaderEdge[];

  @Field(() => PageInfo)
  pageInfo: PageInfo;
}

@ObjectType('ExternalAuditEventDestination')
export class DestinationType {
  @Field(() => ID)
  id: string;

  @Field()
  destinationUrl: string;

  @Field(() => GroupType)
  group: GroupType;

  @Field()
  verificationToken: string;

  @Field({
    description:
      'Standard Webhooks signing secret (`whsec_` + base64). Every request carries ' +
      '`webhook-id`, `webhook-timestamp` and `webhook-signature` made with it. Not in GitLab.',
  })
  signingSecret: string;

  @Field()
  name: string;

  @Field()
  active: boolean;

  @Field(() => [String])
  eventTypeFilters: string[];

  @Field(() => BatchFormatValue, { description: 'Batch mode (not in GitLab).' })
  batchFormat: BatchFormatValue;

  @Field(() => Int)
  batchMaxEvents: number;

  @Field(() => Int)
  batchMaxBytes: number;

  @Field(() => Int)
  batchMaxWaitMs: number;

  @Field(() => StreamingHeaderConnection)
  headers: StreamingHeaderConnection;

  @Field(() => NamespaceFilterType, { nullable: true })
  namespaceFilter: NamespaceFilterType | null;
}

@ObjectType('AuditEventStreamingHTTPNamespaceFilter')
export class NamespaceFilterType {
  @Field(() => ID)
  id: string;

  @Field(() => NamespaceType)
  namespace: NamespaceType;

  @Field(() => DestinationType)
  externalAuditEventDestination: DestinationType;
}

@ObjectType('ExternalAuditEventDestinationEdge')
export class DestinationEdge {
  @Field(() => DestinationType, { nullable: true })
  node: DestinationType;

  @Field()
  cursor: string;
}

@ObjectType('ExternalAuditEventDestinationConnection')
export class DestinationConnection {
  @Field(() => [DestinationType], { nullable: 'itemsAndList' })
  nodes: DestinationType[];

  @Field(() => [DestinationEdge], { nullable: 'itemsAndList' })
  edges: DestinationEdge[];

  @Field(() => PageInfo)
  pageInfo: PageInfo;
}
