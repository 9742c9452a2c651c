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
   * that workers that failed together do not retry together. A receiver's `Retry-After` is a
   * minimum wait: it lengthens the delay (up to retryAfterMaxMs) but never shortens it, so a
   * receiver answering `Retry-After: 0` cannot burn the schedule in seconds and turn an outage
   * within the retry window into dead deliveries.
   */
  nextDelayMs(attemptsMade: number, retryAfterMs?: number | null): number | null {
    if (attemptsMade >= this.maxAttempts) return null;
    const bound = this.options.retrySchedule[attemptsMade - 1] ?? 0;
    const scheduled = Math.round(bound / 2 + this.random() * (bound / 2));
    if (retryAfterMs == null || !Number.isFinite(retryAfterMs)) return scheduled;
    const asked = Math.min(Math.max(retryAfterMs, 0), this.options.retryAfterMaxMs);
    return Math.max(scheduled, asked);
  }
}

/**
 * An HTTP date (RFC 9110 §5.6.7) starts with the day name: IMF-fixdate `Sun, 06 Nov 1994 ...`,
 * RFC 850 `Sunday, 06-Nov-94 ...`, asctime `Sun Nov  6 ...`. Checked before `Date.parse`, which
 * reads almost anything (`1.5` and `-1` are dates in 2001 to V8).
 */
const HTTP_DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /;

/** `Retry-After`: seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined | null, now = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  if (!HTTP_DATE.test(trimmed)) return null;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
