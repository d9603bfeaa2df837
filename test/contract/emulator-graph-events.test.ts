/* eslint-disable @typescript-eslint/no-explicit-any -- contract tests read JSON responses loosely */
/**
 * Contract tests of the Graph emulator's calendar surface, driven by the real
 * @microsoft/microsoft-graph-client and raw HTTP: event CRUD, transactionId, mailboxes and rooms,
 * calendarView (window, paging, Prefer timezone, series expansion), delta, extended properties,
 * body validation and the error envelope.
 */
import { PageIterator, type GraphError } from '@microsoft/microsoft-graph-client';
import { event, resetFixture, startGraphFixture, type GraphFixture } from './emulator-graph-helpers';

let fx: GraphFixture;
const ALICE = 'alice@contoso.example';
const ROOM = 'room1@contoso.example';

beforeAll(async () => {
  fx = await startGraphFixture();
});
afterAll(async () => {
  await fx.emu.close();
});
beforeEach(() => {
  resetFixture(fx);
  fx.emu.graph.createMailbox(ALICE, { displayName: 'Alice' });
  fx.emu.graph.createMailbox(ROOM, { room: true, displayName: 'Room 1' });
});

async function graphError(p: Promise<unknown>): Promise<GraphError> {
  try {
    await p;
  } catch (e) {
    return e as GraphError;
  }
  throw new Error('expected the request to fail');
}

describe('events CRUD', () => {
  test('create, get, patch, delete through the real client; then 404 ErrorItemNotFound', async () => {
    const created = await fx.client.api(`/users/${ALICE}/events`).post(event('Standup', '2024-05-06T09:00:00', '2024-05-06T09:15:00', 'W. Europe Standard Time'));
    expect(created.id).toEqual(expect.any(String));
    expect(created.type).toBe('singleInstance');
    expect(created.start).toEqual({ dateTime: '2024-05-06T07:00:00.0000000', timeZone: 'UTC' });
    expect(created.originalStartTimeZone).toBe('W. Europe Standard Time');
    const got = await fx.client.api(`/users/${ALICE}/events/${created.id}`).get();
    expect(got.subject).toBe('Standup');
    const patched = await fx.client.api(`/users/${ALICE}/events/${created.id}`).patch({ subject: 'Daily' });
    expect(patched.subject).toBe('Daily');
    expect(patched.changeKey).not.toBe(created.changeKey);
    await fx.client.api(`/users/${ALICE}/events/${created.id}`).delete();
    const err = await graphError(fx.client.api(`/users/${ALICE}/events/${created.id}`).get());
    expect(err.statusCode).toBe(404);
    expect(err.code).toBe('ErrorItemNotFound');
  });

  test.each([
    ['events', () => `/v1.0/users/${ROOM}/events`],
    ['calendar/events', () => `/v1.0/users/${ROOM}/calendar/events`],
    ['calendars/{id}/events', (cal: string) => `/v1.0/users/${ROOM}/calendars/${cal}/events`],
  ])('room mailbox via %s (create + get by id, by UPN and object id)', async (_name, path) => {
    const { id: userId, defaultCalendarId } = fx.emu.graph.createMailbox(ROOM, { room: true });
    const res = await fx.raw('POST', path(defaultCalendarId), { body: event('Booked', '2024-05-06T10:00:00', '2024-05-06T11:00:00') });
    expect(res.status).toBe(201);
    const byId = await fx.raw('GET', `/v1.0/users/${userId}/events/${res.json.id}`);
    expect(byId.status).toBe(200);
    expect(byId.json.subject).toBe('Booked');
    expect(fx.emu.graph.listRaw(ROOM)).toHaveLength(1);
  });

  test('unknown calendar id → 404; unknown mailbox → 404 ErrorInvalidUser', async () => {
    const cal = await fx.raw('GET', `/v1.0/users/${ALICE}/calendars/nope/events`);
    expect(cal.status).toBe(404);
    const err = await graphError(fx.client.api('/users/nobody@contoso.example/events').get());
    expect(err.statusCode).toBe(404);
    expect(err.code).toBe('ErrorInvalidUser');
    expect(err.message).toBe("The requested user 'nobody@contoso.example' is invalid.");
  });

  test('transactionId: a retried POST returns the first event, no duplicate', async () => {
    const body = event('Once', '2024-05-06T09:00:00', '2024-05-06T10:00:00', 'UTC', { transactionId: 'txn-42' });
    const a = await fx.client.api(`/users/${ALICE}/events`).post(body);
    const b = await fx.client.api(`/users/${ALICE}/events`).post(body);
    const c = await fx.client.api(`/users/${ALICE}/events`).post({ ...body, transactionId: 'txn-43' });
    expect(b.id).toBe(a.id);
    expect(c.id).not.toBe(a.id);
    expect(a.transactionId).toBe('txn-42');
    expect(fx.emu.graph.listRaw(ALICE)).toHaveLength(2);
  });

  test('error envelope: code, message, innerError with date, request-id and echoed client-request-id', async () => {
    const res = await fx.raw('GET', `/v1.0/users/${ALICE}/events/AAMkADmissing`, { headers: { 'client-request-id': 'abc-123' } });
    expect(res.status).toBe(404);
    expect(res.json.error).toEqual({
      code: 'ErrorItemNotFound',
      message: expect.any(String),
      innerError: { date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/), 'request-id': expect.any(String), 'client-request-id': 'abc-123' },
    });
    expect(res.headers.get('request-id')).toBe(res.json.error.innerError['request-id']);
  });
});

