import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { GitlabError } from '../common/gitlab-errors';
import type { User } from '../users/user.entity';

export type AuthedRequest = Request & { user?: User | null };

/** Who is acting, and from where: what every audit event records. */
export interface Actor {
  user: User;
  ip: string | null;
}

function ipOf(req: Request): string | null {
  return (req.ip ?? req.socket?.remoteAddress ?? null)?.replace(/^::ffff:/, '') ?? null;
}

/** The authenticated caller; 401 when there is none. */
export const CurrentActor = createParamDecorator((_: unknown, ctx: ExecutionContext): Actor => {
  const req = ctx.switchToHttp().getRequest<AuthedRequest>();
  if (!req.user) throw GitlabError.unauthorized();
  return { user: req.user, ip: ipOf(req) };
});

/** The caller, or null for an anonymous request. */
export const OptionalUser = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): User | null =>
    ctx.switchToHttp().getRequest<AuthedRequest>().user ?? null,
);
