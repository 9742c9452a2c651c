import { api, DEVELOPER } from './support/api';
import { startTestApp, TestApp } from './support/app';
import { mutateOk } from './support/destination-api';
import { eventually, ReceivedRequest, Receiver } from './support/receiver';
import { Rest } from './support/rest';
import { createDestination, streamingEnv } from './support/streaming';

/** GITLAB-CONTRACT.md §5: the body's fields, exactly. */
const PAYLOAD_FIELDS = [
  'author_id',
  'author_name',
  'created_at',
  'details',
  'entity_id',
  'entity_path',
  'entity_type',
  'event_type',
  'id',
  'ip_address',
  'target_details',
  'target_id',
  'target_type',
];

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** How often a header name occurs on the wire (repeated headers would be a defect). */
function occurrences(request: ReceivedRequest, name: string): number {
  return request.rawHeaders.filter((v, i) => i % 2 === 0 && v.toLowerCase() === name).length;
}

describe('streaming: the payload and headers a SIEM receives (GITLAB-CONTRACT.md §5)', () => {
  let t: TestApp;
  let rest: Rest;
  const receiver = new Receiver();
  let group: { id: number; full_path: string };
  let admin: { id: number; name: string };
  /** Default content type, one active and one inactive custom header. */
  let plain: { id: number; gid: string; verificationToken: string; signingSecret: string };
  /** A custom Content-Type header. */
  let custom: { id: number; gid: string; verificationToken: string; signingSecret: string };

  /** The one request of `path` carrying this event type about this entity. */
  const requestFor = (path: string, eventType: string, entityId: number) =>
    eventually(
      () =>
        receiver.requests.find(
          (r) =>
            r.path === path && r.json?.event_type === eventType && r.json.entity_id === entityId,
        ),
      `${eventType} of ${entityId} at ${path}`,
    );

  /** The event as the host's own audit event API shows it to an owner. */
  async function listedEvent(scope: 'groups' | 'projects', id: number, eventName: string) {
    const res = await api(t, t.adminToken).get(`/api/v4/${scope}/${id}/audit_events`).expect(200);
    const found = (
      res.body as {
        id: number;
        event_name: string;
        created_at: string;
        details: Record<string, unknown>;
      }[]
    ).filter((e) => e.event_name === eventName);
    expect(found).toHaveLength(1);
    return found[0];
  }

  beforeAll(async () => {
    await receiver.start();
    t = await startTestApp({ env: streamingEnv() });
    rest = new Rest(t);
    admin = (await api(t, t.adminToken).get('/api/v4/user').expect(200)).body;
    group = await rest.createGroup(t.adminToken, 'siem-format');
    plain = await createDestination(t, group.full_path, `${receiver.url}/plain`);
    custom = await createDestination(t, group.full_path, `${receiver.url}/custom`);
    await mutateOk(t, 'auditEventsStreamingHeadersCreate', {
      destinationId: plain.gid,
      key: 'X-Siem-Tenant',
      value: 'acme-security',
    });
    await mutateOk(t, 'auditEventsStreamingHeadersCreate', {
      destinationId: plain.gid,
      key: 'X-Siem-Index',
      value: 'gitlab_audit',
    });
    await mutateOk(t, 'auditEventsStreamingHeadersCreate', {
      destinationId: plain.gid,
      key: 'X-Disabled-Header',
      value: 'must-not-be-sent',
      active: false,
    });
    await mutateOk(t, 'auditEventsStreamingHeadersCreate', {
      destinationId: custom.gid,
      key: 'Content-Type',
      value: 'application/vnd.siem.audit+json',
    });
  });
  afterAll(async () => {
    await t?.close();
    await receiver.stop();
  });

  it('streams a group event (a member added over REST) field by field as GitLab does', async () => {
    const user = await rest.createUser('format-alice');
    await rest.addMember(t.adminToken, group.id, user.id, DEVELOPER);

    const got = await requestFor('/plain', 'member_created', group.id);
    const listed = await listedEvent('groups', group.id, 'member_created');
    const body = got.json;

    expect(got.method).toBe('POST');
    expect(Object.keys(body).sort()).toEqual(PAYLOAD_FIELDS);
    expect(body.id).toBe(String(listed.id));
    expect(body.author_id).toBe(admin.id);
    expect(body.author_name).toBe(admin.name);
    expect(body.entity_id).toBe(group.id);
    expect(body.entity_type).toBe('Group');
    expect(body.entity_path).toBe('siem-format');
    expect(body.ip_address).toBe('127.0.0.1');
    expect(body.target_id).toBe(user.id);
    expect(body.target_type).toBe('User');
    expect(body.target_details).toBe('format-alice');
    expect(body.created_at).toMatch(ISO_8601);
    expect(body.created_at).toBe(listed.created_at);
    expect(body.event_type).toBe('member_created');
    expect(body.details).toEqual({
      author_name: admin.name,
      author_class: 'User',
      target_id: user.id,
      target_type: 'User',
      target_details: 'format-alice',
      custom_message: null,
      ip_address: '127.0.0.1',
      entity_path: 'siem-format',
      add: 'user_access',
      as: 'Developer',
      event_name: 'member_created',
    });
    expect(body.details).toEqual(listed.details);

    expect(got.headers['x-gitlab-event-streaming-token']).toBe(plain.verificationToken);
    expect(got.headers['x-gitlab-audit-event-type']).toBe('member_created');
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['x-siem-tenant']).toBe('acme-security');
    expect(got.headers['x-siem-index']).toBe('gitlab_audit');
    expect(got.headers['x-disabled-header']).toBeUndefined();
    for (const name of ['content-type', 'x-gitlab-event-streaming-token', 'x-siem-tenant'])
      expect(occurrences(got, name)).toBe(1);
    // The body is plain JSON of exactly what was parsed.
    expect(JSON.parse(got.body)).toEqual(body);
  });

  it('streams a project event (project created) field by field', async () => {
    const project = await rest.createProject(t.adminToken, 'payments', group.id);

    const got = await requestFor('/plain', 'project_created', project.id);
    const listed = await listedEvent('projects', project.id, 'project_created');
    const body = got.json;

    expect(Object.keys(body).sort()).toEqual(PAYLOAD_FIELDS);
    expect(body).toEqual({
      id: String(listed.id),
      author_id: admin.id,
      author_name: admin.name,
      entity_id: project.id,
      entity_type: 'Project',
      entity_path: 'siem-format/payments',
      details: {
        author_name: admin.name,
        author_class: 'User',
        target_id: project.id,
        target_type: 'Project',
        target_details: 'siem-format/payments',
        custom_message: 'Added project',
        ip_address: '127.0.0.1',
        entity_path: 'siem-format/payments',
        event_name: 'project_created',
      },
      ip_address: '127.0.0.1',
      target_id: project.id,
      target_type: 'Project',
      target_details: 'siem-format/payments',
      created_at: listed.created_at,
      event_type: 'project_created',
    });
    expect(got.headers['x-gitlab-event-streaming-token']).toBe(plain.verificationToken);
    expect(got.headers['x-gitlab-audit-event-type']).toBe('project_created');
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['x-siem-tenant']).toBe('acme-security');
  });

  it("lets a custom Content-Type header replace the default, sending it once, with each destination's own token", async () => {
    const project = await rest.createProject(t.adminToken, 'ledger', group.id);

    const viaCustom = await requestFor('/custom', 'project_created', project.id);
    const viaPlain = await requestFor('/plain', 'project_created', project.id);

    expect(viaCustom.headers['content-type']).toBe('application/vnd.siem.audit+json');
    expect(occurrences(viaCustom, 'content-type')).toBe(1);
    expect(viaCustom.headers['x-gitlab-event-streaming-token']).toBe(custom.verificationToken);
    expect(viaCustom.headers['x-siem-tenant']).toBeUndefined();
    // Whatever the declared type, the body is the same JSON.
    expect(viaCustom.body).toBe(viaPlain.body);
    expect(viaCustom.json.id).toBe(viaPlain.json.id);
  });

  it('stops sending a header once it is deactivated, and sends its new value once reactivated', async () => {
    const created = await mutateOk(t, 'auditEventsStreamingHeadersCreate', {
      destinationId: plain.gid,
      key: 'X-Rotating',
      value: 'v1',
    });
    await mutateOk(t, 'auditEventsStreamingHeadersUpdate', {
      headerId: created.header.id,
      active: false,
    });
    const first = await rest.createProject(t.adminToken, 'after-deactivate', group.id);
    const withoutHeader = await requestFor('/plain', 'project_created', first.id);
    expect(withoutHeader.headers['x-rotating']).toBeUndefined();

    await mutateOk(t, 'auditEventsStreamingHeadersUpdate', {
      headerId: created.header.id,
      value: 'v2',
      active: true,
    });
    const second = await rest.createProject(t.adminToken, 'after-reactivate', group.id);
    const withHeader = await requestFor('/plain', 'project_created', second.id);
    expect(withHeader.headers['x-rotating']).toBe('v2');
  });

  it('ignores a custom header that would re-frame the request: the body arrives whole', async () => {
    const framing = await mutateOk(t, 'auditEventsStreamingHeadersCreate', {
      destinationId: plain.gid,
      key: 'Content-Length',
      value: '3',
    });
    const project = await rest.createProject(t.adminToken, 'framed', group.id);
    const got = await requestFor('/plain', 'project_created', project.id);
    expect(got.json.entity_path).toBe('siem-format/framed');
    expect(got.headers['content-length']).toBe(String(Buffer.byteLength(got.body)));
    await mutateOk(t, 'auditEventsStreamingHeadersDestroy', { headerId: framing.header.id });
  });

  it('cuts entity_path and target_details to 5,500 characters', async () => {
    // A member whose display name is longer than GitLab keeps.
    const longName = `N${'ame-'.repeat(1600)}`;
    const user = await api(t, t.adminToken)
      .post('/api/v4/users', {
        username: 'format-long-name',
        name: longName,
        email: 'format-long-name@example.com',
        password: 'password-123456',
      })
      .expect(201);
    await rest.addMember(t.adminToken, group.id, user.body.id, DEVELOPER);
    const member = await eventually(
      () =>
        receiver.requests.find(
          (r) =>
            r.path === '/plain' &&
            r.json?.event_type === 'member_created' &&
            r.json.target_id === user.body.id,
        ),
      'the member event of the long-named user',
    );
    expect(member.json.target_details).toHaveLength(5500);
    expect(member.json.target_details).toBe(longName.slice(0, 5500));
    expect(member.json.details.target_details).toBe(longName.slice(0, 5500));

    // A subgroup whose full path is longer than GitLab keeps.
    const longPath = `sub-${'x'.repeat(5600)}`;
    const sub = await rest.createGroup(t.adminToken, longPath, group.id);
    const created = await requestFor('/plain', 'group_created', sub.id);
    const fullPath = `siem-format/${longPath}`;
    expect(created.json.entity_path).toHaveLength(5500);
    expect(created.json.entity_path).toBe(fullPath.slice(0, 5500));
    expect(created.json.target_details).toBe(fullPath.slice(0, 5500));
    expect(created.json.details.entity_path).toBe(fullPath.slice(0, 5500));
  });
});
