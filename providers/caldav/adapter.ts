/**
 * CalDAV (RFC 4791) behind the CalendarProvider port: Nextcloud, iCloud, Fastmail, Radicale,
 * Xandikos. See docs/providers-caldav.md.
 *
 * - calendarId = the calendar collection's URL. Each synced event or series is one calendar object
 *   resource named from syncId + its sync key (resource.ts), so a retried create is the same PUT.
 * - Creates send `If-None-Match: *`, every change `If-Match` with the ETag last seen. A 412 means
 *   the resource changed since: it is read again and the op re-decided against what is there now
 *   (already written by another run → done; no longer ours → left alone and reported; ours and
 *   different → written over that new ETag, as the planner would decide). Never a blind overwrite.
 * - A series master and its overrides share the resource: an override op rewrites the resource
 *   with that VEVENT replaced, keeping every other component as it is. Ops on one resource are
 *   serialised in this provider; ops of one write() batch on the same resource become one PUT.
 * - Listing: calendar-query REPORT with a time-range (listMode 'full'), or RFC 6578
 *   sync-collection against a snapshot kept in `stateStore` (listMode 'incremental'), which falls
 *   back to a full listing when the server has no sync-token or refuses the token.
 * - listEvents with expandSeries: the server's CALDAV:expand (RFC 4791 §9.6.5) where it answers
 *   it; a resource it leaves unexpanded (Radicale 3.1), returns in a shape that cannot be right, or
 *   a server that refuses the request (Xandikos 0.2.8: HTTP 500) is expanded here with the core's
 *   expandOccurrences.
 */
import type { CalendarEvent } from '../../core/event';
import { expandOccurrences } from '../../core/recurrence';
import type { RoutingConfig } from '../../core/routing';
import { overlapsWindow } from '../../core/sync-window';
import { occurrenceToken } from '../../core/sync-key';
import { eventTimeToUtc, formatUtc } from '../../core/time';
import type { CalendarProvider, HttpPort, OwnershipStamp, ProviderCapabilities, Room, TargetEvent, TimeWindow, WriteOp, WriteResult } from '../port';
import { ProviderError, TransportError } from '../port';
import type { ReadRetryOptions } from '../retry';
import type { KeyValueStore } from '../state';
import { MemoryKeyValueStore } from '../state';
import { DavClient, calendarsAsRooms, davError, discoverCalendars, resolveCalendar, withSlash, type CalDavCalendar } from './dav';
import { componentFor, parseResource, resourceKeyOf, resourceName, serializeResource, type ParsedResource, type ResourceComponent } from './resource';
import { CALDAV, DAV, escapeXml, parseMultistatus, propKey } from './xml';

export const CALDAV_MAX_BATCH = 20;
export const CALDAV_MAX_CONCURRENCY_PER_CALENDAR = 4;

export interface CalDavProviderOptions {
  /** Transport carrying auth (createCalDavHttpPort, or n8n's authenticated request). */
  http: HttpPort;
  /** Server or principal URL for discovery (listRooms, calendars by name). */
  baseUrl?: string;
  /** 'full' (default): calendar-query per run. 'incremental': sync-collection with a snapshot in stateStore. */
  listMode?: 'full' | 'incremental';
  stateStore?: KeyValueStore;
  /** Clock for DTSTAMP. */
  now?: () => number;
  readRetry?: ReadRetryOptions | false;
  maxBatchSize?: number;
}

interface Cached {
  etag?: string;
  text: string;
  parsed: ParsedResource;
}

interface Snapshot {
  v: 1;
  token: string;
  resources: Record<string, { etag?: string; text: string }>;
}

function basename(path: string): string {
  const p = path.replace(/\/+$/, '');
  return decodeURIComponent(p.slice(p.lastIndexOf('/') + 1));
}

/** Why a stamped component is not the one this sync wrote (a person's copy), or undefined when it is. */
function copyReason(href: string, c: ResourceComponent): string | undefined {
  const s = c.stamp;
  if (!s) return undefined;
  if (basename(href) !== resourceName(s.syncId, s.sourceKey)) return `stamp for ${s.sourceKey} in ${basename(href)}, not in the resource its key names`;
  if (resourceKeyOf(s.sourceKey) !== s.sourceKey && c.rid === '') return `override stamp ${s.sourceKey} on a component without RECURRENCE-ID`;
  return undefined;
}

