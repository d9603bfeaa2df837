/**
 * Ownership is exact (issue 7), end to end through syncCalendars against the emulator, for Google
 * and Microsoft 365: a person's copy of a synced event (made with the emulator's admin hooks, as the
 * calendar UI would: same content, same extended properties, a new id) is never changed or deleted
 * and is reported as a conflict; a synced event a person edited (title, time, location) is detected
 * and restored to the source's version, or left alone with `targetEdits: 'keep'`.
 */
import { startEmulator, type Emulator } from '../../emulator';
import type { CalendarEvent } from '../../core/event';
import type { SyncPolicy } from '../../core/sync-types';
import { eventTimeToUtc } from '../../core/time';
import { createFetchHttpPort } from '../../providers/http';
import { GoogleCalendarProvider } from '../../providers/google';
import { GraphCalendarProvider } from '../../providers/graph';
import type { CalendarProvider, HttpPort } from '../../providers/port';
import { MemoryKeyValueStore } from '../../providers/state';
import { syncCalendars } from '../../providers/sync';

const NOW = Date.UTC(2026, 10, 22, 8, 0, 0);
const SYNC = 'ownership-sync';
const ZONE = 'Europe/Berlin';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ now: () => NOW });
});
afterAll(async () => {
  await emu.close();
});

function ev(uid: string, title: string, day: number, over: Partial<CalendarEvent> = {}): CalendarEvent {
  const d = `2026-12-${String(day).padStart(2, '0')}`;
  return { uid, sourceId: 'feed', title, location: 'Room 1', start: { dateTime: `${d}T09:00:00`, timeZone: ZONE }, end: { dateTime: `${d}T10:00:00`, timeZone: ZONE }, ...over };
}

interface Side {
  room: string;
  provider(): CalendarProvider;
  /** Live events carrying our syncId: id, title, start (as stored). */
  stamped(): Array<{ id: string; title: string; start: string }>;
  copy(id: string): string;
  edit(id: string, what: 'title' | 'time' | 'location'): void;
}

function googleSide(): Side {
  const room = 'own-room@resource.calendar.google.com';
  emu.google.createCalendar(room, { timeZone: ZONE });
  const http = createFetchHttpPort({ token: { getToken: async () => emu.google.issueAccessToken(), invalidate: () => undefined } });
  return {
    room,
    provider: () => new GoogleCalendarProvider({ http, rootUrl: `${emu.url}/`, defaultTimeZone: ZONE }),
    stamped: () => emu.google.listRaw(room)
      .filter((e) => e.status !== 'cancelled' && (e.extendedProperties as { private?: Record<string, string> } | undefined)?.private?.crSyncId === SYNC)
      .map((e) => ({ id: e.id as string, title: e.summary as string, start: JSON.stringify(e.start) })),
    copy: (id) => emu.google.copyEvent(room, id).id as string,
    edit(id, what) {
      const changes = what === 'title' ? { summary: 'Renamed by a person' }
        : what === 'location' ? { location: 'Somewhere else' }
        : { start: { dateTime: '2026-12-01T15:00:00+01:00' }, end: { dateTime: '2026-12-01T16:00:00+01:00' } };
      emu.google.editEvent(room, id, changes);
    },
  };
}

function graphSide(): Side {
  const room = 'own-room@contoso.example';
  emu.graph.addRoom({ email: room, displayName: 'Own room' });
  const http = createFetchHttpPort({ token: { getToken: async () => emu.graph.issueToken(), invalidate: () => undefined } });
  // One deployment: its workers share the provider state (where created ids are recorded).
  const state = new MemoryKeyValueStore();
  const prop = (e: { singleValueExtendedProperties: Array<{ id: string; value: string }> }, name: string) => e.singleValueExtendedProperties.find((p) => p.id.endsWith(name))?.value;
  return {
    room,
    provider: () => new GraphCalendarProvider({ http, baseUrl: `${emu.url}/v1.0`, defaultTimeZone: ZONE, stateStore: state }),
    stamped: () => emu.graph.listRaw(room)
      .filter((e) => prop(e, 'CalendarRelaySyncId') === SYNC)
      .map((e) => ({ id: e.id, title: e.fields.subject as string, start: JSON.stringify(e.fields.start) })),
    copy: (id) => emu.graph.copyEvent(room, id).id as string,
    edit(id, what) {
      const changes = what === 'title' ? { subject: 'Renamed by a person' }
        : what === 'location' ? { location: { displayName: 'Somewhere else' } }
        : { start: { dateTime: '2026-12-01T15:00:00', timeZone: 'W. Europe Standard Time' }, end: { dateTime: '2026-12-01T16:00:00', timeZone: 'W. Europe Standard Time' } };
      emu.graph.editEvent(room, id, changes);
    },
  };
}

