/**
 * Outbound fetching that cannot be aimed at the bridge's own network (SSRF): every URL the bridge
 * fetches (subscription feeds) goes through `createSafeFetch`, which
 *
 * - refuses loopback, private (RFC 1918), carrier-grade NAT, link-local (including the cloud
 *   metadata address 169.254.169.254), unique-local, multicast, reserved and unspecified
 *   addresses, IPv4 and IPv6, including IPv4-mapped / NAT64 / 6to4 IPv6 forms of them;
 * - checks the addresses a host name resolves to (every one of them), not the name, and then
 *   connects to exactly the address it checked (no second DNS lookup that could answer differently);
 * - follows redirects itself (at most `maxRedirects`) and checks every hop the same way, dropping
 *   credentials when a redirect leaves the original origin;
 * - unless an allow-list of CIDR ranges (`allow`) permits the address.
 *
 * Decimal, octal and hexadecimal IPv4 spellings (http://2130706433/, http://0177.0.0.1/) are
 * normalised by the WHATWG URL parser before the check, so they are refused like 127.0.0.1.
 * Size and time limits are the caller's (providers/feed readFeed: maxBytes, timeoutMs, via the
 * AbortSignal passed in).
 */
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { createGunzip, createInflate, createBrotliDecompress } from 'node:zlib';

/** Resolves a host name to IP addresses (tests inject a table; default: the system resolver). */
export type Resolver = (host: string) => Promise<string[]>;

export interface SafeFetchOptions {
  /** CIDR ranges (e.g. `10.1.2.0/24`, `127.0.0.1/32`, `fd00::/8`) that may be fetched although private. */
  allow?: string[];
  resolver?: Resolver;
  /** Default 5. */
  maxRedirects?: number;
}

/** The URL, or one it redirects to, is not allowed; no connection was made to the refused address. */
export class UnsafeUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeUrlError';
  }
}

const BLOCKED_V4: Array<[string, number, string]> = [
  ['0.0.0.0', 8, 'unspecified ("this network")'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT (shared)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved / broadcast'],
];
const BLOCKED_V6: Array<[string, number, string]> = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['fc00::', 7, 'unique-local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local (deprecated)'],
  ['ff00::', 8, 'multicast'],
  ['2001:db8::', 32, 'documentation'],
  ['100::', 64, 'discard-only'],
];

/** Parses an IPv6 address into 8 16-bit groups (no zone id). */
function v6Groups(addr: string): number[] {
  let a = addr.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (dotted) {
    const p = dotted[1].split('.').map(Number);
    a = a.slice(0, -dotted[1].length) + `${((p[0] << 8) | p[1]).toString(16)}:${((p[2] << 8) | p[3]).toString(16)}`;
  }
  const [head, tail] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => parseInt(g, 16));
}

/** The IPv4 address an IPv6 address carries (IPv4-mapped, IPv4-compatible, NAT64, 6to4), if any. */
export function embeddedV4(addr: string): string | undefined {
  const g = v6Groups(addr);
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zero(0, 5) && g[5] === 0xffff) return v4(g[6], g[7]); // ::ffff:a.b.c.d
  if (zero(0, 6) && (g[6] !== 0 || g[7] > 1)) return v4(g[6], g[7]); // ::a.b.c.d (deprecated)
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return v4(g[6], g[7]); // 64:ff9b::/96 NAT64
  if (g[0] === 0x2002) return v4(g[1], g[2]); // 6to4
  return undefined;
}

function blockListOf(entries: Array<[string, number, string]>, family: 'ipv4' | 'ipv6'): BlockList {
  const b = new BlockList();
  for (const [a, p] of entries) b.addSubnet(a, p, family);
  return b;
}
const BLOCKED4 = blockListOf(BLOCKED_V4, 'ipv4');
const BLOCKED6 = blockListOf(BLOCKED_V6, 'ipv6');

function reasonV4(addr: string): string | undefined {
  if (!BLOCKED4.check(addr, 'ipv4')) return undefined;
  for (const [a, p, why] of BLOCKED_V4) if (blockListOf([[a, p, why]], 'ipv4').check(addr, 'ipv4')) return why;
  return 'blocked';
}

/** Why `addr` (an IP literal) must not be fetched, or undefined when it is a public address. */
export function blockedReason(addr: string): string | undefined {
  const family = isIP(addr);
  if (family === 4) return reasonV4(addr);
  if (family !== 6) return 'not an IP address';
  const inner = embeddedV4(addr);
  if (inner !== undefined) {
    const r = reasonV4(inner);
    return r ? `${r} (IPv4 ${inner} inside IPv6)` : undefined;
  }
  if (!BLOCKED6.check(addr, 'ipv6')) return undefined;
  for (const [a, p, why] of BLOCKED_V6) if (blockListOf([[a, p, why]], 'ipv6').check(addr, 'ipv6')) return why;
  return 'blocked';
}

