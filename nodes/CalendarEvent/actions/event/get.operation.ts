import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';
import { eventIdProperty } from '../common.description';
import { targetFor, targetJson } from './context';
import { feedEvents } from './feed';

const properties: INodeProperties[] = [eventIdProperty];

export const description = updateDisplayOptions({ show: { operation: ['get'] } }, properties);

export async function execute(this: IExecuteFunctions, i: number): Promise<INodeExecutionData[]> {
  const eventId = String(this.getNodeParameter('eventId', i)).trim();
  if ((this.getNodeParameter('provider', i) as string) === 'feed') {
    const events = (await feedEvents(this, i, false)).filter((e) => e.uid === eventId);
    if (events.length === 0) throw new Error(`no event with UID "${eventId}" in the feed`);
    return events.map((e) => ({ json: { ...e } as never }));
  }
  const { provider, calendarId } = await targetFor(this, i);
  const found = await provider.getEvent(calendarId, eventId);
  if (!found) throw new Error(`event "${eventId}" not found in calendar ${calendarId}`);
  return [{ json: targetJson(found) }];
}
