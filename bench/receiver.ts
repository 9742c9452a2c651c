/**
 * The receiver (a SIEM stand-in), run in its own process on loopback: answers 200 at once, counts
 * requests, events and distinct (path, event id) pairs, optionally records each event's
 * record-to-received latency (from the event's `created_at`), and can be told over IPC to go down
 * and come back up on the same port.
 *
 * A request carries one GitLab event (per-event mode, GitLab's format) or a batch: NDJSON (one
 * event per line, `application/x-ndjson`) or Splunk HEC (concatenated `{"time":..,"event":{..}}`
 * objects). Batches are parsed and checked: trailing newline (NDJSON), `time` against the event's
 * `created_at` (HEC), `X-Gitlab-Audit-Event-Count` against the events found, and, for paths
 * registered with `expect`, the content type, the verification token and the Standard Webhooks
 * signature over the whole body. Per-event bodies keep the old cheap path (a regex for the id).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { nowMs, serve, summarize } from './common';
import type { ReceiverBatchStats } from './report';

type BatchFormat = 'NDJSON' | 'SPLUNK_HEC';

/** What a registered path must carry (batch destinations created by the bench). */
interface Expectation {
  format?: BatchFormat;
  token?: string;
  /** Standard Webhooks secrets (`whsec_` + base64); any one may have signed. */
  secrets?: string[];
  /** The destination's batch limits: a batch over them, or partial and sent early, is a problem. */
  maxEvents?: number;
  maxBytes?: number;
  maxWaitMs?: number;
}

/** Checks on batch requests since the last reset (the shape the report reads). */
type BatchStats = ReceiverBatchStats;

let server: Server | null = null;
const sockets = new Set<Socket>();
let port = 0;
/** Requests since the last reset (single events and batches). */
let total = 0;
/** Events since the last reset, repeats included. */
let events = 0;
/** Distinct (path, id) pairs, with when each first arrived (ms since the reset). */
let seen = new Map<string, number>();
let resetAt = nowMs();
/** When set, only requests to paths starting with it are counted; others are `stray`. */
let only = '';
let stray = 0;
let trackLatency = false;
/** When the first distinct event since the last reset arrived. */
let firstAt = 0;
let latencies: number[] = [];
let batch: BatchStats = emptyBatchStats();
const expectations = new Map<string, Expectation>();
let waiter: { target: number; resolve: (v: object) => void; timer: NodeJS.Timeout } | null = null;

const ID = /"id":"?(\d+)/;
const CREATED = /"created_at":"([^"]+)"/;

function emptyBatchStats(): BatchStats {
  return {
    requests: 0,
    events: 0,
    maxEvents: 0,
    maxBytes: 0,
    sizes: {},
    byContentType: {},
    problems: {},
    examples: [],
    timeline: [],
    repeatedIds: [],
  };
}

function problem(kind: string, detail: string): void {
  batch.problems[kind] = (batch.problems[kind] ?? 0) + 1;
  if (batch.examples.length < 10) batch.examples.push(`${kind}: ${detail.slice(0, 300)}`);
}

function sizeBucket(n: number): string {
  return n <= 1 ? '1' : n < 10 ? '2-9' : n < 100 ? '10-99' : n < 500 ? '100-499' : '500+';
}

/** One event arrived at `path` (id as sent; created_at when latency is tracked). */
function onEvent(path: string, id: string, created: string | undefined): void {
  events++;
  const key = `${path}|${id}`;
  if (seen.has(key)) return;
  seen.set(key, Math.round(nowMs() - resetAt));
  if (seen.size === 1) firstAt = nowMs();
  if (trackLatency && created) latencies.push(Date.now() - Date.parse(created));
}

function checkWaiter(): void {
  if (waiter && seen.size >= waiter.target) {
    const w = waiter;
    waiter = null;
    clearTimeout(w.timer);
    w.resolve({ reached: true, at: nowMs(), firstAt, unique: seen.size, total });
  }
}

/** Splits concatenated top-level JSON objects (`{..}{..}`, whitespace between allowed). */
function splitConcatenated(body: string): string[] | null {
  const out: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 /* { */) {
      if (depth++ === 0) start = i;
    } else if (c === 125 /* } */) {
      if (--depth === 0) out.push(body.slice(start, i + 1));
      if (depth < 0) return null;
    } else if (depth === 0 && !(c === 32 || c === 10 || c === 13 || c === 9)) return null;
  }
  return depth === 0 && !inString ? out : null;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function verifySignature(headers: IncomingHttpHeaders, body: string, secrets: string[]): string {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signature = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signature) return 'missing webhook-* headers';
  const given = signature.split(' ').map((s) => s.replace(/^v1,/, ''));
  for (const secret of secrets) {
    const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
    const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
    for (const g of given) {
      const buf = Buffer.from(g, 'base64');
      if (buf.length === expected.length && timingSafeEqual(buf, expected)) return '';
    }
  }
  return 'signature does not match the body';
}

