/**
 * Sync safety in the planner (issue 7): what a source could not read is kept, the guards every
 * caller gets by default, people's copies and edits of synced events, and the key reader.
 */
import fc from 'fast-check';
import type { CalendarEvent } from '../../core/event';
import { fingerprint } from '../../core/fingerprint';
import { DEFAULT_MAX_DELETES, DeleteLimitError, SourceEmptyError, SourceShrankError, allowedDeletes, guardViolations, runStateOf } from '../../core/guards';
import { parseIcs } from '../../core/ics/parse';
import { buildPlan, planSync } from '../../core/plan';
import { occurrenceKey, otherFormKey, overrideKey, parseKey, uidKey } from '../../core/sync-key';
import type { SyncPolicy } from '../../core/sync-types';
import type { TargetEvent } from '../../providers/port';

const NOW = Date.UTC(2025, 0, 15, 12);
const CAL = 'room-a@example.com';
const policy: SyncPolicy = { syncId: 'sync-1', calendarId: CAL, window: { pastDays: 7, futureDays: 30 } };

function ev(uid: string, over: Partial<CalendarEvent> = {}): CalendarEvent {
  return { uid, title: `Event ${uid}`, start: { dateTime: '2025-01-20T09:00:00Z' }, end: { dateTime: '2025-01-20T10:00:00Z' }, ...over };
}

function owned(e: CalendarEvent, extra: Partial<TargetEvent> & { key?: string; fp?: string } = {}): TargetEvent {
  const { key, fp, ...rest } = extra;
  return { id: `t-${e.uid}`, calendarId: CAL, event: e, stamp: { syncId: 'sync-1', sourceKey: key ?? uidKey(e), fingerprint: fp ?? fingerprint(e) }, ...rest };
}

const many = (n: number, sourceId?: string) => Array.from({ length: n }, (_, i) => ev(`e${i}`, sourceId ? { sourceId } : {}));

describe('what a source could not read is never deleted', () => {
  const series = ev('s', { recurrence: { rrule: ['FREQ=DAILY;COUNT=5'], rdate: [], exdate: [] } });
  const override = ev('s', { recurrenceId: { dateTime: '2025-01-21T09:00:00Z' }, start: { dateTime: '2025-01-21T11:00:00Z' }, end: { dateTime: '2025-01-21T12:00:00Z' } });

  test('an item that failed to parse but whose UID is known keeps its target events (master and overrides)', () => {
    const actual = [owned(ev('a')), owned(ev('b')), owned(series, { id: 't-s' }), owned(override, { id: 't-s-o', key: overrideKey(uidKey(series), override.recurrenceId!) })];
    const before = buildPlan([ev('b')], actual, policy, NOW);
    expect(before.ops.filter((o) => o.action === 'delete').map((o) => o.targetId).sort()).toEqual(['t-a', 't-s']); // the override goes with its master
    const plan = buildPlan([ev('b')], actual, { ...policy, unreadable: [{ uid: 'a' }, { uid: 's' }] }, NOW);
    expect(plan.ops.filter((o) => o.action === 'delete')).toEqual([]);
    expect(plan.ops.filter((o) => o.reason === 'kept: unreadable in source').map((o) => o.targetId).sort()).toEqual(['t-a', 't-s', 't-s-o']);
    expect(plan.sources['-'].unreadable).toBe(2);
  });

  test('the UID is matched per source: the same UID in another source is still deleted', () => {
    const a1 = ev('a', { sourceId: 'one' });
    const a2 = ev('a', { sourceId: 'two' });
    const plan = buildPlan([ev('x', { sourceId: 'one' }), ev('y', { sourceId: 'two' })], [owned(a1, { id: '1' }), owned(a2, { id: '2' })], { ...policy, unreadable: [{ sourceId: 'one', uid: 'a' }] }, NOW);
    expect(plan.ops.filter((o) => o.targetId === '1' || o.targetId === '2').map((o) => `${o.targetId} ${o.action} ${o.reason}`).sort())
      .toEqual(['1 skip kept: unreadable in source', '2 delete removed from source']);
  });

  test('identity content: an unreadable item names no key, so nothing of that source is deleted', () => {
    const p: SyncPolicy = { ...policy, identity: 'content' };
    const gone = ev('g', { sourceId: 'one', title: 'gone' });
    const first = buildPlan([gone], [], p, NOW).ops[0];
    const actual = [owned(gone, { key: first.key })];
    expect(buildPlan([], actual, { ...p, allowEmptySource: true }, NOW).ops[0].action).toBe('delete');
    const plan = buildPlan([], actual, { ...p, allowEmptySource: true, unreadable: [{ sourceId: 'one', uid: 'whatever' }] }, NOW);
    expect(plan.ops.map((o) => `${o.action} ${o.reason}`)).toEqual(['skip kept: unreadable in source']);
  });
});

