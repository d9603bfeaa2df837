/**
 * Safety guards: named errors with the numbers in them, each with an explicit override in the
 * policy. They run on a finished plan (so the error can carry it: a refused sync can still be
 * shown as a dry run).
 *
 * - SourceEmptyError (override `allowEmptySource`): a source delivered no events inside the window
 *   while the target still holds events we wrote for it there (a broken feed that still carries
 *   one far-future event must not slip through). That is far more often a broken
 *   feed than a real "everything was cancelled" (vdirsyncer's StorageEmpty), so refuse rather than
 *   delete everything.
 * - SourceEmptyError (override `keepFailedSources`): a source whose fetch failed
 *   (policy.failedSources) still has events on the target. They are never deleted, but the caller
 *   must say that syncing the other sources without it is fine.
 * - DeleteLimitError (override `force`): a calendar would lose more than maxDeletes.count events,
 *   or more than maxDeletes.percent % of the events we own there (only checked from
 *   PERCENT_GUARD_MIN_OWNED owned events up: 1 of 2 is no signal). Deletes that only remove
 *   duplicates, or replace a series by its expanded occurrences (or the reverse), do not count:
 *   they lose no content.
 */
import type { SyncPlan, SyncPolicy } from './sync-types';

export const PERCENT_GUARD_MIN_OWNED = 10;

export interface EmptySource {
  /** The source part of the keys (percent-encoded sourceId, '-' for none). */
  source: string;
  /** Synced events of it on the target inside the window (for a failed source: those it protects). */
  ownedInWindow: number;
  /** Set for a source whose fetch failed (policy.failedSources): what went wrong. */
  failure?: string;
}

function sourceLabel(source: string): string {
  return source === '-' ? '(unnamed)' : `"${decodeURIComponent(source)}"`;
}

export class SourceEmptyError extends Error {
  constructor(
    readonly sources: EmptySource[],
    readonly plan: SyncPlan,
  ) {
    const empty = sources.filter((s) => s.failure === undefined);
    const failed = sources.filter((s) => s.failure !== undefined);
    super(
      'refusing to sync: ' + [
        ...failed.map((s) => `source ${sourceLabel(s.source)} failed${s.failure ? ` (${s.failure})` : ''}; its ${s.ownedInWindow} synced event(s) on the target are protected`),
        ...empty.map((s) => `source ${sourceLabel(s.source)} delivered no events but ${s.ownedInWindow} synced event(s) are on the target`),
      ].join('; ') + ' — ' + [
        ...(failed.length ? ['set keepFailedSources to sync the other sources and leave the failed ones\' events untouched'] : []),
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
  const refused: EmptySource[] = [];
  for (const [source, s] of Object.entries(plan.sources)) {
    if (s.failure !== undefined) {
      if (!policy.keepFailedSources && (s.kept ?? 0) > 0) refused.push({ source, ownedInWindow: s.kept!, failure: s.failure });
    } else if (!policy.allowEmptySource && (s.desiredInWindow ?? s.desired) === 0 && s.owned > 0) {
      refused.push({ source, ownedInWindow: s.owned });
    }
  }
  if (refused.length) out.push(new SourceEmptyError(refused, plan));
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