/** A batch request: parses every event, checks the framing and headers, counts. */
function onBatch(
  path: string,
  headers: IncomingHttpHeaders,
  body: string,
  format: BatchFormat,
): void {
  const expect = expectations.get(path);
  const contentType = header(headers, 'content-type') ?? '(none)';
  batch.requests++;
  batch.byContentType[contentType] = (batch.byContentType[contentType] ?? 0) + 1;
  batch.maxBytes = Math.max(batch.maxBytes, Buffer.byteLength(body));
  const wantType = format === 'NDJSON' ? 'application/x-ndjson' : 'application/json';
  if (!contentType.toLowerCase().startsWith(wantType))
    problem('content type', `${path}: ${contentType}, expected ${wantType}`);
  if (expect?.format && expect.format !== format)
    problem('format', `${path}: got ${format}, destination created as ${expect.format}`);
  if (expect?.token && header(headers, 'x-gitlab-event-streaming-token') !== expect.token)
    problem('token', `${path}: X-Gitlab-Event-Streaming-Token missing or wrong`);
  if (expect?.secrets) {
    const bad = verifySignature(headers, body, expect.secrets);
    if (bad) problem('signature', `${path}: ${bad}`);
  }

  const parsed: { id: string; created?: string }[] = [];
  if (format === 'NDJSON') {
    if (!body.endsWith('\n')) problem('ndjson trailing newline', `${path}: body ends without \\n`);
    for (const line of body.split('\n')) {
      if (line === '') continue;
      try {
        const e = JSON.parse(line);
        if (e?.id == null) problem('event without id', `${path}: ${line}`);
        else parsed.push({ id: String(e.id), created: e.created_at });
      } catch {
        problem('malformed', `${path}: NDJSON line ${line}`);
      }
    }
    if (/\n\n/.test(body)) problem('ndjson blank line', `${path}: empty line in the body`);
  } else {
    const pieces = splitConcatenated(body);
    if (!pieces) problem('malformed', `${path}: not concatenated JSON objects: ${body}`);
    for (const piece of pieces ?? []) {
      try {
        const o = JSON.parse(piece);
        const e = o?.event;
        if (!e || typeof e !== 'object' || e.id == null) {
          problem('hec without event', `${path}: ${piece}`);
          continue;
        }
        if (typeof o.time !== 'number') problem('hec time', `${path}: time is ${typeof o.time}`);
        else if (e.created_at && Math.abs(o.time - Date.parse(e.created_at) / 1000) >= 1)
          problem('hec time', `${path}: time ${o.time} vs created_at ${e.created_at}`);
        parsed.push({ id: String(e.id), created: e.created_at });
      } catch {
        problem('malformed', `${path}: HEC object ${piece}`);
      }
    }
  }
  const count = header(headers, 'x-gitlab-audit-event-count');
  if (count === undefined) problem('event count header', `${path}: missing`);
  else if (Number(count) !== parsed.length)
    problem('event count header', `${path}: header ${count}, body ${parsed.length} events`);
  const ids = new Set(parsed.map((p) => p.id));
  if (ids.size !== parsed.length)
    problem('repeat within a batch', `${path}: ${parsed.length - ids.size} repeated ids`);
  let repeats = 0;
  for (const p of parsed) {
    if (seen.has(`${path}|${p.id}`)) {
      repeats++;
      if (batch.repeatedIds.length < 20)
        batch.repeatedIds.push({
          id: p.id,
          firstMs: seen.get(`${path}|${p.id}`)!,
          againMs: Math.round(nowMs() - resetAt),
        });
      problem('repeat across batches', `${path}: event ${p.id}`);
    }
    onEvent(path, p.id, p.created);
  }
  const oldest = Math.min(...parsed.map((p) => (p.created ? Date.parse(p.created) : Infinity)));
  const age = Number.isFinite(oldest) ? Date.now() - oldest : NaN;
  if (batch.timeline.length < 200)
    batch.timeline.push([
      Math.round(nowMs() - resetAt),
      parsed.length,
      repeats,
      parsed[0]?.id ?? '',
      age,
    ]);
  if (expect?.maxEvents && parsed.length > expect.maxEvents)
    problem('over batchMaxEvents', `${path}: ${parsed.length} events`);
  if (expect?.maxBytes && Buffer.byteLength(body) > expect.maxBytes)
    problem('over batchMaxBytes', `${path}: ${Buffer.byteLength(body)} bytes`);
  // Partial (not full by count, and far from full by size) yet its oldest event had not waited
  // batchMaxWaitMs, less 20 ms of clock slack: sent before either limit was reached.
  if (
    expect?.maxEvents &&
    expect.maxWaitMs !== undefined &&
    parsed.length < expect.maxEvents &&
    (!expect.maxBytes || Buffer.byteLength(body) < expect.maxBytes * 0.9) &&
    age < expect.maxWaitMs - 20
  )
    problem(
      'partial batch sent early',
      `${path}: ${parsed.length} events, oldest ${age} ms old (batchMaxWaitMs ${expect.maxWaitMs})`,
    );
  batch.events += parsed.length;
  batch.maxEvents = Math.max(batch.maxEvents, parsed.length);
  const bucket = sizeBucket(parsed.length);
  batch.sizes[bucket] = (batch.sizes[bucket] ?? 0) + 1;
}

