/**
 * Pure mapping CalendarEvent ⇄ Google Calendar v3 event JSON. No I/O.
 *
 * Writing:
 * - all-day → `{date}`; UTC → `{dateTime: "…Z", timeZone: "UTC"}`; zoned → wall clock + IANA
 *   `timeZone`; floating → wall clock in `defaultTimeZone` (Google has no floating times and
 *   requires a zone on recurring events), so a floating event reads back as zoned.
 * - series: `recurrence` holds RRULE/EXRULE/RDATE/EXDATE lines, never DTSTART (Google takes the
 *   series start from `start`).
 * - overrides are instance patches (see adapter); their body carries start/end and content only.
 * - attendees are NOT written by default: adding people to a room calendar's event sends them
 *   invitations from the room. `attendees: 'description'` appends them as text instead;
 *   `attendees: 'invite'` (Calendar Event node only, never Room Sync) writes them as Google
 *   attendees ({email, displayName, optional}); the adapter sends no `sendUpdates`, so Google's
 *   default (none: no invitation e-mails) applies.
 * - organizer is not writable; `iCalUID` is never sent (we send `id`, and Google refuses both).
 * - the ownership stamp goes to `extendedProperties.private` (ids.ts); the event's kept X- properties
 *   (core/xprops.ts: X-KALTURA-ID, …) to `extendedProperties.shared`, named as in the file, and are
 *   read back from there into `xProps`.
 */
import type { CalendarEvent, EventAttendee, EventTime, EventRecurrence, EventStatus } from '../../core/event';
import { isRecurringMaster } from '../../core/event';
import { isKnownTimeZone, formatUtc, instantInZone, parseWall, wallToUtc, TimeFormatError } from '../../core/time';
import { isKeptXPropName, keptXProps } from '../../core/xprops';
import type { OwnershipStamp } from '../port';
import { stampFromProperties, stampToProperties } from './ids';
import { contentDigest, editedFields } from '../ownership';

/** The subset of the Google event resource this package reads and writes. */
export interface GoogleEventTime {
  date?: string | null;
  dateTime?: string | null;
  timeZone?: string | null;
}

export interface GoogleAttendee {
  email?: string;
  displayName?: string;
  optional?: boolean;
  resource?: boolean;
  organizer?: boolean;
  responseStatus?: 'needsAction' | 'declined' | 'tentative' | 'accepted' | string;
}

export interface GoogleEvent {
  kind?: string;
  id?: string;
  etag?: string;
  status?: 'confirmed' | 'tentative' | 'cancelled' | string;
  summary?: string | null;
  description?: string | null;
  location?: string | null;
  start?: GoogleEventTime;
  end?: GoogleEventTime;
  recurrence?: string[] | null;
  recurringEventId?: string;
  originalStartTime?: GoogleEventTime;
  transparency?: 'opaque' | 'transparent' | string | null;
  iCalUID?: string;
  sequence?: number;
  created?: string;
  updated?: string;
  organizer?: { email?: string; displayName?: string; self?: boolean };
  attendees?: GoogleAttendee[] | null;
  source?: { url?: string; title?: string } | null;
  extendedProperties?: {
    private?: Record<string, string | null> | null;
    shared?: Record<string, string | null> | null;
  } | null;
  [other: string]: unknown;
}

export interface ToGoogleOptions {
  /** Zone for floating times (and the zone recurring UTC series are expanded in). Default "UTC". */
  defaultTimeZone?: string;
  /** Client-chosen event id (creates only). */
  id?: string;
  stamp?: OwnershipStamp;
  /**
   * 'omit' (default): attendees are not written. 'description': appended to the description as
   * text. 'invite': written as Google attendees (the whole list; an event without any clears them).
   */
  attendees?: GoogleAttendeeMode;
}

export type GoogleAttendeeMode = 'omit' | 'description' | 'invite';

/** The event's attendees as Google writes them (those with an email; Google needs one). */
export function toGoogleAttendees(e: CalendarEvent): GoogleAttendee[] {
  return (e.attendees ?? []).filter((a) => a.email).map((a) => ({
    email: a.email!,
    ...(a.name ? { displayName: a.name } : {}),
    ...(a.role === 'OPT-PARTICIPANT' ? { optional: true } : {}),
  }));
}

