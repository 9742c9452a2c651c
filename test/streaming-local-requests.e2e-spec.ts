import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { deleteBullKeys } from '../src/reference-host/bull-keys';
import { startTestApp, TestApp } from './support/app';
import { createTestDatabase, TestDatabase } from './support/databases';
import { eventually, Receiver } from './support/receiver';
import { Rest } from './support/rest';
import {
  auditEventOf,
  createDestination,
  deliveriesOf,
  routedTo,
  streamingEnv,
} from './support/streaming';

/**
 * DESIGN.md §6: a destination is checked again at send time, against the address its name
 * resolves to. This machine's host name resolves to 127.0.0.1 (/etc/hosts).
 */
describe('streaming: a destination whose name resolves to loopback, local requests not allowed', () => {
  const receiver = new Receiver();
  let db: TestDatabase;
  let apiHost: TestApp;
  let worker: TestApp;
  const bullPrefix = `test-${randomBytes(6).toString('hex')}`;

  beforeAll(async () => {
    await receiver.start();
    db = await createTestDatabase('postgres');
    // The API accepts the destination (local requests allowed there) and fans events out...
    apiHost = await startTestApp({
      databaseUrl: db.url,
      env: streamingEnv({ APP_ROLE: 'api', BULL_PREFIX: bullPrefix }),
    });
    // ...the worker, which sends, does not allow local requests.
    worker = await startTestApp({
      databaseUrl: db.url,
      env: streamingEnv({
        APP_ROLE: 'worker',
        BULL_PREFIX: bullPrefix,
        AUDIT_STREAMING_ALLOW_LOCAL_REQUESTS: 'false',
        // Every attempt fails here: keep the circuit breaker from holding the deliveries.
        AUDIT_STREAMING_CIRCUIT_FAILURES: '1000',
      }),
    });
  });
  afterAll(async () => {
    await worker?.close();
    await apiHost?.close();
    // The two apps share a prefix of this suite's choosing: the suite deletes it.
    const redisUrl = (worker ?? apiHost)?.config.redisUrl;
    if (redisUrl) await deleteBullKeys(redisUrl, bullPrefix);
    await db?.drop();
    await receiver.stop();
  });

  it('refuses to send, keeps the delivery as dead with the loopback refusal, sends nothing', async () => {
    const rest = new Rest(apiHost);
    const root = await rest.createGroup(apiHost.adminToken, 'rebinding');
    const url = `http://${hostname()}:${receiver.port}/ingest`;
    const destination = await createDestination(apiHost, root.full_path, url);
    const project = await rest.createProject(apiHost.adminToken, 'target', root.id);
    const event = await auditEventOf(apiHost, 'project_created', {
      type: 'Project',
      id: project.id,
    });
    expect(await routedTo(apiHost, event.id)).toEqual([destination.id]);

    const dead = await eventually(async () => {
      const [row] = await deliveriesOf(apiHost, { auditEventId: event.id });
      return row?.status === 'dead' && row;
    }, 'the delivery to end dead');
    expect(dead.attempts).toBeGreaterThanOrEqual(1);
    expect(dead.lastStatusCode).toBeNull();
    expect(dead.lastError).toMatch(/loopback/i);
    expect(dead.lastError).toMatch(/not allowed/i);
    expect(receiver.requests).toEqual([]);
  });
});
