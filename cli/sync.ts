/**
 * `calendar-relay sync --config relay.yaml [--dry-run] [--json]`: read every source, parse, route
 * and mirror the events into Google or Microsoft 365 room calendars (providers/sync.ts), printing
 * a progress line per room as it goes and a final report.
 *
 * Safety: a source that cannot be read or parsed is reported and passed to the planner as a
 * failed source with `keepFailedSources`, so the other sources sync while its events on the
 * target are kept untouched (never "zero events, delete everything") and the exit code is 1;
 * an item a parser could not read but whose UID it knows is passed as `unreadable`, so its events
 * on the target are kept; the guards (SourceEmptyError, SourceShrankError, DeleteLimitError — their
 * defaults live in core/guards.ts) stop the run with their override named. The "source shrank"
 * guard's state is kept in the state file (or the feed store) next to the feed state.
 * Exit codes: 0 all rooms synced; 1 a source failed, a room failed or a guard refused; 2 bad
 * arguments or an invalid config.
 */
import type { CalendarEvent, ParseIssue } from '../core/event';
import { parseCalendarInput, CalendarInputError } from '../core/input';
import { DeleteLimitError, SourceEmptyError, SourceShrankError } from '../core/guards';
import type { PlannedOp, SyncPlan, SyncPolicy, UnreadableItem } from '../core/sync-types';
import type { ApplyOptions, ApplyProgress, CalendarApplyReport } from '../providers/apply';
import { readFeed, FeedReadError, MemoryFeedStateStore, JsonFileStateStore, redactUrl, type FeedStateStore, type FeedOrigin } from '../providers/feed';
import type { CalendarProvider } from '../providers/port';
import { syncCalendars, type SyncRunResult } from '../providers/sync';
import { CalDavCalendarProvider } from '../providers/caldav';
import { CALENDAR_SCOPE } from '../providers/google';
import { createTargetProvider, TargetSetupError } from '../providers/target';
import { parseArgs, optionValue, UsageError } from './args';
import { describeIssue, formatCliTime, type CommandIo } from './commands';
import { ConfigError, loadConfigFile, type RelayConfig, type TargetConfig } from './config';
import { withNetworkWords } from './io';

export interface SourceOutcome {
  id: string;
  /** Where it came from (URL without its query, or the file path). */
  location: string;
  ok: boolean;
  origin?: FeedOrigin;
  events: number;
  /** Items the parser could not use (each also in warnings). */
  errors: number;
  requests: number;
  failure?: string;
}

/** A room's line in the report: applyPlan's counts (or the plan's, on a dry run), errors as text. */
export type RoomOutcome = Pick<CalendarApplyReport, 'calendarId' | 'created' | 'updated' | 'deleted' | 'unchanged' | 'skipped' | 'failed' | 'notAttempted' | 'stopped'> & {
  errors: string[];
  /** What to check when the room could not be used at all (a calendar that does not exist, no permission). */
  hint?: string;
};

export interface GuardStop {
  guard: 'SourceEmptyError' | 'SourceShrankError' | 'DeleteLimitError';
  message: string;
  override: string;
}

export interface RelaySyncOutcome {
  syncId: string;
  provider: TargetConfig['provider'];
  dryRun: boolean;
  ok: boolean;
  window: { from: string; to: string };
  sources: SourceOutcome[];
  rooms: RoomOutcome[];
  unmapped: SyncPlan['unmapped'];
  /** People's copies of synced events, and edits kept: never written, shown here. */
  conflicts?: SyncPlan['conflicts'];
  /** Synced events a person had edited, written back to the source's version (policy targetEdits 'restore'). */
  restored?: Array<{ calendarId: string; targetId: string; reason: string }>;
  warnings: string[];
  guard?: GuardStop;
  /** Source events entirely outside the sync window (not synced, not deleted), per source id. */
  outsideWindow: Record<string, number>;
  /** The plan (always for a dry run; the refused plan when a guard stopped the run). */
  plan?: SyncPlan;
  /** What the listed target events are (title and start), by calendar and target id: a dry run names its deletes by them. */
  targets?: Map<string, { title: string; start: string }>;
}

export interface RelaySyncOptions {
  now: () => number;
  dryRun?: boolean;
  /** Overrides, like the config's guards. */
  force?: boolean;
  allowEmptySource?: boolean;
  allowShrink?: boolean;
  /** Progress lines (one per room as it goes). */
  progress?: (line: string) => void;
  /** Feed state when the config has no stateFile (tests, the demo). */
  feedStore?: FeedStateStore;
  /** For feed reads (tests). */
  fetch?: typeof fetch;
  applyOptions?: ApplyOptions;
}

