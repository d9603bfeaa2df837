/**
 * Wall-clock ⇄ UTC arithmetic for IANA zones using the runtime's Intl (full ICU ships with Node),
 * so no time-zone database is bundled. Pure functions; the only state is a memo of UTC offsets.
 *
 * Conventions: a "wall" value is a number of milliseconds computed as if the local date-time were
 * UTC (`Date.UTC(y, m-1, d, h, mi, s)`); a "utc" value is a real epoch in milliseconds.
 */
import type { EventTime } from './event';

const HOUR = 3_600_000;
const DAY = 86_400_000;

export class TimeFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimeFormatError';
  }
}

const formatters = new Map<string, Intl.DateTimeFormat | null>();
function formatterFor(tz: string): Intl.DateTimeFormat | null {
  let f = formatters.get(tz);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
        hour: 'numeric', minute: 'numeric', second: 'numeric', era: 'short',
      });
    } catch {
      f = null;
    }
    formatters.set(tz, f);
  }
  return f;
}

/** True when the runtime knows `tz` as an IANA zone (or alias such as "UTC"). */
export function isKnownTimeZone(tz: string): boolean {
  return formatterFor(tz) !== null;
}

/** Canonical spelling of a zone name as the runtime reports it (e.g. "europe/berlin" → "Europe/Berlin"). */
export function canonicalTimeZone(tz: string): string | undefined {
  // resolvedOptions() builds a fresh object each call (≈ 10 µs): memoised, as mappers ask per event.
  if (canonicalMemo.has(tz)) return canonicalMemo.get(tz);
  const f = formatterFor(tz);
  const canon = f ? f.resolvedOptions().timeZone : undefined;
  canonicalMemo.set(tz, canon);
  return canon;
}
const canonicalMemo = new Map<string, string | undefined>();

// Offsets only change at transitions, which never fall closer than hours apart, so a memo keyed
// by UTC quarter-hour is exact for every real zone (all transitions are on 15-minute boundaries).
const offsetMemo = new Map<string, Map<number, number>>();

/** UTC offset of `tz` at the instant `utcMs`, in milliseconds (positive east of Greenwich). */
export function zoneOffsetMs(tz: string, utcMs: number): number {
  if (tz === 'UTC' || tz === 'Etc/UTC') return 0;
  let memo = offsetMemo.get(tz);
  if (!memo) {
    memo = new Map();
    offsetMemo.set(tz, memo);
  }
  const bucket = Math.floor(utcMs / (15 * 60_000));
  const hit = memo.get(bucket);
  if (hit !== undefined) return hit;
  const f = formatterFor(tz);
  if (!f) throw new TimeFormatError(`unknown time zone "${tz}"`);
  const probe = bucket * 15 * 60_000;
  let y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, bc = false;
  for (const p of f.formatToParts(new Date(probe))) {
    switch (p.type) {
      case 'year': y = +p.value; break;
      case 'month': mo = +p.value; break;
      case 'day': d = +p.value; break;
      case 'hour': h = +p.value; break;
      case 'minute': mi = +p.value; break;
      case 'second': s = +p.value; break;
      case 'era': bc = p.value === 'BC' || p.value === 'B'; break;
    }
  }
  if (bc) y = 1 - y;
  const wall = utcFields(y, mo, d, h, mi, s);
  const off = wall - probe;
  if (memo.size > 200_000) memo.clear();
  memo.set(bucket, off);
  return off;
}

/** Date.UTC that also handles years 0–99 literally. */
export function utcFields(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number {
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d);
  t.setUTCHours(h, mi, s, 0);
  return t.getTime();
}

/**
 * Converts a wall-clock time in `tz` to UTC. RFC 5545 §3.3.5: a time inside a DST gap is read
 * with the offset in force before the gap (02:30 on spring-forward day → 03:30 new time); an
 * ambiguous time in the fall-back overlap means its first occurrence — unless `prefer` is
 * 'later' (for an end that would otherwise fall before its start; see disambiguateEnd).
 */
