/**
 * The floors (what each building block costs alone) and the GitLab-style design, against the same
 * PostgreSQL, Redis and receiver as ours. The floors and the GitLab-style producer run in the
 * orchestrating process; the GitLab-style worker runs in its own (gitlab-worker.ts).
 */
import axios from 'axios';
import Bull from 'bull';
import * as http from 'node:http';
import { Pool } from 'pg';
import { nowMs, runConcurrently, sampleEvent } from './common';

export interface Throughput {
  events: number;
  seconds: number;
  eventsPerSec: number;
  /** Requests that reached the receiver (for designs that POST). */
  deliveries?: number;
}

function throughput(events: number, startedAt: number, deliveries?: number): Throughput {
  const seconds = (nowMs() - startedAt) / 1000;
  return { events, seconds, eventsPerSec: events / seconds, deliveries };
}

function onceReady(queue: Bull.Queue): Promise<void> {
  return queue.isReady().then(() => undefined);
}

/** A bare Bull job: bulk add, no-op processor; until every job has completed. */
export async function bullFloor(
  redisUrl: string,
  prefix: string,
  n: number,
  concurrency: number,
): Promise<Throughput> {
  const queue = new Bull('floor', redisUrl, { prefix });
  await onceReady(queue);
  let completed = 0;
  let done!: () => void;
  const allDone = new Promise<void>((resolve) => (done = resolve));
  queue.on('completed', () => {
    if (++completed === n) done();
  });
  void queue.process(concurrency, async () => undefined);
  const started = nowMs();
  for (let i = 0; i < n; i += 1000) {
    const jobs = [];
    for (let j = i; j < Math.min(n, i + 1000); j++)
      jobs.push({ data: { i: j }, opts: { removeOnComplete: true, removeOnFail: true } });
    await queue.addBulk(jobs);
  }
  await allDone;
  const result = throughput(n, started);
  await queue.close();
  return result;
}

/** A bare keep-alive POST of an event-sized JSON body with Node's http, `concurrency` in flight. */
export async function postFloor(url: string, n: number, concurrency: number): Promise<Throughput> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL(url);
  const post = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const body = JSON.stringify(sampleEvent(String(i)));
      const req = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const started = nowMs();
  await runConcurrently(n, concurrency, post);
  const result = throughput(n, started, n);
  agent.destroy();
  return result;
}

/** The columns of an audit-event-shaped row (the INSERT floor's and the GitLab-style design's). */
const EVENT_COLUMNS = `
    id bigserial PRIMARY KEY,
    author_id integer NOT NULL,
    entity_id integer NOT NULL,
    entity_type varchar(255) NOT NULL,
    entity_path text,
    event_type varchar(255) NOT NULL,
    details jsonb NOT NULL,
    created_at timestamptz NOT NULL`;

export const BENCH_INSERT_TABLE = `CREATE TABLE IF NOT EXISTS bench_insert (${EVENT_COLUMNS})`;

/**
 * The GitLab-style design's tables: its audit events (the same row plus the group it belongs to)
 * and its destinations by group (GitLab: `audit_events_external_audit_event_destinations`,
 * indexed by namespace).
 */
export const GITLAB_TABLES = [
  `CREATE TABLE IF NOT EXISTS bench_gitlab_events (${EVENT_COLUMNS}, group_id integer NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS bench_gitlab_destinations (
     id serial PRIMARY KEY, group_id integer NOT NULL, url text NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS bench_gitlab_destinations_group ON bench_gitlab_destinations (group_id)`,
];

/** The Bull queue of the GitLab-style design (producer here, worker in gitlab-worker.ts). */
export const GITLAB_QUEUE = 'gitlab-style';

/**
 * One single-row insert shaped like an audit event row (one round trip, autocommit), into
 * `bench_insert`, or into `bench_gitlab_events` for `groupId`. Answers the new row's id.
 */
