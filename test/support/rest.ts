import type { TestApp } from './app';

/** Small REST helpers for arranging a scene through the host's own API, as a user would. */
export class Rest {
  constructor(private readonly t: TestApp) {}

  async createUser(username: string): Promise<{ id: number; username: string; token: string }> {
    const user = await this.t
      .http()
      .post('/api/v4/users')
      .set('PRIVATE-TOKEN', this.t.adminToken)
      .send({
        username,
        name: username,
        email: `${username}@example.com`,
        password: 'password-123456',
      })
      .expect(201);
    const pat = await this.t
      .http()
      .post(`/api/v4/users/${user.body.id}/personal_access_tokens`)
      .set('PRIVATE-TOKEN', this.t.adminToken)
      .send({ name: 'test', scopes: ['api'] })
      .expect(201);
    return { id: user.body.id, username, token: pat.body.token };
  }

  async createGroup(
    token: string,
    path: string,
    parentId?: number,
  ): Promise<{ id: number; full_path: string }> {
    const res = await this.t
      .http()
      .post('/api/v4/groups')
      .set('PRIVATE-TOKEN', token)
      .send({ name: path, path, ...(parentId ? { parent_id: parentId } : {}) })
      .expect(201);
    return res.body;
  }

  async createProject(
    token: string,
    path: string,
    namespaceId?: number,
  ): Promise<{ id: number; path_with_namespace: string }> {
    const res = await this.t
      .http()
      .post('/api/v4/projects')
      .set('PRIVATE-TOKEN', token)
      .send({ name: path, path, ...(namespaceId ? { namespace_id: namespaceId } : {}) })
      .expect(201);
    return res.body;
  }

  async addMember(
    token: string,
    groupId: number,
    userId: number,
    accessLevel: number,
  ): Promise<void> {
    await this.t
      .http()
      .post(`/api/v4/groups/${groupId}/members`)
      .set('PRIVATE-TOKEN', token)
      .send({ user_id: userId, access_level: accessLevel })
      .expect(201);
  }
}
