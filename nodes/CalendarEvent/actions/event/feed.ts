/** Calendar Event on a feed URL (read-only): fetch once, parse, optionally expand. */
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import type { CalendarEvent } from '../../../../core/event';
import { pollFeed } from '../../../../providers/feed/url';
import { eventsOfBody, feedCredentialType, feedUrl, type FeedParams } from '../../../shared/feed';
import { n8nHttpPort } from '../../../shared/transport';

export async function feedEvents(ctx: IExecuteFunctions, i: number, expand: boolean, window?: { from: number; to: number }): Promise<CalendarEvent[]> {
  const params: FeedParams = {
    source: ctx.getNodeParameter('source', i) as FeedParams['source'],
    url: ctx.getNodeParameter('url', i) as string,
    jsonPreset: ctx.getNodeParameter('jsonPreset', i, 'auto') as string,
    fieldMap: ctx.getNodeParameter('fieldMap', i, {}) as IDataObject,
    authentication: ctx.getNodeParameter('authentication', i, 'none') as string,
    sourceId: 'feed',
  };
  const http = n8nHttpPort(ctx, { credentialType: feedCredentialType(params.authentication) });
  const read = await pollFeed({ id: 'feed', url: feedUrl(params.url) }, undefined, { http });
  const now = Date.now();
  const w = window ?? { from: now, to: now + 90 * 86_400_000 };
  return eventsOfBody(read.bytes!, params, { expand, pastDays: (now - w.from) / 86_400_000, futureDays: (w.to - now) / 86_400_000 }, {}, now).events;
}
