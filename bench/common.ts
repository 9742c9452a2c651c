/** Shared helpers of the benchmark: settings from the environment, timing, statistics. */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';

/** Milliseconds on a clock shared by every process of the run (wall clock, sub-ms precision). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function int(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer`);
  return n;
}

export interface BenchSettings {
  quick: boolean;
  /** Events per floor and for the GitLab-style design. */
  floorN: number;
  /** Events recorded per end-to-end run of ours (1 destination; 5 destinations use fiveDestN). */
  oursN: number;
  fiveDestN: number;
  backlogN: number;
  /** Length of the latency phase, ms. */
  latencyMs: number;
  /** record() calls (or inserts, or producer adds) in flight at once. */
  recordConcurrency: number;
  /** Worker concurrency: ours (AUDIT_STREAMING_CONCURRENCY), Bull floors and GitLab-style. */
  workerConcurrency: number;
  pgAdminUrl: string;
  redisUrl: string;
  cpuProfile: boolean;
  /**
   * AUDIT_STREAMING_CIRCUIT_PROBE_MS of the host: how soon a dead destination is tried again.
   * Unset: the plugin's default (60 s); quick mode shortens it to 2 s.
   */
  circuitProbeMs: number | null;
  /**
   * `split` (default): ours runs as production does, the API (`host.ts`, APP_ROLE=api) and the
   * delivery worker (`worker.ts`, APP_ROLE=worker) in two processes; `single`: one process,
   * APP_ROLE=all (`host.ts` then also answers the worker's RPCs).
   */
  topology: 'split' | 'single';
  outDir: string;
}

export function settingsFromEnv(outDir: string): BenchSettings {
  const quick = /^(1|true|yes)$/i.test(process.env.BENCH_QUICK ?? '');
  const topology = process.env.BENCH_TOPOLOGY || 'split';
  if (topology !== 'split' && topology !== 'single')
    throw new Error(`BENCH_TOPOLOGY must be split or single, got "${topology}"`);
  return {
    quick,
    floorN: int('BENCH_FLOOR_N', quick ? 2000 : 20000),
    oursN: int('BENCH_N', quick ? 1000 : 10000),
    fiveDestN: int('BENCH_N5', quick ? 400 : 4000),
    backlogN: int('BENCH_BACKLOG', quick ? 2000 : 100000),
    latencyMs: int('BENCH_LATENCY_MS', quick ? 4000 : 20000),
    recordConcurrency: int('BENCH_RECORD_CONCURRENCY', 10),
    workerConcurrency: int('BENCH_CONCURRENCY', 20),
    pgAdminUrl:
      process.env.BENCH_PG_ADMIN_URL ??
      process.env.TEST_PG_ADMIN_URL ??
      'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    cpuProfile: !/^(0|false|no)$/i.test(process.env.BENCH_CPU_PROFILE ?? ''),
    circuitProbeMs: process.env.BENCH_CIRCUIT_PROBE_MS
      ? int('BENCH_CIRCUIT_PROBE_MS', 1)
      : quick
        ? 2000
        : null,
    topology,
    outDir,
  };
}

export function randomSuffix(): string {
  return randomBytes(5).toString('hex');
}

/** The q-quantile (0..1) of the values, nearest rank; NaN when empty. */
export function quantile(values: number[], q: number): number {
  if (!values.length) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

export interface LatencySummary {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export function summarize(values: number[]): LatencySummary {
  return {
    n: values.length,
    p50: round(quantile(values, 0.5), 3),
    p99: round(quantile(values, 0.99), 3),
    max: round(values.length ? Math.max(...values) : NaN, 3),
  };
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Runs `task(i)` for i in [0, n) with at most `concurrency` in flight. */
export async function runConcurrently(
  n: number,
  concurrency: number,
  task: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, lane));
}

/**
 * Open-loop pacing: starts `task(i)` at `start + i / rate` whatever the earlier calls are doing,
 * so a slow call does not hide the queueing it causes (no coordinated omission).
 */
export async function runPaced(
  rate: number,
  durationMs: number,
  task: (i: number) => Promise<unknown>,
): Promise<number> {
  const n = Math.max(1, Math.floor((rate * durationMs) / 1000));
  const start = nowMs();
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - nowMs();
    if (wait > 1) await sleep(wait);
    inFlight.push(task(i));
  }
  await Promise.all(inFlight);
  return n;
}

/** The body the floors and the GitLab-style design send: the shape and size of a streamed event. */
export function sampleEvent(id: string): Record<string, unknown> {
  return {
    id,
    author_id: 1,
    author_name: 'Administrator',
    entity_id: 1,
    entity_type: 'Group',
    entity_path: 'bench-group',
    details: {
      author_name: 'Administrator',
      author_class: 'User',
      target_id: 1,
      target_type: 'Group',
      target_details: 'bench-group',
      custom_message: 'Benchmark event',
      ip_address: '127.0.0.1',
      entity_path: 'bench-group',
      event_name: 'group_created',
    },
    ip_address: '127.0.0.1',
    target_id: 1,
    target_type: 'Group',
    target_details: 'bench-group',
    created_at: new Date().toISOString(),
    event_type: 'group_created',
  };
}

/** Messages between the orchestrator and its children (IPC). */
export type Message = { id?: number; cmd?: string; [key: string]: unknown };

/** Request/response over a child's (or the parent's) IPC channel. */
export class Rpc {
  private seq = 0;
  private dead: string | null = null;
  private readonly waiting = new Map<number, (m: Message) => void>();

  constructor(
    private readonly channel: {
      send?(m: unknown): boolean;
      on(e: 'message', l: (m: Message) => void): unknown;
    },
  ) {
    channel.on('message', (m: Message) => {
      if (m.id === undefined || m.cmd !== undefined) return;
      const done = this.waiting.get(m.id);
      if (done) {
        this.waiting.delete(m.id);
        done(m);
      }
    });
  }

  /** Fails every pending and later call (the child is gone). */
  fail(reason: string): void {
    this.dead = reason;
    for (const [id, done] of this.waiting) {
      this.waiting.delete(id);
      done({ id, error: reason });
    }
  }

  call<T = Message>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.seq;
    if (this.dead) return Promise.reject(new Error(`${cmd}: ${this.dead}`));
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, (m) =>
        m.error ? reject(new Error(`${cmd}: ${String(m.error)}`)) : resolve(m as T),
      );
      this.channel.send!({ ...args, id, cmd });
    });
  }
}

/** The child side: answers each command with the handler's result (or its error). */
export function serve(handlers: Record<string, (m: Message) => Promise<unknown> | unknown>): void {
  process.on('message', (m: Message) => {
    if (!m.cmd || m.id === undefined) return;
    const handler = handlers[m.cmd];
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown command ${m.cmd}`);
        return handler(m);
      })
      .then(
        (result) => process.send!({ ...(result as object), id: m.id }),
        (err: Error) => process.send!({ id: m.id, error: err?.stack ?? String(err) }),
      );
  });
}
