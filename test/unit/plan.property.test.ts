/**
 * Property: for random desired sets and random target states (earlier syncs, duplicates after a
 * crash, stale fingerprints, people's own events, other syncs' events), planning and applying to
 * the in-memory provider yields the desired state inside the window, re-planning is a no-op,
 * foreign events are untouched and no key is duplicated — also when writes fail transiently, for
 * a Graph-like target that expands series with overrides, with a failed source (untouched) and
 * unmapped events (kept); identity 'content' is stable under any permutation of the feed.
 */
import fc from 'fast-check';
import type { CalendarEvent } from '../../core/event';
import { buildPlan, type DesiredEvent } from '../../core/plan';
import type { SyncPolicy } from '../../core/sync-types';
import { applyPlan } from '../../providers/apply';
import { MemoryCalendarProvider } from '../../providers/memory';
import { ProviderError, TransportError, type TargetEvent } from '../../providers/port';

const NOW = Date.UTC(2025, 2, 10, 12);
const DAY = 86_400_000;
const WINDOW = { pastDays: 7, futureDays: 30 };
const FROM = NOW - 7 * DAY;
const TO = NOW + 30 * DAY;
const CALENDARS = ['A', 'B'];

function iso(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + 'Z';
}

const arbEvent = fc.record({
  calendarId: fc.constantFrom(...CALENDARS),
  uid: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'),
  sourceId: fc.constantFrom(undefined, 's1', 's2'),
  title: fc.constantFrom('Math', 'Art', 'Talk'),
  day: fc.integer({ min: -20, max: 50 }),
  hour: fc.integer({ min: 0, max: 22 }),
  allDay: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
  cancelled: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  weekly: fc.integer({ min: 0, max: 6 }).map((n) => n === 0),
  movedSecond: fc.boolean(),
});
type Gen = typeof arbEvent extends fc.Arbitrary<infer T> ? T : never;

function toDesired(g: Gen): DesiredEvent[] {
  const startMs = Date.UTC(2025, 2, 10) + g.day * DAY + g.hour * 3_600_000;
  const base: CalendarEvent = g.allDay
    ? { uid: g.uid, title: g.title, start: { date: iso(startMs).slice(0, 10) }, end: { date: iso(startMs + DAY).slice(0, 10) } }
    : { uid: g.uid, title: g.title, start: { dateTime: iso(startMs) }, end: { dateTime: iso(startMs + 3_600_000) } };
  if (g.sourceId) base.sourceId = g.sourceId;
  if (g.cancelled) base.status = 'CANCELLED';
  const out: DesiredEvent[] = [];
  if (g.weekly && !g.allDay) {
    base.recurrence = { rrule: ['FREQ=WEEKLY;COUNT=4'], rdate: [], exdate: [] };
    out.push({ calendarId: g.calendarId, event: base });
    if (g.movedSecond) {
      const rid = startMs + 7 * DAY;
      out.push({ calendarId: g.calendarId, event: { ...base, recurrence: undefined, recurrenceId: { dateTime: iso(rid) }, start: { dateTime: iso(rid + 7_200_000) }, end: { dateTime: iso(rid + 10_800_000) }, status: undefined } });
    }
    return out;
  }
  return [{ calendarId: g.calendarId, event: base }];
}

const arbForeign = fc.record({
  calendarId: fc.constantFrom(...CALENDARS),
  day: fc.integer({ min: -20, max: 50 }),
  otherSync: fc.boolean(),
  sameUid: fc.constantFrom('a', 'b', 'zz'),
});

const arbScenario = fc.record({
  before: fc.array(arbEvent, { maxLength: 12 }),
  after: fc.array(arbEvent, { maxLength: 12 }),
  foreign: fc.array(arbForeign, { maxLength: 4 }),
  duplicates: fc.array(fc.nat(), { maxLength: 3 }),
  staleFingerprints: fc.array(fc.nat(), { maxLength: 3 }),
});

function overlaps(e: CalendarEvent): boolean {
  const s = Date.parse(e.start.date ? `${e.start.date}T00:00:00Z` : e.start.dateTime!);
  const en = Date.parse(e.end.date ? `${e.end.date}T00:00:00Z` : e.end.dateTime!);
  return s < TO && en > FROM;
}

const policy: SyncPolicy = { syncId: 'relay-1', window: WINDOW, allowEmptySource: true };

type Scenario = typeof arbScenario extends fc.Arbitrary<infer T> ? T : never;

