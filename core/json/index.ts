/**
 * JSON calendar input: caldn's Event-API, the LearningSpace and Sonderplan presets, and a generic
 * field mapping (docs/json-input.md). Every preset returns events plus per-item errors naming the
 * item index and field; one bad item never sinks the rest.
 */
import type { ParseResult } from '../event';
import { parseCaldnEvents } from './caldn';
import { LEARNINGSPACE_MAP } from './learningspace';
import { mapJsonItems, type FieldMap } from './mapping';
import { SONDERPLAN_MAP } from './sonderplan';

export type { FieldMap } from './mapping';
export { resolvePath, parseJsonTime } from './mapping';
export { htmlToText, checkRrule } from './caldn';
export { LEARNINGSPACE_MAP } from './learningspace';
export { SONDERPLAN_MAP } from './sonderplan';

export type JsonPreset = 'caldn' | 'learningspace' | 'sonderplan' | 'generic';
export const JSON_PRESETS: readonly JsonPreset[] = ['caldn', 'learningspace', 'sonderplan', 'generic'];

/** The generic preset's defaults: common field names; override any of them with `map`. */
export const GENERIC_MAP: FieldMap = {
  items: 'events|items|data|results',
  id: 'id|uid|uuid',
  title: 'title|name|summary|subject',
  start: 'start|startDate|start_time|startTime|begin|from',
  end: 'end|endDate|end_time|endTime|until|to',
  duration: 'duration|duration_min|durationMinutes',
  timeZone: 'timeZone|timezone|time_zone|tz',
  location: 'location|place|venue',
  room: 'room|rooms|resource|resources',
  status: 'status',
  description: 'description|details|notes|body',
  allDay: 'allDay|all_day|isAllDay',
  url: 'url|link',
  categories: 'categories|tags',
};

/** Every key a field map may set (see FieldMap). */
export const FIELD_MAP_KEYS: readonly (keyof FieldMap)[] = [
  'items', 'id', 'title', 'start', 'end', 'duration', 'timeZone', 'location', 'room', 'status', 'description', 'allDay',
  'url', 'categories', 'organizerName', 'organizerEmail', 'transparency', 'sequence', 'created', 'lastModified',
];

/** What is wrong with a user-supplied field map (an unknown key is most likely a typo), or undefined. */
export function fieldMapProblem(map: Record<string, unknown>, preset: JsonPreset): string | undefined {
  if (preset === 'caldn') return "caldn's format is fixed: a field map applies to the learningspace, sonderplan and generic presets";
  for (const [key, value] of Object.entries(map)) {
    if (!(FIELD_MAP_KEYS as readonly string[]).includes(key)) return `unknown field "${key}" (known: ${FIELD_MAP_KEYS.join(', ')})`;
    if (typeof value !== 'string' || (key !== 'items' && value.trim() === '')) return `field "${key}" must be a dot path string like "data.start"`;
  }
  return undefined;
}

export interface JsonEventsOptions {
  /** Field paths overriding the preset's (ignored by caldn, whose format is fixed). */
  map?: Partial<FieldMap>;
  sourceId?: string;
  /** Zone for naive date-times in items that name no zone; without it they are floating. */
  defaultTimeZone?: string;
  /** caldn: the event's prokey when the data doesn't carry it (GET /event/:prokey omits it). */
  prokey?: string;
}

/** The preset's field map with `map` laid over it (undefined entries in `map` are ignored). */
export function presetFieldMap(preset: Exclude<JsonPreset, 'caldn'>, map?: Partial<FieldMap>): FieldMap {
  const base = preset === 'learningspace' ? LEARNINGSPACE_MAP : preset === 'sonderplan' ? SONDERPLAN_MAP : GENERIC_MAP;
  const merged: FieldMap = { ...base };
  for (const [k, v] of Object.entries(map ?? {})) if (typeof v === 'string') (merged as unknown as Record<string, string>)[k] = v;
  return merged;
}

export function parseJsonEvents(input: unknown, preset: JsonPreset, opts: JsonEventsOptions = {}): ParseResult {
  if (preset === 'caldn') return parseCaldnEvents(input, { sourceId: opts.sourceId, defaultTimeZone: opts.defaultTimeZone, prokey: opts.prokey });
  return mapJsonItems(input, presetFieldMap(preset, opts.map), { sourceId: opts.sourceId, defaultTimeZone: opts.defaultTimeZone });
}
