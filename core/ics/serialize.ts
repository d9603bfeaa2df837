/**
 * CalendarEvent[] → RFC 5545 text. Pure: DTSTAMP comes from `opts.now`.
 *
 * Safety: every value passes through one of three encoders (TEXT escaping, parameter quoting, or
 * control-character stripping for structured values), and `contentLine` refuses names that are
 * not iCalendar tokens, so no field content — title, location, parameter, X- property, UID — can
 * end a line and start a property or component of its own.
 */
import type { CalendarEvent, EventAttendee, EventPerson, EventTime, XProperty } from '../event';
import { formatUtc, isKnownTimeZone } from '../time';
import { buildVtimezone } from './vtimezone';
import { validateRRule } from '../recurrence/rrule';

export interface SerializeOptions {
  /** Epoch ms used for every DTSTAMP (core has no clock). */
  now: number;
  prodId?: string;
  /** METHOD (e.g. PUBLISH); omitted when not given. */
  method?: string;
  /** X-WR-CALNAME */
  calendarName?: string;
  /** X-WR-CALDESC */
  calendarDescription?: string;
  /** X-WR-TIMEZONE */
  timeZone?: string;
  /** Told about each change made to keep the output valid (a rule left out), with the event's UID. */
  onWarning?: (warning: { uid: string; message: string }) => void;
}

export const DEFAULT_PRODID = '-//Calendar Relay//n8n-nodes-calendar-relay//EN';

/** Thrown for an event that cannot be written at all (e.g. a malformed start). */
export class IcsSerializeError extends Error {
  constructor(message: string, readonly uid?: string) {
    super(message);
    this.name = 'IcsSerializeError';
  }
}

// ---------------------------------------------------------------------------------------------
// Encoders

/** RFC 5545 CONTROL (everything below space except TAB, and DEL): never valid in output. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\u0000-\u0008\u000a-\u001f\u007f]/g;

/** RFC 5545 §3.3.11 TEXT: backslash, semicolon, comma and line breaks escaped; other controls dropped. */
export function escapeText(s: string): string {
  return s
    .replace(/\\/g, '\\\\')
    .replace(/;/g, '\\;')
    .replace(/,/g, '\\,')
    .replace(/\r\n|\r|\n/g, '\\n')
    .replace(CONTROLS, '');
}

/**
 * A parameter value: RFC 6868 caret encoding for `^`, line breaks and `"` (which cannot appear
 * even inside quotes), then DQUOTEs when it contains `:`, `;` or `,`.
 */
