/**
 * Sync targets: a subscription that names one (`sync_target`) is mirrored straight into a room
 * calendar with core's engine (providers/sync.ts syncCalendars) instead of having its diffs
 * forwarded through the outbox.
 *
 * The targets — provider, endpoint, credentials — are configured on the bridge side only
 * (`subscriptions.syncTargets` in the config file, secrets as `env:NAME`); the API stores and shows
 * just the target's name and the calendar, never a credential. The provider is built by the same
 * factory the CLI uses (providers/target.ts). Every subscription syncs under its own sync id
 * (`<syncIdPrefix>-sub-<id>`), so it only ever updates or deletes the events it wrote itself, even
 * when several subscriptions share a room. The providers' state between runs (Graph's created-event
 * records, incremental sync tokens, the "source shrank" guard's counts) is kept in the
 * subscription's row, so any instance on a shared PostgreSQL can run the next sync.
 */
import type { CalendarEvent } from '../../core/event';
import { DeleteLimitError, SourceEmptyError, SourceShrankError } from '../../core/guards';
import type { UnreadableItem } from '../../core/sync-types';
import { DEFAULT_WINDOW } from '../../core/sync-window';
import { isKnownTimeZone } from '../../core/time';
import { CalDavCalendarProvider } from '../../providers/caldav';
import type { KeyValueStore } from '../../providers/state';
import { syncCalendars } from '../../providers/sync';
import { createTargetProvider, type CalDavAuthConfig, type GoogleAuthConfig, type MicrosoftAuthConfig, type TargetConfig } from '../../providers/target';
import type { SyncStatus } from './store/types';

export interface SyncTargetConfig {
  name: string;
  target: TargetConfig;
  /** Calendar (room) used when a subscription names none (`sync_calendar`). */
  calendar?: string;
  /** Sync ids are `<syncIdPrefix>-sub-<subscription id>`; give two bridges writing into the same rooms different prefixes. */
  syncIdPrefix: string;
  window: { pastDays: number; futureDays: number };
  /** A sync that runs longer is stopped (writes not yet sent are not sent). */
  timeoutMs: number;
}

export class SyncTargetConfigError extends Error {}

type Obj = Record<string, unknown>;
/** Resolves a value that may be a secret reference (`env:NAME`); `where` names it in errors. */
export type SecretResolver = (value: unknown, where: string) => unknown;

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Validates one configured target (`subscriptions.syncTargets.<name>`). The keys are relay.yaml's
 * `target:` keys (docs/config.md) plus `calendar`, `syncIdPrefix`, `window` and `timeoutMs`.
 */
