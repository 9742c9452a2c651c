import type { DeliveryOptions } from '../audit-event-streaming.options';

/**
 * The circuit breaker's rules, free of I/O (the worker applies them to the destination row).
 *
 * Closed: every delivery is attempted. After `circuitFailureThreshold` consecutive failed
 * attempts the circuit opens: deliveries are held (delayed, never dropped) and one probe goes
 * every `circuitProbeIntervalMs`. A successful attempt closes it and resumes what was held. A
 * destination failing without a success for `deactivateAfterMs`, or answering 410 Gone, is
 * deactivated; its undelivered work stays for replay.
 */
export type CircuitSettings = Pick<
  DeliveryOptions,
  'circuitFailureThreshold' | 'circuitProbeIntervalMs' | 'deactivateAfterMs'
>;

/** What the breaker reads of a destination. */
export interface CircuitState {
  active: boolean;
  consecutiveFailures: number;
  failingSince: Date | null;
  circuitRetryAt: Date | null;
}

export type HealthStatus = 'healthy' | 'failing' | 'circuit_open' | 'disabled';

/** Before an attempt: go ahead, go as the probe (claim it first), or wait until `until`. */
export type Admission = { kind: 'attempt' } | { kind: 'probe' } | { kind: 'hold'; until: Date };

/** After a failed attempt (the failure already counted in `state`): what changes. */
export interface FailureDecision {
  /** When the next probe may go (the circuit is, or stays, open); null leaves it closed. */
  circuitRetryAt: Date | null;
  /** Set when the destination is to be deactivated, with the reason owners see. */
  deactivate: string | null;
}

/** The destination health columns a success (or an owner's reactivation) clears. */
export const CLEARED_HEALTH = {
  consecutiveFailures: 0,
  failingSince: null,
  circuitOpenedAt: null,
  circuitRetryAt: null,
  deactivatedReason: null,
};

export const GONE_REASON = 'The destination answered 410 Gone';

export class CircuitBreaker {
  constructor(private readonly settings: CircuitSettings) {}

  admit(state: Pick<CircuitState, 'circuitRetryAt'>, now: Date): Admission {
    if (!state.circuitRetryAt) return { kind: 'attempt' };
    if (now.getTime() < state.circuitRetryAt.getTime())
      return { kind: 'hold', until: state.circuitRetryAt };
    return { kind: 'probe' };
  }

  /** The next probe time, claimed by the job that goes as the probe. */
  nextProbeAt(now: Date): Date {
    return new Date(now.getTime() + this.settings.circuitProbeIntervalMs);
  }

  afterFailure(state: CircuitState, statusCode: number | null, now: Date): FailureDecision {
    const open =
      state.circuitRetryAt !== null ||
      state.consecutiveFailures >= this.settings.circuitFailureThreshold;
    const circuitRetryAt = open
      ? new Date(Math.max(state.circuitRetryAt?.getTime() ?? 0, this.nextProbeAt(now).getTime()))
      : null;
    let deactivate: string | null = null;
    if (statusCode === 410) deactivate = GONE_REASON;
    else if (
      state.failingSince &&
      now.getTime() - state.failingSince.getTime() >= this.settings.deactivateAfterMs
    )
      deactivate = `Failing since ${state.failingSince.toISOString()} without a successful delivery`;
    return { circuitRetryAt, deactivate: state.active ? deactivate : null };
  }

  status(state: CircuitState): HealthStatus {
    if (!state.active) return 'disabled';
    if (state.circuitRetryAt) return 'circuit_open';
    if (state.consecutiveFailures > 0) return 'failing';
    return 'healthy';
  }
}
