/**
 * Parameter fragments that describe calendar input, shared by ICS Trigger (its JSON feeds) and the
 * nodes that read input items (shared/input.ts). No logic here; names, defaults and display options
 * are what saved workflows store, so they must not change.
 */
import type { INodeProperties, INodePropertyOptions } from 'n8n-workflow';

/** The JSON presets both the feed source and the item input offer under the same names. */
export const jsonPresetOptions = {
  caldn: { name: 'Caldn', value: 'caldn' },
  learningSpace: { name: 'LearningSpace', value: 'learningspace' },
  sonderplan: { name: 'Sonderplan', value: 'sonderplan' },
} satisfies Record<string, INodePropertyOptions>;

/** The head of the "Field Mapping" collection; each node adds its description, display options and fields. */
export const fieldMapCollection = {
  displayName: 'Field Mapping',
  name: 'fieldMap',
  type: 'collection',
  placeholder: 'Add Field',
  default: {},
} satisfies Omit<INodeProperties, 'options'>;

/** The fields of a field mapping (dot paths into a record), by the event field they fill. */
export const fieldMapFields = {
  allDay: { displayName: 'All Day', name: 'allDay', type: 'string', default: '' },
  description: { displayName: 'Description', name: 'description', type: 'string', default: '' },
  duration: { displayName: 'Duration (Minutes or ISO 8601)', name: 'duration', type: 'string', default: '' },
  end: { displayName: 'End', name: 'end', type: 'string', default: '' },
  id: { displayName: 'ID', name: 'id', type: 'string', default: '' },
  location: { displayName: 'Location', name: 'location', type: 'string', default: '' },
  room: { displayName: 'Room', name: 'room', type: 'string', default: '' },
  start: { displayName: 'Start', name: 'start', type: 'string', default: '' },
  timeZone: { displayName: 'Time Zone', name: 'timeZone', type: 'string', default: '' },
  title: { displayName: 'Title', name: 'title', type: 'string', default: '' },
} satisfies Record<string, INodeProperties>;

export const defaultTimeZoneProperty: INodeProperties = {
  displayName: 'Default Time Zone',
  name: 'defaultTimeZone',
  type: 'string',
  default: '',
  placeholder: 'Europe/Berlin',
  description: 'IANA zone for times that name none; empty keeps them floating',
};
