import { Inject, Injectable } from '@nestjs/common';
import { ResolvedStreamingSettings, STREAMING_SETTINGS } from '../audit-event-streaming.options';

/** Entries kept at most; past this, expired ones go first, then the oldest. */
const MAX_ENTRIES = 10_000;

interface Entry {
  value: Promise<unknown>;
  expiresAt: number;
}

/**
 * What fan-out looks up for every pass, kept across passes for `lookupCacheMs`: the host's groups
 * and projects, and each top-level group's routes. The plugin hears of no change to the host's
 * data, so a group or project moved or renamed is seen within that time (at once in this process
 * after `clear()`); routes are the plugin's own data and fan-out checks them against the group's
 * route version in the statement that persists the deliveries, so a destination or filter change
 * is seen by the next event everywhere. Failures and misses (null) are never kept.
 */
@Injectable()
export class LookupCache {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;

  constructor(@Inject(STREAMING_SETTINGS) settings: ResolvedStreamingSettings) {
    this.ttlMs = settings.delivery.lookupCacheMs;
  }

  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > now) return hit.value as Promise<T>;
    const value = load();
    if (this.ttlMs > 0) {
      // Deleted first so that the map's order (insertion order) stays the order of expiry.
      this.entries.delete(key);
      this.evict(now);
      this.entries.set(key, { value, expiresAt: now + this.ttlMs });
      value.then(
        (v) => v == null && this.forget(key, value),
        () => this.forget(key, value),
      );
    }
    return value;
  }

  /** Drops `key` (only the entry holding `value`, when given: a newer load stays). */
  forget(key: string, value?: Promise<unknown>): void {
    if (value === undefined || this.entries.get(key)?.value === value) this.entries.delete(key);
  }

  /** Drops everything this process keeps: for hosts, right after moving or renaming namespaces. */
  clear(): void {
    this.entries.clear();
  }

  /** Drops expired entries and, past the bound, the oldest: all from the front of the map. */
  private evict(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt > now && this.entries.size < MAX_ENTRIES) break;
      this.entries.delete(key);
    }
  }
}
