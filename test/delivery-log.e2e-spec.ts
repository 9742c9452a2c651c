import { DEVELOPER, GUEST, MAINTAINER, OWNER, REPORTER } from './support/api';
import { startTestApp, TestApp } from './support/app';
import { eventually, Receiver } from './support/receiver';
import { createPublicGroup } from './support/destination-api';
import { Rest } from './support/rest';
import {
  createDestination,
  deliveriesOf,
  flagBootstrapFile,
  streamingEnv,
} from './support/streaming';
import { DeliveryRetentionService } from '../src/audit-event-streaming/streaming/delivery-retention.service';
import { AuditEventDelivery } from '../src/audit-event-streaming/streaming/delivery.entity';
import { AuditEventDeliveryAttempt } from '../src/audit-event-streaming/streaming/delivery-attempt.entity';

/**
 * The delivery log (`ExternalAuditEventDestination.deliveries`, each delivery's `attempts`) and
 * destination health (`ExternalAuditEventDestination.health`), against a real receiver that
 * fails and then recovers; retention; and who may read them.
 */

jest.setTimeout(120_000);

const HEALTH = `health {
  status consecutiveFailures lastSuccessAt lastFailureAt lastError failingSince
  circuitOpenUntil deactivatedReason pendingCount deadCount
}`;

const DELIVERY = `id auditEventId eventType status attemptCount lastStatusCode lastError
  lastAttemptAt nextAttemptAt deliveredAt createdAt responseExcerpt
  attempts { nodes { id attemptNumber succeeded statusCode error latencyMs responseExcerpt createdAt } }`;

