/**
 * VTIMEZONE generation from the runtime's IANA data (Intl), so exported feeds carry a definition
 * for every TZID they use (RFC 5545 §3.6.5) without bundling a time-zone database.
 *
 * How: find every UTC-offset transition in the scanned years, then describe them as observances.
 * A sequence of yearly transitions that follows one rule ("last Sunday of March at 02:00") becomes
 * a STANDARD/DAYLIGHT component with an RRULE (open-ended when it is still in force at the end of
 * the scan, so recurring events in later years stay correct); anything irregular becomes explicit
 * DTSTART/RDATE onsets. A base observance from 1601 carries the offset in force before the first
 * transition, because ical.js treats times before the first onset as UTC.
 */
import { canonicalTimeZone, utcFields, zoneOffsetMs } from '../time';

const MINUTE = 60_000;
const QUARTER = 15 * MINUTE;
const DAY = 86_400_000;

/** Years scanned are clamped to this range: outside it Intl only knows local mean time anyway. */
export const VTIMEZONE_MIN_YEAR = 1900;
export const VTIMEZONE_MAX_YEAR = 2100;
/** Years scanned after `toYear` so yearly rules are inferred from enough years (see buildVtimezone). */
const RULE_LOOKAHEAD_YEARS = 8;

export interface ZoneTransition {
  /** First UTC instant at which `to` applies. */
  utcMs: number;
  from: number;
  to: number;
  /** The new offset is summer time (see isDaylightOffset). */
  daylight: boolean;
}

/** Offsets are compared with this much context on each side: a whole year, so 8-month US DST is seen. */
const CONTEXT = 366 * DAY;

/**
 * All offset changes of `tz` in [fromMs, toMs), each classified as daylight or standard from the
 * offsets in force in the year before and the year after it.
 */
export function zoneTransitions(tz: string, fromMs: number, toMs: number): ZoneTransition[] {
  const timeline = offsetTimeline(tz, fromMs - CONTEXT, toMs + CONTEXT);
  return timeline.changes
    .filter((c) => c.utcMs >= fromMs && c.utcMs < toMs)
    .map((c) => ({ ...c, daylight: isDaylightOffset(timeline, c.utcMs, c.to) }));
}

interface OffsetTimeline {
  /** Offset in force at the start of the scanned range. */
  initial: number;
  changes: { utcMs: number; from: number; to: number }[];
}

/**
 * Offset changes in [fromMs, toMs). Samples once a day (real zones never change offset twice
 * within a day) and bisects to the quarter hour (every transition since 1900 falls on one;
 * zoneOffsetMs is exact at that granularity).
 */
function offsetTimeline(tz: string, fromMs: number, toMs: number): OffsetTimeline {
  const changes: OffsetTimeline['changes'] = [];
  let t = Math.floor(fromMs / QUARTER) * QUARTER;
  let off = zoneOffsetMs(tz, t);
  const initial = off;
  while (t < toMs) {
    const next = Math.min(t + DAY, Math.ceil(toMs / QUARTER) * QUARTER);
    const nextOff = zoneOffsetMs(tz, next);
    if (nextOff !== off) {
      // Bisect (lo has the old offset, hi the new one); a change back within the day is ignored.
      let lo = t;
      let hi = next;
      while (hi - lo > QUARTER) {
        const mid = lo + Math.floor((hi - lo) / QUARTER / 2) * QUARTER;
        if (zoneOffsetMs(tz, mid) === off) lo = mid;
        else hi = mid;
      }
      changes.push({ utcMs: hi, from: off, to: zoneOffsetMs(tz, hi) });
    }
    off = nextOff;
    t = next;
  }
  return { initial, changes };
}

/** The lowest offset in force at some time in [a, b]. */
function lowestOffset(timeline: OffsetTimeline, a: number, b: number): number {
  let current = timeline.initial;
  let low = Infinity;
  for (const c of timeline.changes) {
    if (c.utcMs > b) break;
    if (c.utcMs > a) low = Math.min(low, current);
    current = c.to;
  }
  return Math.min(low, current);
}

/**
 * Intl has no DST flag, so infer it: an offset is summer time (DAYLIGHT) when the zone is at a
 * lower offset at some point within the year before *and* within the year after. That covers
 * DST of any length (US: 8 months), both hemispheres, and treats a permanent change of standard
 * time (held for the following year) as STANDARD; a zone without changes is STANDARD. Zones that
 * IANA describes with "negative DST" (Europe/Dublin: winter is the DST period) come out the way
 * Windows, ICU's rearguard data and calendar clients show them: summer is DAYLIGHT.
 */
function isDaylightOffset(timeline: OffsetTimeline, utcMs: number, offset: number): boolean {
  return offset > lowestOffset(timeline, utcMs - CONTEXT, utcMs) && offset > lowestOffset(timeline, utcMs, utcMs + CONTEXT);
}

