import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';
import { fingerprint } from '../../../../core/fingerprint';
import { uidKey } from '../../../../core/sync-key';
import { eventFieldProperties, eventIdProperty } from '../common.description';
import { requireOwnedOnCalDav, targetFor, targetJson } from './context';
import { CALENDAR_EVENT_SYNC_ID } from './create.operation';
import { eventFromParameters } from './fields';

const properties: INodeProperties[] = [eventIdProperty, ...eventFieldProperties];

export const description = updateDisplayOptions({ show: { operation: ['update'] } }, properties);

export async function execute(this: IExecuteFunctions, i: number): Promise<INodeExecutionData[]> {
  const eventId = String(this.getNodeParameter('eventId', i)).trim();
  const setup = await targetFor(this, i);
  const { provider, calendarId } = setup;
  const existing = await provider.getEvent(calendarId, eventId);
  if (!existing) throw new Error(`event "${eventId}" not found in calendar ${calendarId}`);
  requireOwnedOnCalDav(setup, existing, 'updating event');
  // Fields left empty keep the event's current values.
  const event = eventFromParameters(this, i, existing.event);
  const key = existing.stamp?.sourceKey ?? uidKey(event);
  const stamp = { syncId: existing.stamp?.syncId ?? CALENDAR_EVENT_SYNC_ID, sourceKey: key, fingerprint: fingerprint(event) };
  const [result] = await provider.write(calendarId, [{ op: 'update', calendarId, key, targetId: eventId, event, stamp, etag: existing.etag }]);
  if (!result.ok) throw result.error ?? new Error(`updating event "${eventId}" in ${calendarId} failed`);
  const updated = await provider.getEvent(calendarId, result.targetId ?? eventId);
  return [{ json: updated ? targetJson(updated) : { id: eventId, calendarId, ...event } as never }];
}
