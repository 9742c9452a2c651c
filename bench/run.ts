/**
 * `npm run bench`: floors, the GitLab-style design and ours end to end, measured side by side in
 * one run on real PostgreSQL and Redis, with the receiver in its own process on loopback.
 * Writes bench/results/latest.json and bench/results/latest.svg. See bench/README.md.
 */
import { ChildProcess, fork } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { deleteBullKeys } from '../src/reference-host/bull-keys';
import { flagBootstrapFile } from '../src/reference-host/flag-bootstrap';
import {
  BenchSettings,
  LatencySummary,
  Message,
  nowMs,
  randomSuffix,
  round,
  Rpc,
  settingsFromEnv,
  sleep,
} from './common';
import {
  bullFloor,
  gitlabStyle,
  gitlabTransportOnly,
  insertFloor,
  postFloor,
  Throughput,
} from './floors';
import type { ProfileSummary } from './profile';
import {
  printTable,
  renderSvg,
  rssTrend,
  AppProcess,
  BatchBacklog,
  BatchPhase,
  BatchResults,
  BenchResults,
  LiveHeap,
  ReceiverBatchStats,
} from './report';

/** Batch settings of the throughput and backlog phases (batchMaxBytes: the default, 1 MiB). */
const BATCH_MAX_EVENTS = 500;
const BATCH_MAX_WAIT_MS = 200;

/** A batch destination as host.ts's setupBatch answers it. */
interface CreatedBatchDestination {
  path: string;
  format: 'NDJSON' | 'SPLUNK_HEC';
  via: 'create' | 'update';
  id: string;
  numericId: number;
  token: string;
  secrets: string[];
  header: { key: string; value: string };
  settings: Record<string, unknown> | null;
}

type ReceiverStats = Message & {
  unique: number;
  total: number;
  events: number;
  stray: number;
  latency: LatencySummary;
  batch: ReceiverBatchStats;
};

/** The repository root: the nearest ancestor holding package.json and bench/. */
function repoRoot(): string {
  let dir = __dirname;
  while (!(existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bench')))) {
    const up = resolve(dir, '..');
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function child(
  script: string,
  env: NodeJS.ProcessEnv = process.env,
): { proc: ChildProcess; rpc: Rpc } {
  const proc = fork(join(__dirname, script), [], { env, execArgv: [], stdio: 'inherit' });
  const rpc = new Rpc(proc as unknown as ConstructorParameters<typeof Rpc>[0]);
  proc.on('exit', (code, signal) => rpc.fail(`${script} exited (${signal ?? code})`));
  return { proc, rpc };
}

/** Current and peak resident set of a process, MB (Linux /proc). */
function procMemory(pid: number): { rssMb: number; hwmMb: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
    return { rssMb: round(kb('VmRSS') / 1024), hwmMb: round(kb('VmHWM') / 1024) };
  } catch {
    return null;
  }
}

async function withPg<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

function perEvent(counts: Record<string, number>, n: number): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, round(v / n, 2)]));
}

function total(counts: Record<string, number>, skip: RegExp = /^$/): number {
  return Object.entries(counts)
    .filter(([k]) => !skip.test(k))
    .reduce((s, [, v]) => s + v, 0);
}

/** Counts of several processes added up, largest first. */
function addUp(maps: Record<string, number>[]): Record<string, number> {
  const sum = new Map<string, number>();
  for (const m of maps) for (const [k, v] of Object.entries(m)) sum.set(k, (sum.get(k) ?? 0) + v);
  return Object.fromEntries([...sum].sort((a, b) => b[1] - a[1]));
}

/** SQL statements and Redis commands of one app process since the last reset. */
type Counts = { sql: Record<string, number>; redis: Record<string, number> };

/** Blocking reads of an idle Bull worker: they count time waited, not work done. */
const BLOCKING = /^(brpoplpush|bzpopmin|blmove)$/i;

