/**
 * Checks that a value received as JSON (an n8n item, `calendar-relay export` input, a bridge push)
 * really is a CalendarEvent, field by field, so one malformed item is reported by name and
 * skipped instead of crashing serialization or a provider further down.
 */
import type { CalendarEvent, EventTime, ParseIssue } from './event';
import { checkEventTime, timeKey } from './event';
import { eventTimeToUtc, isKnownTimeZone, parseWall } from './time';
import { validateRRule } from './recurrence';

export interface EventProblem {
  field: string;
  message: string;
}

const STATUSES = ['CONFIRMED', 'TENTATIVE', 'CANCELLED'];
const TRANSPARENCIES = ['OPAQUE', 'TRANSPARENT'];
const UTC_STAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const X_NAME = /^X-[A-Za-z0-9-]+$/;
const PARAM_NAME = /^[A-Za-z0-9-]+$/;

function timeProblem(field: string, t: unknown): EventProblem | undefined {
  const shape = checkEventTime(t);
  if (shape) return { field, message: shape };
  const v = t as EventTime;
  if (v.timeZone !== undefined && (typeof v.timeZone !== 'string' || !isKnownTimeZone(v.timeZone))) {
    return { field: `${field}.timeZone`, message: `"${String(v.timeZone)}" is not a known IANA time zone` };
  }
  try {
    parseWall(v.date ?? v.dateTime ?? '');
  } catch (err) {
    return { field, message: (err as Error).message };
  }
  return undefined;
}

function optionalString(e: Record<string, unknown>, field: string): EventProblem | undefined {
  const v = e[field];
  return v === undefined || typeof v === 'string' ? undefined : { field, message: 'must be a string' };
}

function stringArray(v: unknown, field: string): EventProblem | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) return { field, message: 'must be an array of strings' };
  const bad = v.findIndex((s) => typeof s !== 'string');
  return bad === -1 ? undefined : { field: `${field}.${bad}`, message: 'must be a string' };
}

function personProblem(v: unknown, field: string): EventProblem | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return { field, message: 'must be an object like {"email": "…", "name": "…"}' };
  const p = v as Record<string, unknown>;
  for (const k of ['email', 'name', 'role', 'status', 'type']) {
    if (p[k] !== undefined && typeof p[k] !== 'string') return { field: `${field}.${k}`, message: 'must be a string' };
  }
  if (p.rsvp !== undefined && typeof p.rsvp !== 'boolean') return { field: `${field}.rsvp`, message: 'must be true or false' };
  return undefined;
}

function recurrenceProblem(v: unknown): EventProblem | undefined {
  if (v === undefined) return undefined;
  if (!v || typeof v !== 'object' || Array.isArray(v)) return { field: 'recurrence', message: 'must be an object {"rrule": [...], "rdate": [...], "exdate": [...]}' };
  const r = v as Record<string, unknown>;
  for (const key of ['rrule', 'exrule'] as const) {
    if (r[key] === undefined && key === 'exrule') continue;
    const list = r[key];
    if (!Array.isArray(list)) return { field: `recurrence.${key}`, message: 'must be an array of rule strings like ["FREQ=WEEKLY;COUNT=10"]' };
    // A rule string the expander cannot use is not a reason to lose the event (normalizeEvent warns).
    for (let i = 0; i < list.length; i++) if (typeof list[i] !== 'string') return { field: `recurrence.${key}.${i}`, message: 'must be a string' };
  }
  for (const key of ['rdate', 'exdate'] as const) {
    const list = r[key];
    if (!Array.isArray(list)) return { field: `recurrence.${key}`, message: 'must be an array of times' };
    for (let i = 0; i < list.length; i++) {
      const p = timeProblem(`recurrence.${key}.${i}`, list[i]);
      if (p) return p;
    }
  }
  return undefined;
}

function xPropsProblem(v: unknown): EventProblem | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) return { field: 'xProps', message: 'must be an array of {"name": "X-…", "value": "…"}' };
  for (let i = 0; i < v.length; i++) {
    const x = v[i] as Record<string, unknown> | null;
    const field = `xProps.${i}`;
    if (!x || typeof x !== 'object') return { field, message: 'must be an object {"name": "X-…", "value": "…"}' };
    if (typeof x.name !== 'string' || !X_NAME.test(x.name)) return { field: `${field}.name`, message: `"${String(x.name)}" is not an X- property name (letters, digits, dashes)` };
    if (typeof x.value !== 'string') return { field: `${field}.value`, message: 'must be a string' };
    if (x.params !== undefined) {
      if (!x.params || typeof x.params !== 'object' || Array.isArray(x.params)) return { field: `${field}.params`, message: 'must be an object of parameter name → value' };
      for (const [k, pv] of Object.entries(x.params as Record<string, unknown>)) {
        if (!PARAM_NAME.test(k)) return { field: `${field}.params.${k}`, message: 'is not a parameter name (letters, digits, dashes)' };
        if (typeof pv !== 'string') return { field: `${field}.params.${k}`, message: 'must be a string' };
      }
    }
  }
  return undefined;
}

