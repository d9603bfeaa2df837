/**
 * syncCalendars' share of sync safety (issue 7): the run state for the "source shrank" guard kept in
 * a KeyValueStore, and people's copies and edits through the in-memory provider.
 */
import type { CalendarEvent } from '../../core/event';
import { DeleteLimitError, SourceEmptyError, SourceShrankError } from '../../core/guards';
import type { SyncPolicy } from '../../core/sync-types';
import { MemoryCalendarProvider } from '../../providers/memory';
import { ProviderError } from '../../providers/port';
import { MemoryKeyValueStore } from '../../providers/state';
import { RUN_STATE_PREFIX, syncCalendars } from '../../providers/sync';

const NOW = Date.UTC(2025, 0, 15, 12);
const ROOM = 'room@example.com';
const routing = { target: [ROOM] };
const policy: SyncPolicy = { syncId: 's', window: { pastDays: 7, futureDays: 30 } };

function feed(n: number, sourceId = 'feed'): CalendarEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    uid: `e${i}`, sourceId, title: `Event ${i}`,
    start: { dateTime: `2025-01-${String(16 + (i % 10)).padStart(2, '0')}T${String(8 + Math.floor(i / 10)).padStart(2, '0')}:00:00Z` },
    end: { dateTime: `2025-01-${String(16 + (i % 10)).padStart(2, '0')}T${String(8 + Math.floor(i / 10)).padStart(2, '0')}:30:00Z` },
  }));
}

describe('the source-shrank guard through syncCalendars', () => {
  test('the state of a successful run is kept; a source that then shrinks to less than half stops the next run, nothing written', async () => {
    const p = new MemoryCalendarProvider();
    const stateStore = new MemoryKeyValueStore();
    const first = await syncCalendars({ provider: p, desired: feed(20), routing, policy, now: NOW, stateStore });
    expect(first.ok).toBe(true);
    expect(JSON.parse(stateStore.get(RUN_STATE_PREFIX + 's')!)).toEqual({ v: 1, at: NOW, sources: { feed: 20 } });
    const writes = p.requests.length;
    const run = () => syncCalendars({ provider: p, desired: feed(8), routing, policy, now: NOW + 3_600_000, stateStore });
    await expect(run()).rejects.toThrow(SourceShrankError);
    expect(p.requests.length).toBe(writes);
    // The guards are independent: allowing the shrink still leaves 12 of 20 deletes over the default limit.
    await expect(syncCalendars({ provider: p, desired: feed(8), routing, policy: { ...policy, allowShrink: true }, now: NOW, stateStore })).rejects.toThrow(DeleteLimitError);
    const forced = await syncCalendars({ provider: p, desired: feed(8), routing, policy: { ...policy, allowShrink: true, force: true }, now: NOW, stateStore });
    expect(forced.ok).toBe(true);
    expect(forced.plan.counts.delete).toBe(12);
    expect(JSON.parse(stateStore.get(RUN_STATE_PREFIX + 's')!).sources).toEqual({ feed: 8 });
  });

  test('a dry run and a run with failed writes do not move the state', async () => {
    const p = new MemoryCalendarProvider();
    const stateStore = new MemoryKeyValueStore();
    await syncCalendars({ provider: p, desired: feed(10), routing, policy, now: NOW, stateStore });
    const saved = stateStore.get(RUN_STATE_PREFIX + 's');
    const dry = await syncCalendars({ provider: p, desired: feed(12), routing, policy, now: NOW, stateStore, dryRun: true });
    expect(dry.runState.sources).toEqual({ feed: 12 });
    expect(stateStore.get(RUN_STATE_PREFIX + 's')).toBe(saved);
    p.faults = { op: () => new ProviderError('boom', { retryable: false }) };
    const failed = await syncCalendars({ provider: p, desired: feed(12), routing, policy, now: NOW, stateStore });
    expect(failed.ok).toBe(false);
    expect(stateStore.get(RUN_STATE_PREFIX + 's')).toBe(saved);
  });

  test('unreadable state is ignored (as if none was kept)', async () => {
    const stateStore = new MemoryKeyValueStore();
    stateStore.set(RUN_STATE_PREFIX + 's', '{not json');
    const r = await syncCalendars({ provider: new MemoryCalendarProvider(), desired: feed(2), routing, policy, now: NOW, stateStore });
    expect(r.ok).toBe(true);
  });
});