export function wallToUtc(wallMs: number, tz: string, prefer: 'earlier' | 'later' = 'earlier'): number {
  if (tz === 'UTC' || tz === 'Etc/UTC') return wallMs;
  const before = zoneOffsetMs(tz, wallMs - 14 * HOUR);
  const after = zoneOffsetMs(tz, wallMs + 14 * HOUR);
  if (before === after) {
    // No transition nearby: the common fast path.
    return wallMs - before;
  }
  const cBefore = wallMs - before;
  const cAfter = wallMs - after;
  const okBefore = zoneOffsetMs(tz, cBefore) === before;
  const okAfter = zoneOffsetMs(tz, cAfter) === after;
  if (okBefore && okAfter) return prefer === 'later' ? Math.max(cBefore, cAfter) : Math.min(cBefore, cAfter);
  if (okBefore) return cBefore;
  if (okAfter) return cAfter;
  return cBefore; // in the gap
}

/** The wall-clock time in `tz` at the instant `utcMs`. */
export function utcToWall(utcMs: number, tz: string): number {
  return utcMs + zoneOffsetMs(tz, utcMs);
}

function pad(n: number, w = 2): string {
  const s = String(Math.abs(n));
  const p = s.length >= w ? s : '0'.repeat(w - s.length) + s;
  return n < 0 ? '-' + p : p;
}

/** `YYYY-MM-DDTHH:MM:SS` for a wall value. */
export function formatWall(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** `YYYY-MM-DDTHH:MM:SSZ` for a UTC instant. */
export function formatUtc(ms: number): string {
  return formatWall(ms) + 'Z';
}

/** `YYYY-MM-DD` for a wall value. */
export function formatDate(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

const WALL_RE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(Z)?)?$/;

/** Parses `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS[Z]` into a wall value (Z is ignored here). */
export function parseWall(s: string): number {
  const m = WALL_RE.exec(s);
  if (!m) throw new TimeFormatError(`"${s}" is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[Z]`);
  const [y, mo, d, h, mi, sec] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) throw new TimeFormatError(`"${s}" is out of range`);
  const ms = utcFields(y, mo, d, h, mi, Math.min(sec, 59));
  if (new Date(ms).getUTCDate() !== d) throw new TimeFormatError(`"${s}" is not a real calendar date`);
  return ms;
}

/**
 * The instant an EventTime denotes. Floating times and all-day dates have no zone of their own:
 * they are read in `floatingZone` (default UTC), which is what "expand" and sync windows want.
 */
export function eventTimeToUtc(t: EventTime, floatingZone = 'UTC'): number {
  if (t.date !== undefined) return wallToUtc(parseWall(t.date), floatingZone);
  const dt = t.dateTime ?? '';
  const wall = parseWall(dt);
  if (dt.endsWith('Z')) return wall;
  return wallToUtc(wall, t.timeZone ?? floatingZone);
}

/** The EventTime of the same kind as `like` (same zone / floating / date) for a wall value. */
export function wallToEventTime(wallMs: number, like: EventTime): EventTime {
  if (like.date !== undefined) return { date: formatDate(wallMs) };
  if (like.dateTime?.endsWith('Z')) return { dateTime: formatUtc(wallMs) };
  return like.timeZone ? { dateTime: formatWall(wallMs), timeZone: like.timeZone } : { dateTime: formatWall(wallMs) };
}

/**
 * The EventTime of `like`'s kind that denotes the instant `utcMs` (floating: `utcMs` read as a wall
 * value; all-day: its date). A zoned wall clock cannot tell the two passes through the hour
 * repeated when DST ends apart and is read as the first (RFC 5545), so an instant in the *second*
 * pass is returned as a UTC EventTime instead: the model allows start and end in different forms,
 * and the instant survives every reader.
 */
export function instantToEventTime(utcMs: number, like: EventTime): EventTime {
  if (like.date !== undefined || like.dateTime?.endsWith('Z') || !like.timeZone) return wallToEventTime(utcMs, like);
  return instantInZone(utcMs, like.timeZone);
}

