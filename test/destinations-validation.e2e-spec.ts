import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { lookup } from 'node:dns/promises';
import { startTestApp, TestApp } from './support/app';
import { Rest } from './support/rest';

/**
 * Every validation message of GITLAB-CONTRACT.md §4: in the mutation payload's `errors`, with
 * HTTP 200, no top-level error and the payload's object field null. ID coercion failures are
 * top-level errors. Everything runs with the flag on for every group.
 */

const FLAG = 'ff_external_audit_events_namespace';

// --- GitLab's messages (GITLAB-CONTRACT.md §4) -------------------------------------------------

const BLOCKED = 'Destination url is blocked: ';
const SCHEME = `${BLOCKED}Only allowed schemes are http, https`;
const LOCALHOST = `${BLOCKED}Requests to localhost are not allowed`;
const LOOPBACK = `${BLOCKED}Requests to loopback addresses are not allowed`;
const LOCAL_NETWORK = `${BLOCKED}Requests to the local network are not allowed`;
const LINK_LOCAL = `${BLOCKED}Requests to the link local network are not allowed`;
const INVALID = `${BLOCKED}URI is invalid`;
const URL_BLANK = "Destination url can't be blank";
const URL_TOO_LONG = 'Destination url is too long (maximum is 255 characters)';
const URL_TAKEN = 'Destination url has already been taken';
const SUBGROUP = 'Group must not be a subgroup';
const MAX_DESTINATIONS = 'Maximum number of external audit event destinations (5) exceeded';
const TOKEN_TOO_SHORT = 'Verification token is too short (minimum is 16 characters)';
const TOKEN_TOO_LONG = 'Verification token is too long (maximum is 24 characters)';
const TOKEN_TAKEN = 'Verification token has already been taken';
const NAME_TOO_LONG = 'Name is too long (maximum is 72 characters)';
const NAME_TAKEN = 'Name has already been taken';
const MAX_HEADERS = 'Headers are limited to 20 per destination';
const KEY_BLANK = "Key can't be blank";
const VALUE_BLANK = "Value can't be blank";
const KEY_IS_TOKEN_HEADER = 'Key cannot be X-Gitlab-Event-Streaming-Token';
// Ours, beyond GitLab (which saves such headers and then fails every delivery).
const KEY_NOT_A_HEADER_NAME =
  "Key must be an HTTP header name: letters, digits and !#$%&'*+-.^_`|~ only";
const VALUE_NOT_PRINTABLE = 'Value must contain printable ASCII characters only';
const KEY_TAKEN = 'Key has already been taken';
const KEY_TOO_LONG = 'Key is too long (maximum is 255 characters)';
const VALUE_TOO_LONG = 'Value is too long (maximum is 2000 characters)';
const ACTIVE_NOT_BOOLEAN = 'Active must be a boolean value';
const FILTERS_EMPTY = 'event type filters must be present';
const unknownEventType = (x: string) =>
  `Validation failed: Audit event type with value ${x} is undefined.`;
const missingFilters = (list: string) =>
  `Couldn't find event type filters where audit event type(s): ${list}`;
const ONE_PATH = 'One and only one of [groupPath, projectPath] arguments is required.';
const GROUP_PATH_INVALID = 'group_path is invalid';
const PROJECT_PATH_INVALID = 'project_path is invalid';
const FILTER_TAKEN = 'External audit event destination has already been taken';
const OUTSIDE_GROUP =
  'External audit event destination does not belong to the top-level group of the namespace.';

// --- GraphQL documents ------------------------------------------------------------------------

const DESTINATION_FIELDS = `
  id destinationUrl name active verificationToken eventTypeFilters
  group { fullPath }
  headers { nodes { id key value active } }
  namespaceFilter { id }
`;

const CREATE = `
  mutation ($input: ExternalAuditEventDestinationCreateInput!) {
    externalAuditEventDestinationCreate(input: $input) {
      errors
      externalAuditEventDestination { ${DESTINATION_FIELDS} }
    }
  }`;

const UPDATE = `
  mutation ($input: ExternalAuditEventDestinationUpdateInput!) {
    externalAuditEventDestinationUpdate(input: $input) {
      errors
      externalAuditEventDestination { ${DESTINATION_FIELDS} }
    }
  }`;