export function syncTargetOf(name: string, raw: unknown, secret: SecretResolver): SyncTargetConfig {
  const at = `subscriptions.syncTargets.${name}`;
  const fail = (path: string, msg: string): never => {
    throw new SyncTargetConfigError(`${at}${path ? '.' + path : ''}: ${msg}`);
  };
  if (!ID.test(name)) fail('', 'a target name may only use letters, digits, . _ - (up to 64)');
  const o = obj(raw, at, ['provider', 'rootUrl', 'directoryRootUrl', 'baseUrl', 'defaultTimeZone', 'timeZoneStyle', 'listMode', 'auth', 'calendar', 'syncIdPrefix', 'window', 'timeoutMs']);
  const str = (v: unknown, path: string, required = false): string | undefined => {
    const r = secret(v, `${at}.${path}`);
    if (r === undefined || r === null) return required ? fail(path, 'is required') : undefined;
    if (typeof r !== 'string' || r.trim() === '') return fail(path, 'must be a non-empty string');
    return r;
  };
  const url = (v: unknown, path: string, required = false): string | undefined => {
    const s = str(v, path, required);
    if (s === undefined) return undefined;
    let u: URL | undefined;
    try {
      u = new URL(s);
    } catch {
      u = undefined;
    }
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) fail(path, `must be an http(s) URL (got ${JSON.stringify(s)})`);
    return s;
  };
  const oneOf = <T extends string>(v: unknown, path: string, values: readonly T[]): T | undefined => {
    if (v === undefined) return undefined;
    if (!(values as readonly unknown[]).includes(v)) fail(path, `must be one of ${values.join(', ')} (got ${JSON.stringify(v)})`);
    return v as T;
  };
  const provider = oneOf(o.provider, 'provider', ['google', 'microsoft', 'caldav'] as const) ?? fail('provider', 'is required (google, microsoft or caldav)');
  const defaultTimeZone = str(o.defaultTimeZone, 'defaultTimeZone');
  if (defaultTimeZone !== undefined && !isKnownTimeZone(defaultTimeZone)) fail('defaultTimeZone', `unknown IANA time zone "${defaultTimeZone}"`);
  const listMode = oneOf(o.listMode, 'listMode', ['full', 'incremental'] as const);
  const only = (keys: string[], why: string) => {
    for (const k of keys) if (o[k] !== undefined) fail(k, why);
  };
  let target: TargetConfig;
  if (provider === 'google') {
    only(['baseUrl', 'timeZoneStyle'], 'is not a Google setting (Google uses rootUrl)');
    const a = obj(o.auth, `${at}.auth`, ['serviceAccountKeyFile', 'subject', 'refreshToken', 'clientId', 'clientSecret', 'accessToken', 'tokenUrl']);
    const kinds = ['serviceAccountKeyFile', 'refreshToken', 'accessToken'].filter((k) => a[k] !== undefined);
    if (kinds.length !== 1) fail('auth', 'needs exactly one of: serviceAccountKeyFile (+ subject), refreshToken + clientId + clientSecret, or accessToken');
    const tokenUrl = url(a.tokenUrl, 'auth.tokenUrl');
    const extra = tokenUrl ? { tokenUrl } : {};
    let auth: GoogleAuthConfig;
    if (kinds[0] === 'serviceAccountKeyFile') {
      const subject = str(a.subject, 'auth.subject');
      auth = { kind: 'serviceAccount', serviceAccountKeyFile: str(a.serviceAccountKeyFile, 'auth.serviceAccountKeyFile', true)!, ...(subject ? { subject } : {}), ...extra };
    } else if (kinds[0] === 'refreshToken') {
      auth = { kind: 'refreshToken', refreshToken: str(a.refreshToken, 'auth.refreshToken', true)!, clientId: str(a.clientId, 'auth.clientId', true)!, clientSecret: str(a.clientSecret, 'auth.clientSecret', true)!, ...extra };
    } else auth = { kind: 'accessToken', accessToken: str(a.accessToken, 'auth.accessToken', true)! };
    const rootUrl = url(o.rootUrl, 'rootUrl');
    const directoryRootUrl = url(o.directoryRootUrl, 'directoryRootUrl');
    target = { provider, auth, ...(rootUrl ? { rootUrl } : {}), ...(directoryRootUrl ? { directoryRootUrl } : {}), ...(defaultTimeZone ? { defaultTimeZone } : {}), ...(listMode && listMode !== 'full' ? { listMode } : {}) };
  } else if (provider === 'microsoft') {
    only(['rootUrl', 'directoryRootUrl', 'listMode'], 'is not a Microsoft setting (Microsoft uses baseUrl)');
    const a = obj(o.auth, `${at}.auth`, ['tenantId', 'clientId', 'clientSecret', 'refreshToken', 'accessToken', 'authority']);
    const authority = url(a.authority, 'auth.authority');
    const extra = authority ? { authority } : {};
    let auth: MicrosoftAuthConfig;
    if (a.accessToken !== undefined) auth = { kind: 'accessToken', accessToken: str(a.accessToken, 'auth.accessToken', true)! };
    else if (a.refreshToken !== undefined) {
      const clientSecret = str(a.clientSecret, 'auth.clientSecret');
      auth = { kind: 'refreshToken', tenantId: str(a.tenantId, 'auth.tenantId', true)!, clientId: str(a.clientId, 'auth.clientId', true)!, refreshToken: str(a.refreshToken, 'auth.refreshToken', true)!, ...(clientSecret ? { clientSecret } : {}), ...extra };
    } else auth = { kind: 'clientCredentials', tenantId: str(a.tenantId, 'auth.tenantId', true)!, clientId: str(a.clientId, 'auth.clientId', true)!, clientSecret: str(a.clientSecret, 'auth.clientSecret', true)!, ...extra };
    const baseUrl = url(o.baseUrl, 'baseUrl');
    const timeZoneStyle = oneOf(o.timeZoneStyle, 'timeZoneStyle', ['iana', 'windows'] as const);
    target = { provider, auth, ...(baseUrl ? { baseUrl } : {}), ...(timeZoneStyle ? { timeZoneStyle } : {}), ...(defaultTimeZone ? { defaultTimeZone } : {}) };
  } else {
    only(['rootUrl', 'directoryRootUrl', 'timeZoneStyle', 'defaultTimeZone'], 'is not a CalDAV setting (CalDAV uses baseUrl, listMode, auth)');
    const a = obj(o.auth, `${at}.auth`, ['username', 'password', 'bearerToken', 'none']);
    let auth: CalDavAuthConfig;
    if (a.bearerToken !== undefined) auth = { kind: 'bearer', token: str(a.bearerToken, 'auth.bearerToken', true)! };
    else if (a.none === true) auth = { kind: 'none' };
    else auth = { kind: 'basic', username: str(a.username, 'auth.username', true)!, password: str(a.password, 'auth.password', true)! };
    target = { provider, baseUrl: url(o.baseUrl, 'baseUrl', true)!, auth, ...(listMode && listMode !== 'full' ? { listMode } : {}) };
  }
  const calendar = str(o.calendar, 'calendar');
  const syncIdPrefix = str(o.syncIdPrefix, 'syncIdPrefix') ?? 'bridge';
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/.test(syncIdPrefix)) fail('syncIdPrefix', 'must be 1–40 letters, digits, . _ -');
  const window: { pastDays: number; futureDays: number } = { ...DEFAULT_WINDOW };
  if (o.window !== undefined) {
    const w = obj(o.window, `${at}.window`, ['pastDays', 'futureDays']);
    for (const k of ['pastDays', 'futureDays'] as const) {
      if (w[k] === undefined) continue;
      if (typeof w[k] !== 'number' || !Number.isInteger(w[k]) || (w[k] as number) < 0 || (w[k] as number) > 3650) fail(`window.${k}`, 'must be a whole number of days from 0 to 3650');
      window[k] = w[k] as number;
    }
  }
  const timeoutMs = o.timeoutMs === undefined ? 600_000 : o.timeoutMs;
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1000 || timeoutMs > 24 * 3600_000) fail('timeoutMs', 'must be a whole number of milliseconds from 1000 to 86400000');
  return { name, target, ...(calendar ? { calendar } : {}), syncIdPrefix, window, timeoutMs: timeoutMs as number };
}

