import { Webhook } from 'standardwebhooks';
import type { TestApp } from './support/app';
import { eventually, ReceivedRequest, Receiver } from './support/receiver';
import { mutateOk } from './support/destination-api';
import { Rest } from './support/rest';
import { createDestination, deliveriesOf, streamingAppForSuite } from './support/streaming';

const UPDATE = `
  mutation($input: ExternalAuditEventDestinationUpdateInput!) {
    externalAuditEventDestinationUpdate(input: $input) {
      errors
      externalAuditEventDestination { batchFormat batchMaxEvents batchMaxBytes batchMaxWaitMs }
    }
  }`;

/** The events of one batch request, as a receiver parses them. */
function eventsIn(request: ReceivedRequest): any[] {
  // One event per request (sent before the destination switched to batch mode).
  if (!request.headers['x-gitlab-audit-event-count']) return [request.json];
  const type = request.headers['content-type'];
  if (type === 'application/x-ndjson') {
    expect(request.body.endsWith('\n')).toBe(true);
    return request.body
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line));
  }
  // Splunk HEC: `{"time":..,"event":..}` objects one after the other.
  const wrapped = JSON.parse(`[${request.body.replace(/}{"time"/g, '},{"time"')}]`);
  return wrapped.map((w: { time: number; event: any }) => {
    expect(w.time).toBe(Math.floor(Date.parse(w.event.created_at) / 1000));
    return w.event;
  });
}

async function batchDestination(
  t: TestApp,
  groupPath: string,
  url: string,
  options: Record<string, unknown>,
): Promise<{ id: number; gid: string; signingSecret: string }> {
  const destination = await createDestination(t, groupPath, url);
  const res = await t.graphql(UPDATE, { input: { id: destination.gid, ...options } });
  expect(res.body.data.externalAuditEventDestinationUpdate.errors).toEqual([]);
  return destination;
}

