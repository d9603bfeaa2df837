/**
 * ICS → CalendarEvent[]. Pure: text or bytes in, events and per-event errors out.
 *
 * Why not `ICAL.parse(wholeFile)` + `ICAL.Event`: ical.js throws on the whole file when one line
 * is bad, and its per-event exception lookup is quadratic. So we split the file into components
 * ourselves (with line numbers, so problems can name them), hand each content line to ical.js's
 * line parser (`ICAL.parse.property` → jCal property), and map the jCal straight onto our model.
 * A broken VEVENT becomes a ParseIssue; everything else in the feed is still returned.
 */
import ICAL from 'ical.js';
import type { CalendarEvent, CalendarMeta, EventAttendee, EventPerson, EventTime, ParseIssue, ParseResult, XProperty } from '../event';
import { timeKey } from '../event';
import { addDuration, canonicalTimeZone, eventTimeToUtc, formatDate, formatUtc, formatWall, parseDuration, utcFields, utcToWall } from '../time';
import { componentMarker, decodeIcsText, nameEnd, propertyName, unfoldLines, valueStart } from './lines';
import { buildVTimezone, fixedOffsetZone, ianaFromName, instantMatchWarning, matchVTimezone, vtimezoneWallToUtc, type VTimezoneInfo } from './timezones';

export interface IcsParseOptions {
  sourceId?: string;
  /** Zone for floating times if the user wants them pinned; default: keep floating. */
  defaultTimeZone?: string;
}

/** The input is not an iCalendar file at all (no calendar component anywhere). */
export class IcsInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IcsInputError';
  }
}

const DESIGN = ICAL.design.icalendar;
const CALENDAR_COMPONENTS = new Set(['VCALENDAR', 'VEVENT', 'VTODO', 'VJOURNAL', 'VFREEBUSY', 'VTIMEZONE']);
const DAY = 86_400_000;

/** Parses an ICS feed. Never throws for content problems; throws IcsInputError for non-calendars. */
export function parseIcs(input: string | Uint8Array, opts: IcsParseOptions = {}): ParseResult {
  const { text } = decodeIcsText(input);
  const { lines, lineNos } = unfoldLines(text);
  const scan = scanComponents(lines, lineNos);
  if (!scan.sawCalendar) {
    throw new IcsInputError('not an iCalendar file: no BEGIN:VCALENDAR or BEGIN:VEVENT found');
  }
  const errors: ParseIssue[] = scan.errors;
  const mapped: MappedEvent[] = [];
  const defaultZone = opts.defaultTimeZone ? canonicalTimeZone(opts.defaultTimeZone) : undefined;
  for (const cal of scan.calendars) {
    const ctx = new CalendarContext(cal, lines, lineNos, defaultZone);
    for (const raw of cal.events) {
      let result: MappedEvent | ParseIssue;
      try {
        result = mapEvent(lines, lineNos, raw, ctx);
      } catch (err) {
        result = { line: lineNos[raw.begin], message: `VEVENT starting at line ${lineNos[raw.begin]}: ${(err as Error).message}` };
      }
      if ('event' in result) {
        if (opts.sourceId !== undefined) result.event.sourceId = opts.sourceId;
        mapped.push(result);
      } else errors.push(result);
    }
  }
  errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  const result: ParseResult = { events: groupSeries(mapped), errors };
  const calendar = calendarMeta(scan.calendars, lines);
  if (calendar) result.calendar = calendar;
  return result;
}

// ---------------------------------------------------------------------------------------------
// Phase 1: split the logical lines into calendars, events and time zones.

interface RawEvent {
  /** Index of the BEGIN:VEVENT line and of the END:VEVENT line (exclusive range of content). */
  begin: number;
  end: number;
}

interface CalendarScan {
  /** Index range of the calendar's own property lines (depth 1). */
  propLines: number[];
  events: RawEvent[];
  vtimezones: Map<string, VTimezoneInfo>;
}

interface Scan {
  calendars: CalendarScan[];
  errors: ParseIssue[];
  sawCalendar: boolean;
}

function newCalendar(): CalendarScan {
  return { propLines: [], events: [], vtimezones: new Map() };
}

/**
 * Finds where the component opened at `start` ends. Nested components (VALARM) are skipped; a
 * new VEVENT/VCALENDAR or END:VCALENDAR before our END means the component was never closed.
 */
function findEnd(lines: string[], start: number, name: string): { end: number; closed: boolean } {
  const stack: string[] = [];
  for (let j = start + 1; j < lines.length; j++) {
    const c = lines[j].charCodeAt(0) | 0x20;
    if (c !== 98 && c !== 101) continue;
    const m = componentMarker(lines[j]);
    if (!m) continue;
    if (m.begin) {
      if (m.name === 'VCALENDAR' || m.name === name || (stack.length === 0 && (m.name === 'VEVENT' || m.name === 'VTIMEZONE'))) return { end: j, closed: false };
      stack.push(m.name);
    } else if (m.name === name && !stack.includes(name)) {
      return { end: j, closed: true };
    } else if (m.name === 'VCALENDAR') {
      return { end: j, closed: false };
    } else {
      const at = stack.lastIndexOf(m.name);
      if (at !== -1) stack.length = at; // stray ENDs of components we are not in are ignored
    }
  }
  return { end: lines.length, closed: false };
}

