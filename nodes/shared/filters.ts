/**
 * Event filters and series expansion shared by ICS Trigger and Calendar Event (get many).
 * Filters are plain predicates over CalendarEvent; expansion is core/recurrence.
 */
import type { INodeProperties } from 'n8n-workflow';
import type { CalendarEvent } from '../../core/event';
import { expandOccurrences } from '../../core/recurrence';

export interface EventFilter {
  titleContains?: string;
  titleRegex?: string;
  room?: string;
  category?: string;
}

export const filterOption: INodeProperties = {
  displayName: 'Filters',
  name: 'filters',
  type: 'collection',
  placeholder: 'Add Filter',
  default: {},
  options: [
    { displayName: 'Category', name: 'category', type: 'string', default: '', description: 'Only events with this category (case-insensitive)' },
    { displayName: 'Room', name: 'room', type: 'string', default: '', description: 'Only events whose rooms or location contain this text (case-insensitive)' },
    { displayName: 'Title Contains', name: 'titleContains', type: 'string', default: '', placeholder: 'OSCE', description: 'Only events whose title contains this text (case-insensitive)' },
    { displayName: 'Title Matches Regex', name: 'titleRegex', type: 'string', default: '', placeholder: '^Exam\\b', description: 'Only events whose title matches this regular expression (case-insensitive)' },
  ],
};

/** A predicate for `filter`; throws with a clear message on an invalid regex. */
export function eventPredicate(filter: EventFilter): (e: CalendarEvent) => boolean {
  const contains = filter.titleContains?.trim().toLowerCase();
  let regex: RegExp | undefined;
  let regexProblem: string | undefined;
  if (filter.titleRegex?.trim()) {
    try {
      regex = new RegExp(filter.titleRegex.trim(), 'i');
    } catch (err) {
      regexProblem = (err as Error).message;
    }
  }
  if (regexProblem !== undefined) throw new Error(`Filters › Title Matches Regex is not a valid regular expression: ${regexProblem}`);
  const room = filter.room?.trim().toLowerCase();
  const category = filter.category?.trim().toLowerCase();
  return (e) => {
    if (contains && !(e.title ?? '').toLowerCase().includes(contains)) return false;
    if (regex && !regex.test(e.title ?? '')) return false;
    if (room && ![...(e.rooms ?? []), e.location ?? ''].some((r) => r.toLowerCase().includes(room))) return false;
    if (category && !(e.categories ?? []).some((c) => c.toLowerCase() === category)) return false;
    return true;
  };
}

/**
 * Series (and single events) → one event per occurrence overlapping [from, to): the occurrence's
 * own start/end, `recurrenceId` = its original start, no recurrence. Errors of bad series are returned.
 */
export function expandToOccurrences(events: CalendarEvent[], from: number, to: number, floatingZone?: string): { events: CalendarEvent[]; errors: string[] } {
  const result = expandOccurrences(events, from, to, floatingZone ? { floatingZone } : {});
  const out = result.occurrences.map((o) => {
    const { recurrence: _recurrence, ...rest } = o.event;
    const e: CalendarEvent = { ...rest, start: o.start, end: o.end };
    if (o.recurrenceId) e.recurrenceId = o.recurrenceId;
    return e;
  });
  return { events: out, errors: result.errors.map((e) => e.message) };
}
