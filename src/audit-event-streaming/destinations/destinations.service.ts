import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import { AuditEventsService, RecordAuditEventInput } from '../audit-events/audit-events.service';
import { AuditEventTypeRegistry } from '../audit-events/audit-event-types';
import { ResolvedStreamingSettings, STREAMING_SETTINGS } from '../audit-event-streaming.options';
import { ValidationFailedError } from '../common/errors';
import { AuditEventStreamingHost, HostGroup, HostUser } from '../host/audit-event-streaming-host';
import { BatchOptions, batchOptionErrors } from './batch-options';
import {
  defaultDestinationName,
  generateSigningSecret,
  generateVerificationToken,
} from './destination-defaults';
import { GroupAccess } from './destination-access.policy';
import { ExternalAuditEventDestination as Destination } from './external-audit-event-destination.entity';
import { StreamingEventTypeFilter } from './streaming-event-type-filter.entity';
import { StreamingHeader } from './streaming-header.entity';
import { StreamingNamespaceFilter } from './streaming-namespace-filter.entity';
import { validateDestinationUrl } from './url-safety';
import { CLEARED_HEALTH } from '../streaming/circuit-breaker';

/** The header GitLab reserves for the verification token. */
export const TOKEN_HEADER = 'X-Gitlab-Event-Streaming-Token';

/** Who changes a destination, and from where: recorded on the audit event of the change. */
export interface Actor {
  user: HostUser;
  ip: string | null;
}

export interface DestinationChanges extends BatchOptions {
  destinationUrl?: string | null;
  name?: string | null;
  active?: boolean | null;
}

export interface HeaderChanges {
  key?: string | null;
  value?: string | null;
  active?: boolean | null;
}

const DESTINATION_RELATIONS = {
  headers: true,
  eventTypeFilters: true,
  namespaceFilter: true,
} as const;

// Beyond GitLab, which saves such headers and then fails every delivery: what HTTP can carry.
/** RFC 9110's token: the characters a header name may have. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const KEY_NOT_A_HEADER_NAME =
  "Key must be an HTTP header name: letters, digits and !#$%&'*+-.^_`|~ only";
/** Printable ASCII and tabs: no line breaks (header injection), nothing a client would mangle. */
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;
const VALUE_NOT_PRINTABLE = 'Value must contain printable ASCII characters only';

/** The batch options a caller set (GraphQL's null and absent both mean "unchanged"). */
function definedBatchOptions(options: BatchOptions): Partial<Destination> {
  const keys = ['batchFormat', 'batchMaxEvents', 'batchMaxBytes', 'batchMaxWaitMs'] as const;
  return Object.fromEntries(
    keys.filter((key) => options[key] != null).map((key) => [key, options[key]]),
  ) as Partial<Destination>;
}

function tooLong(attribute: string, value: string | null | undefined, max: number): string | null {
  return value != null && Array.from(value).length > max
    ? `${attribute} is too long (maximum is ${max} characters)`
    : null;
}

function fail(messages: (string | null)[]): void {
  const errors = messages.filter((m): m is string => !!m);
  if (errors.length) throw new ValidationFailedError(errors);
}

/**
 * Destinations, headers and filters: GitLab's validations with GitLab's messages, each change in
 * one transaction with the audit event that records it. Callers authorize first.
 */