/** A stamp counts only on the resource its key names: a person's copy (same X-props, another file) is not ours. */
function validStamp(href: string, c: ResourceComponent): OwnershipStamp | undefined {
  return c.stamp && !copyReason(href, c) ? c.stamp : undefined;
}

function timeRange(t: number): string {
  return formatUtc(t).replace(/[-:]/g, '');
}

function transportFailure(err: unknown, what: string): ProviderError {
  return new ProviderError(`${what}: no response (${(err as Error)?.message ?? String(err)})`, { code: (err as TransportError)?.code ?? 'transport', retryable: true });
}

/** DTEND written before DTSTART, for values of one form (UTC date-times as CALDAV:expand returns them, or dates). */
function rawEndBeforeStart(lines: string[]): boolean {
  const value = (name: string) => {
    const l = lines.find((x) => new RegExp(`^${name}[;:]`, 'i').test(x));
    return l ? l.slice(l.lastIndexOf(':') + 1).trim() : undefined;
  };
  const start = value('DTSTART');
  const end = value('DTEND');
  if (!start || !end || start.length !== end.length) return false;
  const utc = /^\d{8}T\d{6}Z$/;
  const date = /^\d{8}$/;
  return ((utc.test(start) && utc.test(end)) || (date.test(start) && date.test(end))) && end < start;
}

/** calendar-query for VEVENTs overlapping the window; `expand` asks the server for one VEVENT per instance (RFC 4791 §9.6.5). */
function calendarQueryBody(window: TimeWindow | undefined, expand = false): string {
  const range = window ? `start="${timeRange(window.from)}" end="${timeRange(window.to)}"` : '';
  const data = expand && window ? `<C:calendar-data><C:expand ${range}/></C:calendar-data>` : '<C:calendar-data/>';
  return `<?xml version="1.0" encoding="utf-8"?>\n<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/>${data}</D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">${window ? `<C:time-range ${range}/>` : ''}</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`;
}

export class CalDavCalendarProvider implements CalendarProvider {
  readonly kind = 'caldav' as const;
  readonly capabilities: ProviderCapabilities;
  readonly dav: DavClient;
  private readonly now: () => number;
  private readonly listMode: 'full' | 'incremental';
  private readonly store: KeyValueStore;
  /** Last known state of resources (from listings and our own writes), keyed by absolute URL. */
  private readonly cache = new Map<string, Cached>();
  /** One write at a time per resource. */
  private readonly locks = new Map<string, Promise<unknown>>();
  private discovered?: Promise<CalDavCalendar[]>;
  /** Calendars whose server refused a CALDAV:expand request: asked without it from then on. */
  private readonly noServerExpand = new Set<string>();

  constructor(private readonly opts: CalDavProviderOptions) {
    this.now = opts.now ?? Date.now;
    this.dav = new DavClient(opts.http, { readRetry: opts.readRetry, now: this.now });
    this.listMode = opts.listMode ?? 'full';
    this.store = opts.stateStore ?? new MemoryKeyValueStore();
    this.capabilities = {
      maxBatchSize: Math.max(1, Math.min(opts.maxBatchSize ?? CALDAV_MAX_BATCH, CALDAV_MAX_BATCH)),
      maxConcurrencyPerCalendar: CALDAV_MAX_CONCURRENCY_PER_CALENDAR,
      // iCalendar is CalDAV's native format: any RRULE/RDATE/EXDATE with overrides is stored as is.
      seriesSupport: () => true,
      // An override is one VEVENT of the resource: dropping it leaves the occurrence as the RRULE has it.
      overridesRemovable: true,
    };
  }

  /** Calendars reachable from baseUrl (cached for the provider's life). */
  async calendars(): Promise<CalDavCalendar[]> {
    if (!this.opts.baseUrl) throw new ProviderError('CalDAV: baseUrl is needed to discover calendars', { retryable: false, code: 'config' });
    this.discovered ??= discoverCalendars(this.dav, this.opts.baseUrl).then((d) => d.calendars);
    try {
      return await this.discovered;
    } catch (err) {
      this.discovered = undefined;
      throw err;
    }
  }

