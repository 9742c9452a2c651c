/**
 * The host port: everything the plugin needs to know about the host's users, groups and
 * projects. A host implements this interface and hands the instance to
 * `AuditEventStreamingModule.forRoot({ host })`; the plugin injects it with the same-named token.
 */
export interface HostUser {
  id: number;
  username: string;
  name: string;
  /** Instance administrators may manage every group's destinations. */
  isAdmin: boolean;
}

export interface HostGroup {
  id: number;
  name: string;
  path: string;
  /** `parent/child`, unique across the instance. */
  fullPath: string;
  /** `Parent / Child`. */
  fullName: string;
  parentId: number | null;
}

export interface HostProject {
  id: number;
  name: string;
  path: string;
  /** `group/sub/project` or `username/project`. */
  fullPath: string;
  /** The group the project lives in; null for a project in a user's personal namespace. */
  groupId: number | null;
}

/** GitLab's access levels. Ownership of an ancestor counts on every descendant. */
export enum AccessLevel {
  NoAccess = 0,
  Guest = 10,
  Reporter = 20,
  Developer = 30,
  Maintainer = 40,
  Owner = 50,
}

export interface AuditEventStreamingHost {
  /** Who is calling: the authenticated user of this HTTP request (express or GraphQL context req), or null. */
  currentUser(request: unknown): Promise<HostUser | null>;
  findGroupById(id: number): Promise<HostGroup | null>;
  findGroupByFullPath(fullPath: string): Promise<HostGroup | null>;
  /** The top-level ancestor of a group (the group itself when it has no parent). */
  findRootGroup(groupId: number): Promise<HostGroup | null>;
  findProjectById(id: number): Promise<HostProject | null>;
  /** Optional batch lookups; without them a list costs one `findGroupById`/`findProjectById` per row. */
  findGroupsByIds?(ids: number[]): Promise<HostGroup[]>;
  findProjectsByIds?(ids: number[]): Promise<HostProject[]>;
  findProjectByFullPath(fullPath: string): Promise<HostProject | null>;
  /** The user's effective access level on the group: the highest of its own and its ancestors' memberships. */
  accessLevel(userId: number, groupId: number): Promise<AccessLevel>;
}

/** Injection token for the host port (same name as the interface, as `@nestjs/*` ports do). */
export const AuditEventStreamingHost = Symbol('AuditEventStreamingHost');