describe.each([['google', googleSide], ['graph', graphSide]] as const)('%s', (_kind, make) => {
  let side: Side;
  const source = [ev('a', 'Alpha', 1), ev('b', 'Bravo', 2), ev('c', 'Charlie', 3)];
  const policy = (extra: Partial<SyncPolicy> = {}): SyncPolicy => ({ syncId: SYNC, window: { pastDays: 7, futureDays: 60 }, floatingTimeZone: ZONE, reportForeign: false, ...extra });
  const sync = (desired: CalendarEvent[], extra: Partial<SyncPolicy> = {}) =>
    syncCalendars({ provider: side.provider(), desired, routing: { target: [side.room] }, policy: policy(extra), now: NOW });
  const writesOf = (r: Awaited<ReturnType<typeof sync>>) => r.plan.ops.filter((o) => ['create', 'update', 'delete'].includes(o.action)).map((o) => `${o.action}: ${o.reason}`);

  beforeAll(async () => {
    emu.reset();
    side = make();
    expect((await sync(source)).ok).toBe(true);
    expect(side.stamped().map((e) => e.title).sort()).toEqual(['Alpha', 'Bravo', 'Charlie']);
  });

  test('a re-run after the first sync sees no edits and no copies', async () => {
    const r = await sync(source);
    expect(writesOf(r)).toEqual([]);
    expect(r.plan.conflicts).toEqual([]);
  });

  test("a person's copy of a synced event is never changed or deleted, and shows as a conflict", async () => {
    const alpha = side.stamped().find((e) => e.title === 'Alpha')!;
    const copyId = side.copy(alpha.id);
    const snapshot = () => side.stamped().find((e) => e.id === copyId);
    const before = snapshot();
    expect(before).toBeDefined();
    // The source changes Alpha: only our event is updated.
    const changed = [ev('a', 'Alpha v2', 1), source[1], source[2]];
    const r = await sync(changed);
    expect(r.ok).toBe(true);
    expect(writesOf(r)).toEqual([expect.stringMatching(/^update: changed in source/)]);
    expect(r.plan.conflicts).toEqual([expect.objectContaining({ targetId: copyId, reason: expect.stringMatching(/^copy of a synced event/) })]);
    expect(snapshot()).toEqual(before);
    // The source drops Alpha: our event goes, the person's copy stays.
    const gone = await sync([source[1], source[2]]);
    expect(gone.ok).toBe(true);
    expect(writesOf(gone)).toEqual(['delete: removed from source']);
    expect(snapshot()).toEqual(before);
    expect(side.stamped().map((e) => e.title).sort()).toEqual(['Alpha', 'Bravo', 'Charlie']); // Alpha = the copy
    // Back in the source: created beside the copy, the copy still untouched.
    const back = await sync(source);
    expect(writesOf(back)).toEqual(['create: new in source']);
    expect(snapshot()).toEqual(before);
  });

  test.each(['title', 'time', 'location'] as const)('a synced event whose %s a person edited is restored to the source version', async (what) => {
    const bravo = side.stamped().find((e) => e.title === 'Bravo')!;
    side.edit(bravo.id, what);
    const r = await sync(source);
    expect(r.ok).toBe(true);
    const field = what === 'time' ? 'start, end' : what;
    expect(r.plan.ops.filter((o) => o.restored).map((o) => `${o.action} ${o.targetId}: ${o.reason}`)).toEqual([`update ${bravo.id}: edited on the target (${field}): restored to the source version`]);
    expect(side.stamped().find((e) => e.id === bravo.id)).toEqual(bravo);
    expect(writesOf(await sync(source))).toEqual([]);
  });

  test("targetEdits 'keep' leaves a person's edit alone and reports it", async () => {
    const charlie = side.stamped().find((e) => e.title === 'Charlie')!;
    side.edit(charlie.id, 'title');
    const r = await sync(source, { targetEdits: 'keep' });
    expect(writesOf(r)).toEqual([]);
    expect(r.plan.conflicts).toEqual(expect.arrayContaining([expect.objectContaining({ targetId: charlie.id, reason: 'edited on the target (title): kept (targetEdits: keep)' })]));
    expect(side.stamped().find((e) => e.id === charlie.id)!.title).toBe('Renamed by a person');
  });
});

