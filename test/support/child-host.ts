import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import request from 'supertest';
import type { TestApp } from './app';

export const ROOT = join(__dirname, '..', '..');
export const MAIN = join(ROOT, 'src', 'main.ts');

/** Children still running when the test process exits are killed with it, never left behind. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A free TCP port on loopback (the child binds it a moment later). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Spawns a child, keeps the tail of its output, and reports how it ended. */
export class Child {
  private tail = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    running.add(proc);
    const keep = (chunk: Buffer) => {
      this.tail = (this.tail + chunk.toString('utf8')).slice(-20000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    this.exited = new Promise((resolve) =>
      proc.once('exit', (code, signal) => {
        running.delete(proc);
        resolve({ code, signal });
      }),
    );
  }

  /** The last 20 kB of its stdout and stderr. */
  get output(): string {
    return this.tail;
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Resolves when `line` shows in the output; rejects if the child exits first or time runs out. */
  async waitForOutput(line: string | RegExp, timeoutMs = 60000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const seen = () => (typeof line === 'string' ? this.tail.includes(line) : line.test(this.tail));
    while (!seen()) {
      if (!this.alive)
        throw new Error(`${this.name} exited before printing ${line}:\n${this.output}`);
      if (Date.now() > deadline)
        throw new Error(`${this.name} did not print ${line} in time:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGKILL: the process dies at once, whatever it was doing. */
  async kill(): Promise<void> {
    if (this.alive) this.proc.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM and wait for a clean exit; SIGKILL when it takes longer than `graceMs`. */
  async stop(graceMs = 15000): Promise<void> {
    if (!this.alive) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface ChildHostOptions {
  role: 'api' | 'worker' | 'all';
  databaseUrl: string;
  redisUrl: string;
  bullPrefix: string;
  adminToken: string;
  /** More environment, as an operator would set it (DESIGN.md §7), e.g. `streamingEnv()`. */
  env?: Record<string, string>;
  name?: string;
}

/**
 * The reference host as a real child process, started as `npm start` would start it (`src/main.ts`,
 * compiled on the fly by ts-node, so it runs the checkout's current source without a build).
 * `api` and `all` listen on a free loopback port; `worker` serves no HTTP.
 */
export class ChildHost extends Child {
  private constructor(
    name: string,
    proc: ChildProcess,
    readonly options: ChildHostOptions,
    /** `http://127.0.0.1:<port>`; empty for a worker. */
    readonly url: string,
  ) {
    super(name, proc);
  }

  static async start(options: ChildHostOptions): Promise<ChildHost> {
    const port = options.role === 'worker' ? 0 : await freePort();
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      NO_COLOR: '1',
      PORT: String(port),
      APP_ROLE: options.role,
      DATABASE_URL: options.databaseUrl,
      REDIS_URL: options.redisUrl,
      BULL_PREFIX: options.bullPrefix,
      ADMIN_TOKEN: options.adminToken,
      ...options.env,
    };
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', MAIN], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const host = new ChildHost(
      options.name ?? `host(${options.role})`,
      child,
      options,
      port ? `http://127.0.0.1:${port}` : '',
    );
    try {
      await host.waitForOutput(options.role === 'worker' ? 'Worker started' : 'Reference host on');
    } catch (err) {
      await host.kill();
      throw err;
    }
    return host;
  }

  http(): ReturnType<typeof request> {
    if (!this.url) throw new Error(`${this.name} serves no HTTP`);
    return request(this.url);
  }

  graphql(
    query: string,
    variables: Record<string, unknown> = {},
    token: string | null = this.options.adminToken,
  ): Promise<request.Response> {
    const req = this.http().post('/api/graphql').set('Content-Type', 'application/json');
    if (token) req.set('PRIVATE-TOKEN', token);
    return req.send({ query, variables });
  }

  get adminToken(): string {
    return this.options.adminToken;
  }

  /**
   * For the REST and GraphQL helpers written against the in-process host (`Rest`,
   * `createDestination`): they use only `http()`, `graphql()` and `adminToken`, which a child
   * host has too.
   */
  asClient(): TestApp {
    return this as unknown as TestApp;
  }
}