export async function insertRow(pool: Pool, i: number, groupId?: number): Promise<string> {
  const event = sampleEvent(String(i));
  const values = [1, 1, 'Group', 'bench-group', 'group_created', JSON.stringify(event.details)];
  const columns = 'author_id, entity_id, entity_type, entity_path, event_type, details, created_at';
  const res = await (groupId === undefined
    ? pool.query(
        `INSERT INTO bench_insert (${columns}) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
        [...values, new Date()],
      )
    : pool.query(
        `INSERT INTO bench_gitlab_events (${columns}, group_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
        [...values, new Date(), groupId],
      ));
  return String(res.rows[0].id);
}

/** A bare single-row insert into PostgreSQL, `concurrency` in flight on a pool of 20. */
export async function insertFloor(
  databaseUrl: string,
  n: number,
  concurrency: number,
): Promise<Throughput> {
  const pool = new Pool({ connectionString: databaseUrl, max: 20 });
  await pool.query(BENCH_INSERT_TABLE);
  await runConcurrently(Math.min(n, 200), concurrency, (i) => insertRow(pool, i)); // warm-up
  const started = nowMs();
  await runConcurrently(n, concurrency, (i) => insertRow(pool, i));
  const result = throughput(n, started);
  await pool.end();
  return result;
}

/**
 * The GitLab-style design as GitLab 14.5 runs it, producer side (this process): per event, the
 * audit event row is saved (one single-row INSERT), then one job carrying only its id is queued
 * (`AuditEventStreamingWorker.perform_async(audit_event_id)`). The worker runs in its own process
 * (gitlab-worker.ts): it loads the event by id, the group's destinations, and POSTs once per
 * destination, no retry. Timed from the first insert until the receiver has every (event,
 * destination). `urls` become the destinations of group `groupId` (replacing any it had).
 */
export async function gitlabStyle(
  databaseUrl: string,
  redisUrl: string,
  prefix: string,
  groupId: number,
  urls: string[],
  n: number,
  producerConcurrency: number,
  awaitReceived: (target: number) => Promise<void>,
): Promise<Throughput> {
  const pool = new Pool({ connectionString: databaseUrl, max: 20 });
  for (const ddl of GITLAB_TABLES) await pool.query(ddl);
  await pool.query('DELETE FROM bench_gitlab_destinations WHERE group_id = $1', [groupId]);
  for (const url of urls)
    await pool.query('INSERT INTO bench_gitlab_destinations (group_id, url) VALUES ($1, $2)', [
      groupId,
      url,
    ]);
  const queue = new Bull(GITLAB_QUEUE, redisUrl, { prefix });
  await onceReady(queue);
  const received = awaitReceived(n * urls.length);
  const started = nowMs();
  await runConcurrently(n, producerConcurrency, async (i) => {
    const id = await insertRow(pool, i, groupId);
    await queue.add({ id }, { removeOnComplete: true, removeOnFail: true });
  });
  await received;
  const result = throughput(n, started, n * urls.length);
  await queue.close();
  await pool.end();
  return result;
}

/**
 * The GitLab-style design's transport alone (for information): the producer adds one Bull job per
 * event carrying the event, a worker in this process makes one axios POST per job and destination
 * with axios's defaults. No database, no worker process.
 */
export async function gitlabTransportOnly(
  redisUrl: string,
  prefix: string,
  urls: string[],
  n: number,
  producerConcurrency: number,
  workerConcurrency: number,
  awaitReceived: (target: number) => Promise<void>,
): Promise<Throughput> {
  const queue = new Bull('gitlab-transport', redisUrl, { prefix });
  await onceReady(queue);
  void queue.process(workerConcurrency, async (job) => {
    for (const url of urls) await axios.post(url, job.data.event);
  });
  const received = awaitReceived(n * urls.length);
  const started = nowMs();
  await runConcurrently(n, producerConcurrency, (i) =>
    queue.add({ event: sampleEvent(String(i)) }, { removeOnComplete: true, removeOnFail: true }),
  );
  await received;
  const result = throughput(n, started, n * urls.length);
  await queue.close();
  return result;
}