@Injectable()
export class DestinationsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(STREAMING_SETTINGS) private readonly settings: ResolvedStreamingSettings,
    @Inject(AuditEventStreamingHost) private readonly host: AuditEventStreamingHost,
    private readonly audit: AuditEventsService,
    private readonly types: AuditEventTypeRegistry,
  ) {}

  /** A destination with its headers and filters, or null. */
  find(id: number): Promise<Destination | null> {
    return this.db
      .getRepository(Destination)
      .findOne({ where: { id }, relations: DESTINATION_RELATIONS });
  }

  /** Every destination of a top-level group, oldest first, with headers and filters: one query. */
  listForGroup(groupId: number): Promise<Destination[]> {
    return this.db.getRepository(Destination).find({
      where: { groupId },
      relations: DESTINATION_RELATIONS,
      order: { id: 'ASC' },
    });
  }

  async findHeader(id: number): Promise<StreamingHeader | null> {
    return this.db.getRepository(StreamingHeader).findOneBy({ id });
  }

  async findNamespaceFilter(id: number): Promise<StreamingNamespaceFilter | null> {
    return this.db.getRepository(StreamingNamespaceFilter).findOneBy({ id });
  }

  // --- destinations ----------------------------------------------------------------------------

  async create(
    access: GroupAccess,
    actor: Actor,
    input: BatchOptions & {
      destinationUrl: string;
      name?: string | null;
      verificationToken?: string | null;
    },
  ): Promise<Destination> {
    const repo = this.db.getRepository(Destination);
    const { url, errors: urlErrors } = await this.checkUrl(input.destinationUrl);
    const name = input.name ?? defaultDestinationName();
    const token = input.verificationToken ?? generateVerificationToken();
    const group = access.group;
    const count = await repo.countBy({ groupId: group.id });
    const max = this.settings.limits.destinationsPerGroup;
    fail([
      ...urlErrors,
      url && (await repo.existsBy({ groupId: group.id, destinationUrl: url }))
        ? 'Destination url has already been taken'
        : null,
      group.parentId != null ? 'Group must not be a subgroup' : null,
      count >= max ? `Maximum number of external audit event destinations (${max}) exceeded` : null,
      Array.from(token).length < 16
        ? 'Verification token is too short (minimum is 16 characters)'
        : null,
      tooLong('Verification token', token, 24),
      (await repo.existsBy({ groupId: group.id, verificationToken: token }))
        ? 'Verification token has already been taken'
        : null,
      name.trim() === '' ? "Name can't be blank" : null,
      tooLong('Name', name, 72),
      (await repo.existsBy({ groupId: group.id, name })) ? 'Name has already been taken' : null,
      ...batchOptionErrors(input),
    ]);
    return this.db.transaction(async (manager) => {
      const now = new Date();
      const destination = await manager.getRepository(Destination).save({
        ...definedBatchOptions(input),
        groupId: group.id,
        destinationUrl: url,
        name,
        verificationToken: token,
        active: true,
        signingSecret: generateSigningSecret(),
        previousSigningSecret: null,
        previousSigningSecretExpiresAt: null,
        createdAt: now,
        updatedAt: now,
      });
      await this.record(
        manager,
        actor,
        group,
        destination,
        'create_event_streaming_destination',
        `Create event streaming destination ${url}`,
      );
      return (await manager
        .getRepository(Destination)
        .findOne({ where: { id: destination.id }, relations: DESTINATION_RELATIONS }))!;
    });
  }

  async update(
    access: GroupAccess,
    actor: Actor,
    destination: Destination,
    changes: DestinationChanges,
  ): Promise<Destination> {
    const repo = this.db.getRepository(Destination);
    const messages: (string | null)[] = [];
    const updates: Partial<Destination> = {};
    const described: string[] = [];
    if (changes.destinationUrl != null) {
      const { url, errors } = await this.checkUrl(changes.destinationUrl);
      messages.push(...errors);
      if (url !== destination.destinationUrl) {
        const taken = await repo.existsBy({ groupId: destination.groupId, destinationUrl: url });
        if (taken) messages.push('Destination url has already been taken');
        updates.destinationUrl = url;
        described.push(
          `Updated event streaming destination url from ${destination.destinationUrl} to ${url}`,
        );
      }
    }
    if (changes.name != null && changes.name !== destination.name) {
      messages.push(
        changes.name.trim() === '' ? "Name can't be blank" : null,
        tooLong('Name', changes.name, 72),
      );
      if (await repo.existsBy({ groupId: destination.groupId, name: changes.name }))
        messages.push('Name has already been taken');
      updates.name = changes.name;
      described.push(
        `Updated event streaming destination name from ${destination.name} to ${changes.name}`,
      );
    }
    if ('active' in changes) {
      if (typeof changes.active !== 'boolean') messages.push('Active must be a boolean value');
      else if (changes.active !== destination.active) {
        updates.active = changes.active;
        // Reactivated: a fresh start for its health and circuit (parked deliveries resume).
        if (changes.active) Object.assign(updates, CLEARED_HEALTH);
        described.push(
          `Updated event streaming destination active from ${destination.active} to ${changes.active}`,
        );
      }
    }
    messages.push(...batchOptionErrors(changes));
    for (const [key, value] of Object.entries(definedBatchOptions(changes))) {
      const current = destination[key as keyof BatchOptions];
      if (value === current) continue;
      Object.assign(updates, { [key]: value });
      described.push(`Updated event streaming destination ${key} from ${current} to ${value}`);
    }
    fail(messages);
    if (!described.length) return destination;
    return this.db.transaction(async (manager) => {
      await manager
        .getRepository(Destination)
        .update({ id: destination.id }, { ...updates, updatedAt: new Date() });
      const updated = (await manager
        .getRepository(Destination)
        .findOne({ where: { id: destination.id }, relations: DESTINATION_RELATIONS }))!;
      await this.record(
        manager,
        actor,
        access.group,
        updated,
        'update_event_streaming_destination',
        described.join(', '),
      );
      return updated;
    });
  }

  /** A new secret; the old one keeps signing beside it until the overlap ends. */
  async rotateSigningSecret(
    access: GroupAccess,
    actor: Actor,
    destination: Destination,
  ): Promise<Destination> {
    const overlapEnds = new Date(Date.now() + this.settings.delivery.signingSecretOverlapMs);
    return this.db.transaction(async (manager) => {
      await manager.getRepository(Destination).update(
        { id: destination.id },
        {
          signingSecret: generateSigningSecret(),
          previousSigningSecret: destination.signingSecret,
          previousSigningSecretExpiresAt: overlapEnds,
          updatedAt: new Date(),
        },
      );
      const updated = (await manager
        .getRepository(Destination)
        .findOne({ where: { id: destination.id }, relations: DESTINATION_RELATIONS }))!;
      await this.record(
        manager,
        actor,
        access.group,
        updated,
        'event_streaming_destination_signing_secret_rotated',
        `Rotated the signing secret of event streaming destination ${destination.destinationUrl}; ` +
          `the previous secret signs too until ${overlapEnds.toISOString()}`,
      );
      return updated;
    });
  }

  async destroy(access: GroupAccess, actor: Actor, destination: Destination): Promise<void> {
    await this.deleteRecorded(
      access,
      actor,
      destination,
      'destroy_event_streaming_destination',
      `Destroy event streaming destination ${destination.destinationUrl}`,
      (manager) => manager.getRepository(Destination).delete({ id: destination.id }),
    );
  }

  // --- headers ---------------------------------------------------------------------------------

  async createHeader(
    access: GroupAccess,
    actor: Actor,
    destination: Destination,
    input: HeaderChanges,
  ): Promise<StreamingHeader> {
    const repo = this.db.getRepository(StreamingHeader);
    const key = input.key ?? '';
    const max = this.settings.limits.headersPerDestination;
    fail([
      ...this.headerErrors(key, input.value ?? '', input.active),
      key && (await repo.existsBy({ destinationId: destination.id, key }))
        ? 'Key has already been taken'
        : null,
      // GitLab checks this only when a destination is saved; it is enforced on each header here.
      (await repo.countBy({ destinationId: destination.id })) >= max
        ? `Headers are limited to ${max} per destination`
        : null,
    ]);
    return this.db.transaction(async (manager) => {
      const now = new Date();
      const header = await manager.getRepository(StreamingHeader).save({
        destinationId: destination.id,
        key,
        value: input.value!,
        active: input.active ?? true,
        createdAt: now,
        updatedAt: now,
      });
      await this.record(
        manager,
        actor,
        access.group,
        destination,
        'audit_events_streaming_headers_create',
        `Created custom HTTP header with key ${key}.`,
      );
      return header;
    });
  }

  async updateHeader(
    access: GroupAccess,
    actor: Actor,
    destination: Destination,
    header: StreamingHeader,
    changes: HeaderChanges,
  ): Promise<StreamingHeader> {
    const key = changes.key ?? header.key;
    const value = changes.value ?? header.value;
    const active = 'active' in changes ? changes.active : header.active;
    const repo = this.db.getRepository(StreamingHeader);
    fail([
      ...this.headerErrors(key, value, active),
      key !== header.key && (await repo.existsBy({ destinationId: destination.id, key }))
        ? 'Key has already been taken'
        : null,
    ]);
    return this.db.transaction(async (manager) => {
      const updated = await manager
        .getRepository(StreamingHeader)
        .save({ ...header, key, value, active: active!, updatedAt: new Date() });
      await this.record(
        manager,
        actor,
        access.group,
        destination,
        'audit_events_streaming_headers_update',
        `Updated a custom HTTP header with key ${key}.`,
      );
      return updated;
    });
  }

  async destroyHeader(
    access: GroupAccess,
    actor: Actor,
    destination: Destination,
    header: StreamingHeader,
  ): Promise<void> {
    await this.deleteRecorded(
      access,
      actor,
      destination,
      'audit_events_streaming_headers_destroy',
      `Destroyed a custom HTTP header with key ${header.key}.`,
      (manager) => manager.getRepository(StreamingHeader).delete({ id: header.id }),
    );
  }

  private headerErrors(
    key: string,
    value: string,
    active: boolean | null | undefined,
  ): (string | null)[] {
    return [
      key.trim() === '' ? "Key can't be blank" : null,
      key.toLowerCase() === TOKEN_HEADER.toLowerCase() ? `Key cannot be ${TOKEN_HEADER}` : null,
      key.trim() !== '' && !HEADER_NAME.test(key) ? KEY_NOT_A_HEADER_NAME : null,
      tooLong('Key', key, 255),
      value.trim() === '' ? "Value can't be blank" : null,
      !HEADER_VALUE.test(value) ? VALUE_NOT_PRINTABLE : null,
      tooLong('Value', value, 2000),
      typeof active !== 'boolean' ? 'Active must be a boolean value' : null,
    ];
  }

  // --- event type filters ----------------------------------------------------------------------

  async addEventTypeFilters(
    access: GroupAccess,
    actor: Actor,
    destination: Destination,
    types: string[],
  ): Promise<string[]> {
    const wanted = [...new Set(types)];
    if (!wanted.length) throw new ValidationFailedError(['event type filters must be present']);
    const unknown = wanted.find((t) => !this.types.has(t));
    if (unknown)
      throw new ValidationFailedError([
        `Validation failed: Audit event type with value ${unknown} is undefined.`,
      ]);
    const existing = new Set((destination.eventTypeFilters ?? []).map((f) => f.auditEventType));
    const added = wanted.filter((t) => !existing.has(t));
    return this.db.transaction(async (manager) => {
      if (added.length) {
        const now = new Date();
        await manager.getRepository(StreamingEventTypeFilter).insert(
          added.map((auditEventType) => ({
            destinationId: destination.id,
            auditEventType,
            createdAt: now,
          })),
        );
        await this.record(
          manager,
          actor,
          access.group,
          destination,
          'event_type_filters_created',
          `Created audit event type filters: ${added.join(', ')}`,
        );
      }
      return [...existing, ...added].sort();
    });
  }

  async removeEventTypeFilters(
    access: GroupAccess,
    actor: Actor,
    destination: Destination,
    types: string[],
  ): Promise<void> {
    const wanted = [...new Set(types)];
    if (!wanted.length) throw new ValidationFailedError(['event type filters must be present']);
    const existing = new Set((destination.eventTypeFilters ?? []).map((f) => f.auditEventType));
    const missing = wanted.filter((t) => !existing.has(t));
    if (missing.length) {
      throw new ValidationFailedError([
        `Couldn't find event type filters where audit event type(s): ${missing.join(', ')}`,
      ]);
    }
    await this.deleteRecorded(
      access,
      actor,
      destination,
      'event_type_filters_deleted',
      `Deleted audit event type filters: ${wanted.join(', ')}`,
      (manager) =>
        manager
          .getRepository(StreamingEventTypeFilter)
          .delete({ destinationId: destination.id, auditEventType: In(wanted) }),
    );
  }

  // --- namespace filters -----------------------------------------------------------------------

  async addNamespaceFilter(
    access: GroupAccess,
    actor: Actor,
    destination: Destination,
    input: { groupPath?: string | null; projectPath?: string | null },
  ): Promise<StreamingNamespaceFilter> {
    const hasGroup = input.groupPath != null;
    if (hasGroup === (input.projectPath != null)) {
      throw new ValidationFailedError([
        'One and only one of [groupPath, projectPath] arguments is required.',
      ]);
    }
    let namespace: { id: number; type: 'Group' | 'Project'; rootGroupId: number | null };
    if (hasGroup) {
      const group = await this.host.findGroupByFullPath(input.groupPath!);
      if (!group) throw new ValidationFailedError(['group_path is invalid']);
      const root = group.parentId == null ? group : await this.host.findRootGroup(group.id);
      namespace = { id: group.id, type: 'Group', rootGroupId: root?.id ?? null };
    } else {
      const project = await this.host.findProjectByFullPath(input.projectPath!);
      if (!project) throw new ValidationFailedError(['project_path is invalid']);
      const root = project.groupId == null ? null : await this.host.findRootGroup(project.groupId);
      namespace = { id: project.id, type: 'Project', rootGroupId: root?.id ?? null };
    }
    fail([
      destination.namespaceFilter
        ? 'External audit event destination has already been taken'
        : null,
      namespace.rootGroupId !== destination.groupId
        ? 'External audit event destination does not belong to the top-level group of the namespace.'
        : null,
    ]);
    return this.db.transaction(async (manager) => {
      const filter = await manager.getRepository(StreamingNamespaceFilter).save({
        destinationId: destination.id,
        namespaceId: namespace.id,
        namespaceType: namespace.type,
        createdAt: new Date(),
      });
      await this.record(
        manager,
        actor,
        access.group,
        destination,
        'create_http_namespace_filter',
        `Create namespace filter for http audit event streaming destination ${destination.name} and namespace ${input.groupPath ?? input.projectPath}.`,
      );
      return filter;
    });
  }

  async deleteNamespaceFilter(
    access: GroupAccess,
    actor: Actor,
    destination: Destination,
    filter: StreamingNamespaceFilter,
  ): Promise<void> {
    await this.deleteRecorded(
      access,
      actor,
      destination,
      'delete_http_namespace_filter',
      `Delete namespace filter for http audit event streaming destination ${destination.name}.`,
      (manager) => manager.getRepository(StreamingNamespaceFilter).delete({ id: filter.id }),
    );
  }

  // --- shared ----------------------------------------------------------------------------------

  private checkUrl(raw: string) {
    return validateDestinationUrl(raw, this.settings.delivery);
  }

  /** Every change is an audit event of the group, streamed like any other. */
  /** A delete and its audit event, in one transaction. */
  private async deleteRecorded(
    access: GroupAccess,
    actor: Actor,
    destination: Destination,
    eventType: string,
    message: string,
    remove: (manager: EntityManager) => Promise<unknown>,
  ): Promise<void> {
    await this.db.transaction(async (manager) => {
      await remove(manager);
      await this.record(manager, actor, access.group, destination, eventType, message);
    });
  }

  private record(
    manager: EntityManager,
    actor: Actor,
    group: HostGroup,
    destination: Destination,
    eventType: string,
    message: string,
  ) {
    const event: RecordAuditEventInput = {
      eventType,
      author: { id: actor.user.id, name: actor.user.name, class: 'User' },
      entity: { type: 'Group', id: group.id, path: group.fullPath },
      target: {
        type: 'AuditEvents::ExternalAuditEventDestination',
        id: destination.id,
        details: destination.name,
      },
      ipAddress: actor.ip,
      message,
    };
    return this.audit.record(event, { manager });
  }
}