export class GoogleMappingError extends Error {
  constructor(message: string, readonly field: string) {
    super(message);
    this.name = 'GoogleMappingError';
  }
}

const STATUS_TO_GOOGLE: Record<EventStatus, string> = { CONFIRMED: 'confirmed', TENTATIVE: 'tentative', CANCELLED: 'cancelled' };

/** Time as Google wants it for writing. */
export function toGoogleTime(t: EventTime, defaultTimeZone = 'UTC', field = 'start'): GoogleEventTime {
  if (t.date !== undefined) return { date: t.date };
  if (t.dateTime === undefined) throw new GoogleMappingError(`${field} has neither date nor dateTime`, field);
  if (t.dateTime.endsWith('Z')) return { dateTime: t.dateTime, timeZone: 'UTC' };
  return { dateTime: t.dateTime, timeZone: t.timeZone ?? defaultTimeZone };
}

function compact(s: string): string {
  return s.replace(/[-:]/g, '');
}

/**
 * RDATE/EXDATE lines: one line per value kind (date / UTC / zone), comma-joined values.
 * Floating values are written in `defaultTimeZone`, like the series start.
 */
function dateListLines(name: 'RDATE' | 'EXDATE', values: EventTime[], defaultTimeZone: string): string[] {
  const groups = new Map<string, string[]>();
  for (const v of values) {
    let head: string;
    let value: string;
    if (v.date !== undefined) {
      head = `${name};VALUE=DATE`;
      value = compact(v.date);
    } else if (v.dateTime?.endsWith('Z')) {
      head = name;
      value = compact(v.dateTime);
    } else if (v.dateTime !== undefined) {
      head = `${name};TZID=${v.timeZone ?? defaultTimeZone}`;
      value = compact(v.dateTime);
    } else continue;
    const list = groups.get(head) ?? [];
    list.push(value);
    groups.set(head, list);
  }
  return [...groups].map(([head, list]) => `${head}:${list.join(',')}`);
}

/** `recurrence` lines for a series master (no DTSTART). */
export function toGoogleRecurrence(r: EventRecurrence, defaultTimeZone = 'UTC'): string[] {
  return [
    ...r.rrule.map((v) => `RRULE:${v.replace(/^RRULE:/i, '')}`),
    ...(r.exrule ?? []).map((v) => `EXRULE:${v.replace(/^EXRULE:/i, '')}`),
    ...dateListLines('RDATE', r.rdate, defaultTimeZone),
    ...dateListLines('EXDATE', r.exdate, defaultTimeZone),
  ];
}

function attendeeLine(a: EventAttendee): string {
  const who = a.name && a.email ? `${a.name} <${a.email}>` : (a.name ?? a.email ?? '');
  return a.role === 'OPT-PARTICIPANT' ? `${who} (optional)` : who;
}

function describe(e: CalendarEvent, mode: ToGoogleOptions['attendees']): string | undefined {
  if (mode !== 'description' || !e.attendees?.length) return e.description;
  const list = e.attendees.map(attendeeLine).filter((s) => s).join('\n');
  return [e.description, `Attendees:\n${list}`].filter((s) => s).join('\n\n');
}

/**
 * The Google body for inserting or replacing (PUT) a single event or a series master. Every
 * field we manage is present, so a PUT leaves no stale values; the stamp is always resent
 * because PUT deletes omitted extendedProperties.
 */
