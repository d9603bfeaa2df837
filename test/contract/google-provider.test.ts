/**
 * Contract tests of GoogleCalendarProvider against the emulator (emulator/README.md): CRUD through
 * the batch endpoint, deterministic ids (duplicate reconcile, deleted-id generations), ownership,
 * paging, incremental listing with an expiring sync token, series with moved and cancelled
 * occurrences, per-part failures, rooms, and both token flows.
 */
import { generateKeyPairSync } from 'node:crypto';
import { startEmulator, type Emulator } from '../../emulator';
import type { CalendarEvent } from '../../core/event';
import { uidKey, overrideKey } from '../../core/sync-key';
import { planSync } from '../../core/plan';
import { applyPlan } from '../../providers/apply';
import type { HttpPort, OwnershipStamp, TimeWindow, WriteOp } from '../../providers/port';
import {
  GoogleCalendarProvider, MemorySyncStateStore, createGoogleHttpPort, googleFetchPort, googleEventId,
  serviceAccountTokenSource, refreshTokenSource, staticTokenSource, withBearerAuth, CALENDAR_SCOPE, type GoogleProviderOptions,
} from '../../providers/google';

const ROOM = 'room-a@resource.calendar.google.com';
const SYNC = 'sync-1';
const WINDOW: TimeWindow = { from: Date.UTC(2026, 10, 1), to: Date.UTC(2027, 5, 1) };
let emu: Emulator;
let http: HttpPort;

beforeAll(async () => {
  emu = await startEmulator({ limits: false });
});
afterAll(async () => {
  await emu.close();
});
beforeEach(() => {
  emu.reset();
  emu.google.createCalendar(ROOM, { timeZone: 'Europe/Berlin' });
  http = withBearerAuth(googleFetchPort(), staticTokenSource(emu.google.issueAccessToken()));
});
afterEach(() => {
  expect(emu.internalErrors).toEqual([]);
});

function provider(extra: Partial<GoogleProviderOptions> = {}): GoogleCalendarProvider {
  return new GoogleCalendarProvider({ http, rootUrl: emu.url + '/', defaultTimeZone: 'Europe/Berlin', ...extra });
}

function ev(uid: string, over: Partial<CalendarEvent> = {}): CalendarEvent {
  return {
    uid, sourceId: 'feed', title: `Event ${uid}`,
    start: { dateTime: '2026-12-01T09:00:00', timeZone: 'Europe/Berlin' },
    end: { dateTime: '2026-12-01T10:00:00', timeZone: 'Europe/Berlin' },
    ...over,
  };
}

function stampOf(e: CalendarEvent, fingerprint = 'fp1', syncId = SYNC): OwnershipStamp {
  const master = uidKey(e);
  return { syncId, sourceKey: e.recurrenceId ? overrideKey(master, e.recurrenceId) : master, fingerprint };
}

function create(e: CalendarEvent, fingerprint = 'fp1'): WriteOp {
  const stamp = stampOf(e, fingerprint);
  return { op: 'create', calendarId: ROOM, key: stamp.sourceKey, event: e, stamp };
}
function update(e: CalendarEvent, targetId: string, fingerprint: string, etag?: string): WriteOp {
  const stamp = stampOf(e, fingerprint);
  return { op: 'update', calendarId: ROOM, key: stamp.sourceKey, targetId, event: e, stamp, ...(etag ? { etag } : {}) };
}
function del(key: string, targetId: string): WriteOp {
  return { op: 'delete', calendarId: ROOM, key, targetId };
}

const live = () => emu.google.listRaw(ROOM).filter((g) => g.status !== 'cancelled');

