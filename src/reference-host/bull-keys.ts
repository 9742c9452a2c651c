import Redis from 'ioredis';

/**
 * Deletes every key under a Bull prefix (SCAN and DEL, never FLUSHALL) and answers how many: for
 * the e2e suites and the bench, which each run under a prefix of their own on a shared Redis.
 */
export async function deleteBullKeys(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}
