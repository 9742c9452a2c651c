/**
 * The floors (what each building block costs alone) and the GitLab-style design, all measured in
 * the orchestrating process against the same PostgreSQL, Redis and receiver as ours.
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

export const BENCH_INSERT_TABLE = `
  CREATE TABLE IF NOT EXISTS bench_insert (
    id bigserial PRIMARY KEY,
    author_id integer NOT NULL,
    entity_id integer NOT NULL,
    entity_type varchar(255) NOT NULL,
    entity_path text,
    event_type varchar(255) NOT NULL,
    details jsonb NOT NULL,
    created_at timestamptz NOT NULL
  )`;

/** One single-row insert shaped like an audit event row (one round trip, autocommit). */
export function insertRow(pool: Pool, i: number): Promise<unknown> {
  const event = sampleEvent(String(i));
  return pool.query(
    `INSERT INTO bench_insert (author_id, entity_id, entity_type, entity_path, event_type, details, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    [1, 1, 'Group', 'bench-group', 'group_created', JSON.stringify(event.details), new Date()],
  );
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
 * The GitLab-style design: the producer adds one Bull job per event (carrying the event), the
 * worker makes one axios POST per job and destination with axios's defaults. No database.
 */
export async function gitlabStyle(
  redisUrl: string,
  prefix: string,
  urls: string[],
  n: number,
  producerConcurrency: number,
  workerConcurrency: number,
  awaitReceived: (target: number) => Promise<void>,
): Promise<Throughput> {
  const queue = new Bull('gitlab-style', redisUrl, { prefix });
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
