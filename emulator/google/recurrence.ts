/**
 * Times and series expansion for the Google emulator: RFC 3339 parsing/formatting in an event's
 * zone, and a minimal RRULE/RDATE/EXDATE expander for `singleEvents=true` and `instances`.
 *
 * Why not core/recurrence: it did not exist when this was written. The expander covers what a
 * calendar server must answer for typical feeds (FREQ DAILY/WEEKLY/MONTHLY/YEARLY with INTERVAL,
 * COUNT, UNTIL, BYDAY incl. ordinals, BYMONTHDAY, BYMONTH); switch to core's `expandOccurrences`
 * once it lands (the series' Google JSON maps onto CalendarEvent trivially).
 */
import { formatDate, formatWall, parseWall, utcToWall, wallToUtc, zoneOffsetMs } from '../../core/time';

export interface GoogleDateTime {
  date?: string | null;
  dateTime?: string | null;
  timeZone?: string | null;
}

const DAY = 86_400_000;
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

interface Rule {
  freq: string;
  interval: number;
  count?: number;
  untilUtc?: number;
  byDay: { wd: number; n?: number }[];
  byMonthDay: number[];
  byMonth: number[];
}

const WEEKDAYS = ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'];

function parseRule(value: string, zone: string): Rule {
  const parts = new Map(value.split(';').map((p) => p.split('=') as [string, string]));
  const freq = (parts.get('FREQ') ?? '').toUpperCase();
  if (!['DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY'].includes(freq)) throw new BadTimeError(`unsupported RRULE FREQ in "${value}"`);
  const until = parts.get('UNTIL');
  let untilUtc: number | undefined;
  if (until) {
    const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/.exec(until);
    if (!m) throw new BadTimeError(`bad UNTIL in "${value}"`);
    const wall = parseWall(`${m[1]}-${m[2]}-${m[3]}T${m[4] ?? '23'}:${m[5] ?? '59'}:${m[6] ?? '59'}`);
    untilUtc = m[7] ? wall : wallToUtc(wall, zone);
  }
  return {
    freq,
    interval: Math.max(1, Number(parts.get('INTERVAL') ?? 1) || 1),
    count: parts.has('COUNT') ? Number(parts.get('COUNT')) : undefined,
    untilUtc,
    byDay: (parts.get('BYDAY') ?? '').split(',').filter(Boolean).map((d) => {
      const m = /^([+-]?\d+)?([A-Z]{2})$/.exec(d.toUpperCase());
      if (!m || WEEKDAYS.indexOf(m[2]) < 0) throw new BadTimeError(`bad BYDAY "${d}"`);
      return { wd: WEEKDAYS.indexOf(m[2]), n: m[1] ? Number(m[1]) : undefined };
    }),
    byMonthDay: (parts.get('BYMONTHDAY') ?? '').split(',').filter(Boolean).map(Number),
    byMonth: (parts.get('BYMONTH') ?? '').split(',').filter(Boolean).map(Number),
  };
}

/** Candidate wall starts of one period (day/week/month/year) number `k`, sorted. */
function periodCandidates(rule: Rule, startWall: number, k: number): number[] {
  const tod = ((startWall % DAY) + DAY) % DAY;
  const s = new Date(startWall);
  const step = k * rule.interval;
  const daysOfMonth = (y: number, mo: number): number[] => {
    const len = new Date(Date.UTC(y, mo + 1, 0)).getUTCDate();
    const out: number[] = [];
    if (rule.byDay.length) {
      for (const { wd, n } of rule.byDay) {
        const hits: number[] = [];
        for (let d = 1; d <= len; d++) if (new Date(Date.UTC(y, mo, d)).getUTCDay() === wd) hits.push(d);
        if (n === undefined) out.push(...hits);
        else {
          const h = n > 0 ? hits[n - 1] : hits[hits.length + n];
          if (h) out.push(h);
        }
      }
    } else {
      const wanted = rule.byMonthDay.length ? rule.byMonthDay : [s.getUTCDate()];
      for (const d of wanted) {
        const day = d < 0 ? len + d + 1 : d;
        if (day >= 1 && day <= len) out.push(day);
      }
    }
    return out.map((d) => Date.UTC(y, mo, d) + tod);
  };
  switch (rule.freq) {
    case 'DAILY':
      return [startWall + step * DAY];
    case 'WEEKLY': {
      // Weeks start on Monday (WKST default); each BYDAY in the week, else the start's weekday.
      const startDow = (s.getUTCDay() + 6) % 7;
      const weekStart = startWall - startDow * DAY + step * 7 * DAY;
      const days = rule.byDay.length ? rule.byDay.map((d) => (d.wd + 6) % 7) : [startDow];
      return [...new Set(days)].sort((a, b) => a - b).map((d) => weekStart + d * DAY);
    }
    case 'MONTHLY': {
      const m = s.getUTCMonth() + step;
      const y = s.getUTCFullYear() + Math.floor(m / 12);
      return daysOfMonth(y, ((m % 12) + 12) % 12).sort((a, b) => a - b);
    }
    default: {
      const y = s.getUTCFullYear() + step;
      const months = rule.byMonth.length ? rule.byMonth.map((x) => x - 1) : [s.getUTCMonth()];
      const out: number[] = [];
      for (const mo of months) {
        if (!rule.byDay.length && !rule.byMonthDay.length) {
          const d = Date.UTC(y, mo, s.getUTCDate()) + tod;
          if (new Date(d).getUTCMonth() === mo) out.push(d);
        } else out.push(...daysOfMonth(y, mo));
      }
      return out.sort((a, b) => a - b);
    }
  }
}