describe("people's copies and edits through the in-memory provider", () => {
  test('a copy is a conflict and survives its original; an edit is restored', async () => {
    const p = new MemoryCalendarProvider();
    const desired = feed(4);
    await syncCalendars({ provider: p, desired, routing, policy, now: NOW });
    const [a, b] = p.events(ROOM);
    const copyId = p.personCopy(ROOM, a.id);
    p.personEdit(ROOM, b.id, { title: 'Changed by a person', location: 'Elsewhere' });
    const r = await syncCalendars({ provider: p, desired, routing, policy, now: NOW });
    expect(r.ok).toBe(true);
    expect(r.plan.conflicts.map((c) => c.targetId)).toEqual([copyId]);
    expect(r.plan.ops.filter((o) => o.restored).map((o) => `${o.targetId}: ${o.reason}`)).toEqual([`${b.id}: edited on the target (title, location): restored to the source version`]);
    expect(p.events(ROOM).find((t) => t.id === b.id)!.event.title).toBe(b.event.title);
    const gone = await syncCalendars({ provider: p, desired: desired.filter((e) => e.uid !== a.event.uid), routing, policy, now: NOW });
    expect(gone.plan.ops.filter((o) => o.action === 'delete').map((o) => o.targetId)).toEqual([a.id]);
    expect(p.events(ROOM).some((t) => t.id === copyId)).toBe(true);
  });
});

describe('floating times in the zone the provider writes each calendar in', () => {
  test('syncCalendars asks the provider for each listed calendar\'s zone and the planner uses it (window edge)', async () => {
    const zones: Record<string, string> = { 'akl@example.com': 'Pacific/Auckland', 'nyc@example.com': 'America/New_York' };
    const asked: string[] = [];
    const p = new MemoryCalendarProvider();
    Object.assign(p, { floatingTimeZone: async (calendarId: string) => (asked.push(calendarId), zones[calendarId]) });
    // The window starts 2025-01-10T00:00Z: a floating 10:00–11:00 that day is before it in Auckland, inside it in New York.
    const event: CalendarEvent = { uid: 'f', sourceId: 'feed', title: 'Floating', start: { dateTime: '2025-01-10T10:00:00' }, end: { dateTime: '2025-01-10T11:00:00' } };
    const r = await syncCalendars({
      provider: p, desired: [event], routing: { target: Object.keys(zones) }, now: NOW,
      policy: { syncId: 's', window: { from: Date.UTC(2025, 0, 10), to: Date.UTC(2025, 1, 10) }, allowEmptySource: true },
    });
    expect(asked.sort()).toEqual(Object.keys(zones).sort());
    expect(r.plan.ops.filter((o) => o.action === 'create').map((o) => o.calendarId)).toEqual(['nyc@example.com']);
  });
});

