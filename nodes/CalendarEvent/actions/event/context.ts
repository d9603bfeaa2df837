/** What every operation gets: the item's provider (cached per execution) and calendar. */
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import type { TargetEvent } from '../../../../providers/port';
import type { ProviderSetup } from '../../../shared/transport';
import { providerOf, resolveCalendar } from '../../../shared/target';

const setups = new WeakMap<object, Map<string, Promise<ProviderSetup>>>();

/** One provider per (provider, authentication) per execution. */
export function providerFor(ctx: IExecuteFunctions, i: number): Promise<ProviderSetup> {
  const key = `${String(ctx.getNodeParameter('provider', i))}/${String(ctx.getNodeParameter('googleAuth', i, ''))}/${String(ctx.getNodeParameter('microsoftAuth', i, ''))}`;
  // The execute context is one object for the whole run of the node (getWorkflow() is a new object per call).
  const anchor = ctx as object;
  let cache = setups.get(anchor);
  if (!cache) setups.set(anchor, (cache = new Map()));
  let p = cache.get(key);
  if (!p) {
    // Calendar Event writes attendees as given (Room Sync never does).
    p = providerOf(ctx, i, { writeAttendees: true });
    cache.set(key, p);
    p.catch(() => cache!.delete(key));
  }
  return p;
}

export function calendarOf(ctx: IExecuteFunctions, i: number): string {
  const value = String(ctx.getNodeParameter('calendar', i, '', { extractValue: true }) ?? '').trim();
  if (!value) throw new Error('Calendar is required');
  return value;
}

/** A target event as an output item: provider id, calendar, our ownership (if any) and the event fields. */
export function targetJson(t: TargetEvent): IDataObject {
  return { id: t.id, calendarId: t.calendarId, ...(t.stamp ? { syncId: t.stamp.syncId, sourceKey: t.stamp.sourceKey } : {}), ...t.event } as unknown as IDataObject;
}

/** The item's provider and its calendar, resolved (CalDAV: a display name or path becomes the collection URL). */
export async function targetFor(ctx: IExecuteFunctions, i: number): Promise<ProviderSetup & { calendarId: string }> {
  const raw = calendarOf(ctx, i);
  const setup = await providerFor(ctx, i);
  return { ...setup, calendarId: await resolveCalendar(setup, raw) };
}

/**
 * CalDAV only changes what Calendar Relay wrote (the provider leaves foreign resources alone, and an
 * update of an unstamped event would land in a new resource next to it): say so before trying.
 */
export function requireOwnedOnCalDav(setup: ProviderSetup, t: TargetEvent, what: string): void {
  if (setup.provider.kind === 'caldav' && (!t.stamp || t.copy)) {
    throw new Error(`${what} "${t.id}": on CalDAV only events written by Calendar Relay (this node or a Room Sync) can be changed; this one is someone else's and was left alone`);
  }
}
