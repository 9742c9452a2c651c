import { AuditEventDelivery } from '../src/audit-event-streaming/streaming/delivery.entity';
import { startTestApp, TestApp } from './support/app';
import { eventually, Receiver } from './support/receiver';
import { Rest } from './support/rest';
import { createDestination, deliveriesOf, streamingEnv } from './support/streaming';

/**
 * The circuit breaker and deactivation (DESIGN.md §5): a destination that keeps failing has its
 * deliveries held (never dropped) and probed one at a time, resumes when it answers, and is
 * deactivated after failing for the configured period or at once on 410 Gone.
 */

jest.setTimeout(120_000);

const HEALTH = `health {
  status consecutiveFailures lastSuccessAt lastFailureAt lastError failingSince
  circuitOpenUntil deactivatedReason pendingCount deadCount
}`;

async function destinations(t: TestApp, fullPath: string): Promise<any[]> {
  const res = await t.graphql(
    `query($p: ID!) { group(fullPath: $p) { externalAuditEventDestinations {
       nodes { id name active ${HEALTH} } } } }`,
    { p: fullPath },
  );
  expect(res.body.errors).toBeUndefined();
  return res.body.data.group.externalAuditEventDestinations.nodes;
}

describe('circuit breaker: a receiver that is down', () => {
  const PROBE_MS = 1500;
  let t: TestApp;
  let rest: Rest;
  const receiver = new Receiver();

  beforeAll(async () => {
    await receiver.start();
    t = await startTestApp({
      env: streamingEnv({
        AUDIT_STREAMING_RETRY_SCHEDULE: '300,600,1200,2400,4800,9600',
        AUDIT_STREAMING_CIRCUIT_FAILURES: '3',
        AUDIT_STREAMING_CIRCUIT_PROBE_MS: String(PROBE_MS),
      }),
    });
    rest = new Rest(t);
  });
  afterAll(async () => {
    await t?.close();
    await receiver.stop();
  });

  it('opens, holds without a request storm, drops nothing, and delivers everything once back', async () => {
    const root = await rest.createGroup(t.adminToken, 'circuit-root');
    const destination = await createDestination(t, 'circuit-root', `${receiver.url}/siem`);
    await eventually(
      () =>
        receiver.requests.find((r) => r.json?.event_type === 'create_event_streaming_destination'),
      'the destination creation event',
    );

    // Down (answering 503, so that every request that reaches it is counted).
    receiver.fallback = { status: 503, body: 'down' };
    const before = receiver.requests.length;
    const EVENTS = 8;
    for (let i = 0; i < EVENTS; i++) await rest.createGroup(t.adminToken, `sub${i}`, root.id);

    const open = await eventually(async () => {
      const [d] = await destinations(t, 'circuit-root');
      return d.health.status === 'CIRCUIT_OPEN' ? d.health : null;
    }, 'the circuit to open');
    expect(open.consecutiveFailures).toBeGreaterThanOrEqual(3);
    expect(open.circuitOpenUntil).toEqual(expect.any(String));
    const openedAt = receiver.requests.length;

    // While open, only probes get through: wait for two of them.
    await eventually(
      () => receiver.requests.length >= openedAt + 2,
      'two probes while the circuit is open',
      30_000,
    );
    const whileOpen = receiver.requests.slice(openedAt);
    // Probes are spaced by the probe interval (one at a time), not by the retry schedule.
    for (let i = 1; i < whileOpen.length; i++)
      expect(whileOpen[i].at - whileOpen[i - 1].at).toBeGreaterThanOrEqual(PROBE_MS * 0.9);

    // Nothing dropped: every event's delivery is still waiting, none dead, few attempts each.
    const rows = (await deliveriesOf(t, { destinationId: destination.id })).filter(
      (r) => r.status !== 'delivered',
    );
    expect(rows.length).toBe(EVENTS);
    expect(rows.every((r) => r.status === 'pending' || r.status === 'failed')).toBe(true);
    const attempts = rows.reduce((n, r) => n + r.attempts, 0);
    // Without the breaker each would have made several attempts by now; with it, the first
    // wave plus the probes (every request that reached the receiver is one attempt).
    // (an attempt is counted when claimed, just before its request goes)
    expect(attempts - (receiver.requests.length - before)).toBeGreaterThanOrEqual(0);
    expect(attempts - (receiver.requests.length - before)).toBeLessThanOrEqual(1);
    expect(attempts).toBeLessThan(EVENTS * 2);
    const [held] = await destinations(t, 'circuit-root');
    expect(held.health).toMatchObject({ pendingCount: EVENTS, deadCount: 0 });

    // Back: the next probe succeeds, the circuit closes and everything held arrives.
    receiver.fallback = 200;
    await eventually(
      async () =>
        (await deliveriesOf(t, { destinationId: destination.id })).every(
          (r) => r.status === 'delivered',
        ),
      'every held event to arrive',
      30_000,
    );
    for (const row of rows)
      expect(receiver.forEvent(String(row.auditEventId)).length).toBeGreaterThan(0);
    const healthy = await eventually(async () => {
      const [d] = await destinations(t, 'circuit-root');
      return d.health.status === 'HEALTHY' && d.health.pendingCount === 0 ? d.health : null;
    }, 'the destination to be healthy');
    expect(healthy).toMatchObject({
      consecutiveFailures: 0,
      circuitOpenUntil: null,
      failingSince: null,
      deadCount: 0,
    });
    const after = await deliveriesOf(t, { destinationId: destination.id });
    expect(after.every((r) => r.status === 'delivered')).toBe(true);
  });
});

