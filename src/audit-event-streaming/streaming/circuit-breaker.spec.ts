import { CircuitBreaker, CircuitState, GONE_REASON } from './circuit-breaker';

const MINUTE = 60_000;
const breaker = new CircuitBreaker({
  circuitFailureThreshold: 3,
  circuitProbeIntervalMs: MINUTE,
  deactivateAfterMs: 60 * MINUTE,
});
const now = new Date('2025-01-01T12:00:00Z');
const at = (ms: number) => new Date(now.getTime() + ms);
const state = (s: Partial<CircuitState>): CircuitState => ({
  active: true,
  consecutiveFailures: 0,
  failingSince: null,
  circuitRetryAt: null,
  ...s,
});

describe('CircuitBreaker', () => {
  it('lets every attempt through while closed', () => {
    expect(breaker.admit(state({}), now)).toEqual({ kind: 'attempt' });
  });

  it('holds deliveries until the probe time while open, then lets one probe go', () => {
    expect(breaker.admit(state({ circuitRetryAt: at(1000) }), now)).toEqual({
      kind: 'hold',
      until: at(1000),
    });
    expect(breaker.admit(state({ circuitRetryAt: at(0) }), now)).toEqual({ kind: 'probe' });
    expect(breaker.admit(state({ circuitRetryAt: at(-5) }), now)).toEqual({ kind: 'probe' });
  });

  it('stays closed below the threshold and opens at it', () => {
    const below = breaker.afterFailure(
      state({ consecutiveFailures: 2, failingSince: now }),
      500,
      now,
    );
    expect(below).toEqual({ circuitRetryAt: null, deactivate: null });
    const at3 = breaker.afterFailure(
      state({ consecutiveFailures: 3, failingSince: now }),
      500,
      now,
    );
    expect(at3).toEqual({ circuitRetryAt: at(MINUTE), deactivate: null });
  });

  it('re-arms the probe after a failed probe, never moving it earlier', () => {
    const open = state({
      consecutiveFailures: 9,
      failingSince: now,
      circuitRetryAt: at(2 * MINUTE),
    });
    expect(breaker.afterFailure(open, null, now).circuitRetryAt).toEqual(at(2 * MINUTE));
    const due = state({ consecutiveFailures: 9, failingSince: now, circuitRetryAt: at(-1) });
    expect(breaker.afterFailure(due, null, now).circuitRetryAt).toEqual(at(MINUTE));
  });

  it('deactivates after failing for the whole period, and at once on 410 Gone', () => {
    const young = state({ consecutiveFailures: 1, failingSince: at(-59 * MINUTE) });
    expect(breaker.afterFailure(young, 500, now).deactivate).toBeNull();
    const old = state({ consecutiveFailures: 1, failingSince: at(-60 * MINUTE) });
    expect(breaker.afterFailure(old, 500, now).deactivate).toMatch(/^Failing since /);
    const gone = state({ consecutiveFailures: 1, failingSince: now });
    expect(breaker.afterFailure(gone, 410, now).deactivate).toBe(GONE_REASON);
    expect(breaker.afterFailure({ ...gone, active: false }, 410, now).deactivate).toBeNull();
  });

  it('reports health status', () => {
    expect(breaker.status(state({}))).toBe('healthy');
    expect(breaker.status(state({ consecutiveFailures: 1 }))).toBe('failing');
    expect(breaker.status(state({ consecutiveFailures: 5, circuitRetryAt: now }))).toBe(
      'circuit_open',
    );
    expect(breaker.status(state({ active: false, circuitRetryAt: now }))).toBe('disabled');
  });
});
