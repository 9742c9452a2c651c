import 'reflect-metadata';
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

main().catch((err) => {
  console.error(`Start-up failed: ${err?.message ?? err}`);
  process.exit(1);
});
