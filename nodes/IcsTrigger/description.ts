/** ICS Trigger parameters (no logic here: see poll.ts). */
import type { INodeProperties } from 'n8n-workflow';
import { filterOption } from '../shared/filters';
import { defaultTimeZoneProperty, fieldMapCollection, fieldMapFields, jsonPresetOptions } from '../shared/input.description';

export const feedSourceProperties: INodeProperties[] = [
  {
    displayName: 'Source',
    name: 'source',
    type: 'options',
    noDataExpression: true,
    options: [
      { name: 'ICS URL', value: 'ics', description: 'An iCalendar feed (webcal/https)' },
      { name: 'JSON URL', value: 'json', description: 'A JSON API of a known format, or any JSON with a field mapping' },
      { name: 'Calendar Relay Bridge Feed', value: 'bridge', description: 'A feed published by the Calendar Relay bridge (its .JSON or .ics URL)' },
    ],
    default: 'ics',
  },
  {
    displayName: 'URL',
    name: 'url',
    type: 'string',
    default: '',
    required: true,
    placeholder: 'https://example.org/calendar.ics',
    description: 'Feed URL; webcal:// is read as https://',
  },
  {
    displayName: 'JSON Format',
    name: 'jsonPreset',
    type: 'options',
    options: [
      jsonPresetOptions.caldn,
      { name: 'Detect (Caldn, LearningSpace, Sonderplan, Calendar Relay Events)', value: 'auto' },
      { name: 'Field Mapping', value: 'generic' },
      jsonPresetOptions.learningSpace,
      jsonPresetOptions.sonderplan,
    ],
    default: 'auto',
    displayOptions: { show: { source: ['json'] } },
  },
  {
    ...fieldMapCollection,
    description: 'Dot paths into each record; alternatives separated by |',
    displayOptions: { show: { source: ['json'], jsonPreset: ['generic', 'learningspace', 'sonderplan'] } },
    options: [
      fieldMapFields.end,
      fieldMapFields.id,
      { displayName: 'Items', name: 'items', type: 'string', default: '', description: 'Path to the array of records' },
      fieldMapFields.location,
      fieldMapFields.room,
      fieldMapFields.start,
      fieldMapFields.timeZone,
      fieldMapFields.title,
    ],
  },
  {
    displayName: 'Authentication',
    name: 'authentication',
    type: 'options',
    options: [
      { name: 'None', value: 'none' },
      { name: 'Feed Authentication (Basic, Bearer, Header)', value: 'feedAuth' },
      { name: 'Calendar Relay Bridge', value: 'bridge' },
    ],
    default: 'none',
  },
];

export const properties: INodeProperties[] = [
  ...feedSourceProperties,
  {
    displayName: 'Emit',
    name: 'emit',
    type: 'options',
    options: [
      { name: 'One Item per Change', value: 'each', description: 'An item per added, changed or removed event' },
      { name: 'One Item with the Whole Diff', value: 'diff', description: 'A single item with added, changed and removed lists' },
    ],
    default: 'each',
  },
  {
    displayName: 'Changes to Emit',
    name: 'changes',
    type: 'multiOptions',
    options: [
      { name: 'Added', value: 'added' },
      { name: 'Changed', value: 'changed' },
      { name: 'Removed', value: 'removed' },
    ],
    default: ['added', 'changed', 'removed'],
  },
  filterOption,
  {
    displayName: 'Options',
    name: 'options',
    type: 'collection',
    placeholder: 'Add Option',
    default: {},
    options: [
      {
        displayName: 'Allow Empty Feed',
        name: 'allowEmpty',
        type: 'boolean',
        default: false,
        description: 'Whether a feed that suddenly has no events may report all its events as removed. Off: an empty feed is treated as broken and emits nothing.',
      },
      defaultTimeZoneProperty,
      {
        displayName: 'Emit Existing Events on First Poll',
        name: 'emitOnFirstPoll',
        type: 'boolean',
        default: true,
        description: 'Whether the first poll reports every event as added. Off: the first poll only records the feed.',
      },
      {
        displayName: 'Event Identity',
        name: 'identity',
        type: 'options',
        options: [
          { name: 'UID + RECURRENCE-ID', value: 'uid' },
          { name: 'Content (Title, Times, Location)', value: 'content', description: 'For feeds whose UIDs change on every fetch' },
        ],
        default: 'uid',
      },
      {
        displayName: 'Expand Series',
        name: 'expand',
        type: 'boolean',
        default: false,
        description: 'Whether to report each occurrence of a recurring event inside the window instead of the series',
      },
      { displayName: 'Expansion Window: Days Ahead', name: 'futureDays', type: 'number', default: 90, typeOptions: { minValue: 1 } },
      { displayName: 'Expansion Window: Days Back', name: 'pastDays', type: 'number', default: 0, typeOptions: { minValue: 0 } },
      {
        displayName: 'Max Body Size (MB)',
        name: 'maxMb',
        type: 'number',
        default: 20,
        typeOptions: { minValue: 1 },
      },
      {
        displayName: 'Request Budget: Requests',
        name: 'budgetRequests',
        type: 'number',
        default: 0,
        typeOptions: { minValue: 0 },
        description: 'Most requests to this feed per budget window, however often the trigger polls (CKalender allows 20 per hour). 0 = no budget.',
      },
      { displayName: 'Request Budget: Window (Minutes)', name: 'budgetMinutes', type: 'number', default: 60, typeOptions: { minValue: 1 } },
      {
        displayName: 'Sample Size (Manual Runs)',
        name: 'sampleSize',
        type: 'number',
        default: 5,
        typeOptions: { minValue: 1 },
        description: 'Events returned when the trigger is run by hand ("Fetch Test Event"); manual runs never change the stored state',
      },
      { displayName: 'Timeout (Seconds)', name: 'timeoutS', type: 'number', default: 30, typeOptions: { minValue: 1 } },
    ],
  },
];
