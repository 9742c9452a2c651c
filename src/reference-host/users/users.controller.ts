import { Body, Controller, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import type { Request } from 'express';
import { Actor, CurrentActor } from '../auth/request-user';
import { baseUrl } from '../common/base-url';
import { GitlabError } from '../common/gitlab-errors';
import { intParam, requireParams } from '../common/params';
import { presentUser } from '../common/presenters';
import { UsersService } from './users.service';

@Controller('api/v4')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get('user')
  currentUser(@CurrentActor() actor: Actor, @Req() req: Request) {
    return presentUser(baseUrl(req), actor.user, true);
  }

  @Post('users')
  @HttpCode(201)
  async create(
    @CurrentActor() actor: Actor,
    @Body() body: Record<string, unknown>,
    @Req() req: Request,
  ) {
    if (!actor.user.isAdmin) throw GitlabError.forbidden();
    requireParams(body ?? {}, 'email', 'name', 'username');
    return presentUser(baseUrl(req), await this.users.create(actor, body), true);
  }

  @Post('users/:id/personal_access_tokens')
  @HttpCode(201)
  async createToken(
    @CurrentActor() actor: Actor,
    @Param('id') id: string,
    @Body() body: Record<string, unknown>,
  ) {
    if (!actor.user.isAdmin) throw GitlabError.forbidden();
    requireParams(body ?? {}, 'name', 'scopes');
    const { record, token } = await this.users.createToken(actor, intParam(id, 'id'), body);
    return {
      id: record.id,
      name: record.name,
      revoked: record.revoked,
      created_at: record.createdAt.toISOString(),
      scopes: record.scopes,
      user_id: record.userId,
      active: true,
      expires_at: record.expiresAt,
      token,
    };
  }
}
