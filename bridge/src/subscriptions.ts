/**
 * Import subscriptions (Sonderplan's "calendar subscriptions (import)"): remote ICS/JSON feeds the
 * bridge polls itself. This file holds
 *
 * - the API shape: validation of a subscription body, its JSON representation (Sonderplan's field
 *   names: `calendar_url`, `enabled`, `booking_property`, `last_checked_date`,
 *   `last_checked_filesize`, `last_parsed_date`; ours: `name`, `interval`, `auth`, `last_error`,
 *   `event_count`) and the list parameters (`id`, `fields`, `limit`, `page`, `order_asc`,
 *   `order_desc`, answered as `{ data, meta: { pagination } }`);
 * - the poller: leases due subscriptions (Store.claimSubscriptions — one instance per subscription
 *   at a time), reads each with providers/feed readFeed through the safe fetch (conditional GET,
 *   request budget, time and size limits), parses with core's parseCalendarInput, applies the
 *   default properties, and records a snapshot whose diff goes into the outbox exactly like a
 *   webhook push (push-plan.ts), under the source name `subscription:<id>` — or, for a subscription
 *   that names a sync target (`sync_target`), mirrors the events straight into a room calendar
 *   with core's syncCalendars (sync-target.ts) whenever they changed or the last sync did not
 *   succeed, renewing its lease while the sync runs.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { CalendarEvent } from '../../core/event';
import { parseCalendarInput } from '../../core/input';
import { readFeed, redactUrl as redactFeedUrl } from '../../providers/feed';
import type { KeyValueStore } from '../../providers/state';
import { SYNC_OVERRIDES, type BookingProperty, type FeedAuth, type Store, type SubscriptionInput, type SubscriptionRecord, type SyncOverride, type SyncStatus } from './store/types';
import { snapshotEntries, snapshotHash } from './snapshot';
import { removeSubscriptionEvents, syncSubscription, type SyncTargetConfig } from './sync-target';
import { planPush } from './push-plan';
import type { Metrics } from './metrics';
import { WorkLoop } from './work-loop';

export interface SubscriptionsConfig {
  /** Smallest polling interval a subscription may ask for (seconds). */
  minIntervalSec: number;
  defaultIntervalSec: number;
  /** How often the poller looks for due subscriptions (ms). */
  pollMs: number;
  /** How long a claimed subscription stays leased to this instance (ms); longer than timeoutMs. */
  leaseMs: number;
  batch: number;
  /** Per-request time limit and response size limit of a feed fetch. */
  timeoutMs: number;
  maxBytes: number;
  /** Requests per subscription per hour, on top of the interval (readFeed's budget). */
  budgetPerHour: number;
  /** CIDR ranges that may be fetched although private/loopback (safe-fetch.ts). */
  allowPrivate: string[];
  /** Calendars subscriptions may sync into, by name (`sync_target`); credentials stay here, never in the API. */
  syncTargets: Record<string, SyncTargetConfig>;
  /** How long removing a subscription's events (`remove_events=true`) waits for a lease another poll holds before answering 409 (ms). */
  leaseWaitMs: number;
}

export function defaultSubscriptionsConfig(): SubscriptionsConfig {
  return { minIntervalSec: 300, defaultIntervalSec: 3600, pollMs: 1000, leaseMs: 120_000, batch: 4, timeoutMs: 30_000, maxBytes: 20 * 1024 * 1024, budgetPerHour: 20, allowPrivate: [], syncTargets: {}, leaseWaitMs: 5000 };
}

/** A body we refuse, with a message naming the field. */
export class SubscriptionInputError extends Error {}

const STATUSES = ['CONFIRMED', 'TENTATIVE', 'CANCELLED'] as const;

function str(v: unknown, field: string, max = 2000): string {
  if (typeof v !== 'string' || v.trim() === '' || v.length > max) throw new SubscriptionInputError(`${field} must be a non-empty string of at most ${max} characters`);
  return v;
}

