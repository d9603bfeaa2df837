/**
 * ICS → CalendarEvent[]. Pure: text or bytes in, events and per-event errors out.
 *
 * Why not `ICAL.parse(wholeFile)` + `ICAL.Event`: ical.js throws on the whole file when one line
 * is bad, and its per-event exception lookup is quadratic. So we split the file into components
 * ourselves (with line numbers, so problems can name them) and read the common lines directly
 * (names matched in place, TEXT unescaped exactly as ical.js does, date-times at fixed positions).
 * ical.js does what it is good at: VTIMEZONE definitions (`ICAL.parse` + `ICAL.Timezone`) and the
 * lines whose parameters need its quoting rules (ORGANIZER, ATTENDEE, CATEGORIES, TEXT with
 * parameters, via `ICAL.parse.property`). A broken VEVENT becomes a ParseIssue; everything else
 * in the feed is still returned. docs/ics-input.md#performance says why it is built this way.
 */
import ICAL from 'ical.js';
import type { CalendarEvent, CalendarMeta, EventAttendee, EventPerson, EventTime, ParseIssue, ParseResult, XProperty } from '../event';
import { timeKey } from '../event';
import { addDuration, canonicalTimeZone, disambiguateEnd, eventTimeToUtc, formatDate, formatUtc, formatWall, parseDuration, utcFields, utcToWall } from '../time';
import { componentMarker, ContentLines, decodeIcsText, nameEnd, propertyName, valueStart, type ComponentMarker } from './lines';
import { validateRRule } from '../recurrence/rrule';
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
  const lines = new ContentLines(text);
  const scan = scanComponents(lines);
  if (!scan.sawCalendar) {
    throw new IcsInputError('not an iCalendar file: no BEGIN:VCALENDAR or BEGIN:VEVENT found');
  }
  if (scan.truncated) {
    // A cut-off download: what is missing is unknown, so nothing of it may count as "gone".
    const t = scan.truncated;
    throw new IcsInputError(`truncated iCalendar: the file ends inside ${t.name} starting at line ${t.line} (no END:${t.name}), a cut-off download: nothing of it is read`);
  }
  const errors: ParseIssue[] = scan.errors;
  const rids = new Map<ParseIssue, EventTime>();
  const mapped: MappedEvents = { events: [], lines: [] };
  const defaultZone = opts.defaultTimeZone ? canonicalTimeZone(opts.defaultTimeZone) : undefined;
  for (const cal of scan.calendars) {
    const ctx = new CalendarContext(cal, lines, defaultZone);
    for (const issue of cal.unclosed) {
      const raw = findTimeProp(lines, issue.begin, issue.end, 'RECURRENCE-ID');
      if (raw) noteRecurrenceId(issue.issue, raw, new EventReader(ctx), rids);
    }
    for (let k = 0; k < cal.events.length; k += 2) {
      const begin = cal.events[k];
      const end = cal.events[k + 1];
      const issuesBefore = errors.length;
      let event: CalendarEvent | undefined;
      try {
        event = mapEvent(lines, begin, end, ctx, errors, rids);
      } catch (err) {
        errors.length = issuesBefore;
        const line = lines.lineNo(begin);
        const uid = findUid(lines, begin, end);
        const issue: ParseIssue = { line, ...(uid ? { uid } : {}), message: `VEVENT starting at line ${line}${uid ? ` (UID ${uid})` : ''}: ${(err as Error).message}` };
        const raw = findTimeProp(lines, begin, end, 'RECURRENCE-ID');
        if (raw) noteRecurrenceId(issue, raw, new EventReader(ctx), rids);
        errors.push(issue);
      }
      if (event) {
        if (opts.sourceId !== undefined) event.sourceId = opts.sourceId;
        mapped.events.push(event);
        mapped.lines.push(lines.lineNo(begin));
      }
    }
  }
  errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  const events = groupSeries(mapped);
  if (rids.size) setIssueRecurrenceIds(events, rids);
  const result: ParseResult = { events, errors };
  const calendar = calendarMeta(scan.calendars, lines);
  if (calendar) result.calendar = calendar;
  return result;
}

// ---------------------------------------------------------------------------------------------
// Phase 1: split the logical lines into calendars, events and time zones.


interface CalendarScan {
  /** Index range of the calendar's own property lines (depth 1). */
  propLines: number[];
  /** VEVENTs as pairs of line indexes: BEGIN:VEVENT, END:VEVENT (numbers, not objects: there are many). */
  events: number[];
  vtimezones: Map<string, VTimezoneInfo>;
  /** VEVENTs without END:VEVENT (each also in the errors): their RECURRENCE-ID is read once zones are known. */
  unclosed: Array<{ issue: ParseIssue; begin: number; end: number }>;
}

interface Scan {
  calendars: CalendarScan[];
  errors: ParseIssue[];
  sawCalendar: boolean;
  /** Set when the file ends inside a component (a cut-off download): the open VEVENT/VTIMEZONE/…, else the VCALENDAR. */
  truncated?: { name: string; line: number };
}

function newCalendar(): CalendarScan {
  return { propLines: [], events: [], vtimezones: new Map(), unclosed: [] };
}

/**
 * Finds where the component opened at `start` ends. Nested components (VALARM) are skipped; a
 * new VEVENT/VCALENDAR or END:VCALENDAR before our END means the component was never closed.
 */