describe('google: a person deletes or moves one occurrence of a synced series', () => {
  const room = 'series-room@resource.calendar.google.com';
  const series = ev('s', 'Weekly seminar', 1, { recurrence: { rrule: ['FREQ=WEEKLY;COUNT=6'], rdate: [], exdate: [] } });
  let provider: () => GoogleCalendarProvider;
  const run = (extra: Partial<SyncPolicy> = {}) => syncCalendars({
    provider: provider(), desired: [series], routing: { target: [room] }, now: NOW,
    policy: { syncId: SYNC, window: { pastDays: 7, futureDays: 60 }, floatingTimeZone: ZONE, reportForeign: false, ...extra },
  });
  const visible = async () => {
    const q = new URLSearchParams({ singleEvents: 'true', timeMin: '2026-11-15T00:00:00Z', timeMax: '2027-02-01T00:00:00Z' });
    const res = await fetch(`${emu.url}/calendar/v3/calendars/${encodeURIComponent(room)}/events?${q}`, { headers: { authorization: `Bearer ${emu.google.issueAccessToken()}` } });
    // As instants: Google may answer with an offset or with the zone the event was written in.
    return ((await res.json()) as { items: Array<{ summary: string; start: { dateTime: string; timeZone?: string } }> }).items
      .map((i) => `${i.summary} ${new Date(/[zZ]|[+-]\d\d:\d\d$/.test(i.start.dateTime) ? Date.parse(i.start.dateTime) : eventTimeToUtc({ dateTime: i.start.dateTime, timeZone: i.start.timeZone ?? ZONE })).toISOString()}`);
  };
  const masterId = () => emu.google.listRaw(room).find((e) => e.recurrence && e.status !== 'cancelled')!.id as string;

  beforeAll(async () => {
    emu.reset();
    emu.google.createCalendar(room, { timeZone: ZONE });
    const http = createFetchHttpPort({ token: { getToken: async () => emu.google.issueAccessToken(), invalidate: () => undefined } });
    provider = () => new GoogleCalendarProvider({ http, rootUrl: `${emu.url}/`, defaultTimeZone: ZONE });
    expect((await run()).ok).toBe(true);
  });

  test('a deleted occurrence is restored (not taken for a second copy of the series)', async () => {
    const before = await visible();
    expect(before).toHaveLength(6);
    emu.google.deleteEvent(room, `${masterId()}_20261208T080000Z`);
    expect(await visible()).toHaveLength(5);
    const r = await run();
    expect(r.ok).toBe(true);
    expect(r.plan.ops.filter((o) => o.action !== 'unchanged').map((o) => `${o.action}: ${o.reason}`)).toEqual(['update: edited on the target (occurrence deleted): restored to the source version']);
    expect(await visible()).toEqual(before);
    const again = await run();
    expect(again.plan.ops.filter((o) => o.action !== 'unchanged' && o.action !== 'skip')).toEqual([]);
  });

  test("a moved occurrence is moved back; with targetEdits 'keep' it stays where the person put it", async () => {
    const before = await visible();
    emu.google.editEvent(room, `${masterId()}_20261215T080000Z`, { start: { dateTime: '2026-12-16T15:00:00+01:00' }, end: { dateTime: '2026-12-16T16:00:00+01:00' } });
    const kept = await run({ targetEdits: 'keep' });
    expect(kept.plan.conflicts.map((c) => c.reason)).toEqual(['edited on the target (occurrence changed): kept (targetEdits: keep)']);
    expect(await visible()).toContain('Weekly seminar 2026-12-16T14:00:00.000Z');
    const r = await run();
    expect(r.plan.ops.filter((o) => o.restored).map((o) => o.reason)).toEqual(['edited on the target (occurrence changed): restored to the source version']);
    expect(await visible()).toEqual(before);
  });
});

