/**
 * Generic JSON → CalendarEvent mapping: dot paths name where each field lives in an item, and
 * every value is read leniently but reported precisely (item index + field path) when unusable.
 * The LearningSpace and Sonderplan presets are just field maps over this; caldn builds on the
 * time and text helpers.
 *
 * Path syntax (docs/json-input.md): `a.b.c` walks objects, a number indexes an array, `*` maps
 * over an array (results are flattened), `a|b` takes the first alternative that has a value, and
 * `''` is the item itself.
 */
import type { CalendarEvent, EventStatus, EventTime, EventTransparency, ParseIssue, ParseResult } from '../event';
import { addDuration, canonicalTimeZone, formatDate, formatUtc, formatWall, parseDuration, parseWall, utcToWall, wallToUtc, type Duration } from '../time';

export interface FieldMap {
  /** Dot path to the array of items; '' = the input itself. A non-array root item is one item. */
  items?: string;
  id: string;
  title: string;
  start: string;
  end?: string;
  /** Minutes (number or digits) or an ISO 8601 duration ("PT90M"); used when `end` has no value. */
  duration?: string;
  /** IANA zone of the item's times (see docs for how it combines with offsets). */
  timeZone?: string;
  location?: string;
  /** Room / resource id(s): a scalar, an array, or objects with an `id`. Goes to `rooms`. */
  room?: string;
  status?: string;
  description?: string;
  /** Truthy (true, 1, "true", "yes") makes the event all-day. */
  allDay?: string;
  url?: string;
  /** An array of strings or a comma-separated string. */
  categories?: string;
  organizerName?: string;
  organizerEmail?: string;
  /** free/transparent → TRANSPARENT, busy/opaque → OPAQUE; a boolean means "busy". */
  transparency?: string;
  sequence?: string;
  created?: string;
  lastModified?: string;
}

export interface JsonParseOptions {
  sourceId?: string;
  /** Zone for naive date-times in items that name no zone; without it they are floating. */
  defaultTimeZone?: string;
}

// ---------------------------------------------------------------------------------------------
// Paths

/** The value at `path` (no alternatives); `*` segments collect a flattened array. */
function walk(value: unknown, segments: string[]): unknown {
  if (segments.length === 0) return value;
  const [head, ...rest] = segments;
  if (value === null || value === undefined) return undefined;
  if (head === '*' || head === '[]') {
    if (!Array.isArray(value)) return undefined;
    const out: unknown[] = [];
    for (const v of value) {
      const r = walk(v, rest);
      if (Array.isArray(r) && rest.includes('*')) out.push(...r);
      else if (r !== undefined && r !== null) out.push(r);
    }
    return out;
  }
  if (typeof value !== 'object') return undefined;
  if (Array.isArray(value) && /^\d+$/.test(head)) return walk(value[Number(head)], rest);
  if (!Object.prototype.hasOwnProperty.call(value, head)) return undefined;
  return walk((value as Record<string, unknown>)[head], rest);
}

function hasValue(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0);
}

/** True when an alternative of `path` holds an array that is empty (found, but no items). */
function hasEmptyList(item: unknown, path: string): boolean {
  for (const alt of path.split('|').map((p) => p.trim())) {
    if (alt === '') continue;
    const v = walk(item, alt.split('.'));
    if (Array.isArray(v) && v.length === 0) return true;
  }
  return false;
}

/** The first alternative of `path` that has a value, and which alternative it was. */
export function resolvePath(item: unknown, path: string): { value: unknown; path: string } {
  const alternatives = path.split('|').map((p) => p.trim());
  for (const alt of alternatives) {
    const v = alt === '' ? item : walk(item, alt.split('.'));
    if (hasValue(v)) return { value: v, path: alt };
  }
  return { value: undefined, path: alternatives[0] };
}

// ---------------------------------------------------------------------------------------------
// Values

/** Text from a scalar; arrays join with ", "; an object contributes its name/title. */
export function asText(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) {
    const parts = v.map(asText).filter((s): s is string => !!s);
    return parts.length ? parts.join(', ') : undefined;
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k of ['name', 'title', 'label']) if (typeof o[k] === 'string') return o[k] as string;
  }
  return undefined;
}

/** Room ids: a scalar, an array of scalars, or objects carrying `id` (else `name`). */
export function asIdList(v: unknown): string[] {
  if (v === undefined || v === null || v === '') return [];
  if (typeof v === 'string' || typeof v === 'number') return [String(v)];
  if (Array.isArray(v)) return [...new Set(v.flatMap(asIdList))];
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k of ['id', 'uuid', 'name']) if (typeof o[k] === 'string' || typeof o[k] === 'number') return [String(o[k])];
  }
  return [];
}

