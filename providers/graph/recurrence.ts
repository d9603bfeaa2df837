/**
 * RRULE ⇄ Microsoft Graph `patternedRecurrence`.
 *
 * Graph's recurrence model is Outlook's: a pattern (daily / weekly / absolute or relative monthly /
 * absolute or relative yearly) and a range (endDate / noEnd / numbered). Only a subset of RFC 5545
 * fits, and a few shapes that look alike differ in their corner cases (Outlook moves "day 31" to
 * the month's last day; RFC 5545 skips months without a day 31). `fitRecurrence` therefore accepts
 * a rule only when both sides generate exactly the same occurrences and otherwise returns the
 * reason; the planner then expands the series into single events inside the window.
 *
 * Pure: no I/O, no clock.
 */
import type { CalendarEvent, EventTime } from '../../core/event';
import { formatDate, formatWall, parseWall, utcToWall, wallToUtc, MS } from '../../core/time';

export type GraphDayOfWeek = 'sunday' | 'monday' | 'tuesday' | 'wednesday' | 'thursday' | 'friday' | 'saturday';
export type GraphWeekIndex = 'first' | 'second' | 'third' | 'fourth' | 'last';

export interface GraphRecurrencePattern {
  type: 'daily' | 'weekly' | 'absoluteMonthly' | 'relativeMonthly' | 'absoluteYearly' | 'relativeYearly';
  interval: number;
  daysOfWeek?: GraphDayOfWeek[];
  dayOfMonth?: number;
  month?: number;
  index?: GraphWeekIndex;
  firstDayOfWeek?: GraphDayOfWeek;
}

export interface GraphRecurrenceRange {
  type: 'endDate' | 'noEnd' | 'numbered';
  /** YYYY-MM-DD: the series' first date in its zone. */
  startDate: string;
  /** YYYY-MM-DD, inclusive. */
  endDate?: string;
  numberOfOccurrences?: number;
  recurrenceTimeZone?: string;
}

export interface GraphPatternedRecurrence {
  pattern: GraphRecurrencePattern;
  range: GraphRecurrenceRange;
}

export type RecurrenceFit =
  | { ok: true; recurrence: GraphPatternedRecurrence }
  | { ok: false; reason: string };

/** RFC 5545 weekday codes in JS getUTCDay() order. */
const RFC_DAYS = ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'] as const;
const GRAPH_DAYS: GraphDayOfWeek[] = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const INDEX_BY_ORDINAL: Record<string, GraphWeekIndex> = { '1': 'first', '2': 'second', '3': 'third', '4': 'fourth', '-1': 'last' };
const ORDINAL_BY_INDEX: Record<GraphWeekIndex, number> = { first: 1, second: 2, third: 3, fourth: 4, last: -1 };

const SUPPORTED_PARTS = new Set(['FREQ', 'INTERVAL', 'COUNT', 'UNTIL', 'BYDAY', 'BYMONTHDAY', 'BYMONTH', 'BYSETPOS', 'WKST']);

interface RulePart { ordinal?: number; day: number }

/** Splits an RRULE value into upper-cased parts; throws on syntax that is not NAME=VALUE. */
export function rrulePartsOf(rrule: string): Map<string, string> {
  const parts = new Map<string, string>();
  for (const raw of rrule.replace(/^RRULE:/i, '').split(';')) {
    if (!raw.trim()) continue;
    const eq = raw.indexOf('=');
    if (eq <= 0) throw new Error(`RRULE part "${raw}" is not NAME=VALUE`);
    const name = raw.slice(0, eq).trim().toUpperCase();
    if (parts.has(name)) throw new Error(`RRULE part ${name} appears twice`);
    parts.set(name, raw.slice(eq + 1).trim().toUpperCase());
  }
  return parts;
}

function parseByDay(value: string): RulePart[] | string {
  const out: RulePart[] = [];
  for (const item of value.split(',')) {
    const m = /^([+-]?\d{1,2})?(SU|MO|TU|WE|TH|FR|SA)$/.exec(item);
    if (!m) return `BYDAY value "${item}" is not a weekday like MO or 2TU`;
    out.push({ ordinal: m[1] === undefined ? undefined : Number(m[1]), day: RFC_DAYS.indexOf(m[2] as typeof RFC_DAYS[number]) });
  }
  return out;
}

