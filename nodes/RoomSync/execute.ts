/**
 * Room Sync: input items (desired events) → syncCalendars (route, list, plan with guards) →
 * applyPlan, unless dry run. Outputs one item per planned operation (created / updated / deleted /
 * unchanged / skipped / kept / failed, with reason and target ids) paired with the input item the
 * event came from, an item per calendar that could not be read, optional conflict items, and a
 * summary item. A calendar that fails does not stop the others (syncCalendars and applyPlan keep
 * going per calendar).
 *
 * Data safety: with continueOnFail a bad input item is left out — but then its events would look
 * deleted, so every delete of that run is held back (kept) and the summary says why; the same when
 * some events of an item could not be read. The delete policy "never" does it on purpose.
 */
import { NodeOperationError, sleep } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions, INodeExecutionData, IPairedItemData } from 'n8n-workflow';
import type { CalendarEvent } from '../../core/event';
import { eventTimeToUtc } from '../../core/time';
import { keyEvents } from '../../core/snapshot';
import type { RoutingConfig, RoutingField } from '../../core/routing';
import type { PlannedOp, SyncPlan, SyncPolicy } from '../../core/sync-types';
import { SourceEmptyError, DeleteLimitError } from '../../core/guards';
import { syncCalendars } from '../../providers/sync';
import { applyPlan, type ApplyReport } from '../../providers/apply';
import type { CalendarProvider, TargetEvent } from '../../providers/port';
import { eventsOfItem } from '../shared/input';
import { providerOf, resolveRoutingFor } from '../shared/target';
import { toNodeError, errorMessage } from '../shared/errors';
import { MAX_SNAPSHOT_CHARS, StaticDataStore } from './listing-state';

interface Options {
  allowEmptySource?: boolean;
  caldavListing?: 'incremental' | 'full';
  force?: boolean;
  identity?: 'uid' | 'content';
  maxDeletesCount?: number;
  maxDeletesPercent?: number;
  recurrence?: 'series' | 'expand';
  pastDays?: number;
  futureDays?: number;
  timeZone?: string;
  unmapped?: 'keep' | 'delete';
}

const RESULT: Record<string, string> = { create: 'created', update: 'updated', delete: 'deleted', unchanged: 'unchanged', skip: 'skipped' };

function routingOf(ctx: IExecuteFunctions): RoutingConfig {
  if ((ctx.getNodeParameter('targetMode', 0) as string) === 'single') {
    const target = String(ctx.getNodeParameter('calendar', 0, '', { extractValue: true }) ?? '').trim();
    if (!target) throw new NodeOperationError(ctx.getNode(), 'Calendar is required', { itemIndex: 0, description: 'Choose the room or calendar to sync into.' });
    return { target };
  }
  const by = ctx.getNodeParameter('routeBy', 0) as RoutingField['kind'];
  const name = (ctx.getNodeParameter('routeName', 0, '') as string).trim();
  if ((by === 'xProp' || by === 'path') && !name) throw new NodeOperationError(ctx.getNode(), 'X-Property or Path is required for this Room Field', { itemIndex: 0 });
  const field: RoutingField = by === 'xProp' ? { kind: 'xProp', name } : by === 'path' ? { kind: 'path', path: name } : { kind: by };
  const rows = ((ctx.getNodeParameter('roomMap', 0, {}) as IDataObject).room as IDataObject[] | undefined) ?? [];
  const map: Record<string, string[]> = {};
  for (const r of rows) {
    const value = String(r.value ?? '').trim();
    const calendar = String(r.calendar ?? '').trim();
    if (!value || !calendar) continue;
    (map[value] ??= []).push(calendar);
  }
  const fallback = (ctx.getNodeParameter('defaultCalendar', 0, '') as string).trim();
  if (Object.keys(map).length === 0 && !fallback) {
    throw new NodeOperationError(ctx.getNode(), 'The Room Table is empty and there is no Default Calendar', { itemIndex: 0, description: 'Add a row per room: the value events carry and the room\'s calendar (email).' });
  }
  return { by: field, map, match: ctx.getNodeParameter('routeMatch', 0, 'exact') as 'exact' | 'contains', ...(fallback ? { default: fallback } : {}) };
}