export function toGoogleEvent(e: CalendarEvent, opts: ToGoogleOptions = {}): GoogleEvent {
  const tz = opts.defaultTimeZone ?? 'UTC';
  const g: GoogleEvent = {};
  if (opts.id) g.id = opts.id;
  g.summary = e.title;
  const description = describe(e, opts.attendees);
  if (description !== undefined) g.description = description;
  if (e.location !== undefined) g.location = e.location;
  g.start = toGoogleTime(e.start, tz, 'start');
  g.end = toGoogleTime(e.end, tz, 'end');
  if (isRecurringMaster(e)) g.recurrence = toGoogleRecurrence(e.recurrence!, tz);
  // Always explicit: a PUT onto an event someone deleted brings it back.
  g.status = e.status ? STATUS_TO_GOOGLE[e.status] : 'confirmed';
  g.transparency = e.transparency === 'TRANSPARENT' ? 'transparent' : 'opaque';
  if (e.url && /^https?:\/\//i.test(e.url)) g.source = { url: e.url, title: e.title || e.url };
  if (opts.attendees === 'invite') g.attendees = toGoogleAttendees(e);
  const shared = sharedXProps(e);
  if (opts.stamp || shared) {
    g.extendedProperties = {
      ...(opts.stamp ? { private: stampToProperties({ ...opts.stamp, digest: contentDigest(fromGoogleEvent(g, tz).event, tz) }) } : {}),
      ...(shared ? { shared } : {}),
    };
  }
  return g;
}

/** The event's kept X- properties as `extendedProperties.shared` (name → value), or undefined. */
export function sharedXProps(e: CalendarEvent): Record<string, string> | undefined {
  const kept = keptXProps(e);
  return kept.length ? Object.fromEntries(kept.map((x) => [x.name, x.value])) : undefined;
}

/**
 * The PATCH body that turns one instance of a series into the override `e` (or updates it).
 * Managed fields that `e` lacks are sent as null so an earlier value is removed (PATCH: null
 * deletes a key). A cancelled override is a patch to `status: "cancelled"` that keeps the stamp.
 */
export function toGoogleInstancePatch(e: CalendarEvent, opts: ToGoogleOptions & { omitConfirmed?: boolean } = {}): GoogleEvent {
  const tz = opts.defaultTimeZone ?? 'UTC';
  if (e.status === 'CANCELLED') return { status: 'cancelled', ...(opts.stamp ? { extendedProperties: { private: stampToProperties(opts.stamp) } } : {}) };
  const shared = sharedXProps(e);
  const description = describe(e, opts.attendees);
  const status = e.status ? STATUS_TO_GOOGLE[e.status] : 'confirmed';
  const g: GoogleEvent = {
    summary: e.title,
    description: description ?? null,
    location: e.location ?? null,
    start: toGoogleTime(e.start, tz, 'start'),
    end: toGoogleTime(e.end, tz, 'end'),
  };
  // omitConfirmed: a patch on a guessed instance id must not revive an occurrence that is
  // cancelled there (e.g. a leftover of a deleted series); the adapter checks the answer instead.
  if (!(opts.omitConfirmed && status === 'confirmed')) g.status = status;
  g.transparency = e.transparency === 'TRANSPARENT' ? 'transparent' : 'opaque';
  if (opts.attendees === 'invite') g.attendees = toGoogleAttendees(e);
  // The digest describes the instance as the patch leaves it (every digested field is sent).
  if (opts.stamp || shared) {
    g.extendedProperties = {
      ...(opts.stamp ? { private: stampToProperties({ ...opts.stamp, digest: contentDigest(fromGoogleEvent(g, tz).event, tz) }) } : {}),
      ...(shared ? { shared } : {}),
    };
  }
  return g;
}

// ---- reading ------------------------------------------------------------------------------

const RFC3339_RE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/i;

function offsetMs(off: string): number {
  if (off.toUpperCase() === 'Z') return 0;
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(off)!;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60_000;
}

function isUtcZone(tz: string): boolean {
  return /^(UTC|Etc\/UTC|GMT|Etc\/GMT|Z|Zulu|Etc\/Zulu|Universal|Etc\/Universal)$/i.test(tz);
}

/**
 * Google time → EventTime. Offsets are resolved to an instant; with a `timeZone` the instant is
 * shown as wall clock in that zone, otherwise as UTC. `fallbackZone` (the calendar's zone) is
 * used for a dateTime that has neither offset nor zone.
 */
export function fromGoogleTime(t: GoogleEventTime | undefined, field = 'start', fallbackZone = 'UTC'): EventTime {
  if (!t) throw new GoogleMappingError(`${field} is missing`, field);
  if (t.date) return { date: t.date };
  if (!t.dateTime) throw new GoogleMappingError(`${field} has neither date nor dateTime`, field);
  const m = RFC3339_RE.exec(t.dateTime);
  if (!m) throw new GoogleMappingError(`${field}.dateTime "${t.dateTime}" is not RFC 3339`, field);
  // Keep the zone as spelled: ICU would canonicalise e.g. Asia/Kolkata to Asia/Calcutta.
  const zone = t.timeZone && isKnownTimeZone(t.timeZone) ? t.timeZone : undefined;
  if (t.timeZone && !zone) throw new GoogleMappingError(`${field}.timeZone "${t.timeZone}" is not a known IANA zone`, field);
  let utc: number;
  try {
    utc = m[2] ? parseWall(m[1]) - offsetMs(m[2]) : wallToUtc(parseWall(m[1]), zone ?? fallbackZone);
  } catch (err) {
    if (err instanceof TimeFormatError) throw new GoogleMappingError(`${field}: ${err.message}`, field);
    throw err;
  }
  if (!zone || isUtcZone(zone)) return { dateTime: formatUtc(utc) };
  // instantInZone: an instant in the second pass of a repeated hour (DST end) has no wall clock
  // of its own in the zone and comes back as UTC instead of losing an hour.
  return instantInZone(utc, zone);
}

function expandCompact(v: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/i.exec(v.trim());
  if (!m) throw new GoogleMappingError(`recurrence date "${v}" is not YYYYMMDD[THHMMSS[Z]]`, 'recurrence');
  const date = `${m[1]}-${m[2]}-${m[3]}`;
  return m[4] ? `${date}T${m[4]}:${m[5]}:${m[6]}${m[7] ? 'Z' : ''}` : date;
}

function parseDateList(params: Record<string, string>, values: string): EventTime[] {
  const out: EventTime[] = [];
  for (const raw of values.split(',')) {
    const v = raw.split('/')[0]; // PERIOD: keep the start
    const iso = expandCompact(v);
    if (params.VALUE === 'DATE' || iso.length === 10) out.push({ date: iso.slice(0, 10) });
    else if (iso.endsWith('Z')) out.push({ dateTime: iso });
    else if (params.TZID) out.push({ dateTime: iso, timeZone: params.TZID });
    else out.push({ dateTime: iso });
  }
  return out;
}

/** Google `recurrence` lines → EventRecurrence (DTSTART lines, should any appear, are ignored). */
export function fromGoogleRecurrence(lines: string[]): EventRecurrence {
  const r: EventRecurrence = { rrule: [], rdate: [], exdate: [] };
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon < 0) throw new GoogleMappingError(`recurrence line "${line}" has no ':'`, 'recurrence');
    const [name, ...paramParts] = line.slice(0, colon).split(';');
    const params: Record<string, string> = {};
    for (const p of paramParts) {
      const eq = p.indexOf('=');
      if (eq > 0) params[p.slice(0, eq).toUpperCase()] = p.slice(eq + 1).replace(/^"|"$/g, '');
    }
    const value = line.slice(colon + 1);
    switch (name.toUpperCase()) {
      case 'RRULE': r.rrule.push(value); break;
      case 'EXRULE': (r.exrule ??= []).push(value); break;
      case 'RDATE': r.rdate.push(...parseDateList(params, value)); break;
      case 'EXDATE': r.exdate.push(...parseDateList(params, value)); break;
      default: break;
    }
  }
  return r;
}

