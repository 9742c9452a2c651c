/** The reference host's configuration, read from the environment once, in one place (DESIGN.md §7). */
export type AppRole = 'api' | 'worker' | 'all';

export interface AppConfig {
  port: number;
  /** `postgres://...`, or `sqlite:<file>`; unset: embedded SQLite under ./data/. */
  databaseUrl: string;
  redisUrl: string;
  /** Personal access token of the seeded administrator `root`; generated when unset. */
  adminToken?: string;
  unleashUrl?: string;
  unleashApiToken?: string;
  /** Path to a JSON file of Unleash client features (`{"version":1,"features":[...]}`). */
  unleashBootstrap?: string;
  allowLocalRequests: boolean;
  role: AppRole;
  /** Run pending migrations at start (default true). */
  migrationsRun: boolean;
  /** Bull's key prefix in Redis (tests give each file its own). */
  bullPrefix: string;
}

export const DEFAULT_SQLITE_URL = 'sqlite:data/gitlab.sqlite';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

function bool(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new Error(`Expected true or false, got "${value}"`);
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const role = (env.APP_ROLE || 'all') as AppRole;
  if (!['api', 'worker', 'all'].includes(role)) {
    throw new Error(`APP_ROLE must be api, worker or all, got "${env.APP_ROLE}"`);
  }
  const port = Number(env.PORT || 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`PORT is not a port: "${env.PORT}"`);
  return {
    port,
    databaseUrl: env.DATABASE_URL || DEFAULT_SQLITE_URL,
    redisUrl: env.REDIS_URL || DEFAULT_REDIS_URL,
    adminToken: env.ADMIN_TOKEN || undefined,
    unleashUrl: env.UNLEASH_URL || undefined,
    unleashApiToken: env.UNLEASH_API_TOKEN || undefined,
    unleashBootstrap: env.UNLEASH_BOOTSTRAP || undefined,
    allowLocalRequests: bool(env.AUDIT_STREAMING_ALLOW_LOCAL_REQUESTS, false),
    role,
    migrationsRun: bool(env.MIGRATIONS_RUN, true),
    bullPrefix: env.BULL_PREFIX || 'bull',
  };
}

export function isPostgres(config: Pick<AppConfig, 'databaseUrl'>): boolean {
  return /^postgres(ql)?:\/\//.test(config.databaseUrl);
}

export function sqliteFile(config: Pick<AppConfig, 'databaseUrl'>): string {
  return config.databaseUrl.replace(/^sqlite:(\/\/)?/, '');
}

export const APP_CONFIG = Symbol('AppConfig');
