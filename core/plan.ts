/**
 * planSync: compare the desired events with what the target calendars hold and decide, before any
 * write, what to create, update, delete, leave unchanged or skip — each op with a one-line reason
 * (vdirsyncer's sync module computes its whole action list first the same way). Pure: no I/O, no
 * clock. The result is plain JSON: a dry run is the plan itself; providers/apply.ts executes it.
 *
 * Rules (docs/sync.md has the full table):
 * - identity: source key (core/sync-key.ts) = source + UID (+ RECURRENCE-ID), or a content hash;
 * - change: fingerprint (core/fingerprint.ts) of the desired event vs stamp.fingerprint on the target;
 * - ownership: only target events whose stamp.syncId is ours are updated or deleted;
 * - window: an op is outside the window only when every side present is outside it;
 * - series: written as a series when the target can store it (overrides are their own ops, after
 *   their master; cancelled occurrences and occurrences routed to another calendar become EXDATEs),
 *   otherwise expanded into single events inside the window;
 * - guards (core/guards.ts) run on the finished plan.
 */
import type { CalendarEvent, EventTime } from './event';
import { isRecurringMaster } from './event';
import { fingerprint, canonTime } from './fingerprint';
import { checkGuards } from './guards';
import type { RoutingResult } from './routing';
import { contentIdentity, contentKey, occurrenceKey, occurrenceToken, otherFormKey, overrideKey, parseKey, sourceKeyPart, sourcePartOfKey, uidKey, type ParsedKey } from './sync-key';
import type { CalendarPlanStats, PlanAction, PlannedOp, PlanTargetEvent as TargetEvent, SeriesExpander, SyncPlan, SyncPolicy, UnmappedEvent } from './sync-types';
import { eventSpan, overlapsWindow, resolveWindow, spanOverlaps } from './sync-window';
import { expandOccurrences } from './recurrence';
import { eventTimeToUtc } from './time';

export type { SyncPlan, SyncPolicy, PlannedOp, PlanAction } from './sync-types';

/** A desired event with the calendar it goes to (routing output). */
export interface DesiredEvent {
  calendarId: string;
  event: CalendarEvent;
}

export type DesiredInput = CalendarEvent[] | DesiredEvent[] | RoutingResult;

export class PlanInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanInputError';
  }
}

const ACTION_ORDER: Record<PlanAction, number> = { delete: 0, create: 1, update: 2, unchanged: 3, skip: 4 };

export interface DesiredEntry {
  key: string;
  event: CalendarEvent;
  fingerprint: string;
  inWindow: boolean;
  phase: 'main' | 'series-override';
  masterKey?: string;
  /** An occurrence the source no longer overrides, kept on the target as its series has it (see restoredOccurrence). */
  restored?: boolean;
}

export interface CalendarWork {
  desired: Map<string, DesiredEntry>;
  /** Keys whose target events must be kept as they are (with why), though nothing is desired for them. */
  protectedKeys: Map<string, string>;
  /** Key prefixes protected the same way (a series that could not be expanded: all its occurrences). */
  protectedPrefixes: Array<{ prefix: string; reason: string }>;
  /** Keys that are absent because the source cancelled them (for the reason line). */
  cancelled: Set<string>;
  /** Master keys of the series desired here as expanded single events (`<master> o:<start>` keys). */
  expandedMasters: Set<string>;
}

/**
 * The default SeriesExpander (core/recurrence): each occurrence as a full event with
 * `recurrenceId` = its original start; overrides applied, cancelled occurrences left out.
 */
export function recurrenceExpander(floatingZone = 'UTC'): SeriesExpander {
  return (master, overrides, window) => {
    const r = expandOccurrences([master, ...overrides], window.from, window.to, { floatingZone });
    return {
      events: r.occurrences.map((o) => {
        const e: CalendarEvent = { ...o.event, start: o.start, end: o.end };
        if (o.recurrenceId) e.recurrenceId = o.recurrenceId;
        else delete e.recurrenceId;
        return e;
      }),
      errors: r.errors.map((i) => i.message),
    };
  };
}

function isDesiredEvent(x: unknown): x is DesiredEvent {
  return !!x && typeof x === 'object' && 'event' in x && 'calendarId' in x && !('uid' in x);
}

/**
 * The keys an unmapped source event would have on the target (its own, its overrides', its
 * expanded occurrences'), so a copy written while it still mapped to a room can be recognised.
 * Identity 'content': every numbered variant (`.n`) of its content hash.
 */
export interface UnmappedKeys {
  exact: Set<string>;
  prefixes: string[];
  cancelled: Set<string>;
}

function unmappedKeysOf(events: CalendarEvent[], identity: 'uid' | 'content'): UnmappedKeys {
  const out: UnmappedKeys = { exact: new Set(), prefixes: [], cancelled: new Set() };
  for (const e of events) {
    if (!e || typeof e.uid !== 'string' || e.uid === '') continue;
    let base: string;
    try {
      base = identity === 'uid' ? uidKey(e) : contentKey({ ...e, recurrenceId: undefined });
    } catch {
      continue; // an unreadable time: no content key to recognise
    }
    // An override alone: the keys of both forms it may have been written in (instance, single event).
    const own = e.recurrenceId && identity === 'uid' ? [overrideKey(base, e.recurrenceId), occurrenceKey(base, e.recurrenceId)] : [base];
    if (e.status === 'CANCELLED') {
      for (const k of own) out.cancelled.add(k);
      continue;
    }
    for (const k of own) out.exact.add(k);
    if (own[0] !== base) continue;
    out.prefixes.push(`${base} r:`, `${base} o:`);
    if (identity === 'content') out.prefixes.push(`${base}.`);
  }
  return out;
}

