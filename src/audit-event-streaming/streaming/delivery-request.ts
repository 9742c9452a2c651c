import type { AuditEvent } from '../audit-events/audit-event.entity';
import type { ExternalAuditEventDestination } from '../destinations/external-audit-event-destination.entity';
import { TOKEN_HEADER } from '../destinations/destinations.service';
import { toStreamedEvent } from './payload';
import { signatureHeaders } from './signer';

export interface DeliveryRequest {
  body: string;
  headers: Record<string, string>;
}

/** The secrets that sign now: the current one, and the previous one during a rotation overlap. */
export function signingSecrets(
  destination: ExternalAuditEventDestination,
  now = new Date(),
): string[] {
  const previous =
    destination.previousSigningSecret &&
    destination.previousSigningSecretExpiresAt &&
    destination.previousSigningSecretExpiresAt > now
      ? [destination.previousSigningSecret]
      : [];
  return [destination.signingSecret, ...previous];
}

/**
 * Headers that frame the message or manage the connection: an owner's custom header must not set
 * them (a custom `Content-Length: 3` would cut the body short and still be "delivered").
 */
const TRANSPORT_HEADERS = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  'upgrade',
  'te',
  'trailer',
  'expect',
]);

/** Sets `key`, replacing any header of the same name in another case: one value per name. */
function setHeader(headers: Record<string, string>, key: string, value: string): void {
  const lower = key.toLowerCase();
  for (const existing of Object.keys(headers)) {
    if (existing.toLowerCase() === lower) delete headers[existing];
  }
  headers[key] = value;
}

/**
 * GitLab's request for one event and one destination (GITLAB-CONTRACT.md §5), with JSON's
 * content type (a custom header may still override it) and Standard Webhooks signatures. The
 * verification token, the event type and the signature headers always win over a custom header
 * of the same name.
 */
export function buildDeliveryRequest(
  event: AuditEvent,
  destination: ExternalAuditEventDestination,
  now = new Date(),
): DeliveryRequest {
  const body = JSON.stringify(toStreamedEvent(event));
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  for (const header of destination.headers ?? []) {
    if (!header.active || TRANSPORT_HEADERS.has(header.key.trim().toLowerCase())) continue;
    setHeader(headers, header.key, header.value);
  }
  setHeader(headers, TOKEN_HEADER, destination.verificationToken);
  setHeader(headers, 'X-Gitlab-Audit-Event-Type', event.eventType);
  const signature = signatureHeaders(String(event.id), body, signingSecrets(destination, now), now);
  for (const [key, value] of Object.entries(signature)) setHeader(headers, key, value);
  return { body, headers };
}