  /** A calendar named by URL (absolute, or a path on the server: no request) or by display name (discovery). */
  async resolveCalendarId(ref: string): Promise<string> {
    if (/^https?:\/\//i.test(ref)) return withSlash(ref);
    if (ref.startsWith('/') && this.opts.baseUrl) return withSlash(new URL(ref, this.opts.baseUrl).href);
    return resolveCalendar(await this.calendars(), ref, this.opts.baseUrl ?? '').url;
  }

  /** The routing config with every calendar (target, map values, default) resolved to its URL. */
  async resolveRouting(routing: RoutingConfig): Promise<RoutingConfig> {
    const one = (v: string | string[] | undefined) => (v === undefined ? undefined : Array.isArray(v) ? Promise.all(v.map((x) => this.resolveCalendarId(x))) : this.resolveCalendarId(v));
    const out: RoutingConfig = { ...routing };
    if (routing.target !== undefined) out.target = await one(routing.target);
    if (routing.default !== undefined) out.default = await one(routing.default);
    if (routing.map) {
      const map: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(routing.map)) map[k] = (await one(v))!;
      out.map = map;
    }
    return out;
  }

  async listRooms(): Promise<Room[]> {
    return calendarsAsRooms(await this.calendars());
  }

  // --- reading ----------------------------------------------------------------------------------

  private remember(url: string, etag: string | undefined, text: string): Cached {
    const c: Cached = { ...(etag ? { etag } : {}), text, parsed: parseResource(text) };
    this.cache.set(url, c);
    return c;
  }

  /** calendar-query REPORT: every resource with a VEVENT overlapping the window (servers expand series for the test). */
  private async queryResources(calendarUrl: string, window?: TimeWindow): Promise<Map<string, Cached>> {
    const res = await this.dav.send('REPORT', calendarUrl, { depth: '1' }, calendarQueryBody(window));
    if (res.status !== 207) throw davError(res, `calendar-query on ${calendarUrl}`);
    return this.readQuery(res.body, calendarUrl, true);
  }

  private readQuery(body: string, calendarUrl: string, remember: boolean): Map<string, Cached> {
    const out = new Map<string, Cached>();
    for (const r of parseMultistatus(body).responses) {
      const data = r.props.get(propKey(CALDAV, 'calendar-data'))?.text;
      if (data === undefined || (r.status !== undefined && r.status >= 300)) continue;
      const url = new URL(r.href, calendarUrl).href;
      const etag = r.props.get(propKey(DAV, 'getetag'))?.text.trim();
      out.set(url, remember ? this.remember(url, etag, data) : { ...(etag ? { etag } : {}), text: data, parsed: parseResource(data) });
    }
    return out;
  }

  /**
   * calendar-query asking the server to expand series (CALDAV:expand). One attempt: any answer but
   * 207 (Xandikos 0.2.8 answers 500) means "not here" and the caller expands itself. The data is
   * not the stored resource, so it never enters the write cache.
   */
  private async queryExpanded(calendarUrl: string, window: TimeWindow): Promise<Map<string, Cached> | undefined> {
    let res;
    try {
      res = await this.dav.send('REPORT', calendarUrl, { depth: '1' }, calendarQueryBody(window, true), { retry: false });
    } catch (err) {
      if (err instanceof TransportError) return undefined;
      throw err;
    }
    if (res.status === 401) throw davError(res, `calendar-query on ${calendarUrl}`);
    if (res.status !== 207) return undefined;
    return this.readQuery(res.body, calendarUrl, false);
  }

  private async syncToken(calendarUrl: string): Promise<string | undefined> {
    const p = await this.dav.propfind(calendarUrl, 0, [[DAV, 'sync-token']], `sync-token of ${calendarUrl}`);
    return p.responses[0]?.props.get(propKey(DAV, 'sync-token'))?.text.trim() || undefined;
  }

