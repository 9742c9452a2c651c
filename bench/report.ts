/** The bench's output: the table on stdout, and a hand-written SVG chart (deterministic layout). */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LatencySummary, quantile, round } from './common';
import type { Throughput } from './floors';
import type { ProfileSummary } from './profile';

/** A process of ours: the API (APP_ROLE=api), the delivery worker (worker), or both in one (all). */
export type AppProcess = 'api' | 'worker' | 'all';

/** RSS over the second half of the run (see rssTrend). */
export interface RssTrend {
  /** Raw samples, GC sawtooth included. */
  minMb: number;
  maxMb: number;
  spreadPct: number;
  /** Medians of ten equal time windows; `flat` is judged on their spread. */
  windowMediansMb: number[];
  medianSpreadPct: number;
  flat: boolean;
}

/** SQL statements and Redis commands per event: the sum over ours' processes. */
export interface Cost {
  sqlStatements: number;
  redisCommands: number;
  sql: Record<string, number>;
  redis: Record<string, number>;
  /** The same totals per process (api and worker; all when they are one). */
  byProcess?: Partial<Record<AppProcess, { sqlStatements: number; redisCommands: number }>>;
}

export interface BenchResults {
  when: string;
  mode: 'quick' | 'full';
  machine: { cpus: number; cpuModel: string; loadavgAtStart: number[]; node: string };
  /** Counts and concurrencies; `topology`: split (API and worker processes) or single. */
  settings: Record<string, number | string>;
  floors: { bullJob: Throughput; keepAlivePost: Throughput; insert: Throughput };
  /**
   * The GitLab-style design as GitLab 14.5 runs it (INSERT, job carrying the id, worker process
   * loading the event and the destinations, one POST each), and its transport alone (job carrying
   * the event, worker in the orchestrator, no database), for information.
   */
  gitlabStyle: {
    dest1: Throughput;
    dest5: Throughput;
    /** POSTs that failed and jobs that threw in the GitLab-style worker, by reason. */
    workerFailures?: Record<string, number>;
    transportOnly?: { dest1: Throughput; dest5: Throughput };
  };
  ours: {
    perEvent: { dest1: Throughput & { recordSeconds: number }; dest5: Throughput };
    /** Batch mode: `not built` (the API refused the batch fields) keeps the slots empty. */
    batch: BatchResults;
  };
  /** The backlog phase again with the destination in batch mode (NDJSON); null: not measured. */
  backlogBatch?: BatchBacklog | null;
  backlog: BacklogDrain & {
    deliveriesBeforeUp: unknown[];
    deliveriesAfterDrain: unknown[];
  };
  latency: {
    rate: number;
    recordToReceivedMs: LatencySummary;
    recordStreamingOnMs: LatencySummary;
    recordNoDestinationMs: LatencySummary;
    bareInsertMs: LatencySummary;
  };
  /**
   * The worker's memory (`process`: APP_ROLE=worker, or all in the single topology): samples
   * ([seconds since the host started, MB]), peak, trend; `api`: the API process's, when apart.
   */
  memory: {
    process?: 'worker' | 'all';
    peakRssMb: number;
    secondHalf: RssTrend;
    samples: [number, number][];
    /** At the end of the run, after a full garbage collection (null: not measured). */
    atEnd?: LiveHeap | null;
    api?: {
      peakRssMb: number;
      secondHalf: RssTrend;
      samples?: [number, number][];
      atEnd?: LiveHeap | null;
    } | null;
  };
  perEventCost: Cost | null;
  /** CPU profiles of the 1-destination per-event phase, per process. */
  profile: Partial<Record<AppProcess, ProfileSummary>> | null;
  ratios: {
    /** Ours per-event 1 destination over the GitLab-style design (14.5, with its database). */
    oursVsGitlab: number;
    /** ... over the GitLab-style transport alone (no database). */
    oursVsGitlabTransportOnly?: number;
    oursVsSmallerFloor: number;
    recordP99VsInsertP99: number;
    rssFlat: boolean;
    /** Batch mode (NDJSON) events/s over the INSERT floor; null when not measured. */
    batch1VsInsert?: number | null;
    batch5VsInsert?: number | null;
    /** Batch backlog events/s once deliveries flow, and for the whole drain, over the POST floor. */
    batchBacklogFlowVsPost?: number | null;
    batchBacklogDrainVsPost?: number | null;
  };
}

