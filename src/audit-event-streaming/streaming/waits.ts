import type { Redis } from 'ioredis';

/** Resolves once the connection is ready; rejects if it ends first or `signal` aborts. */
export function redisReady(client: Redis, signal: AbortSignal): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const settle = (err?: Error) => {
      client.off('ready', onReady);
      client.off('end', onEnd);
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onReady = () => settle();
    const onEnd = () => settle(new Error('Redis connection closed'));
    const onAbort = () => settle(new Error('stopping'));
    if (signal.aborted) return onAbort();
    client.once('ready', onReady);
    client.once('end', onEnd);
    signal.addEventListener('abort', onAbort);
  });
}

/** How long one round trip to Redis (or a scrape's query) may take before the work is left for later. */
export const ANSWER_TIMEOUT_MS = 2000;

/** `work`, or a rejection once it has had no answer within ANSWER_TIMEOUT_MS (slow or down). */
export async function withinTimeout<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms`)),
          ANSWER_TIMEOUT_MS,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
