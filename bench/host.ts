/**
 * The reference host under test, in its own process: APP_ROLE=all (API and worker), on the
 * bench's own database and Bull prefix, flag on for every group. The orchestrator drives it over
 * IPC: set up groups and destinations (over REST and GraphQL, as an owner would), record events
 * through AuditEventsService.record, and report what that cost (SQL statements, Redis commands,
 * a CPU profile of the per-event path).
 */
import 'reflect-metadata';
import Redis from 'ioredis';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { Client, Pool } from 'pg';
import { DataSource } from 'typeorm';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AuditEventsService } from '../src/audit-event-streaming';
import { createApp } from '../src/bootstrap';
import { configFromEnv } from '../src/reference-host/config';
import { nowMs, round, runConcurrently, runPaced, serve, summarize } from './common';
import { BENCH_INSERT_TABLE, insertRow } from './floors';
import { summarizeProfile, CpuProfile } from './profile';

// --- counting SQL statements and Redis commands -------------------------------------------------

const sql = new Map<string, number>();
const redis = new Map<string, number>();

function sqlKind(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  const verb =
    /^(SELECT DISTINCT|SELECT|INSERT INTO|UPDATE|DELETE FROM|START TRANSACTION|BEGIN|COMMIT|ROLLBACK)/i
      .exec(t)?.[1]
      ?.toUpperCase();
  if (!verb) return t.slice(0, 40);
  const table = /(?:FROM|INTO|UPDATE) "?([a-z_]+)"?/i.exec(t)?.[1];
  return table ? `${verb} ${table}` : verb;
}

const clientQuery = Client.prototype.query as (...args: unknown[]) => unknown;
(Client.prototype as unknown as { query: (...args: unknown[]) => unknown }).query = function (
  this: Client,
  ...args: unknown[]
) {
  const first = args[0] as string | { text?: string } | undefined;
  const text = typeof first === 'string' ? first : (first?.text ?? '');
  const kind = sqlKind(text);
  sql.set(kind, (sql.get(kind) ?? 0) + 1);
  return clientQuery.apply(this, args);
};

const redisProto = Redis.prototype as unknown as { sendCommand: (...args: unknown[]) => unknown };
const sendCommand = redisProto.sendCommand;
redisProto.sendCommand = function (this: unknown, ...args: unknown[]) {
  const name = String((args[0] as { name?: string })?.name ?? '?');
  redis.set(name, (redis.get(name) ?? 0) + 1);
  return sendCommand.apply(this, args);
};

function snapshot(map: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...map].sort((a, b) => b[1] - a[1]));
}

// --- the app -------------------------------------------------------------------------------------

let app: NestExpressApplication;
let url = '';
let audit: AuditEventsService;
let db: DataSource;
const groups = new Map<string, { id: number; path: string }>();
let profiler: Session | null = null;
const adminToken = process.env.ADMIN_TOKEN!;

async function api(path: string, body: unknown): Promise<any> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'PRIVATE-TOKEN': adminToken },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (res.status >= 300 || json.errors) throw new Error(`${path}: ${JSON.stringify(json)}`);
  return json;
}

async function createGroup(path: string, destinationUrls: string[]): Promise<void> {
  const group = await api('/api/v4/groups', { name: path, path, visibility: 'private' });
  for (const destinationUrl of destinationUrls) {
    const res = await api('/api/graphql', {
      query: `mutation($input: ExternalAuditEventDestinationCreateInput!) {
        externalAuditEventDestinationCreate(input: $input) { errors externalAuditEventDestination { id } }
      }`,
      variables: { input: { groupPath: path, destinationUrl } },
    });
    const errors = res.data.externalAuditEventDestinationCreate.errors;
    if (errors.length) throw new Error(`destination: ${errors.join(', ')}`);
  }
  groups.set(path, { id: group.id, path: group.full_path });
}