function parseIntList(name: string, value: string): number[] | string {
  const nums = value.split(',').map((v) => Number(v));
  if (nums.some((n) => !Number.isInteger(n))) return `${name}=${value} is not a list of integers`;
  return nums;
}

/** UNTIL as a wall value in `zone` (UTC UNTIL converted; DATE and floating UNTIL taken as written). */
function untilWall(value: string, zone: string): { wall: number; dateOnly: boolean } | string {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/.exec(value);
  if (!m) return `UNTIL=${value} is not a DATE or DATE-TIME`;
  const iso = `${m[1]}-${m[2]}-${m[3]}` + (m[4] ? `T${m[4]}:${m[5]}:${m[6]}` : '');
  let wall: number;
  try {
    wall = parseWall(iso);
  } catch {
    return `UNTIL=${value} is not a real date`;
  }
  if (m[7]) wall = utcToWall(wall, zone);
  return { wall, dateOnly: !m[4] };
}

/** The series' zone frame: an IANA zone in which DTSTART's wall clock is read. */
export interface SeriesFrame {
  /** IANA zone of the series (UTC for Z times; the configured default for floating/all-day). */
  zone: string;
  /** The name written as `recurrenceTimeZone` (IANA or Windows, per configuration). */
  zoneName: string;
}

/** DTSTART of `start` as a wall value in the series zone. */
export function startWall(start: EventTime, frame: SeriesFrame): number {
  if (start.date !== undefined) return parseWall(start.date);
  const dt = start.dateTime ?? '';
  const wall = parseWall(dt);
  if (dt.endsWith('Z')) return utcToWall(wall, frame.zone);
  if (start.timeZone && start.timeZone !== frame.zone) return utcToWall(wallToUtc(wall, start.timeZone), frame.zone);
  return wall;
}

function dayOfWeek(wall: number): number {
  return new Date(wall).getUTCDay();
}

function daysInMonth(year: number, month1: number): number {
  return new Date(Date.UTC(year, month1, 0)).getUTCDate();
}

/** Whether the wall date is the `ordinal`-th (1..4, -1) of any of `days` within its month. */
function matchesSetPos(wall: number, days: number[], ordinal: number): boolean {
  const d = new Date(wall);
  const y = d.getUTCFullYear();
  const mo = d.getUTCMonth();
  const matches: number[] = [];
  for (let day = 1; day <= daysInMonth(y, mo + 1); day++) {
    if (days.includes(new Date(Date.UTC(y, mo, day)).getUTCDay())) matches.push(day);
  }
  const pick = ordinal > 0 ? matches[ordinal - 1] : matches[matches.length + ordinal];
  return pick === d.getUTCDate();
}

/**
 * Maps the master's RRULE onto a patternedRecurrence when, and only when, both generate the same
 * occurrences. `frame` is the zone in which DTSTART's wall clock (and thus UNTIL's date) is read.
 */
