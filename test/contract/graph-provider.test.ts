/**
 * GraphCalendarProvider against the Graph emulator (emulator/graph), over real HTTP with a
 * client-credentials token from the emulator's identity endpoint.
 */
import { startEmulator, type Emulator } from '../../emulator';
import type { CalendarEvent } from '../../core/event';
import type { OwnershipStamp, WriteOp, WriteResult } from '../../providers/port';
import { ProviderError } from '../../providers/port';
import {
  GraphCalendarProvider, clientCredentialsTokenSource, createGraphHttpPort, fetchHttpPort, PROPERTY_IDS, type SyncStateStore,
} from '../../providers/graph';
import { planSync } from '../../core/plan';
import { applyPlan } from '../../providers/apply';
import { expandOccurrences } from '../../core/recurrence';

const ROOM = 'room-a@contoso.example';
const ROOM_B = 'room-b@contoso.example';
const PERSON = 'alice@contoso.example';
const SYNC = 'sync-contract';
const WINDOW = { from: Date.UTC(2024, 0, 1), to: Date.UTC(2025, 0, 1) };

let emu: Emulator;

beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.close();
});

function providerFor(opts: { timeZoneStyle?: 'iana' | 'windows'; stateStore?: SyncStateStore; pageSize?: number; defaultTimeZone?: string } = {}): GraphCalendarProvider {
  emu.graph.registerApp('client-1', 'secret-1', 'tenant-1');
  const transport = fetchHttpPort();
  const tokenSource = clientCredentialsTokenSource({ http: transport, tenantId: 'tenant-1', clientId: 'client-1', clientSecret: 'secret-1', authority: emu.url });
  const baseUrl = `${emu.url}/v1.0`;
  return new GraphCalendarProvider({ http: createGraphHttpPort({ tokenSource, baseUrl, transport }), baseUrl, ...opts });
}

beforeEach(() => {
  emu.reset();
  emu.graph.addRoom({ email: ROOM, displayName: 'Room A', capacity: 12, building: 'North' });
  emu.graph.addRoom({ email: ROOM_B, displayName: 'Room B', capacity: 4 });
  emu.graph.createMailbox(PERSON, { displayName: 'Alice' });
});

const stamp = (key: string, fp = 'fp1'): OwnershipStamp => ({ syncId: SYNC, sourceKey: key, fingerprint: fp });

function single(uid: string, day: number, extra: Partial<CalendarEvent> = {}): CalendarEvent {
  const d = String(day).padStart(2, '0');
  return {
    uid, title: `Lecture ${uid}`, location: 'Hall 1', description: 'Bring notes',
    start: { dateTime: `2024-03-${d}T09:00:00`, timeZone: 'Europe/Berlin' },
    end: { dateTime: `2024-03-${d}T10:30:00`, timeZone: 'Europe/Berlin' },
    ...extra,
  };
}

const create = (calendarId: string, key: string, event: CalendarEvent, fp = 'fp1'): WriteOp => ({ op: 'create', calendarId, key, event, stamp: stamp(key, fp) });

function expectOk(results: WriteResult[]): void {
  const bad = results.filter((r) => !r.ok).map((r) => `${r.op.key}: ${r.error?.message}`);
  expect(bad).toEqual([]);
}