export function encodeParamValue(s: string): string {
  const v = s
    .replace(/\^/g, '^^')
    .replace(/\r\n|\r|\n/g, '^n')
    .replace(/"/g, "^'")
    .replace(CONTROLS, '');
  return /[:;,]/.test(v) ? `"${v}"` : v;
}

/**
 * A parameter value of an X- property, stored as it was in the file (quotes removed, no RFC 6868
 * decoding): written back as is, quoted when needed; only what could break the line is encoded.
 */
export function encodeRawParamValue(s: string): string {
  const v = s
    .replace(/\r\n|\r|\n/g, '^n')
    .replace(/"/g, "^'")
    .replace(CONTROLS, '');
  return /[:;,]/.test(v) ? `"${v}"` : v;
}

/** A structured value (URI, RRULE, raw X- value): no line breaks or controls survive. */
function stripControls(s: string): string {
  return s.replace(CONTROLS, '');
}

/** A raw X- property value kept verbatim, except that a line break becomes the TEXT escape `\n`. */
function rawXValue(s: string): string {
  return stripControls(s.replace(/\r\n|\r|\n/g, '\\n'));
}

const NAME_RE = /^[A-Za-z0-9-]+$/;

/** True when `name` is a valid property or parameter name (iana-token / x-name). */
export function isIcsName(name: string): boolean {
  return NAME_RE.test(name);
}

/**
 * One unfolded content line. Parameters with invalid names are dropped (they could not be parsed
 * back). `rawParams` selects verbatim parameter encoding (X- properties) over RFC 6868.
 */
export function contentLine(name: string, params: Array<[string, string]>, value: string, rawParams = false): string {
  if (!isIcsName(name)) throw new IcsSerializeError(`"${name}" is not a valid property name`);
  let line = name.toUpperCase();
  for (const [k, v] of params) {
    if (!isIcsName(k)) continue;
    line += `;${k.toUpperCase()}=${rawParams ? encodeRawParamValue(v) : encodeParamValue(v)}`;
  }
  return `${line}:${value}`;
}

/**
 * Folds a line to at most 75 octets per physical line (RFC 5545 §3.1), breaking only between
 * code points so no UTF-8 sequence (nor a surrogate pair) is split; continuation lines start with
 * a space, which counts toward their 75.
 */
export function foldLine(line: string): string {
  if (line.length <= 75 && !/[\u0080-\uffff]/.test(line)) return line;
  const parts: string[] = [];
  let current = '';
  let octets = 0;
  let limit = 75;
  for (const ch of line) {
    const cp = ch.codePointAt(0)!;
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (octets + n > limit) {
      parts.push(current);
      current = '';
      octets = 0;
      limit = 74; // the leading space takes one octet
    }
    current += ch;
    octets += n;
  }
  parts.push(current);
  return parts.join('\r\n ');
}

// ---------------------------------------------------------------------------------------------
// Values

function basic(iso: string): string {
  return iso.replace(/[-:]/g, '');
}

/** Property params + value for an EventTime: VALUE=DATE, UTC with Z, TZID, or floating. */
export function timeValue(t: EventTime): { params: Array<[string, string]>; value: string } {
  if (t.date !== undefined) return { params: [['VALUE', 'DATE']], value: basic(t.date) };
  if (t.dateTime === undefined) throw new IcsSerializeError('time has neither "date" nor "dateTime"');
  const value = basic(t.dateTime);
  if (t.timeZone && !t.dateTime.endsWith('Z')) return { params: [['TZID', t.timeZone]], value };
  return { params: [], value };
}

function timeLine(name: string, t: EventTime): string {
  const { params, value } = timeValue(t);
  return contentLine(name, params, stripControls(value));
}

/** RDATE/EXDATE: consecutive values of the same kind share a line, so file order is preserved. */
function timeListLines(name: string, times: EventTime[]): string[] {
  const out: string[] = [];
  let kind = '';
  let params: Array<[string, string]> = [];
  let values: string[] = [];
  const flush = () => {
    if (values.length) out.push(contentLine(name, params, values.map(stripControls).join(',')));
    values = [];
  };
  for (const t of times) {
    const tv = timeValue(t);
    const k = JSON.stringify(tv.params);
    if (k !== kind) {
      flush();
      kind = k;
      params = tv.params;
    }
    values.push(tv.value);
  }
  flush();
  return out;
}

/** Instants in the model are `YYYY-MM-DDTHH:MM:SSZ`; tolerate milliseconds or a missing Z. */
function utcStamp(s: string): string {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})/.exec(s);
  if (!m) throw new IcsSerializeError(`"${s}" is not a UTC timestamp`);
  return `${m[1]}${m[2]}${m[3]}T${m[4]}${m[5]}${m[6]}Z`;
}

/** CAL-ADDRESS: `mailto:` unless the stored address already is a URI. */
function calAddress(p: EventPerson): string {
  const email = (p.email ?? '').trim();
  // Outlook's convention for a person without an address; a CAL-ADDRESS value is mandatory.
  if (!email) return 'invalid:nomail';
  return stripControls(/^[a-z][a-z0-9+.-]*:/i.test(email) ? email : `mailto:${email}`);
}