const MAX_ISSUES_PER_SOURCE = 5;

/** Runs one configured sync. Never throws for source, room or guard failures: they are in the outcome. */
export async function runRelaySync(config: RelayConfig, opts: RelaySyncOptions): Promise<RelaySyncOutcome> {
  const now = opts.now();
  const progress = opts.progress ?? (() => undefined);
  const fileStore = config.stateFile ? await JsonFileStateStore.open(config.stateFile) : undefined;
  const store: FeedStateStore = fileStore ?? opts.feedStore ?? new MemoryFeedStateStore();
  const warnings: string[] = [];

  // --- sources -----------------------------------------------------------------------------------
  const desired: CalendarEvent[] = [];
  const sources = await Promise.all(config.sources.map(async (s): Promise<{ outcome: SourceOutcome; events: CalendarEvent[]; issues: string[]; unreadable: UnreadableItem[] }> => {
    const location = s.url ? redactUrl(s.url) : s.file!;
    try {
      const read = await readFeed({ id: s.id, url: s.url, file: s.file, headers: s.headers, budget: s.budget, timeoutMs: s.timeoutMs, maxBytes: s.maxBytes }, { store, now: opts.now, fetch: opts.fetch });
      const parsed = parseCalendarInput(read.bytes, { preset: s.preset, map: s.map, sourceId: s.id, defaultTimeZone: s.defaultTimeZone });
      const issues = [...read.warnings, ...describeParseIssues(s.id, parsed.errors)];
      // Items the parser could not read but whose UID it knows: unknown this run, not gone.
      const unreadable = parsed.errors.filter((i) => typeof i.uid === 'string' && i.uid !== '').map((i) => ({ sourceId: s.id, uid: i.uid!, message: i.message }));
      return { outcome: { id: s.id, location, ok: true, origin: read.origin, events: parsed.events.length, errors: parsed.errors.length, requests: read.requests }, events: parsed.events, issues, unreadable };
    } catch (err) {
      if (!(err instanceof FeedReadError) && !(err instanceof CalendarInputError)) throw err;
      const failure = err instanceof FeedReadError ? withNetworkWords(err.message) : `source "${s.id}": ${err.message}`;
      return { outcome: { id: s.id, location, ok: false, events: 0, errors: 0, requests: 0, failure }, events: [], issues: [], unreadable: [] };
    }
  }));
  for (const s of sources) {
    desired.push(...s.events);
    warnings.push(...s.issues);
  }
  const failedSources = sources.filter((s) => !s.outcome.ok).map((s) => ({ id: s.outcome.id, failure: s.outcome.failure ?? '' }));
  for (const s of sources) {
    const o = s.outcome;
    progress(o.ok
      ? `source ${o.id}: ${o.events} event(s)${o.errors ? `, ${o.errors} unusable item(s)` : ''} (${originLabel(o.origin!)})`
      : `✗ ${o.failure} — its events on the target are kept as they are`);
  }

  // --- target --------------------------------------------------------------------------------------
  const targets = new Map<string, { title: string; start: string }>();
  const provider = recordingListings(await createProvider(config, store, opts.now), targets);
  const policy: SyncPolicy = {
    syncId: config.syncId,
    identity: config.identity,
    window: config.window,
    failedSources,
    // The CLI syncs the healthy sources and reports the failed ones (exit code 1); their events
    // stay untouched. (API callers get SourceEmptyError unless they say so too.)
    keepFailedSources: true,
    unreadable: sources.flatMap((s) => s.unreadable),
    allowEmptySource: opts.allowEmptySource || config.guards.allowEmptySource,
    allowShrink: opts.allowShrink || config.guards.allowShrink,
    force: opts.force,
    // Unset: the engine's default limit (core/guards.ts), the same as every other caller gets.
    ...(config.guards.maxDeletes ? { maxDeletes: config.guards.maxDeletes } : {}),
    unmapped: config.unmapped,
    ...(config.floatingTimeZone ? { floatingTimeZone: config.floatingTimeZone } : {}),
  };
  const windowOf = (w: { from: number; to: number }) => ({ from: new Date(w.from).toISOString(), to: new Date(w.to).toISOString() });
  const base = {
    syncId: config.syncId, provider: config.target.provider, dryRun: !!opts.dryRun,
    sources: sources.map((s) => s.outcome), targets,
  };

  let result: SyncRunResult;
  try {
    result = await syncCalendars({
      // CalDAV calendars may be named by display name: resolved to their URLs here.
      provider, desired, routing: provider instanceof CalDavCalendarProvider ? await provider.resolveRouting(config.routing) : config.routing, policy, now, dryRun: opts.dryRun, stateStore: store,
      applyOptions: { ...opts.applyOptions, onProgress: (ev) => progressLine(ev, progress) },
    });
  } catch (err) {
    if (err instanceof SourceEmptyError || err instanceof SourceShrankError || err instanceof DeleteLimitError) {
      const override = err instanceof SourceEmptyError
        ? `set guards.allowEmptySource: true in ${config.file}, or run once with --allow-empty-source`
        : err instanceof SourceShrankError
          ? `check the source; if it really lost those events, run once with --allow-shrink (or set guards.allowShrink: true in ${config.file})`
          : `raise guards.maxDeletes in ${config.file}, or run once with --force`;
      await fileStore?.flush();
      return {
        ...base, ok: false, window: windowOf(err.plan.window), rooms: roomsFromPlan(err.plan), unmapped: err.plan.unmapped, outsideWindow: outsideWindow(err.plan),
        warnings: [...warnings, ...err.plan.warnings], guard: { guard: err.name as GuardStop['guard'], message: err.message, override }, plan: err.plan,
      };
    }
    throw err;
  } finally {
    await fileStore?.flush();
  }

  const rooms = roomsFromPlan(result.plan, result.report?.calendars);
  for (const f of result.failedCalendars) {
    const hint = roomHint(config, f.calendarId, f.message);
    let r = rooms.find((x) => x.calendarId === f.calendarId);
    if (!r) rooms.push((r = emptyRoom(f.calendarId)));
    r.stopped = f.message;
    r.errors.push(f.message);
    if (hint) r.hint = hint;
  }
  if (!opts.dryRun) {
    // Rooms applyPlan had nothing to write in still get their line.
    const written = new Set(Object.entries(result.report?.calendars ?? {}).filter(([, c]) => c.batches > 0 || c.failed > 0 || c.notAttempted > 0).map(([id]) => id));
    for (const r of rooms) if (!written.has(r.calendarId)) progress(roomLine(r));
  }
  const ok = result.ok && failedSources.length === 0 && rooms.every((r) => roomOk(r));
  // A room that could not be listed is on its own line in the report; the plan's note about it would repeat it.
  const stopped = new Set(result.failedCalendars.map((f) => `${f.calendarId}: skipped this run — ${f.message}`));
  return {
    ...base, ok, window: windowOf(result.plan.window), rooms, unmapped: result.plan.unmapped, conflicts: result.plan.conflicts,
    restored: result.plan.ops.filter((op) => op.restored).map((op) => ({ calendarId: op.calendarId, targetId: op.targetId ?? '', reason: op.reason })),
    outsideWindow: outsideWindow(result.plan),
    warnings: [...warnings, ...result.plan.warnings.filter((w) => !stopped.has(w))], ...(opts.dryRun ? { plan: result.plan } : {}),
  };
}

