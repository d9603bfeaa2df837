/**
 * Times and series expansion for the Google emulator: RFC 3339 parsing/formatting in an event's
 * zone, and `singleEvents`/`instances` expansion. The expansion is the emulator's own — the `rrule`
 * npm package, never core/recurrence — so the emulator is an independent oracle for the sync
 * engine's recurrence code (test/contract/emulator-recurrence-oracle.test.ts lists where the two
 * disagree). rrule's quirks for the rule shapes Google accepts, and how they are worked around, are
 * in emulator/README.md ("Series expansion").
 */
import { RRule, RRuleSet } from 'rrule';
import { formatWall, parseWall } from '../../core/time';


export interface GoogleDateTime {
  date?: string | null;
  dateTime?: string | null;
  timeZone?: string | null;
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

export class BadTimeError extends Error {}

/** UTC offset (ms) of `zone` at the instant `utcMs`, from Intl (no core code). */
function offsetAt(zone: string, utcMs: number): number {
  const parts = zoneFormatter(zone).formatToParts(new Date(utcMs));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour') % 24, get('minute'), get('second'));
  return wall - Math.floor(utcMs / 1000) * 1000;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function zoneFormatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(zone, f);
  }
  return f;
}

/**
 * A wall-clock time (ms as if UTC) in `zone` → the UTC instant, as RFC 5545 reads it: an
 * ambiguous time (the hour repeated when clocks go back) is its first occurrence; a time that does
 * not exist (clocks go forward) is read with the offset before the gap (02:30 → 03:30 summer time).
 */
function zonedWallToUtc(wall: number, zone: string): number {
  if (zone === 'UTC') return wall;
  const before = offsetAt(zone, wall - 12 * 3_600_000 - 14 * 3_600_000);
  const after = offsetAt(zone, wall + 12 * 3_600_000 + 14 * 3_600_000);
  const valid = [wall - before, wall - after].filter((c) => c + offsetAt(zone, c) === wall);
  if (valid.length) return Math.min(...valid);
  return wall - before;
}

function utcToZonedWall(utc: number, zone: string): number {
  return zone === 'UTC' ? utc : utc + offsetAt(zone, utc);
}

/** The instant of a Google start/end. Offsetless dateTimes and dates are read in `zone`. */
export function googleTimeToUtc(t: GoogleDateTime, zone: string): number {
  if (t.date) return zonedWallToUtc(parseWall(t.date), t.timeZone || zone);
  const m = RFC3339.exec(t.dateTime ?? '');
  if (!m) throw new BadTimeError(`"${t.dateTime}" is not an RFC 3339 date-time`);
  const wall = parseWall(`${m[1]}T${m[2]}`) + (m[3] ? Math.round(Number(m[3]) * 1000) : 0);
  if (m[4] === 'Z') return wall;
  if (m[4]) {
    const sign = m[4][0] === '-' ? -1 : 1;
    return wall - sign * (Number(m[4].slice(1, 3)) * 60 + Number(m[4].slice(4, 6))) * 60_000;
  }
  return zonedWallToUtc(wall, t.timeZone || zone);
}

