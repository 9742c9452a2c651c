import { startTestApp, TestApp } from './support/app';

describe.each(['postgres', 'sqlite'] as const)('smoke on %s', (database) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ database });
  });
  afterAll(() => t?.close());

  it('serves REST and GraphQL', async () => {
    const me = await t.http().get('/api/v4/user').set('PRIVATE-TOKEN', t.adminToken).expect(200);
    expect(me.body.username).toBe('root');
    const res = await t.graphql('{ currentUser { id username } }');
    expect(res.body).toEqual({
      data: { currentUser: { id: `gid://gitlab/User/${me.body.id}`, username: 'root' } },
    });
  });
});
