/**
 * caldn Event-API (GET /event/:prokey, vendor docs in German). One API "event" is
 * a series of dates; each entry of `dates[]` is its own occurrence with its own name, times, zone,
 * location, status, availability, organizer and attendee. Mapping choices (docs/json-input.md):
 * - uid: `${prokey}` for a single date, `${prokey}-${index}` for several (stable while the dates
 *   array keeps its order). prokey from the event's `prokey` or `id`, else `opts.prokey` (the GET
 *   response does not repeat it), else derived from date_created + series title, with a warning.
 * - A date without startTime is all-day; endDate is the inclusive last day (caldn's UI meaning),
 *   exported as the exclusive next day. A timed date without endTime ends when it starts
 *   (RFC 5545's default for a DTSTART without DTEND).
 * - Recurrence (simplified fields or a raw "RRULE:…") applies to the first date. caldn forbids
 *   recurrence with several dates; if both arrive, the rule goes on the first date with a warning.
 * - The event's `status` ("published"/draft) is publication state, not the iCalendar STATUS: it
 *   is kept as X-CALDN-STATUS, and a non-published event carries a warning. Per-date `status`
 *   (CONFIRMED/TENTATIVE/CANCELLED) becomes STATUS.
 * - description HTML is stripped to text for DESCRIPTION; the original HTML is kept as
 *   X-ALT-DESC;FMTTYPE=text/html (Outlook's convention).
 */
import { RRule } from 'rrule';
import type { CalendarEvent, EventTime, ParseResult } from '../event';
import { ItemIssues, asText, nextDay, normaliseStatus, normaliseTransparency, resolveZoneName, stableHash, timeOrder, unknownZoneWarning, utcStampOf, type ZoneResolution } from './mapping';
import { escapeText } from '../ics/serialize';
import { formatUtc, formatWall, parseWall, utcToWall, wallToUtc } from '../time';

export interface CaldnOptions {
  sourceId?: string;
  defaultTimeZone?: string;
  /** prokey of the event when the input doesn't carry one (GET /event/:prokey omits it). */
  prokey?: string;
}

type Json = Record<string, unknown>;

const FREQS: Record<string, string> = { daily: 'DAILY', weekly: 'WEEKLY', monthly: 'MONTHLY', yearly: 'YEARLY' };
const DAY_RE = /^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$/;

/** Parses the caldn GET /event response: one event object or an array of them. */
export function parseCaldnEvents(input: unknown, opts: CaldnOptions = {}): ParseResult {
  const result: ParseResult = { events: [], errors: [] };
  const list = Array.isArray(input) ? input : [input];
  if (!input || typeof input !== 'object') {
    result.errors.push({ message: 'caldn input must be an event object or an array of events' });
    return result;
  }
  const defaultZone = opts.defaultTimeZone ? resolveZoneName(opts.defaultTimeZone) : undefined;
  list.forEach((raw, index) => {
    const issues = new ItemIssues(index);
    const events = mapCaldnEvent(raw, issues, list.length === 1 ? opts.prokey : undefined, defaultZone, opts.sourceId);
    result.errors.push(...issues.errors);
    for (const e of events) {
      if (issues.warnings.length) e.warnings = [...issues.warnings, ...(e.warnings ?? [])];
      result.events.push(e);
    }
  });
  return result;
}

