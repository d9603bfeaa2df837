import { NodeConnectionTypes } from 'n8n-workflow';
import type { INodeType, INodeTypeDescription } from 'n8n-workflow';
import { properties } from './description';
import { pollIcsTrigger } from './poll';

export class IcsTrigger implements INodeType {
  description: INodeTypeDescription = {
    displayName: 'ICS Trigger',
    name: 'icsTrigger',
    icon: { light: 'file:icsTrigger.svg', dark: 'file:icsTrigger.dark.svg' },
    group: ['trigger'],
    version: 1,
    subtitle: '={{$parameter["source"] === "json" ? "JSON feed" : $parameter["source"] === "bridge" ? "Bridge feed" : "ICS feed"}}',
    description: 'Starts the workflow when events in an ICS or JSON calendar feed are added, changed or removed',
    defaults: { name: 'ICS Trigger' },
    polling: true,
    inputs: [],
    outputs: [NodeConnectionTypes.Main],
    credentials: [
      { name: 'calendarRelayFeedAuthApi', required: true, displayOptions: { show: { authentication: ['feedAuth'] } } },
      { name: 'calendarRelayBridgeApi', required: true, displayOptions: { show: { authentication: ['bridge'] } } },
    ],
    properties,
  };

  poll = pollIcsTrigger;
}
