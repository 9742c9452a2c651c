/**
 * The receiver (a SIEM stand-in), run in its own process on loopback: answers 200 at once, counts
 * requests and distinct (path, event id) pairs, optionally records each event's record-to-received
 * latency (from the body's `created_at`), and can be told over IPC to go down and come back up
 * on the same port.
 */
import { createServer, Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { nowMs, serve, summarize } from './common';

let server: Server | null = null;
const sockets = new Set<Socket>();
let port = 0;
let total = 0;
let seen = new Set<string>();
let trackLatency = false;
/** When the first distinct event since the last reset arrived. */
let firstAt = 0;
let latencies: number[] = [];
let waiter: { target: number; resolve: (v: object) => void; timer: NodeJS.Timeout } | null = null;

const ID = /"id":"?(\d+)/;
const CREATED = /"created_at":"([^"]+)"/;

function onBody(path: string, body: string): void {
  total++;
  const id = ID.exec(body)?.[1] ?? `?${total}`;
  const key = `${path}|${id}`;
  if (seen.has(key)) return;
  seen.add(key);
  if (seen.size === 1) firstAt = nowMs();
  if (trackLatency) {
    const created = CREATED.exec(body)?.[1];
    if (created) latencies.push(Date.now() - Date.parse(created));
  }
  if (waiter && seen.size >= waiter.target) {
    const w = waiter;
    waiter = null;
    clearTimeout(w.timer);
    w.resolve({ reached: true, at: nowMs(), firstAt, unique: seen.size, total });
  }
}

function start(): Promise<void> {
  server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '2' });
      res.end('ok');
      onBody(req.url ?? '/', Buffer.concat(chunks).toString('utf8'));
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
    seen = new Set();
    latencies = [];
    firstAt = 0;
    trackLatency = !!m.trackLatency;
    return {};
  },
  stats: () => ({ unique: seen.size, total, latency: summarize(latencies) }),
  /** Answers once `target` distinct (path, id) pairs have arrived, or after `timeoutMs`. */
  await: (m) =>
    new Promise((resolve) => {
      const target = Number(m.target);
      if (seen.size >= target)
        return resolve({ reached: true, at: nowMs(), firstAt, unique: seen.size });
      const timer = setTimeout(() => {
        waiter = null;
        resolve({ reached: false, at: nowMs(), unique: seen.size, total });
      }, Number(m.timeoutMs));
      waiter = { target, resolve, timer };
    }),
  exit: () => {
    setImmediate(() => process.exit(0));
    return {};
  },
});
process.on('disconnect', () => process.exit(0));