/** What the receiver saw of batch requests in one phase (written by receiver.ts). */
export interface ReceiverBatchStats {
  requests: number;
  events: number;
  maxEvents: number;
  maxBytes: number;
  /** Events per batch request: distribution by size bucket (1, 2-9, 10-99, 100-499, 500+). */
  sizes: Record<string, number>;
  byContentType: Record<string, number>;
  /** Failed checks by kind (framing, count header, token, signature, repeats...). */
  problems: Record<string, number>;
  examples: string[];
  /**
   * The first 200 batch requests: [ms since the reset, events, repeats among them, first id,
   * age of the oldest event in ms].
   */
  timeline: [number, number, number, string, number][];
  /** The first 20 events received again: when first and again, ms since the phase began. */
  repeatedIds: { id: string; firstMs: number; againMs: number }[];
}

/** One batch-mode phase, record() to received. */
export interface BatchPhase extends Partial<Throughput> {
  status: 'measured' | 'failed';
  error?: string;
  format: 'NDJSON' | 'SPLUNK_HEC';
  destinations: number;
  recordSeconds?: number;
  /** Requests and events (repeats included) the receiver got, and what it found in them. */
  requests: number;
  receivedEvents: number;
  eventsPerRequest: number;
  receiver: ReceiverBatchStats;
  /** Delivery rows of the phase's destinations by status, after it. */
  deliveriesAfter: unknown[];
  /** Delivery jobs that threw or stalled in ours' processes during the phase, by reason. */
  jobFailures: Record<string, number>;
}

export interface BatchResults {
  status: 'measured' | 'not built' | 'failed';
  error?: string;
  settings?: { batchMaxEvents: number; batchMaxWaitMs: number };
  /** The destinations as created (batch settings read back; tokens and secrets left out). */
  destinations?: unknown[];
  /** Defaults and range checks of the batch fields, as the API answered them. */
  apiChecks?: unknown;
  dest1: BatchPhase | null;
  dest5: BatchPhase | null;
  splunkHec1?: BatchPhase | null;
  /** SQL statements and Redis commands per event in the NDJSON 1-destination phase. */
  cost?: Cost | null;
}

/** A backlog phase: events recorded while the receiver is down, then drained once it is back. */
export interface BacklogDrain {
  events: number;
  recordSeconds: number;
  drainSeconds: number;
  /** From the receiver's return to its first delivery (the circuit breaker's probe). */
  firstDeliverySeconds: number;
  drainEventsPerSec: number;
  /** Events per second once deliveries flow again (first to last). */
  flowEventsPerSec: number;
  /** null: the plugin's default. */
  circuitProbeMs: number | null;
}

export interface BatchBacklog extends BacklogDrain {
  status: 'measured' | 'failed';
  error?: string;
  format: 'NDJSON';
  requests: number;
  eventsPerRequest: number;
  receiver: ReceiverBatchStats;
  deliveriesBeforeUp: unknown[];
  deliveriesAfterDrain: unknown[];
  /** The receiver and the delivery rows a few seconds after the drain (repeats, leftovers). */
  later?: {
    afterMs: number;
    requests: number;
    receivedEvents: number;
    problems: Record<string, number>;
    /** Delivery jobs that threw or stalled in ours' processes during the whole phase. */
    jobFailures: Record<string, number>;
    deliveries: unknown[];
    /** The delivery log by 5 s window from the receiver's return (`fromS`) and answer. */
    attempts: unknown[];
    /** Every logged attempt of the first few events received twice (ms from the return). */
    attemptsOfRepeated: unknown[];
  };
}

