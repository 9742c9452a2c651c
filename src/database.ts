import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import {
  AUDIT_EVENT_STREAMING_ENTITIES,
  AUDIT_EVENT_STREAMING_MIGRATIONS,
} from './audit-event-streaming';
import { AppConfig, isPostgres, sqliteFile } from './reference-host/config';
import { REFERENCE_HOST_ENTITIES, REFERENCE_HOST_MIGRATIONS } from './reference-host/entities';

/** PostgreSQL when DATABASE_URL says so, else the embedded SQLite file. Never `synchronize`. */
export function dataSourceOptions(config: AppConfig): DataSourceOptions {
  const common = {
    entities: [...AUDIT_EVENT_STREAMING_ENTITIES, ...REFERENCE_HOST_ENTITIES],
    migrations: [...AUDIT_EVENT_STREAMING_MIGRATIONS, ...REFERENCE_HOST_MIGRATIONS],
    migrationsRun: config.migrationsRun,
    migrationsTransactionMode: 'each' as const,
    synchronize: false,
  };
  if (isPostgres(config)) {
    return { ...common, type: 'postgres', url: config.databaseUrl, extra: { max: 20 } };
  }
  const file = sqliteFile(config);
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  // WAL and a busy timeout let the API and the worker share the file.
  return {
    ...common,
    type: 'better-sqlite3',
    database: file,
    enableWAL: true,
    prepareDatabase: (db: { pragma(s: string): unknown }) => {
      db.pragma('busy_timeout = 5000');
    },
  };
}