  /** RFC 6578 sync-collection since `token`: changed resources with their data, removed hrefs; undefined when the token is refused. */
  private async syncCollection(calendarUrl: string, token: string): Promise<{ changed: Map<string, Cached>; removed: string[]; token: string } | undefined> {
    const body = `<?xml version="1.0" encoding="utf-8"?>\n<D:sync-collection xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:sync-token>${token.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/><C:calendar-data/></D:prop></D:sync-collection>`;
    // One attempt, no retries: Xandikos 0.2.8 answers a token it does not know with HTTP 500, which
    // the read retries would repeat with backoff for nothing. 403/409 valid-sync-token (RFC 6578
    // §3.2), 400/501 from servers without the report, any 5xx or no answer: start over with a full
    // listing, which is always right (and retried, and fails on its own if the server is really
    // down). Bad credentials stop here.
    let res;
    try {
      res = await this.dav.send('REPORT', calendarUrl, {}, body, { retry: false });
    } catch (err) {
      if (err instanceof TransportError) return undefined;
      throw err;
    }
    if (res.status === 401) throw davError(res, `sync-collection on ${calendarUrl}`);
    if (res.status !== 207) return undefined;
    const ms = parseMultistatus(res.body);
    if (!ms.syncToken) return undefined;
    const changed = new Map<string, Cached>();
    const removed: string[] = [];
    const toFetch: string[] = [];
    for (const r of ms.responses) {
      const url = new URL(r.href, calendarUrl).href;
      if (withSlash(url) === withSlash(calendarUrl)) continue;
      if (r.status === 404) {
        removed.push(url);
        continue;
      }
      const data = r.props.get(propKey(CALDAV, 'calendar-data'))?.text;
      if (data !== undefined) changed.set(url, this.remember(url, r.props.get(propKey(DAV, 'getetag'))?.text.trim(), data));
      else toFetch.push(url); // servers that answer sync-collection with etags only (Xandikos): one multiget
    }
    const fetched = toFetch.length ? await this.multiget(calendarUrl, toFetch) : new Map<string, Cached>();
    for (const url of toFetch) {
      const got = fetched.has(url) ? fetched.get(url) : await this.fetchResource(url);
      if (got) changed.set(url, got);
      else removed.push(url);
    }
    return { changed, removed, token: ms.syncToken };
  }

  /**
   * calendar-multiget (RFC 4791 §7.9): the data of many resources in one REPORT. Absent from the
   * result: not answered (those are fetched one by one); present as undefined: gone (404).
   */
  private async multiget(calendarUrl: string, urls: string[]): Promise<Map<string, Cached | undefined>> {
    const out = new Map<string, Cached | undefined>();
    if (urls.length < 2) return out;
    const hrefs = urls.map((u) => `<D:href>${escapeXml(new URL(u).pathname)}</D:href>`).join('');
    const body = `<?xml version="1.0" encoding="utf-8"?>\n<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>${hrefs}</C:calendar-multiget>`;
    const res = await this.dav.send('REPORT', calendarUrl, { depth: '1' }, body);
    if (res.status === 401) throw davError(res, `calendar-multiget on ${calendarUrl}`);
    if (res.status !== 207) return out;
    const wanted = new Set(urls);
    for (const r of parseMultistatus(res.body).responses) {
      const url = new URL(r.href, calendarUrl).href;
      if (!wanted.has(url)) continue;
      const data = r.props.get(propKey(CALDAV, 'calendar-data'))?.text;
      if (r.status === 404) {
        this.cache.delete(url);
        out.set(url, undefined);
      } else if (data !== undefined && (r.status === undefined || r.status < 300)) out.set(url, this.remember(url, r.props.get(propKey(DAV, 'getetag'))?.text.trim(), data));
    }
    return out;
  }

  /** GET one resource; undefined when it is gone. */
  private async fetchResource(url: string): Promise<Cached | undefined> {
    let res;
    try {
      res = await this.dav.send('GET', url, { accept: 'text/calendar' });
    } catch (err) {
      if (err instanceof TransportError) throw transportFailure(err, `GET ${url}`);
      throw err;
    }
    if (res.status === 404 || res.status === 410) {
      this.cache.delete(url);
      return undefined;
    }
    if (res.status !== 200) throw davError(res, `GET ${url}`);
    return this.remember(url, res.headers.etag, res.body);
  }

  private ownedResources(resources: Map<string, Cached>, syncId: string): Map<string, Cached> {
    const out = new Map<string, Cached>();
    // Copies count too: listOwned reports them (TargetEvent.copy) so the planner says why they are left alone.
    for (const [url, c] of resources) if (c.parsed.components.some((x) => x.stamp?.syncId === syncId)) out.set(url, c);
    return out;
  }