async function setUp(provider: MemoryCalendarProvider, s: Scenario) {
  // An earlier sync wrote `before`.
  const first = buildPlan(s.before.flatMap(toDesired), [], policy, NOW);
  await applyPlan(first, provider, { sleep: async () => {} });
  // Crash leftovers and drift: duplicates of our events, stale fingerprints.
  const ownedNow = CALENDARS.flatMap((c) => provider.events(c)).filter((t) => t.stamp);
  s.duplicates.forEach((n, i) => {
    if (!ownedNow.length) return;
    const t = ownedNow[n % ownedNow.length];
    provider.seed(t.calendarId, t.event, t.stamp, `dup${i}`);
  });
  s.staleFingerprints.forEach((n) => {
    if (!ownedNow.length) return;
    const t = ownedNow[n % ownedNow.length];
    provider.seed(t.calendarId, { ...t.event, title: 'edited' }, { ...t.stamp!, fingerprint: 'f1-stale' }, t.id);
  });
  // People's own events and another sync's events.
  s.foreign.forEach((f, i) => {
    const start = NOW + f.day * DAY;
    provider.seed(f.calendarId, { uid: f.sameUid, title: 'Private', start: { dateTime: iso(start) }, end: { dateTime: iso(start + 3_600_000) } },
      f.otherSync ? { syncId: 'someone-else', sourceKey: `k1 - u:${f.sameUid}`, fingerprint: 'f1-x' } : undefined, `foreign${i}`);
  });
}

async function listAll(provider: MemoryCalendarProvider): Promise<TargetEvent[]> {
  const w = { from: FROM, to: TO };
  const lists = await Promise.all(CALENDARS.map((c) => provider.listEvents(c, w)));
  return lists.flat();
}

function foreignSnapshot(provider: MemoryCalendarProvider) {
  return CALENDARS.flatMap((c) => provider.events(c)).filter((t) => t.stamp?.syncId !== policy.syncId).sort((a, b) => a.id.localeCompare(b.id));
}

async function checkConverged(provider: MemoryCalendarProvider, desired: DesiredEvent[], foreignBefore: TargetEvent[]) {
  const actual = await listAll(provider);
  // Re-planning finds nothing to write.
  const again = buildPlan(desired, actual, policy, NOW);
  expect({ create: again.counts.create, update: again.counts.update, delete: again.counts.delete }).toEqual({ create: 0, update: 0, delete: 0 });
  // Foreign events untouched.
  expect(foreignSnapshot(provider)).toEqual(foreignBefore);
  // No duplicates: one target event per key per calendar.
  for (const c of CALENDARS) {
    const keys = provider.events(c).filter((t) => t.stamp?.syncId === policy.syncId).map((t) => t.stamp!.sourceKey);
    expect(new Set(keys).size).toBe(keys.length);
  }
  // Target equals desired inside the window (single events, checked without the planner):
  // the first event per (calendar, source, uid) that is not cancelled and overlaps the window.
  // UIDs involved in a series (first event a series, or any override) are left to the re-plan check.
  const idOf = (calendarId: string, e: CalendarEvent) => `${calendarId}|${e.sourceId ?? ''}|${e.uid}`;
  const seriesUids = new Set(desired.filter((d) => d.event.recurrenceId).map((d) => idOf(d.calendarId, d.event)));
  const expected = new Map<string, string>();
  const seen = new Set<string>();
  for (const d of desired) {
    const e = d.event;
    const id = idOf(d.calendarId, e);
    if (e.recurrenceId || seen.has(id)) continue;
    seen.add(id);
    if (e.recurrence) seriesUids.add(id);
    else if (e.status !== 'CANCELLED' && overlaps(e) && !seriesUids.has(id)) expected.set(id, `${e.title}@${JSON.stringify(e.start)}`);
  }
  const got = new Map<string, string>();
  for (const c of CALENDARS) {
    for (const t of provider.events(c)) {
      if (t.stamp?.syncId !== policy.syncId || t.event.recurrence || t.event.recurrenceId || !overlaps(t.event)) continue;
      const id = `${c}|${t.event.sourceId ?? ''}|${t.event.uid}`;
      if (seriesUids.has(id)) continue; // a series occurrence moved to a single event
      got.set(id, `${t.event.title}@${JSON.stringify(t.event.start)}`);
    }
  }
  expect(Object.fromEntries(got)).toEqual(Object.fromEntries(expected));
}

