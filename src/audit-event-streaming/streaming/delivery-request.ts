import type { AuditEvent } from '../audit-events/audit-event.entity';
import type {
  BatchFormat,
  ExternalAuditEventDestination,
} from '../destinations/external-audit-event-destination.entity';
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
  return signed(destination, String(event.id), body, now, {
    'Content-Type': 'application/json',
    'X-Gitlab-Audit-Event-Type': event.eventType,
  });
}

/** Batch mode: how many events go in one request, and how each is written into the body. */
const BATCH_FORMATS: Record<
  Exclude<BatchFormat, 'none'>,
  { contentType: string; encode: (event: AuditEvent) => string }
> = {
  // One GitLab event per line.
  ndjson: {
    contentType: 'application/x-ndjson',
    encode: (event) => `${JSON.stringify(toStreamedEvent(event))}\n`,
  },
  // Splunk HTTP Event Collector's batch: `{"time":..,"event":..}` objects one after the other.
  splunk_hec: {
    contentType: 'application/json',
    encode: (event) =>
      JSON.stringify({
        time: Math.floor(event.createdAt.getTime() / 1000),
        event: toStreamedEvent(event),
      }),
  },
};

/**
 * Batch mode: the events in as few requests as `batchMaxEvents` and `batchMaxBytes` allow (an
 * event larger than `batchMaxBytes` goes alone). Each event keeps its `id`; the request is signed
 * as a whole, its `webhook-id` made of the first event's id and the count.
 */
export function buildBatchRequests(
  events: AuditEvent[],
  destination: ExternalAuditEventDestination,
  now = new Date(),
): { request: DeliveryRequest; events: AuditEvent[] }[] {
  const format = BATCH_FORMATS[destination.batchFormat as Exclude<BatchFormat, 'none'>];
  const batches: { parts: string[]; bytes: number; events: AuditEvent[] }[] = [];
  for (const event of events) {
    const part = format.encode(event);
    const bytes = Buffer.byteLength(part);
    let last = batches[batches.length - 1];
    if (
      !last ||
      last.events.length >= destination.batchMaxEvents ||
      last.bytes + bytes > destination.batchMaxBytes
    ) {
      last = { parts: [], bytes: 0, events: [] };
      batches.push(last);
    }
    last.parts.push(part);
    last.bytes += bytes;
    last.events.push(event);
  }
  return batches.map((batch) => ({
    events: batch.events,
    request: signed(
      destination,
      `batch_${batch.events[0].id}_${batch.events.length}`,
      batch.parts.join(''),
      now,
      {
        'Content-Type': format.contentType,
        'X-Gitlab-Audit-Event-Count': String(batch.events.length),
      },
    ),
  }));
}

/** Custom headers, then ours (which always win), then the signatures over `body`. */
function signed(
  destination: ExternalAuditEventDestination,
  messageId: string,
  body: string,
  now: Date,
  own: Record<string, string>,
): DeliveryRequest {
  const { 'Content-Type': contentType, ...rest } = own;
  const headers: Record<string, string> = { 'Content-Type': contentType };
  for (const header of destination.headers ?? []) {
    if (!header.active || TRANSPORT_HEADERS.has(header.key.trim().toLowerCase())) continue;
    setHeader(headers, header.key, header.value);
  }
  setHeader(headers, TOKEN_HEADER, destination.verificationToken);
  for (const [key, value] of Object.entries(rest)) setHeader(headers, key, value);
  const signature = signatureHeaders(messageId, body, signingSecrets(destination, now), now);
  for (const [key, value] of Object.entries(signature)) setHeader(headers, key, value);
  return { body, headers };
}
