import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { DEVELOPER, GUEST, MAINTAINER, OWNER, REPORTER } from './support/api';
import { startTestApp, TestApp } from './support/app';
import { createTestDatabase, TestDatabase } from './support/databases';
import { ACCESS_ERROR, FLAG, mutateOk } from './support/destination-api';
import {
  deliveryGid,
  readReplay,
  steer,
  steerOk,
  SteeringMutation,
} from './support/delivery-steering';
import { eventually, Receiver } from './support/receiver';
import { Rest } from './support/rest';
import {
  createDestination,
  deliveriesOf,
  streamingEnv,
  streamingAppForSuite,
} from './support/streaming';

jest.setTimeout(120_000);

describe('externalAuditEventDestinationTestEventSend', () => {
  let t: TestApp;
  let rest: Rest;
  const receiver = new Receiver();
  let destination: Awaited<ReturnType<typeof createDestination>>;

  streamingAppForSuite(receiver, async (app) => {
    t = app;
    rest = new Rest(t);
    await rest.createGroup(t.adminToken, 'test-event-root');
    destination = await createDestination(t, 'test-event-root', `${receiver.url}/siem`);
    await mutateOk(t, 'auditEventsStreamingHeadersCreate', {
      destinationId: destination.gid,
      key: 'X-Tenant',
      value: 'acme',
    });
    // Only group_created events stream live: the test event must go regardless of filters.
    await mutateOk(t, 'auditEventsStreamingDestinationEventsAdd', {
      destinationId: destination.gid,
      eventTypeFilters: ['group_created'],
    });
  });

  const isTest = (r: { json: any }) => r.json?.event_type === 'audit_events_streaming_test_event';

  it('sends a marked, signed test event at once and returns the answer', async () => {
    receiver.respondFor(isTest, { status: 202, body: 'accepted by the SIEM' });
    const payload = await steerOk(t, 'externalAuditEventDestinationTestEventSend', {
      id: destination.gid,
    });
    expect(payload).toMatchObject({
      errors: [],
      success: true,
      statusCode: 202,
      responseExcerpt: 'accepted by the SIEM',
      errorMessage: null,
    });
    expect(payload.latencyMs).toBeGreaterThanOrEqual(0);
    expect(payload.eventId).toMatch(/^test-[0-9a-f-]{36}$/);

    // The mutation answered after the receiver did: the request is already there.
    const sent = receiver.requests.filter(isTest);
    expect(sent).toHaveLength(1);
    const [request] = sent;
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/siem');
    expect(request.json).toMatchObject({
      id: payload.eventId,
      event_type: 'audit_events_streaming_test_event',
      entity_type: 'Group',
      entity_path: 'test-event-root',
      target_type: 'AuditEvents::ExternalAuditEventDestination',
      target_id: destination.id,
      details: { test: true, event_name: 'audit_events_streaming_test_event' },
    });
    expect(request.headers['x-gitlab-audit-event-type']).toBe('audit_events_streaming_test_event');
    expect(request.headers['x-gitlab-event-streaming-token']).toBe(destination.verificationToken);
    expect(request.headers['x-tenant']).toBe('acme');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['webhook-id']).toBe(payload.eventId);
    expect(() =>
      new Webhook(destination.signingSecret).verify(request.body, {
        'webhook-id': String(request.headers['webhook-id']),
        'webhook-timestamp': String(request.headers['webhook-timestamp']),
        'webhook-signature': String(request.headers['webhook-signature']),
      }),
    ).not.toThrow();

    // Nothing is recorded or queued for it.
    const rows = await deliveriesOf(t, { destinationId: destination.id });
    expect(rows.map((r) => r.auditEventId)).not.toContain(payload.eventId);
  });

  it("reports a failing destination's status and excerpt, without retrying", async () => {
    receiver.respondFor(isTest, { status: 503, body: 'maintenance window' });
    const before = receiver.requests.filter(isTest).length;
    const payload = await steerOk(t, 'externalAuditEventDestinationTestEventSend', {
      id: destination.gid,
    });
    expect(payload).toMatchObject({
      errors: [],
      success: false,
      statusCode: 503,
      responseExcerpt: 'maintenance window',
      errorMessage: 'HTTP 503',
    });
    expect(receiver.requests.filter(isTest).length - before).toBe(1);
  });

  it('reports an unreachable destination', async () => {
    const down = await new Receiver().start();
    const port = down.port;
    await down.stop();
    const unreachable = await createDestination(t, 'test-event-root', `http://127.0.0.1:${port}/x`);
    const payload = await steerOk(t, 'externalAuditEventDestinationTestEventSend', {
      id: unreachable.gid,
    });
    expect(payload).toMatchObject({ errors: [], success: false, statusCode: null });
    expect(payload.errorMessage).toMatch(/ECONNREFUSED/);
  });

  it('goes through the same address checks as deliveries', async () => {
    // A second host on the same database, with local requests not allowed (the default).
    const strict = await startTestApp({
      databaseUrl: t.config.databaseUrl,
      env: { ...streamingEnv(), AUDIT_STREAMING_ALLOW_LOCAL_REQUESTS: 'false', APP_ROLE: 'api' },
    });
    try {
      const before = receiver.requests.length;
      const payload = await steerOk(
        strict,
        'externalAuditEventDestinationTestEventSend',
        { id: destination.gid },
        t.adminToken,
      );
      expect(payload.success).toBe(false);
      expect(payload.statusCode).toBeNull();
      expect(payload.errorMessage).toMatch(/loopback|localhost|local network/i);
      expect(receiver.requests.length).toBe(before);
    } finally {
      await strict.close();
    }
  });

  it('rejects a malformed id with a clear error', async () => {
    const res = await steer(t, 'externalAuditEventDestinationTestEventSend', { id: 'nope' });
    expect(res.status).toBeLessThan(500);
    expect(JSON.stringify(res.body.errors)).toContain('"nope\\" is not a valid Global ID');
  });
});