function record(groupPath: string): () => Promise<number> {
  const group = groups.get(groupPath);
  if (!group) throw new Error(`no group ${groupPath}`);
  return async () => {
    const started = nowMs();
    await audit.record({
      eventType: 'group_created',
      author: { id: 1, name: 'Administrator', class: 'User' },
      entity: { type: 'Group', id: group.id, path: group.path },
      target: { type: 'Group', id: group.id, details: group.path },
      ipAddress: '127.0.0.1',
      message: 'Benchmark event',
    });
    return nowMs() - started;
  };
}

serve({
  boot: async () => {
    const config = configFromEnv();
    // Warnings (circuit opened...) are expected in the backlog phase; errors still show.
    app = await createApp(config, ['error']);
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
    audit = app.get(AuditEventsService);
    db = app.get<DataSource>(getDataSourceToken());
    return { pid: process.pid };
  },
  setup: async (m) => {
    const receiver = String(m.receiverUrl);
    await createGroup('bench-one', [`${receiver}/one`]);
    await createGroup(
      'bench-five',
      [1, 2, 3, 4, 5].map((i) => `${receiver}/five-${i}`),
    );
    await createGroup('bench-none', []);
    return { groups: Object.fromEntries(groups) };
  },
  /** Records `n` events, `concurrency` calls in flight; answers when every record() returned. */
  record: async (m) => {
    const one = record(String(m.group));
    const latencies: number[] = new Array(Number(m.n));
    const started = nowMs();
    await runConcurrently(Number(m.n), Number(m.concurrency), async (i) => {
      latencies[i] = await one();
    });
    return { seconds: (nowMs() - started) / 1000, record: summarize(latencies) };
  },
  /** Records at `rate` per second for `durationMs` (open loop); record()'s own latency. */
  recordPaced: async (m) => {
    const one = record(String(m.group));
    const latencies: number[] = [];
    const n = await runPaced(Number(m.rate), Number(m.durationMs), async () => {
      latencies.push(await one());
    });
    return { n, record: summarize(latencies) };
  },
  /** A bare single-row insert at the same pace, in this process, on a pool of 20 (the app's). */
  insertPaced: async (m) => {
    const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 20 });
    await pool.query(BENCH_INSERT_TABLE);
    const latencies: number[] = [];
    const n = await runPaced(Number(m.rate), Number(m.durationMs), async (i) => {
      const started = nowMs();
      await insertRow(pool, i);
      latencies.push(nowMs() - started);
    });
    await pool.end();
    return { n, insert: summarize(latencies) };
  },
  countersReset: () => {
    sql.clear();
    redis.clear();
    return {};
  },
  counters: () => ({ sql: snapshot(sql), redis: snapshot(redis) }),
  deliveries: async () => ({
    rows: await db.query(
      `SELECT status, count(*)::int AS n, sum(attempts)::int AS attempts
         FROM audit_events_streaming_deliveries GROUP BY status ORDER BY status`,
    ),
  }),
  profileStart: async () => {
    profiler = new Session();
    profiler.connect();
    const post = (method: string, params?: object) =>
      new Promise<any>((resolve, reject) =>
        profiler!.post(method, params, (err, res) => (err ? reject(err) : resolve(res))),
      );
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 500 });
    await post('Profiler.start');
    return {};
  },
  profileStop: async (m) => {
    const session = profiler!;
    profiler = null;
    const { profile } = await new Promise<{ profile: CpuProfile }>((resolve, reject) =>
      session.post('Profiler.stop', (err, res) => (err ? reject(err) : resolve(res as any))),
    );
    session.disconnect();
    if (m.file) writeFileSync(String(m.file), JSON.stringify(profile));
    return summarizeProfile(profile, process.cwd());
  },
  memory: () => ({ rssMb: round(process.memoryUsage().rss / 2 ** 20) }),
  close: async () => {
    await app.close();
    setImmediate(() => process.exit(0));
    return {};
  },
});
process.on('disconnect', () => process.exit(0));
