import { registerEnumType } from '@nestjs/graphql';
import type { BatchFormat } from './external-audit-event-destination.entity';

/** GraphQL's names for a destination's batch format; the values are what the row stores. */
export enum BatchFormatValue {
  NONE = 'none',
  NDJSON = 'ndjson',
  SPLUNK_HEC = 'splunk_hec',
}

registerEnumType(BatchFormatValue, {
  name: 'AuditEventStreamingBatchFormat',
  description:
    'How a destination receives events (not in GitLab). NONE: one request per event, as GitLab ' +
    'sends. NDJSON: many events per request, one JSON event per line. SPLUNK_HEC: many events per ' +
    'request as Splunk HTTP Event Collector batches, `{"time":..,"event":{..}}` objects in a row.',
  valuesMap: {
    NONE: { description: 'One request per event (GitLab).' },
    NDJSON: { description: 'Newline-delimited JSON, `Content-Type: application/x-ndjson`.' },
    SPLUNK_HEC: { description: 'Splunk HEC batch, `Content-Type: application/json`.' },
  },
});

export interface BatchOptions {
  batchFormat?: BatchFormat | null;
  batchMaxEvents?: number | null;
  batchMaxBytes?: number | null;
  batchMaxWaitMs?: number | null;
}

/** The bounds of each batch option: [minimum, maximum]. */
export const BATCH_LIMITS = {
  batchMaxEvents: { label: 'Batch max events', min: 1, max: 1000 },
  batchMaxBytes: { label: 'Batch max bytes', min: 1024, max: 25 * 1024 * 1024 },
  batchMaxWaitMs: { label: 'Batch max wait ms', min: 0, max: 60_000 },
} as const;

/** Messages for out-of-bounds batch options, in the style of GitLab's validation messages. */
export function batchOptionErrors(options: BatchOptions): string[] {
  const errors: string[] = [];
  for (const [key, { label, min, max }] of Object.entries(BATCH_LIMITS)) {
    const value = options[key as keyof typeof BATCH_LIMITS];
    if (value == null) continue;
    if (value < min) errors.push(`${label} must be greater than or equal to ${min}`);
    if (value > max) errors.push(`${label} must be less than or equal to ${max}`);
  }
  return errors;
}
