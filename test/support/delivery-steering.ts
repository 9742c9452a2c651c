import type request from 'supertest';
import type { TestApp } from './app';

/** The mutations that steer delivery (replays, test event), each with the fields a client reads. */
export const STEERING_MUTATIONS = {
  auditEventsStreamingDeliveryRetry: `
    mutation($input: AuditEventsStreamingDeliveryRetryInput!) {
      auditEventsStreamingDeliveryRetry(input: $input) {
        errors replay { id kind status total processed queued }
      }
    }`,
  externalAuditEventDestinationDeadDeliveriesReplay: `
    mutation($input: ExternalAuditEventDestinationDeadDeliveriesReplayInput!) {
      externalAuditEventDestinationDeadDeliveriesReplay(input: $input) {
        errors replay { id kind status total processed queued }
      }
    }`,
  externalAuditEventDestinationEventsReplay: `
    mutation($input: ExternalAuditEventDestinationEventsReplayInput!) {
      externalAuditEventDestinationEventsReplay(input: $input) {
        errors replay { id kind status total processed queued startedAt endedAt }
      }
    }`,
  externalAuditEventDestinationTestEventSend: `
    mutation($input: ExternalAuditEventDestinationTestEventSendInput!) {
      externalAuditEventDestinationTestEventSend(input: $input) {
        errors success statusCode latencyMs responseExcerpt errorMessage eventId
      }
    }`,
} as const;

export type SteeringMutation = keyof typeof STEERING_MUTATIONS;

export function steer(
  t: TestApp,
  name: SteeringMutation,
  input: Record<string, unknown>,
  token: string | null = t.adminToken,
): Promise<request.Response> {
  return t.graphql(STEERING_MUTATIONS[name], { input }, token);
}

/** Runs a steering mutation that must succeed; returns its payload. */
export async function steerOk(
  t: TestApp,
  name: SteeringMutation,
  input: Record<string, unknown>,
  token: string | null = t.adminToken,
): Promise<Record<string, any>> {
  const res = await steer(t, name, input, token);
  const payload = res.body?.data?.[name];
  if (res.status !== 200 || res.body.errors || !payload || payload.errors.length)
    throw new Error(`${name} failed: ${res.status} ${JSON.stringify(res.body)}`);
  return payload;
}

/** `auditEventStreamingReplay(id:)`: the replay's progress, or null. */
export async function readReplay(
  t: TestApp,
  id: string,
  token: string | null = t.adminToken,
): Promise<Record<string, any> | null> {
  const res = await t.graphql(
    `query($id: AuditEventsStreamingReplayID!) {
       auditEventStreamingReplay(id: $id) {
         id kind status total processed queued error startedAt endedAt createdAt finishedAt
       }
     }`,
    { id },
    token,
  );
  if (res.status !== 200 || res.body.errors)
    throw new Error(`auditEventStreamingReplay failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data.auditEventStreamingReplay;
}

export const deliveryGid = (id: string | number) =>
  `gid://gitlab/AuditEvents::Streaming::Delivery/${id}`;
