/**
 * syncCalendars: the whole one-way sync in one call — route → per calendar: list its owned events
 * (window) → plan it (guards included) → apply it, unless dry run. This is what the CLI, the Room
 * Sync n8n node and the bridge call.
 *
 * One calendar at a time: a calendar is listed, planned and written before the next one is
 * listed, so memory holds one calendar's target events (plus the plan's ops), not every room's.
 * The desired side is worked out once for the whole run (core/plan.ts prepareDesired) with each
 * calendar's zone, which is read for every calendar first (providers cache it: listOwned would
 * read it anyway). Every applyPlan call shares one set of quota pacers (apply.ts quotaPacers), so
 * calendars written one after the other under one Google user share the user's budget.
 *
 * Guards. The checks that belong to a whole source run before any calendar is written:
 * - SourceShrankError needs only the desired side and the last run's state: checked before any
 *   listing.
 * - SourceEmptyError needs the owned events of the source in every calendar. When the desired
 *   side shows a source at risk — a failed source without keepFailedSources, or (without
 *   allowEmptySource) a source with no event inside the window, or one the last run's state knows
 *   that delivered nothing now — every calendar is listed and planned first (keeping the plan's ops,
 *   not the listings) and the whole plan is checked, as one plan: nothing is written unless it
 *   passes. Only then are the calendars written, from those plans.
 * - Otherwise each calendar's plan is checked before it is written: a calendar over its delete
 *   limit (DeleteLimitError), or holding events of a source that delivered nothing and that the
 *   desired side and the state could not name (no state kept), is not written at all, and the run
 *   stops there: later calendars are neither listed nor written. Calendars before it were written
 *   (each within its own delete limit; none of them held events of that empty source inside the
 *   window, or it would have stopped there). The error carries the plan of every calendar planned
 *   in this run, with a warning naming the calendars already written.
 *
 * A calendar whose zone or listing fails is left out of this run (nothing is written there) and
 * reported in `failedCalendars`; the other calendars go ahead. A run stopped as a whole (auth
 * failure, abort) lists the calendars it did not reach there too.
 *
 * With a `stateStore`, the per-source event counts of the last successful run (a few bytes per
 * source, core/guards.ts runStateOf) are kept under RUN_STATE_PREFIX + syncId and passed to the
 * planner as `policy.lastRun` (the "source shrank" guard); the new state is written only after a
 * run that applied without failures. Without a store, pass `policy.lastRun` yourself and keep
 * `result.runState`.
 */
import type { CalendarEvent } from '../core/event';
import { guardViolations, runStateOf } from '../core/guards';
import { assemblePlan, planCalendars, prepareDesired, type CalendarsPlanPart, type PreparedDesired } from '../core/plan';
import { routeEvents, routingTargets, type RoutingConfig } from '../core/routing';
import type { SyncPlan, SyncPolicy, SyncRunState } from '../core/sync-types';
import { applyPlan, quotaPacers, type ApplyOptions, type ApplyReport } from './apply';
import type { CalendarProvider } from './port';
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
  /** Concurrent zone look-ups (provider.floatingTimeZone) over all calendars, before the first listing (default 64). */
  listConcurrency?: number;
  /** More calendars to list and clean, beyond what the routing can reach (e.g. rooms removed from the map). */
  extraCalendars?: string[];
  /** Keeps the run state between runs (SourceShrankError); see the top of this file. */
  stateStore?: KeyValueStore;
  /**
   * Calendars listed, planned and written at once (default 1: one after the other, so memory holds
   * one calendar's target events). More trade memory (that many calendars' events) for wall time
   * on many rooms; a guard that trips then stops the calendars not yet started, not those in flight.
   */
  calendarConcurrency?: number;
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

/** Zone look-ups at once by default: enough for a building's rooms in one wave, few enough for one client. */
export const DEFAULT_LIST_CONCURRENCY = 64;

/**
 * Whether a guard that belongs to a whole source may trip once the calendars are listed (see the
 * top of this file): then every calendar is planned before any is written.
 */
