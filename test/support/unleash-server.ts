import { ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';

export interface UnleashTestServer {
  /** What unleash-client's `url` option takes, e.g. `http://127.0.0.1:<port>/api/`. */
  url: string;
  /** Client token for project `default`, environment `development`. */
  clientToken: string;
  /** Admin token the helpers below use. */
  adminToken: string;
  /** Creates the feature flag in project `default`. */
  createFlag(name: string): Promise<void>;
  /**
   * Turns the flag on in `development` for exactly these group ids (context field `groupId`).
   * Calling it again replaces the previous group list rather than adding to it.
   */
  enableForGroupIds(name: string, groupIds: string[]): Promise<void>;
  /** Turns the flag off in `development`; its strategy is kept for a later enable. */
  disable(name: string): Promise<void>;
  /** Stops the server and drops its database. Safe to call more than once. */
  stop(): Promise<void>;
}

type ChildMessage = { type: 'listening'; port: number };

const ENVIRONMENT = 'development';
const PROJECT = 'default';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
const CHILD_SCRIPT = join(__dirname, 'unleash-server-child.js');

// Same variable and default as ./databases.ts: one setting moves every test database.
const PG_ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** What the child needs: unleash takes connection fields, not a URL. */
export interface ChildConfig {
  db: { host: string; port: number; user: string; password: string; database: string };
  /** Where an orphaned child connects to drop `db.database`. */
  adminDatabase: string;
  adminToken: string;
  clientToken: string;
}

function childDb(database: string): ChildConfig['db'] {
  const url = new URL(PG_ADMIN_URL);
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database,
  };
}

async function onAdminDb(sql: string): Promise<void> {
  const client = new Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Keeps the tail of the child's output so a failed start can say why. */
function captureOutput(child: ChildProcess): () => string {
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => tail;
}

function waitForListening(child: ChildProcess, output: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (reason: string) => {
      cleanup();
      reject(new Error(`Unleash did not start: ${reason}\n${output()}`));
    };
    const onMessage = (msg: ChildMessage) => {
      if (msg?.type !== 'listening') return;
      cleanup();
      resolve(msg.port);
    };
    const onExit = (code: number | null, signal: string | null) =>
      fail(`child exited (code ${code}, signal ${signal})`);
    const timer = setTimeout(
      () => fail(`no answer within ${START_TIMEOUT_MS} ms`),
      START_TIMEOUT_MS,
    );
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      child.off('error', fail);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
    child.on('error', fail);
  });
}

async function waitForHealth(baseUrl: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      const res = await fetch(`${baseUrl}/health`);
      if (res.ok) return;
    } catch {
      // Not accepting connections yet.
    }
    if (Date.now() > deadline) throw new Error(`Unleash at ${baseUrl} never became healthy`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Boots unleash-server 6 in a child process against a fresh PostgreSQL database of its own,
 * with open-source auth and one admin and one client API token.
 */
export async function startUnleashServer(): Promise<UnleashTestServer> {
  const suffix = randomBytes(6).toString('hex');
  const database = `unleash_test_${suffix}`;
  const adminToken = `*:*.admin${suffix}`;
  const clientToken = `${PROJECT}:${ENVIRONMENT}.client${suffix}`;
  const childConfig: ChildConfig = {
    db: childDb(database),
    adminDatabase: new URL(PG_ADMIN_URL).pathname.slice(1) || 'postgres',
    adminToken,
    clientToken,
  };
  await onAdminDb(`CREATE DATABASE "${database}"`);

  const child = fork(CHILD_SCRIPT, [JSON.stringify(childConfig)], {
    // A clean env: unleash reads many variables (DATABASE_URL, BASE_URI_PATH, INIT_*_API_TOKENS)
    // that a test run may set for the app under test.
    env: { PATH: process.env.PATH, TZ: 'UTC' },
    // Not jest's flags; silence pg's deprecation notice about unleash's own query pattern.
    execArgv: ['--no-deprecation'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const output = captureOutput(child);

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      // With a callback, a send to a child that just died reports here instead of throwing.
      if (child.connected) child.send({ type: 'stop' }, () => undefined);
      await waitForExit(child);
      await onAdminDb(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    })());

  let baseUrl = '';
  // Paths are under /api/admin; the admin token may do anything.
  const admin = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${baseUrl}/api/admin${path}`, {
      method,
      headers: { Authorization: adminToken, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`Unleash ${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  const envPath = (name: string) =>
    `/projects/${PROJECT}/features/${encodeURIComponent(name)}/environments/${ENVIRONMENT}`;

  try {
    const port = await waitForListening(child, output);
    baseUrl = `http://127.0.0.1:${port}`;
    await waitForHealth(baseUrl);
    // Unleash 6 rejects a constraint on a context field it does not know (404 on the strategy).
    await admin('POST', '/context', { name: 'groupId', description: 'Top-level group id' });
  } catch (err) {
    child.kill('SIGKILL');
    await stop();
    throw err;
  }

  // One strategy per flag, updated in place, so each enable sets the group list outright.
  const strategyIds = new Map<string, string>();

  return {
    url: `${baseUrl}/api/`,
    clientToken,
    adminToken,
    async createFlag(name) {
      await admin('POST', `/projects/${PROJECT}/features`, { name, type: 'release' });
    },
    async enableForGroupIds(name, groupIds) {
      const strategy = {
        name: 'flexibleRollout',
        parameters: { rollout: '100', stickiness: 'default', groupId: name },
        constraints: [{ contextName: 'groupId', operator: 'IN', values: groupIds }],
      };
      const id = strategyIds.get(name);
      if (id) {
        await admin('PUT', `${envPath(name)}/strategies/${id}`, strategy);
      } else {
        const created = (await admin('POST', `${envPath(name)}/strategies`, strategy)) as {
          id: string;
        };
        strategyIds.set(name, created.id);
      }
      await admin('POST', `${envPath(name)}/on`);
    },
    async disable(name) {
      await admin('POST', `${envPath(name)}/off`);
    },
    stop,
  };
}
