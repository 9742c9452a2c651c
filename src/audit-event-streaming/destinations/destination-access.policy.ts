import { Inject, Injectable } from '@nestjs/common';
import { ResourceNotAvailableError } from '../common/errors';
import { FeatureFlagService } from '../feature-flags/feature-flag.service';
import {
  AccessLevel,
  AuditEventStreamingHost,
  HostGroup,
  HostUser,
} from '../host/audit-event-streaming-host';

export interface GroupAccess {
  user: HostUser;
  group: HostGroup;
  root: HostGroup;
}

/**
 * Who may manage a group's streaming destinations: Owners of the group (ownership inherited from
 * an ancestor counts) and instance administrators, and only while the root group's flag is on.
 * Everyone else, and every group that does not exist, gets the same access error: no hints.
 */
@Injectable()
export class DestinationAccessPolicy {
  constructor(
    @Inject(AuditEventStreamingHost) private readonly host: AuditEventStreamingHost,
    private readonly flags: FeatureFlagService,
  ) {}

  /** The root group of a group (itself when top-level). */
  async rootOf(group: HostGroup): Promise<HostGroup | null> {
    return group.parentId == null ? group : this.host.findRootGroup(group.id);
  }

  /** Access to manage this group's destinations, or `null`. */
  async check(request: unknown, group: HostGroup | null): Promise<GroupAccess | null> {
    if (!group) return null;
    const user = await this.host.currentUser(request);
    if (!user) return null;
    const root = await this.rootOf(group);
    if (!root || !this.flags.isEnabled(root)) return null;
    if (!user.isAdmin && (await this.host.accessLevel(user.id, group.id)) < AccessLevel.Owner)
      return null;
    return { user, group, root };
  }

  /** As `check`, but throws the access error instead of returning null. */
  async authorize(request: unknown, group: HostGroup | null): Promise<GroupAccess> {
    const access = await this.check(request, group);
    if (!access) throw new ResourceNotAvailableError();
    return access;
  }

  async authorizeGroupId(request: unknown, groupId: number): Promise<GroupAccess> {
    return this.authorize(request, await this.host.findGroupById(groupId));
  }
}
