import { GID_MODELS, globalIdScalar } from '../common/global-id';

/** `gid://gitlab/AuditEvents::Streaming::Delivery/<n>`: one delivery of one event to one destination. */
export const DeliveryIdScalar = globalIdScalar(
  'AuditEventsStreamingDeliveryID',
  GID_MODELS.delivery,
);

/** `gid://gitlab/AuditEvents::Streaming::Replay/<n>`: an owner's replay request and its progress. */
export const ReplayIdScalar = globalIdScalar('AuditEventsStreamingReplayID', GID_MODELS.replay);