describe('a source whose every item is unreadable', () => {
  const broken = (uid: string, line: number) => [`BEGIN:VEVENT`, `UID:${uid}`, `DTSTART:2025-01-2${line % 10}T09:00`, `SUMMARY:${uid}`, 'END:VEVENT'];
  const ics = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', ...['a', 'b', 'c', 'd', 'e'].flatMap((u, i) => broken(u, i)), 'END:VCALENDAR', ''].join('\r\n');
  const parsed = parseIcs(ics);
  const unreadable = parsed.errors.map((i) => ({ sourceId: 'rooms', uid: i.uid!, message: i.message }));
  const actual = ['a', 'b', 'c', 'x'].map((u) => owned(ev(u, { sourceId: 'rooms' }), { id: `t-${u}` }));

  test('is refused with a message that says so and quotes the first errors with their lines, not "delivered no events"', () => {
    expect(parsed.events).toEqual([]);
    expect(unreadable).toHaveLength(5);
    const err = (() => { try { planSync([], actual, { ...policy, unreadable }, NOW); } catch (e) { return e as SourceEmptyError; } })()!;
    expect(err).toBeInstanceOf(SourceEmptyError);
    expect(err.message).not.toMatch(/delivered no events/);
    expect(err.message).toMatch(/^refusing to sync: source "rooms" delivered 5 item\(s\), all unreadable: VEVENT starting at line 4 \(UID a\): DTSTART \(line 6\) "2025-01-20T09:00" is not a date/);
    expect(err.message).toContain('VEVENT starting at line 9 (UID b)');
    expect(err.message).toContain('VEVENT starting at line 14 (UID c)');
    expect(err.message).not.toContain('UID d');
    expect(err.message).toContain('(and 2 more), while 4 synced event(s) are on the target');
    expect(err.message).toContain('allowEmptySource');
    expect(err.sources).toEqual([{ source: 'rooms', ownedInWindow: 4, unreadable: 5, errors: unreadable.slice(0, 3).map((u) => u.message) }]);
    // The override still works: the unreadable items' events are kept, the one the source no longer has goes.
    const plan = planSync([], actual, { ...policy, unreadable, allowEmptySource: true }, NOW);
    expect(plan.ops.map((o) => `${o.targetId} ${o.action}`).sort()).toEqual(['t-a skip', 't-b skip', 't-c skip', 't-x delete']);
  });

  test('readable events only outside the window, the rest unreadable: both are said', () => {
    const far = ev('far', { sourceId: 'rooms', start: { dateTime: '2026-06-01T09:00:00Z' }, end: { dateTime: '2026-06-01T10:00:00Z' } });
    const err = (() => { try { planSync([far], actual, { ...policy, unreadable: unreadable.slice(0, 1) }, NOW); } catch (e) { return e as SourceEmptyError; } })()!;
    expect(err.message).toContain('source "rooms" delivered no event inside the window (1 readable, all outside it) and 1 unreadable item(s): VEVENT starting at line 4 (UID a)');
  });
});

