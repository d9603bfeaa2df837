/**
 * The WebDAV/CalDAV requests the provider sends, in one place: read retries (GET, PROPFIND and
 * REPORT are safe to repeat; writes are retried only by applyPlan), redirects for reads, status →
 * ProviderError, and discovery (RFC 6764 well-known URI → current-user-principal →
 * calendar-home-set → calendars).
 */
import type { HttpMethod, HttpPort, HttpResponse, Room } from '../port';
import { ProviderError, TransportError } from '../port';
import type { ReadRetryOptions } from '../retry';
import { isRetryableRead, parseRetryAfter, realSleep, resolveRetryPolicy, retryDelay } from '../retry';
import { APPLE_ICAL, CALDAV, CALSERVER, DAV, child, children, escapeXml, parseMultistatus, propKey, type DavResponse, type XmlElement } from './xml';

const READ_METHODS = new Set<HttpMethod>(['GET', 'PROPFIND', 'REPORT']);
const MAX_REDIRECTS = 5;

export interface DavClientOptions {
  readRetry?: ReadRetryOptions | false;
  now?: () => number;
}

/** A request counter and the transport with read retries and redirects. */
export class DavClient {
  /** Requests sent (each attempt counts), by method: for benchmarks and tests. */
  readonly counts: Record<string, number> = {};

  constructor(private readonly http: HttpPort, private readonly opts: DavClientOptions = {}) {}

  get requests(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }

  /** `opts.retry: false`: one attempt only (a probe whose failure has a fallback of its own). */
  async send(method: HttpMethod, url: string, headers: Record<string, string> = {}, body?: string, opts: { retry?: false } = {}): Promise<HttpResponse & { url: string }> {
    const read = READ_METHODS.has(method);
    const noRetry = this.opts.readRetry === false || opts.retry === false;
    const policy = resolveRetryPolicy(this.opts.readRetry || undefined);
    const sleep = (this.opts.readRetry && this.opts.readRetry.sleep) || realSleep;
    const random = (this.opts.readRetry && this.opts.readRetry.random) || Math.random;
    const now = this.opts.now ?? Date.now;
    let target = url;
    for (let retry = 0, redirects = 0; ;) {
      let res: HttpResponse | undefined;
      let err: unknown;
      this.counts[method] = (this.counts[method] ?? 0) + 1;
      try {
        res = await this.http({ method, url: target, headers: { ...headers, ...(body !== undefined ? { 'content-type': headers['content-type'] ?? 'application/xml; charset=utf-8' } : {}) }, ...(body !== undefined ? { body } : {}) });
      } catch (e) {
        if (!(e instanceof TransportError) || !read || noRetry) throw e;
        err = e;
      }
      if (res && read && res.status >= 300 && res.status < 400 && res.headers.location && redirects < MAX_REDIRECTS) {
        target = new URL(res.headers.location, target).href;
        redirects++;
        continue;
      }
      const again = res ? read && isRetryableRead(res) : true;
      if (!again || noRetry || retry >= policy.maxRetries) {
        if (res) return { ...res, url: target };
        throw err;
      }
      const after = res ? parseRetryAfter(res.headers['retry-after'], now()) : undefined;
      if (after !== undefined && after > policy.maxRetryAfterMs) return { ...res!, url: target };
      await sleep(retryDelay([after], retry, policy, random));
      retry++;
    }
  }

  /** PROPFIND with the given props; returns the multistatus responses. */
  async propfind(url: string, depth: 0 | 1, props: Array<[string, string]>, what: string): Promise<{ responses: DavResponse[]; url: string }> {
    const res = await this.send('PROPFIND', url, { depth: String(depth) }, propfindBody(props));
    if (res.status !== 207) throw davError(res, `PROPFIND ${what}`);
    return { responses: parseMultistatus(res.body).responses, url: res.url };
  }
}

const NS_PREFIX: Record<string, string> = { [DAV]: 'D', [CALDAV]: 'C', [CALSERVER]: 'CS', [APPLE_ICAL]: 'A' };
const NS_DECL = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CS="http://calendarserver.org/ns/" xmlns:A="http://apple.com/ns/ical/"';

export function propfindBody(props: Array<[string, string]>): string {
  return `<?xml version="1.0" encoding="utf-8"?>\n<D:propfind ${NS_DECL}><D:prop>${props.map(([ns, n]) => `<${NS_PREFIX[ns]}:${n}/>`).join('')}</D:prop></D:propfind>`;
}