describe('create / update / delete / listOwned', () => {
  test('round trip of singles through a $batch, then update and delete', async () => {
    const p = providerFor();
    const ops = [1, 2, 3].map((i) => create(ROOM, `k${i}`, single(`u${i}`, i + 10)));
    const created = await p.write(ROOM, ops);
    expectOk(created);
    expect(emu.log.batchCount).toBe(1);

    const owned = await p.listOwned(ROOM, SYNC, WINDOW);
    expect(owned.map((t) => t.stamp?.sourceKey).sort()).toEqual(['k1', 'k2', 'k3']);
    const t1 = owned.find((t) => t.stamp?.sourceKey === 'k1')!;
    expect(t1.id).toBe(created[0].targetId);
    expect(t1.event).toMatchObject({
      title: 'Lecture u1', location: 'Hall 1', description: 'Bring notes',
      start: { dateTime: '2024-03-11T09:00:00', timeZone: 'Europe/Berlin' },
      end: { dateTime: '2024-03-11T10:30:00', timeZone: 'Europe/Berlin' },
    });

    const changed = single('u1', 11, { title: 'Moved lecture', start: { dateTime: '2024-03-11T14:00:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2024-03-11T15:00:00', timeZone: 'Europe/Berlin' } });
    const [upd, del] = await p.write(ROOM, [
      { op: 'update', calendarId: ROOM, key: 'k1', targetId: t1.id, event: changed, stamp: stamp('k1', 'fp2') },
      { op: 'delete', calendarId: ROOM, key: 'k2', targetId: created[1].targetId! },
    ]);
    expectOk([upd, del]);
    const after = await p.listOwned(ROOM, SYNC, WINDOW);
    expect(after.map((t) => t.stamp?.sourceKey).sort()).toEqual(['k1', 'k3']);
    const a1 = after.find((t) => t.stamp?.sourceKey === 'k1')!;
    expect(a1.stamp?.fingerprint).toBe('fp2');
    expect(a1.event.title).toBe('Moved lecture');
    expect(a1.event.start).toEqual({ dateTime: '2024-03-11T14:00:00', timeZone: 'Europe/Berlin' });
  });

  test('delete of an event that is already gone succeeds with a note', async () => {
    const p = providerFor();
    const [c] = await p.write(ROOM, [create(ROOM, 'k1', single('u1', 5))]);
    await p.write(ROOM, [{ op: 'delete', calendarId: ROOM, key: 'k1', targetId: c.targetId! }]);
    const [again] = await p.write(ROOM, [{ op: 'delete', calendarId: ROOM, key: 'k1', targetId: c.targetId! }]);
    expect(again).toMatchObject({ ok: true, note: 'already gone' });
  });

  test('update of a vanished event fails, not retryable', async () => {
    const p = providerFor();
    const [r] = await p.write(ROOM, [{ op: 'update', calendarId: ROOM, key: 'k9', targetId: 'AAMkNoSuchEvent', event: single('u9', 9), stamp: stamp('k9') }]);
    expect(r.ok).toBe(false);
    expect(r.error).toMatchObject({ status: 404, retryable: false });
  });

  test('a retried create with the same transactionId does not duplicate', async () => {
    const p = providerFor();
    const op = create(ROOM, 'k1', single('u1', 5));
    const [first] = await p.write(ROOM, [op]);
    const [second] = await p.write(ROOM, [op]);
    expect(second.ok).toBe(true);
    expect(second.targetId).toBe(first.targetId);
    expect(emu.graph.listRaw(ROOM)).toHaveLength(1);
    // Also inside a $batch.
    const [third, other] = await p.write(ROOM, [op, create(ROOM, 'k2', single('u2', 6))]);
    expect(third.targetId).toBe(first.targetId);
    expect(other.ok).toBe(true);
    expect(emu.graph.listRaw(ROOM)).toHaveLength(2);
  });

  test('foreign events and other syncs are invisible to listOwned', async () => {
    const p = providerFor();
    emu.graph.seedEvent(ROOM, { subject: 'Booked by a person', start: { dateTime: '2024-03-05T09:00:00', timeZone: 'UTC' }, end: { dateTime: '2024-03-05T10:00:00', timeZone: 'UTC' } });
    await p.write(ROOM, [create(ROOM, 'k1', single('u1', 5)), { op: 'create', calendarId: ROOM, key: 'x1', event: single('x1', 6), stamp: { syncId: 'other-sync', sourceKey: 'x1', fingerprint: 'f' } }]);
    const owned = await p.listOwned(ROOM, SYNC, WINDOW);
    expect(owned.map((t) => t.stamp?.sourceKey)).toEqual(['k1']);
    const all = await p.listEvents(ROOM, WINDOW);
    expect(all).toHaveLength(3);
    expect(all.filter((t) => !t.stamp).map((t) => t.event.title)).toEqual(['Booked by a person']);
    expect(all.find((t) => t.stamp?.syncId === 'other-sync')).toBeDefined();
  });

  test('listOwned follows @odata.nextLink across pages', async () => {
    const p = providerFor({ pageSize: 7 });
    const ops: WriteOp[] = [];
    for (let i = 1; i <= 25; i++) ops.push(create(ROOM, `k${i}`, single(`u${i}`, (i % 28) + 1)));
    for (let i = 0; i < ops.length; i += 20) expectOk(await p.write(ROOM, ops.slice(i, i + 20)));
    emu.log.reset();
    const owned = await p.listOwned(ROOM, SYNC, WINDOW);
    expect(new Set(owned.map((t) => t.stamp?.sourceKey)).size).toBe(25);
    expect(emu.log.count({ api: 'graph' })).toBe(4); // ceil(25 / 7) pages
    const view = await p.listEvents(ROOM, WINDOW, { maxResults: 10 });
    expect(view).toHaveLength(10);
  });

  test('getEvent returns the stamped event, undefined when gone', async () => {
    const p = providerFor();
    const [c] = await p.write(ROOM, [create(ROOM, 'k1', single('u1', 5))]);
    const got = await p.getEvent(ROOM, c.targetId!);
    expect(got?.stamp).toEqual({ ...stamp('k1'), digest: expect.stringMatching(/^d1 /) });
    expect(got?.edited).toBeUndefined();
    expect(await p.getEvent(ROOM, 'AAMkGone')).toBeUndefined();
  });
});