describe('microsoft 365: a person deletes one occurrence of a synced series', () => {
  const room = 'series-room@contoso.example';
  // Weekly on Tuesdays from 1 December (a Tuesday), six times: Graph can store it as a series.
  const series = ev('s', 'Weekly seminar', 1, { recurrence: { rrule: ['FREQ=WEEKLY;BYDAY=TU;COUNT=6'], rdate: [], exdate: [] } });
  const urls: string[] = [];
  let provider: () => GraphCalendarProvider;
  const run = (extra: Partial<SyncPolicy> = {}) => syncCalendars({
    provider: provider(), desired: [series], routing: { target: [room] }, now: NOW,
    policy: { syncId: SYNC, window: { pastDays: 7, futureDays: 60 }, floatingTimeZone: ZONE, reportForeign: false, ...extra },
  });
  const graph = async (method: string, path: string) => {
    const res = await fetch(`${emu.url}/v1.0/users/${room}${path}`, { method, headers: { authorization: `Bearer ${emu.graph.issueToken()}` } });
    return res.status === 204 ? undefined : (await res.json()) as { value: Array<{ id: string; start: { dateTime: string } }> };
  };
  const visible = async () => (await graph('GET', '/calendarView?startDateTime=2026-11-15T00:00:00Z&endDateTime=2027-02-01T00:00:00Z&$top=100'))!.value.map((i) => i.start.dateTime);
  const master = () => emu.graph.listRaw(room).find((e) => e.fields.recurrence)!;

  beforeAll(async () => {
    emu.reset();
    emu.graph.addRoom({ email: room, displayName: 'Series room' });
    const fetchPort = createFetchHttpPort({ token: { getToken: async () => emu.graph.issueToken(), invalidate: () => undefined } });
    const http: HttpPort = (req) => (urls.push(`${req.method} ${decodeURIComponent(req.url)}`), fetchPort(req));
    const state = new MemoryKeyValueStore();
    provider = () => new GraphCalendarProvider({ http, baseUrl: `${emu.url}/v1.0`, defaultTimeZone: ZONE, stateStore: state });
    expect((await run()).ok).toBe(true);
    expect(emu.graph.listRaw(room)).toHaveLength(1); // one series master, not six single events
  });

  test('the deleted occurrence is found through the series\' instances and restored; one instances read per series and run', async () => {
    const before = await visible();
    expect(before).toHaveLength(6);
    const occurrence = (await graph('GET', `/events/${master().id}/instances?startDateTime=2026-12-08T00:00:00Z&endDateTime=2026-12-09T00:00:00Z`))!.value[0];
    await graph('DELETE', `/events/${occurrence.id}`);
    expect(await visible()).toHaveLength(5);
    urls.length = 0;
    const r = await run();
    expect(r.ok).toBe(true);
    expect(r.plan.ops.filter((o) => o.action !== 'unchanged').map((o) => `${o.action}: ${o.reason}`)).toEqual(['update: edited on the target (occurrence deleted): restored to the source version']);
    expect(r.plan.ops.filter((o) => o.restored)).toHaveLength(1);
    expect(await visible()).toEqual(before);
    expect(master().cancelled).toEqual([]);
    expect(urls.filter((u) => u.includes('/instances'))).toHaveLength(1);
    // Nothing left to restore: the next run reads the instances once more and writes nothing.
    urls.length = 0;
    const again = await run();
    expect(again.plan.ops.filter((o) => o.action !== 'unchanged' && o.action !== 'skip')).toEqual([]);
    expect(urls.filter((u) => u.includes('/instances'))).toHaveLength(1);
    expect(urls.filter((u) => !u.startsWith('GET'))).toEqual([]);
  });

  test("with targetEdits 'keep' the deletion stays and is reported as a conflict", async () => {
    const occurrence = (await graph('GET', `/events/${master().id}/instances?startDateTime=2026-12-15T00:00:00Z&endDateTime=2026-12-16T00:00:00Z`))!.value[0];
    await graph('DELETE', `/events/${occurrence.id}`);
    const kept = await run({ targetEdits: 'keep' });
    expect(kept.plan.conflicts.map((c) => c.reason)).toEqual(['edited on the target (occurrence deleted): kept (targetEdits: keep)']);
    expect(await visible()).toHaveLength(5);
    const restored = await run();
    expect(restored.plan.ops.filter((o) => o.restored).map((o) => o.reason)).toEqual(['edited on the target (occurrence deleted): restored to the source version']);
    expect(await visible()).toHaveLength(6);
  });
});
