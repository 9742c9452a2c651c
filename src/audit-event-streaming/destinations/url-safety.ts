/**
 * SSRF protection for audit-event streaming destinations.
 *
 * This is the single place that decides whether a destination URL is safe. It is used twice:
 *  - when an owner saves a destination (`validateDestinationUrl`, GitLab's exact messages), and
 *  - at send time (`resolveSafeAddress` / `safeLookup`), so the connection only ever goes to an
 *    address that was checked a moment ago. Checking at save time alone is not enough: DNS answers
 *    change (DNS rebinding), so the send path must resolve, check and connect to the same address.
 *
 * Everything here is pure logic; DNS is injected (`LookupAll`) so tests need no network.
 *
 * Notes for callers on the send path:
 *  - Node's `net.connect` never calls `lookup` for IP-literal hosts, so `safeLookup` alone does
 *    not cover `http://127.0.0.1/`. Call `resolveSafeAddress` (or re-validate) before sending.
 *  - HTTP redirects and proxies bypass the check (a redirect to an IP literal skips `lookup`, a
 *    proxy makes `lookup` resolve the proxy instead): do not follow redirects and do not use an
 *    environment proxy for destination requests.
 */
import { promises as dnsPromises } from 'node:dns';
import { isIP } from 'node:net';
import * as ipaddr from 'ipaddr.js';

export interface UrlSafetyPolicy {
  /** When true, localhost, loopback, private, link-local etc. addresses are allowed. */
  allowLocalRequests: boolean;
  /** Host names or IP literals that are always allowed (case-insensitive, trailing dot ignored). */
  allowedHosts: string[];
}

export type LookupAll = (hostname: string) => Promise<{ address: string; family: 4 | 6 }[]>;

type ResolvedAddress = { address: string; family: 4 | 6 };

export class UrlBlockedError extends Error {
  constructor(readonly reason: string) {
    super(`Destination url is blocked: ${reason}`);
    this.name = 'UrlBlockedError';
  }
}

const MAX_URL_LENGTH = 255;

const BLANK = "Destination url can't be blank";
const TOO_LONG = `Destination url is too long (maximum is ${MAX_URL_LENGTH} characters)`;

const INVALID = 'URI is invalid';
const SCHEME = 'Only allowed schemes are http, https';
const LOCALHOST = 'Requests to localhost are not allowed';
const LOOPBACK = 'Requests to loopback addresses are not allowed';
const LOCAL_NETWORK = 'Requests to the local network are not allowed';
const LINK_LOCAL = 'Requests to the link local network are not allowed';

const ALLOWED_PROTOCOLS = new Set(['http:', 'https:']);