function mapCaldnEvent(raw: unknown, issues: ItemIssues, optProkey: string | undefined, defaultZone: ZoneResolution | undefined, sourceId?: string): CalendarEvent[] {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    issues.error('', 'is not an event object');
    return [];
  }
  const ev = raw as Json;
  // With a real prokey the events' uids are known even when the item is unusable (see the header).
  const knownProkey = asText(ev.prokey) ?? asText(ev.id) ?? optProkey;
  if (knownProkey) issues.uids = Array.isArray(ev.dates) && ev.dates.length > 1 ? ev.dates.map((_, j) => `${knownProkey}-${j}`) : [knownProkey];
  if (!Array.isArray(ev.dates) || ev.dates.length === 0) {
    issues.error('dates', 'must be a non-empty array of dates');
    return [];
  }
  const dates = ev.dates as unknown[];
  const seriesTitle = asText(ev.title_event_series);

  let prokey = asText(ev.prokey) ?? asText(ev.id) ?? optProkey;
  const realProkey = !!prokey;
  if (!prokey) {
    const first = dates[0] as Json | undefined;
    prokey = `caldn-${stableHash(JSON.stringify([ev.date_created ?? null, seriesTitle ?? null, ev.date_created ? null : first?.startDate ?? null]))}`;
    issues.warn('prokey', `no prokey in the data (pass it as an option): derived "${prokey}"`);
  }

  const recurrence = buildRecurrence(ev, issues);
  if (recurrence === null) return []; // invalid rule: the whole event is an error
  if (recurrence && dates.length > 1) issues.warn('recurrence', `caldn does not combine recurrence with several dates; the rule is applied to dates.0 only`);

  const publication = asText(ev.status);
  if (publication && publication.toLowerCase() !== 'published') issues.warn('status', `event is "${publication}", not published`);
  const sequence = parseSequence(ev.sequence, issues);
  const created = ev.date_created !== undefined && ev.date_created !== null ? utcStampOf(ev.date_created) : undefined;
  if (ev.date_created && !created) issues.warn('date_created', `${JSON.stringify(ev.date_created)} is not a timestamp; ignored`);
  const lastModified = ev.date_updated !== undefined && ev.date_updated !== null ? utcStampOf(ev.date_updated) : undefined;
  if (ev.date_updated && !lastModified) issues.warn('date_updated', `${JSON.stringify(ev.date_updated)} is not a timestamp; ignored`);

  const out: CalendarEvent[] = [];
  dates.forEach((d, j) => {
    const field = (name: string) => `dates.${j}${name ? '.' + name : ''}`;
    const uid = dates.length === 1 ? prokey! : `${prokey}-${j}`;
    if (!d || typeof d !== 'object' || Array.isArray(d)) {
      issues.error(field(''), 'is not a date object', uid);
      return;
    }
    const date = d as Json;
    const times = dateTimes(date, field, issues, defaultZone, uid);
    if (!times) return;
    const e: CalendarEvent = { uid, title: asText(date.name) || seriesTitle || '', start: times.start, end: times.end };
    if (sourceId) e.sourceId = sourceId;
    if (!e.title) times.warnings.push(`${field('name')}: no name and no title_event_series`);
    if (times.warnings.length) e.warnings = times.warnings;
    const html = asText(date.description);
    if (html) {
      e.description = htmlToText(html);
      if (/<[a-z]/i.test(html)) e.xProps = [{ name: 'X-ALT-DESC', params: { FMTTYPE: 'text/html' }, value: escapeText(html) }];
    }
    const location = asText(date.location);
    if (location) e.location = location;
    if (date.status !== undefined && date.status !== null && date.status !== '') {
      const s = normaliseStatus(date.status);
      if (s) e.status = s;
      else (e.warnings ??= []).push(`${field('status')}: ${JSON.stringify(date.status)} is not CONFIRMED, TENTATIVE or CANCELLED; left unset`);
    }
    if (date.availability !== undefined && date.availability !== null && date.availability !== '') {
      const t = normaliseTransparency(date.availability);
      if (t) e.transparency = t;
      else (e.warnings ??= []).push(`${field('availability')}: ${JSON.stringify(date.availability)} is neither "free" nor "busy"; left unset`);
    }
    const orgName = asText(date.organizer_name)?.trim();
    const orgEmail = asText(date.organizer_email)?.trim();
    if (orgName || orgEmail) e.organizer = { ...(orgName ? { name: orgName } : {}), ...(orgEmail ? { email: orgEmail } : {}) };
    const attName = asText(date.attendee_name)?.trim();
    const attEmail = asText(date.attendee_email)?.trim();
    if (attName || attEmail) e.attendees = [{ ...(attName ? { name: attName } : {}), ...(attEmail ? { email: attEmail } : {}) }];
    if (recurrence && j === 0) e.recurrence = { rrule: [recurrence], rdate: [], exdate: [] };
    if (sequence !== undefined) e.sequence = sequence;
    if (created) e.created = created;
    if (lastModified) e.lastModified = lastModified;
    if (realProkey) e.url = `https://caldn.net/${prokey}`;
    if (publication) e.xProps = [...(e.xProps ?? []), { name: 'X-CALDN-STATUS', value: escapeText(publication) }];
    out.push(e);
  });
  return out;
}

