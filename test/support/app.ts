import type { NestExpressApplication } from '@nestjs/platform-express';
import { getDataSourceToken } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { createApp } from '../../src/bootstrap';
import { deleteBullKeys } from '../../src/reference-host/bull-keys';
import { AppConfig, configFromEnv } from '../../src/reference-host/config';
import { createTestDatabase, TestDatabase, TestDatabaseKind } from './databases';

export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  /** `http://127.0.0.1:<port>` of the running host. */
  url: string;
  adminToken: string;
  db: DataSource;
  http(): ReturnType<typeof request>;
  /** POST /api/graphql; returns the whole response (status, body). */
  graphql(
    query: string,
    variables?: Record<string, unknown>,
    token?: string | null,
  ): Promise<request.Response>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  database?: TestDatabaseKind;
  /** Environment variables, as an operator would set them (DESIGN.md §7). */
  env?: Record<string, string>;
  /** Reuse a database (e.g. to restart a host on the same data); not dropped on close. */
  databaseUrl?: string;
}

/**
 * Boots the reference host as `npm start` does, on its own database and Bull prefix, listening
 * on a free loopback port. Every suite calls `close()` in `afterAll`.
 */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const kind = options.database ?? ((process.env.TEST_DATABASE as TestDatabaseKind) || 'postgres');
  const database: TestDatabase | null = options.databaseUrl ? null : await createTestDatabase(kind);
  const adminToken = `glpat-admin-${randomBytes(8).toString('hex')}`;
  const config = configFromEnv({
    DATABASE_URL: options.databaseUrl ?? database!.url,
    ADMIN_TOKEN: adminToken,
    BULL_PREFIX: `test-${randomBytes(6).toString('hex')}`,
    ...options.env,
  });
  const app = await createApp(config, ['error']);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const url = `http://127.0.0.1:${address.port}`;
  const server = app.getHttpServer();
  return {
    app,
    config,
    url,
    adminToken,
    db: app.get<DataSource>(getDataSourceToken()),
    http: () => request(server),
    graphql: (query, variables = {}, token = adminToken) => {
      const req = request(server).post('/api/graphql').set('Content-Type', 'application/json');
      if (token) req.set('PRIVATE-TOKEN', token);
      return req.send({ query, variables });
    },
    close: async () => {
      await app.close();
      await database?.drop();
      // The app's own Bull prefix goes with it (a prefix the caller chose is the caller's).
      if (!options.env?.BULL_PREFIX) await deleteBullKeys(config.redisUrl, config.bullPrefix);
    },
  };
}
