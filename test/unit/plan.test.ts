import type { CalendarEvent } from '../../core/event';
import { fingerprint } from '../../core/fingerprint';
import { DeleteLimitError, SourceEmptyError, checkGuards, guardViolations } from '../../core/guards';
import { buildPlan, planSync, PlanInputError } from '../../core/plan';
import { contentKey, overrideKey, uidKey, occurrenceKey, MAX_KEY_LENGTH, sourcePartOfKey } from '../../core/sync-key';
import type { MaxDeletes, SeriesExpander, SyncPolicy } from '../../core/sync-types';
import type { TargetEvent } from '../../providers/port';

const NOW = Date.UTC(2025, 0, 15, 12);
const CAL = 'room-a@example.com';

function ev(uid: string, over: Partial<CalendarEvent> = {}): CalendarEvent {
  return {
    uid, title: `Event ${uid}`,
    start: { dateTime: '2025-01-20T09:00:00Z' }, end: { dateTime: '2025-01-20T10:00:00Z' },
    ...over,
  };
}

const policy: SyncPolicy = { syncId: 'sync-1', calendarId: CAL, window: { pastDays: 7, futureDays: 30 } };

function owned(e: CalendarEvent, opts: { id?: string; key?: string; fp?: string; syncId?: string; calendarId?: string } = {}): TargetEvent {
  return {
    id: opts.id ?? `t-${e.uid}`, calendarId: opts.calendarId ?? CAL, event: e,
    stamp: { syncId: opts.syncId ?? 'sync-1', sourceKey: opts.key ?? uidKey(e), fingerprint: opts.fp ?? fingerprint(e) },
  };
}

function reasonsOf(plan: ReturnType<typeof buildPlan>) {
  return plan.ops.map((o) => `${o.action}: ${o.reason}`);
}