/** start/end of one date, per the rules in the file comment; undefined after reporting an error. */
function dateTimes(date: Json, field: (n: string) => string, issues: ItemIssues, defaultZone: ZoneResolution | undefined, uid: string): { start: EventTime; end: EventTime; warnings: string[] } | undefined {
  const warnings: string[] = [];
  const startDate = checkDate(date.startDate, field('startDate'), issues, uid, true);
  if (!startDate) return undefined;
  const endDate = date.endDate === null || date.endDate === undefined || date.endDate === '' ? undefined : checkDate(date.endDate, field('endDate'), issues, uid, false);
  if (endDate === null) return undefined;
  if (endDate && endDate < startDate) {
    issues.error(field('endDate'), `"${endDate}" is before startDate "${startDate}"`, uid);
    return undefined;
  }
  const startTime = checkTime(date.startTime, field('startTime'), issues, uid);
  const endTime = checkTime(date.endTime, field('endTime'), issues, uid);
  if (startTime === null || endTime === null) return undefined;

  if (!startTime) {
    if (endTime) warnings.push(`${field('endTime')}: ignored because the date has no startTime (all-day)`);
    return { start: { date: startDate }, end: { date: nextDay(endDate ?? startDate) }, warnings };
  }

  let zone: ZoneResolution | undefined = defaultZone;
  const tzName = asText(date.timeZone)?.trim();
  if (tzName) zone = resolveZoneName(tzName);
  if (zone?.kind === 'unknown') warnings.push(`${field('timeZone')}: ${unknownZoneWarning(zone.name)}`);
  const at = (d: string, t: string): EventTime => {
    const wall = parseWall(`${d}T${t}`);
    if (!zone) return { dateTime: formatWall(wall) };
    if (zone.kind === 'iana') return { dateTime: formatWall(utcToWall(wallToUtc(wall, zone.tz), zone.tz)), timeZone: zone.tz };
    return { dateTime: formatUtc(wall) };
  };
  const start = at(startDate, startTime);
  let end: EventTime;
  if (endTime) end = at(endDate ?? startDate, endTime);
  else {
    if (endDate && endDate !== startDate) warnings.push(`${field('endDate')}: ignored because the date has no endTime; the event ends when it starts`);
    end = { ...start };
  }
  if (timeOrder(end, start) < 0) {
    issues.error(field('endTime'), `ends before it starts (${startDate} ${startTime} → ${endDate ?? startDate} ${endTime})`, uid);
    return undefined;
  }
  return { start, end, warnings };
}

/** YYYY-MM-DD or undefined (missing, required → error) or null (malformed → error). */
function checkDate(v: unknown, field: string, issues: ItemIssues, uid: string, required: boolean): string | undefined | null {
  if (v === undefined || v === null || v === '') {
    if (required) issues.error(field, 'is missing', uid);
    return required ? undefined : undefined;
  }
  const s = typeof v === 'string' ? v.trim() : '';
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) {
    issues.error(field, `${JSON.stringify(v)} is not YYYY-MM-DD`, uid);
    return null;
  }
  try {
    parseWall(s);
  } catch {
    issues.error(field, `"${s}" is not a real calendar date`, uid);
    return null;
  }
  return s;
}

