import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import {
  EntityManager,
  FindOptionsWhere,
  LessThanOrEqual,
  MoreThanOrEqual,
  And,
  Repository,
} from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { AuditEventCommits } from './audit-event-commits';
import { AuditEventTypeRegistry } from './audit-event-types';
import { AuditEvent } from './audit-event.entity';

/** GitLab cuts these to 5,500 characters. */
export const AUDIT_TEXT_LIMIT = 5500;

export interface RecordAuditEventInput {
  /** A declared event type (GitLab's event name), e.g. `group_created`. */
  eventType: string;
  /** The actor. GitLab uses negative ids for non-users (-1 system, -3 deploy key). */
  author: { id: number; name: string; class?: string };
  /** What the event is about: a `Group`, a `Project`, a `User`... */
  entity: { type: string; id: number; path: string };
  target?: { type: string; id: number | string | null; details: string } | null;
  ipAddress?: string | null;
  /** GitLab's `custom_message`. */
  message?: unknown;
  /** Extra details, merged into `details`. */
  details?: Record<string, unknown>;
}

export interface AuditEventQuery {
  entityType: string;
  entityId: number;
  createdAfter?: Date;
  createdBefore?: Date;
  offset: number;
  limit: number;
}

export interface RecordOptions {
  /** The host's transaction: the event commits or rolls back with it. */
  manager?: EntityManager;
}

/** GitLab's cut of `entity_path` and `target_details`: 5,500 characters (code points, not UTF-16 units). */
export function cutAuditText(value: string | null | undefined): string | null {
  if (value == null) return null;
  if (value.length <= AUDIT_TEXT_LIMIT) return value;
  return Array.from(value).slice(0, AUDIT_TEXT_LIMIT).join('');
}

@Injectable()
export class AuditEventsService {
  constructor(
    @InjectRepository(AuditEvent) private readonly events: Repository<AuditEvent>,
    private readonly types: AuditEventTypeRegistry,
    private readonly commits: AuditEventCommits,
  ) {}

  /**
   * Persists one audit event, inside the caller's transaction when given its `EntityManager`.
   * Streaming starts only after that transaction commits; a rollback streams nothing.
   */
  async record(input: RecordAuditEventInput, options: RecordOptions = {}): Promise<AuditEvent> {
    this.types.assertKnown(input.eventType);
    const target = input.target ?? null;
    const entityPath = cutAuditText(input.entity.path);
    const targetDetails = cutAuditText(target?.details);
    const event = this.events.create({
      authorId: input.author.id,
      authorName: input.author.name,
      entityId: input.entity.id,
      entityType: input.entity.type,
      entityPath,
      targetId: target?.id == null || typeof target.id === 'string' ? null : String(target.id),
      targetType: target?.type ?? null,
      targetDetails,
      ipAddress: input.ipAddress ?? null,
      eventType: input.eventType,
      details: {
        author_name: input.author.name,
        author_class: input.author.class ?? 'User',
        target_id: target?.id ?? null,
        target_type: target?.type ?? null,
        target_details: targetDetails,
        custom_message: input.message ?? null,
        ip_address: input.ipAddress ?? null,
        entity_path: entityPath,
        ...(input.details ?? {}),
        event_name: input.eventType,
      },
      createdAt: new Date(),
      fannedOutAt: null,
    });
    const manager = options.manager ?? this.events.manager;
    // One INSERT (`save` would wrap a lone insert in BEGIN/COMMIT of its own); the id is set on
    // `event` from the insert's result.
    await manager.getRepository(AuditEvent).insert(event as QueryDeepPartialEntity<AuditEvent>);
    this.commits.written(event, manager.queryRunner);
    return event;
  }

  /** An entity's events, newest first, with the total (for the host's audit event APIs). */
  findForEntity(query: AuditEventQuery): Promise<[AuditEvent[], number]> {
    const where: FindOptionsWhere<AuditEvent> = {
      entityType: query.entityType,
      entityId: query.entityId,
    };
    const bounds = [
      query.createdAfter && MoreThanOrEqual(query.createdAfter),
      query.createdBefore && LessThanOrEqual(query.createdBefore),
    ].filter((b) => !!b);
    if (bounds.length) where.createdAt = bounds.length === 1 ? bounds[0] : And(...bounds);
    return this.events.findAndCount({
      where,
      order: { id: 'DESC' },
      skip: query.offset,
      take: query.limit,
    });
  }
}