describe('planSync: one op per case, each with its reason', () => {
  const moved = ev('a', { start: { dateTime: '2025-01-21T09:00:00Z' }, end: { dateTime: '2025-01-21T10:00:00Z' } });
  const cases: Array<{ name: string; desired: CalendarEvent[]; actual: TargetEvent[]; expect: Array<[string, RegExp]> }> = [
    { name: 'new in source', desired: [ev('a')], actual: [], expect: [['create', /^new in source$/]] },
    { name: 'unchanged', desired: [ev('a')], actual: [owned(ev('a'))], expect: [['unchanged', /^unchanged$/]] },
    { name: 'changed in source', desired: [moved], actual: [owned(ev('a'))], expect: [['update', /^changed in source \(fingerprint f1-[0-9a-f]{32}→f1-[0-9a-f]{32}\)$/]] },
    { name: 'removed from source', desired: [ev('b')], actual: [owned(ev('a')), owned(ev('b'))], expect: [['delete', /^removed from source$/], ['unchanged', /unchanged/]] },
    { name: 'cancelled in source', desired: [ev('a', { status: 'CANCELLED' }), ev('b')], actual: [owned(ev('a')), owned(ev('b'))], expect: [['delete', /^cancelled in source$/], ['unchanged', /unchanged/]] },
    { name: 'cancelled in source, never written', desired: [ev('a', { status: 'CANCELLED' })], actual: [], expect: [] },
    { name: 'foreign event', desired: [], actual: [{ id: 'x', calendarId: CAL, event: ev('p') }], expect: [['skip', /^foreign event: not ours$/]] },
    { name: 'another sync', desired: [ev('a')], actual: [owned(ev('a'), { syncId: 'other' })], expect: [['create', /new in source/], ['skip', /^owned by another sync \(syncId "other"\): not ours$/]] },
    { name: 'duplicate target events', desired: [ev('a')], actual: [owned(ev('a'), { id: 't1' }), owned(ev('a'), { id: 't2' })], expect: [['delete', /^duplicate target event for the same key$/], ['unchanged', /unchanged/]] },
    { name: 'no fingerprint on target', desired: [ev('a')], actual: [owned(ev('a'), { fp: '' })], expect: [['update', /^no fingerprint on target: rewriting$/]] },
    { name: 'desired outside window', desired: [ev('old', { start: { dateTime: '2024-01-01T09:00:00Z' }, end: { dateTime: '2024-01-01T10:00:00Z' } })], actual: [], expect: [['skip', /^outside sync window$/]] },
    {
      name: 'gone from source but outside window', desired: [ev('b')],
      actual: [owned(ev('old', { start: { dateTime: '2024-01-01T09:00:00Z' }, end: { dateTime: '2024-01-01T10:00:00Z' } })), owned(ev('b'))],
      expect: [['unchanged', /unchanged/], ['skip', /^outside sync window \(gone from source, left alone\)$/]],
    },
    { name: 'duplicate UID in source', desired: [ev('a'), ev('a', { title: 'other' })], actual: [], expect: [['create', /new in source/], ['skip', /^duplicate in source/]] },
    { name: 'invalid time', desired: [ev('a', { start: { dateTime: 'nonsense' } })], actual: [owned(ev('a'))], expect: [['skip', /^invalid event time/], ['skip', /^kept: source event has an invalid time$/]] },
  ];
  test.each(cases)('$name', ({ desired, actual, expect: expected }) => {
    const plan = buildPlan(desired, actual, policy, NOW);
    const got = reasonsOf(plan).sort();
    expect(got).toHaveLength(expected.length);
    const sortedExpected = [...expected].sort((a, b) => a[0].localeCompare(b[0]));
    const byAction = (a: string) => got.filter((g) => g.startsWith(a + ':'));
    for (const [action, re] of sortedExpected) {
      expect(byAction(action).some((g) => re.test(g.slice(action.length + 2)))).toBe(true);
    }
    expect(plan.counts.create + plan.counts.update + plan.counts.delete + plan.counts.unchanged + plan.counts.skip).toBe(plan.ops.length);
  });

  test('the keeper among duplicates is the one whose fingerprint matches', () => {
    const plan = buildPlan([ev('a')], [owned(ev('a'), { id: 't1', fp: 'f1-old' }), owned(ev('a'), { id: 't2' })], policy, NOW);
    expect(plan.ops.find((o) => o.action === 'delete')!.targetId).toBe('t1');
    expect(plan.ops.find((o) => o.action === 'unchanged')!.targetId).toBe('t2');
  });

  test('the plan is plain JSON', () => {
    const plan = buildPlan([ev('a'), ev('b')], [owned(ev('c'))], policy, NOW);
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });

  test('plain events need a calendar', () => {
    expect(() => buildPlan([ev('a')], [], { syncId: 's' }, NOW)).toThrow(PlanInputError);
  });

  test('a desired event moved out of the window is still updated (its old copy is inside)', () => {
    const far = ev('a', { start: { dateTime: '2026-06-01T09:00:00Z' }, end: { dateTime: '2026-06-01T10:00:00Z' } });
    const plan = buildPlan([far], [owned(ev('a'))], policy, NOW);
    expect(plan.ops.map((o) => o.action)).toEqual(['update']);
  });
});

describe('sync window edges', () => {
  const w = { from: Date.UTC(2025, 0, 10), to: Date.UTC(2025, 0, 20) };
  const at = (s: string, e: string) => ev('x', { start: { dateTime: s }, end: { dateTime: e } });
  test.each([
    ['ends exactly at from', at('2025-01-09T23:00:00Z', '2025-01-10T00:00:00Z'), false],
    ['ends just after from', at('2025-01-09T23:00:00Z', '2025-01-10T00:00:01Z'), true],
    ['starts exactly at to', at('2025-01-20T00:00:00Z', '2025-01-20T01:00:00Z'), false],
    ['starts just before to', at('2025-01-19T23:59:59Z', '2025-01-20T01:00:00Z'), true],
    ['spans the whole window', at('2025-01-01T00:00:00Z', '2025-02-01T00:00:00Z'), true],
    ['zero length at from', at('2025-01-10T00:00:00Z', '2025-01-10T00:00:00Z'), true],
    ['zero length at to', at('2025-01-20T00:00:00Z', '2025-01-20T00:00:00Z'), false],
    ['all-day on the last day', ev('x', { start: { date: '2025-01-19' }, end: { date: '2025-01-20' } }), true],
    ['all-day the day after', ev('x', { start: { date: '2025-01-20' }, end: { date: '2025-01-21' } }), false],
    ['zoned, inside only in UTC+1', ev('x', { start: { dateTime: '2025-01-20T00:30:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2025-01-20T01:30:00', timeZone: 'Europe/Berlin' } }), true],
    ['weekly series starting before the window, no end', ev('x', { start: { dateTime: '2024-01-01T09:00:00Z' }, end: { dateTime: '2024-01-01T10:00:00Z' }, recurrence: { rrule: ['FREQ=WEEKLY'], rdate: [], exdate: [] } }), true],
    ['series that ended before the window', ev('x', { start: { dateTime: '2024-01-01T09:00:00Z' }, end: { dateTime: '2024-01-01T10:00:00Z' }, recurrence: { rrule: ['FREQ=WEEKLY;UNTIL=20240301T000000Z'], rdate: [], exdate: [] } }), false],
    ['series with a date UNTIL on the first window day', ev('x', { start: { date: '2024-01-01' }, end: { date: '2024-01-02' }, recurrence: { rrule: ['FREQ=DAILY;UNTIL=20250110'], rdate: [], exdate: [] } }), true],
    ['series starting after the window', ev('x', { start: { dateTime: '2025-03-01T09:00:00Z' }, end: { dateTime: '2025-03-01T10:00:00Z' }, recurrence: { rrule: ['FREQ=DAILY'], rdate: [], exdate: [] } }), false],
  ] as const)('%s', (_name, e, inside) => {
    const create = buildPlan([e], [], { ...policy, window: w }, NOW);
    expect(create.ops[0].action).toBe(inside ? 'create' : 'skip');
    const del = buildPlan([ev('keep')], [owned(e as CalendarEvent), owned(ev('keep', { start: { dateTime: '2025-01-15T09:00:00Z' }, end: { dateTime: '2025-01-15T10:00:00Z' } }))], { ...policy, window: w }, NOW);
    const op = del.ops.find((o) => o.key === uidKey(e))!;
    expect(op.action).toBe(inside ? 'delete' : 'skip');
  });
});

