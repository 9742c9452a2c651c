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

export function resolveSettings(options: AuditEventStreamingOptions): ResolvedStreamingSettings {
  return {
    delivery: {
      allowLocalRequests: options.delivery?.allowLocalRequests ?? false,
      allowedHosts: options.delivery?.allowedHosts ?? [],
    },
    limits: {
      destinationsPerGroup: options.limits?.destinationsPerGroup ?? 5,
      headersPerDestination: options.limits?.headersPerDestination ?? 20,
    },
    worker: options.worker ?? true,
  };
}

export const STREAMING_SETTINGS = Symbol('AuditEventStreamingSettings');
