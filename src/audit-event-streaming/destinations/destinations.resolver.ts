import { Inject, UseFilters } from '@nestjs/common';
import { Args, Context, Mutation, Resolver } from '@nestjs/graphql';
import { ResourceNotAvailableError } from '../common/errors';
import { mutationPayload, StreamingGraphqlErrorFilter } from '../common/graphql-errors';
import { GqlContext, requestIp } from '../common/request-context';
import { AuditEventStreamingHost } from '../host/audit-event-streaming-host';
import { DestinationAccessPolicy, GroupAccess } from './destination-access.policy';
import {
  DestinationCreateInput,
  DestinationCreatePayload,
  DestinationDestroyInput,
  DestinationDestroyPayload,
  DestinationSigningSecretRotateInput,
  DestinationSigningSecretRotatePayload,
  DestinationUpdateInput,
  DestinationUpdatePayload,
  EventTypeFiltersAddInput,
  EventTypeFiltersAddPayload,
  EventTypeFiltersRemoveInput,
  EventTypeFiltersRemovePayload,
  HeaderCreateInput,
  HeaderCreatePayload,
  HeaderDestroyInput,
  HeaderDestroyPayload,
  HeaderUpdateInput,
  HeaderUpdatePayload,
  NamespaceFilterAddInput,
  NamespaceFilterAddPayload,
  NamespaceFilterDeleteInput,
  NamespaceFilterDeletePayload,
} from './destination.inputs';
import { Actor, DestinationsService } from './destinations.service';
import { ExternalAuditEventDestination } from './external-audit-event-destination.entity';

type Authorized = { access: GroupAccess; actor: Actor; destination: ExternalAuditEventDestination };

/**
 * GitLab's ten streaming mutations. Authorization first (access errors are top-level GraphQL
 * errors, `data.<mutation>` null); validation failures come back in the payload's `errors`.
 */
@Resolver()
@UseFilters(StreamingGraphqlErrorFilter)
export class DestinationsResolver {
  constructor(
    @Inject(AuditEventStreamingHost) private readonly host: AuditEventStreamingHost,
    private readonly policy: DestinationAccessPolicy,
    private readonly destinations: DestinationsService,
  ) {}

  @Mutation(() => DestinationCreatePayload, {
    name: 'externalAuditEventDestinationCreate',
    nullable: true,
  })
  async create(@Args('input') input: DestinationCreateInput, @Context() ctx: GqlContext) {
    const access = await this.policy.authorize(
      ctx.req,
      await this.host.findGroupByFullPath(input.groupPath),
    );
    return mutationPayload(input, { externalAuditEventDestination: null }, async () => ({
      externalAuditEventDestination: await this.destinations.create(
        access,
        this.actor(ctx, access),
        input,
      ),
    }));
  }

  @Mutation(() => DestinationUpdatePayload, {
    name: 'externalAuditEventDestinationUpdate',
    nullable: true,
  })
  async update(@Args('input') input: DestinationUpdateInput, @Context() ctx: GqlContext) {
    const { access, actor, destination } = await this.authorizeDestination(ctx, input.id);
    const changes: Record<string, unknown> = {};
    const keys = [
      'destinationUrl',
      'name',
      'active',
      'batchFormat',
      'batchMaxEvents',
      'batchMaxBytes',
      'batchMaxWaitMs',
    ] as const;
    for (const key of keys) if (key in input) changes[key] = input[key];
    return mutationPayload(input, { externalAuditEventDestination: null }, async () => ({
      externalAuditEventDestination: await this.destinations.update(
        access,
        actor,
        destination,
        changes,
      ),
    }));
  }

  @Mutation(() => DestinationDestroyPayload, {
    name: 'externalAuditEventDestinationDestroy',
    nullable: true,
  })
  async destroy(@Args('input') input: DestinationDestroyInput, @Context() ctx: GqlContext) {
    const { access, actor, destination } = await this.authorizeDestination(ctx, input.id);
    return mutationPayload(input, {}, async () => {
      await this.destinations.destroy(access, actor, destination);
      return {};
    });
  }

  @Mutation(() => DestinationSigningSecretRotatePayload, {
    name: 'externalAuditEventDestinationSigningSecretRotate',
    nullable: true,
    description:
      'Replaces the signing secret; the old one keeps signing too for the overlap period. Not in GitLab.',
  })
  async rotateSigningSecret(
    @Args('input') input: DestinationSigningSecretRotateInput,
    @Context() ctx: GqlContext,
  ) {
    const { access, actor, destination } = await this.authorizeDestination(ctx, input.id);
    return mutationPayload(input, { externalAuditEventDestination: null }, async () => ({
      externalAuditEventDestination: await this.destinations.rotateSigningSecret(
        access,
        actor,
        destination,
      ),
    }));
  }

