/**
 * RFC 5545 §3.3.10 recurrence rules: parse, format, iterate. Our own engine (no library passes
 * the oracle vectors well enough, and ical.js hangs on some valid rules), working on wall-clock
 * values (ms computed as if the local date-time were UTC, see core/time.ts) and integer day
 * numbers, so no Date objects are created per instance.
 *
 * Model (the "period set" algorithm, as in RFC 5545's expand/limit table):
 * - the rule walks periods of its FREQ (a year, month, WKST-aligned week, day, hour, minute,
 *   second), INTERVAL periods apart, starting with the period holding DTSTART;
 * - each period yields the days it holds that satisfy every BYxxx day part (BYMONTH, BYWEEKNO,
 *   BYYEARDAY, BYMONTHDAY, BYDAY: an intersection, which is what "expand" then "limit" amounts
 *   to), times the times of day from BYHOUR/BYMINUTE/BYSECOND (or DTSTART's);
 * - BYSETPOS picks from that sorted period set; then DTSTART, UNTIL and COUNT bound the result.
 * With BYWEEKNO a YEARLY period is a week-numbering year (weeks start on WKST; week 1 is the first
 * with ≥ 4 days in the year), which is how libical and ical.net count INTERVAL there.
 * Documented choices are in docs/recurrence.md.
 */
import { MS } from '../time';

export type Frequency = 'SECONDLY' | 'MINUTELY' | 'HOURLY' | 'DAILY' | 'WEEKLY' | 'MONTHLY' | 'YEARLY';
/** 0 = Monday … 6 = Sunday. */
export type Weekday = 0 | 1 | 2 | 3 | 4 | 5 | 6;

export interface RRule {
  freq: Frequency;
  interval: number;
  count?: number;
  /** UNTIL: a wall value plus whether it was written in UTC (`Z`) or as a DATE. */
  until?: { wall: number; utc: boolean; date: boolean };
  bySecond?: number[];
  byMinute?: number[];
  byHour?: number[];
  byDay?: { n?: number; day: Weekday }[];
  byMonthDay?: number[];
  byYearDay?: number[];
  byWeekNo?: number[];
  byMonth?: number[];
  bySetPos?: number[];
  wkst: number;
  /** RFC 7529 calendar scale; only GREGORIAN is supported (others need ICU). */
  rscale?: string;
  /** RFC 7529 handling of invalid dates (Feb 30, day 366 of a common year); default OMIT. */
  skip?: 'OMIT' | 'BACKWARD' | 'FORWARD';
}

/** A rule that cannot be read; the message names the offending part. */
export class RRuleError extends Error {
  constructor(message: string, readonly part?: string) {
    super(message);
    this.name = 'RRuleError';
  }
}

/** Iteration stopped at the cap (a runaway or impossible rule); `iterations` counts the steps taken. */
export class RecurrenceLimitError extends Error {
  uid?: string;
  constructor(message: string, readonly iterations: number, uid?: string) {
    super(message);
    this.name = 'RecurrenceLimitError';
    if (uid !== undefined) this.uid = uid;
  }
}

const DAY = MS.DAY;
const FREQS: Frequency[] = ['YEARLY', 'MONTHLY', 'WEEKLY', 'DAILY', 'HOURLY', 'MINUTELY', 'SECONDLY'];
const YEARLY = 0, MONTHLY = 1, WEEKLY = 2, DAILY = 3, HOURLY = 4, MINUTELY = 5, SECONDLY = 6;
const WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];

// ---------------------------------------------------------------------------------------------
// Parsing and formatting

const LIST_PARTS: Record<string, { key: keyof RRule; min: number; max: number; signed: boolean; range: string }> = {
  BYSECOND: { key: 'bySecond', min: 0, max: 60, signed: false, range: '0..60' },
  BYMINUTE: { key: 'byMinute', min: 0, max: 59, signed: false, range: '0..59' },
  BYHOUR: { key: 'byHour', min: 0, max: 23, signed: false, range: '0..23' },
  BYMONTHDAY: { key: 'byMonthDay', min: 1, max: 31, signed: true, range: '1..31 / -31..-1' },
  BYYEARDAY: { key: 'byYearDay', min: 1, max: 366, signed: true, range: '1..366 / -366..-1' },
  BYWEEKNO: { key: 'byWeekNo', min: 1, max: 53, signed: true, range: '1..53 / -53..-1' },
  BYMONTH: { key: 'byMonth', min: 1, max: 12, signed: false, range: '1..12' },
  BYSETPOS: { key: 'bySetPos', min: 1, max: 366, signed: true, range: '1..366 / -366..-1' },
};

