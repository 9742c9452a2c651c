/**
 * `npm run bench`: floors, the GitLab-style design and ours end to end, measured side by side in
 * one run on real PostgreSQL and Redis, with the receiver in its own process on loopback.
 * Writes bench/results/latest.json and bench/results/latest.svg. See bench/README.md.
 */
import { ChildProcess, fork } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
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
import { bullFloor, gitlabStyle, insertFloor, postFloor, Throughput } from './floors';
import type { ProfileSummary } from './profile';
import { printTable, renderSvg, rssTrend, BenchResults } from './report';

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

function flagFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'aes-bench-')), 'flags.json');
  writeFileSync(
    file,
    JSON.stringify({
      version: 1,
      features: [
        {
          name: 'ff_external_audit_events_namespace',
          enabled: true,
          strategies: [{ name: 'default', constraints: [] }],
        },
      ],
    }),
  );
  return file;
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

async function deleteRedisKeys(url: string, prefix: string): Promise<number> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) deleted += await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
  return deleted;
}

function perEvent(counts: Record<string, number>, n: number): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, round(v / n, 2)]));
}

function total(counts: Record<string, number>, skip: RegExp = /^$/): number {
  return Object.entries(counts)
    .filter(([k]) => !skip.test(k))
    .reduce((s, [, v]) => s + v, 0);
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
  const cleanup = async () => {
    host?.proc.kill();
    receiver.proc.kill();
    await withPg(s.pgAdminUrl, (c) =>
      c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`),
    ).catch((err) => log(`could not drop ${dbName}: ${err.message}`));
    const keys = await deleteRedisKeys(s.redisUrl, prefix).catch(() => -1);
    log(`dropped ${dbName}, deleted ${keys} Redis keys under ${prefix}:`);
  };
  process.once('SIGINT', () => {
    void cleanup().finally(() => process.exit(130));
  });

  try {
    const { port } = await receiver.rpc.call<{ port: number }>('start');
    const recv = `http://127.0.0.1:${port}`;
    const reset = (trackLatency = false) => receiver.rpc.call('reset', { trackLatency });
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
    const gitlab: Record<string, Throughput> = {};
    for (const [dest, n] of [
      [1, s.oursN],
      [5, s.fiveDestN],
    ] as const) {
      log(`GitLab-style design, ${dest} destination(s)`);
      await reset();
      const urls = Array.from({ length: dest }, (_, i) => `${recv}/gitlab-${i + 1}`);
      gitlab[dest] = await gitlabStyle(
        s.redisUrl,
        prefix,
        urls,
        n,
        s.recordConcurrency,
        s.workerConcurrency,
        (target) => mustReceive(target, 'GitLab-style').then(() => undefined),
      );
    }

    // --- ours: the reference host, APP_ROLE=all, in its own process ---------------------------
    log('booting the reference host (APP_ROLE=all)');
    host = child('host.js', {
      ...process.env,
      DATABASE_URL: dbUrl,
      REDIS_URL: s.redisUrl,
      BULL_PREFIX: prefix,
      APP_ROLE: 'all',
      ADMIN_TOKEN: `glpat-bench-${suffix}`,
      UNLEASH_BOOTSTRAP: flagFile(),
      AUDIT_STREAMING_ALLOW_LOCAL_REQUESTS: 'true',
      AUDIT_STREAMING_CONCURRENCY: String(s.workerConcurrency),
      // Up to 100 quick retries: the backlog phase measures draining, not the backoff schedule.
      AUDIT_STREAMING_RETRY_SCHEDULE: Array(100).fill('1000').join(','),
      AUDIT_STREAMING_TIMEOUT_MS: '5000',
      // The circuit breaker holds a dead destination's deliveries until its next probe.
      ...(s.circuitProbeMs ? { AUDIT_STREAMING_CIRCUIT_PROBE_MS: String(s.circuitProbeMs) } : {}),
    });
    const h = host.rpc;
    const hostPid = host.proc.pid!;
    const rss: [number, number][] = [];
    const t0 = nowMs();
    const sampler = setInterval(() => {
      const m = procMemory(hostPid);
      if (m) rss.push([round((nowMs() - t0) / 1000, 2), m.rssMb]);
    }, 250);
    await h.call('boot');
    await h.call('setup', { receiverUrl: recv });

    log('ours: warm-up');
    await reset();
    const warm = Math.min(200, s.oursN);
    await h.call('record', { group: 'bench-one', n: warm, concurrency: s.recordConcurrency });
    await mustReceive(warm, 'warm-up');

    const ours: Record<string, Throughput & { recordSeconds: number }> = {};
    let profile: ProfileSummary | null = null;
    let counters: { sql: Record<string, number>; redis: Record<string, number> } | null = null;
    for (const [dest, group, n] of [
      [1, 'bench-one', s.oursN],
      [5, 'bench-five', s.fiveDestN],
    ] as const) {
      log(`ours, per-event mode, ${dest} destination(s): ${n} events`);
      await reset();
      await h.call('countersReset');
      if (dest === 1 && s.cpuProfile) await h.call('profileStart');
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
          profile = await h.call<ProfileSummary & Message>('profileStop', {
            file: join(tmpdir(), `aes-bench-${suffix}.cpuprofile`),
          });
        await sleep(300); // the last settle updates
        counters = await h.call('counters');
      }
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

    clearInterval(sampler);
    const peak = procMemory(hostPid);
    await h.call('close').catch(() => undefined);
    host = null;

    const memoryTrend = rssTrend(rss);
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
      },
      floors: { bullJob: bull, keepAlivePost: post, insert },
      gitlabStyle: { dest1: gitlab[1], dest5: gitlab[5] },
      ours: {
        perEvent: { dest1: ours[1], dest5: ours[5] },
        batch: { status: 'not built', dest1: null, dest5: null },
      },
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
      memory: {
        peakRssMb: peak?.hwmMb ?? NaN,
        secondHalf: memoryTrend,
        // At most about 240 points, so the JSON stays small enough to commit.
        samples: rss.filter((_, i) => i % Math.max(1, Math.ceil(rss.length / 240)) === 0),
      },
      perEventCost: counters && {
        sqlStatements: round(total(counters.sql) / s.oursN, 2),
        redisCommands: round(total(counters.redis, /^(brpoplpush|bzpopmin|blmove)$/i) / s.oursN, 2),
        sql: perEvent(counters.sql, s.oursN),
        redis: perEvent(counters.redis, s.oursN),
      },
      profile,
      ratios: {} as BenchResults['ratios'],
    };
    const floorMin = Math.min(insert.eventsPerSec, post.eventsPerSec);
    results.ratios = {
      oursVsGitlab: round(ours[1].eventsPerSec / gitlab[1].eventsPerSec, 2),
      oursVsSmallerFloor: round(ours[1].eventsPerSec / floorMin, 3),
      recordP99VsInsertP99: round(paced.record.p99 / bare.insert.p99, 2),
      rssFlat: results.memory.secondHalf.flat,
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