describe('write and list', () => {
  it('creates through one batch, lists only owned events, updates with PUT, deletes idempotently', async () => {
    const p = provider();
    emu.google.seedEvent(ROOM, { summary: 'Booked by a person', start: { dateTime: '2026-12-02T09:00:00Z' }, end: { dateTime: '2026-12-02T10:00:00Z' } });
    const events = [
      ev('zoned', { description: 'old description', location: 'Room A' }),
      ev('allday', { start: { date: '2026-12-24' }, end: { date: '2026-12-25' }, transparency: 'TRANSPARENT' }),
      ev('utc', { start: { dateTime: '2026-12-03T08:00:00Z' }, end: { dateTime: '2026-12-03T08:30:00Z' } }),
    ];
    const batchesBefore = emu.log.batchCount;
    const created = await p.write(ROOM, events.map((e) => create(e)));
    expect(created.map((r) => r.ok)).toEqual([true, true, true]);
    expect(created.map((r) => r.targetId)).toEqual(events.map((e) => googleEventId(SYNC, uidKey(e), 0)));
    expect(emu.log.batchCount).toBe(batchesBefore + 1);

    const owned = await p.listOwned(ROOM, SYNC, WINDOW);
    expect(owned.map((t) => t.stamp!.sourceKey).sort()).toEqual(events.map((e) => uidKey(e)).sort());
    const byUid = new Map(owned.map((t) => [t.event.uid, t]));
    expect(byUid.get('allday')!.event).toMatchObject({ start: { date: '2026-12-24' }, end: { date: '2026-12-25' }, transparency: 'TRANSPARENT', sourceId: 'feed' });
    expect(byUid.get('zoned')!.event).toMatchObject({ start: { dateTime: '2026-12-01T09:00:00', timeZone: 'Europe/Berlin' }, description: 'old description' });
    expect(byUid.get('utc')!.event.start).toEqual({ dateTime: '2026-12-03T08:00:00Z' });
    expect(await p.listOwned(ROOM, 'another-sync', WINDOW)).toEqual([]);
    expect((await p.listEvents(ROOM, WINDOW)).map((t) => t.event.title)).toContain('Booked by a person');

    // PUT replaces: the description the source dropped disappears, the stamp stays.
    const zoned = byUid.get('zoned')!;
    const [u] = await p.write(ROOM, [update(ev('zoned', { title: 'Renamed', location: 'Room A' }), zoned.id, 'fp2')]);
    expect(u.ok).toBe(true);
    const after = (await p.getEvent(ROOM, zoned.id))!;
    expect(after.event.title).toBe('Renamed');
    expect(after.event.description).toBeUndefined();
    expect(after.stamp).toEqual({ ...stampOf(events[0], 'fp2'), digest: expect.stringMatching(/^d1 /) });
    expect(after.edited).toBeUndefined();
    expect(after.copy).toBeUndefined();

    const [d] = await p.write(ROOM, [del(uidKey(events[2]), byUid.get('utc')!.id)]);
    expect(d).toMatchObject({ ok: true });
    const [again] = await p.write(ROOM, [del(uidKey(events[2]), byUid.get('utc')!.id)]);
    expect(again).toMatchObject({ ok: true, note: 'already gone' });
    expect((await p.listOwned(ROOM, SYNC, WINDOW)).map((t) => t.event.uid).sort()).toEqual(['allday', 'zoned']);
  });

  it('follows nextPageToken through short and empty pages', async () => {
    const p = provider({ pageSize: 9 });
    const events = Array.from({ length: 120 }, (_, i) => ev(`e${i}`, { start: { dateTime: `2026-12-${String(1 + (i % 28)).padStart(2, '0')}T09:00:00Z` }, end: { dateTime: `2026-12-${String(1 + (i % 28)).padStart(2, '0')}T10:00:00Z` } }));
    const results = await p.write(ROOM, events.map((e) => create(e)));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(emu.log.batchSizes.slice(-3)).toEqual([50, 50, 20]);
    emu.google.randomShortPages(3);
    const owned = await p.listOwned(ROOM, SYNC, WINDOW);
    expect(owned).toHaveLength(120);
    expect(new Set(owned.map((t) => t.id)).size).toBe(120);
    // The window is honoured: timeMin is exclusive on end, timeMax on start.
    const first = await p.listOwned(ROOM, SYNC, { from: Date.UTC(2026, 11, 1, 10), to: Date.UTC(2026, 11, 2, 9) });
    expect(first).toEqual([]);
  });
});

