import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import type {
  AccessLevel,
  AuditEventStreamingHost,
  HostGroup,
  HostProject,
  HostUser,
} from '../audit-event-streaming';
import type { AuthedRequest } from './auth/request-user';
import { Group } from './groups/group.entity';
import { GroupAccess } from './groups/group-access.service';
import { Project } from './projects/project.entity';
import type { User } from './users/user.entity';
import { fullPathIs } from './common/full-path';

function toHostGroup(g: Group): HostGroup {
  return {
    id: g.id,
    name: g.name,
    path: g.path,
    fullPath: g.fullPath,
    fullName: g.fullName,
    parentId: g.parentId,
  };
}

function toHostProject(p: Project): HostProject {
  return { id: p.id, name: p.name, path: p.path, fullPath: p.fullPath, groupId: p.groupId };
}

/** The reference host's side of the plugin's host port. */
@Injectable()
export class ReferenceHostAdapter implements AuditEventStreamingHost {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly access: GroupAccess,
  ) {}

  async currentUser(request: unknown): Promise<HostUser | null> {
    const user: User | null | undefined = (request as AuthedRequest | undefined)?.user;
    return user
      ? { id: user.id, username: user.username, name: user.name, isAdmin: user.isAdmin }
      : null;
  }

  async findGroupById(id: number): Promise<HostGroup | null> {
    const g = await this.db.getRepository(Group).findOneBy({ id });
    return g && toHostGroup(g);
  }

  async findGroupsByIds(ids: number[]): Promise<HostGroup[]> {
    const groups = await this.db.getRepository(Group).findBy({ id: In(ids) });
    return groups.map(toHostGroup);
  }

  async findProjectsByIds(ids: number[]): Promise<HostProject[]> {
    const projects = await this.db.getRepository(Project).findBy({ id: In(ids) });
    return projects.map(toHostProject);
  }

  async findGroupByFullPath(fullPath: string): Promise<HostGroup | null> {
    const g = await this.db.getRepository(Group).findOneBy({ fullPath: fullPathIs(fullPath) });
    return g && toHostGroup(g);
  }

  async findRootGroup(groupId: number): Promise<HostGroup | null> {
    const g = await this.db.getRepository(Group).findOneBy({ id: groupId });
    if (!g) return null;
    return g.parentId ? this.findGroupByFullPath(g.fullPath.split('/')[0]) : toHostGroup(g);
  }

  async findProjectById(id: number): Promise<HostProject | null> {
    const p = await this.db.getRepository(Project).findOneBy({ id });
    return p && toHostProject(p);
  }

  async findProjectByFullPath(fullPath: string): Promise<HostProject | null> {
    const p = await this.db.getRepository(Project).findOneBy({ fullPath: fullPathIs(fullPath) });
    return p && toHostProject(p);
  }

  async accessLevel(userId: number, groupId: number): Promise<AccessLevel> {
    const g = await this.db.getRepository(Group).findOneBy({ id: groupId });
    return g ? this.access.accessLevel(userId, g) : (0 as AccessLevel);
  }
}