/** "2024-11-14T09:00:00+01:00" for an instant seen in `zone`. */
export function formatRfc3339(utcMs: number, zone: string): string {
  const off = zone === 'UTC' ? 0 : offsetAt(zone, utcMs);
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

/**
 * EXDATE/RDATE line ("EXDATE;TZID=Europe/Berlin:20241114T090000,…") → wall-clock times in the
 * series zone (ms as if UTC, rrule's "floating" representation). Dates → midnight.
 */
function parseDateList(line: string, seriesZone: string): number[] {
  const colon = line.indexOf(':');
  const params = line.slice(0, colon).split(';').slice(1);
  const tz = params.find((p) => p.toUpperCase().startsWith('TZID='))?.slice(5);
  return line.slice(colon + 1).split(',').filter(Boolean).map((v) => {
    const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/.exec(v.trim());
    if (!m) throw new BadTimeError(`bad date "${v}" in "${line}"`);
    const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
    if (m[7]) return utcToZonedWall(wall, seriesZone);
    if (tz && tz !== seriesZone) return utcToZonedWall(zonedWallToUtc(wall, tz), seriesZone);
    return wall;
  });
}

/**
 * One RRULE/EXRULE value for rrule, in the floating representation. Quirks handled here:
 * - rrule compares UNTIL with the floating DTSTART, so an UTC `UNTIL=…Z` of a zoned series is
 *   turned into the zone's wall clock first (else the last occurrence moves by the UTC offset);
 * - a date-only UNTIL includes that whole day (RFC 5545: UNTIL is inclusive);
 * - DTSTART is passed as an option, never in the string (Google's lines have none);
 * - rrule's parser accepts unknown parts silently in some versions: they are refused here, as
 *   Google refuses them.
 */
const KNOWN_PARTS = new Set(['FREQ', 'UNTIL', 'COUNT', 'INTERVAL', 'BYSECOND', 'BYMINUTE', 'BYHOUR', 'BYDAY', 'BYMONTHDAY', 'BYYEARDAY', 'BYWEEKNO', 'BYMONTH', 'BYSETPOS', 'WKST']);
function ruleFor(value: string, dtstart: Date, zone: string): InstanceType<typeof RRule> {
  const parts = value.split(';').filter(Boolean);
  const kept: string[] = [];
  let until: Date | undefined;
  for (const p of parts) {
    const [k, v = ''] = p.split('=');
    const key = k.toUpperCase();
    if (!KNOWN_PARTS.has(key)) throw new BadTimeError(`Invalid recurrence rule part "${p}"`);
    if (key === 'UNTIL') {
      const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/.exec(v);
      if (!m) throw new BadTimeError(`Invalid UNTIL "${v}"`);
      const wall = m[4] ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : Date.UTC(+m[1], +m[2] - 1, +m[3], 23, 59, 59);
      until = new Date(m[7] ? utcToZonedWall(wall, zone) : wall);
      continue;
    }
    kept.push(`${key}=${v}`);
  }
  if (!kept.some((p) => p.startsWith('FREQ='))) throw new BadTimeError(`Invalid recurrence rule "${value}": FREQ is required`);
  let opts;
  try {
    opts = RRule.parseString(kept.join(';'));
  } catch (e) {
    throw new BadTimeError(`Invalid recurrence rule "${value}": ${(e as Error).message}`);
  }
  return new RRule({ ...opts, dtstart, ...(until ? { until } : {}) });
}

/**
 * Occurrences of a series whose start lies before `toUtc` and whose end lies after `fromUtc`,
 * at most `max`. `recurrence` holds Google's lines (RRULE, EXRULE, RDATE, EXDATE).
 */
export function expandSeries(
  ev: { start: GoogleDateTime; end: GoogleDateTime; recurrence?: string[] | null },
  calendarZone: string,
  fromUtc: number,
  toUtc: number,
  max = 2000,
): Occurrence[] {
  const zone = ev.start.timeZone || calendarZone;
  const allDay = !!ev.start.date;
  const startUtc = googleTimeToUtc(ev.start, zone);
  const endUtc = googleTimeToUtc(ev.end, ev.end.timeZone || zone);
  // rrule works on "floating" dates: the series' wall clock written as UTC (no DST inside rrule).
  const startWall = allDay ? parseWall(ev.start.date!) : utcToZonedWall(startUtc, zone);
  const durationMs = endUtc - startUtc;
  const dayLength = allDay ? parseWall(ev.end.date!) - parseWall(ev.start.date!) : 0;
  const dtstart = new Date(startWall);
  const set = new RRuleSet();
  let rules = 0;
  for (const line of ev.recurrence ?? []) {
    const name = line.slice(0, line.search(/[:;]/)).toUpperCase();
    const value = line.slice(line.indexOf(':') + 1);
    if (name === 'RRULE') {
      let rule = ruleFor(value, dtstart, zone);
      // rrule quirk: a DTSTART the rule does not produce is not counted by rrule, but RFC 5545
      // counts DTSTART as the first of COUNT instances: the rule then yields one fewer.
      if (rule.options.count && !rule.between(dtstart, dtstart, true).length) {
        rule = rule.options.count > 1 ? new RRule({ ...rule.origOptions, count: rule.options.count - 1 }) : new RRule({ ...rule.origOptions, count: 0 });
      }
      if (rule.options.count !== 0) set.rrule(rule);
      rules++;
    } else if (name === 'EXRULE') set.exrule(ruleFor(value, dtstart, zone));
    else if (name === 'RDATE') for (const w of parseDateList(line, zone)) set.rdate(new Date(w));
    else if (name === 'EXDATE') for (const w of parseDateList(line, zone)) set.exdate(new Date(w));
  }
  // DTSTART is the first instance (RFC 5545), also when the rule would not produce it.
  if (rules > 0 || (ev.recurrence ?? []).length) set.rdate(dtstart);
  // Window in wall-clock terms, widened by the largest UTC offsets and the event's length.
  const pad = 26 * 3_600_000 + Math.max(durationMs, 0) + dayLength;
  const lo = Number.isFinite(fromUtc) ? fromUtc - pad : Date.UTC(1700, 0, 1);
  const hi = Number.isFinite(toUtc) ? toUtc + pad : Date.UTC(2300, 0, 1);
  const out: Occurrence[] = [];
  set.between(new Date(Math.max(lo, -8.64e15 / 2)), new Date(hi), true, (d) => {
    const wall = d.getTime();
    const s = allDay ? zonedWallToUtc(wall, zone) : zonedWallToUtc(wall, zone);
    const e = allDay ? zonedWallToUtc(wall + dayLength, zone) : s + durationMs;
    if (s < toUtc && (e > fromUtc || (e === s && s >= fromUtc))) {
      const date = formatWall(wall).slice(0, 10);
      out.push({
        startUtc: s,
        start: allDay ? { date } : { dateTime: formatRfc3339(s, zone), timeZone: zone },
        end: allDay ? { date: formatWall(wall + dayLength).slice(0, 10) } : { dateTime: formatRfc3339(e, zone), timeZone: zone },
        suffix: allDay ? date.replace(/-/g, '') : formatWall(s).replace(/[-:]/g, '') + 'Z',
      });
    }
    return out.length < max;
  });
  return out;
}