const UNTIL_RE = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/;

function parseIntStrict(s: string): number | undefined {
  return /^[+-]?\d{1,9}$/.test(s) ? Number(s) : undefined;
}

/**
 * Parses an RRULE value such as `FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20250101T000000Z`. Tolerates an
 * `RRULE:` prefix, lower case, surrounding blanks and a trailing `;`; ignores `X-` parts.
 * Throws RRuleError naming the bad part.
 */
export function parseRRule(value: string): RRule {
  let text = String(value ?? '').trim();
  if (/^RRULE:/i.test(text)) text = text.slice(6);
  text = text.trim().toUpperCase();
  if (!text) throw new RRuleError('empty RRULE');
  const rule: Partial<RRule> & { wkst: number; interval: number } = { wkst: 0, interval: 1 };
  const seen = new Set<string>();
  for (const raw of text.split(';')) {
    const part = raw.trim();
    if (!part) continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new RRuleError(`"${part}": expected NAME=VALUE`, part);
    const name = part.slice(0, eq).trim();
    const val = part.slice(eq + 1).trim();
    if (seen.has(name)) throw new RRuleError(`${name} appears more than once`, name);
    seen.add(name);
    if (val === '') throw new RRuleError(`${name}=: empty value`, name);
    const list = LIST_PARTS[name];
    if (list) {
      const nums = val.split(',').map((v) => {
        const n = parseIntStrict(v.trim());
        const ok = n !== undefined && (list.signed ? Math.abs(n) >= list.min && Math.abs(n) <= list.max && n !== 0 : n >= list.min && n <= list.max && !/^[+-]/.test(v.trim()));
        if (!ok) {
          const hint = name === 'BYMONTH' && /^\d+L$/.test(v.trim()) ? ' (leap months need a non-Gregorian RSCALE, which is not supported)' : '';
          const which = val.includes(',') ? ` ${v.trim() || '(empty)'} is` : '';
          throw new RRuleError(`${name}=${val}:${which} out of range ${list.range}${hint}`, name);
        }
        return n;
      });
      (rule as Record<string, unknown>)[list.key] = nums;
      continue;
    }
    switch (name) {
      case 'FREQ': {
        if (!FREQS.includes(val as Frequency)) throw new RRuleError(`FREQ=${val}: expected one of ${FREQS.join(', ')}`, name);
        rule.freq = val as Frequency;
        break;
      }
      case 'INTERVAL': {
        const n = parseIntStrict(val);
        if (n === undefined || n < 1) throw new RRuleError(`INTERVAL=${val}: must be a whole number ≥ 1`, name);
        rule.interval = n;
        break;
      }
      case 'COUNT': {
        const n = parseIntStrict(val);
        if (n === undefined || n < 1) throw new RRuleError(`COUNT=${val}: must be a whole number ≥ 1`, name);
        rule.count = n;
        break;
      }
      case 'UNTIL': {
        const m = UNTIL_RE.exec(val);
        if (!m) throw new RRuleError(`UNTIL=${val}: expected YYYYMMDD or YYYYMMDDTHHMMSS[Z]`, name);
        const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number);
        if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 60) throw new RRuleError(`UNTIL=${val}: not a real date-time`, name);
        rule.until = { wall: daysFromCivil(y, mo, d) * DAY + (h * 3600 + mi * 60 + Math.min(s, 59)) * 1000, utc: m[7] === 'Z', date: m[4] === undefined };
        break;
      }
      case 'BYDAY': {
        rule.byDay = val.split(',').map((v) => {
          const m = /^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$/.exec(v.trim());
          const n = m && m[1] !== undefined ? Number(m[1]) : undefined;
          if (!m || (n !== undefined && Math.abs(n) > 53)) throw new RRuleError(`BYDAY=${val}: "${v.trim()}" is not a weekday like MO, 2TU or -1FR (ordinal 1..53 / -53..-1)`, name);
          const day = WEEKDAYS.indexOf(m[2]) as Weekday;
          return n === undefined ? { day } : { n, day };
        }).filter((d) => d.n !== 0); // "0MO" names no day: ignored, as ical.net does
        if (!rule.byDay.length) delete rule.byDay;
        break;
      }
      case 'WKST': {
        const i = WEEKDAYS.indexOf(val);
        if (i < 0) throw new RRuleError(`WKST=${val}: expected MO, TU, WE, TH, FR, SA or SU`, name);
        rule.wkst = i;
        break;
      }
      case 'RSCALE': {
        if (val !== 'GREGORIAN') throw new RRuleError(`RSCALE=${val}: only GREGORIAN is supported (other calendar scales need ICU)`, name);
        rule.rscale = val;
        break;
      }
      case 'SKIP': {
        if (val !== 'OMIT' && val !== 'BACKWARD' && val !== 'FORWARD') throw new RRuleError(`SKIP=${val}: expected OMIT, BACKWARD or FORWARD`, name);
        rule.skip = val;
        break;
      }
      default:
        if (name.startsWith('X-')) break; // extensions are allowed and carry no meaning for us
        throw new RRuleError(`unknown rule part ${name}`, name);
    }
  }
  if (!rule.freq) throw new RRuleError('FREQ is missing', 'FREQ');
  return rule as RRule;
}

