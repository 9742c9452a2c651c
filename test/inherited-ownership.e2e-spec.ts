import { startTestApp, TestApp } from './support/app';
import { api, DEVELOPER, encoded, GUEST, MAINTAINER, OWNER } from './support/api';
import { Rest } from './support/rest';

type User = { id: number; username: string; token: string };
type Group = { id: number; full_path: string };

const FORBIDDEN = { message: '403 Forbidden' };

/**
 * Access is inherited down the group tree, as in GitLab: a membership of `a` counts on `a/b` and
 * `a/b/c` and their projects, with the same level.
 */
describe.each(['postgres', 'sqlite'] as const)('inherited access on %s', (database) => {
  let t: TestApp;
  let rest: Rest;
  let creator: User; // creates the tree; owner of `a` directly
  let owner: User; // owner of `a` only
  let maintainer: User; // maintainer of `a` only
  let developer: User; // developer of `a` only
  let subOwner: User; // owner of `a/b` only
  let newcomer: User;
  let a: Group;
  let b: Group;
  let c: Group;
  let project: { id: number; path_with_namespace: string };

  beforeAll(async () => {
    t = await startTestApp({ database });
    rest = new Rest(t);
    creator = await rest.createUser('creator');
    owner = await rest.createUser('owner');
    maintainer = await rest.createUser('maintainer');
    developer = await rest.createUser('developer');
    subOwner = await rest.createUser('sub-owner');
    newcomer = await rest.createUser('newcomer');
    a = await rest.createGroup(creator.token, 'a');
    b = await rest.createGroup(creator.token, 'b', a.id);
    c = await rest.createGroup(creator.token, 'c', b.id);
    project = await rest.createProject(creator.token, 'app', c.id);
    await rest.addMember(creator.token, a.id, owner.id, OWNER);
    await rest.addMember(creator.token, a.id, maintainer.id, MAINTAINER);
    await rest.addMember(creator.token, a.id, developer.id, DEVELOPER);
    await rest.addMember(creator.token, b.id, subOwner.id, OWNER);
  });
  afterAll(() => t?.close());

  describe('an owner of a', () => {
    it('is not a direct member of a/b/c', async () => {
      const members = await api(t, owner.token).get(`/api/v4/groups/${c.id}/members`).expect(200);
      expect(members.body.map((m: { id: number }) => m.id)).not.toContain(owner.id);
    });

    it('reads a/b/c and its project', async () => {
      const group = await api(t, owner.token)
        .get(`/api/v4/groups/${encoded('a/b/c')}`)
        .expect(200);
      expect(group.body.id).toBe(c.id);
      await api(t, owner.token).get(`/api/v4/projects/${project.id}`).expect(200);
    });

    it('adds, changes and removes members of a/b/c', async () => {
      await api(t, owner.token)
        .post(`/api/v4/groups/${c.id}/members`, { user_id: newcomer.id, access_level: OWNER })
        .expect(201);
      await api(t, owner.token)
        .put(`/api/v4/groups/${c.id}/members/${newcomer.id}`, { access_level: GUEST })
        .expect(200);
      await api(t, owner.token).delete(`/api/v4/groups/${c.id}/members/${newcomer.id}`).expect(204);
    });

    it("reads a/b/c's audit events and its project's", async () => {
      const group = await api(t, owner.token)
        .get(`/api/v4/groups/${c.id}/audit_events`)
        .expect(200);
      expect(group.body.map((e: { event_name: string }) => e.event_name)).toContain(
        'group_created',
      );
      const proj = await api(t, owner.token)
        .get(`/api/v4/projects/${project.id}/audit_events`)
        .expect(200);
      expect(proj.body.map((e: { event_name: string }) => e.event_name)).toEqual([
        'project_created',
      ]);
    });

    it('creates a subgroup under a/b', async () => {
      const res = await api(t, owner.token)
        .post('/api/v4/groups', { name: 'by-owner', path: 'by-owner', parent_id: b.id })
        .expect(201);
      expect(res.body.full_path).toBe('a/b/by-owner');
    });
  });

  describe('a maintainer of a', () => {
    it('creates a subgroup under a/b (GitLab default: maintainers may)', async () => {
      const res = await api(t, maintainer.token)
        .post('/api/v4/groups', { name: 'by-maintainer', path: 'by-maintainer', parent_id: b.id })
        .expect(201);
      expect(res.body.full_path).toBe('a/b/by-maintainer');
    });

    it("cannot read a/b/c's audit events: 403", async () => {
      const group = await api(t, maintainer.token)
        .get(`/api/v4/groups/${c.id}/audit_events`)
        .expect(403);
      expect(group.body).toEqual(FORBIDDEN);
      const proj = await api(t, maintainer.token)
        .get(`/api/v4/projects/${project.id}/audit_events`)
        .expect(403);
      expect(proj.body).toEqual(FORBIDDEN);
    });

    it('cannot add an owner to a/b/c', async () => {
      const res = await api(t, maintainer.token)
        .post(`/api/v4/groups/${c.id}/members`, { user_id: newcomer.id, access_level: OWNER })
        .expect(403);
      expect(res.body).toEqual(FORBIDDEN);
    });
  });

  describe('a developer of a', () => {
    it('reads a/b/c', async () => {
      await api(t, developer.token).get(`/api/v4/groups/${c.id}`).expect(200);
    });

    it('cannot add members to a/b/c: 403', async () => {
      const res = await api(t, developer.token)
        .post(`/api/v4/groups/${c.id}/members`, { user_id: newcomer.id, access_level: GUEST })
        .expect(403);
      expect(res.body).toEqual(FORBIDDEN);
    });

    it("cannot read a/b/c's audit events: 403", async () => {
      const res = await api(t, developer.token)
        .get(`/api/v4/groups/${c.id}/audit_events`)
        .expect(403);
      expect(res.body).toEqual(FORBIDDEN);
    });

    it('cannot create a subgroup under a/b: 403', async () => {
      const res = await api(t, developer.token)
        .post('/api/v4/groups', { name: 'by-dev', path: 'by-dev', parent_id: b.id })
        .expect(403);
      expect(res.body).toEqual(FORBIDDEN);
    });
  });

  describe('an owner of a/b', () => {
    it('owns a/b/c', async () => {
      await api(t, subOwner.token).get(`/api/v4/groups/${c.id}/audit_events`).expect(200);
      await api(t, subOwner.token)
        .post(`/api/v4/groups/${c.id}/members`, { user_id: newcomer.id, access_level: DEVELOPER })
        .expect(201);
    });

    it('gains nothing on a: ownership flows down, never up', async () => {
      const events = await api(t, subOwner.token).get(`/api/v4/groups/${a.id}/audit_events`);
      expect([403, 404]).toContain(events.status);
      const add = await api(t, subOwner.token).post(`/api/v4/groups/${a.id}/members`, {
        user_id: newcomer.id,
        access_level: GUEST,
      });
      expect([403, 404]).toContain(add.status);
      const members = await api(t, creator.token).get(`/api/v4/groups/${a.id}/members`).expect(200);
      expect(members.body.map((m: { id: number }) => m.id)).not.toContain(newcomer.id);
    });
  });
});
