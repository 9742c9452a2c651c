// @ts-check
// Runs a real unleash-server in its own process so jest workers never host it. Started by
// unleash-server.ts with an IPC channel; reports { type: 'listening', port } once the HTTP server
// is up and stops on { type: 'stop' }. Plain JS so node starts it without a TS loader.
'use strict';

/** @type {import('./unleash-server').ChildConfig} */
const config = JSON.parse(process.argv[2]);

// Set before unleash reads its config: `telemetry: false` is ignored by createConfig (`||` with
// the env default), so the env vars are the only reliable off switch.
process.env.SEND_TELEMETRY = 'false';
process.env.CHECK_VERSION = 'false';

/* eslint-disable @typescript-eslint/no-require-imports -- plain CommonJS script */
const { start, IAuthType } = require('unleash-server');
// Not re-exported from the package root; the version is pinned, so the deep path is stable.
const { ApiTokenType } = require('unleash-server/dist/lib/types/models/api-token');

const quiet = () => ({
  debug() {},
  info() {},
  warn() {},
  error: console.error,
  fatal: console.error,
});

/** @type {{ stop: () => Promise<void>; server?: import('http').Server } | undefined} */
let instance;
let stopping = false;

/** An orphan drops its own database: the parent that would have is gone. */
async function dropDatabase() {
  const { Client } = require('pg');
  const client = new Client({ ...config.db, database: config.adminDatabase });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${config.db.database}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** @param {{ orphaned: boolean }} how */
async function shutdown({ orphaned }) {
  if (stopping) return;
  stopping = true;
  // Never hang: a stuck pool or keep-alive socket must not keep an orphan alive.
  setTimeout(() => process.exit(1), 5000).unref();
  try {
    await instance?.stop();
    if (orphaned) await dropDatabase();
  } catch (err) {
    console.error('unleash shutdown failed', err);
  }
  process.exit(0);
}

// The parent died or closed the channel: nobody will send 'stop' or drop the database.
process.on('disconnect', () => void shutdown({ orphaned: true }));
process.on('message', (msg) => {
  const type = msg && /** @type {{ type?: string }} */ (msg).type;
  if (type === 'stop') void shutdown({ orphaned: false });
});

start({
  db: { ...config.db, ssl: false, pool: { min: 0, max: 4 } },
  // Port 0: the OS picks a free port, read back from the listening server below.
  server: { port: 0, host: '127.0.0.1', gracefulShutdownEnable: false, gracefulShutdownTimeout: 0 },
  authentication: {
    type: IAuthType.OPEN_SOURCE,
    createAdminUser: false,
    initApiTokens: [
      {
        tokenName: 'test-admin',
        type: ApiTokenType.ADMIN,
        project: '*',
        environment: '*',
        secret: config.adminToken,
      },
      {
        tokenName: 'test-client',
        type: ApiTokenType.CLIENT,
        project: 'default',
        environment: 'development',
        secret: config.clientToken,
      },
    ],
  },
  versionCheck: { enable: false },
  telemetry: false,
  getLogger: quiet,
})
  .then((started) => {
    instance = started;
    const address = instance?.server?.address();
    if (!address || typeof address === 'string') throw new Error('unleash is not listening on TCP');
    process.send?.({ type: 'listening', port: address.port });
  })
  .catch((err) => {
    console.error('unleash failed to start', err);
    process.exit(1);
  });