export function asBoolean(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (['true', '1', 'yes', 'y', 'on'].includes(s)) return true;
    if (['false', '0', 'no', 'n', 'off', ''].includes(s)) return false;
  }
  return undefined;
}

const STATUS_WORDS: Record<string, EventStatus> = {
  confirmed: 'CONFIRMED', confirm: 'CONFIRMED', booked: 'CONFIRMED', approved: 'CONFIRMED', accepted: 'CONFIRMED',
  published: 'CONFIRMED', active: 'CONFIRMED', scheduled: 'CONFIRMED', definite: 'CONFIRMED', final: 'CONFIRMED',
  tentative: 'TENTATIVE', pending: 'TENTATIVE', provisional: 'TENTATIVE', requested: 'TENTATIVE', hold: 'TENTATIVE',
  'on hold': 'TENTATIVE', pencil: 'TENTATIVE', pencilled: 'TENTATIVE', penciled: 'TENTATIVE', draft: 'TENTATIVE', unconfirmed: 'TENTATIVE',
  cancelled: 'CANCELLED', canceled: 'CANCELLED', cancel: 'CANCELLED', declined: 'CANCELLED', rejected: 'CANCELLED', deleted: 'CANCELLED',
};

/** CONFIRMED / TENTATIVE / CANCELLED from the words booking systems use; undefined if unknown. */
export function normaliseStatus(v: unknown): EventStatus | undefined {
  const s = asText(v)?.trim().toLowerCase();
  return s ? STATUS_WORDS[s] : undefined;
}

export function normaliseTransparency(v: unknown): EventTransparency | undefined {
  if (typeof v === 'boolean') return v ? 'OPAQUE' : 'TRANSPARENT';
  const s = asText(v)?.trim().toLowerCase();
  if (s === 'free' || s === 'transparent' || s === 'available') return 'TRANSPARENT';
  if (s === 'busy' || s === 'opaque' || s === 'blocked' || s === 'unavailable') return 'OPAQUE';
  return undefined;
}

/** A short, stable hash (two 32-bit FNV-1a lanes) for derived UIDs. */
export function stableHash(s: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 13);
  }
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}

// ---------------------------------------------------------------------------------------------
// Time zones and times

export type ZoneResolution = { kind: 'utc' } | { kind: 'iana'; tz: string } | { kind: 'unknown'; name: string };

/** "UTC"/"Z"/"GMT" → utc, an IANA name (any case) → its canonical spelling, else unknown. */
export function resolveZoneName(name: string): ZoneResolution {
  const n = name.trim();
  if (/^(z|utc|gmt|etc\/utc|etc\/gmt|etc\/zulu|zulu|universal)$/i.test(n)) return { kind: 'utc' };
  const c = canonicalTimeZone(n);
  if (!c) return { kind: 'unknown', name: n };
  if (c === 'UTC' || c === 'Etc/UTC' || c === 'Etc/GMT') return { kind: 'utc' };
  return { kind: 'iana', tz: c };
}