const HEADER_CREATE = `
  mutation ($input: AuditEventsStreamingHeadersCreateInput!) {
    auditEventsStreamingHeadersCreate(input: $input) {
      errors
      header { id key value active }
    }
  }`;

const HEADER_UPDATE = `
  mutation ($input: AuditEventsStreamingHeadersUpdateInput!) {
    auditEventsStreamingHeadersUpdate(input: $input) {
      errors
      header { id key value active }
    }
  }`;

const EVENTS_ADD = `
  mutation ($input: AuditEventsStreamingDestinationEventsAddInput!) {
    auditEventsStreamingDestinationEventsAdd(input: $input) {
      errors
      eventTypeFilters
    }
  }`;

const EVENTS_REMOVE = `
  mutation ($input: AuditEventsStreamingDestinationEventsRemoveInput!) {
    auditEventsStreamingDestinationEventsRemove(input: $input) {
      errors
    }
  }`;

const NAMESPACE_FILTER_ADD = `
  mutation ($input: AuditEventsStreamingHTTPNamespaceFiltersAddInput!) {
    auditEventsStreamingHttpNamespaceFiltersAdd(input: $input) {
      errors
      namespaceFilter { id namespace { fullPath } }
    }
  }`;

const DESTINATIONS_OF = `
  query ($fullPath: ID!) {
    group(fullPath: $fullPath) {
      externalAuditEventDestinations { nodes { id destinationUrl name } }
    }
  }`;

type User = { id: number; username: string; token: string };
type Destination = {
  id: string;
  destinationUrl: string;
  name: string;
  active: boolean;
  verificationToken: string;
  eventTypeFilters: string[];
  group: { fullPath: string };
  headers: { nodes: { id: string; key: string; value: string; active: boolean }[] };
  namespaceFilter: { id: string } | null;
};

function writeFlagFile(dir: string): string {
  const file = join(dir, 'unleash-bootstrap.json');
  writeFileSync(
    file,
    JSON.stringify({
      version: 1,
      features: [{ name: FLAG, enabled: true, strategies: [{ name: 'default' }] }],
    }),
  );
  return file;
}

/** Helpers bound to one app and one caller. */
function client(t: TestApp, token: string) {
  /**
   * Runs a mutation expected to pass authorization: HTTP 200, no top-level errors, and the
   * payload under `data[field]`.
   */
  async function mutate(
    document: string,
    field: string,
    input: Record<string, unknown>,
  ): Promise<Record<string, any>> {
    const res = await t.graphql(document, { input }, token);
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    const payload = res.body.data[field];
    expect(payload).not.toBeNull();
    return payload;
  }

  /** A mutation that must fail validation with exactly `errors`, `objectField` null. */
  async function rejects(
    document: string,
    field: string,
    objectField: string | null,
    input: Record<string, unknown>,
    errors: string[],
  ): Promise<void> {
    const payload = await mutate(document, field, input);
    expect(payload.errors).toEqual(errors);
    if (objectField) expect(payload[objectField]).toBeNull();
  }

  async function create(input: Record<string, unknown>): Promise<Destination> {
    const payload = await mutate(CREATE, 'externalAuditEventDestinationCreate', input);
    expect(payload.errors).toEqual([]);
    expect(payload.externalAuditEventDestination).not.toBeNull();
    return payload.externalAuditEventDestination;
  }

  const rejectCreate = (input: Record<string, unknown>, errors: string[]) =>
    rejects(
      CREATE,
      'externalAuditEventDestinationCreate',
      'externalAuditEventDestination',
      input,
      errors,
    );

  async function createHeader(input: Record<string, unknown>) {
    const payload = await mutate(HEADER_CREATE, 'auditEventsStreamingHeadersCreate', input);
    expect(payload.errors).toEqual([]);
    return payload.header as { id: string; key: string; value: string; active: boolean };
  }

  async function destinationsOf(fullPath: string): Promise<{ destinationUrl: string }[]> {
    const res = await t.graphql(DESTINATIONS_OF, { fullPath }, token);
    expect(res.body.errors).toBeUndefined();
    return res.body.data.group.externalAuditEventDestinations.nodes;
  }

  return { mutate, rejects, create, rejectCreate, createHeader, destinationsOf };
}