function authOf(v: unknown): FeedAuth | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object') throw new SubscriptionInputError('auth must be an object: {"type":"bearer","token":…}, {"type":"basic","username":…,"password":…} or {"type":"header","name":…,"value":…}');
  const a = v as Record<string, unknown>;
  if (a.type === 'bearer') return { type: 'bearer', token: str(a.token, 'auth.token', 4000) };
  if (a.type === 'basic') return { type: 'basic', username: str(a.username, 'auth.username', 500), password: str(a.password, 'auth.password', 4000) };
  if (a.type === 'header') {
    const name = str(a.name, 'auth.name', 100);
    if (!/^[A-Za-z0-9-]+$/.test(name) || /^(host|content-length|transfer-encoding|connection)$/i.test(name)) throw new SubscriptionInputError(`auth.name "${name}" is not a header the bridge may set`);
    return { type: 'header', name, value: str(a.value, 'auth.value', 4000) };
  }
  throw new SubscriptionInputError(`auth.type must be bearer, basic or header (got ${JSON.stringify(a.type)})`);
}

function bookingPropertyOf(v: unknown): BookingProperty {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new SubscriptionInputError('booking_property must be an object with room, status, categories');
  const o = v as Record<string, unknown>;
  const unknownKey = Object.keys(o).find((k) => !['room', 'status', 'categories'].includes(k));
  if (unknownKey) throw new SubscriptionInputError(`booking_property.${unknownKey} is not supported (room, status, categories)`);
  const out: BookingProperty = {};
  if (o.room !== undefined) out.room = str(o.room, 'booking_property.room', 500);
  if (o.status !== undefined) {
    if (!(STATUSES as readonly unknown[]).includes(o.status)) throw new SubscriptionInputError(`booking_property.status must be one of ${STATUSES.join(', ')}`);
    out.status = o.status as BookingProperty['status'];
  }
  if (o.categories !== undefined) {
    if (!Array.isArray(o.categories) || o.categories.some((c) => typeof c !== 'string' || c === '')) throw new SubscriptionInputError('booking_property.categories must be a list of non-empty strings');
    out.categories = o.categories as string[];
  }
  return out;
}

/**
 * Validates a create (no `existing`) or update body; fields absent from an update keep their
 * value, `auth: null` removes the credentials. Read-only status fields are refused by name.
 */
export function subscriptionInputOf(body: unknown, cfg: SubscriptionsConfig, existing?: SubscriptionRecord): SubscriptionInput {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new SubscriptionInputError('send a JSON object');
  const o = body as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (READ_ONLY.includes(k)) throw new SubscriptionInputError(`${k} is read-only`);
    if (!WRITABLE.includes(k)) throw new SubscriptionInputError(`unknown field "${k}" (fields: ${WRITABLE.join(', ')})`);
  }
  const calendarUrl = o.calendar_url !== undefined ? str(o.calendar_url, 'calendar_url') : existing?.calendar_url;
  if (calendarUrl === undefined) throw new SubscriptionInputError('calendar_url is required');
  let u: URL;
  try {
    u = new URL(calendarUrl);
  } catch {
    throw new SubscriptionInputError(`calendar_url is not a URL (${JSON.stringify(calendarUrl.slice(0, 100))})`);
  }
  if (u.protocol === 'webcal:') u = new URL('https:' + calendarUrl.slice('webcal:'.length));
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new SubscriptionInputError('calendar_url must be an http, https or webcal URL');
  if (u.username || u.password) throw new SubscriptionInputError('calendar_url must not carry credentials; use auth');
  const interval = o.interval !== undefined ? o.interval : existing?.interval_sec ?? cfg.defaultIntervalSec;
  if (typeof interval !== 'number' || !Number.isInteger(interval) || interval < cfg.minIntervalSec || interval > 7 * 86400) {
    throw new SubscriptionInputError(`interval must be a whole number of seconds from ${cfg.minIntervalSec} (the minimum) to ${7 * 86400} (got ${JSON.stringify(interval)})`);
  }
  const enabled = o.enabled !== undefined ? o.enabled : existing?.enabled ?? true;
  if (typeof enabled !== 'boolean') throw new SubscriptionInputError('enabled must be true or false');
  const { syncTarget, syncCalendar } = syncTargetInputOf(o, cfg, existing);
  return {
    name: o.name !== undefined ? str(o.name, 'name', 200) : existing?.name ?? u.hostname,
    calendar_url: u.toString(),
    enabled,
    interval_sec: interval,
    booking_property: o.booking_property !== undefined ? bookingPropertyOf(o.booking_property) : existing?.booking_property ?? {},
    auth: o.auth !== undefined ? authOf(o.auth) : existing?.auth ?? null,
    sync_target: syncTarget,
    sync_calendar: syncCalendar,
    sync_override: o.sync_override !== undefined ? syncOverrideOf(o.sync_override, syncTarget) : syncTarget === null ? null : existing?.sync_override ?? null,
  };
}

