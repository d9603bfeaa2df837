import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';
import { fingerprint } from '../../../../core/fingerprint';
import { uidKey } from '../../../../core/sync-key';
import { eventFieldProperties } from '../common.description';
import { targetFor, targetJson } from './context';
import { eventFromParameters } from './fields';

/** Events written by this node carry this sync id, so a Room Sync (with its own id) never touches them. */
export const CALENDAR_EVENT_SYNC_ID = 'n8n-calendar-event';

const properties: INodeProperties[] = [...eventFieldProperties];

export const description = updateDisplayOptions({ show: { operation: ['create'] } }, properties);

export async function execute(this: IExecuteFunctions, i: number): Promise<INodeExecutionData[]> {
  const event = eventFromParameters(this, i);
  const { provider, calendarId } = await targetFor(this, i);
  const key = uidKey(event);
  const [result] = await provider.write(calendarId, [{ op: 'create', calendarId, key, event, stamp: { syncId: CALENDAR_EVENT_SYNC_ID, sourceKey: key, fingerprint: fingerprint(event) } }]);
  if (!result.ok) throw result.error ?? new Error(`creating the event in ${calendarId} failed`);
  const created = result.targetId ? await provider.getEvent(calendarId, result.targetId) : undefined;
  return [{ json: created ? targetJson(created) : { id: result.targetId, calendarId, ...event } as never }];
}
