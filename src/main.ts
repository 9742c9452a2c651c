import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { createApp } from './bootstrap';
import { preflight } from './preflight';
import { configFromEnv } from './reference-host/config';

async function main(): Promise<void> {
  let config;
  try {
    config = configFromEnv();
  } catch (err) {
    console.error(`Configuration error: ${(err as Error).message}`);
    process.exit(1);
  }
  const problem = await preflight(config);
  if (problem) {
    console.error(problem);
    process.exit(1);
  }
  const app = await createApp(config);
  stopOnSignals(app);
  if (config.role === 'worker') {
    await app.init();
    console.log('Worker started (APP_ROLE=worker): delivering, serving no HTTP');
  } else {
    await app.listen(config.port);
    console.log(
      `Reference host on http://127.0.0.1:${config.port} (GraphQL /api/graphql, REST /api/v4), role ${config.role}`,
    );
  }
}

/**
 * SIGTERM or SIGINT: stop taking work, let in-flight attempts and fan-out finish, close Bull, the
 * database and Redis, then exit 0, which process managers read as a clean stop.
 */
function stopOnSignals(app: INestApplication): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: finishing in-flight work, then stopping`);
    app.close().then(
      () => {
        console.log('Stopped cleanly');
        process.exit(0);
      },
      (err: Error) => {
        console.error(`Shutdown failed: ${err?.message ?? err}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err) => {
  console.error(`Start-up failed: ${err?.message ?? err}`);
  process.exit(1);
});
