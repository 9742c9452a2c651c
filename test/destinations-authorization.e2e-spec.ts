import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { In } from 'typeorm';
import { DEVELOPER, GUEST, MAINTAINER, OWNER, REPORTER } from './support/api';
import { startTestApp, TestApp } from './support/app';
import { createTestDatabase, TestDatabase } from './support/databases';
import {
  ACCESS_ERROR,
  createPublicGroup,
  flagBootstrap,
  listDestinations,
  mutate,
  mutateOk,
  MutationName,
} from './support/destination-api';
import { Rest } from './support/rest';

/**
 * Who may manage a group's streaming destinations (GITLAB-CONTRACT.md §3), cell by cell:
 * every operation (the ten mutations, the signing secret rotation that this project adds, and
 * `Group.externalAuditEventDestinations`) × every caller × every target, with the root group's
 * flag on and off. The rotation is guarded exactly as `externalAuditEventDestinationUpdate`.
 *
 * Two "worlds" live in one database: `on-a` (with subgroup `on-a/sub`) and `on-b`, whose flag is
 * on, and `off-a` (with `off-a/sub`) and `off-b`, whose flag is off. The flag-off world's
 * destinations, headers and filters were created while its flag was still on: the suite boots the
 * host once with the flag on everywhere to arrange the scene, then again on the same database
 * with the flag on for `on-a` and `on-b` only, as an operator turning the feature off would.
 *
 * Callers are members of `a` (the caller's own top-level group), so on `a/sub` the maintainer,
 * developer, reporter and guest hold inherited roles and the owner of `a` is an inherited owner.
 * `b` is another tenant's group: naming its objects is "another group's object".
 *
 * Denied cells run against existing fixture objects (so a denial is not merely "not found"), and
 * the last test checks that none of them changed. Allowed cells that change things get fresh
 * objects made by the administrator and clean them up, so cells do not depend on each other.
 */

jest.setTimeout(120_000);

type World = 'on' | 'off';
type TargetKind = 'own top-level group' | 'its subgroup' | "another group's object";
type CallerKey =
  | 'rootOwner'
  | 'subOwner'
  | 'admin'
  | 'maintainer'
  | 'developer'
  | 'reporter'
  | 'guest'
  | 'nonMember'
  | 'anonymous';
type Operation = MutationName | 'externalAuditEventDestinations';
type Expected = 'allowed' | 'subgroup validation error' | 'access error' | 'null';

const CALLERS: CallerKey[] = [
  'rootOwner',
  'subOwner',
  'admin',
  'maintainer',
  'developer',
  'reporter',
  'guest',
  'nonMember',
  'anonymous',
];

/** How each caller reads on each target. */
function callerLabel(caller: CallerKey, target: TargetKind): string {
  switch (caller) {
    case 'rootOwner':
      return target === 'its subgroup'
        ? 'inherited owner (owner of the root group)'
        : target === 'own top-level group'
          ? 'owner'
          : 'owner of another group';
    case 'subOwner':
      return target === 'its subgroup' ? 'owner of the subgroup' : 'owner of a subgroup only';
    case 'nonMember':
      return 'non-member';
    case 'admin':
      return 'instance admin';
    default:
      return target === 'its subgroup' ? `${caller} (inherited from the root)` : caller;
  }
}

const ALL_OPERATIONS: Operation[] = [
  'externalAuditEventDestinationCreate',
  'externalAuditEventDestinationUpdate',
  'externalAuditEventDestinationDestroy',
  'externalAuditEventDestinationSigningSecretRotate',
  'auditEventsStreamingHeadersCreate',
  'auditEventsStreamingHeadersUpdate',
  'auditEventsStreamingHeadersDestroy',
  'auditEventsStreamingDestinationEventsAdd',
  'auditEventsStreamingDestinationEventsRemove',
  'auditEventsStreamingHttpNamespaceFiltersAdd',
  'auditEventsStreamingHttpNamespaceFiltersDelete',
  'externalAuditEventDestinations',
];

/**
 * Which operations have a subgroup target. A subgroup can hold no destination (creation fails
 * validation), so the destination, header and event-filter mutations have no subgroup object to
 * name; what remains is creating in the subgroup, reading the subgroup's field, and namespace
 * filters naming the subgroup on a destination of its root.
 */
