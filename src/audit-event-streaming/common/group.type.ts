import { Field, ID, ObjectType } from '@nestjs/graphql';
import { GID_MODELS, toGlobalId } from './global-id';
import { HostGroup } from '../host/audit-event-streaming-host';

/**
 * GitLab's `Group` GraphQL type, as far as streaming needs it. Hosts return it from their
 * `group(fullPath:)` query (see `GroupType.from`) and may add fields with their own resolvers.
 */
@ObjectType('Group')
export class GroupType {
  @Field(() => ID)
  id: string;

  /** The numeric id and parent, for resolvers (not GraphQL fields). */
  groupId: number;
  parentId: number | null;

  @Field()
  name: string;

  @Field()
  path: string;

  @Field(() => ID)
  fullPath: string;

  @Field()
  fullName: string;

  toHostGroup(): HostGroup {
    const { groupId: id, name, path, fullPath, fullName, parentId } = this;
    return { id, name, path, fullPath, fullName, parentId };
  }

  static from(group: HostGroup): GroupType {
    return Object.assign(new GroupType(), {
      id: toGlobalId(GID_MODELS.group, group.id),
      groupId: group.id,
      parentId: group.parentId,
      name: group.name,
      path: group.path,
      fullPath: group.fullPath,
      fullName: group.fullName,
    });
  }
}
