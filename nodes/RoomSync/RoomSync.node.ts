import { NodeConnectionTypes } from 'n8n-workflow';
import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { properties } from './description';
import { executeRoomSync } from './execute';
import { searchCalendars } from '../shared/target';

export class RoomSync implements INodeType {
  description: INodeTypeDescription = {
    displayName: 'Room Sync',
    name: 'roomSync',
    icon: { light: 'file:roomSync.svg', dark: 'file:roomSync.dark.svg' },
    group: ['output'],
    version: 1,
    subtitle: '={{($parameter["dryRun"] ? "Dry run: " : "") + $parameter["syncId"]}}',
    description: 'Keeps Google, Microsoft 365 or CalDAV room calendars in line with the incoming events: creates, updates and deletes only what it wrote, with safety guards',
    defaults: { name: 'Room Sync' },
    inputs: [NodeConnectionTypes.Main],
    outputs: [NodeConnectionTypes.Main],
    credentials: [
      { name: 'calendarRelayGoogleServiceAccountApi', required: true, displayOptions: { show: { provider: ['google'], googleAuth: ['serviceAccount'] } } },
      { name: 'calendarRelayGoogleOAuth2Api', required: true, displayOptions: { show: { provider: ['google'], googleAuth: ['oAuth2'] } } },
      { name: 'calendarRelayMicrosoftAppOnlyApi', required: true, displayOptions: { show: { provider: ['microsoft'], microsoftAuth: ['appOnly'] } } },
      { name: 'calendarRelayMicrosoftOAuth2Api', required: true, displayOptions: { show: { provider: ['microsoft'], microsoftAuth: ['oAuth2'] } } },
      { name: 'calendarRelayCalDavApi', required: true, displayOptions: { show: { provider: ['caldav'] } } },
    ],
    properties,
    hints: [
      {
        message: 'Dry Run is on: nothing is written; the output shows what would be created, updated and deleted.',
        type: 'info',
        location: 'outputPane',
        whenToDisplay: 'always',
        displayCondition: '={{ $parameter["dryRun"] === true }}',
      },
      {
        message: 'Room Sync deletes synced events that are missing from its input (within the guards): give it the complete set of the source\'s events on every run, not only the changes an ICS Trigger reports.',
        type: 'info',
        location: 'ndv',
        whenToDisplay: 'beforeExecution',
        displayCondition: '={{ $parameter["deletePolicy"] === "propagate" }}',
      },
    ],
  };

  methods = { listSearch: { searchCalendars } };

  async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
    return executeRoomSync.call(this);
  }
}