function obj(v: unknown, where: string, allowed: string[]): Obj {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new SyncTargetConfigError(`${where} must be a mapping (key: value)`);
  const o = v as Obj;
  const unknownKey = Object.keys(o).find((k) => !allowed.includes(k));
  if (unknownKey !== undefined) throw new SyncTargetConfigError(`${where}.${unknownKey}: unknown key; expected one of ${allowed.join(', ')}`);
  return o;
}

export const subscriptionSyncId = (t: SyncTargetConfig, subscriptionId: number) => `${t.syncIdPrefix}-sub-${subscriptionId}`;

export interface SubscriptionSyncInput {
  subscriptionId: number;
  target: SyncTargetConfig;
  calendar: string;
  events: CalendarEvent[];
  /** Items the parser could not read but whose UID it knows: their events on the target are kept. */
  unreadable: UnreadableItem[];
  /** The snapshot hash of `events` (kept in the status when the sync succeeds). */
  hash: string;
  /** The providers' state between runs; the caller persists it after the run. */
  state: KeyValueStore;
  now: () => number;
  /** Aborted when the lease is lost or the time is up: writes not yet sent are not sent. */
  signal?: AbortSignal;
  /** The guards' overrides, for this run only (the subscription's `sync_override`). */
  overrides?: { allowEmptySource?: boolean; allowShrink?: boolean; force?: boolean };
}

/**
 * Runs one sync of a subscription's events into its target calendar. Never throws: a guard that
 * refuses the run, a calendar that cannot be listed, failed writes, a target that cannot be set up
 * all end up in the returned status (`ok: false`, `error`), and nothing was deleted by a refused run.
 */