describe('delivery log and destination health', () => {
  let t: TestApp;
  let rest: Rest;
  const receiver = new Receiver();
  let destination: { id: number; gid: string };
  let subgroupEventId: string;

  /** The one destination of `log-root`, with `selection`, as `token`. */
  async function destinationView(selection: string, token: string | null = t.adminToken) {
    const res = await t.graphql(
      `query { group(fullPath: "log-root") { externalAuditEventDestinations { nodes { id ${selection} } } } }`,
      {},
      token,
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.group).not.toBeNull();
    return res.body.data.group.externalAuditEventDestinations?.nodes[0] ?? null;
  }

  async function deliveries(args = '', token: string | null = t.adminToken) {
    const res = await t.graphql(
      `query { group(fullPath: "log-root") { externalAuditEventDestinations { nodes {
         deliveries${args ? `(${args})` : ''} {
           nodes { ${DELIVERY} }
           edges { cursor }
           pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
         } } } } }`,
      {},
      token,
    );
    return res;
  }

  beforeAll(async () => {
    await receiver.start();
    t = await startTestApp({
      env: streamingEnv({
        // Long enough that the failing phase is seen before attempts run out.
        AUDIT_STREAMING_RETRY_SCHEDULE: '400,800,1600,3200,6400',
        AUDIT_STREAMING_CIRCUIT_FAILURES: '50',
      }),
    });
    rest = new Rest(t);
    // Public, so that every caller sees the group itself and only the streaming fields are hidden.
    await createPublicGroup(t, t.adminToken, 'log-root');
    destination = await createDestination(t, 'log-root', `${receiver.url}/log`);
    await eventually(
      () =>
        receiver.requests.find((r) => r.json?.event_type === 'create_event_streaming_destination'),
      'the destination creation event',
    );
  });
  afterAll(async () => {
    await t?.close();
    await receiver.stop();
  });

  it('shows each attempt of a receiver that fails then recovers, and health going failing -> healthy', async () => {
    receiver.fallback = { status: 503, body: 'receiver is down for maintenance' };
    const sub = await rest.createGroup(t.adminToken, 'sub', (await groupId('log-root'))!);

    // Failing: at least two failed attempts of the subgroup event, visible in the log and health.
    const failing = await eventually(async () => {
      const d = await destinationView(
        `${HEALTH} deliveries(status: FAILED) { nodes { ${DELIVERY} } }`,
      );
      const delivery = d.deliveries.nodes.find(
        (n: any) => n.eventType === 'group_created' && n.attemptCount >= 2,
      );
      return delivery && d.health.status === 'FAILING' && d.health.consecutiveFailures >= 2
        ? { health: d.health, delivery }
        : null;
    }, 'the failing phase');
    expect(failing.health).toMatchObject({
      lastError: 'HTTP 503',
      lastSuccessAt: expect.any(String),
      lastFailureAt: expect.any(String),
      failingSince: expect.any(String),
      circuitOpenUntil: null,
      deactivatedReason: null,
      deadCount: 0,
    });
    expect(failing.health.pendingCount).toBeGreaterThanOrEqual(1);
    expect(failing.delivery).toMatchObject({
      status: 'FAILED',
      lastStatusCode: 503,
      lastError: 'HTTP 503',
      responseExcerpt: 'receiver is down for maintenance',
      deliveredAt: null,
      nextAttemptAt: expect.any(String),
    });
    subgroupEventId = failing.delivery.auditEventId;

    // Recovering.
    receiver.fallback = 200;
    const healthy = await eventually(async () => {
      const d = await destinationView(HEALTH);
      return d.health.status === 'HEALTHY' && d.health.pendingCount === 0 ? d.health : null;
    }, 'the destination to be healthy again');
    expect(healthy).toMatchObject({
      consecutiveFailures: 0,
      lastError: 'HTTP 503',
      failingSince: null,
      deadCount: 0,
    });
    expect(Date.parse(healthy.lastSuccessAt)).toBeGreaterThanOrEqual(
      Date.parse(healthy.lastFailureAt),
    );

    const res = await deliveries();
    const log = res.body.data.group.externalAuditEventDestinations.nodes[0].deliveries;
    const delivery = log.nodes.find((n: any) => n.auditEventId === subgroupEventId);
    expect(delivery).toMatchObject({
      id: expect.stringMatching(/^gid:\/\/gitlab\/AuditEvents::Streaming::Delivery\/\d+$/),
      eventType: 'group_created',
      status: 'DELIVERED',
      lastStatusCode: 200,
      lastError: null,
      responseExcerpt: 'ok',
      nextAttemptAt: null,
      deliveredAt: expect.any(String),
    });
    // Every attempt is in the log, in order: the failures, then the success.
    const attempts = delivery.attempts.nodes;
    expect(attempts.length).toBe(delivery.attemptCount);
    expect(attempts.map((a: any) => a.attemptNumber)).toEqual(
      attempts.map((_: unknown, i: number) => i + 1),
    );
    expect(attempts.slice(0, -1)).toEqual(
      attempts.slice(0, -1).map(() =>
        expect.objectContaining({
          succeeded: false,
          statusCode: 503,
          error: 'HTTP 503',
          responseExcerpt: 'receiver is down for maintenance',
        }),
      ),
    );
    expect(attempts[attempts.length - 1]).toMatchObject({
      id: expect.stringMatching(/^gid:\/\/gitlab\/AuditEvents::Streaming::DeliveryAttempt\/\d+$/),
      succeeded: true,
      statusCode: 200,
      error: null,
      responseExcerpt: 'ok',
    });
    expect(attempts.every((a: any) => a.latencyMs >= 0 && a.createdAt)).toBe(true);
    // The receiver saw exactly those attempts for this event.
    expect(receiver.forEvent(subgroupEventId).length).toBe(attempts.length);
    expect(sub.full_path).toBe('log-root/sub');
  });

  it('lists newest first, filters by status and time, and pages with cursors', async () => {
    const all = (await deliveries()).body.data.group.externalAuditEventDestinations.nodes[0]
      .deliveries;
    const ids = all.nodes.map((n: any) => Number(n.id.split('/').pop()));
    expect(ids.length).toBeGreaterThanOrEqual(2);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));

    const delivered = (await deliveries('status: DELIVERED')).body.data.group
      .externalAuditEventDestinations.nodes[0].deliveries.nodes;
    expect(delivered.length).toBe(all.nodes.length);
    for (const status of ['PENDING', 'FAILED', 'DEAD']) {
      const res = await deliveries(`status: ${status}`);
      expect(res.body.data.group.externalAuditEventDestinations.nodes[0].deliveries.nodes).toEqual(
        [],
      );
    }

    const future = new Date(Date.now() + 3_600_000).toISOString();
    const past = new Date(Date.now() - 3_600_000).toISOString();
    const none = await deliveries(`createdAfter: "${future}"`);
    expect(none.body.data.group.externalAuditEventDestinations.nodes[0].deliveries.nodes).toEqual(
      [],
    );
    const some = await deliveries(`createdAfter: "${past}", createdBefore: "${future}"`);
    expect(
      some.body.data.group.externalAuditEventDestinations.nodes[0].deliveries.nodes.length,
    ).toBe(all.nodes.length);

    const page1 = (await deliveries('first: 1')).body.data.group.externalAuditEventDestinations
      .nodes[0].deliveries;
    expect(page1.nodes.map((n: any) => n.id)).toEqual([all.nodes[0].id]);
    expect(page1.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const page2 = (await deliveries(`first: 1, after: "${page1.pageInfo.endCursor}"`)).body.data
      .group.externalAuditEventDestinations.nodes[0].deliveries;
    expect(page2.nodes.map((n: any) => n.id)).toEqual([all.nodes[1].id]);
    expect(page2.pageInfo.hasPreviousPage).toBe(true);
    const back = (await deliveries(`last: 1, before: "${page2.pageInfo.startCursor}"`)).body.data
      .group.externalAuditEventDestinations.nodes[0].deliveries;
    expect(back.nodes.map((n: any) => n.id)).toEqual([all.nodes[0].id]);
  });

  it('rejects bad arguments with clear errors, not 500s', async () => {
    const cases: [string, RegExp][] = [
      ['status: SOMETIMES', /SOMETIMES/],
      ['createdAfter: "yesterday"', /not a valid ISO 8601 time/],
      ['first: -1', /non-negative/],
      ['after: "garbage"', /valid cursor/],
      [
        `createdAfter: "2030-01-02T00:00:00Z", createdBefore: "2030-01-01T00:00:00Z"`,
        /createdAfter must be before createdBefore/,
      ],
    ];
    for (const [args, message] of cases) {
      const res = await deliveries(args);
      expect(res.status).toBeLessThan(500);
      expect(JSON.stringify(res.body.errors)).toMatch(message);
      expect(JSON.stringify(res.body)).not.toMatch(/Internal server error|at .*\.ts:\d+/);
    }
  });

  it('cleans up delivered deliveries past retention, never undelivered work', async () => {
    const rows = await deliveriesOf(t, { destinationId: destination.id });
    expect(rows.length).toBeGreaterThanOrEqual(2);
    const old = new Date(Date.now() - 31 * 24 * 3600 * 1000);
    const repo = t.db.getRepository(AuditEventDelivery);
    // Arrange: one delivered long ago, one dead long ago (undelivered work, kept for replay).
    const [oldDelivered, oldDead] = rows;
    await repo.update({ id: oldDelivered.id }, { deliveredAt: old, createdAt: old });
    await repo.update(
      { id: oldDead.id },
      { status: 'dead', deliveredAt: null, createdAt: old, lastAttemptAt: old },
    );
    const recent = rows.slice(2).map((r) => r.id);

    const deleted = await t.app.get(DeliveryRetentionService).purge();
    expect(deleted).toBe(1);
    const left = (await deliveriesOf(t, { destinationId: destination.id })).map((r) => r.id);
    expect(left).toEqual([oldDead.id, ...recent]);
    expect(
      await t.db.getRepository(AuditEventDeliveryAttempt).countBy({ deliveryId: oldDelivered.id }),
    ).toBe(0);
    expect(
      await t.db.getRepository(AuditEventDeliveryAttempt).countBy({ deliveryId: oldDead.id }),
    ).toBeGreaterThan(0);
    const d = await destinationView(HEALTH);
    expect(d.health.deadCount).toBe(1);
    // A second pass has nothing left to do.
    expect(await t.app.get(DeliveryRetentionService).purge()).toBe(0);
  });

  it('shows the log and health to owners and admins only (null for everyone else)', async () => {
    const rootId = (await groupId('log-root'))!;
    const sub = (await groupId('log-root/sub'))!;
    const users: Record<string, { token: string }> = {};
    const levels: [string, number, number][] = [
      ['owner', rootId, OWNER],
      ['maintainer', rootId, MAINTAINER],
      ['developer', rootId, DEVELOPER],
      ['reporter', rootId, REPORTER],
      ['guest', rootId, GUEST],
      ['subOwner', sub, OWNER],
    ];
    for (const [name, group, level] of levels) {
      const u = await rest.createUser(`log-${name.toLowerCase()}`);
      await rest.addMember(t.adminToken, group, u.id, level);
      users[name] = u;
    }
    users.nonMember = await rest.createUser('log-nonmember');

    const selection = `${HEALTH} deliveries { nodes { id attempts { nodes { id } } } }`;
    for (const caller of ['admin', 'owner']) {
      const token = caller === 'admin' ? t.adminToken : users.owner.token;
      const d = await destinationView(selection, token);
      expect(d.health.status).toBe('HEALTHY');
      expect(d.deliveries.nodes.length).toBeGreaterThan(0);
    }
    for (const caller of [
      'maintainer',
      'developer',
      'reporter',
      'guest',
      'subOwner',
      'nonMember',
    ]) {
      expect([caller, await destinationView(selection, users[caller].token)]).toEqual([
        caller,
        null,
      ]);
    }
    expect(await destinationView(selection, null)).toBeNull();
    // An inherited owner (the root's owner, on the subgroup) passes; a subgroup has no destinations.
    const res = await t.graphql(
      `query { group(fullPath: "log-root/sub") { externalAuditEventDestinations { nodes { id ${selection} } } } }`,
      {},
      users.owner.token,
    );
    expect(res.body.data.group.externalAuditEventDestinations).toEqual({ nodes: [] });
  });

  it('is null with the flag off for the group', async () => {
    // The same database, booted with the flag on for another group only.
    const off = await startTestApp({
      databaseUrl: t.config.databaseUrl,
      env: { ...streamingEnv(), UNLEASH_BOOTSTRAP: flagBootstrapFile([987654]) },
    });
    try {
      const res = await off.graphql(
        `query { group(fullPath: "log-root") { externalAuditEventDestinations { nodes { ${HEALTH} deliveries { nodes { id } } } } } }`,
        {},
        t.adminToken,
      );
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data.group.externalAuditEventDestinations).toBeNull();
    } finally {
      await off.close();
    }
  });

  async function groupId(fullPath: string): Promise<number | null> {
    const res = await t
      .http()
      .get(`/api/v4/groups/${encodeURIComponent(fullPath)}`)
      .set('PRIVATE-TOKEN', t.adminToken);
    return res.body?.id ?? null;
  }
});