/** Default resolver: every address, in the order the system resolver returns them. */
const defaultLookupAll: LookupAll = async (hostname) => {
  const answers = await dnsPromises.lookup(hostname, { all: true, verbatim: true });
  return answers.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

// ---------------------------------------------------------------------------------------------
// The address rule
// ---------------------------------------------------------------------------------------------

/**
 * ipaddr.js range names that are publicly routable. Everything else is refused, so a range added
 * by a future ipaddr.js version is blocked by default rather than silently allowed.
 */
const PUBLIC_RANGES = new Set(['unicast', 'as112', 'amt', 'as112v6']);

function ipv4FromParts(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

function classifyIPv4(ip: ipaddr.IPv4): string | null {
  const range = ip.range() as string;
  if (range === 'loopback') return LOOPBACK;
  if (range === 'linkLocal') return LINK_LOCAL;
  // unspecified (0/8), broadcast, multicast, carrierGradeNat, private, reserved, ...
  return PUBLIC_RANGES.has(range) ? null : LOCAL_NETWORK;
}

/**
 * An IPv6 form that carries an IPv4 address the traffic ends up at (via a translator or a
 * tunnel): if that IPv4 address is blocked, the IPv6 address counts as the local network.
 */
function classifyTunnelled(...embedded: ipaddr.IPv4[]): string | null {
  return embedded.some((v4) => classifyIPv4(v4) !== null) ? LOCAL_NETWORK : null;
}

function classifyIPv6(ip: ipaddr.IPv6): string | null {
  const p = ip.parts;
  const range = ip.range() as string;
  switch (range) {
    case 'loopback':
      return LOOPBACK;
    case 'linkLocal':
      return LINK_LOCAL;
    case 'ipv4Mapped': // ::ffff:a.b.c.d is the IPv4 address itself for the OS
    case 'rfc6145': // ::ffff:0:a.b.c.d (IPv4-translated), same meaning
      return classifyIPv4(ipv4FromParts(p[6], p[7]));
    case 'rfc6052':
      // 64:ff9b::/96 (well-known NAT64 prefix) is fine when the embedded IPv4 is public, which
      // keeps DNS64 networks working. 64:ff9b:1::/48 is a local-use prefix: refuse outright.
      if (p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0 && p[1] === 0xff9b) {
        return classifyTunnelled(ipv4FromParts(p[6], p[7]));
      }
      return LOCAL_NETWORK;
    case '6to4': // 2002:AABB:CCDD::/48 carries a.b.c.d
      return classifyTunnelled(ipv4FromParts(p[1], p[2]));
    case 'teredo': // 2001:0:SERVER:...:~CLIENT, the client IPv4 is stored bit-inverted
      return classifyTunnelled(
        ipv4FromParts(p[2], p[3]),
        ipv4FromParts(~p[6] & 0xffff, ~p[7] & 0xffff),
      );
    case 'unicast':
      // Deprecated IPv4-compatible form ::a.b.c.d, which ipaddr.js reports as plain unicast
      // (:: and ::1 never get here: they are the unspecified and loopback ranges).
      if (p.slice(0, 6).every((part) => part === 0)) {
        return classifyTunnelled(ipv4FromParts(p[6], p[7]));
      }
      return null;
    default:
      // unspecified, uniqueLocal (fc00::/7), multicast, deprecatedSiteLocal, discard, reserved,
      // benchmarking, orchid, segmentRouting, ...
      return PUBLIC_RANGES.has(range) ? null : LOCAL_NETWORK;
  }
}

function parseIp(address: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const bare = stripBrackets(address.trim());
  return ipaddr.isValid(bare) ? ipaddr.parse(bare) : null;
}

/** One spelling per address: IPv4-mapped IPv6 collapses to IPv4, IPv6 is compressed. */
function canonicalIp(address: string): string | null {
  const ip = parseIp(address);
  if (!ip) return null;
  return ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()
    ? (ip as ipaddr.IPv6).toIPv4Address().toString()
    : ip.toString();
}

function isAllowedIp(address: string, policy: UrlSafetyPolicy): boolean {
  const canonical = canonicalIp(address);
  return canonical !== null && policy.allowedHosts.some((host) => canonicalIp(host) === canonical);
}

/**
 * The address rule on its own: null when `address` may be connected to, otherwise GitLab's
 * reason text. Anything that is not an IP address is refused as an invalid URI.
 */
export function blockedAddressReason(address: string, policy: UrlSafetyPolicy): string | null {
  if (policy.allowLocalRequests || isAllowedIp(address, policy)) return null;
  const ip = parseIp(address);
  if (!ip) return INVALID;
  return ip.kind() === 'ipv4' ? classifyIPv4(ip as ipaddr.IPv4) : classifyIPv6(ip as ipaddr.IPv6);
}

// ---------------------------------------------------------------------------------------------
// Host names
// ---------------------------------------------------------------------------------------------

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** Comparison form of a host name: lower case, no brackets, no trailing dot(s). */
function normaliseHost(host: string): string {
  return stripBrackets(host.trim().toLowerCase()).replace(/\.+$/, '');
}

function isAllowedHostName(host: string, policy: UrlSafetyPolicy): boolean {
  const normalised = normaliseHost(host);
  return policy.allowedHosts.some((allowed) => normaliseHost(allowed) === normalised);
}

function isLocalhostName(normalisedHost: string): boolean {
  return normalisedHost === 'localhost' || normalisedHost.endsWith('.localhost');
}

function notFound(hostname: string): Error {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
    code: 'ENOTFOUND',
    syscall: 'getaddrinfo',
    hostname,
  });
}

/**
 * Resolves `hostname` (IP literals without DNS) and checks every answer. Throws UrlBlockedError
 * when the name or ANY of its addresses is blocked: a name answering with one public and one
 * internal address would otherwise let the connection pick the internal one. Lookup failures are
 * rethrown unchanged (they are retryable, not a verdict on the URL).
 */
async function resolveChecked(
  hostname: string,
  policy: UrlSafetyPolicy,
  lookup: LookupAll,
): Promise<ResolvedAddress[]> {
  const bare = stripBrackets(hostname.trim());
  const normalised = normaliseHost(bare);
  if (normalised === '') throw new UrlBlockedError(INVALID);

  const literalFamily = isIP(bare);
  if (literalFamily !== 0) {
    const reason = blockedAddressReason(bare, policy);
    if (reason) throw new UrlBlockedError(reason);
    return [{ address: bare, family: literalFamily as 4 | 6 }];
  }

  // An allowed name skips the address checks (as GitLab's allowlist does), but is still resolved.
  const trusted = policy.allowLocalRequests || isAllowedHostName(normalised, policy);
  if (!trusted && isLocalhostName(normalised)) throw new UrlBlockedError(LOCALHOST);

  // The normalised name (no trailing dot): `vm.` and `vm` are the same host to an attacker.
  const addresses = await lookup(normalised);
  if (!trusted) {
    for (const { address } of addresses) {
      const reason = blockedAddressReason(address, policy);
      if (reason) throw new UrlBlockedError(reason);
    }
  }
  return addresses;
}