interface Row {
  label: string;
  kind: 'floor' | 'gitlab' | 'gitlabTransport' | 'ours' | 'missing' | 'backlog';
  eventsPerSec: number | null;
  note: string;
}

/**
 * Whether the GitLab-style figures are GitLab 14.5's design (database, worker process). Results
 * written before it hold the transport alone under `dest1`/`dest5`, and no `transportOnly`.
 */
const faithfulGitlab = (r: BenchResults) => !!r.gitlabStyle.transportOnly;

function rows(r: BenchResults): Row[] {
  const t = (x: Throughput) => x.eventsPerSec;
  const faithful = faithfulGitlab(r);
  return [
    {
      label: 'floor: bare Bull job (bulk add, no-op)',
      kind: 'floor',
      eventsPerSec: t(r.floors.bullJob),
      note: '',
    },
    {
      label: 'floor: bare keep-alive POST (node:http)',
      kind: 'floor',
      eventsPerSec: t(r.floors.keepAlivePost),
      note: '',
    },
    {
      label: 'floor: bare single-row INSERT',
      kind: 'floor',
      eventsPerSec: t(r.floors.insert),
      note: '',
    },
    {
      label: 'GitLab-style, 1 destination',
      kind: 'gitlab',
      eventsPerSec: t(r.gitlabStyle.dest1),
      note: faithful ? 'INSERT + job(id); worker: 2 SELECTs + POST' : 'job + axios POST',
    },
    {
      label: 'GitLab-style, 5 destinations',
      kind: 'gitlab',
      eventsPerSec: t(r.gitlabStyle.dest5),
      note: faithful ? '... + 5 POSTs per job' : '5 POSTs per job',
    },
    ...(r.gitlabStyle.transportOnly
      ? ([
          {
            label: 'GitLab-style transport only, 1 dest',
            kind: 'gitlabTransport',
            eventsPerSec: t(r.gitlabStyle.transportOnly.dest1),
            note: 'job(event) + POST, no database (info)',
          },
          {
            label: 'GitLab-style transport only, 5 dest',
            kind: 'gitlabTransport',
            eventsPerSec: t(r.gitlabStyle.transportOnly.dest5),
            note: '5 POSTs per job, no database (info)',
          },
        ] as Row[])
      : []),
    {
      label: 'ours, per-event, 1 destination',
      kind: 'ours',
      eventsPerSec: t(r.ours.perEvent.dest1),
      note: 'record() to received',
    },
    {
      label: 'ours, per-event, 5 destinations',
      kind: 'ours',
      eventsPerSec: t(r.ours.perEvent.dest5),
      note: 'record() to received x5',
    },
    batchRow('ours, batch NDJSON, 1 destination', r.ours.batch, r.ours.batch.dest1),
    batchRow('ours, batch NDJSON, 5 destinations', r.ours.batch, r.ours.batch.dest5),
    batchRow('ours, batch Splunk HEC, 1 destination', r.ours.batch, r.ours.batch.splunkHec1),
    {
      label: 'ours, backlog drain, 1 destination',
      kind: 'backlog',
      eventsPerSec: r.backlog.drainEventsPerSec,
      note: `${r.backlog.events} events after outage`,
    },
    r.backlogBatch?.status === 'measured'
      ? {
          label: 'ours, backlog drain, batch NDJSON',
          kind: 'backlog',
          eventsPerSec: r.backlogBatch.drainEventsPerSec,
          note: `${r.backlogBatch.events} events; ${fmt(r.backlogBatch.flowEventsPerSec)}/s flowing`,
        }
      : {
          label: 'ours, backlog drain, batch NDJSON',
          kind: 'missing',
          eventsPerSec: null,
          note: r.backlogBatch?.status ?? r.ours.batch.status,
        },
  ];
}

function batchRow(label: string, batch: BatchResults, phase: BatchPhase | null | undefined): Row {
  if (phase?.status === 'measured' && phase.eventsPerSec)
    return {
      label,
      kind: 'ours',
      eventsPerSec: phase.eventsPerSec,
      note: `${phase.requests} requests, ${phase.eventsPerRequest} ev/request`,
    };
  return { label, kind: 'missing', eventsPerSec: null, note: phase?.status ?? batch.status };
}