const RESPONSE_TO_PARTSTAT: Record<string, string> = {
  needsAction: 'NEEDS-ACTION', accepted: 'ACCEPTED', declined: 'DECLINED', tentative: 'TENTATIVE',
};

function toUtcStamp(s: string | undefined): string | undefined {
  if (!s) return undefined;
  const ms = Date.parse(s);
  return Number.isFinite(ms) ? formatUtc(Math.floor(ms / 1000) * 1000) : undefined;
}

/**
 * Source keys (core/sync-key.ts) look like `k1 <source> u:<uid>[ r:<occurrence>]`, percent-encoded.
 * For an owned event that gives back the source UID and sourceId, which Google replaced by
 * `{id}@google.com`. Content-identity and hashed keys carry no UID: iCalUID is used then.
 */
function sourceIdentity(stamp: OwnershipStamp | undefined): { uid: string; sourceId?: string } | undefined {
  if (!stamp) return undefined;
  const m = /^k1 (\S+) u:(\S+)(?: r:\S+)?$/.exec(stamp.sourceKey);
  if (!m) return undefined;
  try {
    const uid = decodeURIComponent(m[2]);
    if (m[1] === '-' || m[1].startsWith('h.')) return { uid };
    return { uid, sourceId: decodeURIComponent(m[1]) };
  } catch {
    return undefined;
  }
}