const ISO_RE = /^(\d{4})-?(\d{2})-?(\d{2})(?:[T ](\d{2}):?(\d{2})(?::?(\d{2})(?:[.,]\d+)?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** Unix numbers below this are seconds, above it milliseconds (1e11 s is the year 5138). */
const UNIX_MS_THRESHOLD = 1e11;

export interface TimeContext {
  /** The item's own zone (from its zone field), already resolved. */
  zone?: ZoneResolution;
  /** opts.defaultTimeZone resolved: only for naive date-times. */
  defaultZone?: ZoneResolution;
}

export type TimeResult = { time: EventTime; warning?: string } | { error: string };

function zonedOrUtc(utcMs: number, zone: ZoneResolution | undefined): EventTime {
  if (zone?.kind === 'iana') return { dateTime: formatWall(utcToWall(utcMs, zone.tz)), timeZone: zone.tz };
  return { dateTime: formatUtc(utcMs) };
}

/**
 * Reads one JSON time value:
 * - number (or 9+ digits): unix seconds, or milliseconds above 1e11 → UTC, or the item's zone;
 * - ISO with Z/offset → that instant, shown in the item's zone when it has one, else UTC;
 * - naive ISO date-time → wall time in the item's zone, else the default zone, else floating;
 * - date only → all-day.
 * An unknown zone is a warning and the wall time is read as UTC.
 */
export function parseJsonTime(v: unknown, ctx: TimeContext): TimeResult {
  if (typeof v === 'string' && /^\s*-?\d{9,}(\.\d+)?\s*$/.test(v)) v = Number(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return { error: `${v} is not a time` };
    const ms = Math.abs(v) < UNIX_MS_THRESHOLD ? v * 1000 : v;
    const utc = Math.floor(ms / 1000) * 1000;
    if (Math.abs(utc) > 8.64e15) return { error: `${v} is out of range` };
    return withZoneWarning(zonedOrUtc(utc, ctx.zone), ctx.zone);
  }
  if (typeof v !== 'string') return { error: v === undefined || v === null ? 'is missing' : `${JSON.stringify(v)} is not a date or time` };
  const m = ISO_RE.exec(v.trim());
  if (!m) return { error: `"${v}" is not an ISO 8601 date/time or unix timestamp` };
  const [, y, mo, d, h, mi, s, offset] = m;
  const dateIso = `${y}-${mo}-${d}`;
  let wall: number;
  try {
    wall = parseWall(h === undefined ? dateIso : `${dateIso}T${h}:${mi}:${s ?? '00'}`);
  } catch (e) {
    return { error: `"${v}" ${(e as Error).message.includes('real calendar') ? 'is not a real calendar date' : 'is out of range'}` };
  }
  if (h === undefined) return { time: { date: formatDate(wall) } };
  if (offset) {
    let offMs = 0;
    if (offset.toUpperCase() !== 'Z') {
      const om = /^([+-])(\d{2}):?(\d{2})?$/.exec(offset)!;
      offMs = (Number(om[2]) * 60 + Number(om[3] ?? 0)) * 60_000 * (om[1] === '-' ? -1 : 1);
    }
    return withZoneWarning(zonedOrUtc(wall - offMs, ctx.zone), ctx.zone);
  }
  const zone = ctx.zone ?? ctx.defaultZone;
  if (!zone) return { time: { dateTime: formatWall(wall) } };
  if (zone.kind === 'iana') {
    // Normalise a wall time inside a DST gap to the instant it denotes (RFC 5545 reading).
    return { time: { dateTime: formatWall(utcToWall(wallToUtc(wall, zone.tz), zone.tz)), timeZone: zone.tz } };
  }
  return withZoneWarning({ dateTime: formatUtc(wall) }, zone);
}

function withZoneWarning(time: EventTime, zone: ZoneResolution | undefined): TimeResult {
  return zone?.kind === 'unknown' ? { time, warning: unknownZoneWarning(zone.name) } : { time };
}

export function unknownZoneWarning(name: string): string {
  return `unknown time zone "${name}": times read as UTC`;
}

/** Minutes (number/digits) or an ISO 8601 duration; negative or malformed → error message. */
export function parseJsonDuration(v: unknown): { duration: Duration } | { error: string } {
  if (typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v)) v = Number(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) return { error: `${v} is not a non-negative number of minutes` };
    return { duration: { days: 0, ms: Math.round(v * 60_000) } };
  }
  if (typeof v === 'string') {
    try {
      const d = parseDuration(v);
      if (d.days < 0 || d.ms < 0) return { error: `"${v}" is negative` };
      return { duration: d };
    } catch {
      return { error: `"${v}" is neither minutes nor an ISO 8601 duration like PT90M` };
    }
  }
  return { error: `${JSON.stringify(v)} is neither minutes nor an ISO 8601 duration` };
}

/** Orders two EventTimes of possibly different kinds; floating and dates read as UTC. */
export function timeOrder(a: EventTime, b: EventTime): number {
  const ms = (t: EventTime) => {
    if (t.date) return parseWall(t.date);
    const wall = parseWall(t.dateTime!);
    if (t.dateTime!.endsWith('Z') || !t.timeZone) return wall;
    return wallToUtc(wall, t.timeZone);
  };
  return ms(a) - ms(b);
}

/** The date part of a time in its own frame; `roundUp` moves a non-midnight time to the next day. */
export function toDate(t: EventTime, roundUp: boolean): string {
  if (t.date) return t.date;
  const wall = parseWall(t.dateTime!);
  const midnight = wall % 86_400_000 === 0;
  return formatDate(roundUp && !midnight ? wall + 86_400_000 : wall);
}

export function nextDay(date: string): string {
  return formatDate(parseWall(date) + 86_400_000);
}

// ---------------------------------------------------------------------------------------------
// The generic mapper

