/** The bench's output: the table on stdout, and a hand-written SVG chart (deterministic layout). */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LatencySummary, quantile, round } from './common';
import type { Throughput } from './floors';
import type { ProfileSummary } from './profile';

export interface BenchResults {
  when: string;
  mode: 'quick' | 'full';
  machine: { cpus: number; cpuModel: string; loadavgAtStart: number[]; node: string };
  settings: Record<string, number>;
  floors: { bullJob: Throughput; keepAlivePost: Throughput; insert: Throughput };
  gitlabStyle: { dest1: Throughput; dest5: Throughput };
  ours: {
    perEvent: { dest1: Throughput & { recordSeconds: number }; dest5: Throughput };
    /** Batch mode is being built; its slot stays empty until it is measured. */
    batch: { status: 'not built'; dest1: null; dest5: null };
  };
  backlog: {
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
  memory: {
    peakRssMb: number;
    secondHalf: {
      /** Raw samples, GC sawtooth included. */
      minMb: number;
      maxMb: number;
      spreadPct: number;
      /** Medians of ten equal time windows; `flat` is judged on their spread. */
      windowMediansMb: number[];
      medianSpreadPct: number;
      flat: boolean;
    };
    samples: [number, number][];
  };
  perEventCost: {
    sqlStatements: number;
    redisCommands: number;
    sql: Record<string, number>;
    redis: Record<string, number>;
  } | null;
  profile: ProfileSummary | null;
  ratios: {
    oursVsGitlab: number;
    oursVsSmallerFloor: number;
    recordP99VsInsertP99: number;
    rssFlat: boolean;
  };
}

interface Row {
  label: string;
  kind: 'floor' | 'gitlab' | 'ours' | 'missing' | 'backlog';
  eventsPerSec: number | null;
  note: string;
}

function rows(r: BenchResults): Row[] {
  const t = (x: Throughput) => x.eventsPerSec;
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
      note: 'job + axios POST',
    },
    {
      label: 'GitLab-style, 5 destinations',
      kind: 'gitlab',
      eventsPerSec: t(r.gitlabStyle.dest5),
      note: '5 POSTs per job',
    },
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
    { label: 'ours, batch, 1 destination', kind: 'missing', eventsPerSec: null, note: 'not built' },
    {
      label: 'ours, batch, 5 destinations',
      kind: 'missing',
      eventsPerSec: null,
      note: 'not built',
    },
    {
      label: 'ours, backlog drain, 1 destination',
      kind: 'backlog',
      eventsPerSec: r.backlog.drainEventsPerSec,
      note: `${r.backlog.events} events after outage`,
    },
  ];
}

const fmt = (n: number | null) =>
  n == null ? 'not built' : n >= 100 ? Math.round(n).toString() : n.toFixed(1);
const ms = (l: LatencySummary) => `p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms`;
const mark = (ok: boolean) => (ok ? 'MET' : 'NOT MET');

export function targetLines(r: BenchResults): string[] {
  const q = r.ratios;
  const m = r.memory.secondHalf;
  return [
    `ours 1 dest / GitLab-style 1 dest = ${q.oursVsGitlab}x (target >= 3x): ${mark(q.oursVsGitlab >= 3)}`,
    `ours 1 dest / min(INSERT, POST floor) = ${q.oursVsSmallerFloor}x (target >= 0.5x): ${mark(q.oursVsSmallerFloor >= 0.5)}`,
    `record() p99 streaming on / bare INSERT p99 = ${q.recordP99VsInsertP99}x (target <= 1.5x): ${mark(q.recordP99VsInsertP99 <= 1.5)}`,
    `worker RSS flat within 10% over the second half: window medians ${Math.min(...m.windowMediansMb)}-${Math.max(...m.windowMediansMb)} MB (${m.medianSpreadPct}%; raw samples ${m.minMb}-${m.maxMb} MB): ${mark(q.rssFlat)}`,
  ];
}

export function printTable(r: BenchResults): void {
  const list = rows(r);
  const w = Math.max(...list.map((x) => x.label.length));
  const out: string[] = [];
  out.push(
    `\nAudit event streaming bench (${r.mode} run, ${r.when}, ${r.machine.cpus} CPUs, load ${r.machine.loadavgAtStart.join(' ')})\n`,
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
  out.push(`worker (APP_ROLE=all) peak RSS ${r.memory.peakRssMb} MB`);
  if (r.perEventCost)
    out.push(
      `per event (1 dest): ${r.perEventCost.sqlStatements} SQL statements, ${r.perEventCost.redisCommands} Redis commands`,
    );
  out.push('');
  out.push('targets:');
  for (const t of targetLines(r)) out.push(`  ${t}`);
  console.log(out.join('\n'));
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
    ours: '#2f6fdf',
    backlog: '#6a4fc8',
    missing: 'none',
  };
  const plotBottom = top + list.length * (barH + gap);
  const notes = [
    `latency at ${r.latency.rate} ev/s: record() to received ${ms(r.latency.recordToReceivedMs)}`,
    `record() streaming on ${ms(r.latency.recordStreamingOnMs)}; bare INSERT ${ms(r.latency.bareInsertMs)}`,
    `backlog ${r.backlog.events} events drained in ${r.backlog.drainSeconds.toFixed(1)} s; worker peak RSS ${r.memory.peakRssMb} MB`,
    ...targetLines(r),
  ];
  const height = plotBottom + 40 + notes.length * 18 + 10;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="16" y="24" font-size="15" font-weight="bold">Audit event streaming: events per second (log scale)</text>`,
    `<text x="16" y="42" fill="#555">${esc(`${r.mode} run ${r.when.slice(0, 16)}Z, ${r.machine.cpus} CPUs, PostgreSQL + Redis + loopback receiver; same-run floors`)}</text>`,
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
        `<text x="${left + 8}" y="${y + 13}" fill="#888" font-style="italic">not built (batch mode is being built)</text>`,
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
export function rssTrend(samples: [number, number][]): BenchResults['memory']['secondHalf'] {
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