describe('listOwned and the window', () => {
  test('owned events that ended before the window starts are left out; later ones and series that reach the window are listed', async () => {
    const p = providerFor();
    const past = single('past', 1, { start: { dateTime: '2023-05-01T09:00:00Z' }, end: { dateTime: '2023-05-01T10:00:00Z' } });
    const pastSeries = single('past-series', 1, { start: { dateTime: '2023-05-01T09:00:00Z' }, end: { dateTime: '2023-05-01T10:00:00Z' }, recurrence: { rrule: ['FREQ=WEEKLY;UNTIL=20230601T090000Z'], rdate: [], exdate: [] } });
    const openSeries = single('open-series', 1, { start: { dateTime: '2023-05-01T09:00:00Z' }, end: { dateTime: '2023-05-01T10:00:00Z' }, recurrence: { rrule: ['FREQ=WEEKLY'], rdate: [], exdate: [] } });
    const inside = single('inside', 5);
    const future = single('future', 1, { start: { dateTime: '2026-05-01T09:00:00Z' }, end: { dateTime: '2026-05-01T10:00:00Z' } });
    expectOk(await p.write(ROOM, [create(ROOM, 'past', past), create(ROOM, 'past-series', pastSeries), create(ROOM, 'open-series', openSeries), create(ROOM, 'inside', inside), create(ROOM, 'future', future)]));
    const keys = (await p.listOwned(ROOM, SYNC, WINDOW)).map((t) => t.stamp!.sourceKey).sort();
    // Events after the window stay listed, so an event moved into the window is updated, not created twice.
    expect(keys).toEqual(['future', 'inside', 'open-series']);
  });
});

describe('time zones and all-day', () => {
  test('Windows zone names are written and read back as IANA', async () => {
    const p = providerFor({ timeZoneStyle: 'windows' });
    const [c] = await p.write(ROOM, [create(ROOM, 'k1', single('u1', 5))]);
    const raw = emu.graph.listRaw(ROOM)[0];
    expect((raw.fields.start as { timeZone: string }).timeZone).toBe('W. Europe Standard Time');
    const got = await p.getEvent(ROOM, c.targetId!);
    expect(got?.event.start).toEqual({ dateTime: '2024-03-05T09:00:00', timeZone: 'Europe/Berlin' });
  });

  test('all-day and UTC and floating events', async () => {
    const p = providerFor({ defaultTimeZone: 'America/New_York' });
    const allDay = single('ad', 1, { start: { date: '2024-03-01' }, end: { date: '2024-03-03' } });
    const utc = single('utc', 2, { start: { dateTime: '2024-03-02T08:00:00Z' }, end: { dateTime: '2024-03-02T09:00:00Z' } });
    const floating = single('fl', 3, { start: { dateTime: '2024-03-03T08:00:00' }, end: { dateTime: '2024-03-03T09:00:00' } });
    expectOk(await p.write(ROOM, [create(ROOM, 'ad', allDay), create(ROOM, 'utc', utc), create(ROOM, 'fl', floating)]));
    const owned = await p.listOwned(ROOM, SYNC, WINDOW);
    const by = (k: string) => owned.find((t) => t.stamp?.sourceKey === k)!.event;
    expect(by('ad').start).toEqual({ date: '2024-03-01' });
    expect(by('ad').end).toEqual({ date: '2024-03-03' });
    expect(by('utc').start).toEqual({ dateTime: '2024-03-02T08:00:00Z' });
    // Floating times are placed in the default zone.
    expect(by('fl').start).toEqual({ dateTime: '2024-03-03T08:00:00', timeZone: 'America/New_York' });
  });
});

describe('all-day events east of UTC', () => {
  test.each([['Europe/Berlin', 'iana'], ['Europe/Berlin', 'windows'], ['Pacific/Auckland', 'iana']] as const)('written at midnight in the mailbox zone %s (%s names) and read back as the same dates', async (zone, timeZoneStyle) => {
    const p = providerFor({ defaultTimeZone: zone, timeZoneStyle });
    const allDay = single('ad', 1, { start: { date: '2024-03-01' }, end: { date: '2024-03-03' } });
    expectOk(await p.write(ROOM, [create(ROOM, 'ad', allDay)]));
    const raw = emu.graph.listRaw(ROOM)[0];
    expect((raw.fields.start as { dateTime: string }).dateTime).toMatch(/^2024-03-01T00:00/);
    const [got] = await p.listOwned(ROOM, SYNC, WINDOW);
    expect(got.event.start).toEqual({ date: '2024-03-01' });
    expect(got.event.end).toEqual({ date: '2024-03-03' });
  });
});

