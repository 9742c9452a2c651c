import type { DeliveryOptions } from '../audit-event-streaming.options';

/** The one retry policy: when the next attempt is due, and when a delivery is dead. */
export class RetryPolicy {
  constructor(
    private readonly options: Pick<DeliveryOptions, 'retrySchedule' | 'retryAfterMaxMs'>,
    private readonly random: () => number = Math.random,
  ) {}

  /** Attempts in all: the first and one per step of the schedule. */
  get maxAttempts(): number {
    return this.options.retrySchedule.length + 1;
  }

  /**
   * The delay before the next attempt after `attemptsMade` attempts, or null when none is left.
   * Exponential steps from the schedule, jittered uniformly over the upper half of each step so
   * that workers that failed together do not retry together. A receiver's `Retry-After` wins,
   * within [0, retryAfterMaxMs].
   */
  nextDelayMs(attemptsMade: number, retryAfterMs?: number | null): number | null {
    if (attemptsMade >= this.maxAttempts) return null;
    if (retryAfterMs != null)
      return Math.min(Math.max(retryAfterMs, 0), this.options.retryAfterMaxMs);
    const bound = this.options.retrySchedule[attemptsMade - 1] ?? 0;
    return Math.round(bound / 2 + this.random() * (bound / 2));
  }
}

/** `Retry-After`: seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined | null, now = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
