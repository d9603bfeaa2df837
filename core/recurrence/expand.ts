/**
 * expandOccurrences: every occurrence of a set of CalendarEvents that overlaps a window, with
 * RRULE/RDATE/EXDATE/EXRULE and RECURRENCE-ID overrides applied. Series are iterated in their own
 * wall clock (IANA zone, floating, or dates) and placed on the timeline with wallToUtc, so a
 * 09:00 Europe/Berlin meeting stays 09:00 local across DST. One bad series becomes a ParseIssue;
 * the others are still expanded.
 */
import type { CalendarEvent, EventTime, ParseIssue } from '../event';
import { MS, disambiguateEnd, eventTimeToUtc, formatDate, formatUtc, formatWall, instantToEventTime, isKnownTimeZone, parseWall, utcToWall, wallToUtc } from '../time';
import { RRuleError, RecurrenceLimitError, iterateRRule, parseRRule } from './rrule';

const DAY = MS.DAY;

export interface Occurrence {
  uid: string;
  sourceId?: string;
  /** The occurrence's original start (null for a non-recurring event). */
  recurrenceId: EventTime | null;
  start: EventTime;
  end: EventTime;
  allDay: boolean;
  title: string;
  /** The master or override this occurrence came from. */
  event: CalendarEvent;
}

export interface ExpansionResult {
  occurrences: Occurrence[];
  errors: ParseIssue[];
}

export interface ExpandOptions {
  /** Zone in which floating times and all-day dates are placed on the timeline. Default UTC. */
  floatingZone?: string;
  /** Cap on rule iteration steps per RRULE/EXRULE (see iterateRRule). Default 1,000,000. */
  maxIterations?: number;
  /** Cap on occurrences kept per series inside the window (memory guard). Default 100,000. */
  maxOccurrencesPerSeries?: number;
}

/** The window bound given to expandOccurrences could not be read. */
export class ExpansionWindowError extends Error {
  constructor(message: string, readonly value: unknown) {
    super(message);
    this.name = 'ExpansionWindowError';
  }
}

const BOUND_RE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$/;

/** A window bound: epoch ms, or ISO text (with Z/offset = an instant; without = wall time in `zone`). */
function readBound(v: number | string, zone: string, name: string): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new ExpansionWindowError(`${name} must be a finite epoch in milliseconds`, v);
    return v;
  }
  const s = String(v).trim();
  if (BOUND_RE.test(s)) {
    const wall = Date.parse(s.length === 10 ? `${s}T00:00:00Z` : `${s}Z`);
    if (!Number.isNaN(wall)) return wallToUtc(wall, zone);
  } else if (/^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/.test(s)) {
    const t = Date.parse(s);
    if (!Number.isNaN(t)) return t;
  }
  throw new ExpansionWindowError(`${name} "${s}" is not an ISO date or date-time like 2025-01-01 or 2025-01-01T00:00:00Z`, v);
}

/** How a series' wall values map to instants. */
interface Frame {
  kind: 'date' | 'utc' | 'zoned' | 'floating';
  /** Zone used for wall ⇄ UTC: the event's own, or the floating zone for floating/all-day. */
  zone: string;
}

function frameOf(t: EventTime, floatingZone: string): Frame {
  if (t.date !== undefined) return { kind: 'date', zone: floatingZone };
  if (t.dateTime?.endsWith('Z')) return { kind: 'utc', zone: 'UTC' };
  if (t.timeZone) return { kind: 'zoned', zone: t.timeZone };
  return { kind: 'floating', zone: floatingZone };
}

/** Wall value of `t` in `frame` (an EXDATE/RDATE/RECURRENCE-ID may be written in another zone than the series). */
function wallInFrame(t: EventTime, frame: Frame): number {
  const wall = parseWall(t.date ?? t.dateTime ?? '');
  if (t.date !== undefined) return wall;
  if (t.dateTime!.endsWith('Z')) return frame.kind === 'utc' ? wall : utcToWall(wall, frame.zone);
  if (t.timeZone && t.timeZone !== frame.zone && frame.kind !== 'date') return utcToWall(wallToUtc(wall, t.timeZone), frame.zone);
  return wall; // floating, or already in the frame's zone: read as the series' own wall clock
}