describe('deactivation', () => {
  let t: TestApp;
  let rest: Rest;
  const failing = new Receiver();
  const healthy = new Receiver();
  const gone = new Receiver();

  beforeAll(async () => {
    await Promise.all([failing.start(), healthy.start(), gone.start()]);
    failing.fallback = { status: 500, body: 'broken' };
    gone.fallback = { status: 410, body: 'this endpoint is gone' };
    t = await startTestApp({
      env: streamingEnv({
        AUDIT_STREAMING_RETRY_SCHEDULE: '500,1000,2000,4000,8000,16000',
        AUDIT_STREAMING_CIRCUIT_FAILURES: '2',
        AUDIT_STREAMING_CIRCUIT_PROBE_MS: '300',
        AUDIT_STREAMING_DEACTIVATE_AFTER_MS: '2000',
      }),
    });
    rest = new Rest(t);
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([failing.stop(), healthy.stop(), gone.stop()]);
  });

  it('deactivates a destination failing for the period, records it, and keeps its undelivered work', async () => {
    const root = await rest.createGroup(t.adminToken, 'deact-root');
    const bad = await createDestination(t, 'deact-root', `${failing.url}/bad`);
    await createDestination(t, 'deact-root', `${healthy.url}/good`);
    await rest.createGroup(t.adminToken, 'sub', root.id);

    const notice = await eventually(
      () =>
        healthy.requests.find(
          (r) =>
            r.json?.event_type === 'event_streaming_destination_deactivated' &&
            r.json.target_id === bad.id,
        ),
      'the deactivation audit event at the other destination',
      30_000,
    );
    expect(notice.json).toMatchObject({
      entity_type: 'Group',
      entity_id: root.id,
      target_type: 'AuditEvents::ExternalAuditEventDestination',
      author_id: -1,
    });
    expect(notice.json.details.custom_message).toMatch(/Failing since .* without a successful/);

    const nodes = await destinations(t, 'deact-root');
    const badNode = nodes.find((n) => n.id === bad.gid);
    expect(badNode.active).toBe(false);
    expect(badNode.health).toMatchObject({
      status: 'DISABLED',
      lastError: 'HTTP 500',
      deactivatedReason: expect.stringMatching(/^Failing since /),
      lastSuccessAt: null,
    });
    // Its undelivered work stays, for replay or reactivation.
    const rows = await deliveriesOf(t, { destinationId: bad.id });
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(rows.every((r) => r.status !== 'delivered')).toBe(true);
    expect(badNode.health.pendingCount + badNode.health.deadCount).toBe(rows.length);
    // Deactivated: no more requests reach it.
    const seen = failing.requests.length;
    await rest.createGroup(t.adminToken, 'after', root.id);
    await eventually(
      () => healthy.requests.find((r) => r.json?.entity_path === 'deact-root/after'),
      'a later event at the healthy destination',
    );
    expect(failing.requests.length).toBe(seen);
  });

  it('deactivates at once on 410 Gone', async () => {
    await rest.createGroup(t.adminToken, 'gone-root');
    await createDestination(t, 'gone-root', `${healthy.url}/gone-root`);
    const g = await createDestination(t, 'gone-root', `${gone.url}/gone`);
    await eventually(
      () =>
        healthy.requests.find(
          (r) =>
            r.json?.event_type === 'event_streaming_destination_deactivated' &&
            r.json.target_id === g.id,
        ),
      'the deactivation audit event',
    );
    const node = (await destinations(t, 'gone-root')).find((n) => n.id === g.gid);
    expect(node.active).toBe(false);
    expect(node.health).toMatchObject({
      status: 'DISABLED',
      deactivatedReason: 'The destination answered 410 Gone',
      consecutiveFailures: 1,
    });
    expect(gone.requests.length).toBe(1);
    const row = (await t.db.getRepository(AuditEventDelivery).findOneBy({ destinationId: g.id }))!;
    expect(row).toMatchObject({ lastStatusCode: 410, responseExcerpt: 'this endpoint is gone' });
    expect(row.status).not.toBe('delivered');
    expect(row.status).not.toBe('dead');
  });
});