/**
 * Refuses (UrlBlockedError) a URL that is not http(s) or that carries userinfo.
 *
 * Userinfo (`http://user:pass@host/`, `http://evil.com@127.0.0.1/`, even an empty `http://@host/`)
 * is refused as an invalid URI: it is the classic way to disguise the real host, destinations
 * authenticate with headers instead, and one fixed message keeps the rule simple and deterministic.
 */
function checkUrlShape(url: URL): void {
  if (!ALLOWED_PROTOCOLS.has(url.protocol)) throw new UrlBlockedError(SCHEME);
  if (url.username !== '' || url.password !== '') throw new UrlBlockedError(INVALID);
}

/** Parses the trimmed input into an http(s) URL without userinfo, or throws UrlBlockedError. */
function parseUrl(trimmed: string): URL {
  // The WHATWG parser silently drops tabs/newlines and percent-encodes spaces; refusing them keeps
  // what the owner typed and what we connect to the same thing.
  if (/[\s\p{Cc}]/u.test(trimmed)) throw new UrlBlockedError(INVALID);
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new UrlBlockedError(INVALID);
  }
  checkUrlShape(url);
  // An empty userinfo (`http://@host/`, `http://:@host/`) leaves no trace in URL.username.
  const authority = /^[a-z][a-z0-9+.-]*:[\\/]*([^\\/?#]*)/i.exec(trimmed)?.[1] ?? '';
  if (authority.includes('@')) throw new UrlBlockedError(INVALID);
  return url;
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/**
 * Validation time. Returns the trimmed URL (the value to store) and GitLab's messages; an empty
 * `errors` array means the URL may be saved. A name that does not resolve (yet) is accepted: it
 * is checked again on every send.
 */
export async function validateDestinationUrl(
  raw: string,
  policy: UrlSafetyPolicy,
  lookup: LookupAll = defaultLookupAll,
): Promise<{ url: string; errors: string[] }> {
  const url = typeof raw === 'string' ? raw.trim() : '';
  if (url === '') return { url, errors: [BLANK] };

  // Same order as GitLab's model: `public_url` first, then `length`.
  const errors: string[] = [];
  try {
    const parsed = parseUrl(url);
    await resolveChecked(parsed.hostname, policy, lookup);
  } catch (err) {
    if (err instanceof UrlBlockedError) errors.push(err.message);
    // Any other error is a failed DNS lookup: accepted here.
  }
  // Count characters (code points) like Rails does, not UTF-16 units.
  if (Array.from(url).length > MAX_URL_LENGTH) errors.push(TOO_LONG);
  return { url, errors };
}

/**
 * Send time. Resolves the URL's host, refuses it (UrlBlockedError) when the host or ANY of its
 * addresses is blocked, and returns the address to connect to (the first answer). A name that
 * does not resolve rejects with the lookup's own (retryable) error.
 */
export async function resolveSafeAddress(
  url: URL,
  policy: UrlSafetyPolicy,
  lookup: LookupAll = defaultLookupAll,
): Promise<ResolvedAddress> {
  checkUrlShape(url);
  const addresses = await resolveChecked(url.hostname, policy, lookup);
  if (addresses.length === 0) throw notFound(url.hostname);
  return addresses[0];
}

/**
 * A drop-in `lookup` for `http.Agent` / `net.connect` (same calling convention as `dns.lookup`).
 * It resolves, checks every address with the rule above and answers only with those checked
 * addresses, so the socket connects to exactly what was checked (DNS rebinding safe). A blocked
 * host is answered with `callback(new UrlBlockedError(...))`.
 *
 * Honours `options.all` (answers `(err, [{ address, family }])`) and `options.family`
 * (4/6/'IPv4'/'IPv6'; otherwise answers `(err, address, family)` with the first match).
 */
export function safeLookup(
  policy: UrlSafetyPolicy,
  lookup: LookupAll = defaultLookupAll,
): (hostname: string, options: any, callback: (...args: any[]) => void) => void {
  return (hostname, options, callback) => {
    // dns.lookup(hostname, callback) and dns.lookup(hostname, family, callback) are legal too.
    if (typeof options === 'function') {
      callback = options;
      options = {};
    } else if (typeof options === 'number') {
      options = { family: options };
    }
    const opts = (options ?? {}) as { all?: boolean; family?: number | string };
    const family = opts.family === 'IPv4' ? 4 : opts.family === 'IPv6' ? 6 : Number(opts.family);

    resolveChecked(hostname, policy, lookup).then(
      (addresses) => {
        // Every address was checked above, whatever the family asked for.
        const usable =
          family === 4 || family === 6 ? addresses.filter((a) => a.family === family) : addresses;
        if (usable.length === 0) return callback(notFound(hostname));
        if (opts.all)
          return callback(
            null,
            usable.map((a) => ({ ...a })),
          );
        return callback(null, usable[0].address, usable[0].family);
      },
      (err) => callback(err),
    );
  };
}
