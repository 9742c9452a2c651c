import { Inject, UseFilters } from '@nestjs/common';
import { Args, Context, ID, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { paginate } from '../common/connection';
import { GID_MODELS, toGlobalId } from '../common/global-id';
import { StreamingGraphqlErrorFilter } from '../common/graphql-errors';
import { GroupType } from '../common/group.type';
import { batchLoad, ConnectionArgsType, GqlContext, memo } from '../common/request-context';
import { AuditEventStreamingHost } from '../host/audit-event-streaming-host';
import { DestinationAccessPolicy } from './destination-access.policy';
import {
  DestinationConnection,
  DestinationType,
  NamespaceFilterType,
  NamespaceType,
  StreamingHeaderConnection,
  StreamingHeaderType,
} from './destination.types';
import { DestinationsService } from './destinations.service';
import { ExternalAuditEventDestination as Destination } from './external-audit-event-destination.entity';
import { StreamingHeader } from './streaming-header.entity';
import { StreamingNamespaceFilter } from './streaming-namespace-filter.entity';

/**
 * `Group.externalAuditEventDestinations`: null unless the caller may manage the group's
 * destinations (and the flag is on), exactly as if the feature did not exist.
 */
@Resolver(() => GroupType)
@UseFilters(StreamingGraphqlErrorFilter)
export class GroupDestinationsResolver {
  constructor(
    private readonly policy: DestinationAccessPolicy,
    private readonly destinations: DestinationsService,
  ) {}

  @ResolveField(() => DestinationConnection, { nullable: true })
  async externalAuditEventDestinations(
    @Parent() group: GroupType,
    @Args() args: ConnectionArgsType,
    @Context() ctx: GqlContext,
  ) {
    if (!(await this.policy.check(ctx.req, group.toHostGroup()))) return null;
    // Headers and filters come in the same query: a constant number of queries whatever the count.
    return paginate(await this.destinations.listForGroup(group.groupId), args);
  }
}

/** Fields of `ExternalAuditEventDestination`, read from the loaded entity (no query per field). */
@Resolver(() => DestinationType)
@UseFilters(StreamingGraphqlErrorFilter)
export class DestinationFieldsResolver {
  constructor(@Inject(AuditEventStreamingHost) private readonly host: AuditEventStreamingHost) {}

  @ResolveField(() => ID)
  id(@Parent() destination: Destination): string {
    return toGlobalId(GID_MODELS.destination, destination.id);
  }

  @ResolveField(() => GroupType)
  async group(@Parent() destination: Destination, @Context() ctx: GqlContext): Promise<GroupType> {
    const group = await memo(ctx, `group:${destination.groupId}`, () =>
      this.host.findGroupById(destination.groupId),
    );
    return GroupType.from(group!);
  }

  @ResolveField(() => [String])
  eventTypeFilters(@Parent() destination: Destination): string[] {
    return (destination.eventTypeFilters ?? []).map((f) => f.auditEventType).sort();
  }

  @ResolveField(() => StreamingHeaderConnection)
  headers(@Parent() destination: Destination, @Args() args: ConnectionArgsType) {
    return paginate(
      [...(destination.headers ?? [])].sort((a, b) => a.id - b.id),
      args,
    );
  }

  @ResolveField(() => NamespaceFilterType, { nullable: true })
  namespaceFilter(@Parent() destination: Destination): StreamingNamespaceFilter | null {
    return destination.namespaceFilter ?? null;
  }
}

@Resolver(() => StreamingHeaderType)
export class StreamingHeaderFieldsResolver {
  @ResolveField(() => ID)
  id(@Parent() header: StreamingHeader): string {
    return toGlobalId(GID_MODELS.header, header.id);
  }
}

@Resolver(() => NamespaceFilterType)
@UseFilters(StreamingGraphqlErrorFilter)
export class NamespaceFilterFieldsResolver {
  constructor(
    @Inject(AuditEventStreamingHost) private readonly host: AuditEventStreamingHost,
    private readonly destinations: DestinationsService,
  ) {}

  @ResolveField(() => ID)
  id(@Parent() filter: StreamingNamespaceFilter): string {
    return toGlobalId(GID_MODELS.namespaceFilter, filter.id);
  }

  @ResolveField(() => NamespaceType)
  async namespace(
    @Parent() filter: StreamingNamespaceFilter,
    @Context() ctx: GqlContext,
  ): Promise<NamespaceType> {
    if (filter.namespaceType === 'Group') {
      const g = (await batchLoad(ctx, 'group', filter.namespaceId, (ids) =>
        this.host.findGroupsByIds
          ? this.host.findGroupsByIds(ids)
          : each(ids, (id) => this.host.findGroupById(id)),
      ))!;
      return {
        id: toGlobalId(GID_MODELS.group, g.id),
        name: g.name,
        path: g.path,
        fullPath: g.fullPath,
        fullName: g.fullName,
      };
    }
    const p = (await batchLoad(ctx, 'project', filter.namespaceId, (ids) =>
      this.host.findProjectsByIds
        ? this.host.findProjectsByIds(ids)
        : each(ids, (id) => this.host.findProjectById(id)),
    ))!;
    return {
      id: toGlobalId(GID_MODELS.projectNamespace, p.id),
      name: p.name,
      path: p.path,
      fullPath: p.fullPath,
      fullName: p.fullPath,
    };
  }

  @ResolveField(() => DestinationType)
  async externalAuditEventDestination(
    @Parent() filter: StreamingNamespaceFilter,
  ): Promise<Destination> {
    return filter.destination ?? (await this.destinations.find(filter.destinationId))!;
  }
}

/** The fallback for hosts without batch lookups: one call per id, the misses dropped. */
async function each<T>(ids: number[], find: (id: number) => Promise<T | null>): Promise<T[]> {
  const rows = await Promise.all(ids.map(find));
  return rows.filter((row): row is Awaited<T> => row !== null);
}
