import { DEFAULT_DELIVERY, ResolvedStreamingSettings } from '../audit-event-streaming.options';
import { LookupCache } from './lookup-cache';

function cacheFor(lookupCacheMs: number): LookupCache {
  return new LookupCache({
    delivery: { ...DEFAULT_DELIVERY, lookupCacheMs },
  } as ResolvedStreamingSettings);
}

/** A loader counting its calls, answering `value` (or failing with `fail`). */
function loader<T>(value: T, fail?: Error) {
  const load = jest.fn(() => (fail ? Promise.reject(fail) : Promise.resolve(value)));
  return load;
}

describe('LookupCache', () => {
  beforeEach(() => jest.useFakeTimers({ now: new Date('2026-11-25T00:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  it('answers a lookup from the cache until its time to live is over', async () => {
    const cache = cacheFor(1000);
    const load = loader({ id: 7 });
    expect(await cache.get('group:7', load)).toEqual({ id: 7 });
    jest.setSystemTime(Date.now() + 999);
    expect(await cache.get('group:7', load)).toEqual({ id: 7 });
    expect(load).toHaveBeenCalledTimes(1);
    jest.setSystemTime(Date.now() + 1);
    await cache.get('group:7', load);
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('keeps neither failures nor misses', async () => {
    const cache = cacheFor(60_000);
    await expect(cache.get('group:1', loader(null, new Error('db down')))).rejects.toThrow(
      'db down',
    );
    const missing = loader(null);
    expect(await cache.get('group:2', missing)).toBeNull();
    expect(await cache.get('group:2', missing)).toBeNull();
    expect(missing).toHaveBeenCalledTimes(2);
    const found = loader({ id: 1 });
    expect(await cache.get('group:1', found)).toEqual({ id: 1 });
    expect(found).toHaveBeenCalledTimes(1);
  });

  it('with a time to live of 0, keeps nothing', async () => {
    const cache = cacheFor(0);
    const load = loader({ id: 3 });
    await cache.get('project:3', load);
    await cache.get('project:3', load);
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('forgets a key, or everything, on demand', async () => {
    const cache = cacheFor(60_000);
    const load = loader({ id: 5 });
    await cache.get('routes:5', load);
    cache.forget('routes:5');
    await cache.get('routes:5', load);
    await cache.get('group:5', load);
    cache.clear();
    await cache.get('routes:5', load);
    await cache.get('group:5', load);
    expect(load).toHaveBeenCalledTimes(5);
  });

  it('forgetting an older load leaves a newer one in place', async () => {
    const cache = cacheFor(60_000);
    const first = cache.get('routes:9', loader('v1'));
    cache.forget('routes:9');
    const second = cache.get('routes:9', loader('v2'));
    cache.forget('routes:9', first);
    const load = loader('v3');
    expect(await cache.get('routes:9', load)).toBe('v2');
    expect(load).not.toHaveBeenCalled();
    expect(await second).toBe('v2');
  });

  it('stays bounded: past 10,000 entries the oldest go', async () => {
    const cache = cacheFor(60_000);
    for (let i = 0; i <= 10_000; i++) await cache.get(`group:${i}`, loader({ id: i }));
    const oldest = loader({ id: 0 });
    const newest = loader({ id: 10_000 });
    await cache.get('group:0', oldest);
    await cache.get('group:10000', newest);
    expect(oldest).toHaveBeenCalledTimes(1);
    expect(newest).not.toHaveBeenCalled();
  });
});
