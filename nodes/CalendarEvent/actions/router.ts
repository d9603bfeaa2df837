/**
 * Calendar Event router: one operation per item, its output items paired with the item; errors
 * become n8n errors with the item index (toNodeError), or error items with continueOnFail.
 */
import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { toNodeError, errorMessage } from '../../shared/errors';
import * as event from './event';

type Operation = (this: IExecuteFunctions, i: number) => Promise<INodeExecutionData[]>;

const OPERATIONS: Record<string, Operation> = {
  create: event.create.execute,
  get: event.get.execute,
  getMany: event.getMany.execute,
  update: event.update.execute,
  delete: event.delete.execute,
};

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
  const items = this.getInputData();
  const out: INodeExecutionData[] = [];
  for (let i = 0; i < items.length; i++) {
    try {
      const operation = this.getNodeParameter('operation', i) as string;
      const provider = this.getNodeParameter('provider', i) as string;
      if (provider === 'feed' && operation !== 'get' && operation !== 'getMany') throw new Error(`a feed URL is read-only: operation "${operation}" needs Google, Microsoft 365 or CalDAV`);
      const run = OPERATIONS[operation];
      if (!run) throw new Error(`unknown operation "${operation}"`);
      const results = await run.call(this, i);
      for (const r of results) out.push({ ...r, pairedItem: { item: i } });
    } catch (err) {
      if (this.continueOnFail()) {
        out.push({ json: { error: errorMessage(err) }, pairedItem: { item: i } });
        continue;
      }
      throw toNodeError(this.getNode(), err, i);
    }
  }
  return [out];
}
