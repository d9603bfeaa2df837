import { NodeConnectionTypes } from 'n8n-workflow';
import type { IExecuteFunctions, INodeExecutionData, INodeProperties, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { router } from './actions/router';
import * as event from './actions/event';
import { authProperties, calendarLocator, searchCalendars } from '../shared/target';
import { feedSourceProperties } from '../IcsTrigger/description';

/** The feed source parameters, shown only for the feed provider. */
const feedProperties: INodeProperties[] = feedSourceProperties.map((p) => ({
  ...p,
  displayOptions: { ...(p.displayOptions ?? {}), show: { ...(p.displayOptions?.show ?? {}), provider: ['feed'] } },
}));

export class CalendarEvent implements INodeType {
  description: INodeTypeDescription = {
    displayName: 'Calendar Event',
    name: 'calendarEvent',
    icon: { light: 'file:calendarEvent.svg', dark: 'file:calendarEvent.dark.svg' },
    group: ['transform'],
    version: 1,
    subtitle: '={{$parameter["operation"] + ": " + $parameter["provider"]}}',
    description: 'Create, read, update and delete events in Google Calendar, Microsoft 365 or CalDAV calendars and rooms, or read a feed URL. CalDAV: Update and Delete only for events Calendar Relay wrote (this node or a Room Sync), never a person\'s own.',
    defaults: { name: 'Calendar Event' },
    usableAsTool: true,
    inputs: [NodeConnectionTypes.Main],
    outputs: [NodeConnectionTypes.Main],
    credentials: [
      { name: 'calendarRelayGoogleServiceAccountApi', required: true, displayOptions: { show: { provider: ['google'], googleAuth: ['serviceAccount'] } } },
      { name: 'calendarRelayGoogleOAuth2Api', required: true, displayOptions: { show: { provider: ['google'], googleAuth: ['oAuth2'] } } },
      { name: 'calendarRelayMicrosoftAppOnlyApi', required: true, displayOptions: { show: { provider: ['microsoft'], microsoftAuth: ['appOnly'] } } },
      { name: 'calendarRelayMicrosoftOAuth2Api', required: true, displayOptions: { show: { provider: ['microsoft'], microsoftAuth: ['oAuth2'] } } },
      { name: 'calendarRelayCalDavApi', required: true, displayOptions: { show: { provider: ['caldav'] } } },
      { name: 'calendarRelayFeedAuthApi', required: true, displayOptions: { show: { provider: ['feed'], authentication: ['feedAuth'] } } },
      { name: 'calendarRelayBridgeApi', required: true, displayOptions: { show: { provider: ['feed'], authentication: ['bridge'] } } },
    ],
    properties: [
      {
        displayName: 'Provider',
        name: 'provider',
        type: 'options',
        noDataExpression: true,
        options: [
          { name: 'Google Calendar', value: 'google' },
          { name: 'Microsoft 365', value: 'microsoft' },
          { name: 'CalDAV (Nextcloud, iCloud, Fastmail, Radicale, …)', value: 'caldav' },
          { name: 'Feed URL (Read-Only)', value: 'feed' },
        ],
        default: 'google',
      },
      ...authProperties(['google', 'microsoft']),
      ...feedProperties,
      ...event.operations,
      {
        displayName: 'CalDAV: Update and Delete work only on events Calendar Relay wrote (this node or a Room Sync); a person\'s own events are never changed.',
        name: 'caldavNotice',
        type: 'notice',
        default: '',
        displayOptions: { show: { provider: ['caldav'] } },
      },
      calendarLocator({ displayOptions: { show: { provider: ['google', 'microsoft', 'caldav'] } } }),
      ...event.fields,
    ],
  };

  methods = { listSearch: { searchCalendars } };

  async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
    return router.call(this);
  }
}