/** Master key (first three tokens) of a source key, for pairing overrides and occurrences with their item. */
function masterPart(key: string): string {
  return key.split(' ').slice(0, 3).join(' ');
}

function holdDeletes(plan: SyncPlan, reason: string): number {
  let held = 0;
  for (const op of plan.ops) {
    if (op.action === 'delete' && !op.duplicate && !op.replaced) {
      op.action = 'skip';
      op.reason = `kept: ${reason} (would have been deleted: ${op.reason})`;
      held++;
    }
  }
  plan.counts.delete -= held;
  plan.counts.skip += held;
  return held;
}

function interval(e: CalendarEvent, zone: string): [number, number] | undefined {
  try {
    return [eventTimeToUtc(e.start, zone), eventTimeToUtc(e.end, zone)];
  } catch {
    return undefined;
  }
}

async function conflicts(provider: CalendarProvider, plan: SyncPlan, syncId: string, zone: string, dryRun: boolean): Promise<IDataObject[]> {
  const out: IDataObject[] = [];
  const calendars = [...new Set(plan.ops.map((o) => o.calendarId))];
  for (const calendarId of calendars) {
    const listed: TargetEvent[] = await provider.listEvents(calendarId, plan.window, { expandSeries: true });
    const ours = listed.filter((t) => t.stamp?.syncId === syncId).map((t) => ({ id: t.id as string | undefined, event: t.event }));
    // In a dry run the planned creates are not written yet: count them as ours too.
    for (const op of plan.ops) if (op.calendarId === calendarId && op.action === 'create' && op.event && dryRun) ours.push({ id: undefined, event: op.event });
    const foreign = listed.filter((t) => !t.stamp || t.stamp.syncId !== syncId);
    for (const f of foreign) {
      const fi = interval(f.event, zone);
      if (!fi || f.event.status === 'CANCELLED' || f.event.transparency === 'TRANSPARENT') continue;
      for (const o of ours) {
        const oi = interval(o.event, zone);
        if (!oi || !(fi[0] < oi[1] && oi[0] < fi[1])) continue;
        out.push({
          conflict: true, calendarId,
          foreign: { id: f.id, title: f.event.title, start: f.event.start, end: f.event.end, ...(f.event.organizer ? { organizer: f.event.organizer } : {}) } as unknown as IDataObject,
          synced: { id: o.id ?? null, title: o.event.title, start: o.event.start, end: o.event.end, uid: o.event.uid } as unknown as IDataObject,
        });
      }
    }
  }
  return out;
}

