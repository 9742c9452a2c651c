import { createHash } from 'node:crypto';
import type { Response } from 'supertest';
import { startTestApp, TestApp } from './support/app';
import { api, DEVELOPER, encoded, GUEST, MAINTAINER, OWNER, REPORTER } from './support/api';
import { Rest } from './support/rest';

type User = { id: number; username: string; token: string };

const NOT_FOUND_GROUP = { message: '404 Group Not Found' };
const NOT_FOUND_PROJECT = { message: '404 Project Not Found' };
const UNAUTHORIZED = { message: '401 Unauthorized' };
const FORBIDDEN = { message: '403 Forbidden' };

/** GitLab's pagination headers of a list response, as a client reads them. */
function pagination(res: Response) {
  return {
    page: res.headers['x-page'],
    perPage: res.headers['x-per-page'],
    total: res.headers['x-total'],
    totalPages: res.headers['x-total-pages'],
    nextPage: res.headers['x-next-page'],
    prevPage: res.headers['x-prev-page'],
  };
}

/** `Link: <url>; rel="next", ...` as `{ next: { page, per_page }, ... }`. */
function links(res: Response): Record<string, { page: string | null; perPage: string | null }> {
  const out: Record<string, { page: string | null; perPage: string | null }> = {};
  for (const part of String(res.headers.link ?? '').split(', ')) {
    const m = /^<([^>]+)>; rel="(\w+)"$/.exec(part);
    if (!m) continue;
    const url = new URL(m[1]);
    out[m[2]] = { page: url.searchParams.get('page'), perPage: url.searchParams.get('per_page') };
  }
  return out;
}

