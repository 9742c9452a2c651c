import { parseRetryAfter, RetryPolicy } from './retry-policy';

describe('RetryPolicy', () => {
  const schedule = [1000, 4000, 16000];

  it('allows one attempt per schedule step plus the first', () => {
    expect(new RetryPolicy({ retrySchedule: schedule, retryAfterMaxMs: 5000 }).maxAttempts).toBe(4);
  });

  it('draws each delay from the upper half of its step', () => {
    const low = new RetryPolicy({ retrySchedule: schedule, retryAfterMaxMs: 5000 }, () => 0);
    const high = new RetryPolicy({ retrySchedule: schedule, retryAfterMaxMs: 5000 }, () => 1);
    expect([1, 2, 3].map((n) => low.nextDelayMs(n))).toEqual([500, 2000, 8000]);
    expect([1, 2, 3].map((n) => high.nextDelayMs(n))).toEqual([1000, 4000, 16000]);
  });

  it('has no next attempt once attempts run out', () => {
    expect(
      new RetryPolicy({ retrySchedule: schedule, retryAfterMaxMs: 5000 }).nextDelayMs(4),
    ).toBeNull();
  });

  it('honours Retry-After within its bound', () => {
    const policy = new RetryPolicy({ retrySchedule: schedule, retryAfterMaxMs: 5000 });
    expect(policy.nextDelayMs(1, 3000)).toBe(3000);
    expect(policy.nextDelayMs(1, 60_000)).toBe(5000);
    expect(policy.nextDelayMs(4, 3000)).toBeNull();
  });

  it('never retries sooner than the schedule because of Retry-After', () => {
    const policy = new RetryPolicy({ retrySchedule: schedule, retryAfterMaxMs: 5000 }, () => 0);
    // A receiver answering `Retry-After: 0` every time still gets the whole retry window.
    expect([1, 2, 3].map((n) => policy.nextDelayMs(n, 0))).toEqual([500, 2000, 8000]);
    expect(policy.nextDelayMs(2, 1000)).toBe(2000);
    expect(policy.nextDelayMs(1, -5000)).toBe(500);
    expect(policy.nextDelayMs(1, Number.NaN)).toBe(500);
  });

  it('the default schedule spans more than a day even at its shortest', () => {
    const { DEFAULT_DELIVERY } = jest.requireActual('../audit-event-streaming.options');
    const shortest = new RetryPolicy(DEFAULT_DELIVERY, () => 0);
    let total = 0;
    for (let n = 1; n < shortest.maxAttempts; n++) total += shortest.nextDelayMs(n)!;
    expect(total).toBeGreaterThan(24 * 3600 * 1000);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter('Thursday, 01-Jan-26 00:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Thu Jan  1 00:00:10 2026', now)).toBe(10_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });

  it('ignores values that are neither whole seconds nor an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    // V8's Date.parse reads these as dates in 2001, which would mean "retry now".
    for (const value of ['1.5', '-1', '0.5', '1e3', '12abc', 'in a minute'])
      expect(parseRetryAfter(value, now)).toBeNull();
  });
});
