/**
 * One entry point for "some calendar data of unknown shape": ICS text or JSON in one of the
 * presets. The CLI, the feed reader and the n8n nodes all go through it, so they agree on what
 * a given input means.
 */
import type { ParseResult } from './event';
import { parseIcs, IcsInputError } from './ics/parse';
import { parseJsonEvents, type FieldMap, type JsonPreset } from './json';
import { eventItemsOf, looksLikeEventModel, validateEventItems } from './event-validate';

/** `events` is Calendar Relay's own event JSON (what `parse` prints and the nodes emit). */
export type InputPreset = 'auto' | 'ics' | 'events' | JsonPreset;
export const INPUT_PRESETS: readonly InputPreset[] = ['auto', 'ics', 'events', 'caldn', 'learningspace', 'sonderplan', 'generic'];

export interface ParseInputOptions {
  preset?: InputPreset;
  map?: Partial<FieldMap>;
  sourceId?: string;
  defaultTimeZone?: string;
}

/** The input is not calendar data at all (the CLI's exit code 1). */
export class CalendarInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CalendarInputError';
  }
}

function decodeUtf8(input: string | Uint8Array): string {
  return typeof input === 'string' ? input : new TextDecoder('utf-8').decode(input);
}

function looksLikeIcs(head: string): boolean {
  return /BEGIN:VCALENDAR|BEGIN:VEVENT/i.test(head);
}

/** Parses ICS or JSON calendar data into events + per-item errors. */
export function parseCalendarInput(input: string | Uint8Array, opts: ParseInputOptions = {}): ParseResult {
  const preset = opts.preset ?? 'auto';
  if (preset === 'ics') return parseIcsOrThrow(input, opts);
  const text = decodeUtf8(input);
  const head = text.slice(0, 4096).replace(/^\uFEFF/, '').trimStart();
  if (head === '' && text.trim() === '') throw new CalendarInputError('input is empty');
  if (preset === 'auto' && looksLikeIcs(head)) return parseIcsOrThrow(input, opts);
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new CalendarInputError(`input is neither iCalendar (no BEGIN:VCALENDAR) nor JSON (${(err as Error).message})`);
  }
  if (preset === 'events' || (preset === 'auto' && looksLikeEventModel(json))) return parseEventModel(json, opts);
  const jsonPreset: JsonPreset = preset === 'auto' ? detectJsonPreset(json) : preset;
  return parseJsonEvents(json, jsonPreset, { map: opts.map, sourceId: opts.sourceId, defaultTimeZone: opts.defaultTimeZone });
}

function parseIcsOrThrow(input: string | Uint8Array, opts: ParseInputOptions): ParseResult {
  try {
    return parseIcs(input, { sourceId: opts.sourceId, defaultTimeZone: opts.defaultTimeZone });
  } catch (err) {
    if (err instanceof IcsInputError) throw new CalendarInputError(err.message);
    throw err;
  }
}

/** Calendar Relay's own event JSON: an array of events or `{ "events": [...] }`, each item checked. */
function parseEventModel(json: unknown, opts: ParseInputOptions): ParseResult {
  const list = eventItemsOf(json);
  if (!list) throw new CalendarInputError('event JSON must be an array of events or an object with an "events" array');
  const { events, errors } = validateEventItems(list);
  const withSource = opts.sourceId ? events.map((e) => (e.sourceId ? e : { ...e, sourceId: opts.sourceId })) : events;
  return { events: withSource, errors };
}

/** Guesses the JSON preset from the data's shape; `generic` needs a field map, so it is never guessed. */
export function detectJsonPreset(json: unknown): JsonPreset {
  const first = Array.isArray(json) ? json[0] : json;
  if (first && typeof first === 'object') {
    const o = first as Record<string, unknown>;
    if (Array.isArray(o.dates)) return 'caldn';
    if (Array.isArray(o.events)) return 'learningspace';
    if (Array.isArray(o.data)) return 'sonderplan';
  }
  throw new CalendarInputError('cannot tell which JSON format this is: pass --preset caldn|learningspace|sonderplan, or --preset generic with --map');
}