describe('guards everyone gets', () => {
  test('a delete limit applies without any policy setting: 8 of 9 trips, 1 of 2 does not', () => {
    const nine = many(9).map((e) => owned(e));
    expect(() => planSync([ev('e0')], nine, policy, NOW)).toThrow(DeleteLimitError);
    const err = (() => { try { planSync([ev('e0')], nine, policy, NOW); } catch (e) { return e as DeleteLimitError; } })()!;
    expect(err.calendars).toEqual([{ calendarId: CAL, deletes: 8, owned: 9, allowed: 4, limitPercent: 50, limitFloor: 3, limitCount: undefined }]);
    expect(planSync([ev('e0')], nine, { ...policy, force: true }, NOW).counts.delete).toBe(8);
    expect(planSync([ev('e0')], many(2).map((e) => owned(e)), policy, NOW).counts.delete).toBe(1);
    expect(planSync([ev('e0')], many(4).map((e) => owned(e)), policy, NOW).counts.delete).toBe(3);
    expect(() => planSync([ev('e0')], many(5).map((e) => owned(e)), policy, NOW)).toThrow(DeleteLimitError);
  });

  test('allowedDeletes: floor, percent and count together', () => {
    expect(allowedDeletes(DEFAULT_MAX_DELETES, 0)).toBe(3);
    expect(allowedDeletes(DEFAULT_MAX_DELETES, 9)).toBe(4);
    expect(allowedDeletes(DEFAULT_MAX_DELETES, 100)).toBe(50);
    expect(allowedDeletes({ count: 2 }, 100)).toBe(2);
    expect(allowedDeletes({ percent: 10, floor: 0 }, 20)).toBe(2);
    expect(allowedDeletes({ percent: 50, count: 10 }, 100)).toBe(10);
  });

  test('duplicate removals count toward the limit unless they are exact doubles of the event kept', () => {
    const a = ev('a');
    const stale = { ...owned(a, { fp: 'f1-old' }) };
    const dups = [1, 2, 3, 4, 5].map((i) => ({ ...stale, id: `old${i}` }));
    const kept = { ...owned(a), id: 'keep' };
    expect(() => planSync([a], [kept, ...dups], { ...policy, maxDeletes: { count: 2 } }, NOW)).toThrow(DeleteLimitError);
    const doubles = [1, 2, 3, 4, 5].map((i) => ({ ...owned(a), id: `dbl${i}` }));
    const plan = planSync([a], [kept, ...doubles], { ...policy, maxDeletes: { count: 0 } }, NOW);
    expect(plan.ops.filter((o) => o.action === 'delete').every((o) => o.duplicate && o.exactDouble)).toBe(true);
    expect(plan.counts.delete).toBe(5);
  });

  test('a source that lost more than half of its in-window events since the last successful run stops the run', () => {
    const desired20 = many(20, 'feed');
    const first = planSync(desired20, [], policy, NOW);
    const state = runStateOf(first);
    expect(state).toEqual({ v: 1, at: NOW, sources: { feed: 20 } });
    const actual = desired20.map((e) => owned(e));
    const shrunk = desired20.slice(0, 9);
    const p: SyncPolicy = { ...policy, lastRun: state, force: true };
    let err: SourceShrankError | undefined;
    try { planSync(shrunk, actual, p, NOW); } catch (e) { err = e as SourceShrankError; }
    expect(err).toBeInstanceOf(SourceShrankError);
    expect(err!.sources).toEqual([{ source: 'feed', before: 20, now: 9 }]);
    expect(err!.message).toMatch(/allowShrink/);
    expect(planSync(shrunk, actual, { ...p, allowShrink: true }, NOW).counts.delete).toBe(11);
    // half is still fine, and without state there is nothing to compare with
    expect(planSync(desired20.slice(0, 10), actual, p, NOW).counts.delete).toBe(10);
    expect(planSync(shrunk, actual, { ...policy, force: true }, NOW).counts.delete).toBe(11);
    // a small source losing 3 of 5 is below SHRINK_MIN_LOST
    expect(guardViolations(buildPlan(desired20.slice(0, 2), [], policy, NOW), { ...policy, lastRun: { v: 1, at: 0, sources: { feed: 5 } } })).toEqual([]);
  });

  test('a failed source keeps its last count in the run state', () => {
    const plan = buildPlan([ev('x', { sourceId: 'ok' })], [], { ...policy, failedSources: ['bad'] }, NOW);
    expect(runStateOf(plan, { v: 1, at: 0, sources: { bad: 12, ok: 3 } }).sources).toEqual({ ok: 1, bad: 12 });
  });

  test('guard order: SourceEmptyError before SourceShrankError before DeleteLimitError', () => {
    const v = guardViolations(buildPlan([ev('x', { sourceId: 'b' })], [owned(ev('y', { sourceId: 'a' })), ...many(9, 'b').map((e) => owned(e))], policy, NOW),
      { ...policy, lastRun: { v: 1, at: 0, sources: { b: 20 } } });
    expect(v.map((e) => e.name)).toEqual(['SourceEmptyError', 'SourceShrankError', 'DeleteLimitError']);
    expect(v[0]).toBeInstanceOf(SourceEmptyError);
  });
});

describe("people's copies and edits of synced events", () => {
  test('a copy carrying our stamp is never updated or deleted, and is reported as a conflict', () => {
    const a = ev('a');
    const copy: TargetEvent = { ...owned(a, { fp: 'f1-stale' }), id: 'copy1', copy: 'its id is not the one this sync gives the key' };
    const plan = planSync([], [owned(ev('keep')), copy], { ...policy, allowEmptySource: true }, NOW);
    expect(plan.ops.find((o) => o.targetId === 'copy1')).toMatchObject({ action: 'skip', conflict: true });
    expect(plan.conflicts).toEqual([{ calendarId: CAL, targetId: 'copy1', key: uidKey(a), reason: expect.stringMatching(/^copy of a synced event/) }]);
    // the copy does not stand in for our event: a desired event is created beside it
    const again = planSync([a], [copy], policy, NOW);
    expect(again.ops.map((o) => `${o.action} ${o.targetId ?? ''}`).sort()).toEqual(['create ', 'skip copy1']);
    expect(again.calendars[CAL].owned).toBe(0);
  });

  test('an edited event is restored to the source version by default', () => {
    const a = ev('a');
    const plan = planSync([a], [owned(a, { edited: ['title', 'start'] })], policy, NOW);
    expect(plan.ops).toEqual([expect.objectContaining({ action: 'update', restored: true, reason: 'edited on the target (title, start): restored to the source version', event: a })]);
  });

  test("targetEdits 'keep' leaves a person's edit alone, also when the source changes or drops the event", () => {
    const a = ev('a');
    const keep: SyncPolicy = { ...policy, targetEdits: 'keep', allowEmptySource: true };
    const t = owned(a, { edited: ['location'] });
    for (const desired of [[a], [{ ...a, title: 'changed' }], []]) {
      const plan = planSync(desired, [t], keep, NOW);
      expect(plan.ops).toEqual([expect.objectContaining({ action: 'skip', conflict: true, reason: 'edited on the target (location): kept (targetEdits: keep)' })]);
      expect(plan.conflicts).toHaveLength(1);
    }
  });

  test('of duplicates, the one a person did not edit is kept', () => {
    const a = ev('a');
    const plan = planSync([a], [{ ...owned(a, { edited: ['title'] }), id: 'a1' }, { ...owned(a), id: 'b2' }], policy, NOW);
    expect(plan.ops.map((o) => `${o.action} ${o.targetId}`).sort()).toEqual(['delete a1', 'unchanged b2']);
  });
});

