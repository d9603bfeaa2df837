/**
 * Safety guards: named errors with the numbers in them, each with an explicit override in the
 * policy. They run on a finished plan (so the error can carry it: a refused sync can still be
 * shown as a dry run).
 *
 * - SourceEmptyError (override `allowEmptySource`): a source delivered no events inside the window
 *   while the target still holds events we wrote for it there (a broken feed that still carries
 *   one far-future event must not slip through). That is far more often a broken
 *   feed than a real "everything was cancelled" (vdirsyncer's StorageEmpty), so refuse rather than
 *   delete everything. A source whose items were all unreadable (policy.unreadable) trips it too,
 *   and the message says so ("5 item(s), all unreadable: …", quoting the first errors with their
 *   line or item) instead of "delivered no events".
 * - SourceEmptyError (override `keepFailedSources`): a source whose fetch failed
 *   (policy.failedSources) still has events on the target. They are never deleted, but the caller
 *   must say that syncing the other sources without it is fine.
 * - DeleteLimitError (override `force`): a calendar would lose more than maxDeletes.count events,
 *   or more than maxDeletes.percent % of the events we own there beyond the first
 *   maxDeletes.floor (1 of 2 is no signal, 8 of 9 is). On by default (DEFAULT_MAX_DELETES) for
 *   every caller: the CLI, the nodes and the bridge get the same limit. Deletes that replace a
 *   series by its expanded occurrences (or the reverse) do not count, nor does an exact double (a
 *   duplicate with the very stamp of the event kept, what a retried create leaves): they lose no
 *   content. Other duplicate removals count.
 * - SourceShrankError (override `allowShrink`): with the state of the last successful run
 *   (policy.lastRun), a source whose events inside the window fell to less than half — and by
 *   more than SHRINK_MIN_LOST — since then. A feed that suddenly carries a fraction of its
 *   events is far more often truncated or filtered than really emptied.
 */
import { sourceKeyPart } from './sync-key';
import type { MaxDeletes, SyncPlan, SyncPolicy, SyncRunState } from './sync-types';

/** Deletes a calendar may always take, whatever its size (with a percent limit). */
export const DEFAULT_DELETE_FLOOR = 3;
/** The delete limit when the policy sets none: 3 per calendar, beyond that at most half of its synced events. */
export const DEFAULT_MAX_DELETES: Readonly<MaxDeletes> = Object.freeze({ percent: 50, floor: DEFAULT_DELETE_FLOOR });
/** A source must lose more than this many in-window events (and more than half) to trip SourceShrankError. */
export const SHRINK_MIN_LOST = 3;

export interface EmptySource {
  /** The source part of the keys (percent-encoded sourceId, '-' for none). */
  source: string;
  /** Synced events of it on the target inside the window (for a failed source: those it protects). */
  ownedInWindow: number;
  /** Set for a source whose fetch failed (policy.failedSources): what went wrong. */
  failure?: string;
  /** Items the source delivered but the parser could not read (policy.unreadable), when there were any. */
  unreadable?: number;
  /** The first of those items' errors (each names its line or item), at most UNREADABLE_SHOWN. */
  errors?: string[];
  /** Events it delivered that could be read (all outside the window), when it had unreadable items. */
  readable?: number;
}

/** Unreadable items a SourceEmptyError message quotes per source. */
export const UNREADABLE_SHOWN = 3;

function sourceLabel(source: string): string {
  return source === '-' ? '(unnamed)' : `"${decodeURIComponent(source)}"`;
}

/** "12 items, all unreadable: VEVENT starting at line 4 (UID a): …; … (and 9 more)". */
function unreadableSummary(s: EmptySource): string {
  const n = s.unreadable ?? 0;
  const errors = s.errors ?? [];
  const quoted = errors.length ? `: ${errors.join('; ')}${n > errors.length ? ` (and ${n - errors.length} more)` : ''}` : '';
  return s.readable
    ? `no event inside the window (${s.readable} readable, all outside it) and ${n} unreadable item(s)${quoted}`
    : `${n} item(s), all unreadable${quoted}`;
}