export async function syncSubscription(i: SubscriptionSyncInput): Promise<SyncStatus> {
  const status: SyncStatus = { target: i.target.name, calendar: i.calendar, at: i.now(), ok: false, hash: null, created: 0, updated: 0, deleted: 0, kept: 0, failed: 0, guard: null, error: null };
  try {
    const provider = await createTargetProvider(i.target.target, i.state, i.now);
    // CalDAV calendars may be named by display name: resolved to their URLs here, as the CLI does.
    const routing = provider instanceof CalDavCalendarProvider ? await provider.resolveRouting({ target: i.calendar }) : { target: i.calendar };
    const result = await syncCalendars({
      provider, desired: i.events, routing, now: i.now(), stateStore: i.state,
      policy: { syncId: subscriptionSyncId(i.target, i.subscriptionId), window: i.target.window, unreadable: i.unreadable, ...i.overrides },
      applyOptions: i.signal ? { signal: i.signal } : {},
    });
    const t = result.report?.totals;
    if (t) Object.assign(status, { created: t.created, updated: t.updated, deleted: t.deleted, kept: t.unchanged + t.skipped, failed: t.failed + t.notAttempted });
    const problems = [
      ...result.failedCalendars.map((f) => `${f.calendarId}: ${f.message}`),
      ...(result.report?.stopped ? [`stopped — ${result.report.stopped}`] : []),
      ...Object.values(result.report?.calendars ?? {}).flatMap((c) => [...(c.stopped ? [`${c.calendarId}: stopped — ${c.stopped}`] : []), ...c.errors.map((e) => `${c.calendarId}: ${e.op} ${e.key}: ${e.message}`)]),
    ];
    status.ok = result.ok;
    if (result.ok) status.hash = i.hash;
    else status.error = `sync into ${i.calendar} incomplete: ${problems[0] ?? `${status.failed} write(s) failed`}`;
  } catch (err) {
    if (err instanceof SourceEmptyError || err instanceof SourceShrankError || err instanceof DeleteLimitError) {
      status.guard = err.name;
      status.error = `${err.name}: ${err.message} — nothing was written`;
    } else status.error = `sync into ${i.calendar} failed: ${(err as Error)?.message ?? String(err)}`;
  }
  if (status.error) status.error = status.error.slice(0, 500);
  return status;
}

/**
 * The guard overrides of a removal the user asked for explicitly — `remove_events=true` on
 * `DELETE /api/subscriptions/{id}` or on a PUT that moves the subscription to another room. That
 * request is the override of the empty-source guard (SourceEmptyError: the desired side is empty on
 * purpose), the mass-deletion guard (DeleteLimitError) and the shrink guard, for that one run only;
 * the polls never use it. Ownership is not overridden: only events stamped with the subscription's
 * sync id and proven its own are deleted — a person's bookings, a person's copies of synced events
 * and other subscriptions' events stay.
 */
export const USER_REQUESTED_REMOVAL_OVERRIDES = Object.freeze({ allowEmptySource: true, allowShrink: true, force: true });

export type SubscriptionRemovalInput = Omit<SubscriptionSyncInput, 'events' | 'unreadable' | 'hash' | 'overrides'>;

/**
 * Removes the events a subscription wrote into `calendar` (inside the target's window: history
 * older than `window.pastDays` is left, as every sync leaves it): one run of the same engine with an
 * empty desired set under USER_REQUESTED_REMOVAL_OVERRIDES. Never throws; the status counts what
 * was deleted (also when it failed part-way) and what was kept, and `state` holds the providers'
 * state afterwards (which events are still ours), for the caller to keep when the row stays.
 */
export async function removeSubscriptionEvents(i: SubscriptionRemovalInput): Promise<SyncStatus> {
  const status = await syncSubscription({ ...i, events: [], unreadable: [], hash: '', overrides: USER_REQUESTED_REMOVAL_OVERRIDES });
  status.hash = null; // no feed content was synced
  if (status.error) status.error = `removing the events failed after ${status.deleted} were removed: ${status.error}`.slice(0, 500);
  return status;
}
