import Redis from 'ioredis';
import { Client } from 'pg';
import { AppConfig, isPostgres } from './reference-host/config';

/** Masks the password in a URL before it is printed. */
function safeUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

/**
 * Checks that Redis and PostgreSQL answer before Nest starts, so a missing service is one clear
 * line naming the URL and how to start it, not a stack trace or a retry loop.
 */
export async function preflight(config: AppConfig): Promise<string | null> {
  const redis = new Redis(config.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 3000,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    return (
      `Cannot reach Redis at ${safeUrl(config.redisUrl)} (${(err as Error).message}). ` +
      `Start one with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379, or set REDIS_URL.`
    );
  } finally {
    redis.disconnect();
  }
  if (isPostgres(config)) {
    const pg = new Client({ connectionString: config.databaseUrl, connectionTimeoutMillis: 3000 });
    try {
      await pg.connect();
      await pg.query('select 1');
    } catch (err) {
      return (
        `Cannot reach PostgreSQL at ${safeUrl(config.databaseUrl)} (${(err as Error).message}). ` +
        `Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start, ` +
        `or unset DATABASE_URL to use the embedded SQLite file.`
      );
    } finally {
      await pg.end().catch(() => undefined);
    }
  }
  return null;
}
