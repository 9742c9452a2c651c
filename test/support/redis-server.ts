import { spawn } from 'node:child_process';
import Redis from 'ioredis';
import { Child, freePort } from './child-host';

/**
 * A private redis-server child on a free loopback port, without persistence: the suites that
 * pause, flush, kill or otherwise abuse Redis do it here, never on the shared Redis.
 */
export class RedisServer {
  /** An administrative connection (FLUSHALL, CLIENT PAUSE, inspection); it reconnects by itself. */
  readonly admin: Redis;

  private constructor(
    readonly port: number,
    private child: Child,
  ) {
    this.admin = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
    this.admin.on('error', () => undefined); // while the server is down on purpose
  }

  static async start(): Promise<RedisServer> {
    const port = await freePort();
    const server = new RedisServer(port, await RedisServer.spawn(port));
    await server.admin.connect();
    return server;
  }

  private static async spawn(port: number): Promise<Child> {
    const proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const child = new Child(`redis-server:${port}`, proc);
    await child.waitForOutput('Ready to accept connections', 15000);
    return child;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Dies at once (SIGKILL), with everything it held: nothing is persisted. */
  async kill(): Promise<void> {
    await this.child.kill();
  }

  /** A new, empty server on the same port (after `kill`). */
  async restart(): Promise<void> {
    if (this.child.alive) await this.child.kill();
    this.child = await RedisServer.spawn(this.port);
  }

  /** How many connections other than the administrative one. */
  async otherClients(): Promise<number> {
    const list = (await this.admin.client('LIST')) as string;
    return list.split('\n').filter((l) => l.trim()).length - 1;
  }

  async stop(): Promise<void> {
    this.admin.disconnect();
    await this.child.stop(5000);
  }
}