describe('identity', () => {
  test('several sources share a calendar: keys differ by sourceId', () => {
    const a = ev('same', { sourceId: 'feed-a' });
    const b = ev('same', { sourceId: 'feed-b' });
    const plan = buildPlan([a, b], [], policy, NOW);
    expect(plan.counts.create).toBe(2);
    expect(new Set(plan.ops.map((o) => o.key)).size).toBe(2);
    expect(plan.ops.map((o) => sourcePartOfKey(o.key)).sort()).toEqual(['feed-a', 'feed-b']);
  });

  test("identity 'content': regenerated UIDs do not cause rewrites; identical events keep their multiplicity", () => {
    const p: SyncPolicy = { ...policy, identity: 'content' };
    const same = { title: 'Lecture' };
    const first = [ev('uid-1', same), ev('uid-2', same), ev('uid-3', { title: 'other' })];
    const plan1 = buildPlan(first, [], p, NOW);
    expect(plan1.counts.create).toBe(3);
    const actual: TargetEvent[] = plan1.ops.map((o, i) => ({ id: `t${i}`, calendarId: CAL, event: o.event!, stamp: { syncId: 'sync-1', sourceKey: o.key, fingerprint: o.fingerprint! } }));
    const regenerated = [ev('new-1', same), ev('new-2', same), ev('new-3', { title: 'other' })];
    const plan2 = buildPlan(regenerated, actual, p, NOW);
    // same content under new UIDs: nothing to write (the UID is not part of the written content)
    expect(plan2.counts).toMatchObject({ create: 0, update: 0, delete: 0, unchanged: 3 });
    // one of the two identical events went away: exactly one delete
    const plan3 = buildPlan([ev('n1', same), ev('n3', { title: 'other' })], actual, p, NOW);
    expect(plan3.counts).toMatchObject({ create: 0, delete: 1, unchanged: 2 });
    expect(plan1.ops.map((o) => o.key).sort()).toEqual([contentKey(first[0]), contentKey(first[0], 2), contentKey(first[2])].sort());
    // with identity 'uid' the same regeneration would delete and recreate everything
    const uidPlan1 = buildPlan(first, [], policy, NOW);
    const uidActual: TargetEvent[] = uidPlan1.ops.map((o, i) => ({ id: `t${i}`, calendarId: CAL, event: o.event!, stamp: { syncId: 'sync-1', sourceKey: o.key, fingerprint: o.fingerprint! } }));
    expect(buildPlan(regenerated, uidActual, policy, NOW).counts).toMatchObject({ create: 3, delete: 3 });
  });

  test('keys are printable and never longer than MAX_KEY_LENGTH', () => {
    const long = ev('u'.repeat(3000), { sourceId: 's'.repeat(500) });
    const k = uidKey(long);
    expect(k.length).toBeLessThanOrEqual(MAX_KEY_LENGTH);
    expect(k).toMatch(/^[\x21-\x7e ]+$/);
    expect(uidKey(long)).toBe(k);
    expect(uidKey(ev('ü ∑|x', { sourceId: 'a b' }))).toMatch(/^k1 a%20b u:%C3%BC%20%E2%88%91%7Cx$/);
    expect(overrideKey(k, { dateTime: '2025-01-20T10:00:00', timeZone: 'Europe/Berlin' })).toBe(`${k} r:20250120T090000Z`);
  });
});