/** Per event over `n` events: the sum over the app processes, and each process's totals. */
function cost(
  counts: { sum: Counts; byProcess: (readonly [AppProcess, Counts])[] },
  n: number,
): NonNullable<BatchResults['cost']> {
  return {
    sqlStatements: round(total(counts.sum.sql) / n, 2),
    redisCommands: round(total(counts.sum.redis, BLOCKING) / n, 2),
    sql: perEvent(counts.sum.sql, n),
    redis: perEvent(counts.sum.redis, n),
    byProcess: Object.fromEntries(
      counts.byProcess.map(([role, c]) => [
        role,
        {
          sqlStatements: round(total(c.sql) / n, 2),
          redisCommands: round(total(c.redis, BLOCKING) / n, 2),
        },
      ]),
    ),
  };
}

/** `value(phase)` rounded, or null when the phase was not measured. */
function ratio<T extends { status: string }>(
  phase: T | null | undefined,
  value: (p: T) => number,
  digits = 2,
): number | null {
  return phase?.status === 'measured' ? round(value(phase), digits) : null;
}

async function main(): Promise<void> {
  const root = repoRoot();
  const s: BenchSettings = settingsFromEnv(
    process.env.BENCH_RESULTS_DIR
      ? resolve(process.env.BENCH_RESULTS_DIR)
      : join(root, 'bench', 'results'),
  );
  mkdirSync(s.outDir, { recursive: true });
  const suffix = randomSuffix();
  const dbName = `bench_${suffix}`;
  const prefix = `bench-${suffix}`;
  const dbUrl = (() => {
    const u = new URL(s.pgAdminUrl);
    u.pathname = `/${dbName}`;
    return u.toString();
  })();
  const startedAt = new Date();
  log(
    `${s.quick ? 'quick' : 'full'} run: database ${dbName}, Bull prefix ${prefix}, ` +
      `N=${s.oursN} (5 dest: ${s.fiveDestN}), floors ${s.floorN}, backlog ${s.backlogN}`,
  );
  await withPg(s.pgAdminUrl, (c) => c.query(`CREATE DATABASE ${dbName}`));

  const receiver = child('receiver.js');
  let host: { proc: ChildProcess; rpc: Rpc } | null = null;
  let worker: { proc: ChildProcess; rpc: Rpc } | null = null;
  let gitlabWorker: { proc: ChildProcess; rpc: Rpc } | null = null;
  const cleanup = async () => {
    host?.proc.kill();
    worker?.proc.kill();
    gitlabWorker?.proc.kill();
    receiver.proc.kill();
    await withPg(s.pgAdminUrl, (c) =>
      c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`),
    ).catch((err) => log(`could not drop ${dbName}: ${err.message}`));
    const keys = await deleteBullKeys(s.redisUrl, prefix).catch(() => -1);
    log(`dropped ${dbName}, deleted ${keys} Redis keys under ${prefix}:`);
  };
  process.once('SIGINT', () => {
    void cleanup().finally(() => process.exit(130));
  });

  try {
    const { port } = await receiver.rpc.call<{ port: number }>('start');
    const recv = `http://127.0.0.1:${port}`;
    const reset = (trackLatency = false, only = '') =>
      receiver.rpc.call('reset', { trackLatency, only });
    const awaitReceived = (target: number, timeoutMs = 60_000 + target * 50) =>
      receiver.rpc.call<
        Message & { reached: boolean; at: number; firstAt: number; unique: number }
      >('await', {
        target,
        timeoutMs,
      });
    const mustReceive = async (target: number, what: string, timeoutMs?: number) => {
      const r = await awaitReceived(target, timeoutMs);
      if (!r.reached) throw new Error(`${what}: receiver got ${r.unique} of ${target}`);
      return r;
    };

    // --- floors and the GitLab-style design, before the host starts --------------------------
    log('floor: bare Bull job');
    const bull = await bullFloor(s.redisUrl, prefix, s.floorN, s.workerConcurrency);
    log('floor: bare keep-alive POST');
    await reset();
    const post = await postFloor(`${recv}/floor`, s.floorN, s.workerConcurrency);
    log('floor: bare single-row insert');
    const insert = await insertFloor(dbUrl, s.floorN, s.recordConcurrency);
    const gitlabTransport: Record<string, Throughput> = {};
    for (const [dest, n] of [
      [1, s.oursN],
      [5, s.fiveDestN],
    ] as const) {
      log(`GitLab-style design, transport only (no database), ${dest} destination(s)`);
      await reset();
      const urls = Array.from({ length: dest }, (_, i) => `${recv}/gitlab-transport-${i + 1}`);
      gitlabTransport[dest] = await gitlabTransportOnly(
        s.redisUrl,
        prefix,
        urls,
        n,
        s.recordConcurrency,
        s.workerConcurrency,
        (target) => mustReceive(target, 'GitLab-style, transport only').then(() => undefined),
      );
    }

    // --- the GitLab-style design as GitLab 14.5 runs it: INSERT + job(id); worker process -----
    log('GitLab-style design: starting its worker process');
    gitlabWorker = child('gitlab-worker.js');
    await gitlabWorker.rpc.call('start', {
      databaseUrl: dbUrl,
      redisUrl: s.redisUrl,
      prefix,
      concurrency: s.workerConcurrency,
    });
    const gitlab: Record<string, Throughput> = {};
    const gitlabRun = (group: number, urls: string[], n: number) =>
      gitlabStyle(dbUrl, s.redisUrl, prefix, group, urls, n, s.recordConcurrency, (target) =>
        mustReceive(target, 'GitLab-style').then(() => undefined),
      );
    // The same warm-up as ours gets (pool connections, JIT), on the 1-destination group.
    await reset();
    await gitlabRun(1, [`${recv}/gitlab-1`], Math.min(200, s.oursN));
    for (const [dest, n] of [
      [1, s.oursN],
      [5, s.fiveDestN],
    ] as const) {
      log(`GitLab-style design, ${dest} destination(s)`);
      await reset();
      const urls = Array.from({ length: dest }, (_, i) => `${recv}/gitlab-${i + 1}`);
      gitlab[dest] = await gitlabRun(dest, urls, n);
    }
    const gitlabFailures = (
      await gitlabWorker.rpc.call<Message & { failures: Record<string, number> }>('failures')
    ).failures;
    if (Object.keys(gitlabFailures).length)
      log(`GitLab-style worker failures: ${JSON.stringify(gitlabFailures)}`);
    await gitlabWorker.rpc.call('stop');
    await gitlabWorker.rpc.call('exit').catch(() => undefined);
    gitlabWorker = null;

    // --- ours: the reference host, API and worker in their own processes (or one, `single`) ---
    const split = s.topology === 'split';
    const appEnv: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: dbUrl,
      REDIS_URL: s.redisUrl,
      BULL_PREFIX: prefix,
      ADMIN_TOKEN: `glpat-bench-${suffix}`,
      UNLEASH_BOOTSTRAP: flagBootstrapFile(),
      AUDIT_STREAMING_ALLOW_LOCAL_REQUESTS: 'true',
      AUDIT_STREAMING_CONCURRENCY: String(s.workerConcurrency),
      // Up to 100 quick retries: the backlog phase measures draining, not the backoff schedule.
      AUDIT_STREAMING_RETRY_SCHEDULE: Array(100).fill('1000').join(','),
      AUDIT_STREAMING_TIMEOUT_MS: '5000',
      // The circuit breaker holds a dead destination's deliveries until its next probe.
      ...(s.circuitProbeMs ? { AUDIT_STREAMING_CIRCUIT_PROBE_MS: String(s.circuitProbeMs) } : {}),
    };
    log(`booting the reference host (APP_ROLE=${split ? 'api' : 'all'})`);
    host = child('host.js', { ...appEnv, APP_ROLE: split ? 'api' : 'all' });
    const h = host.rpc;
    const hostPid = host.proc.pid!;
    let workerPid = 0;
    // RSS of the API process (host) and of the worker, on one time axis (the host's start).
    const rss: { host: [number, number][]; worker: [number, number][] } = { host: [], worker: [] };
    const t0 = nowMs();
    const sampler = setInterval(() => {
      const t = round((nowMs() - t0) / 1000, 2);
      const m = procMemory(hostPid);
      if (m) rss.host.push([t, m.rssMb]);
      const w = workerPid ? procMemory(workerPid) : null;
      if (w) rss.worker.push([t, w.rssMb]);
    }, 250);
    await h.call('boot'); // runs the migrations
    if (split) {
      log('booting the delivery worker (APP_ROLE=worker)');
      worker = child('worker.js', { ...appEnv, APP_ROLE: 'worker' });
      workerPid = worker.proc.pid!;
      await worker.rpc.call('boot');
    }
    /** The app processes and their role; the worker's RPCs go to the host when it is alone. */
    const apps: [AppProcess, Rpc][] = split
      ? [
          ['api', h],
          ['worker', worker!.rpc],
        ]
      : [['all', h]];
    const onApps = <T = Message>(cmd: string, args: Record<string, unknown> = {}) =>
      Promise.all(apps.map(([, rpc]) => rpc.call<T & Message>(cmd, args)));
    const countersReset = () => onApps('countersReset');
    /** SQL statements and Redis commands since the last reset, per process and added up. */
    const readCounts = async () => {
      const per = await onApps<Counts>('counters');
      return {
        sum: { sql: addUp(per.map((c) => c.sql)), redis: addUp(per.map((c) => c.redis)) },
        byProcess: apps.map(([role], i) => [role, per[i]] as const),
      };
    };
    /** Delivery jobs that failed or stalled since the last call, in any app process. */
    const jobFailures = async () =>
      addUp(
        (await onApps<{ failures: Record<string, number> }>('jobFailures')).map((f) => f.failures),
      );
    await h.call('setup', { receiverUrl: recv });

    log('ours: warm-up');
    await reset();
    const warm = Math.min(200, s.oursN);
    await h.call('record', { group: 'bench-one', n: warm, concurrency: s.recordConcurrency });
    await mustReceive(warm, 'warm-up');

    const ours: Record<string, Throughput & { recordSeconds: number }> = {};
    let profile: BenchResults['profile'] = null;
    let perEventCost: BenchResults['perEventCost'] = null;
    for (const [dest, group, n] of [
      [1, 'bench-one', s.oursN],
      [5, 'bench-five', s.fiveDestN],
    ] as const) {
      log(`ours, per-event mode, ${dest} destination(s): ${n} events`);
      await reset();
      await countersReset();
      if (dest === 1 && s.cpuProfile) await onApps('profileStart');
      const started = nowMs();
      const received = mustReceive(n * dest, `ours ${dest}`);
      const rec = await h.call<Message & { seconds: number }>('record', {
        group,
        n,
        concurrency: s.recordConcurrency,
      });
      const done = await received;
      const seconds = (done.at - started) / 1000;
      ours[dest] = {
        events: n,
        seconds,
        eventsPerSec: n / seconds,
        deliveries: n * dest,
        recordSeconds: rec.seconds,
      };
      if (dest === 1) {
        if (s.cpuProfile)
          profile = Object.fromEntries(
            await Promise.all(
              apps.map(async ([role, rpc]) => {
                const { id: _id, ...summary } = await rpc.call<ProfileSummary & Message>(
                  'profileStop',
                  { file: join(tmpdir(), `aes-bench-${suffix}-${role}.cpuprofile`) },
                );
                return [role, summary];
              }),
            ),
          );
        await sleep(300); // the last settle updates
        perEventCost = cost(await readCounts(), n);
      }
    }

    // --- ours, batch mode ----------------------------------------------------------------------
    const batch: BatchResults = { status: 'not built', dest1: null, dest5: null, splunkHec1: null };
    const batchDests: CreatedBatchDestination[] = [];
    log('ours, batch mode: creating batch destinations');
    try {
      const nd = (path: string) => ({ path, format: 'NDJSON', via: 'create' });
      const setup = await h.call<Message & { destinations: CreatedBatchDestination[] }>(
        'setupBatch',
        {
          receiverUrl: recv,
          batch: { batchMaxEvents: BATCH_MAX_EVENTS, batchMaxWaitMs: BATCH_MAX_WAIT_MS },
          groups: {
            'bench-batch-one': [nd('/batch-one')],
            'bench-batch-five': [1, 2, 3, 4, 5].map((i) => nd(`/batch-five-${i}`)),
            // Created plain, switched to Splunk HEC by the update mutation.
            'bench-batch-hec': [{ path: '/batch-hec', format: 'SPLUNK_HEC', via: 'update' }],
            'bench-batch-backlog': [nd('/batch-backlog')],
          },
        },
      );
      batchDests.push(...setup.destinations);
      for (const d of batchDests)
        await receiver.rpc.call('expect', {
          path: d.path,
          format: d.format,
          token: d.token,
          secrets: d.secrets,
          // The limits as the API read them back (what the destination was created with).
          maxEvents: Number(d.settings?.batchMaxEvents ?? BATCH_MAX_EVENTS),
          maxBytes: Number(d.settings?.batchMaxBytes ?? 1048576),
          maxWaitMs: Number(d.settings?.batchMaxWaitMs ?? BATCH_MAX_WAIT_MS),
        });
      batch.status = 'measured';
      batch.settings = { batchMaxEvents: BATCH_MAX_EVENTS, batchMaxWaitMs: BATCH_MAX_WAIT_MS };
      batch.destinations = batchDests.map(({ path, format, via, id, settings }) => ({
        path,
        format,
        via,
        id,
        settings,
      }));
      batch.apiChecks = await h
        .call('batchApiChecks', { receiverUrl: recv })
        .then(({ id: _id, ...checks }) => checks)
        .catch((err: Error) => ({ error: err.message }));
    } catch (err) {
      batch.error = (err as Error).message;
      log(`ours, batch mode: not built (${batch.error.split('\n')[0].slice(0, 200)})`);
    }
    const destIds = (prefix: string) =>
      batchDests.filter((d) => d.path.startsWith(prefix)).map((d) => d.numericId);

    /**
     * One batch phase: `n` events recorded into `group`, until the receiver has every (event,
     * destination) on the paths under `prefix`. A phase that fails is reported, not fatal.
     */
    const batchPhase = async (
      format: 'NDJSON' | 'SPLUNK_HEC',
      group: string,
      prefix: string,
      dest: number,
      n: number,
      counting = false,
    ): Promise<BatchPhase> => {
      log(`ours, batch mode (${format}), ${dest} destination(s): ${n} events`);
      await reset(false, prefix);
      await jobFailures();
      if (counting) await countersReset();
      const started = nowMs();
      const received = awaitReceived(n * dest, 30_000 + n * dest * 10);
      const phase: Partial<BatchPhase> = { format, destinations: dest };
      try {
        const rec = await h.call<Message & { seconds: number }>('record', {
          group,
          n,
          concurrency: s.recordConcurrency,
        });
        phase.recordSeconds = rec.seconds;
        const done = await received;
        if (!done.reached)
          throw new Error(`receiver got ${done.unique} of ${n * dest} (event, destination)`);
        const seconds = (done.at - started) / 1000;
        Object.assign(phase, {
          status: 'measured',
          events: n,
          seconds,
          eventsPerSec: n / seconds,
          deliveries: n * dest,
        });
      } catch (err) {
        phase.status = 'failed';
        phase.error = (err as Error).message;
        log(`  failed: ${phase.error}`);
      }
      await sleep(BATCH_MAX_WAIT_MS + 300); // late or repeated requests, the last settle updates
      const stats = await receiver.rpc.call<ReceiverStats>('stats');
      const deliveries = await h.call<Message & { rows: unknown[] }>('deliveries', {
        destinationIds: destIds(prefix),
      });
      return {
        ...(phase as BatchPhase),
        requests: stats.total,
        receivedEvents: stats.events,
        eventsPerRequest: round(stats.events / Math.max(1, stats.total), 1),
        receiver: stats.batch,
        deliveriesAfter: deliveries.rows,
        jobFailures: await jobFailures(),
      };
    };

    if (batch.status === 'measured') {
      log('ours, batch mode: warm-up');
      await reset(false, '/batch-one');
      await h.call('record', {
        group: 'bench-batch-one',
        n: warm,
        concurrency: s.recordConcurrency,
      });
      const warmed = await awaitReceived(warm, 30_000);
      if (!warmed.reached) log(`  warm-up: receiver got ${warmed.unique} of ${warm}`);
      batch.dest1 = await batchPhase('NDJSON', 'bench-batch-one', '/batch-one', 1, s.oursN, true);
      // Counted from the phase's start (after the warm-up): the phase's n events.
      batch.cost = cost(await readCounts(), s.oursN);
      batch.dest5 = await batchPhase('NDJSON', 'bench-batch-five', '/batch-five-', 5, s.fiveDestN);
      batch.splunkHec1 = await batchPhase(
        'SPLUNK_HEC',
        'bench-batch-hec',
        '/batch-hec',
        1,
        s.oursN,
      );
      if ([batch.dest1, batch.dest5, batch.splunkHec1].some((p) => p?.status !== 'measured'))
        batch.status = 'failed';
    }

    // --- latency at a quarter of measured capacity --------------------------------------------
    const rate = Math.max(1, round(ours[1].eventsPerSec / 4));
    log(`latency at ${rate} events/s for ${s.latencyMs} ms`);
    await reset(true);
    const paced = await h.call<Message & { n: number; record: LatencySummary }>('recordPaced', {
      group: 'bench-one',
      rate,
      durationMs: s.latencyMs,
    });
    await mustReceive(paced.n, 'latency phase');
    const e2e = (await receiver.rpc.call<Message & { latency: LatencySummary }>('stats')).latency;
    const noDest = await h.call<Message & { record: LatencySummary }>('recordPaced', {
      group: 'bench-none',
      rate,
      durationMs: s.latencyMs,
    });
    const bare = await h.call<Message & { insert: LatencySummary }>('insertPaced', {
      rate,
      durationMs: s.latencyMs,
    });

    // --- backlog: recorded while the receiver is down, then drained ---------------------------
    log(`backlog: ${s.backlogN} events while the receiver is down`);
    await receiver.rpc.call('down');
    await reset();
    const backlogRec = await h.call<Message & { seconds: number }>('record', {
      group: 'bench-one',
      n: s.backlogN,
      concurrency: s.recordConcurrency,
    });
    const beforeUp = await h.call<Message & { rows: unknown[] }>('deliveries');
    await receiver.rpc.call('up');
    const upAt = nowMs();
    log('backlog: receiver is back, draining');
    const drained = await mustReceive(s.backlogN, 'backlog drain', 120_000 + s.backlogN * 100);
    const drainSeconds = (drained.at - upAt) / 1000;
    const firstDeliverySeconds = (drained.firstAt - upAt) / 1000;
    await sleep(500);
    const afterDrain = await h.call<Message & { rows: unknown[] }>('deliveries');

    // --- backlog again, the destination in batch mode ------------------------------------------
    let backlogBatch: BatchBacklog | null = null;
    if (batchDests.length) {
      log(`backlog, batch mode (NDJSON): ${s.backlogN} events while the receiver is down`);
      await receiver.rpc.call('down');
      await reset(false, '/batch-backlog');
      await jobFailures();
      const ids = { destinationIds: destIds('/batch-backlog') };
      const rec = await h.call<Message & { seconds: number }>('record', {
        group: 'bench-batch-backlog',
        n: s.backlogN,
        concurrency: s.recordConcurrency,
      });
      const before = await h.call<Message & { rows: unknown[] }>('deliveries', ids);
      await receiver.rpc.call('up');
      const up = nowMs();
      log('backlog, batch mode: receiver is back, draining');
      const done = await awaitReceived(s.backlogN, 120_000 + s.backlogN * 10);
      await sleep(BATCH_MAX_WAIT_MS + 300);
      const stats = await receiver.rpc.call<ReceiverStats>('stats');
      const after = await h.call<Message & { rows: unknown[] }>('deliveries', ids);
      const drain = (done.at - up) / 1000;
      const first = done.firstAt ? (done.firstAt - up) / 1000 : NaN;
      backlogBatch = {
        status: done.reached ? 'measured' : 'failed',
        ...(done.reached
          ? {}
          : { error: `receiver got ${done.unique} of ${s.backlogN} after ${round(drain)} s` }),
        format: 'NDJSON',
        events: s.backlogN,
        recordSeconds: rec.seconds,
        drainSeconds: drain,
        firstDeliverySeconds: first,
        drainEventsPerSec: s.backlogN / drain,
        flowEventsPerSec: s.backlogN / Math.max(0.001, drain - first),
        circuitProbeMs: s.circuitProbeMs,
        requests: stats.total,
        eventsPerRequest: round(stats.events / Math.max(1, stats.total), 1),
        receiver: stats.batch,
        deliveriesBeforeUp: before.rows,
        deliveriesAfterDrain: after.rows,
      };
      if (!done.reached) log(`  failed: ${backlogBatch.error}`);
      // Anything still moving after the receiver has everything: repeats, rows still undelivered.
      await sleep(3000);
      const later = await receiver.rpc.call<ReceiverStats>('stats');
      backlogBatch.later = {
        afterMs: 3000 + BATCH_MAX_WAIT_MS + 300,
        requests: later.total,
        receivedEvents: later.events,
        problems: later.batch.problems,
        jobFailures: await jobFailures(),
        deliveries: (await h.call<Message & { rows: unknown[] }>('deliveries', ids)).rows,
        attemptsOfRepeated: (
          await h.call<Message & { rows: unknown[] }>('attemptsOf', {
            ...ids,
            eventIds: later.batch.repeatedIds.slice(0, 5).map((r) => r.id),
            since: Date.now() - (nowMs() - up),
          })
        ).rows,
        // Seconds from the receiver's return, in 5 s windows (negative: while it was down).
        attempts: (
          await h.call<Message & { rows: unknown[] }>('attempts', {
            ...ids,
            since: Date.now() - (nowMs() - up),
          })
        ).rows,
      };
    }

    clearInterval(sampler);
    const hostPeak = procMemory(hostPid);
    const workerPeak = workerPid ? procMemory(workerPid) : null;
    // Only now, with the samples taken: a forced collection would bend them.
    const liveHeap = (rpc: Rpc | undefined) =>
      rpc?.call<Message & LiveHeap>('liveHeap').then(
        ({ liveHeapMb, heapTotalMb, rssMb }) => ({ liveHeapMb, heapTotalMb, rssMb }),
        () => null,
      ) ?? Promise.resolve(null);
    const hostHeap = await liveHeap(h);
    const workerHeap = split ? await liveHeap(worker?.rpc) : hostHeap;
    // The API first (nothing more is recorded), then the worker.
    await h.call('close').catch(() => undefined);
    host = null;
    await worker?.rpc.call('close').catch(() => undefined);
    worker = null;

    // `memory` is the worker's (the process that delivers): APP_ROLE=worker, or all when alone.
    const thin = (samples: [number, number][]) =>
      // At most about 240 points, so the JSON stays small enough to commit.
      samples.filter((_, i) => i % Math.max(1, Math.ceil(samples.length / 240)) === 0);
    const workerRss = split ? rss.worker : rss.host;
    const memory: BenchResults['memory'] = {
      process: split ? 'worker' : 'all',
      peakRssMb: (split ? workerPeak : hostPeak)?.hwmMb ?? NaN,
      secondHalf: rssTrend(workerRss),
      samples: thin(workerRss),
      atEnd: workerHeap,
      api: split
        ? {
            peakRssMb: hostPeak?.hwmMb ?? NaN,
            secondHalf: rssTrend(rss.host),
            samples: thin(rss.host),
            atEnd: hostHeap,
          }
        : null,
    };
    const results: BenchResults = {
      when: startedAt.toISOString(),
      mode: s.quick ? 'quick' : 'full',
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? '?',
        loadavgAtStart: loadavg().map((l) => round(l, 2)),
        node: process.version,
      },
      settings: {
        floorN: s.floorN,
        oursN: s.oursN,
        fiveDestN: s.fiveDestN,
        backlogN: s.backlogN,
        latencyMs: s.latencyMs,
        recordConcurrency: s.recordConcurrency,
        workerConcurrency: s.workerConcurrency,
        topology: s.topology,
      },
      floors: { bullJob: bull, keepAlivePost: post, insert },
      gitlabStyle: {
        dest1: gitlab[1],
        dest5: gitlab[5],
        workerFailures: gitlabFailures,
        transportOnly: { dest1: gitlabTransport[1], dest5: gitlabTransport[5] },
      },
      ours: {
        perEvent: { dest1: ours[1], dest5: ours[5] },
        batch,
      },
      backlogBatch,
      backlog: {
        events: s.backlogN,
        recordSeconds: backlogRec.seconds,
        drainSeconds,
        firstDeliverySeconds,
        drainEventsPerSec: s.backlogN / drainSeconds,
        flowEventsPerSec: s.backlogN / Math.max(0.001, drainSeconds - firstDeliverySeconds),
        circuitProbeMs: s.circuitProbeMs,
        deliveriesBeforeUp: beforeUp.rows,
        deliveriesAfterDrain: afterDrain.rows,
      },
      latency: {
        rate,
        recordToReceivedMs: e2e,
        recordStreamingOnMs: paced.record,
        recordNoDestinationMs: noDest.record,
        bareInsertMs: bare.insert,
      },
      memory,
      perEventCost,
      profile,
      ratios: {} as BenchResults['ratios'],
    };
    const floorMin = Math.min(insert.eventsPerSec, post.eventsPerSec);
    results.ratios = {
      oursVsGitlab: round(ours[1].eventsPerSec / gitlab[1].eventsPerSec, 2),
      oursVsGitlabTransportOnly: round(ours[1].eventsPerSec / gitlabTransport[1].eventsPerSec, 2),
      oursVsSmallerFloor: round(ours[1].eventsPerSec / floorMin, 3),
      recordP99VsInsertP99: round(paced.record.p99 / bare.insert.p99, 2),
      rssFlat: results.memory.secondHalf.flat,
      batch1VsInsert: ratio(batch.dest1, (p) => p.eventsPerSec! / insert.eventsPerSec, 3),
      batch5VsInsert: ratio(batch.dest5, (p) => p.eventsPerSec! / insert.eventsPerSec, 3),
      batchBacklogFlowVsPost: ratio(backlogBatch, (p) => p.flowEventsPerSec / post.eventsPerSec, 3),
      batchBacklogDrainVsPost: ratio(
        backlogBatch,
        (p) => p.drainEventsPerSec / post.eventsPerSec,
        3,
      ),
    };
    writeFileSync(join(s.outDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(s.outDir, 'latest.svg'), renderSvg(results));
    printTable(results);
    log(`wrote ${join(s.outDir, 'latest.json')} and latest.svg`);
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