/** Accumulates issues for one item; `fail` marks the item as unusable. */
export class ItemIssues {
  readonly errors: ParseIssue[] = [];
  readonly warnings: string[] = [];
  /**
   * The id(s) the item has in the data, once known: every error names them, so a sync keeps those
   * events on the target instead of taking them for deleted (one issue per id).
   */
  uids: string[] = [];
  constructor(readonly item: number) {}
  error(field: string, message: string, uid?: string): void {
    const text = `item ${this.item}, field "${field}": ${message}`;
    const uids = uid ? [uid] : this.uids;
    if (uids.length === 0) this.errors.push({ item: this.item, field, message: text });
    for (const u of uids) this.errors.push({ item: this.item, field, message: text, uid: u });
  }
  warn(field: string, message: string): void {
    this.warnings.push(`field "${field}": ${message}`);
  }
}

/**
 * The items array named by `path`; a root array is used when the path finds nothing. A path that
 * finds an empty array ("events": []) gives zero items, not an error: the list is there, it is
 * empty (the sync's empty-source guard decides what that means). `error` only when nothing is there.
 */
export function itemsAt(input: unknown, path: string | undefined): { items: unknown[]; error?: string } {
  if (path) {
    const { value } = resolvePath(input, path);
    if (Array.isArray(value)) return { items: value };
    if (value && typeof value === 'object') return { items: [value] };
    if (Array.isArray(input)) return { items: input };
    if (hasEmptyList(input, path)) return { items: [] };
    return { items: [], error: `no array of items at "${path}"` };
  }
  if (Array.isArray(input)) return { items: input };
  if (input && typeof input === 'object') return { items: [input] };
  return { items: [], error: 'input is not a JSON object or array' };
}

/**
 * Maps each item with `map`. Errors name the item index and field; a bad item is skipped and
 * the rest are still returned. Items repeating an id with the same times and title (one row per
 * room) are merged into one event with all rooms; other repeats are errors.
 */
export function mapJsonItems(input: unknown, map: FieldMap, opts: JsonParseOptions = {}): ParseResult {
  const { items, error } = itemsAt(input, map.items);
  const result: ParseResult = { events: [], errors: [] };
  if (error) {
    result.errors.push({ message: error, field: map.items });
    return result;
  }
  const defaultZone = opts.defaultTimeZone ? resolveZoneName(opts.defaultTimeZone) : undefined;
  const seen = new Map<string, { index: number; event: CalendarEvent }>();
  items.forEach((item, index) => {
    const issues = new ItemIssues(index);
    const event = mapItem(item, map, issues, defaultZone, opts);
    result.errors.push(...issues.errors);
    if (!event) return;
    if (issues.warnings.length) event.warnings = [...(event.warnings ?? []), ...issues.warnings];
    const prior = seen.get(event.uid);
    if (prior) {
      const p = prior.event;
      if (JSON.stringify([p.start, p.end, p.title]) === JSON.stringify([event.start, event.end, event.title])) {
        p.rooms = [...new Set([...(p.rooms ?? []), ...(event.rooms ?? [])])];
        return;
      }
      result.errors.push({ item: index, field: map.id, uid: event.uid, message: `item ${index}, field "${map.id}": id "${event.uid}" repeats item ${prior.index} with different times or title; ids must be unique` });
      return;
    }
    seen.set(event.uid, { index, event });
    result.events.push(event);
  });
  return result;
}

