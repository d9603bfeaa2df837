/** The event resource: its operations and their parameters. */
import type { INodeProperties } from 'n8n-workflow';
import * as create from './create.operation';
import * as del from './delete.operation';
import * as get from './get.operation';
import * as getMany from './getMany.operation';
import * as update from './update.operation';

export { create, del as delete, get, getMany, update };

export const operations: INodeProperties[] = [
  {
    displayName: 'Operation',
    name: 'operation',
    type: 'options',
    noDataExpression: true,
    displayOptions: { show: { provider: ['google', 'microsoft', 'caldav'] } },
    options: [
      { name: 'Create', value: 'create', description: 'Create an event', action: 'Create an event' },
      { name: 'Delete', value: 'delete', description: 'Delete an event', action: 'Delete an event' },
      { name: 'Get', value: 'get', description: 'Get an event', action: 'Get an event' },
      { name: 'Get Many', value: 'getMany', description: 'Get events in a time window', action: 'Get many events' },
      { name: 'Update', value: 'update', description: 'Update an event', action: 'Update an event' },
    ],
    default: 'getMany',
  },
  {
    displayName: 'Operation',
    name: 'operation',
    type: 'options',
    noDataExpression: true,
    displayOptions: { show: { provider: ['feed'] } },
    options: [
      { name: 'Get', value: 'get', description: 'Get an event by UID', action: 'Get an event' },
      { name: 'Get Many', value: 'getMany', description: 'Get events in a time window', action: 'Get many events' },
    ],
    default: 'getMany',
  },
];

export const fields: INodeProperties[] = [
  ...create.description,
  ...get.description,
  ...getMany.description,
  ...update.description,
  ...del.description,
];
