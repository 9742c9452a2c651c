import type { Response } from 'supertest';
import type { EntityManager } from 'typeorm';
import {
  AuditEvent,
  AuditEventCommits,
  AuditEventsService,
  RecordAuditEventInput,
} from '../src/audit-event-streaming';
import { startTestApp, TestApp } from './support/app';
import { api, DEVELOPER, encoded, MAINTAINER } from './support/api';
import { Rest } from './support/rest';

type User = { id: number; username: string; token: string };

/** GitLab's audit event, as `GET /groups/:id/audit_events` returns it. */
interface ApiAuditEvent {
  id: number;
  author_id: number;
  entity_id: number;
  entity_type: string;
  event_name: string;
  details: Record<string, unknown>;
  created_at: string;
}

/**
 * Every audit event in the table, oldest first. bigint columns are strings on PostgreSQL and
 * numbers on SQLite; they are compared as strings here.
 */
async function allEvents(t: TestApp): Promise<AuditEvent[]> {
  const rows = await t.db.getRepository(AuditEvent).find({ order: { id: 'ASC' } });
  return rows.map((e) => ({
    ...e,
    id: String(e.id),
    targetId: e.targetId == null ? null : String(e.targetId),
  }));
}

async function eventsOfType(t: TestApp, eventType: string): Promise<AuditEvent[]> {
  return (await allEvents(t)).filter((e) => e.eventType === eventType);
}

/** Events recorded directly through the service carry a marker as their custom message. */
async function markedEvents(t: TestApp): Promise<string[]> {
  return (await allEvents(t))
    .map((e) => e.details.custom_message)
    .filter((m): m is string => typeof m === 'string' && m.startsWith('marker:'));
}

function names(res: Response): string[] {
  return (res.body as ApiAuditEvent[]).map((e) => e.event_name);
}