const OPERATIONS_BY_TARGET: Record<TargetKind, Operation[]> = {
  'own top-level group': ALL_OPERATIONS,
  'its subgroup': [
    'externalAuditEventDestinationCreate',
    'auditEventsStreamingHttpNamespaceFiltersAdd',
    'auditEventsStreamingHttpNamespaceFiltersDelete',
    'externalAuditEventDestinations',
  ],
  "another group's object": ALL_OPERATIONS,
};

/**
 * GITLAB-CONTRACT.md §3: owners (inherited ownership counts) and admins; nobody with the flag off.
 * A namespace filter naming the subgroup belongs to a destination of the root group, so only who
 * may manage the root's destinations may add or delete it: the subgroup's own owner may not.
 */
function mayManage(target: TargetKind, op: Operation): CallerKey[] {
  if (target === "another group's object") return ['admin'];
  if (target === 'its subgroup' && !op.startsWith('auditEventsStreamingHttpNamespaceFilters'))
    return ['rootOwner', 'subOwner', 'admin'];
  return ['rootOwner', 'admin'];
}

function expectation(world: World, target: TargetKind, caller: CallerKey, op: Operation): Expected {
  const allowed = world === 'on' && mayManage(target, op).includes(caller);
  if (op === 'externalAuditEventDestinations') return allowed ? 'allowed' : 'null';
  if (!allowed) return 'access error';
  return target === 'its subgroup' && op === 'externalAuditEventDestinationCreate'
    ? 'subgroup validation error'
    : 'allowed';
}

const OUTCOME_TEXT: Record<Expected, string> = {
  allowed: 'succeeds',
  'subgroup validation error': 'fails validation: Group must not be a subgroup',
  'access error': 'gets the access error',
  null: 'reads null',
};

interface Cell {
  world: World;
  target: TargetKind;
  caller: CallerKey;
  op: Operation;
  expected: Expected;
  title: string;
}

function cellsFor(world: World, target: TargetKind): Cell[] {
  return OPERATIONS_BY_TARGET[target].flatMap((op) =>
    CALLERS.map((caller) => {
      const expected = expectation(world, target, caller, op);
      return {
        world,
        target,
        caller,
        op,
        expected,
        title: `${op} as ${callerLabel(caller, target)} ${OUTCOME_TEXT[expected]}`,
      };
    }),
  );
}

const WORLDS: World[] = ['on', 'off'];
const TARGETS: TargetKind[] = ['own top-level group', 'its subgroup', "another group's object"];
const MATRIX = WORLDS.flatMap((w) => TARGETS.flatMap((target) => cellsFor(w, target)));

/** What one cell names: a group path and objects (global IDs) of that group. */
interface Objects {
  /** Where `create` and the query field point. */
  groupPath: string;
  /** The top-level group the destinations below belong to. */
  rootPath: string;
  destinationId: string;
  headerId: string;
  /** A destination without a namespace filter, for `namespaceFiltersAdd`. */
  bareDestinationId: string;
  /** The namespace `namespaceFiltersAdd` names. */
  filterPath: string;
  namespaceFilterId: string;
  /** The destination's signing secret before the cell ran (fresh objects for a rotation only). */
  signingSecret?: string;
}

interface WorldGroups {
  a: { id: number; full_path: string };
  sub: { id: number; full_path: string };
  b: { id: number; full_path: string };
}

/**
 * The host as an API node (DESIGN.md §7 `APP_ROLE=api`): delivery is not under test here, and a
 * worker busy failing to reach the made-up destination hosts would only add background load.
 */
const hostEnv = (flagFile: string) => ({ UNLEASH_BOOTSTRAP: flagFile, APP_ROLE: 'api' });

/** A Standard Webhooks signing secret: `whsec_` + base64 of 32 bytes. */
const WHSEC = /^whsec_[A-Za-z0-9+/]{43}=$/;

let seq = 0;
const unique = (prefix: string) => `${prefix}-${++seq}-${randomBytes(3).toString('hex')}`;
const url = () => `https://${unique('hook')}.audit.example.com/events`;

