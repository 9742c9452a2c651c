import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Child, ChildHost, freePort, MAIN, ROOT } from './support/child-host';
import { createTestDatabase, TestDatabase } from './support/databases';

/** The reference host as `npm start` runs it, with this environment only. */
function startHost(env: Record<string, string>): Child {
  const proc = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', MAIN], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Child('host', proc);
}

/** What an operator sees when the host stops at start: exit code and the lines it printed. */
async function failedStart(env: Record<string, string>) {
  const child = startHost(env);
  const { code } = await child.exited;
  return { code, lines: child.output.split('\n').filter((line) => line.trim() !== '') };
}

describe('the host process: start-up checks, roles and shutdown', () => {
  let db: TestDatabase;
  const adminToken = `glpat-${randomBytes(10).toString('hex')}`;

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('stops at once with one line naming the Redis URL and how to start Redis', async () => {
    const port = await freePort(); // nothing listens there
    const { code, lines } = await failedStart({
      DATABASE_URL: db.url,
      REDIS_URL: `redis://127.0.0.1:${port}`,
    });
    expect(code).toBe(1);
    expect(lines).toEqual([
      expect.stringContaining(`Cannot reach Redis at redis://127.0.0.1:${port}`),
    ]);
    expect(lines[0]).toContain('redis-server');
  });

  it('stops at once with one line naming the PostgreSQL URL (password masked)', async () => {
    const port = await freePort();
    const { code, lines } = await failedStart({
      DATABASE_URL: `postgres://audit:s3cret@127.0.0.1:${port}/gitlab`,
    });
    expect(code).toBe(1);
    expect(lines).toEqual([
      expect.stringContaining(
        `Cannot reach PostgreSQL at postgres://audit:***@127.0.0.1:${port}/gitlab`,
      ),
    ]);
    expect(lines[0]).not.toContain('s3cret');
    expect(lines[0]).toContain('pg_ctlcluster');
  });

  it('refuses a bad setting with one line naming the variable', async () => {
    const { code, lines } = await failedStart({ DATABASE_URL: db.url, APP_ROLE: 'everything' });
    expect(code).toBe(1);
    expect(lines).toEqual([
      'Configuration error: APP_ROLE must be api, worker or all, got "everything"',
    ]);
  });

  it('APP_ROLE=worker serves no HTTP; APP_ROLE=api serves it; both stop cleanly on SIGTERM', async () => {
    const common = {
      databaseUrl: db.url,
      redisUrl: 'redis://127.0.0.1:6379',
      bullPrefix: `test-lifecycle-${randomBytes(4).toString('hex')}`,
      adminToken,
    };
    const api = await ChildHost.start({ ...common, role: 'api' });
    const worker = await ChildHost.start({ ...common, role: 'worker' });
    try {
      const me = await api.http().get('/api/v4/user').set('PRIVATE-TOKEN', adminToken);
      expect(me.status).toBe(200);
      expect(me.body.username).toBe('root');
      expect(worker.url).toBe('');
      expect(worker.output).toContain('Worker started (APP_ROLE=worker)');
    } finally {
      await api.stop();
      await worker.stop();
    }
    expect(await api.exited).toEqual({ code: 0, signal: null });
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(api.output).toContain('Stopped cleanly');
    expect(worker.output).toContain('Stopped cleanly');
    expect(api.output).not.toMatch(/\n\s+at /); // no stack trace on the way out
  });
});
