import { AuditEventsService, RecordAuditEventInput } from '../src/audit-event-streaming';
import { startTestApp, TestApp } from './support/app';
import { eventually, receiversForSuite } from './support/receiver';
import { RedisServer } from './support/redis-server';
import { Rest } from './support/rest';
import { createDestination, streamingEnv } from './support/streaming';

/**
 * DESIGN.md §4: the database is the outbox and Redis only distributes work. A transaction that
 * rolls back streams nothing; a Redis that loses every queued job loses no delivery.
 * This file runs its own redis-server, so it may flush it.
 */
describe('streaming durability: rollbacks and an emptied Redis', () => {
  let redis: RedisServer;
  let t: TestApp;
  let rest: Rest;
  const receiver = receiversForSuite();

  beforeAll(async () => {
    redis = await RedisServer.start();
    t = await startTestApp({
      env: streamingEnv({
        REDIS_URL: redis.url,
        // Long enough that no delivery runs out of attempts while its receiver answers 503.
        AUDIT_STREAMING_RETRY_SCHEDULE: Array(30).fill(1500).join(','),
        // This host's circuit never opens: its deliveries wait as plain retries.
        AUDIT_STREAMING_CIRCUIT_FAILURES: '1000000',
      }),
    });
    rest = new Rest(t);
  });

  afterAll(async () => {
    await t?.close();
    await redis?.stop();
  });

  /** The audit events table and the outbox, as an operator would query them. */
  async function storedEvent(id: string): Promise<number> {
    const rows = await t.db.query('SELECT count(*)::int AS n FROM audit_events WHERE id = $1', [
      id,
    ]);
    return rows[0].n;
  }
  async function deliveriesOf(id: string): Promise<number> {
    const rows = await t.db.query(
      'SELECT count(*)::int AS n FROM audit_events_streaming_deliveries WHERE audit_event_id = $1',
      [id],
    );
    return rows[0].n;
  }

  it('streams nothing recorded in a transaction or a savepoint that rolls back', async () => {
    const sink = await receiver();
    const root = await rest.createGroup(t.adminToken, 'rollback-root');
    await createDestination(t, 'rollback-root', `${sink.url}/rollback`);
    const audit = t.app.get(AuditEventsService);
    const event = (message: string): RecordAuditEventInput => ({
      eventType: 'member_updated',
      author: { id: 1, name: 'Administrator' },
      entity: { type: 'Group', id: root.id, path: root.full_path },
      target: { type: 'Group', id: root.id, details: root.full_path },
      message,
    });

    // The host's whole transaction fails after recording.
    let rolledBack = '';
    await expect(
      t.db.transaction(async (manager) => {
        rolledBack = (await audit.record(event('rolled back'), { manager })).id;
        throw new Error('the host action failed');
      }),
    ).rejects.toThrow('the host action failed');

    // A savepoint fails inside a transaction that commits: only the savepoint's event goes.
    let keptBeside = '';
    let savepointRolledBack = '';
    await t.db.transaction(async (manager) => {
      keptBeside = (await audit.record(event('committed beside a savepoint'), { manager })).id;
      await manager
        .transaction(async (inner) => {
          savepointRolledBack = (
            await audit.record(event('savepoint rolled back'), { manager: inner })
          ).id;
          throw new Error('the nested step failed');
        })
        .catch(() => undefined);
    });

    // The barrier: committed last, so once it arrives everything before it had its chance.
    const barrier = await t.db.transaction((manager) =>
      audit.record(event('barrier'), { manager }),
    );
    await eventually(() => sink.forEvent(keptBeside).length, 'the committed event');
    await eventually(() => sink.forEvent(barrier.id).length, 'the barrier event');
    for (const id of [rolledBack, savepointRolledBack]) {
      expect(id).toBeTruthy();
      expect(sink.forEvent(id)).toEqual([]);
      expect(await storedEvent(id)).toBe(0);
      expect(await deliveriesOf(id)).toBe(0);
    }
    expect(sink.requests.map((r) => r.json?.details?.custom_message)).not.toContain('rolled back');
    expect(sink.requests.map((r) => r.json?.details?.custom_message)).not.toContain(
      'savepoint rolled back',
    );

    // What the group's owner sees in the audit events API agrees.
    const listed = await t
      .http()
      .get(`/api/v4/groups/${root.id}/audit_events`)
      .set('PRIVATE-TOKEN', t.adminToken)
      .expect(200);
    const listedIds = listed.body.map((e: { id: number }) => String(e.id));
    expect(listedIds).toEqual(expect.arrayContaining([keptBeside, barrier.id]));
    expect(listedIds).not.toContain(rolledBack);
    expect(listedIds).not.toContain(savepointRolledBack);
  });

  /**
   * Deliveries refused with 503 until each one waits in Redis for its next attempt (a retry, or a
   * hold while the destination's circuit is open); then Redis loses everything, then the
   * receiver recovers. Every event must still arrive, and every delivery end delivered.
   */
  async function flushWhileRefused(
    host: TestApp,
    name: string,
    beforeFlush?: (destinationId: number) => Promise<void>,
  ): Promise<void> {
    const sink = await receiver();
    sink.fallback = 503;
    const hostRest = new Rest(host);
    const root = await hostRest.createGroup(host.adminToken, name);
    const destination = await createDestination(host, name, `${sink.url}/${name}`);
    const subgroups = [];
    for (let i = 0; i < 12; i++)
      subgroups.push(await hostRest.createGroup(host.adminToken, `sub-${i}`, root.id));
    const ids = new Set<string>();
    for (const sub of subgroups) {
      const res = await host
        .http()
        .get(`/api/v4/groups/${sub.id}/audit_events`)
        .set('PRIVATE-TOKEN', host.adminToken)
        .expect(200);
      for (const e of res.body) ids.add(String(e.id));
    }
    expect(ids.size).toBe(subgroups.length);

    // The receiver has refused, and every delivery is undelivered with a job waiting in Redis.
    await eventually(() => sink.requests.length >= 3, 'refused attempts');
    // (Held behind an open circuit, a delivery has no job of its own: only the destination's
    // probe job is in Redis, and `resume` sends the held ones once the circuit closes.)
    await eventually(async () => {
      const rows: { id: string; status: string; held: boolean }[] = await host.db.query(
        `SELECT d.id, d.status, (dest.circuit_retry_at IS NOT NULL AND d.next_attempt_at > now())
                AS held
           FROM audit_events_streaming_deliveries d
           JOIN audit_events_external_audit_event_destinations dest ON dest.id = d.destination_id
          WHERE d.audit_event_id = ANY($1::bigint[])`,
        [[...ids]],
      );
      if (rows.length !== ids.size || rows.some((d) => d.status === 'delivered')) return false;
      const queued = new Set(
        (await redis.admin.keys(`${host.config.bullPrefix}:audit-event-streaming:d*`))
          .map((key) => /:d(\d+)a\d+[^:]*$/.exec(key)?.[1])
          .filter((id) => id),
      );
      return rows.every((d) => d.held || queued.has(String(d.id)));
    }, 'every undelivered delivery waiting in Redis or held behind the open circuit');
    await beforeFlush?.(destination.id);

    expect(await redis.admin.flushall()).toBe('OK');
    expect(await redis.admin.dbsize()).toBe(0);
    const from = sink.requests.length;
    sink.fallback = 200; // in the same tick: every request from `from` on is answered 200

    const accepted = () => new Set(sink.requests.slice(from).map((r) => r.json?.id as string));
    await eventually(
      () => [...ids].every((id) => accepted().has(id)),
      'every event accepted after the flush',
      40000,
    );
    // And the outbox agrees: every delivery of those events ends delivered.
    await eventually(async () => {
      const rows: { status: string; n: number }[] = await host.db.query(
        `SELECT status, count(*)::int AS n FROM audit_events_streaming_deliveries
          WHERE audit_event_id = ANY($1::bigint[]) GROUP BY status`,
        [[...ids]],
      );
      return rows.length === 1 && rows[0].status === 'delivered' && rows[0].n === ids.size;
    }, 'every delivery marked delivered');
  }

  it('delivers every event although Redis lost every queued retry while the receiver was down', async () => {
    await flushWhileRefused(t, 'flush-root');
  });

  it('delivers every event although Redis lost its probe and retry jobs while the circuit was open', async () => {
    const open = await startTestApp({
      env: streamingEnv({
        REDIS_URL: redis.url,
        AUDIT_STREAMING_RETRY_SCHEDULE: Array(30).fill(1500).join(','),
        AUDIT_STREAMING_CIRCUIT_FAILURES: '3',
        AUDIT_STREAMING_CIRCUIT_PROBE_MS: '1000',
      }),
    });
    try {
      await flushWhileRefused(open, 'flush-open-root', async (destinationId) => {
        // The owner's view: the destination's circuit is open, its deliveries held.
        await eventually(async () => {
          const rows: { open: boolean }[] = await open.db.query(
            `SELECT circuit_opened_at IS NOT NULL AS open
               FROM audit_events_external_audit_event_destinations WHERE id = $1`,
            [destinationId],
          );
          return rows[0]?.open;
        }, 'the circuit open');
      });
    } finally {
      await open.close();
    }
  }, 90000);

  it('delivers events recorded while Redis was down and after it restarted empty', async () => {
    const own = await RedisServer.start();
    const host = await startTestApp({
      env: streamingEnv({ REDIS_URL: own.url, AUDIT_STREAMING_CIRCUIT_FAILURES: '1000000' }),
    });
    try {
      const sink = await receiver();
      const hostRest = new Rest(host);
      const root = await hostRest.createGroup(host.adminToken, 'restart-root');
      await createDestination(host, 'restart-root', `${sink.url}/restart`);
      const warm = await hostRest.createGroup(host.adminToken, 'warm', root.id);
      await eventually(
        () => sink.requests.find((r) => r.json?.entity_id === warm.id),
        'the warm-up event',
      );

      await own.kill();
      // Recording does not need Redis: the host's actions succeed while it is down.
      const groups = [];
      for (let i = 0; i < 5; i++)
        groups.push(await hostRest.createGroup(host.adminToken, `while-down-${i}`, root.id));
      await own.restart();
      for (let i = 0; i < 3; i++)
        groups.push(await hostRest.createGroup(host.adminToken, `after-${i}`, root.id));

      const ids: string[] = [];
      for (const g of groups) {
        const res = await host
          .http()
          .get(`/api/v4/groups/${g.id}/audit_events`)
          .set('PRIVATE-TOKEN', host.adminToken)
          .expect(200);
        ids.push(...res.body.map((e: { id: number }) => String(e.id)));
      }
      expect(ids).toHaveLength(groups.length);
      await eventually(
        () => ids.every((id) => sink.forEvent(id).length > 0),
        'every event recorded while Redis was down or after',
        40000,
      );
    } finally {
      await host.close();
      await own.stop();
    }
  }, 90000);
});
