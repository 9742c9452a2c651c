import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api } from './support/api';
import { startTestApp, TestApp } from './support/app';
import { flagBootstrap } from './support/destination-api';
import { Rest } from './support/rest';

/**
 * The core flow on the embedded SQLite default (DESIGN.md §9): a top-level group, GitLab's two
 * documented operations verbatim (GitLab 14.5 docs, "Add a new event streaming destination" and
 * "List currently enabled streaming destinations"), and the group's audit events over REST.
 */

const CREATE = `mutation {
  externalAuditEventDestinationCreate(input: { destinationUrl: "https://mydomain.io/endpoint/ingest", groupPath: "my-group" } ) {
    errors
    externalAuditEventDestination {
      destinationUrl
      group {
        name
      }
    }
  }
}`;

const LIST = `query {
  group(fullPath: "my-group") {
    id
    externalAuditEventDestinations {
      nodes {
        destinationUrl
        id
      }
    }
  }
}`;

describe('core flow on SQLite', () => {
  let t: TestApp;
  let flagDir: string;
  let owner: { id: number; username: string; token: string };
  let group: { id: number; full_path: string };

  beforeAll(async () => {
    flagDir = mkdtempSync(join(tmpdir(), 'aes-flags-'));
    const flagFile = join(flagDir, 'flags.json');
    // `my-group` is the first group of a fresh database.
    writeFileSync(flagFile, flagBootstrap([1]));
    t = await startTestApp({
      database: 'sqlite',
      // Delivery to mydomain.io is not under test: an API node only.
      env: { UNLEASH_BOOTSTRAP: flagFile, APP_ROLE: 'api' },
    });
    const rest = new Rest(t);
    owner = await rest.createUser('group-owner');
    group = await rest.createGroup(owner.token, 'my-group');
    expect(group.id).toBe(1);
  });

  afterAll(async () => {
    await t?.close();
    if (flagDir) rmSync(flagDir, { recursive: true, force: true });
  });

  it('the database is SQLite', () => {
    expect(t.db.options.type).toBe('better-sqlite3');
  });

  it("an owner adds a destination with GitLab's documented mutation: 200 and no errors", async () => {
    const res = await t.graphql(CREATE, {}, owner.token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      data: {
        externalAuditEventDestinationCreate: {
          errors: [],
          externalAuditEventDestination: {
            destinationUrl: 'https://mydomain.io/endpoint/ingest',
            group: { name: 'my-group' },
          },
        },
      },
    });
  });

  it("lists it with GitLab's documented query", async () => {
    const res = await t.graphql(LIST, {}, owner.token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      data: {
        group: {
          id: `gid://gitlab/Group/${group.id}`,
          externalAuditEventDestinations: {
            nodes: [
              {
                destinationUrl: 'https://mydomain.io/endpoint/ingest',
                id: expect.stringMatching(
                  /^gid:\/\/gitlab\/AuditEvents::ExternalAuditEventDestination\/\d+$/,
                ),
              },
            ],
          },
        },
      },
    });
  });

  it('records the change as an audit event, listed by GET /groups/:id/audit_events', async () => {
    const res = await api(t, owner.token)
      .get(`/api/v4/groups/${group.id}/audit_events`)
      .expect(200);
    const created = await t.graphql(LIST, {}, owner.token);
    const destinationId = Number(
      created.body.data.group.externalAuditEventDestinations.nodes[0].id.split('/').pop(),
    );
    expect(res.body.map((e: { event_name: string }) => e.event_name)).toEqual([
      'create_event_streaming_destination',
      'group_created',
    ]);
    expect(res.body[0]).toEqual({
      id: expect.any(Number),
      author_id: owner.id,
      entity_id: group.id,
      entity_type: 'Group',
      event_name: 'create_event_streaming_destination',
      details: expect.objectContaining({
        author_name: 'group-owner',
        entity_path: 'my-group',
        target_id: destinationId,
        target_type: 'AuditEvents::ExternalAuditEventDestination',
      }),
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
  });
});
