import { LogLevel } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import type { AppConfig } from './reference-host/config';

/**
 * Builds the reference host for a configuration: `main.ts` and the e2e suites boot it the same
 * way. With role `worker` it serves no HTTP.
 */
export async function createApp(
  config: AppConfig,
  logger: LogLevel[] | false = ['log', 'warn', 'error'],
): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(config), {
    logger,
    bodyParser: true,
  });
  app.set('trust proxy', 'loopback');
  return app;
}
