/**
 * CalendarEvent ⇄ Microsoft Graph v1.0 event JSON. Pure: no I/O, no clock.
 *
 * Writing:
 * - Times: zoned → wall clock + zone name (IANA, or Windows for `timeZoneStyle: 'windows'`);
 *   UTC → wall clock in "UTC"; floating → wall clock in the configured default zone; all-day →
 *   `isAllDay` with midnight dateTimes in the default zone (Graph requires midnight start/end).
 * - Ownership: three `singleValueExtendedProperties` in one fixed GUID namespace (sync id, source
 *   key, fingerprint), so any worker can recognise and re-sync the event.
 * - The event's kept X- properties (core/xprops.ts: X-KALTURA-ID, …) as String properties in the
 *   same namespace named as in the file (`String {GUID} Name X-KALTURA-ID`); read back into
 *   `xProps` when a response carries them (listings expand only the stamp: Graph expands
 *   extended properties by exact id). A PATCH leaves a property the event no longer has in place.
 * - Attendees and organizer are NOT written by default: on a room mailbox Graph would send
 *   invitations to every attendee from the room (Room Sync never changes this). `attendees:
 *   'invite'` (Calendar Event node) writes them ({emailAddress, type required/optional/resource});
 *   Graph then sends invitations from the mailbox. They are always read back.
 * - `transactionId` on create: a GUID-shaped hash of (syncId, sourceKey, fingerprint, prior id), so
 *   a retried POST and a second worker's POST of the same event into the same target state are
 *   dropped by the server as duplicates; no clock is involved (see transactionIdFor).
 *
 * Reading (requests send `Prefer: outlook.timezone="UTC"` so parsing is uniform, but any zone
 * Graph returns is handled): times come back as UTC instants and are re-expressed in the event's
 * `originalStartTimeZone` when that is a known zone, so a series reads back in its own zone.
 */
import type { CalendarEvent, EventStatus, EventTime } from '../../core/event';
import { formatDate, formatWall, instantInZone, parseWall, utcToWall, wallToUtc } from '../../core/time';
import { sha256Hex } from '../../core/fingerprint';
import { isKeptXPropName, keptXProps } from '../../core/xprops';
import type { OwnershipStamp, TargetEvent } from '../port';
import { contentDigest, editedFields } from '../ownership';
import { fitRecurrence, recurrenceToRRule, type GraphPatternedRecurrence, type SeriesFrame } from './recurrence';
import { graphZoneName, graphZoneToIana, type TimeZoneStyle } from './timezones';

/** Fixed namespace of our extended properties. Never change it: it is how owned events are found. */
export const PROPERTY_NAMESPACE = '{c6127db8-0620-41c3-adf6-acb7e8348a2c}';

export const PROPERTY_IDS = {
  syncId: `String ${PROPERTY_NAMESPACE} Name CalendarRelaySyncId`,
  sourceKey: `String ${PROPERTY_NAMESPACE} Name CalendarRelayKey`,
  fingerprint: `String ${PROPERTY_NAMESPACE} Name CalendarRelayFingerprint`,
  /** Digest of the fields written (providers/ownership.ts): a difference on read is a person's edit. */
  digest: `String ${PROPERTY_NAMESPACE} Name CalendarRelayDigest`,
} as const;

export interface GraphDateTimeTimeZone {
  dateTime: string;
  timeZone: string;
}

export interface GraphExtendedProperty {
  id: string;
  value: string;
}