function normaliseDesired(input: DesiredInput, policy: SyncPolicy): { routed: DesiredEvent[]; unmapped: UnmappedEvent[]; unmappedKeys: UnmappedKeys; unmappedEvents: CalendarEvent[] } {
  const identity = policy.identity ?? 'uid';
  if (!Array.isArray(input)) {
    return {
      routed: input.routed,
      unmapped: input.unmapped.map((u) => ({ uid: u.event.uid, title: u.event.title, start: u.event.start, sourceId: u.event.sourceId, reason: u.reason })),
      unmappedKeys: unmappedKeysOf(input.unmapped.map((u) => u.event), identity),
      unmappedEvents: input.unmapped.map((u) => u.event),
    };
  }
  const routed: DesiredEvent[] = [];
  for (const [i, x] of (input as Array<CalendarEvent | DesiredEvent>).entries()) {
    if (isDesiredEvent(x)) routed.push(x);
    else if (policy.calendarId) routed.push({ calendarId: policy.calendarId, event: x });
    else throw new PlanInputError(`desired event ${i} (uid "${(x as CalendarEvent).uid}") has no target calendar: route the events or set policy.calendarId`);
  }
  return { routed, unmapped: [], unmappedKeys: unmappedKeysOf([], identity), unmappedEvents: [] };
}

function withExdates(master: CalendarEvent, extra: EventTime[]): CalendarEvent {
  if (!extra.length) return master;
  const r = master.recurrence ?? { rrule: [], rdate: [], exdate: [] };
  const have = new Set(r.exdate.map(canonTime));
  const exdate = [...r.exdate];
  for (const t of extra) {
    if (!have.has(canonTime(t))) {
      have.add(canonTime(t));
      exdate.push(t);
    }
  }
  return { ...master, recurrence: { ...r, exdate } };
}

interface Group { masters: DesiredEvent[]; overrides: DesiredEvent[] }

