/**
 * What the bench measures inside a process of the reference host (`host.ts`, the API, and
 * `worker.ts`, the delivery worker), in one place: SQL statements and Redis commands counted by
 * patching `pg.Client#query` and `ioredis#sendCommand` (importing this module installs the
 * patches), a CPU profile through `node:inspector`, and the delivery jobs that failed or stalled
 * in this process (Bull's `failed`/`stalled` events are local to the process that runs the job).
 * `instrumentHandlers()` answers the orchestrator's RPCs about all of it.
 */
import Redis from 'ioredis';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Client } from 'pg';
import type { INestApplicationContext } from '@nestjs/common';
import { DeliveryQueue } from '../src/audit-event-streaming/streaming/delivery-queue';
import { round, type Message } from './common';
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

// --- delivery jobs that failed or stalled here ---------------------------------------------------

/** Delivery jobs that failed (threw) or stalled in this process, by reason, since the last read. */
let jobFailures: Record<string, number> = {};
const jobFailed = (reason: string) => (jobFailures[reason] = (jobFailures[reason] ?? 0) + 1);

/**
 * Counts what goes wrong with the delivery queue in this process. A job that throws leaves its
 * claimed deliveries to the lease and the sweeper, so the bench reports them.
 */
export function watchDeliveryQueue(app: INestApplicationContext): void {
  const queue = app.get(DeliveryQueue, { strict: false }).queue;
  queue.on('failed', (_job, err: Error) =>
    jobFailed(`failed: ${String(err?.message).slice(0, 160)}`),
  );
  queue.on('stalled', () => jobFailed('stalled'));
  queue.on('error', (err: Error) =>
    jobFailed(`queue error: ${String(err?.message).slice(0, 160)}`),
  );
}

// --- the RPCs -------------------------------------------------------------------------------------

let profiler: Session | null = null;

/**
 * The orchestrator's commands about this process: counters, CPU profile, job failures, memory,
 * and `close`. Both host.ts and worker.ts serve them (in the single-process topology, the host
 * alone).
 */
export function instrumentHandlers(
  app: () => INestApplicationContext | undefined,
): Record<string, (m: Message) => Promise<unknown> | unknown> {
  return {
    /** Delivery job failures since the last call (and resets them). */
    jobFailures: () => {
      const out = jobFailures;
      jobFailures = {};
      return { failures: out };
    },
    countersReset: () => {
      sql.clear();
      redis.clear();
      return {};
    },
    counters: () => ({ sql: snapshot(sql), redis: snapshot(redis) }),
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
    /** Stops the profile, writes it to `file` when given, and answers its summary. */
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
    /**
     * After a full garbage collection: the live heap (what the process still holds) beside its
     * RSS (what the OS gave it). Asked once, at the end of the run, so it bends no RSS sample.
     */
    liveHeap: () => {
      setFlagsFromString('--expose-gc');
      (runInNewContext('gc') as () => void)();
      const m = process.memoryUsage();
      return {
        liveHeapMb: round(m.heapUsed / 2 ** 20),
        heapTotalMb: round(m.heapTotal / 2 ** 20),
        rssMb: round(m.rss / 2 ** 20),
      };
    },
    /** Closes the app (in-flight work finishes, Bull and the database close), then exits. */
    close: async () => {
      await app()?.close();
      setImmediate(() => process.exit(0));
      return {};
    },
  };
}
