import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';
import { eventIdProperty } from '../common.description';
import { calendarOf, providerFor } from './context';

const properties: INodeProperties[] = [eventIdProperty];

export const description = updateDisplayOptions({ show: { operation: ['delete'] } }, properties);

export async function execute(this: IExecuteFunctions, i: number): Promise<INodeExecutionData[]> {
  const eventId = String(this.getNodeParameter('eventId', i)).trim();
  const calendarId = calendarOf(this, i);
  const { provider } = await providerFor(this, i);
  const [result] = await provider.write(calendarId, [{ op: 'delete', calendarId, key: eventId, targetId: eventId }]);
  if (!result.ok) throw result.error ?? new Error(`deleting event "${eventId}" in ${calendarId} failed`);
  return [{ json: { id: eventId, calendarId, deleted: true, ...(result.note ? { note: result.note } : {}) } }];
}