describe('series', () => {
  const master = ev('s', { start: { dateTime: '2025-01-13T09:00:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2025-01-13T10:00:00', timeZone: 'Europe/Berlin' }, recurrence: { rrule: ['FREQ=WEEKLY;COUNT=10'], rdate: [], exdate: [] } });
  const moved = ev('s', { recurrenceId: { dateTime: '2025-01-20T09:00:00', timeZone: 'Europe/Berlin' }, start: { dateTime: '2025-01-20T11:00:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2025-01-20T12:00:00', timeZone: 'Europe/Berlin' } });
  const cancelled = ev('s', { recurrenceId: { dateTime: '2025-01-27T09:00:00', timeZone: 'Europe/Berlin' }, status: 'CANCELLED', start: { dateTime: '2025-01-27T09:00:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2025-01-27T10:00:00', timeZone: 'Europe/Berlin' } });

  test('written as a series: overrides are their own ops after the master; cancelled occurrences become EXDATEs', () => {
    const plan = buildPlan([master, moved, cancelled], [], policy, NOW);
    const m = plan.ops.find((o) => o.key === uidKey(master))!;
    const o = plan.ops.find((x) => x.key === overrideKey(uidKey(master), moved.recurrenceId!))!;
    expect(m.action).toBe('create');
    expect(m.event!.recurrence!.exdate).toEqual([cancelled.recurrenceId]);
    expect(o).toMatchObject({ action: 'create', phase: 'series-override', masterKey: uidKey(master) });
    expect(plan.ops).toHaveLength(2);
  });

  test('an occurrence routed to another calendar is an EXDATE in the master calendar', () => {
    const plan = buildPlan([{ calendarId: 'A', event: master }, { calendarId: 'B', event: moved }], [], policy, NOW);
    const inA = plan.ops.find((x) => x.calendarId === 'A')!;
    const inB = plan.ops.find((x) => x.calendarId === 'B')!;
    expect(inA.event!.recurrence!.exdate).toEqual([moved.recurrenceId]);
    expect(inB.event!.recurrenceId).toBeUndefined();
    expect(inB.action).toBe('create');
  });

  test('expanded when the target cannot store it: single events inside the window, reason in warnings', () => {
    const expander: SeriesExpander = (m, overrides, w) => {
      // weekly, 10 times — a tiny stand-in expander for this test
      const out: CalendarEvent[] = [];
      for (let i = 0; i < 10; i++) {
        const rid = { dateTime: `2025-${String(1 + Math.floor((13 + 7 * i - 1) / 31)).padStart(2, '0')}-${String(((13 + 7 * i - 1) % 31) + 1).padStart(2, '0')}T09:00:00`, timeZone: 'Europe/Berlin' };
        const o = overrides.find((x) => x.recurrenceId!.dateTime === rid.dateTime);
        out.push(o ?? { ...m, recurrence: undefined, recurrenceId: rid, start: rid, end: { ...rid, dateTime: rid.dateTime.replace('T09', 'T10') } });
      }
      expect(m.recurrence!.exdate).toHaveLength(1);
      return { events: out.filter((e) => !m.recurrence!.exdate.some((x) => x.dateTime === e.recurrenceId!.dateTime)), errors: [], window: w };
    };
    const plan = buildPlan([master, moved, cancelled], [], { ...policy, seriesSupport: () => 'BYSETPOS not supported', expandSeries: expander }, NOW);
    const creates = plan.ops.filter((o) => o.action === 'create');
    // window = Jan 8 .. Feb 14: occurrences Jan 13, 20 (moved), Feb 3, 10 (Jan 27 cancelled)
    expect(creates.map((o) => o.key.split(' o:')[1]).sort()).toEqual(['20250113T080000Z', '20250120T080000Z', '20250203T080000Z', '20250210T080000Z']);
    expect(creates.every((o) => !o.event!.recurrence && !o.event!.recurrenceId)).toBe(true);
    expect(creates.find((o) => o.key.endsWith('20250120T080000Z'))!.event!.start.dateTime).toBe('2025-01-20T11:00:00');
    expect(plan.warnings.join('\n')).toMatch(/BYSETPOS not supported/);
    expect(creates[0].key.startsWith(occurrenceKey(uidKey(master), master.start).split(' o:')[0])).toBe(true);
  });

  test('no expander: the series is skipped with a warning and its existing occurrences are kept', () => {
    const occ = owned(ev('s#x'), { key: occurrenceKey(uidKey(master), master.start) });
    const plan = buildPlan([master], [occ], { ...policy, seriesSupport: () => 'nope', expandSeries: null }, NOW);
    expect(plan.counts.delete).toBe(0);
    expect(plan.warnings.join()).toMatch(/no expander/);
  });

  test('deleting a master takes its overrides with it (no separate deletes)', () => {
    const mk = uidKey(master);
    const plan = buildPlan([ev('other')], [owned(master), owned(moved, { key: overrideKey(mk, moved.recurrenceId!), id: 't-o' })], policy, NOW);
    expect(plan.ops.filter((o) => o.action === 'delete').map((o) => o.key)).toEqual([mk]);
    expect(plan.ops.find((o) => o.targetId === 't-o')!.reason).toBe('deleted with its series master');
  });

  test('the default expander (core/recurrence) writes the occurrences inside the window', () => {
    const plan = buildPlan([master, moved, cancelled], [], { ...policy, seriesSupport: () => 'not a pattern' }, NOW);
    const creates = plan.ops.filter((o) => o.action === 'create');
    // COUNT=10 weekly from Jan 13; window Jan 8 .. Feb 14; Jan 27 cancelled, Jan 20 moved to 11:00
    expect(creates.map((o) => o.event!.start.dateTime).sort()).toEqual(['2025-01-13T09:00:00', '2025-01-20T11:00:00', '2025-02-03T09:00:00', '2025-02-10T09:00:00']);
    expect(creates.every((o) => o.key.includes(' o:'))).toBe(true);
  });
});

