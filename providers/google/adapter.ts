/**
 * GoogleCalendarProvider: the CalendarProvider port over Google Calendar v3 (+ Admin Directory for
 * rooms), speaking only through an HttpPort. Reads are retried by the shared wrapper
 * (providers/retry.ts withReadRetries) it puts over that port; writes never: every write failure
 * comes back as a ProviderError with `retryable` / `retryAfterMs` / `scope` for providers/apply.ts.
 *
 * Writes (one calendar, ≤ 50 ops per HTTP batch):
 * - create: POST with a deterministic id (ids.ts). 409 → GET it: ours and live → "already existed"
 *   (updated when the fingerprint differs); deleted (Google keeps the id reserved) → restored by
 *   an update (PUT, status confirmed), or, where Google refuses that, the next id generation;
 *   someone else's → error.
 * - update: PUT (replaces the event, so stale fields vanish; the stamp is resent because PUT drops
 *   omitted extendedProperties). 412 → re-GET and PUT with the fresh etag. 404/410 → re-created.
 * - delete: DELETE; 404/410 → success "already gone".
 * - overrides (events with recurrenceId) are instance patches: PATCH `{masterId}_{originalStart}`;
 *   when that id guess 404s the instance is looked up through `events/{master}/instances`.
 *   Deleting an override cancels that instance and keeps our stamp on it (cancelOccurrence: Google
 *   has no "remove this exception" call, and an unstamped exception could come back stale).
 * Follow-up requests (reconcile, fallback) are single requests after the batch, in op order.
 */
import { MemoryKeyValueStore, type KeyValueStore } from '../state';
import type {
  CalendarProvider, HttpPort, HttpRequest, HttpResponse, OwnershipStamp, ProviderCapabilities, Room, TargetEvent, TimeWindow, WriteOp, WriteResult,
} from '../port';
import { ProviderError, TransportError } from '../port';
import type { CalendarEvent } from '../../core/event';
import { eventTimeToUtc, parseWall } from '../../core/time';
import { overrideKey, parseKey, uidKey } from '../../core/sync-key';
import { buildBatch, parseBatchResponse, BatchFormatError, type BatchPartResponse } from './batch';
import { googleProviderError } from './errors';
import { withReadRetries, type ReadRetryOptions } from '../retry';
import {
  googleEventId, googleInstanceId, masterIdOfInstance, MAX_ID_GENERATION, STAMP_KEY, STAMP_SYNC_ID, STAMP_VALUE_MAX,
} from './ids';
import { fromGoogleEvent, fromGoogleTime, toGoogleEvent, toGoogleInstancePatch, type GoogleEvent, type GoogleAttendeeMode } from './mapper';
import { googleCopyReason } from './ownership';

export const GOOGLE_ROOT_URL = 'https://www.googleapis.com/';
export const GOOGLE_DIRECTORY_ROOT_URL = 'https://admin.googleapis.com/';
export const GOOGLE_MAX_BATCH = 50;
/** Not a documented Google limit: keeps one calendar's burst well under 600 requests/min/user. */
export const GOOGLE_MAX_CONCURRENCY_PER_CALENDAR = 4;
const MAX_PAGE_SIZE = 2500;
const MAX_PAGES = 100_000;

/** Where incremental listing keeps its sync token (and snapshot) per (calendarId, syncId). */
export type SyncStateStore = KeyValueStore;
export { MemoryKeyValueStore as MemorySyncStateStore } from '../state';

export interface GoogleProviderOptions {
  /** Transport that carries auth (n8n's authenticated request, or createGoogleHttpPort). */
  http: HttpPort;
  /** Default https://www.googleapis.com/ (the emulator's URL in tests). */
  rootUrl?: string;
  /** Admin Directory root; default https://admin.googleapis.com/, or rootUrl when that is set. */
  directoryRootUrl?: string;
  stateStore?: SyncStateStore;
  /** Zone for floating times (Google has none). Default "UTC". */
  defaultTimeZone?: string;
  /**
   * 'full' (default): every listOwned is a filtered list (privateExtendedProperty + window), no state.
   * 'incremental': sync tokens in `stateStore` with a snapshot of the owned events; see docs.
   */
  listMode?: 'full' | 'incremental';
  /**
   * 'omit' (default) or 'description' (see mapper.ts). 'invite' writes them as Google attendees:
   * only for the Calendar Event node, never Room Sync (people would be invited from the room).
   * No `sendUpdates` is sent, so Google's default (none) applies.
   */
  attendees?: GoogleAttendeeMode;
  /** Page size for lists (1–2500). Default 2500. */
  pageSize?: number;
  /** Called when a batch part answers 401, before those parts are sent once more (e.g. tokenSource.invalidate). */
  onAuthRejected?: () => void;
  /**
   * Reads (GET) are retried over `http` by providers/retry.ts withReadRetries (403 rate limits,
   * 429, 5xx, no answer; Retry-After honoured). Options for it (sleep, random, policy), or false
   * when `http` retries reads itself.
   */
  readRetry?: ReadRetryOptions | false;
  /** Clock for HTTP-date Retry-After values (and read retries). Default Date.now. */
  now?: () => number;
  /**
   * The request quota applyPlan paces writes to: Google's 600 requests per 60 s per user (one
   * credential = one user, shared by every calendar it writes). Override for a project with a
   * raised quota or an emulator with a scaled window; false: no pacing.
   */
  quota?: { maxRequests?: number; windowMs?: number } | false;
}

/** Google Calendar's per-user quota: 600 requests per minute (sliding). */
export const GOOGLE_USER_QUOTA = { maxRequests: 600, windowMs: 60_000 } as const;

interface Call {
  method: HttpRequest['method'];
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
}

type Step = { call: Call; then: (res: HttpResponse) => Outcome } | { run: () => Promise<WriteResult> };
type Outcome = WriteResult | (() => Promise<WriteResult>);

interface Snapshot {
  v: 1;
  token: string;
  events: Record<string, GoogleEvent>;
}

function isOk(status: number): boolean {
  return status >= 200 && status < 300;
}

function parseJson<T>(body: string): T | undefined {
  try {
    return JSON.parse(body) as T;
  } catch {
    return undefined;
  }
}

