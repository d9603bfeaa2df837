/** Parameters shared by several Calendar Event operations (no logic here). */
import type { INodeProperties } from 'n8n-workflow';

export const eventIdProperty: INodeProperties = {
  displayName: 'Event ID',
  name: 'eventId',
  type: 'string',
  default: '',
  required: true,
  description: 'The provider\'s event ID (for a feed URL: the event\'s UID)',
};

export const eventFieldProperties: INodeProperties[] = [
  {
    displayName: 'Event Data',
    name: 'eventSource',
    type: 'options',
    options: [
      { name: 'Fields Below', value: 'fields' },
      { name: 'Input Item (Calendar Relay Event JSON)', value: 'item', description: 'Use the whole input item, e.g. from ICS Trigger' },
    ],
    default: 'fields',
  },
  {
    displayName: 'Title',
    name: 'title',
    type: 'string',
    default: '',
    displayOptions: { show: { eventSource: ['fields'] } },
  },
  {
    displayName: 'Start',
    name: 'start',
    type: 'dateTime',
    default: '',
    description: 'Start time; with an offset or Z it is an instant, without one it is read in the time zone below',
    displayOptions: { show: { eventSource: ['fields'] } },
  },
  {
    displayName: 'End',
    name: 'end',
    type: 'dateTime',
    default: '',
    description: 'End time (exclusive day after the last day for all-day events); empty: one hour after start, or one day when all-day',
    displayOptions: { show: { eventSource: ['fields'] } },
  },
  {
    displayName: 'Additional Fields',
    name: 'additionalFields',
    type: 'collection',
    placeholder: 'Add Field',
    default: {},
    displayOptions: { show: { eventSource: ['fields'] } },
    options: [
      { displayName: 'All Day', name: 'allDay', type: 'boolean', default: false, description: 'Whether the event lasts whole days (only the dates of Start and End count)' },
      {
        displayName: 'Attendees',
        name: 'attendees',
        type: 'fixedCollection',
        typeOptions: { multipleValues: true },
        default: {},
        description: 'People to invite (Google and Microsoft 365). On update they replace the event\'s attendees. Google sends no invitation e-mails (sendUpdates stays at its default, none); Microsoft 365 sends invitations from the calendar\'s mailbox.',
        options: [
          {
            displayName: 'Attendee',
            name: 'attendee',
            values: [
              { displayName: 'Email', name: 'email', type: 'string', placeholder: 'name@email.com', default: '' },
              { displayName: 'Name', name: 'name', type: 'string', default: '' },
              { displayName: 'Optional', name: 'optional', type: 'boolean', default: false, description: 'Whether the attendee is optional (otherwise required)' },
            ],
          },
        ],
      },
      { displayName: 'Description', name: 'description', type: 'string', typeOptions: { rows: 3 }, default: '' },
      { displayName: 'Location', name: 'location', type: 'string', default: '' },
      { displayName: 'Recurrence (RRULE)', name: 'rrule', type: 'string', default: '', placeholder: 'FREQ=WEEKLY;BYDAY=MO;COUNT=10' },
      {
        displayName: 'Show As',
        name: 'transparency',
        type: 'options',
        options: [
          { name: 'Busy', value: 'OPAQUE' },
          { name: 'Free', value: 'TRANSPARENT' },
        ],
        default: 'OPAQUE',
      },
      {
        displayName: 'Status',
        name: 'status',
        type: 'options',
        options: [
          { name: 'Confirmed', value: 'CONFIRMED' },
          { name: 'Tentative', value: 'TENTATIVE' },
          { name: 'Cancelled', value: 'CANCELLED' },
        ],
        default: 'CONFIRMED',
      },
      { displayName: 'Time Zone', name: 'timeZone', type: 'string', default: '', placeholder: 'Europe/Berlin', description: 'IANA zone of Start and End when they carry no offset' },
      { displayName: 'UID', name: 'uid', type: 'string', default: '', description: 'ICalendar UID (default: a new random one)' },
      {
        displayName: 'X-Properties',
        name: 'xProps',
        type: 'fixedCollection',
        typeOptions: { multipleValues: true },
        default: {},
        description: 'Vendor properties (e.g. X-KALTURA-ID), stored as shared extended properties (Google) or single-value extended properties (Microsoft). Names up to 44 characters, values up to 1024.',
        options: [
          {
            displayName: 'Property',
            name: 'property',
            values: [
              { displayName: 'Name', name: 'name', type: 'string', default: 'X-', placeholder: 'X-KALTURA-RESOURCE-IDS' },
              { displayName: 'Value', name: 'value', type: 'string', default: '' },
            ],
          },
        ],
      },
    ],
  },
];