export async function executeRoomSync(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
  const node = this.getNode();
  const items = this.getInputData();
  const allPaired: IPairedItemData[] = items.map((_, item) => ({ item }));
  const out: INodeExecutionData[] = [];

  const syncId = (this.getNodeParameter('syncId', 0) as string).trim();
  if (!syncId) throw new NodeOperationError(node, 'Sync ID is required', { itemIndex: 0, description: 'Give this sync a stable name, e.g. "ckalender-rooms".' });
  const options = this.getNodeParameter('options', 0, {}) as Options;
  const dryRun = this.getNodeParameter('dryRun', 0, false) as boolean;
  const deletePolicy = this.getNodeParameter('deletePolicy', 0, 'propagate') as string;
  const routing = routingOf(this);

  // Desired events, remembering which item each came from.
  const desired: CalendarEvent[] = [];
  const itemOfKey = new Map<string, number>();
  const badItems: number[] = [];
  const unreadable: string[] = [];
  for (let i = 0; i < items.length; i++) {
    try {
      const problems: string[] = [];
      const events = eventsOfItem(items[i], {
        inputFormat: this.getNodeParameter('inputFormat', i) as string,
        preset: this.getNodeParameter('preset', i, 'generic') as string,
        fieldMap: this.getNodeParameter('fieldMap', i, {}) as IDataObject,
        icsField: this.getNodeParameter('icsField', i, 'data') as string,
        defaultTimeZone: this.getNodeParameter('defaultTimeZone', i, '') as string,
        sourceId: (this.getNodeParameter('sourceId', i, '') as string).trim(),
      }, problems);
      unreadable.push(...problems.map((p) => `item ${i}: ${p}`));
      for (const { key } of keyEvents(events, { identity: options.identity })) if (!itemOfKey.has(masterPart(key))) itemOfKey.set(masterPart(key), i);
      desired.push(...events);
    } catch (err) {
      if (!this.continueOnFail()) throw toNodeError(node, err, i);
      badItems.push(i);
      out.push({ json: { action: 'failed', error: errorMessage(err) }, pairedItem: { item: i } });
    }
  }

  const policy: SyncPolicy = {
    syncId,
    identity: options.identity ?? 'uid',
    window: { pastDays: options.pastDays ?? 7, futureDays: options.futureDays ?? 365 },
    ...(options.timeZone ? { floatingTimeZone: options.timeZone } : {}),
    ...(options.maxDeletesCount !== undefined || options.maxDeletesPercent !== undefined
      ? { maxDeletes: { ...(options.maxDeletesCount !== undefined ? { count: options.maxDeletesCount } : {}), ...(options.maxDeletesPercent !== undefined ? { percent: options.maxDeletesPercent } : {}) } }
      : {}),
    unmapped: options.unmapped ?? 'keep',
    // Deletes that will be held back anyway cannot trip the delete guards.
    allowEmptySource: options.allowEmptySource === true || deletePolicy === 'never',
    force: options.force === true || deletePolicy === 'never',
    ...(options.recurrence === 'expand' ? { seriesSupport: () => 'Room Sync is set to always write single occurrences' } : {}),
  };

  // CalDAV: incremental listing (RFC 6578 sync-collection) from the state of the last run in the
  // node's static data, unless set to full; a refused token falls back to a full listing.
  const caldav = (this.getNodeParameter('provider', 0) as string) === 'caldav';
  const listingState = caldav ? new StaticDataStore(this.getWorkflowStaticData('node')) : undefined;
  const incremental = caldav && (options.caldavListing ?? 'incremental') === 'incremental';

  let provider: CalendarProvider;
  let plan: SyncPlan;
  let failedCalendars: Array<{ calendarId: string; message: string }>;
  try {
    const setup = await providerOf(this, 0, { ...(options.timeZone ? { defaultTimeZone: options.timeZone } : {}), ...(incremental && listingState ? { caldavIncremental: listingState } : {}) });
    provider = setup.provider;
    // CalDAV calendars named by display name or path become their collection URLs (discovery).
    const resolved = await resolveRoutingFor(setup, routing);
    const planned = await syncCalendars({ provider, desired, routing: resolved, policy, now: Date.now(), dryRun: true });
    plan = planned.plan;
    failedCalendars = planned.failedCalendars;
    listingState?.prune();
  } catch (err) {
    if (this.continueOnFail()) {
      const guard = err instanceof SourceEmptyError || err instanceof DeleteLimitError ? { guard: err.name, counts: err.plan.counts as unknown as IDataObject } : {};
      return [[...out, { json: { summary: true, ok: false, error: errorMessage(err), ...guard }, pairedItem: allPaired }]];
    }
    throw toNodeError(node, err, 0);
  }

  const warnings = [...plan.warnings];
  if (deletePolicy === 'never') {
    const held = holdDeletes(plan, 'delete policy is "never"');
    if (held) warnings.push(`${held} delete(s) held back: delete policy is "never"`);
  } else if (badItems.length) {
    const held = holdDeletes(plan, `input item(s) ${badItems.join(', ')} could not be read`);
    if (held) warnings.push(`${held} delete(s) held back because input item(s) ${badItems.join(', ')} could not be read`);
  } else if (unreadable.length) {
    // An event the source still has but we could not read must not look deleted.
    const held = holdDeletes(plan, `${unreadable.length} source event(s) could not be read`);
    if (held) warnings.push(`${held} delete(s) held back because ${unreadable.length} source event(s) could not be read`);
  }
  for (const u of unreadable.slice(0, 20)) warnings.push(`unreadable: ${u}`);
  if (listingState?.dropped.length) warnings.push(`CalDAV listing state of ${listingState.dropped.length} calendar(s) is larger than ${MAX_SNAPSHOT_CHARS / 1e6} MB and not kept: listed in full on every run`);

  let report: ApplyReport | undefined;
  if (!dryRun) report = await applyPlan(plan, provider, { sleep: async (ms: number) => sleep(ms) });

  // Failed writes, by calendar + key.
  const failures = new Map<string, string>();
  for (const cal of Object.values(report?.calendars ?? {})) {
    for (const e of cal.errors) failures.set(`${cal.calendarId}\u0000${e.key}`, e.message);
    if (cal.stopped) for (const op of plan.ops) if (op.calendarId === cal.calendarId && !failures.has(`${op.calendarId}\u0000${op.key}`) && op.action !== 'unchanged' && op.action !== 'skip') failures.set(`${op.calendarId}\u0000${op.key}`, `not attempted: ${cal.stopped}`);
  }
  const notesOf = new Map<string, string>();
  for (const cal of Object.values(report?.calendars ?? {})) for (const n of cal.notes) notesOf.set(`${cal.calendarId}\u0000${n.key}`, n.note);

  const opItem = (op: PlannedOp): INodeExecutionData => {
    const failure = failures.get(`${op.calendarId}\u0000${op.key}`);
    // An occurrence the source no longer overrides, written back as its series has it.
    const restored = op.action === 'update' && op.reason.includes('rewritten as its series has it');
    const done = failure !== undefined ? 'failed' : restored ? 'restored' : RESULT[op.action];
    const action = dryRun && failure === undefined && op.action !== 'unchanged' && op.action !== 'skip' ? `would be ${RESULT[op.action]}` : op.reason.startsWith('kept:') ? 'kept' : done;
    const item = itemOfKey.get(masterPart(op.key));
    const note = notesOf.get(`${op.calendarId}\u0000${op.key}`);
    return {
      json: {
        action, calendarId: op.calendarId, key: op.key, reason: failure ?? op.reason,
        ...(op.targetId ? { targetId: op.targetId } : {}),
        ...(op.event ? { title: op.event.title, start: op.event.start as unknown as IDataObject, uid: op.event.uid } : {}),
        ...(note ? { note } : {}),
      },
      pairedItem: item !== undefined ? { item } : allPaired,
    };
  };
  for (const op of plan.ops) out.push(opItem(op));
  for (const f of failedCalendars) out.push({ json: { action: 'failed', calendarId: f.calendarId, reason: f.message }, pairedItem: allPaired });

  if (this.getNodeParameter('conflictReport', 0, false) as boolean) {
    try {
      for (const c of await conflicts(provider, plan, syncId, options.timeZone || 'UTC', dryRun)) out.push({ json: c, pairedItem: allPaired });
    } catch (err) {
      warnings.push(`conflict report incomplete: ${errorMessage(err)}`);
    }
  }

  if (plan.unmapped.length) {
    this.addExecutionHints({ message: `${plan.unmapped.length} event(s) matched no room (e.g. "${plan.unmapped[0].title}": ${plan.unmapped[0].reason}). Add them to the Room Table or set a Default Calendar.`, type: 'warning', location: 'outputPane' });
  }
  if (warnings.some((w) => w.includes('held back'))) {
    this.addExecutionHints({ message: warnings.filter((w) => w.includes('held back')).join('; '), type: 'warning', location: 'outputPane' });
  }
  const ok = (report?.ok ?? true) && failedCalendars.length === 0 && badItems.length === 0 && unreadable.length === 0;
  out.push({
    json: {
      summary: true, ok, dryRun, syncId,
      planned: plan.counts as unknown as IDataObject,
      ...(report ? { written: report.totals as unknown as IDataObject } : {}),
      ...(report?.stopped ? { stopped: report.stopped } : {}),
      failedCalendars: failedCalendars as unknown as IDataObject[],
      unmapped: plan.unmapped.length,
      warnings,
    },
    pairedItem: allPaired,
  });
  return [out];
}