describe('deterministic ids', () => {
  it('a repeated create is "already there": no duplicate, reconciled when the fingerprint differs', async () => {
    const p = provider();
    const e = ev('dup');
    expect((await p.write(ROOM, [create(e)]))[0].ok).toBe(true);
    const [same] = await p.write(ROOM, [create(e)]);
    expect(same).toMatchObject({ ok: true, note: 'already existed (deterministic id)' });
    const [changed] = await p.write(ROOM, [create({ ...e, title: 'New title' }, 'fp2')]);
    expect(changed).toMatchObject({ ok: true, note: 'already existed (deterministic id) — updated' });
    expect(live()).toHaveLength(1);
    expect(live()[0].summary).toBe('New title');
  });

  it('two concurrent creates of the same event produce one event', async () => {
    const p = provider();
    const e = ev('race');
    const [a, b] = await Promise.all([p.write(ROOM, [create(e), create(ev('other'))]), p.write(ROOM, [create(e), create(ev('third'))])]);
    expect([...a, ...b].every((r) => r.ok)).toBe(true);
    expect(live().filter((g) => g.summary === 'Event race')).toHaveLength(1);
  });

  it('an id held by a deleted event: the event is restored under its own id (update, status confirmed), never exhausting ids', async () => {
    const p = provider();
    const e = ev('phoenix');
    const id0 = googleEventId(SYNC, uidKey(e), 0);
    const [c1] = await p.write(ROOM, [create(e)]);
    expect(c1.targetId).toBe(id0);
    // Google's own rule, modelled by the emulator: re-inserting a deleted id is a 409 duplicate.
    await p.write(ROOM, [del(uidKey(e), id0)]);
    for (let round = 0; round < 100; round++) {
      const [back] = await p.write(ROOM, [create(e, round % 2 ? 'fp1' : 'fp2')]);
      expect(back).toMatchObject({ ok: true, targetId: id0 });
      expect(back.note).toMatch(/restored deleted event/);
      expect(live()).toHaveLength(1);
      const [gone] = await p.write(ROOM, [del(uidKey(e), id0)]);
      expect(gone.ok).toBe(true);
    }
    expect(emu.google.listRaw(ROOM)).toHaveLength(1);
    const [again] = await p.write(ROOM, [create(e)]);
    // And a retried create of the live event is still "already there".
    const [retried] = await p.write(ROOM, [create(e)]);
    expect(again.targetId).toBe(id0);
    expect(retried).toMatchObject({ ok: true, targetId: id0, note: 'already existed (deterministic id)' });
    expect(live()).toHaveLength(1);
    // The restored event is ours (issue 7: ownership is the derived id), not a person's copy.
    const owned = (await p.listOwned(ROOM, SYNC, WINDOW)).filter((t) => t.stamp?.sourceKey === uidKey(e));
    expect(owned.map((t) => [t.id, t.copy, t.edited])).toEqual([[id0, undefined, undefined]]);
  });

  it('where Google refuses to restore a deleted event (403), the create falls back to the next id generation', async () => {
    const p = provider();
    const e = ev('phoenix');
    const [c1] = await p.write(ROOM, [create(e)]);
    await p.write(ROOM, [del(uidKey(e), c1.targetId!)]);
    emu.google.restoreDeleted = 'forbidden';
    const [c2] = await p.write(ROOM, [create(e)]);
    expect(c2.ok).toBe(true);
    expect(c2.targetId).toBe(googleEventId(SYNC, uidKey(e), 1));
    expect(c2.note).toMatch(/generation 1/);
    expect(live()).toHaveLength(1);
    // The later generation is ours too: listed as owned, not as a copy to leave alone and duplicate.
    const owned = (await p.listOwned(ROOM, SYNC, WINDOW)).filter((t) => t.stamp?.sourceKey === uidKey(e));
    expect(owned.map((t) => [t.id, t.copy, t.edited])).toEqual([[c2.targetId, undefined, undefined]]);
  });

  it('an update of an event someone deleted re-creates it; a stale etag is re-read and overwritten', async () => {
    const p = provider();
    const e = ev('gone');
    const [c] = await p.write(ROOM, [create(e)]);
    const t = (await p.getEvent(ROOM, c.targetId!))!;
    // Someone edits it: our etag is stale now.
    await http({ method: 'PATCH', url: `${emu.url}/calendar/v3/calendars/${encodeURIComponent(ROOM)}/events/${c.targetId}`, headers: { 'content-type': 'application/json' }, body: '{"summary":"edited by a person"}' });
    const [u] = await p.write(ROOM, [update(e, c.targetId!, 'fp2', t.etag)]);
    expect(u).toMatchObject({ ok: true, note: 'changed in the target meanwhile — overwritten' });
    expect((await p.getEvent(ROOM, c.targetId!))!.event.title).toBe('Event gone');
    // Deleted by a person: the PUT (status always explicit) brings it back under the same id.
    await http({ method: 'DELETE', url: `${emu.url}/calendar/v3/calendars/${encodeURIComponent(ROOM)}/events/${c.targetId}` });
    const [u2] = await p.write(ROOM, [update(e, c.targetId!, 'fp3')]);
    expect(u2).toMatchObject({ ok: true, targetId: c.targetId });
    expect(live().map((g) => g.id)).toEqual([c.targetId]);
    // Purged (404): re-created under the deterministic id.
    const fresh = ev('fresh');
    const [u3] = await p.write(ROOM, [update(fresh, googleEventId(SYNC, 'no such key'), 'fp1')]);
    expect(u3).toMatchObject({ ok: true, targetId: googleEventId(SYNC, uidKey(fresh), 0), note: 'was deleted in the target — re-created' });
    expect(live()).toHaveLength(2);
  });
});

describe('incremental listing', () => {
  it('uses the sync token, filters ownership client-side, and falls back to a full list on 410', async () => {
    const store = new MemorySyncStateStore();
    const p = provider({ listMode: 'incremental', stateStore: store });
    const [a, b] = await p.write(ROOM, [create(ev('a')), create(ev('b'))]);
    expect((await p.listOwned(ROOM, SYNC, WINDOW)).map((t) => t.event.uid).sort()).toEqual(['a', 'b']);

    emu.google.seedEvent(ROOM, { summary: 'foreign', start: { dateTime: '2026-12-02T09:00:00Z' }, end: { dateTime: '2026-12-02T10:00:00Z' } });
    await p.write(ROOM, [create(ev('c')), del(uidKey(ev('a')), a.targetId!), update(ev('b', { title: 'B2' }), b.targetId!, 'fp2')]);
    const syncLists = () => emu.log.recent({ api: 'google', kind: 'list' }).filter((r) => r.query.includes('syncToken=')).length;
    const syncListsBefore = syncLists();
    const second = await p.listOwned(ROOM, SYNC, WINDOW);
    expect(second.map((t) => [t.event.uid, t.event.title]).sort()).toEqual([['b', 'B2'], ['c', 'Event c']]);
    expect(syncLists()).toBe(syncListsBefore + 1);
    // Only the incremental list was needed: no unfiltered full list this time.
    expect(emu.log.recent({ api: 'google', kind: 'list' }).filter((r) => !r.query.includes('syncToken='))).toHaveLength(1);

    emu.google.expireSyncTokens(ROOM);
    await p.write(ROOM, [create(ev('d'))]);
    const third = await p.listOwned(ROOM, SYNC, WINDOW);
    expect(third.map((t) => t.event.uid).sort()).toEqual(['b', 'c', 'd']);
    expect(emu.log.count({ api: 'google', kind: 'list', status: 410 })).toBe(1);
    // The window applies client-side too.
    expect(await p.listOwned(ROOM, SYNC, { from: Date.UTC(2027, 0, 1), to: Date.UTC(2027, 1, 1) })).toEqual([]);
  });
});