function findEnd(lines: ContentLines, start: number, name: string): { end: number; closed: boolean } {
  const stack: string[] = [];
  for (let j = start + 1; j < lines.count; j++) {
    const m = markerAt(lines, j);
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
  return { end: lines.count, closed: false };
}

/** The BEGIN/END marker on line `i`; the line's string is only made when it could be one. */
function markerAt(lines: ContentLines, i: number): ComponentMarker | undefined {
  const c = lines.firstChar(i) | 0x20;
  if (c !== 98 /* b */ && c !== 101 /* e */) return undefined;
  return componentMarker(lines.get(i));
}

function scanComponents(lines: ContentLines): Scan {
  const calendars: CalendarScan[] = [];
  const errors: ParseIssue[] = [];
  let sawCalendar = false;
  let truncated: Scan['truncated'];
  let cal: CalendarScan | undefined;
  let calLine = 0;
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
  while (i < lines.count) {
    const m = markerAt(lines, i);
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
      calLine = lines.lineNo(i);
      i++;
      continue;
    }
    const { end, closed } = findEnd(lines, i, m.name);
    if (!closed && end >= lines.count && !truncated) truncated = { name: m.name, line: lines.lineNo(i) };
    if (m.name === 'VEVENT') {
      if (closed) scope().events.push(i, end);
      else {
        const why = end < lines.count ? `a new component begins at line ${lines.lineNo(end)}` : 'the file ends';
        const line = lines.lineNo(i);
        const uid = findUid(lines, i, end);
        const issue: ParseIssue = { line, ...(uid ? { uid } : {}), message: `VEVENT starting at line ${line}${uid ? ` (UID ${uid})` : ''} has no END:VEVENT (${why}); event skipped` };
        errors.push(issue);
        scope().unclosed.push({ issue, begin: i, end });
      }
    } else if (m.name === 'VTIMEZONE' && closed) {
      const info = readVTimezone(lines, i, end);
      if (info && !scope().vtimezones.has(info.tzid)) scope().vtimezones.set(info.tzid, info);
    }
    // Other components (VTODO, VJOURNAL, VFREEBUSY, …) are not events: skipped whole.
    i = closed ? end + 1 : end;
  }
  // A VCALENDAR still open at the end of the file was cut off (its END is what says "that is all").
  if (cal && !truncated) truncated = { name: 'VCALENDAR', line: calLine };
  return truncated ? { calendars, errors, sawCalendar, truncated } : { calendars, errors, sawCalendar };
}

function findUid(lines: ContentLines, begin: number, end: number): string | undefined {
  for (let j = begin + 1; j < end; j++) {
    const line = lines.get(j);
    const ne = nameEnd(line);
    if (ne > 0 && propertyName(line, ne) === 'UID') {
      const vs = valueStart(line, ne);
      if (vs !== -1) return line.slice(vs + 1).trim() || undefined;
    }
  }
  return undefined;
}

/** The first `name` date-time property in a component's lines, raw (value and TZID), for issues. */
function findTimeProp(lines: ContentLines, begin: number, end: number, name: string): RawTime | undefined {
  for (let j = begin + 1; j < end && j < lines.count; j++) {
    const line = lines.get(j);
    const ne = nameEnd(line);
    if (ne > 0 && propertyName(line, ne) === name) {
      const vs = valueStart(line, ne);
      if (vs !== -1) return { value: line.slice(vs + 1), tzid: tzidOf(line, ne, vs), line: lines.lineNo(j) };
    }
  }
  return undefined;
}

/**
 * Gives a failed VEVENT's issue the RECURRENCE-ID it had: the raw value now, replaced by the key
 * form (timeKey, in the master's frame) once the events are grouped, when the value can be read.
 */
function noteRecurrenceId(issue: ParseIssue, raw: RawTime, r: EventReader, rids: Map<ParseIssue, EventTime>): void {
  issue.recurrenceId = raw.value.trim();
  const t = readTime(raw.value, raw.tzid, r);
  if (typeof t !== 'string') rids.set(issue, t);
}

/** RECURRENCE-IDs of failed VEVENTs as eventKey() writes them: timeKey in the frame of the series' master. */
function setIssueRecurrenceIds(events: CalendarEvent[], rids: Map<ParseIssue, EventTime>): void {
  const masters = new Map<string, EventTime>();
  for (const e of events) if (!e.recurrenceId && !masters.has(e.uid)) masters.set(e.uid, e.start);
  for (const [issue, rid] of rids) {
    const master = issue.uid !== undefined ? masters.get(issue.uid) : undefined;
    issue.recurrenceId = timeKey(master ? toFrameOf(rid, master) : rid);
  }
}

