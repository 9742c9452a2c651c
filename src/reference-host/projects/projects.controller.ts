import { Body, Controller, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import type { Request } from 'express';
import { Actor, CurrentActor, OptionalUser } from '../auth/request-user';
import { baseUrl } from '../common/base-url';
import { GitlabError } from '../common/gitlab-errors';
import { idOrPath } from '../common/params';
import { presentProject } from '../common/presenters';
import type { User } from '../users/user.entity';
import { ProjectsService } from './projects.service';

@Controller('api/v4/projects')
export class ProjectsController {
  constructor(private readonly projects: ProjectsService) {}

  @Post()
  @HttpCode(201)
  async create(
    @CurrentActor() actor: Actor,
    @Body() body: Record<string, unknown>,
    @Req() req: Request,
  ) {
    if (!body?.name && !body?.path)
      throw GitlabError.badParam('name, path are missing, at least one parameter must be provided');
    const project = await this.projects.create(actor, body);
    return presentProject(baseUrl(req), project, await this.projects.namespaceOf(project));
  }

  @Get(':id')
  async get(@OptionalUser() user: User | null, @Param('id') id: string, @Req() req: Request) {
    const project = await this.projects.findReadable(user, idOrPath(id));
    return presentProject(baseUrl(req), project, await this.projects.namespaceOf(project));
  }
}
