import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';
import type { CalendarEvent } from '../../../../core/event';
import { eventTimeToUtc } from '../../../../core/time';
import { eventPredicate, filterOption, type EventFilter } from '../../../shared/filters';
import { targetFor, targetJson } from './context';
import { feedEvents } from './feed';

const properties: INodeProperties[] = [
  {
    displayName: 'After',
    name: 'timeMin',
    type: 'dateTime',
    default: '={{ $now }}',
    description: 'Events ending after this time',
  },
  {
    displayName: 'Before',
    name: 'timeMax',
    type: 'dateTime',
    default: '={{ $now.plus({ days: 30 }) }}',
    description: 'Events starting before this time',
  },
  {
    displayName: 'Expand Series',
    name: 'expandSeries',
    type: 'boolean',
    default: true,
    description: 'Whether to return each occurrence of a recurring event instead of the series',
  },
  filterOption,
  {
    displayName: 'Return',
    name: 'returnMode',
    type: 'options',
    options: [
      { name: 'Events', value: 'events', description: 'One item per event' },
      { name: 'Next Event Only', value: 'next', description: 'The first event (by start) that matches the filters' },
      { name: 'Count', value: 'count', description: 'One item with the number of matching events' },
      { name: 'Count per Room', value: 'countPerRoom', description: 'One item per room (rooms or location) with its number of events' },
    ],
    default: 'events',
  },
  {
    displayName: 'Return All',
    name: 'returnAll',
    type: 'boolean',
    default: false,
    description: 'Whether to return all results or only up to a given limit',
    displayOptions: { show: { returnMode: ['events'] } },
  },
  {
    displayName: 'Limit',
    name: 'limit',
    type: 'number',
    default: 50,
    typeOptions: { minValue: 1 },
    description: 'Max number of results to return',
    displayOptions: { show: { returnMode: ['events'], returnAll: [false] } },
  },
];

export const description = updateDisplayOptions({ show: { operation: ['getMany'] } }, properties);

function instant(value: unknown, what: string): number {
  const ms = typeof value === 'string' ? Date.parse(value) : value instanceof Date ? value.getTime() : typeof value === 'object' && value && 'toMillis' in value ? (value as { toMillis(): number }).toMillis() : NaN;
  if (Number.isNaN(ms)) throw new Error(`${what} "${String(value)}" is not a date-time`);
  return ms;
}

function startMs(e: CalendarEvent): number {
  try {
    return eventTimeToUtc(e.start);
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

export async function execute(this: IExecuteFunctions, i: number): Promise<INodeExecutionData[]> {
  const from = instant(this.getNodeParameter('timeMin', i), 'After');
  const to = instant(this.getNodeParameter('timeMax', i), 'Before');
  if (to <= from) throw new Error('Before must be later than After');
  const expand = this.getNodeParameter('expandSeries', i, true) as boolean;
  const keep = eventPredicate(this.getNodeParameter('filters', i, {}) as EventFilter);
  const mode = this.getNodeParameter('returnMode', i, 'events') as string;

  let found: IDataObject[];
  if ((this.getNodeParameter('provider', i) as string) === 'feed') {
    const events = await feedEvents(this, i, expand, { from, to });
    found = events.filter(keep).map((e) => ({ ...e }) as unknown as IDataObject);
  } else {
    const { provider, calendarId } = await targetFor(this, i);
    const listed = await provider.listEvents(calendarId, { from, to }, { expandSeries: expand });
    found = listed.filter((t) => keep(t.event)).map(targetJson);
  }
  found.sort((a, b) => startMs(a as unknown as CalendarEvent) - startMs(b as unknown as CalendarEvent));

  if (mode === 'next') {
    const now = Date.now();
    const next = found.find((e) => startMs(e as unknown as CalendarEvent) >= Math.max(from, now)) ?? found[0];
    return next ? [{ json: next }] : [];
  }
  if (mode === 'count') return [{ json: { count: found.length, from: new Date(from).toISOString(), to: new Date(to).toISOString() } }];
  if (mode === 'countPerRoom') {
    const counts = new Map<string, number>();
    for (const e of found as unknown as CalendarEvent[]) {
      const rooms = e.rooms?.length ? e.rooms : e.location ? [e.location] : ['(no room)'];
      for (const r of new Set(rooms)) counts.set(r, (counts.get(r) ?? 0) + 1);
    }
    return [...counts].sort((a, b) => a[0].localeCompare(b[0])).map(([room, count]) => ({ json: { room, count } }));
  }
  const returnAll = this.getNodeParameter('returnAll', i, false) as boolean;
  const limit = returnAll ? found.length : (this.getNodeParameter('limit', i, 50) as number);
  return found.slice(0, limit).map((json) => ({ json }));
}
