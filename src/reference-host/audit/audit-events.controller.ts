import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AccessLevel, AuditEvent, AuditEventsService } from '../../audit-event-streaming';
import { Actor, CurrentActor } from '../auth/request-user';
import { GitlabError } from '../common/gitlab-errors';
import { pageOf, setPaginationHeaders } from '../common/pagination';
import { idOrPath } from '../common/params';
import { GroupsService } from '../groups/groups.service';
import { ProjectsService } from '../projects/projects.service';

function dateParam(value: unknown, name: string): Date | undefined {
  if (value === undefined || value === '') return undefined;
  const date = new Date(String(value));
  if (Number.isNaN(date.getTime())) throw GitlabError.badParam(`${name} is invalid`);
  return date;
}

function presentAuditEvent(event: AuditEvent) {
  return {
    id: Number(event.id),
    author_id: event.authorId,
    entity_id: event.entityId,
    entity_type: event.entityType,
    event_name: event.eventType,
    details: event.details,
    created_at: event.createdAt.toISOString(),
  };
}

/** GitLab's group and project audit event APIs: Owners and administrators only. */
@Controller('api/v4')
export class AuditEventsController {
  constructor(
    private readonly audit: AuditEventsService,
    private readonly groups: GroupsService,
    private readonly projects: ProjectsService,
  ) {}

  @Get('groups/:id/audit_events')
  async groupEvents(
    @CurrentActor() actor: Actor,
    @Param('id') id: string,
    @Query() query: Record<string, unknown>,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const group = await this.groups.findReadable(actor.user, idOrPath(id));
    if ((await this.groups.effectiveAccess(actor.user, group)) < AccessLevel.Owner)
      throw GitlabError.forbidden();
    return this.list('Group', group.id, query, req, res);
  }

  @Get('projects/:id/audit_events')
  async projectEvents(
    @CurrentActor() actor: Actor,
    @Param('id') id: string,
    @Query() query: Record<string, unknown>,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const project = await this.projects.findReadable(actor.user, idOrPath(id));
    if ((await this.projects.accessLevel(actor.user, project)) < AccessLevel.Owner)
      throw GitlabError.forbidden();
    return this.list('Project', project.id, query, req, res);
  }

  private async list(
    entityType: string,
    entityId: number,
    query: Record<string, unknown>,
    req: Request,
    res: Response,
  ) {
    const page = pageOf(query);
    const [events, total] = await this.audit.findForEntity({
      entityType,
      entityId,
      createdAfter: dateParam(query.created_after, 'created_after'),
      createdBefore: dateParam(query.created_before, 'created_before'),
      offset: page.offset,
      limit: page.perPage,
    });
    setPaginationHeaders(req, res, page, total);
    return events.map(presentAuditEvent);
  }
}
