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
  /** How often the Unleash client refreshes flags from `unleashUrl`, ms (plugin default 15 s). */
  unleashRefreshInterval?: number;
  /** Path to a JSON file of Unleash client features (`{"version":1,"features":[...]}`). */
  unleashBootstrap?: string;
  allowLocalRequests: boolean;
  /** Delivery tuning (defaults are the plugin's); tests shorten the schedule and the sweeper. */
  delivery: {
    timeoutMs?: number;
    retrySchedule?: number[];
    concurrency?: number;
    sweepIntervalMs?: number;
    lostJobAfterMs?: number;
    signingSecretOverlapMs?: number;
    replayBatchSize?: number;
    circuitFailureThreshold?: number;
    circuitProbeIntervalMs?: number;
    deactivateAfterMs?: number;
    deliveryLogRetentionMs?: number;
    deliveryLogCleanupIntervalMs?: number;
    lookupCacheMs?: number;
  };
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

function positiveInt(
  value: string | undefined,
  name: string,
  unit = ' of milliseconds',
): number | undefined {
  return wholeNumber(value, name, unit, 1);
}

/** A whole number of at least `min` (`positive` in the message when 1, else `min` or more). */
function wholeNumber(
  value: string | undefined,
  name: string,
  unit = ' of milliseconds',
  min = 0,
): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) {
    const what = min === 1 ? 'a positive whole number' : `a whole number (${min} or more)`;
    throw new Error(`${name} must be ${what}${unit}, got "${value}"`);
  }
  return n;
}

/** `AUDIT_STREAMING_RETRY_SCHEDULE=1000,5000,30000`: the delays' upper bounds, ms. */
function schedule(value: string | undefined): number[] | undefined {
  if (value === undefined || value === '') return undefined;
  return value
    .split(',')
    .map((part) => positiveInt(part.trim(), 'AUDIT_STREAMING_RETRY_SCHEDULE')!);
}

/** `AUDIT_STREAMING_RETENTION_DAYS=30`: whole days, as ms. */
function days(value: string | undefined): number | undefined {
  const n = positiveInt(value, 'AUDIT_STREAMING_RETENTION_DAYS', ' of days');
  return n === undefined ? undefined : n * 24 * 60 * 60 * 1000;
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
    unleashRefreshInterval: positiveInt(env.UNLEASH_REFRESH_INTERVAL, 'UNLEASH_REFRESH_INTERVAL'),
    unleashBootstrap: env.UNLEASH_BOOTSTRAP || undefined,
    allowLocalRequests: bool(env.AUDIT_STREAMING_ALLOW_LOCAL_REQUESTS, false),
    delivery: {
      timeoutMs: positiveInt(env.AUDIT_STREAMING_TIMEOUT_MS, 'AUDIT_STREAMING_TIMEOUT_MS'),
      retrySchedule: schedule(env.AUDIT_STREAMING_RETRY_SCHEDULE),
      concurrency: positiveInt(env.AUDIT_STREAMING_CONCURRENCY, 'AUDIT_STREAMING_CONCURRENCY'),
      sweepIntervalMs: positiveInt(
        env.AUDIT_STREAMING_SWEEP_INTERVAL_MS,
        'AUDIT_STREAMING_SWEEP_INTERVAL_MS',
      ),
      lostJobAfterMs: positiveInt(
        env.AUDIT_STREAMING_LOST_JOB_AFTER_MS,
        'AUDIT_STREAMING_LOST_JOB_AFTER_MS',
      ),
      signingSecretOverlapMs: positiveInt(
        env.AUDIT_STREAMING_SIGNING_OVERLAP_MS,
        'AUDIT_STREAMING_SIGNING_OVERLAP_MS',
      ),
      replayBatchSize: positiveInt(
        env.AUDIT_STREAMING_REPLAY_BATCH_SIZE,
        'AUDIT_STREAMING_REPLAY_BATCH_SIZE',
        '',
      ),
      circuitFailureThreshold: positiveInt(
        env.AUDIT_STREAMING_CIRCUIT_FAILURES,
        'AUDIT_STREAMING_CIRCUIT_FAILURES',
        '',
      ),
      circuitProbeIntervalMs: positiveInt(
        env.AUDIT_STREAMING_CIRCUIT_PROBE_MS,
        'AUDIT_STREAMING_CIRCUIT_PROBE_MS',
      ),
      deactivateAfterMs: positiveInt(
        env.AUDIT_STREAMING_DEACTIVATE_AFTER_MS,
        'AUDIT_STREAMING_DEACTIVATE_AFTER_MS',
      ),
      deliveryLogRetentionMs: days(env.AUDIT_STREAMING_RETENTION_DAYS),
      deliveryLogCleanupIntervalMs: positiveInt(
        env.AUDIT_STREAMING_RETENTION_CLEANUP_INTERVAL_MS,
        'AUDIT_STREAMING_RETENTION_CLEANUP_INTERVAL_MS',
      ),
      lookupCacheMs: wholeNumber(
        env.AUDIT_STREAMING_LOOKUP_CACHE_MS,
        'AUDIT_STREAMING_LOOKUP_CACHE_MS',
      ),
    },
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
