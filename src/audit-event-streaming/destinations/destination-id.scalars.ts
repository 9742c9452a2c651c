import { GID_MODELS, globalIdScalar } from '../common/global-id';

/** GitLab's ID input scalars; each yields the numeric id or fails coercion with GitLab's message. */
export const DestinationIdScalar = globalIdScalar(
  'AuditEventsExternalAuditEventDestinationID',
  GID_MODELS.destination,
);
export const HeaderIdScalar = globalIdScalar('AuditEventsStreamingHeaderID', GID_MODELS.header);
export const NamespaceFilterIdScalar = globalIdScalar(
  'AuditEventsStreamingHTTPNamespaceFilterID',
  GID_MODELS.namespaceFilter,
);
