/** Operation parameters → CalendarEvent (create and update). */
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { randomUUID } from 'node:crypto';
import type { CalendarEvent, EventTime } from '../../../../core/event';
import { findEventProblem } from '../../../../core/event-validate';
import { isKeptXPropName, MAX_XPROP_NAME, MAX_XPROP_VALUE } from '../../../../core/xprops';

const EMAIL_RE = /^[^\s@<>]+@[^\s@<>]+$/;
const LOCAL_RE = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** A dateTime parameter → EventTime: with an offset an instant (UTC), without one wall time in `timeZone` (or floating). */
export function toEventTime(value: string, allDay: boolean, timeZone: string | undefined, what: string): EventTime {
  const m = LOCAL_RE.exec(value.trim());
  if (!m) throw new Error(`${what} "${value}" is not a date or date-time (YYYY-MM-DDTHH:MM[:SS], optionally with Z or an offset)`);
  const [, date, hh = '00', mm = '00', ss = '00', zone] = m;
  if (allDay) return { date };
  if (zone) {
    const ms = Date.parse(`${date}T${hh}:${mm}:${ss}${zone === 'Z' ? 'Z' : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone}`);
    if (Number.isNaN(ms)) throw new Error(`${what} "${value}" is not a valid time`);
    return { dateTime: new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') };
  }
  const dateTime = `${date}T${hh}:${mm}:${ss}`;
  return timeZone ? { dateTime, timeZone } : { dateTime };
}

function addDays(date: string, n: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

function addHour(t: EventTime): EventTime {
  const dt = t.dateTime!;
  const utc = dt.endsWith('Z');
  const ms = Date.parse(utc ? dt : `${dt}Z`) + 3_600_000;
  const iso = new Date(ms).toISOString().replace(/\.\d{3}Z$/, utc ? 'Z' : '');
  return t.timeZone ? { dateTime: iso, timeZone: t.timeZone } : { dateTime: iso };
}

/** The event the fields describe; `base` (update) supplies what the fields leave empty. */
export function eventFromParameters(ctx: IExecuteFunctions, i: number, base?: CalendarEvent): CalendarEvent {
  if ((ctx.getNodeParameter('eventSource', i, 'fields') as string) === 'item') {
    const json = ctx.getInputData()[i].json as unknown;
    const problem = findEventProblem(json);
    if (problem) throw new Error(`input item is not a Calendar Relay event: ${problem.field ? `field "${problem.field}" ` : ''}${problem.message}`);
    const e = json as CalendarEvent & { key?: unknown; change?: unknown };
    const { key: _key, change: _change, ...event } = e;
    return event as CalendarEvent;
  }
  const f = ctx.getNodeParameter('additionalFields', i, {}) as IDataObject;
  const title = (ctx.getNodeParameter('title', i, '') as string).trim();
  const startRaw = String(ctx.getNodeParameter('start', i, '') ?? '');
  const endRaw = String(ctx.getNodeParameter('end', i, '') ?? '');
  const allDay = f.allDay === true;
  const tz = typeof f.timeZone === 'string' && f.timeZone.trim() ? f.timeZone.trim() : undefined;
  if (!base && !title) throw new Error('Title is required');
  if (!base && !startRaw) throw new Error('Start is required');
  const start = startRaw ? toEventTime(startRaw, allDay, tz, 'Start') : base!.start;
  let end: EventTime;
  if (endRaw) end = toEventTime(endRaw, allDay, tz, 'End');
  else if (startRaw || !base) end = start.date ? { date: addDays(start.date, 1) } : addHour(start);
  else end = base.end;
  const event: CalendarEvent = { ...(base ?? {}), uid: base?.uid ?? (typeof f.uid === 'string' && f.uid.trim() ? f.uid.trim() : `${randomUUID()}@calendar-relay`), title: title || base!.title, start, end };
  if (typeof f.description === 'string' && f.description !== '') event.description = f.description;
  if (typeof f.location === 'string' && f.location !== '') event.location = f.location;
  if (typeof f.rrule === 'string' && f.rrule.trim()) event.recurrence = { rrule: [f.rrule.trim().replace(/^RRULE:/i, '')], rdate: [], exdate: [] };
  if (typeof f.status === 'string') event.status = f.status as CalendarEvent['status'];
  if (typeof f.transparency === 'string') event.transparency = f.transparency as CalendarEvent['transparency'];
  const xProps = ((f.xProps as IDataObject | undefined)?.property as IDataObject[] | undefined) ?? [];
  if (xProps.length) {
    const given = xProps.map((p) => {
      const name = String(p.name ?? '').trim().toUpperCase();
      const value = String(p.value ?? '');
      if (!isKeptXPropName(name)) throw new Error(`X-Property name "${String(p.name)}" must start with X-, contain only letters, digits and -, and be at most ${MAX_XPROP_NAME} characters`);
      if (value.length > MAX_XPROP_VALUE) throw new Error(`X-Property ${name}: the value has ${value.length} characters, at most ${MAX_XPROP_VALUE} are kept`);
      return { name, value };
    });
    // Update: the given properties replace those of the same name; the event's others stay.
    event.xProps = [...(event.xProps ?? []).filter((x) => !given.some((g) => g.name === x.name.toUpperCase())), ...given];
  }
  const attendees = ((f.attendees as IDataObject | undefined)?.attendee as IDataObject[] | undefined) ?? [];
  if (attendees.length) {
    // Given attendees replace the event's list (update).
    event.attendees = attendees.map((a, n) => {
      const email = String(a.email ?? '').trim();
      const name = String(a.name ?? '').trim();
      if (!EMAIL_RE.test(email)) throw new Error(`Attendee ${n + 1}: "${email}" is not an email address`);
      return { email, ...(name ? { name } : {}), role: a.optional === true ? 'OPT-PARTICIPANT' : 'REQ-PARTICIPANT' };
    });
  }
  const problem = findEventProblem(event);
  if (problem) throw new Error(`${problem.field ? `${problem.field}: ` : ''}${problem.message}`);
  return event;
}