function scanComponents(lines: string[], lineNos: number[]): Scan {
  const calendars: CalendarScan[] = [];
  const errors: ParseIssue[] = [];
  let sawCalendar = false;
  let cal: CalendarScan | undefined;
  let implicit: CalendarScan | undefined; // components found outside any VCALENDAR
  const scope = (): CalendarScan => {
    if (cal) return cal;
    if (!implicit) {
      implicit = newCalendar();
      calendars.push(implicit);
    }
    return implicit;
  };
  let i = 0;
  while (i < lines.length) {
    const m = componentMarker(lines[i]);
    if (!m) {
      if (cal) cal.propLines.push(i);
      i++;
      continue;
    }
    if (!m.begin) {
      if (m.name === 'VCALENDAR') cal = undefined;
      i++;
      continue;
    }
    if (CALENDAR_COMPONENTS.has(m.name)) sawCalendar = true;
    if (m.name === 'VCALENDAR') {
      cal = newCalendar();
      calendars.push(cal);
      i++;
      continue;
    }
    const { end, closed } = findEnd(lines, i, m.name);
    if (m.name === 'VEVENT') {
      if (closed) scope().events.push({ begin: i, end });
      else {
        const why = end < lines.length ? `a new component begins at line ${lineNos[end]}` : 'the file ends';
        errors.push({ line: lineNos[i], uid: findUid(lines, i, end), message: `VEVENT starting at line ${lineNos[i]} has no END:VEVENT (${why}); event skipped` });
      }
    } else if (m.name === 'VTIMEZONE' && closed) {
      const info = readVTimezone(lines, i, end);
      if (info && !scope().vtimezones.has(info.tzid)) scope().vtimezones.set(info.tzid, info);
    }
    // Other components (VTODO, VJOURNAL, VFREEBUSY, …) are not events: skipped whole.
    i = closed ? end + 1 : end;
  }
  return { calendars, errors, sawCalendar };
}

function findUid(lines: string[], begin: number, end: number): string | undefined {
  for (let j = begin + 1; j < end; j++) {
    const ne = nameEnd(lines[j]);
    if (ne > 0 && propertyName(lines[j], ne) === 'UID') {
      const vs = valueStart(lines[j], ne);
      if (vs !== -1) return lines[j].slice(vs + 1).trim() || undefined;
    }
  }
  return undefined;
}

function readVTimezone(lines: string[], begin: number, end: number): VTimezoneInfo | undefined {
  let jcal: unknown[];
  try {
    jcal = ICAL.parse(lines.slice(begin, end + 1).join('\r\n')) as unknown[];
  } catch {
    // A definition ical.js cannot read: keep the TZID so resolution can still use its name.
    const tzid = findProp(lines, begin, end, 'TZID');
    return tzid ? { tzid, jcal: ['vtimezone', [['tzid', {}, 'text', tzid]], []] } : undefined;
  }
  if (!Array.isArray(jcal) || jcal[0] !== 'vtimezone') return undefined;
  const tzid = findProp(lines, begin, end, 'TZID');
  if (!tzid) return undefined;
  const location = findProp(lines, begin, end, 'X-LIC-LOCATION');
  return location ? { tzid, jcal, location } : { tzid, jcal };
}