/** Maps a failed DAV answer to a ProviderError: auth stops everything, 429/5xx are retryable. */
export function davError(res: HttpResponse, what: string): ProviderError {
  const s = res.status;
  const detail = res.body ? `: ${res.body.replace(/\s+/g, ' ').slice(0, 200)}` : '';
  const retryAfterMs = parseRetryAfter(res.headers['retry-after'], Date.now());
  if (s === 401) return new ProviderError(`${what}: 401 not authorised (check the CalDAV user name and app password or token)`, { status: s, code: 'unauthorized', retryable: false, scope: 'auth' });
  if (s === 403) return new ProviderError(`${what}: 403 forbidden${detail}`, { status: s, code: 'forbidden', retryable: false, scope: 'op' });
  if (s === 404) return new ProviderError(`${what}: 404 not found`, { status: s, code: 'notFound', retryable: false });
  if (s === 412) return new ProviderError(`${what}: 412 precondition failed (changed on the server meanwhile)`, { status: s, code: 'conditionNotMet', retryable: true });
  if (s === 507) return new ProviderError(`${what}: 507 insufficient storage${detail}`, { status: s, code: 'insufficientStorage', retryable: false, scope: 'calendar' });
  const retryable = s === 408 || s === 429 || s >= 500;
  return new ProviderError(`${what}: HTTP ${s}${detail}`, { status: s, code: `http${s}`, retryable, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
}

export interface CalDavCalendar {
  /** Absolute URL of the calendar collection, ending in "/": the calendarId. */
  url: string;
  displayName?: string;
  description?: string;
  /** Apple's calendar-color, as the server gives it (e.g. "#FF2968FF"). */
  color?: string;
  /** supported-calendar-component-set (VEVENT, VTODO, …); empty when the server did not say (= all). */
  components: string[];
  ctag?: string;
  /** RFC 6578 sync-token; absent when the server does not support sync-collection. */
  syncToken?: string;
}

export interface Discovery {
  principalUrl?: string;
  homeUrls: string[];
  calendars: CalDavCalendar[];
}

const CAL_PROPS: Array<[string, string]> = [
  [DAV, 'resourcetype'], [DAV, 'displayname'], [CALDAV, 'calendar-description'], [APPLE_ICAL, 'calendar-color'],
  [CALDAV, 'supported-calendar-component-set'], [CALSERVER, 'getctag'], [DAV, 'sync-token'],
];

function hrefIn(el: XmlElement | undefined, base: string): string | undefined {
  const h = child(el, DAV, 'href')?.text.trim();
  return h ? new URL(h, base).href : undefined;
}

function isCalendar(r: DavResponse): boolean {
  return !!child(r.props.get(propKey(DAV, 'resourcetype')), CALDAV, 'calendar');
}

function calendarOf(r: DavResponse, base: string): CalDavCalendar {
  const text = (ns: string, n: string) => r.props.get(propKey(ns, n))?.text.trim() || undefined;
  const comps = children(r.props.get(propKey(CALDAV, 'supported-calendar-component-set')), CALDAV, 'comp').map((c) => (c.attrs.name ?? '').toUpperCase()).filter(Boolean);
  const url = withSlash(new URL(r.href, base).href);
  const out: CalDavCalendar = { url, components: comps };
  const dn = text(DAV, 'displayname');
  if (dn) out.displayName = dn;
  const desc = text(CALDAV, 'calendar-description');
  if (desc) out.description = desc;
  const color = text(APPLE_ICAL, 'calendar-color');
  if (color) out.color = color;
  const ctag = text(CALSERVER, 'getctag');
  if (ctag) out.ctag = ctag;
  const st = text(DAV, 'sync-token');
  if (st) out.syncToken = st;
  return out;
}

export function withSlash(u: string): string {
  return u.endsWith('/') ? u : `${u}/`;
}

/**
 * Finds the calendars reachable from `baseUrl`: the URL itself when it is a calendar; otherwise
 * its current-user-principal (asked at the URL, then at /.well-known/caldav), that principal's
 * calendar-home-set, and the calendar collections in it.
 */
export async function discoverCalendars(dav: DavClient, baseUrl: string): Promise<Discovery> {
  const first = await dav.propfind(baseUrl, 0, [...CAL_PROPS, [DAV, 'current-user-principal'], [CALDAV, 'calendar-home-set']], `discovery at ${baseUrl}`);
  const r0 = first.responses[0];
  if (r0 && isCalendar(r0)) return { homeUrls: [], calendars: [calendarOf(r0, first.url)] };
  let principalUrl = hrefIn(r0?.props.get(propKey(DAV, 'current-user-principal')), first.url);
  let homes = children(r0?.props.get(propKey(CALDAV, 'calendar-home-set')), DAV, 'href').map((h) => withSlash(new URL(h.text.trim(), first.url).href));
  if (!principalUrl && !homes.length) {
    const wk = await dav.propfind(new URL('/.well-known/caldav', baseUrl).href, 0, [[DAV, 'current-user-principal']], 'discovery at /.well-known/caldav');
    principalUrl = hrefIn(wk.responses[0]?.props.get(propKey(DAV, 'current-user-principal')), wk.url);
  }
  if (!homes.length) {
    if (!principalUrl) throw new ProviderError(`CalDAV discovery at ${baseUrl}: the server names no current-user-principal (wrong URL, or not logged in?)`, { retryable: false, code: 'discovery' });
    const p = await dav.propfind(principalUrl, 0, [[CALDAV, 'calendar-home-set']], `principal ${principalUrl}`);
    homes = children(p.responses[0]?.props.get(propKey(CALDAV, 'calendar-home-set')), DAV, 'href').map((h) => withSlash(new URL(h.text.trim(), p.url).href));
  }
  if (!homes.length) throw new ProviderError(`CalDAV discovery at ${baseUrl}: principal ${principalUrl} has no calendar-home-set`, { retryable: false, code: 'discovery' });
  const calendars: CalDavCalendar[] = [];
  for (const home of homes) {
    const list = await dav.propfind(home, 1, CAL_PROPS, `calendar home ${home}`);
    for (const r of list.responses) if (isCalendar(r)) calendars.push(calendarOf(r, list.url));
  }
  return { ...(principalUrl ? { principalUrl } : {}), homeUrls: homes, calendars };
}

/** The calendar a config names: by URL (absolute, or a path on the server) or by display name (exact, then case-insensitive). */
export function resolveCalendar(calendars: CalDavCalendar[], ref: string, baseUrl: string): CalDavCalendar {
  const asUrl = /^https?:\/\//i.test(ref) || ref.startsWith('/') ? withSlash(new URL(ref, baseUrl).href) : undefined;
  if (asUrl) {
    const hit = calendars.find((c) => c.url === asUrl || decodeURI(c.url) === decodeURI(asUrl));
    if (hit) return hit;
    throw new ProviderError(`CalDAV calendar ${ref}: no such calendar among the ${calendars.length} found (${calendars.map((c) => c.url).join(', ') || 'none'})`, { retryable: false, code: 'notFound' });
  }
  let hits = calendars.filter((c) => c.displayName === ref);
  if (!hits.length) hits = calendars.filter((c) => (c.displayName ?? '').toLowerCase() === ref.toLowerCase());
  if (hits.length === 1) return hits[0];
  if (hits.length > 1) throw new ProviderError(`CalDAV calendar "${ref}": ${hits.length} calendars have that name (${hits.map((c) => c.url).join(', ')}); name it by URL`, { retryable: false, code: 'ambiguous' });
  throw new ProviderError(`CalDAV calendar "${ref}": no calendar with that name; found ${calendars.map((c) => `"${c.displayName ?? c.url}"`).join(', ') || 'none'}`, { retryable: false, code: 'notFound' });
}

/** Room list for the Room Sync resource locator: every calendar that takes events. */
export function calendarsAsRooms(calendars: CalDavCalendar[]): Room[] {
  return calendars
    .filter((c) => !c.components.length || c.components.includes('VEVENT'))
    .map((c) => ({ calendarId: c.url, email: c.url, name: c.displayName ?? c.url }));
}

/** MKCALENDAR body (tests, demo, benchmark set up room calendars with it). */
export function mkcalendarBody(displayName: string, color?: string): string {
  return `<?xml version="1.0" encoding="utf-8"?>\n<C:mkcalendar ${NS_DECL}><D:set><D:prop><D:displayname>${escapeXml(displayName)}</D:displayname>${color ? `<A:calendar-color>${escapeXml(color)}</A:calendar-color>` : ''}<C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>`;
}