export interface FromGoogleResult {
  event: CalendarEvent;
  stamp?: OwnershipStamp;
  /** Fields that differ from what the stamp's digest says we wrote (a person's edit). */
  edited?: string[];
}

/** Google event JSON → CalendarEvent (+ the ownership stamp when present). */
export function fromGoogleEvent(g: GoogleEvent, calendarTimeZone = 'UTC'): FromGoogleResult {
  const stamp = stampFromProperties(g.extendedProperties?.private ?? undefined);
  const identity = sourceIdentity(stamp);
  const cancelledStub = g.status === 'cancelled' && !g.start;
  // Cancelled instances may carry only id, recurringEventId and originalStartTime.
  const start = cancelledStub && g.originalStartTime ? fromGoogleTime(g.originalStartTime, 'originalStartTime', calendarTimeZone)
    : fromGoogleTime(g.start, 'start', calendarTimeZone);
  const end = cancelledStub ? start : fromGoogleTime(g.end ?? g.start, 'end', calendarTimeZone);
  const e: CalendarEvent = {
    uid: identity?.uid ?? g.iCalUID ?? g.recurringEventId ?? g.id ?? '',
    title: g.summary ?? '',
    start,
    end,
  };
  if (identity?.sourceId) e.sourceId = identity.sourceId;
  if (g.originalStartTime) e.recurrenceId = fromGoogleTime(g.originalStartTime, 'originalStartTime', calendarTimeZone);
  if (g.description) e.description = g.description;
  if (g.location) e.location = g.location;
  if (g.recurrence?.length) e.recurrence = fromGoogleRecurrence(g.recurrence);
  if (g.status === 'confirmed') e.status = 'CONFIRMED';
  else if (g.status === 'tentative') e.status = 'TENTATIVE';
  else if (g.status === 'cancelled') e.status = 'CANCELLED';
  if (g.transparency === 'transparent') e.transparency = 'TRANSPARENT';
  else if (g.transparency === 'opaque') e.transparency = 'OPAQUE';
  if (g.organizer && (g.organizer.email || g.organizer.displayName)) {
    e.organizer = {};
    if (g.organizer.email) e.organizer.email = g.organizer.email;
    if (g.organizer.displayName) e.organizer.name = g.organizer.displayName;
  }
  if (g.attendees?.length) {
    e.attendees = g.attendees.map((a) => {
      const out: EventAttendee = {};
      if (a.email) out.email = a.email;
      if (a.displayName) out.name = a.displayName;
      if (a.organizer) out.role = 'CHAIR';
      else if (a.optional) out.role = 'OPT-PARTICIPANT';
      else out.role = 'REQ-PARTICIPANT';
      if (a.responseStatus && RESPONSE_TO_PARTSTAT[a.responseStatus]) out.status = RESPONSE_TO_PARTSTAT[a.responseStatus];
      out.type = a.resource ? 'RESOURCE' : 'INDIVIDUAL';
      return out;
    });
  }
  if (g.source?.url) e.url = g.source.url;
  const xProps = Object.entries(g.extendedProperties?.shared ?? {}).filter(([k, v]) => isKeptXPropName(k) && typeof v === 'string').map(([name, value]) => ({ name, value: value as string }));
  if (xProps.length) e.xProps = xProps;
  if (typeof g.sequence === 'number') e.sequence = g.sequence;
  const created = toUtcStamp(g.created);
  if (created) e.created = created;
  const updated = toUtcStamp(g.updated);
  if (updated) e.lastModified = updated;
  if (!stamp) return { event: e };
  // A cancelled stub carries no content to compare.
  const edited = cancelledStub ? undefined : editedFields(stamp.digest, e, calendarTimeZone);
  return { event: e, stamp, ...(edited ? { edited } : {}) };
}