function personLine(name: string, p: EventPerson | EventAttendee): string {
  const params: Array<[string, string]> = [];
  if (p.name) params.push(['CN', p.name]);
  const a = p as EventAttendee;
  if (a.type) params.push(['CUTYPE', a.type]);
  if (a.role) params.push(['ROLE', a.role]);
  if (a.status) params.push(['PARTSTAT', a.status]);
  if (a.rsvp !== undefined) params.push(['RSVP', a.rsvp ? 'TRUE' : 'FALSE']);
  return contentLine(name, params, calAddress(p));
}

function xPropLine(x: XProperty): string | undefined {
  if (!isIcsName(x.name)) return undefined; // could not be parsed back; never emit garbage
  const params = Object.entries(x.params ?? {}).map(([k, v]): [string, string] => [k, String(v)]);
  return contentLine(x.name, params, rawXValue(String(x.value ?? '')), true);
}

// ---------------------------------------------------------------------------------------------
// Components

/**
 * Rooms the event's own properties don't already carry. Readers derive rooms from
 * X-KALTURA-RESOURCE-IDS and from ROOM/RESOURCE attendees; anything else (e.g. room ids from a
 * JSON source) is written as RFC 5545 RESOURCES so it isn't lost.
 */
function roomsNotInProperties(e: CalendarEvent): string[] {
  if (!e.rooms?.length) return [];
  const carried = new Set<string>();
  for (const x of e.xProps ?? []) if (x.name.toUpperCase() === 'X-KALTURA-RESOURCE-IDS') for (const id of x.value.split(',')) carried.add(id.trim());
  for (const a of e.attendees ?? []) if ((a.type === 'ROOM' || a.type === 'RESOURCE') && a.email) carried.add(a.email);
  return e.rooms.filter((r) => !carried.has(r));
}

/** RFC 7529 leap months (5L) and the 13th month some calendar scales have. */
const RSCALE_MONTH = /^(?:[1-9]|1[0-3])L?$/;

/**
 * Why a recurrence rule cannot be written as it is, or undefined when it can: a rule our expander
 * reads, or a valid RFC 7529 rule in a calendar scale it does not support (RSCALE=HEBREW, leap
 * months like BYMONTH=5L), which other readers may support, is written verbatim. Anything else
 * (unknown parts like UNTL=, COUNT=-1, garbage) would make strict readers reject the whole file.
 */
export function unwritableRule(rule: string): string | undefined {
  const problem = validateRRule(rule);
  if (!problem) return undefined;
  const parts = rule.replace(/^RRULE:/i, '').trim().split(';').filter((p) => p.trim());
  const rscale = parts.find((p) => /^RSCALE=/i.test(p.trim()));
  if (!rscale || !/^RSCALE=[A-Z0-9-]+$/i.test(rscale.trim())) return problem;
  // Checked as the Gregorian rule it would be, with the scale's month numbers allowed.
  const gregorian: string[] = [];
  for (const part of parts) {
    const [name, value = ''] = part.trim().toUpperCase().split('=');
    if (name === 'RSCALE') continue;
    if (name === 'BYMONTH') {
      if (!value.split(',').every((m) => RSCALE_MONTH.test(m.trim()))) return `BYMONTH=${value}: not months 1..13 with an optional L (RFC 7529)`;
      gregorian.push('BYMONTH=1');
    } else gregorian.push(part.trim());
  }
  return validateRRule(gregorian.join(';'));
}

/** The rules of `e` that can be written; each one left out is reported through `onWarning`. */
function writableRules(e: CalendarEvent, rules: string[] | undefined, name: string, onWarning: SerializeOptions['onWarning']): string[] {
  const out: string[] = [];
  for (const raw of rules ?? []) {
    const rule = raw.replace(/^(RRULE|EXRULE):/i, '');
    const problem = unwritableRule(rule);
    if (problem === undefined) out.push(rule);
    else onWarning?.({ uid: e.uid, message: `${name} "${rule}" left out (${problem}): the event is written without it` });
  }
  return out;
}

