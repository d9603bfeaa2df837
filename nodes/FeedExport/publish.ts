/** Publishing a feed on the Calendar Relay bridge: `PUT {baseUrl}/api/feeds/{name}` with the admin token. */
import type { IExecuteFunctions } from 'n8n-workflow';
import type { CalendarEvent } from '../../core/event';
import { ProviderError } from '../../providers/port';
import { n8nHttpPort } from '../shared/transport';

export interface Published {
  subscribeUrl: string;
  version?: number | string;
}

export async function publishFeed(ctx: IExecuteFunctions, name: string, body: { events: CalendarEvent[] } | { ics: string }): Promise<Published> {
  const creds = await ctx.getCredentials('calendarRelayBridgeApi');
  const base = String(creds.baseUrl ?? '').replace(/\/+$/, '');
  if (!/^https?:\/\//.test(base)) throw new Error(`the Bridge API credential's Base URL "${base}" is not an http(s) URL`);
  const http = n8nHttpPort(ctx, { credentialType: 'calendarRelayBridgeApi' });
  const isIcs = 'ics' in body;
  const res = await http({
    method: 'PUT',
    url: `${base}/api/feeds/${encodeURIComponent(name)}`,
    headers: { 'content-type': isIcs ? 'text/calendar; charset=utf-8' : 'application/json' },
    body: isIcs ? body.ics : JSON.stringify({ events: body.events }),
  });
  let json: { subscribeUrl?: unknown; version?: unknown; error?: unknown; message?: unknown } | undefined;
  try {
    json = JSON.parse(res.body) as typeof json;
  } catch {
    json = undefined;
  }
  if (res.status < 200 || res.status >= 300) {
    const detail = json && (typeof json.message === 'string' ? json.message : typeof json.error === 'string' ? json.error : undefined);
    throw new ProviderError(`bridge answered HTTP ${res.status} publishing feed "${name}"${detail ? `: ${detail}` : ''}`, { status: res.status, retryable: false, scope: res.status === 401 || res.status === 403 ? 'auth' : 'op' });
  }
  if (!json || typeof json.subscribeUrl !== 'string') throw new ProviderError(`bridge answered HTTP ${res.status} publishing feed "${name}" but without a subscribeUrl`, { status: res.status, retryable: false });
  return { subscribeUrl: json.subscribeUrl, ...(typeof json.version === 'number' || typeof json.version === 'string' ? { version: json.version } : {}) };
}