interface Collected {
  occ: Occurrence;
  startUtc: number;
}

/**
 * All occurrences overlapping [from, to) (start < to && end > from; zero-length when
 * from <= start < to), sorted by start (UTC instant; floating/all-day read in opts.floatingZone,
 * default UTC) then uid. Events and overrides with STATUS:CANCELLED yield nothing.
 */
export function expandOccurrences(events: CalendarEvent[], from: number | string, to: number | string, opts: ExpandOptions = {}): ExpansionResult {
  const floatingZone = opts.floatingZone ?? 'UTC';
  if (!isKnownTimeZone(floatingZone)) throw new ExpansionWindowError(`floatingZone "${floatingZone}" is not a known IANA time zone`, floatingZone);
  const fromUtc = readBound(from, floatingZone, 'from');
  const toUtc = readBound(to, floatingZone, 'to');
  const errors: ParseIssue[] = [];
  const out: Collected[] = [];
  if (!(toUtc > fromUtc)) return { occurrences: [], errors };

  const ctx: SeriesContext = { fromUtc, toUtc, floatingZone, opts, out, errors };

  // Group masters with their overrides by (sourceId, uid) in one pass: a per-event search would be quadratic.
  const groups = new Map<string, { masters: CalendarEvent[]; overrides: CalendarEvent[] }>();
  for (const e of events) {
    if (!e || typeof e !== 'object' || !e.start) continue;
    const recurring = !!e.recurrenceId || (!!e.recurrence && (e.recurrence.rrule?.length > 0 || e.recurrence.rdate?.length > 0));
    if (!recurring) {
      emitSingle(e, null, ctx);
      continue;
    }
    const key = `${e.sourceId ?? ''}\u001f${e.uid}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { masters: [], overrides: [] }));
    (e.recurrenceId ? g.overrides : g.masters).push(e);
  }
  for (const g of groups.values()) {
    try {
      expandGroup(g.masters, g.overrides, ctx);
    } catch (err) {
      // Last line of defence: one series never sinks the others.
      const uid = (g.masters[0] ?? g.overrides[0]).uid;
      errors.push({ uid, message: `UID ${uid}: could not expand: ${(err as Error).message}` });
    }
  }

  out.sort((a, b) => a.startUtc - b.startUtc || (a.occ.uid < b.occ.uid ? -1 : a.occ.uid > b.occ.uid ? 1 : 0));
  return { occurrences: out.map((c) => c.occ), errors };
}

interface SeriesContext {
  fromUtc: number;
  toUtc: number;
  floatingZone: string;
  opts: ExpandOptions;
  out: Collected[];
  errors: ParseIssue[];
}

function overlaps(startUtc: number, endUtc: number, ctx: SeriesContext): boolean {
  if (endUtc <= startUtc) return startUtc >= ctx.fromUtc && startUtc < ctx.toUtc;
  return startUtc < ctx.toUtc && endUtc > ctx.fromUtc;
}

/** A non-recurring event or an override: included as is when it overlaps the window. */
function emitSingle(e: CalendarEvent, recurrenceId: EventTime | null, ctx: SeriesContext): void {
  if (e.status === 'CANCELLED') return;
  let startUtc: number, endUtc: number, end: EventTime;
  try {
    startUtc = eventTimeToUtc(e.start, ctx.floatingZone);
    // An end in the hour repeated when DST ends that reads as before the start means its second pass.
    end = e.end ? disambiguateEnd(e.start, e.end, ctx.floatingZone) : e.start;
    endUtc = eventTimeToUtc(end, ctx.floatingZone);
  } catch (err) {
    ctx.errors.push({ uid: e.uid, message: `UID ${e.uid}: unreadable start/end: ${(err as Error).message}` });
    return;
  }
  if (!overlaps(startUtc, endUtc, ctx)) return;
  const occ: Occurrence = { uid: e.uid, recurrenceId, start: e.start, end, allDay: e.start.date !== undefined, title: e.title, event: e };
  if (e.sourceId !== undefined) occ.sourceId = e.sourceId;
  ctx.out.push({ occ, startUtc });
}

function expandGroup(masters: CalendarEvent[], overrides: CalendarEvent[], ctx: SeriesContext): void {
  // Overrides appear on their own (moved in, moved out, or matching nothing); cancelled ones only remove.
  for (const o of overrides) emitSingle(o, o.recurrenceId ?? null, ctx);
  for (const m of masters) expandSeries(m, overrides, ctx);
}

function expandSeries(master: CalendarEvent, overrides: CalendarEvent[], ctx: SeriesContext): void {
  const { floatingZone, opts, errors } = ctx;
  const uid = master.uid;
  if (master.status === 'CANCELLED') return; // a cancelled series has no occurrences
  const frame = frameOf(master.start, floatingZone);
  if (frame.kind === 'zoned' && !isKnownTimeZone(frame.zone)) {
    errors.push({ uid, message: `UID ${uid}: unknown time zone "${frame.zone}"; series not expanded` });
    return;
  }
  const isDate = frame.kind === 'date';
  const toInstant = (w: number) => (frame.kind === 'utc' ? w : wallToUtc(w, frame.zone));
  const toWall = (u: number) => (frame.kind === 'utc' ? u : utcToWall(u, frame.zone));
  const startWall = parseWall(isDate ? master.start.date! : master.start.dateTime!);

  // RFC 5545 §3.8.5.3 / §3.6.1: every instance gets DTEND−DTSTART as an exact duration (whole days for all-day events).
  let durMs = 0, durDays = 0;
  if (master.end) {
    if (isDate) durDays = master.end.date ? Math.max(0, Math.round((parseWall(master.end.date) - startWall) / DAY)) : 1;
    else durMs = Math.max(0, eventTimeToUtc(disambiguateEnd(master.start, master.end, floatingZone), floatingZone) - eventTimeToUtc(master.start, floatingZone));
  }
  const spanMs = isDate ? durDays * DAY : durMs;
  // Wall bounds with a day of margin (offsets differ by < 1 day); exact checks happen per instance.
  const fromWall = toWall(ctx.fromUtc) - spanMs - DAY;
  const toWallBound = toWall(ctx.toUtc) + DAY;

  const walls: number[] = [];
  const keep = (w: number) => { if (w >= fromWall && w < toWallBound) walls.push(w); };
  keep(startWall); // DTSTART always counts, even when a rule is broken
  const iterOpts = { isDate, untilToWall: toWall, maxIterations: opts.maxIterations, startAtWall: fromWall };
  const rec = master.recurrence;
  for (const text of rec?.rrule ?? []) {
    try {
      const rule = parseRRule(text);
      for (const w of iterateRRule(rule, startWall, iterOpts)) {
        if (w >= toWallBound) break;
        keep(w);
      }
    } catch (err) {
      if (err instanceof RRuleError) errors.push({ uid, message: `UID ${uid}: RRULE "${text}" ignored: ${err.message}` });
      else if (err instanceof RecurrenceLimitError) errors.push({ uid, message: `UID ${uid}: RRULE "${text}" stopped: ${err.message}; later occurrences omitted` });
      else throw err;
    }
  }
  for (const rd of rec?.rdate ?? []) {
    try {
      // A DATE RDATE on a timed series takes DTSTART's time of day.
      let w = wallInFrame(rd, frame);
      if (rd.date !== undefined && !isDate) w += startWall - Math.floor(startWall / DAY) * DAY;
      keep(isDate ? Math.floor(w / DAY) * DAY : w);
    } catch (err) {
      errors.push({ uid, message: `UID ${uid}: RDATE ignored: ${(err as Error).message}` });
    }
  }

  // Exclusions, by instant (or by day for DATE values on a timed series, and for all-day series).
  const exInstants = new Set<number>();
  const exDays = new Set<number>();
  for (const ex of rec?.exdate ?? []) {
    try {
      if (ex.date !== undefined || isDate) exDays.add(Math.floor(wallInFrame(ex, frame) / DAY));
      else exInstants.add(toInstant(wallInFrame(ex, frame)));
    } catch (err) {
      errors.push({ uid, message: `UID ${uid}: EXDATE ignored: ${(err as Error).message}` });
    }
  }
  const exRuleWalls = new Set<number>();
  for (const text of rec?.exrule ?? []) {
    try {
      for (const w of iterateRRule(parseRRule(text), startWall, { ...iterOpts, includeDtstart: false })) {
        if (w >= toWallBound) break;
        exRuleWalls.add(w);
      }
    } catch (err) {
      if (err instanceof RRuleError || err instanceof RecurrenceLimitError) errors.push({ uid, message: `UID ${uid}: EXRULE "${text}" ignored: ${err.message}` });
      else throw err;
    }
  }
  // Overrides replace the instance they name: matched by instant, or by date for all-day series / DATE ids.
  const overInstants = new Set<number>();
  const overDays = new Set<number>();
  for (const o of overrides) {
    const rid = o.recurrenceId!;
    try {
      if (rid.date !== undefined || isDate) overDays.add(Math.floor(wallInFrame(rid, frame) / DAY));
      else overInstants.add(toInstant(wallInFrame(rid, frame)));
    } catch (err) {
      errors.push({ uid, message: `UID ${uid}: RECURRENCE-ID unreadable: ${(err as Error).message}` });
    }
  }

  walls.sort((a, b) => a - b);
  const cap = opts.maxOccurrencesPerSeries ?? 100_000;
  let kept = 0;
  let prev = NaN;
  for (const w of walls) {
    if (w === prev) continue;
    prev = w;
    const startUtc = toInstant(w);
    const day = Math.floor(w / DAY);
    if (isDate) {
      if (exDays.has(day) || overDays.has(day)) continue;
    } else if (exInstants.has(startUtc) || exDays.has(day) || overInstants.has(startUtc) || overDays.has(day)) continue;
    if (exRuleWalls.has(w)) continue;
    const endUtc = isDate ? toInstant(w + spanMs) : startUtc + durMs;
    if (!overlaps(startUtc, endUtc, ctx)) continue;
    if (++kept > cap) {
      errors.push({ uid, message: `UID ${uid}: more than ${cap} occurrences in the window; the rest are omitted` });
      break;
    }
    const start = timeInFrame(w, startUtc, frame);
    const end = isDate ? { date: formatDate(w + spanMs) } : frame.kind === 'floating' ? { dateTime: formatWall(w + durMs) } : instantToEventTime(endUtc, master.start);
    const occ: Occurrence = { uid, recurrenceId: { ...start }, start, end, allDay: isDate, title: master.title, event: master };
    if (master.sourceId !== undefined) occ.sourceId = master.sourceId;
    ctx.out.push({ occ, startUtc });
  }
}

/**
 * Start of a generated instance in the series' own kind. Its wall value came from the rule and its
 * instant from wallToUtc, so the zoned form is exact (the first pass of a repeated hour, RFC 5545).
 * Ends are computed on the timeline and go through instantToEventTime instead: one hour after
 * 01:30 EDT is 01:30 EST, which a zoned wall clock would read back as the first 01:30.
 */
function timeInFrame(wall: number, utc: number, frame: Frame): EventTime {
  switch (frame.kind) {
    case 'date': return { date: formatDate(wall) };
    case 'utc': return { dateTime: formatUtc(utc) };
    case 'zoned': return { dateTime: formatWall(wall), timeZone: frame.zone };
    default: return { dateTime: formatWall(wall) };
  }
}
