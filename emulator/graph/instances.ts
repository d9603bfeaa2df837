/**
 * Turns stored events into what Graph returns: rendered event JSON (times in the requested zone),
 * and the instances of a calendar view (single instances, occurrences and exceptions of series).
 */
import { formatUtc, formatWall, parseWall, utcToWall, wallToUtc, MS } from '../../core/time';
import { GraphHttpError } from './errors';
import { occurrenceDates, type PatternedRecurrence } from './recurrence';
import { sameExtPropId } from './odata';
import { occurrenceICalUId, type Json, type Mailbox, type StoredEvent } from './store';
import { requireZone } from './zones';

export interface GraphDateTime {
  dateTime: string;
  timeZone: string;
}

/** The zone a response renders times in: the `Prefer: outlook.timezone` name as given, or UTC. */
export interface OutputZone {
  name: string;
  iana: string;
}
export const UTC_ZONE: OutputZone = { name: 'UTC', iana: 'UTC' };

const DT_RE = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})?$/;

/** The instant a Graph dateTimeTimeZone denotes; `field` names it in errors ("start"). */
export function graphTimeToUtc(t: GraphDateTime, field: string): number {
  if (!t || typeof t.dateTime !== 'string' || typeof t.timeZone !== 'string') {
    throw new GraphHttpError(400, 'ErrorInvalidRequest', `${field} needs both dateTime and timeZone`);
  }
  const m = DT_RE.exec(t.dateTime);
  if (!m) throw new GraphHttpError(400, 'ErrorInvalidRequest', `${field}.dateTime: "${t.dateTime}" is not YYYY-MM-DDTHH:MM[:SS[.fffffff]]`);
  const wall = parseWall(`${m[1]}T${m[2]}${m[3] ?? ':00'}`);
  if (m[5]) {
    const off = m[5] === 'Z' ? 0 : (m[5][0] === '-' ? -1 : 1) * (Number(m[5].slice(1, 3)) * 60 + Number(m[5].slice(4, 6))) * 60_000;
    return wall - off;
  }
  return wallToUtc(wall, requireZone(t.timeZone));
}

/** Graph's rendering: 7 fractional digits, zone named as the client asked. */
export function renderTime(utcMs: number, zone: OutputZone): GraphDateTime {
  return { dateTime: formatWall(utcToWall(utcMs, zone.iana)) + '.0000000', timeZone: zone.name };
}

/** Query-string instants (calendarView window): ISO 8601, offset optional (then UTC). */
export function parseWindowBound(raw: string, name: string): number {
  const m = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2})(:\d{2})?(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(raw.trim());
  if (!m) throw new GraphHttpError(400, 'ErrorInvalidParameter', `The value '${raw}' of parameter '${name}' is not a valid ISO 8601 date-time.`);
  const wall = parseWall(`${m[1]}T${m[2] ?? '00:00'}${m[3] ?? ':00'}`);
  const z = m[5];
  if (!z || z === 'Z') return wall;
  const digits = z.replace(':', '');
  const off = (digits[0] === '-' ? -1 : 1) * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5))) * 60_000;
  return wall - off;
}

/** One row of a calendar view (or a GET of an event / occurrence). */
export interface Instance {
  id: string;
  type: 'singleInstance' | 'occurrence' | 'exception' | 'seriesMaster';
  event: StoredEvent;
  startMs: number;
  endMs: number;
  changeKey: string;
  /** Occurrences and exceptions: the UTC ISO original start. */
  originalStart?: string;
  /** Effective fields (master fields with exception overrides). */
  fields: Json;
}

const OCC_RE = /^(.+)_(\d{8}T\d{6}Z)$/;

export function occurrenceId(masterId: string, originalStartIso: string): string {
  return `${masterId}_${originalStartIso.replace(/[-:]/g, '')}`;
}

/** Splits an occurrence id into master id and original start (UTC ISO), or undefined. */
export function parseOccurrenceId(id: string): { masterId: string; originalStart: string } | undefined {
  const m = OCC_RE.exec(id);
  if (!m) return undefined;
  const c = m[2];
  return { masterId: m[1], originalStart: `${c.slice(0, 4)}-${c.slice(4, 6)}-${c.slice(6, 8)}T${c.slice(9, 11)}:${c.slice(11, 13)}:${c.slice(13, 15)}Z` };
}

