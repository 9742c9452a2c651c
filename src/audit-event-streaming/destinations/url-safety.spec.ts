import * as http from 'node:http';
import * as net from 'node:net';
import { AddressInfo } from 'node:net';
import {
  blockedAddressReason,
  LookupAll,
  resolveSafeAddress,
  safeLookup,
  UrlBlockedError,
  UrlSafetyPolicy,
  validateDestinationUrl,
} from './url-safety';

const BLANK = "Destination url can't be blank";
const TOO_LONG = 'Destination url is too long (maximum is 255 characters)';
const SCHEME = 'Destination url is blocked: Only allowed schemes are http, https';
const INVALID = 'Destination url is blocked: URI is invalid';
const LOCALHOST = 'Destination url is blocked: Requests to localhost are not allowed';
const LOOPBACK = 'Destination url is blocked: Requests to loopback addresses are not allowed';
const LOCAL_NETWORK = 'Destination url is blocked: Requests to the local network are not allowed';
const LINK_LOCAL = 'Destination url is blocked: Requests to the link local network are not allowed';

const PUBLIC_V4 = '93.184.216.34';
const PUBLIC_V6 = '2606:2800:220:1:248:1893:25c8:1946';

/** Fake DNS: names map to their answers; anything else fails like getaddrinfo does. */
const DNS: Record<string, string[]> = {
  'public.example': [PUBLIC_V4],
  'evil.com': [PUBLIC_V4],
  'dual.example': [PUBLIC_V6, PUBLIC_V4],
  'internal.example': ['10.0.0.5'],
  'api.internal.example': ['10.0.0.6'],
  'metadata.example': ['169.254.169.254'],
  'mapped.example': ['::ffff:192.168.0.1'],
  'ula.example': ['fd00::1'],
  '127.0.0.1.nip.io': ['127.0.0.1'],
  'rebind.example': [PUBLIC_V4, '127.0.0.1'],
  'rebind6.example': [PUBLIC_V4, '::1'],
  'empty.example': [],
};

function dnsError(code: string, hostname: string): Error {
  return Object.assign(new Error(`getaddrinfo ${code} ${hostname}`), {
    code,
    syscall: 'getaddrinfo',
    hostname,
  });
}

function fakeLookup(table: Record<string, string[]> = DNS): jest.MockedFunction<LookupAll> {
  return jest.fn(async (hostname: string) => {
    const name = hostname.toLowerCase().replace(/\.$/, '');
    if (name === 'flaky.example') throw dnsError('EAI_AGAIN', hostname);
    const answers = table[name];
    if (!answers) throw dnsError('ENOTFOUND', hostname);
    return answers.map((address) => ({ address, family: net.isIP(address) as 4 | 6 }));
  });
}

const strict: UrlSafetyPolicy = { allowLocalRequests: false, allowedHosts: [] };
const permissive: UrlSafetyPolicy = { allowLocalRequests: true, allowedHosts: [] };