/** Failed receiver checks of a batch phase, one string ('' when none). */
function problems(stats: ReceiverBatchStats | undefined): string {
  return Object.entries(stats?.problems ?? {})
    .map(([k, v]) => `${k} x${v}`)
    .join(', ');
}

const fmt = (n: number | null) =>
  n == null ? '-' : n >= 100 ? Math.round(n).toString() : n.toFixed(1);
const ms = (l: LatencySummary) => `p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms`;
const mark = (ok: boolean) => (ok ? 'MET' : 'NOT MET');

/** `window medians 100-105 MB (5%; raw samples 98-110 MB)` */
const trend = (m: RssTrend) =>
  `window medians ${Math.min(...m.windowMediansMb)}-${Math.max(...m.windowMediansMb)} MB (${m.medianSpreadPct}%; raw samples ${m.minMb}-${m.maxMb} MB)`;

/** A process's heap after a full garbage collection, beside its RSS, MB. */
export interface LiveHeap {
  liveHeapMb: number;
  heapTotalMb: number;
  rssMb: number;
}

/** `live heap X MB (heap Y MB, RSS Z MB) after a full GC at the end`, or nothing. */
function atEnd(heap: LiveHeap | null | undefined): string {
  return heap
    ? `; at the end, after a full GC: live heap ${heap.liveHeapMb} MB (heap ${heap.heapTotalMb} MB, RSS ${heap.rssMb} MB)`
    : '';
}

/** The process `memory` describes: the worker, APP_ROLE=worker (split) or all (single). */
const workerRole = (r: BenchResults) => `APP_ROLE=${r.memory.process ?? 'all'}`;

export function targetLines(r: BenchResults): string[] {
  const q = r.ratios;
  const api = r.memory.api;
  return [
    `ours 1 dest / GitLab-style 1 dest${faithfulGitlab(r) ? ' (14.5: INSERT, job with the id, worker process)' : ''} = ${q.oursVsGitlab}x (target >= 3x): ${mark(q.oursVsGitlab >= 3)}`,
    ...(q.oursVsGitlabTransportOnly != null
      ? [
          `ours 1 dest / GitLab-style transport only (no database) 1 dest = ${q.oursVsGitlabTransportOnly}x (for information)`,
        ]
      : []),
    `ours 1 dest / min(INSERT, POST floor) = ${q.oursVsSmallerFloor}x (target >= 0.5x): ${mark(q.oursVsSmallerFloor >= 0.5)}`,
    `record() p99 streaming on / bare INSERT p99 = ${q.recordP99VsInsertP99}x (target <= 1.5x): ${mark(q.recordP99VsInsertP99 <= 1.5)}`,
    `worker (${workerRole(r)}) RSS flat within 10% over the second half: ${trend(r.memory.secondHalf)}: ${mark(q.rssFlat)}`,
    ...(api
      ? [
          `API (APP_ROLE=api) RSS over the second half: ${trend(api.secondHalf)}, ${api.secondHalf.flat ? 'flat' : 'not flat'} (for information)`,
        ]
      : []),
    q.batch1VsInsert != null
      ? `ours batch (NDJSON) 1 dest / INSERT floor = ${q.batch1VsInsert}x (target >= 0.9x): ${mark(q.batch1VsInsert >= 0.9)}`
      : `ours batch 1 dest / INSERT floor (target >= 0.9x): ${r.ours.batch.dest1?.status ?? r.ours.batch.status}`,
    q.batch5VsInsert != null
      ? `ours batch (NDJSON) 5 dest / INSERT floor = ${q.batch5VsInsert}x (target >= 0.7x): ${mark(q.batch5VsInsert >= 0.7)}`
      : `ours batch 5 dest / INSERT floor (target >= 0.7x): ${r.ours.batch.dest5?.status ?? r.ours.batch.status}`,
    q.batchBacklogFlowVsPost != null
      ? `batch backlog drain once flowing / POST floor = ${q.batchBacklogFlowVsPost}x (target >= 5x): ${mark(q.batchBacklogFlowVsPost >= 5)}; whole drain incl. the circuit probe wait ${q.batchBacklogDrainVsPost}x`
      : `batch backlog drain / POST floor (target >= 5x): ${r.backlogBatch?.status ?? r.ours.batch.status}`,
  ];
}