describe('recurring series', () => {
  const master = ev('weekly', {
    title: 'Seminar',
    start: { dateTime: '2026-12-01T09:00:00', timeZone: 'Europe/Berlin' },
    end: { dateTime: '2026-12-01T10:30:00', timeZone: 'Europe/Berlin' },
    // The planner turns a cancelled occurrence into an EXDATE of the master.
    recurrence: { rrule: ['FREQ=WEEKLY;COUNT=5'], rdate: [], exdate: [{ dateTime: '2026-12-15T09:00:00', timeZone: 'Europe/Berlin' }] },
  });
  const moved = ev('weekly', {
    title: 'Seminar (moved)', recurrenceId: { dateTime: '2026-12-08T09:00:00', timeZone: 'Europe/Berlin' },
    start: { dateTime: '2026-12-09T14:00:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2026-12-09T15:30:00', timeZone: 'Europe/Berlin' },
  });
  const cancelledOverride = ev('weekly', { recurrenceId: { dateTime: '2026-12-22T09:00:00', timeZone: 'Europe/Berlin' }, status: 'CANCELLED' });

  it('writes RRULE/EXDATE, moves one occurrence as an instance patch, cancels another; a deleted override key is cancelled, stamped, and can be revived', async () => {
    const p = provider();
    const [m] = await p.write(ROOM, [create(master)]);
    expect(m.ok).toBe(true);
    const [o, x] = await p.write(ROOM, [create(moved), create(cancelledOverride)]);
    expect(o).toMatchObject({ ok: true, targetId: `${m.targetId}_20261208T080000Z` });
    expect(x).toMatchObject({ ok: true, targetId: `${m.targetId}_20261222T080000Z` });

    const stored = emu.google.listRaw(ROOM).find((g) => g.id === m.targetId)!;
    expect(stored.recurrence).toEqual(['RRULE:FREQ=WEEKLY;COUNT=5', 'EXDATE;TZID=Europe/Berlin:20261215T090000']);

    const instances = await p.listEvents(ROOM, WINDOW, { expandSeries: true });
    expect(instances.map((t) => [t.event.start.dateTime, t.event.title])).toEqual([
      ['2026-12-01T09:00:00', 'Seminar'],
      ['2026-12-09T14:00:00', 'Seminar (moved)'],
      ['2026-12-29T09:00:00', 'Seminar'],
    ]);

    const owned = await p.listOwned(ROOM, SYNC, WINDOW);
    expect(owned.map((t) => t.stamp!.sourceKey).sort()).toEqual([uidKey(master), stampOf(moved).sourceKey, stampOf(cancelledOverride).sourceKey].sort());
    const ownedMoved = owned.find((t) => t.stamp!.sourceKey === stampOf(moved).sourceKey)!;
    expect(ownedMoved.event).toMatchObject({ uid: 'weekly', recurrenceId: { dateTime: '2026-12-08T09:00:00', timeZone: 'Europe/Berlin' }, start: { dateTime: '2026-12-09T14:00:00' } });
    expect(owned.find((t) => t.stamp!.sourceKey === stampOf(cancelledOverride).sourceKey)!.event.status).toBe('CANCELLED');

    // Updating the override patches the instance.
    const [u] = await p.write(ROOM, [update({ ...moved, title: 'Seminar (moved again)' }, ownedMoved.id, 'fp2')]);
    expect(u.ok).toBe(true);
    // Deleting an override key (the planner does so when the series no longer has that occurrence;
    // a dropped override is an update to the series' content instead): the instance is cancelled
    // and keeps the stamp, so it cannot come back later as a stale, unowned exception.
    const deleted = await p.write(ROOM, [del(stampOf(moved).sourceKey, ownedMoved.id), del(stampOf(cancelledOverride).sourceKey, x.targetId!)]);
    expect(deleted.map((r) => r.note)).toEqual(['override removed — occurrence cancelled (kept stamped)', 'override removed — occurrence cancelled (kept stamped)']);
    const back = await p.listEvents(ROOM, WINDOW, { expandSeries: true });
    expect(back.map((t) => t.event.start.dateTime)).toEqual(['2026-12-01T09:00:00', '2026-12-29T09:00:00']);
    const after = await p.listOwned(ROOM, SYNC, WINDOW);
    expect(after.map((t) => `${t.stamp!.sourceKey} ${t.event.status ?? ''}`).sort()).toEqual([`${uidKey(master)} CONFIRMED`, `${stampOf(moved).sourceKey} CANCELLED`, `${stampOf(cancelledOverride).sourceKey} CANCELLED`].sort());
    // Wanted again (as the series has it): the update brings the occurrence back.
    const [revived] = await p.write(ROOM, [update({ ...master, recurrence: undefined, recurrenceId: moved.recurrenceId, start: moved.recurrenceId!, end: { dateTime: '2026-12-08T10:30:00', timeZone: 'Europe/Berlin' } }, ownedMoved.id, 'fp3')]);
    expect(revived.ok).toBe(true);
    expect((await p.listEvents(ROOM, WINDOW, { expandSeries: true })).map((t) => `${t.event.start.dateTime} ${t.event.title}`)).toEqual(['2026-12-01T09:00:00 Seminar', '2026-12-08T09:00:00 Seminar', '2026-12-29T09:00:00 Seminar']);
  });

  it('all-day series: instance ids use the date; an override of a re-created series is found by lookup', async () => {
    const p = provider();
    const daily = ev('daily', { start: { date: '2026-12-01' }, end: { date: '2026-12-02' }, recurrence: { rrule: ['FREQ=DAILY;COUNT=4'], rdate: [], exdate: [] } });
    const [m] = await p.write(ROOM, [create(daily)]);
    const override = ev('daily', { title: 'Special day', recurrenceId: { date: '2026-12-03' }, start: { date: '2026-12-03' }, end: { date: '2026-12-04' } });
    const [o] = await p.write(ROOM, [create(override)]);
    expect(o).toMatchObject({ ok: true, targetId: `${m.targetId}_20261203` });
    // The series is deleted and comes back: restored under its id; its override, cancelled with the
    // series, answers cancelled to the guessed id and is found by lookup and brought back.
    await p.write(ROOM, [del(uidKey(daily), m.targetId!)]);
    const [m2] = await p.write(ROOM, [create(daily)]);
    expect(m2.targetId).toBe(googleEventId(SYNC, uidKey(daily), 0));
    const [o2] = await p.write(ROOM, [create(override)]);
    expect(o2).toMatchObject({ ok: true, targetId: `${m2.targetId}_20261203` });
    const [orphan] = await p.write(ROOM, [create(ev('nomaster', { recurrenceId: { date: '2026-12-03' }, start: { date: '2026-12-03' }, end: { date: '2026-12-04' } }))]);
    expect(orphan.ok).toBe(false);
    expect(orphan.error!.code).toBe('masterNotFound');
  });
});