/** "HH:MM[:SS]" → "HH:MM:SS"; undefined when absent; null after reporting a malformed value. */
function checkTime(v: unknown, field: string, issues: ItemIssues, uid: string): string | undefined | null {
  if (v === undefined || v === null || v === '') return undefined;
  const m = typeof v === 'string' ? /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(v.trim()) : null;
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59 || Number(m[3] ?? 0) > 59) {
    issues.error(field, `${JSON.stringify(v)} is not a time like "14:45"`, uid);
    return null;
  }
  return `${m[1].padStart(2, '0')}:${m[2]}:${m[3] ?? '00'}`;
}

function parseSequence(v: unknown, issues: ItemIssues): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (Number.isInteger(n) && n >= 0) return n;
  issues.warn('sequence', `${JSON.stringify(v)} is not a non-negative integer; ignored`);
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Recurrence

/**
 * The RRULE value (without "RRULE:") for the event, undefined when it has none, or null after
 * reporting an invalid field (an invalid rule would silently change which dates exist).
 */
export function buildRecurrence(ev: Json, issues: ItemIssues): string | undefined | null {
  const simplified = ev.simplified_recurrence;
  // Without the flag, a raw RRULE in `recurrence` is still meant (and no simple_type competes).
  const rawOnly = (simplified === undefined || simplified === null) && !!asText(ev.recurrence)?.trim() && (ev.recurrence_simple_type === undefined || ev.recurrence_simple_type === null || ev.recurrence_simple_type === '');
  if (simplified === false || simplified === 'false' || rawOnly) {
    const raw = asText(ev.recurrence)?.trim();
    if (!raw) return undefined;
    const rules: string[] = [];
    for (const line of raw.split(/\r\n|\r|\n/).map((l) => l.trim()).filter(Boolean)) {
      const m = /^RRULE:(.*)$/i.exec(line);
      if (m) rules.push(m[1].trim());
      else if (!line.includes(':') && /FREQ=/i.test(line)) rules.push(line);
      else issues.warn('recurrence', `line "${line}" is not an RRULE; ignored`);
    }
    if (rules.length === 0) return undefined;
    if (rules.length > 1) issues.warn('recurrence', 'several RRULEs; only the first is used');
    const rule = canonicalRrule(rules[0]);
    const problem = checkRrule(rule);
    if (problem) {
      issues.error('recurrence', problem);
      return null;
    }
    return rule;
  }
  if (ev.recurrence_simple_type === undefined || ev.recurrence_simple_type === null || ev.recurrence_simple_type === '') return undefined;
  const parts: string[] = [];
  let ok = true;
  const bad = (field: string, msg: string) => {
    issues.error(field, msg);
    ok = false;
  };
  const type = asText(ev.recurrence_simple_type)?.trim().toLowerCase() ?? '';
  const freq = FREQS[type];
  if (!freq) bad('recurrence_simple_type', `${JSON.stringify(ev.recurrence_simple_type)} is not daily, weekly, monthly or yearly`);
  parts.push(`FREQ=${freq ?? 'DAILY'}`);
  const interval = optionalInt(ev.recurrence_interval);
  if (interval === null || (interval !== undefined && interval < 1)) bad('recurrence_interval', `${JSON.stringify(ev.recurrence_interval)} is not a positive integer`);
  else if (interval !== undefined && interval !== 1) parts.push(`INTERVAL=${interval}`);
  const count = optionalInt(ev.recurrence_count);
  if (count === null || (count !== undefined && count < 1)) bad('recurrence_count', `${JSON.stringify(ev.recurrence_count)} is not a positive integer`);
  else if (count !== undefined) parts.push(`COUNT=${count}`);
  const byMonth = intList(ev.recurrence_byMonth);
  if (byMonth === null || byMonth?.some((n) => n < 1 || n > 12)) bad('recurrence_byMonth', `${JSON.stringify(ev.recurrence_byMonth)} is not a list of months 1–12 like "1,2,12"`);
  else if (byMonth?.length) parts.push(`BYMONTH=${byMonth.join(',')}`);
  const byMonthDay = intList(ev.recurrence_byMonthDay);
  if (byMonthDay === null || byMonthDay?.some((n) => n === 0 || n < -31 || n > 31)) bad('recurrence_byMonthDay', `${JSON.stringify(ev.recurrence_byMonthDay)} is not a list of days ±1–31 like "3,23"`);
  else if (byMonthDay?.length) {
    if (freq === 'WEEKLY') bad('recurrence_byMonthDay', 'cannot be used with a weekly rule (RFC 5545)');
    else parts.push(`BYMONTHDAY=${byMonthDay.join(',')}`);
  }
  const byDayRaw = asText(ev.recurrence_byDay)?.trim();
  if (byDayRaw) {
    const days = byDayRaw.toUpperCase().split(',').map((s) => s.trim());
    const invalid = days.find((d) => {
      const m = DAY_RE.exec(d);
      if (!m) return true;
      const n = m[1] === undefined ? undefined : Number(m[1]);
      return n !== undefined && (n === 0 || Math.abs(n) > 53);
    });
    if (invalid !== undefined) bad('recurrence_byDay', `"${invalid}" in ${JSON.stringify(byDayRaw)} is not a weekday like "MO" or "2MO"`);
    else if (days.some((d) => /\d/.test(d)) && freq !== 'MONTHLY' && freq !== 'YEARLY') bad('recurrence_byDay', `numbered weekdays like "${days.find((d) => /\d/.test(d))}" need a monthly or yearly rule (RFC 5545)`);
    else parts.push(`BYDAY=${days.map((d) => d.replace(/^\+/, '')).join(',')}`);
  }
  const wkst = asText(ev.recurrence_weekstart)?.trim().toUpperCase();
  if (wkst) {
    if (!/^(MO|TU|WE|TH|FR|SA|SU)$/.test(wkst)) bad('recurrence_weekstart', `${JSON.stringify(ev.recurrence_weekstart)} is not a weekday like "MO"`);
    else parts.push(`WKST=${wkst}`);
  }
  if (!ok) return null;
  const rule = parts.join(';');
  const problem = checkRrule(rule);
  if (problem) {
    issues.error('recurrence_simple_type', problem);
    return null;
  }
  return rule;
}