function mapItem(item: unknown, map: FieldMap, issues: ItemIssues, defaultZone: ZoneResolution | undefined, opts: JsonParseOptions): CalendarEvent | undefined {
  if (!item || typeof item !== 'object' || Array.isArray(item)) {
    issues.error('', `is ${Array.isArray(item) ? 'an array' : JSON.stringify(item)}, not an object`);
    return undefined;
  }
  const get = (path: string | undefined) => (path === undefined ? { value: undefined, path: '' } : resolvePath(item, path));
  const knownId = asText(get(map.id).value);
  if (knownId?.trim()) issues.uids = [knownId];

  // Zone first: the times depend on it.
  let zone: ZoneResolution | undefined;
  const zoneField = get(map.timeZone);
  if (hasValue(zoneField.value)) {
    const name = asText(zoneField.value);
    if (name) zone = resolveZoneName(name);
  }

  const startField = get(map.start);
  const startRes = parseJsonTime(startField.value, { zone, defaultZone });
  if ('error' in startRes) {
    issues.error(startField.path || map.start, startRes.error);
    return undefined;
  }
  if (startRes.warning) issues.warn(startField.path, startRes.warning);
  let start = startRes.time;

  let end: EventTime | undefined;
  const endField = get(map.end);
  if (hasValue(endField.value)) {
    const r = parseJsonTime(endField.value, { zone, defaultZone });
    if ('error' in r) {
      issues.error(endField.path, r.error);
      return undefined;
    }
    end = r.time;
  }
  let duration: Duration | undefined;
  const durField = get(map.duration);
  if (!end && hasValue(durField.value)) {
    const r = parseJsonDuration(durField.value);
    if ('error' in r) {
      issues.error(durField.path, r.error);
      return undefined;
    }
    duration = r.duration;
  }

  const allDay = asBoolean(get(map.allDay).value) === true;
  if (allDay && !start.date) start = { date: toDate(start, false) };
  if (start.date) {
    // All-day: ends are exclusive dates (as in iCalendar and Google); an end on the start day
    // itself, or a timed end, means "through that day".
    if (end) end = { date: end.date && end.date !== start.date ? end.date : nextDay(toDate(end, !end.date)) };
    else if (duration) end = addDuration(start, { days: Math.max(1, duration.days + Math.ceil(duration.ms / 86_400_000)), ms: 0 });
    else end = { date: nextDay(start.date) };
    if (end.date! <= start.date) end = { date: nextDay(start.date) };
  } else if (end?.date) {
    issues.error(endField.path, `"${String(endField.value)}" is a date but the start has a time`);
    return undefined;
  } else if (!end) {
    end = duration ? addDuration(start, duration) : { ...start };
  }
  if (timeOrder(end, start) < 0) {
    issues.error(endField.path || durField.path, `ends before it starts (${JSON.stringify(start)} → ${JSON.stringify(end)})`);
    return undefined;
  }

  const titleField = get(map.title);
  let title = asText(titleField.value);
  if (title === undefined) {
    issues.warn(map.title, 'no title');
    title = '';
  }

  const idField = get(map.id);
  let uid = asText(idField.value);
  if (uid === undefined || uid.trim() === '') {
    uid = `json-${stableHash(JSON.stringify([title, start]))}`;
    issues.warn(map.id, `no id: derived "${uid}" from title and start, so a change to either looks like a new event`);
  }

  const event: CalendarEvent = { uid, title, start, end };
  if (opts.sourceId) event.sourceId = opts.sourceId;
  const text = (path: string | undefined) => asText(get(path).value);
  const description = text(map.description);
  if (description !== undefined) event.description = description;
  const location = text(map.location);
  if (location !== undefined) event.location = location;
  const rooms = asIdList(get(map.room).value);
  if (rooms.length) event.rooms = rooms;

  const statusField = get(map.status);
  if (hasValue(statusField.value)) {
    const s = normaliseStatus(statusField.value);
    if (s) event.status = s;
    else issues.warn(statusField.path, `status ${JSON.stringify(statusField.value)} is not one the mapping knows; left unset`);
  }
  const transpField = get(map.transparency);
  if (hasValue(transpField.value)) {
    const t = normaliseTransparency(transpField.value);
    if (t) event.transparency = t;
    else issues.warn(transpField.path, `availability ${JSON.stringify(transpField.value)} is neither free nor busy; left unset`);
  }
  const url = text(map.url);
  if (url) event.url = url;
  const cats = get(map.categories).value;
  if (hasValue(cats)) {
    const list = Array.isArray(cats) ? cats.map(asText).filter((s): s is string => !!s) : (asText(cats) ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    if (list.length) event.categories = list;
  }
  const orgName = text(map.organizerName);
  const orgEmail = text(map.organizerEmail);
  if (orgName || orgEmail) event.organizer = { ...(orgName ? { name: orgName } : {}), ...(orgEmail ? { email: orgEmail } : {}) };
  const seqField = get(map.sequence);
  if (hasValue(seqField.value)) {
    const n = Number(seqField.value);
    if (Number.isInteger(n) && n >= 0) event.sequence = n;
    else issues.warn(seqField.path, `${JSON.stringify(seqField.value)} is not a non-negative integer; ignored`);
  }
  for (const [key, path] of [['created', map.created], ['lastModified', map.lastModified]] as const) {
    const f = get(path);
    if (!hasValue(f.value)) continue;
    const stamp = utcStampOf(f.value);
    if (stamp) event[key] = stamp;
    else issues.warn(f.path, `${JSON.stringify(f.value)} is not a timestamp; ignored`);
  }
  return event;
}

/** A `YYYY-MM-DDTHH:MM:SSZ` instant from an ISO string or unix number; naive values read as UTC. */
export function utcStampOf(v: unknown): string | undefined {
  const r = parseJsonTime(v, { defaultZone: { kind: 'utc' } });
  if ('error' in r || r.time.date) return undefined;
  return r.time.dateTime!.endsWith('Z') ? r.time.dateTime : undefined;
}
