import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InMemStorageProvider, Unleash } from 'unleash-client';
import {
  AUDIT_EVENT_STREAMING_OPTIONS,
  AuditEventStreamingOptions,
  DEFAULT_FEATURE_FLAG,
} from '../audit-event-streaming.options';
import { HostGroup } from '../host/audit-event-streaming-host';

/** How long start-up waits for a real Unleash server's first answer; until then the flag is off. */
const FIRST_SYNC_TIMEOUT_MS = 5000;

/**
 * The per-group switch `ff_external_audit_events_namespace`, asked of Unleash for the root group
 * with context `{ properties: { groupId, groupPath } }`. Never the process-wide Unleash singleton.
 */
@Injectable()
export class FeatureFlagService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(FeatureFlagService.name);
  private unleash: Unleash | null = null;
  private ownsClient = false;
  readonly flagName: string;
  readonly gated: boolean;

  constructor(
    @Inject(AUDIT_EVENT_STREAMING_OPTIONS) private readonly options: AuditEventStreamingOptions,
  ) {
    this.gated = options.featureFlag !== false;
    this.flagName = (options.featureFlag || undefined)?.name ?? DEFAULT_FEATURE_FLAG;
  }

  async onModuleInit(): Promise<void> {
    const flag = this.options.featureFlag;
    if (flag === false) return;
    if (flag?.unleash) {
      this.unleash = flag.unleash;
      return;
    }
    const online = !!flag?.url;
    this.ownsClient = true;
    this.unleash = new Unleash({
      appName: flag?.appName ?? 'audit-event-streaming',
      // An offline client never calls this URL: refreshInterval 0 means no fetch at all.
      url: flag?.url ?? 'http://127.0.0.1:1/offline',
      customHeaders: flag?.apiToken ? { Authorization: flag.apiToken } : undefined,
      refreshInterval: online ? (flag?.refreshInterval ?? 15_000) : 0,
      disableMetrics: true,
      storageProvider: new InMemStorageProvider(),
      bootstrap: { data: (flag?.bootstrap?.features ?? []) as never },
      skipInstanceCountWarning: true,
    });
    this.unleash.on('error', (err: Error) => this.logger.warn(`Unleash: ${err.message}`));
    // Offline with nothing to load: there is no first answer to wait for.
    if (online || flag?.bootstrap?.features?.length) await this.firstSync(online);
  }

  private firstSync(online: boolean): Promise<void> {
    const client = this.unleash!;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (online)
          this.logger.warn(
            `Unleash gave no flags within ${FIRST_SYNC_TIMEOUT_MS} ms; the flag is off until it does`,
          );
        resolve();
      }, FIRST_SYNC_TIMEOUT_MS);
      client.once(online ? 'synchronized' : 'ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Whether streaming is on for this top-level group. */
  isEnabled(rootGroup: Pick<HostGroup, 'id' | 'fullPath'>): boolean {
    if (!this.gated) return true;
    if (!this.unleash) return false;
    return this.unleash.isEnabled(this.flagName, {
      properties: { groupId: String(rootGroup.id), groupPath: rootGroup.fullPath },
    });
  }

  onApplicationShutdown(): void {
    if (this.ownsClient) this.unleash?.destroy();
  }
}