function optionalInt(v: unknown): number | undefined | null {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) ? n : null;
}

function intList(v: unknown): number[] | undefined | null {
  if (v === undefined || v === null || v === '') return undefined;
  const parts = Array.isArray(v) ? v.map(String) : String(v).split(',');
  const nums = parts.map((p) => (/^\s*[+-]?\d+\s*$/.test(p) ? Number(p) : NaN));
  return nums.every(Number.isInteger) ? nums : null;
}

const RRULE_PARTS = new Set(['FREQ', 'UNTIL', 'COUNT', 'INTERVAL', 'BYSECOND', 'BYMINUTE', 'BYHOUR', 'BYDAY', 'BYMONTHDAY', 'BYYEARDAY', 'BYWEEKNO', 'BYMONTH', 'BYSETPOS', 'WKST']);

/**
 * What is wrong with an RRULE value, or undefined. rrule's parser rejects unknown parts and
 * frequencies but accepts nonsense numbers, so ranges are checked here too.
 */
export function checkRrule(rule: string): string | undefined {
  const seen = new Set<string>();
  for (const part of rule.split(';').filter(Boolean)) {
    const [k, v] = part.split('=');
    const key = (k ?? '').trim().toUpperCase();
    if (!RRULE_PARTS.has(key)) return `"${part}" is not an RRULE part`;
    if (seen.has(key)) return `${key} appears twice`;
    seen.add(key);
    const val = (v ?? '').trim();
    if (val === '') return `${key} has no value`;
    const ints = (lo: number, hi: number, allowNeg = false) => val.split(',').every((x) => /^[+-]?\d+$/.test(x) && Math.abs(Number(x)) >= (allowNeg ? 1 : lo) && Math.abs(Number(x)) <= hi && (allowNeg || Number(x) >= lo));
    const okByKey: Record<string, () => boolean> = {
      FREQ: () => /^(SECONDLY|MINUTELY|HOURLY|DAILY|WEEKLY|MONTHLY|YEARLY)$/i.test(val),
      COUNT: () => /^\d+$/.test(val) && Number(val) >= 1,
      INTERVAL: () => /^\d+$/.test(val) && Number(val) >= 1,
      UNTIL: () => /^\d{8}(T\d{6}Z?)?$/i.test(val),
      BYSECOND: () => ints(0, 60),
      BYMINUTE: () => ints(0, 59),
      BYHOUR: () => ints(0, 23),
      BYMONTH: () => ints(1, 12),
      BYMONTHDAY: () => ints(1, 31, true),
      BYYEARDAY: () => ints(1, 366, true),
      BYWEEKNO: () => ints(1, 53, true),
      BYSETPOS: () => ints(1, 366, true),
      BYDAY: () => val.toUpperCase().split(',').every((d) => DAY_RE.test(d) && Math.abs(Number(DAY_RE.exec(d)![1] ?? 1)) >= 1 && Math.abs(Number(DAY_RE.exec(d)![1] ?? 1)) <= 53),
      WKST: () => /^(MO|TU|WE|TH|FR|SA|SU)$/i.test(val),
    };
    if (!okByKey[key]()) return `${key}=${val} is out of range or malformed`;
  }
  if (!seen.has('FREQ')) return 'FREQ is missing';
  if (seen.has('COUNT') && seen.has('UNTIL')) return 'COUNT and UNTIL cannot both be set';
  try {
    new RRule(RRule.parseString(rule));
  } catch (e) {
    return `rrule rejects it: ${(e as Error).message}`;
  }
  return undefined;
}