/** JSON with sorted keys: the same content always gives the same text. */
function canonicalJson(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonicalJson).join(',')}]`;
  if (x && typeof x === 'object') {
    return `{${Object.keys(x).filter((k) => (x as Record<string, unknown>)[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((x as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(x) ?? 'null';
}

/**
 * For identity 'content': the number (1-based) of each event that gets a content key among the
 * events of its calendar and source with the same content identity — every master, and every
 * override without a recurring master in its calendar (written as a single event). Ordered by
 * fingerprint, then by the rest of the content without the UID (which such sources regenerate).
 */
function rankIdenticalEvents(groups: Iterable<Group>): Map<DesiredEvent, number> {
  const buckets = new Map<string, Array<{ d: DesiredEvent; order: string }>>();
  const add = (d: DesiredEvent, identityForm: CalendarEvent) => {
    const e = d.event;
    if (!e || typeof e.uid !== 'string' || e.uid === '') return;
    let bucket: string;
    let order: string;
    try {
      bucket = `${d.calendarId}\u0000${sourceKeyPart(e.sourceId)}\u0000${contentIdentity(identityForm)}`;
      const { uid: _uid, ...rest } = e;
      order = `${fingerprint(e)}\u0000${canonicalJson(rest)}`;
    } catch {
      return; // unreadable content: the planner reports it where the event is planned
    }
    const list = buckets.get(bucket) ?? [];
    list.push({ d, order });
    buckets.set(bucket, list);
  };
  for (const g of groups) {
    const first = new Map<string, CalendarEvent>();
    for (const m of g.masters) {
      if (!first.has(m.calendarId)) first.set(m.calendarId, m.event);
      add(m, m.event);
    }
    for (const o of g.overrides) {
      const master = first.get(o.calendarId);
      if (master && isRecurringMaster(master)) continue;
      add(o, { ...o.event, recurrenceId: undefined });
    }
  }
  const rank = new Map<DesiredEvent, number>();
  for (const list of buckets.values()) {
    list.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
    list.forEach((x, i) => rank.set(x.d, i + 1));
  }
  return rank;
}

/**
 * Whether an event has something to show inside the window. A series counts only when one of its
 * occurrences overlaps it: its span alone is not enough (COUNT counts as unbounded there, and a
 * series whose every occurrence is cancelled or routed elsewhere has none). Targets that list
 * series by their instances (Google timeMin/timeMax) apply the same test, so desired and actual
 * agree. A rule the expander cannot read falls back to the span. Throws on unreadable times.
 */
export function showsInWindow(e: CalendarEvent, window: { from: number; to: number }, floatingZone: string): boolean {
  if (!overlapsWindow(e, window, floatingZone)) return false;
  if (!isRecurringMaster(e)) return true;
  const { recurrenceId: _rid, ...master } = e;
  const r = expandOccurrences([master], window.from, window.to, { floatingZone, maxOccurrencesPerSeries: 1 });
  return r.occurrences.length > 0 || r.errors.length > 0;
}

/**
 * An owned instance override (`<master> r:<rid>`) that the source no longer overrides, while its
 * series is still desired here as a series: the occurrence follows its series again. Targets
 * without a "remove this exception" call (Google) keep it as an exception, so it stays desired —
 * stamped, with the series' content at that occurrence — and a later change of the series
 * reaches it as an update. Undefined when the series has no such occurrence any more (then the
 * override is deleted) or the target event is not an instance.
 */
function restoredOccurrence(k: ParsedKey, target: TargetEvent, w: CalendarWork, floatingZone: string): DesiredEntry | undefined {
  const rid = target.event.recurrenceId;
  if (k.kind !== 'override' || !rid) return undefined;
  const { key, masterKey } = k;
  const m = w.desired.get(masterKey);
  if (!m || m.phase !== 'main' || !isRecurringMaster(m.event)) return undefined;
  let occurrence: { recurrenceId: EventTime | null; start: EventTime; end: EventTime } | undefined;
  try {
    const at = eventTimeToUtc(rid, floatingZone);
    const { recurrenceId: _rid, ...master } = m.event;
    occurrence = expandOccurrences([master], at, at + 1, { floatingZone }).occurrences
      .find((o) => eventTimeToUtc(o.recurrenceId ?? o.start, floatingZone) === at);
  } catch {
    return undefined;
  }
  if (!occurrence) return undefined;
  const event: CalendarEvent = { ...m.event, recurrenceId: occurrence.recurrenceId ?? occurrence.start, start: occurrence.start, end: occurrence.end };
  delete event.recurrence;
  return { key, event, fingerprint: fingerprint(event), inWindow: m.inWindow, phase: 'series-override', masterKey, restored: true };
}

/**
 * Plans one sync. `desired` is either routed ({calendarId, event} pairs or a RoutingResult) or
 * plain events for policy.calendarId; `actual` holds the target events of all those calendars
 * (owned ones from listOwned; foreign ones may be included and are only ever skipped).
 * Throws SourceEmptyError / DeleteLimitError (with the plan attached) unless overridden.
 */
export function planSync(desired: DesiredInput, actual: TargetEvent[], policy: SyncPolicy, now: number): SyncPlan {
  const plan = buildPlan(desired, actual, policy, now);
  checkGuards(plan, policy);
  return plan;
}

/** planSync without the guards (for showing what a refused sync would have done). */
export function buildPlan(desired: DesiredInput, actual: TargetEvent[], policy: SyncPolicy, now: number): SyncPlan {
  const prepared = prepareDesired(desired, policy, now);
  return assemblePlan(prepared, [planCalendars(prepared, actual)]);
}

/**
 * The desired side of a plan, worked out once for every calendar (what each calendar should hold,
 * per source what it delivered): the input of planCalendars. Plain data, never changed after
 * prepareDesired returns, so one calendar after the other can be planned from it — the same plan
 * as buildPlan would make for all of them at once (providers/sync.ts plans one calendar at a time).
 */
export interface PreparedDesired {
  policy: SyncPolicy;
  now: number;
  window: { from: number; to: number };
  /** Desired-side work per calendar. */
  calendars: Map<string, CalendarWork>;
  /** Skips the desired side decided (no UID, duplicates in source, invalid times, …), per calendar. */
  ops: PlannedOp[];
  /** Desired-side warnings, with the calendar they concern. */
  warnings: Array<{ calendarId: string; text: string }>;
  /** Per calendar: its desired events (owned counts start at 0). */
  stats: Record<string, CalendarPlanStats>;
  /** Per source: what it delivered, failures, unreadable items (owned counts start at 0). */
  sources: SyncPlan['sources'];
  unmapped: UnmappedEvent[];
  unmappedKeys: UnmappedKeys;
  /** Where each key is desired, to explain a delete caused by re-routing. */
  desiredIn: Map<string, string>;
  failedSources: Set<string>;
  unreadable: { bases: Set<string>; wholeSources: Set<string> };
}

/** The owned side of some calendars, planned against a PreparedDesired (assemblePlan joins parts into a SyncPlan). */
export interface CalendarsPlanPart {
  /** The calendars this part planned. */
  calendarIds: string[];
  ops: PlannedOp[];
  stats: Record<string, CalendarPlanStats>;
  /** Per source: owned events inside the window, and (failed sources) events kept. */
  sources: Record<string, { owned: number; kept: number }>;
  warnings: string[];
}

/** The desired side of planSync: see PreparedDesired. Pure; throws PlanInputError on bad input. */
export function prepareDesired(desired: DesiredInput, policy: SyncPolicy, now: number): PreparedDesired {
  if (!policy.syncId) throw new PlanInputError('policy.syncId is required');
  const window = resolveWindow(policy.window, now);
  const fz = policy.floatingTimeZone ?? 'UTC';
  // One zone per target calendar for floating times and all-day dates (the writer's zone), else the run's default.
  const zoneFor = policy.floatingTimeZoneFor ?? {};
  const fzOf = (calendarId: string | undefined): string => (calendarId !== undefined && zoneFor[calendarId]) || fz;
  const identity = policy.identity ?? 'uid';
  const failures = new Map((policy.failedSources ?? []).map((f) => (typeof f === 'string' ? [sourceKeyPart(f), ''] : [sourceKeyPart(f.id), f.failure ?? ''])));
  const failedSources = new Set(failures.keys());
  const { routed, unmapped, unmappedKeys, unmappedEvents: normalisedUnmappedEvents } = normaliseDesired(desired, policy);
  const warnings: PreparedDesired['warnings'] = [];
  const ops: PlannedOp[] = [];
  const sources: SyncPlan['sources'] = {};
  const calendars = new Map<string, CalendarWork>();
  const stats: Record<string, CalendarPlanStats> = {};

  const work = (calendarId: string): CalendarWork => {
    let w = calendars.get(calendarId);
    if (!w) {
      w = newWork();
      calendars.set(calendarId, w);
      stats[calendarId] ??= { desired: 0, owned: 0, ownedInWindow: 0 };
    }
    return w;
  };
  const sourceStats = (part: string) => (sources[part] ??= { desired: 0, owned: 0 });
  for (const [part, failure] of failures) Object.assign(sourceStats(part), { failure, kept: 0 });

  // Every event a source delivered counts against "this source is empty", routed or not; the
  // guard looks at those inside the window (a broken feed may still carry one far-future event).
  const delivered = (e: CalendarEvent, calendarId?: string) => {
    const st = sourceStats(sourceKeyPart(e?.sourceId));
    st.desired++;
    let inside = false;
    try {
      inside = overlapsWindow(e, window, fzOf(calendarId));
    } catch {
      /* an unreadable time is no evidence that the source is alive */
    }
    st.desiredInWindow = (st.desiredInWindow ?? 0) + (inside ? 1 : 0);
  };
  for (const d of routed) delivered(d.event, d.calendarId);
  for (const u of normalisedUnmappedEvents) delivered(u);

  const skip = (calendarId: string, key: string, reason: string, extra: Partial<PlannedOp> = {}) =>
    ops.push({ action: 'skip', calendarId, key, reason, ...extra });

  // --- desired side: group by (source, UID) so series are handled whole --------------------------
  const groups = new Map<string, Group>();
  for (const d of routed) {
    work(d.calendarId);
    stats[d.calendarId].desired++;
    const e = d.event;
    if (!e || typeof e.uid !== 'string' || e.uid === '') {
      skip(d.calendarId, '', `invalid event: no UID (title "${e?.title ?? ''}")`);
      continue;
    }
    const gk = `${sourceKeyPart(e.sourceId)}\u0000${e.uid}`;
    let g = groups.get(gk);
    if (!g) groups.set(gk, (g = { masters: [], overrides: [] }));
    (e.recurrenceId ? g.overrides : g.masters).push(d);
  }

  // Identity 'content' numbers identical events of one source per calendar: .1, .2, … in an order
  // that does not depend on the feed's order (fingerprint, then the rest of the content), so a
  // re-ordered feed maps each event to the same key again.
  const contentRank = identity === 'content' ? rankIdenticalEvents(groups.values()) : new Map<DesiredEvent, number>();
  const masterKeyOf = (d: DesiredEvent, e: CalendarEvent = d.event): string =>
    identity === 'uid' ? uidKey(e) : contentKey(e, contentRank.get(d) ?? 1);

  const addDesired = (calendarId: string, entry: Omit<DesiredEntry, 'fingerprint' | 'inWindow'> & { inWindow?: boolean }) => {
    const w = work(calendarId);
    const src = sourcePartOfKey(entry.key);
    if (w.desired.has(entry.key)) {
      skip(calendarId, entry.key, 'duplicate in source: another event has the same key');
      return;
    }
    let inWindow = entry.inWindow;
    if (inWindow === undefined) {
      try {
        inWindow = overlapsWindow(entry.event, window, fzOf(calendarId));
      } catch (err) {
        skip(calendarId, entry.key, `invalid event time: ${(err as Error).message}`);
        w.protectedKeys.set(entry.key, 'source event has an invalid time');
        return;
      }
    }
    if (src !== undefined && failedSources.has(src)) return;
    w.desired.set(entry.key, { ...entry, inWindow, fingerprint: fingerprint(entry.event) });
  };

  const warn = (calendarId: string, text: string) => warnings.push({ calendarId, text });
  const desireCtx: DesireContext = { policy, window, fz: fzOf, identity, warn, work, skip, add: addDesired, masterKeyOf };
  for (const g of groups.values()) desireGroup(g, desireCtx);

  const desiredIn = new Map<string, string>();
  for (const [calendarId, w] of calendars) for (const k of w.desired.keys()) if (!desiredIn.has(k)) desiredIn.set(k, calendarId);
  for (const u of policy.unreadable ?? []) sourceStats(sourceKeyPart(u.sourceId)).unreadable = (sourceStats(sourceKeyPart(u.sourceId)).unreadable ?? 0) + 1;
  return {
    policy, now, window, calendars, ops, warnings, stats, sources, unmapped, unmappedKeys, desiredIn, failedSources,
    unreadable: unreadableIndex(policy, identity),
  };
}

function newWork(): CalendarWork {
  return { desired: new Map(), protectedKeys: new Map(), protectedPrefixes: [], cancelled: new Set(), expandedMasters: new Set() };
}

/**
 * The owned side: plans every key of the calendars `calendarIds` (default: every calendar desired
 * or holding events in `actual`) against what the prepared desired side wants there. `actual`
 * holds those calendars' target events. Pure; `prepared` is not changed.
 */
export function planCalendars(prepared: PreparedDesired, actual: TargetEvent[], calendarIds?: string[]): CalendarsPlanPart {
  const { policy, window, failedSources, unmappedKeys, desiredIn, unreadable } = prepared;
  const fz = policy.floatingTimeZone ?? 'UTC';
  const zoneFor = policy.floatingTimeZoneFor ?? {};
  const fzOf = (calendarId: string): string => zoneFor[calendarId] || fz;
  const scope = calendarIds ? [...new Set(calendarIds)] : [...new Set([...prepared.calendars.keys(), ...actual.map((t) => t.calendarId)])];
  const inScope = new Set(scope);
  const isUnmapped = (key: string) => unmappedKeys.exact.has(key) || unmappedKeys.prefixes.some((p) => key.startsWith(p));
  const ops: PlannedOp[] = prepared.ops.filter((op) => inScope.has(op.calendarId));
  const warnings: string[] = [];
  const stats: Record<string, CalendarPlanStats> = {};
  for (const c of scope) stats[c] = { ...(prepared.stats[c] ?? { desired: 0, owned: 0, ownedInWindow: 0 }) };
  const sources: CalendarsPlanPart['sources'] = {};
  const sourceCounts = (part: string) => (sources[part] ??= { owned: 0, kept: 0 });
  const skip = (calendarId: string, key: string, reason: string, extra: Partial<PlannedOp> = {}) =>
    ops.push({ action: 'skip', calendarId, key, reason, ...extra });

  // --- actual side ------------------------------------------------------------------------------
  const owned = new Map<string, Map<string, TargetEvent[]>>(); // calendarId → key → events
  for (const t of actual) {
    if (!inScope.has(t.calendarId)) throw new PlanInputError(`target event ${t.id} is in calendar ${t.calendarId}, which this plan does not cover (${scope.join(', ')})`);
    const stamp = t.stamp;
    if (!stamp || stamp.syncId !== policy.syncId) {
      if (policy.reportForeign !== false) {
        skip(t.calendarId, `foreign:${t.id}`, stamp ? `owned by another sync (syncId "${stamp.syncId}"): not ours` : 'foreign event: not ours', { targetId: t.id });
      }
      continue;
    }
    if (t.copy) {
      // A person's copy of a synced event carries our stamp but is not the event we wrote.
      skip(t.calendarId, stamp.sourceKey, `copy of a synced event (${t.copy}): not ours, left alone`, { targetId: t.id, conflict: true });
      continue;
    }
    stats[t.calendarId].owned++;
    let byKey = owned.get(t.calendarId);
    if (!byKey) owned.set(t.calendarId, (byKey = new Map()));
    const list = byKey.get(stamp.sourceKey);
    if (list) list.push(t);
    else byKey.set(stamp.sourceKey, [t]);
  }

  for (const calendarId of scope) {
    const w = prepared.calendars.get(calendarId) ?? newWork();
    const byKey = owned.get(calendarId) ?? new Map<string, TargetEvent[]>();
    const ctx: KeyContext = {
      calendarId, w, byKey, deletedMasters: new Set(), window, fz: fzOf(calendarId), policy, failedSources, unmappedKeys, isUnmapped, desiredIn,
      isUnreadable: (k) => unreadable.bases.has(k.masterKey) || (k.source !== undefined && unreadable.wholeSources.has(k.source)),
    };
    // Masters before overrides so "deleted with its series" can be decided.
    const keys = [...new Set<string>([...w.desired.keys(), ...byKey.keys()])].map(parseKey)
      .sort((a, b) => (a.kind === 'override' ? 1 : 0) - (b.kind === 'override' ? 1 : 0) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const k of keys) {
      const { ops: keyOps, kept } = planKey(k, ctx);
      ops.push(...keyOps);
      if (kept) {
        stats[calendarId].ownedInWindow += kept.inWindow ? 1 : 0;
        if (kept.inWindow && (k.source === undefined || !failedSources.has(k.source))) sourceCounts(k.source ?? '-').owned++;
      }
      for (const op of keyOps) {
        if (op.reason === KEPT_FAILED_SOURCE) sourceCounts(k.source ?? '-').kept += 1;
        if (op.reason === KEPT_UNREADABLE_TIME) warnings.push(`${calendarId}: event ${op.targetId} (key ${k.key}) has an unreadable time; not deleted`);
      }
    }
  }
  return { calendarIds: scope, ops, stats, sources, warnings };
}

/**
 * The SyncPlan of the calendars in `parts` (planned by planCalendars from `prepared`, each calendar
 * in one part at most): with every part of a run, the plan buildPlan makes for the whole run;
 * with none, the desired side alone (per source what it delivered: enough for SourceShrankError
 * and runStateOf before any calendar is listed).
 */
export function assemblePlan(prepared: PreparedDesired, parts: CalendarsPlanPart[]): SyncPlan {
  const { policy, now, window, unmapped } = prepared;
  const ops = parts.flatMap((p) => p.ops);
  ops.sort((x, y) =>
    (x.calendarId < y.calendarId ? -1 : x.calendarId > y.calendarId ? 1 : 0) ||
    ACTION_ORDER[x.action] - ACTION_ORDER[y.action] ||
    (x.key < y.key ? -1 : x.key > y.key ? 1 : 0) ||
    ((x.targetId ?? '') < (y.targetId ?? '') ? -1 : (x.targetId ?? '') > (y.targetId ?? '') ? 1 : 0));
  const counts: Record<PlanAction, number> = { create: 0, update: 0, delete: 0, unchanged: 0, skip: 0 };
  for (const op of ops) counts[op.action]++;
  const planned = new Set(parts.flatMap((p) => p.calendarIds));
  const warnings = [
    ...prepared.warnings.filter((w) => planned.has(w.calendarId)).map((w) => w.text),
    ...parts.flatMap((p) => p.warnings),
    ...unmapped.map((u) => `not routed: "${u.title}" (UID ${u.uid}): ${u.reason}`),
  ];
  const calendars: Record<string, CalendarPlanStats> = {};
  for (const p of parts) Object.assign(calendars, p.stats);
  const sources: SyncPlan['sources'] = {};
  for (const [part, s] of Object.entries(prepared.sources)) sources[part] = { ...s };
  for (const p of parts) {
    for (const [part, c] of Object.entries(p.sources)) {
      const s = (sources[part] ??= { desired: 0, owned: 0 });
      s.owned += c.owned;
      if (s.kept !== undefined) s.kept += c.kept;
    }
  }
  const conflicts = ops.filter((o) => o.conflict).map((o) => ({ calendarId: o.calendarId, targetId: o.targetId ?? '', key: o.key, reason: o.reason }));
  return { syncId: policy.syncId, now, window, ops, counts, unmapped, warnings, calendars, sources, conflicts };
}

// --- desired side: one source event or series (source + UID) ------------------------------------

/** What the desired-side cases need from buildPlan (its bookkeeping, passed in: the cases stay small and pure). */
interface DesireContext {
  policy: SyncPolicy;
  window: { from: number; to: number };
  /** The zone for floating times and all-day dates in this calendar. */
  fz: (calendarId: string) => string;
  identity: 'uid' | 'content';
  warn: (calendarId: string, text: string) => void;
  work: (calendarId: string) => CalendarWork;
  skip: (calendarId: string, key: string, reason: string) => void;
  add: (calendarId: string, entry: Omit<DesiredEntry, 'fingerprint' | 'inWindow'> & { inWindow?: boolean }) => void;
  masterKeyOf: (d: DesiredEvent, e?: CalendarEvent) => string;
}

/** All events of one source with one UID: the master in each calendar it is routed to, then overrides left without one. */
function desireGroup(g: Group, ctx: DesireContext): void {
  const firstMaster = firstMasters(g, ctx);
  for (const [calendarId, m] of firstMaster) desireMaster(calendarId, m, g, ctx);
  desireOrphanOverrides(g, firstMaster, ctx);
}

/** The master each calendar gets (the first); a repeated UID is reported, or (identity 'content') its own single event. */
function firstMasters(g: Group, ctx: DesireContext): Map<string, DesiredEvent> {
  const first = new Map<string, DesiredEvent>();
  for (const m of g.masters) {
    const had = first.get(m.calendarId);
    // the same UID twice in one calendar: the first wins
    if (had && ctx.identity === 'uid') {
      ctx.skip(m.calendarId, uidKey(m.event), 'duplicate in source: same UID twice (kept the first)');
      continue;
    }
    if (!had) {
      first.set(m.calendarId, m);
      continue;
    }
    // a second event with the same UID under content identity: a plain single event of its own
    const key = ctx.masterKeyOf(m);
    if (m.event.status === 'CANCELLED') ctx.work(m.calendarId).cancelled.add(key);
    else ctx.add(m.calendarId, { key, event: m.event, phase: 'main' });
  }
  return first;
}

/** One master in one calendar. */
function desireMaster(calendarId: string, m: DesiredEvent, g: Group, ctx: DesireContext): void {
  const master = m.event;
  const key = ctx.masterKeyOf(m);
  const w = ctx.work(calendarId);
  // a single event; cancelled in source means not desired (its copy is deleted). Its overrides have nothing to attach to: orphans below.
  if (!isRecurringMaster(master)) {
    if (master.status === 'CANCELLED') w.cancelled.add(key);
    else ctx.add(calendarId, { key, event: master, phase: 'main' });
    return;
  }
  // a cancelled series: not desired
  if (master.status === 'CANCELLED') {
    w.cancelled.add(key);
    return;
  }
  const own = g.overrides.filter((o) => o.calendarId === calendarId).map((o) => o.event);
  // Cancelled occurrences, and occurrences moved to another calendar, are EXDATEs here.
  const movedAway = g.overrides.filter((o) => o.calendarId !== calendarId).map((o) => o.event.recurrenceId!);
  const cancelled = own.filter((o) => o.status === 'CANCELLED').map((o) => o.recurrenceId!);
  const live = own.filter((o) => o.status !== 'CANCELLED');
  const series = withExdates(master, [...cancelled, ...movedAway]);
  const support = ctx.policy.seriesSupport ? ctx.policy.seriesSupport(series, live) : true;
  // the target stores it as a series
  if (support === true) desireSeries(calendarId, key, series, live, ctx);
  // the target cannot store it: single events inside the window instead
  else desireExpanded(calendarId, key, master, series, live, support, ctx);
}

/** A series written as a series: the master (with its EXDATEs) and each live override after it. */
function desireSeries(calendarId: string, key: string, series: CalendarEvent, live: CalendarEvent[], ctx: DesireContext): void {
  const w = ctx.work(calendarId);
  let inWindow: boolean;
  try {
    // Inside when an occurrence is: a series whose occurrences are all cancelled, routed
    // elsewhere or outside the window has nothing to show (and Google does not list it).
    const fz = ctx.fz(calendarId);
    inWindow = showsInWindow(series, ctx.window, fz) || live.some((o) => overlapsWindow(o, ctx.window, fz));
  } catch (err) {
    ctx.skip(calendarId, key, `invalid event time: ${(err as Error).message}`);
    w.protectedKeys.set(key, 'source event has an invalid time');
    w.protectedPrefixes.push({ prefix: `${key} r:`, reason: 'its series master has an invalid time' });
    return;
  }
  ctx.add(calendarId, { key, event: series, phase: 'main', inWindow });
  // Overrides follow their master in and out of the window: a series is written whole.
  for (const o of live) ctx.add(calendarId, { key: overrideKey(key, o.recurrenceId!), event: o, phase: 'series-override', masterKey: key, inWindow });
}

/** A series the target cannot store: its occurrences inside the window as single events (`<master> o:<start>`). */
function desireExpanded(calendarId: string, key: string, master: CalendarEvent, series: CalendarEvent, live: CalendarEvent[], support: string, ctx: DesireContext): void {
  const w = ctx.work(calendarId);
  const label = `series "${master.title}" (UID ${master.uid}) in ${calendarId}`;
  const expandSeries = ctx.policy.expandSeries === undefined ? recurrenceExpander(ctx.fz(calendarId)) : ctx.policy.expandSeries;
  // no expander: its events on the target are kept as they are
  if (!expandSeries) {
    ctx.warn(calendarId, `${label} cannot be stored as a series (${support}) and no expander is configured: left as it is on the target`);
    ctx.skip(calendarId, key, `series not supported by target (${support}) and no expander configured`);
    w.protectedPrefixes.push({ prefix: `${key} o:`, reason: 'series could not be expanded' });
    return;
  }
  let expanded: { events: CalendarEvent[]; errors: string[] };
  try {
    expanded = expandSeries(series, live, ctx.window);
  } catch (err) {
    // the expansion failed: kept as they are too
    ctx.warn(calendarId, `${label} could not be expanded: ${(err as Error).message}; its events on the target are left as they are`);
    ctx.skip(calendarId, key, `series could not be expanded: ${(err as Error).message}`);
    w.protectedPrefixes.push({ prefix: `${key} o:`, reason: 'series could not be expanded' });
    return;
  }
  for (const msg of expanded.errors) ctx.warn(calendarId, `${label}: ${msg}`);
  let n = 0;
  for (const occ of expanded.events) {
    if (occ.status === 'CANCELLED') continue;
    const original = occ.recurrenceId ?? occ.start;
    let inside: boolean;
    try {
      inside = spanOverlaps(eventSpan(occ, ctx.fz(calendarId)), ctx.window);
    } catch (err) {
      ctx.warn(calendarId, `${label}: occurrence ${canonTime(original)} has an invalid time: ${(err as Error).message}`);
      continue;
    }
    if (!inside) continue;
    const single: CalendarEvent = { ...occ, uid: `${master.uid}#${occurrenceToken(original)}` };
    delete single.recurrenceId;
    delete single.recurrence;
    ctx.add(calendarId, { key: occurrenceKey(key, original), event: single, phase: 'main', inWindow: true });
    w.expandedMasters.add(key);
    n++;
  }
  ctx.warn(calendarId, `${label} written as ${n} single event(s) inside the window: ${support}`);
}

/**
 * Overrides whose calendar has no recurring master of their own: plain single events, keyed as the
 * occurrence they stand for (not as an instance override: if their series moves into this calendar
 * later, the form changes and the single event must go).
 */
function desireOrphanOverrides(g: Group, firstMaster: Map<string, DesiredEvent>, ctx: DesireContext): void {
  for (const o of g.overrides) {
    const m = firstMaster.get(o.calendarId);
    if (m && isRecurringMaster(m.event)) continue;
    const base = ctx.identity === 'uid' ? uidKey(o.event) : ctx.masterKeyOf(o, { ...o.event, recurrenceId: undefined });
    const key = occurrenceKey(base, o.event.recurrenceId!);
    if (o.event.status === 'CANCELLED') {
      ctx.work(o.calendarId).cancelled.add(key);
      continue;
    }
    const single: CalendarEvent = { ...o.event };
    delete single.recurrenceId;
    ctx.add(o.calendarId, { key, event: single, phase: 'main' });
  }
}

// --- matching: one key of one calendar ----------------------------------------------------------

const KEPT_FAILED_SOURCE = 'source failed this run: kept as it is';
const KEPT_UNREADABLE_TIME = 'target event has an unreadable time: left alone';

/** Items the sources could not read: the master keys they name, and (identity 'content') whole sources. */
function unreadableIndex(policy: SyncPolicy, identity: 'uid' | 'content'): { bases: Set<string>; wholeSources: Set<string> } {
  const bases = new Set<string>();
  const wholeSources = new Set<string>();
  for (const u of policy.unreadable ?? []) {
    if (!u || typeof u.uid !== 'string' || u.uid === '') continue;
    // Content keys hash what could not be read: no key to protect, so nothing of that source goes.
    if (identity === 'content') wholeSources.add(sourceKeyPart(u.sourceId));
    else bases.add(uidKey({ uid: u.uid, sourceId: u.sourceId }));
  }
  return { bases, wholeSources };
}

/** What planning one key of one calendar needs to know about the rest of the plan. */
interface KeyContext {
  calendarId: string;
  w: CalendarWork;
  /** Owned events of this calendar by key. */
  byKey: Map<string, TargetEvent[]>;
  /** Series masters deleted in this calendar so far (masters are planned before their overrides). */
  deletedMasters: Set<string>;
  window: { from: number; to: number };
  fz: string;
  policy: SyncPolicy;
  failedSources: Set<string>;
  unmappedKeys: UnmappedKeys;
  isUnmapped: (key: string) => boolean;
  isUnreadable: (k: ParsedKey) => boolean;
  desiredIn: Map<string, string>;
}

/**
 * The ops for one key of one calendar: what is desired under it (d) against the owned events that
 * carry it (a, plus duplicates). `kept` is the owned event the key keeps (for the owned counts).
 */
function planKey(k: ParsedKey, ctx: KeyContext): { ops: PlannedOp[]; kept?: { inWindow: boolean } } {
  const { calendarId, w, byKey } = ctx;
  const ops: PlannedOp[] = [];
  let targets = [...(byKey.get(k.key) ?? [])];
  let d = w.desired.get(k.key);
  if (d?.phase === 'series-override') {
    // An override written as a single event by an older version: the instance replaces it, or the occurrence would show twice.
    for (const t of targets.filter((x) => !x.event.recurrenceId)) ops.push({ action: 'delete', calendarId, key: k.key, targetId: t.id, reason: 'single event replaced by an override of its series', replaced: true });
    targets = targets.filter((x) => x.event.recurrenceId);
  }
  let followsSeries = false;
  if (!d && targets.length && !ctx.isUnmapped(k.key)) {
    const restored = restoredOccurrence(k, targets[0], w, ctx.fz);
    // Where an override can be removed on its own (CalDAV), the occurrence then follows its series.
    if (restored && ctx.policy.overridesRemovable) followsSeries = true;
    else d = restored;
  }
  const [a, ...doubles] = orderForKeeping(targets, d);
  // Several owned events share the key (a crash, two workers): one stays, the others go.
  for (const t of doubles) ops.push(duplicateDelete(calendarId, k.key, t, a));
  const aIn = a ? actualInWindow(a, k, byKey, ctx.window, ctx.fz) : undefined;
  if (d && !a) ops.push(planNew(calendarId, k.key, d));
  else if (d && a) ops.push(planBoth(calendarId, k.key, d, a, aIn, ctx.policy.targetEdits ?? 'restore'));
  else if (a) ops.push(planGone(k, a, aIn, ctx, followsSeries));
  return { ops, ...(a ? { kept: { inWindow: aIn !== false } } : {}) };
}

/** The owned events of one key, the one to keep first: not edited by a person, then the one whose fingerprint matches, then the lowest id. */
function orderForKeeping(targets: TargetEvent[], d: DesiredEntry | undefined): TargetEvent[] {
  const rank = (t: TargetEvent) => (t.edited?.length ? 2 : 0) + (d && t.stamp!.fingerprint === d.fingerprint ? 0 : 1);
  return [...targets].sort((x, y) => rank(x) - rank(y) || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
}

/** A duplicate of the kept event; an exact double (same stamp, unedited) loses nothing and is not counted by the delete limit. */
function duplicateDelete(calendarId: string, key: string, t: TargetEvent, kept: TargetEvent): PlannedOp {
  const exact = t.stamp!.fingerprint === kept.stamp!.fingerprint && !t.edited?.length && (t.stamp!.digest ?? '') === (kept.stamp!.digest ?? '');
  return { action: 'delete', calendarId, key, targetId: t.id, reason: 'duplicate target event for the same key', duplicate: true, ...(exact ? { exactDouble: true } : {}) };
}

/** Desired, nothing owned under its key. */
function planNew(calendarId: string, key: string, d: DesiredEntry): PlannedOp {
  // new in source, inside the window
  if (d.inWindow) return { action: 'create', calendarId, key, event: d.event, fingerprint: d.fingerprint, reason: 'new in source', phase: d.phase, ...(d.masterKey ? { masterKey: d.masterKey } : {}) };
  // new in source, outside the window: not written
  return { action: 'skip', calendarId, key, reason: 'outside sync window' };
}

/** Desired, and an owned event holds its key. */
function planBoth(calendarId: string, key: string, d: DesiredEntry, a: TargetEvent, aIn: boolean | undefined, targetEdits: 'restore' | 'keep'): PlannedOp {
  const stampFp = a.stamp!.fingerprint;
  const edited = a.edited?.length ? a.edited.join(', ') : undefined;
  // both sides outside the window
  if (!d.inWindow && aIn === false) return { action: 'skip', calendarId, key, targetId: a.id, reason: 'outside sync window' };
  // a person edited our event on the target and the policy keeps people's edits
  if (edited && targetEdits === 'keep') return { action: 'skip', calendarId, key, targetId: a.id, reason: `edited on the target (${edited}): kept (targetEdits: keep)`, conflict: true };
  const cancelledThere = a.event.status === 'CANCELLED' && d.event.status !== 'CANCELLED';
  // same fingerprint, nobody touched it
  if (!edited && stampFp === d.fingerprint && !cancelledThere) {
    return { action: 'unchanged', calendarId, key, targetId: a.id, fingerprint: d.fingerprint, reason: d.restored ? 'unchanged (occurrence as its series has it)' : 'unchanged' };
  }
  const reason = edited ? `edited on the target (${edited}): restored to the source version` // a person's edit: one-way mirror writes the source's version again
    : stampFp === d.fingerprint ? 'cancelled on the target: rewriting' // Google: an instance cancelled by an earlier override delete, wanted live again
    : d.restored ? `no override in source: occurrence rewritten as its series has it (fingerprint ${stampFp}→${d.fingerprint})` // the source dropped its override
    : stampFp ? `changed in source (fingerprint ${stampFp}→${d.fingerprint})` // changed in source
    : 'no fingerprint on target: rewriting'; // written without a fingerprint
  return {
    action: 'update', calendarId, key, targetId: a.id, event: d.event, fingerprint: d.fingerprint, phase: d.phase,
    ...(d.masterKey ? { masterKey: d.masterKey } : {}), ...(a.etag ? { etag: a.etag } : {}), ...(edited ? { restored: true } : {}), reason,
  };
}

/** Owned, nothing desired under its key: kept or deleted, and why. The first rule that applies decides. */
function planGone(k: ParsedKey, a: TargetEvent, aIn: boolean | undefined, ctx: KeyContext, followsSeries = false): PlannedOp {
  const { calendarId, w, policy } = ctx;
  const key = k.key;
  const keep = (reason: string, extra: Partial<PlannedOp> = {}): PlannedOp => ({ action: 'skip', calendarId, key, targetId: a.id, reason, ...extra });
  const del = (reason: string, extra: Partial<PlannedOp> = {}): PlannedOp => {
    if (isRecurringMaster(a.event)) ctx.deletedMasters.add(key);
    return { action: 'delete', calendarId, key, targetId: a.id, reason, ...extra };
  };
  // its source failed this run: nothing of it is judged
  if (k.source !== undefined && ctx.failedSources.has(k.source)) return keep(KEPT_FAILED_SOURCE);
  // the source delivered the item but could not read it: unknown, not gone
  if (ctx.isUnreadable(k)) return keep('kept: unreadable in source');
  // the source event could not be planned (invalid time, series that could not be expanded)
  const prot = w.protectedKeys.get(key) ?? w.protectedPrefixes.find((p) => key.startsWith(p.prefix))?.reason;
  if (prot) return keep(`kept: ${prot}`);
  // the target event cannot be placed in time: never delete what cannot be judged
  if (aIn === undefined) return keep(KEPT_UNREADABLE_TIME);
  // outside the window: left alone, gone from the source or not
  if (!aIn) return keep('outside sync window (gone from source, left alone)');
  // its series master is deleted in this plan: the override goes with it
  if (k.kind === 'override' && ctx.deletedMasters.has(k.masterKey)) return keep('deleted with its series master');
  // an instance override already cancelled on the target (Google) and nothing wants it
  if (k.kind === 'override' && a.event.status === 'CANCELLED' && !w.cancelled.has(key)) return keep('occurrence already cancelled on the target');
  // the source still has it, but routing finds no room (renamed room, typo in the map)
  if (!w.cancelled.has(key) && ctx.isUnmapped(key)) {
    if (policy.unmapped !== 'delete') return keep('source event no longer maps to a room: kept');
    return del('source event no longer maps to a room (unmapped: delete)');
  }
  // a person edited it and the policy keeps people's edits: theirs now
  if (a.edited?.length && policy.targetEdits === 'keep') return keep(`edited on the target (${a.edited.join(', ')}): kept (targetEdits: keep)`, { conflict: true });
  // the source dropped an override its series still has; the target can remove it on its own (CalDAV):
  // the occurrence follows the series again, nothing a person booked is lost
  if (followsSeries) return del('no override in source: removed, the occurrence follows its series', { replaced: true });
  // the same series in the other form in this plan (series ⇄ expanded occurrences): no content lost
  if (w.expandedMasters.has(key)) return del('series rewritten as single events', { replaced: true });
  if (k.kind === 'occurrence' && w.desired.has(k.masterKey)) return del('single events replaced by the series', { replaced: true });
  // an instance override whose series is no longer stored here, now written as a single event
  const other = otherFormKey(k);
  if (k.kind === 'override' && w.desired.has(other!)) return del('override replaced by a single event (its series is not stored in this calendar)', { replaced: true });
  // cancelled in source
  if (w.cancelled.has(key) || ctx.unmappedKeys.cancelled.has(key)) return del('cancelled in source');
  // routed to another calendar now
  const elsewhere = ctx.desiredIn.get(key) ?? (k.kind === 'override' ? ctx.desiredIn.get(other!) : undefined);
  if (elsewhere) return del(`no longer routed to this calendar (now in ${elsewhere})`);
  // an override the source dropped, where its series has no such occurrence any more
  if (k.kind === 'override') return del('override removed from source (occurrence follows its series again)');
  // removed from source
  return del('removed from source');
}

/** Whether an owned event shows inside the window (an override with its series); undefined when its time cannot be read. */
function actualInWindow(t: TargetEvent, k: ParsedKey, byKey: Map<string, TargetEvent[]>, window: { from: number; to: number }, fz: string): boolean | undefined {
  try {
    const master = k.kind === 'override' ? byKey.get(k.masterKey)?.[0] : undefined;
    if (master) return showsInWindow(master.event, window, fz) || overlapsWindow(t.event, window, fz);
    if (showsInWindow(t.event, window, fz)) return true;
    if (!isRecurringMaster(t.event)) return false;
    // As on the desired side: a series whose own occurrences are all outside still is inside
    // when one of its overrides (live) is.
    for (const [key, list] of byKey) {
      const o = parseKey(key);
      if (o.kind === 'override' && o.masterKey === k.key && list.some((x) => x.event.status !== 'CANCELLED' && overlapsWindow(x.event, window, fz))) return true;
    }
    return false;
  } catch {
    return undefined;
  }
}