describe('body validation against @microsoft/microsoft-graph-types Event', () => {
  test.each([
    [{ subjekt: 'x' }, 'subjekt: unknown field'],
    [{ start: { dateTime: 20240506, timeZone: 'UTC' } }, 'start.dateTime: must be a string'],
    [{ showAs: 'bussy' }, 'showAs: must be one of'],
    [{ attendees: [{ emailAddress: { adress: 'x@y' } }] }, 'attendees[0].emailAddress.adress: unknown field'],
    [{ id: 'mine' }, 'id: read-only'],
  ])('%j → 400 naming the field', async (extra, fragment) => {
    const res = await fx.raw('POST', `/v1.0/users/${ALICE}/events`, { body: { ...event('x', '2024-05-06T09:00:00', '2024-05-06T10:00:00'), ...extra } });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toContain(fragment);
    expect(fx.emu.graph.listRaw(ALICE)).toHaveLength(0);
  });

  test('unknown time zone → 400 TimeZoneNotSupportedException; IANA and Windows names both accepted', async () => {
    const bad = await fx.raw('POST', `/v1.0/users/${ALICE}/events`, { body: event('x', '2024-05-06T09:00:00', '2024-05-06T10:00:00', 'Mars/Olympus') });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('TimeZoneNotSupportedException');
    for (const tz of ['Europe/Berlin', 'W. Europe Standard Time']) {
      const ok = await fx.raw('POST', `/v1.0/users/${ALICE}/events`, { body: event('x', '2024-01-10T09:00:00', '2024-01-10T10:00:00', tz) });
      expect(ok.status).toBe(201);
      expect(ok.json.start.dateTime).toBe('2024-01-10T08:00:00.0000000');
      expect(ok.json.originalStartTimeZone).toBe(tz);
    }
  });
});