describe('recurring series', () => {
  const weekly: CalendarEvent = {
    uid: 'series-1', title: 'Weekly seminar',
    start: { dateTime: '2024-03-04T09:00:00', timeZone: 'Europe/Berlin' },
    end: { dateTime: '2024-03-04T10:00:00', timeZone: 'Europe/Berlin' },
    recurrence: { rrule: ['FREQ=WEEKLY;BYDAY=MO,WE;COUNT=6'], rdate: [], exdate: [] },
  };

  test('a fitting series is written as one Graph series whose instances match the RRULE, across DST', async () => {
    const p = providerFor();
    expect(p.capabilities.seriesSupport(weekly, [])).toBe(true);
    expectOk(await p.write(ROOM, [create(ROOM, 'series', weekly)]));
    expect(emu.graph.listRaw(ROOM)).toHaveLength(1);
    const view = await p.listEvents(ROOM, WINDOW);
    // Mon/Wed from 4 March, 6 times; Berlin switches to summer time on 31 March.
    expect(view.map((t) => t.event.start)).toEqual(
      ['2024-03-04', '2024-03-06', '2024-03-11', '2024-03-13', '2024-03-18', '2024-03-20'].map((d) => ({ dateTime: `${d}T09:00:00`, timeZone: 'Europe/Berlin' })),
    );
    const [master] = await p.listOwned(ROOM, SYNC, WINDOW);
    expect(master.event.recurrence?.rrule).toEqual(['FREQ=WEEKLY;BYDAY=MO,WE;COUNT=6']);
  });

  test('a series crossing DST keeps its wall-clock time', async () => {
    const p = providerFor({ timeZoneStyle: 'windows' });
    const daily = { ...weekly, recurrence: { rrule: ['FREQ=DAILY;UNTIL=20240402T070000Z'], rdate: [], exdate: [] }, start: { dateTime: '2024-03-29T09:00:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2024-03-29T10:00:00', timeZone: 'Europe/Berlin' } };
    expectOk(await p.write(ROOM, [create(ROOM, 'daily', daily)]));
    const view = await p.listEvents(ROOM, WINDOW);
    // UNTIL 07:00Z on 2 April = 09:00 CEST: the 2 April occurrence is included.
    expect(view.map((t) => t.event.start.dateTime)).toEqual(['2024-03-29', '2024-03-30', '2024-03-31', '2024-04-01', '2024-04-02'].map((d) => `${d}T09:00:00`));
  });

  test('series with moved/cancelled occurrences, EXDATE or a non-fitting rule are reported for expansion', () => {
    const p = providerFor();
    const moved: CalendarEvent = { ...weekly, recurrenceId: { dateTime: '2024-03-06T09:00:00', timeZone: 'Europe/Berlin' }, start: { dateTime: '2024-03-07T09:00:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2024-03-07T10:00:00', timeZone: 'Europe/Berlin' }, recurrence: undefined };
    const cancelled: CalendarEvent = { ...moved, status: 'CANCELLED' };
    expect(p.capabilities.seriesSupport(weekly, [moved, cancelled])).toMatch(/2 changed or cancelled occurrence/);
    expect(p.capabilities.seriesSupport({ ...weekly, recurrence: { rrule: weekly.recurrence!.rrule, rdate: [], exdate: [{ dateTime: '2024-03-06T09:00:00', timeZone: 'Europe/Berlin' }] } }, [])).toMatch(/EXDATE/);
    expect(p.capabilities.seriesSupport({ ...weekly, recurrence: { rrule: ['FREQ=MONTHLY;BYDAY=5MO'], rdate: [], exdate: [] } }, [])).toMatch(/position 5/);
  });

  test('the expanded form of a series with moved and cancelled occurrences lands as single events', async () => {
    const p = providerFor();
    // What the planner sends after seriesSupport said no: occurrences as single events, the moved
    // one at its new time, the cancelled one left out.
    const occ = (d: string, key: string, startH = 9): WriteOp => create(ROOM, key, { ...weekly, recurrence: undefined, recurrenceId: { dateTime: `${d}T09:00:00`, timeZone: 'Europe/Berlin' }, start: { dateTime: `${d}T${String(startH).padStart(2, '0')}:00:00`, timeZone: 'Europe/Berlin' }, end: { dateTime: `${d}T${String(startH + 1).padStart(2, '0')}:00:00`, timeZone: 'Europe/Berlin' } });
    expectOk(await p.write(ROOM, [occ('2024-03-04', 'o1'), occ('2024-03-06', 'o2', 14), occ('2024-03-13', 'o4')]));
    const owned = await p.listOwned(ROOM, SYNC, WINDOW);
    expect(owned.map((t) => t.event.start.dateTime).sort()).toEqual(['2024-03-04T09:00:00', '2024-03-06T14:00:00', '2024-03-13T09:00:00']);
  });

  test('an all-day yearly series', async () => {
    const p = providerFor();
    const birthday: CalendarEvent = { uid: 'bd', title: 'Founding day', start: { date: '2024-05-17' }, end: { date: '2024-05-18' }, recurrence: { rrule: ['FREQ=YEARLY'], rdate: [], exdate: [] } };
    expectOk(await p.write(ROOM, [create(ROOM, 'bd', birthday)]));
    const view = await p.listEvents(ROOM, { from: Date.UTC(2024, 0, 1), to: Date.UTC(2027, 0, 1) });
    expect(view.map((t) => t.event.start)).toEqual([{ date: '2024-05-17' }, { date: '2025-05-17' }, { date: '2026-05-17' }]);
  });

  test('turning a series into a single event clears its recurrence', async () => {
    const p = providerFor();
    const [c] = await p.write(ROOM, [create(ROOM, 'series', weekly)]);
    const plain: CalendarEvent = { ...weekly, recurrence: undefined };
    expectOk(await p.write(ROOM, [{ op: 'update', calendarId: ROOM, key: 'series', targetId: c.targetId!, event: plain, stamp: stamp('series', 'fp2') }]));
    expect(await p.listEvents(ROOM, WINDOW)).toHaveLength(1);
  });
});