export function fitRecurrence(master: Pick<CalendarEvent, 'start' | 'recurrence'>, frame: SeriesFrame): RecurrenceFit {
  const rec = master.recurrence;
  if (!rec || rec.rrule.length === 0) return { ok: false, reason: 'no RRULE' };
  if (rec.rrule.length > 1) return { ok: false, reason: `${rec.rrule.length} RRULEs; Graph holds one pattern per series` };
  if (rec.rdate.length > 0) return { ok: false, reason: 'RDATE has no Graph equivalent' };
  if (rec.exrule && rec.exrule.length > 0) return { ok: false, reason: 'EXRULE has no Graph equivalent' };

  let parts: Map<string, string>;
  try {
    parts = rrulePartsOf(rec.rrule[0]);
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  for (const name of parts.keys()) {
    if (!SUPPORTED_PARTS.has(name)) return { ok: false, reason: `${name} has no Graph equivalent` };
  }

  const freq = parts.get('FREQ');
  if (!freq) return { ok: false, reason: 'RRULE has no FREQ' };
  const interval = parts.has('INTERVAL') ? Number(parts.get('INTERVAL')) : 1;
  if (!Number.isInteger(interval) || interval < 1) return { ok: false, reason: `INTERVAL=${parts.get('INTERVAL')} is not a positive integer` };
  if (interval > 99) return { ok: false, reason: `INTERVAL=${interval} is larger than Outlook accepts (99)` };

  let byDay: RulePart[] | undefined;
  if (parts.has('BYDAY')) {
    const parsed = parseByDay(parts.get('BYDAY')!);
    if (typeof parsed === 'string') return { ok: false, reason: parsed };
    byDay = parsed;
    if (new Set(byDay.map((p) => `${p.ordinal ?? ''}${p.day}`)).size !== byDay.length) return { ok: false, reason: 'BYDAY repeats a day' };
  }
  const lists: Record<'BYMONTHDAY' | 'BYMONTH' | 'BYSETPOS', number[] | undefined> = { BYMONTHDAY: undefined, BYMONTH: undefined, BYSETPOS: undefined };
  for (const name of ['BYMONTHDAY', 'BYMONTH', 'BYSETPOS'] as const) {
    if (!parts.has(name)) continue;
    const parsed = parseIntList(name, parts.get(name)!);
    if (typeof parsed === 'string') return { ok: false, reason: parsed };
    lists[name] = parsed;
  }
  const { BYMONTHDAY: byMonthDay, BYMONTH: byMonth, BYSETPOS: bySetPos } = lists;

  let wkst = 1; // RFC 5545 default week start: Monday
  if (parts.has('WKST')) {
    const i = RFC_DAYS.indexOf(parts.get('WKST') as typeof RFC_DAYS[number]);
    if (i < 0) return { ok: false, reason: `WKST=${parts.get('WKST')} is not a weekday` };
    wkst = i;
  }

  let start: number;
  try {
    start = startWall(master.start, frame);
  } catch (e) {
    return { ok: false, reason: `DTSTART: ${(e as Error).message}` };
  }
  const startDate = new Date(start);
  const startDay = dayOfWeek(start);
  const startDom = startDate.getUTCDate();
  const startMonth = startDate.getUTCMonth() + 1;

  const pattern = patternFor();
  if (typeof pattern === 'string') return { ok: false, reason: pattern };

  const range = rangeFor();
  if (typeof range === 'string') return { ok: false, reason: range };
  return { ok: true, recurrence: { pattern, range } };

  function plainDays(what: string): number[] | string {
    if (!byDay) return [startDay];
    if (byDay.some((p) => p.ordinal !== undefined)) return `${what} with an ordinal BYDAY (${parts.get('BYDAY')}) has no Graph equivalent`;
    return byDay.map((p) => p.day);
  }

  function graphDays(days: number[]): GraphDayOfWeek[] {
    return [...days].sort((a, b) => a - b).map((d) => GRAPH_DAYS[d]);
  }

  /** A single "n-th weekday(s) of the month" selector from BYDAY=nDD or BYDAY=DD,..;BYSETPOS=n. */
  function relativeSelector(what: string): { days: number[]; ordinal: number } | string {
    if (!byDay) return `${what}: no BYDAY`;
    if (byDay.length === 1 && byDay[0].ordinal !== undefined) {
      if (bySetPos) return `${what}: BYSETPOS with an ordinal BYDAY has no Graph equivalent`;
      return { days: [byDay[0].day], ordinal: byDay[0].ordinal };
    }
    if (byDay.some((p) => p.ordinal !== undefined)) return `${what}: several ordinal BYDAY values (${parts.get('BYDAY')}) have no Graph equivalent`;
    if (!bySetPos) return `${what} on every ${parts.get('BYDAY')} of the month has no Graph equivalent`;
    if (bySetPos.length !== 1) return `${what}: BYSETPOS with several positions has no Graph equivalent`;
    return { days: byDay.map((p) => p.day), ordinal: bySetPos[0] };
  }

  function unsupportedPosition(ordinal: number): string {
    return `position ${ordinal} has no Graph equivalent (Graph knows first..fourth and last)`;
  }

  function patternFor(): GraphRecurrencePattern | string {
    switch (freq) {
      case 'DAILY': {
        if (byMonth || byMonthDay || bySetPos) return 'DAILY with BYMONTH/BYMONTHDAY/BYSETPOS has no Graph equivalent';
        if (!byDay) return { type: 'daily', interval };
        // FREQ=DAILY;BYDAY=MO,..,FR is "every weekday": Graph's weekly pattern, but only every week.
        if (interval !== 1) return 'DAILY with BYDAY and INTERVAL>1 has no Graph equivalent';
        const days = plainDays('DAILY');
        if (typeof days === 'string') return days;
        if (!days.includes(startDay)) return `DTSTART (${RFC_DAYS[startDay]}) is not one of BYDAY=${parts.get('BYDAY')}`;
        return { type: 'weekly', interval: 1, daysOfWeek: graphDays(days), firstDayOfWeek: GRAPH_DAYS[wkst] };
      }
      case 'WEEKLY': {
        if (byMonth || byMonthDay || bySetPos) return 'WEEKLY with BYMONTH/BYMONTHDAY/BYSETPOS has no Graph equivalent';
        const days = plainDays('WEEKLY');
        if (typeof days === 'string') return days;
        if (!days.includes(startDay)) return `DTSTART (${RFC_DAYS[startDay]}) is not one of BYDAY=${parts.get('BYDAY')}`;
        return { type: 'weekly', interval, daysOfWeek: graphDays(days), firstDayOfWeek: GRAPH_DAYS[wkst] };
      }
      case 'MONTHLY': {
        if (byMonth) return 'MONTHLY with BYMONTH has no Graph equivalent';
        if (byMonthDay) {
          if (byDay || bySetPos) return 'MONTHLY with BYMONTHDAY and BYDAY/BYSETPOS has no Graph equivalent';
          if (byMonthDay.length !== 1) return `BYMONTHDAY=${parts.get('BYMONTHDAY')}: Graph takes one day of the month`;
          return absoluteMonthly(byMonthDay[0]);
        }
        if (!byDay) {
          if (bySetPos) return 'BYSETPOS without BYDAY has no Graph equivalent';
          return absoluteMonthly(startDom);
        }
        const sel = relativeSelector('MONTHLY');
        if (typeof sel === 'string') return sel;
        const index = INDEX_BY_ORDINAL[String(sel.ordinal)];
        if (!index) return unsupportedPosition(sel.ordinal);
        if (!matchesSetPos(start, sel.days, sel.ordinal)) return `DTSTART (${formatDate(start)}) is not the occurrence the rule describes for its month`;
        return { type: 'relativeMonthly', interval, daysOfWeek: graphDays(sel.days), index };
      }
      case 'YEARLY': {
        if (byMonth && byMonth.length !== 1) return `BYMONTH=${parts.get('BYMONTH')}: Graph takes one month`;
        const month = byMonth ? byMonth[0] : startMonth;
        if (month < 1 || month > 12) return `BYMONTH=${month} is not a month`;
        if (month !== startMonth) return `DTSTART's month (${startMonth}) is not BYMONTH=${month}`;
        if (byDay) {
          if (byMonthDay) return 'YEARLY with BYMONTHDAY and BYDAY has no Graph equivalent';
          if (!byMonth) return 'YEARLY with BYDAY but no BYMONTH (a weekday of the year) has no Graph equivalent';
          const sel = relativeSelector('YEARLY');
          if (typeof sel === 'string') return sel;
          const index = INDEX_BY_ORDINAL[String(sel.ordinal)];
          if (!index) return unsupportedPosition(sel.ordinal);
          if (!matchesSetPos(start, sel.days, sel.ordinal)) return `DTSTART (${formatDate(start)}) is not the occurrence the rule describes for its month`;
          return { type: 'relativeYearly', interval, daysOfWeek: graphDays(sel.days), index, month };
        }
        if (bySetPos) return 'BYSETPOS without BYDAY has no Graph equivalent';
        if (byMonthDay && byMonthDay.length !== 1) return `BYMONTHDAY=${parts.get('BYMONTHDAY')}: Graph takes one day of the month`;
        const day = byMonthDay ? byMonthDay[0] : startDom;
        if (day !== startDom) return `DTSTART's day (${startDom}) is not BYMONTHDAY=${day}`;
        if (month === 2 && day === 29) return 'February 29: RFC 5545 skips non-leap years, Outlook does not';
        return { type: 'absoluteYearly', interval, dayOfMonth: day, month };
      }
      default:
        return `FREQ=${freq} has no Graph equivalent`;
    }
  }

  function absoluteMonthly(day: number): GraphRecurrencePattern | string {
    if (day < 1) return `BYMONTHDAY=${day}: Graph counts days from the month's start only`;
    // RFC 5545 skips months that lack the day; Outlook moves the occurrence to the last day.
    if (day > 28) return `day ${day} of the month: RFC 5545 skips shorter months, Outlook moves to their last day`;
    if (day !== startDom) return `DTSTART's day (${startDom}) is not BYMONTHDAY=${day}`;
    return { type: 'absoluteMonthly', interval, dayOfMonth: day };
  }

  function rangeFor(): GraphRecurrenceRange | string {
    const base = { startDate: formatDate(start), recurrenceTimeZone: frame.zoneName };
    const count = parts.get('COUNT');
    const until = parts.get('UNTIL');
    if (count !== undefined && until !== undefined) return 'COUNT and UNTIL together are not valid RFC 5545';
    if (count !== undefined) {
      const n = Number(count);
      if (!Number.isInteger(n) || n < 1) return `COUNT=${count} is not a positive integer`;
      return { type: 'numbered', numberOfOccurrences: n, ...base };
    }
    if (until !== undefined) {
      const u = untilWall(until, frame.zone);
      if (typeof u === 'string') return u;
      // Graph's endDate is inclusive by date; UNTIL is inclusive by instant. Every occurrence has
      // DTSTART's time of day, so the last date is UNTIL's date, or the day before when UNTIL's
      // time of day is earlier than the occurrences'.
      const timeOfDay = (w: number): number => ((w % MS.DAY) + MS.DAY) % MS.DAY;
      let last = Math.floor(u.wall / MS.DAY) * MS.DAY;
      // A DATE UNTIL on a timed series (not RFC-conformant, but common) means that date's
      // midnight, as python-dateutil reads it: an occurrence later that day is excluded.
      if (master.start.date === undefined && timeOfDay(u.wall) < timeOfDay(start)) last -= MS.DAY;
      if (last < Math.floor(start / MS.DAY) * MS.DAY) return `UNTIL=${until} is before DTSTART`;
      return { type: 'endDate', endDate: formatDate(last), ...base };
    }
    return { type: 'noEnd', ...base };
  }
}

/** RRULE value (no "RRULE:" prefix) for a Graph recurrence, reading UNTIL in `zone` with DTSTART's time of day. */
export function recurrenceToRRule(rec: GraphPatternedRecurrence, opts: { start: EventTime; zone: string }): string {
  const p = rec.pattern;
  const out: string[] = [];
  const days = (p.daysOfWeek ?? []).map((d) => RFC_DAYS[GRAPH_DAYS.indexOf(d)]).filter(Boolean);
  const ordinal = p.index ? ORDINAL_BY_INDEX[p.index] : 1;
  const relative = (): void => {
    if (days.length === 1) out.push(`BYDAY=${ordinal}${days[0]}`);
    else out.push(`BYDAY=${days.join(',')}`, `BYSETPOS=${ordinal}`);
  };
  switch (p.type) {
    case 'daily':
      out.push('FREQ=DAILY');
      break;
    case 'weekly':
      out.push('FREQ=WEEKLY');
      if (days.length) out.push(`BYDAY=${days.join(',')}`);
      break;
    case 'absoluteMonthly':
      out.push('FREQ=MONTHLY', `BYMONTHDAY=${p.dayOfMonth}`);
      break;
    case 'relativeMonthly':
      out.push('FREQ=MONTHLY');
      relative();
      break;
    case 'absoluteYearly':
      out.push('FREQ=YEARLY', `BYMONTH=${p.month}`, `BYMONTHDAY=${p.dayOfMonth}`);
      break;
    case 'relativeYearly':
      out.push('FREQ=YEARLY', `BYMONTH=${p.month}`);
      relative();
      break;
  }
  if (p.interval && p.interval !== 1) out.push(`INTERVAL=${p.interval}`);
  const r = rec.range;
  if (r.type === 'numbered' && r.numberOfOccurrences) out.push(`COUNT=${r.numberOfOccurrences}`);
  if (r.type === 'endDate' && r.endDate) {
    if (opts.start.date !== undefined) {
      out.push(`UNTIL=${r.endDate.replace(/-/g, '')}`);
    } else {
      const wallStart = startWall(opts.start, { zone: opts.zone, zoneName: opts.zone });
      const tod = ((wallStart % MS.DAY) + MS.DAY) % MS.DAY;
      const utc = wallToUtc(parseWall(r.endDate) + tod, opts.zone);
      out.push(`UNTIL=${formatWall(utc).replace(/[-:]/g, '')}Z`);
    }
  }
  if (p.type === 'weekly' && p.firstDayOfWeek && p.firstDayOfWeek !== 'monday') out.push(`WKST=${RFC_DAYS[GRAPH_DAYS.indexOf(p.firstDayOfWeek)]}`);
  return out.join(';');
}
