/**
 * GraphCalendarProvider: the CalendarProvider port over Microsoft Graph v1.0 room (or user)
 * mailboxes, addressed as `/users/{mailbox UPN}` (calendarId = the mailbox's email/UPN).
 *
 * - Reads send `Prefer: outlook.timezone="UTC"` and `outlook.body-content-type="text"`, so every
 *   time parses the same way; the mapper re-expresses times in the event's own zone.
 * - listOwned: `GET /users/{id}/events` (series masters, not expanded) filtered on our sync-id
 *   extended property and, server-side, on `end/dateTime ge <window start> or (type eq
 *   'seriesMaster' and (recurrence/range/type ne 'endDate' or recurrence/range/endDate ge <window
 *   start>))` (a master's own end is its first occurrence's, so masters are bounded by their
 *   range), with the three stamp properties expanded, following @odata.nextLink. It returns the
 *   owned events that end after the window's start — also those beyond its end: an owned event the
 *   planner did not see could be created twice — but not the room's history (past single events,
 *   series that ended). A server that rejects a filter (400) is asked with the next looser one
 *   (every master; then the stamp alone, the window applied here), remembered per provider. No delta here: delta
 *   (calendarView/delta) expands series and supports neither $filter nor $expand on extended
 *   properties. `listChanges` offers calendarView/delta with a SyncStateStore for callers that
 *   want incremental reads (triggers).
 * - write: one `$batch` (≤ 20) per call, or a plain request for a single op. Outlook runs up to 4
 *   items of a batch at once and counts each against the mailbox's 4-concurrent-request limit,
 *   so the provider admits at most 4 in-flight requests per mailbox itself (a batch of n items
 *   weighs min(n, 4)): concurrent write() calls for one mailbox queue here instead of being
 *   throttled by the server. In practice that is one full batch per mailbox at a time.
 * - Reads are retried by the shared wrapper over the port (providers/retry.ts withReadRetries).
 *   Writes never: failures are per-op ProviderErrors with retryable/retryAfterMs/scope (see
 *   batch.ts providerErrorFrom); providers/apply.ts decides.
 */
import { MemoryKeyValueStore, type KeyValueStore } from '../state';
import { CreatedIdRecord } from './ownership';
import type { CalendarEvent } from '../../core/event';
import type {
  CalendarProvider, HttpPort, HttpRequest, HttpResponse, OwnershipStamp, ProviderCapabilities, Room, TargetEvent, TimeWindow, WriteOp, WriteResult,
} from '../port';
import { ProviderError } from '../port';
import { buildBatchBody, MAX_BATCH_REQUESTS, parseBatchResponse, providerErrorFrom, type BatchRequestItem, type BatchResponseItem } from './batch';
import { fromGraphEvent, GraphMappingError, PROPERTY_IDS, PROPERTY_NAMESPACE, seriesFrameOf, toGraphEvent, type GraphEvent, type GraphMapOptions } from './mapper';
import { fitRecurrence, type GraphPatternedRecurrence } from './recurrence';
import { withReadRetries, type ReadRetryOptions } from '../retry';
import { graphZoneToIana, type TimeZoneStyle } from './timezones';
import { eventTimeToUtc, formatUtc, MS, parseWall } from '../../core/time';
import { overlapsWindow } from '../../core/sync-window';
import { showsInWindow } from '../../core/plan';
import { expandOccurrences } from '../../core/recurrence';

export const GRAPH_BASE_URL = 'https://graph.microsoft.com/v1.0';
/** Outlook's limit of concurrent requests per app and mailbox. */
export const MAILBOX_CONCURRENCY = 4;

/** Where delta links are kept between runs (bridge store, n8n static data, memory). */
export type SyncStateStore = KeyValueStore;

export interface GraphProviderOptions {
  /** Authenticated transport (n8n's httpRequestWithAuthentication, createGraphHttpPort, tests). */
  http: HttpPort;
  /** Default https://graph.microsoft.com/v1.0 (the emulator's `${url}/v1.0` in tests). */
  baseUrl?: string;
  stateStore?: SyncStateStore;
  /** Zone names written: 'iana' (default) or 'windows'. */
  timeZoneStyle?: TimeZoneStyle;
  /**
   * 'omit' (default): attendees are never written (Room Sync: a room mailbox would invite them).
   * 'invite' (Calendar Event node): written as Graph attendees; Graph sends the invitations.
   */
  attendees?: 'omit' | 'invite';
  /**
   * IANA zone for floating times and all-day events. Unset: each mailbox's own zone, read once
   * from `GET /users/{id}/mailboxSettings/timeZone` (Windows or IANA name; needs
   * MailboxSettings.Read) and cached per mailbox.
   */
  defaultTimeZone?: string;
  /** $top for event listings (default 500; Outlook's maximum is 1000). */
  pageSize?: number;
  /** Clock for HTTP-date Retry-After values. Default Date.now. */
  now?: () => number;
  /**
   * Reads (GET) are retried over `http` by providers/retry.ts withReadRetries (429 with
   * Retry-After, 5xx, no answer). Options for it (sleep, random, policy), or false when `http`
   * retries reads itself.
   */
  readRetry?: ReadRetryOptions | false;
  /**
   * The request quota applyPlan paces writes to: Outlook's 10,000 requests per 10 minutes per app
   * and mailbox. Override for an emulator with a scaled window; false: no pacing.
   */
  quota?: { maxRequests?: number; windowMs?: number } | false;
}

