/**
 * Times and series expansion for the Google emulator: RFC 3339 parsing/formatting in an event's
 * zone, and `singleEvents`/`instances` expansion. The series' Google JSON is mapped onto the core
 * CalendarEvent (recurrence lines → rrule/rdate/exdate/exrule) and expanded by core/recurrence's
 * `expandOccurrences`, so the emulator and the sync engine agree on what a rule means.
 */
import { eventTimeToUtc, formatWall, parseWall, utcToWall, wallToUtc, zoneOffsetMs } from '../../core/time';
import type { CalendarEvent, EventTime } from '../../core/event';
import { expandOccurrences } from '../../core/recurrence';

export interface GoogleDateTime {
  date?: string | null;
  dateTime?: string | null;
  timeZone?: string | null;
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

export class BadTimeError extends Error {}

/** The instant of a Google start/end. Offsetless dateTimes and dates are read in `zone`. */
export function googleTimeToUtc(t: GoogleDateTime, zone: string): number {
  if (t.date) return wallToUtc(parseWall(t.date), t.timeZone || zone);
  const m = RFC3339.exec(t.dateTime ?? '');
  if (!m) throw new BadTimeError(`"${t.dateTime}" is not an RFC 3339 date-time`);
  const wall = parseWall(`${m[1]}T${m[2]}`) + (m[3] ? Math.round(Number(m[3]) * 1000) : 0);
  if (m[4] === 'Z') return wall;
  if (m[4]) {
    const sign = m[4][0] === '-' ? -1 : 1;
    return wall - sign * (Number(m[4].slice(1, 3)) * 60 + Number(m[4].slice(4, 6))) * 60_000;
  }
  return wallToUtc(wall, t.timeZone || zone);
}

/** "2024-11-14T09:00:00+01:00" for an instant seen in `zone`. */
export function formatRfc3339(utcMs: number, zone: string): string {
  const off = zoneOffsetMs(zone, utcMs);
  if (off === 0) return formatWall(utcMs) + 'Z';
  const a = Math.abs(off) / 60_000;
  const hh = String(Math.floor(a / 60)).padStart(2, '0');
  const mm = String(a % 60).padStart(2, '0');
  return `${formatWall(utcMs + off)}${off < 0 ? '-' : '+'}${hh}:${mm}`;
}

export interface Occurrence {
  /** UTC instant of the occurrence start (for all-day: midnight in the series zone). */
  startUtc: number;
  /** Start as Google shows it, in the series' own form. */
  start: GoogleDateTime;
  end: GoogleDateTime;
  /** `_20241114T080000Z` style suffix for the instance id. */
  suffix: string;
}

/** EXDATE/RDATE line ("EXDATE;TZID=Europe/Berlin:20241114T090000,…") → core EventTimes. */
function parseDateList(line: string): EventTime[] {
  const colon = line.indexOf(':');
  const params = line.slice(0, colon).split(';').slice(1);
  const tz = params.find((p) => p.toUpperCase().startsWith('TZID='))?.slice(5);
  return line.slice(colon + 1).split(',').filter(Boolean).map((v) => {
    const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/.exec(v.trim());
    if (!m) throw new BadTimeError(`bad date "${v}" in "${line}"`);
    if (!m[4]) return { date: `${m[1]}-${m[2]}-${m[3]}` };
    const dateTime = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7] ?? ''}`;
    return !m[7] && tz ? { dateTime, timeZone: tz } : { dateTime };
  });
}

/** A Google start/end as a core EventTime in the series' zone (wall clock + IANA, or a date). */
function toCoreTime(t: GoogleDateTime, zone: string): EventTime {
  if (t.date) return { date: t.date };
  return { dateTime: formatWall(utcToWall(googleTimeToUtc(t, zone), zone)), timeZone: zone };
}

/**
 * Occurrences of a series whose start lies before `toUtc` and whose end lies after `fromUtc`,
 * at most `max`. `recurrence` holds Google's lines (RRULE:…, EXDATE…, RDATE…, EXRULE ignored).
 */
export function expandSeries(
  ev: { start: GoogleDateTime; end: GoogleDateTime; recurrence?: string[] | null },
  calendarZone: string,
  fromUtc: number,
  toUtc: number,
  max = 2000,
): Occurrence[] {
  const zone = ev.start.timeZone || calendarZone;
  const core: CalendarEvent = {
    uid: 'series', title: '', start: toCoreTime(ev.start, zone), end: toCoreTime(ev.end, zone),
    recurrence: { rrule: [], rdate: [], exdate: [], exrule: [] },
  };
  for (const line of ev.recurrence ?? []) {
    const name = line.slice(0, line.search(/[:;]/)).toUpperCase();
    const value = line.slice(line.indexOf(':') + 1);
    if (name === 'RRULE') core.recurrence!.rrule.push(value);
    else if (name === 'EXRULE') core.recurrence!.exrule!.push(value);
    else if (name === 'RDATE') core.recurrence!.rdate.push(...parseDateList(line));
    else if (name === 'EXDATE') core.recurrence!.exdate.push(...parseDateList(line));
  }
  // Core wants finite bounds; ±300 years stands in for "unbounded".
  const lo = Number.isFinite(fromUtc) ? fromUtc : Date.UTC(1700, 0, 1);
  const hi = Number.isFinite(toUtc) ? toUtc : Date.UTC(2300, 0, 1);
  const { occurrences, errors } = expandOccurrences([core], lo, hi, { floatingZone: zone });
  if (errors.length) throw new BadTimeError(errors.map((e) => e.message).join('; '));
  return occurrences.slice(0, max).map((o) => {
    const utc = eventTimeToUtc(o.start, zone);
    const endUtc = eventTimeToUtc(o.end, zone);
    const allDay = o.start.date !== undefined;
    return {
      startUtc: utc,
      start: allDay ? { date: o.start.date } : { dateTime: formatRfc3339(utc, zone), timeZone: zone },
      end: allDay ? { date: o.end.date } : { dateTime: formatRfc3339(endUtc, zone), timeZone: zone },
      suffix: allDay ? o.start.date!.replace(/-/g, '') : formatWall(utc).replace(/[-:]/g, '') + 'Z',
    };
  });
}