function sourceAtRisk(desiredOnly: SyncPlan, policy: SyncPolicy): boolean {
  for (const s of Object.values(desiredOnly.sources)) {
    if (s.failure !== undefined) {
      if (!policy.keepFailedSources) return true;
    } else if (!policy.allowEmptySource && (s.desiredInWindow ?? s.desired) === 0) return true;
  }
  if (policy.allowEmptySource || !policy.lastRun) return false;
  return Object.entries(policy.lastRun.sources).some(([source, before]) => before > 0 && !desiredOnly.sources[source]);
}

/** One ApplyReport from the reports of calendars applied one after the other. */
function joinReports(reports: ApplyReport[]): ApplyReport {
  const totals = { created: 0, updated: 0, deleted: 0, unchanged: 0, skipped: 0, failed: 0, notAttempted: 0 };
  const requests = { batches: 0, retryRounds: 0, retriedOps: 0 };
  const calendars: ApplyReport['calendars'] = {};
  let stopped: string | undefined;
  for (const r of reports) {
    Object.assign(calendars, r.calendars);
    for (const k of Object.keys(totals) as Array<keyof typeof totals>) totals[k] += r.totals[k];
    for (const k of Object.keys(requests) as Array<keyof typeof requests>) requests[k] += r.requests[k];
    stopped ??= r.stopped;
  }
  return { ok: reports.every((r) => r.ok), calendars, totals, requests, ...(stopped ? { stopped } : {}) };
}