function readVTimezone(lines: ContentLines, begin: number, end: number): VTimezoneInfo | undefined {
  let jcal: unknown[];
  try {
    const text: string[] = [];
    for (let j = begin; j <= end; j++) text.push(lines.get(j));
    jcal = ICAL.parse(text.join('\r\n')) as unknown[];
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
function findProp(lines: ContentLines, begin: number, end: number, name: string): string | undefined {
  let depth = 0;
  for (let j = begin + 1; j < end; j++) {
    const line = lines.get(j);
    const m = componentMarker(line);
    if (m) {
      depth += m.begin ? 1 : -1;
      continue;
    }
    if (depth !== 0) continue;
    const ne = nameEnd(line);
    if (ne > 0 && propertyName(line, ne) === name) {
      const vs = valueStart(line, ne);
      if (vs !== -1) return line.slice(vs + 1).trim();
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
  /** Set when X-WR-TIMEZONE names no zone we can resolve: said on every event with a floating time. */
  readonly calendarZoneWarning?: string;
  private readonly zones = new Map<string, ZoneHandling>();

  /** X- property names seen in this calendar as written (upper case), matched in place and shared by every event. */
  readonly xNames: string[] = [];

  constructor(private readonly cal: CalendarScan, private readonly lines: ContentLines, defaultZone: string | undefined) {
    const wr = calendarProp(cal, lines, 'X-WR-TIMEZONE')?.trim();
    const wrZone = wr ? this.zoneFor(wr) : undefined;
    if (wrZone?.kind === 'iana') this.calendarZone = wrZone.timeZone;
    else if (wr) {
      this.calendarZoneWarning = `calendar time zone X-WR-TIMEZONE "${wr}" is not a zone that can be resolved: floating times ${defaultZone ? `read in ${defaultZone} (the default time zone)` : 'left floating'}`;
    }
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
    const events = this.cal.events;
    for (let k = 0; k < events.length; k += 2) {
      for (let j = events[k] + 1; j < events[k + 1]; j++) {
        const line = this.lines.get(j);
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

function calendarProp(cal: CalendarScan, lines: ContentLines, name: string): string | undefined {
  for (const i of cal.propLines) {
    const line = lines.get(i);
    const ne = nameEnd(line);
    if (ne > 0 && propertyName(line, ne) === name) {
      const vs = valueStart(line, ne);
      if (vs !== -1) return line.slice(vs + 1);
    }
  }
  return undefined;
}

function calendarMeta(calendars: CalendarScan[], lines: ContentLines): CalendarMeta | undefined {
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

/** Mapped events and, for each, the line of its BEGIN:VEVENT. */
interface MappedEvents {
  events: CalendarEvent[];
  lines: number[];
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
      const value = part.slice(eq + 1);
      params[last] = value.includes('"') ? value.replace(/"/g, '') : value;
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

/** RFC 5545 §3.3.11 TEXT unescaping, as ical.js does it: `\\ \; \, \n \N`; other backslashes stay. */
function unescapeText(s: string): string {
  let i = s.indexOf('\\');
  if (i === -1) return s;
  const parts: string[] = [];
  let from = 0;
  while (i !== -1 && i + 1 < s.length) {
    const c = s.charCodeAt(i + 1);
    const plain = c === 92 ? '\\' : c === 59 ? ';' : c === 44 ? ',' : c === 110 || c === 78 ? '\n' : undefined;
    if (plain === undefined) {
      i = s.indexOf('\\', i + 1);
      continue;
    }
    parts.push(s.slice(from, i), plain);
    from = i + 2;
    i = s.indexOf('\\', from);
  }
  parts.push(s.slice(from));
  // join, not +=: the result is kept in the event, and a joined string is one flat string.
  return parts.join('');
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
  if (!timed) return { date: dateText(v) };
  const h = digits(v, 9, 2);
  const mi = digits(v, 11, 2);
  const s = body === 15 ? digits(v, 13, 2) : 0;
  if (h < 0 || mi < 0 || s < 0) return `"${rawValue.trim()}" is not a date (YYYYMMDD) or date-time (YYYYMMDDTHHMMSS)`;
  if (h > 23 || mi > 59 || s > 60) return `"${v}" is not a real time of day`;
  const secondsMode = s === 60 ? LEAP_SECOND : body === 15 ? SECONDS : NO_SECONDS;
  const zoneName = tzidParam?.trim();
  if (zulu) {
    // Z wins over a TZID (RFC 5545 forbids both; the Z is the unambiguous part).
    if (r.ctx.calendarZone && !zoneName) {
      const zone = r.ctx.calendarZone;
      return { dateTime: formatWall(utcToWall(wallMs(y, mo, d, h, mi, s), zone)), timeZone: zone };
    }
    return { dateTime: wallText(v, secondsMode, true) };
  }
  if (zoneName) {
    const zone = r.ctx.zoneFor(zoneName);
    if (zone.kind === 'iana') {
      if (zone.warning) addWarning(r, zone.warning);
      return { dateTime: wallText(v, secondsMode, false), timeZone: zone.timeZone };
    }
    addWarning(r, zone.warning);
    if (zone.kind === 'vtimezone') return { dateTime: formatUtc(vtimezoneWallToUtc(zone.tz, wallMs(y, mo, d, h, mi, s))) };
    return { dateTime: wallText(v, secondsMode, true) };
  }
  const floating = r.ctx.floatingZone;
  if (r.ctx.calendarZoneWarning) addWarning(r, r.ctx.calendarZoneWarning);
  return floating ? { dateTime: wallText(v, secondsMode, false), timeZone: floating } : { dateTime: wallText(v, secondsMode, false) };
}

// Wall text is built with one String.fromCharCode: the strings are kept in the events, and one flat
// string per value is far less for the garbage collector than a tree of concatenated pieces.
const NO_SECONDS = 0;
const SECONDS = 1;
const LEAP_SECOND = 2;

/** `YYYYMMDD…` → `YYYY-MM-DD`. */
function dateText(v: string): string {
  const c = (k: number) => v.charCodeAt(k);
  return String.fromCharCode(c(0), c(1), c(2), c(3), 45, c(4), c(5), 45, c(6), c(7));
}

/** `YYYYMMDDTHHMM[SS]` → `YYYY-MM-DDTHH:MM:SS` (seconds `00` when absent, `59` for a leap second), `Z` appended when asked. */
function wallText(v: string, seconds: number, zulu: boolean): string {
  const c = (k: number) => v.charCodeAt(k);
  const s1 = seconds === SECONDS ? c(13) : seconds === LEAP_SECOND ? 53 : 48;
  const s2 = seconds === SECONDS ? c(14) : seconds === LEAP_SECOND ? 57 : 48;
  return zulu
    ? String.fromCharCode(c(0), c(1), c(2), c(3), 45, c(4), c(5), 45, c(6), c(7), 84, c(9), c(10), 58, c(11), c(12), 58, s1, s2, 90)
    : String.fromCharCode(c(0), c(1), c(2), c(3), 45, c(4), c(5), 45, c(6), c(7), 84, c(9), c(10), 58, c(11), c(12), 58, s1, s2);
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
  if (!r.warnings) r.warnings = [w];
  else if (!r.warnings.includes(w)) r.warnings.push(w);
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

// Property codes: the hot loop switches on small integers, not on freshly sliced name strings.
const P_OTHER = 0;
const P_UID = 1;
const P_SUMMARY = 2;
const P_DESCRIPTION = 3;
const P_LOCATION = 4;
const P_URL = 5;
const P_DTSTART = 6;
const P_DTEND = 7;
const P_RECURRENCE_ID = 8;
const P_DURATION = 9;
const P_STATUS = 10;
const P_TRANSP = 11;
const P_ORGANIZER = 12;
const P_SEQUENCE = 13;
const P_CREATED = 14;
const P_LAST_MODIFIED = 15;
const P_RRULE = 16;
const P_EXRULE = 17;
const P_RDATE = 18;
const P_EXDATE = 19;
const P_ATTENDEE = 20;
const P_CATEGORIES = 21;
const P_RESOURCES = 22;
/** Known properties the model does not use: recognised without slicing their name. */
const P_IGNORED = 23;

/** Names by code; codes P_UID…P_LAST_MODIFIED may appear once per VEVENT (RFC 5545 §3.6.1). */
const PROPERTY_NAMES = [
  '', 'UID', 'SUMMARY', 'DESCRIPTION', 'LOCATION', 'URL', 'DTSTART', 'DTEND', 'RECURRENCE-ID', 'DURATION', 'STATUS', 'TRANSP',
  'ORGANIZER', 'SEQUENCE', 'CREATED', 'LAST-MODIFIED', 'RRULE', 'EXRULE', 'RDATE', 'EXDATE', 'ATTENDEE', 'CATEGORIES', 'RESOURCES',
];
const LAST_SINGLE = P_LAST_MODIFIED;
const IGNORED_NAMES = ['DTSTAMP', 'CLASS', 'PRIORITY', 'GEO', 'COMMENT', 'CONTACT', 'ATTACH', 'REQUEST-STATUS', 'RELATED-TO'];

const CODE_BY_NAME = new Map<string, number>();
PROPERTY_NAMES.forEach((name, code) => {
  if (name) CODE_BY_NAME.set(name, code);
});
for (const name of IGNORED_NAMES) CODE_BY_NAME.set(name, P_IGNORED);
/** Upper-case names by length, so a name is found by comparing in place (`startsWith`). */
const NAMES_BY_LENGTH: Array<Array<{ name: string; first: number; code: number }>> = [];
for (const [name, code] of CODE_BY_NAME) (NAMES_BY_LENGTH[name.length] ??= []).push({ name, first: name.charCodeAt(0), code });

/**
 * The property code of a content line whose name ends at `ne`. Upper-case names written without
 * spaces (nearly all lines) are compared in place; anything else goes through `propertyName`.
 * `name` is set for the caller when it had to be made (X- properties keep it).
 */
function propertyCode(line: string, ne: number, out: { name: string }, xNames: string[]): number {
  const c0 = line.charCodeAt(0);
  const candidates = NAMES_BY_LENGTH[ne];
  if (candidates !== undefined) {
    for (let k = 0; k < candidates.length; k++) {
      const known = candidates[k];
      if (known.first === c0 && line.startsWith(known.name)) return known.code;
    }
  }
  // X- names already met in this calendar, written the same way (a feed repeats its own).
  if (c0 === 88 /* X */) {
    for (let k = 0; k < xNames.length; k++) {
      const x = xNames[k];
      if (x.length === ne && line.startsWith(x)) {
        out.name = x;
        return P_OTHER;
      }
    }
  }
  const name = propertyName(line, ne);
  out.name = name;
  const code = CODE_BY_NAME.get(name) ?? P_OTHER;
  if (code === P_OTHER && xNames.length < 32 && name.startsWith('X-') && name.length === ne && line.startsWith(name)) xNames.push(name);
  return code;
}

/** A DTSTART / DTEND / RECURRENCE-ID / RDATE / EXDATE value as written, with its TZID. */
interface RawTime {
  value: string;
  tzid?: string;
  line: number;
}

/** Per-event reading state: what was read so far, warnings to attach, the calendar context. */
class EventReader {
  warnings: string[] | undefined = undefined;
  /** Bit set of the once-only properties (codes P_UID…P_LAST_MODIFIED) already read. */
  seen = 0;
  /** The current line's property name, when propertyCode had to make it. */
  name = '';
  constructor(readonly ctx: CalendarContext) {}

  /** True the first time a once-only property is met; a repeat is ignored with a warning. */
  first(code: number, lineNo: number): boolean {
    const bit = 1 << code;
    if (this.seen & bit) {
      addWarning(this, `${PROPERTY_NAMES[code]} appears more than once; the first is used, line ${lineNo} ignored`);
      return false;
    }
    this.seen |= bit;
    return true;
  }
}

/** One VEVENT → an event, or undefined with the reason pushed onto `errors`. */
function mapEvent(lines: ContentLines, begin: number, endLine: number, ctx: CalendarContext, errors: ParseIssue[], rids: Map<ParseIssue, EventTime>): CalendarEvent | undefined {
  const startLine = lines.lineNo(begin);
  const r = new EventReader(ctx);
  let uid: string | undefined;
  let title: string | undefined;
  let description: string | undefined;
  let location: string | undefined;
  let url: string | undefined;
  let dtstart: RawTime | undefined;
  let dtend: RawTime | undefined;
  let duration: string | undefined;
  let recurrenceId: RawTime | undefined;
  let rrule: string[] | undefined;
  let exrule: string[] | undefined;
  let rdateRaw: RawTime[] | undefined;
  let exdateRaw: RawTime[] | undefined;
  let status: CalendarEvent['status'];
  let transparency: CalendarEvent['transparency'];
  let organizer: EventPerson | undefined;
  let attendees: EventAttendee[] | undefined;
  let categories: string[] | undefined;
  let resources: string[] | undefined;
  let sequence: number | undefined;
  let created: string | undefined;
  let lastModified: string | undefined;
  let xProps: XProperty[] | undefined;

  let depth = 0;
  for (let j = begin + 1; j < endLine; j++) {
    const c0 = lines.firstChar(j) | 0x20;
    let line: string | undefined;
    if (c0 === 98 || c0 === 101) {
      line = lines.get(j);
      const m = componentMarker(line);
      if (m) {
        // Nested components (VALARM, …) are not part of the event model.
        depth += m.begin ? 1 : -1;
        if (depth < 0) depth = 0;
        continue;
      }
    }
    if (depth > 0) continue;
    if (line === undefined) line = lines.get(j);
    const ne = nameEnd(line);
    const vs = ne > 0 ? valueStart(line, ne) : -1;
    if (vs === -1) {
      addWarning(r, `line ${lines.lineNo(j)} is not a content line ("${line.length > 40 ? line.slice(0, 40) + '…' : line}"): ignored`);
      continue;
    }
    const code = propertyCode(line, ne, r, ctx.xNames);
    if (code === P_IGNORED) continue;
    if (code !== P_OTHER && code <= LAST_SINGLE && !r.first(code, lines.lineNo(j))) continue;
    switch (code) {
      case P_UID:
        uid = line.slice(vs + 1).trim() || undefined;
        break;
      case P_SUMMARY:
        title = readText(line, ne, vs);
        break;
      case P_DESCRIPTION:
        description = readText(line, ne, vs) || undefined;
        break;
      case P_LOCATION:
        location = readText(line, ne, vs) || undefined;
        break;
      case P_URL:
        url = line.slice(vs + 1).trim() || undefined;
        break;
      case P_DTSTART:
        dtstart = { value: line.slice(vs + 1), tzid: tzidOf(line, ne, vs), line: lines.lineNo(j) };
        break;
      case P_DTEND:
        dtend = { value: line.slice(vs + 1), tzid: tzidOf(line, ne, vs), line: lines.lineNo(j) };
        break;
      case P_RECURRENCE_ID:
        recurrenceId = { value: line.slice(vs + 1), tzid: tzidOf(line, ne, vs), line: lines.lineNo(j) };
        break;
      case P_DURATION:
        duration = line.slice(vs + 1).trim();
        break;
      case P_RRULE:
      case P_EXRULE: {
        // Kept as text: ical.js's recur parser rejects rules other tools accept (" TU").
        let rule = line.slice(vs + 1).trim();
        if (/^RRULE:/i.test(rule)) rule = rule.slice(6);
        if (!rule) break;
        {
          // Kept either way (export must not lose it), but say now that expansion will ignore it.
          const problem = validateRRule(rule);
          if (problem) addWarning(r, `${code === P_RRULE ? 'RRULE' : 'EXRULE'} "${rule}" (line ${lines.lineNo(j)}): ${problem}; ignored when expanding`);
        }
        if (code === P_RRULE) rrule = appendNew(rrule, rule);
        else exrule = appendNew(exrule, rule);
        break;
      }
      case P_RDATE:
      case P_EXDATE: {
        const tzid = tzidOf(line, ne, vs);
        const list = code === P_RDATE ? (rdateRaw ??= []) : (exdateRaw ??= []);
        const lineNo = lines.lineNo(j);
        for (const part of line.slice(vs + 1).split(',')) if (part.trim()) list.push({ value: part, tzid, line: lineNo });
        break;
      }
      case P_STATUS:
        status = enumValue(line, vs, STATUSES, 'STATUS', r) ?? status;
        break;
      case P_TRANSP:
        transparency = enumValue(line, vs, TRANSPARENCIES, 'TRANSP', r) ?? transparency;
        break;
      case P_ORGANIZER:
        organizer = person(readProperty(line, ne, vs));
        break;
      case P_ATTENDEE:
        attendees = append(attendees, attendee(readProperty(line, ne, vs)));
        break;
      case P_CATEGORIES:
        for (const v of readProperty(line, ne, vs).values) {
          if (typeof v !== 'string') continue;
          const t = v.trim();
          if (t) categories = appendNew(categories, t);
        }
        break;
      case P_RESOURCES:
        for (const v of splitTextList(line.slice(vs + 1))) resources = appendNew(resources, v);
        break;
      case P_SEQUENCE: {
        const t = line.slice(vs + 1).trim();
        if (/^[+-]?\d+$/.test(t)) {
          sequence = Number(t);
          // RFC 5545 §3.8.7.4: a non-negative integer. Read as 0 so the event stays exportable.
          if (sequence < 0) {
            addWarning(r, `SEQUENCE ${t} is negative: read as 0`);
            sequence = 0;
          } else if (!Number.isSafeInteger(sequence)) {
            addWarning(r, `SEQUENCE ${t} is too large: ignored`);
            sequence = undefined;
          }
        } else addWarning(r, `SEQUENCE "${t}" is not an integer: ignored`);
        break;
      }
      case P_CREATED:
      case P_LAST_MODIFIED: {
        const t = readTime(line.slice(vs + 1), tzidOf(line, ne, vs), r);
        if (typeof t === 'string') addWarning(r, `${PROPERTY_NAMES[code]}: ${t}; ignored`);
        else {
          const utc = t.date !== undefined ? t.date + 'T00:00:00Z' : t.dateTime!.endsWith('Z') ? t.dateTime! : formatUtc(instant(t));
          if (code === P_CREATED) created = utc;
          else lastModified = utc;
        }
        break;
      }
      default: {
        const name = r.name;
        if (name.startsWith('X-')) {
          const x: XProperty = { name, value: line.slice(vs + 1) };
          if (line.charCodeAt(ne) === 59 /* ; */) {
            const params = parseParams(line, ne, vs);
            for (const _key in params) {
              x.params = params;
              break;
            }
          }
          xProps = append(xProps, x);
        }
      }
    }
  }

  let start: EventTime | string;
  if (dtstart) start = readTime(dtstart.value, dtstart.tzid, r);
  else {
    // RFC 5545 lets iTIP messages omit DTSTART; an override still has its RECURRENCE-ID and an
    // RDATE-only event its first RDATE, which is where the occurrence is.
    const stand = recurrenceId ?? rdateRaw?.[0];
    const t = stand ? readTime(stand.value, stand.tzid, r) : undefined;
    if (!t || typeof t === 'string') return failEvent(errors, rids, ctx, startLine, uid, recurrenceId, 'has no DTSTART');
    addWarning(r, `no DTSTART: ${recurrenceId ? 'RECURRENCE-ID' : 'first RDATE'} used as the start`);
    start = t;
  }
  if (typeof start === 'string') return failEvent(errors, rids, ctx, startLine, uid, recurrenceId, `: DTSTART (line ${dtstart!.line}) ${start}`);

  const end = resolveEnd(start, dtend, duration, r);

  const event: CalendarEvent = { uid: uid ?? '', title: title ?? '', start, end };
  if (recurrenceId) {
    const rid = readTime(recurrenceId.value, recurrenceId.tzid, r);
    if (typeof rid === 'string') return failEvent(errors, rids, ctx, startLine, uid, recurrenceId, `: RECURRENCE-ID (line ${recurrenceId.line}) ${rid}`);
    event.recurrenceId = rid;
  }
  if (description !== undefined) event.description = description;
  if (location !== undefined) event.location = location;
  if (rrule || rdateRaw || exdateRaw || exrule) {
    const rdate = rdateRaw ? readTimeList(rdateRaw, start, 'RDATE', r) : [];
    const exdate = exdateRaw ? readTimeList(exdateRaw, start, 'EXDATE', r) : [];
    // Only when something usable is left (all-invalid RDATEs leave nothing to recur on).
    if (rrule || rdate.length || exdate.length || exrule) {
      event.recurrence = { rrule: rrule ?? [], rdate, exdate };
      if (exrule) event.recurrence.exrule = exrule;
    }
  }
  if (status) event.status = status;
  if (transparency) event.transparency = transparency;
  if (organizer) event.organizer = organizer;
  if (attendees) event.attendees = attendees;
  if (categories) event.categories = categories;
  if (url !== undefined) event.url = url;
  if (sequence !== undefined) event.sequence = sequence;
  if (created) event.created = created;
  if (lastModified) event.lastModified = lastModified;
  const rooms = roomsOf(xProps, attendees, resources);
  if (rooms) event.rooms = rooms;
  if (xProps) event.xProps = xProps;
  if (!uid) {
    event.uid = deriveUid(event);
    addWarning(r, `no UID: derived "${event.uid}" from DTSTART, DTEND, SUMMARY, LOCATION and RRULE`);
  }
  if (r.warnings) event.warnings = r.warnings;
  return event;
}

/**
 * A VEVENT that cannot be built: the issue says which UID (and RECURRENCE-ID) is unreadable, so a
 * sync keeps that event on the target instead of taking it for deleted.
 */
function failEvent(errors: ParseIssue[], rids: Map<ParseIssue, EventTime>, ctx: CalendarContext, startLine: number, uid: string | undefined, recurrenceId: RawTime | undefined, what: string): undefined {
  const issue: ParseIssue = { line: startLine, ...(uid ? { uid } : {}), message: `VEVENT starting at line ${startLine}${uid ? ` (UID ${uid})` : ''}${what.startsWith(':') ? what : ' ' + what}; event skipped` };
  if (recurrenceId) noteRecurrenceId(issue, recurrenceId, new EventReader(ctx), rids);
  errors.push(issue);
  return undefined;
}

/** True when the value after `vs` is exactly `word` (the usual spelling; others take the long way). */
function valueIs(line: string, vs: number, word: string): boolean {
  return line.length === vs + 1 + word.length && line.startsWith(word, vs + 1);
}

const STATUSES = ['CONFIRMED', 'TENTATIVE', 'CANCELLED'] as const;
const TRANSPARENCIES = ['OPAQUE', 'TRANSPARENT'] as const;

/**
 * An enumerated value (STATUS, TRANSP): the exact spelling is matched in place (the common case,
 * no string made), anything else trimmed and upper-cased; an unknown value is warned about and
 * ignored (undefined), an empty one ignored silently.
 */
function enumValue<T extends string>(line: string, vs: number, values: readonly T[], name: string, r: EventReader): T | undefined {
  for (const v of values) if (valueIs(line, vs, v)) return v;
  const text = line.slice(vs + 1).trim().toUpperCase();
  const hit = values.find((v) => v === text);
  if (!hit && text) addWarning(r, `${name} "${text}" is not ${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}: ignored`);
  return hit;
}

/**
 * A TEXT value. Without parameters (nearly every line) it is unescaped here, exactly as ical.js
 * would (RFC 5545 §3.3.11); with parameters, ical.js reads the line, as it knows the quoting rules.
 */
function readText(line: string, ne: number, vs: number): string {
  // (A name with spaces around it is no name ical.js knows: it would keep the value escaped.)
  if (vs === ne && line.charCodeAt(0) > 32 && line.charCodeAt(ne - 1) > 32) return unescapeText(line.slice(vs + 1));
  const p = readProperty(line, ne, vs);
  const v = p.values[0];
  return typeof v === 'string' ? v : unescapeText(p.raw);
}

/** The TZID parameter of a date-time property, if any (date values need nothing else). */
function tzidOf(line: string, ne: number, vs: number): string | undefined {
  if (vs === ne) return undefined;
  // `;TZID=<value>` alone, unquoted (the usual case): no parameter object needed.
  if (line.startsWith('TZID=', ne + 1)) {
    const semi = line.indexOf(';', ne + 1);
    const quote = line.indexOf('"', ne + 1);
    if ((semi === -1 || semi > vs) && (quote === -1 || quote > vs)) return line.slice(ne + 6, vs);
  }
  return parseParams(line, ne, vs).TZID;
}

function resolveEnd(start: EventTime, dtend: { value: string; tzid?: string; line: number } | undefined, duration: string | undefined, r: EventReader): EventTime {
  const fallback = (): EventTime => (start.date !== undefined ? { date: formatDate(Date.parse(start.date + 'T00:00:00Z') + DAY) } : start);
  if (dtend) {
    if (duration !== undefined) addWarning(r, 'both DTEND and DURATION given: DTEND used');
    const read = readTime(dtend.value, dtend.tzid, r);
    if (typeof read === 'string') {
      addWarning(r, `DTEND (line ${dtend.line}) ${read}: default end used`);
      return fallback();
    }
    // An end in the repeated hour of a DST fall-back means its second pass when the first would precede the start.
    const end = disambiguateEnd(start, read);
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
  let out: EventTime[] | undefined;
  const keys: string[] = [];
  for (const { value, tzid } of raws) {
    const t = readTime(value, tzid, r);
    if (typeof t === 'string') {
      addWarning(r, `${name} value ${t}: ignored`);
      continue;
    }
    // Same frame as DTSTART, so occurrences and exclusions compare as plain values downstream.
    const norm = (t.date !== undefined) === (start.date !== undefined) || name === 'EXDATE' ? toFrameOf(t, start) : t;
    const key = timeKey(norm);
    if (keys.includes(key)) continue;
    keys.push(key);
    out = append(out, norm);
  }
  return out ?? [];
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

/** Room ids: X-KALTURA-RESOURCE-IDS (comma list), attendees that are rooms or resources, RESOURCES values; in that order, de-duplicated. */
function roomsOf(xProps: XProperty[] | undefined, attendees: EventAttendee[] | undefined, resources: string[] | undefined): string[] | undefined {
  if (!xProps && !attendees && !resources) return undefined;
  let rooms: string[] | undefined;
  for (const x of xProps ?? []) {
    if (x.name !== 'X-KALTURA-RESOURCE-IDS') continue;
    for (const id of x.value.includes(',') ? x.value.split(',') : [x.value]) {
      const t = id.trim();
      if (t) rooms = appendNew(rooms, t);
    }
  }
  for (const a of attendees ?? []) if ((a.type === 'ROOM' || a.type === 'RESOURCE') && a.email) rooms = appendNew(rooms, a.email);
  for (const r of resources ?? []) rooms = appendNew(rooms, r);
  return rooms;
}

// Lists kept in events start as one-element literals: an array grown by push from [] reserves 17
// slots, which across 20,000 events is megabytes for the garbage collector to copy.
function append<T>(list: T[] | undefined, v: T): T[] {
  if (!list) return [v];
  list.push(v);
  return list;
}

function appendNew<T>(list: T[] | undefined, v: T): T[] {
  if (!list) return [v];
  if (!list.includes(v)) list.push(v);
  return list;
}

/**
 * A multi-valued TEXT value (RESOURCES): split at commas that are not escaped, each part
 * unescaped and trimmed, empty parts dropped.
 */
function splitTextList(raw: string): string[] {
  const out: string[] = [];
  const add = (part: string) => {
    const v = unescapeText(part).trim();
    if (v) out.push(v);
  };
  let from = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 92 /* \ */) i++; // the escaped character is never a separator
    else if (c === 44 /* , */) {
      add(raw.slice(from, i));
      from = i + 1;
    }
  }
  add(raw.slice(from));
  return out;
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
 * Puts each series together (master first, then its overrides, where its UID first appeared) and
 * expresses each RECURRENCE-ID of a repeated UID in its master's DTSTART frame (zone, UTC, floating
 * or date), so override and occurrence compare as equal values. UID + RECURRENCE-ID is the
 * identity everything downstream relies on, so when a feed repeats one (an update appended to an
 * old export, a copy-paste), one copy is kept — the higher SEQUENCE, then the later LAST-MODIFIED,
 * then the later in the file, as RFC 5546 orders revisions — and it carries a warning naming the
 * line of each older revision it replaced.
 */
function groupSeries(mapped: MappedEvents): CalendarEvent[] {
  const { events, lines } = mapped;
  // One Set insert per event finds the UIDs that repeat; usually none do, and the order is final.
  const seen = new Set<string>();
  let repeated: Set<string> | undefined;
  for (let i = 0; i < events.length; i++) {
    const uid = events[i].uid;
    const size = seen.size;
    if (seen.add(uid).size === size) (repeated ??= new Set()).add(uid);
  }
  if (!repeated) return events;
  const groups = new Map<string, number[]>();
  for (let i = 0; i < events.length; i++) {
    const uid = events[i].uid;
    if (!repeated.has(uid)) continue;
    const g = groups.get(uid);
    if (g) g.push(i);
    else groups.set(uid, [i]);
  }
  const out: CalendarEvent[] = [];
  for (let i = 0; i < events.length; i++) {
    const group = groups.get(events[i].uid);
    if (!group) {
      out.push(events[i]);
      continue;
    }
    if (group[0] !== i) continue; // the series was placed where its UID first appeared
    const masters = group.filter((k) => !events[k].recurrenceId);
    const overrides = group.filter((k) => events[k].recurrenceId);
    const master = masters.length ? events[masters[masters.reduce((best, k, idx) => (newerRevision(events[k], lines[k], events[masters[best]], lines[masters[best]]) ? idx : best), 0)]] : undefined;
    const kept = new Map<string, number>();
    for (const k of [...masters, ...overrides]) {
      const e = events[k];
      if (e.recurrenceId && master) e.recurrenceId = toFrameOf(e.recurrenceId, master.start);
      const key = e.recurrenceId ? timeKey(e.recurrenceId) : '';
      const prev = kept.get(key);
      if (prev === undefined || newerRevision(e, lines[k], events[prev], lines[prev])) kept.set(key, k);
    }
    const keptIndexes = new Set(kept.values());
    for (const k of [...masters, ...overrides]) {
      const e = events[k];
      if (keptIndexes.has(k)) {
        out.push(e);
        continue;
      }
      const winner = events[kept.get(e.recurrenceId ? timeKey(e.recurrenceId) : '')!];
      const w = `${SUPERSEDES} at line ${lines[k]} (same UID${e.recurrenceId ? ' and RECURRENCE-ID' : ''}; kept the higher SEQUENCE, then the later LAST-MODIFIED, then the later in the file)`;
      winner.warnings = winner.warnings ? [...winner.warnings, w] : [w];
    }
  }
  return out;
}

/** The start of the warning on an event that replaced an older revision of itself. */
export const SUPERSEDES = 'replaces an older revision of this event';

/** True when `a` (at line `la`) supersedes `b`: higher SEQUENCE, then later LAST-MODIFIED, then later in the file. */
function newerRevision(a: CalendarEvent, la: number, b: CalendarEvent, lb: number): boolean {
  const sa = a.sequence ?? 0;
  const sb = b.sequence ?? 0;
  if (sa !== sb) return sa > sb;
  const ma = a.lastModified ?? '';
  const mb = b.lastModified ?? '';
  if (ma !== mb) return ma > mb;
  return la > lb;
}