/** A property of the component itself (not of nested components), raw value trimmed. */
function findProp(lines: string[], begin: number, end: number, name: string): string | undefined {
  let depth = 0;
  for (let j = begin + 1; j < end; j++) {
    const m = componentMarker(lines[j]);
    if (m) {
      depth += m.begin ? 1 : -1;
      continue;
    }
    if (depth !== 0) continue;
    const ne = nameEnd(lines[j]);
    if (ne > 0 && propertyName(lines[j], ne) === name) {
      const vs = valueStart(lines[j], ne);
      if (vs !== -1) return lines[j].slice(vs + 1).trim();
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Per-calendar context: time-zone resolution (memoised per TZID), X-WR-TIMEZONE, floating zone.

type ZoneHandling =
  | { kind: 'iana'; timeZone: string; warning?: string }
  | { kind: 'vtimezone'; tz: ICAL.Timezone; warning: string }
  | { kind: 'utc'; warning: string };

class CalendarContext {
  /** Zone floating times are pinned to: X-WR-TIMEZONE, else the caller's default. */
  readonly floatingZone?: string;
  /** X-WR-TIMEZONE: UTC times (without TZID) are shown in this zone, as Google does. */
  readonly calendarZone?: string;
  private readonly zones = new Map<string, ZoneHandling>();

  constructor(private readonly cal: CalendarScan, private readonly lines: string[], private readonly lineNos: number[], defaultZone: string | undefined) {
    const wr = calendarProp(cal, lines, 'X-WR-TIMEZONE');
    const wrZone = wr ? this.zoneFor(wr.trim()) : undefined;
    if (wrZone?.kind === 'iana') this.calendarZone = wrZone.timeZone;
    this.floatingZone = this.calendarZone ?? defaultZone;
  }

  zoneFor(tzid: string): ZoneHandling {
    let z = this.zones.get(tzid);
    if (!z) {
      z = this.resolve(tzid);
      this.zones.set(tzid, z);
    }
    return z;
  }

  private resolve(tzid: string): ZoneHandling {
    const byName = ianaFromName(tzid);
    if (byName) return { kind: 'iana', timeZone: byName };
    const info = this.cal.vtimezones.get(tzid) ?? findCaseInsensitive(this.cal.vtimezones, tzid);
    const tz = info ? buildVTimezone(info) : undefined;
    if (!info || !tz) {
      const fixed = fixedOffsetZone(tzid);
      if (fixed) return { kind: 'iana', timeZone: fixed };
      if (!info) return { kind: 'utc', warning: `unknown time zone "${tzid}" (no VTIMEZONE definition): times read as UTC` };
      return { kind: 'utc', warning: `time zone "${tzid}" has an unusable VTIMEZONE definition: times read as UTC` };
    }
    const walls = this.wallsUsing(tzid);
    const matched = matchVTimezone(info, tz, walls.map((w) => new Date(w).getUTCFullYear()), walls);
    if (matched?.by === 'rules') return { kind: 'iana', timeZone: matched.timeZone };
    if (matched) return { kind: 'iana', timeZone: matched.timeZone, warning: instantMatchWarning(tzid, matched.timeZone) };
    return { kind: 'vtimezone', tz, warning: `time zone "${tzid}" matches no IANA zone: times converted to UTC with its VTIMEZONE definition` };
  }

  /** Wall times of the date-times in this calendar's events that name `tzid` (rare path: custom zones only). */
  private wallsUsing(tzid: string): number[] {
    const walls: number[] = [];
    const want = tzid.trim();
    for (const ev of this.cal.events) {
      for (let j = ev.begin + 1; j < ev.end; j++) {
        const line = this.lines[j];
        if (!line.includes(want)) continue;
        const ne = nameEnd(line);
        if (ne <= 0 || !TIME_PROPS.has(propertyName(line, ne))) continue;
        const vs = valueStart(line, ne);
        if ((parseParams(line, ne, vs).TZID ?? '').trim() !== want) continue;
        for (const part of line.slice(vs + 1).split(',')) {
          const m = TIME_RE.exec(part.trim().split('/')[0]);
          if (m && m[4] !== undefined) walls.push(utcFields(+m[1], +m[2], +m[3], +m[4], +m[5], Math.min(+(m[6] ?? 0), 59)));
        }
      }
    }
    return walls;
  }
}

const TIME_PROPS = new Set(['DTSTART', 'DTEND', 'RECURRENCE-ID', 'RDATE', 'EXDATE']);

function findCaseInsensitive(map: Map<string, VTimezoneInfo>, tzid: string): VTimezoneInfo | undefined {
  const want = tzid.trim().toLowerCase();
  for (const [k, v] of map) if (k.trim().toLowerCase() === want) return v;
  return undefined;
}

function calendarProp(cal: CalendarScan, lines: string[], name: string): string | undefined {
  for (const i of cal.propLines) {
    const line = lines[i];
    const ne = nameEnd(line);
    if (ne > 0 && propertyName(line, ne) === name) {
      const vs = valueStart(line, ne);
      if (vs !== -1) return line.slice(vs + 1);
    }
  }
  return undefined;
}

function calendarMeta(calendars: CalendarScan[], lines: string[]): CalendarMeta | undefined {
  const meta: CalendarMeta = {};
  for (const cal of calendars) {
    const name = meta.name ?? textOf(calendarProp(cal, lines, 'X-WR-CALNAME'));
    if (name) meta.name = name;
    const description = meta.description ?? textOf(calendarProp(cal, lines, 'X-WR-CALDESC'));
    if (description) meta.description = description;
    const prodId = meta.prodId ?? calendarProp(cal, lines, 'PRODID')?.trim();
    if (prodId) meta.prodId = prodId;
    const method = meta.method ?? calendarProp(cal, lines, 'METHOD')?.trim().toUpperCase();
    if (method) meta.method = method;
    const wr = calendarProp(cal, lines, 'X-WR-TIMEZONE');
    const zone = meta.timeZone ?? (wr ? ianaFromName(wr.trim()) : undefined);
    if (zone) meta.timeZone = zone;
  }
  return Object.keys(meta).length ? meta : undefined;
}

// ---------------------------------------------------------------------------------------------
// Phase 2: one VEVENT → CalendarEvent.

interface MappedEvent {
  event: CalendarEvent;
  line: number;
}

/** A content line read through ical.js: lower-case params, jCal values, raw value text. */
interface PropertyRead {
  params: Record<string, string | string[]>;
  values: unknown[];
  raw: string;
}

/** Reads a content line with ical.js; on lines it rejects, falls back to a plain split. */
function readProperty(line: string, ne: number, vs: number): PropertyRead {
  const raw = line.slice(vs + 1);
  try {
    const jcal = ICAL.parse.property(line, DESIGN) as unknown[];
    return { params: jcal[1] as Record<string, string>, values: jcal.slice(3), raw };
  } catch {
    return { params: parseParamsLower(line, ne, vs), values: [unescapeText(raw)], raw };
  }
}

/** Parameters between the name and the value as given: `;A=1;B="x;y"` → { A: '1', B: 'x;y' }. */
function parseParams(line: string, ne: number, vs: number): Record<string, string> {
  const params: Record<string, string> = {};
  if (line.charCodeAt(ne) !== 59 /* ; */) return params;
  let i = ne + 1;
  let last: string | undefined;
  while (i < vs) {
    let j = i;
    let quoted = false;
    for (; j < vs; j++) {
      const c = line.charCodeAt(j);
      if (c === 34) quoted = !quoted;
      else if (c === 59 && !quoted) break;
    }
    const part = line.slice(i, j);
    const eq = part.indexOf('=');
    if (eq > 0) {
      last = part.slice(0, eq).trim().toUpperCase();
      params[last] = part.slice(eq + 1).replace(/"/g, '');
    } else if (last !== undefined) {
      // No "=": the ';' was part of the previous, unquoted value (Apple's X-TITLE=a\;b).
      params[last] += ';' + part.replace(/"/g, '');
    }
    i = j + 1;
  }
  return params;
}

function parseParamsLower(line: string, ne: number, vs: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parseParams(line, ne, vs))) out[k.toLowerCase()] = v;
  return out;
}

function unescapeText(s: string): string {
  return s.replace(/\\([\\;,nN])/g, (_m, c: string) => (c === 'n' || c === 'N' ? '\n' : c));
}

function textOf(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const t = unescapeText(raw);
  return t.length ? t : undefined;
}

function paramString(v: string | string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : v;
}

const TIME_RE = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})?(Z)?|Z)?$/i;
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Per-event reading state: warnings to attach, the calendar context. */
interface EventReader {
  ctx: CalendarContext;
  warnings: string[];
}