/**
 * Who may steer delivery: the destinations API's rules (GITLAB-CONTRACT.md §3), for each new
 * mutation. Objects are destinations of a top-level group and their deliveries; a top-level group
 * has no ancestor, so ownership there is always direct, and an owner of a subgroup only is denied.
 * The flag-off world is arranged while its flag was on, then the host restarts with it off.
 */
describe('delivery steering authorization', () => {
  let database: TestDatabase;
  let flagDir: string;
  let t: TestApp;
  const receiver = new Receiver();
  const tokens: Record<string, string | null> = {};
  /** Per root path: a destination global id and one of its deliveries' global id. */
  const objects: Record<string, { destination: string; delivery: string }> = {};

  const CALLS: SteeringMutation[] = [
    'auditEventsStreamingDeliveryRetry',
    'externalAuditEventDestinationDeadDeliveriesReplay',
    'externalAuditEventDestinationEventsReplay',
    'externalAuditEventDestinationTestEventSend',
  ];

  function inputFor(name: SteeringMutation, rootPath: string): Record<string, unknown> {
    const o = objects[rootPath];
    if (name === 'auditEventsStreamingDeliveryRetry') return { id: o.delivery };
    if (name === 'externalAuditEventDestinationEventsReplay')
      return {
        id: o.destination,
        startedAt: '2020-01-01T00:00:00Z',
        endedAt: '2030-01-01T00:00:00Z',
      };
    return { id: o.destination };
  }

  beforeAll(async () => {
    await receiver.start();
    database = await createTestDatabase('postgres');
    flagDir = mkdtempSync(join(tmpdir(), 'aes-flags-'));
    const flagFile = join(flagDir, 'flags.json');
    const flag = (constraints: unknown[]) =>
      JSON.stringify({
        version: 1,
        features: [{ name: FLAG, enabled: true, strategies: [{ name: 'default', constraints }] }],
      });
    const env = {
      UNLEASH_BOOTSTRAP: flagFile,
      AUDIT_STREAMING_ALLOW_LOCAL_REQUESTS: 'true',
      // An API node: deliveries stay queued, so the fixtures do not change under the cells.
      APP_ROLE: 'api',
    };
    writeFileSync(flagFile, flag([]));
    t = await startTestApp({ databaseUrl: database.url, env });
    const rest = new Rest(t);
    const users: Record<string, { id: number; token: string }> = {};
    for (const name of [
      'owner',
      'sub-owner',
      'maintainer',
      'developer',
      'reporter',
      'guest',
      'non-member',
      'other-owner',
      'off-owner',
    ])
      users[name] = await rest.createUser(name);
    const root = await rest.createGroup(users.owner.token, 'steer-a');
    const sub = await rest.createGroup(users.owner.token, 'sub', root.id);
    await rest.addMember(users.owner.token, sub.id, users['sub-owner'].id, OWNER);
    for (const [name, level] of [
      ['maintainer', MAINTAINER],
      ['developer', DEVELOPER],
      ['reporter', REPORTER],
      ['guest', GUEST],
    ] as const)
      await rest.addMember(users.owner.token, root.id, users[name].id, level);
    await rest.createGroup(users['other-owner'].token, 'steer-b');
    await rest.createGroup(users['off-owner'].token, 'steer-off');
    for (const path of ['steer-a', 'steer-b', 'steer-off']) {
      const created = await createDestination(t, path, `${receiver.url}/${path}`);
      // The destination's own creation event has a delivery to it.
      const [delivery] = await eventually(async () => {
        const rows = await deliveriesOf(t, { destinationId: created.id });
        return rows.length ? rows : null;
      }, `a delivery to the destination of ${path}`);
      objects[path] = { destination: created.gid, delivery: deliveryGid(delivery.id) };
    }
    await t.close();

    writeFileSync(
      flagFile,
      flag([{ contextName: 'groupPath', operator: 'NOT_IN', values: ['steer-off'] }]),
    );
    t = await startTestApp({ databaseUrl: database.url, env });
    tokens.owner = users.owner.token;
    tokens.admin = t.adminToken;
    tokens.subOwner = users['sub-owner'].token;
    tokens.maintainer = users.maintainer.token;
    tokens.developer = users.developer.token;
    tokens.reporter = users.reporter.token;
    tokens.guest = users.guest.token;
    tokens.nonMember = users['non-member'].token;
    tokens.anonymous = null;
    tokens.otherOwner = users['other-owner'].token;
    tokens.offOwner = users['off-owner'].token;
  });
  afterAll(async () => {
    await t?.close();
    await database?.drop();
    if (flagDir) rmSync(flagDir, { recursive: true, force: true });
    await receiver.stop();
  });

  const allowed: [string, string][] = [
    ['owner', 'steer-a'],
    ['admin', 'steer-a'],
    ['admin', 'steer-b'],
  ];
  const denied: [string, string, string][] = [
    ['subOwner', 'steer-a', 'an owner of a subgroup only'],
    ['maintainer', 'steer-a', 'a maintainer'],
    ['developer', 'steer-a', 'a developer'],
    ['reporter', 'steer-a', 'a reporter'],
    ['guest', 'steer-a', 'a guest'],
    ['nonMember', 'steer-a', 'a non-member'],
    ['anonymous', 'steer-a', 'an anonymous caller'],
    ['owner', 'steer-b', "an owner naming another group's object"],
    ['offOwner', 'steer-off', 'the owner, with the flag off'],
    ['admin', 'steer-off', 'an admin, with the flag off'],
  ];

  describe.each(CALLS)('%s', (name) => {
    it.each(allowed)('is allowed to %s on %s', async (caller, path) => {
      const res = await steer(t, name, inputFor(name, path), tokens[caller]);
      expect(res.status).toBe(200);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data[name].errors).toEqual([]);
    });

    it.each(denied)('gives the access error to %s on %s (%s)', async (caller, path) => {
      const res = await steer(t, name, inputFor(name, path), tokens[caller]);
      expect(res.status).toBe(200);
      expect(res.body.data?.[name] ?? null).toBeNull();
      expect(res.body.errors.map((e: { message: string }) => e.message)).toEqual([ACCESS_ERROR]);
    });

    it('gives the access error for an object that does not exist', async () => {
      const input = inputFor(name, 'steer-a');
      input.id =
        name === 'auditEventsStreamingDeliveryRetry'
          ? deliveryGid(999999)
          : 'gid://gitlab/AuditEvents::ExternalAuditEventDestination/999999';
      const res = await steer(t, name, input, tokens.owner);
      expect(res.body.data?.[name] ?? null).toBeNull();
      expect(res.body.errors.map((e: { message: string }) => e.message)).toEqual([ACCESS_ERROR]);
    });
  });

  it('shows a replay only to those who may manage its destination', async () => {
    const payload = await steerOk(
      t,
      'externalAuditEventDestinationDeadDeliveriesReplay',
      { id: objects['steer-a'].destination },
      tokens.owner,
    );
    const id = payload.replay.id as string;
    expect(await readReplay(t, id, tokens.owner)).toMatchObject({ id });
    expect(await readReplay(t, id, tokens.admin)).toMatchObject({ id });
    for (const caller of [
      'subOwner',
      'maintainer',
      'guest',
      'nonMember',
      'anonymous',
      'otherOwner',
    ])
      expect(await readReplay(t, id, tokens[caller])).toBeNull();
  });
});
