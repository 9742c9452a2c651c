import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EntitySubscriberInterface, QueryEvent } from 'typeorm';
import { startTestApp, TestApp } from './support/app';
import {
  createPublicGroup,
  flagBootstrap,
  listDestinations,
  mutateOk,
} from './support/destination-api';
import { Rest } from './support/rest';

jest.setTimeout(60_000);

/** Everything a client may ask of a group's destinations in one request. */
const FULL_SELECTION = `nodes {
  id name destinationUrl verificationToken active eventTypeFilters
  headers { nodes { id key value active } }
  namespaceFilter { id namespace { fullPath } }
  group { id fullPath }
}`;

/** Every SQL statement the host sends while `recording` is set (TypeORM's `beforeQuery`). */
class QueryRecorder implements EntitySubscriberInterface {
  recording: string[] | null = null;
  lastQueryAt = Date.now();

  beforeQuery(event: QueryEvent): void {
    this.lastQueryAt = Date.now();
    this.recording?.push(event.query);
  }
}

describe('listing destinations: query count and pagination', () => {
  let t: TestApp;
  let flagDir: string;
  const recorder = new QueryRecorder();
  /** Destination global ids per root group path, oldest first. */
  const destinations: Record<string, string[]> = {};
  /** Header global ids of the first destination of `five-g`, oldest first. */
  let headerIds: string[] = [];

  /** A destination with three headers, three event type filters and a namespace filter. */
  async function arrangeDestination(
    groupPath: string,
    n: number,
    filter: { groupPath: string } | { projectPath: string },
  ): Promise<{ id: string; headerIds: string[] }> {
    const created = await mutateOk(t, 'externalAuditEventDestinationCreate', {
      destinationUrl: `https://collector-${n}.audit.example.com/${groupPath}`,
      groupPath,
      name: `destination-${n}`,
    });
    const id: string = created.externalAuditEventDestination.id;
    const headers: string[] = [];
    for (const key of ['X-Tenant', 'X-Region', 'X-Env']) {
      const h = await mutateOk(t, 'auditEventsStreamingHeadersCreate', {
        destinationId: id,
        key,
        value: `${key}-${n}`,
      });
      headers.push(h.header.id);
    }
    await mutateOk(t, 'auditEventsStreamingDestinationEventsAdd', {
      destinationId: id,
      eventTypeFilters: ['group_created', 'project_created', 'member_created'],
    });
    await mutateOk(t, 'auditEventsStreamingHttpNamespaceFiltersAdd', {
      destinationId: id,
      ...filter,
    });
    return { id, headerIds: headers };
  }

  beforeAll(async () => {
    flagDir = mkdtempSync(join(tmpdir(), 'aes-flags-'));
    const flagFile = join(flagDir, 'flags.json');
    // Root groups are created first, in this order, on a fresh database: ids 1 to 4.
    writeFileSync(flagFile, flagBootstrap([1, 2, 3, 4]));
    // An API node: no delivery worker adding its own queries in the background.
    t = await startTestApp({ env: { UNLEASH_BOOTSTRAP: flagFile, APP_ROLE: 'api' } });
    t.db.subscribers.push(recorder);
    const rest = new Rest(t);

    const roots = ['one-g', 'five-g', 'one-p', 'five-p'];
    const ids: Record<string, number> = {};
    for (const path of roots) ids[path] = (await createPublicGroup(t, t.adminToken, path)).id;
    expect(Object.values(ids)).toEqual([1, 2, 3, 4]);

    // Each destination filters a namespace of its own: a subgroup (`-g`) or a project (`-p`).
    for (const [root, count] of [
      ['one-g', 1],
      ['five-g', 5],
    ] as const) {
      destinations[root] = [];
      for (let n = 1; n <= count; n++) {
        const sub = await createPublicGroup(t, t.adminToken, `team-${n}`, ids[root]);
        const d = await arrangeDestination(root, n, { groupPath: sub.full_path });
        destinations[root].push(d.id);
        if (root === 'five-g' && n === 1) headerIds = d.headerIds;
      }
    }
    for (const [root, count] of [
      ['one-p', 1],
      ['five-p', 5],
    ] as const) {
      destinations[root] = [];
      for (let n = 1; n <= count; n++) {
        const project = await rest.createProject(t.adminToken, `app-${n}`, ids[root]);
        const d = await arrangeDestination(root, n, { projectPath: project.path_with_namespace });
        destinations[root].push(d.id);
      }
    }
    // Two more headers on the first destination of `five-g`, for header pagination (5 in all).
    for (const key of ['X-Team', 'X-Owner']) {
      const h = await mutateOk(t, 'auditEventsStreamingHeadersCreate', {
        destinationId: destinations['five-g'][0],
        key,
        value: key.toLowerCase(),
      });
      headerIds.push(h.header.id);
    }
  });

  afterAll(async () => {
    await t?.close();
    if (flagDir) rmSync(flagDir, { recursive: true, force: true });
  });

  /** Waits until the host has sent no query for a while (after-commit work of the set-up). */
  async function quiet(): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (Date.now() - recorder.lastQueryAt < 300 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
  }

  /**
   * The SQL statements of one full listing of the group's destinations. Taken three times, keeping
   * the smallest: background work can only add statements, never remove the request's own.
   */
  async function listingQueries(groupPath: string): Promise<string[]> {
    let fewest: string[] | null = null;
    for (let run = 0; run < 3; run++) {
      await quiet();
      recorder.recording = [];
      const res = await listDestinations(t, groupPath, t.adminToken, FULL_SELECTION);
      const recorded = recorder.recording;
      recorder.recording = null;
      expect(res.body.errors).toBeUndefined();
      expect(
        res.body.data.group.externalAuditEventDestinations.nodes.map((d: { id: string }) => d.id),
      ).toEqual(destinations[groupPath]);
      if (!fewest || recorded.length < fewest.length) fewest = recorded;
    }
    return fewest!;
  }

  describe('no N+1', () => {
    it('lists every field of every destination, header and filter', async () => {
      const res = await listDestinations(t, 'five-p', t.adminToken, FULL_SELECTION);
      const nodes = res.body.data.group.externalAuditEventDestinations.nodes;
      expect(nodes).toHaveLength(5);
      nodes.forEach((d: any, i: number) => {
        const n = i + 1;
        expect(d).toEqual({
          id: destinations['five-p'][i],
          name: `destination-${n}`,
          destinationUrl: `https://collector-${n}.audit.example.com/five-p`,
          verificationToken: expect.stringMatching(/^[1-9A-HJ-NP-Za-km-z]{24}$/),
          active: true,
          eventTypeFilters: ['group_created', 'member_created', 'project_created'],
          headers: {
            nodes: ['X-Tenant', 'X-Region', 'X-Env'].map((key) => ({
              id: expect.stringMatching(/^gid:\/\/gitlab\/AuditEvents::Streaming::Header\/\d+$/),
              key,
              value: `${key}-${n}`,
              active: true,
            })),
          },
          namespaceFilter: {
            id: expect.stringMatching(
              /^gid:\/\/gitlab\/AuditEvents::Streaming::HTTP::NamespaceFilter\/\d+$/,
            ),
            namespace: { fullPath: `five-p/app-${n}` },
          },
          group: { id: 'gid://gitlab/Group/4', fullPath: 'five-p' },
        });
      });
    });

    // The count is the same for 1 and for 5 destinations: 6 statements for the administrator
    // (the token and its user in two, the group, the destinations with their headers and filters
    // in one, the destinations' group, the filters' namespaces in one batch).
    it.each([
      ['subgroups', 'one-g', 'five-g'],
      ['projects', 'one-p', 'five-p'],
    ])(
      'takes as many queries for 5 destinations as for 1 (namespace filters on %s)',
      async (_kind, onePath, fivePath) => {
        const one = await listingQueries(onePath);
        const five = await listingQueries(fivePath);
        expect({ count: five.length, queries: five }).toEqual({
          count: one.length,
          queries: expect.any(Array),
        });
        expect(one.length).toBe(6);
      },
    );
  });

  describe('Relay pagination of externalAuditEventDestinations', () => {
    const PAGE = `edges { cursor node { id } } nodes { id }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }`;

    async function page(args: string) {
      const res = await listDestinations(t, 'five-g', t.adminToken, PAGE, args);
      expect(res.body.errors).toBeUndefined();
      const conn = res.body.data.group.externalAuditEventDestinations;
      // `nodes` and `edges` agree, and the page's cursors are its first and last edge's.
      expect(conn.nodes).toEqual(conn.edges.map((e: { node: unknown }) => e.node));
      expect(conn.pageInfo.startCursor).toBe(conn.edges[0]?.cursor ?? null);
      expect(conn.pageInfo.endCursor).toBe(conn.edges.at(-1)?.cursor ?? null);
      return {
        ids: conn.nodes.map((n: { id: string }) => n.id) as string[],
        cursors: conn.edges.map((e: { cursor: string }) => e.cursor) as string[],
        pageInfo: conn.pageInfo,
      };
    }

    it('walks forward two at a time with first/after', async () => {
      const d = destinations['five-g'];
      const p1 = await page('first: 2');
      expect(p1.ids).toEqual([d[0], d[1]]);
      expect(p1.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });

      const p2 = await page(`first: 2, after: "${p1.pageInfo.endCursor}"`);
      expect(p2.ids).toEqual([d[2], d[3]]);
      expect(p2.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });

      const p3 = await page(`first: 2, after: "${p2.pageInfo.endCursor}"`);
      expect(p3.ids).toEqual([d[4]]);
      expect(p3.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });

      // Every destination seen once, each with a cursor of its own.
      const cursors = [...p1.cursors, ...p2.cursors, ...p3.cursors];
      expect(new Set(cursors).size).toBe(5);
    });

    it('walks backward two at a time with last/before', async () => {
      const d = destinations['five-g'];
      const p1 = await page('last: 2');
      expect(p1.ids).toEqual([d[3], d[4]]);
      expect(p1.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });

      const p2 = await page(`last: 2, before: "${p1.pageInfo.startCursor}"`);
      expect(p2.ids).toEqual([d[1], d[2]]);
      // As GitLab answers: with `before`, the destinations after the page are the next page.
      expect(p2.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });

      const p3 = await page(`last: 2, before: "${p2.pageInfo.startCursor}"`);
      expect(p3.ids).toEqual([d[0]]);
      expect(p3.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    });

    it('pages back to the same destinations the forward walk saw', async () => {
      const forward = await page('first: 2');
      const back = await page(`last: 2, before: "${forward.cursors[1]}"`);
      expect(back.ids).toEqual([forward.ids[0]]);
      expect(back.cursors).toEqual([forward.cursors[0]]);
    });

    it('gives an empty page with null cursors past the end', async () => {
      const all = await page('first: 5');
      expect(all.pageInfo.hasNextPage).toBe(false);
      const after = await page(`first: 2, after: "${all.pageInfo.endCursor}"`);
      expect(after).toEqual({
        ids: [],
        cursors: [],
        pageInfo: {
          hasNextPage: false,
          hasPreviousPage: true,
          startCursor: null,
          endCursor: null,
        },
      });
    });
  });

  describe('Relay pagination of a destination’s headers', () => {
    const HEADERS = (args: string) => `nodes {
      id
      headers(${args}) {
        edges { cursor node { id key } } nodes { id key }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      }
    }`;

    async function headersPage(args: string) {
      const res = await listDestinations(t, 'five-g', t.adminToken, HEADERS(args), 'first: 1');
      expect(res.body.errors).toBeUndefined();
      const [destination] = res.body.data.group.externalAuditEventDestinations.nodes;
      expect(destination.id).toBe(destinations['five-g'][0]);
      const conn = destination.headers;
      expect(conn.nodes).toEqual(conn.edges.map((e: { node: unknown }) => e.node));
      expect(conn.pageInfo.startCursor).toBe(conn.edges[0]?.cursor ?? null);
      expect(conn.pageInfo.endCursor).toBe(conn.edges.at(-1)?.cursor ?? null);
      return {
        keys: conn.nodes.map((n: { key: string }) => n.key) as string[],
        ids: conn.nodes.map((n: { id: string }) => n.id) as string[],
        pageInfo: conn.pageInfo,
      };
    }

    it('walks forward with first/after', async () => {
      const p1 = await headersPage('first: 2');
      expect(p1.keys).toEqual(['X-Tenant', 'X-Region']);
      expect(p1.ids).toEqual(headerIds.slice(0, 2));
      expect(p1.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });

      const p2 = await headersPage(`first: 2, after: "${p1.pageInfo.endCursor}"`);
      expect(p2.keys).toEqual(['X-Env', 'X-Team']);
      expect(p2.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });

      const p3 = await headersPage(`first: 2, after: "${p2.pageInfo.endCursor}"`);
      expect(p3.keys).toEqual(['X-Owner']);
      expect(p3.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    });

    it('walks backward with last/before', async () => {
      const p1 = await headersPage('last: 2');
      expect(p1.keys).toEqual(['X-Team', 'X-Owner']);
      expect(p1.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });

      const p2 = await headersPage(`last: 2, before: "${p1.pageInfo.startCursor}"`);
      expect(p2.keys).toEqual(['X-Region', 'X-Env']);
      expect(p2.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });

      const p3 = await headersPage(`last: 2, before: "${p2.pageInfo.startCursor}"`);
      expect(p3.keys).toEqual(['X-Tenant']);
      expect(p3.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    });
  });
});
