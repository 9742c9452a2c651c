import { readFileSync } from 'node:fs';
import type {
  AuditEventStreamingOptions,
  FeatureFlagOptions,
  UnleashBootstrap,
} from '../audit-event-streaming';
import { HOST_AUDIT_EVENT_TYPES } from './audit/host-audit-events';
import type { AppConfig } from './config';
import type { ReferenceHostAdapter } from './host-adapter';

function readBootstrap(path: string): UnleashBootstrap {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`UNLEASH_BOOTSTRAP: cannot read ${path}: ${(err as Error).message}`);
  }
  if (!parsed || !Array.isArray((parsed as UnleashBootstrap).features)) {
    throw new Error(`UNLEASH_BOOTSTRAP: ${path} must hold {"version": 1, "features": [...]}`);
  }
  return parsed as UnleashBootstrap;
}

/** The plugin's options, from the host's configuration. */
export function streamingOptions(
  config: AppConfig,
  host: ReferenceHostAdapter,
): AuditEventStreamingOptions {
  const featureFlag: FeatureFlagOptions = config.unleashUrl
    ? {
        url: config.unleashUrl,
        apiToken: config.unleashApiToken,
        refreshInterval: config.unleashRefreshInterval,
        appName: 'reference-host',
      }
    : { bootstrap: config.unleashBootstrap ? readBootstrap(config.unleashBootstrap) : undefined };
  return {
    host,
    featureFlag,
    eventTypes: [...HOST_AUDIT_EVENT_TYPES],
    delivery: { ...config.delivery, allowLocalRequests: config.allowLocalRequests },
    worker: config.role !== 'api',
  };
}