describe('parseKey: the one reader of the key format', () => {
  const base = uidKey({ uid: 'x y', sourceId: 'feed 1' });
  test.each([
    [base, { kind: 'base', masterKey: base, source: 'feed%201' }],
    [overrideKey(base, { dateTime: '2025-01-20T09:00:00Z' }), { kind: 'override', masterKey: base, token: ['20250120', 'T090000Z'].join(''), source: 'feed%201' }],
    [occurrenceKey(base, { date: '2025-01-20' }), { kind: 'occurrence', masterKey: base, token: String(20250120), source: 'feed%201' }],
    ['foreign:abc', { kind: 'base', masterKey: 'foreign:abc' }],
  ])('%s', (key, expected) => {
    expect(parseKey(key)).toEqual({ key, ...expected });
  });
  test('otherFormKey swaps r: and o:', () => {
    const r = overrideKey(base, { dateTime: '2025-01-20T09:00:00Z' });
    expect(otherFormKey(parseKey(r))).toBe(occurrenceKey(base, { dateTime: '2025-01-20T09:00:00Z' }));
    expect(otherFormKey(parseKey(base))).toBeUndefined();
  });
});

describe('safety invariants over random plans (property)', () => {
  const item = fc.record({
    inSource: fc.boolean(), owned: fc.boolean(), copy: fc.boolean(), edited: fc.boolean(), unreadable: fc.boolean(), changed: fc.boolean(),
  });
  test("copies are never written, unreadable items never lose an event, kept edits are never written, restored edits are", () => {
    fc.assert(fc.property(fc.array(item, { maxLength: 12 }), fc.constantFrom<'restore' | 'keep'>('restore', 'keep'), (items, targetEdits) => {
      const desired: CalendarEvent[] = [];
      const actual: TargetEvent[] = [];
      const unreadable: Array<{ uid: string }> = [];
      items.forEach((it, i) => {
        const e = ev(`u${i}`);
        const inSource = it.inSource && !it.unreadable;
        if (inSource) desired.push(it.changed ? { ...e, title: 'changed' } : e);
        if (it.unreadable) unreadable.push({ uid: e.uid });
        if (it.owned) actual.push({ ...owned(e), id: `own${i}`, ...(it.edited ? { edited: ['title'] } : {}) });
        if (it.copy) actual.push({ ...owned(e), id: `copy${i}`, copy: 'a person copied it' });
      });
      const plan = buildPlan(desired, actual, { ...policy, unreadable, targetEdits }, NOW);
      const written = new Set(plan.ops.filter((o) => o.action === 'update' || o.action === 'delete').map((o) => o.targetId));
      items.forEach((it, i) => {
        if (it.copy) {
          expect(written.has(`copy${i}`)).toBe(false);
          expect(plan.conflicts.some((c) => c.targetId === `copy${i}`)).toBe(true);
        }
        if (it.owned && it.unreadable) expect(written.has(`own${i}`)).toBe(false);
        if (it.owned && it.edited && targetEdits === 'keep') expect(written.has(`own${i}`)).toBe(false);
        if (it.owned && it.edited && targetEdits === 'restore' && it.inSource && !it.unreadable) {
          expect(plan.ops.find((o) => o.targetId === `own${i}`)).toMatchObject({ action: 'update', restored: true });
        }
        // A copy never stands in for our event: a desired event without an owned one is created.
        if (it.inSource && !it.unreadable && !it.owned) expect(plan.ops.some((o) => o.action === 'create' && o.key === uidKey(ev(`u${i}`)))).toBe(true);
      });
    }), { numRuns: 300 });
  });
});
