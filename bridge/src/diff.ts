/**
 * The change between two snapshots of one source, keyed by core's eventKey (UID + RECURRENCE-ID +
 * source) and compared by core's fingerprint. Kept behind this one function so it can be swapped
 * for core's own snapshot diff (helper H5's core/snapshot*.ts) without touching the callers.
 */
import type { CalendarEvent } from '../../core/event';
import { eventKey } from '../../core/event';
import { fingerprint } from '../../core/fingerprint';

/** What the bridge keeps of a snapshot: each event with its key and fingerprint. */
export interface SnapshotEntry {
  key: string;
  fingerprint: string;
  event: CalendarEvent;
}

export interface SnapshotDiff {
  added: CalendarEvent[];
  changed: Array<{ before: CalendarEvent; after: CalendarEvent }>;
  removed: CalendarEvent[];
}

export function snapshotEntries(events: CalendarEvent[]): SnapshotEntry[] {
  return events.map((event) => ({ key: eventKey(event), fingerprint: fingerprint(event), event }));
}

/** `prev` is the stored snapshot (undefined for the first push); `events` the new push. */
export function diffSnapshots(prev: SnapshotEntry[] | undefined, events: CalendarEvent[]): SnapshotDiff {
  const before = new Map((prev ?? []).map((e) => [e.key, e]));
  const diff: SnapshotDiff = { added: [], changed: [], removed: [] };
  const seen = new Set<string>();
  for (const entry of snapshotEntries(events)) {
    // A key repeated inside one push: the parser already keeps one revision; the last one wins here too.
    if (seen.has(entry.key)) continue;
    seen.add(entry.key);
    const old = before.get(entry.key);
    if (!old) diff.added.push(entry.event); // new in this push
    else if (old.fingerprint !== entry.fingerprint) diff.changed.push({ before: old.event, after: entry.event }); // content changed
  }
  for (const [key, old] of before) if (!seen.has(key)) diff.removed.push(old.event); // gone from the source
  return diff;
}

export function isEmptyDiff(d: SnapshotDiff): boolean {
  return d.added.length === 0 && d.changed.length === 0 && d.removed.length === 0;
}
