import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Brackets, DataSource, In } from 'typeorm';
import { AccessLevel, AuditEventsService } from '../../audit-event-streaming';
import { authored } from '../audit/host-audit-events';
import type { Actor } from '../auth/request-user';
import { GitlabError } from '../common/gitlab-errors';
import type { Page } from '../common/pagination';
import { oneOf } from '../common/params';
import { User } from '../users/user.entity';
import { GroupAccess } from './group-access.service';
import { GroupMember } from './group-member.entity';
import { Group, Visibility } from './group.entity';
import { fullPathIs } from '../common/full-path';

export const ACCESS_LEVELS = [10, 20, 30, 40, 50] as const;
export const VISIBILITIES = ['private', 'internal', 'public'] as const;
const PATH = /^[a-zA-Z0-9_.][a-zA-Z0-9_.-]*$/;

/** GitLab's member audit events name levels (`as: "Developer"`), as `Gitlab::Access` does. */
function accessLevelName(level: number): string {
  return AccessLevel[level] ?? String(level);
}

@Injectable()
export class GroupsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditEventsService,
    private readonly access: GroupAccess,
  ) {}

  accessLevel(userId: number, group: Pick<Group, 'fullPath'>): Promise<AccessLevel> {
    return this.access.accessLevel(userId, group);
  }

  canRead(user: User | null, group: Group): Promise<boolean> {
    return this.access.canRead(user, group);
  }

  effectiveAccess(user: User, group: Group): Promise<AccessLevel> {
    return this.access.effectiveAccess(user, group);
  }

  /** A group the caller can see, or GitLab's 404. */
  async findReadable(
    user: User | null,
    ref: { id: number } | { fullPath: string },
  ): Promise<Group> {
    const group = await this.find(ref);
    if (!group || !(await this.canRead(user, group))) throw GitlabError.notFound('Group');
    return group;
  }

  private get groups() {
    return this.db.getRepository(Group);
  }

  private get members() {
    return this.db.getRepository(GroupMember);
  }

  find(ref: { id: number } | { fullPath: string }): Promise<Group | null> {
    return 'id' in ref
      ? this.groups.findOneBy({ id: ref.id })
      : this.groups.findOneBy({ fullPath: fullPathIs(ref.fullPath) });
  }

  async list(user: User | null, page: Page, parentId?: number): Promise<[Group[], number]> {
    const qb = this.groups
      .createQueryBuilder('g')
      .orderBy('g.full_path', 'ASC')
      .skip(page.offset)
      .take(page.perPage);
    if (parentId !== undefined) qb.where('g.parent_id = :parentId', { parentId });
    if (!user?.isAdmin) {
      const memberPaths = user
        ? (
            await this.members
              .createQueryBuilder('m')
              .innerJoin(Group, 'mg', 'mg.id = m.group_id')
              .select('mg.full_path', 'path')
              .where('m.user_id = :uid', { uid: user.id })
              .getRawMany<{ path: string }>()
          ).map((r) => r.path)
        : [];
      qb.andWhere(
        new Brackets((w) => {
          w.where('g.visibility IN (:...vis)', { vis: user ? ['public', 'internal'] : ['public'] });
          memberPaths.forEach((path, i) => {
            // An explicit ESCAPE: SQLite's LIKE has no default escape character.
            w.orWhere(`(g.full_path = :p${i} OR g.full_path LIKE :l${i} ESCAPE '\\')`, {
              [`p${i}`]: path,
              [`l${i}`]: `${path.replace(/[%_]/g, '\\$&')}/%`,
            });
          });
        }),
      );
    }
    return qb.getManyAndCount();
  }

  async create(actor: Actor, body: Record<string, unknown>): Promise<Group> {
    const name = String(body.name).trim();
    const path = String(body.path).trim();
    if (!PATH.test(path) || /\.(git|atom)$/.test(path)) {
      throw GitlabError.invalid({ path: ['can contain only letters, digits, _, -, and .'] });
    }
    const visibility: Visibility =
      body.visibility === undefined
        ? 'private'
        : oneOf(body.visibility, 'visibility', VISIBILITIES);
    let parent: Group | null = null;
    if (body.parent_id !== undefined && body.parent_id !== null && body.parent_id !== '') {
      parent = await this.find({ id: Number(body.parent_id) });
      if (!parent || !(await this.canRead(actor.user, parent)))
        throw GitlabError.notFound('Parent Group');
      // GitLab's default subgroup creation level: Maintainers and Owners.
      if ((await this.effectiveAccess(actor.user, parent)) < AccessLevel.Maintainer)
        throw GitlabError.forbidden();
    }
    const fullPath = parent ? `${parent.fullPath}/${path}` : path;
    if (await this.groups.findOneBy({ fullPath: fullPathIs(fullPath) }))
      throw GitlabError.invalid({ path: ['has already been taken'] });
    return this.db.transaction(async (manager) => {
      const group = await manager.getRepository(Group).save({
        name,
        path,
        fullPath,
        fullName: parent ? `${parent.fullName} / ${name}` : name,
        parentId: parent?.id ?? null,
        visibility,
        description: body.description ? String(body.description) : '',
        createdAt: new Date(),
      });
      // The creator becomes the group's owner.
      await manager.getRepository(GroupMember).save({
        groupId: group.id,
        userId: actor.user.id,
        accessLevel: AccessLevel.Owner,
        expiresAt: null,
        createdAt: new Date(),
      });
      await this.audit.record(
        {
          ...authored(actor),
          eventType: 'group_created',
          entity: { type: 'Group', id: group.id, path: group.fullPath },
          target: { type: 'Group', id: group.id, details: group.fullPath },
          message: 'Added group',
        },
        { manager },
      );
      return group;
    });
  }

  async listMembers(
    group: Group,
    page: Page,
  ): Promise<[{ member: GroupMember; user: User }[], number]> {
    const [members, total] = await this.members.findAndCount({
      where: { groupId: group.id },
      order: { id: 'ASC' },
      skip: page.offset,
      take: page.perPage,
    });
    const users = await this.db
      .getRepository(User)
      .findBy({ id: In(members.map((m) => m.userId)) });
    const byId = new Map(users.map((u) => [u.id, u]));
    return [members.map((member) => ({ member, user: byId.get(member.userId)! })), total];
  }

  /**
   * Managing members: Owners manage anyone; Maintainers manage members up to Maintainer.
   * Returns the level the caller holds, for the caller to compare against.
   */
  private async assertCanManage(actor: Actor, group: Group, level: number): Promise<void> {
    const mine = await this.effectiveAccess(actor.user, group);
    if (
      mine < AccessLevel.Maintainer ||
      (level > AccessLevel.Maintainer && mine < AccessLevel.Owner)
    ) {
      throw GitlabError.forbidden();
    }
  }

  async addMember(actor: Actor, group: Group, body: Record<string, unknown>) {
    const accessLevel = oneOf(Number(body.access_level), 'access_level', ACCESS_LEVELS);
    await this.assertCanManage(actor, group, accessLevel);
    const user = await this.db.getRepository(User).findOneBy({ id: Number(body.user_id) });
    if (!user) throw GitlabError.notFound('User');
    if (await this.members.findOneBy({ groupId: group.id, userId: user.id })) {
      throw GitlabError.conflict('Member already exists');
    }
    const expiresAt = body.expires_at ? String(body.expires_at) : null;
    const member = await this.db.transaction(async (manager) => {
      const saved = await manager.getRepository(GroupMember).save({
        groupId: group.id,
        userId: user.id,
        accessLevel,
        expiresAt,
        createdAt: new Date(),
      });
      await this.recordMemberEvent(
        actor,
        group,
        user,
        'member_created',
        { add: 'user_access', as: accessLevelName(accessLevel) },
        manager,
      );
      return saved;
    });
    return { member, user };
  }

  async updateMember(actor: Actor, group: Group, userId: number, body: Record<string, unknown>) {
    const accessLevel = oneOf(Number(body.access_level), 'access_level', ACCESS_LEVELS);
    const member = await this.members.findOneBy({ groupId: group.id, userId });
    if (!member) throw GitlabError.notFound('Member');
    await this.assertCanManage(actor, group, Math.max(accessLevel, member.accessLevel));
    const user = (await this.db.getRepository(User).findOneBy({ id: userId }))!;
    const from = member.accessLevel;
    await this.db.transaction(async (manager) => {
      member.accessLevel = accessLevel;
      if (body.expires_at !== undefined)
        member.expiresAt = body.expires_at ? String(body.expires_at) : null;
      await manager.getRepository(GroupMember).save(member);
      await this.recordMemberEvent(
        actor,
        group,
        user,
        'member_updated',
        { change: 'access_level', from: accessLevelName(from), to: accessLevelName(accessLevel) },
        manager,
      );
    });
    return { member, user };
  }

  async removeMember(actor: Actor, group: Group, userId: number): Promise<void> {
    const member = await this.members.findOneBy({ groupId: group.id, userId });
    if (!member) throw GitlabError.notFound('Member');
    await this.assertCanManage(actor, group, member.accessLevel);
    if (member.accessLevel === AccessLevel.Owner) {
      const owners = await this.members.countBy({
        groupId: group.id,
        accessLevel: AccessLevel.Owner,
      });
      if (owners <= 1 && !group.parentId) throw GitlabError.forbidden();
    }
    const user = (await this.db.getRepository(User).findOneBy({ id: userId }))!;
    await this.db.transaction(async (manager) => {
      await manager.getRepository(GroupMember).delete({ id: member.id });
      await this.recordMemberEvent(
        actor,
        group,
        user,
        'member_destroyed',
        { remove: 'user_access' },
        manager,
      );
    });
  }

  private recordMemberEvent(
    actor: Actor,
    group: Group,
    user: User,
    eventType: 'member_created' | 'member_updated' | 'member_destroyed',
    details: Record<string, unknown>,
    manager: DataSource['manager'],
  ) {
    return this.audit.record(
      {
        ...authored(actor),
        eventType,
        entity: { type: 'Group', id: group.id, path: group.fullPath },
        // GitLab names the member by display name in its member events.
        target: { type: 'User', id: user.id, details: user.name },
        details,
      },
      { manager },
    );
  }
}