/** Parses the allow-list; throws naming the bad entry. */
export function allowListOf(entries: string[]): BlockList {
  const b = new BlockList();
  for (const e of entries) {
    const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(e.trim());
    const family = m ? isIP(m[1]) : 0;
    const prefix = m?.[2] !== undefined ? Number(m[2]) : family === 4 ? 32 : 128;
    if (!m || family === 0 || prefix > (family === 4 ? 32 : 128)) throw new Error(`allow-list entry "${e}" is not an IP address or CIDR range (e.g. 10.1.0.0/16, fd00::/8)`);
    b.addSubnet(m[1], prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return b;
}

function allowed(allow: BlockList, addr: string): boolean {
  const family = isIP(addr);
  if (family === 4) return allow.check(addr, 'ipv4');
  if (allow.check(addr, 'ipv6')) return true;
  const inner = embeddedV4(addr);
  return inner !== undefined && allow.check(inner, 'ipv4');
}

const systemResolver: Resolver = async (host) => (await dnsLookup(host, { all: true, verbatim: true })).map((r) => r.address);

/**
 * Checks one URL: scheme, then every address of its host. Returns the address to connect to.
 * Throws UnsafeUrlError (nothing is sent) when any address is refused.
 */
export async function checkUrl(url: URL, opts: { allow: BlockList; resolver: Resolver }): Promise<{ address: string; family: 4 | 6 }> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UnsafeUrlError(`${url.protocol} URLs are not fetched (only http and https)`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = await opts.resolver(host);
    } catch (err) {
      throw new UnsafeUrlError(`cannot resolve ${host}: ${(err as { code?: string }).code ?? (err as Error).message}`);
    }
    if (addresses.length === 0) throw new UnsafeUrlError(`${host} resolves to no address`);
  }
  for (const a of addresses) {
    if (isIP(a) === 0) throw new UnsafeUrlError(`${host} resolved to "${a}", which is not an IP address`);
    const why = blockedReason(a);
    // Every address must pass: a name with one public and one private address is refused.
    if (why && !allowed(opts.allow, a)) throw new UnsafeUrlError(`${host === a ? a : `${host} (${a})`} is a ${why} address; refused (allow it with subscriptions.allowPrivate)`);
  }
  return { address: addresses[0], family: isIP(addresses[0]) as 4 | 6 };
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function once(url: URL, address: string, family: 4 | 6, headers: Record<string, string>, signal: AbortSignal | undefined): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      {
        method: 'GET',
        headers: { ...headers, 'accept-encoding': 'gzip, deflate, br' },
        signal,
        // Connect to the address that was checked, never a fresh lookup (DNS rebinding).
        lookup: ((_host: string, options: { all?: boolean }, cb: (err: null, a: unknown, f?: number) => void) => {
          if (options?.all) cb(null, [{ address, family }]);
          else cb(null, address, family);
        }) as unknown as LookupFunction,
      },
      resolve,
    );
    req.on('error', reject);
    req.end();
  });
}

function decoded(res: IncomingMessage): Readable {
  const enc = String(res.headers['content-encoding'] ?? '').trim().toLowerCase();
  if (enc === 'gzip' || enc === 'x-gzip') return res.pipe(createGunzip());
  if (enc === 'deflate') return res.pipe(createInflate());
  if (enc === 'br') return res.pipe(createBrotliDecompress());
  return res;
}

/** A `fetch` (GET only, as readFeed uses it) that refuses unsafe destinations on every hop. */
export function createSafeFetch(opts: SafeFetchOptions = {}): typeof fetch {
  const allow = allowListOf(opts.allow ?? []);
  const resolver = opts.resolver ?? systemResolver;
  const maxRedirects = opts.maxRedirects ?? 5;
  const safeFetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    let url = new URL(typeof input === 'string' || input instanceof URL ? input.toString() : input.url);
    const origin = url.origin;
    let headers: Record<string, string> = Object.fromEntries(new Headers(init.headers ?? {}).entries());
    const signal = init.signal ?? undefined;
    for (let hop = 0; ; hop++) {
      const { address, family } = await checkUrl(url, { allow, resolver });
      const res = await once(url, address, family, headers, signal);
      const location = res.headers.location;
      if (REDIRECTS.has(res.statusCode ?? 0) && location) {
        res.resume();
        if (hop >= maxRedirects) throw new UnsafeUrlError(`more than ${maxRedirects} redirects`);
        url = new URL(location, url);
        if (url.origin !== origin) {
          // Credentials and validators are meant for the original server only.
          const { authorization: _a, cookie: _c, 'if-none-match': _i, 'if-modified-since': _m, ...rest } = headers;
          headers = rest;
        }
        continue;
      }
      const h = new Headers();
      for (const [k, v] of Object.entries(res.headers)) {
        if (v === undefined || k === 'content-encoding' || k === 'content-length') continue;
        for (const one of Array.isArray(v) ? v : [v]) h.append(k, one);
      }
      // content-length is dropped on purpose when the body was compressed: the decoded size differs.
      if (!res.headers['content-encoding'] && res.headers['content-length']) h.set('content-length', res.headers['content-length']);
      const status = res.statusCode ?? 502;
      const nullBody = status === 204 || status === 304;
      if (nullBody) res.resume();
      const body = nullBody ? null : (Readable.toWeb(decoded(res)) as unknown as ReadableStream<Uint8Array>);
      return new Response(body, { status, statusText: res.statusMessage, headers: h });
    }
  };
  return safeFetch as typeof fetch;
}