/** Content lines (unfolded) of one VEVENT. */
export function veventLines(e: CalendarEvent, now: number, onWarning?: SerializeOptions['onWarning']): string[] {
  if (typeof e.uid !== 'string' || e.uid === '') throw new IcsSerializeError('event has no uid');
  const L: string[] = ['BEGIN:VEVENT'];
  L.push(contentLine('UID', [], uidValue(e.uid)));
  L.push(contentLine('DTSTAMP', [], formatUtc(now).replace(/[-:]/g, '')));
  if (e.recurrenceId) L.push(timeLine('RECURRENCE-ID', e.recurrenceId));
  L.push(timeLine('DTSTART', e.start));
  if (e.end) L.push(timeLine('DTEND', e.end));
  if (e.title !== undefined && e.title !== null) L.push(contentLine('SUMMARY', [], escapeText(String(e.title))));
  if (e.description !== undefined) L.push(contentLine('DESCRIPTION', [], escapeText(e.description)));
  if (e.location !== undefined) L.push(contentLine('LOCATION', [], escapeText(e.location)));
  if (e.status) L.push(contentLine('STATUS', [], stripControls(e.status)));
  if (e.transparency) L.push(contentLine('TRANSP', [], stripControls(e.transparency)));
  if (e.sequence !== undefined && Number.isFinite(e.sequence)) {
    // RFC 5545: a non-negative integer; strict readers drop the event otherwise.
    if (e.sequence < 0) onWarning?.({ uid: e.uid, message: `SEQUENCE ${e.sequence} is negative: written as 0` });
    L.push(contentLine('SEQUENCE', [], String(Math.max(0, Math.trunc(e.sequence)))));
  }
  if (e.created) L.push(contentLine('CREATED', [], utcStamp(e.created)));
  if (e.lastModified) L.push(contentLine('LAST-MODIFIED', [], utcStamp(e.lastModified)));
  if (e.url) L.push(contentLine('URL', [], stripControls(e.url)));
  if (e.categories?.length) L.push(contentLine('CATEGORIES', [], e.categories.map(escapeText).join(',')));
  if (e.organizer && (e.organizer.email || e.organizer.name)) L.push(personLine('ORGANIZER', e.organizer));
  for (const a of e.attendees ?? []) L.push(personLine('ATTENDEE', a));
  if (e.recurrence) {
    for (const r of writableRules(e, e.recurrence.rrule, 'RRULE', onWarning)) L.push(contentLine('RRULE', [], stripControls(r)));
    for (const r of writableRules(e, e.recurrence.exrule, 'EXRULE', onWarning)) L.push(contentLine('EXRULE', [], stripControls(r)));
    L.push(...timeListLines('RDATE', e.recurrence.rdate ?? []));
    L.push(...timeListLines('EXDATE', e.recurrence.exdate ?? []));
  }
  const extraRooms = roomsNotInProperties(e);
  if (extraRooms.length) L.push(contentLine('RESOURCES', [], extraRooms.map(escapeText).join(',')));
  for (const x of e.xProps ?? []) {
    const line = xPropLine(x);
    if (line) L.push(line);
  }
  L.push('END:VEVENT');
  return L;
}

/**
 * UID is TEXT in RFC 5545, but producers rarely escape it and readers (ours included) take it
 * verbatim, so it is written verbatim: only line breaks and other controls are removed.
 */
function uidValue(uid: string): string {
  return stripControls(uid.replace(/\r\n|\r|\n/g, ' '));
}