export class SourceEmptyError extends Error {
  constructor(
    readonly sources: EmptySource[],
    readonly plan: SyncPlan,
  ) {
    const failed = sources.filter((s) => s.failure !== undefined);
    const unreadable = sources.filter((s) => s.failure === undefined && s.unreadable);
    const empty = sources.filter((s) => s.failure === undefined && !s.unreadable);
    super(
      'refusing to sync: ' + [
        ...failed.map((s) => `source ${sourceLabel(s.source)} failed${s.failure ? ` (${s.failure})` : ''}; its ${s.ownedInWindow} synced event(s) on the target are protected`),
        ...unreadable.map((s) => `source ${sourceLabel(s.source)} delivered ${unreadableSummary(s)}, while ${s.ownedInWindow} synced event(s) are on the target`),
        ...empty.map((s) => `source ${sourceLabel(s.source)} delivered no events but ${s.ownedInWindow} synced event(s) are on the target`),
      ].join('; ') + ' — ' + [
        ...(failed.length ? ['set keepFailedSources to sync the other sources and leave the failed ones\' events untouched'] : []),
        ...(unreadable.length ? ['fix the feed (or its format settings); allowEmptySource syncs it anyway: the unreadable items\' events are kept, the rest of that source\'s events are deleted'] : []),
        ...(empty.length ? ['an empty source usually means the feed broke; set allowEmptySource to delete its events anyway'] : []),
      ].join('; '),
    );
    this.name = 'SourceEmptyError';
  }
}

export interface DeleteLimitExcess {
  calendarId: string;
  deletes: number;
  owned: number;
  limitCount?: number;
  limitPercent?: number;
  /** Deletes allowed whatever the calendar's size (with limitPercent). */
  limitFloor?: number;
  /** The most deletes allowed in this calendar this run. */
  allowed: number;
}

export class DeleteLimitError extends Error {
  constructor(
    readonly calendars: DeleteLimitExcess[],
    readonly plan: SyncPlan,
  ) {
    super(
      `refusing to sync: ${calendars.map((c) => `${c.deletes} of ${c.owned} synced event(s) would be deleted from ${c.calendarId} (at most ${c.allowed} allowed: ${[c.limitCount !== undefined ? `${c.limitCount}` : '', c.limitPercent !== undefined ? `${c.limitPercent}%${c.limitFloor ? ` beyond ${c.limitFloor}` : ''}` : ''].filter(Boolean).join(' / ')})`).join('; ')} — set force to delete them anyway`,
    );
    this.name = 'DeleteLimitError';
  }
}

export interface ShrunkSource {
  /** The source part of the keys (percent-encoded sourceId, '-' for none). */
  source: string;
  /** Its events inside the window at the last successful run. */
  before: number;
  /** …and now. */
  now: number;
}

export class SourceShrankError extends Error {
  constructor(
    readonly sources: ShrunkSource[],
    readonly plan: SyncPlan,
  ) {
    super(
      `refusing to sync: ${sources.map((s) => `source ${sourceLabel(s.source)} delivered ${s.now} event(s) inside the window, ${s.before} at the last successful run`).join('; ')}` +
      ' — a feed that lost more than half of its events is usually truncated or filtered; set allowShrink to sync it anyway',
    );
    this.name = 'SourceShrankError';
  }
}

export type GuardError = SourceEmptyError | SourceShrankError | DeleteLimitError;

/** The delete limit of a calendar with `owned` synced events under `max`. */
export function allowedDeletes(max: MaxDeletes, owned: number): number {
  let allowed = Number.POSITIVE_INFINITY;
  if (max.percent !== undefined) allowed = Math.max(max.floor ?? DEFAULT_DELETE_FLOOR, Math.floor((owned * max.percent) / 100));
  if (max.count !== undefined) allowed = Math.min(allowed, max.count);
  return allowed;
}