/**
 * The instant `utcMs` as a zoned EventTime in the IANA zone `tz` — or as UTC when it lies in the
 * second pass through the hour repeated when DST ends (see instantToEventTime). For mappers that
 * receive instants (an API's RFC 3339 time with offset) and want the zone's wall clock.
 */
export function instantInZone(utcMs: number, tz: string): EventTime {
  const wall = utcToWall(utcMs, tz);
  if (wallToUtc(wall, tz) !== utcMs) return { dateTime: formatUtc(utcMs) };
  return { dateTime: formatWall(wall), timeZone: tz };
}

/**
 * An end as its producer most plausibly meant it. A zoned end in the repeated hour is read as its
 * first occurrence (RFC 5545); when that falls before the start but the second occurrence does
 * not (02:45 → 02:30 on fall-back day: 02:45 summer time to 02:30 standard time), the second is
 * meant, returned as a UTC EventTime. Anything else is returned unchanged. Throws TimeFormatError
 * for unreadable times.
 */
export function disambiguateEnd(start: EventTime, end: EventTime, floatingZone = 'UTC'): EventTime {
  if (end.date !== undefined || start.date !== undefined || !end.timeZone || end.dateTime?.endsWith('Z')) return end;
  const wall = parseWall(end.dateTime ?? '');
  const first = wallToUtc(wall, end.timeZone);
  const startUtc = eventTimeToUtc(start, floatingZone);
  if (first >= startUtc) return end;
  const second = wallToUtc(wall, end.timeZone, 'later');
  return second >= startUtc ? { dateTime: formatUtc(second) } : end;
}

/** The wall value of an EventTime in its own frame (UTC wall for Z times). */
export function eventTimeWall(t: EventTime): number {
  return parseWall(t.date ?? t.dateTime ?? '');
}

export interface Duration {
  /** Nominal part: added on the calendar (wall clock), so "P1D" keeps 09:00 across DST. */
  days: number;
  /** Exact part, in milliseconds: added on the timeline. */
  ms: number;
}

const DURATION_RE = /^([+-])?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

/** Parses an RFC 5545 / ISO 8601 duration such as "PT1H30M", "P1D", "-PT15M", "P2W". */
export function parseDuration(s: string): Duration {
  const m = DURATION_RE.exec(s.trim().toUpperCase());
  if (!m || s.trim().toUpperCase() === 'P' || /T$/.test(s.trim())) throw new TimeFormatError(`"${s}" is not a duration like PT1H30M or P1D`);
  const sign = m[1] === '-' ? -1 : 1;
  const days = (Number(m[2] ?? 0) * 7 + Number(m[3] ?? 0)) * sign;
  const ms = ((Number(m[4] ?? 0) * 3600 + Number(m[5] ?? 0) * 60 + Number(m[6] ?? 0)) * 1000) * sign;
  return { days: days || 0, ms: ms || 0 }; // no negative zeros
}

/**
 * `t` plus `dur` (RFC 5545 §3.3.6): days on the wall clock of the event's zone, hours/minutes/
 * seconds on the timeline, so a 2-hour event across a DST change still lasts 2 real hours. The
 * result has `t`'s kind, except that a zoned result in the second pass through the repeated hour
 * is a UTC EventTime (see instantToEventTime).
 */
export function addDuration(t: EventTime, dur: Duration): EventTime {
  if (t.date !== undefined) {
    const wall = parseWall(t.date) + dur.days * DAY + Math.trunc(dur.ms / DAY) * DAY;
    return { date: formatDate(wall) };
  }
  const wall = parseWall(t.dateTime ?? '') + dur.days * DAY;
  if (dur.ms === 0) return wallToEventTime(wall, t);
  if (t.dateTime!.endsWith('Z') || !t.timeZone) return wallToEventTime(wall + dur.ms, t);
  return instantToEventTime(wallToUtc(wall, t.timeZone) + dur.ms, t);
}

/** Exact duration between two EventTimes in milliseconds (end − start), floating read as UTC. */
export function elapsedMs(start: EventTime, end: EventTime): number {
  return eventTimeToUtc(end) - eventTimeToUtc(start);
}

export const MS = { HOUR, DAY } as const;
