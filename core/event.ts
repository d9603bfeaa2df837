/**
 * The one event model. Every parser produces it, every serializer and provider consumes it, and
 * its JSON form (documented in docs/event-model.md) is the item shape every n8n node emits and
 * accepts. Keep it plain JSON: no Dates, no classes, no undefined-vs-null games in arrays.
 */

/**
 * A point in calendar time, shaped like Google's `start`/`end` so it reads naturally in n8n:
 * - all-day:   `{ date: "2024-11-14" }`
 * - UTC:       `{ dateTime: "2024-11-14T09:00:00Z" }`
 * - zoned:     `{ dateTime: "2024-11-14T09:00:00", timeZone: "Europe/Berlin" }` (wall clock + IANA)
 * - floating:  `{ dateTime: "2024-11-14T09:00:00" }` (wall clock, no zone: "09:00 wherever you are")
 * Exactly one of `date` / `dateTime`; seconds always present; `timeZone` is always an IANA name
 * (Windows and custom TZIDs are resolved on the way in).
 */
export interface EventTime {
  date?: string;
  dateTime?: string;
  timeZone?: string;
}

export type EventStatus = 'CONFIRMED' | 'TENTATIVE' | 'CANCELLED';
/** OPAQUE = busy, TRANSPARENT = free. */
export type EventTransparency = 'OPAQUE' | 'TRANSPARENT';

export interface EventPerson {
  email?: string;
  name?: string;
}

export interface EventAttendee extends EventPerson {
  /** ROLE: REQ-PARTICIPANT, OPT-PARTICIPANT, CHAIR, NON-PARTICIPANT */
  role?: string;
  /** PARTSTAT: NEEDS-ACTION, ACCEPTED, DECLINED, TENTATIVE, DELEGATED */
  status?: string;
  /** CUTYPE: INDIVIDUAL, GROUP, RESOURCE, ROOM, UNKNOWN */
  type?: string;
  rsvp?: boolean;
}

export interface EventRecurrence {
  /** RRULE values without the `RRULE:` prefix. Almost always one; RFC 2445 allowed several. */
  rrule: string[];
  /** RDATE values (PERIOD values keep only their start). */
  rdate: EventTime[];
  /** EXDATE values. */
  exdate: EventTime[];
  /** EXRULE (deprecated by RFC 5545, still produced by some tools). */
  exrule?: string[];
}

/** An unknown or vendor property kept verbatim: name upper-cased, value exactly as in the file. */
export interface XProperty {
  name: string;
  value: string;
  params?: Record<string, string>;
}

export interface CalendarEvent {
  /** iCalendar UID. Overrides of a recurring series share their master's UID. */
  uid: string;
  /** Set on an override (moved/changed/cancelled occurrence): the occurrence's original start. */
  recurrenceId?: EventTime;
  /** Which configured source produced the event; part of the sync identity. */
  sourceId?: string;
  title: string;
  description?: string;
  location?: string;
  start: EventTime;
  /** Always resolved: DTEND, or DTSTART + DURATION, or the RFC 5545 default when both are missing. */
  end: EventTime;
  recurrence?: EventRecurrence;
  status?: EventStatus;
  transparency?: EventTransparency;
  organizer?: EventPerson;
  attendees?: EventAttendee[];
  categories?: string[];
  url?: string;
  sequence?: number;
  /** UTC instants as `YYYY-MM-DDTHH:MM:SSZ`. */
  created?: string;
  lastModified?: string;
  /** Room / resource ids (JSON room fields, X-KALTURA-RESOURCE-IDS, …), used for routing. */
  rooms?: string[];
  /** Unknown X- properties, in file order, verbatim (X-KALTURA-* survives parse → export). */
  xProps?: XProperty[];
  /** Non-fatal problems found while reading this event (unknown zone, derived UID, …). */
  warnings?: string[];
}

/** A problem that made an item or line unusable; the rest of the input is still returned. */
export interface ParseIssue {
  message: string;
  /** 1-based line in the ICS text where the offending component or line starts. */
  line?: number;
  /** 0-based index of the offending item in a JSON input. */
  item?: number;
  /** Field (dot path) that was wrong, for JSON inputs. */
  field?: string;
  /** UID / id of the item that could not be read, when known: a sync keeps that event untouched. */
  uid?: string;
  /**
   * RECURRENCE-ID of the VEVENT that could not be read, when it had one: in the form eventKey()
   * uses (timeKey, in the frame of the series' master) when the value is readable, else as written.
   */
  recurrenceId?: string;
}

export interface CalendarMeta {
  name?: string;
  description?: string;
  prodId?: string;
  method?: string;
  /** X-WR-TIMEZONE or a similar calendar-wide default zone, resolved to IANA. */
  timeZone?: string;
}

export interface ParseResult {
  events: CalendarEvent[];
  errors: ParseIssue[];
  calendar?: CalendarMeta;
}

/** Identity of an event inside its source: UID + RECURRENCE-ID (+ source id). */
export function eventKey(e: Pick<CalendarEvent, 'uid' | 'recurrenceId' | 'sourceId'>): string {
  const rid = e.recurrenceId ? timeKey(e.recurrenceId) : '';
  return `${e.sourceId ?? ''}\u001f${e.uid}\u001f${rid}`;
}

/** A canonical string for an EventTime, for keys and comparisons. */
export function timeKey(t: EventTime): string {
  if (t.date) return t.date;
  return t.timeZone ? `${t.dateTime}@${t.timeZone}` : (t.dateTime ?? '');
}

export function isAllDay(t: EventTime): boolean {
  return t.date !== undefined;
}

export function isUtc(t: EventTime): boolean {
  return t.dateTime !== undefined && t.dateTime.endsWith('Z');
}

export function isFloating(t: EventTime): boolean {
  return t.dateTime !== undefined && !t.dateTime.endsWith('Z') && !t.timeZone;
}

export function isRecurringMaster(e: CalendarEvent): boolean {
  return !e.recurrenceId && !!e.recurrence && (e.recurrence.rrule.length > 0 || e.recurrence.rdate.length > 0);
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const DATETIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z?$/;

/** Returns a message describing what is wrong with `t`, or undefined when it is well-formed. */
export function checkEventTime(t: unknown): string | undefined {
  if (!t || typeof t !== 'object') return 'must be an object like {"dateTime": "2024-11-14T09:00:00", "timeZone": "Europe/Berlin"} or {"date": "2024-11-14"}';
  const v = t as EventTime;
  if ((v.date === undefined) === (v.dateTime === undefined)) return 'needs exactly one of "date" or "dateTime"';
  if (v.date !== undefined && (typeof v.date !== 'string' || !DATE_RE.test(v.date))) return `date "${String(v.date)}" is not YYYY-MM-DD`;
  if (v.dateTime !== undefined && (typeof v.dateTime !== 'string' || !DATETIME_RE.test(v.dateTime))) return `dateTime "${String(v.dateTime)}" is not YYYY-MM-DDTHH:MM:SS[Z]`;
  if (v.timeZone !== undefined) {
    if (v.date !== undefined) return 'an all-day "date" cannot carry a timeZone';
    if (v.dateTime!.endsWith('Z')) return 'a UTC dateTime (ending in Z) cannot also carry a timeZone';
  }
  return undefined;
}