/** `+HHMM` (or `+HHMMSS` for the odd local-mean-time offset). */
export function formatUtcOffset(ms: number): string {
  const sign = ms < 0 ? '-' : '+';
  const total = Math.round(Math.abs(ms) / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  return `${sign}${two(h)}${two(m)}${s ? two(s) : ''}`;
}

/** `YYYYMMDDTHHMMSS` for a wall value. */
function basicWall(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${String(d.getUTCFullYear()).padStart(4, '0')}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}T${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}`;
}

const WEEKDAYS = ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'];

/**
 * Yearly rules that produce exactly one date per year and match this onset's local date, most
 * readable first. The intersection over consecutive years decides whether a run is regular.
 */
function ruleCandidates(wallMs: number): string[] {
  const d = new Date(wallMs);
  const month = d.getUTCMonth() + 1;
  const day = d.getUTCDate();
  const wd = WEEKDAYS[d.getUTCDay()];
  const daysInMonth = new Date(Date.UTC(d.getUTCFullYear(), month, 0)).getUTCDate();
  const out: string[] = [];
  const nth = Math.ceil(day / 7);
  if (nth <= 4) out.push(`BYMONTH=${month};BYDAY=${nth}${wd}`);
  if (day + 7 > daysInMonth) out.push(`BYMONTH=${month};BYDAY=-1${wd}`);
  // "weekday on or after the k-th" (e.g. Israel's Friday before the last Sunday): a 7-day window.
  for (let k = Math.max(1, day - 6); k <= day; k++) {
    if (k + 6 > 28 && month === 2) continue; // February's length varies; keep windows within 28
    if (k + 6 > daysInMonth) continue;
    const days = Array.from({ length: 7 }, (_, i) => k + i).join(',');
    out.push(`BYMONTH=${month};BYDAY=${wd};BYMONTHDAY=${days}`);
  }
  out.push(`BYMONTH=${month};BYMONTHDAY=${day}`);
  return out;
}

interface Onset {
  utcMs: number;
  wallMs: number; // local time of the onset in the offset before it (how DTSTART is written)
  from: number;
  to: number;
  daylight: boolean;
  name?: string;
}

/**
 * The content lines (unfolded, without CRLF) of a VTIMEZONE for `tzid` describing its offsets in
 * the years [fromYear, toYear] and the 8 years after (to infer yearly rules reliably). Pass a year
 * of margin on both sides of the events' span. Throws TimeFormatError for a zone the runtime
 * doesn't know.
 */
export function buildVtimezone(tzid: string, fromYear: number, toYear: number): string[] {
  const tz = canonicalTimeZone(tzid) ?? tzid;
  const y0 = Math.min(Math.max(fromYear, VTIMEZONE_MIN_YEAR), VTIMEZONE_MAX_YEAR);
  const y1 = Math.max(Math.min(toYear, VTIMEZONE_MAX_YEAR), y0);
  const scanStart = utcFields(y0, 1, 1);
  // Look ahead past the last year asked for: a short scan cannot tell a rule from its look-alikes
  // (the last Sunday of October is also the 4th in 2024–2026, not in 2027), and an open-ended
  // rule must stay right after the scan. Within 8 years each date rule has met every weekday.
  const scanEnd = utcFields(Math.min(y1 + 1 + RULE_LOOKAHEAD_YEARS, VTIMEZONE_MAX_YEAR + 1), 1, 1);
  const baseOffset = zoneOffsetMs(tz, scanStart);
  const timeline = offsetTimeline(tz, scanStart - CONTEXT, scanEnd + CONTEXT);
  const onsets: Onset[] = timeline.changes
    .filter((c) => c.utcMs >= scanStart && c.utcMs < scanEnd)
    .map((c) => ({
      ...c,
      daylight: isDaylightOffset(timeline, c.utcMs, c.to),
      wallMs: c.utcMs + c.from,
      name: zoneAbbreviation(tz, c.utcMs),
    }));

  // TEXT-escaped like the TZID parameter's counterpart; IANA names never need it in practice.
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  const tzidText = tzid.replace(/[\\;,]/g, (c) => '\\' + c).replace(/[\u0000-\u001f\u007f]/g, '');
  const lines: string[] = ['BEGIN:VTIMEZONE', `TZID:${tzidText}`, `X-LIC-LOCATION:${tzidText}`];
  const baseKind = isDaylightOffset(timeline, scanStart, baseOffset) ? 'DAYLIGHT' : 'STANDARD';
  lines.push(
    `BEGIN:${baseKind}`,
    'DTSTART:16010101T000000',
    `TZOFFSETFROM:${formatUtcOffset(baseOffset)}`,
    `TZOFFSETTO:${formatUtcOffset(baseOffset)}`,
  );
  const baseName = zoneAbbreviation(tz, scanStart);
  if (baseName) lines.push(`TZNAME:${baseName}`);
  lines.push(`END:${baseKind}`);

  const irregular: Onset[] = [];
  for (const run of regularRuns(onsets)) {
    if (run.onsets.length < 2) {
      irregular.push(...run.onsets);
      continue;
    }
    const first = run.onsets[0];
    const last = run.onsets[run.onsets.length - 1];
    // Still in force at the end of the scan → open-ended, so later years follow the same rule.
    const openEnded = last.utcMs + 366 * DAY > scanEnd;
    const until = openEnded ? '' : `;UNTIL=${basicWall(last.utcMs)}Z`;
    lines.push(...observance(first, [`RRULE:FREQ=YEARLY;${run.rule}${until}`]));
  }
  // Irregular onsets sharing offsets and kind become one component with RDATEs. ical.js ignores
  // DTSTART when RDATEs exist, so DTSTART is repeated as an RDATE (harmless: sets deduplicate).
  const groups = new Map<string, Onset[]>();
  for (const o of irregular) {
    const key = `${o.daylight}|${o.from}|${o.to}|${o.name ?? ''}`;
    const g = groups.get(key);
    if (g) g.push(o);
    else groups.set(key, [o]);
  }
  for (const g of groups.values()) {
    g.sort((a, b) => a.utcMs - b.utcMs);
    lines.push(...observance(g[0], g.length > 1 ? g.map((o) => `RDATE:${basicWall(o.wallMs)}`) : []));
  }
  lines.push('END:VTIMEZONE');
  return lines;
}

function observance(first: Onset, extra: string[]): string[] {
  const kind = first.daylight ? 'DAYLIGHT' : 'STANDARD';
  const out = [
    `BEGIN:${kind}`,
    `DTSTART:${basicWall(first.wallMs)}`,
    ...extra,
    `TZOFFSETFROM:${formatUtcOffset(first.from)}`,
    `TZOFFSETTO:${formatUtcOffset(first.to)}`,
  ];
  if (first.name) out.push(`TZNAME:${first.name}`);
  out.push(`END:${kind}`);
  return out;
}

interface Run {
  rule: string;
  onsets: Onset[];
}

/**
 * Splits onsets into runs: same kind, offsets and local time of day, in consecutive years, all
 * matching one yearly rule. Onsets that fit no run end up in runs of length 1.
 */
function regularRuns(onsets: Onset[]): Run[] {
  const bySeries = new Map<string, Onset[]>();
  for (const o of onsets) {
    const key = `${o.daylight}|${o.from}|${o.to}|${o.wallMs % DAY}|${o.name ?? ''}`;
    const s = bySeries.get(key);
    if (s) s.push(o);
    else bySeries.set(key, [o]);
  }
  const runs: Run[] = [];
  for (const series of bySeries.values()) {
    let current: { onsets: Onset[]; rules: string[] } | undefined;
    const close = () => {
      if (current) runs.push({ rule: current.rules[0], onsets: current.onsets });
      current = undefined;
    };
    for (const o of series) {
      const year = new Date(o.wallMs).getUTCFullYear();
      const cands = ruleCandidates(o.wallMs);
      if (current) {
        const prevYear = new Date(current.onsets[current.onsets.length - 1].wallMs).getUTCFullYear();
        const common = current.rules.filter((r) => cands.includes(r));
        if (prevYear + 1 === year && common.length > 0) {
          current.onsets.push(o);
          current.rules = common;
          continue;
        }
        close();
      }
      current = { onsets: [o], rules: cands };
    }
    close();
  }
  return runs.sort((a, b) => a.onsets[0].utcMs - b.onsets[0].utcMs);
}

/**
 * Locales whose CLDR data carries the abbreviations people actually use, tried in order: North
 * America (EST, PDT, AKST, HST…), Britain and Europe (GMT/BST, CET/CEST, EET, WET), Ireland (IST in
 * summer), Australia and New Zealand (AEST, ACDT, NZST…), India (IST), southern Africa (SAST),
 * Singapore and Hong Kong. Each only names the zones it knows, so the names never conflict.
 */
const ABBREVIATION_LOCALES = ['en-US', 'en-GB', 'en-IE', 'en-AU', 'en-NZ', 'en-IN', 'en-ZA', 'en-SG', 'en-HK'];
const abbreviationFormatters = new Map<string, Intl.DateTimeFormat[]>();

/**
 * The abbreviation of `tz` at `utcMs` ("CEST", "EDT", "AEDT") from the first locale that has one;
 * undefined when none does (Intl then only offers "GMT+3"-style names, which are no abbreviation:
 * TZNAME is optional and is omitted).
 */
function zoneAbbreviation(tz: string, utcMs: number): string | undefined {
  let fs = abbreviationFormatters.get(tz);
  if (!fs) {
    fs = ABBREVIATION_LOCALES.map((locale) => new Intl.DateTimeFormat(locale, { timeZone: tz, timeZoneName: 'short' }));
    abbreviationFormatters.set(tz, fs);
  }
  const at = new Date(utcMs);
  for (const f of fs) {
    const name = f.formatToParts(at).find((p) => p.type === 'timeZoneName')?.value;
    if (name && /^[A-Z]{2,6}$/.test(name)) return name;
  }
  return undefined;
}
