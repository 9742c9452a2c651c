import { InMemStorageProvider, Unleash, UnleashEvents } from 'unleash-client';
import { startUnleashServer, UnleashTestServer } from './support/unleash-server';

const FLAG = 'ff_external_audit_events_namespace';
const SYNC_TIMEOUT_MS = 15_000;

// Booting unleash (migrations included) can take a while on a small CI box.
jest.setTimeout(120_000);

/** Resolves on the client's first successful fetch; rejects with its last error otherwise. */
function synchronized(client: Unleash, errors: Error[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(`No sync in ${SYNC_TIMEOUT_MS} ms; last error: ${errors.at(-1)?.message}`),
        ),
      SYNC_TIMEOUT_MS,
    );
    client.once(UnleashEvents.Synchronized, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Polls until the predicate holds or the time is up; says which. */
async function eventually(predicate: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

describe('Unleash test harness', () => {
  let server: UnleashTestServer;
  let client: Unleash;
  const clientErrors: Error[] = [];
  const forGroup = (groupId: string) => client.isEnabled(FLAG, { properties: { groupId } });

  beforeAll(async () => {
    server = await startUnleashServer();
    await server.createFlag(FLAG);
    await server.enableForGroupIds(FLAG, ['42']);

    client = new Unleash({
      url: server.url,
      appName: 'unleash-harness-e2e',
      customHeaders: { Authorization: server.clientToken },
      refreshInterval: 200,
      disableMetrics: true,
      storageProvider: new InMemStorageProvider(),
    });
    // An EventEmitter 'error' without a listener would crash the worker.
    client.on(UnleashEvents.Error, (err: Error) => clientErrors.push(err));
    await synchronized(client, clientErrors);
  });

  afterAll(async () => {
    client?.destroy();
    await server?.stop();
  });

  it('enables the flag for the listed group only', () => {
    expect(forGroup('42')).toBe(true);
    expect(forGroup('43')).toBe(false);
  });

  it('turns the flag off for the group once disabled on the server', async () => {
    await server.disable(FLAG);

    expect(await eventually(() => !forGroup('42'))).toBe(true);
    expect(forGroup('43')).toBe(false);
  });

  it('re-enabling with other groups replaces the group list', async () => {
    await server.enableForGroupIds(FLAG, ['43']);

    expect(await eventually(() => forGroup('43'))).toBe(true);
    expect(forGroup('42')).toBe(false);
  });
});