describe('a series switching between "stored as a series" and "expanded into single events"', () => {
  const series = ev('s', { recurrence: { rrule: ['FREQ=DAILY;COUNT=12'], rdate: [], exdate: [] } });
  const expanded: SyncPolicy = { ...policy, seriesSupport: () => 'gained an override', maxDeletes: { count: 0 } };
  const asSeries: SyncPolicy = { ...policy, seriesSupport: () => true, maxDeletes: { count: 0 } };
  const writeAll = (p: ReturnType<typeof buildPlan>): TargetEvent[] =>
    p.ops.filter((o) => o.action === 'create').map((o, i) => ({ id: `t${i}`, calendarId: CAL, event: o.event!, stamp: { syncId: 'sync-1', sourceKey: o.key, fingerprint: o.fingerprint! } }));

  test('series → single events: the master delete says so and does not count against maxDeletes', () => {
    const before = writeAll(buildPlan([series], [], asSeries, NOW));
    expect(before).toHaveLength(1);
    const plan = planSync([series], before, expanded, NOW);
    expect(plan.ops.filter((o) => o.action === 'delete').map((o) => o.reason)).toEqual(['series rewritten as single events']);
    expect(plan.counts.create).toBe(12);
  });

  test('single events → series: the occurrence deletes say so and do not count against maxDeletes', () => {
    const before = writeAll(buildPlan([series], [], expanded, NOW));
    expect(before).toHaveLength(12);
    const plan = planSync([series], before, asSeries, NOW);
    expect(new Set(plan.ops.filter((o) => o.action === 'delete').map((o) => o.reason))).toEqual(new Set(['single events replaced by the series']));
    expect(plan.counts).toMatchObject({ delete: 12, create: 1 });
  });

  test('a series really removed from the source still counts', () => {
    const before = writeAll(buildPlan([series], [], expanded, NOW));
    expect(() => planSync([ev('other')], before, { ...expanded, allowEmptySource: true }, NOW)).toThrow(DeleteLimitError);
  });
});

