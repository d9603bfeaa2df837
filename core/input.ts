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

/** Magic numbers of binary files people feed in by mistake, for a message that names them. */
const BINARY_KINDS: Array<[number[], string]> = [
  [[0x25, 0x50, 0x44, 0x46, 0x2d], 'a PDF document'],
  [[0x89, 0x50, 0x4e, 0x47], 'a PNG image'],
  [[0xff, 0xd8, 0xff], 'a JPEG image'],
  [[0x47, 0x49, 0x46, 0x38], 'a GIF image'],
  [[0x50, 0x4b, 0x03, 0x04], 'a ZIP archive (or an Office document)'],
  [[0x1f, 0x8b], 'gzip-compressed data'],
];

/**
 * What kind of binary data the input holds, or undefined when it reads as text. Binary means a
 * known magic number, a NUL, or many other control bytes in the first 4 KiB (text calendars have
 * none but tab, form feed and line ends).
 */
export function binaryKind(input: string | Uint8Array): string | undefined {
  const n = Math.min(input.length, 4096);
  const at = typeof input === 'string' ? (i: number) => input.charCodeAt(i) : (i: number) => input[i];
  for (const [magic, kind] of BINARY_KINDS) if (magic.length <= n && magic.every((b, i) => at(i) === b)) return kind;
  let controls = 0;
  for (let i = 0; i < n; i++) {
    const c = at(i);
    if (c === 0) return 'binary data';
    if (c < 32 && c !== 9 && c !== 10 && c !== 12 && c !== 13) controls++;
  }
  return controls > 8 && controls * 100 > n ? 'binary data' : undefined;
}

/**
 * An HTML page (a login, error or "not found" page served with status 200) where calendar data was
 * expected: the title, when it has one, so the message says what the server sent.
 */
export function htmlPageTitle(head: string): string | undefined {
  const h = head.replace(/^\uFEFF/, '').trimStart();
  if (!/^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*<(!doctype\s+html|html[\s>]|head[\s>]|body[\s>])/i.test(h)) return undefined;
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(h)?.[1]?.replace(/\s+/g, ' ').trim() ?? '';
  return printable(title, 80);
}

/** Text safe to put in a one-line message: control characters escaped, cut at `max` characters. */
export function printable(s: string, max: number): string {
  // eslint-disable-next-line no-control-regex -- escaping control characters is the point
  const t = s.replace(/[\u0000-\u001f\u007f-\u009f\ufffd]/g, (c) => (c === '\ufffd' ? '?' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  return t.length > max ? t.slice(0, max) + '…' : t;
}

const JSON_PRESET_HINT: Partial<Record<InputPreset, string>> = {
  generic: ' (with --map naming its fields, e.g. {"id":"uuid","title":"name","start":"begin"})',
};

/** Parses ICS or JSON calendar data into events + per-item errors. */
export function parseCalendarInput(input: string | Uint8Array, opts: ParseInputOptions = {}): ParseResult {
  const preset = opts.preset ?? 'auto';
  const text = decodeUtf8(input);
  const head = text.slice(0, 4096).replace(/^\uFEFF/, '').trimStart();
  // Damaged calendars (stray control bytes) are still read; anything else binary is named, never echoed.
  const kind = looksLikeIcs(head) ? undefined : binaryKind(input);
  if (kind) throw new CalendarInputError(`input is ${kind}, not calendar data (iCalendar or JSON)`);
  const title = htmlPageTitle(head);
  if (title !== undefined) {
    // Served in place of the feed (login, error or maintenance page): a failed read, not "no events".
    throw new CalendarInputError(`input is an HTML page${title ? ` ("${title}")` : ''}, not calendar data: the server answered with a web page (a login or error page?) instead of the feed`);
  }
  if (preset === 'ics') return parseIcsOrThrow(input, opts);
  if (head === '' && text.trim() === '') throw new CalendarInputError('input is empty');
  if (preset === 'auto' && looksLikeIcs(head)) return parseIcsOrThrow(input, opts);
  if (preset !== 'auto' && looksLikeIcs(head)) {
    throw new CalendarInputError(`preset "${preset}" expects JSON${JSON_PRESET_HINT[preset] ?? ''}, but the input is iCalendar (BEGIN:VCALENDAR): use preset "ics" or "auto" for it`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    const why = printable((err as Error).message, 120);
    const cut = /end of (JSON )?input|unterminated/i.test(why) ? ': it ends too early, a cut-off download?' : '';
    if (preset !== 'auto') throw new CalendarInputError(`preset "${preset}" expects JSON${JSON_PRESET_HINT[preset] ?? ''}, but the input is not valid JSON (${why})${cut}`);
    if (/^[[{]/.test(head)) throw new CalendarInputError(`input starts like JSON but is not valid JSON (${why})${cut}`);
    throw new CalendarInputError(`input is neither iCalendar (no BEGIN:VCALENDAR) nor JSON (${why})`);
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