describe('planSync + applyPlan converge (property)', () => {
  test('target equals desired, re-plan is empty, foreign untouched, no duplicates', async () => {
    await fc.assert(
      fc.asyncProperty(arbScenario, async (s) => {
        const provider = new MemoryCalendarProvider({ maxBatchSize: 3, maxConcurrencyPerCalendar: 2 });
        await setUp(provider, s);
        const foreignBefore = foreignSnapshot(provider);
        const desired = s.after.flatMap(toDesired);
        const plan = buildPlan(desired, await listAll(provider), policy, NOW);
        expect(plan.ops.every((o) => !(o.action === 'update' || o.action === 'delete') || !o.targetId?.startsWith('foreign'))).toBe(true);
        const report = await applyPlan(plan, provider, { sleep: async () => {} });
        expect(report.ok).toBe(true);
        await checkConverged(provider, desired, foreignBefore);
      }),
      { numRuns: 150 },
    );
  });

  test('the same holds when writes fail transiently (429 + Retry-After, 5xx, lost responses, rejected batches)', async () => {
    await fc.assert(
      fc.asyncProperty(arbScenario, fc.integer({ min: 1, max: 1_000_000 }), async (s, seed) => {
        let x = seed;
        const rnd = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
        const provider = new MemoryCalendarProvider({ maxBatchSize: 3, maxConcurrencyPerCalendar: 2 });
        await setUp(provider, s);
        const foreignBefore = foreignSnapshot(provider);
        provider.faults = {
          request: () => (rnd() < 0.15 ? (rnd() < 0.5 ? new TransportError('socket hang up', 'ECONNRESET') : new ProviderError('backend', { status: 503, retryable: true })) : undefined),
          op: (_op, attempt) => {
            if (attempt > 3) return undefined;
            const r = rnd();
            if (r < 0.1) return new ProviderError('throttled', { status: 429, retryable: true, retryAfterMs: 1500 });
            if (r < 0.15) return new ProviderError('backendError', { status: 500, retryable: true });
            if (r < 0.2) return { error: new ProviderError('response lost', { status: 502, retryable: true }), applied: true };
            return undefined;
          },
        };
        const desired = s.after.flatMap(toDesired);
        const plan = buildPlan(desired, await listAll(provider), policy, NOW);
        const report = await applyPlan(plan, provider, { sleep: async () => {}, retry: { maxRetries: 10 }, random: rnd });
        expect(Object.values(report.calendars).flatMap((c) => c.errors)).toEqual([]);
        expect(report.ok).toBe(true);
        provider.faults = {};
        await checkConverged(provider, desired, foreignBefore);
      }),
      { numRuns: 100 },
    );
  });
});

describe('regressions found by the properties', () => {
  test('a series whose own occurrences lie past the window but whose override lies inside converges (two masters for one UID in the feed)', async () => {
    // fast-check counterexample (seed -1762948351): the second master is a duplicate in the source
    // and dropped; its override stays and is live inside the window, so the kept master counts as
    // inside the window too — the target must list it the same way.
    const after: Gen[] = [
      { calendarId: 'B', uid: 'g', sourceId: undefined, title: 'Math', day: 31, hour: 0, allDay: false, cancelled: false, weekly: true, movedSecond: false },
      { calendarId: 'B', uid: 'g', sourceId: undefined, title: 'Math', day: 0, hour: 0, allDay: false, cancelled: true, weekly: true, movedSecond: true },
    ];
    const provider = new MemoryCalendarProvider({ maxBatchSize: 3, maxConcurrencyPerCalendar: 2 });
    const desired = after.flatMap(toDesired);
    const report = await applyPlan(buildPlan(desired, await listAll(provider), policy, NOW), provider, { sleep: async () => {} });
    expect(report.ok).toBe(true);
    await checkConverged(provider, desired, []);
  });
});

