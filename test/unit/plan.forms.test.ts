/**
 * planSync across changes of form and the edges of the window that the chaos test found:
 * - an override written as a single event (its series lives in another calendar) and the same
 *   override written as an instance of its series are different target events with different keys,
 *   so when the series moves into that calendar the single event goes (never two copies);
 * - a series with no occurrence inside the window is outside it (planned, listed and compared the
 *   same way on both sides), so re-planning writes nothing;
 * - an occurrence whose override left the source stays written as its series has it, so a later
 *   change of the series reaches that date.
 * Each scenario applies the plan to a simulated target and re-plans: the second plan must be empty.
 */
import type { CalendarEvent, EventTime } from '../../core/event';
import { fingerprint } from '../../core/fingerprint';
import { planSync, type DesiredEvent } from '../../core/plan';
import { occurrenceKey, overrideKey, uidKey } from '../../core/sync-key';
import type { PlannedOp, SyncPlan, SyncPolicy } from '../../core/sync-types';
import type { TargetEvent } from '../../providers/port';

const NOW = Date.UTC(2025, 0, 15, 12);
const policy: SyncPolicy = { syncId: 'sync-1', window: { pastDays: 7, futureDays: 30 }, floatingTimeZone: 'Europe/Berlin' };
const berlin = (d: string, t: string): EventTime => ({ dateTime: `${d}T${t}:00`, timeZone: 'Europe/Berlin' });

const master: CalendarEvent = {
  uid: 'course', title: 'Course', location: 'A', start: berlin('2025-01-13', '09:00'), end: berlin('2025-01-13', '10:00'),
  recurrence: { rrule: ['FREQ=WEEKLY;COUNT=4'], rdate: [], exdate: [] },
};
const rid = berlin('2025-01-20', '09:00');
const moved: CalendarEvent = { uid: 'course', title: 'Moved', location: 'B', recurrenceId: rid, start: berlin('2025-01-20', '11:00'), end: berlin('2025-01-20', '12:00') };

let ids = 0;
/** What a faithful target holds after the plan: deletes gone, creates added, updates rewritten. */
function apply(actual: TargetEvent[], plan: SyncPlan): TargetEvent[] {
  const writes = (o: PlannedOp) => o.action === 'create' || o.action === 'update';
  const deleted = new Set(plan.ops.filter((o) => o.action === 'delete').map((o) => o.targetId));
  // A deleted series takes its instances with it.
  const gone = plan.ops.filter((o) => o.action === 'delete' && actual.find((t) => t.id === o.targetId)?.event.recurrence).map((o) => `${o.calendarId} ${o.key} r:`);
  for (const t of actual) if (gone.some((g) => `${t.calendarId} ${t.stamp!.sourceKey}`.startsWith(g))) deleted.add(t.id);
  const updated = new Map(plan.ops.filter((o) => o.action === 'update').map((o) => [o.targetId, o]));
  const next = actual.filter((t) => !deleted.has(t.id)).map((t) => {
    const u = updated.get(t.id);
    return u ? { ...t, event: u.event!, stamp: { syncId: 'sync-1', sourceKey: u.key, fingerprint: u.fingerprint! } } : t;
  });
  for (const o of plan.ops.filter((x) => x.action === 'create')) {
    next.push({ id: `t${++ids}`, calendarId: o.calendarId, event: o.event!, stamp: { syncId: 'sync-1', sourceKey: o.key, fingerprint: o.fingerprint! } });
  }
  expect(plan.ops.filter(writes).every((o) => o.fingerprint === fingerprint(o.event!))).toBe(true);
  return next;
}

const writesOf = (p: SyncPlan) => p.ops.filter((o) => o.action === 'create' || o.action === 'update' || o.action === 'delete');
const liveKeys = (actual: TargetEvent[]) => actual.map((t) => `${t.calendarId} ${t.stamp!.sourceKey}`).sort();

function sync(desired: DesiredEvent[], actual: TargetEvent[]): { plan: SyncPlan; after: TargetEvent[] } {
  const plan = planSync(desired, actual, policy, NOW);
  const after = apply(actual, plan);
  expect(writesOf(planSync(desired, after, policy, NOW))).toEqual([]);
  const keys = liveKeys(after);
  expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
  return { plan, after };
}

