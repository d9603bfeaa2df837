/**
 * The sync window: the part of the timeline a sync manages. Events entirely outside it are
 * neither created nor deleted; a series counts as inside when any part of its span (first start
 * to the end of its last possible occurrence) overlaps it.
 */
import type { CalendarEvent, EventTime } from './event';
import { isRecurringMaster } from './event';
import type { SyncWindowSpec } from './sync-types';
import { eventTimeToUtc, MS } from './time';

export const DEFAULT_WINDOW = { pastDays: 7, futureDays: 365 } as const;

export class SyncWindowError extends Error {
  constructor(message: string, readonly spec: unknown) {
    super(message);
    this.name = 'SyncWindowError';
  }
}

/** [from, to) in UTC epoch ms. */
export function resolveWindow(spec: SyncWindowSpec | undefined, now: number): { from: number; to: number } {
  const s = spec ?? DEFAULT_WINDOW;
  let w: { from: number; to: number };
  if ('from' in s) w = { from: s.from, to: s.to };
  else w = { from: now - s.pastDays * MS.DAY, to: now + s.futureDays * MS.DAY };
  if (!Number.isFinite(w.from) || !Number.isFinite(w.to) || w.from >= w.to) {
    throw new SyncWindowError(`sync window must have from < to (got from=${w.from}, to=${w.to})`, spec);
  }
  return w;
}

/** Start and end instants of one event (floating and all-day read in `floatingZone`). Throws TimeFormatError on bad times. */
export function eventSpan(e: Pick<CalendarEvent, 'start' | 'end'>, floatingZone = 'UTC'): { start: number; end: number } {
  const start = eventTimeToUtc(e.start, floatingZone);
  const end = e.end ? eventTimeToUtc(e.end, floatingZone) : start;
  return { start, end: Math.max(start, end) };
}

function untilInstant(rule: string, like: EventTime, floatingZone: string): number {
  const m = /(?:^|;)UNTIL=(\d{8})(T\d{6}Z?)?/i.exec(rule);
  if (!m) return Infinity;
  const d = `${m[1].slice(0, 4)}-${m[1].slice(4, 6)}-${m[1].slice(6, 8)}`;
  if (!m[2]) return eventTimeToUtc({ date: d }, floatingZone) + MS.DAY; // a date UNTIL includes that whole day
  const t = m[2].toUpperCase();
  const dt = `${d}T${t.slice(1, 3)}:${t.slice(3, 5)}:${t.slice(5, 7)}`;
  if (t.endsWith('Z')) return eventTimeToUtc({ dateTime: `${dt}Z` });
  return eventTimeToUtc({ dateTime: dt, timeZone: like.timeZone }, floatingZone);
}

/**
 * The span a series can occupy: from its first start to the end of its last occurrence, or
 * Infinity when a rule is unbounded (no UNTIL; COUNT is treated as unbounded — a conservative
 * "inside" that at worst writes a series with no occurrence in the window).
 */
export function seriesSpan(e: CalendarEvent, floatingZone = 'UTC'): { start: number; end: number } {
  const own = eventSpan(e, floatingZone);
  const duration = own.end - own.start;
  let start = own.start;
  let end = own.end;
  const r = e.recurrence;
  if (r) {
    for (const rule of r.rrule) end = Math.max(end, untilInstant(rule, e.start, floatingZone) + duration);
    for (const rd of r.rdate) {
      const t = eventTimeToUtc(rd, floatingZone);
      start = Math.min(start, t);
      end = Math.max(end, t + duration);
    }
  }
  return { start, end };
}

/** Whether [start, end) overlaps [from, to); a zero-length event counts when its instant is inside. */
export function spanOverlaps(span: { start: number; end: number }, w: { from: number; to: number }): boolean {
  if (span.end === span.start) return span.start >= w.from && span.start < w.to;
  return span.start < w.to && span.end > w.from;
}

/** Whether an event (or a whole series, for a master) overlaps the window. Throws TimeFormatError on bad times. */
export function overlapsWindow(e: CalendarEvent, w: { from: number; to: number }, floatingZone = 'UTC'): boolean {
  const span = isRecurringMaster(e) ? seriesSpan(e, floatingZone) : eventSpan(e, floatingZone);
  return spanOverlaps(span, w);
}