/**
 * A DATE / DATE-TIME (or PERIOD, whose start is kept) value → EventTime in IANA terms, or a
 * string describing why it is unusable.
 */
function readTime(rawValue: string, tzidParam: string | undefined, r: EventReader): EventTime | string {
  let v = rawValue.trim();
  if (v.includes('"')) v = v.replace(/"/g, '');
  const slash = v.indexOf('/');
  if (slash > 0) v = v.slice(0, slash);
  // Fixed-position digits (faster than a regex on the hot path): YYYYMMDD[Z] or YYYYMMDDTHHMM[SS][Z].
  const len = v.length;
  const zulu = len > 8 && (v.charCodeAt(len - 1) | 0x20) === 122; /* z */
  const body = zulu ? len - 1 : len;
  const y = digits(v, 0, 4);
  const mo = digits(v, 4, 2);
  const d = digits(v, 6, 2);
  const timed = body === 13 || body === 15;
  if (y < 0 || mo < 0 || d < 0 || !(body === 8 || (timed && (v.charCodeAt(8) | 0x20) === 116 /* t */))) {
    return `"${rawValue.trim()}" is not a date (YYYYMMDD) or date-time (YYYYMMDDTHHMMSS)`;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > MONTH_DAYS[mo - 1] || (mo === 2 && d === 29 && !isLeap(y))) return `"${v}" is not a real calendar date`;
  const date = `${v.slice(0, 4)}-${v.slice(4, 6)}-${v.slice(6, 8)}`;
  if (!timed) return { date };
  const h = digits(v, 9, 2);
  const mi = digits(v, 11, 2);
  const s = body === 15 ? digits(v, 13, 2) : 0;
  if (h < 0 || mi < 0 || s < 0) return `"${rawValue.trim()}" is not a date (YYYYMMDD) or date-time (YYYYMMDDTHHMMSS)`;
  if (h > 23 || mi > 59 || s > 60) return `"${v}" is not a real time of day`;
  const wallText = `${date}T${v.slice(9, 11)}:${v.slice(11, 13)}:${s === 60 ? '59' : body === 15 ? v.slice(13, 15) : '00'}`;
  const zoneName = tzidParam?.trim();
  if (zulu) {
    // Z wins over a TZID (RFC 5545 forbids both; the Z is the unambiguous part).
    if (r.ctx.calendarZone && !zoneName) {
      const zone = r.ctx.calendarZone;
      return { dateTime: formatWall(utcToWall(wallMs(y, mo, d, h, mi, s), zone)), timeZone: zone };
    }
    return { dateTime: wallText + 'Z' };
  }
  if (zoneName) {
    const zone = r.ctx.zoneFor(zoneName);
    if (zone.kind === 'iana') {
      if (zone.warning) addWarning(r, zone.warning);
      return { dateTime: wallText, timeZone: zone.timeZone };
    }
    addWarning(r, zone.warning);
    if (zone.kind === 'vtimezone') return { dateTime: formatUtc(vtimezoneWallToUtc(zone.tz, wallMs(y, mo, d, h, mi, s))) };
    return { dateTime: wallText + 'Z' };
  }
  const floating = r.ctx.floatingZone;
  return floating ? { dateTime: wallText, timeZone: floating } : { dateTime: wallText };
}

/** The non-negative integer in s[from, from+n), or -1 when those are not all ASCII digits. */
function digits(s: string, from: number, n: number): number {
  if (s.length < from + n) return -1;
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function wallMs(y: number, mo: number, d: number, h: number, mi: number, s: number): number {
  return utcFields(y, mo, d, h, mi, Math.min(s, 59));
}

function addWarning(r: EventReader, w: string): void {
  if (!r.warnings.includes(w)) r.warnings.push(w);
}

/** An instant for ordering two EventTimes (floating and dates read as UTC). */
function instant(t: EventTime): number {
  return eventTimeToUtc(t);
}

/** end < start, comparing wall text when both share a frame (no zone arithmetic needed). */
function endsBeforeStart(start: EventTime, end: EventTime): boolean {
  if (start.date !== undefined || end.date !== undefined) return (end.date ?? '') < (start.date ?? '');
  if (start.timeZone === end.timeZone && start.dateTime!.endsWith('Z') === end.dateTime!.endsWith('Z')) return end.dateTime! < start.dateTime!;
  return instant(end) < instant(start);
}

/** Re-expresses `t` in the frame of `like` (same zone / UTC / floating / date) when that is lossless or standard. */
function toFrameOf(t: EventTime, like: EventTime): EventTime {
  if (like.date !== undefined) {
    if (t.date !== undefined) return t;
    return { date: t.dateTime!.slice(0, 10) };
  }
  const likeUtc = like.dateTime!.endsWith('Z');
  if (t.date !== undefined) {
    // A DATE where the series uses DATE-TIME (seen in Google exports): same day, series' time of day.
    const time = like.dateTime!.slice(10, 19);
    return likeUtc ? { dateTime: t.date + time + 'Z' } : like.timeZone ? { dateTime: t.date + time, timeZone: like.timeZone } : { dateTime: t.date + time };
  }
  const tUtc = t.dateTime!.endsWith('Z');
  if (likeUtc) {
    if (tUtc) return t;
    if (!t.timeZone) return { dateTime: t.dateTime + 'Z' };
    return { dateTime: formatUtc(instant(t)) };
  }
  if (like.timeZone) {
    if (t.timeZone === like.timeZone) return t;
    if (!tUtc && !t.timeZone) return { dateTime: t.dateTime!, timeZone: like.timeZone };
    return { dateTime: formatWall(utcToWall(instant(t), like.timeZone)), timeZone: like.timeZone };
  }
  // Floating series: keep the wall clock of the value.
  return { dateTime: t.dateTime!.slice(0, 19) };
}

/** Properties that may appear once per VEVENT (RFC 5545 §3.6.1), as bits. */
const SINGLE: Record<string, number> = {
  UID: 1, SUMMARY: 2, DESCRIPTION: 4, LOCATION: 8, URL: 16, DTSTART: 32, DTEND: 64, 'RECURRENCE-ID': 128,
  DURATION: 256, STATUS: 512, TRANSP: 1024, ORGANIZER: 2048, SEQUENCE: 4096, CREATED: 8192, 'LAST-MODIFIED': 16384,
};

function mapEvent(lines: string[], lineNos: number[], raw: RawEvent, ctx: CalendarContext): MappedEvent | ParseIssue {
  const startLine = lineNos[raw.begin];
  const r: EventReader = { ctx, warnings: [] };
  let uid: string | undefined;
  let title: string | undefined;
  let description: string | undefined;
  let location: string | undefined;
  let url: string | undefined;
  let dtstart: { value: string; tzid?: string; line: number } | undefined;
  let dtend: { value: string; tzid?: string; line: number } | undefined;
  let duration: string | undefined;
  let recurrenceId: { value: string; tzid?: string; line: number } | undefined;
  const rrule: string[] = [];
  const exrule: string[] = [];
  const rdateRaw: { value: string; tzid?: string }[] = [];
  const exdateRaw: { value: string; tzid?: string }[] = [];
  let status: CalendarEvent['status'];
  let transparency: CalendarEvent['transparency'];
  let organizer: EventPerson | undefined;
  const attendees: EventAttendee[] = [];
  const categories: string[] = [];
  let sequence: number | undefined;
  let created: string | undefined;
  let lastModified: string | undefined;
  const xProps: XProperty[] = [];
  let seen = 0; // bit set of SINGLE properties already read
  const once = (name: string, lineNo: number): boolean => {
    const bit = SINGLE[name];
    if (seen & bit) {
      addWarning(r, `${name} appears more than once; the first is used, line ${lineNo} ignored`);
      return false;
    }
    seen |= bit;
    return true;
  };

  let depth = 0;
  for (let j = raw.begin + 1; j < raw.end; j++) {
    const line = lines[j];
    const c0 = line.charCodeAt(0) | 0x20;
    if (c0 === 98 || c0 === 101) {
      const m = componentMarker(line);
      if (m) {
        // Nested components (VALARM, …) are not part of the event model.
        depth += m.begin ? 1 : -1;
        if (depth < 0) depth = 0;
        continue;
      }
    }
    if (depth > 0) continue;
    const ne = nameEnd(line);
    const vs = ne > 0 ? valueStart(line, ne) : -1;
    if (vs === -1) {
      addWarning(r, `line ${lineNos[j]} is not a content line ("${line.length > 40 ? line.slice(0, 40) + '…' : line}"): ignored`);
      continue;
    }
    const name = propertyName(line, ne);
    const lineNo = lineNos[j];
    switch (name) {
      case 'UID':
        if (once(name, lineNo)) uid = line.slice(vs + 1).trim() || undefined;
        break;
      case 'SUMMARY':
        if (once(name, lineNo)) title = readText(line, ne, vs);
        break;
      case 'DESCRIPTION':
        if (once(name, lineNo)) description = readText(line, ne, vs) || undefined;
        break;
      case 'LOCATION':
        if (once(name, lineNo)) location = readText(line, ne, vs) || undefined;
        break;
      case 'URL':
        if (once(name, lineNo)) url = line.slice(vs + 1).trim() || undefined;
        break;
      case 'DTSTART':
      case 'DTEND':
      case 'RECURRENCE-ID': {
        if (!once(name, lineNo)) break;
        const v = { value: line.slice(vs + 1), tzid: tzidOf(line, ne, vs), line: lineNo };
        if (name === 'DTSTART') dtstart = v;
        else if (name === 'DTEND') dtend = v;
        else recurrenceId = v;
        break;
      }
      case 'DURATION':
        if (once(name, lineNo)) duration = line.slice(vs + 1).trim();
        break;
      case 'RRULE':
      case 'EXRULE': {
        // Kept as text: ical.js's recur parser rejects rules other tools accept (" TU").
        let rule = line.slice(vs + 1).trim();
        if (/^RRULE:/i.test(rule)) rule = rule.slice(6);
        const list = name === 'RRULE' ? rrule : exrule;
        if (rule && !list.includes(rule)) list.push(rule);
        break;
      }
      case 'RDATE':
      case 'EXDATE': {
        const tzid = tzidOf(line, ne, vs);
        const list = name === 'RDATE' ? rdateRaw : exdateRaw;
        for (const part of line.slice(vs + 1).split(',')) if (part.trim()) list.push({ value: part, tzid });
        break;
      }
      case 'STATUS': {
        if (!once(name, lineNo)) break;
        const s = line.slice(vs + 1).trim().toUpperCase();
        if (s === 'CONFIRMED' || s === 'TENTATIVE' || s === 'CANCELLED') status = s;
        else if (s) addWarning(r, `STATUS "${s}" is not CONFIRMED, TENTATIVE or CANCELLED: ignored`);
        break;
      }
      case 'TRANSP': {
        if (!once(name, lineNo)) break;
        const t = line.slice(vs + 1).trim().toUpperCase();
        if (t === 'OPAQUE' || t === 'TRANSPARENT') transparency = t;
        else if (t) addWarning(r, `TRANSP "${t}" is not OPAQUE or TRANSPARENT: ignored`);
        break;
      }
      case 'ORGANIZER':
        if (once(name, lineNo)) organizer = person(readProperty(line, ne, vs));
        break;
      case 'ATTENDEE':
        attendees.push(attendee(readProperty(line, ne, vs)));
        break;
      case 'CATEGORIES':
        for (const v of readProperty(line, ne, vs).values) {
          for (const c of typeof v === 'string' ? [v] : []) {
            const t = c.trim();
            if (t && !categories.includes(t)) categories.push(t);
          }
        }
        break;
      case 'SEQUENCE': {
        if (!once(name, lineNo)) break;
        const t = line.slice(vs + 1).trim();
        if (/^[+-]?\d+$/.test(t)) sequence = Number(t);
        else addWarning(r, `SEQUENCE "${t}" is not an integer: ignored`);
        break;
      }
      case 'CREATED':
      case 'LAST-MODIFIED': {
        if (!once(name, lineNo)) break;
        const t = readTime(line.slice(vs + 1), tzidOf(line, ne, vs), r);
        if (typeof t === 'string') addWarning(r, `${name}: ${t}; ignored`);
        else {
          const utc = t.date !== undefined ? t.date + 'T00:00:00Z' : t.dateTime!.endsWith('Z') ? t.dateTime! : formatUtc(instant(t));
          if (name === 'CREATED') created = utc;
          else lastModified = utc;
        }
        break;
      }
      default:
        if (name.startsWith('X-')) {
          const params = parseParams(line, ne, vs);
          const x: XProperty = { name, value: line.slice(vs + 1) };
          if (Object.keys(params).length) x.params = params;
          xProps.push(x);
        }
    }
  }

  let start: EventTime | string;
  if (dtstart) start = readTime(dtstart.value, dtstart.tzid, r);
  else {
    // RFC 5545 lets iTIP messages omit DTSTART; an override still has its RECURRENCE-ID and an
    // RDATE-only event its first RDATE, which is where the occurrence is.
    const stand = recurrenceId ?? rdateRaw[0];
    const t = stand ? readTime(stand.value, stand.tzid, r) : undefined;
    if (!t || typeof t === 'string') return { line: startLine, uid, message: `VEVENT starting at line ${startLine}${uid ? ` (UID ${uid})` : ''} has no DTSTART; event skipped` };
    addWarning(r, `no DTSTART: ${recurrenceId ? 'RECURRENCE-ID' : 'first RDATE'} used as the start`);
    start = t;
  }
  if (typeof start === 'string') return { line: startLine, uid, message: `VEVENT starting at line ${startLine}${uid ? ` (UID ${uid})` : ''}: DTSTART (line ${dtstart!.line}) ${start}; event skipped` };

  const end = resolveEnd(start, dtend, duration, r);

  const event: CalendarEvent = { uid: uid ?? '', title: title ?? '', start, end };
  if (recurrenceId) {
    const rid = readTime(recurrenceId.value, recurrenceId.tzid, r);
    if (typeof rid === 'string') return { line: startLine, uid, message: `VEVENT starting at line ${startLine}${uid ? ` (UID ${uid})` : ''}: RECURRENCE-ID (line ${recurrenceId.line}) ${rid}; event skipped` };
    event.recurrenceId = rid;
  }
  if (description !== undefined) event.description = description;
  if (location !== undefined) event.location = location;
  if (rrule.length || rdateRaw.length || exdateRaw.length || exrule.length) {
    const rdate = readTimeList(rdateRaw, start, 'RDATE', r);
    const exdate = readTimeList(exdateRaw, start, 'EXDATE', r);
    // Only when something usable is left (all-invalid RDATEs leave nothing to recur on).
    if (rrule.length || rdate.length || exdate.length || exrule.length) {
      event.recurrence = { rrule, rdate, exdate };
      if (exrule.length) event.recurrence.exrule = exrule;
    }
  }
  if (status) event.status = status;
  if (transparency) event.transparency = transparency;
  if (organizer) event.organizer = organizer;
  if (attendees.length) event.attendees = attendees;
  if (categories.length) event.categories = categories;
  if (url !== undefined) event.url = url;
  if (sequence !== undefined) event.sequence = sequence;
  if (created) event.created = created;
  if (lastModified) event.lastModified = lastModified;
  const rooms = roomsOf(xProps, attendees);
  if (rooms.length) event.rooms = rooms;
  if (xProps.length) event.xProps = xProps;
  if (!uid) {
    event.uid = deriveUid(event);
    addWarning(r, `no UID: derived "${event.uid}" from DTSTART, DTEND, SUMMARY, LOCATION and RRULE`);
  }
  if (r.warnings.length) event.warnings = r.warnings;
  return { event, line: startLine };
}

/**
 * A TEXT value. Plain values (no parameters, no escapes: most lines) are the raw text itself;
 * everything else goes through ical.js, which knows the escaping and parameter quoting rules.
 */
function readText(line: string, ne: number, vs: number): string {
  if (vs === ne && line.indexOf('\\', vs) === -1) return line.slice(vs + 1);
  const p = readProperty(line, ne, vs);
  const v = p.values[0];
  return typeof v === 'string' ? v : unescapeText(p.raw);
}

/** The TZID parameter of a date-time property, if any (date values need nothing else). */
function tzidOf(line: string, ne: number, vs: number): string | undefined {
  if (vs === ne) return undefined;
  return parseParams(line, ne, vs).TZID;
}

function resolveEnd(start: EventTime, dtend: { value: string; tzid?: string; line: number } | undefined, duration: string | undefined, r: EventReader): EventTime {
  const fallback = (): EventTime => (start.date !== undefined ? { date: formatDate(Date.parse(start.date + 'T00:00:00Z') + DAY) } : start);
  if (dtend) {
    if (duration !== undefined) addWarning(r, 'both DTEND and DURATION given: DTEND used');
    const end = readTime(dtend.value, dtend.tzid, r);
    if (typeof end === 'string') {
      addWarning(r, `DTEND (line ${dtend.line}) ${end}: default end used`);
      return fallback();
    }
    if ((end.date === undefined) !== (start.date === undefined)) {
      addWarning(r, 'DTEND is not the same value type (DATE / DATE-TIME) as DTSTART: default end used');
      return fallback();
    }
    if (start.date !== undefined && end.date! <= start.date) {
      addWarning(r, 'all-day DTEND is not after DTSTART: one day used');
      return fallback();
    }
    if (endsBeforeStart(start, end)) {
      addWarning(r, 'DTEND is before DTSTART: zero-length event at DTSTART');
      return start;
    }
    return end;
  }
  if (duration !== undefined) {
    try {
      const dur = parseDuration(duration);
      if (dur.days < 0 || dur.ms < 0) {
        addWarning(r, `DURATION "${duration}" is negative: default end used`);
        return fallback();
      }
      const end = addDuration(start, dur);
      if (start.date !== undefined && end.date! <= start.date) return fallback();
      return end;
    } catch (err) {
      addWarning(r, `${(err as Error).message}: default end used`);
      return fallback();
    }
  }
  // RFC 5545 §3.6.1: a DATE event lasts one day, a DATE-TIME event ends when it starts.
  return fallback();
}

function readTimeList(raws: { value: string; tzid?: string }[], start: EventTime, name: string, r: EventReader): EventTime[] {
  const out: EventTime[] = [];
  const keys = new Set<string>();
  for (const { value, tzid } of raws) {
    const t = readTime(value, tzid, r);
    if (typeof t === 'string') {
      addWarning(r, `${name} value ${t}: ignored`);
      continue;
    }
    // Same frame as DTSTART, so occurrences and exclusions compare as plain values downstream.
    const norm = (t.date !== undefined) === (start.date !== undefined) || name === 'EXDATE' ? toFrameOf(t, start) : t;
    const key = timeKey(norm);
    if (keys.has(key)) continue;
    keys.add(key);
    out.push(norm);
  }
  return out;
}

function stripMailto(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  // "invalid:nomail" is the conventional CAL-ADDRESS of a participant without an address.
  if (t.toLowerCase() === 'invalid:nomail') return undefined;
  const s = /^mailto:/i.test(t) ? t.slice(7) : t;
  return s || undefined;
}

function person(p: PropertyRead): EventPerson {
  const out: EventPerson = {};
  const email = stripMailto(p.values[0] ?? p.raw);
  if (email) out.email = email;
  const cn = paramString(p.params.cn);
  if (cn) out.name = cn;
  return out;
}

function attendee(p: PropertyRead): EventAttendee {
  const out: EventAttendee = person(p);
  const role = paramString(p.params.role);
  if (role) out.role = role.toUpperCase();
  const status = paramString(p.params.partstat);
  if (status) out.status = status.toUpperCase();
  const type = paramString(p.params.cutype);
  if (type) out.type = type.toUpperCase();
  const rsvp = paramString(p.params.rsvp);
  if (rsvp) {
    const v = rsvp.toUpperCase();
    if (v === 'TRUE' || v === 'FALSE') out.rsvp = v === 'TRUE';
  }
  return out;
}

/** Room ids: X-KALTURA-RESOURCE-IDS (comma list) and attendees that are rooms or resources. */
function roomsOf(xProps: XProperty[], attendees: EventAttendee[]): string[] {
  const rooms: string[] = [];
  for (const x of xProps) {
    if (x.name !== 'X-KALTURA-RESOURCE-IDS') continue;
    for (const id of x.value.split(',')) {
      const t = id.trim();
      if (t && !rooms.includes(t)) rooms.push(t);
    }
  }
  for (const a of attendees) {
    if ((a.type === 'ROOM' || a.type === 'RESOURCE') && a.email && !rooms.includes(a.email)) rooms.push(a.email);
  }
  return rooms;
}

/** A stable UID for an event without one: a hash of what identifies it to a person. */
function deriveUid(e: CalendarEvent): string {
  const basis = [timeKey(e.start), timeKey(e.end), e.title, e.location ?? '', e.recurrence?.rrule.join('|') ?? '', e.recurrenceId ? timeKey(e.recurrenceId) : ''].join('\u001f');
  return `derived-${hash53(basis).toString(16).padStart(14, '0')}@calendar-relay`;
}

/** cyrb53: a fast, well-mixed 53-bit string hash (public domain). Identity only, not security. */
function hash53(s: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

// ---------------------------------------------------------------------------------------------
// Phase 3: group by UID; overrides belong to their own series only.

/**
 * Orders events series by series (first appearance of the UID; master before its overrides) and
 * expresses each RECURRENCE-ID in its master's DTSTART frame (zone, UTC, floating or date), so
 * override and occurrence compare as equal values. Repeated UID + RECURRENCE-ID pairs are kept
 * (the feed said so) but warned about.
 */
function groupSeries(mapped: MappedEvent[]): CalendarEvent[] {
  const groups = new Map<string, MappedEvent[]>();
  for (const m of mapped) {
    const g = groups.get(m.event.uid);
    if (g) g.push(m);
    else groups.set(m.event.uid, [m]);
  }
  const out: CalendarEvent[] = [];
  for (const group of groups.values()) {
    if (group.length === 1) {
      out.push(group[0].event);
      continue;
    }
    const masters = group.filter((m) => !m.event.recurrenceId);
    const overrides = group.filter((m) => m.event.recurrenceId);
    const master = masters[0]?.event;
    const firstAt = new Map<string, number>();
    for (const m of [...masters, ...overrides]) {
      const e = m.event;
      if (e.recurrenceId && master) e.recurrenceId = toFrameOf(e.recurrenceId, master.start);
      const key = e.recurrenceId ? timeKey(e.recurrenceId) : '';
      const prev = firstAt.get(key);
      if (prev !== undefined) {
        const w = `another VEVENT with the same UID${key ? ' and RECURRENCE-ID' : ''} starts at line ${prev}`;
        e.warnings = e.warnings ? [...e.warnings, w] : [w];
      } else firstAt.set(key, m.line);
      out.push(e);
    }
  }
  return out;
}
