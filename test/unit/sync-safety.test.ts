/**
 * syncCalendars' share of sync safety (issue 7): the run state for the "source shrank" guard kept in
 * a KeyValueStore, and people's copies and edits through the in-memory provider.
 */
import type { CalendarEvent } from '../../core/event';
import { DeleteLimitError, SourceShrankError } from '../../core/guards';
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
