import { In } from 'typeorm';
import { AuditEvent } from '../src/audit-event-streaming/audit-events/audit-event.entity';
import { AuditEventDelivery } from '../src/audit-event-streaming/streaming/delivery.entity';
import { DEVELOPER } from './support/api';
import { startTestApp, TestApp } from './support/app';
import { mutateOk } from './support/destination-api';
import { deliveryGid, readReplay, steer, steerOk } from './support/delivery-steering';
import { eventually, ReceivedRequest, Receiver } from './support/receiver';
import { Rest } from './support/rest';
import { auditEventOf, createDestination, deliveriesOf, streamingEnv } from './support/streaming';

jest.setTimeout(120_000);

/**
 * Replays, against a real worker and real receivers. The host runs with a replay batch of one
 * (so every multi-item replay takes several steps) and two attempts per delivery (so a failing
 * receiver makes dead deliveries quickly, before the circuit breaker's threshold).
 *
 * Each test waits until its destination is quiet (nothing pending or failed), notes what the
 * receiver has had so far, replays, waits until the replay is finished and the destination quiet
 * again, and then checks the receiver got exactly the expected events since the note.
 */
describe('delivery replay', () => {
  let t: TestApp;
  let rest: Rest;

  beforeAll(async () => {
    t = await startTestApp({
      env: streamingEnv({
        AUDIT_STREAMING_RETRY_SCHEDULE: '100',
        AUDIT_STREAMING_REPLAY_BATCH_SIZE: '1',
      }),
    });
    rest = new Rest(t);
  });
  afterAll(() => t?.close());

  /** Waits until every delivery to the destination is delivered or dead; returns them. */
  function quiet(destinationId: number): Promise<AuditEventDelivery[]> {
    return eventually(async () => {
      const rows = await deliveriesOf(t, { destinationId });
      return rows.every((r) => r.status === 'delivered' || r.status === 'dead') ? rows : null;
    }, `destination ${destinationId} to be quiet`);
  }

  async function finished(replayId: string): Promise<Record<string, any>> {
    return eventually(async () => {
      const replay = await readReplay(t, replayId);
      return replay?.status === 'FINISHED' ? replay : null;
    }, `replay ${replayId} to finish`);
  }

  const ids = (requests: ReceivedRequest[]) => requests.map((r) => r.json?.id as string).sort();

  it('redelivers one delivery', async () => {
    const receiver = await new Receiver().start();
    try {
      const root = await rest.createGroup(t.adminToken, 'replay-one');
      const destination = await createDestination(t, 'replay-one', receiver.url);
      const sub = await rest.createGroup(t.adminToken, 'sub', root.id);
      const event = await auditEventOf(t, 'group_created', { type: 'Group', id: sub.id });
      await eventually(() => receiver.forEvent(String(event.id)).length === 1, 'the event');
      const [delivery] = await deliveriesOf(t, {
        auditEventId: String(event.id),
        destinationId: destination.id,
      });
      await quiet(destination.id);
      const mark = receiver.requests.length;

      const payload = await steerOk(t, 'auditEventsStreamingDeliveryRetry', {
        id: deliveryGid(delivery.id),
      });
      expect(payload.replay).toMatchObject({
        kind: 'DELIVERY',
        status: 'FINISHED',
        total: 1,
        processed: 1,
        queued: 1,
      });
      await eventually(() => receiver.forEvent(String(event.id)).length === 2, 'the redelivery');
      const rows = await quiet(destination.id);
      const again = rows.find((r) => r.id === delivery.id)!;
      expect(again).toMatchObject({ status: 'delivered', attempts: 2 });
      const since = receiver.requests.slice(mark);
      expect(ids(since)).toEqual([String(event.id)]);
      // The same event id, so receivers dedupe it.
      expect(since[0].headers['webhook-id']).toBe(String(event.id));
    } finally {
      await receiver.stop();
    }
  });

  it('replays every dead delivery of a destination, and only those', async () => {
    const receiver = await new Receiver().start();
    try {
      const root = await rest.createGroup(t.adminToken, 'replay-dead');
      const destination = await createDestination(t, 'replay-dead', receiver.url);
      // Delivered: the destination's own creation event. It must not come again.
      const [created] = await eventually(async () => {
        const rows = await quiet(destination.id);
        return rows.length === 1 && rows[0].status === 'delivered' ? rows : null;
      }, 'the creation event to be delivered');
      expect(receiver.forEvent(String(created.auditEventId))).toHaveLength(1);

      receiver.fallback = 500;
      const a = await rest.createGroup(t.adminToken, 'a', root.id);
      const b = await rest.createGroup(t.adminToken, 'b', root.id);
      const deadEvents = await Promise.all(
        [a, b].map((g) => auditEventOf(t, 'group_created', { type: 'Group', id: g.id })),
      );
      const dead = await eventually(async () => {
        const rows = await quiet(destination.id);
        const deadRows = rows.filter((r) => r.status === 'dead');
        return deadRows.length === 2 ? deadRows : null;
      }, 'two dead deliveries');
      expect(dead.map((r) => String(r.auditEventId)).sort()).toEqual(
        deadEvents.map((e) => String(e.id)).sort(),
      );

      receiver.fallback = 200;
      const mark = receiver.requests.length;
      const payload = await steerOk(t, 'externalAuditEventDestinationDeadDeliveriesReplay', {
        id: destination.gid,
      });
      expect(payload.replay).toMatchObject({ kind: 'DEAD_DELIVERIES', total: 2 });
      const replay = await finished(payload.replay.id);
      expect(replay).toMatchObject({ total: 2, processed: 2, queued: 2, error: null });
      expect(replay.finishedAt).not.toBeNull();

      await eventually(
        () => receiver.requests.length - mark >= 2,
        'the two replayed deliveries to arrive',
      );
      const rows = await quiet(destination.id);
      expect(rows.every((r) => r.status === 'delivered')).toBe(true);
      expect(ids(receiver.requests.slice(mark))).toEqual(
        deadEvents.map((e) => String(e.id)).sort(),
      );
      // A fresh schedule: the replayed deliveries counted their attempts on from where they were.
      const replayed = await t.db.getRepository(AuditEventDelivery).findBy({
        id: In(dead.map((r) => r.id)),
      });
      for (const row of replayed)
        expect(row).toMatchObject({ attempts: 3, attemptsBeforeReplay: 2 });

      // Nothing is dead any more: a second replay has nothing to do.
      const second = await steerOk(t, 'externalAuditEventDestinationDeadDeliveriesReplay', {
        id: destination.gid,
      });
      expect(second.replay).toMatchObject({ status: 'FINISHED', total: 0, queued: 0 });
    } finally {
      await receiver.stop();
    }
  });

  it("replays a time range of the group's events, with the destination's filters", async () => {
    const receiver = await new Receiver().start();
    try {
      const user = await rest.createUser('replay-range-user');
      const root = await rest.createGroup(t.adminToken, 'replay-range');
      const sub = await rest.createGroup(t.adminToken, 'sub', root.id);
      const other = await rest.createGroup(t.adminToken, 'replay-range-other');
      await new Promise((r) => setTimeout(r, 5));
      const startedAt = new Date();

      // In the range, before the destination exists.
      const deep = await rest.createGroup(t.adminToken, 'deep', sub.id); // group_created, in sub
      const subProject = await rest.createProject(t.adminToken, 'app', sub.id); // project_created, in sub
      await rest.createProject(t.adminToken, 'root-app', root.id); // outside the namespace filter
      await rest.addMember(t.adminToken, sub.id, user.id, DEVELOPER); // member_created: type filtered
      await rest.createGroup(t.adminToken, 'x', other.id); // another tenant's event

      const destination = await createDestination(t, 'replay-range', receiver.url);
      await mutateOk(t, 'auditEventsStreamingDestinationEventsAdd', {
        destinationId: destination.gid,
        eventTypeFilters: ['group_created', 'project_created'],
      });
      await mutateOk(t, 'auditEventsStreamingHttpNamespaceFiltersAdd', {
        destinationId: destination.gid,
        groupPath: 'replay-range/sub',
      });
      // In the range, streamed live (it has a delivery already: replayed again).
      const live = await rest.createProject(t.adminToken, 'live', sub.id);
      const liveEvent = await auditEventOf(t, 'project_created', { type: 'Project', id: live.id });
      await eventually(() => receiver.forEvent(String(liveEvent.id)).length === 1, 'live event');
      await new Promise((r) => setTimeout(r, 5));
      const endedAt = new Date();
      await new Promise((r) => setTimeout(r, 5));
      // After the range, streamed live only.
      const late = await rest.createGroup(t.adminToken, 'late', sub.id);
      const lateEvent = await auditEventOf(t, 'group_created', { type: 'Group', id: late.id });
      await eventually(() => receiver.forEvent(String(lateEvent.id)).length === 1, 'late event');

      const expected = [
        await auditEventOf(t, 'group_created', { type: 'Group', id: deep.id }),
        await auditEventOf(t, 'project_created', { type: 'Project', id: subProject.id }),
        liveEvent,
      ].map((e) => String(e.id));
      await quiet(destination.id);
      const mark = receiver.requests.length;
      const total = await t.db
        .getRepository(AuditEvent)
        .createQueryBuilder('e')
        .where('e.created_at >= :startedAt AND e.created_at <= :endedAt', { startedAt, endedAt })
        .andWhere("e.entity_type IN ('Group', 'Project')")
        .getCount();

      const payload = await steerOk(t, 'externalAuditEventDestinationEventsReplay', {
        id: destination.gid,
        startedAt: startedAt.toISOString(),
        endedAt: endedAt.toISOString(),
      });
      expect(payload.replay).toMatchObject({
        kind: 'EVENTS',
        total,
        startedAt: startedAt.toISOString(),
        endedAt: endedAt.toISOString(),
      });
      const replay = await finished(payload.replay.id);
      expect(replay).toMatchObject({ total, processed: total, queued: 3, error: null });

      await eventually(
        () => receiver.requests.length - mark >= 3,
        'the three replayed events to arrive',
      );
      await quiet(destination.id);
      expect(ids(receiver.requests.slice(mark))).toEqual([...expected].sort());
    } finally {
      await receiver.stop();
    }
  });

  it('reports the progress of a replay that runs in many batches', async () => {
    // A batch of one: every event of the instance so far is a step of its own.
    const receiver = await new Receiver().start();
    try {
      await rest.createGroup(t.adminToken, 'replay-progress');
      const destination = await createDestination(t, 'replay-progress', receiver.url);
      const payload = await steerOk(t, 'externalAuditEventDestinationEventsReplay', {
        id: destination.gid,
        startedAt: '2000-01-01T00:00:00Z',
        endedAt: new Date().toISOString(),
      });
      expect(payload.replay.status).toBe('RUNNING');
      expect(payload.replay.processed).toBe(0);
      expect(payload.replay.total).toBeGreaterThan(5);
      const seen = new Set<number>();
      const replay = await eventually(async () => {
        const r = await readReplay(t, payload.replay.id);
        seen.add(r!.processed);
        return r?.status === 'FINISHED' ? r : null;
      }, 'the replay to finish');
      expect(replay.processed).toBe(replay.total);
      expect([...seen].every((n) => n >= 0 && n <= replay.total)).toBe(true);
    } finally {
      await receiver.stop();
    }
  });

  it('refuses bad input with clear errors', async () => {
    await rest.createGroup(t.adminToken, 'replay-bad');
    const destination = await createDestination(t, 'replay-bad', 'http://127.0.0.1:9/x');
    const backwards = await steer(t, 'externalAuditEventDestinationEventsReplay', {
      id: destination.gid,
      startedAt: '2024-02-01T00:00:00Z',
      endedAt: '2024-01-01T00:00:00Z',
    });
    expect(backwards.body.data.externalAuditEventDestinationEventsReplay).toEqual({
      errors: ['Ended at must not be before started at'],
      replay: null,
    });

    const garbled = await steer(t, 'externalAuditEventDestinationEventsReplay', {
      id: destination.gid,
      startedAt: 'yesterday',
      endedAt: '2024-01-01T00:00:00Z',
    });
    expect(garbled.status).toBeLessThan(500);
    expect(JSON.stringify(garbled.body.errors)).toContain('is not a valid ISO 8601 time');

    const wrongType = await steer(t, 'auditEventsStreamingDeliveryRetry', {
      id: destination.gid,
    });
    expect(wrongType.status).toBeLessThan(500);
    expect(JSON.stringify(wrongType.body.errors)).toContain(
      'Expected a AuditEvents::Streaming::Delivery ID',
    );

    await mutateOk(t, 'externalAuditEventDestinationUpdate', {
      id: destination.gid,
      active: false,
    });
    const inactive = await steer(t, 'externalAuditEventDestinationDeadDeliveriesReplay', {
      id: destination.gid,
    });
    expect(inactive.body.data.externalAuditEventDestinationDeadDeliveriesReplay).toEqual({
      errors: ['Destination must be active to replay deliveries'],
      replay: null,
    });
  });
});