/** Guard overrides for the next poll only: a list of allow-empty, allow-shrink, force (or null). */
function syncOverrideOf(v: unknown, syncTarget: string | null): SyncOverride[] | null {
  if (v === null) return null;
  const hint = `sync_override must be a list of ${SYNC_OVERRIDES.join(', ')} (for the next poll only), or null`;
  if (!Array.isArray(v) || v.some((x) => !(SYNC_OVERRIDES as readonly unknown[]).includes(x))) throw new SubscriptionInputError(hint);
  if (syncTarget === null && v.length) throw new SubscriptionInputError('sync_override needs a sync_target');
  return v.length ? [...new Set(v as SyncOverride[])] : null;
}

/** `sync_target` names a configured target (or null: forward diffs); `sync_calendar` is the room, unless the target has a default. */
function syncTargetInputOf(o: Record<string, unknown>, cfg: SubscriptionsConfig, existing?: SubscriptionRecord): { syncTarget: string | null; syncCalendar: string | null } {
  const targets = cfg.syncTargets ?? {};
  const syncTarget = o.sync_target !== undefined ? o.sync_target : existing?.sync_target ?? null;
  if (syncTarget !== null) {
    if (typeof syncTarget !== 'string' || syncTarget === '') throw new SubscriptionInputError('sync_target must be the name of a sync target configured on the bridge, or null');
    const names = Object.keys(targets);
    if (o.sync_target !== undefined && !targets[syncTarget]) {
      throw new SubscriptionInputError(`sync_target "${syncTarget.slice(0, 100)}" is not configured on this bridge (${names.length ? `configured: ${names.join(', ')}` : 'none is configured: see subscriptions.syncTargets in docs/bridge.md'})`);
    }
  }
  // Turning the sync off also forgets its calendar, unless the body sets one.
  const syncCalendar = o.sync_calendar !== undefined ? o.sync_calendar : o.sync_target === null ? null : existing?.sync_calendar ?? null;
  if (syncCalendar !== null) {
    if (typeof syncCalendar !== 'string' || syncCalendar.trim() === '' || syncCalendar.length > 1000) throw new SubscriptionInputError('sync_calendar must be a calendar id (a room\'s address or id) of at most 1000 characters, or null');
    if (syncTarget === null) throw new SubscriptionInputError('sync_calendar needs a sync_target');
  }
  if (syncTarget !== null && syncCalendar === null && targets[syncTarget] && !targets[syncTarget].calendar) {
    throw new SubscriptionInputError(`sync_calendar is required: sync target "${syncTarget}" has no default calendar`);
  }
  return { syncTarget: syncTarget as string | null, syncCalendar: syncCalendar as string | null };
}

export const WRITABLE = ['name', 'calendar_url', 'enabled', 'interval', 'booking_property', 'auth', 'sync_target', 'sync_calendar', 'sync_override'];
const READ_ONLY = ['id', 'last_checked_date', 'last_checked_filesize', 'last_parsed_date', 'last_error', 'event_count', 'sync_status', 'created_date', 'updated_date'];
/** Every field the API shows, in order (the `fields`, `order_asc` and `order_desc` vocabulary). */
export const SUBSCRIPTION_FIELDS = ['id', 'name', 'enabled', 'calendar_url', 'interval', 'booking_property', 'auth', 'last_checked_date', 'last_checked_filesize', 'last_parsed_date', 'last_error', 'event_count', 'sync_target', 'sync_calendar', 'sync_override', 'sync_status', 'created_date', 'updated_date'] as const;
const SORTABLE = ['id', 'name', 'enabled', 'calendar_url', 'interval', 'last_checked_date', 'last_checked_filesize', 'last_parsed_date', 'event_count', 'sync_target', 'sync_calendar', 'created_date', 'updated_date'];

const unix = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));

/** The API representation: UNIX-second timestamps like Sonderplan; credentials never leave (only their type). */
export function subscriptionView(s: SubscriptionRecord): Record<string, unknown> {
  return {
    id: s.id,
    name: s.name,
    enabled: s.enabled,
    calendar_url: s.calendar_url,
    interval: s.interval_sec,
    booking_property: s.booking_property,
    auth: s.auth ? { type: s.auth.type } : null,
    last_checked_date: unix(s.last_checked_date),
    last_checked_filesize: s.last_checked_filesize,
    last_parsed_date: unix(s.last_parsed_date),
    last_error: s.last_error,
    event_count: s.event_count,
    sync_target: s.sync_target ?? null,
    sync_calendar: s.sync_calendar ?? null,
    sync_override: s.sync_override ?? null,
    sync_status: s.sync_status ? syncStatusView(s.sync_status) : null,
    created_date: unix(s.created_at),
    updated_date: unix(s.updated_at),
  };
}

