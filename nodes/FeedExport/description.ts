/** Feed Export parameters (no logic here: see execute.ts). */
import type { INodeProperties } from 'n8n-workflow';
import { inputProperties } from '../shared/input';

export const properties: INodeProperties[] = [
  ...inputProperties,
  {
    displayName: 'Mode',
    name: 'mode',
    type: 'options',
    noDataExpression: true,
    options: [
      { name: 'One Calendar for All Items', value: 'calendar', description: 'A single .ics with every event' },
      { name: 'One .Ics per Item', value: 'perItem', description: 'An .ics file for each input item (e.g. to attach to an email)' },
    ],
    default: 'calendar',
  },
  {
    displayName: 'Output',
    name: 'output',
    type: 'options',
    options: [
      { name: 'Binary File', value: 'binary' },
      { name: 'Text Field', value: 'text' },
    ],
    default: 'binary',
  },
  {
    displayName: 'Put Output File in Field',
    name: 'binaryPropertyName',
    type: 'string',
    default: 'data',
    hint: 'The name of the output binary field to put the file in',
    displayOptions: { show: { output: ['binary'] } },
  },
  {
    displayName: 'Text Field',
    name: 'textField',
    type: 'string',
    default: 'ics',
    displayOptions: { show: { output: ['text'] } },
  },
  {
    displayName: 'Publish to Calendar Relay Bridge',
    name: 'publish',
    type: 'boolean',
    default: false,
    description: 'Whether to publish the calendar as a named feed on the bridge; the output then carries its subscribe URL',
    displayOptions: { show: { mode: ['calendar'] } },
  },
  {
    displayName: 'Feed Name',
    name: 'feedName',
    type: 'string',
    default: '',
    required: true,
    placeholder: 'room-101',
    description: 'Name of the feed on the bridge (letters, digits, - and _)',
    displayOptions: { show: { mode: ['calendar'], publish: [true] } },
  },
  {
    displayName: 'Options',
    name: 'options',
    type: 'collection',
    placeholder: 'Add Option',
    default: {},
    options: [
      { displayName: 'Calendar Name', name: 'calendarName', type: 'string', default: '', description: 'X-WR-CALNAME shown by calendar apps' },
      { displayName: 'File Name', name: 'fileName', type: 'string', default: 'calendar.ics', description: 'For one .ics per item, {{index}} is replaced by the item number' },
      {
        displayName: 'METHOD',
        name: 'method',
        type: 'options',
        options: [
          { name: 'None', value: '' },
          { name: 'PUBLISH', value: 'PUBLISH' },
          { name: 'REQUEST', value: 'REQUEST' },
          { name: 'CANCEL', value: 'CANCEL' },
        ],
        default: '',
        description: 'ICalendar METHOD (PUBLISH for feeds; REQUEST/CANCEL for invitations)',
      },
      {
        displayName: 'Publish As',
        name: 'publishFormat',
        type: 'options',
        options: [
          { name: 'Event JSON', value: 'json' },
          { name: 'ICS', value: 'ics' },
        ],
        default: 'json',
        description: 'What is sent to the bridge; both are served as .ics and .JSON',
      },
      { displayName: 'Time Zone', name: 'timeZone', type: 'string', default: '', placeholder: 'Europe/Berlin', description: 'X-WR-TIMEZONE (the calendar\'s default zone)' },
    ],
  },
];