/** Outlook's per-mailbox quota: 10,000 requests per 10 minutes. */
export const GRAPH_MAILBOX_QUOTA = { maxRequests: 10_000, windowMs: 600_000 } as const;

export interface GraphChanges {
  /** Events created or changed since the last call (all events in the window on a full read). */
  events: TargetEvent[];
  /** Ids reported as removed. */
  removedIds: string[];
  /** True when this was a full read (first call, or the stored delta link had expired: 410). */
  full: boolean;
}

/** Admits requests to one mailbox while their total weight stays within the limit. */
class MailboxGate {
  private inFlight = new Map<string, number>();
  private waiting = new Map<string, { weight: number; go: () => void }[]>();
  /** Highest concurrent weight seen per mailbox (for tests). */
  readonly maxSeen = new Map<string, number>();

  constructor(private readonly limit: number) {}

  async run<T>(mailbox: string, weight: number, task: () => Promise<T>): Promise<T> {
    const key = mailbox.toLowerCase();
    const w = Math.min(Math.max(1, weight), this.limit);
    await new Promise<void>((resolve) => {
      const queue = this.waiting.get(key) ?? [];
      queue.push({ weight: w, go: resolve });
      this.waiting.set(key, queue);
      this.pump(key);
    });
    try {
      return await task();
    } finally {
      this.inFlight.set(key, (this.inFlight.get(key) ?? w) - w);
      this.pump(key);
    }
  }

  private pump(key: string): void {
    const queue = this.waiting.get(key);
    // FIFO: a heavy batch at the head is not overtaken by later light requests (no starvation).
    while (queue && queue.length && (this.inFlight.get(key) ?? 0) + queue[0].weight <= this.limit) {
      const next = queue.shift()!;
      const n = (this.inFlight.get(key) ?? 0) + next.weight;
      this.inFlight.set(key, n);
      if (n > (this.maxSeen.get(key) ?? 0)) this.maxSeen.set(key, n);
      next.go();
    }
  }
}

/** Our extended property recording the zone floating and all-day times were written in ('-': none). */
export const ZONE_PROPERTY_ID = `String ${PROPERTY_NAMESPACE} Name CalendarRelayZone`;

const EXPAND_STAMP = `singleValueExtendedProperties($filter=${[PROPERTY_IDS.syncId, PROPERTY_IDS.sourceKey, PROPERTY_IDS.fingerprint, PROPERTY_IDS.digest, ZONE_PROPERTY_ID].map((id) => `id eq '${id}'`).join(' or ')})`;