describe('one calendar at a time (listed, planned and written before the next is listed)', () => {
  const A = 'a@example.com';
  const B = 'b@example.com';
  const C = 'c@example.com';
  const byRoom = { by: { kind: 'location' as const }, map: { a: A, b: B, c: C } };
  const roomFeed = (room: string, n: number, sourceId = 'feed'): CalendarEvent[] =>
    feed(n, sourceId).map((e) => ({ ...e, uid: `${room}-${e.uid}`, location: room }));
  /** The memory provider, recording the order of its listings and writes. */
  function spied(quota?: { maxRequests: number; windowMs: number }) {
    const inner = new MemoryCalendarProvider({ maxBatchSize: 1 });
    const calls: string[] = [];
    const p = Object.assign(Object.create(inner) as MemoryCalendarProvider, {
      ...(quota ? { capabilities: { ...inner.capabilities, quota: { ...quota, per: 'account' as const } } } : {}),
      listOwned: async (c: string, syncId: string, w: { from: number; to: number }) => (calls.push(`list ${c}`), inner.listOwned(c, syncId, w)),
      write: async (c: string, ops: Parameters<MemoryCalendarProvider['write']>[1]) => (calls.push(`write ${c}`), inner.write(c, ops)),
    });
    return { p, inner, calls, order: () => calls.filter((x, i) => x !== calls[i - 1]) };
  }

  test('two rooms: list A, write A, then list B, write B (not every listing first)', async () => {
    const { p, order } = spied();
    const r = await syncCalendars({ provider: p, desired: [...roomFeed('a', 3), ...roomFeed('b', 2)], routing: byRoom, policy, now: NOW });
    expect(r.ok).toBe(true);
    expect(order()).toEqual([`list ${A}`, `write ${A}`, `list ${B}`, `write ${B}`, `list ${C}`]);
    // The report and the plan keep their whole-run shape.
    expect(r.report!.totals.created).toBe(5);
    expect(Object.keys(r.report!.calendars).sort()).toEqual([A, B]);
    expect(r.plan.counts.create).toBe(5);
    expect(Object.keys(r.plan.calendars).sort()).toEqual([A, B, C]);
  });

  test('calendarConcurrency: that many rooms at a time (here 2 of 3), the plan and report as with one', async () => {
    const { p, calls } = spied();
    const desired = [...roomFeed('a', 3), ...roomFeed('b', 2), ...roomFeed('c', 1)];
    const r = await syncCalendars({ provider: p, desired, routing: byRoom, policy, now: NOW, calendarConcurrency: 2 });
    expect(r.ok).toBe(true);
    expect(calls.slice(0, 2).sort()).toEqual([`list ${A}`, `list ${B}`]);
    expect(calls.indexOf(`list ${C}`)).toBeGreaterThan(calls.indexOf(`write ${A}`));
    const one = await syncCalendars({ provider: new MemoryCalendarProvider(), desired, routing: byRoom, policy, now: NOW, dryRun: true });
    expect(r.plan.ops.map((o) => `${o.action} ${o.calendarId} ${o.key}`)).toEqual(one.plan.ops.map((o) => `${o.action} ${o.calendarId} ${o.key}`));
    expect(r.report!.totals.created).toBe(6);
  });

  test('one quota for the whole run: the second room waits for the budget the first one used', async () => {
    const clock = { t: 0 };
    const { p } = spied({ maxRequests: 3, windowMs: 60_000 });
    const waits: string[] = [];
    const r = await syncCalendars({
      provider: p, desired: [...roomFeed('a', 2), ...roomFeed('b', 2)], routing: byRoom, policy, now: NOW,
      applyOptions: { now: () => clock.t, sleep: async (ms) => void (clock.t += ms), onProgress: (ev) => void (ev.type === 'quota-wait' && waits.push(ev.calendarId)) },
    });
    expect(r.ok).toBe(true);
    // 4 writes under 3 per minute: the 4th (room B's second) waits; with a pacer per calendar nobody would.
    expect(waits).toEqual([B]);
    expect(clock.t).toBeGreaterThanOrEqual(60_000);
  });

  test('a room over its delete limit is not written at all and stops the run; rooms before it were written', async () => {
    const { p, inner, calls, order } = spied();
    await syncCalendars({ provider: p, desired: [...roomFeed('a', 2), ...roomFeed('b', 10)], routing: byRoom, policy, now: NOW });
    calls.length = 0;
    // Room A gets a new event; room B loses 8 of 10 (over the default limit); room C would get one.
    const desired = [...roomFeed('a', 3), ...roomFeed('b', 2), ...roomFeed('c', 1)];
    const err = await syncCalendars({ provider: p, desired, routing: byRoom, policy, now: NOW }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeleteLimitError);
    expect((err as DeleteLimitError).calendars.map((c) => c.calendarId)).toEqual([B]);
    expect(order()).toEqual([`list ${A}`, `write ${A}`, `list ${B}`]);
    expect(inner.events(A)).toHaveLength(3);
    expect(inner.events(B)).toHaveLength(10);
    expect(inner.events(C)).toHaveLength(0);
    expect((err as DeleteLimitError).plan.warnings).toContain(`written before the guard stopped the run: ${A}`);
  });

  test('a source the last run knew that now delivers nothing: every room is listed and checked, none written', async () => {
    const stateStore = new MemoryKeyValueStore();
    const { p, inner, calls, order } = spied();
    const desired = [...roomFeed('a', 2, 'main'), ...roomFeed('b', 4, 'side')];
    expect((await syncCalendars({ provider: p, desired, routing: byRoom, policy, now: NOW, stateStore })).ok).toBe(true);
    calls.length = 0;
    // 'side' (room B) is empty now, while room A would get a new event of 'main' first.
    const err = await syncCalendars({ provider: p, desired: roomFeed('a', 3, 'main'), routing: byRoom, policy, now: NOW, stateStore }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceEmptyError);
    expect(order()).toEqual([`list ${A}`, `list ${B}`, `list ${C}`]);
    expect(inner.events(A)).toHaveLength(2);
    expect(inner.events(B)).toHaveLength(4);
  });

  test('a source nobody could name (no state kept) found empty in room B: B is not written, nothing of that source deleted', async () => {
    const { p, inner, calls, order } = spied();
    await syncCalendars({ provider: p, desired: [...roomFeed('a', 2, 'main'), ...roomFeed('b', 4, 'side')], routing: byRoom, policy, now: NOW });
    calls.length = 0;
    const err = await syncCalendars({ provider: p, desired: roomFeed('a', 3, 'main'), routing: byRoom, policy, now: NOW }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceEmptyError);
    expect(order()).toEqual([`list ${A}`, `write ${A}`, `list ${B}`]);
    expect(inner.events(B)).toHaveLength(4);
  });
});