export function printTable(r: BenchResults): void {
  const list = rows(r);
  const w = Math.max(...list.map((x) => x.label.length));
  const out: string[] = [];
  out.push(
    `\nAudit event streaming bench (${r.mode} run, ${r.when}, ${r.machine.cpus} CPUs, load ${r.machine.loadavgAtStart.join(' ')}; ${topologyText(r)})\n`,
  );
  out.push(`${'design'.padEnd(w)}  ${'events/s'.padStart(9)}  note`);
  out.push(`${'-'.repeat(w)}  ${'-'.repeat(9)}  ${'-'.repeat(28)}`);
  for (const x of list)
    out.push(`${x.label.padEnd(w)}  ${fmt(x.eventsPerSec).padStart(9)}  ${x.note}`);
  const l = r.latency;
  out.push('');
  out.push(`latency at ${l.rate} events/s (a quarter of ours, 1 destination):`);
  out.push(`  record() to received          ${ms(l.recordToReceivedMs)}`);
  out.push(`  record(), streaming on        ${ms(l.recordStreamingOnMs)}`);
  out.push(`  record(), group w/o dests     ${ms(l.recordNoDestinationMs)}`);
  out.push(`  bare INSERT                   ${ms(l.bareInsertMs)}`);
  out.push(
    `backlog: ${r.backlog.events} recorded in ${r.backlog.recordSeconds.toFixed(1)} s while down; drained ${r.backlog.drainSeconds.toFixed(1)} s after the receiver came back (first delivery after ${r.backlog.firstDeliverySeconds.toFixed(1)} s, circuit probe ${r.backlog.circuitProbeMs ?? 'default 60000'} ms; ${fmt(r.backlog.flowEventsPerSec)} events/s once flowing)`,
  );
  const b = r.ours.batch;
  if (b.status === 'measured') {
    out.push(
      `batch mode: batchMaxEvents ${b.settings?.batchMaxEvents}, batchMaxWaitMs ${b.settings?.batchMaxWaitMs}`,
    );
    for (const [name, phase] of [
      ['NDJSON, 1 dest', b.dest1],
      ['NDJSON, 5 dest', b.dest5],
      ['Splunk HEC, 1 dest', b.splunkHec1],
    ] as const) {
      if (!phase) continue;
      const p = problems(phase.receiver);
      out.push(
        `  ${name.padEnd(20)} ${phase.status}${phase.error ? ` (${phase.error})` : ''}: ${phase.requests} requests, ${phase.receivedEvents} events (max ${phase.receiver?.maxEvents ?? '?'} per request, ${phase.receiver?.maxBytes ?? '?'} bytes); receiver checks: ${p || 'all passed'}`,
      );
    }
    if (b.cost)
      out.push(
        `  per event (NDJSON, 1 dest): ${b.cost.sqlStatements} SQL statements, ${b.cost.redisCommands} Redis commands${byProcess(b.cost)}`,
      );
  } else {
    out.push(
      `batch mode: ${b.status}${b.error ? ` (${b.error.split('\n')[0].slice(0, 200)})` : ''}`,
    );
  }
  const bb = r.backlogBatch;
  if (bb)
    out.push(
      bb.status === 'measured'
        ? `backlog, batch NDJSON: ${bb.events} recorded in ${bb.recordSeconds.toFixed(1)} s while down; drained ${bb.drainSeconds.toFixed(1)} s after the receiver came back (first delivery after ${bb.firstDeliverySeconds.toFixed(1)} s; ${fmt(bb.flowEventsPerSec)} events/s once flowing) in ${bb.requests} requests (${bb.eventsPerRequest} ev/request); receiver checks: ${problems(bb.receiver) || 'all passed'}`
        : `backlog, batch NDJSON: ${bb.status}${bb.error ? ` (${bb.error})` : ''}`,
    );
  out.push(
    `worker (${workerRole(r)}) peak RSS ${r.memory.peakRssMb} MB${atEnd(r.memory.atEnd)}` +
      (r.memory.api
        ? `\nAPI (APP_ROLE=api) peak RSS ${r.memory.api.peakRssMb} MB${atEnd(r.memory.api.atEnd)}`
        : ''),
  );
  if (r.perEventCost)
    out.push(
      `per event (1 dest): ${r.perEventCost.sqlStatements} SQL statements, ${r.perEventCost.redisCommands} Redis commands${byProcess(r.perEventCost)}`,
    );
  for (const [role, p] of Object.entries(profiles(r)))
    out.push(
      `CPU profile (per-event, 1 dest), ${role}: busy ${p.busyMs} ms of ${p.wallMs} ms; ${p.byArea
        .slice(0, 5)
        .map((a) => `${a.area} ${a.pct}%`)
        .join(', ')}`,
    );
  const gf = Object.entries(r.gitlabStyle.workerFailures ?? {});
  if (gf.length)
    out.push(`GitLab-style worker failures: ${gf.map(([k, v]) => `${k} x${v}`).join(', ')}`);
  out.push('');
  out.push('targets:');
  for (const t of targetLines(r)) out.push(`  ${t}`);
  console.log(out.join('\n'));
}