describe.each(['postgres', 'sqlite'] as const)('GitLab REST v4 subset on %s', (database) => {
  let t: TestApp;
  let rest: Rest;
  let alice: User; // creates and owns the groups
  let mallory: User; // a member of nothing
  let dave: User; // has a personal project

  beforeAll(async () => {
    t = await startTestApp({ database });
    rest = new Rest(t);
    alice = await rest.createUser('alice');
    mallory = await rest.createUser('mallory');
    dave = await rest.createUser('dave');
  });
  afterAll(() => t?.close());

  describe('personal access tokens', () => {
    it('are accepted in the PRIVATE-TOKEN header', async () => {
      const res = await t.http().get('/api/v4/user').set('PRIVATE-TOKEN', alice.token).expect(200);
      expect(res.body.username).toBe('alice');
    });

    it('are accepted as Authorization: Bearer', async () => {
      const res = await t
        .http()
        .get('/api/v4/user')
        .set('Authorization', `Bearer ${alice.token}`)
        .expect(200);
      expect(res.body.username).toBe('alice');
    });

    it('answer 401 for a token that does not exist, on every route', async () => {
      const bad = 'glpat-not-a-real-token-000';
      for (const path of [
        '/api/v4/user',
        '/api/v4/groups',
        '/api/v4/groups/1',
        '/api/v4/projects/1',
      ]) {
        const res = await api(t, bad).get(path).expect(401);
        expect(res.body).toEqual(UNAUTHORIZED);
      }
      const post = await api(t, bad).post('/api/v4/groups', { name: 'x', path: 'x' }).expect(401);
      expect(post.body).toEqual(UNAUTHORIZED);
      const bearer = await t
        .http()
        .get('/api/v4/groups')
        .set('Authorization', `Bearer ${bad}`)
        .expect(401);
      expect(bearer.body).toEqual(UNAUTHORIZED);
    });

    it('are stored hashed, never in plain text', async () => {
      const rows: { token_digest: string }[] = await t.db.query(
        'SELECT token_digest FROM personal_access_tokens',
      );
      expect(rows.length).toBeGreaterThanOrEqual(4); // root's and the three users'
      const stored = rows.map((r) => r.token_digest);
      for (const token of [t.adminToken, alice.token, mallory.token, dave.token]) {
        expect(stored).not.toContain(token);
        expect(stored.some((s) => s.includes(token))).toBe(false);
        expect(stored).toContain(createHash('sha256').update(token).digest('hex'));
      }
      const dump = JSON.stringify(await t.db.query('SELECT * FROM personal_access_tokens'));
      expect(dump).not.toContain(alice.token);
    });
  });

  describe('the current user', () => {
    it('GET /user answers the caller in GitLab shape', async () => {
      const res = await api(t, alice.token).get('/api/v4/user').expect(200);
      expect(res.body).toMatchObject({
        id: alice.id,
        username: 'alice',
        name: 'alice',
        state: 'active',
        email: 'alice@example.com',
        is_admin: false,
        web_url: `${t.url}/alice`,
      });
    });

    it('GET /user without a token is 401', async () => {
      const res = await api(t).get('/api/v4/user').expect(401);
      expect(res.body).toEqual(UNAUTHORIZED);
    });
  });

  describe('creating users', () => {
    it('is for administrators: 403 for anyone else', async () => {
      const res = await api(t, alice.token)
        .post('/api/v4/users', { username: 'eve', name: 'Eve', email: 'eve@example.com' })
        .expect(403);
      expect(res.body).toEqual(FORBIDDEN);
    });

    it('names every missing parameter', async () => {
      const res = await api(t, t.adminToken).post('/api/v4/users', {}).expect(400);
      expect(res.body).toEqual({ error: 'email is missing, name is missing, username is missing' });
    });

    it('creates a user for an administrator', async () => {
      const res = await api(t, t.adminToken)
        .post('/api/v4/users', { username: 'erin', name: 'Erin', email: 'erin@example.com' })
        .expect(201);
      expect(res.body).toMatchObject({ username: 'erin', name: 'Erin', email: 'erin@example.com' });
      expect(res.body.id).toEqual(expect.any(Number));
    });
  });

  describe('groups', () => {
    let acme: Response;
    let platform: Response;

    beforeAll(async () => {
      acme = await api(t, alice.token).post('/api/v4/groups', { name: 'Acme', path: 'acme_corp' });
      platform = await api(t, alice.token).post('/api/v4/groups', {
        name: 'Platform',
        path: 'platform',
        parent_id: acme.body.id,
      });
    });

    it('creates a private top-level group, owned by its creator', async () => {
      expect(acme.status).toBe(201);
      expect(acme.body).toMatchObject({
        id: expect.any(Number),
        name: 'Acme',
        path: 'acme_corp',
        full_path: 'acme_corp',
        full_name: 'Acme',
        parent_id: null,
        visibility: 'private',
        web_url: `${t.url}/groups/acme_corp`,
      });
      const members = await api(t, alice.token)
        .get(`/api/v4/groups/${acme.body.id}/members`)
        .expect(200);
      expect(members.body).toEqual([
        expect.objectContaining({ id: alice.id, username: 'alice', access_level: OWNER }),
      ]);
    });

    it('creates a subgroup under its parent', async () => {
      expect(platform.status).toBe(201);
      expect(platform.body).toMatchObject({
        name: 'Platform',
        path: 'platform',
        full_path: 'acme_corp/platform',
        full_name: 'Acme / Platform',
        parent_id: acme.body.id,
      });
    });

    it('reads a group by numeric id and by URL-encoded full path', async () => {
      const byId = await api(t, alice.token).get(`/api/v4/groups/${platform.body.id}`).expect(200);
      const byPath = await api(t, alice.token)
        .get('/api/v4/groups/acme_corp%2Fplatform')
        .expect(200);
      expect(byId.body).toEqual(platform.body);
      expect(byPath.body).toEqual(platform.body);
      const top = await api(t, alice.token)
        .get(`/api/v4/groups/${encoded('acme_corp')}`)
        .expect(200);
      expect(top.body.id).toBe(acme.body.id);
    });

    it('matches full paths without regard to case, as GitLab does', async () => {
      const res = await api(t, alice.token)
        .get(`/api/v4/groups/${encoded('ACME_Corp/Platform')}`)
        .expect(200);
      expect(res.body.id).toBe(platform.body.id);
      const gql = await t.graphql('{ group(fullPath: "Acme_Corp") { fullPath } }', {}, alice.token);
      expect(gql.body.data.group).toEqual({ fullPath: 'acme_corp' });
    });

    it('lists subgroups', async () => {
      const res = await api(t, alice.token)
        .get(`/api/v4/groups/${acme.body.id}/subgroups`)
        .expect(200);
      expect(res.body.map((g: { full_path: string }) => g.full_path)).toEqual([
        'acme_corp/platform',
      ]);
      expect(pagination(res)).toMatchObject({ total: '1', page: '1' });
    });

    it('answers 404 Group Not Found for an unknown id or path', async () => {
      for (const ref of ['999999', 'no-such-group', encoded('acme_corp/nope')]) {
        const res = await api(t, alice.token).get(`/api/v4/groups/${ref}`).expect(404);
        expect(res.body).toEqual(NOT_FOUND_GROUP);
      }
    });

    it('answers 404 for a private group the caller cannot see, as for a missing one', async () => {
      for (const ref of [acme.body.id, platform.body.id, encoded('acme_corp/platform')]) {
        const asMallory = await api(t, mallory.token).get(`/api/v4/groups/${ref}`).expect(404);
        expect(asMallory.body).toEqual(NOT_FOUND_GROUP);
        const anonymous = await api(t).get(`/api/v4/groups/${ref}`).expect(404);
        expect(anonymous.body).toEqual(NOT_FOUND_GROUP);
      }
      const subgroups = await api(t, mallory.token)
        .get(`/api/v4/groups/${acme.body.id}/subgroups`)
        .expect(404);
      expect(subgroups.body).toEqual(NOT_FOUND_GROUP);
    });

    it('answers 400 naming the missing parameters', async () => {
      const res = await api(t, alice.token).post('/api/v4/groups', {}).expect(400);
      expect(res.body).toEqual({ error: 'name is missing, path is missing' });
      const noPath = await api(t, alice.token).post('/api/v4/groups', { name: 'x' }).expect(400);
      expect(noPath.body).toEqual({ error: 'path is missing' });
    });

    it('answers 400 for a path that is already taken', async () => {
      const top = await api(t, mallory.token)
        .post('/api/v4/groups', { name: 'Acme', path: 'acme_corp' })
        .expect(400);
      expect(top.body).toEqual({ message: { path: ['has already been taken'] } });
      const sub = await api(t, alice.token)
        .post('/api/v4/groups', { name: 'P', path: 'platform', parent_id: acme.body.id })
        .expect(400);
      expect(sub.body).toEqual({ message: { path: ['has already been taken'] } });
    });

    it('answers 404 for a subgroup under a parent the caller cannot see', async () => {
      const res = await api(t, mallory.token)
        .post('/api/v4/groups', { name: 'x', path: 'x', parent_id: acme.body.id })
        .expect(404);
      expect(res.body).toEqual({ message: '404 Parent Group Not Found' });
    });

    it('needs a token to create a group', async () => {
      const res = await api(t).post('/api/v4/groups', { name: 'x', path: 'x' }).expect(401);
      expect(res.body).toEqual(UNAUTHORIZED);
    });
  });

  describe('listing groups', () => {
    // alice: `list_ing` (private) and its subgroup `list_ing/sub`; reader: a guest of `list_ing`
    // only; mallory: `hidden` (private) and `open` (public).
    let reader: User;

    beforeAll(async () => {
      const listing = await rest.createGroup(alice.token, 'list_ing');
      await rest.createGroup(alice.token, 'sub', listing.id);
      reader = await rest.createUser('reader');
      await rest.addMember(alice.token, listing.id, reader.id, GUEST);
      await rest.createGroup(mallory.token, 'hidden');
      await api(t, mallory.token)
        .post('/api/v4/groups', { name: 'open', path: 'open', visibility: 'public' })
        .expect(201);
    });

    const paths = (res: Response) => res.body.map((g: { full_path: string }) => g.full_path);

    it('shows a member the groups they belong to (and below), and public ones', async () => {
      const res = await api(t, alice.token).get('/api/v4/groups?per_page=100').expect(200);
      expect(paths(res)).toEqual(expect.arrayContaining(['list_ing', 'list_ing/sub', 'open']));
      expect(paths(res)).not.toContain('hidden');
    });

    it('shows a member of a parent group its subgroups (membership is inherited)', async () => {
      const res = await api(t, reader.token).get('/api/v4/groups?per_page=100').expect(200);
      expect(paths(res)).toEqual(['list_ing', 'list_ing/sub', 'open']);
    });

    it('never shows a private group to a non-member', async () => {
      const res = await api(t, mallory.token).get('/api/v4/groups?per_page=100').expect(200);
      expect(paths(res)).toEqual(expect.arrayContaining(['hidden', 'open']));
      expect(paths(res)).not.toContain('list_ing');
      expect(paths(res)).not.toContain('list_ing/sub');
      const anonymous = await api(t).get('/api/v4/groups?per_page=100').expect(200);
      expect(paths(anonymous)).toEqual(['open']);
    });

    it('shows an administrator every group', async () => {
      const res = await api(t, t.adminToken).get('/api/v4/groups?per_page=100').expect(200);
      expect(paths(res)).toEqual(
        expect.arrayContaining(['hidden', 'list_ing', 'list_ing/sub', 'open']),
      );
    });

    it("paginates with GitLab's headers", async () => {
      const all = await api(t, alice.token).get('/api/v4/groups?per_page=100').expect(200);
      const total = all.body.length;
      expect(total).toBeGreaterThanOrEqual(3);

      const first = await api(t, alice.token).get('/api/v4/groups?per_page=1').expect(200);
      expect(first.body).toHaveLength(1);
      expect(pagination(first)).toEqual({
        page: '1',
        perPage: '1',
        total: String(total),
        totalPages: String(total),
        nextPage: '2',
        prevPage: '',
      });
      expect(links(first)).toEqual({
        next: { page: '2', perPage: '1' },
        first: { page: '1', perPage: '1' },
        last: { page: String(total), perPage: '1' },
      });

      const second = await api(t, alice.token).get('/api/v4/groups?per_page=1&page=2').expect(200);
      expect(pagination(second)).toMatchObject({ page: '2', nextPage: '3', prevPage: '1' });
      expect(links(second)).toMatchObject({
        prev: { page: '1', perPage: '1' },
        next: { page: '3', perPage: '1' },
      });

      const last = await api(t, alice.token)
        .get(`/api/v4/groups?per_page=1&page=${total}`)
        .expect(200);
      expect(pagination(last)).toMatchObject({ nextPage: '', prevPage: String(total - 1) });
      expect(links(last).next).toBeUndefined();

      const pages: string[] = [];
      for (let page = 1; page <= total; page++) {
        const res = await api(t, alice.token)
          .get(`/api/v4/groups?per_page=1&page=${page}`)
          .expect(200);
        pages.push(...paths(res));
      }
      expect(pages).toEqual(paths(all));
    });

    it('answers 400 for a page that is not a positive number', async () => {
      const res = await api(t, alice.token).get('/api/v4/groups?page=0').expect(400);
      expect(res.body).toEqual({ error: 'page is invalid' });
    });
  });

  describe('projects', () => {
    let group: { id: number; full_path: string };
    let inGroup: Response;
    let personal: Response;

    beforeAll(async () => {
      const top = await rest.createGroup(alice.token, 'projects-top');
      group = await rest.createGroup(alice.token, 'sub', top.id);
      inGroup = await api(t, alice.token).post('/api/v4/projects', {
        name: 'API',
        path: 'api',
        namespace_id: group.id,
      });
      personal = await api(t, dave.token).post('/api/v4/projects', {
        name: 'Notes',
        path: 'notes',
      });
    });

    it('creates a project in a subgroup', async () => {
      expect(inGroup.status).toBe(201);
      expect(inGroup.body).toMatchObject({
        id: expect.any(Number),
        name: 'API',
        path: 'api',
        path_with_namespace: 'projects-top/sub/api',
        visibility: 'private',
        creator_id: alice.id,
        namespace: { id: group.id, kind: 'group', full_path: 'projects-top/sub' },
      });
    });

    it("creates a project in the caller's personal namespace", async () => {
      expect(personal.status).toBe(201);
      expect(personal.body).toMatchObject({
        path_with_namespace: 'dave/notes',
        namespace: { kind: 'user', full_path: 'dave' },
        creator_id: dave.id,
      });
    });

    it('reads a project by id and by URL-encoded path', async () => {
      const byId = await api(t, alice.token).get(`/api/v4/projects/${inGroup.body.id}`).expect(200);
      const byPath = await api(t, alice.token)
        .get('/api/v4/projects/projects-top%2Fsub%2Fapi')
        .expect(200);
      expect(byId.body).toEqual(inGroup.body);
      expect(byPath.body).toEqual(inGroup.body);
      const mine = await api(t, dave.token).get(`/api/v4/projects/${encoded('dave/notes')}`);
      expect(mine.status).toBe(200);
      expect(mine.body.id).toBe(personal.body.id);
    });

    it('answers 404 Project Not Found for a missing or private project', async () => {
      for (const [token, ref] of [
        [alice.token, '999999'],
        [alice.token, encoded('projects-top/sub/nope')],
        [mallory.token, String(inGroup.body.id)],
        [mallory.token, encoded('projects-top/sub/api')],
        [alice.token, String(personal.body.id)],
        [null, String(inGroup.body.id)],
      ]) {
        const res = await api(t, token).get(`/api/v4/projects/${ref}`).expect(404);
        expect(res.body).toEqual(NOT_FOUND_PROJECT);
      }
    });

    it('answers 400 when neither name nor path is given', async () => {
      const res = await api(t, alice.token).post('/api/v4/projects', {}).expect(400);
      expect(res.body).toEqual({
        error: 'name, path are missing, at least one parameter must be provided',
      });
    });

    it('answers 400 for a path already taken in the namespace', async () => {
      const res = await api(t, alice.token)
        .post('/api/v4/projects', { name: 'API', path: 'api', namespace_id: group.id })
        .expect(400);
      expect(res.body).toEqual({ message: { path: ['has already been taken'] } });
    });
  });

  describe('members', () => {
    let top: { id: number; full_path: string };
    let sub: { id: number; full_path: string };
    const users: Record<number, User> = {};
    let newcomer: User;

    beforeAll(async () => {
      top = await rest.createGroup(alice.token, 'members-top');
      sub = await rest.createGroup(alice.token, 'sub', top.id);
      for (const level of [GUEST, REPORTER, DEVELOPER, MAINTAINER, OWNER]) {
        users[level] = await rest.createUser(`member-${level}`);
      }
      newcomer = await rest.createUser('newcomer');
    });

    it('adds a member at every access level', async () => {
      for (const level of [GUEST, REPORTER, DEVELOPER, MAINTAINER, OWNER]) {
        const res = await api(t, alice.token)
          .post(`/api/v4/groups/${top.id}/members`, {
            user_id: users[level].id,
            access_level: level,
          })
          .expect(201);
        expect(res.body).toMatchObject({
          id: users[level].id,
          username: `member-${level}`,
          access_level: level,
          expires_at: null,
          state: 'active',
        });
      }
    });

    it('adds a member to a subgroup, addressed by encoded path', async () => {
      const res = await api(t, alice.token)
        .post(`/api/v4/groups/${encoded(sub.full_path)}/members`, {
          user_id: newcomer.id,
          access_level: DEVELOPER,
        })
        .expect(201);
      expect(res.body).toMatchObject({ id: newcomer.id, access_level: DEVELOPER });
    });

    it('lists the direct members of a group', async () => {
      const res = await api(t, alice.token).get(`/api/v4/groups/${top.id}/members`).expect(200);
      expect(
        res.body.map((m: { username: string; access_level: number }) => [
          m.username,
          m.access_level,
        ]),
      ).toEqual([
        ['alice', OWNER],
        ['member-10', GUEST],
        ['member-20', REPORTER],
        ['member-30', DEVELOPER],
        ['member-40', MAINTAINER],
        ['member-50', OWNER],
      ]);
      expect(pagination(res)).toMatchObject({ total: '6', totalPages: '1' });
      const subMembers = await api(t, alice.token)
        .get(`/api/v4/groups/${sub.id}/members`)
        .expect(200);
      expect(subMembers.body.map((m: { username: string }) => m.username)).toEqual([
        'alice',
        'newcomer',
      ]);
    });

    it('lets any member read the member list; 404 for a non-member', async () => {
      await api(t, users[GUEST].token).get(`/api/v4/groups/${top.id}/members`).expect(200);
      const res = await api(t, mallory.token).get(`/api/v4/groups/${top.id}/members`).expect(404);
      expect(res.body).toEqual(NOT_FOUND_GROUP);
    });

    it('updates a member (PUT)', async () => {
      const res = await api(t, alice.token)
        .put(`/api/v4/groups/${top.id}/members/${users[GUEST].id}`, { access_level: REPORTER })
        .expect(200);
      expect(res.body).toMatchObject({ id: users[GUEST].id, access_level: REPORTER });
      const list = await api(t, alice.token).get(`/api/v4/groups/${top.id}/members`).expect(200);
      expect(list.body.find((m: { id: number }) => m.id === users[GUEST].id).access_level).toBe(
        REPORTER,
      );
    });

    it('removes a member (DELETE answers 204)', async () => {
      const res = await api(t, alice.token)
        .delete(`/api/v4/groups/${sub.id}/members/${newcomer.id}`)
        .expect(204);
      expect(res.text).toBe('');
      const list = await api(t, alice.token).get(`/api/v4/groups/${sub.id}/members`).expect(200);
      expect(list.body.map((m: { id: number }) => m.id)).not.toContain(newcomer.id);
      const again = await api(t, alice.token)
        .delete(`/api/v4/groups/${sub.id}/members/${newcomer.id}`)
        .expect(404);
      expect(again.body).toEqual({ message: '404 Member Not Found' });
    });

    it('answers 409 Member already exists', async () => {
      const res = await api(t, alice.token)
        .post(`/api/v4/groups/${top.id}/members`, {
          user_id: users[DEVELOPER].id,
          access_level: 30,
        })
        .expect(409);
      expect(res.body).toEqual({ message: 'Member already exists' });
    });

    it('answers 400 for missing parameters and an invalid access level', async () => {
      const missing = await api(t, alice.token)
        .post(`/api/v4/groups/${top.id}/members`, {})
        .expect(400);
      expect(missing.body).toEqual({ error: 'user_id is missing, access_level is missing' });
      const invalid = await api(t, alice.token)
        .post(`/api/v4/groups/${top.id}/members`, { user_id: newcomer.id, access_level: 35 })
        .expect(400);
      expect(invalid.body).toEqual({ error: 'access_level does not have a valid value' });
      const invalidUpdate = await api(t, alice.token)
        .put(`/api/v4/groups/${top.id}/members/${users[DEVELOPER].id}`, { access_level: 'admin' })
        .expect(400);
      expect(invalidUpdate.body).toEqual({ error: 'access_level does not have a valid value' });
    });

    it('answers 404 User Not Found for an unknown user', async () => {
      const res = await api(t, alice.token)
        .post(`/api/v4/groups/${top.id}/members`, { user_id: 999999, access_level: GUEST })
        .expect(404);
      expect(res.body).toEqual({ message: '404 User Not Found' });
    });

    it('answers 403 to a developer adding, changing or removing members', async () => {
      const dev = users[DEVELOPER].token;
      const add = await api(t, dev)
        .post(`/api/v4/groups/${top.id}/members`, { user_id: newcomer.id, access_level: GUEST })
        .expect(403);
      expect(add.body).toEqual(FORBIDDEN);
      const put = await api(t, dev)
        .put(`/api/v4/groups/${top.id}/members/${users[REPORTER].id}`, { access_level: GUEST })
        .expect(403);
      expect(put.body).toEqual(FORBIDDEN);
      const del = await api(t, dev)
        .delete(`/api/v4/groups/${top.id}/members/${users[REPORTER].id}`)
        .expect(403);
      expect(del.body).toEqual(FORBIDDEN);
    });

    it('lets a maintainer add members up to maintainer, not owners', async () => {
      const maintainer = users[MAINTAINER].token;
      const owner = await api(t, maintainer)
        .post(`/api/v4/groups/${top.id}/members`, { user_id: newcomer.id, access_level: OWNER })
        .expect(403);
      expect(owner.body).toEqual(FORBIDDEN);
      await api(t, maintainer)
        .post(`/api/v4/groups/${top.id}/members`, { user_id: newcomer.id, access_level: GUEST })
        .expect(201);
    });

    it('answers 404 to a non-member managing members of a private group', async () => {
      const res = await api(t, mallory.token)
        .post(`/api/v4/groups/${top.id}/members`, { user_id: mallory.id, access_level: OWNER })
        .expect(404);
      expect(res.body).toEqual(NOT_FOUND_GROUP);
    });

    it('answers 403 to a non-owner reading audit events', async () => {
      for (const level of [GUEST, REPORTER, DEVELOPER, MAINTAINER]) {
        const res = await api(t, users[level].token)
          .get(`/api/v4/groups/${top.id}/audit_events`)
          .expect(403);
        expect(res.body).toEqual(FORBIDDEN);
      }
      await api(t, users[OWNER].token).get(`/api/v4/groups/${top.id}/audit_events`).expect(200);
    });
  });
});
