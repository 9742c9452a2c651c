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
 * GitLab's request for one event and one destination (GITLAB-CONTRACT.md §5), with JSON's
 * content type (a custom header may still override it) and Standard Webhooks signatures.
 */
export function buildDeliveryRequest(
  event: AuditEvent,
  destination: ExternalAuditEventDestination,
  now = new Date(),
): DeliveryRequest {
  const body = JSON.stringify(toStreamedEvent(event));
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  for (const header of destination.headers ?? []) {
    if (!header.active) continue;
    for (const existing of Object.keys(headers)) {
      if (existing.toLowerCase() === header.key.toLowerCase()) delete headers[existing];
    }
    headers[header.key] = header.value;
  }
  headers[TOKEN_HEADER] = destination.verificationToken;
  headers['X-Gitlab-Audit-Event-Type'] = event.eventType;
  Object.assign(
    headers,
    signatureHeaders(String(event.id), body, signingSecrets(destination, now), now),
  );
  return { body, headers };
}