describe('failures', () => {
  it('maps per-part throttling, quota, 5xx and bad requests to retryable / calendar-scoped errors', async () => {
    const p = provider();
    emu.faults.script({ api: 'google', target: ROOM, kind: 'insert', inBatch: true }, [
      { kind: 'throttle' }, { kind: 'throttle', status: 429 }, { kind: 'quota' }, { kind: 'error', status: 503 }, 'ok',
    ]);
    const results = await p.write(ROOM, ['t1', 't2', 'q', 'e', 'ok'].map((u) => create(ev(u))));
    expect(results.map((r) => r.ok)).toEqual([false, false, false, false, true]);
    expect(results.slice(0, 4).map((r) => [r.error!.status, r.error!.code, r.error!.retryable, r.error!.scope])).toEqual([
      [403, 'rateLimitExceeded', true, 'op'],
      [429, 'rateLimitExceeded', true, 'op'],
      [403, 'quotaExceeded', false, 'calendar'],
      [503, 'backendError', true, 'op'],
    ]);
    // A bad event is a non-retryable per-op failure and does not sink the rest.
    const mixed = await p.write(ROOM, [create(ev('bad', { start: { dateTime: '2026-12-01T09:00:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2026-12-01T08:00:00', timeZone: 'Europe/Berlin' } })), create(ev('fine'))]);
    expect(mixed.map((r) => r.ok)).toEqual([false, true]);
    expect(mixed[0].error).toMatchObject({ status: 400, retryable: false });
  });

  it('retries parts answered 401 once after onAuthRejected, and rejects a whole failed batch', async () => {
    let rejected = 0;
    const p = provider({ onAuthRejected: () => { rejected++; } });
    emu.faults.script({ api: 'google', target: ROOM, kind: 'insert', inBatch: true }, [{ kind: 'tokenExpired' }, 'ok']);
    const results = await p.write(ROOM, [create(ev('x')), create(ev('y'))]);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(rejected).toBe(1);
    emu.faults.script({ api: 'google', kind: 'batch' }, [{ kind: 'error', status: 503 }]);
    await expect(p.write(ROOM, [create(ev('p')), create(ev('q'))])).rejects.toMatchObject({ retryable: true, status: 503 });
    emu.faults.script({ api: 'google', kind: 'batch' }, [{ kind: 'reset' }]);
    await expect(p.write(ROOM, [create(ev('r')), create(ev('s'))])).rejects.toMatchObject({ name: 'TransportError' });
  });

  it('a missing calendar stops that calendar only', async () => {
    await expect(provider().listOwned('nobody@example.com', SYNC, WINDOW)).rejects.toMatchObject({ status: 404, scope: 'calendar' });
  });
});

