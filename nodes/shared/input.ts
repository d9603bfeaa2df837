/**
 * Input items → CalendarEvents, shared by Feed Export and Room Sync. An item is either Calendar
 * Relay's own event JSON (what ICS Trigger and Calendar Event emit), a JSON record of a known
 * format (caldn, LearningSpace, Sonderplan) or any record with a field mapping, or a field holding
 * ICS text. Parsing is core/input.ts; this file only reads parameters and keeps the item index.
 */
import type { IDataObject, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import type { CalendarEvent } from '../../core/event';
import { parseCalendarInput, type InputPreset } from '../../core/input';
import type { FieldMap } from '../../core/json';
import { defaultTimeZoneProperty, fieldMapCollection, fieldMapFields, jsonPresetOptions } from './input.description';

export const inputProperties: INodeProperties[] = [
  {
    displayName: 'Input Format',
    name: 'inputFormat',
    type: 'options',
    noDataExpression: true,
    options: [
      { name: 'Calendar Relay Events', value: 'events', description: 'Each item is an event as ICS Trigger and Calendar Event emit it (or has an "events" array)' },
      { name: 'JSON Record (Preset or Mapping)', value: 'json', description: 'Each item is a record of a known format, or any record with a field mapping' },
      { name: 'ICS Text in a Field', value: 'ics', description: 'Each item holds iCalendar text in a field' },
    ],
    default: 'events',
  },
  {
    displayName: 'Preset',
    name: 'preset',
    type: 'options',
    options: [
      jsonPresetOptions.caldn,
      { name: 'Field Mapping', value: 'generic', description: 'Name the fields below' },
      jsonPresetOptions.learningSpace,
      jsonPresetOptions.sonderplan,
    ],
    default: 'generic',
    displayOptions: { show: { inputFormat: ['json'] } },
  },
  {
    ...fieldMapCollection,
    description: 'Dot paths into the record; alternatives separated by |. Unset fields use common names (ID, title, start, end, location, room, …).',
    displayOptions: { show: { inputFormat: ['json'], preset: ['generic', 'learningspace', 'sonderplan'] } },
    options: [
      fieldMapFields.allDay,
      fieldMapFields.description,
      fieldMapFields.duration,
      fieldMapFields.end,
      fieldMapFields.id,
      fieldMapFields.location,
      fieldMapFields.room,
      fieldMapFields.start,
      fieldMapFields.timeZone,
      fieldMapFields.title,
    ],
  },
  {
    displayName: 'ICS Field',
    name: 'icsField',
    type: 'string',
    default: 'data',
    description: 'Name of the field holding the iCalendar text',
    displayOptions: { show: { inputFormat: ['ics'] } },
  },
  defaultTimeZoneProperty,
];

export interface ItemEvents {
  itemIndex: number;
  events: CalendarEvent[];
}

/**
 * The events of one item; throws (CalendarInputError or Error naming the problem) when the item
 * yields no usable event. Unreadable events next to readable ones go to `problems`.
 */
export function eventsOfItem(
  item: INodeExecutionData,
  params: { inputFormat: string; preset?: string; fieldMap?: IDataObject; icsField?: string; defaultTimeZone?: string; sourceId?: string },
  /** Receives the events of the item that could not be read (the item's other events are returned). */
  problems?: string[],
): CalendarEvent[] {
  const common = { sourceId: params.sourceId || undefined, defaultTimeZone: params.defaultTimeZone || undefined };
  let input: string;
  let preset: InputPreset;
  let map: Partial<FieldMap> | undefined;
  if (params.inputFormat === 'ics') {
    const field = params.icsField || 'data';
    const value = item.json[field];
    if (typeof value !== 'string' || value.trim() === '') throw new Error(`field "${field}" holds no iCalendar text`);
    input = value;
    preset = 'ics';
  } else if (params.inputFormat === 'json') {
    input = JSON.stringify(item.json);
    preset = (params.preset || 'generic') as InputPreset;
    map = {};
    for (const [k, v] of Object.entries(params.fieldMap ?? {})) if (typeof v === 'string' && v.trim() !== '') (map as Record<string, string>)[k] = v.trim();
  } else {
    const json = item.json;
    input = JSON.stringify(Array.isArray(json.events) ? json : [json]);
    preset = 'events';
  }
  let parsed = parseCalendarInput(input, { preset, map, ...common });
  // n8n splits API responses into items: an item is usually one record, not a list of them. When the
  // preset's list path finds no list in the item (and the user named none), the item is the record.
  // A list that is there but empty ("events": []) is zero events, never a record (core itemsAt).
  if (params.inputFormat === 'json' && map && map.items === undefined && parsed.events.length === 0 && parsed.errors.some((e) => /no array of items/.test(e.message))) {
    parsed = parseCalendarInput(input, { preset, map: { ...map, items: '' }, ...common });
  }
  if (parsed.errors.length && parsed.events.length === 0) {
    const first = parsed.errors[0];
    throw new Error(`${first.field ? `field "${first.field}": ` : ''}${first.message}`);
  }
  if (problems) for (const e of parsed.errors) problems.push(`${e.line ? `line ${e.line}: ` : e.item !== undefined ? `entry ${e.item}: ` : ''}${e.field ? `field "${e.field}": ` : ''}${e.message}`);
  return parsed.events;
}