describe('guards', () => {
  const many = (n: number) => Array.from({ length: n }, (_, i) => owned(ev(`e${i}`)));

  test('SourceEmptyError when the source delivers nothing but we own events; allowEmptySource overrides', () => {
    let err: unknown;
    try {
      planSync([], many(3), policy, NOW);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SourceEmptyError);
    expect((err as SourceEmptyError).sources).toEqual([{ source: '-', ownedInWindow: 3 }]);
    expect((err as SourceEmptyError).plan.counts.delete).toBe(3);
    expect(planSync([], many(3), { ...policy, allowEmptySource: true }, NOW).counts.delete).toBe(3);
  });

  test('SourceEmptyError per source: one empty source among others', () => {
    const a = owned(ev('a', { sourceId: 'feed-a' }));
    expect(() => planSync([ev('b', { sourceId: 'feed-b' })], [a], policy, NOW)).toThrow(SourceEmptyError);
  });

  test('a failed source raises SourceEmptyError with its failure; keepFailedSources syncs the others and keeps its events', () => {
    const a1 = owned(ev('a1', { sourceId: 'feed-a' }));
    const a2 = owned(ev('a2', { sourceId: 'feed-a' }));
    const b = owned(ev('b', { sourceId: 'feed-b' }));
    const desired = [ev('b', { sourceId: 'feed-b', title: 'changed' })];
    const failed = { ...policy, failedSources: [{ id: 'feed-a', failure: 'HTTP 500 from https://a.example/feed.ics' }] };
    let err: unknown;
    try {
      planSync(desired, [a1, a2, b], failed, NOW);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SourceEmptyError);
    expect((err as SourceEmptyError).sources).toEqual([{ source: 'feed-a', ownedInWindow: 2, failure: 'HTTP 500 from https://a.example/feed.ics' }]);
    expect((err as SourceEmptyError).message).toContain('HTTP 500 from https://a.example/feed.ics');
    expect((err as SourceEmptyError).message).toContain('keepFailedSources');
    // allowEmptySource is not the override for a failed source
    expect(() => planSync(desired, [a1, a2, b], { ...failed, allowEmptySource: true }, NOW)).toThrow(SourceEmptyError);
    // plain ids work too
    expect(() => planSync(desired, [a1, a2, b], { ...policy, failedSources: ['feed-a'] }, NOW)).toThrow(SourceEmptyError);
    const plan = planSync(desired, [a1, a2, b], { ...failed, keepFailedSources: true }, NOW);
    expect(plan.ops.filter((o) => o.key.includes('feed-a')).map((o) => `${o.action}: ${o.reason}`)).toEqual(['skip: source failed this run: kept as it is', 'skip: source failed this run: kept as it is']);
    expect(plan.ops.find((o) => o.key === b.stamp!.sourceKey)!.action).toBe('update');
    expect(plan.sources['feed-a']).toMatchObject({ failure: 'HTTP 500 from https://a.example/feed.ics', kept: 2 });
    // a failed source with nothing on the target has nothing to protect
    expect(planSync(desired, [b], failed, NOW).counts.update).toBe(1);
  });

  test('a broken feed that still delivers an event outside the window trips SourceEmptyError too', () => {
    const far = ev('far', { start: { dateTime: '2027-06-01T09:00:00Z' }, end: { dateTime: '2027-06-01T10:00:00Z' } });
    let err: unknown;
    try {
      planSync([far], many(3), policy, NOW);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SourceEmptyError);
    expect((err as SourceEmptyError).sources).toEqual([{ source: '-', ownedInWindow: 3 }]);
    expect(planSync([far], many(3), { ...policy, allowEmptySource: true }, NOW).counts.delete).toBe(3);
    // one event inside the window is enough to count as delivered
    expect(planSync([far, ev('e0')], many(3), policy, NOW).counts.delete).toBe(2);
  });

  test('empty source with nothing owned is fine', () => {
    expect(planSync([], [], policy, NOW).ops).toEqual([]);
  });

  test.each<[MaxDeletes, number, boolean]>([
    [{ count: 5 }, 6, true],
    [{ count: 5 }, 5, false],
    [{ percent: 50 }, 11, true],
    [{ percent: 50 }, 10, false],
    [{ count: 100, percent: 10 }, 4, true],
    [{ count: 100, percent: 10 }, 3, false],
  ])('maxDeletes %j with %i of 20 deleted → error=%s', (max, deletes, throws) => {
    const actual = many(20);
    const desired = actual.slice(deletes).map((t) => t.event);
    const run = () => planSync(desired, actual, { ...policy, maxDeletes: max }, NOW);
    if (throws) {
      expect(run).toThrow(DeleteLimitError);
      try {
        run();
      } catch (e) {
        const allowed = Math.min(max.count ?? Infinity, max.percent !== undefined ? Math.max(3, Math.floor((20 * max.percent) / 100)) : Infinity);
        expect((e as DeleteLimitError).calendars).toEqual([{ calendarId: CAL, deletes, owned: 20, allowed, limitCount: max.count, limitPercent: max.percent, ...(max.percent !== undefined ? { limitFloor: 3 } : {}) }]);
      }
      expect(planSync(desired, actual, { ...policy, maxDeletes: max, force: true }, NOW).counts.delete).toBe(deletes);
    } else {
      expect(run().counts.delete).toBe(deletes);
    }
  });

  test('a small calendar may always lose the floor (3); removing exact doubles never counts', () => {
    expect(guardViolations(buildPlan([ev('e0')], many(2), policy, NOW), { ...policy, maxDeletes: { percent: 10 } })).toEqual([]);
    const dups = [owned(ev('a'), { id: '1' }), owned(ev('a'), { id: '2' }), owned(ev('a'), { id: '3' })];
    expect(() => checkGuards(buildPlan([ev('a')], dups, policy, NOW), { ...policy, maxDeletes: { count: 0 } })).not.toThrow();
  });
});

