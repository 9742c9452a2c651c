import type { Actor } from '../auth/request-user';

/** The reference host's audit event types (GitLab's event names), declared to the plugin. */
export const HOST_AUDIT_EVENT_TYPES = [
  'user_created',
  'personal_access_token_created',
  'group_created',
  'project_created',
  'member_created',
  'member_updated',
  'member_destroyed',
] as const;

/** The author and IP part of every event the host records. */
export function authored(actor: Actor) {
  return {
    author: { id: actor.user.id, name: actor.user.name, class: 'User' },
    ipAddress: actor.ip,
  };
}
