/**
 * The bridge's use of core's snapshot diff (core/snapshot.ts, the same one the polling triggers
 * use): keys are the sync's source keys, "changed" means core's fingerprint changed.
 *
 * Core keeps only key → fingerprint; the bridge also stores each event so it can deliver the old
 * version of a changed event and the last version of a removed one. The stored form is
 * SnapshotEntry[]; the keys and fingerprints are always recomputed from the stored events, so
 * snapshots written by older versions (keyed by eventKey, full fingerprints) keep working.
 */
import type { CalendarEvent } from '../../core/event';
import { sha256Hex } from '../../core/fingerprint';
import { diffSnapshot, keyEvents, snapshotOf } from '../../core/snapshot';

/** What the bridge stores of a snapshot: each event with its source key and fingerprint. */
export interface SnapshotEntry {
  key: string;
  fingerprint: string;
  event: CalendarEvent;
}

/** The diff delivered to n8n: whole events, the old and new version of a changed one. */
export interface SnapshotDiff {
  added: CalendarEvent[];
  changed: Array<{ before: CalendarEvent; after: CalendarEvent }>;
  removed: CalendarEvent[];
}

export function snapshotEntries(events: CalendarEvent[]): SnapshotEntry[] {
  return keyEvents(events).map(({ key, fingerprint, event }) => ({ key, fingerprint, event }));
}

/** Hash of what a list of stored entries means (recomputed from the events, whatever their stored keys). */
export function snapshotHash(entries: SnapshotEntry[]): string {
  const snap = snapshotOf(entries.map((e) => e.event));
  return sha256Hex(Object.keys(snap).sort().map((k) => `${k}\u001e${snap[k]}`).join('\n'));
}

/** `prev` is the stored snapshot (undefined for the first push); `events` the new push. */
export function diffSnapshots(prev: SnapshotEntry[] | undefined, events: CalendarEvent[]): SnapshotDiff {
  const prevEvents = (prev ?? []).map((e) => e.event);
  // A key repeated in one snapshot keeps its last event, as core's snapshotOf keeps its last fingerprint.
  const before = new Map(keyEvents(prevEvents).map((e) => [e.key, e.event]));
  const d = diffSnapshot(prev ? snapshotOf(prevEvents) : undefined, events);
  const old = (key: string): CalendarEvent => {
    const e = before.get(key);
    if (!e) throw new Error(`snapshot diff: no stored event for key ${key}`); // cannot happen: the keys come from prevEvents
    return e;
  };
  return {
    added: d.added.map((e) => e.event),
    changed: d.changed.map((c) => ({ before: old(c.key), after: c.event })),
    removed: d.removed.map((r) => old(r.key)),
  };
}

export function isEmptyDiff(d: SnapshotDiff): boolean {
  return d.added.length === 0 && d.changed.length === 0 && d.removed.length === 0;
}