describe('rooms and auth', () => {
  it('lists Directory rooms across pages', async () => {
    for (let i = 0; i < 503; i++) emu.google.addRoom({ resourceName: `Room ${i}`, capacity: i % 20, buildingId: i % 2 ? 'north' : 'south' });
    const rooms = await provider().listRooms();
    expect(rooms).toHaveLength(503);
    expect(rooms[1]).toEqual({ calendarId: rooms[1].email, email: rooms[1].email, name: 'Room 1', capacity: 1, building: 'north' });
    expect(rooms[1].email).toMatch(/@resource\.calendar\.google\.com$/);
  });

  it('exchanges a signed service-account JWT (sub impersonation) and refreshes after the token is revoked', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const email = 'relay@project.iam.gserviceaccount.com';
    emu.google.registerServiceAccount(email, publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const tokens = serviceAccountTokenSource(
      { clientEmail: email, privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), subject: 'admin@example.org', scopes: [CALENDAR_SCOPE], tokenUrl: `${emu.url}/token` },
      { http: googleFetchPort() },
    );
    const p = new GoogleCalendarProvider({ http: createGoogleHttpPort({ tokenSource: tokens, rootUrl: emu.url + '/' }), rootUrl: emu.url + '/' });
    expect((await p.write(ROOM, [create(ev('sa'))]))[0].ok).toBe(true);
    expect(emu.log.count({ api: 'oauth' })).toBe(1);
    emu.google.expireAccessTokens();
    expect(await p.listOwned(ROOM, SYNC, WINDOW)).toHaveLength(1);
    expect(emu.log.count({ api: 'oauth' })).toBe(2);
  });

  it('refresh-token flow; a revoked refresh token is an auth-scoped error', async () => {
    emu.google.registerRefreshToken('1//good');
    const ok = refreshTokenSource({ clientId: 'c', clientSecret: 's', refreshToken: '1//good', tokenUrl: `${emu.url}/token` }, { http: googleFetchPort() });
    const p = new GoogleCalendarProvider({ http: createGoogleHttpPort({ tokenSource: ok, rootUrl: emu.url + '/' }), rootUrl: emu.url + '/' });
    expect(await p.listOwned(ROOM, SYNC, WINDOW)).toEqual([]);
    const bad = refreshTokenSource({ clientId: 'c', clientSecret: 's', refreshToken: '1//revoked', tokenUrl: `${emu.url}/token` }, { http: googleFetchPort() });
    const q = new GoogleCalendarProvider({ http: createGoogleHttpPort({ tokenSource: bad, rootUrl: emu.url + '/' }), rootUrl: emu.url + '/' });
    await expect(q.listOwned(ROOM, SYNC, WINDOW)).rejects.toMatchObject({ scope: 'auth', code: 'invalid_grant' });
  });
});

describe('with the planner and applyPlan', () => {
  it('syncs, re-syncs with zero writes, and propagates changes and deletions', async () => {
    const p = provider();
    const policy = { syncId: SYNC, calendarId: ROOM, window: { pastDays: 30, futureDays: 365 }, seriesSupport: p.capabilities.seriesSupport };
    const now = Date.UTC(2026, 10, 20);
    const w: TimeWindow = { from: now - 30 * 86_400_000, to: now + 365 * 86_400_000 };
    const source: CalendarEvent[] = [
      ev('single'),
      ev('allday', { start: { date: '2026-12-24' }, end: { date: '2026-12-25' } }),
      ev('series', { recurrence: { rrule: ['FREQ=DAILY;COUNT=5'], rdate: [], exdate: [] } }),
      ev('series', { title: 'Moved', recurrenceId: { dateTime: '2026-12-02T09:00:00', timeZone: 'Europe/Berlin' }, start: { dateTime: '2026-12-02T11:00:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2026-12-02T12:00:00', timeZone: 'Europe/Berlin' } }),
      ev('series', { recurrenceId: { dateTime: '2026-12-03T09:00:00', timeZone: 'Europe/Berlin' }, status: 'CANCELLED' }),
    ];
    const run = async (desired: CalendarEvent[]) => {
      const plan = planSync(desired, await p.listOwned(ROOM, SYNC, w), policy as never, now);
      const report = await applyPlan(plan, p, { sleep: async () => undefined });
      return { plan, report };
    };
    const first = await run(source);
    expect(first.plan.counts).toMatchObject({ create: 4, delete: 0 });
    expect(first.report.ok).toBe(true);
    const again = await run(source);
    expect(again.plan.counts).toMatchObject({ create: 0, update: 0, delete: 0, unchanged: 4 });
    const instances = await p.listEvents(ROOM, w, { expandSeries: true });
    expect(instances.filter((t) => t.event.uid === 'series' || t.event.title.startsWith('Event series') || t.event.title === 'Moved')).toHaveLength(4);

    const changed = [source[0], { ...source[1], title: 'Holiday' }, source[2]]; // override and cancellation dropped
    const third = await run(changed);
    // The dropped override is not deleted: its occurrence is rewritten as the series has it (and stays tracked).
    expect(third.plan.counts).toMatchObject({ create: 0, delete: 0 });
    expect(third.plan.counts.update).toBeGreaterThanOrEqual(3); // all-day title + series EXDATE gone + the restored occurrence
    const fourth = await run(changed);
    expect(fourth.plan.counts).toMatchObject({ create: 0, update: 0, delete: 0 });
    expect(live().filter((g) => !g.recurringEventId)).toHaveLength(3);
  });
});

