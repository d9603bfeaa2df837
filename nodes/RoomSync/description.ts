/** Room Sync parameters (no logic here: see execute.ts). */
import type { INodeProperties } from 'n8n-workflow';
import { inputProperties } from '../shared/input';
import { authProperties, calendarLocator } from '../shared/target';

export const properties: INodeProperties[] = [
  {
    displayName: 'Provider',
    name: 'provider',
    type: 'options',
    noDataExpression: true,
    options: [
      { name: 'Google Calendar', value: 'google' },
      { name: 'Microsoft 365', value: 'microsoft' },
    ],
    default: 'google',
  },
  ...authProperties(['google', 'microsoft']),
  {
    displayName: 'Sync ID',
    name: 'syncId',
    type: 'string',
    default: '',
    required: true,
    placeholder: 'ckalender-rooms',
    description: 'Names this sync. Only events it wrote (stamped with this ID) are ever updated or deleted; use one ID per source-to-rooms flow.',
  },
  ...inputProperties,
  {
    displayName: 'Source ID',
    name: 'sourceId',
    type: 'string',
    default: '',
    description: 'Names the source of events that carry none (part of each event\'s identity); keep it stable',
  },
  {
    displayName: 'Target',
    name: 'targetMode',
    type: 'options',
    noDataExpression: true,
    options: [
      { name: 'One Calendar or Room', value: 'single' },
      { name: 'Room per Event (Mapping Table)', value: 'mapping' },
    ],
    default: 'single',
  },
  calendarLocator({ displayOptions: { show: { targetMode: ['single'] } } }),
  {
    displayName: 'Room Field',
    name: 'routeBy',
    type: 'options',
    options: [
      { name: 'Rooms (Event Rooms List)', value: 'rooms' },
      { name: 'Location', value: 'location' },
      { name: 'X-Property', value: 'xProp' },
      { name: 'Field Path', value: 'path' },
    ],
    default: 'rooms',
    description: 'Which value of each event names its room',
    displayOptions: { show: { targetMode: ['mapping'] } },
  },
  {
    displayName: 'X-Property or Path',
    name: 'routeName',
    type: 'string',
    default: '',
    placeholder: 'X-KALTURA-RESOURCE-IDS',
    displayOptions: { show: { targetMode: ['mapping'], routeBy: ['xProp', 'path'] } },
  },
  {
    displayName: 'Match',
    name: 'routeMatch',
    type: 'options',
    options: [
      { name: 'Exact (Case-Insensitive)', value: 'exact' },
      { name: 'Contains', value: 'contains', description: '"Room 101, Building A" matches the key "room 101"' },
    ],
    default: 'exact',
    displayOptions: { show: { targetMode: ['mapping'] } },
  },
  {
    displayName: 'Room Table',
    name: 'roomMap',
    type: 'fixedCollection',
    typeOptions: { multipleValues: true },
    default: {},
    placeholder: 'Add Room',
    displayOptions: { show: { targetMode: ['mapping'] } },
    options: [
      {
        displayName: 'Room',
        name: 'room',
        values: [
          { displayName: 'Value in the Event', name: 'value', type: 'string', default: '', placeholder: 'HS 1' },
          { displayName: 'Calendar (Room Email or ID)', name: 'calendar', type: 'string', default: '', placeholder: 'hs1@resource.example.org' },
        ],
      },
    ],
  },
  {
    displayName: 'Default Calendar',
    name: 'defaultCalendar',
    type: 'string',
    default: '',
    description: 'Calendar for events whose room is missing or not in the table; empty: such events are reported as unmapped',
    displayOptions: { show: { targetMode: ['mapping'] } },
  },
  {
    displayName: 'Delete Policy',
    name: 'deletePolicy',
    type: 'options',
    options: [
      { name: 'Propagate', value: 'propagate', description: 'Delete synced events that left the source' },
      { name: 'Never Delete', value: 'never', description: 'Keep synced events that left the source (reported as kept)' },
    ],
    default: 'propagate',
  },
  {
    displayName: 'Dry Run',
    name: 'dryRun',
    type: 'boolean',
    default: false,
    description: 'Whether to only plan: the output shows what would be written, nothing is changed',
  },
  {
    displayName: 'Conflict Report',
    name: 'conflictReport',
    type: 'boolean',
    default: false,
    description: 'Whether to add one item per foreign event (e.g. a person\'s direct booking) that overlaps a synced event in the same room',
  },
  {
    displayName: 'Options',
    name: 'options',
    type: 'collection',
    placeholder: 'Add Option',
    default: {},
    options: [
      { displayName: 'Allow Empty Source', name: 'allowEmptySource', type: 'boolean', default: false, description: 'Whether a source that delivered no events may delete all its synced events (guard override)' },
      {
        displayName: 'Event Identity',
        name: 'identity',
        type: 'options',
        options: [
          { name: 'UID + RECURRENCE-ID', value: 'uid' },
          { name: 'Content (Title, Times, Location)', value: 'content', description: 'For sources whose UIDs change on every fetch' },
        ],
        default: 'uid',
      },
      { displayName: 'Force', name: 'force', type: 'boolean', default: false, description: 'Whether to go ahead although the delete limits are exceeded (guard override)' },
      { displayName: 'Max Deletes (% of Synced Events)', name: 'maxDeletesPercent', type: 'number', default: 30, typeOptions: { minValue: 0, maxValue: 100 }, description: 'Guard: deleting more than this share of a calendar\'s synced events stops the sync (from 10 synced events up)' },
      { displayName: 'Max Deletes per Calendar', name: 'maxDeletesCount', type: 'number', default: 50, typeOptions: { minValue: 0 }, description: 'Guard: more deletes than this in one calendar stop the sync' },
      {
        displayName: 'Recurrence',
        name: 'recurrence',
        type: 'options',
        options: [
          { name: 'As Series Where Possible', value: 'series' },
          { name: 'Always Single Occurrences', value: 'expand' },
        ],
        default: 'series',
      },
      { displayName: 'Sync Window: Days Ahead', name: 'futureDays', type: 'number', default: 365, typeOptions: { minValue: 1 } },
      { displayName: 'Sync Window: Days Back', name: 'pastDays', type: 'number', default: 7, typeOptions: { minValue: 0 } },
      { displayName: 'Time Zone for Floating Times', name: 'timeZone', type: 'string', default: '', placeholder: 'Europe/Berlin', description: 'IANA zone for times without a zone and all-day events (default: the calendar\'s own)' },
      {
        displayName: 'Unmapped Synced Events',
        name: 'unmapped',
        type: 'options',
        options: [
          { name: 'Keep', value: 'keep' },
          { name: 'Delete', value: 'delete' },
        ],
        default: 'keep',
        description: 'What happens to synced copies of events that now map to no room',
      },
    ],
  },
];
