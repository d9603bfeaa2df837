/**
 * Snapshot diff for polling triggers: what changed in a feed since the last poll.
 *
 * The state a trigger keeps is a Snapshot: source key → short fingerprint. It is small (one short
 * string pair per event, no event content) and plain JSON, so it fits n8n's workflow static data.
 * Keys are the sync's own source keys (core/sync-key.ts): a series master or single event by UID
 * (`uidKey`), an override by its master's key + RECURRENCE-ID (`overrideKey`), or by content with
 * identity 'content' (sources whose UIDs change on every fetch). So a trigger and a Room Sync fed by
 * the same feed agree on what "the same event" is.
 *
 * "Changed" means the fingerprint changed (core/fingerprint.ts: only the fields a sync writes), so
 * a new DTSTAMP or SEQUENCE alone is not a change.
 */
import type { CalendarEvent } from './event';
import { fingerprint } from './fingerprint';
import { contentKey, overrideKey, uidKey } from './sync-key';

/** Source key → short fingerprint. */
export type Snapshot = Record<string, string>;

export interface SnapshotOptions {
  /** 'uid' (default): UID + RECURRENCE-ID; 'content': hash of what the event is (see core/sync-key.ts). */
  identity?: 'uid' | 'content';
}

export interface SnapshotEntry {
  key: string;
  event: CalendarEvent;
  /** The fingerprint stored in the snapshot. */
  fingerprint: string;
}

export interface SnapshotDiff {
  added: SnapshotEntry[];
  /** `previous` is the fingerprint the event had at the last poll. */
  changed: Array<SnapshotEntry & { previous: string }>;
  /** Only keys survive in a snapshot: a removed event is known by its key and last fingerprint. */
  removed: Array<{ key: string; fingerprint: string }>;
  unchanged: number;
  /** The snapshot to store once the poll has succeeded. */
  next: Snapshot;
}

/** Characters of the fingerprint kept per event (64 bits of SHA-256: collisions are not a concern at feed sizes). */
const SHORT = 16;

function shortFingerprint(e: CalendarEvent): string {
  return fingerprint(e).slice(-SHORT);
}

/** Each event with its source key, the same keys syncCalendars stamps on target events. */
export function keyEvents(events: CalendarEvent[], opts: SnapshotOptions = {}): SnapshotEntry[] {
  const out: SnapshotEntry[] = [];
  const seen = new Map<string, number>();
  for (const e of events) {
    let key: string;
    if (opts.identity === 'content') {
      const base = contentKey(e);
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      key = n === 1 ? base : contentKey(e, n);
    } else {
      const master = uidKey(e);
      key = e.recurrenceId ? overrideKey(master, e.recurrenceId) : master;
    }
    out.push({ key, event: e, fingerprint: shortFingerprint(e) });
  }
  return out;
}

/** The snapshot of a list of events (a key delivered twice keeps its last fingerprint, as the sync keeps one copy). */
export function snapshotOf(events: CalendarEvent[], opts: SnapshotOptions = {}): Snapshot {
  const snap: Snapshot = {};
  for (const { key, fingerprint: fp } of keyEvents(events, opts)) snap[key] = fp;
  return snap;
}

/** Compares the current events with the previous snapshot. Pure: the caller stores `next` only after success. */
export function diffSnapshot(previous: Snapshot | undefined, events: CalendarEvent[], opts: SnapshotOptions = {}): SnapshotDiff {
  const prev = previous ?? {};
  const current = new Map<string, SnapshotEntry>();
  for (const entry of keyEvents(events, opts)) current.set(entry.key, entry);
  const diff: SnapshotDiff = { added: [], changed: [], removed: [], unchanged: 0, next: {} };
  for (const [key, entry] of current) {
    diff.next[key] = entry.fingerprint;
    const before = Object.prototype.hasOwnProperty.call(prev, key) ? prev[key] : undefined;
    if (before === undefined) diff.added.push(entry);
    else if (before !== entry.fingerprint) diff.changed.push({ ...entry, previous: before });
    else diff.unchanged++;
  }
  for (const key of Object.keys(prev)) if (!current.has(key)) diff.removed.push({ key, fingerprint: prev[key] });
  return diff;
}

/** What a key says about its event (for removed events, of which only the key is kept). */
export function describeKey(key: string): { sourceId?: string; uid?: string; occurrence?: string } {
  const parts = key.split(' ');
  const out: { sourceId?: string; uid?: string; occurrence?: string } = {};
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  if (parts[1] && parts[1] !== '-' && !parts[1].startsWith('h.')) out.sourceId = decode(parts[1]);
  for (const p of parts.slice(2)) {
    if (p.startsWith('u:')) out.uid = decode(p.slice(2));
    else if (p.startsWith('r:') || p.startsWith('o:')) out.occurrence = p.slice(2);
  }
  return out;
}

/** True when `value` is a well-formed Snapshot (static data written by an older version may not be). */
export function isSnapshot(value: unknown): value is Snapshot {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  return Object.values(value as Record<string, unknown>).every((v) => typeof v === 'string');
}
