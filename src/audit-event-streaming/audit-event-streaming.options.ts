import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { Unleash } from 'unleash-client';
import { AuditEventStreamingHost } from './host/audit-event-streaming-host';

/** Offline flag definitions: what Unleash's client features endpoint returns. */
export interface UnleashBootstrap {
  version: number;
  features: unknown[];
  [key: string]: unknown;
}

export interface FeatureFlagOptions {
  /** Default `ff_external_audit_events_namespace`. */
  name?: string;
  /** An Unleash client the host already runs (the host starts and destroys it). */
  unleash?: Unleash;
  /** A real Unleash server: the plugin runs its own client and destroys it on shutdown. */
  url?: string;
  apiToken?: string;
  /** How often the client refreshes flags from the server, ms (default 15 s). */
  refreshInterval?: number;
  appName?: string;
  /** Offline definitions; with neither `url` nor `unleash`, the flag is off unless these turn it on. */
  bootstrap?: UnleashBootstrap;
}

export interface DeliveryOptions {
  /** Allow destinations on loopback, private and link-local networks (GitLab's operator setting). */
  allowLocalRequests: boolean;
  /** Host names (or IP literals) always allowed, whatever they resolve to. */
  allowedHosts: string[];
  /** Connect, read and write timeout of one attempt, ms (GitLab: 8 s). */
  timeoutMs: number;
  /**
   * Upper bounds of the delays before each retry, ms. Each delay is drawn uniformly from
   * [bound/2, bound] (jitter); attempts = schedule length + 1. Default spans 27.6 h at the least.
   */
  retrySchedule: number[];
  /** The longest `Retry-After` honoured, ms (default 1 h). */
  retryAfterMaxMs: number;
  /** Deliveries one worker process makes at once. */
  concurrency: number;
  /** How often the outbox sweeper looks for work that was committed but not (or no longer) queued. */
  sweepIntervalMs: number;
  /** How long a due delivery may wait before the sweeper checks that its job still exists. */
  lostJobAfterMs: number;
  /** After a signing secret rotation, how long the old secret keeps signing too (default 24 h). */
  signingSecretOverlapMs: number;
  /** How much of a receiver's response body is read and kept. */
  responseExcerptBytes: number;
  /** Largest request body sent (GitLab: 25 MB). */
  maxBodyBytes: number;
  /**
   * Events (or dead deliveries) a replay handles per step. A step waits while the queue already
   * holds more waiting jobs than this, so a large replay never crowds out live deliveries.
   */
  replayBatchSize: number;
  /** Consecutive failed attempts to a destination that open its circuit (its deliveries are held). */
  circuitFailureThreshold: number;
  /** While the circuit is open, how often one delivery is let through as a probe, ms. */
  circuitProbeIntervalMs: number;
  /** A destination failing without a single success for this long is deactivated, ms (5 days). */
  deactivateAfterMs: number;
  /** How long delivered deliveries and their attempts stay in the delivery log, ms (30 days). */
  deliveryLogRetentionMs: number;
  /** How often the delivery log cleanup runs, ms. */
  deliveryLogCleanupIntervalMs: number;
  /**
   * How long fan-out keeps the host's groups and projects, and each group's routes, ms (0: a
   * lookup serves one fan-out pass only). Destination and filter changes are seen at once anyway;
   * a group or project the host moves or renames is seen within this time.
   */
  lookupCacheMs: number;
}

export interface LimitOptions {
  destinationsPerGroup: number;
  headersPerDestination: number;
}

export interface AuditEventStreamingOptions {
  /** The host port implementation. */
  host: AuditEventStreamingHost;
  /** `false` turns gating off: streaming is on for every group. Default: an offline flag that is off. */
  featureFlag?: FeatureFlagOptions | false;
  /** The host's audit event types (GitLab's event names), declared beside the plugin's own. */
  eventTypes?: string[];
  delivery?: Partial<DeliveryOptions>;
  limits?: Partial<LimitOptions>;
  /** Whether this process delivers (the worker role). Default true. */
  worker?: boolean;
}

export const DEFAULT_FEATURE_FLAG = 'ff_external_audit_events_namespace';

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: AUDIT_EVENT_STREAMING_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<AuditEventStreamingOptions>({ moduleName: 'AuditEventStreaming' })
  .setClassMethodName('forRoot')
  .build();

/** The options with every default filled in: the one place defaults live. */
export interface ResolvedStreamingSettings {
  delivery: DeliveryOptions;
  limits: LimitOptions;
  worker: boolean;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const DEFAULT_DELIVERY: DeliveryOptions = {
  allowLocalRequests: false,
  allowedHosts: [],
  timeoutMs: 8 * SECOND,
  // Svix's schedule doubled, so that with jitter over the upper half it still spans > 24 h.
  retrySchedule: [10 * SECOND, 10 * MINUTE, HOUR, 4 * HOUR, 10 * HOUR, 20 * HOUR, 20 * HOUR],
  retryAfterMaxMs: HOUR,
  concurrency: 20,
  sweepIntervalMs: 10 * SECOND,
  lostJobAfterMs: MINUTE,
  signingSecretOverlapMs: 24 * HOUR,
  responseExcerptBytes: 1024,
  maxBodyBytes: 25 * 1024 * 1024,
  replayBatchSize: 500,
  circuitFailureThreshold: 5,
  circuitProbeIntervalMs: MINUTE,
  deactivateAfterMs: 5 * DAY,
  deliveryLogRetentionMs: 30 * DAY,
  deliveryLogCleanupIntervalMs: HOUR,
  lookupCacheMs: SECOND,
};

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function resolveSettings(options: AuditEventStreamingOptions): ResolvedStreamingSettings {
  return {
    delivery: { ...DEFAULT_DELIVERY, ...definedOnly(options.delivery ?? {}) },
    limits: {
      destinationsPerGroup: options.limits?.destinationsPerGroup ?? 5,
      headersPerDestination: options.limits?.headersPerDestination ?? 20,
    },
    worker: options.worker ?? true,
  };
}

export const STREAMING_SETTINGS = Symbol('AuditEventStreamingSettings');