describe('validateDestinationUrl', () => {
  const validate = (raw: string, policy = strict) =>
    validateDestinationUrl(raw, policy, fakeLookup());

  describe('blank', () => {
    it.each(['', '   ', '\n\t '])('%j is only blank', async (raw) => {
      expect(await validate(raw)).toEqual({ url: '', errors: [BLANK] });
    });
  });

  it('trims surrounding whitespace and returns the trimmed url', async () => {
    expect(await validate('  https://public.example/hook?x=1 \n')).toEqual({
      url: 'https://public.example/hook?x=1',
      errors: [],
    });
  });

  describe('length', () => {
    const withLength = (host: string, length: number) => {
      const prefix = `https://${host}/`;
      return prefix + 'a'.repeat(length - prefix.length);
    };

    it('accepts exactly 255 characters', async () => {
      expect((await validate(withLength('public.example', 255))).errors).toEqual([]);
    });

    it('refuses 256 characters', async () => {
      expect((await validate(withLength('public.example', 256))).errors).toEqual([TOO_LONG]);
    });

    it('counts characters, not UTF-16 units', async () => {
      const url = 'https://public.example/' + '😀'.repeat(255 - 'https://public.example/'.length);
      expect((await validate(url)).errors).toEqual([]);
    });

    it('reports the blocked url first, then the length (GitLab order)', async () => {
      expect((await validate(withLength('127.0.0.1', 300))).errors).toEqual([LOOPBACK, TOO_LONG]);
    });
  });

  // [input, expected errors]; each row is checked under the strict policy.
  const strictCases: [string, string[]][] = [
    // Schemes
    ['ftp://public.example/', [SCHEME]],
    ['file:///etc/passwd', [SCHEME]],
    ['gopher://public.example:70/', [SCHEME]],
    ['ws://public.example/', [SCHEME]],
    ['javascript:alert(1)', [SCHEME]],
    // Unparsable or without host
    ['not a url', [INVALID]],
    ['public.example/hook', [INVALID]],
    ['http://', [INVALID]],
    ['http:///', [INVALID]],
    ['http://./', [INVALID]],
    ['http://1.1.1.1.1/', [INVALID]],
    ['http://[fe80::1%25eth0]/', [INVALID]],
    ['http://exa mple.com/', [INVALID]],
    ['http://public.example/a b', [INVALID]],
    ['http://a\tb.example/', [INVALID]],
    ['http://public.example/\u0001', [INVALID]],
    // Userinfo, however it is spelled
    ['http://user:pass@127.0.0.1/', [INVALID]],
    ['http://evil.com@127.0.0.1/', [INVALID]],
    ['http://user:pass@public.example/', [INVALID]],
    ['http://user@public.example/', [INVALID]],
    ['http://@public.example/', [INVALID]],
    ['http://:@public.example/', [INVALID]],
    // Localhost names
    ['http://localhost/', [LOCALHOST]],
    ['HTTP://LOCALHOST/', [LOCALHOST]],
    ['http://localhost./', [LOCALHOST]],
    ['http://localhost../', [LOCALHOST]],
    ['http://LocalHost:8080/x', [LOCALHOST]],
    ['http://api.localhost/', [LOCALHOST]],
    // Loopback, in every spelling
    ['http://127.0.0.1/', [LOOPBACK]],
    ['http://127.0.0.1./', [LOOPBACK]],
    ['http://127.1/', [LOOPBACK]],
    ['http://2130706433/', [LOOPBACK]],
    ['http://0177.0.0.1/', [LOOPBACK]],
    ['http://0x7f.1/', [LOOPBACK]],
    ['http://0x7f000001/', [LOOPBACK]],
    ['http://127.255.255.254:9200/', [LOOPBACK]],
    ['http://[::1]/', [LOOPBACK]],
    ['http://[0:0:0:0:0:0:0:1]/', [LOOPBACK]],
    ['http://[::ffff:127.0.0.1]/', [LOOPBACK]],
    ['http://[::ffff:7f00:1]/', [LOOPBACK]],
    ['http://127.0.0.1.nip.io/', [LOOPBACK]],
    // Local network
    ['http://10.0.0.1/', [LOCAL_NETWORK]],
    ['http://172.16.0.1/', [LOCAL_NETWORK]],
    ['http://172.31.255.255/', [LOCAL_NETWORK]],
    ['http://192.168.1.1/', [LOCAL_NETWORK]],
    ['http://100.64.0.1/', [LOCAL_NETWORK]],
    ['http://0.0.0.0/', [LOCAL_NETWORK]],
    ['http://0/', [LOCAL_NETWORK]],
    ['http://224.0.0.1/', [LOCAL_NETWORK]],
    ['http://255.255.255.255/', [LOCAL_NETWORK]],
    ['http://240.0.0.1/', [LOCAL_NETWORK]],
    ['http://[::]/', [LOCAL_NETWORK]],
    ['http://[fc00::1]/', [LOCAL_NETWORK]],
    ['http://[fd12:3456::1]/', [LOCAL_NETWORK]],
    ['http://[fec0::1]/', [LOCAL_NETWORK]],
    ['http://[ff02::1]/', [LOCAL_NETWORK]],
    ['http://[::ffff:10.0.0.1]/', [LOCAL_NETWORK]],
    ['http://[::ffff:0:a00:1]/', [LOCAL_NETWORK]], // IPv4-translated (RFC 6145)
    ['http://[::127.0.0.1]/', [LOCAL_NETWORK]], // IPv4-compatible
    ['http://[::10.0.0.1]/', [LOCAL_NETWORK]],
    ['http://[64:ff9b::7f00:1]/', [LOCAL_NETWORK]], // NAT64 of 127.0.0.1
    ['http://[64:ff9b::a00:1]/', [LOCAL_NETWORK]], // NAT64 of 10.0.0.1
    ['http://[64:ff9b:1::808:808]/', [LOCAL_NETWORK]], // local-use NAT64 prefix
    ['http://[2002:7f00:1::1]/', [LOCAL_NETWORK]], // 6to4 of 127.0.0.1
    ['http://[2002:c0a8:101::1]/', [LOCAL_NETWORK]], // 6to4 of 192.168.1.1
    ['http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/', [LOCAL_NETWORK]], // Teredo, client 127.0.0.1
    ['http://internal.example/', [LOCAL_NETWORK]],
    ['http://api.internal.example/', [LOCAL_NETWORK]],
    ['http://mapped.example/', [LOCAL_NETWORK]],
    ['http://ula.example/', [LOCAL_NETWORK]],
    // Link local, including cloud metadata
    ['http://169.254.169.254/latest/meta-data', [LINK_LOCAL]],
    ['http://169.254.0.1/', [LINK_LOCAL]],
    ['http://[fe80::1]/', [LINK_LOCAL]],
    ['http://[::ffff:169.254.169.254]/', [LINK_LOCAL]],
    ['http://metadata.example/computeMetadata/v1/', [LINK_LOCAL]],
    // Rebinding: one good and one bad answer is refused
    ['http://rebind.example/', [LOOPBACK]],
    ['http://rebind6.example/', [LOOPBACK]],
    // Public destinations
    ['https://public.example/hook', []],
    ['HTTPS://PUBLIC.EXAMPLE./hook', []],
    ['http://dual.example:8443/', []],
    [`https://${PUBLIC_V4}/`, []],
    ['http://8.8.8.8:8080/x', []],
    ['http://[2606:4700::1111]/', []],
    ['http://[::ffff:8.8.8.8]/', []],
    ['http://[64:ff9b::808:808]/', []], // NAT64 of a public address (DNS64 networks)
    ['http://[2002:808:808::1]/', []], // 6to4 of a public address
    ['http://evil.com\\@127.0.0.1/', []], // WHATWG: host is evil.com, "@127.0.0.1" is the path
    // Names that do not resolve (yet) are accepted at validation time
    ['https://unknown.example/', []],
    ['https://flaky.example/', []],
    ['https://empty.example/', []],
  ];

  it.each(strictCases)('%s -> %j', async (raw, errors) => {
    expect(await validate(raw)).toEqual({ url: raw, errors });
  });

  describe('allowLocalRequests: true', () => {
    // Every address/localhost refusal above becomes acceptable...
    const addressMessages = [LOCALHOST, LOOPBACK, LOCAL_NETWORK, LINK_LOCAL];
    const addressCases = strictCases.filter(([, errors]) =>
      errors.some((e) => addressMessages.includes(e)),
    );

    it.each(addressCases)('%s is allowed', async (raw) => {
      expect((await validate(raw, permissive)).errors).toEqual([]);
    });

    // ...but the shape rules still apply.
    it.each([
      ['ftp://127.0.0.1/', [SCHEME]],
      ['not a url', [INVALID]],
      ['http://user:pass@127.0.0.1/', [INVALID]],
      ['   ', [BLANK]],
      [`http://127.0.0.1/${'a'.repeat(255)}`, [TOO_LONG]],
    ])('%s -> %j', async (raw, errors) => {
      expect((await validate(raw, permissive)).errors).toEqual(errors);
    });
  });

  describe('allowedHosts', () => {
    it.each([
      // [allowedHosts, url, errors]
      [['internal.example'], 'http://internal.example/', []],
      [['internal.example'], 'http://INTERNAL.Example./', []],
      [['Internal.Example.'], 'http://internal.example/', []],
      [['internal.example'], 'http://api.internal.example/', [LOCAL_NETWORK]], // no subdomains
      [['internal.example'], 'http://10.0.0.1/', [LOCAL_NETWORK]],
      [['localhost'], 'http://localhost:3000/', []],
      [['127.0.0.1'], 'http://127.0.0.1/', []],
      [['127.0.0.1'], 'http://2130706433/', []],
      [['127.0.0.1'], 'http://[::ffff:127.0.0.1]/', []],
      [['127.0.0.1'], 'http://127.0.0.2/', [LOOPBACK]],
      [['127.0.0.1'], 'http://rebind.example/', []], // the bad answer is the allowed one
      [['0:0:0:0:0:0:0:1'], 'http://[::1]/', []],
      [['[::1]'], 'http://[::1]/', []],
      [['10.0.0.5'], 'http://internal.example/', []], // allowed by resolved address
      [['169.254.169.254'], 'http://169.254.169.254/latest/meta-data', []],
      [['public.example'], 'ftp://public.example/', [SCHEME]],
    ] as [string[], string, string[]][])('%j: %s -> %j', async (allowedHosts, raw, errors) => {
      const policy = { allowLocalRequests: false, allowedHosts };
      expect((await validate(raw, policy)).errors).toEqual(errors);
    });
  });

  it('does not resolve IP literals and resolves names once', async () => {
    const lookup = fakeLookup();
    await validateDestinationUrl('http://[::ffff:7f00:1]/', strict, lookup);
    await validateDestinationUrl('http://8.8.8.8/', strict, lookup);
    expect(lookup).not.toHaveBeenCalled();

    await validateDestinationUrl('http://public.example/', strict, lookup);
    expect(lookup).toHaveBeenCalledTimes(1);
    expect(lookup).toHaveBeenCalledWith('public.example');
  });

  it('does not resolve names that are refused by name', async () => {
    const lookup = fakeLookup();
    await validateDestinationUrl('http://localhost/', strict, lookup);
    await validateDestinationUrl('ftp://public.example/', strict, lookup);
    expect(lookup).not.toHaveBeenCalled();
  });
});

