import { NodeConnectionTypes } from 'n8n-workflow';
import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { properties } from './description';
import { executeFeedExport } from './execute';

export class FeedExport implements INodeType {
  description: INodeTypeDescription = {
    displayName: 'Feed Export',
    name: 'feedExport',
    icon: { light: 'file:feedExport.svg', dark: 'file:feedExport.dark.svg' },
    group: ['transform'],
    version: 1,
    subtitle: '={{$parameter["mode"] === "perItem" ? "One .ics per item" : "One calendar"}}',
    description: 'Turns events into an iCalendar (.ics) file or text, and can publish it as a feed on the Calendar Relay bridge',
    defaults: { name: 'Feed Export' },
    usableAsTool: true,
    inputs: [NodeConnectionTypes.Main],
    outputs: [NodeConnectionTypes.Main],
    credentials: [{ name: 'calendarRelayBridgeApi', required: true, displayOptions: { show: { publish: [true] } } }],
    properties,
  };

  async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
    return executeFeedExport.call(this);
  }
}