/** Every TZID used by the events, with the range of years they touch. */
export function zonesUsed(events: CalendarEvent[]): Map<string, { min: number; max: number }> {
  const zones = new Map<string, { min: number; max: number }>();
  const visit = (t: EventTime | undefined) => {
    if (!t || !t.timeZone || t.dateTime === undefined || t.dateTime.endsWith('Z')) return;
    const year = Number(t.dateTime.slice(0, 4));
    const z = zones.get(t.timeZone);
    if (!z) zones.set(t.timeZone, { min: year, max: year });
    else {
      if (year < z.min) z.min = year;
      if (year > z.max) z.max = year;
    }
  };
  for (const e of events) {
    visit(e.start);
    visit(e.end);
    visit(e.recurrenceId);
    e.recurrence?.rdate?.forEach(visit);
    e.recurrence?.exdate?.forEach(visit);
  }
  return zones;
}

/**
 * Masters first, each immediately followed by its overrides (same UID, with RECURRENCE-ID);
 * otherwise input order. Overrides without a master in the input keep their place.
 */
export function orderForOutput(events: CalendarEvent[]): CalendarEvent[] {
  const overrides = new Map<string, CalendarEvent[]>();
  const masters = new Set<string>();
  for (const e of events) {
    if (e.recurrenceId) {
      const k = `${e.sourceId ?? ''}\u001f${e.uid}`;
      const list = overrides.get(k);
      if (list) list.push(e);
      else overrides.set(k, [e]);
    } else masters.add(`${e.sourceId ?? ''}\u001f${e.uid}`);
  }
  const out: CalendarEvent[] = [];
  const emitted = new Set<string>();
  for (const e of events) {
    const k = `${e.sourceId ?? ''}\u001f${e.uid}`;
    if (e.recurrenceId) {
      if (!masters.has(k)) out.push(e);
      continue;
    }
    out.push(e);
    if (!emitted.has(k)) {
      emitted.add(k);
      out.push(...(overrides.get(k) ?? []));
    }
  }
  return out;
}

function calendarLines(events: CalendarEvent[], opts: SerializeOptions): string[] {
  const L: string[] = ['BEGIN:VCALENDAR', 'VERSION:2.0'];
  L.push(contentLine('PRODID', [], escapeText(opts.prodId ?? DEFAULT_PRODID)));
  L.push('CALSCALE:GREGORIAN');
  if (opts.method) L.push(contentLine('METHOD', [], stripControls(opts.method).toUpperCase()));
  if (opts.calendarName !== undefined) L.push(contentLine('X-WR-CALNAME', [], escapeText(opts.calendarName)));
  if (opts.calendarDescription !== undefined) L.push(contentLine('X-WR-CALDESC', [], escapeText(opts.calendarDescription)));
  if (opts.timeZone) L.push(contentLine('X-WR-TIMEZONE', [], escapeText(opts.timeZone)));
  for (const [tzid, span] of zonesUsed(events)) {
    // The model promises IANA names; a zone the runtime doesn't know gets no VTIMEZONE rather
    // than sinking the whole export (readers then treat its times as floating).
    if (!isKnownTimeZone(tzid)) continue;
    // A year of margin each side so every yearly rule is seen twice and can become an RRULE.
    L.push(...buildVtimezone(tzid, span.min - 1, span.max + 1));
  }
  for (const e of orderForOutput(events)) L.push(...veventLines(e, opts.now, opts.onWarning));
  L.push('END:VCALENDAR');
  return L;
}

/** The whole VCALENDAR for `events`, CRLF line ends, folded at 75 octets. */
export function serializeIcs(events: CalendarEvent[], opts: SerializeOptions): string {
  return calendarLines(events, opts).map(foldLine).join('\r\n') + '\r\n';
}

/**
 * A single-event .ics (e.g. "download this booking"): the master and its overrides of one UID.
 * Throws when the given events carry more than one UID.
 */
export function serializeEventIcs(events: CalendarEvent | CalendarEvent[], opts: SerializeOptions): string {
  const list = Array.isArray(events) ? events : [events];
  const uids = new Set(list.map((e) => e.uid));
  if (uids.size > 1) throw new IcsSerializeError(`serializeEventIcs expects one UID, got ${uids.size}: ${[...uids].slice(0, 3).join(', ')}`);
  return serializeIcs(list, opts);
}