/** How ours ran: `split topology: API and worker processes`, or one process. */
function topologyText(r: BenchResults): string {
  return r.settings.topology === 'split'
    ? 'ours: API and worker in two processes'
    : 'ours: one process, APP_ROLE=all';
}

/** ` (api 3 + 4, worker 2 + 5)`: SQL statements + Redis commands per process, when known. */
function byProcess(c: Cost): string {
  const parts = Object.entries(c.byProcess ?? {}).map(
    ([role, x]) => `${role} ${x.sqlStatements} + ${x.redisCommands}`,
  );
  return parts.length > 1 ? ` (SQL + Redis: ${parts.join(', ')})` : '';
}

/** The CPU profiles by process (results written before the split hold one summary). */
function profiles(r: BenchResults): Partial<Record<AppProcess, ProfileSummary>> {
  const p = r.profile as unknown;
  if (!p) return {};
  if (typeof (p as ProfileSummary).busyMs === 'number') return { all: p as ProfileSummary };
  return p as Partial<Record<AppProcess, ProfileSummary>>;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A horizontal bar chart of events/s on a log scale, with latency, memory and targets below. */
export function renderSvg(r: BenchResults): string {
  const list = rows(r);
  const width = 860;
  const left = 290;
  const right = 90;
  const barH = 18;
  const gap = 8;
  const top = 56;
  const plotW = width - left - right;
  const values = list.map((x) => x.eventsPerSec).filter((v): v is number => v != null && v > 0);
  const lo = Math.floor(Math.log10(Math.min(10, ...values)));
  const hi = Math.ceil(Math.log10(Math.max(...values)));
  const x = (v: number) => left + ((Math.log10(v) - lo) / (hi - lo)) * plotW;
  const colours = {
    floor: '#9aa5b1',
    gitlab: '#e8833a',
    gitlabTransport: '#f3c29b',
    ours: '#2f6fdf',
    backlog: '#6a4fc8',
    missing: 'none',
  };
  const plotBottom = top + list.length * (barH + gap);
  const notes = [
    `latency at ${r.latency.rate} ev/s: record() to received ${ms(r.latency.recordToReceivedMs)}`,
    `record() streaming on ${ms(r.latency.recordStreamingOnMs)}; bare INSERT ${ms(r.latency.bareInsertMs)}`,
    `backlog ${r.backlog.events} events drained in ${r.backlog.drainSeconds.toFixed(1)} s; worker peak RSS ${r.memory.peakRssMb} MB` +
      (r.memory.api ? `, API peak RSS ${r.memory.api.peakRssMb} MB` : ''),
    ...targetLines(r),
  ];
  const height = plotBottom + 40 + notes.length * 18 + 10;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="16" y="24" font-size="15" font-weight="bold">Audit event streaming: events per second (log scale)</text>`,
    `<text x="16" y="42" fill="#555">${esc(`${r.mode} run ${r.when.slice(0, 16)}Z, ${r.machine.cpus} CPUs, PostgreSQL + Redis + loopback receiver; same-run floors; ${topologyText(r)}`)}</text>`,
  );
  for (let p = lo; p <= hi; p++) {
    const gx = x(10 ** p).toFixed(1);
    parts.push(
      `<line x1="${gx}" y1="${top - 4}" x2="${gx}" y2="${plotBottom}" stroke="#e3e3e3"/>`,
      `<text x="${gx}" y="${plotBottom + 14}" text-anchor="middle" fill="#777">${10 ** p}</text>`,
    );
  }
  list.forEach((row, i) => {
    const y = top + i * (barH + gap);
    parts.push(`<text x="${left - 8}" y="${y + 13}" text-anchor="end">${esc(row.label)}</text>`);
    if (row.eventsPerSec == null) {
      parts.push(
        `<rect x="${left}" y="${y}" width="${plotW}" height="${barH}" fill="none" stroke="#bbb" stroke-dasharray="4 3"/>`,
        `<text x="${left + 8}" y="${y + 13}" fill="#888" font-style="italic">${esc(row.note === 'not built' ? 'not built (batch mode is being built)' : row.note)}</text>`,
      );
      return;
    }
    const w = Math.max(1, x(row.eventsPerSec) - left);
    parts.push(
      `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${colours[row.kind]}"/>`,
      `<text x="${(left + w + 6).toFixed(1)}" y="${y + 13}">${fmt(row.eventsPerSec)}</text>`,
    );
  });
  notes.forEach((line, i) => {
    parts.push(`<text x="16" y="${plotBottom + 40 + i * 18}" fill="#333">${esc(line)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/**
 * RSS over the second half of the run: the raw spread of the samples (GC sawtooth included), and
 * the spread of the medians of ten equal time windows, which is what "flat within 10%" is judged
 * on (a leak moves the medians; a collection does not).
 */
export function rssTrend(samples: [number, number][]): RssTrend {
  const end = samples.length ? samples[samples.length - 1][0] : 0;
  const half = samples.filter(([t]) => t >= end / 2);
  const values = half.map(([, v]) => v);
  const minMb = Math.min(...values);
  const maxMb = Math.max(...values);
  const windowMediansMb: number[] = [];
  for (let w = 0; w < 10; w++) {
    const from = end / 2 + (w * end) / 20;
    const to = from + end / 20;
    const inWindow = half.filter(([t]) => t >= from && (t < to || w === 9)).map(([, v]) => v);
    if (inWindow.length) windowMediansMb.push(round(quantile(inWindow, 0.5)));
  }
  const lo = Math.min(...windowMediansMb);
  const hi = Math.max(...windowMediansMb);
  const medianSpreadPct = round((100 * (hi - lo)) / lo);
  return {
    minMb,
    maxMb,
    spreadPct: round((100 * (maxMb - minMb)) / minMb),
    windowMediansMb,
    medianSpreadPct,
    flat: medianSpreadPct <= 10,
  };
}

/** `node dist/bench/report.js [file]`: prints the table and re-renders the SVG from a results file. */
if (require.main === module) {
  const file = resolve(
    process.argv[2] ?? join(__dirname, '..', '..', 'bench', 'results', 'latest.json'),
  );
  const results = JSON.parse(readFileSync(file, 'utf8')) as BenchResults;
  writeFileSync(file.replace(/\.json$/, '.svg'), renderSvg(results));
  printTable(results);
}
