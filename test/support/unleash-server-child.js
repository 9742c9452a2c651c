// @ts-check
// Runs a real unleash-server in its own process so jest workers never host it. Started by
// unleash-server.ts with an IPC channel; reports { type: 'listening', port } once the HTTP server
// is up and stops on { type: 'stop' }. Plain JS so node starts it without a TS loader.
'use strict';

/** @typedef {{ database: string; host: string; port: number; user: string; adminToken: string; clientToken: string }} ChildConfig */

/** @type {ChildConfig} */
const config = JSON.parse(process.argv[2]);

// Set before unleash reads its config: `telemetry: false` is ignored by createConfig (`||` with
// the env default), so the env vars are the only reliable off switch.
process.env.SEND_TELEMETRY = 'false';
process.env.CHECK_VERSION = 'false';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- plain CommonJS script
const { start } = require('unleash-server');

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

/** @param {number} code */
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  // Never hang: a stuck pool or keep-alive socket must not keep an orphan alive.
  setTimeout(() => process.exit(code), 5000).unref();
  try {
    await instance?.stop();
  } catch (err) {
    console.error('unleash stop failed', err);
  }
  process.exit(code);
}

// The parent died or closed the channel: nobody will send 'stop', so go now.
process.on('disconnect', () => void shutdown(0));
process.on('message', (msg) => {
  if (msg && /** @type {{ type?: string }} */ (msg).type === 'stop') void shutdown(0);
});

start({
  db: {
    host: config.host,
    port: config.port,
    user: config.user,
    password: '',
    database: config.database,
    ssl: false,
    pool: { min: 0, max: 4 },
  },
  // Port 0: the OS picks a free port, read back from the listening server below.
  server: { port: 0, host: '127.0.0.1', gracefulShutdownEnable: false, gracefulShutdownTimeout: 0 },
  authentication: {
    type: /** @type {any} */ ('open-source'),
    createAdminUser: false,
    initApiTokens: [
      {
        tokenName: 'test-admin',
        type: 'admin',
        project: '*',
        environment: '*',
        secret: config.adminToken,
      },
      {
        tokenName: 'test-client',
        type: 'client',
        project: 'default',
        environment: 'development',
        secret: config.clientToken,
      },
    ].map((t) => /** @type {any} */ (t)),
  },
  versionCheck: { enable: false },
  telemetry: false,
  getLogger: /** @type {any} */ (quiet),
})
  .then((started) => {
    instance = /** @type {any} */ (started);
    const address = instance?.server?.address();
    if (!address || typeof address === 'string') throw new Error('unleash is not listening on TCP');
    process.send?.({ type: 'listening', port: address.port });
  })
  .catch((err) => {
    console.error('unleash failed to start', err);
    process.exit(1);
  });
