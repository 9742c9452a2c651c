import type { GroupMember } from '../groups/group-member.entity';
import type { Group } from '../groups/group.entity';
import type { Project } from '../projects/project.entity';
import type { User } from '../users/user.entity';

/** GitLab's REST v4 entity shapes (the subset this host serves). */
export function presentUser(base: string, user: User, full = false) {
  const basic = {
    id: user.id,
    username: user.username,
    name: user.name,
    state: user.state,
    locked: false,
    avatar_url: null,
    web_url: `${base}/${user.username}`,
  };
  if (!full) return basic;
  return {
    ...basic,
    created_at: user.createdAt.toISOString(),
    email: user.email,
    is_admin: user.isAdmin,
  };
}

export function presentGroup(base: string, group: Group) {
  return {
    id: group.id,
    web_url: `${base}/groups/${group.fullPath}`,
    name: group.name,
    path: group.path,
    description: group.description,
    visibility: group.visibility,
    full_name: group.fullName,
    full_path: group.fullPath,
    parent_id: group.parentId,
    created_at: group.createdAt.toISOString(),
  };
}

export function presentMember(base: string, user: User, member: GroupMember) {
  return {
    ...presentUser(base, user),
    access_level: member.accessLevel,
    created_at: member.createdAt.toISOString(),
    expires_at: member.expiresAt,
  };
}

export function presentProject(base: string, project: Project, namespace: Group | User) {
  const isGroup = 'fullPath' in namespace;
  const ns = isGroup
    ? {
        id: namespace.id,
        name: namespace.name,
        path: namespace.path,
        kind: 'group',
        full_path: namespace.fullPath,
        parent_id: namespace.parentId,
        web_url: `${base}/groups/${namespace.fullPath}`,
      }
    : {
        id: namespace.id,
        name: namespace.name,
        path: namespace.username,
        kind: 'user',
        full_path: namespace.username,
        parent_id: null,
        web_url: `${base}/${namespace.username}`,
      };
  const nsName = isGroup ? namespace.fullName : namespace.name;
  return {
    id: project.id,
    description: project.description,
    name: project.name,
    name_with_namespace: `${nsName} / ${project.name}`,
    path: project.path,
    path_with_namespace: project.fullPath,
    created_at: project.createdAt.toISOString(),
    default_branch: 'main',
    visibility: project.visibility,
    web_url: `${base}/${project.fullPath}`,
    namespace: ns,
    creator_id: project.creatorId,
  };
}
