/**
 * Safety guards: named errors with the numbers in them, each with an explicit override in the
 * policy. They run on a finished plan (so the error can carry it: a refused sync can still be
 * shown as a dry run).
 *
 * - SourceEmptyError (override `allowEmptySource`): a source delivered no events at all while the
 *   target still holds events we wrote for it inside the window. That is far more often a broken
 *   feed than a real "everything was cancelled" (vdirsyncer's StorageEmpty), so refuse rather than
 *   delete everything. Sources listed in policy.failedSources are not deleted from in the first
 *   place, so they never trip this guard.
 * - DeleteLimitError (override `force`): a calendar would lose more than maxDeletes.count events,
 *   or more than maxDeletes.percent % of the events we own there (only checked from
 *   PERCENT_GUARD_MIN_OWNED owned events up: 1 of 2 is no signal). Deletes that only remove
 *   duplicates, or replace a series by its expanded occurrences (or the reverse), do not count:
 *   they lose no content.
 */
import type { SyncPlan, SyncPolicy } from './sync-types';

export const PERCENT_GUARD_MIN_OWNED = 10;

export class SourceEmptyError extends Error {
  constructor(
    readonly sources: Array<{ source: string; ownedInWindow: number }>,
    readonly plan: SyncPlan,
  ) {
    super(
      `refusing to sync: ${sources.map((s) => `source ${s.source === '-' ? '(unnamed)' : `"${decodeURIComponent(s.source)}"`} delivered no events but ${s.ownedInWindow} synced event(s) are on the target`).join('; ')} ` +
      '— this usually means the feed broke; set allowEmptySource to delete them anyway',
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
}

export class DeleteLimitError extends Error {
  constructor(
    readonly calendars: DeleteLimitExcess[],
    readonly plan: SyncPlan,
  ) {
    super(
      `refusing to sync: ${calendars.map((c) => `${c.deletes} of ${c.owned} synced event(s) would be deleted from ${c.calendarId} (limit ${[c.limitCount !== undefined ? `${c.limitCount}` : '', c.limitPercent !== undefined ? `${c.limitPercent}%` : ''].filter(Boolean).join(' / ')})`).join('; ')} — set force to delete them anyway`,
    );
    this.name = 'DeleteLimitError';
  }
}

/** Guard errors the plan trips under the policy (empty when it may be applied). */
export function guardViolations(plan: SyncPlan, policy: SyncPolicy): Array<SourceEmptyError | DeleteLimitError> {
  const out: Array<SourceEmptyError | DeleteLimitError> = [];
  if (!policy.allowEmptySource) {
    const empty = Object.entries(plan.sources)
      .filter(([, s]) => s.desired === 0 && s.owned > 0)
      .map(([source, s]) => ({ source, ownedInWindow: s.owned }));
    if (empty.length) out.push(new SourceEmptyError(empty, plan));
  }
  const max = policy.maxDeletes;
  if (!policy.force && max && (max.count !== undefined || max.percent !== undefined)) {
    const deletes = new Map<string, number>();
    for (const op of plan.ops) if (op.action === 'delete' && !op.duplicate && !op.replaced) deletes.set(op.calendarId, (deletes.get(op.calendarId) ?? 0) + 1);
    const excess: DeleteLimitExcess[] = [];
    for (const [calendarId, n] of deletes) {
      const owned = plan.calendars[calendarId]?.owned ?? 0;
      const overCount = max.count !== undefined && n > max.count;
      const overPercent = max.percent !== undefined && owned >= PERCENT_GUARD_MIN_OWNED && (n / owned) * 100 > max.percent;
      if (overCount || overPercent) excess.push({ calendarId, deletes: n, owned, limitCount: max.count, limitPercent: max.percent });
    }
    if (excess.length) out.push(new DeleteLimitError(excess, plan));
  }
  return out;
}

/** Throws the first guard error the plan trips (SourceEmptyError before DeleteLimitError). */
export function checkGuards(plan: SyncPlan, policy: SyncPolicy): void {
  const [first] = guardViolations(plan, policy);
  if (first) throw first;
}