describe('an override written as a single event, then its series moves into that calendar', () => {
  const mk = uidKey(master);

  test('the single event is keyed as the occurrence it stands for, not as an instance override', () => {
    const { plan } = sync([{ calendarId: 'A', event: master }, { calendarId: 'B', event: moved }], []);
    const inB = plan.ops.filter((o) => o.calendarId === 'B');
    expect(inB.map((o) => [o.action, o.key])).toEqual([['create', occurrenceKey(mk, rid)]]);
    expect(inB[0].event!.recurrenceId).toBeUndefined();
  });

  test('the move deletes the single event (replaced: not counted by maxDeletes) and writes the instance', () => {
    const before = sync([{ calendarId: 'A', event: master }, { calendarId: 'B', event: moved }], []).after;
    const { plan, after } = sync([{ calendarId: 'B', event: { ...master, location: 'B' } }, { calendarId: 'B', event: moved }], before);
    const inB = plan.ops.filter((o) => o.calendarId === 'B' && o.action !== 'unchanged');
    expect(inB.map((o) => [o.action, o.key, o.reason, !!o.replaced]).sort()).toEqual([
      ['create', mk, 'new in source', false],
      ['create', overrideKey(mk, rid), 'new in source', false],
      ['delete', occurrenceKey(mk, rid), 'single events replaced by the series', true],
    ].sort());
    expect(inB.find((o) => o.key === overrideKey(mk, rid))!.event!.recurrenceId).toEqual(rid);
    expect(liveKeys(after)).toEqual([`B ${mk}`, `B ${overrideKey(mk, rid)}`]);
  });

  test('the reverse: the series leaves, its override stays as a single event', () => {
    const before = sync([{ calendarId: 'B', event: { ...master, location: 'B' } }, { calendarId: 'B', event: moved }], []).after;
    const { plan, after } = sync([{ calendarId: 'A', event: master }, { calendarId: 'B', event: moved }], before);
    expect(plan.ops.filter((o) => o.calendarId === 'B' && o.action === 'skip').map((o) => o.reason)).toEqual(['deleted with its series master']);
    expect(liveKeys(after)).toEqual([`A ${mk}`, `B ${occurrenceKey(mk, rid)}`]);
  });

  test('an older single event keyed as an instance override is replaced, in both directions', () => {
    const single = { ...moved };
    delete single.recurrenceId;
    const legacy: TargetEvent = { id: 'old', calendarId: 'B', event: single, stamp: { syncId: 'sync-1', sourceKey: overrideKey(mk, rid), fingerprint: fingerprint(single) } };
    const masterA: TargetEvent = { id: 'mA', calendarId: 'A', event: master, stamp: { syncId: 'sync-1', sourceKey: mk, fingerprint: fingerprint({ ...master, recurrence: { ...master.recurrence!, exdate: [rid] } }) } };
    // Still a single event: rewritten under its new key, the old one goes as replaced.
    const stay = planSync([{ calendarId: 'A', event: master }, { calendarId: 'B', event: moved }], [masterA, legacy], policy, NOW);
    expect(writesOf(stay).map((o) => [o.action, o.key, o.reason]).sort()).toEqual([
      ['create', occurrenceKey(mk, rid), 'new in source'],
      ['delete', overrideKey(mk, rid), 'override replaced by a single event (its series is not stored in this calendar)'],
    ].sort());
    // Its series moved in: never an update of the single event (that would leave the series' own occurrence showing too).
    const { plan } = sync([{ calendarId: 'B', event: { ...master, location: 'B' } }, { calendarId: 'B', event: moved }], [masterA, legacy]);
    const onKey = plan.ops.filter((o) => o.calendarId === 'B' && o.key === overrideKey(mk, rid));
    expect(onKey.map((o) => [o.action, o.targetId ?? '', o.reason]).sort()).toEqual([
      ['create', '', 'new in source'],
      ['delete', 'old', 'single event replaced by an override of its series'],
    ]);
  });
});

describe('a series with no occurrence inside the window is outside it', () => {
  const weekly = (exdate: EventTime[], over: Partial<CalendarEvent> = {}): CalendarEvent => ({ ...master, recurrence: { rrule: ['FREQ=WEEKLY;COUNT=3'], rdate: [], exdate }, ...over });
  const all = [berlin('2025-01-13', '09:00'), berlin('2025-01-20', '09:00'), berlin('2025-01-27', '09:00')];

  test.each([
    ['every occurrence cancelled', weekly(all)],
    ['ended before the window (COUNT)', weekly([], { start: berlin('2024-11-04', '09:00'), end: berlin('2024-11-04', '10:00') })],
  ])('%s: not created, and an owned copy gone from the source is left alone', (_name, series) => {
    const plan = planSync([{ calendarId: 'A', event: series }], [], policy, NOW);
    expect(plan.ops.map((o) => [o.action, o.reason])).toEqual([['skip', 'outside sync window']]);
    const ownedCopy: TargetEvent = { id: 's', calendarId: 'A', event: series, stamp: { syncId: 'sync-1', sourceKey: uidKey(series), fingerprint: fingerprint(series) } };
    const gone = planSync([{ calendarId: 'A', event: { ...master, uid: 'other' } }], [ownedCopy], policy, NOW);
    expect(gone.ops.find((o) => o.targetId === 's')!.reason).toBe('outside sync window (gone from source, left alone)');
  });

  test('cancelled in the series, moved into the window by an override: written, and re-planning is empty', () => {
    const series = weekly(all.slice(0, 2), { start: berlin('2024-12-30', '09:00'), end: berlin('2024-12-30', '10:00') });
    const inside: CalendarEvent = { ...moved, location: 'A', recurrenceId: berlin('2025-01-06', '09:00'), start: berlin('2025-01-14', '09:00'), end: berlin('2025-01-14', '10:00') };
    const { plan } = sync([{ calendarId: 'A', event: series }, { calendarId: 'A', event: inside }], []);
    expect(plan.ops.map((o) => o.action)).toEqual(['create', 'create']);
  });
});

