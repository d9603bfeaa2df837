import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';
import { eventIdProperty } from '../common.description';
import { requireOwnedOnCalDav, targetFor } from './context';

const properties: INodeProperties[] = [eventIdProperty];

export const description = updateDisplayOptions({ show: { operation: ['delete'] } }, properties);

export async function execute(this: IExecuteFunctions, i: number): Promise<INodeExecutionData[]> {
  const eventId = String(this.getNodeParameter('eventId', i)).trim();
  const setup = await targetFor(this, i);
  const { provider, calendarId } = setup;
  let key = eventId;
  if (provider.kind === 'caldav') {
    // CalDAV deletes only a resource that still carries our stamp for that key (If-Match on its ETag).
    const existing = await provider.getEvent(calendarId, eventId);
    if (!existing) throw new Error(`event "${eventId}" not found in calendar ${calendarId}`);
    requireOwnedOnCalDav(setup, existing, 'deleting event');
    key = existing.stamp!.sourceKey;
  }
  const [result] = await provider.write(calendarId, [{ op: 'delete', calendarId, key, targetId: eventId }]);
  if (!result.ok) throw result.error ?? new Error(`deleting event "${eventId}" in ${calendarId} failed`);
  return [{ json: { id: eventId, calendarId, deleted: true, ...(result.note ? { note: result.note } : {}) } }];
}