/** Source events the plan found entirely outside the window, per source (the plan's own counts). */
function outsideWindow(plan: SyncPlan): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [source, st] of Object.entries(plan.sources ?? {})) {
    const n = st.desiredInWindow === undefined ? 0 : st.desired - st.desiredInWindow;
    if (n > 0) out[source] = n;
  }
  return out;
}

/** The provider, with what its owned listings returned noted by calendar and id (for naming deletes). */
function recordingListings(provider: CalendarProvider, seen: Map<string, { title: string; start: string }>): CalendarProvider {
  const listOwned: CalendarProvider['listOwned'] = async (calendarId, syncId, window) => {
    const list = await provider.listOwned(calendarId, syncId, window);
    for (const t of list) {
      let start = '';
      try {
        start = formatCliTime(t.event.start);
      } catch {
        /* a time the mapper could not read: named without it */
      }
      seen.set(`${calendarId}\u001f${t.id}`, { title: t.event.title ?? '', start });
    }
    return list;
  };
  return new Proxy(provider, {
    get(target, prop) {
      if (prop === 'listOwned') return listOwned;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** True when the target is a server on this machine (the emulator, in practice). */
function localTarget(config: RelayConfig): boolean {
  const t = config.target;
  const url = t.provider === 'google' ? t.rootUrl : t.baseUrl;
  if (!url) return false;
  try {
    return ['localhost', '127.0.0.1', '[::1]'].includes(new URL(url).hostname);
  } catch {
    return false;
  }
}

/** What to check when a room's calendar cannot be listed: it does not exist (404) or the credential may not see it (403). */
export function roomHint(config: RelayConfig, calendarId: string, message: string): string | undefined {
  const t = config.target;
  const base = (t.provider === 'google' ? t.rootUrl : t.baseUrl) ?? (t.provider === 'google' ? 'https://www.googleapis.com/' : 'https://graph.microsoft.com/v1.0');
  if (/\bECONNREFUSED\b/.test(message)) {
    return localTarget(config)
      ? `connection refused: nothing listens at ${base} — is the emulator running? (calendar-relay emulator --port <N> --rooms ${calendarId},…)`
      : `connection refused by ${base}: check target.${t.provider === 'google' ? 'rootUrl' : 'baseUrl'} and any proxy`;
  }
  if (/\b(ENOTFOUND|EAI_AGAIN)\b/.test(message)) return `host not found: check target.${t.provider === 'google' ? 'rootUrl' : 'baseUrl'} (${base}) and the network`;
  const status = /\b(404|403)\b/.exec(message)?.[1];
  if (!status) return undefined;
  if (localTarget(config)) {
    return status === '404'
      ? `the emulator has no calendar "${calendarId}": start it with --rooms listing every room of the routing (calendar-relay emulator --port <N> --rooms ${calendarId},…)`
      : `the emulator refused access to "${calendarId}": check the credential in target.auth`;
  }
  if (config.target.provider === 'google') {
    return status === '404'
      ? `check the calendar id "${calendarId}" (a room's id looks like …@resource.calendar.google.com) and that the credential can see it: a service account needs domain-wide delegation with ${CALENDAR_SCOPE} and a subject who may "make changes to events" in this calendar`
      : `the credential may not change "${calendarId}": the subject (or the account the token belongs to) needs "make changes to events" on this calendar, with the ${CALENDAR_SCOPE} scope`;
  }
  return status === '404'
    ? `check the mailbox address "${calendarId}" (the room's email in Exchange) and that the app has the Calendars.ReadWrite application permission, admin-consented`
    : `the app may not use "${calendarId}": it needs the Calendars.ReadWrite application permission, admin-consented, and an application access policy (if the tenant uses one) that includes this mailbox`;
}

function originLabel(o: FeedOrigin): string {
  return o === 'file' ? 'file' : o === 'fetched' ? 'fetched' : o === 'not-modified' ? 'not modified since the last run: stored copy' : 'request budget used up: stored copy';
}

function describeParseIssues(sourceId: string, issues: ParseIssue[]): string[] {
  const out = issues.slice(0, MAX_ISSUES_PER_SOURCE).map((i) => `source "${sourceId}": ${describeIssue(i)}`);
  if (issues.length > MAX_ISSUES_PER_SOURCE) out.push(`source "${sourceId}": … and ${issues.length - MAX_ISSUES_PER_SOURCE} more unusable item(s)`);
  return out;
}

function emptyRoom(calendarId: string): RoomOutcome {
  return { calendarId, created: 0, updated: 0, deleted: 0, unchanged: 0, skipped: 0, failed: 0, notAttempted: 0, errors: [] };
}

function roomOk(r: RoomOutcome): boolean {
  return r.failed === 0 && r.notAttempted === 0 && !r.stopped;
}

/** One row per calendar: counts from the apply report, or (dry run, refused run) what the plan would do. */
function roomsFromPlan(plan: SyncPlan, applied?: Record<string, CalendarApplyReport>): RoomOutcome[] {
  const ids = new Set<string>([...Object.keys(plan.calendars), ...plan.ops.map((o) => o.calendarId)]);
  return [...ids].sort().map((calendarId) => {
    const a = applied?.[calendarId];
    if (applied) {
      if (!a) return emptyRoom(calendarId);
      return {
        calendarId, created: a.created, updated: a.updated, deleted: a.deleted, unchanged: a.unchanged, skipped: a.skipped, failed: a.failed,
        notAttempted: a.notAttempted, ...(a.stopped ? { stopped: a.stopped } : {}),
        errors: a.errors.map((e) => `${e.op} ${e.key}: ${e.message}${e.status ? ` (HTTP ${e.status})` : ''}`),
      };
    }
    const r = emptyRoom(calendarId);
    for (const op of plan.ops) {
      if (op.calendarId !== calendarId) continue;
      if (op.action === 'create') r.created++;
      else if (op.action === 'update') r.updated++;
      else if (op.action === 'delete') r.deleted++;
      else if (op.action === 'unchanged') r.unchanged++;
      else r.skipped++;
    }
    return r;
  });
}

export function roomLine(r: RoomOutcome): string {
  const mark = roomOk(r) ? '✓' : '✗';
  // The reason is printed once, in the report (with a hint); here it is only named.
  const tail = r.stopped ? '  stopped (why: see the report)' : r.notAttempted ? `  not attempted ${r.notAttempted}` : '';
  return `${mark} ${r.calendarId}  created ${r.created} updated ${r.updated} deleted ${r.deleted} unchanged ${r.unchanged} failed ${r.failed}${tail}`;
}

function seconds(ms: number): string {
  const s = Math.max(1, Math.round(ms / 1000));
  return s < 90 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/** "room x : waiting 41 s for the request quota (600 per 60 s) — 600/1500 written, about 1 min 30 s left". */
export function quotaWaitLine(ev: Extract<ApplyProgress, { type: 'quota-wait' }>): string {
  return `  room ${ev.calendarId} : waiting ${seconds(ev.waitMs)} for the request quota (${ev.quota.maxRequests} per ${seconds(ev.quota.windowMs)}) — ${ev.done}/${ev.total} written, about ${seconds(ev.etaMs)} left`;
}

function progressLine(ev: ApplyProgress, print: (line: string) => void): void {
  if (ev.type === 'batch-done') print(`  room ${ev.calendarId} : ${ev.done}/${ev.total} writes${ev.failed ? `, ${ev.failed} failed` : ''}`);
  else if (ev.type === 'retry-wait') print(`  room ${ev.calendarId} : retrying ${ev.ops} write(s) in ${Math.round(ev.delayMs)} ms (retry ${ev.retry})`);
  else if (ev.type === 'quota-wait') print(quotaWaitLine(ev));
  else if (ev.type === 'calendar-stopped') print(`  room ${ev.calendarId} : stopped — ${ev.reason}`);
  else if (ev.type === 'calendar-done') {
    const a = ev.report;
    print(roomLine({
      calendarId: a.calendarId, created: a.created, updated: a.updated, deleted: a.deleted, unchanged: a.unchanged, skipped: a.skipped,
      failed: a.failed, notAttempted: a.notAttempted, ...(a.stopped ? { stopped: a.stopped } : {}), errors: [],
    }));
  }
}

// --- providers -----------------------------------------------------------------------------------

/** Builds the target provider from the config (providers/target.ts); a target that cannot be set up is a config error. */
export async function createProvider(config: RelayConfig, store: FeedStateStore, now: () => number): Promise<CalendarProvider> {
  try {
    return await createTargetProvider(config.target, store, now);
  } catch (err) {
    if (err instanceof TargetSetupError) throw new ConfigError(config.file, [{ path: err.path, message: err.message }]);
    throw err;
  }
}

// --- output ---------------------------------------------------------------------------------------

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}
function padStart(s: string | number, n: number): string {
  const t = String(s);
  return t.length >= n ? t : ' '.repeat(n - t.length) + t;
}

/** The final report table (and unmapped events, warnings, the guard that stopped the run). */
export function formatReport(o: RelaySyncOutcome): string {
  const lines: string[] = [];
  const w = Math.max(4, ...o.rooms.map((r) => r.calendarId.length));
  lines.push('');
  lines.push(`${o.guard ? 'Refused, nothing written — what the plan would have done' : o.dryRun ? 'Dry run (nothing written)' : 'Report'} — sync ${o.syncId} → ${o.provider === 'google' ? 'Google Calendar' : o.provider === 'caldav' ? 'CalDAV' : 'Microsoft 365'}, window ${o.window.from.slice(0, 10)} … ${o.window.to.slice(0, 10)}`);
  lines.push(`  ${pad('room', w)}  created updated deleted unchanged failed`);
  const total = emptyRoom('total');
  for (const r of o.rooms) {
    lines.push(`  ${pad(r.calendarId, w)}  ${padStart(r.created, 7)} ${padStart(r.updated, 7)} ${padStart(r.deleted, 7)} ${padStart(r.unchanged, 9)} ${padStart(r.failed + r.notAttempted, 6)}${r.stopped ? '  stopped' : ''}`);
    for (const k of ['created', 'updated', 'deleted', 'unchanged', 'failed', 'notAttempted'] as const) total[k] += r[k];
  }
  lines.push(`  ${pad('total', w)}  ${padStart(total.created, 7)} ${padStart(total.updated, 7)} ${padStart(total.deleted, 7)} ${padStart(total.unchanged, 9)} ${padStart(total.failed + total.notAttempted, 6)}`);
  const outside = Object.entries(o.outsideWindow ?? {});
  if (outside.length) {
    const total = outside.reduce((n, [, k]) => n + k, 0);
    const per = outside.length > 1 ? ` (${outside.map(([id, k]) => `${id || '(no source id)'} ${k}`).join(', ')})` : '';
    lines.push(`  ${total} source event(s) outside the window${per}: not synced, and their copies on the target are left as they are`);
  }
  for (const r of o.rooms) {
    const errors = r.errors.slice(0, 5);
    errors.forEach((e, i) => lines.push(`  ✗ ${r.calendarId}: ${e}${i === 0 && r.hint ? ` — ${r.hint}` : ''}`));
  }
  const failedSources = o.sources.filter((s) => !s.ok);
  if (failedSources.length) {
    lines.push(`Failed sources (${failedSources.length}) — their events on the target were kept, not deleted:`);
    for (const s of failedSources) lines.push(`  ✗ ${s.failure}`);
  }
  if (o.unmapped.length) {
    lines.push(`Unmapped events (${o.unmapped.length}) — not routed to any room:`);
    for (const u of o.unmapped) lines.push(`  "${u.title}" ${formatCliTime(u.start)}${u.sourceId ? ` from ${u.sourceId}` : ''}: ${u.reason}`);
  }
  const conflicts = o.plan?.conflicts ?? o.conflicts ?? [];
  if (conflicts.length) {
    lines.push(`Conflicts (${conflicts.length}) — left as they are, for a person to look at:`);
    for (const c of conflicts) lines.push(`  ${c.calendarId}: event ${c.targetId}: ${c.reason}`);
  }
  const restored = o.restored ?? o.plan?.ops.filter((op) => op.restored).map((op) => ({ calendarId: op.calendarId, targetId: op.targetId ?? '', reason: op.reason })) ?? [];
  if (restored.length) {
    lines.push(`Restored (${restored.length}) — edited on the target by a person, ${o.dryRun || o.guard ? 'would be ' : ''}written back to the source's version:`);
    for (const r of restored) lines.push(`  ${r.calendarId}: event ${r.targetId}: ${r.reason}`);
  }
  const otherWarnings = o.warnings.filter((x) => !x.startsWith('not routed: '));
  if (otherWarnings.length) {
    lines.push(`Warnings (${otherWarnings.length}):`);
    for (const x of otherWarnings) lines.push(`  ${x}`);
  }
  if (o.guard) {
    lines.push(`✗ stopped by the ${o.guard.guard} guard: nothing was written.`);
    lines.push(`  ${o.guard.message}`);
    lines.push(`  override: ${o.guard.override}`);
  }
  lines.push(o.ok ? (o.dryRun ? 'OK: plan shown above, nothing written.' : 'OK: every room is in sync.') : 'FAILED: see above (exit code 1).');
  return lines.join('\n') + '\n';
}

/** The plan of a dry run: what would be created/updated/deleted, with reasons. */
export function formatPlan(plan: SyncPlan, targets?: Map<string, { title: string; start: string }>): string {
  const lines: string[] = [];
  const byRoom = new Map<string, PlannedOp[]>();
  for (const op of plan.ops) {
    const list = byRoom.get(op.calendarId) ?? [];
    list.push(op);
    byRoom.set(op.calendarId, list);
  }
  for (const [room, ops] of [...byRoom].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    lines.push(`room ${room}:`);
    for (const op of ops) {
      if (op.action === 'unchanged' || op.action === 'skip') continue;
      const what = describeOp(op, targets);
      lines.push(`  ${pad(op.action, 6)} ${what} — ${op.reason}`);
    }
    const unchanged = ops.filter((o) => o.action === 'unchanged').length;
    const skipped = ops.filter((o) => o.action === 'skip');
    if (unchanged) lines.push(`  ${unchanged} unchanged`);
    if (skipped.length) {
      const reasons = new Map<string, number>();
      for (const s of skipped) reasons.set(s.reason, (reasons.get(s.reason) ?? 0) + 1);
      lines.push(`  ${skipped.length} skipped: ${[...reasons].map(([r, n]) => `${n}× ${r}`).join('; ')}`);
    }
  }
  return lines.join('\n') + (lines.length ? '\n' : '');
}

/** What an op is about, for a person: title and time (of the content to write, or of the target event it removes). */
function describeOp(op: PlannedOp, targets?: Map<string, { title: string; start: string }>): string {
  if (op.event) return `"${op.event.title}" ${formatCliTime(op.event.start)}`;
  const t = op.targetId ? targets?.get(`${op.calendarId}\u001f${op.targetId}`) : undefined;
  if (t) return `"${t.title}" ${t.start}`.trimEnd() + ` (event ${op.targetId})`;
  return op.targetId ? `event ${op.targetId}` : op.key;
}

/** JSON form of the outcome (--json): the plan's ops without event bodies. */
export function outcomeJson(o: RelaySyncOutcome): unknown {
  const { plan, targets, ...rest } = o;
  return {
    ...rest,
    ...(plan ? {
      plan: {
        counts: plan.counts,
        ops: plan.ops.map((op) => ({
          action: op.action, calendarId: op.calendarId, key: op.key, reason: op.reason,
          ...(op.targetId ? { targetId: op.targetId } : {}),
          ...(op.event
            ? { title: op.event.title, start: formatCliTime(op.event.start) }
            : op.targetId && targets?.has(`${op.calendarId}\u001f${op.targetId}`) ? { ...targets.get(`${op.calendarId}\u001f${op.targetId}`) } : {}),
        })),
      },
    } : {}),
  };
}

// --- the command ---------------------------------------------------------------------------------

export interface SyncCommandDeps {
  env?: Record<string, string | undefined>;
  feedStore?: FeedStateStore;
  fetch?: typeof fetch;
  applyOptions?: ApplyOptions;
}

export function makeSyncCommand(deps: SyncCommandDeps = {}) {
  return async (argv: string[], io: CommandIo): Promise<number> => {
    const args = parseArgs(argv, { values: ['config'], flags: ['dry-run', 'json', 'force', 'allow-empty-source', 'allow-shrink'] });
    if (args.positionals.length) throw new UsageError(`sync takes no positional arguments (got "${args.positionals[0]}"); use --config relay.yaml`);
    const file = optionValue(args, 'config');
    if (!file) throw new UsageError('sync needs --config <relay.yaml> (format: docs/config.md)');
    const json = args.options.has('json');
    const dryRun = args.options.has('dry-run');
    let config: RelayConfig;
    let outcome: RelaySyncOutcome;
    try {
      config = await loadConfigFile(file, deps.env ?? process.env);
      const print = json ? io.stderr : io.stdout;
      print(`calendar-relay sync ${config.syncId}: ${config.sources.length} source(s) → ${config.target.provider === 'google' ? 'Google Calendar' : config.target.provider === 'caldav' ? 'CalDAV' : 'Microsoft 365'}${dryRun ? ' (dry run)' : ''}\n`);
      outcome = await runRelaySync(config, {
        now: io.now, dryRun, force: args.options.has('force'), allowEmptySource: args.options.has('allow-empty-source'), allowShrink: args.options.has('allow-shrink'),
        progress: (line) => print(line + '\n'), feedStore: deps.feedStore, fetch: deps.fetch, applyOptions: deps.applyOptions,
      });
    } catch (err) {
      if (err instanceof ConfigError) {
        io.stderr(`calendar-relay: ${err.message}\n`);
        return 2;
      }
      throw err;
    }
    if (json) io.stdout(JSON.stringify(outcomeJson(outcome), null, 2) + '\n');
    else {
      if (outcome.plan && (dryRun || outcome.guard)) io.stdout((outcome.guard ? '\nPlan that was refused:\n' : '\nPlan:\n') + formatPlan(outcome.plan, outcome.targets));
      io.stdout(formatReport(outcome));
    }
    if (outcome.guard) io.stderr(`calendar-relay: stopped by the ${outcome.guard.guard} guard — override: ${outcome.guard.override}\n`);
    return outcome.ok ? 0 : 1;
  };
}

export const syncCommand = makeSyncCommand();
