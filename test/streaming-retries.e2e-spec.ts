import { startTestApp, TestApp } from './support/app';
import { ReceivedRequest, eventually, receiversForSuite } from './support/receiver';
import { Rest } from './support/rest';
import { auditEventOf, createDestination, deliveriesOf, streamingEnv } from './support/streaming';

/**
 * Five attempts in all: the first and one per step. The step after the second attempt is long
 * enough for the test to take the receiver down before the third.
 */
const SCHEDULE = [200, 3000, 400, 800];
/** One attempt's time limit; the receiver's "hang" outlasts it. */
const TIMEOUT_MS = 1000;

describe('streaming: retries until the receiver recovers, and dead deliveries', () => {
  let t: TestApp;
  let rest: Rest;
  const receiver = receiversForSuite();

  /** The one delivery of this audit event, once `check` holds for it. */
  const deliveryWhen = (
    auditEventId: string,
    check: (d: Awaited<ReturnType<typeof deliveriesOf>>[number]) => boolean,
    what: string,
  ) =>
    eventually(async () => {
      const rows = await deliveriesOf(t, { auditEventId });
      expect(rows).toHaveLength(1);
      return check(rows[0]) && rows[0];
    }, what);

  beforeAll(async () => {
    t = await startTestApp({
      env: streamingEnv({
        AUDIT_STREAMING_RETRY_SCHEDULE: SCHEDULE.join(','),
        AUDIT_STREAMING_TIMEOUT_MS: String(TIMEOUT_MS),
        // This suite is about the retry schedule: keep the circuit breaker out of the way.
        AUDIT_STREAMING_CIRCUIT_FAILURES: '1000',
      }),
    });
    rest = new Rest(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('delivers the event after a 500, a timeout and a refused connection, with the same id', async () => {
    const r = await receiver();
    const root = await rest.createGroup(t.adminToken, 'flaky-siem');
    const destination = await createDestination(t, root.full_path, `${r.url}/ingest`);
    const isProjectEvent = (q: ReceivedRequest) => q.json?.event_type === 'project_created';
    r.respondFor(isProjectEvent, 500, 'hang');

    const project = await rest.createProject(t.adminToken, 'checkout', root.id);
    const event = await auditEventOf(t, 'project_created', { type: 'Project', id: project.id });

    // 1: HTTP 500. 2: no answer within the timeout.
    const timedOut = await deliveryWhen(
      event.id,
      (d) => d.attempts === 2 && /timeout/i.test(d.lastError ?? ''),
      'the timeout',
    );
    expect(timedOut.status).toBe('failed');
    expect(timedOut.lastStatusCode).toBeNull();
    // 3: nobody listening.
    await r.stop();
    const refused = await deliveryWhen(
      event.id,
      (d) => d.attempts >= 3 && /ECONNREFUSED/.test(d.lastError ?? ''),
      'the refused connection',
    );
    expect(refused.status).toBe('failed');
    expect(refused.lastStatusCode).toBeNull();
    // The receiver comes back on the same address.
    await r.start();

    const delivered = await deliveryWhen(event.id, (d) => d.status === 'delivered', 'delivery');
    expect(delivered.attempts).toBeGreaterThanOrEqual(4);
    expect(delivered.lastStatusCode).toBe(200);
    expect(delivered.lastError).toBeNull();
    expect(delivered.destinationId).toBe(destination.id);

    // What the SIEM saw: the failed tries and the good one, all the same event, same id.
    const seen = r.forEvent(event.id);
    expect(seen).toHaveLength(3);
    for (const got of seen) {
      expect(got.json.id).toBe(event.id);
      expect(got.headers['webhook-id']).toBe(event.id);
      expect(got.body).toBe(seen[0].body);
      expect(got.headers['x-gitlab-event-streaming-token']).toBe(destination.verificationToken);
    }
  });

  it('keeps a delivery that never succeeds as dead, with its attempts, last status and error', async () => {
    const r = await receiver();
    r.fallback = { status: 503, body: 'maintenance' };
    const root = await rest.createGroup(t.adminToken, 'down-siem');
    await createDestination(t, root.full_path, `${r.url}/ingest`);
    const project = await rest.createProject(t.adminToken, 'billing', root.id);
    const event = await auditEventOf(t, 'project_created', { type: 'Project', id: project.id });

    const dead = await deliveryWhen(event.id, (d) => d.status === 'dead', 'a dead delivery');
    expect(dead.attempts).toBe(SCHEDULE.length + 1);
    expect(dead.lastStatusCode).toBe(503);
    expect(dead.lastError).toBe('HTTP 503');
    expect(dead.deliveredAt).toBeNull();
    // Every attempt reached the receiver, and nothing more comes once it is dead.
    expect(r.forEvent(event.id)).toHaveLength(SCHEDULE.length + 1);
  });

  it('keeps a dead delivery to an address nobody listens on, naming the connection error', async () => {
    const gone = await receiver();
    const url = `${gone.url}/ingest`;
    await gone.stop();
    const root = await rest.createGroup(t.adminToken, 'gone-siem');
    await createDestination(t, root.full_path, url);
    const project = await rest.createProject(t.adminToken, 'archive', root.id);
    const event = await auditEventOf(t, 'project_created', { type: 'Project', id: project.id });

    const dead = await deliveryWhen(event.id, (d) => d.status === 'dead', 'a dead delivery');
    expect(dead.attempts).toBe(SCHEDULE.length + 1);
    expect(dead.lastStatusCode).toBeNull();
    expect(dead.lastError).toMatch(/ECONNREFUSED/);
  });

  it('settles a delivery whose receiver answers 2xx with a binary body, once', async () => {
    const r = await receiver();
    r.fallback = {
      status: 200,
      headers: { 'Content-Type': 'application/octet-stream' },
      body: '\u0000\u0001accepted\u0000',
    };
    const root = await rest.createGroup(t.adminToken, 'binary-siem');
    await createDestination(t, root.full_path, `${r.url}/ingest`);
    const project = await rest.createProject(t.adminToken, 'blob', root.id);
    const event = await auditEventOf(t, 'project_created', { type: 'Project', id: project.id });

    const delivered = await deliveryWhen(event.id, (d) => d.status === 'delivered', 'delivery');
    expect(delivered.attempts).toBe(1);
    expect(delivered.lastStatusCode).toBe(200);
    expect(r.forEvent(event.id)).toHaveLength(1);
  });

  it('does not follow a redirect: the attempt fails and is retried at the destination itself', async () => {
    const r = await receiver();
    const elsewhere = await receiver();
    const root = await rest.createGroup(t.adminToken, 'redirecting-siem');
    await createDestination(t, root.full_path, `${r.url}/ingest`);
    r.respondFor((q) => q.json?.event_type === 'project_created', {
      status: 307,
      headers: { Location: `${elsewhere.url}/stolen` },
    });
    const project = await rest.createProject(t.adminToken, 'moved', root.id);
    const event = await auditEventOf(t, 'project_created', { type: 'Project', id: project.id });

    const delivered = await deliveryWhen(event.id, (d) => d.status === 'delivered', 'delivery');
    expect(delivered.attempts).toBe(2);
    expect(r.forEvent(event.id)).toHaveLength(2);
    expect(elsewhere.requests).toEqual([]);
  });
});
