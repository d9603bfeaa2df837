/**
 * syncCalendars: the whole one-way sync in one call — route → list owned events per calendar
 * (window) → planSync (guards included) → applyPlan, unless dry run. This is what the CLI, the
 * Room Sync n8n node and the bridge call.
 *
 * A calendar whose listing fails is left out of this run (its desired events are not planned,
 * nothing is written there) and reported in `failedCalendars`; the other calendars go ahead.
 * Guard errors (SourceEmptyError, SourceShrankError, DeleteLimitError) are thrown, carrying the
 * refused plan. The guards' defaults live in core/guards.ts, so every caller gets the same ones.
 *
 * With a `stateStore`, the per-source event counts of the last successful run (a few bytes per
 * source, core/guards.ts runStateOf) are kept under RUN_STATE_PREFIX + syncId and passed to the
 * planner as `policy.lastRun` (the "source shrank" guard); the new state is written only after a
 * run that applied without failures. Without a store, pass `policy.lastRun` yourself and keep
 * `result.runState`.
 *
 * Listing runs for all calendars at once (one listing per calendar, `listConcurrency` overall):
 * the guards judge the whole run, so no calendar may be written before every listing is in and
 * the whole plan passed them; listing calendars in small waves only delayed the first write.
 * The provider keeps its own per-mailbox limits (Graph: 4 concurrent requests).
 */
import type { CalendarEvent } from '../core/event';
import { runStateOf } from '../core/guards';
import { planSync, type DesiredEvent } from '../core/plan';
import { routeEvents, routingTargets, type RoutingConfig } from '../core/routing';
import type { SyncPlan, SyncPolicy, SyncRunState } from '../core/sync-types';
import { resolveWindow } from '../core/sync-window';
import { applyPlan, type ApplyOptions, type ApplyReport } from './apply';
import type { CalendarProvider, TargetEvent } from './port';
import { KeyedLimiter } from './queue';
import type { KeyValueStore } from './state';

/** Where syncCalendars keeps the run state of a sync in its stateStore (followed by the syncId). */
export const RUN_STATE_PREFIX = 'calendar-relay:run-state:';

export interface SyncRunOptions {
  provider: CalendarProvider;
  /** Every event the sources delivered (already parsed). */
  desired: CalendarEvent[];
  routing: RoutingConfig;
  /** seriesSupport defaults to provider.capabilities.seriesSupport. */
  policy: SyncPolicy;
  now: number;
  dryRun?: boolean;
  applyOptions?: ApplyOptions;
  /** Concurrent listOwned calls over all calendars, one per calendar at a time (default 64). */
  listConcurrency?: number;
  /** More calendars to list and clean, beyond what the routing can reach (e.g. rooms removed from the map). */
  extraCalendars?: string[];
  /** Keeps the run state between runs (SourceShrankError); see the top of this file. */
  stateStore?: KeyValueStore;
}

export interface SyncRunResult {
  dryRun: boolean;
  plan: SyncPlan;
  /** Absent on a dry run. */
  report?: ApplyReport;
  /** Calendars that could not be listed: nothing was planned or written there. */
  failedCalendars: Array<{ calendarId: string; message: string }>;
  /** Everything listed, planned and (unless dry run) written without failures. */
  ok: boolean;
  /** The run state to keep for the next run (already stored when a stateStore was given and the run was ok). */
  runState: SyncRunState;
}

async function readRunState(store: KeyValueStore | undefined, syncId: string): Promise<SyncRunState | undefined> {
  const raw = store ? await store.get(RUN_STATE_PREFIX + syncId) : undefined;
  if (!raw) return undefined;
  try {
    const s = JSON.parse(raw) as SyncRunState;
    return s && s.v === 1 && s.sources && typeof s.sources === 'object' ? s : undefined;
  } catch {
    return undefined; // unreadable state: as if none was kept (the guard then has nothing to compare)
  }
}

/** Calendars listed at once by default: enough for a building's rooms in one wave, few enough for one client. */
export const DEFAULT_LIST_CONCURRENCY = 64;

export async function syncCalendars(opts: SyncRunOptions): Promise<SyncRunResult> {
  const { provider, policy, now } = opts;
  const routing = routeEvents(opts.desired, opts.routing);
  const window = resolveWindow(policy.window, now);
  const calendars = [...new Set([...routingTargets(opts.routing), ...routing.routed.map((r) => r.calendarId), ...(opts.extraCalendars ?? [])])];

  // One listing per calendar (its pages are sequential anyway), many calendars at once.
  const limiter = new KeyedLimiter({ perKey: 1, total: opts.listConcurrency ?? DEFAULT_LIST_CONCURRENCY });
  const failedCalendars: SyncRunResult['failedCalendars'] = [];
  // Kept per calendar and joined in calendar order, so the plan does not depend on which listing finished first.
  const listed: TargetEvent[][] = calendars.map(() => []);
  const zones: Record<string, string> = {};
  await Promise.all(calendars.map((calendarId, i) => limiter.run(calendarId, async () => {
    try {
      const events = await provider.listOwned(calendarId, policy.syncId, window);
      // The writer's zone for this calendar (cached by the listing), so the planner's window checks agree with it.
      // A calendar whose zone cannot be read fails like a failed listing: none of its events are planned.
      if (provider.floatingTimeZone) zones[calendarId] = await provider.floatingTimeZone(calendarId);
      listed[i] = events;
    } catch (err) {
      failedCalendars.push({ calendarId, message: `could not list events: ${(err as Error)?.message ?? String(err)}` });
    }
  })));
  const actual = listed.flat();
  failedCalendars.sort((a, b) => calendars.indexOf(a.calendarId) - calendars.indexOf(b.calendarId));
  const failed = new Set(failedCalendars.map((f) => f.calendarId));
  const routed: DesiredEvent[] = routing.routed.filter((r) => !failed.has(r.calendarId));

  const lastRun = policy.lastRun ?? await readRunState(opts.stateStore, policy.syncId);
  const plan = planSync(
    { routed, unmapped: routing.unmapped },
    actual,
    {
      ...policy,
      ...(lastRun ? { lastRun } : {}),
      floatingTimeZoneFor: { ...zones, ...policy.floatingTimeZoneFor },
      seriesSupport: policy.seriesSupport ?? ((m, o) => provider.capabilities.seriesSupport(m, o)) },
    now,
  );
  for (const f of failedCalendars) plan.warnings.push(`${f.calendarId}: skipped this run — ${f.message}`);
  const runState = runStateOf(plan, lastRun);

  if (opts.dryRun) return { dryRun: true, plan, failedCalendars, ok: failedCalendars.length === 0, runState };
  const report = await applyPlan(plan, provider, opts.applyOptions);
  const ok = report.ok && failedCalendars.length === 0;
  if (ok && opts.stateStore) await opts.stateStore.set(RUN_STATE_PREFIX + policy.syncId, JSON.stringify(runState));
  return { dryRun: false, plan, report, failedCalendars, ok, runState };
}