/** Upper-cases part names and values the way ICS producers write them. */
function canonicalRrule(rule: string): string {
  return rule.split(';').filter(Boolean).map((p) => p.trim().toUpperCase()).join(';');
}

// ---------------------------------------------------------------------------------------------
// HTML

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', auml: 'ä', ouml: 'ö', uuml: 'ü', Auml: 'Ä', Ouml: 'Ö', Uuml: 'Ü', szlig: 'ß', euro: '€', ndash: '–', mdash: '—' };

/**
 * The text of caldn's allowed HTML (<p>, <strong>, <em>, <u>, <h1>–<h4>, <ul>, <ol>, <li>, <a>):
 * each block becomes one line (no blank lines), list items "• ", links "text (href)", entities decoded.
 */
export function htmlToText(html: string): string {
  let s = html.replace(/\r\n|\r/g, '\n');
  s = s.replace(/<a\b[^>]*href\s*=\s*["']([^"']*)["'][^>]*>([\s\S]*?)<\/a>/gi, (_m, href: string, text: string) => {
    const t = text.replace(/<[^>]*>/g, '').trim();
    return t && t !== href ? `${t} (${href})` : href;
  });
  s = s.replace(/<br\s*\/?>/gi, '\n');
  s = s.replace(/<li\b[^>]*>/gi, '\n• ');
  s = s.replace(/<\/(p|h[1-6]|ul|ol|div)>/gi, '\n');
  s = s.replace(/<[^>]*>/g, '');
  s = s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, ent: string) => {
    if (ent[0] === '#') {
      const cp = ent[1].toLowerCase() === 'x' ? parseInt(ent.slice(2), 16) : parseInt(ent.slice(1), 10);
      return Number.isFinite(cp) && cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
    }
    return ENTITIES[ent] ?? m;
  });
  return s.split('\n').map((l) => l.replace(/[ \t]+/g, ' ').trim()).join('\n').replace(/\n{2,}/g, '\n').trim();
}