/** The subset of Graph's event resource we write and read. */
export interface GraphEvent {
  id?: string;
  '@odata.etag'?: string;
  changeKey?: string;
  subject?: string;
  body?: { contentType: 'text' | 'html'; content: string };
  bodyPreview?: string;
  start?: GraphDateTimeTimeZone;
  end?: GraphDateTimeTimeZone;
  isAllDay?: boolean;
  isCancelled?: boolean;
  showAs?: 'free' | 'tentative' | 'busy' | 'oof' | 'workingElsewhere' | 'unknown';
  location?: { displayName?: string };
  categories?: string[];
  recurrence?: GraphPatternedRecurrence | null;
  type?: 'singleInstance' | 'occurrence' | 'exception' | 'seriesMaster';
  seriesMasterId?: string;
  originalStart?: string;
  originalStartTimeZone?: string;
  originalEndTimeZone?: string;
  iCalUId?: string;
  transactionId?: string;
  createdDateTime?: string;
  lastModifiedDateTime?: string;
  organizer?: { emailAddress?: { name?: string; address?: string } };
  attendees?: { type?: string; status?: { response?: string }; emailAddress?: { name?: string; address?: string } }[];
  singleValueExtendedProperties?: GraphExtendedProperty[];
  '@removed'?: { reason: string };
}

export interface GraphMapOptions {
  /** How zone names are written (default 'iana'). */
  timeZoneStyle?: TimeZoneStyle;
  /** IANA zone for floating times and all-day dates (default 'UTC'). */
  defaultTimeZone?: string;
  /** 'omit' (default): attendees are not written. 'invite': written as Graph attendees (the whole list). */
  attendees?: 'omit' | 'invite';
}

export type GraphAttendee = NonNullable<GraphEvent['attendees']>[number];

/** The event's attendees as Graph writes them (those with an email). */
export function toGraphAttendees(event: CalendarEvent): GraphAttendee[] {
  return (event.attendees ?? []).filter((a) => a.email).map((a) => ({
    emailAddress: { address: a.email!, ...(a.name ? { name: a.name } : {}) },
    type: a.type === 'RESOURCE' || a.type === 'ROOM' ? 'resource' : a.role === 'OPT-PARTICIPANT' ? 'optional' : 'required',
  }));
}

const GRAPH_RESPONSE_TO_PARTSTAT: Record<string, string> = { accepted: 'ACCEPTED', declined: 'DECLINED', tentativelyAccepted: 'TENTATIVE', notResponded: 'NEEDS-ACTION', none: 'NEEDS-ACTION' };

export class GraphMappingError extends Error {
  constructor(message: string, readonly uid: string, readonly field: string) {
    super(message);
    this.name = 'GraphMappingError';
  }
}

/**
 * Deterministic `transactionId` for creating this stamped event: 36 characters, GUID-shaped,
 * derived from what the create means and nothing else — no clock, no run id:
 * - the sync, the source key and the content (fingerprint): two workers (or a retry) that create
 *   the same event into the same target state send the same id, and Graph drops the second POST,
 *   whatever the time between them (an hour-bucketed id duplicated across the turn of the hour);
 * - `priorId`: the (hashed) id of the event this sync last created or adopted for the key in this
 *   mailbox, from the created-ids record in the provider's state store (ownership.ts priorIdFor),
 *   when the target no longer holds it (a person or we deleted it). The re-create then sends a new
 *   transactionId, so a server that remembers the old one cannot answer with the deleted event.
 */