/** The last sync's result as the API shows it (`date` in UNIX seconds; the change-detection hash stays inside). */
function syncStatusView(st: SyncStatus): Record<string, unknown> {
  return { target: st.target, calendar: st.calendar, date: unix(st.at), ok: st.ok, created: st.created, updated: st.updated, deleted: st.deleted, kept: st.kept, failed: st.failed, guard: st.guard, error: st.error };
}

export interface ListQuery {
  id?: string;
  fields?: string;
  limit?: string;
  page?: string;
  order_asc?: string;
  order_desc?: string;
}

/** Sonderplan's list parameters over the views; throws SubscriptionInputError naming the bad parameter. */
export function listSubscriptionsView(all: SubscriptionRecord[], q: ListQuery): { data: Array<Record<string, unknown>>; meta: { pagination: { total: number; count: number; per_page: number; current_page: number } } } {
  const intParam = (name: string, v: string | undefined, dflt: number, max: number) => {
    if (v === undefined || v === '') return dflt;
    if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > max) throw new SubscriptionInputError(`${name} must be a whole number from 1 to ${max} (got ${JSON.stringify(v)})`);
    return Number(v);
  };
  const limit = intParam('limit', q.limit, 10, 1000);
  const page = intParam('page', q.page, 1, 1_000_000);
  let views = all.map(subscriptionView);
  if (q.id !== undefined && q.id !== '') {
    const ids = q.id.split(',').map((x) => x.trim());
    const bad = ids.find((x) => !/^\d+$/.test(x));
    if (bad !== undefined) throw new SubscriptionInputError(`id must be a comma-separated list of ids (got ${JSON.stringify(bad)})`);
    views = views.filter((v) => ids.includes(String(v.id)));
  }
  if (q.order_asc !== undefined && q.order_desc !== undefined) throw new SubscriptionInputError('give order_asc or order_desc, not both');
  const order = q.order_asc ?? q.order_desc;
  if (order !== undefined) {
    if (!SORTABLE.includes(order)) throw new SubscriptionInputError(`cannot order by "${order}" (fields: ${SORTABLE.join(', ')})`);
    const dir = q.order_asc !== undefined ? 1 : -1;
    views.sort((a, b) => {
      const x = a[order] as string | number | boolean | null;
      const y = b[order] as string | number | boolean | null;
      if (x === y) return (a.id as number) - (b.id as number);
      if (x === null) return 1; // nulls last either way
      if (y === null) return -1;
      return (x < y ? -1 : 1) * dir;
    });
  }
  let fields: string[] | undefined;
  if (q.fields !== undefined && q.fields !== '') {
    fields = q.fields.split(',').map((f) => f.trim());
    const bad = fields.find((f) => !(SUBSCRIPTION_FIELDS as readonly string[]).includes(f));
    if (bad !== undefined) throw new SubscriptionInputError(`unknown field "${bad}" in fields (fields: ${SUBSCRIPTION_FIELDS.join(', ')})`);
  }
  const total = views.length;
  const slice = views.slice((page - 1) * limit, page * limit).map((v) => (fields ? Object.fromEntries(fields.map((f) => [f, v[f]])) : v));
  return { data: slice, meta: { pagination: { total, count: slice.length, per_page: limit, current_page: page } } };
}

/** Fills the subscription's default properties into each imported event (the event's own values win; categories are added). */
export function applyBookingProperty(events: CalendarEvent[], p: BookingProperty): CalendarEvent[] {
  return events.map((e) => {
    const out = { ...e };
    if (p.room !== undefined && !out.location) out.location = p.room;
    if (p.status !== undefined && !out.status) out.status = p.status;
    if (p.categories?.length) out.categories = [...new Set([...(out.categories ?? []), ...p.categories])];
    return out;
  });
}