  private async listResources(calendarId: string, syncId: string, window: TimeWindow): Promise<Map<string, Cached>> {
    const cal = withSlash(calendarId);
    if (this.listMode !== 'incremental') return this.queryResources(cal, window);
    const key = `caldav:${cal}:${syncId}`;
    const saved = await this.store.get(key);
    let snap: Snapshot | undefined;
    try {
      snap = saved ? (JSON.parse(saved) as Snapshot) : undefined;
    } catch {
      snap = undefined;
    }
    if (snap?.v !== 1) snap = undefined;
    let owned: Map<string, Cached> | undefined;
    if (snap) {
      const delta = await this.syncCollection(cal, snap.token);
      if (delta) {
        owned = new Map();
        for (const [url, r] of Object.entries(snap.resources)) owned.set(url, this.cache.get(url)?.text === r.text && this.cache.get(url)?.etag === r.etag ? this.cache.get(url)! : this.remember(url, r.etag, r.text));
        for (const url of delta.removed) owned.delete(url);
        for (const [url, c] of delta.changed) {
          if (this.ownedResources(new Map([[url, c]]), syncId).size) owned.set(url, c);
          else owned.delete(url);
        }
        snap = { v: 1, token: delta.token, resources: {} };
      } else snap = undefined;
    }
    if (!snap || !owned) {
      // Full start: the token first, so changes made during the listing show up again next time.
      const token = await this.syncToken(cal);
      owned = this.ownedResources(await this.queryResources(cal), syncId);
      if (!token) {
        await this.store.set(key, undefined);
        return this.inWindow(owned, window); // no sync-collection here: full listings from now on
      }
      snap = { v: 1, token, resources: {} };
    }
    for (const [url, c] of owned) snap.resources[url] = { ...(c.etag ? { etag: c.etag } : {}), text: c.text };
    await this.store.set(key, JSON.stringify(snap));
    return this.inWindow(owned, window);
  }

  /** Client-side window test for the snapshot (inclusive: an unreadable time or any overlapping component keeps the resource). */
  private inWindow(resources: Map<string, Cached>, window: TimeWindow): Map<string, Cached> {
    const out = new Map<string, Cached>();
    for (const [url, c] of resources) {
      const keep = c.parsed.components.some((x) => {
        if (!x.event) return true;
        try {
          return overlapsWindow(x.event, window);
        } catch {
          return true;
        }
      });
      if (keep) out.set(url, c);
    }
    return out;
  }

  /**
   * The VEVENTs of a resource as TargetEvents: the stamp (with its digest) as read, `copy` when the
   * stamp sits where this sync never writes it, `edited` when the digested fields differ from what
   * we wrote (providers/ownership.ts, as Google and Graph report it).
   */
  private targetEvents(calendarId: string, url: string, c: Cached, filter: (s: OwnershipStamp | undefined) => boolean): TargetEvent[] {
    const path = new URL(url).pathname;
    return c.parsed.components.filter((comp) => filter(comp.stamp)).map((comp) => this.targetEvent(calendarId, path, c, comp));
  }

  /** One VEVENT as a TargetEvent; `occurrence` replaces its event and id for an expanded instance (no `edited` then: the digest is the series'). */
  private targetEvent(calendarId: string, path: string, c: Cached, comp: ResourceComponent, occurrence?: { event: CalendarEvent; rid: string }): TargetEvent {
    const stamp = comp.stamp;
    const copy = copyReason(path, comp);
    const event: CalendarEvent = occurrence?.event ?? comp.event ?? { uid: path, title: '', start: { dateTime: 'unreadable' }, end: { dateTime: 'unreadable' }, warnings: [comp.problem ?? 'unreadable VEVENT'] };
    const rid = occurrence ? occurrence.rid : comp.rid;
    return {
      id: rid ? `${path}#${rid}` : path,
      calendarId,
      event,
      ...(stamp ? { stamp: { ...stamp } } : {}),
      ...(c.etag ? { etag: c.etag } : {}),
      ...(copy ? { copy } : {}),
      ...(stamp && !copy && !occurrence && comp.edited?.length ? { edited: [...comp.edited] } : {}),
    };
  }