describe('resolveSafeAddress', () => {
  const resolve = (url: string, policy = strict, lookup = fakeLookup()) =>
    resolveSafeAddress(new URL(url), policy, lookup);

  it.each([
    ['https://public.example/hook', { address: PUBLIC_V4, family: 4 }],
    ['https://dual.example/', { address: PUBLIC_V6, family: 6 }],
    ['http://8.8.8.8/', { address: '8.8.8.8', family: 4 }],
    ['http://[2606:4700::1111]/', { address: '2606:4700::1111', family: 6 }],
  ])('%s -> %j', async (url, expected) => {
    expect(await resolve(url)).toEqual(expected);
  });

  it.each([
    ['http://internal.example/', LOCAL_NETWORK],
    ['http://rebind.example/', LOOPBACK],
    ['http://metadata.example/', LINK_LOCAL],
    ['http://169.254.169.254/latest/meta-data', LINK_LOCAL],
    ['http://2130706433/', LOOPBACK],
    ['http://[::ffff:7f00:1]/', LOOPBACK],
    ['http://localhost./', LOCALHOST],
    ['ftp://public.example/', SCHEME],
    ['http://evil.com@public.example/', INVALID],
  ])('%s is refused with %s', async (url, message) => {
    const error = await resolve(url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UrlBlockedError);
    expect(error).toMatchObject({ message, name: 'UrlBlockedError' });
  });

  it.each([
    ['https://unknown.example/', 'ENOTFOUND'],
    ['https://flaky.example/', 'EAI_AGAIN'],
    ['https://empty.example/', 'ENOTFOUND'],
  ])('%s fails with a retryable %s error, not UrlBlockedError', async (url, code) => {
    const error = await resolve(url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(UrlBlockedError);
    expect(error).toMatchObject({ code });
  });

  it('connects anywhere with allowLocalRequests, still to the first answer', async () => {
    expect(await resolve('http://rebind.example/', permissive)).toEqual({
      address: PUBLIC_V4,
      family: 4,
    });
    expect(await resolve('http://internal.example/', permissive)).toEqual({
      address: '10.0.0.5',
      family: 4,
    });
    expect(await resolve('http://[::1]:8080/', permissive)).toEqual({ address: '::1', family: 6 });
  });

  it('connects to allowed hosts', async () => {
    const policy = { allowLocalRequests: false, allowedHosts: ['internal.example'] };
    expect(await resolve('http://internal.example/', policy)).toEqual({
      address: '10.0.0.5',
      family: 4,
    });
  });

  it('does not resolve IP literals', async () => {
    const lookup = fakeLookup();
    await resolve('http://8.8.8.8/', strict, lookup);
    expect(lookup).not.toHaveBeenCalled();
  });
});

describe('safeLookup', () => {
  type Answer = { err: Error | null; args: unknown[] };

  /** Calls the lookup the way dns.lookup callers do and collects the callback arguments. */
  function call(fn: ReturnType<typeof safeLookup>, host: string, options?: unknown) {
    return new Promise<Answer>((done) => {
      const cb = (err: Error | null, ...args: unknown[]) => done({ err, args });
      if (options === undefined) (fn as any)(host, cb);
      else fn(host, options, cb);
    });
  }

  it('answers { all: true } with every checked address, in resolver order', async () => {
    const answer = await call(safeLookup(strict, fakeLookup()), 'dual.example', { all: true });
    expect(answer).toEqual({
      err: null,
      args: [
        [
          { address: PUBLIC_V6, family: 6 },
          { address: PUBLIC_V4, family: 4 },
        ],
      ],
    });
  });

  it.each([
    [{}, [PUBLIC_V6, 6]],
    [{ family: 0 }, [PUBLIC_V6, 6]],
    [{ family: 4 }, [PUBLIC_V4, 4]],
    [{ family: 'IPv4' }, [PUBLIC_V4, 4]],
    [{ family: 6 }, [PUBLIC_V6, 6]],
    [4, [PUBLIC_V4, 4]],
    [undefined, [PUBLIC_V6, 6]], // lookup(hostname, callback)
  ])('answers single-address calls with options %j', async (options, args) => {
    const answer = await call(safeLookup(strict, fakeLookup()), 'dual.example', options);
    expect(answer).toEqual({ err: null, args });
  });

  it('filters { all: true } by family', async () => {
    const answer = await call(safeLookup(strict, fakeLookup()), 'dual.example', {
      all: true,
      family: 4,
    });
    expect(answer.args).toEqual([[{ address: PUBLIC_V4, family: 4 }]]);
  });

  it.each([
    ['internal.example', {}, LOCAL_NETWORK],
    ['internal.example', { all: true }, LOCAL_NETWORK],
    ['rebind.example', { all: true }, LOOPBACK],
    // The bad answer is IPv6 and only IPv4 is asked for: still refused, every answer is checked.
    ['rebind6.example', { family: 4 }, LOOPBACK],
    ['localhost', { all: true }, LOCALHOST],
    ['127.0.0.1', {}, LOOPBACK],
    ['::ffff:169.254.169.254', { all: true }, LINK_LOCAL],
  ])('refuses %s (%j) with UrlBlockedError', async (host, options, message) => {
    const answer = await call(safeLookup(strict, fakeLookup()), host, options);
    expect(answer.err).toBeInstanceOf(UrlBlockedError);
    expect(answer.err?.message).toBe(message);
    expect(answer.args).toEqual([]);
  });

  it('passes lookup failures through as plain errors', async () => {
    const answer = await call(safeLookup(strict, fakeLookup()), 'unknown.example', { all: true });
    expect(answer.err).not.toBeInstanceOf(UrlBlockedError);
    expect(answer.err).toMatchObject({ code: 'ENOTFOUND' });
  });

  it('fails with ENOTFOUND when no address of the requested family exists', async () => {
    const answer = await call(safeLookup(strict, fakeLookup()), 'public.example', { family: 6 });
    expect(answer.err).not.toBeInstanceOf(UrlBlockedError);
    expect(answer.err).toMatchObject({ code: 'ENOTFOUND' });
  });

  it('answers IP literals without DNS', async () => {
    const lookup = fakeLookup();
    const fn = safeLookup(strict, lookup);
    expect(await call(fn, '8.8.8.8', { all: true })).toEqual({
      err: null,
      args: [[{ address: '8.8.8.8', family: 4 }]],
    });
    expect(await call(fn, '2606:4700::1111', {})).toEqual({
      err: null,
      args: ['2606:4700::1111', 6],
    });
    expect(lookup).not.toHaveBeenCalled();
  });

  it('honours allowLocalRequests and allowedHosts', async () => {
    expect(await call(safeLookup(permissive, fakeLookup()), 'internal.example', {})).toEqual({
      err: null,
      args: ['10.0.0.5', 4],
    });
    const policy = { allowLocalRequests: false, allowedHosts: ['Internal.Example'] };
    expect(await call(safeLookup(policy, fakeLookup()), 'internal.example.', {})).toEqual({
      err: null,
      args: ['10.0.0.5', 4],
    });
  });

  it('answers with exactly the addresses it checked, even if DNS changes (rebinding)', async () => {
    // First answer public, every later answer loopback: the classic rebinding attack.
    const answers = [[PUBLIC_V4], ['127.0.0.1']];
    const lookup = jest.fn<ReturnType<LookupAll>, Parameters<LookupAll>>(async () =>
      (answers.shift() ?? ['127.0.0.1']).map((address) => ({ address, family: 4 as const })),
    );
    const fn = safeLookup(strict, lookup);

    expect(await call(fn, 'rebind.example', { all: true })).toEqual({
      err: null,
      args: [[{ address: PUBLIC_V4, family: 4 }]],
    });
    const second = await call(fn, 'rebind.example', { all: true });
    expect(second.err).toBeInstanceOf(UrlBlockedError);
    // One resolution per connection: what is checked is what is answered.
    expect(lookup).toHaveBeenCalledTimes(2);
  });

  describe('as the lookup of real sockets', () => {
    let server: http.Server;
    let port: number;

    beforeAll(async () => {
      server = http.createServer((_req, res) => res.end('ok'));
      await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
      port = (server.address() as AddressInfo).port;
    });

    afterAll(async () => {
      await new Promise((closed) => server.close(closed));
    });

    const lookup = fakeLookup({ 'loop.example': ['127.0.0.1'] });

    function get(policy: UrlSafetyPolicy): Promise<string> {
      return new Promise((resolve, reject) => {
        const agent = new http.Agent({ lookup: safeLookup(policy, lookup) as any });
        http
          .get(`http://loop.example:${port}/`, { agent }, (res) => {
            let body = '';
            res.on('data', (chunk) => (body += chunk));
            res.on('end', () => resolve(body));
          })
          .on('error', reject)
          .on('close', () => agent.destroy());
      });
    }

    function connect(policy: UrlSafetyPolicy, autoSelectFamily: boolean): Promise<void> {
      return new Promise((resolve, reject) => {
        const socket = net.connect({
          host: 'loop.example',
          port,
          lookup: safeLookup(policy, lookup) as any,
          autoSelectFamily,
        });
        socket.on('connect', () => {
          socket.destroy();
          resolve();
        });
        socket.on('error', reject);
      });
    }

    it('refuses an http.Agent request to a name resolving to loopback', async () => {
      await expect(get(strict)).rejects.toBeInstanceOf(UrlBlockedError);
    });

    it('lets the request through when the name is allowed', async () => {
      const policy = { allowLocalRequests: false, allowedHosts: ['loop.example'] };
      await expect(get(policy)).resolves.toBe('ok');
    });

    it.each([true, false])('works with net.connect (autoSelectFamily: %s)', async (auto) => {
      await expect(connect(strict, auto)).rejects.toBeInstanceOf(UrlBlockedError);
      await expect(connect(permissive, auto)).resolves.toBeUndefined();
    });
  });
});

describe('blockedAddressReason', () => {
  const reason = (message: string) => message.replace('Destination url is blocked: ', '');

  it.each([
    ['8.8.8.8', null],
    [PUBLIC_V6, null],
    ['::ffff:8.8.8.8', null],
    ['127.0.0.1', reason(LOOPBACK)],
    ['127.1', reason(LOOPBACK)],
    ['0x7f000001', reason(LOOPBACK)],
    ['::1', reason(LOOPBACK)],
    ['[::1]', reason(LOOPBACK)],
    ['::ffff:127.0.0.1', reason(LOOPBACK)],
    ['10.1.2.3', reason(LOCAL_NETWORK)],
    ['100.127.255.255', reason(LOCAL_NETWORK)],
    ['0.1.2.3', reason(LOCAL_NETWORK)],
    ['::', reason(LOCAL_NETWORK)],
    ['fd00::1', reason(LOCAL_NETWORK)],
    ['ff05::2', reason(LOCAL_NETWORK)],
    ['239.255.255.250', reason(LOCAL_NETWORK)],
    ['::7f00:1', reason(LOCAL_NETWORK)],
    ['169.254.169.254', reason(LINK_LOCAL)],
    ['fe80::1', reason(LINK_LOCAL)],
    ['fe80::1%eth0', reason(LINK_LOCAL)],
    ['public.example', reason(INVALID)],
    ['', reason(INVALID)],
  ])('%s -> %s', (address, expected) => {
    expect(blockedAddressReason(address, strict)).toBe(expected);
  });

  it('allows everything with allowLocalRequests', () => {
    expect(blockedAddressReason('127.0.0.1', permissive)).toBeNull();
    expect(blockedAddressReason('fe80::1', permissive)).toBeNull();
  });

  it('allows listed IPs in any spelling', () => {
    const policy = { allowLocalRequests: false, allowedHosts: ['10.0.0.5', '::FFFF:7F00:1'] };
    expect(blockedAddressReason('10.0.0.5', policy)).toBeNull();
    expect(blockedAddressReason('::ffff:a00:5', policy)).toBeNull();
    expect(blockedAddressReason('127.0.0.1', policy)).toBeNull();
    expect(blockedAddressReason('10.0.0.6', policy)).toBe(reason(LOCAL_NETWORK));
  });
});