describe('floating times: one zone per target calendar (policy.floatingTimeZoneFor)', () => {
  // The window starts at 2025-01-10T00:00Z. A floating 10:00–11:00 on the 10th ends at 22:00Z on the
  // 9th in Auckland (UTC+13): before the window; in New York (UTC−5) at 16:00Z on the 10th: inside.
  const window = { from: Date.UTC(2025, 0, 10), to: Date.UTC(2025, 1, 10) };
  const AKL = 'auckland-room@example.com';
  const NYC = 'newyork-room@example.com';
  const floating = ev('f', { start: { dateTime: '2025-01-10T10:00:00' }, end: { dateTime: '2025-01-10T11:00:00' } });
  const allDay = ev('d', { start: { date: '2025-01-09' }, end: { date: '2025-01-10' } });
  const zoned: SyncPolicy = { syncId: 'sync-1', window, floatingTimeZone: 'UTC', floatingTimeZoneFor: { [AKL]: 'Pacific/Auckland', [NYC]: 'America/New_York' } };
  const desired = [AKL, NYC].flatMap((calendarId) => [floating, allDay].map((event) => ({ calendarId, event })));
  const opsFor = (plan: ReturnType<typeof planSync>, calendarId: string, key: string) => plan.ops.filter((o) => o.calendarId === calendarId && o.key === key).map((o) => o.action);

  test('the same floating event near the window edge is placed in each calendar\'s own zone', () => {
    const plan = planSync({ routed: desired, unmapped: [] }, [], zoned, NOW);
    expect(opsFor(plan, NYC, uidKey(floating))).toEqual(['create']);
    expect(opsFor(plan, AKL, uidKey(floating))).not.toContain('create');
    // The all-day 9th ends at 2025-01-10T00:00 local: 05:00Z in New York (inside), 11:00Z on the 9th in Auckland (before).
    expect(opsFor(plan, NYC, uidKey(allDay))).toEqual(['create']);
    expect(opsFor(plan, AKL, uidKey(allDay))).not.toContain('create');
    expect(plan.calendars[NYC].ownedInWindow).toBe(0);
  });

  test('an owned floating event past the edge in its calendar\'s zone is outside the window there (not counted, not deleted)', () => {
    const plan = planSync({ routed: [{ calendarId: NYC, event: ev('x') }], unmapped: [] }, [owned(floating, { calendarId: AKL }), owned(floating, { calendarId: NYC, id: 't-f-nyc' })], zoned, NOW);
    expect(plan.calendars[AKL].ownedInWindow).toBe(0);
    expect(opsFor(plan, AKL, uidKey(floating))).not.toContain('delete');
    expect(opsFor(plan, NYC, uidKey(floating))).toEqual(['delete']);
  });

  test('a calendar without an entry uses floatingTimeZone', () => {
    const plan = planSync({ routed: [{ calendarId: CAL, event: floating }], unmapped: [] }, [], { ...zoned, floatingTimeZone: 'Pacific/Auckland' }, NOW);
    expect(opsFor(plan, CAL, uidKey(floating))).not.toContain('create');
  });
});
