import { startTestApp, TestApp } from './support/app';
import { ACCESS_ERROR, FLAG, listDestinations, mutate } from './support/destination-api';
import { eventually } from './support/receiver';
import { Rest } from './support/rest';
import { startUnleashServer, UnleashTestServer } from './support/unleash-server';

/**
 * The per-group feature flag against a real Unleash server (GITLAB-CONTRACT.md §3, DESIGN.md §7):
 * the host is configured with UNLEASH_URL / UNLEASH_API_TOKEN as an operator would, and the
 * operator switches `ff_external_audit_events_namespace` on and off through Unleash's admin API
 * while the host keeps running. Unleash sees the root group's `{ groupId, groupPath }`, so a
 * constraint on one top-level group's id opens that group and everything below it, and nothing
 * else.
 *
 * The tests run in order and tell one story: flag created but off, enabled for `enabled`, then
 * switched off, then on again, then moved to `other`.
 */

// Booting unleash (its migrations included) can take a while on a small CI box.
jest.setTimeout(120_000);

/** How often the host asks Unleash for flags: short, so a switch shows within a second or so. */
const REFRESH_INTERVAL_MS = 200;

type Group = { id: number; full_path: string };

describe('destinations gated by a real Unleash server', () => {
  let unleash: UnleashTestServer;
  let t: TestApp;
  let owner: { token: string };
  let enabled: Group;
  let sub: Group;
  let other: Group;
  let seq = 0;
  const destinationUrl = () => `https://siem-${++seq}.audit.example.com/ingest`;

  beforeAll(async () => {
    unleash = await startUnleashServer();
    await unleash.createFlag(FLAG);
    t = await startTestApp({
      env: {
        UNLEASH_URL: unleash.url,
        UNLEASH_API_TOKEN: unleash.clientToken,
        UNLEASH_REFRESH_INTERVAL: String(REFRESH_INTERVAL_MS),
        // Delivery is not under test here: an API node only.
        APP_ROLE: 'api',
      },
    });
    const rest = new Rest(t);
    owner = await rest.createUser('flag-owner');
    // The creator of a group is its owner.
    enabled = await rest.createGroup(owner.token, 'enabled');
    sub = await rest.createGroup(owner.token, 'sub', enabled.id);
    other = await rest.createGroup(owner.token, 'other');
  });

  afterAll(async () => {
    await t?.close();
    await unleash?.stop();
  });

  const create = (groupPath: string) =>
    mutate(
      t,
      'externalAuditEventDestinationCreate',
      { groupPath, destinationUrl: destinationUrl() },
      owner.token,
    );

  /** `group(fullPath) { externalAuditEventDestinations { nodes { destinationUrl id } } }`. */
  async function destinations(fullPath: string) {
    const res = await listDestinations(t, fullPath, owner.token, 'nodes { destinationUrl id }');
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.group.fullPath).toBe(fullPath);
    return res.body.data.group.externalAuditEventDestinations as {
      nodes: { destinationUrl: string; id: string }[];
    } | null;
  }

  /** Polls until the group's field is readable (`open`) or null (closed). */
  async function eventuallyFlag(fullPath: string, open: boolean): Promise<void> {
    await eventually(
      async () => ((await destinations(fullPath)) !== null) === open,
      `${fullPath} to be ${open ? 'enabled' : 'disabled'} by Unleash`,
    );
  }

  /** The owner is turned away exactly as if the feature did not exist. */
  async function expectClosed(fullPath: string): Promise<void> {
    const res = await create(fullPath);
    expect(res.status).toBe(200);
    expect(res.body.errors.map((e: { message: string }) => e.message)).toEqual([ACCESS_ERROR]);
    expect(res.body.data).toEqual({ externalAuditEventDestinationCreate: null });
    expect(await destinations(fullPath)).toBeNull();
  }

  /** Creates a destination as the owner (GitLab's documented mutation) and returns its id. */
  async function expectCreated(fullPath: string): Promise<{ id: string; destinationUrl: string }> {
    const url = destinationUrl();
    const res = await mutate(
      t,
      'externalAuditEventDestinationCreate',
      { groupPath: fullPath, destinationUrl: url },
      owner.token,
    );
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    const payload = res.body.data.externalAuditEventDestinationCreate;
    expect(payload.errors).toEqual([]);
    expect(payload.externalAuditEventDestination).toMatchObject({
      destinationUrl: url,
      group: { fullPath },
    });
    return { id: payload.externalAuditEventDestination.id, destinationUrl: url };
  }

  it('keeps every group closed while the flag exists but is not enabled', async () => {
    await expectClosed(enabled.full_path);
    await expectClosed(sub.full_path);
    await expectClosed(other.full_path);
  });

  describe(`enabled on the Unleash server for the first group's id only`, () => {
    let first: { id: string; destinationUrl: string };

    beforeAll(async () => {
      await unleash.enableForGroupIds(FLAG, [String(enabled.id)]);
      await eventuallyFlag(enabled.full_path, true);
    });

    it('lets its owner create a destination and list it', async () => {
      first = await expectCreated(enabled.full_path);
      expect(await destinations(enabled.full_path)).toEqual({ nodes: [first] });
    });

    it('counts its subgroup as enabled: the root group is what Unleash is asked about', async () => {
      // The field is readable (the group has no destinations of its own) ...
      expect(await destinations(sub.full_path)).toEqual({ nodes: [] });
      // ... and creation gets past authorization to GitLab's validation, not the access error.
      const res = await create(sub.full_path);
      expect(res.body).toEqual({
        data: {
          externalAuditEventDestinationCreate: {
            errors: ['Group must not be a subgroup'],
            externalAuditEventDestination: null,
          },
        },
      });
    });

    it('keeps the other top-level group closed', async () => {
      await expectClosed(other.full_path);
    });

    it('closes the group once the flag is switched off on the server, without a restart', async () => {
      await unleash.disable(FLAG);
      await eventuallyFlag(enabled.full_path, false);

      await expectClosed(enabled.full_path);
      await expectClosed(sub.full_path);
      // The destination itself is out of reach too.
      const update = await mutate(
        t,
        'externalAuditEventDestinationUpdate',
        { id: first.id, name: 'while-off' },
        owner.token,
      );
      expect(update.body.errors.map((e: { message: string }) => e.message)).toEqual([ACCESS_ERROR]);
      expect(update.body.data).toEqual({ externalAuditEventDestinationUpdate: null });
    });

    it('opens it again once re-enabled, with its destination kept', async () => {
      await unleash.enableForGroupIds(FLAG, [String(enabled.id)]);
      await eventuallyFlag(enabled.full_path, true);

      expect(await destinations(enabled.full_path)).toEqual({ nodes: [first] });
      const second = await expectCreated(enabled.full_path);
      expect(await destinations(enabled.full_path)).toEqual({ nodes: [first, second] });
      expect(await destinations(sub.full_path)).toEqual({ nodes: [] });
      await expectClosed(other.full_path);
    });

    it('follows the operator moving the flag to the other group instead', async () => {
      await unleash.enableForGroupIds(FLAG, [String(other.id)]);
      await eventuallyFlag(other.full_path, true);

      const created = await expectCreated(other.full_path);
      expect(await destinations(other.full_path)).toEqual({ nodes: [created] });
      await expectClosed(enabled.full_path);
      await expectClosed(sub.full_path);
    });
  });
});