/** Polls until the assertion holds (an after-commit listener runs on a later tick). */
async function eventually(assertion: () => void, attempts = 200): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      assertion();
      return;
    } catch (err) {
      if (i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** Lets every already-scheduled callback run. */
const settle = () => new Promise((r) => setImmediate(r));

describe.each(['postgres', 'sqlite'] as const)('audit events on %s', (database) => {
  let t: TestApp;
  let rest: Rest;
  let root: { id: number; name: string };
  let alice: User; // owner of `audited`
  let maintainer: User;
  let developer: User;
  let mallory: User; // a member of nothing
  let bob: { id: number; username: string; name: string }; // added, changed, removed
  let group: { id: number; full_path: string };
  let subgroup: { id: number; full_path: string };
  let project: { id: number; path_with_namespace: string };

  beforeAll(async () => {
    t = await startTestApp({ database });
    rest = new Rest(t);
    const me = await api(t, t.adminToken).get('/api/v4/user').expect(200);
    root = { id: me.body.id, name: me.body.name };
    alice = await rest.createUser('alice');
    maintainer = await rest.createUser('maintainer');
    developer = await rest.createUser('developer');
    mallory = await rest.createUser('mallory');
    const created = await api(t, t.adminToken)
      .post('/api/v4/users', { username: 'bob', name: 'Bob Builder', email: 'bob@example.com' })
      .expect(201);
    bob = created.body;

    group = await rest.createGroup(alice.token, 'audited');
    subgroup = await rest.createGroup(alice.token, 'sub', group.id);
    project = await rest.createProject(alice.token, 'app', subgroup.id);
    await rest.addMember(alice.token, group.id, maintainer.id, MAINTAINER);
    await rest.addMember(alice.token, group.id, developer.id, DEVELOPER);
    await rest.addMember(alice.token, group.id, bob.id, DEVELOPER);
    await api(t, alice.token)
      .put(`/api/v4/groups/${group.id}/members/${bob.id}`, { access_level: MAINTAINER })
      .expect(200);
    await api(t, alice.token).delete(`/api/v4/groups/${group.id}/members/${bob.id}`).expect(204);
  });
  afterAll(() => t?.close());

  describe('recording: every state-changing REST call', () => {
    it('user_created: the administrator created a user', async () => {
      const [event] = (await eventsOfType(t, 'user_created')).filter((e) => e.entityId === bob.id);
      expect(event).toMatchObject({
        authorId: root.id,
        authorName: root.name,
        entityType: 'User',
        entityId: bob.id,
        entityPath: 'bob',
        targetType: 'User',
        targetId: String(bob.id),
        targetDetails: 'bob',
        ipAddress: '127.0.0.1',
      });
      expect(event.details).toMatchObject({
        author_name: root.name,
        author_class: 'User',
        ip_address: '127.0.0.1',
        entity_path: 'bob',
        target_type: 'User',
        target_id: bob.id,
        target_details: 'bob',
        event_name: 'user_created',
      });
    });

    it('personal_access_token_created: on the user the token belongs to', async () => {
      const events = await eventsOfType(t, 'personal_access_token_created');
      const event = events.find((e) => e.entityId === alice.id)!;
      expect(event).toMatchObject({
        authorId: root.id,
        authorName: root.name,
        entityType: 'User',
        entityPath: 'alice',
        targetType: 'PersonalAccessToken',
        targetDetails: 'test',
        ipAddress: '127.0.0.1',
      });
      expect(event.details).toMatchObject({
        ip_address: '127.0.0.1',
        target_type: 'PersonalAccessToken',
        event_name: 'personal_access_token_created',
      });
    });

    it('group_created: for a top-level group and a subgroup', async () => {
      const events = await eventsOfType(t, 'group_created');
      for (const g of [group, subgroup]) {
        const event = events.find((e) => e.entityId === g.id)!;
        expect(event).toMatchObject({
          authorId: alice.id,
          authorName: 'alice',
          entityType: 'Group',
          entityPath: g.full_path,
          targetType: 'Group',
          targetId: String(g.id),
          targetDetails: g.full_path,
          ipAddress: '127.0.0.1',
        });
        expect(event.details).toMatchObject({
          author_name: 'alice',
          ip_address: '127.0.0.1',
          entity_path: g.full_path,
          event_name: 'group_created',
        });
      }
    });

    it('project_created: on the project, with its full path', async () => {
      const [event] = await eventsOfType(t, 'project_created');
      expect(event).toMatchObject({
        authorId: alice.id,
        authorName: 'alice',
        entityType: 'Project',
        entityId: project.id,
        entityPath: 'audited/sub/app',
        targetType: 'Project',
        targetDetails: 'audited/sub/app',
        ipAddress: '127.0.0.1',
      });
      expect(event.details).toMatchObject({
        ip_address: '127.0.0.1',
        event_name: 'project_created',
      });
    });

    it('member_created, member_updated, member_destroyed: on the group, targeting the user', async () => {
      const about = (type: string) =>
        eventsOfType(t, type).then((events) => events.filter((e) => e.targetId === String(bob.id)));
      const [created] = await about('member_created');
      const [updated] = await about('member_updated');
      const [destroyed] = await about('member_destroyed');
      for (const event of [created, updated, destroyed]) {
        expect(event).toMatchObject({
          authorId: alice.id,
          authorName: 'alice',
          entityType: 'Group',
          entityId: group.id,
          entityPath: 'audited',
          targetType: 'User',
          targetDetails: 'Bob Builder',
          ipAddress: '127.0.0.1',
        });
        expect(event.details).toMatchObject({
          author_name: 'alice',
          ip_address: '127.0.0.1',
          target_id: bob.id,
          target_type: 'User',
          target_details: 'Bob Builder',
        });
      }
      expect(created.details).toMatchObject({ add: 'user_access', as: 'Developer' });
      expect(updated.details).toMatchObject({
        change: 'access_level',
        from: 'Developer',
        to: 'Maintainer',
      });
      expect(destroyed.details).toMatchObject({ remove: 'user_access' });
    });

    it('records nothing for a call that fails', async () => {
      const before = (await allEvents(t)).length;
      await api(t, alice.token)
        .post(`/api/v4/groups/${group.id}/members`, { user_id: developer.id, access_level: 30 })
        .expect(409);
      await api(t, developer.token)
        .post(`/api/v4/groups/${group.id}/members`, { user_id: mallory.id, access_level: 10 })
        .expect(403);
      await api(t, alice.token).post('/api/v4/groups', { name: 'x', path: 'audited' }).expect(400);
      expect(await allEvents(t)).toHaveLength(before);
    });
  });

  describe('GET /groups/:id/audit_events and /projects/:id/audit_events', () => {
    it("lists a group's own events, newest first, in GitLab's shape", async () => {
      const res = await api(t, alice.token)
        .get(`/api/v4/groups/${group.id}/audit_events`)
        .expect(200);
      expect(names(res)).toEqual([
        'member_destroyed',
        'member_updated',
        'member_created', // bob
        'member_created', // developer
        'member_created', // maintainer
        'group_created',
      ]);
      const ids = (res.body as ApiAuditEvent[]).map((e) => e.id);
      expect(ids).toEqual([...ids].sort((x, y) => y - x));
      const [destroyed] = res.body as ApiAuditEvent[];
      expect(destroyed).toEqual({
        id: expect.any(Number),
        author_id: alice.id,
        entity_id: group.id,
        entity_type: 'Group',
        event_name: 'member_destroyed',
        details: expect.objectContaining({
          author_name: 'alice',
          ip_address: '127.0.0.1',
          entity_path: 'audited',
          target_id: bob.id,
          target_type: 'User',
          target_details: 'Bob Builder',
          remove: 'user_access',
        }),
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      });
    });

    it('reads the group by URL-encoded path too', async () => {
      const byId = await api(t, alice.token).get(`/api/v4/groups/${group.id}/audit_events`);
      const byPath = await api(t, alice.token)
        .get(`/api/v4/groups/${encoded('audited')}/audit_events`)
        .expect(200);
      expect(byPath.body).toEqual(byId.body);
    });

    it("does not mix in a subgroup's or a project's events", async () => {
      const sub = await api(t, alice.token)
        .get(`/api/v4/groups/${encoded('audited/sub')}/audit_events`)
        .expect(200);
      expect(names(sub)).toEqual(['group_created']);
      expect(sub.body[0].entity_id).toBe(subgroup.id);
      const proj = await api(t, alice.token)
        .get(`/api/v4/projects/${project.id}/audit_events`)
        .expect(200);
      expect(proj.body).toEqual([
        expect.objectContaining({
          entity_id: project.id,
          entity_type: 'Project',
          event_name: 'project_created',
          author_id: alice.id,
        }),
      ]);
      const byPath = await api(t, alice.token)
        .get(`/api/v4/projects/${encoded('audited/sub/app')}/audit_events`)
        .expect(200);
      expect(byPath.body).toEqual(proj.body);
    });

    it("paginates with GitLab's headers", async () => {
      const all = await api(t, alice.token).get(`/api/v4/groups/${group.id}/audit_events`);
      const total = all.body.length;
      const first = await api(t, alice.token)
        .get(`/api/v4/groups/${group.id}/audit_events?per_page=2`)
        .expect(200);
      expect(first.body).toEqual(all.body.slice(0, 2));
      expect(first.headers).toMatchObject({
        'x-page': '1',
        'x-per-page': '2',
        'x-total': String(total),
        'x-total-pages': String(Math.ceil(total / 2)),
        'x-next-page': '2',
        'x-prev-page': '',
      });
      expect(first.headers.link).toContain('rel="next"');
      const seen: ApiAuditEvent[] = [];
      for (let page = 1; page <= Math.ceil(total / 2); page++) {
        const res = await api(t, alice.token)
          .get(`/api/v4/groups/${group.id}/audit_events?per_page=2&page=${page}`)
          .expect(200);
        expect(res.headers['x-page']).toBe(String(page));
        seen.push(...res.body);
      }
      expect(seen).toEqual(all.body);
    });

    it('filters with created_after and created_before (inclusive)', async () => {
      const all: ApiAuditEvent[] = (
        await api(t, alice.token).get(`/api/v4/groups/${group.id}/audit_events`).expect(200)
      ).body;
      const pivot = all[Math.floor(all.length / 2)].created_at;
      const after = await api(t, alice.token)
        .get(`/api/v4/groups/${group.id}/audit_events?created_after=${pivot}`)
        .expect(200);
      expect(after.body).toEqual(all.filter((e) => e.created_at >= pivot));
      const before = await api(t, alice.token)
        .get(`/api/v4/groups/${group.id}/audit_events?created_before=${pivot}`)
        .expect(200);
      expect(before.body).toEqual(all.filter((e) => e.created_at <= pivot));
      const both = await api(t, alice.token)
        .get(
          `/api/v4/groups/${group.id}/audit_events?created_after=${pivot}&created_before=${pivot}`,
        )
        .expect(200);
      expect(both.body).toEqual(all.filter((e) => e.created_at === pivot));
      expect(both.body.length).toBeGreaterThanOrEqual(1);

      const future = await api(t, alice.token)
        .get(`/api/v4/groups/${group.id}/audit_events?created_after=2999-01-01T00:00:00Z`)
        .expect(200);
      expect(future.body).toEqual([]);
      expect(future.headers['x-total']).toBe('0');
      const past = await api(t, alice.token)
        .get(`/api/v4/groups/${group.id}/audit_events?created_before=2000-01-01`)
        .expect(200);
      expect(past.body).toEqual([]);
    });

    it('answers 400 for a date that is not a date', async () => {
      const res = await api(t, alice.token)
        .get(`/api/v4/groups/${group.id}/audit_events?created_after=yesterday`)
        .expect(400);
      expect(res.body).toEqual({ error: 'created_after is invalid' });
    });

    it('is for owners and administrators', async () => {
      const asAdmin = await api(t, t.adminToken)
        .get(`/api/v4/groups/${group.id}/audit_events`)
        .expect(200);
      const asOwner = await api(t, alice.token).get(`/api/v4/groups/${group.id}/audit_events`);
      expect(asAdmin.body).toEqual(asOwner.body);
      await api(t, t.adminToken).get(`/api/v4/projects/${project.id}/audit_events`).expect(200);
    });

    it('answers 403 to maintainers and developers', async () => {
      for (const user of [maintainer, developer]) {
        for (const path of [
          `/api/v4/groups/${group.id}/audit_events`,
          `/api/v4/projects/${project.id}/audit_events`,
        ]) {
          const res = await api(t, user.token).get(path).expect(403);
          expect(res.body).toEqual({ message: '403 Forbidden' });
        }
      }
    });

    it('answers 404 to non-members of a private group, and 401 without a token', async () => {
      const g = await api(t, mallory.token)
        .get(`/api/v4/groups/${group.id}/audit_events`)
        .expect(404);
      expect(g.body).toEqual({ message: '404 Group Not Found' });
      const p = await api(t, mallory.token)
        .get(`/api/v4/projects/${project.id}/audit_events`)
        .expect(404);
      expect(p.body).toEqual({ message: '404 Project Not Found' });
      const anonymous = await api(t).get(`/api/v4/groups/${group.id}/audit_events`).expect(401);
      expect(anonymous.body).toEqual({ message: '401 Unauthorized' });
    });

    it("lets the owner of a personal project read its events, and no one else's", async () => {
      const personal = await rest.createProject(mallory.token, 'diary');
      const res = await api(t, mallory.token)
        .get(`/api/v4/projects/${personal.id}/audit_events`)
        .expect(200);
      expect(names(res)).toEqual(['project_created']);
      await api(t, alice.token).get(`/api/v4/projects/${personal.id}/audit_events`).expect(404);
    });
  });

  describe("recording inside the host's transaction", () => {
    let audit: AuditEventsService;
    const marked = (marker: string): RecordAuditEventInput => ({
      eventType: 'group_created',
      author: { id: alice.id, name: 'alice' },
      entity: { type: 'Group', id: group.id, path: group.full_path },
      target: { type: 'Group', id: group.id, details: group.full_path },
      ipAddress: '127.0.0.1',
      message: `marker:${marker}`,
    });
    const listed = async () =>
      (
        (await api(t, alice.token).get(`/api/v4/groups/${group.id}/audit_events?per_page=100`))
          .body as ApiAuditEvent[]
      ).map((e) => e.details.custom_message);

    beforeAll(() => {
      audit = t.app.get(AuditEventsService);
    });

    it('keeps nothing of a transaction that rolls back', async () => {
      await expect(
        t.db.transaction(async (manager) => {
          await audit.record(marked('rolled-back'), { manager });
          throw new Error('rollback');
        }),
      ).rejects.toThrow('rollback');
      expect(await markedEvents(t)).not.toContain('marker:rolled-back');
      expect(await listed()).not.toContain('marker:rolled-back');
    });

    it('keeps the event of a transaction that commits', async () => {
      const saved = await t.db.transaction((manager) =>
        audit.record(marked('committed'), { manager }),
      );
      expect(await markedEvents(t)).toContain('marker:committed');
      const listing = await api(t, alice.token)
        .get(`/api/v4/groups/${group.id}/audit_events`)
        .expect(200);
      expect(listing.body[0]).toMatchObject({
        id: Number(saved.id),
        event_name: 'group_created',
        author_id: alice.id,
        details: expect.objectContaining({ custom_message: 'marker:committed' }),
      });
    });

    it('fails the transaction for an undeclared event type', async () => {
      await expect(
        t.db.transaction((manager) =>
          audit.record({ ...marked('undeclared'), eventType: 'group_exploded' }, { manager }),
        ),
      ).rejects.toThrow(
        'Validation failed: Audit event type with value group_exploded is undefined.',
      );
      expect(await markedEvents(t)).not.toContain('marker:undeclared');
    });
  });

  describe('recording outside a transaction, many at once', () => {
    const marked = (marker: string): RecordAuditEventInput => ({
      eventType: 'group_created',
      author: { id: alice.id, name: 'alice' },
      entity: { type: 'Group', id: group.id, path: group.full_path },
      message: `marker:${marker}`,
    });

    it('gives every concurrent call its own committed row and id', async () => {
      const audit = t.app.get(AuditEventsService);
      const markers = Array.from({ length: 120 }, (_, i) => `burst-${i}`);
      const saved = await Promise.all(markers.map((m) => audit.record(marked(m))));
      expect(new Set(saved.map((e) => String(e.id))).size).toBe(markers.length);
      const byId = new Map((await allEvents(t)).map((e) => [e.id, e.details.custom_message]));
      // Each caller's id is the row holding its own event.
      saved.forEach((event, i) => expect(byId.get(String(event.id))).toBe(`marker:${markers[i]}`));
    });

    it('fails only the call whose row the database refuses', async () => {
      const audit = t.app.get(AuditEventsService);
      const calls = Array.from({ length: 30 }, (_, i) =>
        i === 17
          ? // entity_type is NOT NULL: this row cannot be written.
            audit.record({
              ...marked('refused'),
              entity: { ...marked('x').entity, type: null as never },
            })
          : audit.record(marked(`beside-${i}`)),
      );
      const results = await Promise.allSettled(calls);
      expect(results.map((r) => r.status)).toEqual(
        results.map((_, i) => (i === 17 ? 'rejected' : 'fulfilled')),
      );
      const stored = await markedEvents(t);
      expect(stored).not.toContain('marker:refused');
      for (let i = 0; i < 30; i++) if (i !== 17) expect(stored).toContain(`marker:beside-${i}`);
    });
  });

  describe('the after-commit hook', () => {
    let audit: AuditEventsService;
    /** What the listener heard, and whether each event was readable from a fresh query then. */
    const heard: { marker: unknown; visible: boolean }[] = [];
    const heardMarkers = () => heard.map((h) => h.marker);
    const marked = (marker: string): RecordAuditEventInput => ({
      eventType: 'member_created',
      author: { id: alice.id, name: 'alice' },
      entity: { type: 'Group', id: group.id, path: group.full_path },
      message: `marker:${marker}`,
    });
    /** Commits a marker outside any transaction and waits for it: everything before it is heard. */
    const flush = async (name: string) => {
      await audit.record(marked(name));
      await eventually(() => expect(heardMarkers()).toContain(`marker:${name}`));
    };
    const depth = (manager: EntityManager) =>
      (manager.queryRunner as unknown as { transactionDepth: number }).transactionDepth;

    beforeAll(() => {
      audit = t.app.get(AuditEventsService);
      t.app.get(AuditEventCommits).onCommitted(async (events) => {
        for (const event of events) {
          const row = await t.db.getRepository(AuditEvent).findOneBy({ id: event.id });
          heard.push({ marker: event.details.custom_message, visible: !!row });
        }
      });
    });

    it('hears an event recorded outside a transaction', async () => {
      await flush('no-transaction');
      expect(heard.find((h) => h.marker === 'marker:no-transaction')?.visible).toBe(true);
    });

    it('hears a committed event only after the commit', async () => {
      await t.db.transaction(async (manager) => {
        await audit.record(marked('after-commit'), { manager });
        await settle();
        expect(heardMarkers()).not.toContain('marker:after-commit');
      });
      await eventually(() => expect(heardMarkers()).toContain('marker:after-commit'));
      expect(heard.find((h) => h.marker === 'marker:after-commit')?.visible).toBe(true);
    });

    it('never hears a rolled-back event', async () => {
      await expect(
        t.db.transaction(async (manager) => {
          await audit.record(marked('rolled-back'), { manager });
          throw new Error('rollback');
        }),
      ).rejects.toThrow('rollback');
      await flush('after-rollback');
      expect(heardMarkers()).not.toContain('marker:rolled-back');
    });

    it('never hears an event of a rolled-back savepoint inside a committed transaction', async () => {
      await t.db.transaction(async (outer) => {
        await audit.record(marked('outer-first'), { manager: outer });
        await expect(
          outer.transaction(async (inner) => {
            // TypeORM nests on the same connection, as a savepoint.
            expect(inner.queryRunner).toBe(outer.queryRunner);
            expect(depth(inner)).toBe(2);
            await audit.record(marked('savepoint-rolled-back'), { manager: inner });
            throw new Error('rollback to savepoint');
          }),
        ).rejects.toThrow('rollback to savepoint');
        expect(depth(outer)).toBe(1);
        await outer.transaction((inner) =>
          audit.record(marked('savepoint-released'), { manager: inner }),
        );
        await audit.record(marked('outer-last'), { manager: outer });
        await settle();
        expect(heardMarkers()).not.toContain('marker:outer-first');
        expect(heardMarkers()).not.toContain('marker:savepoint-released');
      });
      await eventually(() => expect(heardMarkers()).toContain('marker:outer-last'));
      await flush('after-savepoints');

      // The savepoint's rollback undid only its own write: the outer transaction went on.
      const stored = await markedEvents(t);
      expect(stored).toEqual(
        expect.arrayContaining([
          'marker:outer-first',
          'marker:savepoint-released',
          'marker:outer-last',
        ]),
      );
      expect(stored).not.toContain('marker:savepoint-rolled-back');
      expect(heardMarkers()).toEqual(
        expect.arrayContaining([
          'marker:outer-first',
          'marker:savepoint-released',
          'marker:outer-last',
        ]),
      );
      expect(heardMarkers()).not.toContain('marker:savepoint-rolled-back');
      for (const h of heard) expect(h.visible).toBe(true);
    });

    it('never hears anything of an outer rollback, even from a released savepoint', async () => {
      await expect(
        t.db.transaction(async (outer) => {
          await outer.transaction((inner) =>
            audit.record(marked('released-then-outer-rolled-back'), { manager: inner }),
          );
          throw new Error('rollback');
        }),
      ).rejects.toThrow('rollback');
      await flush('after-outer-rollback');
      expect(heardMarkers()).not.toContain('marker:released-then-outer-rolled-back');
      expect(await markedEvents(t)).not.toContain('marker:released-then-outer-rolled-back');
    });
  });
});
