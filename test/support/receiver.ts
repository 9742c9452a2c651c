import { createServer, IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The headers as sent, names and values alternating (shows repeated headers). */
  rawHeaders: string[];
  body: string;
  json: any;
  at: number;
}

/** What the receiver does with the next request: a status, hang until the client gives up, or drop. */
export type Behaviour =
  number | { status: number; headers?: Record<string, string>; body?: string } | 'hang' | 'drop';

/**
 * A real HTTP receiver on loopback (a SIEM stand-in). It answers 200 unless told otherwise,
 * records every request, and can be stopped and started on the same port.
 */
export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  private readonly script: Behaviour[] = [];
  private readonly rules: { match: (r: ReceivedRequest) => boolean; script: Behaviour[] }[] = [];
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;
  /** What to answer once the script is used up. */
  fallback: Behaviour = 200;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Queue behaviours for the next requests, in order. */
  respond(...behaviours: Behaviour[]): this {
    this.script.push(...behaviours);
    return this;
  }

  /**
   * Queue behaviours for the next requests that `match` (e.g. one audit event), in order; they
   * take precedence over `respond`. Other requests are answered as usual.
   */
  respondFor(match: (r: ReceivedRequest) => boolean, ...behaviours: Behaviour[]): this {
    this.rules.push({ match, script: [...behaviours] });
    return this;
  }

  async start(port = this.port): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () =>
        this.handle(
          req.method!,
          req.url!,
          req.headers,
          req.rawHeaders,
          Buffer.concat(chunks).toString('utf8'),
          res,
        ),
      );
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = null;
  }

  /** Requests whose JSON body has this audit event id. */
  forEvent(id: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.json?.id === id);
  }

  private handle(
    method: string,
    path: string,
    headers: IncomingHttpHeaders,
    rawHeaders: string[],
    body: string,
    res: ServerResponse,
  ) {
    let json: any = null;
    try {
      json = JSON.parse(body);
    } catch {
      json = null;
    }
    const received = { method, path, headers, rawHeaders, body, json, at: Date.now() };
    this.requests.push(received);
    const rule = this.rules.find((r) => r.script.length && r.match(received));
    const behaviour = rule
      ? rule.script.shift()!
      : this.script.length
        ? this.script.shift()!
        : this.fallback;
    if (behaviour === 'hang') return; // the client times out
    if (behaviour === 'drop') {
      res.socket?.destroy();
      return;
    }
    const spec = typeof behaviour === 'number' ? { status: behaviour } : behaviour;
    res.writeHead(spec.status, { 'Content-Type': 'text/plain', ...(spec.headers ?? {}) });
    res.end(spec.body ?? 'ok');
  }
}

/** Polls until `check` returns a truthy value (bounded), for asynchronous delivery. */
export async function eventually<T>(
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = 20000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`Timed out waiting for ${what}${last ? `: ${last}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * For a suite that starts receivers as it goes: a function that starts one, and an `afterAll`
 * that stops every one it started.
 */
export function receiversForSuite(): () => Promise<Receiver> {
  const started: Receiver[] = [];
  afterAll(async () => {
    for (const r of started) await r.stop();
  });
  return async () => {
    const r = await new Receiver().start();
    started.push(r);
    return r;
  };
}