  @Mutation(() => HeaderCreatePayload, {
    name: 'auditEventsStreamingHeadersCreate',
    nullable: true,
  })
  async createHeader(@Args('input') input: HeaderCreateInput, @Context() ctx: GqlContext) {
    const { access, actor, destination } = await this.authorizeDestination(
      ctx,
      input.destinationId,
    );
    return mutationPayload(input, { header: null }, async () => ({
      header: await this.destinations.createHeader(access, actor, destination, input),
    }));
  }

  @Mutation(() => HeaderUpdatePayload, {
    name: 'auditEventsStreamingHeadersUpdate',
    nullable: true,
  })
  async updateHeader(@Args('input') input: HeaderUpdateInput, @Context() ctx: GqlContext) {
    const header = await this.destinations.findHeader(input.headerId);
    const { access, actor, destination } = await this.authorizeDestination(
      ctx,
      header?.destinationId,
    );
    const changes: Record<string, unknown> = {};
    for (const key of ['key', 'value', 'active'] as const)
      if (key in input) changes[key] = input[key];
    return mutationPayload(input, { header: null }, async () => ({
      header: await this.destinations.updateHeader(access, actor, destination, header!, changes),
    }));
  }

  @Mutation(() => HeaderDestroyPayload, {
    name: 'auditEventsStreamingHeadersDestroy',
    nullable: true,
  })
  async destroyHeader(@Args('input') input: HeaderDestroyInput, @Context() ctx: GqlContext) {
    const header = await this.destinations.findHeader(input.headerId);
    const { access, actor, destination } = await this.authorizeDestination(
      ctx,
      header?.destinationId,
    );
    return mutationPayload(input, {}, async () => {
      await this.destinations.destroyHeader(access, actor, destination, header!);
      return {};
    });
  }

  @Mutation(() => EventTypeFiltersAddPayload, {
    name: 'auditEventsStreamingDestinationEventsAdd',
    nullable: true,
  })
  async addEventTypeFilters(
    @Args('input') input: EventTypeFiltersAddInput,
    @Context() ctx: GqlContext,
  ) {
    const { access, actor, destination } = await this.authorizeDestination(
      ctx,
      input.destinationId,
    );
    return mutationPayload(input, { eventTypeFilters: null }, async () => ({
      eventTypeFilters: await this.destinations.addEventTypeFilters(
        access,
        actor,
        destination,
        input.eventTypeFilters,
      ),
    }));
  }

  @Mutation(() => EventTypeFiltersRemovePayload, {
    name: 'auditEventsStreamingDestinationEventsRemove',
    nullable: true,
  })
  async removeEventTypeFilters(
    @Args('input') input: EventTypeFiltersRemoveInput,
    @Context() ctx: GqlContext,
  ) {
    const { access, actor, destination } = await this.authorizeDestination(
      ctx,
      input.destinationId,
    );
    return mutationPayload(input, {}, async () => {
      await this.destinations.removeEventTypeFilters(
        access,
        actor,
        destination,
        input.eventTypeFilters,
      );
      return {};
    });
  }

  @Mutation(() => NamespaceFilterAddPayload, {
    name: 'auditEventsStreamingHttpNamespaceFiltersAdd',
    nullable: true,
  })
  async addNamespaceFilter(
    @Args('input') input: NamespaceFilterAddInput,
    @Context() ctx: GqlContext,
  ) {
    const { access, actor, destination } = await this.authorizeDestination(
      ctx,
      input.destinationId,
    );
    return mutationPayload(input, { namespaceFilter: null }, async () => ({
      namespaceFilter: await this.destinations.addNamespaceFilter(
        access,
        actor,
        destination,
        input,
      ),
    }));
  }

  @Mutation(() => NamespaceFilterDeletePayload, {
    name: 'auditEventsStreamingHttpNamespaceFiltersDelete',
    nullable: true,
  })
  async deleteNamespaceFilter(
    @Args('input') input: NamespaceFilterDeleteInput,
    @Context() ctx: GqlContext,
  ) {
    const filter = await this.destinations.findNamespaceFilter(input.namespaceFilterId);
    const { access, actor, destination } = await this.authorizeDestination(
      ctx,
      filter?.destinationId,
    );
    return mutationPayload(input, {}, async () => {
      await this.destinations.deleteNamespaceFilter(access, actor, destination, filter!);
      return {};
    });
  }

  /** The destination (or the one a header or filter belongs to), if the caller may manage it. */
  private async authorizeDestination(ctx: GqlContext, id: number | undefined): Promise<Authorized> {
    const destination = id === undefined ? null : await this.destinations.find(id);
    if (!destination) throw new ResourceNotAvailableError();
    const access = await this.policy.authorizeGroupId(ctx.req, destination.groupId);
    return { access, actor: this.actor(ctx, access), destination };
  }

  private actor(ctx: GqlContext, access: GroupAccess): Actor {
    return { user: access.user, ip: requestIp(ctx.req) };
  }

  /** GitLab's payload: `errors` empty on success; on a validation failure, the messages and `empty`. */
}