describe('an override removed from the source: the occurrence follows its series again', () => {
  const mk = uidKey(master);
  const movedHere = { ...moved, location: 'A' };

  test('written back as the series has it (kept, not deleted), and later series changes reach it', () => {
    const first = sync([{ calendarId: 'A', event: master }, { calendarId: 'A', event: movedHere }], []).after;
    const restored = sync([{ calendarId: 'A', event: master }], first);
    const op = restored.plan.ops.find((o) => o.key === overrideKey(mk, rid))!;
    expect(op.action).toBe('update');
    expect(op.reason).toMatch(/^no override in source: occurrence rewritten as its series has it/);
    expect(op.event).toMatchObject({ title: 'Course', location: 'A', recurrenceId: rid, start: rid, end: berlin('2025-01-20', '10:00') });
    expect(op.event!.recurrence).toBeUndefined();
    expect(restored.plan.counts.delete).toBe(0);

    const retitled = sync([{ calendarId: 'A', event: { ...master, title: 'Course (new title)' } }], restored.after);
    expect(writesOf(retitled.plan).map((o) => [o.action, o.key, o.event?.title])).toEqual(expect.arrayContaining([
      ['update', mk, 'Course (new title)'],
      ['update', overrideKey(mk, rid), 'Course (new title)'],
    ]));
    expect(writesOf(retitled.plan)).toHaveLength(2);
  });

  test('a target that removes an override on its own (CalDAV): removed, not rewritten; not counted as a delete of a booking', () => {
    const first = sync([{ calendarId: 'A', event: master }, { calendarId: 'A', event: movedHere }], []).after;
    const removable = { ...policy, overridesRemovable: true };
    const plan = planSync([{ calendarId: 'A', event: master }], first, removable, NOW);
    expect(plan.ops.find((o) => o.key === overrideKey(mk, rid))).toMatchObject({ action: 'delete', replaced: true, reason: 'no override in source: removed, the occurrence follows its series' });
    const after = apply(first, plan);
    expect(liveKeys(after)).toEqual([`A ${mk}`]);
    expect(writesOf(planSync([{ calendarId: 'A', event: master }], after, removable, NOW))).toEqual([]);
  });

  test('gone from the series too (COUNT shortened): the override is deleted', () => {
    const first = sync([{ calendarId: 'A', event: master }, { calendarId: 'A', event: movedHere }], []).after;
    const shorter = { ...master, recurrence: { ...master.recurrence!, rrule: ['FREQ=WEEKLY;COUNT=1'] } };
    const { plan } = sync([{ calendarId: 'A', event: shorter }], first);
    expect(plan.ops.find((o) => o.key === overrideKey(mk, rid))).toMatchObject({ action: 'delete', reason: 'override removed from source (occurrence follows its series again)' });
  });

  test('a cancelled instance left by a deleted override key is left alone, and revived when the occurrence is wanted again', () => {
    const key = overrideKey(mk, rid);
    const cancelled: TargetEvent = { id: 'i1', calendarId: 'A', event: { ...movedHere, status: 'CANCELLED' }, stamp: { syncId: 'sync-1', sourceKey: key, fingerprint: fingerprint(movedHere) } };
    const away = { ...master, recurrence: { ...master.recurrence!, exdate: [rid] } };
    const mOwned = (e: CalendarEvent): TargetEvent => ({ id: 'm', calendarId: 'A', event: e, stamp: { syncId: 'sync-1', sourceKey: mk, fingerprint: fingerprint(e) } });
    const still = planSync([{ calendarId: 'A', event: away }], [mOwned(away), cancelled], policy, NOW);
    expect(still.ops.find((o) => o.key === key)).toMatchObject({ action: 'skip', reason: 'occurrence already cancelled on the target' });
    const back = planSync([{ calendarId: 'A', event: master }], [mOwned(master), cancelled], policy, NOW);
    expect(back.ops.find((o) => o.key === key)).toMatchObject({ action: 'update', event: { title: 'Course', start: rid } });
    // The same override wanted again (same fingerprint as the cancelled copy still carries): rewritten, not "unchanged".
    const again = planSync([{ calendarId: 'A', event: master }, { calendarId: 'A', event: movedHere }], [mOwned(master), cancelled], policy, NOW);
    expect(again.ops.find((o) => o.key === key)).toMatchObject({ action: 'update', reason: 'cancelled on the target: rewriting' });
  });

  test('an unmapped override keeps its copy as it is', () => {
    const first = sync([{ calendarId: 'A', event: master }, { calendarId: 'A', event: movedHere }], []).after;
    const plan = planSync({ routed: [{ calendarId: 'A', event: master }], unmapped: [{ event: { ...moved, location: 'Nowhere' }, reason: 'no room' }] }, first, policy, NOW);
    expect(plan.ops.find((o) => o.key === overrideKey(mk, rid))).toMatchObject({ action: 'skip', reason: 'source event no longer maps to a room: kept' });
  });
});