describe('changes of form, the window and restored occurrences (found by the chaos test)', () => {
  const ROOM_B = 'room-b@resource.calendar.google.com';
  const now = Date.UTC(2026, 10, 20);
  const w: TimeWindow = { from: now - 7 * 86_400_000, to: now + 150 * 86_400_000 };
  const berlin = (d: string, t: string) => ({ dateTime: `${d}T${t}:00`, timeZone: 'Europe/Berlin' });
  const series = ev('course', { title: 'Course', location: 'A', start: berlin('2026-12-01', '09:00'), end: berlin('2026-12-01', '10:00'), recurrence: { rrule: ['FREQ=WEEKLY;COUNT=4'], rdate: [], exdate: [] } });
  const rid = berlin('2026-12-08', '09:00');
  const moved = ev('course', { title: 'Moved', location: 'B', recurrenceId: rid, start: berlin('2026-12-08', '11:00'), end: berlin('2026-12-08', '12:00') });
  const policy = (p: GoogleCalendarProvider) => ({ syncId: SYNC, window: { from: w.from, to: w.to }, floatingTimeZone: 'Europe/Berlin', seriesSupport: p.capabilities.seriesSupport });
  type Routed = Array<{ calendarId: string; event: CalendarEvent }>;
  async function run(p: GoogleCalendarProvider, desired: Routed) {
    const actual = [...await p.listOwned(ROOM, SYNC, w), ...await p.listOwned(ROOM_B, SYNC, w)];
    const plan = planSync(desired, actual, policy(p), now);
    const report = await applyPlan(plan, p, { sleep: async () => undefined });
    return { plan, report };
  }
  const writes = (plan: ReturnType<typeof planSync>) => plan.ops.filter((o) => o.action === 'create' || o.action === 'update' || o.action === 'delete').map((o) => `${o.action} ${o.key}: ${o.reason}`);
  const liveIn = (room: string) => emu.google.listRaw(room).filter((g) => g.status !== 'cancelled');
  const duplicateKeys = (room: string) => {
    const keys = liveIn(room).map((g) => (g.extendedProperties as { private?: Record<string, string> } | undefined)?.private?.crKey).filter(Boolean);
    return keys.filter((k, i) => keys.indexOf(k) !== i);
  };
  const shown = async (p: GoogleCalendarProvider, room: string) => (await p.listEvents(room, w, { expandSeries: true })).map((t) => `${t.event.start.dateTime} ${t.event.title}`);

  beforeEach(() => {
    emu.google.createCalendar(ROOM_B, { timeZone: 'Europe/Berlin' });
  });

  it('an override kept as a single event in another room, then its series moves there (two workers at once): shown once, one event per key', async () => {
    const p = provider();
    await run(p, [{ calendarId: ROOM, event: series }, { calendarId: ROOM_B, event: moved }]);
    expect(await shown(p, ROOM_B)).toEqual(['2026-12-08T11:00:00 Moved']);
    const movedIn: Routed = [{ calendarId: ROOM_B, event: { ...series, location: 'B' } }, { calendarId: ROOM_B, event: moved }];
    const [a, b] = await Promise.all([run(provider(), movedIn), run(provider(), movedIn)]);
    expect(a.plan.ops.some((o) => o.action === 'delete' && o.replaced && o.calendarId === ROOM_B)).toBe(true);
    expect(duplicateKeys(ROOM_B)).toEqual([]);
    if (!a.report.ok || !b.report.ok) await run(p, movedIn);
    expect(await shown(p, ROOM_B)).toEqual(['2026-12-01T09:00:00 Course', '2026-12-08T11:00:00 Moved', '2026-12-15T09:00:00 Course', '2026-12-22T09:00:00 Course']);
    expect(await shown(p, ROOM)).toEqual([]);
    expect(writes((await run(p, movedIn)).plan)).toEqual([]);
  });

  it('an override update aimed at an event that is not an instance never stamps the instance too (412 path)', async () => {
    const p = provider();
    const single = { ...moved };
    delete single.recurrenceId;
    const key = overrideKey(uidKey(series), rid);
    const stamp = { syncId: SYNC, sourceKey: key, fingerprint: 'fp1' };
    const [standalone] = await p.write(ROOM, [{ op: 'create', calendarId: ROOM, key, event: single, stamp }]);
    await p.write(ROOM, [create(series)]);
    const [r] = await p.write(ROOM, [{ op: 'update', calendarId: ROOM, key, targetId: standalone.targetId!, etag: '"stale"', event: moved, stamp: { ...stamp, fingerprint: 'fp2' } }]);
    expect(r).toMatchObject({ ok: false, error: { code: 'notAnInstance' } });
    expect(liveIn(ROOM).filter((g) => (g.extendedProperties as { private?: Record<string, string> }).private?.crKey === key).map((g) => g.id)).toEqual([standalone.targetId]);
  });

  it('a series with no occurrence left in the window is neither re-created nor rewritten: re-sync writes nothing', async () => {
    const p = provider();
    const all = ['01', '08', '15', '22'].map((d) => ev('course', { recurrenceId: berlin(`2026-12-${d}`, '09:00'), status: 'CANCELLED' }));
    await run(p, [{ calendarId: ROOM, event: series }]);
    const cancelled = await run(p, [{ calendarId: ROOM, event: series }, ...all.map((event) => ({ calendarId: ROOM, event }))]);
    expect(writes(cancelled.plan)).toEqual([expect.stringMatching(/^update k1 feed u:course: changed in source/)]);
    expect(await shown(p, ROOM)).toEqual([]);
    expect(writes((await run(p, [{ calendarId: ROOM, event: series }, ...all.map((event) => ({ calendarId: ROOM, event }))])).plan)).toEqual([]);
    const fresh = ev('other', { recurrence: { rrule: ['FREQ=DAILY;COUNT=2'], rdate: [], exdate: [berlin('2026-12-01', '09:00'), berlin('2026-12-02', '09:00')] } });
    expect(writes((await run(p, [{ calendarId: ROOM, event: fresh }])).plan)).toEqual([]);
  });

  it('lists the master of an exception moved into the window from a slot outside it', async () => {
    const p = provider();
    const early = ev('early', { start: berlin('2026-10-27', '09:00'), end: berlin('2026-10-27', '10:00'), recurrence: { rrule: ['FREQ=WEEKLY;COUNT=2'], rdate: [], exdate: [] } });
    const intoWindow = ev('early', { title: 'Moved in', recurrenceId: berlin('2026-11-03', '09:00'), start: berlin('2026-11-20', '09:00'), end: berlin('2026-11-20', '10:00') });
    const desired = [{ calendarId: ROOM, event: early }, { calendarId: ROOM, event: intoWindow }];
    expect((await run(p, desired)).report.ok).toBe(true);
    expect((await p.listOwned(ROOM, SYNC, w)).map((t) => t.stamp!.sourceKey).sort()).toEqual([uidKey(early), overrideKey(uidKey(early), intoWindow.recurrenceId!)]);
    expect(writes((await run(p, desired)).plan)).toEqual([]);
  });

  it('an override removed from the source: the occurrence follows later changes of its series', async () => {
    const p = provider();
    const here = { ...moved, location: 'A' };
    await run(p, [{ calendarId: ROOM, event: series }, { calendarId: ROOM, event: here }]);
    expect(await shown(p, ROOM)).toContain('2026-12-08T11:00:00 Moved');
    const dropped = await run(p, [{ calendarId: ROOM, event: series }]);
    expect(writes(dropped.plan)).toEqual([expect.stringMatching(/^update k1 feed u:course r:20261208T080000Z: no override in source/)]);
    expect(await shown(p, ROOM)).toEqual(['2026-12-01T09:00:00 Course', '2026-12-08T09:00:00 Course', '2026-12-15T09:00:00 Course', '2026-12-22T09:00:00 Course']);
    const retitled = [{ calendarId: ROOM, event: { ...series, title: 'Course (renamed)', description: 'New notes' } }];
    expect((await run(p, retitled)).report.ok).toBe(true);
    expect(await shown(p, ROOM)).toEqual(['2026-12-01T09:00:00 Course (renamed)', '2026-12-08T09:00:00 Course (renamed)', '2026-12-15T09:00:00 Course (renamed)', '2026-12-22T09:00:00 Course (renamed)']);
    expect((await p.listEvents(ROOM, w, { expandSeries: true })).every((t) => t.event.description === 'New notes')).toBe(true);
    expect(writes((await run(p, retitled)).plan)).toEqual([]);
  });
});

