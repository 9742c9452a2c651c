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
