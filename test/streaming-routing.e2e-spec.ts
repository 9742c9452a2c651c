import { AuditEvent, AuditEventsService } from '../src/audit-event-streaming';
import { ExternalAuditEventDestination } from '../src/audit-event-streaming/destinations/external-audit-event-destination.entity';
import { startTestApp, TestApp } from './support/app';
import { createTestDatabase, TestDatabase } from './support/databases';
import { mutateOk } from './support/destination-api';
import { eventually, Receiver, receiversForSuite } from './support/receiver';
import { Rest } from './support/rest';
import {
  auditEventOf,
  createDestination,
  deliveriesOf,
  flagBootstrapFile,
  routedTo,
  streamingEnv,
} from './support/streaming';

type Destination = Awaited<ReturnType<typeof createDestination>>;

/** The request carrying this audit event, once it has arrived. */
function arrival(receiver: Receiver, auditEventId: string) {
  return eventually(() => receiver.forEvent(auditEventId)[0], `audit event ${auditEventId}`);
}

/** The id of the latest audit event recorded so far: requests with a greater id came after. */
async function lastAuditEventId(t: TestApp): Promise<number> {
  const [latest] = await t.db.getRepository(AuditEvent).find({ order: { id: 'DESC' }, take: 1 });
  return Number(latest?.id ?? 0);
}

/** Waits until every delivery of these events is delivered (so receivers hold all they get). */
async function allDelivered(t: TestApp, auditEventIds: string[]): Promise<void> {
  for (const auditEventId of auditEventIds) {
    await eventually(async () => {
      const rows = await deliveriesOf(t, { auditEventId });
      return rows.every((r) => r.status === 'delivered');
    }, `deliveries of audit event ${auditEventId}`);
  }
}