describe('calendarView', () => {
  const view = (q: string) => `/users/${ALICE}/calendarView?${q}`;

  test('both window parameters are required (400 ErrorInvalidParameter, the real message)', async () => {
    for (const q of ['', 'startDateTime=2024-01-01T00:00:00Z', 'endDateTime=2024-01-01T00:00:00Z']) {
      const res = await fx.raw('GET', `/v1.0${view(q)}`);
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe('ErrorInvalidParameter');
      expect(res.json.error.message).toBe('This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.');
    }
  });

  test('pages of 10 by default via @odata.nextLink (PageIterator of the real client), $top sets the page size', async () => {
    for (let i = 0; i < 23; i++) fx.emu.graph.seedEvent(ALICE, event(`e${i}`, `2024-05-${String(i + 1).padStart(2, '0')}T09:00:00`, `2024-05-${String(i + 1).padStart(2, '0')}T10:00:00`));
    const first = await fx.client.api(view('startDateTime=2024-05-01T00:00:00Z&endDateTime=2024-06-01T00:00:00Z')).get();
    expect(first.value).toHaveLength(10);
    expect(first['@odata.nextLink']).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/v1\.0\/users\//);
    const seen: string[] = [];
    await new PageIterator(fx.client, first, (e) => {
      seen.push(e.subject);
      return true;
    }).iterate();
    expect(seen).toEqual(Array.from({ length: 23 }, (_, i) => `e${i}`));
    const top = await fx.client.api(view('startDateTime=2024-05-01T00:00:00Z&endDateTime=2024-06-01T00:00:00Z&$top=20')).get();
    expect(top.value).toHaveLength(20);
    // The window is an overlap test: an event ending exactly at the window start is outside.
    const edge = await fx.client.api(view('startDateTime=2024-05-01T10:00:00Z&endDateTime=2024-05-02T09:00:00Z')).get();
    expect(edge.value).toHaveLength(0);
  });

  test('short and empty pages (page shaper) still carry nextLinks; following them yields everything once', async () => {
    for (let i = 0; i < 23; i++) fx.emu.graph.seedEvent(ALICE, event(`e${i}`, `2024-05-${String(i + 1).padStart(2, '0')}T09:00:00`, `2024-05-${String(i + 1).padStart(2, '0')}T10:00:00`));
    const window = 'startDateTime=2024-05-01T00:00:00Z&endDateTime=2024-06-01T00:00:00Z';
    fx.emu.graph.setPageShaper((_size, page) => (page === 0 ? 0 : 4));
    const sizes = async (url: string, headers: Record<string, string> = {}) => {
      const out: number[] = [];
      const subjects: string[] = [];
      for (;;) {
        const r = await fx.raw('GET', url, { headers });
        expect(r.status).toBe(200);
        out.push(r.json.value.length);
        subjects.push(...r.json.value.map((e: any) => e.subject));
        if (!r.json['@odata.nextLink']) return { out, subjects };
        url = r.json['@odata.nextLink'];
      }
    };
    const view = await sizes(`/v1.0/users/${ALICE}/calendarView?${window}`);
    expect(view.out).toEqual([0, 4, 4, 4, 4, 4, 3]);
    expect(view.subjects).toEqual(Array.from({ length: 23 }, (_, i) => `e${i}`));
    const list = await sizes(`/v1.0/users/${ALICE}/events?$top=10`);
    expect(list.out[0]).toBe(0);
    expect(new Set(list.subjects).size).toBe(23);
    const delta = await sizes(`/v1.0/users/${ALICE}/calendarView/delta?${window}`);
    expect(delta.out).toEqual([0, 4, 4, 4, 4, 4, 3]);
    // Seeded random pages through the real client's PageIterator.
    fx.emu.graph.randomShortPages(5);
    const first = await fx.client.api(`/users/${ALICE}/calendarView?${window}`).get();
    const seen: string[] = [];
    await new PageIterator(fx.client, first, (e) => {
      seen.push(e.subject);
      return true;
    }).iterate();
    expect(seen).toEqual(Array.from({ length: 23 }, (_, i) => `e${i}`));
  });

  test.each([
    ['(none)', undefined, '2024-01-10T08:00:00.0000000', 'UTC'],
    ['Windows name', 'Pacific Standard Time', '2024-01-10T00:00:00.0000000', 'Pacific Standard Time'],
    ['IANA name', 'Asia/Tokyo', '2024-01-10T17:00:00.0000000', 'Asia/Tokyo'],
  ])('Prefer: outlook.timezone %s → start rendered in that zone', async (_n, zone, dateTime, timeZone) => {
    fx.emu.graph.seedEvent(ALICE, event('tz', '2024-01-10T09:00:00', '2024-01-10T10:00:00', 'W. Europe Standard Time'));
    const req = fx.client.api(view('startDateTime=2024-01-10T00:00:00Z&endDateTime=2024-01-11T00:00:00Z'));
    if (zone) req.header('Prefer', `outlook.timezone="${zone}"`);
    const res = await req.get();
    expect(res.value[0].start).toEqual({ dateTime, timeZone });
  });

  const series = (pattern: Record<string, unknown>, range: Record<string, unknown>, start = '2024-01-01') =>
    event('series', `${start}T09:00:00`, `${start}T10:00:00`, 'UTC', { recurrence: { pattern, range: { recurrenceTimeZone: 'UTC', ...range } } });

  test.each([
    ['daily every 2nd day, numbered', { type: 'daily', interval: 2 }, { type: 'numbered', startDate: '2024-03-01', numberOfOccurrences: 4 }, '2024-03-01',
      ['2024-03-01', '2024-03-03', '2024-03-05', '2024-03-07']],
    ['weekly mon+wed until endDate', { type: 'weekly', interval: 1, daysOfWeek: ['monday', 'wednesday'] }, { type: 'endDate', startDate: '2024-03-04', endDate: '2024-03-13' }, '2024-03-04',
      ['2024-03-04', '2024-03-06', '2024-03-11', '2024-03-13']],
    ['bi-weekly sun+mon, weeks start monday', { type: 'weekly', interval: 2, daysOfWeek: ['sunday', 'monday'], firstDayOfWeek: 'monday' }, { type: 'numbered', startDate: '2024-03-04', numberOfOccurrences: 4 }, '2024-03-04',
      ['2024-03-04', '2024-03-10', '2024-03-18', '2024-03-24']],
    ['bi-weekly sun+mon, weeks start sunday', { type: 'weekly', interval: 2, daysOfWeek: ['sunday', 'monday'], firstDayOfWeek: 'sunday' }, { type: 'numbered', startDate: '2024-03-04', numberOfOccurrences: 4 }, '2024-03-04',
      ['2024-03-04', '2024-03-17', '2024-03-18', '2024-03-31']],
    ['absoluteMonthly day 31 falls on month end', { type: 'absoluteMonthly', interval: 1, dayOfMonth: 31 }, { type: 'numbered', startDate: '2024-01-31', numberOfOccurrences: 4 }, '2024-01-31',
      ['2024-01-31', '2024-02-29', '2024-03-31', '2024-04-30']],
    ['relativeMonthly second tuesday', { type: 'relativeMonthly', interval: 1, daysOfWeek: ['tuesday'], index: 'second' }, { type: 'numbered', startDate: '2024-01-01', numberOfOccurrences: 3 }, '2024-01-09',
      ['2024-01-09', '2024-02-13', '2024-03-12']],
    ['relativeMonthly last friday', { type: 'relativeMonthly', interval: 1, daysOfWeek: ['friday'], index: 'last' }, { type: 'numbered', startDate: '2024-01-01', numberOfOccurrences: 3 }, '2024-01-26',
      ['2024-01-26', '2024-02-23', '2024-03-29']],
    ['absoluteYearly Feb 29', { type: 'absoluteYearly', interval: 1, month: 2, dayOfMonth: 29 }, { type: 'numbered', startDate: '2024-02-29', numberOfOccurrences: 3 }, '2024-02-29',
      ['2024-02-29', '2025-02-28', '2026-02-28']],
    ['relativeYearly first monday of September', { type: 'relativeYearly', interval: 1, month: 9, daysOfWeek: ['monday'], index: 'first' }, { type: 'numbered', startDate: '2024-01-01', numberOfOccurrences: 2 }, '2024-09-02',
      ['2024-09-02', '2025-09-01']],
    ['noEnd daily, cut by the window', { type: 'daily', interval: 1 }, { type: 'noEnd', startDate: '2026-12-29' }, '2026-12-29',
      ['2026-12-29', '2026-12-30', '2026-12-31']],
  ])('series expansion: %s', async (_name, pattern, range, start, expected) => {
    const master = fx.emu.graph.seedEvent(ALICE, series(pattern, range, start));
    const res = await fx.client.api(view('startDateTime=2024-01-01T00:00:00Z&endDateTime=2027-01-01T00:00:00Z&$top=100')).get();
    expect(res.value.map((e: any) => e.start.dateTime.slice(0, 10))).toEqual(expected);
    for (const occ of res.value) {
      expect(occ.type).toBe('occurrence');
      expect(occ.seriesMasterId).toBe(master.id);
      expect(occ.originalStart).toBe(`${occ.start.dateTime.slice(0, 19)}Z`);
      expect(occ.iCalUId).not.toBe(master.iCalUId);
    }
    expect(new Set(res.value.map((e: any) => e.iCalUId)).size).toBe(expected.length);
  });

  test('a zoned series keeps its wall-clock time across DST (09:00 Berlin = 08:00Z, then 07:00Z)', async () => {
    fx.emu.graph.seedEvent(ALICE, event('weekly', '2024-03-25T09:00:00', '2024-03-25T09:30:00', 'W. Europe Standard Time', {
      recurrence: { pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday'] }, range: { type: 'numbered', startDate: '2024-03-25', numberOfOccurrences: 2 } },
    }));
    const res = await fx.client.api(view('startDateTime=2024-03-01T00:00:00Z&endDateTime=2024-05-01T00:00:00Z')).get();
    expect(res.value.map((e: any) => e.start.dateTime)).toEqual(['2024-03-25T08:00:00.0000000', '2024-04-01T07:00:00.0000000']);
  });

  test('patching an occurrence makes an exception; deleting one removes it; the master is not listed', async () => {
    const master = fx.emu.graph.seedEvent(ALICE, series({ type: 'daily', interval: 1 }, { type: 'numbered', startDate: '2024-01-01', numberOfOccurrences: 3 }));
    const window = view('startDateTime=2024-01-01T00:00:00Z&endDateTime=2024-01-05T00:00:00Z');
    const before = (await fx.client.api(window).get()).value;
    expect(before).toHaveLength(3);
    await fx.client.api(`/users/${ALICE}/events/${before[1].id}`).patch({ subject: 'moved', start: { dateTime: '2024-01-02T15:00:00', timeZone: 'UTC' }, end: { dateTime: '2024-01-02T16:00:00', timeZone: 'UTC' } });
    await fx.client.api(`/users/${ALICE}/events/${before[2].id}`).delete();
    const after = (await fx.client.api(window).get()).value;
    expect(after.map((e: any) => [e.type, e.subject, e.start.dateTime])).toEqual([
      ['occurrence', 'series', '2024-01-01T09:00:00.0000000'],
      ['exception', 'moved', '2024-01-02T15:00:00.0000000'],
    ]);
    expect(after[1].originalStart).toBe('2024-01-02T09:00:00Z');
    expect(after[1].seriesMasterId).toBe(master.id);
    const raw = fx.emu.graph.listRaw(ALICE)[0];
    expect(raw.cancelled).toEqual(['2024-01-03T09:00:00Z']);
    // /events lists the master only.
    const list = await fx.client.api(`/users/${ALICE}/events`).get();
    expect(list.value.map((e: any) => e.type)).toEqual(['seriesMaster']);
  });

  test('/events/{id}/instances: one series in the window, a deleted occurrence simply absent; paged; masters only', async () => {
    const master = fx.emu.graph.seedEvent(ALICE, series({ type: 'weekly', interval: 1, daysOfWeek: ['monday', 'wednesday'] }, { type: 'noEnd', startDate: '2024-01-01' }, '2024-01-01'));
    fx.emu.graph.seedEvent(ALICE, event('single', '2024-01-02T10:00:00', '2024-01-02T11:00:00'));
    const path = (q: string) => `/users/${ALICE}/events/${master.id}/instances?startDateTime=2024-01-01T00:00:00Z&endDateTime=2024-01-15T00:00:00Z${q}`;
    const before = (await fx.client.api(path('')).get()).value;
    // Mondays and Wednesdays of two weeks, by hand: 1, 3, 8, 10 January.
    expect(before.map((e: any) => [e.type, e.originalStart])).toEqual([
      ['occurrence', '2024-01-01T09:00:00Z'], ['occurrence', '2024-01-03T09:00:00Z'], ['occurrence', '2024-01-08T09:00:00Z'], ['occurrence', '2024-01-10T09:00:00Z'],
    ]);
    expect(before.every((e: any) => e.seriesMasterId === master.id)).toBe(true);
    await fx.client.api(`/users/${ALICE}/events/${before[2].id}`).delete();
    const after = (await fx.client.api(path('&$select=id,originalStart,type')).get()).value;
    expect(after.map((e: any) => e.originalStart)).toEqual(['2024-01-01T09:00:00Z', '2024-01-03T09:00:00Z', '2024-01-10T09:00:00Z']);
    expect(Object.keys(after[0]).sort()).toEqual(['@odata.etag', 'id', 'originalStart', 'type']);
    const page = await fx.raw('GET', `/v1.0${path('&$top=2')}`);
    expect(page.json.value).toHaveLength(2);
    expect((await fx.raw('GET', page.json['@odata.nextLink'])).json.value.map((e: any) => e.originalStart)).toEqual(['2024-01-10T09:00:00Z']);
    const single = fx.emu.graph.listRaw(ALICE).find((e: any) => e.fields.subject === 'single')!;
    expect((await fx.raw('GET', `/v1.0/users/${ALICE}/events/${single.id}/instances?startDateTime=2024-01-01T00:00:00Z&endDateTime=2024-01-15T00:00:00Z`)).status).toBe(400);
    expect((await fx.raw('GET', `/v1.0/users/${ALICE}/events/${master.id}/instances`)).json.error.code).toBe('ErrorInvalidParameter');
  });

  test('invalid recurrence → 400 naming the field', async () => {
    const res = await fx.raw('POST', `/v1.0/users/${ALICE}/events`, { body: series({ type: 'weekly', interval: 1 }, { type: 'noEnd', startDate: '2024-01-01' }) });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toContain('recurrence.pattern.daysOfWeek');
  });
});

describe('calendarView/delta', () => {
  const startDelta = `/users/${ALICE}/calendarView/delta?startDateTime=2024-06-01T00:00:00Z&endDateTime=2024-07-01T00:00:00Z`;

  async function drain(url: string): Promise<{ items: any[]; deltaLink: string; pages: number }> {
    const items: any[] = [];
    let pages = 0;
    for (;;) {
      const res = await fx.client.api(url).get();
      pages++;
      items.push(...res.value);
      expect(res['@odata.nextLink'] && res['@odata.deltaLink']).toBeFalsy();
      if (res['@odata.deltaLink']) return { items, deltaLink: res['@odata.deltaLink'], pages };
      url = res['@odata.nextLink'];
    }
  }

  test('initial round pages to a deltaLink; later calls return only changes, deletions as @removed; replays allowed', async () => {
    const ids: string[] = [];
    for (let d = 1; d <= 12; d++) ids.push(fx.emu.graph.seedEvent(ALICE, event(`d${d}`, `2024-06-${String(d).padStart(2, '0')}T09:00:00`, `2024-06-${String(d).padStart(2, '0')}T10:00:00`)).id as string);
    const initial = await drain(startDelta);
    expect(initial.pages).toBe(2);
    expect(initial.items).toHaveLength(12);

    const empty = await drain(initial.deltaLink);
    expect(empty.items).toEqual([]);

    await fx.client.api(`/users/${ALICE}/events/${ids[0]}`).patch({ subject: 'changed' });
    await fx.client.api(`/users/${ALICE}/events/${ids[1]}`).delete();
    const added = await fx.client.api(`/users/${ALICE}/events`).post(event('new', '2024-06-20T09:00:00', '2024-06-20T10:00:00'));
    fx.emu.graph.seedEvent(ALICE, event('outside window', '2024-08-01T09:00:00', '2024-08-01T10:00:00'));

    const changes = await drain(initial.deltaLink);
    const summary = changes.items.map((i) => (i['@removed'] ? `removed:${i.id}` : `${i.id === added.id ? 'added' : i.id === ids[0] ? 'changed' : 'other'}:${i.subject}`)).sort();
    expect(summary).toEqual(['added:new', 'changed:changed', `removed:${ids[1]}`].sort());
    expect(changes.items.find((i) => i['@removed'])['@removed']).toEqual({ reason: 'deleted' });

    const replay = await drain(initial.deltaLink);
    expect(replay.items.map((i) => i.id).sort()).toEqual(changes.items.map((i) => i.id).sort());
    const next = await drain(changes.deltaLink);
    expect(next.items).toEqual([]);
  });

  test('a delta token belongs to its calendar: used on another calendar → 410', async () => {
    fx.emu.graph.seedEvent(ALICE, event('x', '2024-06-02T09:00:00', '2024-06-02T10:00:00'));
    const other = fx.emu.graph.addCalendar(ALICE, 'Other');
    const { deltaLink } = await drain(startDelta);
    const token = new URL(deltaLink).searchParams.get('$deltatoken')!;
    const res = await fx.raw('GET', `/v1.0/users/${ALICE}/calendars/${other}/calendarView/delta?$deltatoken=${encodeURIComponent(token)}`);
    expect(res.status).toBe(410);
    expect(res.json.error.code).toBe('SyncStateNotFound');
    expect((await fx.raw('GET', deltaLink)).status).toBe(200);
  });

  test('delta state is bounded per calendar: older tokens expire (410) once newer rounds replace them', async () => {
    fx.emu.graph.setDeltaStateLimit(2);
    fx.emu.graph.seedEvent(ALICE, event('x', '2024-06-02T09:00:00', '2024-06-02T10:00:00'));
    const links = [(await drain(startDelta)).deltaLink];
    for (let i = 0; i < 4; i++) links.push((await drain(links[links.length - 1])).deltaLink);
    expect((await fx.raw('GET', links[0])).status).toBe(410);
    expect((await fx.raw('GET', links[2])).status).toBe(410);
    // The two newest states are alive (the GETs above made no new state: they failed).
    expect(fx.emu.graph.expireDeltaTokens(ALICE)).toBe(2);
  });

  test('delta pages by Prefer: odata.maxpagesize; $top and $select → 400', async () => {
    for (let d = 1; d <= 12; d++) fx.emu.graph.seedEvent(ALICE, event(`d${d}`, `2024-06-${String(d).padStart(2, '0')}T09:00:00`, `2024-06-${String(d).padStart(2, '0')}T10:00:00`));
    const sizes: number[] = [];
    let url = `/v1.0${startDelta}`;
    for (;;) {
      const r = await fx.raw('GET', url, { headers: { Prefer: 'odata.maxpagesize=5' } });
      expect(r.status).toBe(200);
      expect(r.headers.get('preference-applied')).toBe('odata.maxpagesize=5');
      sizes.push(r.json.value.length);
      if (r.json['@odata.deltaLink']) break;
      url = r.json['@odata.nextLink'];
    }
    expect(sizes).toEqual([5, 5, 2]);
    for (const q of ['$top=5', '$select=subject']) {
      const bad = await fx.raw('GET', `/v1.0${startDelta}&${q}`);
      expect(bad.status).toBe(400);
      expect(bad.json.error.message).toMatch(/odata\.maxpagesize/);
    }
  });

  test('expired sync state → 410 SyncStateNotFound', async () => {
    fx.emu.graph.seedEvent(ALICE, event('x', '2024-06-02T09:00:00', '2024-06-02T10:00:00'));
    const { deltaLink } = await drain(startDelta);
    expect(fx.emu.graph.expireDeltaTokens(ALICE)).toBeGreaterThan(0);
    const res = await fx.raw('GET', deltaLink);
    expect(res.status).toBe(410);
    expect(res.json.error.code).toBe('SyncStateNotFound');
  });
});

describe('singleValueExtendedProperties', () => {
  const PROP = 'String {66f5a359-4659-4830-9070-00047ec6ac6e} Name relaySourceKey';
  const OTHER = 'String {66f5a359-4659-4830-9070-00047ec6ac6e} Name relayFingerprint';

  beforeEach(() => {
    for (const [k, subject] of [['uid-1', 'one'], ['uid-2', 'two']]) {
      fx.emu.graph.seedEvent(ALICE, event(subject, '2024-06-03T09:00:00', '2024-06-03T10:00:00', 'UTC', {
        singleValueExtendedProperties: [{ id: PROP, value: k }, { id: OTHER, value: `fp-${k}` }],
      }));
    }
    fx.emu.graph.seedEvent(ALICE, event('plain', '2024-06-03T11:00:00', '2024-06-03T12:00:00'));
  });

  test('not returned unless expanded; $expand with $filter returns just the asked-for property', async () => {
    const list = await fx.client.api(`/users/${ALICE}/events`).get();
    expect(list.value.every((e: any) => e.singleValueExtendedProperties === undefined)).toBe(true);
    const one = list.value.find((e: any) => e.subject === 'one');
    const got = await fx.client.api(`/users/${ALICE}/events/${one.id}`).expand(`singleValueExtendedProperties($filter=id eq '${PROP}')`).get();
    expect(got.singleValueExtendedProperties).toEqual([{ id: PROP, value: 'uid-1' }]);
    const view = await fx.client.api(`/users/${ALICE}/calendarView?startDateTime=2024-06-03T00:00:00Z&endDateTime=2024-06-04T00:00:00Z`)
      .expand(`singleValueExtendedProperties($filter=id eq '${OTHER}')`).get();
    const bySubject = Object.fromEntries(view.value.map((e: any) => [e.subject, e.singleValueExtendedProperties ?? null]));
    expect(bySubject).toEqual({ one: [{ id: OTHER, value: 'fp-uid-1' }], two: [{ id: OTHER, value: 'fp-uid-2' }], plain: null });
  });

  test('$filter=singleValueExtendedProperties/Any(...) on /events matches id and value', async () => {
    const res = await fx.client.api(`/users/${ALICE}/events`)
      .filter(`singleValueExtendedProperties/Any(ep: ep/id eq '${PROP}' and ep/value eq 'uid-2')`).get();
    expect(res.value.map((e: any) => e.subject)).toEqual(['two']);
    const byId = await fx.client.api(`/users/${ALICE}/events`).filter(`singleValueExtendedProperties/any(x: x/id eq '${PROP}')`).get();
    expect(byId.value.map((e: any) => e.subject).sort()).toEqual(['one', 'two']);
  });

  test.each([
    // [filter, subjects] — "one"/"two" 09:00–10:00Z and "plain" 11:00–12:00Z on 2024-06-03, "weekly" a series from 2024-05-06 09:00Z
    [`end/dateTime ge '2024-06-03T11:30:00Z'`, ['plain']],
    [`end/dateTime ge '2024-06-03T10:00:00'`, ['one', 'plain', 'two']],
    [`end/dateTime gt '2024-06-03T10:00:00Z'`, ['plain']],
    [`start/dateTime lt '2024-06-03T09:00:00Z'`, ['weekly']],
    [`type eq 'seriesMaster'`, ['weekly']],
    [`singleValueExtendedProperties/Any(ep: ep/id eq '${PROP}') and end/dateTime ge '2024-06-03T00:00:00Z'`, ['one', 'two']],
    [`singleValueExtendedProperties/Any(ep: ep/id eq '${PROP}') and (end/dateTime ge '2024-06-04T00:00:00Z' or type eq 'seriesMaster')`, ['weekly']],
    [`(type eq 'seriesMaster' or end/dateTime le '2024-06-03T10:00:00Z') and singleValueExtendedProperties/Any(ep: ep/id eq '${OTHER}' and ep/value eq 'fp-uid-1')`, ['one']],
  ])('$filter %s (a master compares its first occurrence, as Graph does)', async (filter, subjects) => {
    fx.emu.graph.seedEvent(ALICE, event('weekly', '2024-05-06T09:00:00', '2024-05-06T10:00:00', 'UTC', {
      recurrence: { pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday'], firstDayOfWeek: 'monday' }, range: { type: 'noEnd', startDate: '2024-05-06' } },
      singleValueExtendedProperties: [{ id: PROP, value: 'uid-w' }],
    }));
    const res = await fx.raw('GET', `/v1.0/users/${ALICE}/events?$filter=${encodeURIComponent(filter)}`);
    expect(res.status).toBe(200);
    expect(res.json.value.map((e: any) => e.subject).sort()).toEqual(subjects);
  });

  test.each([
    `end/dateTime ge 'tomorrow'`,
    `type eq 'occurrence'`,
    `end/dateTime ge '2024-06-03T00:00:00Z' and`,
    `(type eq 'seriesMaster'`,
  ])('malformed $filter %s → 400 naming the clause', async (filter) => {
    const res = await fx.raw('GET', `/v1.0/users/${ALICE}/events?$filter=${encodeURIComponent(filter)}`);
    expect(res.status).toBe(400);
    expect(res.json.error.message).toMatch(/filter/i);
  });

  test('patch merges properties by id', async () => {
    const one = (await fx.client.api(`/users/${ALICE}/events`).filter(`singleValueExtendedProperties/Any(ep: ep/id eq '${PROP}' and ep/value eq 'uid-1')`).get()).value[0];
    await fx.client.api(`/users/${ALICE}/events/${one.id}`).patch({ singleValueExtendedProperties: [{ id: OTHER, value: 'fp-new' }] });
    const raw = fx.emu.graph.listRaw(ALICE).find((e) => e.id === one.id)!;
    expect(raw.singleValueExtendedProperties).toEqual([{ id: PROP, value: 'uid-1' }, { id: OTHER, value: 'fp-new' }]);
  });

  test.each([
    ['$filter', `singleValueExtendedProperties/Any(ep: ep/value eq 'x')`],
    ['$filter', `subject eq 'one'`],
    ['$expand', 'attachments'],
    ['$search', '"one"'],
  ])('unsupported %s=%s → 400 with a clear message', async (opt, value) => {
    const res = await fx.raw('GET', `/v1.0/users/${ALICE}/events?${opt}=${encodeURIComponent(value)}`);
    expect(res.status).toBe(400);
    expect(res.json.error.message).toMatch(/emulator/);
  });
});

describe('mailboxSettings', () => {
  test('timeZone: "UTC" by default, then as the admin set it (Windows or IANA, verbatim); the whole settings object', async () => {
    const first = await fx.client.api(`/users/${ROOM}/mailboxSettings/timeZone`).get();
    expect(first.value).toBe('UTC');
    expect(first['@odata.context']).toMatch(/mailboxSettings\/timeZone$/);
    fx.emu.graph.setMailboxTimeZone(ROOM, 'W. Europe Standard Time');
    fx.emu.graph.setMailboxTimeZone(ALICE, 'America/New_York');
    expect((await fx.client.api(`/users/${ROOM}/mailboxSettings/timeZone`).get()).value).toBe('W. Europe Standard Time');
    const all = await fx.client.api(`/users/${ALICE}/mailboxSettings`).get();
    expect(all).toMatchObject({ timeZone: 'America/New_York', userPurpose: 'user', workingHours: { timeZone: { name: 'America/New_York' } } });
    expect((await fx.client.api(`/users/${ROOM}/mailboxSettings`).get()).userPurpose).toBe('room');
    expect(() => fx.emu.graph.setMailboxTimeZone(ROOM, 'Mars/Olympus')).toThrow(/neither a Windows nor an IANA/);
  });

  test('setDefaultMailboxTimeZone applies to mailboxes created afterwards; reset restores UTC', async () => {
    fx.emu.graph.setDefaultMailboxTimeZone('Tokyo Standard Time');
    fx.emu.graph.createMailbox('late@contoso.example');
    expect((await fx.raw('GET', '/v1.0/users/late@contoso.example/mailboxSettings/timeZone')).json.value).toBe('Tokyo Standard Time');
    expect((await fx.raw('GET', `/v1.0/users/${ALICE}/mailboxSettings/timeZone`)).json.value).toBe('UTC');
  });

  test('PATCH timeZone (validated); other settings, unknown mailbox and wrong methods answered like Graph', async () => {
    const patched = await fx.raw('PATCH', `/v1.0/users/${ALICE}/mailboxSettings`, { body: { timeZone: 'Europe/Berlin' } });
    expect(patched.status).toBe(200);
    expect(patched.json.timeZone).toBe('Europe/Berlin');
    expect((await fx.raw('PATCH', `/v1.0/users/${ALICE}/mailboxSettings`, { body: { timeZone: 'Nowhere/Land' } })).json.error.code).toBe('TimeZoneNotSupportedException');
    expect((await fx.raw('PATCH', `/v1.0/users/${ALICE}/mailboxSettings`, { body: { dateFormat: 'yyyy' } })).status).toBe(400);
    expect((await fx.raw('GET', '/v1.0/users/ghost@contoso.example/mailboxSettings/timeZone')).json.error.code).toBe('ErrorInvalidUser');
    expect((await fx.raw('DELETE', `/v1.0/users/${ALICE}/mailboxSettings/timeZone`)).status).toBe(405);
    expect(fx.emu.log.count({ api: 'graph', kind: 'mailboxSettings' })).toBe(5);
  });
});

describe('places', () => {
  test('rooms: 100 per page with nextLink; room lists list their rooms', async () => {
    for (let i = 0; i < 150; i++) fx.emu.graph.addRoom({ email: `r${String(i).padStart(3, '0')}@contoso.example`, displayName: `R${i}`, capacity: i % 12, building: 'B1' });
    fx.emu.graph.addRoomList('building1@contoso.example', 'Building 1', ['r000@contoso.example', 'r001@contoso.example']);
    const first = await fx.client.api('/places/microsoft.graph.room').get();
    expect(first.value).toHaveLength(100);
    const second = await fx.client.api(first['@odata.nextLink']).get();
    // room1@ (from createMailbox with room: true) plus 150 added rooms
    expect(second.value).toHaveLength(51);
    expect(second['@odata.nextLink']).toBeUndefined();
    expect(first.value[0]).toMatchObject({ '@odata.type': '#microsoft.graph.room', emailAddress: 'r000@contoso.example', displayName: 'R0', capacity: 0, building: 'B1' });
    const inList = await fx.client.api('/places/building1@contoso.example/microsoft.graph.roomlist/rooms').get();
    expect(inList.value.map((r: any) => r.emailAddress)).toEqual(['r000@contoso.example', 'r001@contoso.example']);
    // A room is a mailbox: its calendar is reachable at /users/{roomEmail}.
    const ev = await fx.raw('POST', '/v1.0/users/r001@contoso.example/events', { body: event('x', '2024-05-06T09:00:00', '2024-05-06T10:00:00') });
    expect(ev.status).toBe(201);
  });
});
