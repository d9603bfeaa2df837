/**
 * Target calendar parameters shared by Calendar Event and Room Sync: provider, credential kind and
 * the calendar/room resource locator (with a list search over Google's calendar list + Directory
 * rooms, Microsoft 365 rooms from /places, or the calendars CalDAV discovery finds from the
 * credential's base URL).
 */
import type { IDataObject, ILoadOptionsFunctions, INodeListSearchResult, INodeProperties } from 'n8n-workflow';
import { toNodeError } from './errors';
import { CalDavCalendarProvider } from '../../providers/caldav/adapter';
import type { RoutingConfig } from '../../core/routing';
import { createProvider, type ProviderAuth, type ProviderKind, type ProviderOptions, type ProviderSetup, type RequestContext } from './transport';

export function authProperties(providers: string[]): INodeProperties[] {
  return [
    {
      displayName: 'Google Authentication',
      name: 'googleAuth',
      type: 'options',
      options: [
        { name: 'Service Account', value: 'serviceAccount', description: 'Usual for room calendars (domain-wide delegation)' },
        { name: 'OAuth2 (Signed-in User)', value: 'oAuth2' },
      ],
      default: 'serviceAccount',
      displayOptions: { show: { provider: ['google'].filter((p) => providers.includes(p)) } },
    },
    {
      displayName: 'Microsoft Authentication',
      name: 'microsoftAuth',
      type: 'options',
      options: [
        { name: 'App-Only (Client Credentials)', value: 'appOnly', description: 'Usual for room mailboxes' },
        { name: 'OAuth2 (Signed-in User)', value: 'oAuth2' },
      ],
      default: 'appOnly',
      displayOptions: { show: { provider: ['microsoft'].filter((p) => providers.includes(p)) } },
    },
  ];
}

export function calendarLocator(overrides: Partial<INodeProperties> = {}): INodeProperties {
  return {
    displayName: 'Calendar',
    name: 'calendar',
    type: 'resourceLocator',
    default: { mode: 'list', value: '' },
    required: true,
    description: 'Google: a calendar or room resource; Microsoft 365: a mailbox or room (its email address); CalDAV: a calendar collection by URL, path on the server or display name',
    modes: [
      { displayName: 'From List', name: 'list', type: 'list', typeOptions: { searchListMethod: 'searchCalendars', searchable: true } },
      { displayName: 'ID', name: 'id', type: 'string', placeholder: 'room-101@example.org (CalDAV: URL or display name)' },
    ],
    ...overrides,
  };
}

type ParamContext = RequestContext & {
  getNodeParameter(name: string, ...rest: unknown[]): unknown;
  getCredentials(type: string, itemIndex?: number): Promise<IDataObject>;
};

/** The provider the node's parameters select (item `i`). */
export async function providerOf(ctx: ParamContext, i: number, options: ProviderOptions = {}): Promise<ProviderSetup> {
  const kind = ctx.getNodeParameter('provider', i) as ProviderKind;
  const auth = (kind === 'google' ? ctx.getNodeParameter('googleAuth', i, 'serviceAccount') : ctx.getNodeParameter('microsoftAuth', i, 'appOnly')) as ProviderAuth;
  return createProvider(ctx, kind, auth, options);
}

/**
 * The calendar as the provider names it: CalDAV calendars given by display name or path become
 * their collection URL (discovery from the credential's base URL); other providers take it as is.
 */
export async function resolveCalendar(setup: ProviderSetup, ref: string): Promise<string> {
  return setup.provider instanceof CalDavCalendarProvider ? setup.provider.resolveCalendarId(ref) : ref;
}

/** The routing with every calendar resolved (see resolveCalendar). */
export async function resolveRoutingFor(setup: ProviderSetup, routing: RoutingConfig): Promise<RoutingConfig> {
  return setup.provider instanceof CalDavCalendarProvider ? setup.provider.resolveRouting(routing) : routing;
}

/** List search for the calendar locator: calendars the credential can see, and rooms. */
export async function searchCalendars(this: ILoadOptionsFunctions, filter?: string): Promise<INodeListSearchResult> {
  const kind = this.getCurrentNodeParameter('provider') as ProviderKind;
  const auth = (kind === 'google' ? this.getCurrentNodeParameter('googleAuth') ?? 'serviceAccount' : this.getCurrentNodeParameter('microsoftAuth') ?? 'appOnly') as ProviderAuth;
  const setup = await createProvider(this as unknown as ParamContext, kind, auth);
  const results: Array<{ name: string; value: string }> = [];
  if (kind === 'google') {
    // The caller's own calendars (a service account without impersonation has none: skip quietly).
    const res = await setup.http({ method: 'GET', url: `${setup.baseUrl.replace(/\/?$/, '/')}calendar/v3/users/me/calendarList?maxResults=250` });
    if (res.status === 200) {
      const page = JSON.parse(res.body) as { items?: Array<{ id?: string; summary?: string }> };
      for (const c of page.items ?? []) if (c.id) results.push({ name: c.summary ? `${c.summary} (${c.id})` : c.id, value: c.id });
    }
  }
  try {
    // CalDAV: every calendar collection found from the base URL, by display name; value = its URL.
    if (kind === 'caldav') for (const r of await setup.provider.listRooms()) results.push({ name: r.name, value: r.calendarId, url: r.calendarId } as { name: string; value: string });
    else for (const r of await setup.provider.listRooms()) results.push({ name: `${r.name} (room${r.capacity !== undefined ? `, ${r.capacity} seats` : ''})`, value: r.calendarId });
  } catch (err) {
    // The caller's calendars are still worth offering when the room directory is not readable.
    if (results.length === 0) throw toNodeError(this.getNode(), err);
  }
  const f = filter?.trim().toLowerCase();
  const seen = new Set<string>();
  const unique = results.filter((r) => !seen.has(r.value) && seen.add(r.value));
  return { results: f ? unique.filter((r) => r.name.toLowerCase().includes(f) || r.value.toLowerCase().includes(f)) : unique };
}
