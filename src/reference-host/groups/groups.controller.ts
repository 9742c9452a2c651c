import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Put,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { Actor, CurrentActor, OptionalUser } from '../auth/request-user';
import { baseUrl } from '../common/base-url';
import { pageOf, setPaginationHeaders } from '../common/pagination';
import { idOrPath, intParam, requireParams } from '../common/params';
import { presentGroup, presentMember } from '../common/presenters';
import type { User } from '../users/user.entity';
import { GroupsService } from './groups.service';

@Controller('api/v4/groups')
export class GroupsController {
  constructor(private readonly groups: GroupsService) {}

  @Post()
  @HttpCode(201)
  async create(
    @CurrentActor() actor: Actor,
    @Body() body: Record<string, unknown>,
    @Req() req: Request,
  ) {
    requireParams(body ?? {}, 'name', 'path');
    return presentGroup(baseUrl(req), await this.groups.create(actor, body));
  }

  @Get()
  async list(
    @OptionalUser() user: User | null,
    @Query() query: Record<string, unknown>,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const page = pageOf(query);
    const [groups, total] = await this.groups.list(user, page);
    setPaginationHeaders(req, res, page, total);
    return groups.map((g) => presentGroup(baseUrl(req), g));
  }

  @Get(':id')
  async get(@OptionalUser() user: User | null, @Param('id') id: string, @Req() req: Request) {
    return presentGroup(baseUrl(req), await this.groups.findReadable(user, idOrPath(id)));
  }

  @Get(':id/subgroups')
  async subgroups(
    @OptionalUser() user: User | null,
    @Param('id') id: string,
    @Query() query: Record<string, unknown>,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const parent = await this.groups.findReadable(user, idOrPath(id));
    const page = pageOf(query);
    const [groups, total] = await this.groups.list(user, page, parent.id);
    setPaginationHeaders(req, res, page, total);
    return groups.map((g) => presentGroup(baseUrl(req), g));
  }

  @Get(':id/members')
  async members(
    @OptionalUser() user: User | null,
    @Param('id') id: string,
    @Query() query: Record<string, unknown>,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const group = await this.groups.findReadable(user, idOrPath(id));
    const page = pageOf(query);
    const [rows, total] = await this.groups.listMembers(group, page);
    setPaginationHeaders(req, res, page, total);
    return rows.map((r) => presentMember(baseUrl(req), r.user, r.member));
  }

  @Post(':id/members')
  @HttpCode(201)
  async addMember(
    @CurrentActor() actor: Actor,
    @Param('id') id: string,
    @Body() body: Record<string, unknown>,
    @Req() req: Request,
  ) {
    const group = await this.groups.findReadable(actor.user, idOrPath(id));
    requireParams(body ?? {}, 'user_id', 'access_level');
    const { member, user } = await this.groups.addMember(actor, group, body);
    return presentMember(baseUrl(req), user, member);
  }

  @Put(':id/members/:userId')
  async updateMember(
    @CurrentActor() actor: Actor,
    @Param('id') id: string,
    @Param('userId') userId: string,
    @Body() body: Record<string, unknown>,
    @Req() req: Request,
  ) {
    const group = await this.groups.findReadable(actor.user, idOrPath(id));
    requireParams(body ?? {}, 'access_level');
    const { member, user } = await this.groups.updateMember(
      actor,
      group,
      intParam(userId, 'user_id'),
      body,
    );
    return presentMember(baseUrl(req), user, member);
  }

  @Delete(':id/members/:userId')
  @HttpCode(204)
  async removeMember(
    @CurrentActor() actor: Actor,
    @Param('id') id: string,
    @Param('userId') userId: string,
  ): Promise<void> {
    const group = await this.groups.findReadable(actor.user, idOrPath(id));
    await this.groups.removeMember(actor, group, intParam(userId, 'user_id'));
  }
}