describe('failures are per-op ProviderErrors', () => {
  test('per-item 429 with fractional Retry-After, 503 and success in one $batch', async () => {
    const p = providerFor();
    emu.faults.script({ api: 'graph', kind: 'create', inBatch: true }, ['ok', { kind: 'throttle', status: 429, retryAfter: '2.128' }, { kind: 'error', status: 503 }]);
    emu.graph.setBatchOrder('request');
    const results = await p.write(ROOM, [1, 2, 3].map((i) => create(ROOM, `k${i}`, single(`u${i}`, i))));
    const byKey = Object.fromEntries(results.map((r) => [r.op.key, r]));
    expect(results.map((r) => r.op.key)).toEqual(['k1', 'k2', 'k3']);
    const failed = results.filter((r) => !r.ok);
    expect(failed).toHaveLength(2);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    const throttled = failed.find((r) => r.error?.status === 429)!;
    expect(throttled.error).toMatchObject({ retryable: true, retryAfterMs: 2128, scope: 'op' });
    expect(failed.find((r) => r.error?.status === 503)!.error).toMatchObject({ retryable: true });
    expect(byKey.k1).toBeDefined();
    // Retrying just the failed ops converges without duplicates.
    expectOk(await p.write(ROOM, failed.map((r) => r.op)));
    expect(emu.graph.listRaw(ROOM)).toHaveLength(3);
  });

  test('responses out of order are matched by id', async () => {
    const p = providerFor();
    emu.graph.setBatchOrder('reverse');
    const ops = [1, 2, 3, 4, 5].map((i) => create(ROOM, `k${i}`, single(`u${i}`, i)));
    const results = await p.write(ROOM, ops);
    expectOk(results);
    for (const r of results) {
      const got = await p.getEvent(ROOM, r.targetId!);
      expect(got?.stamp?.sourceKey).toBe(r.op.key);
    }
  });

  test('a throttled $batch as a whole rejects with a retryable ProviderError', async () => {
    const p = providerFor();
    emu.faults.next({ api: 'graph', kind: 'batch' }, { kind: 'throttle', status: 429, retryAfter: '3' });
    const err = await p.write(ROOM, [create(ROOM, 'k1', single('u1', 1)), create(ROOM, 'k2', single('u2', 2))]).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ status: 429, retryable: true, retryAfterMs: 3000 });
  });

  test('an unknown mailbox stops that calendar only', async () => {
    const p = providerFor();
    const [r] = await p.write('nobody@contoso.example', [create('nobody@contoso.example', 'k1', single('u1', 1))]);
    expect(r.error).toMatchObject({ status: 404, scope: 'calendar', retryable: false });
  });

  test('an expired token is refreshed once and the request repeated', async () => {
    const p = providerFor();
    await p.listOwned(ROOM, SYNC, WINDOW); // token cached
    emu.faults.next({ api: 'graph', kind: 'list' }, { kind: 'tokenExpired' });
    await expect(p.listOwned(ROOM, SYNC, WINDOW)).resolves.toEqual([]);
    expect(emu.log.count({ api: 'oauth' })).toBe(2);
  });

  test('never more than 4 concurrent requests to one mailbox, even with concurrent write() calls', async () => {
    const p = providerFor();
    emu.setLatency(15);
    try {
      const ops: WriteOp[] = [];
      for (let i = 1; i <= 60; i++) ops.push(create(ROOM, `k${i}`, single(`u${i}`, (i % 28) + 1)));
      const chunks = [0, 20, 40].map((s) => ops.slice(s, s + 20));
      const results = (await Promise.all(chunks.map((c) => p.write(ROOM, c)))).flat();
      expectOk(results);
      expect(emu.log.summary().maxConcurrency[ROOM]).toBeLessThanOrEqual(4);
      expect(p.maxConcurrencySeen(ROOM)).toBeLessThanOrEqual(4);
    } finally {
      emu.setLatency(0);
    }
  });
});