function odataString(s: string): string {
  return s.replace(/'/g, "''");
}

function isoUtc(ms: number): string {
  return formatUtc(ms);
}

export class GraphCalendarProvider implements CalendarProvider {
  readonly kind = 'graph' as const;
  readonly capabilities: ProviderCapabilities;
  private readonly http: HttpPort;
  private readonly baseUrl: string;
  private readonly mapOpts: GraphMapOptions;
  private readonly pageSize: number;
  private readonly now: () => number;
  private readonly stateStore?: SyncStateStore;
  private readonly gate = new MailboxGate(MAILBOX_CONCURRENCY);
  /** Set when the zone is configured; otherwise each mailbox's zone is looked up. */
  private readonly configuredZone?: string;
  private readonly mailboxZones = new Map<string, Promise<string>>();
  /** Which window filter of listOwned the server takes: 0 bounds series masters by their range end, 1 lists every master, 2 = none (stamp only). */
  private windowFilterLevel = 0;
  /**
   * Owned series masters whose last listing showed occurrences a person deleted or changed
   * (calendarId lower-cased + '\u0000' + event id): an update of one of them first resets the
   * series' occurrences (restoreOccurrencesFirst).
   */
  private readonly occurrenceEdits = new Set<string>();
  /**
   * Which event this sync created for each key (ownership.ts): a stamped event that is not it is a
   * person's copy. The same record is the creation ledger the transactionIds of creates derive from.
   */
  private readonly created: CreatedIdRecord;

  constructor(opts: GraphProviderOptions) {
    this.http = withReadRetries(opts.http, opts.readRetry === false ? false : { now: opts.now, ...opts.readRetry });
    this.baseUrl = (opts.baseUrl ?? GRAPH_BASE_URL).replace(/\/+$/, '');
    this.configuredZone = opts.defaultTimeZone;
    // seriesSupport has no mailbox; whether an RRULE fits does not depend on the zone it is read in.
    this.mapOpts = { timeZoneStyle: opts.timeZoneStyle ?? 'iana', defaultTimeZone: opts.defaultTimeZone ?? 'UTC', ...(opts.attendees === 'invite' ? { attendees: 'invite' as const } : {}) };
    this.pageSize = Math.min(Math.max(1, opts.pageSize ?? 500), 1000);
    this.now = opts.now ?? Date.now;
    this.stateStore = opts.stateStore;
    this.created = new CreatedIdRecord(opts.stateStore ?? new MemoryKeyValueStore());
    this.capabilities = {
      maxBatchSize: MAX_BATCH_REQUESTS,
      maxConcurrencyPerCalendar: MAILBOX_CONCURRENCY,
      seriesSupport: (master, overrides) => this.seriesSupport(master, overrides),
      ...(opts.quota === false ? {} : { quota: { ...GRAPH_MAILBOX_QUOTA, ...opts.quota, per: 'calendar' as const } }),
    };
  }

  /** Highest number of concurrent requests this provider had in flight to `mailbox`. */
  maxConcurrencySeen(mailbox: string): number {
    return this.gate.maxSeen.get(mailbox.toLowerCase()) ?? 0;
  }

  /**
   * A series is written as a Graph series only when its RRULE fits patternedRecurrence exactly and
   * it has no overrides and no EXDATEs. Graph has no client-chosen occurrence ids: reaching an
   * occurrence means an /instances query per series, and a cancelled occurrence leaves nothing
   * we could stamp and list, so every run would re-plan it. Expanding such series into single
   * events inside the window is robust and still cheap (batched).
   */
  seriesSupport(master: CalendarEvent, overrides: CalendarEvent[]): true | string {
    const rec = master.recurrence;
    if (!rec) return true;
    if (overrides.length > 0) {
      return `Microsoft 365 has no client-chosen occurrence ids, so a series with ${overrides.length} changed or cancelled occurrence(s) is written as single events`;
    }
    if (rec.exdate.length > 0) return `Microsoft 365 series cannot carry EXDATE (${rec.exdate.length} excluded date(s)); written as single events`;
    if ((master.start.date === undefined) !== (master.end.date === undefined)) return 'start and end are not both dates or both date-times';
    const fit = fitRecurrence(master, seriesFrameOf(master, this.mapOpts));
    if (!fit.ok) return `RRULE does not fit Microsoft 365's recurrence patterns exactly: ${fit.reason}`;
    return true;
  }

  /**
   * The IANA zone floating times and all-day events of `calendarId` are placed in: the configured
   * `defaultTimeZone`, else the mailbox's own (mailboxSettings.timeZone, Windows or IANA), read
   * once per mailbox. A failed lookup is not cached (the next call asks again) and fails the
   * operation with the reason: guessing a zone would shift all-day events by a day.
   */
  /** CalendarProvider.floatingTimeZone: the zone this provider writes the calendar's floating times in (mailboxTimeZone). */
  floatingTimeZone(calendarId: string): Promise<string> {
    return this.mailboxTimeZone(calendarId);
  }

  async mailboxTimeZone(calendarId: string): Promise<string> {
    if (this.configuredZone) return this.configuredZone;
    const key = calendarId.toLowerCase();
    let zone = this.mailboxZones.get(key);
    if (!zone) {
      zone = this.lookUpMailboxZone(calendarId);
      this.mailboxZones.set(key, zone);
      zone.catch(() => this.mailboxZones.delete(key));
    }
    return zone;
  }

  private async lookUpMailboxZone(calendarId: string): Promise<string> {
    const what = `time zone of mailbox ${calendarId} (mailboxSettings; set target.defaultTimeZone to skip this lookup)`;
    const body = await this.getJson<{ value?: unknown }>(calendarId, `${this.baseUrl}${this.userPath(calendarId)}/mailboxSettings/timeZone`, what);
    const name = typeof body.value === 'string' ? body.value : '';
    const iana = graphZoneToIana(name);
    if (!iana) throw new ProviderError(`${what}: "${name}" is not a known Windows or IANA zone`, { retryable: false, code: 'mailboxTimeZone', scope: 'calendar' });
    return iana;
  }

  private async mapOptsFor(calendarId: string): Promise<GraphMapOptions> {
    const zone = await this.mailboxTimeZone(calendarId);
    return zone === this.mapOpts.defaultTimeZone ? this.mapOpts : { ...this.mapOpts, defaultTimeZone: zone };
  }

  // -------------------------------------------------------------------------------------------
  // HTTP plumbing

  private userPath(calendarId: string): string {
    return `/users/${encodeURIComponent(calendarId)}`;
  }

  private readHeaders(): Record<string, string> {
    return { Accept: 'application/json', Prefer: 'outlook.timezone="UTC", outlook.body-content-type="text"' };
  }

  private async send(calendarId: string | undefined, req: HttpRequest, weight = 1): Promise<HttpResponse> {
    return calendarId === undefined ? this.http(req) : this.gate.run(calendarId, weight, () => this.http(req));
  }

  private async getJson<T>(calendarId: string | undefined, url: string, what: string): Promise<T> {
    const res = await this.send(calendarId, { method: 'GET', url, headers: this.readHeaders() });
    if (res.status < 200 || res.status >= 300) throw providerErrorFrom(res.status, res.headers, res.body, what, this.now());
    try {
      return JSON.parse(res.body) as T;
    } catch {
      throw new ProviderError(`${what}: response is not JSON`, { status: res.status, retryable: true, code: 'badJson' });
    }
  }

  /** GETs `url` and every @odata.nextLink page; stops early once `max` items were collected. */
  private async getAllPages<T>(calendarId: string | undefined, url: string, what: string, max = Infinity): Promise<{ items: T[]; deltaLink?: string }> {
    const items: T[] = [];
    let next: string | undefined = url;
    let page = 0;
    while (next) {
      page++;
      const body: { value?: T[]; '@odata.nextLink'?: string; '@odata.deltaLink'?: string } = await this.getJson(calendarId, next, `${what} (page ${page})`);
      items.push(...(body.value ?? []));
      if (body['@odata.deltaLink']) return { items, deltaLink: body['@odata.deltaLink'] };
      if (items.length >= max) break;
      next = body['@odata.nextLink'];
    }
    return { items };
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  /**
   * Owned events that end after `window.from` (series: whose last possible occurrence does). Not
   * those that end later than the window: an event moved into the window from beyond it must be
   * found and updated, not created twice. The server leaves out single events that ended before
   * the window (`end/dateTime ge`) and series whose range ended before it, so the listing does
   * not grow with every event ever written; numbered and endless series are listed and judged here
   * by their whole span.
   */
  async listOwned(calendarId: string, syncId: string, window?: TimeWindow): Promise<TargetEvent[]> {
    const mapOpts = await this.mapOptsFor(calendarId);
    const owned = `singleValueExtendedProperties/Any(ep: ep/id eq '${PROPERTY_IDS.syncId}' and ep/value eq '${odataString(syncId)}')`;
    const listUrl = (filter: string) => `${this.baseUrl}${this.userPath(calendarId)}/events?$filter=${encodeURIComponent(filter)}&$expand=${encodeURIComponent(EXPAND_STAMP)}&$top=${this.pageSize}`;
    const what = `list owned events of ${calendarId}`;
    let items: GraphEvent[] | undefined;
    if (window) {
      const from = isoUtc(window.from);
      // A series whose range ended before the window (with two days' slack for its zone) is history.
      const rangeFrom = isoUtc(window.from - 2 * MS.DAY).slice(0, 10);
      const filters = [
        `${owned} and (end/dateTime ge '${from}' or (type eq 'seriesMaster' and (recurrence/range/type ne 'endDate' or recurrence/range/endDate ge '${rangeFrom}')))`,
        `${owned} and (end/dateTime ge '${from}' or type eq 'seriesMaster')`,
      ];
      while (!items && this.windowFilterLevel < filters.length) {
        try {
          ({ items } = await this.getAllPages<GraphEvent>(calendarId, listUrl(filters[this.windowFilterLevel]), what));
        } catch (e) {
          // A service that does not take this filter: the next looser one (last: the stamp alone, window applied here).
          if (!(e instanceof ProviderError) || e.status !== 400) throw e;
          this.windowFilterLevel++;
        }
      }
    }
    if (!items) ({ items } = await this.getAllPages<GraphEvent>(calendarId, listUrl(owned), what));
    const targets = items
      .filter((e) => e.type !== 'occurrence' && e.type !== 'exception')
      .map((e) => withZoneRecord(fromGraphEvent(e, calendarId, mapOpts), e, mapOpts.defaultTimeZone ?? 'UTC'))
      // The server filtered already; this guards against a server that ignored $filter.
      .filter((t) => t.stamp?.syncId === syncId)
      .filter((t) => !window || endsAfter(t, window.from, mapOpts.defaultTimeZone ?? 'UTC'));
    // The stamp is no proof of ownership (Outlook copies it with the event): the recorded id is. The
    // record is re-read from the state store here, so other workers' creates count, and creates
    // planned from this listing derive their transactionIds from it as it stands now.
    const marked = await this.created.markCopies(calendarId, syncId, targets);
    if (window) await this.checkOccurrences(calendarId, marked, window, mapOpts.defaultTimeZone ?? 'UTC');
    return marked;
  }

  /**
   * Graph v1.0 lists a series by its master only, and a person deleting one occurrence leaves the
   * master as it was (no cancelledOccurrences in v1.0). So for each owned series master that shows
   * in the window — and only those — its instances in the window are read (one
   * `GET …/events/{id}/instances`, `$select`ed to id/type/originalStart, per series and listing)
   * and compared with the occurrences its recurrence has there (core/recurrence): a missing one
   * means `occurrence deleted`, an exception `occurrence changed` (this sync never writes
   * exceptions on Graph: a series with changed occurrences is written as single events). Marked
   * as edited, the planner restores it (targetEdits 'restore') or keeps it ('keep'). Only
   * occurrences a day or more inside the window are judged, and a series whose instances this
   * expansion does not explain (a pattern read differently) is left unjudged, so a disagreement
   * cannot make every run rewrite it. A failed read leaves the series unjudged this run.
   */
  private async checkOccurrences(calendarId: string, targets: TargetEvent[], window: TimeWindow, zone: string): Promise<void> {
    const masters = targets.filter((t) => !t.copy && t.event.recurrence && t.event.recurrence.rrule.length > 0 && !t.event.recurrenceId && showsInWindowSafe(t.event, window, zone));
    await Promise.all(masters.map(async (t) => {
      const url = `${this.baseUrl}${this.userPath(calendarId)}/events/${encodeURIComponent(t.id)}/instances?startDateTime=${encodeURIComponent(isoUtc(window.from))}&endDateTime=${encodeURIComponent(isoUtc(window.to))}&$select=id,type,originalStart&$top=${this.pageSize}`;
      let items: GraphEvent[];
      try {
        ({ items } = await this.getAllPages<GraphEvent>(calendarId, url, `instances of series ${t.id} in ${calendarId}`));
      } catch {
        return;
      }
      const found = items.filter((i) => i.type === 'occurrence' || i.type === 'exception');
      const edits: string[] = [];
      const missing = missingOccurrences(t.event, found, window, zone);
      if (missing > 0) edits.push('occurrence deleted');
      if (found.some((i) => i.type === 'exception')) edits.push('occurrence changed');
      if (!edits.length) return;
      t.edited = [...(t.edited ?? []), ...edits];
      this.occurrenceEdits.add(`${calendarId.toLowerCase()}\u0000${t.id}`);
    }));
  }

  /**
   * Before the update of a series whose occurrences a person deleted or changed: Outlook keeps
   * those exceptions through a PATCH that leaves the pattern as it was, and drops them when the
   * pattern changes. So the series is first cut to one occurrence (a PATCH of its range, with the
   * listing's If-Match), and the update then writes the whole pattern back — every occurrence
   * returns as the series has it. Returns the ETag to send with the update, or the failure. Should
   * the update then fail, its retry (or the next run: the range reads back as edited) writes the
   * pattern again.
   */
  private async restoreOccurrencesFirst(calendarId: string, op: Extract<WriteOp, { op: 'update' }>, recurrence: GraphPatternedRecurrence): Promise<{ etag?: string } | ProviderError> {
    const one = recurrence.range.type === 'numbered' && recurrence.range.numberOfOccurrences === 1 ? 2 : 1;
    const range = { type: 'numbered', startDate: recurrence.range.startDate, numberOfOccurrences: one, ...(recurrence.range.recurrenceTimeZone ? { recurrenceTimeZone: recurrence.range.recurrenceTimeZone } : {}) };
    const headers: Record<string, string> = { Accept: 'application/json', 'Content-Type': 'application/json', ...(op.etag ? { 'If-Match': op.etag } : {}) };
    const res = await this.send(calendarId, {
      method: 'PATCH', url: `${this.baseUrl}${this.userPath(calendarId)}/events/${encodeURIComponent(op.targetId)}`, headers,
      body: JSON.stringify({ recurrence: { ...recurrence, range } }),
    });
    if (res.status < 200 || res.status >= 300) return providerErrorFrom(res.status, res.headers, res.body, `reset the occurrences of series ${op.targetId} in ${calendarId}`, this.now());
    const body = safeJson(res.body) as GraphEvent | undefined;
    return { etag: body?.['@odata.etag'] };
  }

  async listEvents(calendarId: string, window: TimeWindow, opts: { expandSeries?: boolean; maxResults?: number } = {}): Promise<TargetEvent[]> {
    const top = Math.min(this.pageSize, opts.maxResults ?? Infinity);
    let url: string;
    if (opts.expandSeries === false) {
      url = `${this.baseUrl}${this.userPath(calendarId)}/events?$expand=${encodeURIComponent(EXPAND_STAMP)}&$top=${top}`;
    } else {
      url = `${this.baseUrl}${this.userPath(calendarId)}/calendarView?startDateTime=${encodeURIComponent(isoUtc(window.from))}&endDateTime=${encodeURIComponent(isoUtc(window.to))}&$expand=${encodeURIComponent(EXPAND_STAMP)}&$top=${top}`;
    }
    const mapOpts = await this.mapOptsFor(calendarId);
    const { items } = await this.getAllPages<GraphEvent>(calendarId, url, `list events of ${calendarId}`, opts.maxResults);
    let out = items.map((e) => withZoneRecord(fromGraphEvent(e, calendarId, mapOpts), e, mapOpts.defaultTimeZone ?? 'UTC'));
    if (opts.expandSeries === false) out = out.filter((t) => mayOverlap(t, window, mapOpts.defaultTimeZone));
    return opts.maxResults !== undefined ? out.slice(0, opts.maxResults) : out;
  }

  async getEvent(calendarId: string, targetId: string): Promise<TargetEvent | undefined> {
    const url = `${this.baseUrl}${this.userPath(calendarId)}/events/${encodeURIComponent(targetId)}?$expand=${encodeURIComponent(EXPAND_STAMP)}`;
    const res = await this.send(calendarId, { method: 'GET', url, headers: this.readHeaders() });
    if (res.status === 404) return undefined;
    if (res.status < 200 || res.status >= 300) throw providerErrorFrom(res.status, res.headers, res.body, `get event ${targetId} of ${calendarId}`, this.now());
    const mapOpts = await this.mapOptsFor(calendarId);
    const raw = JSON.parse(res.body) as GraphEvent;
    return withZoneRecord(fromGraphEvent(raw, calendarId, mapOpts), raw, mapOpts.defaultTimeZone ?? 'UTC');
  }

  /**
   * Incremental read of the window via calendarView/delta (occurrences expanded). The delta link
   * is kept in the SyncStateStore under a key per mailbox and window; an expired link (410) falls
   * back to a full read, flagged `full: true`. Without a store every call is a full read.
   */
  async listChanges(calendarId: string, window: TimeWindow): Promise<GraphChanges> {
    const key = `graph-delta:${calendarId.toLowerCase()}:${window.from}:${window.to}`;
    const stored = this.stateStore ? await this.stateStore.get(key) : undefined;
    const initial = `${this.baseUrl}${this.userPath(calendarId)}/calendarView/delta?startDateTime=${encodeURIComponent(isoUtc(window.from))}&endDateTime=${encodeURIComponent(isoUtc(window.to))}`;
    let full = !stored;
    let result: { items: GraphEvent[]; deltaLink?: string };
    try {
      result = await this.getAllPages<GraphEvent>(calendarId, stored ?? initial, `delta of ${calendarId}`);
    } catch (e) {
      if (!(e instanceof ProviderError) || e.status !== 410 || !stored) throw e;
      // syncStateNotFound / resyncRequired: the stored state is gone, start over.
      full = true;
      result = await this.getAllPages<GraphEvent>(calendarId, initial, `delta of ${calendarId} (full after 410)`);
    }
    if (this.stateStore && result.deltaLink) await this.stateStore.set(key, result.deltaLink);
    const mapOpts = await this.mapOptsFor(calendarId);
    const events: TargetEvent[] = [];
    const removedIds: string[] = [];
    for (const item of result.items) {
      if (item['@removed']) removedIds.push(item.id ?? '');
      else events.push(withZoneRecord(fromGraphEvent(item, calendarId, mapOpts), item, mapOpts.defaultTimeZone ?? 'UTC'));
    }
    return { events, removedIds, full };
  }

  async listRooms(): Promise<Room[]> {
    const { items } = await this.getAllPages<{ emailAddress?: string; displayName?: string; capacity?: number; building?: string }>(
      undefined, `${this.baseUrl}/places/microsoft.graph.room?$top=100`, 'list rooms');
    return items
      .filter((r) => r.emailAddress)
      .map((r) => {
        const room: Room = { calendarId: r.emailAddress!, email: r.emailAddress!, name: r.displayName ?? r.emailAddress! };
        if (typeof r.capacity === 'number') room.capacity = r.capacity;
        if (r.building) room.building = r.building;
        return room;
      });
  }

  // -------------------------------------------------------------------------------------------
  // Writes

  /** The request an op becomes (url relative to the version root), or the reason it cannot be sent. */
  private requestFor(calendarId: string, op: WriteOp, mapOpts: GraphMapOptions, priorId?: string): BatchRequestItem | ProviderError {
    const base = `${this.userPath(calendarId)}/events`;
    try {
      switch (op.op) {
        case 'create':
          return { id: '', method: 'POST', url: base, body: zoneRecorded(op.event, toGraphEvent(op.event, op.stamp, { ...mapOpts, create: true, ...(priorId ? { priorId } : {}) }), mapOpts) };
        case 'update': {
          const headers: Record<string, string> = {};
          if (op.etag) headers['If-Match'] = op.etag;
          return { id: '', method: 'PATCH', url: `${base}/${encodeURIComponent(op.targetId)}`, headers, body: zoneRecorded(op.event, toGraphEvent(op.event, op.stamp, mapOpts), mapOpts) };
        }
        case 'delete':
          return { id: '', method: 'DELETE', url: `${base}/${encodeURIComponent(op.targetId)}` };
      }
    } catch (e) {
      const field = e instanceof GraphMappingError ? e.field : undefined;
      return new ProviderError((e as Error).message, { retryable: false, code: field ? `mapping:${field}` : 'mapping', scope: 'op' });
    }
  }

  /** WriteResult for one answered request. */
  private resultFor(op: WriteOp, res: { status: number; headers: Record<string, string>; body: unknown }): WriteResult {
    const ok = res.status >= 200 && res.status < 300;
    if (ok) {
      const body = (typeof res.body === 'string' ? safeJson(res.body) : res.body) as GraphEvent | undefined;
      const targetId = op.op === 'create' ? body?.id : op.targetId;
      if (op.op === 'create' && !targetId) {
        return { op, ok: false, error: new ProviderError('create succeeded but the response carried no event id', { status: res.status, retryable: true, code: 'noId' }) };
      }
      return { op, ok: true, targetId };
    }
    if (op.op === 'delete' && (res.status === 404 || res.status === 410)) {
      return { op, ok: true, targetId: op.targetId, note: 'already gone' };
    }
    const what = `${op.op} ${op.op === 'create' ? op.key : op.targetId} in ${op.calendarId}`;
    return { op, ok: false, error: providerErrorFrom(res.status, res.headers, res.body, what, this.now()) };
  }

  async write(calendarId: string, ops: WriteOp[]): Promise<WriteResult[]> {
    if (ops.length > MAX_BATCH_REQUESTS) throw new Error(`GraphCalendarProvider.write: ${ops.length} ops exceed the $batch limit of ${MAX_BATCH_REQUESTS}`);
    const results: (WriteResult | undefined)[] = new Array(ops.length);
    const pending: { index: number; item: BatchRequestItem }[] = [];
    let mapOpts = this.mapOpts;
    if (ops.some((op) => op.op !== 'delete')) {
      try {
        mapOpts = await this.mapOptsFor(calendarId);
      } catch (e) {
        // No zone for this mailbox (unknown mailbox, no permission): every op fails with that reason.
        const error = e instanceof ProviderError ? e : new ProviderError(String((e as Error)?.message ?? e), { retryable: true, code: 'mailboxTimeZone' });
        return ops.map((op) => ({ op, ok: false, error }));
      }
    }
    const priors = await Promise.all(ops.map((op) => (op.op === 'create' ? this.created.priorIdFor(calendarId, op.stamp) : undefined)));
    const restoring: number[] = [];
    ops.forEach((op, index) => {
      const req = this.requestFor(calendarId, op, mapOpts, priors[index]);
      if (req instanceof ProviderError) results[index] = { op, ok: false, error: req };
      else {
        pending.push({ index, item: { ...req, id: String(index + 1) } });
        if (op.op === 'update' && this.occurrenceEdits.has(`${calendarId.toLowerCase()}\u0000${op.targetId}`) && (req.body as GraphEvent | undefined)?.recurrence) restoring.push(pending.length - 1);
      }
    });
    // Series whose deleted or changed occurrences this update restores: reset them first (one request each).
    for (const at of restoring.reverse()) {
      const { index, item } = pending[at];
      const op = ops[index] as Extract<WriteOp, { op: 'update' }>;
      const reset = await this.restoreOccurrencesFirst(calendarId, op, (item.body as GraphEvent).recurrence!);
      if (reset instanceof ProviderError) {
        results[index] = { op, ok: false, error: reset };
        pending.splice(at, 1);
        continue;
      }
      const headers = { ...(item.headers ?? {}) };
      delete headers['If-Match'];
      if (reset.etag) headers['If-Match'] = reset.etag;
      pending[at] = { index, item: { ...item, headers } };
      this.occurrenceEdits.delete(`${calendarId.toLowerCase()}\u0000${op.targetId}`);
    }
    if (pending.length === 1) {
      const { index, item } = pending[0];
      const headers: Record<string, string> = { Accept: 'application/json', ...(item.headers ?? {}) };
      if (item.body !== undefined) headers['Content-Type'] = 'application/json';
      const res = await this.send(calendarId, {
        method: item.method, url: this.baseUrl + item.url, headers,
        body: item.body === undefined ? undefined : JSON.stringify(item.body),
      });
      results[index] = this.resultFor(ops[index], { status: res.status, headers: res.headers, body: safeJson(res.body) ?? res.body });
    } else if (pending.length > 1) {
      const body = buildBatchBody(pending.map((p) => p.item));
      const res = await this.send(calendarId, {
        method: 'POST', url: `${this.baseUrl}/$batch`, headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body,
      }, pending.length);
      // The whole batch failed before any item ran (throttled, 5xx, auth): every op shares that error.
      if (res.status < 200 || res.status >= 300) throw providerErrorFrom(res.status, res.headers, res.body, `$batch of ${pending.length} writes to ${calendarId}`, this.now());
      const byId: Map<string, BatchResponseItem> = parseBatchResponse(res.body, pending.map((p) => p.item.id));
      for (const { index, item } of pending) {
        const answer = byId.get(item.id);
        results[index] = answer
          ? this.resultFor(ops[index], answer)
          // No answer for this item: it may or may not have run. Every write here is safe to repeat
          // (creates carry a transactionId, PATCH and DELETE are idempotent).
          : { op: ops[index], ok: false, error: new ProviderError(`$batch returned no response for request ${item.id}`, { retryable: true, code: 'batchItemMissing' }) };
      }
    }
    await this.created.noteWrites(calendarId, results as WriteResult[]);
    return results as WriteResult[];
  }
}

/** Whether where the event lands depends on the mailbox's zone: floating or all-day start/end. */
function zoneDependent(e: CalendarEvent): boolean {
  const dep = (t: CalendarEvent['start'] | undefined) => !!t && (t.date !== undefined || (!t.timeZone && !!t.dateTime && !t.dateTime.endsWith('Z')));
  return dep(e.start) || dep(e.end);
}

/**
 * Adds the zone record to a written body, so that a changed mailbox zone (or configured zone) reads
 * back as a changed event and the planner rewrites exactly those (withZoneRecord).
 */
function zoneRecorded(event: CalendarEvent, body: GraphEvent, mapOpts: GraphMapOptions): GraphEvent {
  const value = zoneDependent(event) ? mapOpts.defaultTimeZone ?? 'UTC' : '-';
  return { ...body, singleValueExtendedProperties: [...(body.singleValueExtendedProperties ?? []), { id: ZONE_PROPERTY_ID, value }] };
}

/**
 * A listed event written in another zone than the current one reads back with the fingerprint
 * `<fingerprint>~<old zone>`, which no planned fingerprint equals: the planner rewrites it. No record
 * (older writes), '-' or the same zone → the stamp as stored.
 */
function withZoneRecord(t: TargetEvent, raw: GraphEvent, zone: string): TargetEvent {
  const recorded = raw.singleValueExtendedProperties?.find((p) => p.id?.toLowerCase() === ZONE_PROPERTY_ID.toLowerCase())?.value;
  if (!t.stamp || !recorded || recorded === '-' || recorded === zone) return t;
  return { ...t, stamp: { ...t.stamp, fingerprint: `${t.stamp.fingerprint}~${recorded}` } };
}

/** Whether an event (a series: its whole span, unbounded without UNTIL) ends after `from`; unreadable times count as yes. */
function endsAfter(t: TargetEvent, from: number, zone: string): boolean {
  try {
    return overlapsWindow(t.event, { from, to: Number.POSITIVE_INFINITY }, zone);
  } catch {
    return true;
  }
}

/** Overlap test for unexpanded listings: masters count from their start to their range end. */
function mayOverlap(t: TargetEvent, window: TimeWindow, zone: string | undefined): boolean {
  try {
    const start = eventTimeToUtc(t.event.start, zone);
    if (t.event.recurrence) {
      const until = /UNTIL=(\d{4})(\d{2})(\d{2})/.exec(t.event.recurrence.rrule[0] ?? '');
      const end = until ? parseWall(`${until[1]}-${until[2]}-${until[3]}`) + 2 * MS.DAY : Infinity;
      return start < window.to && end > window.from;
    }
    const end = eventTimeToUtc(t.event.end, zone);
    return start < window.to && end > window.from;
  } catch {
    return true;
  }
}

/** showsInWindow, with an unreadable time counting as "no" (such a master is not judged). */
function showsInWindowSafe(e: CalendarEvent, window: TimeWindow, zone: string): boolean {
  try {
    return showsInWindow(e, window, zone);
  } catch {
    return false;
  }
}

/**
 * How many occurrences of `master` (its recurrence as read back) starting a day or more inside the
 * window are missing from the instances Graph listed; 0 when an instance is not one of its
 * occurrences (the two readings of the pattern disagree: nothing is judged).
 */
function missingOccurrences(master: CalendarEvent, instances: GraphEvent[], window: TimeWindow, zone: string): number {
  let expected: number[];
  try {
    const { recurrenceId: _rid, ...series } = master;
    expected = expandOccurrences([series], window.from, window.to, { floatingZone: zone }).occurrences
      .map((o) => eventTimeToUtc(o.recurrenceId ?? o.start, zone));
  } catch {
    return 0;
  }
  const all = new Set(expected);
  const listed = new Set<number>();
  for (const i of instances) {
    const at = i.originalStart ? Date.parse(i.originalStart) : Number.NaN;
    if (!all.has(at)) return 0;
    listed.add(at);
  }
  return expected.filter((at) => at >= window.from + MS.DAY && at < window.to - MS.DAY && !listed.has(at)).length;
}

function safeJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export type { OwnershipStamp };