describe('streaming: which destinations receive which events', () => {
  let t: TestApp;
  let rest: Rest;
  const receiver = receiversForSuite();

  beforeAll(async () => {
    t = await startTestApp({ env: streamingEnv() });
    rest = new Rest(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it("sends subgroup and project events to their root group's destinations, and to no other group's", async () => {
    const tenants: {
      root: { id: number; full_path: string };
      receiver: Receiver;
      destination: Destination;
    }[] = [];
    for (const name of ['tenant-a', 'tenant-b', 'tenant-c']) {
      const root = await rest.createGroup(t.adminToken, name);
      const r = await receiver();
      tenants.push({
        root,
        receiver: r,
        destination: await createDestination(t, name, `${r.url}/audit`),
      });
    }
    const [a, b, c] = tenants;

    // Deep inside tenant A: a subgroup, a sub-subgroup and a project in it.
    const sub = await rest.createGroup(t.adminToken, 'engineering', a.root.id);
    const deep = await rest.createGroup(t.adminToken, 'platform', sub.id);
    const project = await rest.createProject(t.adminToken, 'api', deep.id);
    // Tenant B: a project directly in the root group.
    const projectB = await rest.createProject(t.adminToken, 'website', b.root.id);

    const subEvent = await auditEventOf(t, 'group_created', { type: 'Group', id: sub.id });
    const deepEvent = await auditEventOf(t, 'group_created', { type: 'Group', id: deep.id });
    const projectEvent = await auditEventOf(t, 'project_created', {
      type: 'Project',
      id: project.id,
    });
    const projectBEvent = await auditEventOf(t, 'project_created', {
      type: 'Project',
      id: projectB.id,
    });

    // Each event goes to its own tenant's destination and to nobody else's.
    for (const event of [subEvent, deepEvent, projectEvent])
      expect(await routedTo(t, event.id)).toEqual([a.destination.id]);
    expect(await routedTo(t, projectBEvent.id)).toEqual([b.destination.id]);

    const gotDeep = await arrival(a.receiver, deepEvent.id);
    expect(gotDeep.json.entity_path).toBe('tenant-a/engineering/platform');
    expect(gotDeep.headers['x-gitlab-event-streaming-token']).toBe(a.destination.verificationToken);
    const gotProject = await arrival(a.receiver, projectEvent.id);
    expect(gotProject.json.entity_path).toBe('tenant-a/engineering/platform/api');
    expect((await arrival(b.receiver, projectBEvent.id)).json.entity_path).toBe('tenant-b/website');

    // What each SIEM holds is its own tenant's, and only with its own token.
    await allDelivered(t, [subEvent.id, deepEvent.id, projectEvent.id, projectBEvent.id]);
    for (const tenant of [a, b, c]) {
      for (const got of tenant.receiver.requests) {
        expect(got.json.entity_path).toMatch(new RegExp(`^${tenant.root.full_path}(/|$)`));
        expect(got.headers['x-gitlab-event-streaming-token']).toBe(
          tenant.destination.verificationToken,
        );
      }
    }
    expect(c.receiver.requests.map((r) => r.json.event_type)).toEqual([
      'create_event_streaming_destination',
    ]);
  });

  it('sends nothing for events about users or personal projects', async () => {
    const r = await receiver();
    const root = await rest.createGroup(t.adminToken, 'personal-check');
    const destination = await createDestination(t, root.full_path, `${r.url}/audit`);
    const user = await rest.createUser('personal-bob');
    const personal = await rest.createProject(user.token, 'dotfiles');

    const userEvent = await auditEventOf(t, 'user_created', { type: 'User', id: user.id });
    const personalEvent = await auditEventOf(t, 'project_created', {
      type: 'Project',
      id: personal.id,
    });
    expect(await routedTo(t, userEvent.id)).toEqual([]);
    expect(await routedTo(t, personalEvent.id)).toEqual([]);
    // The destination itself works: a group event after them arrives.
    const later = await rest.createProject(t.adminToken, 'barrier', root.id);
    const laterEvent = await auditEventOf(t, 'project_created', { type: 'Project', id: later.id });
    expect(await routedTo(t, laterEvent.id)).toEqual([destination.id]);
    await arrival(r, laterEvent.id);
    expect(r.forEvent(userEvent.id)).toEqual([]);
    expect(r.forEvent(personalEvent.id)).toEqual([]);
  });

  it('with event type filters, sends only those types; without, everything', async () => {
    const filteredReceiver = await receiver();
    const allReceiver = await receiver();
    const root = await rest.createGroup(t.adminToken, 'type-filters');
    const filtered = await createDestination(t, root.full_path, `${filteredReceiver.url}/f`);
    const unfiltered = await createDestination(t, root.full_path, `${allReceiver.url}/all`);
    const added = await mutateOk(t, 'auditEventsStreamingDestinationEventsAdd', {
      destinationId: filtered.gid,
      eventTypeFilters: ['project_created', 'member_created'],
    });
    expect([...added.eventTypeFilters].sort()).toEqual(['member_created', 'project_created']);

    const sub = await rest.createGroup(t.adminToken, 'ops', root.id);
    const project = await rest.createProject(t.adminToken, 'runbooks', sub.id);
    const groupEvent = await auditEventOf(t, 'group_created', { type: 'Group', id: sub.id });
    const projectEvent = await auditEventOf(t, 'project_created', {
      type: 'Project',
      id: project.id,
    });

    expect(await routedTo(t, groupEvent.id)).toEqual([unfiltered.id]);
    expect(await routedTo(t, projectEvent.id)).toEqual([filtered.id, unfiltered.id].sort());
    await arrival(filteredReceiver, projectEvent.id);
    await arrival(allReceiver, projectEvent.id);
    await arrival(allReceiver, groupEvent.id);
    await allDelivered(t, [groupEvent.id, projectEvent.id]);
    // The filtered SIEM got only the types it asked for (the destination's own creation event
    // was streamed before the filter existed).
    expect(
      filteredReceiver.requests
        .map((r) => r.json.event_type)
        .filter((type) => type !== 'create_event_streaming_destination'),
    ).toEqual(['project_created']);
    expect(filteredReceiver.forEvent(groupEvent.id)).toEqual([]);

    // Removing the filters sends everything again.
    await mutateOk(t, 'auditEventsStreamingDestinationEventsRemove', {
      destinationId: filtered.gid,
      eventTypeFilters: ['project_created', 'member_created'],
    });
    const sub2 = await rest.createGroup(t.adminToken, 'ops-2', root.id);
    const groupEvent2 = await auditEventOf(t, 'group_created', { type: 'Group', id: sub2.id });
    expect(await routedTo(t, groupEvent2.id)).toEqual([filtered.id, unfiltered.id].sort());
    await arrival(filteredReceiver, groupEvent2.id);
  });

  it('with a namespace filter, sends only events of that group (and below) or that project', async () => {
    const groupReceiver = await receiver();
    const projectReceiver = await receiver();
    const allReceiver = await receiver();
    const root = await rest.createGroup(t.adminToken, 'ns-filters');
    const teamA = await rest.createGroup(t.adminToken, 'team-a', root.id);
    const teamB = await rest.createGroup(t.adminToken, 'team-b', root.id);
    const watched = await rest.createProject(t.adminToken, 'watched', teamB.id);
    const byGroup = await createDestination(t, root.full_path, `${groupReceiver.url}/g`);
    const byProject = await createDestination(t, root.full_path, `${projectReceiver.url}/p`);
    const everything = await createDestination(t, root.full_path, `${allReceiver.url}/all`);
    const groupFilter = await mutateOk(t, 'auditEventsStreamingHttpNamespaceFiltersAdd', {
      destinationId: byGroup.gid,
      groupPath: 'ns-filters/team-a',
    });
    expect(groupFilter.namespaceFilter.namespace.fullPath).toBe('ns-filters/team-a');
    const projectFilter = await mutateOk(t, 'auditEventsStreamingHttpNamespaceFiltersAdd', {
      destinationId: byProject.gid,
      projectPath: 'ns-filters/team-b/watched',
    });
    expect(projectFilter.namespaceFilter.namespace.fullPath).toBe('ns-filters/team-b/watched');
    const filtersSet = await lastAuditEventId(t);
    const since = (r: Receiver) => r.requests.filter((q) => Number(q.json.id) > filtersSet);

    // Below team-a: a subgroup and a project in it. Elsewhere: a sibling whose path starts the
    // same way, a team-b project, and a member of the watched project's group.
    const inA = await rest.createGroup(t.adminToken, 'backend', teamA.id);
    const inAProject = await rest.createProject(t.adminToken, 'service', inA.id);
    const lookalike = await rest.createGroup(t.adminToken, 'team-a-lookalike', root.id);
    const inB = await rest.createProject(t.adminToken, 'unwatched', teamB.id);
    const user = await rest.createUser('ns-carol');
    await rest.addMember(t.adminToken, teamB.id, user.id, 30);

    const events = {
      inA: await auditEventOf(t, 'group_created', { type: 'Group', id: inA.id }),
      inAProject: await auditEventOf(t, 'project_created', { type: 'Project', id: inAProject.id }),
      lookalike: await auditEventOf(t, 'group_created', { type: 'Group', id: lookalike.id }),
      inB: await auditEventOf(t, 'project_created', { type: 'Project', id: inB.id }),
      teamBMember: await auditEventOf(t, 'member_created', { type: 'Group', id: teamB.id }),
      watched: await auditEventOf(t, 'project_created', { type: 'Project', id: watched.id }),
    };
    expect(await routedTo(t, events.inA.id)).toEqual([byGroup.id, everything.id]);
    expect(await routedTo(t, events.inAProject.id)).toEqual([byGroup.id, everything.id]);
    expect(await routedTo(t, events.lookalike.id)).toEqual([everything.id]);
    expect(await routedTo(t, events.inB.id)).toEqual([everything.id]);
    expect(await routedTo(t, events.teamBMember.id)).toEqual([everything.id]);
    // Created before the filter and the destinations: routed to none of them.
    expect(await routedTo(t, events.watched.id)).toEqual([]);

    // An event about the watched project itself, recorded by the host through the plugin's API
    // (the reference host has no project event after creation).
    const aboutWatched = await t.app.get(AuditEventsService).record({
      eventType: 'member_created',
      author: { id: 1, name: 'Administrator' },
      entity: { type: 'Project', id: watched.id, path: watched.path_with_namespace },
      target: { type: 'User', id: user.id, details: 'ns-carol' },
    });
    expect(await routedTo(t, aboutWatched.id)).toEqual([byProject.id, everything.id]);
    expect((await arrival(projectReceiver, aboutWatched.id)).json.entity_path).toBe(
      'ns-filters/team-b/watched',
    );

    await arrival(groupReceiver, events.inA.id);
    await arrival(groupReceiver, events.inAProject.id);
    await allDelivered(
      t,
      [...Object.values(events), aboutWatched].map((e) => e.id),
    );
    expect(
      since(groupReceiver)
        .map((r) => r.json.entity_path as string)
        .filter((p) => !p.startsWith('ns-filters/team-a/')),
    ).toEqual([]);
    expect(
      since(projectReceiver)
        .map((r) => r.json.entity_path as string)
        .filter((p) => p !== 'ns-filters/team-b/watched'),
    ).toEqual([]);
  });

  it('sends nothing to an inactive destination, and again once it is reactivated', async () => {
    const pausedReceiver = await receiver();
    const activeReceiver = await receiver();
    const root = await rest.createGroup(t.adminToken, 'pausing');
    const paused = await createDestination(t, root.full_path, `${pausedReceiver.url}/p`);
    const active = await createDestination(t, root.full_path, `${activeReceiver.url}/a`);
    const updated = await mutateOk(t, 'externalAuditEventDestinationUpdate', {
      id: paused.gid,
      active: false,
    });
    expect(updated.externalAuditEventDestination.active).toBe(false);

    const whilePaused = await rest.createProject(t.adminToken, 'while-paused', root.id);
    const pausedEvent = await auditEventOf(t, 'project_created', {
      type: 'Project',
      id: whilePaused.id,
    });
    expect(await routedTo(t, pausedEvent.id)).toEqual([active.id]);
    await arrival(activeReceiver, pausedEvent.id);
    expect(pausedReceiver.forEvent(pausedEvent.id)).toEqual([]);

    await mutateOk(t, 'externalAuditEventDestinationUpdate', { id: paused.gid, active: true });
    const afterwards = await rest.createProject(t.adminToken, 'afterwards', root.id);
    const laterEvent = await auditEventOf(t, 'project_created', {
      type: 'Project',
      id: afterwards.id,
    });
    expect(await routedTo(t, laterEvent.id)).toEqual([paused.id, active.id]);
    await arrival(pausedReceiver, laterEvent.id);
    await allDelivered(t, [pausedEvent.id, laterEvent.id]);
    expect(pausedReceiver.forEvent(pausedEvent.id)).toEqual([]);
  });
});

describe('streaming: a root group whose flag is off', () => {
  const receiverOn = new Receiver();
  const receiverOff = new Receiver();
  let db: TestDatabase;
  let setup: TestApp | undefined;
  let t: TestApp | undefined;

  beforeAll(async () => {
    await receiverOn.start();
    await receiverOff.start();
    db = await createTestDatabase('postgres');
  });
  afterAll(async () => {
    await t?.close();
    await setup?.close();
    await db?.drop();
    await receiverOn.stop();
    await receiverOff.stop();
  });

  it("streams nothing for the group whose flag is off, while the other group's events flow", async () => {
    // Destinations can only be made with the flag on: arrange with a host where it is on for all,
    // then run the host with the flag on for one group only, on the same data.
    setup = await startTestApp({
      databaseUrl: db.url,
      env: streamingEnv({ APP_ROLE: 'api' }),
    });
    const setupRest = new Rest(setup);
    const on = await setupRest.createGroup(setup.adminToken, 'flag-on');
    const off = await setupRest.createGroup(setup.adminToken, 'flag-off');
    const destOn = await createDestination(setup, 'flag-on', `${receiverOn.url}/on`);
    await createDestination(setup, 'flag-off', `${receiverOff.url}/off`);
    await setup.close();
    setup = undefined;

    t = await startTestApp({
      databaseUrl: db.url,
      env: streamingEnv({ UNLEASH_BOOTSTRAP: flagBootstrapFile([on.id]) }),
    });
    const rest = new Rest(t);
    const offSub = await rest.createGroup(t.adminToken, 'quiet', off.id);
    const offProject = await rest.createProject(t.adminToken, 'quiet-project', off.id);
    const onProject = await rest.createProject(t.adminToken, 'loud-project', on.id);

    const offEvents = [
      await auditEventOf(t, 'group_created', { type: 'Group', id: offSub.id }),
      await auditEventOf(t, 'project_created', { type: 'Project', id: offProject.id }),
    ];
    const onEvent = await auditEventOf(t, 'project_created', {
      type: 'Project',
      id: onProject.id,
    });
    for (const event of offEvents) expect(await routedTo(t, event.id)).toEqual([]);
    expect(await routedTo(t, onEvent.id)).toEqual([destOn.id]);
    await arrival(receiverOn, onEvent.id);
    for (const event of offEvents) expect(receiverOff.forEvent(event.id)).toEqual([]);
    expect(receiverOff.requests.map((r) => r.json.event_type)).not.toContain('project_created');
  });
});

describe.each(['postgres', 'sqlite'] as const)(
  'streaming: routes kept across fan-out passes (%s)',
  (database) => {
    let t: TestApp;
    let rest: Rest;
    let audit: AuditEventsService;
    const receiver = receiversForSuite();

    beforeAll(async () => {
      // Host lookups and routes kept for ten minutes: only the route version can tell fan-out
      // that a destination or a filter changed.
      t = await startTestApp({
        database,
        env: streamingEnv({ AUDIT_STREAMING_LOOKUP_CACHE_MS: '600000' }),
      });
      rest = new Rest(t);
      audit = t.app.get(AuditEventsService);
    });
    afterAll(async () => {
      await t?.close();
    });

    it('routes the very next event by every destination and filter change', async () => {
      const r = await receiver();
      const root = await rest.createGroup(t.adminToken, 'cached-routes');
      const sub = await rest.createGroup(t.adminToken, 'team', root.id);
      const record = async (eventType: string, entity: { id: number; full_path: string }) => {
        const event = await audit.record({
          eventType,
          author: { id: 1, name: 'Administrator' },
          entity: { type: 'Group', id: entity.id, path: entity.full_path },
        });
        return routedTo(t, event.id);
      };
      const a = await createDestination(t, root.full_path, `${r.url}/a`);
      expect(await record('group_created', root)).toEqual([a.id]);

      const b = await createDestination(t, root.full_path, `${r.url}/b`);
      expect(await record('group_created', root)).toEqual([a.id, b.id]);

      await mutateOk(t, 'auditEventsStreamingDestinationEventsAdd', {
        destinationId: a.gid,
        eventTypeFilters: ['group_created'],
      });
      expect(await record('project_created', root)).toEqual([b.id]);

      const filter = await mutateOk(t, 'auditEventsStreamingHttpNamespaceFiltersAdd', {
        destinationId: b.gid,
        groupPath: sub.full_path,
      });
      expect(await record('project_created', root)).toEqual([]);
      expect(await record('project_created', sub)).toEqual([b.id]);

      await mutateOk(t, 'externalAuditEventDestinationUpdate', { id: b.gid, active: false });
      expect(await record('group_created', sub)).toEqual([a.id]);
      expect(await record('project_created', sub)).toEqual([]);

      await mutateOk(t, 'auditEventsStreamingDestinationEventsRemove', {
        destinationId: a.gid,
        eventTypeFilters: ['group_created'],
      });
      expect(await record('project_created', sub)).toEqual([a.id]);

      await mutateOk(t, 'externalAuditEventDestinationDestroy', { id: a.gid });
      expect(await record('group_created', sub)).toEqual([]);

      await mutateOk(t, 'externalAuditEventDestinationUpdate', { id: b.gid, active: true });
      await mutateOk(t, 'auditEventsStreamingHttpNamespaceFiltersDelete', {
        namespaceFilterId: filter.namespaceFilter.id,
      });
      expect(await record('group_created', root)).toEqual([b.id]);
    });

    it("routes one group's events afresh without holding back another's in the same pass", async () => {
      const r = await receiver();
      const [changing, steady] = [
        await rest.createGroup(t.adminToken, 'changing-routes'),
        await rest.createGroup(t.adminToken, 'steady-routes'),
      ];
      const first = await createDestination(t, changing.full_path, `${r.url}/first`);
      const second = await createDestination(t, changing.full_path, `${r.url}/second`);
      const kept = await createDestination(t, steady.full_path, `${r.url}/kept`);
      const recordBoth = async () => {
        // One transaction: committed together, fanned out in one pass.
        const [a, b] = await t.db.transaction(async (manager) => {
          const one = (g: { id: number; full_path: string }) =>
            audit.record(
              {
                eventType: 'group_created',
                author: { id: 1, name: 'Administrator' },
                entity: { type: 'Group', id: g.id, path: g.full_path },
              },
              { manager },
            );
          return [await one(changing), await one(steady)];
        });
        return [await routedTo(t, a.id), await routedTo(t, b.id)];
      };
      expect(await recordBoth()).toEqual([[first.id, second.id], [kept.id]]);

      // Changed in SQL, as an operator might: no audit event, so the next pass is the first to
      // learn of it, with the other group's event beside it.
      await t.db
        .getRepository(ExternalAuditEventDestination)
        .update({ id: first.id }, { active: false });
      expect(await recordBoth()).toEqual([[second.id], [kept.id]]);
    });
  },
);
