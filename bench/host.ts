/**
 * The reference host under test, in its own process: APP_ROLE=api (records events, fans them out
 * after commit, serves REST and GraphQL) beside `worker.ts` (APP_ROLE=worker), or APP_ROLE=all
 * alone when BENCH_TOPOLOGY=single; on the bench's own database and Bull prefix, flag on for
 * every group. The orchestrator drives it over IPC: set up groups and destinations (over REST and
 * GraphQL, as an owner would), record events through AuditEventsService.record, and report what
 * that cost (SQL statements, Redis commands, a CPU profile: `instrument.ts`).
 */
import 'reflect-metadata';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AuditEventsService } from '../src/audit-event-streaming';
import { createApp } from '../src/bootstrap';
import { configFromEnv } from '../src/reference-host/config';
import { nowMs, runConcurrently, runPaced, serve, summarize } from './common';
import { BENCH_INSERT_TABLE, insertRow } from './floors';
import { instrumentHandlers, watchDeliveryQueue } from './instrument';

// --- the app -------------------------------------------------------------------------------------

let app: NestExpressApplication;
let url = '';
let audit: AuditEventsService;
let db: DataSource;
const groups = new Map<string, { id: number; path: string }>();
const adminToken = process.env.ADMIN_TOKEN!;

async function api(path: string, body: unknown): Promise<any> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'PRIVATE-TOKEN': adminToken },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (res.status >= 300 || json.errors) throw new Error(`${path}: ${JSON.stringify(json)}`);
  return json;
}

async function createGroup(path: string, destinationUrls: string[]): Promise<void> {
  const group = await api('/api/v4/groups', { name: path, path, visibility: 'private' });
  for (const destinationUrl of destinationUrls) {
    const res = await api('/api/graphql', {
      query: `mutation($input: ExternalAuditEventDestinationCreateInput!) {
        externalAuditEventDestinationCreate(input: $input) { errors externalAuditEventDestination { id } }
      }`,
      variables: { input: { groupPath: path, destinationUrl } },
    });
    const errors = res.data.externalAuditEventDestinationCreate.errors;
    if (errors.length) throw new Error(`destination: ${errors.join(', ')}`);
  }
  groups.set(path, { id: group.id, path: group.full_path });
}