describe('streaming: batch mode', () => {
  let t: TestApp;
  let rest: Rest;
  const receiver = new Receiver();
  const requestsTo = (path: string) => receiver.requests.filter((r) => r.path === path);

  streamingAppForSuite(receiver, (app) => {
    t = app;
    rest = new Rest(app);
  });

  it('sends NDJSON batches within the size bound, each event with its id, signed as a whole', async () => {
    const root = await rest.createGroup(t.adminToken, 'ndjson-root');
    const destination = await batchDestination(t, 'ndjson-root', `${receiver.url}/ndjson`, {
      batchFormat: 'NDJSON',
      batchMaxEvents: 5,
      batchMaxWaitMs: 300,
    });
    const groups: { id: number }[] = [];
    for (let i = 0; i < 12; i++)
      groups.push(await rest.createGroup(t.adminToken, `g${i}`, root.id));

    const batches = await eventually(() => {
      const got = requestsTo('/ndjson').filter((r) => r.headers['x-gitlab-audit-event-count']);
      const ids = new Set(got.flatMap(eventsIn).map((e) => e.entity_id));
      return groups.every((g) => ids.has(g.id)) ? got : null;
    }, 'every subgroup event in NDJSON batches');

    const events = batches.flatMap(eventsIn);
    for (const batch of batches) {
      const inBatch = eventsIn(batch);
      expect(inBatch.length).toBeLessThanOrEqual(5);
      expect(batch.headers['x-gitlab-audit-event-count']).toBe(String(inBatch.length));
      expect(batch.headers['x-gitlab-event-streaming-token']).toEqual(expect.any(String));
      // One signature over the whole body, made again with the reference library (its
      // `verify` would also parse the body as one JSON document, which NDJSON is not).
      const timestamp = new Date(Number(batch.headers['webhook-timestamp']) * 1000);
      const expected = new Webhook(destination.signingSecret).sign(
        String(batch.headers['webhook-id']),
        timestamp,
        batch.body,
      );
      expect(String(batch.headers['webhook-signature']).split(' ')).toContain(expected);
      expect(batch.headers['webhook-id']).toBe(`batch_${inBatch[0].id}_${inBatch.length}`);
    }
    // Fewer requests than events: the point of batch mode.
    expect(batches.length).toBeLessThan(events.length);
    // GitLab's payload, unchanged, one per line; ids are unique (receivers dedupe on them).
    const created = events.filter((e) => e.event_type === 'group_created');
    expect(created.map((e) => e.entity_id).sort()).toEqual(groups.map((g) => g.id).sort());
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    expect(created[0]).toEqual(
      expect.objectContaining({
        id: expect.any(String),
        entity_type: 'Group',
        event_type: 'group_created',
        details: expect.objectContaining({ event_name: 'group_created' }),
      }),
    );
    // Every delivery is settled as delivered, as in per-event mode.
    await eventually(async () => {
      const rows = await deliveriesOf(t, { destinationId: destination.id });
      return rows.length >= 12 && rows.every((r) => r.status === 'delivered');
    }, 'every delivery row delivered');
  });

  it('sends Splunk HEC batches: {time, event} objects one after the other', async () => {
    const root = await rest.createGroup(t.adminToken, 'hec-root');
    await batchDestination(t, 'hec-root', `${receiver.url}/services/collector/event`, {
      batchFormat: 'SPLUNK_HEC',
      batchMaxWaitMs: 200,
    });
    const groups: { id: number }[] = [];
    for (let i = 0; i < 4; i++) groups.push(await rest.createGroup(t.adminToken, `h${i}`, root.id));
    const batches = await eventually(() => {
      const got = requestsTo('/services/collector/event');
      const ids = new Set(got.flatMap(eventsIn).map((e) => e.entity_id));
      return groups.every((g) => ids.has(g.id)) ? got : null;
    }, 'every subgroup event in HEC batches');
    for (const batch of batches) expect(batch.headers['content-type']).toBe('application/json');
  });

  it('sends a partial batch only once its oldest event has waited batchMaxWaitMs', async () => {
    const wait = 1000;
    const root = await rest.createGroup(t.adminToken, 'steady-root');
    // Switched to batch mode only once its creation event has gone out (one POST): a delivery
    // still queued at the switch may leave at once with whatever is due (README, batch mode).
    const destination = await createDestination(t, 'steady-root', `${receiver.url}/steady`);
    await eventually(
      () => requestsTo('/steady').length === 1,
      'the creation event, sent before batch mode',
    );
    await mutateOk(t, 'externalAuditEventDestinationUpdate', {
      id: destination.gid,
      batchFormat: 'NDJSON',
      batchMaxWaitMs: wait,
    });
    // Steady traffic over about twice the wait: each event committed on its own.
    const groups: { id: number }[] = [];
    for (let i = 0; i < 6; i++) {
      groups.push(await rest.createGroup(t.adminToken, `s${i}`, root.id));
      await new Promise((r) => setTimeout(r, 350));
    }
    const batches = await eventually(() => {
      // (The destination's creation went out alone, before it switched to batch mode.)
      const got = requestsTo('/steady').filter((r) => r.headers['x-gitlab-audit-event-count']);
      const ids = new Set(got.flatMap(eventsIn).map((e) => e.entity_id));
      return groups.every((g) => ids.has(g.id)) ? got : null;
    }, 'every subgroup event in steady batches');
    // None left with whatever had come meanwhile: each waited for the others to join it.
    const early = batches
      .map((batch) => {
        const events = eventsIn(batch);
        const oldest = Math.min(...events.map((e) => Date.parse(e.created_at)));
        return { waitedMs: batch.at - oldest, events: events.map((e) => [e.id, e.event_type]) };
      })
      .filter((b) => b.waitedMs < wait - 20);
    expect(early).toEqual([]);
    expect(batches.length).toBeLessThan(groups.length);
  });

  it('retries a failed batch until every event in it arrives, with the same ids', async () => {
    const root = await rest.createGroup(t.adminToken, 'retry-root');
    const destination = await batchDestination(t, 'retry-root', `${receiver.url}/flaky`, {
      batchFormat: 'NDJSON',
      batchMaxWaitMs: 200,
    });
    // Let the destination's own creation event through first, then fail the next request.
    await eventually(() => requestsTo('/flaky').length > 0, 'the creation event');
    const failedIndex = requestsTo('/flaky').length;
    receiver.respondFor((r) => r.path === '/flaky', 500);
    const groups: { id: number }[] = [];
    for (let i = 0; i < 3; i++) groups.push(await rest.createGroup(t.adminToken, `r${i}`, root.id));

    await eventually(async () => {
      const rows = await deliveriesOf(t, { destinationId: destination.id });
      return rows.length >= 4 && rows.every((r) => r.status === 'delivered');
    }, 'every delivery delivered after the failure');
    const requests = requestsTo('/flaky');
    const failed = eventsIn(requests[failedIndex]);
    expect(failed.length).toBeGreaterThan(0);
    const retriedIds = new Set(
      requests
        .slice(failedIndex + 1)
        .flatMap(eventsIn)
        .map((e) => e.id),
    );
    for (const event of failed) expect(retriedIds.has(event.id)).toBe(true);
  });

  it('reads the options back, goes back to one request per event with NONE, and refuses bad bounds', async () => {
    await rest.createGroup(t.adminToken, 'opts-root');
    const destination = await batchDestination(t, 'opts-root', `${receiver.url}/opts`, {
      batchFormat: 'NDJSON',
      batchMaxEvents: 1000,
      batchMaxBytes: 2048,
      batchMaxWaitMs: 0,
    });
    const none = await t.graphql(UPDATE, { input: { id: destination.gid, batchFormat: 'NONE' } });
    expect(none.body.data.externalAuditEventDestinationUpdate).toEqual({
      errors: [],
      externalAuditEventDestination: {
        batchFormat: 'NONE',
        batchMaxEvents: 1000,
        batchMaxBytes: 2048,
        batchMaxWaitMs: 0,
      },
    });
    const bad = await t.graphql(UPDATE, {
      input: { id: destination.gid, batchMaxEvents: 0, batchMaxBytes: 100, batchMaxWaitMs: 60001 },
    });
    expect(bad.body.data.externalAuditEventDestinationUpdate).toEqual({
      errors: [
        'Batch max events must be greater than or equal to 1',
        'Batch max bytes must be greater than or equal to 1024',
        'Batch max wait ms must be less than or equal to 60000',
      ],
      externalAuditEventDestination: null,
    });
    const unknown = await t.graphql(UPDATE, { input: { id: destination.gid, batchFormat: 'XML' } });
    expect(unknown.body.errors[0].message).toContain('XML');
  });
});