describe('delta, rooms', () => {
  test('listChanges: full, incremental, and full again after the delta link expired (410)', async () => {
    const state = new Map<string, string | undefined>();
    const store: SyncStateStore = { get: (k) => state.get(k), set: (k, v) => void state.set(k, v) };
    const p = providerFor({ stateStore: store });
    const [a] = await p.write(ROOM, [create(ROOM, 'k1', single('u1', 1))]);
    const first = await p.listChanges(ROOM, WINDOW);
    expect(first.full).toBe(true);
    expect(first.events.map((e) => e.id)).toEqual([a.targetId]);

    const [b] = await p.write(ROOM, [create(ROOM, 'k2', single('u2', 2))]);
    await p.write(ROOM, [{ op: 'delete', calendarId: ROOM, key: 'k1', targetId: a.targetId! }]);
    const second = await p.listChanges(ROOM, WINDOW);
    expect(second.full).toBe(false);
    expect(second.events.map((e) => e.id)).toEqual([b.targetId]);
    expect(second.removedIds).toEqual([a.targetId]);

    expect(emu.graph.expireDeltaTokens(ROOM)).toBeGreaterThan(0);
    const third = await p.listChanges(ROOM, WINDOW);
    expect(third.full).toBe(true);
    expect(third.events.map((e) => e.id)).toEqual([b.targetId]);
  });

  test('listRooms pages through /places/microsoft.graph.room', async () => {
    for (let i = 0; i < 120; i++) emu.graph.addRoom({ email: `r${i}@contoso.example`, displayName: `R${i}`, capacity: i });
    const p = providerFor();
    const rooms = await p.listRooms();
    expect(rooms).toHaveLength(122);
    expect(rooms.find((r) => r.email === ROOM)).toEqual({ calendarId: ROOM, email: ROOM, name: 'Room A', capacity: 12, building: 'North' });
    expect(rooms.find((r) => r.email === PERSON)).toBeUndefined();
  });

  test('the filter sent for listOwned names our extended property', async () => {
    const p = providerFor();
    await p.listOwned(ROOM, "it's-mine", WINDOW);
    const [req] = emu.log.recent({ api: 'graph', kind: 'list' });
    expect(new URLSearchParams(req.query).get('$filter')).toContain(PROPERTY_IDS.syncId);
    expect(new URLSearchParams(req.query).get('$filter')).toContain("'it''s-mine'");
  });
});

describe('end to end: planSync → applyPlan → GraphCalendarProvider', () => {
  // A SeriesExpander on core/recurrence, as the sync pipeline provides one.
  const expandSeries = (master: CalendarEvent, overrides: CalendarEvent[], window: { from: number; to: number }) => {
    const { occurrences, errors } = expandOccurrences([master, ...overrides], window.from, window.to);
    return {
      events: occurrences.map((o) => ({ ...o.event, recurrence: undefined, recurrenceId: o.recurrenceId ?? undefined, start: o.start, end: o.end })),
      errors: errors.map((e) => e.message),
    };
  };

  test('fitting series stays a series, a series with moved/cancelled occurrences is expanded; re-sync writes nothing', async () => {
    const p = providerFor();
    emu.graph.seedEvent(ROOM, { subject: 'Booked by a person', start: { dateTime: '2024-03-05T09:00:00', timeZone: 'UTC' }, end: { dateTime: '2024-03-05T10:00:00', timeZone: 'UTC' } });
    const berlin = (d: string, h: number) => ({ dateTime: `${d}T${String(h).padStart(2, '0')}:00:00`, timeZone: 'Europe/Berlin' });
    const fitting: CalendarEvent = { uid: 'fit', title: 'Seminar', start: berlin('2024-03-04', 9), end: berlin('2024-03-04', 10), recurrence: { rrule: ['FREQ=WEEKLY;COUNT=5'], rdate: [], exdate: [] } };
    const withOverrides: CalendarEvent = { uid: 'ovr', title: 'Lab', start: berlin('2024-03-05', 14), end: berlin('2024-03-05', 16), recurrence: { rrule: ['FREQ=WEEKLY;COUNT=4'], rdate: [], exdate: [] } };
    const moved: CalendarEvent = { uid: 'ovr', title: 'Lab (moved)', recurrenceId: berlin('2024-03-12', 14), start: berlin('2024-03-13', 8), end: berlin('2024-03-13', 10) };
    const cancelled: CalendarEvent = { uid: 'ovr', title: 'Lab', recurrenceId: berlin('2024-03-19', 14), start: berlin('2024-03-19', 14), end: berlin('2024-03-19', 16), status: 'CANCELLED' };
    const desired = [fitting, withOverrides, moved, cancelled];
    const policy = { syncId: SYNC, calendarId: ROOM, window: WINDOW, seriesSupport: p.capabilities.seriesSupport, expandSeries };
    const now = Date.UTC(2024, 2, 1);

    emu.faults.script({ api: 'graph', kind: 'create', inBatch: true }, ['ok', { kind: 'throttle', status: 429, retryAfter: '0.01' }]);
    const plan = planSync(desired, await p.listOwned(ROOM, SYNC, WINDOW), policy, now);
    expect(plan.warnings.join('\n')).toMatch(/changed or cancelled occurrence/);
    const report = await applyPlan(plan, p, { sleep: async () => {} });
    expect(report.ok).toBe(true);
    expect(report.requests.retriedOps).toBe(1); // the injected 429, retried by applyPlan

    const view = await p.listEvents(ROOM, WINDOW);
    const starts = (title: string) => view.filter((t) => t.event.title.startsWith(title)).map((t) => t.event.start.dateTime).sort();
    expect(starts('Seminar')).toEqual(['2024-03-04', '2024-03-11', '2024-03-18', '2024-03-25', '2024-04-01'].map((d) => `${d}T09:00:00`));
    expect(starts('Lab')).toEqual(['2024-03-05T14:00:00', '2024-03-13T08:00:00', '2024-03-26T14:00:00']);
    expect(view.filter((t) => !t.stamp)).toHaveLength(1); // the person's booking is untouched
    // One Graph series for the fitting rule, three single events for the expanded one.
    expect(emu.graph.listRaw(ROOM)).toHaveLength(1 + 1 + 3);

    const again = planSync(desired, await p.listOwned(ROOM, SYNC, WINDOW), policy, now);
    expect({ create: again.counts.create, update: again.counts.update, delete: again.counts.delete }).toEqual({ create: 0, update: 0, delete: 0 });

    // The source drops the fitting series: its master is deleted, nothing else.
    const third = planSync([withOverrides, moved, cancelled], await p.listOwned(ROOM, SYNC, WINDOW), policy, now);
    expect(third.counts.delete).toBe(1);
    expect((await applyPlan(third, p, { sleep: async () => {} })).ok).toBe(true);
    expect(emu.graph.listRaw(ROOM)).toHaveLength(1 + 3);
  });
});