export function transactionIdFor(stamp: OwnershipStamp, priorId?: string): string {
  const h = sha256Hex(`calendar-relay/graph/tx\u001f${stamp.syncId}\u001f${stamp.sourceKey}\u001f${stamp.fingerprint}${priorId ? `\u001fafter:${priorId}` : ''}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function zoneOf(t: EventTime, defaultZone: string): string {
  if (t.date !== undefined) return defaultZone;
  if (t.dateTime?.endsWith('Z')) return 'UTC';
  return t.timeZone ?? defaultZone;
}

/** An EventTime as Graph's dateTimeTimeZone. */
export function toGraphTime(t: EventTime, opts: GraphMapOptions = {}): GraphDateTimeTimeZone {
  const style = opts.timeZoneStyle ?? 'iana';
  const defaultZone = opts.defaultTimeZone ?? 'UTC';
  if (t.date !== undefined) return { dateTime: `${t.date}T00:00:00`, timeZone: graphZoneName(defaultZone, style) };
  const dt = t.dateTime ?? '';
  if (dt.endsWith('Z')) return { dateTime: dt.slice(0, -1), timeZone: 'UTC' };
  return { dateTime: dt, timeZone: graphZoneName(t.timeZone ?? defaultZone, style) };
}

/** The series frame: the zone DTSTART's wall clock is read in, and its name as written. */
export function seriesFrameOf(master: Pick<CalendarEvent, 'start'>, opts: GraphMapOptions = {}): SeriesFrame {
  const zone = zoneOf(master.start, opts.defaultTimeZone ?? 'UTC');
  return { zone, zoneName: graphZoneName(zone, opts.timeZoneStyle ?? 'iana') };
}

function showAsOf(e: CalendarEvent): GraphEvent['showAs'] {
  if (e.transparency === 'TRANSPARENT') return 'free';
  if (e.status === 'TENTATIVE') return 'tentative';
  return 'busy';
}

export function stampProperties(stamp: OwnershipStamp): GraphExtendedProperty[] {
  return [
    { id: PROPERTY_IDS.syncId, value: stamp.syncId },
    { id: PROPERTY_IDS.sourceKey, value: stamp.sourceKey },
    { id: PROPERTY_IDS.fingerprint, value: stamp.fingerprint },
    ...(stamp.digest ? [{ id: PROPERTY_IDS.digest, value: stamp.digest }] : []),
  ];
}

/** The id of the extended property holding X- property `name` (e.g. X-KALTURA-ID). */
export function xPropPropertyId(name: string): string {
  return `String ${PROPERTY_NAMESPACE} Name ${name}`;
}

/** The event's kept X- properties as extended properties. */
export function xPropProperties(event: CalendarEvent): GraphExtendedProperty[] {
  return keptXProps(event).map((x) => ({ id: xPropPropertyId(x.name), value: x.value }));
}

const XPROP_ID_PREFIX = `string ${PROPERTY_NAMESPACE} name `.toLowerCase();

/** X- properties among a Graph event's extended properties (ours, by namespace and name). */
export function xPropsOf(json: GraphEvent): Array<{ name: string; value: string }> {
  const out: Array<{ name: string; value: string }> = [];
  for (const p of json.singleValueExtendedProperties ?? []) {
    if (!p.id.toLowerCase().startsWith(XPROP_ID_PREFIX) || typeof p.value !== 'string') continue;
    const name = p.id.slice(XPROP_ID_PREFIX.length).toUpperCase();
    if (isKeptXPropName(name)) out.push({ name, value: p.value });
  }
  return out;
}

/**
 * The Graph JSON for writing `event` with `stamp`. An event with a `recurrenceId` (an occurrence of
 * a series the planner expanded) is written as a single event at its own start. For a create pass `{ create: true }` to add the
 * transactionId (Graph refuses to change it later, so updates leave it out). A recurring master
 * must fit patternedRecurrence (see capabilities.seriesSupport); otherwise this throws.
 */
export function toGraphEvent(event: CalendarEvent, stamp: OwnershipStamp, opts: GraphMapOptions & { create?: boolean; priorId?: string } = {}): GraphEvent {
  const out: GraphEvent = {
    subject: event.title ?? '',
    body: { contentType: 'text', content: event.description ?? '' },
    start: toGraphTime(event.start, opts),
    end: toGraphTime(event.end, opts),
    isAllDay: event.start.date !== undefined,
    showAs: showAsOf(event),
    location: { displayName: event.location ?? '' },
    categories: event.categories ?? [],
    singleValueExtendedProperties: [],
  };
  if (opts.attendees === 'invite') out.attendees = toGraphAttendees(event);
  if (out.isAllDay && event.end.date === undefined) {
    throw new GraphMappingError(`event "${event.uid}" starts on a date but ends at a time; Graph all-day events need dates on both ends`, event.uid, 'end');
  }
  const rec = event.recurrence;
  if (rec && (rec.rrule.length > 0 || rec.rdate.length > 0)) {
    const fit = fitRecurrence(event, seriesFrameOf(event, opts));
    if (!fit.ok) throw new GraphMappingError(`event "${event.uid}": recurrence does not fit Graph (${fit.reason}); expand the series instead`, event.uid, 'recurrence');
    if (rec.exdate.length > 0) throw new GraphMappingError(`event "${event.uid}": EXDATE cannot be written on a Graph series; expand the series instead`, event.uid, 'recurrence.exdate');
    out.recurrence = fit.recurrence;
  } else if (!opts.create) {
    // An update of a former series into a single event must clear the pattern.
    out.recurrence = null;
  }
  if (opts.create) out.transactionId = transactionIdFor(stamp, opts.priorId);
  // What we wrote, read back through our own reader: recomputed on every read to see a person's edit.
  const zone = opts.defaultTimeZone ?? 'UTC';
  out.singleValueExtendedProperties = [
    ...stampProperties({ ...stamp, digest: contentDigest(fromGraphEvent(out, '', { defaultTimeZone: zone }).event, zone) }),
    ...xPropProperties(event),
  ];
  return out;
}

/** Graph's "2024-11-14T09:00:00.0000000" → "2024-11-14T09:00:00". */
function trimFraction(dt: string): string {
  return dt.replace(/\.\d+$/, '').replace(/Z$/, '');
}

/** A Graph dateTimeTimeZone as an EventTime, re-expressed in `displayZone` when given. */
export function fromGraphTime(t: GraphDateTimeTimeZone, displayZone?: string): EventTime {
  const wall = trimFraction(t.dateTime);
  const zone = graphZoneToIana(t.timeZone);
  if (!zone) {
    // Unknown / custom zone: keep the wall clock, floating, rather than guess an instant.
    return { dateTime: wall };
  }
  if (displayZone && displayZone !== zone) {
    const utc = wallToUtc(parseWall(wall), zone);
    if (displayZone === 'UTC') return { dateTime: formatWall(utc) + 'Z' };
    // Second pass of a repeated hour (DST end): UTC, not the wall clock an hour early.
    return instantInZone(utc, displayZone);
  }
  if (zone === 'UTC') return { dateTime: wall + 'Z' };
  return { dateTime: wall, timeZone: zone };
}

function utcStamp(s: string | undefined): string | undefined {
  if (!s) return undefined;
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})/.exec(s);
  return m ? m[1] + 'Z' : undefined;
}

/** The ownership stamp carried by a Graph event, or undefined when any of its three fields is missing. */
export function stampOf(json: GraphEvent): OwnershipStamp | undefined {
  const props = json.singleValueExtendedProperties ?? [];
  // Graph may return the id with a differently-cased GUID or name: compare case-insensitively.
  const get = (id: string): string | undefined => props.find((p) => p.id.toLowerCase() === id.toLowerCase())?.value;
  const syncId = get(PROPERTY_IDS.syncId);
  const sourceKey = get(PROPERTY_IDS.sourceKey);
  const fingerprint = get(PROPERTY_IDS.fingerprint);
  if (syncId === undefined || sourceKey === undefined || fingerprint === undefined) return undefined;
  const digest = get(PROPERTY_IDS.digest);
  return { syncId, sourceKey, fingerprint, ...(digest ? { digest } : {}) };
}

/**
 * The date of an all-day boundary. Graph returns it in whatever zone the request preferred (UTC
 * for our reads), so "2024-03-05 00:00 Berlin" arrives as "2024-03-04T23:00:00": re-express the
 * instant in the zone it was written in (`zone`: the event's original zone, else the default),
 * then take the nearest midnight, which also absorbs a zone we cannot resolve.
 */
function allDayDate(t: GraphDateTimeTimeZone, zone: string | undefined): string {
  let wall: number;
  try {
    wall = parseWall(trimFraction(t.dateTime));
  } catch {
    return t.dateTime.slice(0, 10); // unreadable: keep what is there rather than fail the listing
  }
  const given = graphZoneToIana(t.timeZone);
  if (given && zone && given !== zone) wall = utcToWall(wallToUtc(wall, given), zone);
  return formatDate(wall + 12 * 3_600_000);
}

/** Graph event JSON → TargetEvent (stamp + best-effort CalendarEvent). `defaultTimeZone`: the zone all-day events were written in when the event does not say (default UTC). */
export function fromGraphEvent(json: GraphEvent, calendarId: string, opts: Pick<GraphMapOptions, 'defaultTimeZone'> = {}): TargetEvent {
  const id = json.id ?? '';
  const originalZone = graphZoneToIana(json.originalStartTimeZone);
  const allDayZone = originalZone ?? opts.defaultTimeZone ?? 'UTC';
  const event: CalendarEvent = {
    uid: json.iCalUId ?? id,
    title: json.subject ?? '',
    start: { dateTime: '1970-01-01T00:00:00Z' },
    end: { dateTime: '1970-01-01T00:00:00Z' },
  };
  if (json.isAllDay && json.start && json.end) {
    event.start = { date: allDayDate(json.start, allDayZone) };
    event.end = { date: allDayDate(json.end, graphZoneToIana(json.originalEndTimeZone) ?? allDayZone) };
  } else if (json.start && json.end) {
    event.start = fromGraphTime(json.start, originalZone);
    event.end = fromGraphTime(json.end, graphZoneToIana(json.originalEndTimeZone) ?? originalZone);
  }
  const description = json.body?.content ?? json.bodyPreview;
  if (description) event.description = description;
  if (json.location?.displayName) event.location = json.location.displayName;
  if (json.categories && json.categories.length) event.categories = [...json.categories];
  let status: EventStatus | undefined;
  if (json.isCancelled) status = 'CANCELLED';
  else if (json.showAs === 'tentative') status = 'TENTATIVE';
  if (status) event.status = status;
  if (json.showAs === 'free') event.transparency = 'TRANSPARENT';
  if (json.organizer?.emailAddress?.address) {
    event.organizer = { email: json.organizer.emailAddress.address, ...(json.organizer.emailAddress.name ? { name: json.organizer.emailAddress.name } : {}) };
  }
  if (json.attendees && json.attendees.length) {
    event.attendees = json.attendees.map((a) => ({
      ...(a.emailAddress?.address ? { email: a.emailAddress.address } : {}),
      ...(a.emailAddress?.name ? { name: a.emailAddress.name } : {}),
      ...(a.type === 'optional' ? { role: 'OPT-PARTICIPANT' } : a.type === 'required' ? { role: 'REQ-PARTICIPANT' } : {}),
      ...(a.status?.response && GRAPH_RESPONSE_TO_PARTSTAT[a.status.response] ? { status: GRAPH_RESPONSE_TO_PARTSTAT[a.status.response] } : {}),
      ...(a.type === 'resource' ? { type: 'RESOURCE' } : {}),
    }));
  }
  if (json.recurrence && json.type !== 'occurrence' && json.type !== 'exception') {
    const zone = graphZoneToIana(json.recurrence.range.recurrenceTimeZone) ?? originalZone ?? 'UTC';
    event.recurrence = { rrule: [recurrenceToRRule(json.recurrence, { start: event.start, zone })], rdate: [], exdate: [] };
  }
  if ((json.type === 'occurrence' || json.type === 'exception') && json.originalStart) {
    const utc = utcStamp(json.originalStart)!;
    event.recurrenceId = json.isAllDay ? { date: allDayDate({ dateTime: utc, timeZone: 'UTC' }, allDayZone) } : { dateTime: utc };
  }
  const xProps = xPropsOf(json);
  if (xProps.length) event.xProps = xProps;
  const created = utcStamp(json.createdDateTime);
  if (created) event.created = created;
  const modified = utcStamp(json.lastModifiedDateTime);
  if (modified) event.lastModified = modified;

  const target: TargetEvent = { id, calendarId, event };
  const stamp = stampOf(json);
  if (stamp) {
    target.stamp = stamp;
    const edited = editedFields(stamp.digest, event, opts.defaultTimeZone ?? 'UTC');
    if (edited) target.edited = edited;
  }
  const etag = json['@odata.etag'] ?? json.changeKey;
  if (etag) target.etag = etag;
  return target;
}