describe("identity 'content' (property)", () => {
  const contentPolicy: SyncPolicy = { syncId: 'relay-1', window: WINDOW, identity: 'content', calendarId: 'A' };
  // Few distinct titles/times, so many events share their content identity and differ only in
  // the description (part of the fingerprint, not of the identity).
  const arbItem = fc.record({
    title: fc.constantFrom('Lecture', 'Lab'),
    day: fc.integer({ min: 0, max: 2 }),
    location: fc.constantFrom(undefined, 'Room 1'),
    description: fc.constantFrom(undefined, 'bring laptops', 'cancelled?', 'x'),
  });
  const toEvent = (g: { title: string; day: number; location?: string; description?: string }, uid: string): CalendarEvent => {
    const start = NOW + g.day * DAY;
    return {
      uid, title: g.title, start: { dateTime: iso(start) }, end: { dateTime: iso(start + 3_600_000) },
      ...(g.location ? { location: g.location } : {}), ...(g.description ? { description: g.description } : {}),
    };
  };

  test('any permutation of the feed (UIDs regenerated) plans zero writes after a sync', () => {
    fc.assert(
      fc.property(fc.array(arbItem, { maxLength: 12 }).chain((items) => fc.tuple(fc.constant(items), fc.shuffledSubarray(items.map((_x, i) => i), { minLength: items.length, maxLength: items.length }))), ([items, order]) => {
        const first = items.map((g, i) => toEvent(g, `run1-${i}`));
        const plan1 = buildPlan(first, [], contentPolicy, NOW);
        const actual: TargetEvent[] = plan1.ops.filter((o) => o.action === 'create').map((o, i) => ({ id: `t${i}`, calendarId: 'A', event: o.event!, stamp: { syncId: 'relay-1', sourceKey: o.key, fingerprint: o.fingerprint! } }));
        const second = order.map((i, k) => toEvent(items[i], `run2-${k}`));
        const plan2 = buildPlan(second, actual, contentPolicy, NOW);
        expect({ create: plan2.counts.create, update: plan2.counts.update, delete: plan2.counts.delete }).toEqual({ create: 0, update: 0, delete: 0 });
      }),
      { numRuns: 300 },
    );
  });
});

describe('expanded series, a failed source and unmapped events (property)', () => {
  // Graph-like target: a series with overrides cannot be stored as a series and is expanded.
  const graphLike: SyncPolicy = { ...policy, seriesSupport: (_m, overrides) => (overrides.length ? 'has overrides' : true) };

  test('failed source untouched, unmapped copies kept, everything else converges with no duplicates', async () => {
    await fc.assert(
      fc.asyncProperty(arbScenario, fc.boolean(), fc.boolean(), async (s, failS2, unmapG) => {
        const provider = new MemoryCalendarProvider({ maxBatchSize: 4, maxConcurrencyPerCalendar: 2 });
        await applyPlan(buildPlan(s.before.flatMap(toDesired), [], graphLike, NOW), provider, { sleep: async () => {} });
        const ownedOf = (src: string | undefined) => CALENDARS.flatMap((c) => provider.events(c)).filter((t) => t.stamp?.syncId === policy.syncId && t.stamp.sourceKey.split(' ')[1] === (src ?? '-')).map((t) => `${t.id}|${t.stamp!.sourceKey}|${t.stamp!.fingerprint}`).sort();
        const s2Before = ownedOf('s2');
        const all = s.after.flatMap(toDesired);
        const isUnmapped = (d: DesiredEvent) => unmapG && d.event.uid === 'g';
        const desired = { routed: all.filter((d) => !isUnmapped(d)), unmapped: all.filter(isUnmapped).map((d) => ({ event: d.event, reason: 'room "G" not in the room map' })) };
        const p: SyncPolicy = { ...graphLike, ...(failS2 ? { failedSources: [{ id: 's2', failure: 'HTTP 500' }], keepFailedSources: true } : {}) };
        const actual = await listAll(provider);
        const plan = buildPlan(desired, actual, p, NOW);
        // Unmapped events keep their copies: no delete of a key that belongs to one of them
        // (a cancelled one says "delete me" whatever its room).
        const cancelledMasters = new Set(desired.unmapped.filter((u) => !u.event.recurrenceId && u.event.status === 'CANCELLED').map((u) => `${u.event.sourceId}|${u.event.uid}`));
        const unmappedKeys = desired.unmapped
          .filter((u) => !u.event.recurrenceId && u.event.status !== 'CANCELLED' && !cancelledMasters.has(`${u.event.sourceId}|${u.event.uid}`))
          .map((u) => `k1 ${u.event.sourceId ?? '-'} u:${u.event.uid}`);
        expect(plan.ops.filter((o) => o.action === 'delete' && !o.duplicate && unmappedKeys.some((k) => o.key === k || o.key.startsWith(`${k} `)))).toEqual([]);
        const report = await applyPlan(plan, provider, { sleep: async () => {} });
        expect(report.ok).toBe(true);
        if (failS2) expect(ownedOf('s2')).toEqual(s2Before);
        // Re-planning finds nothing to write, and no key is duplicated.
        const again = buildPlan(desired, await listAll(provider), p, NOW);
        expect({ create: again.counts.create, update: again.counts.update, delete: again.counts.delete }).toEqual({ create: 0, update: 0, delete: 0 });
        for (const c of CALENDARS) {
          const keys = provider.events(c).filter((t) => t.stamp?.syncId === policy.syncId).map((t) => t.stamp!.sourceKey);
          expect(new Set(keys).size).toBe(keys.length);
        }
      }),
      { numRuns: 300 },
    );
  });
});