  /** The occurrences of a stored resource inside the window, expanded here (the core's expandOccurrences; floating times read in UTC). */
  private expandHere(calendarId: string, url: string, c: Cached, window: TimeWindow): TargetEvent[] {
    const path = new URL(url).pathname;
    const readable = c.parsed.components.filter((x) => x.event);
    const out: TargetEvent[] = [];
    const r = expandOccurrences(readable.map((x) => x.event!), window.from, window.to);
    if (r.errors.length) {
      // A series the expander cannot read comes back as stored, saying why.
      const why = r.errors.map((e) => e.message).join('; ');
      for (const t of this.targetEvents(calendarId, url, c, () => true)) out.push({ ...t, event: { ...t.event, warnings: [...(t.event.warnings ?? []), `series not expanded: ${why}`] } });
      return out;
    }
    for (const occ of r.occurrences) {
      const src = readable.find((x) => x.event === occ.event) ?? readable.find((x) => x.rid === (occ.event.recurrenceId ? occurrenceToken(occ.event.recurrenceId) : ''));
      if (!src) continue;
      const { recurrence: _series, recurrenceId: _rid, ...rest } = occ.event;
      const event: CalendarEvent = { ...rest, start: occ.start, end: occ.end, ...(occ.recurrenceId ? { recurrenceId: occ.recurrenceId } : {}) };
      out.push(this.targetEvent(calendarId, path, c, src, { event, rid: occ.recurrenceId ? occurrenceToken(occ.recurrenceId) : '' }));
    }
    for (const x of c.parsed.components) if (!x.event) out.push(this.targetEvent(calendarId, path, c, x));
    return out;
  }

  /**
   * A resource as the server expanded it: its instances when they look right (no recurrence left,
   * every end after its start); undefined when the server left it unexpanded or the shape is wrong
   * (Xandikos 0.2.8's expand moves DTSTART but keeps the master's DTEND), so it is expanded here.
   */
  private serverInstances(calendarId: string, url: string, c: Cached, window: TimeWindow): TargetEvent[] | undefined {
    const comps = c.parsed.components;
    if (!comps.length || comps.some((x) => !x.event)) return undefined;
    if (comps.some((x) => x.event!.recurrence && ((x.event!.recurrence.rrule?.length ?? 0) > 0 || (x.event!.recurrence.rdate?.length ?? 0) > 0))) return undefined;
    if (comps.length > 1 && comps.some((x) => !x.rid)) return undefined;
    const path = new URL(url).pathname;
    const out: TargetEvent[] = [];
    for (const x of comps) {
      const e = x.event!;
      // The core's reader turns an end before its start into a zero-length event: look at the text.
      if (rawEndBeforeStart(x.lines)) return undefined;
      try {
        if (eventTimeToUtc(e.end) < eventTimeToUtc(e.start)) return undefined;
      } catch {
        return undefined;
      }
      if (e.status === 'CANCELLED' || !overlapsWindow(e, window)) continue;
      out.push(this.targetEvent(calendarId, path, c, x, x.rid ? { event: e, rid: x.rid } : undefined));
    }
    return out;
  }

  /** Every occurrence inside the window: the server's expansion where it gives one, ours elsewhere. */
  private async expandedEvents(calendarId: string, window: TimeWindow): Promise<TargetEvent[]> {
    const cal = withSlash(calendarId);
    let expanded: Map<string, Cached> | undefined;
    if (!this.noServerExpand.has(cal)) {
      expanded = await this.queryExpanded(cal, window);
      if (!expanded) this.noServerExpand.add(cal);
    }
    const out: TargetEvent[] = [];
    if (!expanded) {
      for (const [url, c] of await this.queryResources(cal, window)) out.push(...this.expandHere(calendarId, url, c, window));
      return out;
    }
    for (const [url, c] of expanded) {
      const byServer = this.serverInstances(calendarId, url, c, window);
      if (byServer) {
        out.push(...byServer);
        continue;
      }
      // Left unexpanded (the data is then the stored resource) or expanded wrongly (read it as stored).
      const stored = c.parsed.components.some((x) => x.event?.recurrence) ? c : await this.fetchResource(url);
      if (stored) out.push(...this.expandHere(calendarId, url, stored, window));
    }
    return out;
  }

  async listOwned(calendarId: string, syncId: string, window: TimeWindow): Promise<TargetEvent[]> {
    const resources = await this.listResources(calendarId, syncId, window);
    const out: TargetEvent[] = [];
    for (const [url, c] of resources) out.push(...this.targetEvents(calendarId, url, c, (s) => s?.syncId === syncId));
    return out;
  }