/** The state to keep after a successful run: per source, its events inside the window (for SourceShrankError next time). */
export function runStateOf(plan: SyncPlan, previous?: SyncRunState): SyncRunState {
  const sources: Record<string, number> = {};
  for (const [source, s] of Object.entries(plan.sources)) {
    // A failed source delivered nothing this run: keep what it had, so a later good run compares with that.
    if (s.failure !== undefined) {
      if (previous?.sources[source] !== undefined) sources[source] = previous.sources[source];
    } else sources[source] = s.desiredInWindow ?? s.desired;
  }
  return { v: 1, at: plan.now, sources };
}

/** Guard errors the plan trips under the policy (empty when it may be applied). */
export function guardViolations(plan: SyncPlan, policy: SyncPolicy): GuardError[] {
  const out: GuardError[] = [];
  const refused: EmptySource[] = [];
  for (const [source, s] of Object.entries(plan.sources)) {
    if (s.failure !== undefined) {
      if (!policy.keepFailedSources && (s.kept ?? 0) > 0) refused.push({ source, ownedInWindow: s.kept!, failure: s.failure });
    } else if (!policy.allowEmptySource && (s.desiredInWindow ?? s.desired) === 0 && s.owned > 0) {
      // A source whose items could not be read is not empty: say so, with the first errors (each names its line or item).
      const errors = s.unreadable ? (policy.unreadable ?? []).filter((u) => sourceKeyPart(u.sourceId) === source)
        .slice(0, UNREADABLE_SHOWN).map((u) => u.message ?? `UID ${u.uid}`) : [];
      refused.push({ source, ownedInWindow: s.owned, ...(s.unreadable ? { unreadable: s.unreadable, errors, ...(s.desired ? { readable: s.desired } : {}) } : {}) });
    }
  }
  if (refused.length) out.push(new SourceEmptyError(refused, plan));
  const shrunk = shrunkSources(plan, policy);
  if (shrunk.length) out.push(new SourceShrankError(shrunk, plan));
  const max = policy.maxDeletes ?? DEFAULT_MAX_DELETES;
  if (!policy.force && (max.count !== undefined || max.percent !== undefined)) {
    const deletes = new Map<string, number>();
    for (const op of plan.ops) if (op.action === 'delete' && !op.exactDouble && !op.replaced) deletes.set(op.calendarId, (deletes.get(op.calendarId) ?? 0) + 1);
    const excess: DeleteLimitExcess[] = [];
    for (const [calendarId, n] of deletes) {
      const owned = plan.calendars[calendarId]?.owned ?? 0;
      const allowed = allowedDeletes(max, owned);
      if (n > allowed) {
        excess.push({
          calendarId, deletes: n, owned, allowed, limitCount: max.count, limitPercent: max.percent,
          ...(max.percent !== undefined ? { limitFloor: max.floor ?? DEFAULT_DELETE_FLOOR } : {}),
        });
      }
    }
    if (excess.length) out.push(new DeleteLimitError(excess, plan));
  }
  return out;
}

function shrunkSources(plan: SyncPlan, policy: SyncPolicy): ShrunkSource[] {
  const last = policy.lastRun;
  if (!last || policy.allowShrink || last.v !== 1) return [];
  const out: ShrunkSource[] = [];
  for (const [source, before] of Object.entries(last.sources)) {
    const s = plan.sources[source];
    if (s?.failure !== undefined) continue; // a failed source is guarded by failedSources
    const now = s ? (s.desiredInWindow ?? s.desired) : 0;
    // Empty with owned events is SourceEmptyError's case; empty without any is nothing to lose.
    if (now === 0) continue;
    if (now * 2 < before && before - now > SHRINK_MIN_LOST) out.push({ source, before, now });
  }
  return out;
}

/** Throws the first guard error the plan trips (SourceEmptyError, SourceShrankError, then DeleteLimitError). */
export function checkGuards(plan: SyncPlan, policy: SyncPolicy): void {
  const [first] = guardViolations(plan, policy);
  if (first) throw first;
}