export async function syncCalendars(opts: SyncRunOptions): Promise<SyncRunResult> {
  const { provider, policy, now } = opts;
  const routing = routeEvents(opts.desired, opts.routing);
  const calendars = [...new Set([...routingTargets(opts.routing), ...routing.routed.map((r) => r.calendarId), ...(opts.extraCalendars ?? [])])];
  const failedCalendars: SyncRunResult['failedCalendars'] = [];
  const failedMessage = (err: unknown) => `could not list events: ${(err as Error)?.message ?? String(err)}`;

  // The writer's zone of each calendar (cached by the provider for its listing), so the planner's
  // window checks agree with it. A calendar whose zone cannot be read fails like a failed listing.
  const zones: Record<string, string> = {};
  if (provider.floatingTimeZone) {
    const limiter = new KeyedLimiter({ perKey: 1, total: opts.listConcurrency ?? DEFAULT_LIST_CONCURRENCY });
    await Promise.all(calendars.map((calendarId) => limiter.run(calendarId, async () => {
      try {
        zones[calendarId] = await provider.floatingTimeZone!(calendarId);
      } catch (err) {
        failedCalendars.push({ calendarId, message: failedMessage(err) });
      }
    })));
  }
  const zoneFailed = new Set(failedCalendars.map((f) => f.calendarId));
  const lastRun = policy.lastRun ?? await readRunState(opts.stateStore, policy.syncId);
  const fullPolicy: SyncPolicy = {
    ...policy,
    ...(lastRun ? { lastRun } : {}),
    floatingTimeZoneFor: { ...zones, ...policy.floatingTimeZoneFor },
    seriesSupport: policy.seriesSupport ?? ((m, o) => provider.capabilities.seriesSupport(m, o)),
    overridesRemovable: policy.overridesRemovable ?? provider.capabilities.overridesRemovable ?? false,
  };
  const prepared: PreparedDesired = prepareDesired(
    { routed: routing.routed.filter((r) => !zoneFailed.has(r.calendarId)), unmapped: routing.unmapped }, fullPolicy, now);
  const desiredOnly = assemblePlan(prepared, []);
  const runState = runStateOf(desiredOnly, lastRun);
  const todo = calendars.filter((c) => !zoneFailed.has(c));

  const parts: CalendarsPlanPart[] = [];
  const reports: ApplyReport[] = [];
  const written: string[] = [];
  const applyOptions: ApplyOptions = {
    ...opts.applyOptions,
    // One budget for the whole run, however many applyPlan calls it takes.
    quota: opts.applyOptions?.quota ?? quotaPacers(provider.capabilities, opts.applyOptions),
  };
  const signal = opts.applyOptions?.signal;
  /** Lists and plans one calendar; undefined when its listing failed (reported). */
  const listAndPlan = async (calendarId: string): Promise<CalendarsPlanPart | undefined> => {
    try {
      const events = await provider.listOwned(calendarId, policy.syncId, prepared.window);
      return planCalendars(prepared, events, [calendarId]);
    } catch (err) {
      failedCalendars.push({ calendarId, message: failedMessage(err) });
      return undefined;
    }
  };
  let stoppedRun: string | undefined;
  const apply = async (part: CalendarsPlanPart, calendarPlan = assemblePlan(prepared, [part])) => {
    const report = await applyPlan(calendarPlan, provider, applyOptions);
    reports.push(report);
    written.push(...part.calendarIds);
    if (report.stopped) stoppedRun = report.stopped;
  };
  const stopReason = () => stoppedRun ?? (signal?.aborted ? 'aborted' : undefined);
  const notReached = (calendarId: string) => failedCalendars.push({ calendarId, message: `not synced: the run stopped (${stopReason()})` });

  const atRisk = sourceAtRisk(desiredOnly, fullPolicy) || guardViolations(desiredOnly, fullPolicy).length > 0;
  if (atRisk) {
    // A source-wide guard may trip: every calendar is planned, and the whole plan checked, before any write.
    for (const calendarId of todo) {
      const part = await listAndPlan(calendarId);
      if (part) parts.push(part);
    }
    const [refused] = guardViolations(assemblePlan(prepared, parts), fullPolicy);
    if (refused) throw refused;
    if (!opts.dryRun) {
      for (const part of parts) {
        if (stopReason()) part.calendarIds.forEach(notReached);
        else await apply(part);
      }
    }
  } else {
    // `calendarConcurrency` calendars at a time (default 1), each listed, planned, checked and written in turn.
    const queue = [...todo];
    let refusal: { part: CalendarsPlanPart; error: Error } | undefined;
    const worker = async () => {
      for (let calendarId = queue.shift(); calendarId !== undefined && !refusal; calendarId = queue.shift()) {
        if (!opts.dryRun && stopReason()) {
          notReached(calendarId);
          continue;
        }
        const part = await listAndPlan(calendarId);
        if (!part || refusal) continue;
        const calendarPlan = assemblePlan(prepared, [part]);
        const [refused] = guardViolations(calendarPlan, fullPolicy);
        if (refused) {
          refusal = { part, error: refused };
          return;
        }
        parts.push(part);
        if (!opts.dryRun) await apply(part, calendarPlan);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.calendarConcurrency ?? 1, todo.length)) }, worker));
    if (refusal) {
      // The error carries everything planned this run (as a whole-run plan would have), and says what was written.
      const refusedPlan = assemblePlan(prepared, [...parts, refusal.part]);
      if (written.length) refusedPlan.warnings.push(`written before the guard stopped the run: ${written.join(', ')}`);
      throw guardViolations(refusedPlan, fullPolicy)[0] ?? refusal.error;
    }
    parts.sort((x, y) => todo.indexOf(x.calendarIds[0]) - todo.indexOf(y.calendarIds[0]));
  }

  const plan = assemblePlan(prepared, parts);
  failedCalendars.sort((a, b) => calendars.indexOf(a.calendarId) - calendars.indexOf(b.calendarId));
  for (const f of failedCalendars) plan.warnings.push(`${f.calendarId}: skipped this run — ${f.message}`);
  if (opts.dryRun) return { dryRun: true, plan, failedCalendars, ok: failedCalendars.length === 0, runState };
  const report = joinReports(reports);
  const ok = report.ok && failedCalendars.length === 0;
  if (ok && opts.stateStore) await opts.stateStore.set(RUN_STATE_PREFIX + policy.syncId, JSON.stringify(runState));
  return { dryRun: false, plan, report, failedCalendars, ok, runState };
}