/** The first thing wrong with `item` as a CalendarEvent, or undefined when it is well-formed. */
export function findEventProblem(item: unknown): EventProblem | undefined {
  if (!item || typeof item !== 'object' || Array.isArray(item)) return { field: '', message: 'is not an event object' };
  const e = item as Record<string, unknown>;
  if (typeof e.uid !== 'string' || e.uid.trim() === '') return { field: 'uid', message: 'must be a non-empty string' };
  for (const f of ['title', 'description', 'location', 'url', 'sourceId']) {
    const p = optionalString(e, f);
    if (p) return p;
  }
  const start = timeProblem('start', e.start);
  if (start) return start;
  const end = timeProblem('end', e.end);
  if (end) return end;
  if (eventTimeToUtc(e.end as EventTime) < eventTimeToUtc(e.start as EventTime)) return { field: 'end', message: 'is before start' };
  if (e.recurrenceId !== undefined) {
    const p = timeProblem('recurrenceId', e.recurrenceId);
    if (p) return p;
  }
  if (e.status !== undefined && !STATUSES.includes(e.status as string)) return { field: 'status', message: `must be one of ${STATUSES.join(', ')}` };
  if (e.transparency !== undefined && !TRANSPARENCIES.includes(e.transparency as string)) return { field: 'transparency', message: 'must be OPAQUE (busy) or TRANSPARENT (free)' };
  if (e.sequence !== undefined && !Number.isSafeInteger(e.sequence)) return { field: 'sequence', message: 'must be a whole number ≥ 0' };
  for (const f of ['created', 'lastModified']) {
    if (e[f] !== undefined && (typeof e[f] !== 'string' || !UTC_STAMP.test(e[f] as string))) return { field: f, message: 'must be a UTC time like 2026-11-22T09:00:00Z' };
  }
  for (const f of ['categories', 'rooms', 'warnings']) {
    const p = stringArray(e[f], f);
    if (p) return p;
  }
  if (e.organizer !== undefined) {
    const p = personProblem(e.organizer, 'organizer');
    if (p) return p;
  }
  if (e.attendees !== undefined) {
    if (!Array.isArray(e.attendees)) return { field: 'attendees', message: 'must be an array' };
    for (let i = 0; i < e.attendees.length; i++) {
      const p = personProblem(e.attendees[i], `attendees.${i}`);
      if (p) return p;
    }
  }
  return recurrenceProblem(e.recurrence) ?? xPropsProblem(e.xProps);
}

/**
 * A well-formed event with its out-of-range values made valid, each with a warning on the event:
 * a negative SEQUENCE becomes 0; a rule the expander cannot use stays (export decides whether it
 * can be written) and is said to be ignored when expanding. Unchanged events are returned as is.
 */
export function normalizeEvent(e: CalendarEvent): CalendarEvent {
  let out = e;
  const warn = (w: string) => {
    if (out === e) out = { ...e };
    out.warnings = [...(out.warnings ?? []), w];
  };
  if (e.sequence !== undefined && e.sequence < 0) {
    warn(`sequence ${e.sequence} is negative: read as 0`);
    out.sequence = 0;
  }
  for (const key of ['rrule', 'exrule'] as const) {
    for (const rule of e.recurrence?.[key] ?? []) {
      const problem = validateRRule(rule);
      // Parsed ICS already says so (with the line); say it once.
      if (problem && !(e.warnings ?? []).some((w) => w.includes(rule))) warn(`${key.toUpperCase()} "${rule}": ${problem}; ignored when expanding`);
    }
  }
  return out;
}

/**
 * Splits JSON items into well-formed events and one issue per malformed item (by index);
 * `normalized` lists, per item, what normalizeEvent changed or warned about.
 */
export function validateEventItems(items: unknown[]): { events: CalendarEvent[]; errors: ParseIssue[]; normalized: ParseIssue[] } {
  const events: CalendarEvent[] = [];
  const errors: ParseIssue[] = [];
  const normalized: ParseIssue[] = [];
  items.forEach((item, index) => {
    const problem = findEventProblem(item);
    if (!problem) {
      const e = normalizeEvent(item as CalendarEvent);
      events.push(e);
      const before = (item as CalendarEvent).warnings?.length ?? 0;
      for (const message of e.warnings?.slice(before) ?? []) normalized.push({ item: index, uid: e.uid, message });
      return;
    }
    const uid = item && typeof item === 'object' && typeof (item as { uid?: unknown }).uid === 'string' ? (item as { uid: string }).uid : undefined;
    const rid = uid ? (item as { recurrenceId?: unknown }).recurrenceId : undefined;
    const recurrenceId = rid !== undefined && !checkEventTime(rid) ? timeKey(rid as EventTime) : undefined;
    errors.push({ item: index, ...(problem.field ? { field: problem.field } : {}), ...(uid ? { uid } : {}), ...(recurrenceId ? { recurrenceId } : {}), message: problem.message });
  });
  return { events, errors, normalized };
}

/** The items of event JSON: the array itself, or the `events` array of `{ "events": [...] }` (what `parse` prints). */
export function eventItemsOf(json: unknown): unknown[] | undefined {
  if (Array.isArray(json)) return json;
  const events = json && typeof json === 'object' ? (json as { events?: unknown }).events : undefined;
  return Array.isArray(events) ? events : undefined;
}

/** True when `json` looks like Calendar Relay's own event JSON (what `parse` prints and nodes emit). */
export function looksLikeEventModel(json: unknown): boolean {
  const list = eventItemsOf(json);
  if (!list || list.length === 0) return false;
  const first = list[0] as Record<string, unknown> | null;
  if (!first || typeof first !== 'object' || typeof first.uid !== 'string') return false;
  const start = first.start as Record<string, unknown> | null;
  return !!start && typeof start === 'object' && (typeof start.date === 'string' || typeof start.dateTime === 'string');
}