describe('destination validation (GITLAB-CONTRACT.md §4)', () => {
  let dir: string;
  let t: TestApp; // local requests not allowed (the default)
  let local: TestApp; // AUDIT_STREAMING_ALLOW_LOCAL_REQUESTS=true
  let owner: User;
  let localOwner: User;
  let api: ReturnType<typeof client>;
  let localApi: ReturnType<typeof client>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aes-validation-'));
    const bootstrap = writeFlagFile(dir);
    t = await startTestApp({ env: { UNLEASH_BOOTSTRAP: bootstrap } });
    local = await startTestApp({
      env: { UNLEASH_BOOTSTRAP: bootstrap, AUDIT_STREAMING_ALLOW_LOCAL_REQUESTS: 'true' },
    });
    owner = await new Rest(t).createUser('owner');
    api = client(t, owner.token);
    localOwner = await new Rest(local).createUser('owner');
    localApi = client(local, localOwner.token);
  });

  afterAll(async () => {
    await t?.close();
    await local?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // ---------------------------------------------------------------------------------------------
  describe('destination URL', () => {
    let groupPath: string;

    beforeAll(async () => {
      groupPath = (await new Rest(t).createGroup(owner.token, 'urls')).full_path;
    });

    const tooLong = `https://x.example/${'a'.repeat(255 - 'https://x.example/'.length + 1)}`;

    it.each([
      // scheme
      ['ftp://x.example/ingest', [SCHEME]],
      ['file:///etc/passwd', [SCHEME]],
      ['gopher://x.example/', [SCHEME]],
      ['javascript:alert(1)', [SCHEME]],
      // localhost
      ['http://localhost/', [LOCALHOST]],
      ['http://LOCALHOST:8080/ingest', [LOCALHOST]],
      ['http://localhost./', [LOCALHOST]], // trailing dot
      ['http://api.localhost/', [LOCALHOST]],
      // loopback, in every spelling an HTTP client accepts
      ['http://127.0.0.1/', [LOOPBACK]],
      ['http://127.0.0.1:9/', [LOOPBACK]],
      ['http://[::1]/', [LOOPBACK]],
      ['http://2130706433/', [LOOPBACK]], // decimal
      ['http://0177.0.0.1/', [LOOPBACK]], // octal
      ['http://0x7f.0.0.1/', [LOOPBACK]], // hex
      ['http://0x7f000001/', [LOOPBACK]], // hex, one number
      ['http://127.1/', [LOOPBACK]], // short form
      ['http://[::ffff:127.0.0.1]/', [LOOPBACK]], // IPv4-mapped IPv6
      // local network: private, CGNAT, multicast, unspecified
      ['http://10.0.0.1/', [LOCAL_NETWORK]],
      ['http://172.16.0.1/', [LOCAL_NETWORK]],
      ['http://192.168.1.1/', [LOCAL_NETWORK]],
      ['http://[fd00::1]/', [LOCAL_NETWORK]],
      ['http://100.64.0.1/', [LOCAL_NETWORK]], // CGNAT
      ['http://224.0.0.1/', [LOCAL_NETWORK]], // multicast
      ['http://[::]/', [LOCAL_NETWORK]], // unspecified
      ['http://0.0.0.0/', [LOCAL_NETWORK]],
      // link local (cloud metadata)
      ['http://169.254.169.254/', [LINK_LOCAL]],
      ['http://169.254.169.254/latest/meta-data/', [LINK_LOCAL]],
      ['http://[fe80::1]/', [LINK_LOCAL]],
      // credentials in the URL: refused outright (they are the classic way to hide the host)
      ['http://user:pass@127.0.0.1/', [INVALID]],
      ['http://evil.example@127.0.0.1/', [INVALID]],
      // unparsable
      ['http://[::1/', [INVALID]],
      ['https://exa mple.com/', [INVALID]],
      ['http://', [INVALID]],
      // blank
      ['', [URL_BLANK]],
      ['   ', [URL_BLANK]],
      // too long (256 characters)
      [tooLong, [URL_TOO_LONG]],
    ])('refuses %j', async (destinationUrl, errors) => {
      await api.rejectCreate({ destinationUrl, groupPath }, errors);
    });

    it('checks the address a host name resolves to: the machine name (127.0.0.1) is loopback', async () => {
      const name = hostname();
      // This machine's /etc/hosts maps its own name to 127.0.0.1 (checked with `getent hosts`).
      const answers = await lookup(name, { all: true });
      expect(answers.map((a) => a.address)).toContain('127.0.0.1');
      await api.rejectCreate({ destinationUrl: `http://${name}/ingest`, groupPath }, [LOOPBACK]);
      await api.rejectCreate({ destinationUrl: `http://${name.toUpperCase()}./`, groupPath }, [
        LOOPBACK,
      ]);
    });

    it('nothing was stored by the refusals above', async () => {
      expect(await api.destinationsOf(groupPath)).toEqual([]);
    });

    it('accepts a name that does not resolve (it is checked again at send time)', async () => {
      const created = await api.create({
        destinationUrl: 'https://does-not-exist.invalid/',
        groupPath,
      });
      expect(created.destinationUrl).toBe('https://does-not-exist.invalid/');
    });

    it('accepts a URL of exactly 255 characters', async () => {
      const url = tooLong.slice(0, 255);
      expect(url).toHaveLength(255);
      const created = await api.create({ destinationUrl: url, groupPath });
      expect(created.destinationUrl).toBe(url);
    });

    describe('with AUDIT_STREAMING_ALLOW_LOCAL_REQUESTS=true', () => {
      let localGroup: string;

      beforeAll(async () => {
        localGroup = (await new Rest(local).createGroup(localOwner.token, 'local-urls')).full_path;
      });

      it.each(['http://127.0.0.1:9/', 'http://localhost:9/ingest', 'http://10.0.0.1/'])(
        'accepts %s',
        async (destinationUrl) => {
          const created = await localApi.create({ destinationUrl, groupPath: localGroup });
          expect(created.destinationUrl).toBe(destinationUrl);
        },
      );

      it('still refuses other schemes and credentials', async () => {
        await localApi.rejectCreate({ destinationUrl: 'ftp://127.0.0.1/', groupPath: localGroup }, [
          SCHEME,
        ]);
        await localApi.rejectCreate(
          { destinationUrl: 'http://user:pass@127.0.0.1/', groupPath: localGroup },
          [INVALID],
        );
      });
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('create: uniqueness, defaults, subgroup, limit, token, name', () => {
    let groupPath: string;
    let groupId: number;

    beforeAll(async () => {
      const group = await new Rest(t).createGroup(owner.token, 'taken');
      groupPath = group.full_path;
      groupId = group.id;
    });

    it('strips surrounding whitespace and then finds the URL taken', async () => {
      const first = await api.create({ destinationUrl: ' https://x.example/a ', groupPath });
      expect(first.destinationUrl).toBe('https://x.example/a');
      await api.rejectCreate({ destinationUrl: 'https://x.example/a', groupPath }, [URL_TAKEN]);
      await api.rejectCreate({ destinationUrl: '\thttps://x.example/a\n', groupPath }, [URL_TAKEN]);
    });

    it('defaults the name to Destination_<uuid> and the token to 24 base58 characters', async () => {
      const created = await api.create({ destinationUrl: 'https://x.example/defaults', groupPath });
      expect(created.name).toMatch(
        /^Destination_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      );
      expect(created.verificationToken).toMatch(
        /^[123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz]{24}$/,
      );
      expect(created.active).toBe(true);
      expect(created.eventTypeFilters).toEqual([]);
    });

    it('refuses a token reused in the group and a name reused in the group', async () => {
      await api.create({
        destinationUrl: 'https://x.example/token',
        groupPath,
        name: 'Splunk',
        verificationToken: 'a'.repeat(16),
      });
      await api.rejectCreate(
        {
          destinationUrl: 'https://x.example/token-again',
          groupPath,
          verificationToken: 'a'.repeat(16),
        },
        [TOKEN_TAKEN],
      );
      await api.rejectCreate(
        { destinationUrl: 'https://x.example/name-again', groupPath, name: 'Splunk' },
        [NAME_TAKEN],
      );
    });

    it.each([
      [{ verificationToken: 'a'.repeat(15) }, [TOKEN_TOO_SHORT]],
      [{ verificationToken: 'short' }, [TOKEN_TOO_SHORT]],
      [{ verificationToken: 'b'.repeat(25) }, [TOKEN_TOO_LONG]],
      [{ name: 'n'.repeat(73) }, [NAME_TOO_LONG]],
    ])('refuses %j', async (extra, errors) => {
      await api.rejectCreate(
        { destinationUrl: 'https://x.example/bounds', groupPath, ...extra },
        errors,
      );
    });

    it('refuses a subgroup (its owner passes authorization)', async () => {
      const sub = await new Rest(t).createGroup(owner.token, 'sub', groupId);
      await api.rejectCreate(
        { destinationUrl: 'https://x.example/sub', groupPath: sub.full_path },
        [SUBGROUP],
      );
    });

    it('refuses a sixth destination in a group', async () => {
      const full = (await new Rest(t).createGroup(owner.token, 'full')).full_path;
      for (let i = 1; i <= 5; i++) {
        // tokens of exactly 16 and 24 characters and a 72-character name are accepted
        await api.create({
          destinationUrl: `https://x.example/${i}`,
          groupPath: full,
          ...(i === 1 ? { verificationToken: 'c'.repeat(16) } : {}),
          ...(i === 2 ? { verificationToken: 'd'.repeat(24) } : {}),
          ...(i === 3 ? { name: 'n'.repeat(72) } : {}),
        });
      }
      await api.rejectCreate({ destinationUrl: 'https://x.example/6', groupPath: full }, [
        MAX_DESTINATIONS,
      ]);
      expect(await api.destinationsOf(full)).toHaveLength(5);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('update', () => {
    let groupPath: string;
    let destination: Destination;

    const rejectUpdate = (input: Record<string, unknown>, errors: string[]) =>
      api.rejects(
        UPDATE,
        'externalAuditEventDestinationUpdate',
        'externalAuditEventDestination',
        { id: destination.id, ...input },
        errors,
      );

    beforeAll(async () => {
      groupPath = (await new Rest(t).createGroup(owner.token, 'updates')).full_path;
      await api.create({ destinationUrl: 'https://x.example/other', groupPath, name: 'Other' });
      destination = await api.create({
        destinationUrl: 'https://x.example/mine',
        groupPath,
        name: 'Mine',
      });
    });

    it.each([
      [{ destinationUrl: 'ftp://x.example/' }, [SCHEME]],
      [{ destinationUrl: 'http://127.0.0.1/' }, [LOOPBACK]],
      [{ destinationUrl: 'http://169.254.169.254/' }, [LINK_LOCAL]],
      [{ destinationUrl: '' }, [URL_BLANK]],
      [{ destinationUrl: 'https://x.example/other' }, [URL_TAKEN]],
      [{ destinationUrl: ' https://x.example/other ' }, [URL_TAKEN]],
      [{ name: 'n'.repeat(73) }, [NAME_TOO_LONG]],
      [{ name: 'Other' }, [NAME_TAKEN]],
      [{ active: null }, [ACTIVE_NOT_BOOLEAN]],
    ])('refuses %j', async (input, errors) => {
      await rejectUpdate(input, errors);
    });

    it('changed nothing', async () => {
      const nodes = await api.destinationsOf(groupPath);
      expect(nodes).toEqual([
        expect.objectContaining({ destinationUrl: 'https://x.example/other', name: 'Other' }),
        expect.objectContaining({ destinationUrl: 'https://x.example/mine', name: 'Mine' }),
      ]);
    });

    it('strips whitespace from an updated URL', async () => {
      const payload = await api.mutate(UPDATE, 'externalAuditEventDestinationUpdate', {
        id: destination.id,
        destinationUrl: '  https://x.example/mine-2  ',
      });
      expect(payload.errors).toEqual([]);
      expect(payload.externalAuditEventDestination.destinationUrl).toBe('https://x.example/mine-2');
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('headers', () => {
    let groupPath: string;
    let destination: Destination;

    const rejectHeader = (input: Record<string, unknown>, errors: string[]) =>
      api.rejects(
        HEADER_CREATE,
        'auditEventsStreamingHeadersCreate',
        'header',
        { destinationId: destination.id, ...input },
        errors,
      );

    beforeAll(async () => {
      groupPath = (await new Rest(t).createGroup(owner.token, 'headers')).full_path;
      destination = await api.create({ destinationUrl: 'https://x.example/h', groupPath });
    });

    it.each([
      [{ key: '', value: 'v' }, [KEY_BLANK]],
      [{ key: '   ', value: 'v' }, [KEY_BLANK]],
      [{ key: 'X-Key', value: '' }, [VALUE_BLANK]],
      [{ key: 'X-Key', value: '  ' }, [VALUE_BLANK]],
      [{ key: 'X-Gitlab-Event-Streaming-Token', value: 'v' }, [KEY_IS_TOKEN_HEADER]],
      [{ key: 'x-gitlab-event-streaming-token', value: 'v' }, [KEY_IS_TOKEN_HEADER]],
      [{ key: 'X-GITLAB-EVENT-STREAMING-TOKEN', value: 'v' }, [KEY_IS_TOKEN_HEADER]],
      [{ key: 'X Key', value: 'v' }, [KEY_NOT_A_HEADER_NAME]],
      [{ key: 'X-Key:', value: 'v' }, [KEY_NOT_A_HEADER_NAME]],
      [{ key: 'X-Clé', value: 'v' }, [KEY_NOT_A_HEADER_NAME]],
      [{ key: 'X-Key', value: 'one\r\nX-Injected: two' }, [VALUE_NOT_PRINTABLE]],
      [{ key: 'X-Key', value: 'café 🎉' }, [VALUE_NOT_PRINTABLE]],
      [{ key: 'k'.repeat(256), value: 'v' }, [KEY_TOO_LONG]],
      [{ key: 'X-Key', value: 'v'.repeat(2001) }, [VALUE_TOO_LONG]],
      [{ key: 'X-Key', value: 'v', active: null }, [ACTIVE_NOT_BOOLEAN]],
    ])('create refuses %j', async (input, errors) => {
      await rejectHeader(input, errors);
    });

    it('accepts a key of 255 and a value of 2000 characters', async () => {
      const header = await api.createHeader({
        destinationId: destination.id,
        key: 'k'.repeat(255),
        value: 'v'.repeat(2000),
      });
      expect(header.key).toHaveLength(255);
      expect(header.value).toHaveLength(2000);
      expect(header.active).toBe(true);
    });

    it('refuses a duplicate key on the same destination', async () => {
      await api.createHeader({ destinationId: destination.id, key: 'X-Dup', value: 'one' });
      await rejectHeader({ key: 'X-Dup', value: 'two' }, [KEY_TAKEN]);
    });

    describe('update', () => {
      let header: { id: string };

      beforeAll(async () => {
        header = await api.createHeader({
          destinationId: destination.id,
          key: 'X-Update-Me',
          value: 'v',
        });
      });

      it.each([
        [{ key: '' }, [KEY_BLANK]],
        [{ value: '' }, [VALUE_BLANK]],
        [{ key: 'x-Gitlab-Event-Streaming-TOKEN' }, [KEY_IS_TOKEN_HEADER]],
        [{ key: 'X-Dup' }, [KEY_TAKEN]],
        [{ key: 'k'.repeat(256) }, [KEY_TOO_LONG]],
        [{ value: 'v'.repeat(2001) }, [VALUE_TOO_LONG]],
        [{ active: null }, [ACTIVE_NOT_BOOLEAN]],
      ])('refuses %j', async (input, errors) => {
        await api.rejects(
          HEADER_UPDATE,
          'auditEventsStreamingHeadersUpdate',
          'header',
          { headerId: header.id, ...input },
          errors,
        );
      });
    });

    it('refuses a 21st header (checked on each header create)', async () => {
      const full = await api.create({ destinationUrl: 'https://x.example/many', groupPath });
      for (let i = 1; i <= 20; i++)
        await api.createHeader({ destinationId: full.id, key: `X-H-${i}`, value: `v${i}` });
      await api.rejects(
        HEADER_CREATE,
        'auditEventsStreamingHeadersCreate',
        'header',
        { destinationId: full.id, key: 'X-H-21', value: 'v21' },
        [MAX_HEADERS],
      );
      // an inactive header counts too
      await api.rejects(
        HEADER_CREATE,
        'auditEventsStreamingHeadersCreate',
        'header',
        { destinationId: full.id, key: 'X-H-22', value: 'v22', active: false },
        [MAX_HEADERS],
      );
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('event type filters', () => {
    let destination: Destination;

    beforeAll(async () => {
      const groupPath = (await new Rest(t).createGroup(owner.token, 'filters')).full_path;
      destination = await api.create({ destinationUrl: 'https://x.example/f', groupPath });
    });

    it.each([
      [[], [FILTERS_EMPTY]],
      [['no_such_event'], [unknownEventType('no_such_event')]],
      [['group_created', 'no_such_event'], [unknownEventType('no_such_event')]],
    ])('add refuses %j', async (eventTypeFilters, errors) => {
      await api.rejects(
        EVENTS_ADD,
        'auditEventsStreamingDestinationEventsAdd',
        'eventTypeFilters',
        { destinationId: destination.id, eventTypeFilters },
        errors,
      );
    });

    it('remove refuses filters that are not there, naming every missing one', async () => {
      await api.rejects(
        EVENTS_REMOVE,
        'auditEventsStreamingDestinationEventsRemove',
        null,
        { destinationId: destination.id, eventTypeFilters: ['a', 'b'] },
        [missingFilters('a, b')],
      );
      const added = await api.mutate(EVENTS_ADD, 'auditEventsStreamingDestinationEventsAdd', {
        destinationId: destination.id,
        eventTypeFilters: ['group_created'],
      });
      expect(added.eventTypeFilters).toEqual(['group_created']);
      await api.rejects(
        EVENTS_REMOVE,
        'auditEventsStreamingDestinationEventsRemove',
        null,
        { destinationId: destination.id, eventTypeFilters: ['group_created', 'project_created'] },
        [missingFilters('project_created')],
      );
      // the refused removal removed nothing
      const nodes = await t.graphql(
        `query { group(fullPath: "filters") { externalAuditEventDestinations { nodes { eventTypeFilters } } } }`,
        {},
        owner.token,
      );
      expect(nodes.body.data.group.externalAuditEventDestinations.nodes).toEqual([
        { eventTypeFilters: ['group_created'] },
      ]);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('namespace filters', () => {
    let destination: Destination;
    let taken: Destination;

    const rejectFilter = (input: Record<string, unknown>, errors: string[]) =>
      api.rejects(
        NAMESPACE_FILTER_ADD,
        'auditEventsStreamingHttpNamespaceFiltersAdd',
        'namespaceFilter',
        input,
        errors,
      );

    beforeAll(async () => {
      const rest = new Rest(t);
      const root = await rest.createGroup(owner.token, 'ns-root');
      const child = await rest.createGroup(owner.token, 'child', root.id);
      await rest.createProject(owner.token, 'app', child.id);
      const other = await rest.createGroup(owner.token, 'ns-other');
      await rest.createProject(owner.token, 'elsewhere', other.id);
      destination = await api.create({
        destinationUrl: 'https://x.example/ns',
        groupPath: 'ns-root',
      });
      taken = await api.create({ destinationUrl: 'https://x.example/ns-2', groupPath: 'ns-root' });
      const added = await api.mutate(
        NAMESPACE_FILTER_ADD,
        'auditEventsStreamingHttpNamespaceFiltersAdd',
        { destinationId: taken.id, groupPath: 'ns-root/child' },
      );
      expect(added.errors).toEqual([]);
    });

    it.each([
      [{ groupPath: 'ns-root/child', projectPath: 'ns-root/child/app' }, [ONE_PATH]],
      [{}, [ONE_PATH]],
      [{ groupPath: null, projectPath: null }, [ONE_PATH]],
      [{ groupPath: 'no-such-group' }, [GROUP_PATH_INVALID]],
      [{ projectPath: 'ns-root/child/no-such-project' }, [PROJECT_PATH_INVALID]],
      [{ groupPath: 'ns-other' }, [OUTSIDE_GROUP]],
      [{ projectPath: 'ns-other/elsewhere' }, [OUTSIDE_GROUP]],
    ])('refuses %j', async (input, errors) => {
      await rejectFilter({ destinationId: destination.id, ...input }, errors);
    });

    it('refuses a second filter on a destination that has one', async () => {
      await rejectFilter({ destinationId: taken.id, groupPath: 'ns-root' }, [FILTER_TAKEN]);
      await rejectFilter({ destinationId: taken.id, projectPath: 'ns-root/child/app' }, [
        FILTER_TAKEN,
      ]);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('global ID coercion: top-level errors', () => {
    let destination: Destination;
    let groupId: number;

    beforeAll(async () => {
      const group = await new Rest(t).createGroup(owner.token, 'ids');
      groupId = group.id;
      destination = await api.create({ destinationUrl: 'https://x.example/ids', groupPath: 'ids' });
    });

    /** Coercion fails before any resolver runs: a top-level error and no data for the field. */
    function expectCoercionError(body: any, message: string) {
      expect(body.errors).toEqual([expect.objectContaining({ message: expect.any(String) })]);
      expect(body.errors[0].message).toContain(message);
      expect(body.data?.externalAuditEventDestinationUpdate ?? null).toBeNull();
    }

    const badIds = () => [
      ['not-a-gid', '"not-a-gid" is not a valid Global ID'],
      ['', '"" is not a valid Global ID'],
      [
        'gid://gitlab/AuditEvents::ExternalAuditEventDestination/abc',
        '"gid://gitlab/AuditEvents::ExternalAuditEventDestination/abc" is not a valid Global ID',
      ],
      [
        `gid://gitlab/Group/1`,
        'Expected a AuditEvents::ExternalAuditEventDestination ID, got gid://gitlab/Group/1',
      ],
      [
        'gid://gitlab/AuditEvents::Streaming::Header/1',
        'Expected a AuditEvents::ExternalAuditEventDestination ID, got gid://gitlab/AuditEvents::Streaming::Header/1',
      ],
    ];

    it.each(badIds())('via variables: %j', async (id, message) => {
      const res = await t.graphql(UPDATE, { input: { id, name: 'x' } }, owner.token);
      expectCoercionError(res.body, message);
    });

    it.each(badIds())('via literals: %j', async (id, message) => {
      const res = await t.graphql(
        `mutation { externalAuditEventDestinationUpdate(input: { id: ${JSON.stringify(id)}, name: "x" }) { errors } }`,
        {},
        owner.token,
      );
      expectCoercionError(res.body, message);
    });

    it.each([
      [
        'auditEventsStreamingHeadersDestroy',
        'AuditEventsStreamingHeadersDestroyInput',
        'headerId',
        'Expected a AuditEvents::Streaming::Header ID, got gid://gitlab/Group/1',
      ],
      [
        'auditEventsStreamingHttpNamespaceFiltersDelete',
        'AuditEventsStreamingHTTPNamespaceFiltersDeleteInput',
        'namespaceFilterId',
        'Expected a AuditEvents::Streaming::HTTP::NamespaceFilter ID, got gid://gitlab/Group/1',
      ],
      [
        'auditEventsStreamingHeadersCreate',
        'AuditEventsStreamingHeadersCreateInput',
        'destinationId',
        'Expected a AuditEvents::ExternalAuditEventDestination ID, got gid://gitlab/Group/1',
      ],
    ])('%s refuses a Group ID for %s.%s', async (mutation, inputType, field, message) => {
      const extra =
        mutation === 'auditEventsStreamingHeadersCreate' ? { key: 'k', value: 'v' } : {};
      const viaVariables = await t.graphql(
        `mutation ($input: ${inputType}!) { ${mutation}(input: $input) { errors } }`,
        { input: { [field]: 'gid://gitlab/Group/1', ...extra } },
        owner.token,
      );
      expect(viaVariables.body.errors).toHaveLength(1);
      expect(viaVariables.body.errors[0].message).toContain(message);
      const literalExtra = Object.entries(extra)
        .map(([k, v]) => `, ${k}: ${JSON.stringify(v)}`)
        .join('');
      const viaLiteral = await t.graphql(
        `mutation { ${mutation}(input: { ${field}: "gid://gitlab/Group/1"${literalExtra} }) { errors } }`,
        {},
        owner.token,
      );
      expect(viaLiteral.body.errors).toHaveLength(1);
      expect(viaLiteral.body.errors[0].message).toBe(message);
    });

    it('a well-formed ID still reaches the resolver', async () => {
      expect(groupId).toBeGreaterThan(0);
      const payload = await api.mutate(UPDATE, 'externalAuditEventDestinationUpdate', {
        id: destination.id,
        name: 'Renamed',
      });
      expect(payload.errors).toEqual([]);
      expect(payload.externalAuditEventDestination.name).toBe('Renamed');
    });
  });
});