describe('listOwned: window filtered on the server', () => {
  const weekly = (uid: string): CalendarEvent => ({
    ...single(uid, 1), start: { dateTime: '2023-06-05T09:00:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2023-06-05T10:00:00', timeZone: 'Europe/Berlin' },
    recurrence: { rrule: ['FREQ=WEEKLY;BYDAY=MO'], rdate: [], exdate: [] },
  });
  const past = (uid: string): CalendarEvent => ({ ...single(uid, 1), start: { dateTime: '2023-05-01T09:00:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2023-05-01T10:00:00', timeZone: 'Europe/Berlin' } });

  test('single events that ended before the window are not sent; a series that began before it is', async () => {
    const p = providerFor();
    expectOk(await p.write(ROOM, [create(ROOM, 'old', past('old')), create(ROOM, 'now', single('now', 4)), create(ROOM, 'series', weekly('series'))]));
    emu.log.reset();
    const owned = await p.listOwned(ROOM, SYNC, WINDOW);
    expect(owned.map((t) => t.stamp?.sourceKey).sort()).toEqual(['now', 'series']);
    const [list] = emu.log.recent({ api: 'graph', kind: 'list' });
    const filter = new URLSearchParams(list.query).get('$filter')!;
    expect(filter).toContain("end/dateTime ge '2024-01-01T00:00:00Z'");
    expect(filter).toContain("type eq 'seriesMaster'");
    // The server's own answer leaves the old event out (not just our client-side check).
    const raw = await fetch(`${emu.url}/v1.0/users/${ROOM}/events?$filter=${encodeURIComponent(filter)}`, { headers: { authorization: `Bearer ${emu.graph.issueToken()}` } });
    const body = (await raw.json()) as { value: Array<{ subject: string }> };
    expect(body.value.map((e) => e.subject).sort()).toEqual(['Lecture now', 'Lecture series']);
  });

  test('a server that rejects the combined filter (400) is asked by stamp alone; the window is applied client-side', async () => {
    emu.graph.registerApp('client-1', 'secret-1', 'tenant-1');
    const transport = fetchHttpPort();
    const tokenSource = clientCredentialsTokenSource({ http: transport, tenantId: 'tenant-1', clientId: 'client-1', clientSecret: 'secret-1', authority: emu.url });
    const baseUrl = `${emu.url}/v1.0`;
    const strict = createGraphHttpPort({ tokenSource, baseUrl, transport });
    let rejected = 0;
    const http: typeof strict = async (req) => {
      if (/end%2FdateTime/i.test(req.url)) {
        rejected++;
        return { status: 400, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: { code: 'BadRequest', message: 'This filter query is not supported.' } }) };
      }
      return strict(req);
    };
    const p = new GraphCalendarProvider({ http, baseUrl });
    expectOk(await p.write(ROOM, [create(ROOM, 'old', past('old')), create(ROOM, 'now', single('now', 4))]));
    expect((await p.listOwned(ROOM, SYNC, WINDOW)).map((t) => t.stamp?.sourceKey)).toEqual(['now']);
    expect((await p.listOwned(ROOM, SYNC, WINDOW)).map((t) => t.stamp?.sourceKey)).toEqual(['now']);
    expect(rejected).toBe(2); // both window filters tried once, then remembered: the second listing goes straight to the stamp filter
  });
});