/**
 * Why `value` is not a usable RRULE/EXRULE — parseRRule's message naming the bad part, e.g.
 * `BYDAY=XX: "XX" is not a weekday like MO, 2TU or -1FR …` — or undefined when it is one. Pure and
 * cheap, so readers can warn while parsing instead of only at expansion (which ignores such a rule).
 */
export function validateRRule(value: string): string | undefined {
  try {
    parseRRule(value);
    return undefined;
  } catch (err) {
    if (err instanceof RRuleError) return err.message;
    throw err;
  }
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

function formatUntil(u: NonNullable<RRule['until']>): string {
  const day = Math.floor(u.wall / DAY);
  civil(day);
  const date = `${pad(cy, 4)}${pad(cm)}${pad(cd)}`;
  if (u.date) return date;
  const t = Math.floor((u.wall - day * DAY) / 1000);
  return `${date}T${pad(Math.floor(t / 3600))}${pad(Math.floor(t / 60) % 60)}${pad(t % 60)}${u.utc ? 'Z' : ''}`;
}

/** The canonical RRULE string (no prefix): RSCALE, FREQ, UNTIL/COUNT, INTERVAL, BYxxx, WKST, SKIP. */
export function formatRRule(rule: RRule): string {
  const parts: string[] = [];
  if (rule.rscale) parts.push(`RSCALE=${rule.rscale}`);
  parts.push(`FREQ=${rule.freq}`);
  if (rule.until) parts.push(`UNTIL=${formatUntil(rule.until)}`);
  if (rule.count !== undefined) parts.push(`COUNT=${rule.count}`);
  if (rule.interval !== 1) parts.push(`INTERVAL=${rule.interval}`);
  const list = (name: string, v?: number[]) => { if (v && v.length) parts.push(`${name}=${v.join(',')}`); };
  list('BYSECOND', rule.bySecond);
  list('BYMINUTE', rule.byMinute);
  list('BYHOUR', rule.byHour);
  if (rule.byDay && rule.byDay.length) parts.push(`BYDAY=${rule.byDay.map((d) => `${d.n ?? ''}${WEEKDAYS[d.day]}`).join(',')}`);
  list('BYMONTHDAY', rule.byMonthDay);
  list('BYYEARDAY', rule.byYearDay);
  list('BYWEEKNO', rule.byWeekNo);
  list('BYMONTH', rule.byMonth);
  list('BYSETPOS', rule.bySetPos);
  if (rule.wkst !== 0) parts.push(`WKST=${WEEKDAYS[rule.wkst]}`);
  if (rule.skip) parts.push(`SKIP=${rule.skip}`);
  return parts.join(';');
}

// ---------------------------------------------------------------------------------------------
// Day-number calendar arithmetic (proleptic Gregorian; day 0 = 1970-01-01, a Thursday)

/** Days since 1970-01-01 of a civil date (H. Hinnant's algorithm, exact for all years). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const mp = m > 2 ? m - 3 : m + 9;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

// civil() writes here instead of allocating a tuple per call (hot path).
let cy = 1970, cm = 1, cd = 1;
function civil(z: number): void {
  const zz = z + 719468;
  const era = Math.floor(zz / 146097);
  const doe = zz - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  cd = doy - Math.floor((153 * mp + 2) / 5) + 1;
  cm = mp < 10 ? mp + 3 : mp - 9;
  cy = yoe + era * 400 + (cm <= 2 ? 1 : 0);
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}
const MONTH_DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
function daysInMonth(y: number, m: number): number {
  return m === 2 && isLeap(y) ? 29 : MONTH_DAYS[m];
}
/** 0 = Monday. */
function weekday(day: number): number {
  return (((day + 3) % 7) + 7) % 7;
}
/** First day of week 1 of week-numbering year `y` (weeks start on `wkst`, week 1 has ≥ 4 days of y). */
function weekYearStart(y: number, wkst: number): number {
  const jan1 = daysFromCivil(y, 1, 1);
  const off = (weekday(jan1) - wkst + 7) % 7;
  return off <= 3 ? jan1 - off : jan1 + 7 - off;
}

const MAX_DAY = daysFromCivil(9999, 12, 31); // iCalendar years have four digits
const GREGORIAN_CYCLE_DAYS = 146097; // 400 years = exactly 20871 weeks, so weekdays repeat too

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

// ---------------------------------------------------------------------------------------------
// Compilation: turn a rule + DTSTART into lookup tables

interface Plan {
  freq: number;
  interval: number;
  wkst: number;
  monthMask: Uint8Array | null; // [1..12]
  weekNos: number[] | null; // raw BYWEEKNO values
  ydPos: Uint8Array | null; ydNeg: Uint8Array | null; // [1..366]
  mdPos: Uint8Array | null; mdNeg: Uint8Array | null; // [1..31]
  mdValues: number[]; ydValues: number[]; // for SKIP handling
  wdPlain: Uint8Array | null; // [0..6], null = no weekday filter
  ordPos: Uint8Array | null; ordNeg: Uint8Array | null; // [wd*54 + n]
  ordInYear: boolean;
  hourMask: Uint8Array | null; minuteMask: Uint8Array | null; secondMask: Uint8Array | null;
  /** Times of day in ms for YEARLY..DAILY (sorted). */
  times: number[];
  minutes: number[]; seconds: number[];
  setPos: number[] | null;
  skip: 0 | 1 | 2; // OMIT, BACKWARD, FORWARD
  needsCivil: boolean;
  weekYearPeriods: boolean;
}

function mask(size: number, values: number[] | undefined): Uint8Array | null {
  if (!values || !values.length) return null;
  const m = new Uint8Array(size);
  for (const v of values) if (v >= 0 && v < size) m[v] = 1;
  return m;
}

function signedMasks(size: number, values: number[] | undefined): [Uint8Array | null, Uint8Array | null] {
  if (!values || !values.length) return [null, null];
  const pos = new Uint8Array(size + 1), neg = new Uint8Array(size + 1);
  for (const v of values) (v > 0 ? pos : neg)[Math.abs(v)] = 1;
  return [pos, neg];
}

function uniqSorted(values: number[]): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

function compile(rule: RRule, dtstart: number, isDate: boolean): Plan {
  const freq = FREQS.indexOf(rule.freq);
  const day0 = Math.floor(dtstart / DAY);
  const tod = dtstart - day0 * DAY;
  civil(day0);
  const m0 = cm, d0 = cd;
  const h0 = Math.floor(tod / 3_600_000), mi0 = Math.floor(tod / 60_000) % 60, s0 = Math.floor(tod / 1000) % 60;

  let byMonth = rule.byMonth;
  let byMonthDay = rule.byMonthDay;
  let byDay = rule.byDay;
  const hasDayPart = !!(rule.byWeekNo?.length || rule.byYearDay?.length || rule.byMonthDay?.length || rule.byDay?.length);
  // Whatever the rule does not say comes from DTSTART (RFC 5545 §3.3.10).
  if (!hasDayPart) {
    if (freq === YEARLY) {
      byMonthDay = [d0];
      if (!byMonth?.length) byMonth = [m0];
    } else if (freq === MONTHLY) byMonthDay = [d0];
    else if (freq === WEEKLY) byDay = [{ day: weekday(day0) as Weekday }];
  } else if (freq === YEARLY && rule.byWeekNo?.length && !rule.byYearDay?.length && !rule.byMonthDay?.length && !rule.byDay?.length) {
    byDay = [{ day: weekday(day0) as Weekday }]; // "week 20" means DTSTART's weekday in week 20 (libical, ical.net)
  } else if (freq === YEARLY && rule.byMonthDay?.length && !byMonth?.length && !rule.byWeekNo?.length && !rule.byYearDay?.length) {
    byMonth = [m0]; // "yearly on the 29th" means the 29th of DTSTART's month (libical, ical.net, ical.js; dateutil differs)
  }

  // Ordinal BYDAY only means something in MONTHLY and YEARLY; elsewhere (an RFC violation) it is read as the plain weekday.
  const ordinalAllowed = freq === YEARLY || freq === MONTHLY;
  let wdPlain: Uint8Array | null = null, ordPos: Uint8Array | null = null, ordNeg: Uint8Array | null = null;
  if (byDay?.length) {
    wdPlain = new Uint8Array(7);
    for (const bd of byDay) {
      if (bd.n === undefined || !ordinalAllowed) wdPlain[bd.day] = 1;
      else if (bd.n > 0) (ordPos ??= new Uint8Array(7 * 54))[bd.day * 54 + bd.n] = 1;
      else (ordNeg ??= new Uint8Array(7 * 54))[bd.day * 54 - bd.n] = 1;
    }
  }
  const [mdPos, mdNeg] = signedMasks(31, byMonthDay);
  const [ydPos, ydNeg] = signedMasks(366, rule.byYearDay);

  const expandList = (level: number, by: number[] | undefined, own: number): number[] =>
    freq < level ? uniqSorted(by?.length ? by.filter((v) => v < 60) : [own]) : [];
  const hours = isDate ? [0] : expandList(HOURLY, rule.byHour, h0);
  const minutes = isDate ? [0] : (freq < MINUTELY ? uniqSorted(rule.byMinute?.length ? rule.byMinute : [mi0]) : []);
  const seconds = isDate ? [0] : (freq < SECONDLY ? uniqSorted(rule.bySecond?.length ? rule.bySecond.filter((v) => v < 60) : [s0]) : []);
  const times: number[] = [];
  if (freq <= DAILY) for (const h of hours) for (const mi of minutes) for (const s of seconds) times.push((h * 3600 + mi * 60 + s) * 1000);

  const needsCivil = !!(byMonth?.length || mdPos || ydPos || ordPos || ordNeg || (rule.byWeekNo?.length && freq !== YEARLY));
  return {
    freq, interval: rule.interval, wkst: rule.wkst,
    monthMask: mask(13, byMonth),
    weekNos: rule.byWeekNo?.length ? rule.byWeekNo : null,
    ydPos, ydNeg, mdPos, mdNeg,
    mdValues: byMonthDay ?? [], ydValues: rule.byYearDay ?? [],
    wdPlain, ordPos, ordNeg,
    ordInYear: freq === YEARLY && !rule.byMonth?.length, // "20MO" counts in the year unless BYMONTH is explicit
    hourMask: freq >= HOURLY ? mask(24, rule.byHour) : null,
    minuteMask: freq >= MINUTELY ? mask(60, rule.byMinute) : null,
    secondMask: freq >= SECONDLY ? mask(61, rule.bySecond) : null,
    times, minutes, seconds,
    setPos: rule.bySetPos?.length ? rule.bySetPos : null,
    skip: rule.rscale && rule.skip === 'BACKWARD' ? 1 : rule.rscale && rule.skip === 'FORWARD' ? 2 : 0,
    needsCivil,
    weekYearPeriods: freq === YEARLY && !!rule.byWeekNo?.length,
  };
}

/** Week number (1-based, with the count of weeks in its week-year) of `day`; written to wkNo/wkCount. */
let wkNo = 0, wkCount = 0;
function weekNumber(day: number, year: number, wkst: number): void {
  let wy = year;
  let start = weekYearStart(wy, wkst);
  if (day < start) { wy--; start = weekYearStart(wy, wkst); } else {
    const next = weekYearStart(wy + 1, wkst);
    if (day >= next) { wy++; start = next; }
  }
  wkNo = Math.floor((day - start) / 7) + 1;
  wkCount = (weekYearStart(wy + 1, wkst) - start) / 7;
}

/** Does `day` satisfy every day-level part? (`monthChecked`: BYMONTH already enforced by the caller.) */
function dayMatches(p: Plan, day: number, monthChecked: boolean, weekChecked: boolean): boolean {
  const wd = weekday(day);
  if (p.wdPlain && !p.ordPos && !p.ordNeg && !p.wdPlain[wd]) return false;
  if (!p.needsCivil) return true;
  civil(day);
  const y = cy, m = cm, md = cd;
  if (p.monthMask && !monthChecked && !p.monthMask[m]) return false;
  const mlen = daysInMonth(y, m);
  if (p.mdPos && !(p.mdPos[md] || p.mdNeg![mlen - md + 1])) return false;
  let yd = 0, ylen = 0;
  if (p.ydPos || (p.ordInYear && (p.ordPos || p.ordNeg))) {
    yd = day - daysFromCivil(y, 1, 1) + 1;
    ylen = isLeap(y) ? 366 : 365;
    if (p.ydPos && !(p.ydPos[yd] || p.ydNeg![ylen - yd + 1])) return false;
  }
  if (p.ordPos || p.ordNeg) {
    if (!(p.wdPlain![wd])) {
      const [i, len] = p.ordInYear ? [yd, ylen] : [md, mlen];
      const nth = Math.floor((i - 1) / 7) + 1, nthBack = Math.floor((len - i) / 7) + 1;
      if (!((p.ordPos && p.ordPos[wd * 54 + nth]) || (p.ordNeg && p.ordNeg[wd * 54 + nthBack]))) return false;
    }
  }
  if (p.weekNos && !weekChecked) {
    weekNumber(day, y, p.wkst);
    let ok = false;
    for (const n of p.weekNos) if (n > 0 ? n === wkNo : wkCount + n + 1 === wkNo) { ok = true; break; }
    if (!ok) return false;
  }
  return true;
}

/** RFC 7529 SKIP: where an invalid BYMONTHDAY/BYYEARDAY/derived day lands (BACKWARD/FORWARD). */
function pushSkipped(p: Plan, out: number[], first: number, len: number, values: number[]): void {
  for (const v of values) {
    if (Math.abs(v) <= len) continue;
    const rolled = v > 0 ? (p.skip === 1 ? first + len - 1 : first + len) : (p.skip === 1 ? first - 1 : first);
    if (p.wdPlain && !p.ordPos && !p.ordNeg && !p.wdPlain[weekday(rolled)]) continue;
    out.push(rolled);
  }
}

/** The days of one YEARLY/MONTHLY/WEEKLY/DAILY period that satisfy the rule, ascending. */
function periodDays(p: Plan, period: number, out: number[]): void {
  out.length = 0;
  switch (p.freq) {
    case YEARLY: {
      if (p.weekYearPeriods) {
        const start = weekYearStart(period, p.wkst);
        const nweeks = (weekYearStart(period + 1, p.wkst) - start) / 7;
        const weeks = uniqSorted(p.weekNos!.map((n) => (n > 0 ? n : nweeks + n + 1)).filter((k) => k >= 1 && k <= nweeks));
        for (const k of weeks) for (let d = start + (k - 1) * 7, e = d + 7; d < e; d++) if (dayMatches(p, d, false, true)) out.push(d);
        return;
      }
      const y = period;
      if (p.monthMask) {
        for (let m = 1; m <= 12; m++) {
          if (!p.monthMask[m]) continue;
          const first = daysFromCivil(y, m, 1), len = daysInMonth(y, m);
          for (let d = first; d < first + len; d++) if (dayMatches(p, d, true, false)) out.push(d);
          if (p.skip && p.mdPos) pushSkipped(p, out, first, len, p.mdValues);
        }
      } else {
        const first = daysFromCivil(y, 1, 1), len = isLeap(y) ? 366 : 365;
        for (let d = first; d < first + len; d++) if (dayMatches(p, d, true, false)) out.push(d);
        if (p.skip) {
          if (p.ydPos) pushSkipped(p, out, first, len, p.ydValues);
          if (p.mdPos) for (let m = 1; m <= 12; m++) pushSkipped(p, out, daysFromCivil(y, m, 1), daysInMonth(y, m), p.mdValues);
        }
      }
      break;
    }
    case MONTHLY: {
      const y = Math.floor(period / 12), m = period - y * 12 + 1;
      if (p.monthMask && !p.monthMask[m]) return;
      const first = daysFromCivil(y, m, 1), len = daysInMonth(y, m);
      for (let d = first; d < first + len; d++) if (dayMatches(p, d, true, false)) out.push(d);
      if (p.skip && p.mdPos) pushSkipped(p, out, first, len, p.mdValues);
      break;
    }
    case WEEKLY:
      for (let d = period; d < period + 7; d++) if (dayMatches(p, d, false, false)) out.push(d);
      return;
    default:
      if (dayMatches(p, period, false, false)) out.push(period);
      return;
  }
  if (p.skip && out.length > 1) {
    const u = uniqSorted(out);
    out.length = 0;
    out.push(...u);
  }
}

function applySetPos(setPos: number[], set: number[]): number[] {
  const picked: number[] = [];
  for (const pos of setPos) {
    const i = pos > 0 ? pos - 1 : set.length + pos;
    if (i >= 0 && i < set.length) picked.push(set[i]);
  }
  return uniqSorted(picked);
}

export interface IterateOptions {
  /** The series is all-day: instances are whole days (times of day are ignored). */
  isDate?: boolean;
  /** Converts a UTC UNTIL into the series' wall frame (zone-aware); without it UTC is compared as wall. */
  untilToWall?: (utcMs: number) => number;
  /** Cap on candidate steps (periods visited) in all; also caps 100,000 steps in a row without an instance. Default 1,000,000. */
  maxIterations?: number;
  /** Yield DTSTART first even when it does not match the rule (RFC 5545). Default true. */
  includeDtstart?: boolean;
  /** Instances before this wall value are not needed: whole periods before it are skipped when the rule has no COUNT. */
  startAtWall?: number;
}

const DEFAULT_MAX_ITERATIONS = 1_000_000;
const MAX_EMPTY_STREAK = 100_000;

/** Period index (in FREQ units) holding wall value `wall`. */
function periodOf(p: Plan, wall: number): number {
  const day = Math.floor(wall / DAY);
  switch (p.freq) {
    case YEARLY: {
      civil(day);
      if (!p.weekYearPeriods) return cy;
      const start = weekYearStart(cy, p.wkst);
      if (day < start) return cy - 1;
      return day >= weekYearStart(cy + 1, p.wkst) ? cy + 1 : cy;
    }
    case MONTHLY: civil(day); return cy * 12 + cm - 1;
    case WEEKLY: return day - ((weekday(day) - p.wkst + 7) % 7);
    case DAILY: return day;
    case HOURLY: return Math.floor(wall / 3_600_000);
    case MINUTELY: return Math.floor(wall / 60_000);
    default: return Math.floor(wall / 1000);
  }
}

/** First day of a period (for UNTIL / year-9999 cut-offs on empty periods). */
function periodFirstDay(p: Plan, period: number): number {
  switch (p.freq) {
    case YEARLY: return p.weekYearPeriods ? weekYearStart(period, p.wkst) : daysFromCivil(period, 1, 1);
    case MONTHLY: { const y = Math.floor(period / 12); return daysFromCivil(y, period - y * 12 + 1, 1); }
    case WEEKLY: case DAILY: return period;
    case HOURLY: return Math.floor(period / 24);
    case MINUTELY: return Math.floor(period / 1440);
    default: return Math.floor(period / 86400);
  }
}

/** Periods after which the Gregorian calendar (dates and weekdays) repeats, for this FREQ and INTERVAL. */
function cycleLength(p: Plan): number {
  const units = [400, 4800, GREGORIAN_CYCLE_DAYS / 7, GREGORIAN_CYCLE_DAYS, GREGORIAN_CYCLE_DAYS * 24, GREGORIAN_CYCLE_DAYS * 1440, GREGORIAN_CYCLE_DAYS * 86400][p.freq];
  return units / gcd(p.interval, units);
}

/**
 * Wall-clock instances, in order, DTSTART included first per RFC 5545 §3.3.10 ("DTSTART always
 * counts as the first occurrence", also for COUNT). untilToWall converts a UTC UNTIL into the
 * series' wall frame (zone-aware). Stops at maxIterations candidate steps with
 * RecurrenceLimitError. A rule that provably never yields again (a full 400-year Gregorian cycle
 * of empty periods) or runs past year 9999 simply ends.
 */
export function* iterateRRule(rule: RRule, dtstartWall: number, opts: IterateOptions = {}): Generator<number> {
  const isDate = !!opts.isDate;
  const dtstart = isDate ? Math.floor(dtstartWall / DAY) * DAY : dtstartWall;
  const p = compile(rule, dtstart, isDate);
  const includeDtstart = opts.includeDtstart !== false;
  const maxIterations = opts.maxIterations ?? DEFAULT_MAX_ITERATIONS;
  const maxEmpty = Math.min(MAX_EMPTY_STREAK, maxIterations);

  let until = Infinity;
  if (rule.until) {
    until = rule.until.utc && opts.untilToWall ? opts.untilToWall(rule.until.wall) : rule.until.wall;
    // A DATE UNTIL on a timed series means that date at 00:00 (libical, dateutil).
    if (isDate && !rule.until.date) until = Math.floor(until / DAY) * DAY; // compare days with days
  }
  const count = rule.count ?? Infinity;
  let emitted = 0;
  let last = -Infinity;

  if (includeDtstart) {
    yield dtstart;
    emitted = 1;
    last = dtstart;
    if (emitted >= count) return;
  }

  const interval = p.interval;
  const step = p.freq === WEEKLY ? interval * 7 : interval;
  const p0 = periodOf(p, dtstart);
  let period = p0;
  if (opts.startAtWall !== undefined && rule.count === undefined && opts.startAtWall > dtstart) {
    const target = periodOf(p, opts.startAtWall);
    const k = Math.floor((target - p0) / step) - 1; // one period of margin (SKIP=FORWARD can spill over)
    if (k > 0) period = p0 + k * step;
  }
  const cycle = cycleLength(p);
  const days: number[] = [];
  let set: number[] = [];
  let steps = 0, empty = 0;
  let lastDay = NaN, lastDayOk = false;

  const alignAfter = (boundary: number): number => p0 + Math.ceil((boundary - p0) / step) * step;

  for (;;) {
    if (++steps > maxIterations) throw new RecurrenceLimitError(`recurrence rule ${formatRRule(rule)} stopped after ${maxIterations} steps`, steps - 1);
    const firstDay = periodFirstDay(p, period);
    if (firstDay > MAX_DAY || firstDay * DAY > until) return;
    set.length = 0;
    let next = period + step;
    if (p.freq <= DAILY) {
      periodDays(p, period, days);
      for (const d of days) for (const t of p.times) set.push(d * DAY + t);
    } else {
      // Sub-daily: one hour/minute/second per period; skip whole days/hours that fail their filters.
      const unitsPerDay = p.freq === HOURLY ? 24 : p.freq === MINUTELY ? 1440 : 86400;
      const day = Math.floor(period / unitsPerDay);
      if (day !== lastDay) { lastDay = day; lastDayOk = dayMatches(p, day, false, false); }
      const within = period - day * unitsPerDay;
      const h = p.freq === HOURLY ? within : Math.floor(within / (p.freq === MINUTELY ? 60 : 3600));
      const mi = p.freq === MINUTELY ? within % 60 : p.freq === SECONDLY ? Math.floor(within / 60) % 60 : -1;
      const s = p.freq === SECONDLY ? within % 60 : -1;
      if (!lastDayOk) next = Math.max(next, alignAfter((day + 1) * unitsPerDay));
      else if (p.hourMask && !p.hourMask[h]) next = Math.max(next, alignAfter(day * unitsPerDay + (h + 1) * (unitsPerDay / 24)));
      else if (p.minuteMask && mi >= 0 && !p.minuteMask[mi]) next = Math.max(next, alignAfter(p.freq === MINUTELY ? period + 1 : Math.floor(period / 60) * 60 + 60));
      else if (p.secondMask && s >= 0 && !p.secondMask[s]) { /* next second */ }
      else {
        const base = day * DAY + h * 3_600_000;
        if (p.freq === HOURLY) { for (const m2 of p.minutes) for (const s2 of p.seconds) set.push(base + (m2 * 60 + s2) * 1000); }
        else if (p.freq === MINUTELY) { for (const s2 of p.seconds) set.push(base + (mi * 60 + s2) * 1000); }
        else set.push(base + (mi * 60 + s) * 1000);
      }
    }
    if (p.setPos && set.length) set = applySetPos(p.setPos, set);
    let produced = false;
    for (let v of set) {
      if (isDate) v = Math.floor(v / DAY) * DAY;
      if (v < dtstart || v <= last) continue;
      if (v > until || v > MAX_DAY * DAY + DAY - 1) return;
      produced = true;
      last = v;
      yield v;
      if (++emitted >= count) return;
    }
    // Candidates before DTSTART still prove the rule can match, so they reset the streak too.
    if (produced || set.length) empty = 0;
    else if (++empty >= cycle) return; // the calendar repeats: this rule will never yield again
    else if (empty >= maxEmpty) throw new RecurrenceLimitError(`recurrence rule ${formatRRule(rule)} produced no instance in ${maxEmpty} steps`, steps);
    period = next;
  }
}
