import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AccessLevel } from '../../audit-event-streaming';
import type { User } from '../users/user.entity';
import { GroupMember } from './group-member.entity';
import { Group } from './group.entity';

/** `a/b/c` -> `['a', 'a/b', 'a/b/c']`: the full paths of a namespace and its ancestors. */
export function selfAndAncestorPaths(fullPath: string): string[] {
  const parts = fullPath.split('/');
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** Who may do what on a group: memberships, inherited from ancestors. */
@Injectable()
export class GroupAccess {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  private get members() {
    return this.db.getRepository(GroupMember);
  }

  /** The highest access the user has on the group or any ancestor (ownership is inherited). */
  async accessLevel(userId: number, group: Pick<Group, 'fullPath'>): Promise<AccessLevel> {
    const row = await this.members
      .createQueryBuilder('m')
      .innerJoin(Group, 'g', 'g.id = m.group_id')
      .select('MAX(m.access_level)', 'level')
      .where('m.user_id = :userId', { userId })
      .andWhere('g.full_path IN (:...paths)', { paths: selfAndAncestorPaths(group.fullPath) })
      .getRawOne<{ level: number | null }>();
    return Number(row?.level ?? 0) as AccessLevel;
  }

  async canRead(user: User | null, group: Group): Promise<boolean> {
    if (group.visibility === 'public') return true;
    if (!user) return false;
    if (user.isAdmin || group.visibility === 'internal') return true;
    return (await this.accessLevel(user.id, group)) >= AccessLevel.Guest;
  }

  /** The caller's access, treating administrators as owners. */
  async effectiveAccess(user: User, group: Group): Promise<AccessLevel> {
    return user.isAdmin ? AccessLevel.Owner : this.accessLevel(user.id, group);
  }
}
