import { Args, Context, Field, ID, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { GroupType, toGlobalId, GID_MODELS } from '../../audit-event-streaming';
import type { AuthedRequest } from '../auth/request-user';
import { GroupsService } from '../groups/groups.service';

/** GitLab's `UserCore`, as far as this host needs it. */
@ObjectType('UserCore')
export class UserCoreType {
  @Field(() => ID)
  id: string;

  @Field()
  username: string;

  @Field()
  name: string;
}

/** The host's own GraphQL roots: `currentUser` and `group(fullPath:)` (GitLab's names). */
@Resolver()
export class HostResolver {
  constructor(private readonly groups: GroupsService) {}

  @Query(() => UserCoreType, { nullable: true })
  currentUser(@Context('req') req: AuthedRequest): UserCoreType | null {
    const user = req.user;
    return user
      ? { id: toGlobalId(GID_MODELS.user, user.id), username: user.username, name: user.name }
      : null;
  }

  @Query(() => GroupType, { nullable: true })
  async group(
    @Args('fullPath', { type: () => ID }) fullPath: string,
    @Context('req') req: AuthedRequest,
  ): Promise<GroupType | null> {
    const group = await this.groups.find({ fullPath });
    if (!group || !(await this.groups.canRead(req.user ?? null, group))) return null;
    return GroupType.from(group);
  }
}