  /** All events overlapping the window; with expandSeries one per occurrence (id `<path>#<RECURRENCE-ID>`), otherwise series as stored. */
  async listEvents(calendarId: string, window: TimeWindow, opts: { expandSeries?: boolean; maxResults?: number } = {}): Promise<TargetEvent[]> {
    let out: TargetEvent[];
    if (opts.expandSeries) out = await this.expandedEvents(calendarId, window);
    else {
      out = [];
      for (const [url, c] of await this.queryResources(withSlash(calendarId), window)) out.push(...this.targetEvents(calendarId, url, c, () => true));
    }
    return opts.maxResults ? out.slice(0, opts.maxResults) : out;
  }

  async getEvent(calendarId: string, targetId: string): Promise<TargetEvent | undefined> {
    const [path, rid = ''] = targetId.split('#');
    const url = new URL(path, withSlash(calendarId)).href;
    const c = await this.fetchResource(url);
    if (!c) return undefined;
    return this.targetEvents(calendarId, url, c, () => true).find((t) => t.id === (rid ? `${path}#${rid}` : path));
  }

  // --- writing ----------------------------------------------------------------------------------

  private urlOf(calendarId: string, op: WriteOp): string {
    if (op.op === 'delete') return new URL(op.targetId.split('#')[0], withSlash(calendarId)).href;
    return new URL(resourceName(op.stamp.syncId, op.key), withSlash(calendarId)).href;
  }

  async write(calendarId: string, ops: WriteOp[]): Promise<WriteResult[]> {
    const groups = new Map<string, number[]>();
    ops.forEach((op, i) => {
      const url = this.urlOf(calendarId, op);
      const g = groups.get(url);
      if (g) g.push(i);
      else groups.set(url, [i]);
    });
    const results: WriteResult[] = new Array(ops.length);
    for (const [url, idx] of groups) {
      const group = idx.map((i) => ops[i]);
      const prev = this.locks.get(url) ?? Promise.resolve();
      const run = prev.then(() => this.writeResource(calendarId, url, group));
      const tail = run.then(() => undefined, () => undefined);
      this.locks.set(url, tail);
      let rs: WriteResult[];
      try {
        rs = await run;
      } catch (err) {
        const e = err instanceof ProviderError ? err : err instanceof TransportError ? transportFailure(err, url) : new ProviderError(String((err as Error)?.message ?? err), { retryable: false });
        rs = group.map((op) => ({ op, ok: false, error: e }));
      }
      if (this.locks.get(url) === tail) this.locks.delete(url);
      idx.forEach((i, k) => (results[i] = rs[k]));
    }
    return results;
  }

