/**
 * Feed Export: items → iCalendar (core/ics/serialize) as a binary file or text, one calendar for
 * all items or one .ics per item; optionally published to the bridge
 * (`PUT {baseUrl}/api/feeds/{name}`, bearer admin token, body `{"events":[...]}` or ICS; the answer
 * carries `subscribeUrl`).
 */
import { NodeOperationError } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import type { CalendarEvent } from '../../core/event';
import { serializeIcs, type SerializeOptions } from '../../core/ics/serialize';
import { eventsOfItem } from '../shared/input';
import { toNodeError, errorMessage } from '../shared/errors';
import { publishFeed } from './publish';

interface Options {
  calendarName?: string;
  fileName?: string;
  method?: string;
  publishFormat?: 'json' | 'ics';
  timeZone?: string;
}

function inputParams(ctx: IExecuteFunctions, i: number) {
  return {
    inputFormat: ctx.getNodeParameter('inputFormat', i) as string,
    preset: ctx.getNodeParameter('preset', i, 'generic') as string,
    fieldMap: ctx.getNodeParameter('fieldMap', i, {}) as IDataObject,
    icsField: ctx.getNodeParameter('icsField', i, 'data') as string,
    defaultTimeZone: ctx.getNodeParameter('defaultTimeZone', i, '') as string,
  };
}

async function outputItem(ctx: IExecuteFunctions, text: string, i: number, fileName: string, json: IDataObject, pairedItem: INodeExecutionData['pairedItem']): Promise<INodeExecutionData> {
  const output = ctx.getNodeParameter('output', i) as string;
  if (output === 'text') return { json: { ...json, [ctx.getNodeParameter('textField', i, 'ics') as string]: text }, pairedItem };
  const property = ctx.getNodeParameter('binaryPropertyName', i, 'data') as string;
  const binary = await ctx.helpers.prepareBinaryData(Buffer.from(text, 'utf8'), fileName, 'text/calendar');
  return { json, binary: { [property]: binary }, pairedItem };
}

export async function executeFeedExport(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
  const items = this.getInputData();
  const node = this.getNode();
  const mode = this.getNodeParameter('mode', 0) as 'calendar' | 'perItem';
  const now = Date.now();
  const out: INodeExecutionData[] = [];

  const serializeOptions = (options: Options): SerializeOptions => ({
    now,
    ...(options.method ? { method: options.method } : {}),
    ...(options.calendarName ? { calendarName: options.calendarName } : {}),
    ...(options.timeZone ? { timeZone: options.timeZone } : {}),
  });

  if (mode === 'perItem') {
    for (let i = 0; i < items.length; i++) {
      try {
        const options = this.getNodeParameter('options', i, {}) as Options;
        const events = eventsOfItem(items[i], inputParams(this, i));
        const text = serializeIcs(events, serializeOptions(options));
        const fileName = (options.fileName || 'event-{{index}}.ics').replace('{{index}}', String(i + 1));
        out.push(await outputItem(this, text, i, fileName, { events: events.length, fileName }, { item: i }));
      } catch (err) {
        if (this.continueOnFail()) {
          out.push({ json: { error: errorMessage(err) }, pairedItem: { item: i } });
          continue;
        }
        throw toNodeError(node, err, i);
      }
    }
    return [out];
  }

  // One calendar: every usable item's events; with continueOnFail a bad item becomes an error item.
  const events: CalendarEvent[] = [];
  const used: number[] = [];
  for (let i = 0; i < items.length; i++) {
    try {
      events.push(...eventsOfItem(items[i], inputParams(this, i)));
      used.push(i);
    } catch (err) {
      if (this.continueOnFail()) {
        out.push({ json: { error: errorMessage(err) }, pairedItem: { item: i } });
        continue;
      }
      throw toNodeError(node, err, i);
    }
  }
  if (used.length === 0) return [out];
  const options = this.getNodeParameter('options', 0, {}) as Options;
  let text: string;
  try {
    text = serializeIcs(events, serializeOptions(options));
  } catch (err) {
    throw toNodeError(node, err, 0);
  }
  const json: IDataObject = { events: events.length, fileName: options.fileName || 'calendar.ics' };
  if (this.getNodeParameter('publish', 0, false) as boolean) {
    const name = (this.getNodeParameter('feedName', 0) as string).trim();
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/.test(name)) {
      throw new NodeOperationError(node, `Feed Name "${name}" may only contain letters, digits, - and _ (up to 128 characters)`, { itemIndex: 0 });
    }
    try {
      const published = await publishFeed(this, name, options.publishFormat === 'ics' ? { ics: text } : { events });
      Object.assign(json, { feedName: name, subscribeUrl: published.subscribeUrl, ...(published.version !== undefined ? { version: published.version } : {}) });
    } catch (err) {
      throw toNodeError(node, err, 0);
    }
  }
  out.unshift(await outputItem(this, text, 0, String(json.fileName), json, used.map((item) => ({ item }))));
  return [out];
}
