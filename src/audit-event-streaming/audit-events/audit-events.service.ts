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
import { AuditEventCommits } from './audit-event-commits';
import { AuditEventInserts } from './audit-event-inserts';
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
    private readonly inserts: AuditEventInserts,
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
    const event = Object.assign(new AuditEvent(), {
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
    // One INSERT, in the caller's transaction when given; `event.id` is set from its result.
    if (options.manager) await this.inserts.insertIn(options.manager, event);
    else await this.inserts.insert(event);
    this.commits.written(event, options.manager?.queryRunner);
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