function onRequest(path: string, headers: IncomingHttpHeaders, body: string): void {
  if (only && !path.startsWith(only)) {
    stray++;
    return;
  }
  total++;
  const contentType = (header(headers, 'content-type') ?? '').toLowerCase();
  const expected = expectations.get(path)?.format;
  const format: BatchFormat | null = contentType.includes('ndjson')
    ? 'NDJSON'
    : expected === 'SPLUNK_HEC' || body.startsWith('{"time"')
      ? 'SPLUNK_HEC'
      : expected === 'NDJSON' || headers['x-gitlab-audit-event-count'] !== undefined
        ? 'NDJSON'
        : null;
  if (format) onBatch(path, headers, body, format);
  else
    onEvent(path, ID.exec(body)?.[1] ?? `?${total}`, trackLatency ? CREATED.exec(body)?.[1] : '');
  checkWaiter();
}

function start(): Promise<void> {
  server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '2' });
      res.end('ok');
      onRequest(req.url ?? '/', req.headers, Buffer.concat(chunks).toString('utf8'));
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', () => resolve())).then(
    () => {
      port = (server!.address() as AddressInfo).port;
    },
  );
}

function stop(): Promise<void> {
  if (!server) return Promise.resolve();
  const s = server;
  server = null;
  for (const socket of sockets) socket.destroy();
  return new Promise((resolve) => s.close(() => resolve()));
}

serve({
  start: async () => {
    await start();
    return { port };
  },
  down: async () => {
    await stop();
    return {};
  },
  up: async () => {
    await start();
    return { port };
  },
  reset: (m) => {
    total = 0;
    events = 0;
    seen = new Map();
    resetAt = nowMs();
    latencies = [];
    firstAt = 0;
    batch = emptyBatchStats();
    trackLatency = !!m.trackLatency;
    only = typeof m.only === 'string' ? m.only : '';
    stray = 0;
    return {};
  },
  /** Registers what requests to `path` must carry (a batch destination's format, token, secret). */
  expect: (m) => {
    expectations.set(String(m.path), {
      format: m.format as BatchFormat | undefined,
      token: m.token as string | undefined,
      secrets: m.secrets as string[] | undefined,
      maxEvents: m.maxEvents as number | undefined,
      maxBytes: m.maxBytes as number | undefined,
      maxWaitMs: m.maxWaitMs as number | undefined,
    });
    return {};
  },
  stats: () => ({
    unique: seen.size,
    total,
    events,
    stray,
    latency: summarize(latencies),
    batch,
  }),
  /** Answers once `target` distinct (path, id) pairs have arrived, or after `timeoutMs`. */
  await: (m) =>
    new Promise((resolve) => {
      const target = Number(m.target);
      // A waiter left over from a phase that failed answers now, and cannot clear this one.
      if (waiter) {
        const old = waiter;
        waiter = null;
        clearTimeout(old.timer);
        old.resolve({ reached: false, at: nowMs(), unique: seen.size, total, superseded: true });
      }
      if (seen.size >= target)
        return resolve({ reached: true, at: nowMs(), firstAt, unique: seen.size, total });
      const w = {
        target,
        resolve,
        timer: setTimeout(() => {
          if (waiter === w) waiter = null;
          resolve({ reached: false, at: nowMs(), unique: seen.size, total });
        }, Number(m.timeoutMs)),
      };
      waiter = w;
    }),
  exit: () => {
    setImmediate(() => process.exit(0));
    return {};
  },
});
process.on('disconnect', () => process.exit(0));