  /**
   * Applies ops to one resource: decide each op against the resource as known, PUT (or DELETE) it
   * conditionally, and on 412/404 read it again and decide once more.
   */
  private async writeResource(calendarId: string, url: string, ops: WriteOp[]): Promise<WriteResult[]> {
    const path = new URL(url).pathname;
    const needsCurrent = ops.some((o) => o.op !== 'create' || resourceKeyOf(o.key) !== o.key);
    let state: Cached | undefined | null = this.cache.get(url); // null = known absent
    if (state === undefined && needsCurrent) state = (await this.fetchResource(url)) ?? null;
    for (let attempt = 0; ; attempt++) {
      const decided = this.decide(path, state ?? undefined, ops);
      if (decided.kind === 'none') return decided.results;
      let res;
      try {
        if (decided.kind === 'delete') {
          res = await this.dav.send('DELETE', url, state?.etag ? { 'if-match': state.etag } : {});
        } else {
          const headers: Record<string, string> = { 'content-type': 'text/calendar; charset=utf-8' };
          if (state) {
            if (state.etag) headers['if-match'] = state.etag;
          } else headers['if-none-match'] = '*';
          res = await this.dav.send('PUT', url, headers, decided.text);
        }
      } catch (err) {
        this.cache.delete(url);
        throw err instanceof TransportError ? transportFailure(err, `${decided.kind === 'delete' ? 'DELETE' : 'PUT'} ${path}`) : err;
      }
      if (res.status >= 200 && res.status < 300) {
        if (decided.kind === 'delete') this.cache.delete(url);
        else if (res.headers.etag && !/^W\//.test(res.headers.etag)) this.remember(url, res.headers.etag, decided.text!);
        else this.cache.delete(url); // no strong ETag: read it before the next change
        return decided.results;
      }
      if (decided.kind === 'delete' && res.status === 404) {
        this.cache.delete(url);
        return decided.results.map((r) => ({ ...r, note: r.note ?? 'already deleted' }));
      }
      if ((res.status === 412 || res.status === 404) && attempt < 2) {
        // Changed (or removed) since we last saw it: read what is there now and decide again.
        state = (await this.fetchResource(url)) ?? null;
        continue;
      }
      const err = davError(res, `${decided.kind === 'delete' ? 'DELETE' : 'PUT'} ${path}`);
      this.cache.delete(url);
      return decided.results.map((r) => (r.ok ? { op: r.op, ok: false, error: err } : r));
    }
  }

  /** What to do with the resource for these ops, given what it holds now (undefined: absent). */
  private decide(path: string, state: Cached | undefined, ops: WriteOp[]):
    | { kind: 'none'; results: WriteResult[] }
    | { kind: 'delete'; results: WriteResult[] }
    | { kind: 'put'; text: string; results: WriteResult[] } {
    const comps: ResourceComponent[] = state ? [...state.parsed.components] : [];
    const results: WriteResult[] = [];
    let changed = false;
    let deleteWhole = false;
    const fail = (op: WriteOp, message: string, code: string, status?: number) =>
      results.push({ op, ok: false, error: new ProviderError(message, { code, retryable: false, ...(status ? { status } : {}) }) });
    const ours = (c: ResourceComponent, key: string) => {
      const s = validStamp(path, c);
      return !!s && s.sourceKey === key;
    };
    for (const op of ops) {
      if (op.op === 'delete') {
        const rid = op.targetId.split('#')[1] ?? '';
        const i = comps.findIndex((c) => c.rid === rid);
        if (i < 0) {
          results.push({ op, ok: true, note: 'already deleted' });
          continue;
        }
        if (!ours(comps[i], op.key)) {
          fail(op, `${op.targetId}: no longer carries our stamp for ${op.key} (changed by someone else): left alone`, 'conflict', 412);
          continue;
        }
        if (rid === '') deleteWhole = true;
        else {
          comps.splice(i, 1);
          changed = true;
        }
        results.push({ op, ok: true });
        continue;
      }
      const isOverride = resourceKeyOf(op.key) !== op.key;
      let fresh: ResourceComponent;
      try {
        fresh = componentFor(basename(path), op.event, op.stamp, this.now());
      } catch (err) {
        fail(op, `${op.key}: cannot be written as iCalendar: ${(err as Error).message}`, 'invalidEvent');
        continue;
      }
      const rid = fresh.rid;
      if (isOverride) {
        const master = comps.find((c) => c.rid === '');
        if (!master || !validStamp(path, master)) {
          fail(op, `series master for ${op.key} not found in ${path}`, 'notFound', 404);
          continue;
        }
      } else if (rid !== '') {
        fail(op, `${op.key}: a single event or series master must not carry a RECURRENCE-ID`, 'invalidEvent');
        continue;
      }
      const i = comps.findIndex((c) => c.rid === rid);
      const existing = i >= 0 ? comps[i] : undefined;
      const targetId = rid ? `${path}#${rid}` : path;
      if (existing && !ours(existing, op.key) && !(isOverride && !existing.stamp)) {
        // Someone else's event sits at our name (or the stamp changed): never overwritten.
        fail(op, `${targetId}: holds an event that is not ours (${existing.stamp ? `stamp ${existing.stamp.syncId} / ${existing.stamp.sourceKey}` : 'no stamp'}): left alone`, 'conflict', 409);
        continue;
      }
      if (existing && existing.stamp?.fingerprint === op.stamp.fingerprint && !existing.edited?.length && ours(existing, op.key)) {
        results.push({ op, ok: true, targetId, note: op.op === 'create' ? 'already existed (deterministic name) — reconciled' : 'already up to date' });
        continue;
      }
      if (i >= 0) comps[i] = fresh;
      else comps.push(fresh);
      changed = true;
      results.push({ op, ok: true, targetId, ...(op.op === 'update' && !existing ? { note: 'was deleted on the target meanwhile: written again' } : {}) });
    }
    if (deleteWhole) return { kind: 'delete', results };
    if (!changed) return { kind: 'none', results };
    if (!comps.length) return { kind: 'delete', results };
    const text = serializeResource({ components: comps, timezones: state?.parsed.timezones ?? new Map(), others: state?.parsed.others ?? [] });
    return { kind: 'put', text, results };
  }
}

