import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { ChildHost, ChildHostOptions } from './support/child-host';
import { createTestDatabase, TestDatabase } from './support/databases';
import { Receiver, eventually, receiversForSuite } from './support/receiver';
import { RedisServer } from './support/redis-server';
import { Rest } from './support/rest';
import { createDestination, streamingEnv } from './support/streaming';

/**
 * DESIGN.md §4 and §8 with real processes: the reference host runs as child processes (as
 * `npm start` runs it) on a database of its own and a redis-server of this file's own, and gets
 * killed, split into roles and multiplied. Whatever happens to a process, every committed event
 * reaches the receiver.
 */
describe('streaming durability: killed processes, roles, several workers', () => {
  let redis: RedisServer;
  const hosts: ChildHost[] = [];
  const receiver = receiversForSuite();
  const databases: { db: TestDatabase; pg: Client }[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
  });

  // Each test's hosts stop with it, so a Redis connection count is this test's own.
  afterEach(async () => {
    await Promise.all(hosts.splice(0).map((h) => h.stop()));
  });

  afterAll(async () => {
    for (const { db, pg } of databases) {
      await pg.end();
      await db.drop();
    }
    await redis?.stop();
  });

  /** One deployment: its own database and Bull prefix, on this file's Redis. */
  async function deployment(): Promise<{ options: Omit<ChildHostOptions, 'role'>; pg: Client }> {
    const db = await createTestDatabase('postgres');
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    databases.push({ db, pg });
    return {
      pg,
      options: {
        databaseUrl: db.url,
        redisUrl: redis.url,
        bullPrefix: `durability-${randomBytes(4).toString('hex')}`,
        adminToken: `glpat-admin-${randomBytes(8).toString('hex')}`,
        env: streamingEnv(),
      },
    };
  }

  async function start(
    options: Omit<ChildHostOptions, 'role'>,
    role: ChildHostOptions['role'],
    name: string,
  ): Promise<ChildHost> {
    const host = await ChildHost.start({ ...options, role, name });
    hosts.push(host);
    return host;
  }

  /** The `group_created` event ids of these groups, from the audit events table. */
  async function groupCreatedIds(pg: Client, groupIds: number[]): Promise<string[]> {
    const { rows } = await pg.query(
      `SELECT id FROM audit_events
        WHERE event_type = 'group_created' AND entity_type = 'Group' AND entity_id = ANY($1::int[])
        ORDER BY id`,
      [groupIds],
    );
    expect(rows).toHaveLength(groupIds.length);
    return rows.map((r) => String(r.id));
  }

  async function deliveriesOf(
    pg: Client,
    eventIds: string[],
  ): Promise<{ id: string; status: string; attempts: number; jobId: string | null }[]> {
    const { rows } = await pg.query(
      `SELECT id, status, attempts, job_id FROM audit_events_streaming_deliveries
        WHERE audit_event_id = ANY($1::bigint[]) ORDER BY id`,
      [eventIds],
    );
    return rows.map((r) => ({
      id: String(r.id),
      status: r.status,
      attempts: r.attempts,
      jobId: r.job_id,
    }));
  }

  /** Whether Redis holds the job of a delivery's first attempt (Bull's `<prefix>:<queue>:<id>`). */
  /** Whether Redis holds a job for the delivery's first attempt: fan-out's (named on the row) or its own. */
  async function firstJobExists(
    prefix: string,
    delivery: { id: string; jobId: string | null },
  ): Promise<boolean> {
    const keys = [`d${delivery.id}a0`, delivery.jobId].filter(Boolean);
    const found = await Promise.all(
      keys.map((key) => redis.admin.exists(`${prefix}:audit-event-streaming:${key}`)),
    );
    return found.some((n) => n === 1);
  }

  function received(sink: Receiver, ids: string[]): Set<string> {
    const wanted = new Set(ids);
    return new Set(sink.requests.map((r) => r.json?.id).filter((id) => wanted.has(id)));
  }

  async function createSubgroups(
    rest: Rest,
    token: string,
    parentId: number,
    prefix: string,
    count: number,
    parallel = 1,
  ): Promise<number[]> {
    const ids: number[] = [];
    for (let i = 0; i < count; i += parallel) {
      const batch = [];
      for (let j = i; j < Math.min(count, i + parallel); j++)
        batch.push(rest.createGroup(token, `${prefix}-${j}`, parentId));
      for (const g of await Promise.all(batch)) ids.push(g.id);
    }
    return ids;
  }

  it('delivers the events of a process killed after commit and before fan-out, once a worker starts', async () => {
    const sink = await receiver();
    const { options, pg } = await deployment();
    // Every fan-out pass reads the group's destinations (none kept between passes), so the lock
    // below stalls it at a read, before it has sent any write.
    const doomed = await start(
      { ...options, env: { ...options.env, AUDIT_STREAMING_LOOKUP_CACHE_MS: '0' } },
      'all',
      'doomed host',
    );
    const rest = new Rest(doomed.asClient());
    const root = await rest.createGroup(options.adminToken, 'fan-out-kill-root');
    await createDestination(doomed.asClient(), 'fan-out-kill-root', `${sink.url}/fan-out-kill`);
    const [warm] = await createSubgroups(rest, options.adminToken, root.id, 'warm', 1);
    const [warmId] = await groupCreatedIds(pg, [warm]);
    await eventually(() => sink.forEvent(warmId).length, 'the warm-up event');

    // An operator's lock on the destinations table: host transactions still commit their audit
    // events, but the fan-out after commit cannot read where they go (a write it had already sent
    // would commit on its own once the lock is gone, dead process or not).
    const locker = new Client({ connectionString: options.databaseUrl });
    await locker.connect();
    let groups: number[];
    try {
      await locker.query('BEGIN');
      await locker.query(
        'LOCK TABLE audit_events_external_audit_event_destinations IN ACCESS EXCLUSIVE MODE',
      );
      groups = await createSubgroups(rest, options.adminToken, root.id, 'unfanned', 6);
      // The fan-out is stuck on the lock (not merely late) when the process dies.
      await eventually(async () => {
        const { rows } = await pg.query(
          `SELECT count(*)::int AS n FROM pg_locks
            WHERE relation = 'audit_events_external_audit_event_destinations'::regclass
              AND NOT granted`,
        );
        return rows[0].n > 0;
      }, 'the fan-out waiting on the lock');
      await doomed.kill();
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }

    const ids = await groupCreatedIds(pg, groups);
    expect(received(sink, ids).size).toBe(0);
    // Committed, never fanned out: no delivery row, and the event is not marked.
    await eventually(async () => {
      const { rows } = await pg.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database()`,
      );
      return rows[0].n === 1; // the dead host's sessions are gone; only this one is left
    }, "the dead host's database sessions ended");
    expect(await deliveriesOf(pg, ids)).toEqual([]);
    const { rows: unmarked } = await pg.query(
      `SELECT count(*)::int AS n FROM audit_events WHERE id = ANY($1::bigint[]) AND fanned_out_at IS NULL`,
      [ids],
    );
    expect(unmarked[0].n).toBe(ids.length);

    await start(options, 'worker', 'restarted worker');
    await eventually(() => received(sink, ids).size === ids.length, 'every committed event');
    expect(received(sink, ids)).toEqual(new Set(ids));
  }, 120000);

  it('delivers the events of a process killed after commit and before enqueue, once a worker starts', async () => {
    const sink = await receiver();
    const { options, pg } = await deployment();
    const doomed = await start(options, 'all', 'doomed host');
    const rest = new Rest(doomed.asClient());
    const root = await rest.createGroup(options.adminToken, 'kill-root');
    await createDestination(doomed.asClient(), 'kill-root', `${sink.url}/kill`);
    // The pipeline works end to end before anything goes wrong.
    const [warm] = await createSubgroups(rest, options.adminToken, root.id, 'warm', 1);
    const [warmId] = await groupCreatedIds(pg, [warm]);
    await eventually(() => sink.forEvent(warmId).length, 'the warm-up event');

    // Redis now refuses every write: the commit succeeds, the job never reaches Redis.
    expect(await redis.admin.call('CLIENT', 'PAUSE', '60000', 'WRITE')).toBe('OK');
    let groups: number[];
    try {
      groups = await createSubgroups(rest, options.adminToken, root.id, 'committed', 6);
      await doomed.kill(); // right after the 201s
      // Redis drops the dead connections with whatever they had sent, before it resumes.
      await eventually(async () => (await redis.otherClients()) === 0, 'dead connections gone');
    } finally {
      await redis.admin.call('CLIENT', 'UNPAUSE');
    }

    // Committed, not delivered, and (where the fan-out got that far) not in Redis either.
    const ids = await groupCreatedIds(pg, groups);
    expect(received(sink, ids).size).toBe(0);
    const before = await deliveriesOf(pg, ids);
    for (const d of before) {
      expect(d).toMatchObject({ status: 'pending', attempts: 0 });
      expect(await firstJobExists(options.bullPrefix, d)).toBe(false);
    }
    console.log(
      `killed host: ${ids.length} events committed, ${before.length} fanned out to delivery rows ` +
        `before the kill, 0 enqueued`,
    );

    // A fresh worker of the same deployment: its sweeper finds what the dead process left.
    await start(options, 'worker', 'restarted worker');
    await eventually(() => received(sink, ids).size === ids.length, 'every committed event');
    expect(received(sink, ids)).toEqual(new Set(ids));
    await eventually(async () => {
      const after = await deliveriesOf(pg, ids);
      return after.length === ids.length && after.every((d) => d.status === 'delivered');
    }, 'every delivery marked delivered');
  }, 120000);

  it('an api process records and fans out but delivers nothing; a worker started later delivers', async () => {
    const sink = await receiver();
    const { options, pg } = await deployment();
    const api = await start(options, 'api', 'api');
    const rest = new Rest(api.asClient());
    const root = await rest.createGroup(options.adminToken, 'roles-root');
    await createDestination(api.asClient(), 'roles-root', `${sink.url}/roles`);
    const groups = await createSubgroups(rest, options.adminToken, root.id, 'api-only', 10);
    const ids = await groupCreatedIds(pg, groups);

    // The api process fanned out and enqueued: the rows are there and the jobs wait in Redis.
    const deliveries = await eventually(async () => {
      const rows = await deliveriesOf(pg, ids);
      if (rows.length !== ids.length) return null;
      for (const d of rows) if (!(await firstJobExists(options.bullPrefix, d))) return null;
      return rows;
    }, 'a delivery row and a queued job for every event');
    expect(deliveries.every((d) => d.status === 'pending' && d.attempts === 0)).toBe(true);
    expect(sink.requests).toEqual([]);

    await start(options, 'worker', 'late worker');
    await eventually(() => received(sink, ids).size === ids.length, 'every event, from the worker');
    expect(received(sink, ids)).toEqual(new Set(ids));
    expect(api.alive).toBe(true);
  }, 120000);

  it('two workers and an api process deliver every one of 200 events', async () => {
    const sink = await receiver();
    const { options, pg } = await deployment();
    const api = await start(options, 'api', 'api');
    const workers = [
      await start(options, 'worker', 'worker 1'),
      await start(options, 'worker', 'worker 2'),
    ];
    const rest = new Rest(api.asClient());
    const root = await rest.createGroup(options.adminToken, 'scale-root');
    await createDestination(api.asClient(), 'scale-root', `${sink.url}/scale`);
    const groups = await createSubgroups(rest, options.adminToken, root.id, 'many', 200, 8);
    const ids = await groupCreatedIds(pg, groups);
    expect(new Set(ids).size).toBe(200);

    await eventually(
      () => received(sink, ids).size === ids.length,
      'all 200 events at the receiver',
      120000,
    );
    expect(received(sink, ids)).toEqual(new Set(ids)); // none lost
    await eventually(async () => {
      const rows = await deliveriesOf(pg, ids);
      return rows.length === ids.length && rows.every((d) => d.status === 'delivered');
    }, 'every delivery marked delivered');
    const wanted = new Set(ids);
    const requests = sink.requests.filter((r) => wanted.has(r.json?.id)).length;
    const duplicates = requests - ids.length;
    console.log(
      `two workers: ${ids.length} events, ${requests} requests, ${duplicates} duplicates`,
    );
    expect(duplicates).toBeGreaterThanOrEqual(0);
    for (const w of workers) expect(w.alive).toBe(true);
  }, 240000);
});