describe('destinations authorization matrix', () => {
  let database: TestDatabase;
  let flagDir: string;
  let t: TestApp;
  const tokens = {} as Record<CallerKey, string | null>;
  const groups = {} as Record<World, WorldGroups>;
  /** Fixture objects per world and target, made while every flag was on. */
  const fixtures = {} as Record<World, Record<TargetKind, Objects>>;
  /** Fixture destination ids per world and root group path, as the admin listed them. */
  const fixtureDestinations = {} as Record<string, string[]>;
  let snapshotBefore: unknown;

  async function makeDestination(groupPath: string, withChildren: { filterPath?: string } = {}) {
    const created = await mutateOk(t, 'externalAuditEventDestinationCreate', {
      destinationUrl: url(),
      groupPath,
    });
    const destinationId: string = created.externalAuditEventDestination.id;
    const header = await mutateOk(t, 'auditEventsStreamingHeadersCreate', {
      destinationId,
      key: 'X-Tenant',
      value: 'fixture',
    });
    await mutateOk(t, 'auditEventsStreamingDestinationEventsAdd', {
      destinationId,
      eventTypeFilters: ['group_created', 'member_created'],
    });
    let namespaceFilterId = '';
    if (withChildren.filterPath) {
      const filter = await mutateOk(t, 'auditEventsStreamingHttpNamespaceFiltersAdd', {
        destinationId,
        groupPath: withChildren.filterPath,
      });
      namespaceFilterId = filter.namespaceFilter.id;
    }
    return { destinationId, headerId: header.header.id as string, namespaceFilterId };
  }

  /** Fixtures of one world: destinations of `a` and of `b`, with headers and filters. */
  async function arrangeWorld(world: World): Promise<void> {
    const { a, sub, b } = groups[world];
    const bareA = await mutateOk(t, 'externalAuditEventDestinationCreate', {
      destinationUrl: url(),
      groupPath: a.full_path,
    });
    const fullA = await makeDestination(a.full_path, { filterPath: a.full_path });
    const subFilterA = await makeDestination(a.full_path, { filterPath: sub.full_path });
    const bareB = await mutateOk(t, 'externalAuditEventDestinationCreate', {
      destinationUrl: url(),
      groupPath: b.full_path,
    });
    const fullB = await makeDestination(b.full_path, { filterPath: b.full_path });
    fixtures[world] = {
      'own top-level group': {
        groupPath: a.full_path,
        rootPath: a.full_path,
        ...fullA,
        bareDestinationId: bareA.externalAuditEventDestination.id,
        filterPath: a.full_path,
      },
      'its subgroup': {
        groupPath: sub.full_path,
        rootPath: a.full_path,
        ...subFilterA,
        bareDestinationId: bareA.externalAuditEventDestination.id,
        filterPath: sub.full_path,
      },
      "another group's object": {
        groupPath: b.full_path,
        rootPath: b.full_path,
        ...fullB,
        bareDestinationId: bareB.externalAuditEventDestination.id,
        filterPath: b.full_path,
      },
    };
    fixtureDestinations[a.full_path] = [
      bareA.externalAuditEventDestination.id,
      fullA.destinationId,
      subFilterA.destinationId,
    ];
    fixtureDestinations[sub.full_path] = [];
    fixtureDestinations[b.full_path] = [
      bareB.externalAuditEventDestination.id,
      fullB.destinationId,
    ];
  }

  /** Every destination, header and filter of the fixture groups, straight from the database. */
  async function snapshot(): Promise<unknown> {
    const rootIds = WORLDS.flatMap((w) => [groups[w].a.id, groups[w].b.id]);
    const rows = await t.db.getRepository('ExternalAuditEventDestination').find({
      where: { groupId: In(rootIds) },
      relations: { headers: true, eventTypeFilters: true, namespaceFilter: true },
      order: { id: 'ASC' },
    });
    const byId = (x: { id: number }, y: { id: number }) => x.id - y.id;
    return JSON.parse(
      JSON.stringify(
        rows.map((d) => ({
          ...d,
          headers: [...d.headers].sort(byId),
          eventTypeFilters: [...d.eventTypeFilters].sort(byId),
        })),
      ),
    );
  }

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    flagDir = mkdtempSync(join(tmpdir(), 'aes-flags-'));
    const flagFile = join(flagDir, 'flags.json');

    // First boot: a fresh database, so the four root groups get ids 1, 3, 4, 6 (created below in
    // this order: on-a, on-a/sub, on-b, off-a, off-a/sub, off-b). The flag is on for all of them.
    writeFileSync(flagFile, flagBootstrap([1, 3, 4, 6]));
    t = await startTestApp({ databaseUrl: database.url, env: hostEnv(flagFile) });
    const rest = new Rest(t);
    for (const world of WORLDS) {
      const a = await createPublicGroup(t, t.adminToken, `${world}-a`);
      const sub = await createPublicGroup(t, t.adminToken, 'sub', a.id);
      const b = await createPublicGroup(t, t.adminToken, `${world}-b`);
      groups[world] = { a, sub, b };
    }
    expect(WORLDS.flatMap((w) => [groups[w].a.id, groups[w].b.id])).toEqual([1, 3, 4, 6]);

    const users = {} as Record<CallerKey, number>;
    for (const caller of CALLERS) {
      if (caller === 'admin' || caller === 'anonymous') continue;
      const user = await rest.createUser(caller.toLowerCase());
      users[caller] = user.id;
      tokens[caller] = user.token;
    }
    tokens.anonymous = null;
    for (const world of WORLDS) {
      const { a, sub } = groups[world];
      await rest.addMember(t.adminToken, a.id, users.rootOwner, OWNER);
      await rest.addMember(t.adminToken, sub.id, users.subOwner, OWNER);
      await rest.addMember(t.adminToken, a.id, users.maintainer, MAINTAINER);
      await rest.addMember(t.adminToken, a.id, users.developer, DEVELOPER);
      await rest.addMember(t.adminToken, a.id, users.reporter, REPORTER);
      await rest.addMember(t.adminToken, a.id, users.guest, GUEST);
      await arrangeWorld(world);
    }
    await t.close();

    // Second boot on the same data: the operator has turned the flag off for the `off` world.
    writeFileSync(flagFile, flagBootstrap([groups.on.a.id, groups.on.b.id]));
    t = await startTestApp({ databaseUrl: database.url, env: hostEnv(flagFile) });
    tokens.admin = t.adminToken;
    snapshotBefore = await snapshot();
  });

  afterAll(async () => {
    await t?.close();
    await database?.drop();
    if (flagDir) rmSync(flagDir, { recursive: true, force: true });
  });

  /** The administrator's view of a group's destinations (ids, secrets, headers, filters). */
  async function adminView(groupPath: string) {
    const res = await listDestinations(
      t,
      groupPath,
      t.adminToken,
      'nodes { id signingSecret eventTypeFilters headers { nodes { id } } namespaceFilter { id } }',
    );
    return res.body.data.group.externalAuditEventDestinations.nodes as {
      id: string;
      signingSecret: string;
      eventTypeFilters: string[];
      headers: { nodes: { id: string }[] };
      namespaceFilter: { id: string } | null;
    }[];
  }

  /**
   * Fresh objects for an allowed cell, made by the admin in the target's root group: a destination
   * and, as the operation needs, a header, event type filters or a namespace filter.
   */
  async function freshObjects(cell: Cell): Promise<Objects> {
    const base = fixtures[cell.world][cell.target];
    const created = await mutateOk(t, 'externalAuditEventDestinationCreate', {
      destinationUrl: url(),
      groupPath: base.rootPath,
    });
    const destinationId: string = created.externalAuditEventDestination.id;
    const objects: Objects = {
      ...base,
      destinationId,
      bareDestinationId: destinationId,
      headerId: '',
      namespaceFilterId: '',
    };
    if (cell.op.startsWith('auditEventsStreamingHeaders')) {
      const header = await mutateOk(t, 'auditEventsStreamingHeadersCreate', {
        destinationId,
        key: 'X-Fresh',
        value: 'fresh',
      });
      objects.headerId = header.header.id;
    }
    if (cell.op === 'auditEventsStreamingDestinationEventsRemove') {
      await mutateOk(t, 'auditEventsStreamingDestinationEventsAdd', {
        destinationId,
        eventTypeFilters: ['group_created'],
      });
    }
    if (cell.op === 'auditEventsStreamingHttpNamespaceFiltersDelete') {
      const filter = await mutateOk(t, 'auditEventsStreamingHttpNamespaceFiltersAdd', {
        destinationId,
        groupPath: base.filterPath,
      });
      objects.namespaceFilterId = filter.namespaceFilter.id;
    }
    if (cell.op === 'externalAuditEventDestinationSigningSecretRotate') {
      const view = (await adminView(base.rootPath)).find((d) => d.id === destinationId)!;
      objects.signingSecret = view.signingSecret;
    }
    return objects;
  }

  /** The mutation input a cell sends, naming the given objects. */
  function inputFor(op: MutationName, o: Objects, names: { url: string; name: string }) {
    switch (op) {
      case 'externalAuditEventDestinationCreate':
        return { destinationUrl: names.url, groupPath: o.groupPath };
      case 'externalAuditEventDestinationUpdate':
        return { id: o.destinationId, name: names.name };
      case 'externalAuditEventDestinationDestroy':
        return { id: o.destinationId };
      case 'externalAuditEventDestinationSigningSecretRotate':
        return { id: o.destinationId };
      case 'auditEventsStreamingHeadersCreate':
        return { destinationId: o.destinationId, key: names.name, value: 'v' };
      case 'auditEventsStreamingHeadersUpdate':
        return { headerId: o.headerId, value: names.name };
      case 'auditEventsStreamingHeadersDestroy':
        return { headerId: o.headerId };
      case 'auditEventsStreamingDestinationEventsAdd':
        return { destinationId: o.destinationId, eventTypeFilters: ['project_created'] };
      case 'auditEventsStreamingDestinationEventsRemove':
        return { destinationId: o.destinationId, eventTypeFilters: ['group_created'] };
      case 'auditEventsStreamingHttpNamespaceFiltersAdd':
        return { destinationId: o.bareDestinationId, groupPath: o.filterPath };
      case 'auditEventsStreamingHttpNamespaceFiltersDelete':
        return { namespaceFilterId: o.namespaceFilterId };
    }
  }

  /** What the caller sees from a successful mutation, checked as a client would. */
  async function expectSucceeded(
    op: MutationName,
    o: Objects,
    names: { url: string; name: string },
    payload: Record<string, any>,
  ): Promise<void> {
    expect(payload.errors).toEqual([]);
    switch (op) {
      case 'externalAuditEventDestinationCreate':
        expect(payload.externalAuditEventDestination).toEqual({
          id: expect.stringMatching(
            /^gid:\/\/gitlab\/AuditEvents::ExternalAuditEventDestination\/\d+$/,
          ),
          name: expect.stringMatching(/^Destination_/),
          destinationUrl: names.url,
          group: { fullPath: o.groupPath },
        });
        break;
      case 'externalAuditEventDestinationUpdate':
        expect(payload.externalAuditEventDestination).toEqual({
          id: o.destinationId,
          name: names.name,
          destinationUrl: expect.any(String),
          active: true,
        });
        break;
      case 'externalAuditEventDestinationDestroy':
        expect((await adminView(o.rootPath)).map((d) => d.id)).not.toContain(o.destinationId);
        break;
      case 'externalAuditEventDestinationSigningSecretRotate': {
        // A new secret in the payload, and the one the destination now holds.
        expect(o.signingSecret).toMatch(WHSEC);
        expect(payload.externalAuditEventDestination).toEqual({
          id: o.destinationId,
          signingSecret: expect.stringMatching(WHSEC),
        });
        const rotated: string = payload.externalAuditEventDestination.signingSecret;
        expect(rotated).not.toBe(o.signingSecret);
        const view = (await adminView(o.rootPath)).find((d) => d.id === o.destinationId)!;
        expect(view.signingSecret).toBe(rotated);
        break;
      }
      case 'auditEventsStreamingHeadersCreate':
        expect(payload.header).toEqual({
          id: expect.stringMatching(/^gid:\/\/gitlab\/AuditEvents::Streaming::Header\/\d+$/),
          key: names.name,
          value: 'v',
          active: true,
        });
        break;
      case 'auditEventsStreamingHeadersUpdate':
        expect(payload.header).toEqual({
          id: o.headerId,
          key: 'X-Fresh',
          value: names.name,
          active: true,
        });
        break;
      case 'auditEventsStreamingHeadersDestroy': {
        const view = (await adminView(o.rootPath)).find((d) => d.id === o.destinationId)!;
        expect(view.headers.nodes).toEqual([]);
        break;
      }
      case 'auditEventsStreamingDestinationEventsAdd':
        expect(payload.eventTypeFilters).toEqual(['project_created']);
        break;
      case 'auditEventsStreamingDestinationEventsRemove': {
        const view = (await adminView(o.rootPath)).find((d) => d.id === o.destinationId)!;
        expect(view.eventTypeFilters).toEqual([]);
        break;
      }
      case 'auditEventsStreamingHttpNamespaceFiltersAdd':
        expect(payload.namespaceFilter).toEqual({
          id: expect.stringMatching(
            /^gid:\/\/gitlab\/AuditEvents::Streaming::HTTP::NamespaceFilter\/\d+$/,
          ),
          namespace: { fullPath: o.filterPath },
        });
        break;
      case 'auditEventsStreamingHttpNamespaceFiltersDelete': {
        const view = (await adminView(o.rootPath)).find((d) => d.id === o.destinationId)!;
        expect(view.namespaceFilter).toBeNull();
        break;
      }
    }
  }

  async function runCell(cell: Cell): Promise<void> {
    const token = tokens[cell.caller];
    const target = fixtures[cell.world][cell.target];

    if (cell.op === 'externalAuditEventDestinations') {
      const res = await listDestinations(t, target.groupPath, token);
      expect(res.status).toBe(200);
      expect(res.body.errors).toBeUndefined();
      if (cell.expected === 'null') {
        expect(res.body.data).toEqual({
          group: { fullPath: target.groupPath, externalAuditEventDestinations: null },
        });
      } else {
        const nodes = res.body.data.group.externalAuditEventDestinations.nodes;
        expect(nodes.map((n: { id: string }) => n.id)).toEqual(
          fixtureDestinations[target.groupPath],
        );
      }
      return;
    }

    const op = cell.op;
    const names = { url: url(), name: unique('name') };

    if (cell.expected === 'access error') {
      const res = await mutate(t, op, inputFor(op, target, names), token);
      expect(res.status).toBe(200);
      expect(res.body.errors.map((e: { message: string }) => e.message)).toEqual([ACCESS_ERROR]);
      expect(res.body.data).toEqual({ [op]: null });
      // Nothing of the destination leaks, in the data or in the error's extensions.
      expect(JSON.stringify(res.body)).not.toContain('whsec_');
      return;
    }

    if (cell.expected === 'subgroup validation error') {
      const res = await mutate(t, op, inputFor(op, target, names), token);
      expect(res.body).toEqual({
        data: {
          [op]: { errors: ['Group must not be a subgroup'], externalAuditEventDestination: null },
        },
      });
      return;
    }

    // Allowed: act on fresh objects, then put the group back as it was.
    const objects =
      op === 'externalAuditEventDestinationCreate' ? target : await freshObjects(cell);
    let made: string | null =
      op === 'externalAuditEventDestinationCreate' ? null : objects.destinationId;
    try {
      const res = await mutate(t, op, inputFor(op, objects, names), token);
      expect(res.body.errors).toBeUndefined();
      const payload = res.body.data[op];
      if (op === 'externalAuditEventDestinationCreate')
        made = payload?.externalAuditEventDestination?.id ?? null;
      await expectSucceeded(op, objects, names, payload);
      if (op === 'externalAuditEventDestinationDestroy') made = null;
    } finally {
      if (made) await mutateOk(t, 'externalAuditEventDestinationDestroy', { id: made });
    }
  }

  for (const world of WORLDS) {
    describe(`flag ${world}`, () => {
      for (const target of TARGETS) {
        describe(`target: ${target}`, () => {
          it.each(MATRIX.filter((c) => c.world === world && c.target === target))(
            '$title',
            (cell) => runCell(cell),
          );
        });
      }
    });
  }

  it(`has ${MATRIX.length} cells`, () => {
    // 12 operations on the own group and on another group's objects, 4 on the subgroup; 9 callers;
    // flag on and off.
    expect(MATRIX).toHaveLength((12 + 4 + 12) * 9 * 2);
  });

  it('denied callers never see a signing secret, even when they ask for it', async () => {
    const asked: CallerKey[] = [];
    for (const world of WORLDS) {
      for (const target of TARGETS) {
        const { groupPath } = fixtures[world][target];
        for (const caller of CALLERS) {
          if (expectation(world, target, caller, 'externalAuditEventDestinations') !== 'null')
            continue;
          const res = await listDestinations(
            t,
            groupPath,
            tokens[caller],
            'nodes { id signingSecret }',
          );
          expect(res.body).toEqual({
            data: { group: { fullPath: groupPath, externalAuditEventDestinations: null } },
          });
          asked.push(caller);
        }
      }
    }
    // Every caller but the admin is denied somewhere; the flag-off world denies everyone.
    expect(new Set(asked)).toEqual(new Set(CALLERS));
  });

  it('denied calls changed nothing: every fixture destination, header and filter is intact', async () => {
    expect(await snapshot()).toEqual(snapshotBefore);
  });
});