export function seriesOf(ev: StoredEvent): PatternedRecurrence | undefined {
  const r = ev.fields.recurrence as PatternedRecurrence | null | undefined;
  return r ?? undefined;
}

function span(fields: Json): { startMs: number; endMs: number } {
  return {
    startMs: graphTimeToUtc(fields.start as GraphDateTime, 'start'),
    endMs: graphTimeToUtc(fields.end as GraphDateTime, 'end'),
  };
}

/** The master as an Instance (type singleInstance or seriesMaster). */
export function masterInstance(ev: StoredEvent): Instance {
  return { id: ev.id, type: seriesOf(ev) ? 'seriesMaster' : 'singleInstance', event: ev, ...span(ev.fields), changeKey: ev.changeKey, fields: ev.fields };
}

/**
 * Occurrences of a series whose original start falls before `untilMs` (UTC), excluding cancelled
 * ones, with exceptions' overrides applied. Times follow the recurrence zone's wall clock, so a
 * 09:00 meeting stays at 09:00 across DST.
 */
export function seriesInstances(ev: StoredEvent, untilMs: number): Instance[] {
  const rec = seriesOf(ev);
  if (!rec) return [];
  const start = ev.fields.start as GraphDateTime;
  const zone = requireZone(rec.range.recurrenceTimeZone || start.timeZone);
  const { startMs, endMs } = span(ev.fields);
  const duration = endMs - startMs;
  const startWall = utcToWall(startMs, zone);
  const timeOfDay = ((startWall % MS.DAY) + MS.DAY) % MS.DAY;
  const dates = occurrenceDates(rec, utcToWall(untilMs, zone) + MS.DAY);
  const out: Instance[] = [];
  for (const day of dates) {
    const occStart = wallToUtc(day + timeOfDay, zone);
    const original = formatUtc(occStart);
    if (ev.cancelled.has(original)) continue;
    const exc = ev.exceptions.get(original);
    const base: Json = { ...ev.fields, recurrence: null };
    if (exc) {
      const fields = { ...base, ...exc.fields };
      out.push({ id: occurrenceId(ev.id, original), type: 'exception', event: ev, ...span(fields), changeKey: exc.changeKey, originalStart: original, fields });
    } else {
      out.push({ id: occurrenceId(ev.id, original), type: 'occurrence', event: ev, startMs: occStart, endMs: occStart + duration, changeKey: ev.changeKey, originalStart: original, fields: base });
    }
  }
  return out;
}

/** Instances of the given events overlapping [fromMs, toMs), by start time. */
export function viewInstances(events: Iterable<StoredEvent>, fromMs: number, toMs: number): Instance[] {
  const out: Instance[] = [];
  const overlaps = (i: Instance) => i.startMs < toMs && (i.endMs > fromMs || (i.endMs === i.startMs && i.startMs >= fromMs));
  for (const ev of events) {
    if (!seriesOf(ev)) {
      const i = masterInstance(ev);
      if (overlaps(i)) out.push(i);
      continue;
    }
    // Exceptions can move far from their original slot: look one year past the window.
    for (const i of seriesInstances(ev, toMs + 366 * MS.DAY)) if (overlaps(i)) out.push(i);
  }
  return out.sort((a, b) => a.startMs - b.startMs || a.id.localeCompare(b.id));
}

/** Finds an event or an occurrence/exception by id in the mailbox (optionally one calendar). */
export function findInstance(mb: Mailbox, id: string, calendarId?: string): Instance | undefined {
  const direct = mb.events.get(id);
  if (direct) return calendarId && direct.calendarId !== calendarId ? undefined : masterInstance(direct);
  const occ = parseOccurrenceId(id);
  if (!occ) return undefined;
  const master = mb.events.get(occ.masterId);
  if (!master || !seriesOf(master) || (calendarId && master.calendarId !== calendarId)) return undefined;
  // Exceptions stay addressable under their original slot even when moved.
  return seriesInstances(master, Date.parse(occ.originalStart) + MS.DAY).find((i) => i.originalStart === occ.originalStart);
}