function withSlash(u: string): string {
  return u.endsWith('/') ? u : `${u}/`;
}

/** Private property recording the zone floating times were written in ('-': none). */
const STAMP_ZONE = 'crTz';

/**
 * Whether where the event lands depends on the calendar's zone: a floating start or end (no zone,
 * not UTC), or a series (or an occurrence of one) whose start names no zone — Google needs a zone
 * for recurring events and expands a UTC series in it (DST), and instance ids of floating
 * occurrences are computed in it.
 */
function isFloating(e: CalendarEvent): boolean {
  const floating = (t: CalendarEvent['start'] | undefined) => !!t && t.date === undefined && !t.timeZone && !!t.dateTime && !t.dateTime.endsWith('Z');
  const series = !!e.recurrence || !!e.recurrenceId;
  return floating(e.start) || floating(e.end) || (series && e.start.date === undefined && !e.start.timeZone) || (!!e.recurrenceId && floating(e.recurrenceId));
}

/**
 * A stamp as read back, against the zone floating times are placed in now: written in another
 * zone → the fingerprint reads `<fingerprint>~<old zone>`, which no planned fingerprint equals, so
 * the planner rewrites the event in the current zone. No record (older writes), '-' (nothing
 * floating) or the same zone → the stamp as stored.
 */
function withZoneRecord(stamp: OwnershipStamp, recorded: string | undefined, zone: string): OwnershipStamp {
  if (!recorded || recorded === '-' || recorded === zone) return stamp;
  return { ...stamp, fingerprint: `${stamp.fingerprint}~${recorded}` };
}

function isKnownZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export class GoogleCalendarProvider implements CalendarProvider {
  readonly kind = 'google' as const;
  readonly capabilities: ProviderCapabilities;
  private readonly http: HttpPort;
  private readonly root: string;
  private readonly directoryRoot: string;
  /** Set when the zone is configured; otherwise each calendar's own zone (GET calendars/{id}) is used. */
  private readonly configuredZone?: string;
  private readonly calendarZones = new Map<string, string>();
  private readonly store: SyncStateStore;
  private readonly listMode: 'full' | 'incremental';
  private readonly attendees: GoogleAttendeeMode;
  private readonly pageSize: number;
  private readonly onAuthRejected?: () => void;
  private readonly now: () => number;

  constructor(opts: GoogleProviderOptions) {
    this.now = opts.now ?? Date.now;
    this.http = withReadRetries(opts.http, opts.readRetry === false ? false : { now: this.now, ...opts.readRetry });
    this.root = withSlash(opts.rootUrl ?? GOOGLE_ROOT_URL);
    this.directoryRoot = withSlash(opts.directoryRootUrl ?? opts.rootUrl ?? GOOGLE_DIRECTORY_ROOT_URL);
    this.configuredZone = opts.defaultTimeZone;
    this.store = opts.stateStore ?? new MemoryKeyValueStore();
    this.listMode = opts.listMode ?? 'full';
    this.attendees = opts.attendees ?? 'omit';
    this.pageSize = Math.max(1, Math.min(MAX_PAGE_SIZE, opts.pageSize ?? MAX_PAGE_SIZE));
    this.onAuthRejected = opts.onAuthRejected;
    this.capabilities = {
      maxBatchSize: GOOGLE_MAX_BATCH,
      maxConcurrencyPerCalendar: GOOGLE_MAX_CONCURRENCY_PER_CALENDAR,
      // Google stores RRULE/EXDATE/RDATE as given and takes overrides as instance patches.
      seriesSupport: () => true,
      ...(opts.quota === false ? {} : { quota: { ...GOOGLE_USER_QUOTA, ...opts.quota, per: 'account' as const } }),
    };
  }

  // ---- URLs and raw requests ----------------------------------------------------------------

  private eventsUrl(calendarId: string, eventId?: string, query?: URLSearchParams, suffix = ''): string {
    const base = `${this.root}calendar/v3/calendars/${encodeURIComponent(calendarId)}/events`;
    const path = eventId === undefined ? base : `${base}/${encodeURIComponent(eventId)}${suffix}`;
    const q = query?.toString();
    return q ? `${path}?${q}` : path;
  }

  private async send(call: Call): Promise<HttpResponse> {
    const headers: Record<string, string> = { accept: 'application/json', ...(call.headers ?? {}) };
    let body: string | undefined;
    if (call.body !== undefined) {
      body = JSON.stringify(call.body);
      headers['content-type'] = 'application/json';
    }
    return this.http({ method: call.method, url: call.url, headers, ...(body !== undefined ? { body } : {}) });
  }

  /** One HTTP batch for `calls` (a single call goes out as a plain request). */
  private async sendBatch(calls: Call[]): Promise<HttpResponse[]> {
    if (calls.length === 1) return [await this.send(calls[0])];
    const built = buildBatch(calls.map((c) => {
      const u = new URL(c.url);
      return { method: c.method, path: u.pathname + u.search, headers: c.headers, body: c.body };
    }));
    const res = await this.http({
      method: 'POST', url: `${this.root}batch/calendar/v3`, headers: { 'content-type': built.contentType }, body: built.body,
    });
    if (!isOk(res.status)) throw googleProviderError(res.status, res.body, res.headers, `batch of ${calls.length}`, this.now());
    let parts: BatchPartResponse[];
    try {
      parts = parseBatchResponse(res.headers['content-type'], res.body);
    } catch (err) {
      if (err instanceof BatchFormatError) throw new ProviderError(`batch of ${calls.length}: unreadable response (${err.message})`, { status: res.status, code: 'badBatchResponse', retryable: true });
      throw err;
    }
    const byIndex = new Map(parts.map((p) => [p.index, p]));
    return calls.map((_c, i) => {
      const p = byIndex.get(i);
      return p ? { status: p.status, headers: p.headers, body: p.body } : { status: 0, headers: {}, body: 'no answer for this call in the batch response' };
    });
  }

  /** Sends a batch; parts answered 401 are sent once more after `onAuthRejected`. */
  private async sendBatchWithAuthRetry(calls: Call[]): Promise<HttpResponse[]> {
    const out = await this.sendBatch(calls);
    const rejected = out.map((r, i) => (r.status === 401 ? i : -1)).filter((i) => i >= 0);
    if (rejected.length === 0 || calls.length === 1) return out;
    this.onAuthRejected?.();
    const again = await this.sendBatch(rejected.map((i) => calls[i]));
    rejected.forEach((i, k) => { out[i] = again[k]; });
    return out;
  }

  // ---- reading ------------------------------------------------------------------------------

  private toTarget(calendarId: string, g: GoogleEvent): TargetEvent {
    let mapped: { event: CalendarEvent; stamp?: OwnershipStamp; edited?: string[] };
    try {
      mapped = fromGoogleEvent(g, this.tzFor(calendarId));
    } catch (err) {
      // One unreadable event must not sink the listing: keep it (ownership still counts) with a warning.
      const props = g.extendedProperties?.private ?? undefined;
      const partial = fromGoogleEvent({ id: g.id, extendedProperties: { private: props }, start: { date: '1970-01-01' } }, this.tzFor(calendarId));
      mapped = { ...(partial.stamp ? { stamp: partial.stamp } : {}), event: { ...partial.event, title: g.summary ?? '', warnings: [(err as Error).message] } };
    }
    const t: TargetEvent = { id: g.id ?? '', calendarId, event: mapped.event };
    if (mapped.stamp) {
      t.stamp = withZoneRecord(mapped.stamp, g.extendedProperties?.private?.[STAMP_ZONE] ?? undefined, this.tzFor(calendarId));
      // Ownership is the id, not the stamp (a person's copy carries the stamp too); see ownership.ts.
      // Every id the writes give a key (generations 0..MAX_ID_GENERATION, restored ones included) counts.
      const copy = googleCopyReason(g, mapped.stamp);
      if (copy) t.copy = copy;
      if (mapped.edited) t.edited = mapped.edited;
    }
    if (g.etag) t.etag = g.etag;
    return t;
  }

  /** Follows nextPageToken to the end (pages may be short or empty and still carry a token). */
  private async listAll(url: (pageToken?: string) => string, what: string, limit = Number.POSITIVE_INFINITY): Promise<{ items: GoogleEvent[]; nextSyncToken?: string; status?: number; res?: HttpResponse }> {
    const items: GoogleEvent[] = [];
    let token: string | undefined;
    const seen = new Set<string>();
    for (let pageNo = 0; pageNo < MAX_PAGES; pageNo++) {
      const res = await this.send({ method: 'GET', url: url(token) });
      if (!isOk(res.status)) return { items, status: res.status, res };
      const page = parseJson<{ items?: GoogleEvent[]; nextPageToken?: string; nextSyncToken?: string }>(res.body);
      if (!page) throw new ProviderError(`${what}: answer is not JSON`, { status: res.status, retryable: true, code: 'badResponse' });
      items.push(...(page.items ?? []));
      if (items.length >= limit) return { items: items.slice(0, limit) };
      if (!page.nextPageToken) return { items, nextSyncToken: page.nextSyncToken };
      if (seen.has(page.nextPageToken)) throw new ProviderError(`${what}: the server repeated page token "${page.nextPageToken}"`, { retryable: false, code: 'pageTokenLoop' });
      seen.add(page.nextPageToken);
      token = page.nextPageToken;
    }
    throw new ProviderError(`${what}: more than ${MAX_PAGES} pages`, { retryable: false, code: 'tooManyPages' });
  }

  private listFailure(res: HttpResponse, what: string): ProviderError {
    const err = googleProviderError(res.status, res.body, res.headers, what, this.now());
    // A calendar that does not exist (or is not shared with us) stops that calendar only.
    if (res.status === 404) return new ProviderError(err.message, { ...err.details, scope: 'calendar' });
    return err;
  }

  /** The zone floating times of `calendarId` are placed in (resolveZone must have run for it). */
  private tzFor(calendarId: string): string {
    return this.configuredZone ?? this.calendarZones.get(calendarId.toLowerCase()) ?? 'UTC';
  }

  /**
   * The zone for floating times: the configured `defaultTimeZone`, else the calendar's own
   * (`GET calendars/{id}` → `timeZone`), read once per calendar. A failed read is not cached and
   * fails the caller: guessing UTC would shift every floating event by the zone's offset.
   */
  /** CalendarProvider.floatingTimeZone: the zone this provider writes the calendar's floating times in (calendarTimeZone). */
  floatingTimeZone(calendarId: string): Promise<string> {
    return this.calendarTimeZone(calendarId);
  }

  async calendarTimeZone(calendarId: string): Promise<string> {
    if (this.configuredZone) return this.configuredZone;
    const key = calendarId.toLowerCase();
    const known = this.calendarZones.get(key);
    if (known) return known;
    const what = `time zone of calendar ${calendarId} (set defaultTimeZone to skip this lookup)`;
    const res = await this.send({ method: 'GET', url: `${this.root}calendar/v3/calendars/${encodeURIComponent(calendarId)}` });
    if (!isOk(res.status)) {
      const err = googleProviderError(res.status, res.body, res.headers, what, this.now());
      throw new ProviderError(err.message, { ...err.details, scope: err.retryable ? 'op' : 'calendar' });
    }
    const zone = parseJson<{ timeZone?: string }>(res.body)?.timeZone;
    if (!zone || !isKnownZone(zone)) throw new ProviderError(`${what}: "${zone ?? ''}" is not a known IANA zone`, { retryable: false, code: 'calendarTimeZone', scope: 'calendar' });
    this.calendarZones.set(key, zone);
    return zone;
  }

  async listOwned(calendarId: string, syncId: string, window: TimeWindow): Promise<TargetEvent[]> {
    await this.calendarTimeZone(calendarId);
    const owned = this.listMode === 'incremental'
      ? await this.listOwnedIncremental(calendarId, syncId, window)
      : await this.listOwnedFull(calendarId, syncId, window);
    return owned.map((g) => this.occurrenceChangedByAPerson(this.toTarget(calendarId, g), g));
  }

  /**
   * An instance carrying its series' own stamp (not an override key we wrote) is an occurrence a
   * person changed or deleted in the calendar: Google keeps it as an exception that inherited the
   * master's extended properties. Listed under the master's key it would look like a second copy
   * of the master; it is the override of that occurrence (`<master> r:<start>`), edited by a
   * person, so the planner writes it back as its series has it (or keeps it: targetEdits).
   */
  private occurrenceChangedByAPerson(t: TargetEvent, g: GoogleEvent): TargetEvent {
    if (!t.stamp || t.copy || !g.recurringEventId || !t.event.recurrenceId || parseKey(t.stamp.sourceKey).kind !== 'base') return t;
    const { digest: _inherited, ...stamp } = t.stamp;
    return {
      ...t,
      stamp: { ...stamp, sourceKey: overrideKey(t.stamp.sourceKey, t.event.recurrenceId) },
      edited: [g.status === 'cancelled' ? 'occurrence deleted' : 'occurrence changed'],
    };
  }

  private async listOwnedFull(calendarId: string, syncId: string, window: TimeWindow): Promise<GoogleEvent[]> {
    const what = `list events of ${calendarId} owned by ${syncId}`;
    const r = await this.listAll((pageToken) => {
      const q = new URLSearchParams({
        privateExtendedProperty: `${STAMP_SYNC_ID}=${syncId}`,
        timeMin: new Date(window.from).toISOString(),
        timeMax: new Date(window.to).toISOString(),
        singleEvents: 'false',
        showDeleted: 'false',
        maxResults: String(this.pageSize),
      });
      if (pageToken) q.set('pageToken', pageToken);
      return this.eventsUrl(calendarId, undefined, q);
    }, what);
    if (r.res) throw this.listFailure(r.res, what);
    const owned = r.items.filter((g) => this.isOwnedEntry(g, syncId));
    return [...owned, ...await this.mastersOfListed(calendarId, syncId, owned)];
  }

  /**
   * Google lists a series master only when one of its own occurrences is in the window; an
   * exception moved into the window from a slot outside it comes alone. Its master is read by id
   * (one GET per such series), so the planner sees the series it belongs to.
   */
  private async mastersOfListed(calendarId: string, syncId: string, owned: GoogleEvent[]): Promise<GoogleEvent[]> {
    const have = new Set(owned.map((g) => g.id));
    const missing = [...new Set(owned.map((g) => g.recurringEventId).filter((id): id is string => !!id && !have.has(id)))];
    const out: GoogleEvent[] = [];
    for (const id of missing) {
      const master = await this.getRaw(calendarId, id);
      if (master && master.status !== 'cancelled' && this.isOwnedEntry(master, syncId)) out.push(master);
    }
    return out;
  }

  /** Owned and worth reporting: live events, and cancelled overrides (they say "this occurrence is off"). */
  private isOwnedEntry(g: GoogleEvent, syncId: string): boolean {
    if (g.extendedProperties?.private?.[STAMP_SYNC_ID] !== syncId) return false;
    return g.status !== 'cancelled' || !!g.recurringEventId;
  }

  /**
   * Incremental: Google refuses syncToken together with privateExtendedProperty/timeMin/timeMax,
   * so the token comes from an unfiltered list and ownership and window are applied here, over a
   * snapshot of the owned events kept next to the token in the state store.
   */
  private async listOwnedIncremental(calendarId: string, syncId: string, window: TimeWindow): Promise<GoogleEvent[]> {
    const key = `google:${calendarId.toLowerCase()}:${syncId}`;
    const saved = await this.store.get(key);
    let snapshot = saved ? parseJson<Snapshot>(saved) : undefined;
    if (snapshot?.v !== 1) snapshot = undefined;
    const what = `incremental list of ${calendarId}`;
    if (snapshot) {
      const token = snapshot.token;
      const r = await this.listAll((pageToken) => {
        const q = new URLSearchParams({ syncToken: token, maxResults: String(this.pageSize) });
        if (pageToken) q.set('pageToken', pageToken);
        return this.eventsUrl(calendarId, undefined, q);
      }, what);
      if (r.res && r.status === 410) snapshot = undefined; // fullSyncRequired: start over below
      else if (r.res) throw this.listFailure(r.res, what);
      else {
        for (const g of r.items) this.applyChange(snapshot.events, g, syncId);
        if (r.nextSyncToken) snapshot.token = r.nextSyncToken;
      }
    }
    if (!snapshot) {
      const full = `full list of ${calendarId}`;
      const r = await this.listAll((pageToken) => {
        const q = new URLSearchParams({ singleEvents: 'false', showDeleted: 'false', maxResults: String(this.pageSize) });
        if (pageToken) q.set('pageToken', pageToken);
        return this.eventsUrl(calendarId, undefined, q);
      }, full);
      if (r.res) throw this.listFailure(r.res, full);
      snapshot = { v: 1, token: r.nextSyncToken ?? '', events: {} };
      for (const g of r.items) if (g.id && this.isOwnedEntry(g, syncId)) snapshot.events[g.id] = g;
    }
    if (snapshot.token) await this.store.set(key, JSON.stringify(snapshot));
    return Object.values(snapshot.events).filter((g) => this.overlaps(calendarId, g, window));
  }

  private applyChange(events: Record<string, GoogleEvent>, g: GoogleEvent, syncId: string): void {
    if (!g.id) return;
    const known = events[g.id];
    if (g.status === 'cancelled' && !g.extendedProperties) {
      // A tombstone (only ids): a deleted event vanishes; a cancelled occurrence of ours stays, cancelled.
      if (known?.recurringEventId) events[g.id] = { ...known, status: 'cancelled', etag: g.etag ?? known.etag };
      else delete events[g.id];
      return;
    }
    if (this.isOwnedEntry(g, syncId)) events[g.id] = g;
    else delete events[g.id];
  }

  /** Same overlap rule as Google's timeMin/timeMax: end > from and start < to. */
  private overlaps(calendarId: string, g: GoogleEvent, w: TimeWindow): boolean {
    try {
      const start = g.start ?? g.originalStartTime;
      if (!start) return true;
      const s = eventTimeToUtc(fromGoogleTime(start, 'start', this.tzFor(calendarId)), this.tzFor(calendarId));
      if (g.recurrence?.length) {
        // A series overlaps until its UNTIL (COUNT-limited and endless series: assume it does).
        const until = /UNTIL=(\d{8}(?:T\d{6}Z?)?)/i.exec(g.recurrence.join(';'))?.[1];
        const end = until ? parseWall(until.replace(/^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z?)?$/, (_m, y, mo, d, h, mi, sec) => (h ? `${y}-${mo}-${d}T${h}:${mi}:${sec}` : `${y}-${mo}-${d}`))) + 86_400_000 : Number.POSITIVE_INFINITY;
        return s < w.to && end > w.from;
      }
      const e = g.end ? eventTimeToUtc(fromGoogleTime(g.end, 'end', this.tzFor(calendarId)), this.tzFor(calendarId)) : s;
      return s < w.to && Math.max(e, s + 1) > w.from;
    } catch {
      return true; // unreadable times: report it rather than hide it
    }
  }

  async listEvents(calendarId: string, window: TimeWindow, opts: { expandSeries?: boolean; maxResults?: number } = {}): Promise<TargetEvent[]> {
    await this.calendarTimeZone(calendarId);
    const what = `list events of ${calendarId}`;
    const limit = opts.maxResults ?? Number.POSITIVE_INFINITY;
    const r = await this.listAll((pageToken) => {
      const q = new URLSearchParams({
        timeMin: new Date(window.from).toISOString(),
        timeMax: new Date(window.to).toISOString(),
        singleEvents: opts.expandSeries ? 'true' : 'false',
        maxResults: String(Math.min(this.pageSize, Number.isFinite(limit) ? Math.max(1, limit) : this.pageSize)),
      });
      if (opts.expandSeries) q.set('orderBy', 'startTime');
      if (pageToken) q.set('pageToken', pageToken);
      return this.eventsUrl(calendarId, undefined, q);
    }, what, limit);
    if (r.res) throw this.listFailure(r.res, what);
    return r.items.filter((g) => g.status !== 'cancelled').map((g) => this.toTarget(calendarId, g));
  }

  private async getRaw(calendarId: string, eventId: string): Promise<GoogleEvent | undefined> {
    const res = await this.send({ method: 'GET', url: this.eventsUrl(calendarId, eventId) });
    if (res.status === 404 || res.status === 410) return undefined;
    if (!isOk(res.status)) throw googleProviderError(res.status, res.body, res.headers, `get event ${eventId} in ${calendarId}`, this.now());
    const g = parseJson<GoogleEvent>(res.body);
    if (!g) throw new ProviderError(`get event ${eventId} in ${calendarId}: answer is not JSON`, { status: res.status, retryable: true, code: 'badResponse' });
    return g;
  }

  async getEvent(calendarId: string, targetId: string): Promise<TargetEvent | undefined> {
    await this.calendarTimeZone(calendarId);
    const g = await this.getRaw(calendarId, targetId);
    return g ? this.toTarget(calendarId, g) : undefined;
  }

  async listRooms(): Promise<Room[]> {
    const rooms: Room[] = [];
    let token: string | undefined;
    const seen = new Set<string>();
    for (;;) {
      const q = new URLSearchParams({ maxResults: '500' });
      if (token) q.set('pageToken', token);
      const url = `${this.directoryRoot}admin/directory/v1/customer/my_customer/resources/calendars?${q}`;
      const res = await this.send({ method: 'GET', url });
      if (!isOk(res.status)) throw googleProviderError(res.status, res.body, res.headers, 'list room resources', this.now());
      const page = parseJson<{ items?: Array<Record<string, unknown>>; nextPageToken?: string }>(res.body) ?? {};
      for (const r of page.items ?? []) {
        const email = typeof r.resourceEmail === 'string' ? r.resourceEmail : undefined;
        if (!email) continue;
        const room: Room = { calendarId: email, email, name: String(r.resourceName ?? r.generatedResourceName ?? email) };
        const capacity = Number(r.capacity);
        if (r.capacity !== undefined && Number.isFinite(capacity)) room.capacity = capacity;
        if (typeof r.buildingId === 'string') room.building = r.buildingId;
        rooms.push(room);
      }
      if (!page.nextPageToken || seen.has(page.nextPageToken)) return rooms;
      seen.add(page.nextPageToken);
      token = page.nextPageToken;
    }
  }

  // ---- writing ------------------------------------------------------------------------------

  async write(calendarId: string, ops: WriteOp[]): Promise<WriteResult[]> {
    // The calendar's zone is needed only where it decides where an event lands.
    if (ops.some((op) => op.op !== 'delete' && isFloating(op.event))) {
      try {
        await this.calendarTimeZone(calendarId);
      } catch (err) {
        // No zone for this calendar: every write that needs one fails with the reason.
        return ops.map((op) => this.failed(op, err));
      }
    }
    const results: WriteResult[] = new Array(ops.length);
    const steps = ops.map((op) => {
      try {
        return this.firstStep(calendarId, op);
      } catch (err) {
        results[ops.indexOf(op)] = this.failed(op, err);
        return undefined;
      }
    });
    const followUps: Array<[number, () => Promise<WriteResult>]> = [];
    const batched = steps.map((s, i) => (s && 'call' in s ? i : -1)).filter((i) => i >= 0);
    for (let from = 0; from < batched.length; from += GOOGLE_MAX_BATCH) {
      const chunk = batched.slice(from, from + GOOGLE_MAX_BATCH);
      let responses: HttpResponse[];
      try {
        responses = await this.sendBatchWithAuthRetry(chunk.map((i) => (steps[i] as { call: Call }).call));
      } catch (err) {
        // The whole request failed before any op ran: reject, as the port asks (first chunk only).
        if (from === 0 && batched.length === ops.length) throw err;
        for (const i of chunk) results[i] = this.failed(ops[i], err);
        continue;
      }
      chunk.forEach((i, k) => {
        const outcome = (steps[i] as { then: (r: HttpResponse) => Outcome }).then(responses[k]);
        if (typeof outcome === 'function') followUps.push([i, outcome]);
        else results[i] = outcome;
      });
    }
    steps.forEach((s, i) => { if (s && 'run' in s) followUps.push([i, s.run]); });
    followUps.sort((a, b) => a[0] - b[0]);
    for (const [i, run] of followUps) {
      try {
        results[i] = await run();
      } catch (err) {
        results[i] = this.failed(ops[i], err);
      }
    }
    return results;
  }

  private failed(op: WriteOp, err: unknown): WriteResult {
    if (err instanceof ProviderError) return { op, ok: false, error: err };
    if (err instanceof TransportError) return { op, ok: false, error: new ProviderError(`${op.op} ${op.key}: ${err.message}`, { code: err.code ?? 'transport', retryable: true }) };
    return { op, ok: false, error: new ProviderError(`${op.op} ${op.key}: ${(err as Error).message ?? String(err)}`, { code: (err as Error).name ?? 'error', retryable: false }) };
  }

  private errorResult(op: WriteOp, res: HttpResponse, what: string): WriteResult {
    return { op, ok: false, error: googleProviderError(res.status, res.body, res.headers, what, this.now()) };
  }

  private writeOptions(calendarId: string, stamp: OwnershipStamp, id?: string) {
    return { defaultTimeZone: this.tzFor(calendarId), stamp, attendees: this.attendees, ...(id ? { id } : {}) };
  }

  /**
   * Adds the zone record to a written body: `crTz` = the zone the event's floating times were
   * placed in ('-' when it has none), so that a change of the calendar's zone (or of the configured
   * one) reads back as a changed event and the planner rewrites exactly those (withZoneRecord).
   */
  private zoneRecorded<T extends { extendedProperties?: { private?: Record<string, string | null> | null } | null }>(calendarId: string, event: CalendarEvent, body: T): T {
    const props = body.extendedProperties?.private;
    if (props) props[STAMP_ZONE] = isFloating(event) ? this.tzFor(calendarId) : '-';
    return body;
  }

  private firstStep(calendarId: string, op: WriteOp): Step {
    if (op.op === 'delete') {
      if (masterIdOfInstance(op.targetId)) return { run: () => this.cancelOccurrence(calendarId, op) };
      return {
        call: { method: 'DELETE', url: this.eventsUrl(calendarId, op.targetId) },
        then: (res) => {
          if (isOk(res.status)) return { op, ok: true, targetId: op.targetId };
          if (res.status === 404 || res.status === 410) return { op, ok: true, targetId: op.targetId, note: 'already gone' };
          return this.errorResult(op, res, `delete ${op.targetId} in ${calendarId}`);
        },
      };
    }
    if (op.event.recurrenceId) return this.overrideStep(calendarId, op);
    if (op.op === 'create') {
      const id = googleEventId(op.stamp.syncId, op.stamp.sourceKey, 0);
      return {
        call: { method: 'POST', url: this.eventsUrl(calendarId), body: this.zoneRecorded(calendarId, op.event, toGoogleEvent(op.event, this.writeOptions(calendarId, op.stamp, id))) },
        then: (res) => {
          if (isOk(res.status)) return { op, ok: true, targetId: id };
          if (res.status === 409) return () => this.reconcileCreate(calendarId, op, 0);
          return this.errorResult(op, res, `insert ${id} in ${calendarId}`);
        },
      };
    }
    const headers = op.etag ? { 'If-Match': op.etag } : undefined;
    return {
      call: { method: 'PUT', url: this.eventsUrl(calendarId, op.targetId), headers, body: this.zoneRecorded(calendarId, op.event, toGoogleEvent(op.event, this.writeOptions(calendarId, op.stamp))) },
      then: (res) => {
        if (isOk(res.status)) return { op, ok: true, targetId: op.targetId };
        if (res.status === 412) return () => this.updateAfterConflict(calendarId, op);
        // Deleted in the target by someone: put it back (its id is reserved, so a new generation).
        if (res.status === 404 || res.status === 410) return () => this.reconcileCreate(calendarId, op, 0, 'was deleted in the target — re-created');
        return this.errorResult(op, res, `update ${op.targetId} in ${calendarId}`);
      },
    };
  }

  /**
   * POST with id generation `gen` already answered 409: find out whose id it is.
   * Ours and live → reconcile; deleted → try the next generation; anyone else's → error.
   */
  private async reconcileCreate(calendarId: string, op: Extract<WriteOp, { op: 'create' | 'update' }>, gen: number, note?: string): Promise<WriteResult> {
    const { stamp } = op;
    let collided = op.op === 'create'; // an update reaching here has not tried any id yet
    for (let g = gen; g <= MAX_ID_GENERATION; g++) {
      const id = googleEventId(stamp.syncId, stamp.sourceKey, g);
      if (!collided) {
        const res = await this.send({ method: 'POST', url: this.eventsUrl(calendarId), body: this.zoneRecorded(calendarId, op.event, toGoogleEvent(op.event, this.writeOptions(calendarId, stamp, id))) });
        if (isOk(res.status)) {
          const notes = [note, g > 0 ? `id generation ${g} (earlier ids belong to deleted events)` : undefined].filter(Boolean);
          return { op, ok: true, targetId: id, ...(notes.length ? { note: notes.join('; ') } : {}) };
        }
        if (res.status !== 409) return this.errorResult(op, res, `insert ${id} in ${calendarId}`);
      }
      collided = false;
      const existing = await this.getRaw(calendarId, id);
      if (!existing) {
        return { op, ok: false, error: new ProviderError(`insert ${id} in ${calendarId}: 409 duplicate, but the event cannot be read`, { status: 409, code: 'duplicate', retryable: true }) };
      }
      if (existing.status === 'cancelled') {
        // Deleted: Google keeps the id reserved (a re-insert answers 409). Restore the event under its
        // own id (an update with status confirmed), so an item that leaves its feed and comes back
        // any number of times keeps one id; where Google refuses (403, reported for events deleted
        // by another user) fall back to the next id generation.
        if (existing.recurringEventId) continue;
        const restored = await this.send({ method: 'PUT', url: this.eventsUrl(calendarId, id), body: this.zoneRecorded(calendarId, op.event, toGoogleEvent(op.event, this.writeOptions(calendarId, stamp))) });
        if (isOk(restored.status)) {
          const notes = [note, `restored deleted event ${id} (Google keeps deleted ids reserved)`].filter(Boolean);
          return { op, ok: true, targetId: id, note: notes.join('; ') };
        }
        const err = googleProviderError(restored.status, restored.body, restored.headers, `restore ${id} in ${calendarId}`, this.now());
        if (err.retryable) return { op, ok: false, error: err };
        continue;
      }
      const theirs = fromGoogleEvent({ ...existing, start: existing.start ?? { date: '1970-01-01' } }, this.tzFor(calendarId)).stamp;
      if (theirs?.syncId !== stamp.syncId || theirs.sourceKey !== stamp.sourceKey) {
        return { op, ok: false, error: new ProviderError(`insert ${id} in ${calendarId}: the id is taken by an event this sync does not own`, { status: 409, code: 'duplicate', retryable: false }) };
      }
      if (theirs.fingerprint === stamp.fingerprint) return { op, ok: true, targetId: id, note: note ?? 'already existed (deterministic id)' };
      const put = await this.send({ method: 'PUT', url: this.eventsUrl(calendarId, id), body: this.zoneRecorded(calendarId, op.event, toGoogleEvent(op.event, this.writeOptions(calendarId, stamp))) });
      if (!isOk(put.status)) return this.errorResult(op, put, `update ${id} in ${calendarId}`);
      return { op, ok: true, targetId: id, note: note ?? 'already existed (deterministic id) — updated' };
    }
    return { op, ok: false, error: new ProviderError(`insert in ${calendarId}: ids of generations 0–${MAX_ID_GENERATION} all belong to deleted events`, { code: 'idGenerationsExhausted', retryable: false }) };
  }

  /** 412 conditionNotMet: someone changed the event since we read it; re-read, then overwrite if still ours. */
  private async updateAfterConflict(calendarId: string, op: Extract<WriteOp, { op: 'update' }>): Promise<WriteResult> {
    const current = await this.getRaw(calendarId, op.targetId);
    if (!current || current.status === 'cancelled') return this.reconcileCreate(calendarId, op, 0, 'was deleted in the target — re-created');
    if (current.extendedProperties?.private?.[STAMP_SYNC_ID] !== op.stamp.syncId) {
      return { op, ok: false, error: new ProviderError(`update ${op.targetId} in ${calendarId}: the event no longer carries this sync's stamp`, { status: 412, code: 'notOwned', retryable: false }) };
    }
    const headers = current.etag ? { 'If-Match': current.etag } : undefined;
    const res = await this.send({ method: 'PUT', url: this.eventsUrl(calendarId, op.targetId), headers, body: this.zoneRecorded(calendarId, op.event, toGoogleEvent(op.event, this.writeOptions(calendarId, op.stamp))) });
    if (isOk(res.status)) return { op, ok: true, targetId: op.targetId, note: 'changed in the target meanwhile — overwritten' };
    return this.errorResult(op, res, `update ${op.targetId} in ${calendarId}`);
  }

  // ---- overrides (instances of a series) ------------------------------------------------------

  /**
   * The master's source key: an override's key is `<master key> r:<occurrence>` (core/sync-key.ts);
   * a key hashed for length has lost that shape, and then the master is keyed by UID.
   */
  private masterKeyOf(op: Extract<WriteOp, { op: 'create' | 'update' }>): string {
    const r = / r:[^ ]+$/.exec(op.stamp.sourceKey);
    return r ? op.stamp.sourceKey.slice(0, r.index) : uidKey(op.event);
  }

  private overrideStep(calendarId: string, op: Extract<WriteOp, { op: 'create' | 'update' }>): Step {
    const targetId = op.op === 'update' ? op.targetId
      : googleInstanceId(googleEventId(op.stamp.syncId, this.masterKeyOf(op), 0), op.event.recurrenceId!, this.tzFor(calendarId));
    const headers = op.op === 'update' && op.etag ? { 'If-Match': op.etag } : undefined;
    return {
      call: { method: 'PATCH', url: this.eventsUrl(calendarId, targetId), headers, body: this.zoneRecorded(calendarId, op.event, toGoogleInstancePatch(op.event, { ...this.writeOptions(calendarId, op.stamp), omitConfirmed: op.op === 'create' })) },
      then: (res) => {
        const answer = isOk(res.status) ? parseJson<GoogleEvent>(res.body) : undefined;
        // A cancelled answer to a live patch: the guessed id was a leftover (deleted series,
        // occurrence deleted by a person): find the live series and its occurrence instead.
        if (answer && answer.status === 'cancelled' && op.event.status !== 'CANCELLED') return () => this.patchInstanceByLookup(calendarId, op);
        if (isOk(res.status)) return { op, ok: true, targetId: answer?.id ?? targetId };
        if (res.status === 412 && op.op === 'update') return () => this.overrideAfterConflict(calendarId, op);
        if (res.status === 404 || res.status === 410 || res.status === 412) return () => this.patchInstanceByLookup(calendarId, op);
        return this.errorResult(op, res, `patch occurrence ${targetId} in ${calendarId}`);
      },
    };
  }

  /**
   * 412 on an override update: the target changed since it was listed (another worker, a person).
   * Re-read it: gone → find the occurrence through its series; still ours and an occurrence of a
   * series → patch with the fresh ETag; anything else (not ours, not an instance) → error. The
   * lookup is never used while the target is live, so no second event is stamped with its key.
   */
  private async overrideAfterConflict(calendarId: string, op: Extract<WriteOp, { op: 'update' }>): Promise<WriteResult> {
    const current = await this.getRaw(calendarId, op.targetId);
    if (!current || current.status === 'cancelled') return this.patchInstanceByLookup(calendarId, op);
    if (current.extendedProperties?.private?.[STAMP_SYNC_ID] !== op.stamp.syncId) {
      return { op, ok: false, error: new ProviderError(`update ${op.targetId} in ${calendarId}: the event no longer carries this sync's stamp`, { status: 412, code: 'notOwned', retryable: false }) };
    }
    if (!current.recurringEventId) {
      return { op, ok: false, error: new ProviderError(`update ${op.key} in ${calendarId}: target ${op.targetId} is not an occurrence of a series (the next plan replaces it)`, { status: 412, code: 'notAnInstance', retryable: false }) };
    }
    const headers = current.etag ? { 'If-Match': current.etag } : undefined;
    const res = await this.send({ method: 'PATCH', url: this.eventsUrl(calendarId, op.targetId), headers, body: this.zoneRecorded(calendarId, op.event, toGoogleInstancePatch(op.event, this.writeOptions(calendarId, op.stamp))) });
    if (isOk(res.status)) return { op, ok: true, targetId: op.targetId, note: 'changed in the target meanwhile — overwritten' };
    return this.errorResult(op, res, `patch occurrence ${op.targetId} in ${calendarId}`);
  }

  /** Live events of this sync stamped with `key` (first chunk of the stamp: keys ≤ 1024 characters). */
  private async liveWithKey(calendarId: string, syncId: string, key: string, what: string): Promise<{ items: GoogleEvent[]; res?: HttpResponse }> {
    const q = new URLSearchParams({ singleEvents: 'false', showDeleted: 'false', maxResults: '50' });
    q.append('privateExtendedProperty', `${STAMP_SYNC_ID}=${syncId}`);
    q.append('privateExtendedProperty', `${STAMP_KEY}=${key.slice(0, STAMP_VALUE_MAX)}`);
    const found = await this.listAll((pageToken) => {
      if (pageToken) q.set('pageToken', pageToken);
      return this.eventsUrl(calendarId, undefined, q);
    }, what);
    const items = found.items.filter((g) => g.status !== 'cancelled' && fromGoogleEvent({ ...g, start: g.start ?? { date: '1970-01-01' } }, this.tzFor(calendarId)).stamp?.sourceKey === key);
    return found.res ? { items, res: found.res } : { items };
  }

  /** Finds the series master by its stamp and the occurrence by its original start, then patches it. */
  private async patchInstanceByLookup(calendarId: string, op: Extract<WriteOp, { op: 'create' | 'update' }>): Promise<WriteResult> {
    const masterKey = this.masterKeyOf(op);
    const what = `find the series of ${op.key} in ${calendarId}`;
    const found = await this.liveWithKey(calendarId, op.stamp.syncId, masterKey, what);
    if (found.res) return this.errorResult(op, found.res, what);
    const master = found.items.find((g) => !g.recurringEventId && g.recurrence?.length);
    if (!master?.id) {
      return { op, ok: false, error: new ProviderError(`${op.op} ${op.key}: its series master is not in ${calendarId} (write the master first)`, { code: 'masterNotFound', retryable: true }) };
    }
    const rid = op.event.recurrenceId!;
    const original = eventTimeToUtc(rid, this.tzFor(calendarId));
    const day = 86_400_000;
    const iq = new URLSearchParams({ timeMin: new Date(original - 2 * day).toISOString(), timeMax: new Date(original + 2 * day).toISOString(), showDeleted: 'true', maxResults: '2500' });
    const inst = await this.listAll((pageToken) => {
      if (pageToken) iq.set('pageToken', pageToken);
      return this.eventsUrl(calendarId, master.id, iq, '/instances');
    }, `instances of ${master.id}`);
    if (inst.res) return this.errorResult(op, inst.res, `instances of ${master.id} in ${calendarId}`);
    const instance = inst.items.find((g) => {
      if (!g.originalStartTime) return false;
      try {
        return eventTimeToUtc(fromGoogleTime(g.originalStartTime, 'originalStartTime', this.tzFor(calendarId)), this.tzFor(calendarId)) === original;
      } catch {
        return false;
      }
    });
    if (!instance?.id) {
      return { op, ok: false, error: new ProviderError(`${op.op} ${op.key}: the series ${master.id} has no occurrence at ${rid.date ?? rid.dateTime}${rid.timeZone ? ` ${rid.timeZone}` : ''}`, { code: 'noSuchOccurrence', retryable: false }) };
    }
    // Never give the key to a second live event: one that holds it already and is not this
    // occurrence (e.g. the override written as a single event before its series moved here) stays
    // the only one; the planner replaces it.
    const holders = await this.liveWithKey(calendarId, op.stamp.syncId, op.stamp.sourceKey, `events holding ${op.key} in ${calendarId}`);
    if (holders.res) return this.errorResult(op, holders.res, `events holding ${op.key} in ${calendarId}`);
    const other = holders.items.find((g) => g.id !== instance.id);
    if (other) {
      return { op, ok: false, error: new ProviderError(`${op.op} ${op.key}: event ${other.id} in ${calendarId} already holds this key and is not the occurrence ${instance.id}`, { code: 'keyTaken', retryable: false }) };
    }
    const res = await this.send({ method: 'PATCH', url: this.eventsUrl(calendarId, instance.id), body: this.zoneRecorded(calendarId, op.event, toGoogleInstancePatch(op.event, this.writeOptions(calendarId, op.stamp))) });
    if (!isOk(res.status)) return this.errorResult(op, res, `patch occurrence ${instance.id} in ${calendarId}`);
    return { op, ok: true, targetId: instance.id };
  }

  /**
   * Deleting an override key: the series, as written now, has no such occurrence (its rule or start
   * changed, or the occurrence is an EXDATE). Google keeps exceptions, and one restored and
   * unstamped would reappear with stale content should the occurrence come back, so the instance
   * is cancelled and keeps our stamp: the planner leaves a cancelled override alone and, when the
   * occurrence is wanted again, updates it (the PATCH sets `status` back to confirmed).
   */
  private async cancelOccurrence(calendarId: string, op: Extract<WriteOp, { op: 'delete' }>): Promise<WriteResult> {
    const res = await this.send({ method: 'PATCH', url: this.eventsUrl(calendarId, op.targetId), body: { status: 'cancelled' } });
    if (res.status === 404 || res.status === 410) return { op, ok: true, targetId: op.targetId, note: 'already gone' };
    if (!isOk(res.status)) return this.errorResult(op, res, `cancel occurrence ${op.targetId} in ${calendarId}`);
    return { op, ok: true, targetId: op.targetId, note: 'override removed — occurrence cancelled (kept stamped)' };
  }
}
