import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AccessLevel, AuditEventsService } from '../../audit-event-streaming';
import { authored } from '../audit/host-audit-events';
import type { Actor } from '../auth/request-user';
import { GitlabError } from '../common/gitlab-errors';
import { oneOf } from '../common/params';
import { Group } from '../groups/group.entity';
import { GroupsService, VISIBILITIES } from '../groups/groups.service';
import { User } from '../users/user.entity';
import { Project } from './project.entity';
import { fullPathIs } from '../common/full-path';

const PATH = /^[a-zA-Z0-9_.][a-zA-Z0-9_.-]*$/;

@Injectable()
export class ProjectsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly groups: GroupsService,
    private readonly audit: AuditEventsService,
  ) {}

  find(ref: { id: number } | { fullPath: string }): Promise<Project | null> {
    const repo = this.db.getRepository(Project);
    return 'id' in ref
      ? repo.findOneBy({ id: ref.id })
      : repo.findOneBy({ fullPath: fullPathIs(ref.fullPath) });
  }

  async namespaceOf(project: Project): Promise<Group | User> {
    return project.groupId
      ? (await this.db.getRepository(Group).findOneBy({ id: project.groupId }))!
      : (await this.db.getRepository(User).findOneBy({ id: project.ownerId! }))!;
  }

  /** Access on a project: its group's (inherited) access; the owner of a personal project is its owner. */
  async accessLevel(user: User, project: Project): Promise<AccessLevel> {
    if (user.isAdmin) return AccessLevel.Owner;
    if (!project.groupId)
      return project.ownerId === user.id ? AccessLevel.Owner : AccessLevel.NoAccess;
    const group = (await this.db.getRepository(Group).findOneBy({ id: project.groupId }))!;
    return this.groups.accessLevel(user.id, group);
  }

  async findReadable(
    user: User | null,
    ref: { id: number } | { fullPath: string },
  ): Promise<Project> {
    const project = await this.find(ref);
    const visible =
      project &&
      (project.visibility === 'public' ||
        (user &&
          (project.visibility === 'internal' ||
            (await this.accessLevel(user, project)) >= AccessLevel.Guest)));
    if (!project || !visible) throw GitlabError.notFound('Project');
    return project;
  }

  async create(actor: Actor, body: Record<string, unknown>): Promise<Project> {
    const name = String(body.name ?? body.path).trim();
    const path = String(body.path ?? name.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-')).trim();
    if (!PATH.test(path) || /\.(git|atom)$/.test(path)) {
      throw GitlabError.invalid({ path: ['can contain only letters, digits, _, -, and .'] });
    }
    const visibility =
      body.visibility === undefined
        ? 'private'
        : oneOf(body.visibility, 'visibility', VISIBILITIES);
    let group: Group | null = null;
    if (body.namespace_id !== undefined && body.namespace_id !== null && body.namespace_id !== '') {
      group = await this.groups.find({ id: Number(body.namespace_id) });
      if (!group || !(await this.groups.canRead(actor.user, group)))
        throw GitlabError.notFound('Namespace');
      // GitLab's default project creation level: Developers and above.
      if ((await this.groups.effectiveAccess(actor.user, group)) < AccessLevel.Developer)
        throw GitlabError.forbidden();
    }
    const fullPath = `${group ? group.fullPath : actor.user.username}/${path}`;
    if (await this.find({ fullPath }))
      throw GitlabError.invalid({ path: ['has already been taken'] });
    return this.db.transaction(async (manager) => {
      const project = await manager.getRepository(Project).save({
        name,
        path,
        fullPath,
        groupId: group?.id ?? null,
        ownerId: group ? null : actor.user.id,
        creatorId: actor.user.id,
        visibility,
        description: body.description ? String(body.description) : '',
        createdAt: new Date(),
      });
      await this.audit.record(
        {
          ...authored(actor),
          eventType: 'project_created',
          entity: { type: 'Project', id: project.id, path: project.fullPath },
          target: { type: 'Project', id: project.id, details: project.fullPath },
          message: 'Added project',
        },
        { manager },
      );
      return project;
    });
  }
}