export interface RenderOptions {
  zone: OutputZone;
  /** undefined: no singleValueExtendedProperties; [] all; else those ids. */
  expand?: string[];
  select?: string[];
  mailbox: Mailbox;
  baseUrl: string;
}

function htmlToPreview(content: string): string {
  return content.replace(/<[^>]*>/g, ' ').replace(/&nbsp;/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 255);
}

/** The JSON Graph returns for an instance, defaults included. */
export function renderInstance(i: Instance, o: RenderOptions): Json {
  const f = i.fields;
  const ev = i.event;
  const body = (f.body as { contentType?: string; content?: string } | null) ?? { contentType: 'html', content: '' };
  const start = f.start as GraphDateTime;
  const end = f.end as GraphDateTime;
  const out: Json = {
    '@odata.etag': `W/"${i.changeKey}"`,
    id: i.id,
    createdDateTime: new Date(ev.createdMs).toISOString().replace('Z', '0000Z'),
    lastModifiedDateTime: new Date(i.type === 'exception' ? ev.exceptions.get(i.originalStart!)!.modifiedMs : ev.modifiedMs).toISOString().replace('Z', '0000Z'),
    changeKey: i.changeKey,
    categories: [],
    transactionId: null,
    originalStartTimeZone: start.timeZone,
    originalEndTimeZone: end.timeZone,
    iCalUId: i.originalStart ? occurrenceICalUId(ev.iCalUId, i.originalStart) : ev.iCalUId,
    reminderMinutesBeforeStart: 15,
    isReminderOn: true,
    hasAttachments: false,
    subject: '',
    importance: 'normal',
    sensitivity: 'normal',
    isAllDay: false,
    isCancelled: false,
    isOrganizer: true,
    responseRequested: true,
    showAs: 'busy',
    isOnlineMeeting: false,
    onlineMeetingProvider: 'unknown',
    allowNewTimeProposals: true,
    isDraft: false,
    hideAttendees: false,
    onlineMeetingUrl: null,
    responseStatus: { response: 'organizer', time: '0001-01-01T00:00:00Z' },
    location: { displayName: '', locationType: 'default', uniqueIdType: 'unknown', address: {}, coordinates: {} },
    locations: [],
    attendees: [],
    organizer: { emailAddress: { name: o.mailbox.displayName, address: o.mailbox.upn } },
    ...f,
    bodyPreview: htmlToPreview(body.content ?? ''),
    body: { contentType: body.contentType ?? 'html', content: body.content ?? '' },
    type: i.type,
    seriesMasterId: i.originalStart ? ev.id : null,
    start: renderTime(i.startMs, o.zone),
    end: renderTime(i.endMs, o.zone),
    recurrence: i.type === 'seriesMaster' ? f.recurrence : null,
    webLink: `${o.baseUrl}/owa/?itemid=${encodeURIComponent(i.id)}&exvsurl=1&path=/calendar/item`,
  };
  if (i.originalStart) out.originalStart = i.originalStart;
  delete out.singleValueExtendedProperties;
  if (o.expand) {
    // Occurrences carry their series' properties; exceptions may add or change their own.
    const own = i.type === 'exception' ? (ev.exceptions.get(i.originalStart!)!.fields.singleValueExtendedProperties as { id: string; value: string }[] | undefined) ?? [] : [];
    const merged = [...ev.extendedProperties.filter((p) => !own.some((q) => sameExtPropId(p.id, q.id))), ...own];
    const wanted = o.expand.length === 0 ? merged : merged.filter((p) => o.expand!.some((id) => sameExtPropId(id, p.id)));
    if (wanted.length > 0) out.singleValueExtendedProperties = wanted.map((p) => ({ id: p.id, value: p.value }));
  }
  if (o.select) {
    const keep = new Set(['@odata.etag', 'id', 'singleValueExtendedProperties', ...o.select]);
    for (const k of Object.keys(out)) if (!keep.has(k)) delete out[k];
  }
  return out;
}

