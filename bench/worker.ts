/**
 * The reference host's delivery worker under test, in its own process, as production runs it:
 * `createApp` with APP_ROLE=worker (Bull processor, outbox sweeper, replays; no HTTP) and the
 * same environment as the API process (`host.ts`, APP_ROLE=api). Started once the host has run
 * the migrations. Answers the orchestrator's RPCs about what it costs (`instrument.ts`).
 */
import 'reflect-metadata';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createApp } from '../src/bootstrap';
import { configFromEnv } from '../src/reference-host/config';
import { serve } from './common';
import { instrumentHandlers, watchDeliveryQueue } from './instrument';

let app: NestExpressApplication | undefined;

serve({
  boot: async () => {
    const config = configFromEnv();
    if (config.role !== 'worker') throw new Error(`worker.ts wants APP_ROLE=worker`);
    // Warnings (circuit opened...) are expected in the backlog phase; errors still show.
    app = await createApp(config, ['error']);
    watchDeliveryQueue(app);
    await app.init();
    return { pid: process.pid, role: config.role };
  },
  ...instrumentHandlers(() => app),
});
process.on('disconnect', () => process.exit(0));
