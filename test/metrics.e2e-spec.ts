import { ExternalAuditEventDestination } from '../src/audit-event-streaming/destinations/external-audit-event-destination.entity';
import { startTestApp, TestApp } from './support/app';
import { eventually, Receiver } from './support/receiver';
import { Rest } from './support/rest';
import { createDestination, deliveriesOf, streamingEnv } from './support/streaming';

jest.setTimeout(120_000);

/** The value of one sample of the exposition text, or undefined when it is not there. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ? match[2].split(',') : []).sort();
    if (wanted.every((w) => have.includes(w)) && have.length === wanted.length)
      return Number(match[3]);
  }
  return undefined;
}

/**
 * `GET /metrics` on the reference host: the streaming plugin's Prometheus metrics, from a
 * registry of each app's own (two apps run in this process and do not clash).
 */
describe('metrics', () => {
  let t: TestApp;
  let rest: Rest;
  const ok = new Receiver();
  const failing = new Receiver();

  beforeAll(async () => {
    await ok.start();
    failing.fallback = 500;
    await failing.start();
    // Two attempts per delivery: one retry, then dead.
    t = await startTestApp({ env: streamingEnv({ AUDIT_STREAMING_RETRY_SCHEDULE: '100' }) });
    rest = new Rest(t);
  });
  afterAll(async () => {
    await t?.close();
    await ok.stop();
    await failing.stop();
  });

  async function scrape(app: TestApp = t): Promise<string> {
    const res = await app.http().get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text;
  }

  it('exposes every metric, with the outcomes at zero before any delivery', async () => {
    const text = await scrape();
    for (const name of [
      'audit_event_streaming_deliveries_total',
      'audit_event_streaming_attempt_duration_seconds',
      'audit_event_streaming_queue_jobs',
      'audit_event_streaming_dead_deliveries',
      'audit_event_streaming_destination_circuit_state',
    ])
      expect(text).toContain(`# HELP ${name} `);
    for (const outcome of ['delivered', 'retried', 'dead'])
      expect(sample(text, 'audit_event_streaming_deliveries_total', { outcome })).toBe(0);
    expect(sample(text, 'audit_event_streaming_dead_deliveries')).toBe(0);
    expect(sample(text, 'audit_event_streaming_queue_jobs', { state: 'waiting' })).toBe(0);
  });

  it('counts deliveries by outcome, times attempts, and shows dead deliveries', async () => {
    await rest.createGroup(t.adminToken, 'metrics-ok');
    const good = await createDestination(t, 'metrics-ok', ok.url);
    await rest.createGroup(t.adminToken, 'metrics-failing');
    const bad = await createDestination(t, 'metrics-failing', `${failing.url}/down`);
    // Each destination has exactly one delivery: the event of its own creation.
    await eventually(async () => {
      const [delivered] = await deliveriesOf(t, { destinationId: good.id });
      const [dead] = await deliveriesOf(t, { destinationId: bad.id });
      return delivered?.status === 'delivered' && dead?.status === 'dead';
    }, 'one delivered and one dead delivery');

    const text = await scrape();
    expect(sample(text, 'audit_event_streaming_deliveries_total', { outcome: 'delivered' })).toBe(
      1,
    );
    expect(sample(text, 'audit_event_streaming_deliveries_total', { outcome: 'retried' })).toBe(1);
    expect(sample(text, 'audit_event_streaming_deliveries_total', { outcome: 'dead' })).toBe(1);
    expect(
      sample(text, 'audit_event_streaming_attempt_duration_seconds_count', { result: 'success' }),
    ).toBe(1);
    expect(
      sample(text, 'audit_event_streaming_attempt_duration_seconds_count', { result: 'failure' }),
    ).toBe(2);
    expect(
      sample(text, 'audit_event_streaming_attempt_duration_seconds_bucket', {
        result: 'failure',
        le: '+Inf',
      }),
    ).toBe(2);
    expect(sample(text, 'audit_event_streaming_dead_deliveries')).toBe(1);

    // Circuit state per destination, labelled by id only: no URL, name or token in any label.
    for (const id of [good.id, bad.id])
      expect(
        sample(text, 'audit_event_streaming_destination_circuit_state', {
          destination_id: String(id),
        }),
      ).toBe(0);
    expect(text).not.toContain(ok.url);
    expect(text).not.toContain(failing.url);
    expect(text).not.toContain(good.verificationToken);
  });

  it("reads each destination's circuit state from the breaker's columns", async () => {
    await rest.createGroup(t.adminToken, 'metrics-circuit');
    const destination = await createDestination(t, 'metrics-circuit', ok.url);
    const rows = t.db.getRepository(ExternalAuditEventDestination);
    // Its one delivery (its own creation event) is done and its health recorded: nothing else
    // writes the row while the test does.
    await eventually(
      async () => (await rows.findOneBy({ id: destination.id }))?.lastSuccessAt,
      'the successful delivery to be recorded',
    );
    const state = async () =>
      sample(await scrape(), 'audit_event_streaming_destination_circuit_state', {
        destination_id: String(destination.id),
      });
    expect(await state()).toBe(0);
    // As the breaker leaves the row: open until the next probe, then half-open.
    await rows.update(destination.id, { circuitRetryAt: new Date(Date.now() + 3_600_000) });
    expect(await state()).toBe(2);
    await rows.update(destination.id, { circuitRetryAt: new Date(Date.now() - 1000) });
    expect(await state()).toBe(1);
    await rows.update(destination.id, { circuitRetryAt: null });
    expect(await state()).toBe(0);
  });

  it('reports queue depth from Redis, each app from its own registry', async () => {
    // An API node on its own database and Bull prefix: it queues, nobody delivers.
    const api = await startTestApp({ env: { ...streamingEnv(), APP_ROLE: 'api' } });
    try {
      await new Rest(api).createGroup(api.adminToken, 'metrics-queued');
      const destination = await createDestination(api, 'metrics-queued', ok.url);
      await eventually(
        async () => (await deliveriesOf(api, { destinationId: destination.id })).length === 1,
        'the queued delivery',
      );
      const text = await eventually(async () => {
        const scraped = await scrape(api);
        return sample(scraped, 'audit_event_streaming_queue_jobs', { state: 'waiting' }) === 1
          ? scraped
          : null;
      }, 'one waiting job');
      expect(sample(text, 'audit_event_streaming_queue_jobs', { state: 'active' })).toBe(0);
      // This app made no attempts: its counters are its own, not the other app's.
      expect(sample(text, 'audit_event_streaming_deliveries_total', { outcome: 'delivered' })).toBe(
        0,
      );
    } finally {
      await api.close();
    }
  });
});