describe('mailbox time zone (mailboxSettings) when no defaultTimeZone is configured', () => {
  const allDay = (uid: string) => single(uid, 1, { start: { date: '2024-03-01' }, end: { date: '2024-03-02' } });

  test('all-day and floating events are written in the mailbox zone (Windows name), looked up once per mailbox', async () => {
    emu.graph.setMailboxTimeZone(ROOM, 'W. Europe Standard Time');
    const p = providerFor();
    const floating = single('fl', 5, { start: { dateTime: '2024-03-05T09:00:00' }, end: { dateTime: '2024-03-05T10:00:00' } });
    expectOk(await p.write(ROOM, [create(ROOM, 'ad', allDay('ad')), create(ROOM, 'fl', floating)]));
    expectOk(await p.write(ROOM, [create(ROOM, 'ad2', allDay('ad2'))]));
    await p.listOwned(ROOM, SYNC, WINDOW);
    expect(emu.log.count({ api: 'graph', kind: 'mailboxSettings' })).toBe(1);
    expect(await p.mailboxTimeZone(ROOM)).toBe('Europe/Berlin');
    const raw = emu.graph.listRaw(ROOM);
    const ad = raw.find((e) => (e.fields.subject as string) === 'Lecture ad')!;
    expect(ad.fields.start).toEqual({ dateTime: '2024-03-01T00:00:00', timeZone: 'Europe/Berlin' });
    const fl = raw.find((e) => (e.fields.subject as string) === 'Lecture fl')!;
    expect(fl.fields.start).toEqual({ dateTime: '2024-03-05T09:00:00', timeZone: 'Europe/Berlin' });
    // Read back as the dates written, although reads come in UTC (23:00 the day before).
    const owned = await p.listOwned(ROOM, SYNC, WINDOW);
    expect(owned.find((t) => t.stamp?.sourceKey === 'ad')!.event.start).toEqual({ date: '2024-03-01' });
  });

  test('each mailbox has its own zone; a configured defaultTimeZone wins without any lookup', async () => {
    emu.graph.setMailboxTimeZone(ROOM, 'Pacific Standard Time');
    emu.graph.setMailboxTimeZone(ROOM_B, 'Asia/Tokyo');
    const looked = providerFor();
    expect(await looked.mailboxTimeZone(ROOM)).toBe('America/Los_Angeles');
    expect(await looked.mailboxTimeZone(ROOM_B)).toBe('Asia/Tokyo');
    emu.log.reset();
    const configured = providerFor({ defaultTimeZone: 'Europe/Berlin' });
    expectOk(await configured.write(ROOM, [create(ROOM, 'ad', allDay('ad'))]));
    expect(emu.log.count({ api: 'graph', kind: 'mailboxSettings' })).toBe(0);
    expect(emu.graph.listRaw(ROOM)[0].fields.start).toEqual({ dateTime: '2024-03-01T00:00:00', timeZone: 'Europe/Berlin' });
  });

  test('a failed lookup fails the listing with the reason and is asked again next time', async () => {
    emu.graph.registerApp('client-1', 'secret-1', 'tenant-1');
    const transport = fetchHttpPort();
    const tokenSource = clientCredentialsTokenSource({ http: transport, tenantId: 'tenant-1', clientId: 'client-1', clientSecret: 'secret-1', authority: emu.url });
    const baseUrl = `${emu.url}/v1.0`;
    const real = createGraphHttpPort({ tokenSource, baseUrl, transport });
    let denied = 0;
    const http: typeof real = async (req) => {
      if (req.url.includes('/mailboxSettings/') && denied++ === 0) {
        return { status: 403, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: { code: 'ErrorAccessDenied', message: 'Access is denied. Check credentials and try again.' } }) };
      }
      return real(req);
    };
    const p = new GraphCalendarProvider({ http, baseUrl });
    await expect(p.listOwned(ROOM, SYNC, WINDOW)).rejects.toThrow(/time zone of mailbox room-a@contoso.example.*HTTP 403/);
    await expect(p.listOwned(ROOM, SYNC, WINDOW)).resolves.toEqual([]);
  });
});