describe('under chaos', () => {
  it('converges with no duplicates and foreign events untouched despite throttling, 5xx and resets', async () => {
    const p = provider();
    const foreign = emu.google.seedEvent(ROOM, { summary: 'Person', start: { dateTime: '2026-12-05T09:00:00Z' }, end: { dateTime: '2026-12-05T10:00:00Z' } });
    const policy = { syncId: SYNC, calendarId: ROOM, window: { pastDays: 30, futureDays: 365 }, seriesSupport: p.capabilities.seriesSupport };
    const now = Date.UTC(2026, 10, 20);
    const w: TimeWindow = { from: now - 30 * 86_400_000, to: now + 365 * 86_400_000 };
    const day = (i: number) => `2026-12-${String(1 + (i % 28)).padStart(2, '0')}`;
    let source: CalendarEvent[] = Array.from({ length: 80 }, (_, i) => ev(`c${i}`, { start: { dateTime: `${day(i)}T09:00:00Z` }, end: { dateTime: `${day(i)}T10:00:00Z` } }));
    emu.faults.seed(11);
    emu.faults.chaos({ api: 'google', inBatch: true, probability: 0.15, faults: [{ kind: 'throttle' }, { kind: 'throttle', status: 429 }, { kind: 'error', status: 503 }] });
    emu.faults.chaos({ api: 'google', kind: 'batch', probability: 0.1, faults: [{ kind: 'reset' }, { kind: 'error', status: 500 }] });
    for (let round = 0; round < 4; round++) {
      let report;
      for (let attempt = 0; attempt < 5; attempt++) {
        let actual;
        try {
          actual = await p.listOwned(ROOM, SYNC, w);
        } catch {
          continue; // a list hit by chaos: the next run tries again
        }
        const plan = planSync(source, actual, policy as never, now);
        report = await applyPlan(plan, p, { sleep: async () => undefined, retry: { maxRetries: 8 } });
        if (report.ok) break;
      }
      expect(report?.ok).toBe(true);
      emu.faults.clear();
      const owned = await p.listOwned(ROOM, SYNC, w);
      expect(owned.map((t) => t.stamp!.sourceKey).sort()).toEqual(source.map((e) => uidKey(e)).sort());
      expect(new Set(owned.map((t) => t.stamp!.sourceKey)).size).toBe(owned.length);
      emu.faults.chaos({ api: 'google', inBatch: true, probability: 0.15, faults: [{ kind: 'throttle' }, { kind: 'error', status: 503 }] });
      emu.faults.chaos({ api: 'google', kind: 'batch', probability: 0.1, faults: [{ kind: 'reset' }] });
      // Random-ish source changes: drop some, rename some, add some.
      source = source.filter((_, i) => (i + round) % 7 !== 0).map((e, i) => (i % 5 === round ? { ...e, title: `${e.title} r${round}` } : e));
      source.push(...Array.from({ length: 6 }, (_, i) => ev(`n${round}-${i}`, { start: { dateTime: `${day(i + round)}T12:00:00Z` }, end: { dateTime: `${day(i + round)}T13:00:00Z` } })));
    }
    emu.faults.clear();
    expect(emu.google.listRaw(ROOM).find((g) => g.id === foreign.id)).toMatchObject({ status: 'confirmed', summary: 'Person' });
    expect(emu.faults.injected.length).toBeGreaterThan(0);
  });
});
