/**
 * What a new snapshot of a source means, decided inside the store transaction (Store.recordPush):
 * unchanged, refused (an empty snapshot would wipe a non-empty one), or a new version whose diff
 * goes into the outbox. Shared by webhook intake (server.ts) and subscription polling
 * (subscriptions.ts), so both forward diffs the same way.
 */
import { randomUUID } from 'node:crypto';
import type { CalendarEvent, ParseIssue } from '../../core/event';
import type { PushPlan, PushSnapshot } from './store/types';
import { diffSnapshots, isEmptyDiff, snapshotHash, type SnapshotEntry } from './snapshot';

/** Thrown from inside the plan: the transaction rolls back and the caller answers `status`. */
export class PushRefused extends Error {
  constructor(readonly status: number, readonly body: Record<string, unknown>) {
    super(String(body.error));
  }
}

export interface PlanInput {
  source: string;
  events: CalendarEvent[];
  entries: SnapshotEntry[];
  rejected: ParseIssue[];
  at: number;
  deliveryUrl?: string;
  pushId?: string;
  allowEmpty: boolean;
  /** Extra fields of the delivered payload (a subscription adds its id). */
  extra?: Record<string, unknown>;
}

export function planPush(p: PlanInput): (prev: PushSnapshot | undefined) => PushPlan {
  const hash = snapshotHash(p.entries);
  return (prev) => {
    const previousVersion = prev?.version ?? 0;
    if (prev && snapshotHash(prev.entries) === hash) {
      return { response: { source: p.source, version: previousVersion, previousVersion, unchanged: true, added: 0, changed: 0, removed: 0, delivery: null, rejected: p.rejected } };
    }
    // A source that suddenly sends nothing would delete everything downstream: refuse unless asked.
    if (p.entries.length === 0 && prev && prev.entries.length > 0 && !p.allowEmpty) {
      throw new PushRefused(409, { error: `push has no valid events but the stored snapshot has ${prev.entries.length}; send X-Relay-Allow-Empty: true to clear the source`, items: p.rejected });
    }
    const diff = diffSnapshots(prev?.entries, p.events);
    const version = previousVersion + 1;
    let outbox;
    if (p.deliveryUrl && !isEmptyDiff(diff)) {
      const deliveryId = randomUUID();
      const payload = JSON.stringify({ deliveryId, source: p.source, ...(p.extra ?? {}), version, previousVersion, pushId: p.pushId ?? null, receivedAt: new Date(p.at).toISOString(), counts: { added: diff.added.length, changed: diff.changed.length, removed: diff.removed.length }, ...diff });
      outbox = { deliveryId, url: p.deliveryUrl, payload };
    }
    return {
      snapshot: { hash, entries: p.entries },
      outbox,
      response: { source: p.source, version, previousVersion, unchanged: false, added: diff.added.length, changed: diff.changed.length, removed: diff.removed.length, delivery: outbox?.deliveryId ?? null, rejected: p.rejected },
    };
  };
}