export function authHeaders(auth: FeedAuth | null | undefined): Record<string, string> {
  if (!auth) return {};
  if (auth.type === 'bearer') return { authorization: `Bearer ${auth.token}` };
  if (auth.type === 'basic') return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}` };
  return { [auth.name.toLowerCase()]: auth.value };
}

export const subscriptionSource = (id: number) => `subscription:${id}`;

/** readFeed's state (validators, last good body, request times) kept in the subscription row. */
class RowState implements KeyValueStore {
  readonly data: Record<string, string>;
  constructor(raw: string | null) {
    let parsed: Record<string, string> = {};
    try {
      parsed = raw ? (JSON.parse(raw) as Record<string, string>) : {};
    } catch {
      // A damaged state costs one unconditional request.
    }
    this.data = parsed;
  }
  get(key: string) {
    return this.data[key];
  }
  set(key: string, value: string | undefined) {
    if (value === undefined) delete this.data[key];
    else this.data[key] = value;
  }
}

export interface PollerOptions {
  store: Store;
  config: SubscriptionsConfig;
  instanceId: string;
  deliveryUrl?: string;
  fetch: typeof fetch;
  log: Logger;
  metrics?: Metrics;
  now?: () => number;
  /** A poll queued a delivery: wake the outbox dispatcher. */
  onDelivery?: () => void;
  /** Snapshot versions kept per subscription (default: all). */
  keepSnapshots?: number;
}

/** Polls due subscriptions; `stop()` returns after the polls in progress (and their syncs) have been recorded. */
export class SubscriptionPoller extends WorkLoop {
  private readonly now: () => number;

  constructor(private readonly o: PollerOptions) {
    super({ pollMs: () => o.config.pollMs, log: o.log, failureMessage: 'subscriptions: claim failed' });
    this.now = o.now ?? Date.now;
  }

  /** One claim-and-poll round; returns how many subscriptions it polled. */
  async runOnce(): Promise<number> {
    const subs = await this.o.store.claimSubscriptions(this.now(), this.o.config.batch, this.o.config.leaseMs, this.o.instanceId);
    await Promise.all(subs.map((s) => this.poll(s)));
    return subs.length;
  }

  private async poll(sub: SubscriptionRecord): Promise<void> {
    const state = new RowState(sub.fetch_state);
    const checkedAt = this.now();
    const source = subscriptionSource(sub.id);
    const syncing = sub.sync_target !== null && sub.sync_target !== undefined;
    const overrides = new Set(syncing ? sub.sync_override ?? [] : []);
    let filesize: number | undefined;
    let parsedAt: number | undefined;
    let eventCount: number | undefined;
    let error: string | null = null;
    let result = 'unchanged';
    let sync: { status: SyncStatus; state: string } | undefined;
    try {
      const read = await readFeed(
        { id: source, url: sub.calendar_url, headers: authHeaders(sub.auth), timeoutMs: this.o.config.timeoutMs, maxBytes: this.o.config.maxBytes, budget: { requests: this.o.config.budgetPerHour, perMinutes: 60 } },
        { store: state, now: this.now, fetch: this.o.fetch, userAgent: 'calendar-relay-bridge' },
      );
      filesize = read.bytes.byteLength;
      const parse = () => {
        const parsed = parseCalendarInput(read.bytes, { preset: 'auto', sourceId: source });
        return { parsed, events: applyBookingProperty(parsed.events, sub.booking_property) };
      };
      let current: ReturnType<typeof parse> | undefined;
      if (read.origin === 'fetched') {
        current = parse();
        const { parsed, events } = current;
        parsedAt = this.now();
        const entries = snapshotEntries(events);
        const rejected = parsed.errors.slice(0, 100);
        // A synced subscription's diffs are written into its calendar, not forwarded; its snapshot
        // still refuses a feed that suddenly became empty (planPush), before any sync could see it.
        const pushed = await this.o.store.recordPush({
          source,
          now: parsedAt,
          keepSnapshots: this.o.keepSnapshots,
          plan: planPush({ source, events, entries, rejected, at: parsedAt, deliveryUrl: syncing ? undefined : this.o.deliveryUrl, allowEmpty: overrides.has('allow-empty'), extra: { subscriptionId: sub.id, subscription: sub.name } }),
        });
        eventCount = entries.length;
        if (parsed.errors.length) error = `${parsed.errors.length} item(s) of the feed could not be read and were left out; first: ${parsed.errors[0].message}`;
        result = pushed.response.unchanged ? 'unchanged' : 'changed';
        if (pushed.response.delivery) this.o.onDelivery?.();
      } else {
        result = read.origin;
      }
      if (syncing) {
        // Not fetched this time (304, budget): the last good body is what the calendar should show.
        sync = await this.syncIfNeeded(sub, current ?? parse(), overrides);
        if (sync?.status.error) error = error ? `${sync.status.error}; ${error}` : sync.status.error;
      }
    } catch (err) {
      error = (err as Error).message.slice(0, 500);
      result = 'failed';
    }
    this.o.metrics?.inc('calendar_relay_bridge_polls_total', { result });
    const logFields = { subscription: sub.id, url: redactFeedUrl(sub.calendar_url), result, events: eventCount, ...(sync ? { sync: { ok: sync.status.ok, created: sync.status.created, updated: sync.status.updated, deleted: sync.status.deleted, kept: sync.status.kept, failed: sync.status.failed } } : {}) };
    if (error) this.o.log.warn({ ...logFields, error }, 'subscription poll problem');
    else this.o.log.info(logFields, 'subscription polled');
    const ok = await this.o.store.finishPoll(
      sub.id, this.o.instanceId,
      {
        checkedAt, fetchState: JSON.stringify(state.data), filesize, parsedAt, eventCount, error, ...(sync ? { syncStatus: sync.status, syncState: sync.state } : {}),
        // Overrides are for one poll: cleared now, unless they were changed while it ran.
        usedOverride: sub.sync_override?.length ? JSON.stringify(sub.sync_override) : null,
      },
      checkedAt + sub.interval_sec * 1000,
    );
    if (!ok) this.o.log.warn({ subscription: sub.id }, 'subscription lease was lost before the poll was recorded (edited, deleted or taken over)');
  }

  /**
   * Syncs into the subscription's calendar when its events differ from what the last successful
   * sync wrote, or that sync failed, or the target or calendar changed. The lease is renewed while
   * the sync runs; a lost lease or the target's timeout aborts the writes not yet sent.
   */
  private async syncIfNeeded(sub: SubscriptionRecord, current: { parsed: ReturnType<typeof parseCalendarInput>; events: CalendarEvent[] }, overrides: Set<SyncOverride>): Promise<{ status: SyncStatus; state: string } | undefined> {
    const name = sub.sync_target as string;
    const target = this.o.config.syncTargets?.[name];
    const calendar = sub.sync_calendar ?? target?.calendar;
    const at = this.now();
    const refused = (msg: string): { status: SyncStatus; state: string } => ({
      status: { target: name, calendar: calendar ?? '', at, ok: false, hash: null, created: 0, updated: 0, deleted: 0, kept: 0, failed: 0, guard: null, error: msg },
      state: sub.sync_state ?? '{}',
    });
    if (!target) return refused(`sync target "${name}" is not configured on this bridge (subscriptions.syncTargets): nothing was synced`);
    if (!calendar) return refused(`sync target "${name}" has no calendar: set sync_calendar`);
    const last = sub.sync_status;
    const hash = snapshotHash(snapshotEntries(current.events));
    if (last && last.ok && last.hash === hash && last.target === name && last.calendar === calendar) return undefined;

    const store = new RowState(sub.sync_state);
    const unreadable = current.parsed.errors.filter((i) => typeof i.uid === 'string' && i.uid !== '').map((i) => ({ sourceId: subscriptionSource(sub.id), uid: i.uid as string, message: i.message }));
    const status = await underRenewedLease({ ...this.o, now: this.now }, sub.id, this.o.instanceId, target.timeoutMs, 'sync', (signal) =>
      syncSubscription({
        subscriptionId: sub.id, target, calendar, events: current.events, unreadable, hash, state: store, now: this.now, signal,
        overrides: { allowEmptySource: overrides.has('allow-empty'), allowShrink: overrides.has('allow-shrink'), force: overrides.has('force') },
      }),
    );
    this.o.metrics?.inc('calendar_relay_bridge_syncs_total', { result: status.ok ? 'ok' : status.guard ? 'refused' : 'failed' });
    return { status, state: JSON.stringify(store.data) };
  }
}

/**
 * Runs `work` while `holder` keeps the subscription's lease (renewed every leaseMs / 3, as a poll
 * does): a lost lease or `timeoutMs` aborts its signal, so the writes not yet sent are not sent.
 * Shared by the poller's sync and the API's removal of a subscription's events.
 */
async function underRenewedLease<T>(
  o: { store: Store; config: SubscriptionsConfig; log: Logger; now: () => number },
  id: number,
  holder: string,
  timeoutMs: number,
  what: 'sync' | 'removal',
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const abort = new AbortController();
  const leaseMs = o.config.leaseMs;
  const renew = setInterval(() => {
    o.store.renewSubscriptionLease(id, holder, o.now() + leaseMs).then((mine) => {
      if (!mine) abort.abort(new Error('the subscription lease was lost (edited, deleted or taken over)'));
    }, (err: Error) => o.log.warn({ subscription: id, err: { message: err.message } }, 'subscription lease renewal failed'));
  }, Math.max(250, Math.floor(leaseMs / 3)));
  const timeout = setTimeout(() => abort.abort(new Error(`the ${what} took longer than ${timeoutMs} ms`)), timeoutMs);
  try {
    return await work(abort.signal);
  } finally {
    clearInterval(renew);
    clearTimeout(timeout);
  }
}

/** The room a subscription syncs into: its target's name and calendar (the target's default when it names none). */
export interface SyncRoom {
  target: string;
  calendar: string | undefined;
}

export function syncRoomOf(s: Pick<SubscriptionInput, 'sync_target' | 'sync_calendar'>, cfg: SubscriptionsConfig): SyncRoom | null {
  if (s.sync_target === null || s.sync_target === undefined) return null;
  return { target: s.sync_target, calendar: s.sync_calendar ?? cfg.syncTargets?.[s.sync_target]?.calendar };
}

export const sameRoom = (a: SyncRoom | null, b: SyncRoom | null) => (a === null || b === null ? a === b : a.target === b.target && a.calendar === b.calendar);

/** A removal that did not happen or did not finish: the HTTP status and the JSON answer (`error`, `removed_events`). */
export class SubscriptionRemovalError extends Error {
  constructor(readonly status: 404 | 409 | 502, readonly body: { error: string; removed_events: number } & Record<string, unknown>) {
    super(body.error);
  }
}

export interface RemovalDeps {
  store: Store;
  config: SubscriptionsConfig;
  instanceId: string;
  log: Logger;
  metrics?: Metrics;
  now?: () => number;
}

/**
 * Removes the events a subscription wrote into its room (`remove_events=true`), under the
 * subscription's lease, then commits the change the API asked for (delete the row, or move it to
 * another room) while still holding that lease:
 *
 * - the lease: taken like a poll's (Store.leaseSubscription), so no poll on this or another
 *   instance syncs the subscription meanwhile; when a poll holds it, this waits up to
 *   `leaseWaitMs` for it to finish, then refuses (409, nothing removed); renewed every leaseMs / 3
 *   while the removal runs, and a lost lease stops the writes not yet sent;
 * - the removal: sync-target.ts removeSubscriptionEvents — the engine with an empty desired set,
 *   the user's request as the override of the empty-source and mass-deletion guards, ownership
 *   rules unchanged;
 * - a removal that fails (target unreachable, throttled beyond retries, a lost lease, any error)
 *   commits nothing: the row stays with the providers' state as the run left it (which of its
 *   events it still owns) and a failed sync_status, so the next poll syncs the feed into the room
 *   again; the answer (502) says how many events were removed before.
 */
export class SubscriptionEventRemover {
  private readonly now: () => number;

  constructor(private readonly o: RemovalDeps) {
    this.now = o.now ?? Date.now;
  }

  /**
   * Cleans the room the leased row names (none: nothing to remove); `expectRoom`, when given,
   * refuses (409) a row whose room is no longer the one the caller read. `commit` runs under the
   * lease; its undefined means the lease was lost (409). `what` completes "the subscription was not …".
   */
  async removeThen<T>(id: number, opts: { what: string; expectRoom?: SyncRoom | null }, commit: (holder: string) => Promise<T | undefined>): Promise<{ result: T; removed: number; kept: number; room: SyncRoom | null }> {
    const holder = `${this.o.instanceId}:api:${randomBytes(6).toString('hex')}`;
    const sub = await this.lease(id, holder, opts.what);
    let state: RowState | undefined;
    try {
      return await this.underLease(id, holder, sub, opts, commit, (s) => (state = s));
    } catch (err) {
      // End the lease now (a no-op when it was released already or is no longer ours), keeping what
      // the run learnt about the events the subscription still owns.
      await this.o.store.releaseSubscriptionLease(id, holder, state ? { syncState: JSON.stringify(state.data) } : {}).catch(() => false);
      throw err;
    }
  }

  private async underLease<T>(id: number, holder: string, sub: SubscriptionRecord, opts: { what: string; expectRoom?: SyncRoom | null }, commit: (holder: string) => Promise<T | undefined>, keepState: (s: RowState) => void): Promise<{ result: T; removed: number; kept: number; room: SyncRoom | null }> {
    const refuse = async (status: 409 | 502, error: string, removed = 0, extra: Record<string, unknown> = {}): Promise<never> => {
      throw new SubscriptionRemovalError(status, { error, removed_events: removed, ...extra });
    };
    const release = (update?: { syncState?: string; syncStatus?: SyncStatus }) => this.o.store.releaseSubscriptionLease(id, holder, update);
    const room = syncRoomOf(sub, this.o.config);
    if (opts.expectRoom !== undefined && !sameRoom(room, opts.expectRoom)) {
      await release();
      return refuse(409, `the room of subscription ${id} was changed while this request waited; nothing was removed or changed — read it again and retry`);
    }
    if (!room) {
      const result = await commit(holder);
      if (result === undefined) return refuse(409, `the lease of subscription ${id} was lost; nothing was changed`);
      return { result, removed: 0, kept: 0, room };
    }
    const target = this.o.config.syncTargets?.[room.target];
    const where = `${room.calendar ?? '(no calendar)'} (sync target "${room.target}")`;
    if (!target || !room.calendar) {
      await release();
      return refuse(409, `the events of subscription ${id} in ${where} cannot be removed: ${!target ? 'that sync target is not configured on this bridge' : 'it names no calendar'}; nothing was removed and the subscription was not ${opts.what}`);
    }
    const state = new RowState(sub.sync_state);
    keepState(state);
    const calendar = room.calendar;
    const status = await underRenewedLease({ ...this.o, now: this.now }, id, holder, target.timeoutMs, 'removal', (signal) =>
      removeSubscriptionEvents({ subscriptionId: id, target, calendar, state, now: this.now, signal }),
    );
    this.o.metrics?.inc('calendar_relay_bridge_syncs_total', { result: status.ok ? 'removal_ok' : 'removal_failed' });
    const logFields = { subscription: id, target: room.target, calendar: room.calendar, removed: status.deleted, kept: status.kept, failed: status.failed };
    if (!status.ok) {
      this.o.log.warn({ ...logFields, error: status.error }, 'removing a subscription\'s events failed');
      const kept = await release({ syncState: JSON.stringify(state.data), syncStatus: status });
      return refuse(502, `removing the events of subscription ${id} from ${where} failed after ${status.deleted} of them were removed: ${status.error}; the subscription was not ${opts.what}${kept ? ' (it keeps its record of the events it still owns; the next poll syncs the feed into the room again)' : ''} — retry, or repeat without remove_events to leave the events`, status.deleted, { failed_events: status.failed });
    }
    this.o.log.info(logFields, 'subscription\'s events removed');
    const result = await commit(holder);
    if (result === undefined) return refuse(409, `${status.deleted} event(s) of subscription ${id} were removed from ${where}, but its lease was lost before it could be ${opts.what}; it was not ${opts.what}`, status.deleted);
    return { result, removed: status.deleted, kept: status.kept, room };
  }

  /** Takes the lease, waiting up to leaseWaitMs (real time) for a poll that holds it. */
  private async lease(id: number, holder: string, what: string): Promise<SubscriptionRecord> {
    const deadline = Date.now() + (this.o.config.leaseWaitMs ?? 0);
    for (;;) {
      const r = await this.o.store.leaseSubscription(id, this.now(), this.o.config.leaseMs, holder);
      if (!r) throw new SubscriptionRemovalError(404, { error: `no subscription with id ${id}`, removed_events: 0 });
      if (r.leased) return r.record;
      if (Date.now() >= deadline) {
        throw new SubscriptionRemovalError(409, {
          error: `subscription ${id} is leased by ${r.lockedBy ?? 'another instance'} until ${new Date(r.lockedUntil).toISOString()} (a poll or another removal is running); nothing was removed and it was not ${what} — try again`,
          removed_events: 0, locked_by: r.lockedBy, locked_until: Math.ceil(r.lockedUntil / 1000),
        });
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(250, Math.max(1, deadline - Date.now()))));
    }
  }
}
