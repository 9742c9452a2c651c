import { IsNull, Not } from 'typeorm';
import { AuditEvent } from '../../src/audit-event-streaming/audit-events/audit-event.entity';
import { AuditEventDelivery } from '../../src/audit-event-streaming/streaming/delivery.entity';
import { flagBootstrapFile } from '../../src/reference-host/flag-bootstrap';
import { startTestApp, TestApp } from './app';
import { eventually, Receiver } from './receiver';

export { flagBootstrapFile };

/** Environment for a streaming suite: flag on, local receivers allowed, a short retry schedule. */
export function streamingEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    UNLEASH_BOOTSTRAP: flagBootstrapFile(),
    AUDIT_STREAMING_ALLOW_LOCAL_REQUESTS: 'true',
    AUDIT_STREAMING_RETRY_SCHEDULE: '200,400,800',
    AUDIT_STREAMING_TIMEOUT_MS: '1000',
    AUDIT_STREAMING_SWEEP_INTERVAL_MS: '300',
    AUDIT_STREAMING_LOST_JOB_AFTER_MS: '1000',
    ...overrides,
  };
}

/**
 * A suite with one receiver and the app with streaming on (`streamingEnv(env)`): the receiver
 * starts and the app boots before the suite (`ready` gets the app), both close after it.
 */
export function streamingAppForSuite(
  receiver: Receiver,
  ready: (t: TestApp) => void | Promise<void>,
  env: Record<string, string> = {},
): void {
  let t: TestApp | undefined;
  beforeAll(async () => {
    await receiver.start();
    t = await startTestApp({ env: streamingEnv(env) });
    await ready(t);
  });
  afterAll(async () => {
    await t?.close();
    await receiver.stop();
  });
}

/** Creates a destination through GitLab's mutation; returns its numeric id and global id. */
export async function createDestination(
  t: TestApp,
  groupPath: string,
  destinationUrl: string,
  token = t.adminToken,
): Promise<{ id: number; gid: string; verificationToken: string; signingSecret: string }> {
  const res = await t.graphql(
    `mutation($input: ExternalAuditEventDestinationCreateInput!) {
       externalAuditEventDestinationCreate(input: $input) {
         errors externalAuditEventDestination { id verificationToken signingSecret }
       }
     }`,
    { input: { groupPath, destinationUrl } },
    token,
  );
  const payload = res.body.data?.externalAuditEventDestinationCreate;
  if (!payload || payload.errors.length)
    throw new Error(`create failed: ${JSON.stringify(res.body)}`);
  const gid: string = payload.externalAuditEventDestination.id;
  return {
    id: Number(gid.split('/').pop()),
    gid,
    verificationToken: payload.externalAuditEventDestination.verificationToken,
    signingSecret: payload.externalAuditEventDestination.signingSecret,
  };
}

/** The outbox rows (`audit_events_streaming_deliveries`) matching `where`, oldest first. */
export function deliveriesOf(
  t: TestApp,
  where: { auditEventId?: string; destinationId?: number },
): Promise<AuditEventDelivery[]> {
  return t.db.getRepository(AuditEventDelivery).find({
    select: {
      id: true,
      auditEventId: true,
      destinationId: true,
      status: true,
      attempts: true,
      lastAttemptAt: true,
      lastStatusCode: true,
      lastError: true,
      deliveredAt: true,
    },
    where,
    order: { id: 'ASC' },
  });
}

/** Waits for the (latest) audit event of this type about this entity to be recorded. */
export function auditEventOf(
  t: TestApp,
  eventType: string,
  entity: { type: 'Group' | 'Project' | 'User'; id: number },
): Promise<AuditEvent> {
  return eventually(
    () =>
      t.db.getRepository(AuditEvent).findOne({
        where: { eventType, entityType: entity.type, entityId: entity.id },
        order: { id: 'DESC' },
      }),
    `the ${eventType} audit event of ${entity.type} ${entity.id}`,
  );
}

/**
 * Waits until fan-out has decided about this audit event (its deliveries are persisted), then
 * returns the ids of the destinations it goes to, ascending: a definite "sent to nobody else".
 */
export async function routedTo(t: TestApp, auditEventId: string): Promise<number[]> {
  await eventually(
    () =>
      t.db.getRepository(AuditEvent).findOne({
        select: { id: true },
        where: { id: auditEventId, fannedOutAt: Not(IsNull()) },
      }),
    `fan-out of audit event ${auditEventId}`,
  );
  const rows = await deliveriesOf(t, { auditEventId });
  return rows.map((r) => r.destinationId).sort((a, b) => a - b);
}
