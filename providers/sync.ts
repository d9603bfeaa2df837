/**
 * syncCalendars: the whole one-way sync in one call — route → list owned events per calendar
 * (window) → planSync (guards included) → applyPlan, unless dry run. This is what the CLI, the
 * Room Sync n8n node and the bridge call.
 *
 * A calendar whose listing fails is left out of this run (its desired events are not planned,
 * nothing is written there) and reported in `failedCalendars`; the other calendars go ahead.
 * Guard errors (SourceEmptyError, DeleteLimitError) are thrown, carrying the refused plan.
 *
 * Listing runs for all calendars at once (one listing per calendar, `listConcurrency` overall):
 * the guards judge the whole run, so no calendar may be written before every listing is in and
 * the whole plan passed them; listing calendars in small waves only delayed the first write.
 * The provider keeps its own per-mailbox limits (Graph: 4 concurrent requests).
 */
import type { CalendarEvent } from '../core/event';
import { planSync, type DesiredEvent } from '../core/plan';
import { routeEvents, routingTargets, type RoutingConfig } from '../core/routing';
import type { SyncPlan, SyncPolicy } from '../core/sync-types';
import { resolveWindow } from '../core/sync-window';
import { applyPlan, type ApplyOptions, type ApplyReport } from './apply';
import type { CalendarProvider, TargetEvent } from './port';
import { KeyedLimiter } from './queue';

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
  await Promise.all(calendars.map((calendarId, i) => limiter.run(calendarId, async () => {
    try {
      listed[i] = await provider.listOwned(calendarId, policy.syncId, window);
    } catch (err) {
      failedCalendars.push({ calendarId, message: `could not list events: ${(err as Error)?.message ?? String(err)}` });
    }
  })));
  const actual = listed.flat();
  failedCalendars.sort((a, b) => calendars.indexOf(a.calendarId) - calendars.indexOf(b.calendarId));
  const failed = new Set(failedCalendars.map((f) => f.calendarId));
  const routed: DesiredEvent[] = routing.routed.filter((r) => !failed.has(r.calendarId));

  const plan = planSync(
    { routed, unmapped: routing.unmapped },
    actual,
    { ...policy, seriesSupport: policy.seriesSupport ?? ((m, o) => provider.capabilities.seriesSupport(m, o)) },
    now,
  );
  for (const f of failedCalendars) plan.warnings.push(`${f.calendarId}: skipped this run — ${f.message}`);

  if (opts.dryRun) return { dryRun: true, plan, failedCalendars, ok: failedCalendars.length === 0 };
  const report = await applyPlan(plan, provider, opts.applyOptions);
  return { dryRun: false, plan, report, failedCalendars, ok: report.ok && failedCalendars.length === 0 };
}
