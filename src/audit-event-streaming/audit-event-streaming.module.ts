import { BullModule } from '@nestjs/bull';
import { Inject, Module, OnModuleInit } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditEventCommits } from './audit-events/audit-event-commits';
import { AuditEventInserts } from './audit-events/audit-event-inserts';
import { AuditEventTypeRegistry } from './audit-events/audit-event-types';
import { AuditEventsService } from './audit-events/audit-events.service';
import {
  AUDIT_EVENT_STREAMING_OPTIONS,
  AuditEventStreamingOptions,
  ConfigurableModuleClass,
  resolveSettings,
  STREAMING_SETTINGS,
} from './audit-event-streaming.options';
import { AUDIT_EVENT_STREAMING_ENTITIES } from './entities';
import { DestinationAccessPolicy } from './destinations/destination-access.policy';
import {
  DestinationFieldsResolver,
  GroupDestinationsResolver,
  NamespaceFilterFieldsResolver,
  StreamingHeaderFieldsResolver,
} from './destinations/destination-fields.resolver';
import { DestinationsResolver } from './destinations/destinations.resolver';
import { DestinationsService } from './destinations/destinations.service';
import { FeatureFlagService } from './feature-flags/feature-flag.service';
import { AuditEventStreamingHost } from './host/audit-event-streaming-host';
import { DELIVERY_QUEUE, DeliveryQueue } from './streaming/delivery-queue';
import { DeliveryProcessor } from './streaming/delivery.processor';
import { FanOutService } from './streaming/fan-out.service';
import { LookupCache } from './streaming/lookup-cache';
import { OutboxSweeper } from './streaming/outbox-sweeper.service';
import { DestinationHealthService } from './streaming/destination-health.service';
import { DeliveryLogService } from './streaming/delivery-log.service';
import {
  DeliveryAttemptFieldsResolver,
  DeliveryFieldsResolver,
  DestinationDeliveryLogResolver,
} from './streaming/delivery-log.resolver';
import { DeliveryRetentionService } from './streaming/delivery-retention.service';
import { AuditEventStreamingMetrics } from './streaming/delivery-metrics';
import { DeliverySteeringResolver } from './streaming/delivery-steering.resolver';
import { ReplayService } from './streaming/replay.service';

/**
 * The plugin. It owns no infrastructure roots: the host calls `TypeOrmModule.forRoot`,
 * `GraphQLModule.forRoot` and `BullModule.forRoot`; this module only adds its features to them.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature(AUDIT_EVENT_STREAMING_ENTITIES),
    BullModule.registerQueue({ name: DELIVERY_QUEUE }),
  ],
  providers: [
    {
      provide: AuditEventStreamingHost,
      inject: [AUDIT_EVENT_STREAMING_OPTIONS],
      useFactory: (options: AuditEventStreamingOptions) => options.host,
    },
    {
      provide: STREAMING_SETTINGS,
      inject: [AUDIT_EVENT_STREAMING_OPTIONS],
      useFactory: resolveSettings,
    },
    AuditEventTypeRegistry,
    AuditEventCommits,
    AuditEventInserts,
    AuditEventsService,
    FeatureFlagService,
    DestinationAccessPolicy,
    DestinationsService,
    DestinationsResolver,
    GroupDestinationsResolver,
    DestinationFieldsResolver,
    StreamingHeaderFieldsResolver,
    NamespaceFilterFieldsResolver,
    DeliveryQueue,
    FanOutService,
    LookupCache,
    DeliveryProcessor,
    OutboxSweeper,
    DestinationHealthService,
    DeliveryLogService,
    DestinationDeliveryLogResolver,
    DeliveryFieldsResolver,
    DeliveryAttemptFieldsResolver,
    DeliveryRetentionService,
    ReplayService,
    DeliverySteeringResolver,
    AuditEventStreamingMetrics,
  ],
  exports: [
    AuditEventsService,
    AuditEventTypeRegistry,
    FeatureFlagService,
    FanOutService,
    LookupCache,
    OutboxSweeper,
    DeliveryProcessor,
    AuditEventStreamingMetrics,
  ],
})
export class AuditEventStreamingModule extends ConfigurableModuleClass implements OnModuleInit {
  constructor(
    @Inject(AUDIT_EVENT_STREAMING_OPTIONS) private readonly options: AuditEventStreamingOptions,
    private readonly registry: AuditEventTypeRegistry,
  ) {
    super();
  }

  onModuleInit(): void {
    if (!this.options.host)
      throw new Error('AuditEventStreamingModule: the `host` option (the host port) is required');
    this.registry.declare(...(this.options.eventTypes ?? []));
  }
}