/** A GraphQL call that answers the parsed response, errors included (never throws on them). */
async function gql(query: string, variables: Record<string, unknown>): Promise<any> {
  const res = await fetch(`${url}/api/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'PRIVATE-TOKEN': adminToken },
    body: JSON.stringify({ query, variables }),
  });
  return res.json();
}

/** The errors of a GraphQL answer and of its mutation payload, as one string ('' when none). */
function gqlErrors(res: any, field: string): string {
  const top = (res?.errors ?? []).map((e: { message?: string }) => e.message ?? String(e));
  const payload = res?.data?.[field]?.errors ?? [];
  return [...top, ...payload].join('; ');
}

const BATCH_FIELDS = 'batchFormat batchMaxEvents batchMaxBytes batchMaxWaitMs';

/** A batch destination as the bench asks for it, and what the API answered. */
interface BatchDestinationSpec {
  /** Receiver path, e.g. `/batch-one`. */
  path: string;
  format: 'NDJSON' | 'SPLUNK_HEC';
  /** `create`: all batch fields on the create mutation; `update`: created plain, then updated. */
  via: 'create' | 'update';
}

/**
 * Creates a destination with batch fields (or creates it plain and sets them with the update
 * mutation), adds a custom header, and answers what the receiver should check. Reads the batch
 * fields back when the type exposes them (`settings` is null when it does not).
 */
async function createBatchDestination(
  groupPath: string,
  receiver: string,
  spec: BatchDestinationSpec,
  batch: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const fields = { batchFormat: spec.format, ...batch };
  const create = (withBatchFields: boolean) =>
    gql(
      `mutation($input: ExternalAuditEventDestinationCreateInput!) {
        externalAuditEventDestinationCreate(input: $input) {
          errors externalAuditEventDestination {
            id verificationToken signingSecret ${withBatchFields ? BATCH_FIELDS : ''}
          }
        }
      }`,
      {
        input: {
          groupPath,
          destinationUrl: `${receiver}${spec.path}`,
          ...(spec.via === 'create' ? fields : {}),
        },
      },
    );
  let exposed = true;
  let res = await create(true);
  // The type may take the batch fields as input without exposing them: ask again without them.
  if (res.errors && /Cannot query field "batch/.test(gqlErrors(res, 'x'))) {
    exposed = false;
    res = await create(false);
  }
  let errors = gqlErrors(res, 'externalAuditEventDestinationCreate');
  if (errors) throw new Error(`create ${spec.path}: ${errors}`);
  let dest = res.data.externalAuditEventDestinationCreate.externalAuditEventDestination;
  if (spec.via === 'update') {
    res = await gql(
      `mutation($input: ExternalAuditEventDestinationUpdateInput!) {
        externalAuditEventDestinationUpdate(input: $input) {
          errors externalAuditEventDestination { id ${exposed ? BATCH_FIELDS : ''} }
        }
      }`,
      { input: { id: dest.id, ...fields } },
    );
    errors = gqlErrors(res, 'externalAuditEventDestinationUpdate');
    if (errors) throw new Error(`update ${spec.path}: ${errors}`);
    dest = {
      ...dest,
      ...res.data.externalAuditEventDestinationUpdate.externalAuditEventDestination,
    };
  }
  const header = { key: 'X-Bench-Destination', value: spec.path };
  res = await gql(
    `mutation($input: AuditEventsStreamingHeadersCreateInput!) {
      auditEventsStreamingHeadersCreate(input: $input) { errors }
    }`,
    { input: { destinationId: dest.id, ...header } },
  );
  errors = gqlErrors(res, 'auditEventsStreamingHeadersCreate');
  if (errors) throw new Error(`header ${spec.path}: ${errors}`);
  return {
    path: spec.path,
    format: spec.format,
    via: spec.via,
    id: dest.id,
    numericId: Number(/(\d+)$/.exec(String(dest.id))?.[1]),
    token: dest.verificationToken,
    secrets: [dest.signingSecret],
    header,
    settings: exposed
      ? {
          batchFormat: dest.batchFormat,
          batchMaxEvents: dest.batchMaxEvents,
          batchMaxBytes: dest.batchMaxBytes,
          batchMaxWaitMs: dest.batchMaxWaitMs,
        }
      : null,
  };
}

function record(groupPath: string): () => Promise<number> {
  const group = groups.get(groupPath);
  if (!group) throw new Error(`no group ${groupPath}`);
  return async () => {
    const started = nowMs();
    await audit.record({
      eventType: 'group_created',
      author: { id: 1, name: 'Administrator', class: 'User' },
      entity: { type: 'Group', id: group.id, path: group.path },
      target: { type: 'Group', id: group.id, details: group.path },
      ipAddress: '127.0.0.1',
      message: 'Benchmark event',
    });
    return nowMs() - started;
  };
}

serve({
  boot: async () => {
    const config = configFromEnv();
    // Warnings (circuit opened...) are expected in the backlog phase; errors still show.
    app = await createApp(config, ['error']);
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
    audit = app.get(AuditEventsService);
    db = app.get<DataSource>(getDataSourceToken());
    // With APP_ROLE=all the jobs run here; with api, this only sees the queue's errors.
    watchDeliveryQueue(app);
    return { pid: process.pid, role: config.role };
  },
  setup: async (m) => {
    const receiver = String(m.receiverUrl);
    await createGroup('bench-one', [`${receiver}/one`]);
    await createGroup(
      'bench-five',
      [1, 2, 3, 4, 5].map((i) => `${receiver}/five-${i}`),
    );
    await createGroup('bench-none', []);
    return { groups: Object.fromEntries(groups) };
  },
  /**
   * Groups with batch destinations (`groups`: path to destination specs). Throws when the API
   * refuses the batch fields (batch mode not built), before anything is created for the first.
   */
  setupBatch: async (m) => {
    const receiver = String(m.receiverUrl);
    const batch = m.batch as Record<string, unknown>;
    const created: Record<string, unknown>[] = [];
    for (const [path, specs] of Object.entries(
      m.groups as Record<string, BatchDestinationSpec[]>,
    )) {
      const group = await api('/api/v4/groups', { name: path, path, visibility: 'private' });
      for (const spec of specs)
        created.push(await createBatchDestination(path, receiver, spec, batch));
      groups.set(path, { id: group.id, path: group.full_path });
    }
    return { destinations: created };
  },
  /**
   * What the API says about batch settings: the defaults of a destination created with only
   * `batchFormat`, and whether out-of-range values are refused (each probe on its own group).
   */
  batchApiChecks: async (m) => {
    const receiver = String(m.receiverUrl);
    await api('/api/v4/groups', {
      name: 'bench-batch-api',
      path: 'bench-batch-api',
      visibility: 'private',
    });
    const tryCreate = async (name: string, fields: Record<string, unknown>) => {
      const res = await gql(
        `mutation($input: ExternalAuditEventDestinationCreateInput!) {
          externalAuditEventDestinationCreate(input: $input) {
            errors externalAuditEventDestination { id ${BATCH_FIELDS} }
          }
        }`,
        {
          input: {
            groupPath: 'bench-batch-api',
            destinationUrl: `${receiver}/batch-api-${name}`,
            ...fields,
          },
        },
      );
      const errors = gqlErrors(res, 'externalAuditEventDestinationCreate');
      return {
        accepted: !errors,
        errors: errors || undefined,
        settings: res?.data?.externalAuditEventDestinationCreate?.externalAuditEventDestination,
      };
    };
    return {
      plain: await tryCreate('plain', {}),
      defaults: await tryCreate('defaults', { batchFormat: 'NDJSON' }),
      maxEvents1001: await tryCreate('events-1001', {
        batchFormat: 'NDJSON',
        batchMaxEvents: 1001,
      }),
      maxEvents0: await tryCreate('events-0', { batchFormat: 'NDJSON', batchMaxEvents: 0 }),
      maxWait60001: await tryCreate('wait-60001', { batchFormat: 'NDJSON', batchMaxWaitMs: 60001 }),
      maxWaitNegative: await tryCreate('wait-neg', { batchFormat: 'NDJSON', batchMaxWaitMs: -1 }),
      maxBytes0: await tryCreate('bytes-0', { batchFormat: 'NDJSON', batchMaxBytes: 0 }),
    };
  },
  /** Records `n` events, `concurrency` calls in flight; answers when every record() returned. */
  record: async (m) => {
    const one = record(String(m.group));
    const latencies: number[] = new Array(Number(m.n));
    const started = nowMs();
    await runConcurrently(Number(m.n), Number(m.concurrency), async (i) => {
      latencies[i] = await one();
    });
    return { seconds: (nowMs() - started) / 1000, record: summarize(latencies) };
  },
  /** Records at `rate` per second for `durationMs` (open loop); record()'s own latency. */
  recordPaced: async (m) => {
    const one = record(String(m.group));
    const latencies: number[] = [];
    const n = await runPaced(Number(m.rate), Number(m.durationMs), async () => {
      latencies.push(await one());
    });
    return { n, record: summarize(latencies) };
  },
  /** A bare single-row insert at the same pace, in this process, on a pool of 20 (the app's). */
  insertPaced: async (m) => {
    const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 20 });
    await pool.query(BENCH_INSERT_TABLE);
    const latencies: number[] = [];
    const n = await runPaced(Number(m.rate), Number(m.durationMs), async (i) => {
      const started = nowMs();
      await insertRow(pool, i);
      latencies.push(nowMs() - started);
    });
    await pool.end();
    return { n, insert: summarize(latencies) };
  },
  /**
   * Deliveries by status: all of them, or those of `destinationIds` (numeric), then also by the
   * last answer (status code, start of the error).
   */
  deliveries: async (m) => ({
    rows: Array.isArray(m.destinationIds)
      ? await db.query(
          `SELECT status, count(*)::int AS n, sum(attempts)::int AS attempts,
                  last_status_code AS "lastStatusCode", left(last_error, 120) AS "lastError"
             FROM audit_events_streaming_deliveries WHERE destination_id = ANY($1::int[])
            GROUP BY status, last_status_code, left(last_error, 120) ORDER BY status`,
          [m.destinationIds],
        )
      : await db.query(
          `SELECT status, count(*)::int AS n, sum(attempts)::int AS attempts
             FROM audit_events_streaming_deliveries GROUP BY status ORDER BY status`,
        ),
  }),
  /**
   * The delivery log of `destinationIds` by answer, in 5-second windows from `since` (epoch ms):
   * when attempts were made and what came back.
   */
  attempts: async (m) => ({
    rows: await db.query(
      `SELECT (floor((extract(epoch FROM a.created_at) * 1000 - $2::float8) / 5000) * 5)::int AS "fromS",
              a.status_code AS "statusCode", left(a.error, 100) AS error, count(*)::int AS n,
              count(DISTINCT a.delivery_id)::int AS deliveries
         FROM audit_events_streaming_delivery_attempts a
         JOIN audit_events_streaming_deliveries d ON d.id = a.delivery_id
        WHERE d.destination_id = ANY($1::int[])
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      [m.destinationIds, Number(m.since)],
    ),
  }),
  /** Every logged attempt of these audit events to `destinationIds`, ms from `since`. */
  attemptsOf: async (m) => ({
    rows: await db.query(
      `SELECT d.audit_event_id AS "eventId", d.id AS "deliveryId", d.status, d.attempts,
              a.attempt_number AS "attempt", a.status_code AS "statusCode",
              left(a.error, 60) AS error,
              round(extract(epoch FROM a.created_at) * 1000 - $3::float8)::int AS "atMs"
         FROM audit_events_streaming_deliveries d
         LEFT JOIN audit_events_streaming_delivery_attempts a ON a.delivery_id = d.id
        WHERE d.destination_id = ANY($1::int[]) AND d.audit_event_id = ANY($2::bigint[])
        ORDER BY d.audit_event_id, a.created_at`,
      [m.destinationIds, m.eventIds, Number(m.since)],
    ),
  }),
  ...instrumentHandlers(() => app),
});
process.on('disconnect', () => process.exit(0));