/** Parses EXDATE/RDATE values ("EXDATE;TZID=Europe/Berlin:20241114T090000,…") to UTC instants. */
function parseDateList(line: string, zone: string): number[] {
  const colon = line.indexOf(':');
  const params = line.slice(0, colon).split(';').slice(1);
  const tz = params.find((p) => p.toUpperCase().startsWith('TZID='))?.slice(5) ?? zone;
  return line.slice(colon + 1).split(',').filter(Boolean).map((v) => {
    const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/.exec(v.trim());
    if (!m) throw new BadTimeError(`bad date "${v}" in "${line}"`);
    const wall = parseWall(`${m[1]}-${m[2]}-${m[3]}T${m[4] ?? '00'}:${m[5] ?? '00'}:${m[6] ?? '00'}`);
    return m[7] ? wall : wallToUtc(wall, tz);
  });
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
  const startUtc = googleTimeToUtc(ev.start, zone);
  const durMs = googleTimeToUtc(ev.end, zone) - startUtc;
  const allDay = !!ev.start.date;
  const startWall = allDay ? parseWall(ev.start.date!) : utcToWall(startUtc, zone);
  const toUtcInstant = (wall: number) => wallToUtc(wall, zone);
  const starts = new Set<number>();
  const exdates = new Set<number>();
  let hasRule = false;
  for (const line of ev.recurrence ?? []) {
    const name = line.slice(0, line.search(/[:;]/)).toUpperCase();
    if (name === 'EXDATE') parseDateList(line, zone).forEach((x) => exdates.add(x));
    else if (name === 'RDATE') parseDateList(line, zone).forEach((x) => starts.add(x));
    else if (name === 'RRULE') {
      hasRule = true;
      const rule = parseRule(line.slice(line.indexOf(':') + 1), zone);
      let n = 0;
      outer: for (let k = 0; k < 100_000; k++) {
        for (const wall of periodCandidates(rule, startWall, k)) {
          if (wall < startWall) continue;
          const utc = toUtcInstant(wall);
          if (rule.untilUtc !== undefined && utc > rule.untilUtc) break outer;
          if (rule.count !== undefined && n >= rule.count) break outer;
          n++;
          if (utc >= toUtc) break outer;
          starts.add(utc);
          if (starts.size > max * 4 && rule.count === undefined) break outer;
        }
      }
    }
  }
  if (!hasRule || starts.size > 0) starts.add(startUtc); // DTSTART is always the first instance
  const out: Occurrence[] = [];
  for (const utc of [...starts].sort((a, b) => a - b)) {
    if (exdates.has(utc) || utc >= toUtc || utc + Math.max(durMs, 1) <= fromUtc) continue;
    const wall = utcToWall(utc, zone);
    const start: GoogleDateTime = allDay ? { date: formatDate(wall) } : { dateTime: formatRfc3339(utc, zone), timeZone: zone };
    const end: GoogleDateTime = allDay
      ? { date: formatDate(wall + Math.round(durMs / DAY) * DAY) }
      : { dateTime: formatRfc3339(utc + durMs, zone), timeZone: zone };
    out.push({ startUtc: utc, start, end, suffix: allDay ? formatDate(wall).replace(/-/g, '') : formatWall(utc).replace(/[-:]/g, '') + 'Z' });
    if (out.length >= max) break;
  }
  return out;
}
