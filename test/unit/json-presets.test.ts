import * as fs from 'fs';
import * as path from 'path';
import fc from 'fast-check';
import { RRule } from 'rrule';
import type { CalendarEvent, ParseResult } from '../../core/event';
import { checkRrule, htmlToText, parseJsonEvents, parseJsonTime, resolvePath } from '../../core/json';
import { resolveZoneName } from '../../core/json/mapping';
import { parseCalendarInput } from '../../core/input';

const FEEDS = path.join(__dirname, '../fixtures/feeds');
const JSON_FIXTURES = path.join(__dirname, '../fixtures/json');
const load = (dir: string, name: string): unknown => JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'));
const byUid = (r: ParseResult, uid: string): CalendarEvent => {
  const e = r.events.find((x) => x.uid === uid);
  if (!e) throw new Error(`no event ${uid} in ${r.events.map((x) => x.uid).join(', ')}`);
  return e;
};

describe('parseJsonTime', () => {
  const berlin = { zone: resolveZoneName('Europe/Berlin') };
  test.each([
    // [value, context, expected]
    ['2026-11-23', {}, { date: '2026-11-23' }],
    ['2026-11-23T09:00:00Z', {}, { dateTime: '2026-11-23T09:00:00Z' }],
    ['2026-11-23T09:00:00.250Z', {}, { dateTime: '2026-11-23T09:00:00Z' }],
    ['2026-11-23T10:00:00+01:00', {}, { dateTime: '2026-11-23T09:00:00Z' }],
    ['2026-11-23T10:00+0100', {}, { dateTime: '2026-11-23T09:00:00Z' }],
    ['2026-11-23 04:00:00-05', {}, { dateTime: '2026-11-23T09:00:00Z' }],
    // with the item's zone, an instant is shown on that zone's wall clock
    ['2026-11-23T08:00:00Z', berlin, { dateTime: '2026-11-23T09:00:00', timeZone: 'Europe/Berlin' }],
    ['2026-07-01T08:00:00Z', berlin, { dateTime: '2026-07-01T10:00:00', timeZone: 'Europe/Berlin' }],
    // naive: item zone, else default zone, else floating
    ['2026-11-23T09:00:00', berlin, { dateTime: '2026-11-23T09:00:00', timeZone: 'Europe/Berlin' }],
    ['2026-11-23T09:00', { defaultZone: resolveZoneName('america/new_york') }, { dateTime: '2026-11-23T09:00:00', timeZone: 'America/New_York' }],
    ['2026-11-23T09:00:00', {}, { dateTime: '2026-11-23T09:00:00' }],
    ['2026-11-23T09:00:00', { zone: resolveZoneName('UTC') }, { dateTime: '2026-11-23T09:00:00Z' }],
    // a wall time in the spring-forward gap is normalised to the instant it denotes
    ['2027-03-28T02:30:00', berlin, { dateTime: '2027-03-28T03:30:00', timeZone: 'Europe/Berlin' }],
    // unix seconds, milliseconds, digit strings
    [1795420800, {}, { dateTime: '2026-11-23T08:00:00Z' }],
    [1795420800000, {}, { dateTime: '2026-11-23T08:00:00Z' }],
    ['1795420800', berlin, { dateTime: '2026-11-23T09:00:00', timeZone: 'Europe/Berlin' }],
    // basic ISO
    ['20261123T090000Z', {}, { dateTime: '2026-11-23T09:00:00Z' }],
  ] as Array<[unknown, object, object]>)('%j %j', (value, ctx, expected) => {
    const r = parseJsonTime(value, ctx);
    expect(r).toEqual({ time: expected });
  });

  test('an unknown zone is a warning and the wall time is read as UTC', () => {
    const r = parseJsonTime('2026-11-23T09:00:00', { zone: resolveZoneName('Mars/Olympus') });
    expect(r).toEqual({ time: { dateTime: '2026-11-23T09:00:00Z' }, warning: expect.stringContaining('Mars/Olympus') });
  });

  test.each([['2026-02-30'], ['2026-13-01T00:00:00'], ['next tuesday'], [null], [{}], [true], [NaN]])('rejects %j', (v) => {
    expect(parseJsonTime(v, {})).toEqual({ error: expect.any(String) });
  });

  test('unix seconds round-trip through UTC (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_000_000_000 }), (s) => {
        const r = parseJsonTime(s, {});
        expect('time' in r && r.time.dateTime).toBe(new Date(s * 1000).toISOString().replace(/\.000Z$/, 'Z'));
      }),
    );
  });
});

describe('resolvePath', () => {
  const item = { a: { b: [{ id: 1, name: 'x' }, { id: 2 }] }, empty: '', n: 0 };
  test.each([
    ['a.b.0.id', 1],
    ['a.b.*.id', [1, 2]],
    ['a.b.*.name', ['x']],
    ['missing|a.b.1.id', 2],
    ['empty|n', 0],
    ['nope', undefined],
  ])('%s', (p, expected) => {
    expect(resolvePath(item, p).value).toEqual(expected);
  });
});

describe('caldn preset', () => {
  test('the documented GET /event/:prokey response (seed example)', () => {
    const r = parseJsonEvents(load(JSON_FIXTURES, 'caldn-seed-example.json'), 'caldn', { prokey: 'pk1' });
    expect(r.errors).toEqual([]);
    expect(r.events.map((e) => [e.uid, e.title, e.start, e.end])).toEqual([
      ['pk1-0', 'Termin 1', { date: '2024-11-14' }, { date: '2024-11-15' }],
      ['pk1-1', 'Termin 2', { date: '2024-11-15' }, { date: '2024-11-16' }],
    ]);
    const [first] = r.events;
    expect(first.sequence).toBe(10);
    expect(first.created).toBe('2024-11-01T12:57:25Z');
    expect(first.lastModified).toBe('2024-11-02T18:20:56Z');
    expect(first.description).toBe('Eine kurze Beschreibung.');
    expect(first.xProps).toContainEqual({ name: 'X-ALT-DESC', params: { FMTTYPE: 'text/html' }, value: '<p>Eine kurze Beschreibung.</p>' });
    expect(first.location).toBe('Nirgends');
    expect(first.organizer).toBeUndefined(); // empty strings are "no organizer"
    expect(first.url).toBe('https://caldn.net/pk1');
  });

  test('without any prokey the uid is derived, stable, and says so', () => {
    const input = load(JSON_FIXTURES, 'caldn-seed-example.json');
    const a = parseJsonEvents(input, 'caldn');
    const b = parseJsonEvents(JSON.parse(JSON.stringify(input)), 'caldn');
    expect(a.events[0].uid).toMatch(/^caldn-[0-9a-f]{16}-0$/);
    expect(a.events.map((e) => e.uid)).toEqual(b.events.map((e) => e.uid));
    expect(a.events[0].warnings?.join()).toMatch(/prokey/);
    expect(a.events[0].url).toBeUndefined();
  });

  test('the sample feed: several dates, a simplified recurrence, an all-day range, a raw RRULE', () => {
    const r = parseJsonEvents(load(FEEDS, 'caldn.json'), 'caldn', { sourceId: 'caldn-demo' });
    expect(r.errors).toEqual([]);
    expect(r.events.map((e) => e.uid)).toEqual([
      '7f3c2a10-5b1e-4e2b-9c55-0a1b2c3d4e01-0', '7f3c2a10-5b1e-4e2b-9c55-0a1b2c3d4e01-1', '7f3c2a10-5b1e-4e2b-9c55-0a1b2c3d4e01-2',
      '99ec3e7f-ef04-4bbb-a3d7-e30736fa0002', '2b8d7c11-0c3a-4f7e-8d21-5e6f7a8b9c03', '5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b04',
    ]);
    for (const e of r.events) expect(e.sourceId).toBe('caldn-demo');
    const part1 = r.events[0];
    expect(part1.start).toEqual({ dateTime: '2026-11-24T09:00:00', timeZone: 'Europe/Berlin' });
    expect(part1.end).toEqual({ dateTime: '2026-11-24T12:30:00', timeZone: 'Europe/Berlin' });
    expect(part1.status).toBe('CONFIRMED');
    expect(part1.transparency).toBe('OPAQUE');
    expect(part1.organizer).toEqual({ name: 'Dr. Jana Weber', email: 'jana.weber@klinik.example' });
    expect(part1.attendees).toEqual([{ name: 'Skills Lab 2.14', email: 'skillslab-214@klinik.example' }]);
    expect(part1.description).toBe('Grundlagen der Reanimation.\n• BLS\n• ALS\nAnmeldung: Formular (https://example.org/anmeldung)');
    expect(part1.sequence).toBe(3);
    expect(r.events[2].status).toBe('TENTATIVE');

    const journal = byUid(r, '99ec3e7f-ef04-4bbb-a3d7-e30736fa0002');
    expect(journal.recurrence).toEqual({ rrule: ['FREQ=WEEKLY;COUNT=12;BYDAY=MO,WE;WKST=MO'], rdate: [], exdate: [] });
    expect(journal.title).toBe('Journal Club Anästhesie');

    const openDay = byUid(r, '2b8d7c11-0c3a-4f7e-8d21-5e6f7a8b9c03');
    // endDate is the inclusive last day → exclusive end the day after
    expect([openDay.start, openDay.end, openDay.transparency]).toEqual([{ date: '2026-12-05' }, { date: '2026-12-07' }, 'TRANSPARENT']);

    const circle = byUid(r, '5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b04');
    expect(circle.recurrence?.rrule).toEqual(['FREQ=MONTHLY;BYDAY=2TU;COUNT=6']);
    // no endDate but an endTime: same day
    expect(circle.end).toEqual({ dateTime: '2026-12-08T17:00:00', timeZone: 'Europe/Berlin' });
  });

  test('every generated rule is one rrule understands, with the expected occurrences', () => {
    const r = parseJsonEvents(load(FEEDS, 'caldn.json'), 'caldn');
    const journal = byUid(r, '99ec3e7f-ef04-4bbb-a3d7-e30736fa0002');
    const rule = RRule.fromString(`DTSTART:20261123T144500Z\nRRULE:${journal.recurrence!.rrule[0]}`);
    const dates = rule.all();
    expect(dates).toHaveLength(12);
    expect(new Set(dates.map((d) => d.getUTCDay()))).toEqual(new Set([1, 3]));
  });

  const base = (over: Record<string, unknown>, date: Record<string, unknown> = {}) => ({
    prokey: 'p',
    dates: [{ name: 'X', startDate: '2026-12-01', startTime: '10:00', endTime: '11:00', timeZone: 'Europe/Berlin', ...date }],
    simplified_recurrence: true,
    ...over,
  });

  test.each([
    [{ recurrence_simple_type: 'daily' }, 'FREQ=DAILY'],
    [{ recurrence_simple_type: 'Weekly', recurrence_interval: '2', recurrence_byDay: 'mo,tu' }, 'FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TU'],
    [{ recurrence_simple_type: 'monthly', recurrence_byDay: '2MO,TU', recurrence_count: 10 }, 'FREQ=MONTHLY;COUNT=10;BYDAY=2MO,TU'],
    [{ recurrence_simple_type: 'monthly', recurrence_byMonthDay: '3,23' }, 'FREQ=MONTHLY;BYMONTHDAY=3,23'],
    [{ recurrence_simple_type: 'yearly', recurrence_byMonth: '1,2,12', recurrence_byDay: '-1FR', recurrence_weekstart: 'su' }, 'FREQ=YEARLY;BYMONTH=1,2,12;BYDAY=-1FR;WKST=SU'],
    [{ recurrence_simple_type: 'daily', recurrence_interval: 1 }, 'FREQ=DAILY'],
  ])('simplified recurrence %j → %s', (fields, rrule) => {
    const r = parseJsonEvents(base(fields), 'caldn');
    expect(r.errors).toEqual([]);
    expect(r.events[0].recurrence?.rrule).toEqual([rrule]);
    expect(checkRrule(rrule)).toBeUndefined();
  });

  test.each([
    [{ recurrence_simple_type: 'fortnightly' }, 'recurrence_simple_type'],
    [{ recurrence_simple_type: 'daily', recurrence_interval: 0 }, 'recurrence_interval'],
    [{ recurrence_simple_type: 'daily', recurrence_interval: 'x' }, 'recurrence_interval'],
    [{ recurrence_simple_type: 'daily', recurrence_count: -3 }, 'recurrence_count'],
    [{ recurrence_simple_type: 'yearly', recurrence_byMonth: '1,13' }, 'recurrence_byMonth'],
    [{ recurrence_simple_type: 'monthly', recurrence_byMonthDay: '0' }, 'recurrence_byMonthDay'],
    [{ recurrence_simple_type: 'weekly', recurrence_byMonthDay: '3' }, 'recurrence_byMonthDay'],
    [{ recurrence_simple_type: 'weekly', recurrence_byDay: '2MO' }, 'recurrence_byDay'],
    [{ recurrence_simple_type: 'monthly', recurrence_byDay: 'XX' }, 'recurrence_byDay'],
    [{ recurrence_simple_type: 'weekly', recurrence_weekstart: 'MONDAY' }, 'recurrence_weekstart'],
    [{ simplified_recurrence: false, recurrence: 'RRULE:FREQ=SOMETIMES' }, 'recurrence'],
    [{ simplified_recurrence: false, recurrence: 'RRULE:FREQ=DAILY;BYHOUR=25' }, 'recurrence'],
    [{ simplified_recurrence: false, recurrence: 'RRULE:FREQ=DAILY;COUNT=2;UNTIL=20270101' }, 'recurrence'],
  ])('invalid recurrence %j → error naming %s', (fields, field) => {
    const input = [base({ prokey: 'good', recurrence_simple_type: null }), base(fields)];
    const r = parseJsonEvents(input, 'caldn');
    expect(r.events.map((e) => e.uid)).toEqual(['good']); // the bad item does not sink the good one
    expect(r.errors).toEqual([expect.objectContaining({ item: 1, field })]);
    expect(r.errors[0].message).toContain(field);
  });

  test('raw RRULE with simplified_recurrence false', () => {
    const r = parseJsonEvents(base({ simplified_recurrence: false, recurrence: 'RRULE:freq=weekly;byday=we;until=20270301T000000Z' }), 'caldn');
    expect(r.events[0].recurrence?.rrule).toEqual(['FREQ=WEEKLY;BYDAY=WE;UNTIL=20270301T000000Z']);
  });

  test('recurrence with several dates goes to the first date, with a warning', () => {
    const input = base({ recurrence_simple_type: 'weekly', recurrence_count: 3 });
    (input.dates as object[]).push({ name: 'Y', startDate: '2026-12-03' });
    const r = parseJsonEvents(input, 'caldn');
    expect(r.events.map((e) => [e.uid, !!e.recurrence])).toEqual([['p-0', true], ['p-1', false]]);
    expect(r.events[0].warnings?.join()).toMatch(/several dates/);
  });

  test.each([
    [{ startDate: '2026-02-30' }, 'dates.0.startDate'],
    [{ startDate: undefined }, 'dates.0.startDate'],
    [{ startDate: '01.12.2026' }, 'dates.0.startDate'],
    [{ startTime: '25:00' }, 'dates.0.startTime'],
    [{ endTime: '9.30' }, 'dates.0.endTime'],
    [{ endTime: '09:00' }, 'dates.0.endTime'], // before the start
    [{ endDate: '2026-11-30' }, 'dates.0.endDate'],
  ])('bad date field %j → error naming %s; other dates survive', (date, field) => {
    const bad = base({}, date as Record<string, unknown>);
    (bad.dates as object[]).push({ name: 'ok', startDate: '2026-12-02' });
    const r2 = parseJsonEvents([{ prokey: 'ok-event', dates: [{ startDate: '2026-12-01' }] }, bad], 'caldn');
    expect(r2.events.map((e) => e.uid)).toEqual(['ok-event', 'p-1']);
    expect(r2.errors).toEqual([expect.objectContaining({ item: 1, field, uid: 'p-0' })]);
  });

  test('zones: unknown → warning + UTC; none → floating or the default zone', () => {
    const unknown = parseJsonEvents(base({}, { timeZone: 'Europe/Atlantis' }), 'caldn').events[0];
    expect(unknown.start).toEqual({ dateTime: '2026-12-01T10:00:00Z' });
    expect(unknown.warnings?.join()).toMatch(/Europe\/Atlantis/);
    const floating = parseJsonEvents(base({}, { timeZone: undefined }), 'caldn').events[0];
    expect(floating.start).toEqual({ dateTime: '2026-12-01T10:00:00' });
    const defaulted = parseJsonEvents(base({}, { timeZone: null }), 'caldn', { defaultTimeZone: 'America/Los_Angeles' }).events[0];
    expect(defaulted.start).toEqual({ dateTime: '2026-12-01T10:00:00', timeZone: 'America/Los_Angeles' });
  });

  test('a timed date without endTime ends when it starts; all-day ignores endTime', () => {
    const timed = parseJsonEvents(base({}, { endTime: undefined }), 'caldn').events[0];
    expect(timed.end).toEqual(timed.start);
    const allDay = parseJsonEvents(base({}, { startTime: undefined }), 'caldn').events[0];
    expect([allDay.start, allDay.end]).toEqual([{ date: '2026-12-01' }, { date: '2026-12-02' }]);
  });

  test('status, availability, draft events, sequence', () => {
    const r = parseJsonEvents(base({ status: 'draft', sequence: 'x' }, { status: 'cancelled', availability: 'maybe' }), 'caldn');
    const e = r.events[0];
    expect(e.status).toBe('CANCELLED');
    expect(e.transparency).toBeUndefined();
    expect(e.sequence).toBeUndefined();
    expect(e.xProps).toContainEqual({ name: 'X-CALDN-STATUS', value: 'draft' });
    const w = e.warnings?.join('\n') ?? '';
    expect(w).toMatch(/not published/);
    expect(w).toMatch(/availability/);
    expect(w).toMatch(/sequence/);
  });

  test('input that is not an event at all', () => {
    expect(parseJsonEvents('nope', 'caldn').errors).toHaveLength(1);
    const r = parseJsonEvents([{ dates: [] }, 7, { prokey: 'x', dates: [{ startDate: '2026-12-01' }] }], 'caldn');
    expect(r.events.map((e) => e.uid)).toEqual(['x']);
    expect(r.errors.map((e) => [e.item, e.field])).toEqual([[0, 'dates'], [1, '']]);
  });
});

describe('htmlToText', () => {
  test.each([
    ['<p>a</p><p>b</p>', 'a\nb'],
    ['<h1>T</h1><ol><li>one</li><li>two</li></ol>', 'T\n• one\n• two'],
    ['<p><strong>x</strong> &amp; <em>y</em> &#228; &#x1F600;</p>', 'x & y ä 😀'],
    ['<a href="https://a.example">https://a.example</a>', 'https://a.example'],
    ['plain text', 'plain text'],
  ])('%j', (html, text) => {
    expect(htmlToText(html)).toBe(text);
  });
});

describe('LearningSpace preset', () => {
  const r = parseJsonEvents(load(FEEDS, 'learningspace.json'), 'learningspace');
  test('events, rooms, locations, statuses', () => {
    expect(r.errors).toEqual([]);
    expect(r.events.map((e) => [e.uid, e.rooms, e.location, e.status])).toEqual([
      ['4711', ['12'], 'Simulation Centre, Level 2', 'CONFIRMED'],
      ['4712', ['13'], 'Sim Room 2', 'CONFIRMED'],
      ['4713', ['13'], 'Sim Room 2', 'TENTATIVE'],
      ['4714', ['14'], 'Sim Room 3', 'CONFIRMED'],
      ['4715', ['12', '13'], 'Sim Room 1, Sim Room 2', 'CONFIRMED'],
      ['4716', ['14'], 'Sim Room 3', 'CANCELLED'],
    ]);
  });
  test('times: naive + timezone → zoned; Z + timezone → converted; all-day', () => {
    expect(byUid(r, '4711').start).toEqual({ dateTime: '2026-11-23T09:00:00', timeZone: 'Europe/Berlin' });
    expect(byUid(r, '4715').start).toEqual({ dateTime: '2026-11-26T09:00:00', timeZone: 'Europe/Berlin' });
    expect([byUid(r, '4714').start, byUid(r, '4714').end]).toEqual([{ date: '2026-11-25' }, { date: '2026-11-26' }]);
    expect(byUid(r, '4711').categories).toEqual(['Clinical Skills III']);
    expect(byUid(r, '4711').lastModified).toBe('2026-11-20T10:15:00Z');
  });
  test('rows repeating an id once per room merge into one event', () => {
    const rows = { events: [1, 2, 3].map((n) => ({ id: 9, title: 'OSCE', start: '2026-11-23T09:00:00Z', end: '2026-11-23T10:00:00Z', room: { id: n, name: `Sim Room ${n}` } })) };
    const m = parseJsonEvents(rows, 'learningspace');
    expect(m.events).toHaveLength(1);
    expect(m.events[0].rooms).toEqual(['1', '2', '3']);
    const clash = parseJsonEvents({ events: [rows.events[0], { ...rows.events[1], start: '2026-11-24T09:00:00Z', end: '2026-11-24T10:00:00Z' }] }, 'learningspace');
    expect(clash.events).toHaveLength(1);
    expect(clash.errors).toEqual([expect.objectContaining({ item: 1, field: 'id|uuid' })]);
  });
  test('an empty list is zero events, not a missing list', () => {
    for (const feed of [{ events: [] }, { data: [] }, { events: null, data: [] }]) expect(parseJsonEvents(feed, 'learningspace')).toEqual({ events: [], errors: [] });
    // Nothing at the list path at all is still an error.
    expect(parseJsonEvents({ rooms: [] }, 'learningspace').errors).toEqual([expect.objectContaining({ message: 'no array of items at "events|data"' })]);
  });
});

describe('Sonderplan preset', () => {
  const r = parseJsonEvents(load(FEEDS, 'sonderplan.json'), 'sonderplan');
  test('bookings: unix or ISO start + duration_min, resources → rooms', () => {
    expect(r.errors).toEqual([]);
    const shoot = byUid(r, '90211');
    expect(shoot.start).toEqual({ dateTime: '2026-11-23T09:00:00', timeZone: 'Europe/Berlin' });
    expect(shoot.end).toEqual({ dateTime: '2026-11-23T13:00:00', timeZone: 'Europe/Berlin' });
    expect(shoot.rooms).toEqual(['1928', '2044']);
    expect(shoot.location).toBe('Studio A, Profoto Lichtset 1');
    expect(shoot.status).toBe('CONFIRMED');
    expect(shoot.categories).toEqual(['Herbstkatalog 2027']);
    expect(shoot.lastModified).toBe(new Date(1795000000 * 1000).toISOString().replace('.000', ''));
    expect(byUid(r, '90212').status).toBe('TENTATIVE');
    expect(byUid(r, '90213').start).toEqual({ dateTime: '2026-11-25T10:00:00', timeZone: 'Europe/Berlin' });
    expect(byUid(r, '90213').end).toEqual({ dateTime: '2026-11-25T11:30:00', timeZone: 'Europe/Berlin' });
    expect(byUid(r, '90214').status).toBe('CANCELLED');
    // two-day loan: 2880 minutes
    expect(byUid(r, '90215').end).toEqual({ dateTime: '2026-12-02T09:00:00', timeZone: 'Europe/Berlin' });
  });
  test('`fields=id,name,start,duration_min` responses (no zone) are UTC', () => {
    const m = parseJsonEvents({ data: [{ id: 1, name: 'x', start: 1795420800, duration_min: 30 }], meta: {} }, 'sonderplan');
    expect([m.events[0].start, m.events[0].end]).toEqual([{ dateTime: '2026-11-23T08:00:00Z' }, { dateTime: '2026-11-23T08:30:00Z' }]);
  });
});

describe('generic mapping', () => {
  const items = {
    result: {
      bookings: [
        { key: 'a', what: 'Room check', when: { from: '2026-11-23T09:00:00', mins: 45 }, zone: 'Europe/Berlin', where: { rooms: [{ code: 'R1' }, { code: 'R2' }] }, state: 'booked' },
        { key: 'b', what: 'No start', when: {} },
        { key: 'c', what: 'Bad duration', when: { from: '2026-11-23T09:00:00', mins: -5 } },
        { key: 'd', what: 'Bad end', when: { from: '2026-11-23T09:00:00', to: 'soon' } },
        { key: 'e', what: 'Backwards', when: { from: '2026-11-23T09:00:00', to: '2026-11-23T08:00:00' } },
        { what: 'No id', when: { from: '2026-11-24' }, state: 'whatever' },
        'not an object',
      ],
    },
  };
  const map = { items: 'result.bookings', id: 'key', title: 'what', start: 'when.from', end: 'when.to', duration: 'when.mins', timeZone: 'zone', room: 'where.rooms.*.code', status: 'state' };

  test('maps with --map paths; each bad item is an error naming its index and field', () => {
    const r = parseJsonEvents(items, 'generic', { map });
    const a = byUid(r, 'a');
    expect(a.start).toEqual({ dateTime: '2026-11-23T09:00:00', timeZone: 'Europe/Berlin' });
    expect(a.end).toEqual({ dateTime: '2026-11-23T09:45:00', timeZone: 'Europe/Berlin' });
    expect(a.rooms).toEqual(['R1', 'R2']);
    expect(a.status).toBe('CONFIRMED');
    expect(r.errors.map((e) => [e.item, e.field])).toEqual([
      [1, 'when.from'],
      [2, 'when.mins'],
      [3, 'when.to'],
      [4, 'when.to'],
      [6, ''],
    ]);
    for (const e of r.errors) expect(e.message).toMatch(new RegExp(`^item ${e.item}, field`));
    const noId = r.events.find((e) => e.title === 'No id')!;
    expect(noId.uid).toMatch(/^json-[0-9a-f]{16}$/);
    expect(noId.start).toEqual({ date: '2026-11-24' });
    expect(noId.end).toEqual({ date: '2026-11-25' });
    expect(noId.warnings?.join('\n')).toMatch(/no id/);
    expect(noId.warnings?.join('\n')).toMatch(/status "whatever"/);
  });

  test('defaults read common field names; allDay flag; ISO durations', () => {
    const r = parseJsonEvents([
      { id: 1, title: 'A', start: '2026-11-23T09:00:00Z', duration: 'PT1H30M' },
      { id: 2, name: 'B', start: '2026-11-23T09:00:00', allDay: true },
      { id: 3, summary: 'C', startDate: '2026-11-23', endDate: '2026-11-26' },
    ], 'generic');
    expect(r.errors).toEqual([]);
    expect(r.events.map((e) => [e.title, e.start, e.end])).toEqual([
      ['A', { dateTime: '2026-11-23T09:00:00Z' }, { dateTime: '2026-11-23T10:30:00Z' }],
      ['B', { date: '2026-11-23' }, { date: '2026-11-24' }],
      ['C', { date: '2026-11-23' }, { date: '2026-11-26' }],
    ]);
  });

  test('a path that finds no items is one clear error', () => {
    const r = parseJsonEvents({ foo: 1 }, 'generic', { map: { items: 'bookings' } });
    expect(r.events).toEqual([]);
    expect(r.errors[0].message).toMatch(/bookings/);
  });
});

describe('caldn raw recurrence without the simplified_recurrence flag', () => {
  const base = { prokey: 'p-raw', dates: [{ name: 'Weekly', startDate: '2026-12-01', startTime: '09:00', endDate: '2026-12-01', endTime: '10:00', timeZone: 'Europe/Berlin' }] };
  test('a raw RRULE is used when the flag is absent and no simple type competes', () => {
    const r = parseJsonEvents({ ...base, recurrence: 'RRULE:FREQ=WEEKLY;COUNT=4' }, 'caldn');
    expect(r.errors).toEqual([]);
    expect(r.events[0].recurrence?.rrule).toEqual(['FREQ=WEEKLY;COUNT=4']);
  });
  test('an invalid raw RRULE is an item error naming the field', () => {
    const r = parseJsonEvents({ ...base, recurrence: 'RRULE:FREQ=WEEKLY;BYDAY=XX' }, 'caldn');
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ item: 0, field: 'recurrence' });
  });
  test('with simplified fields present, the simple type wins', () => {
    const r = parseJsonEvents({ ...base, recurrence: 'RRULE:FREQ=YEARLY', recurrence_simple_type: 'daily', recurrence_count: 2 }, 'caldn');
    expect(r.events[0].recurrence?.rrule).toEqual(['FREQ=DAILY;COUNT=2']);
  });
});

describe('every unusable JSON item names its id, so a sync keeps its events (issue 7)', () => {
  const uidsOf = (r: ParseResult) => r.errors.map((e) => e.uid);
  test.each([
    ['generic: bad start', 'generic', [{ id: 'g-1', title: 'x', start: 'soon' }, { id: 'g-2', title: 'ok', start: '2026-01-05T10:00:00Z' }], ['g-1']],
    ['generic: end before start, numeric id', 'generic', { items: [{ id: 42, start: '2026-01-05T10:00:00Z', end: '2026-01-05T09:00:00Z' }] }, ['42']],
    ['generic: not an object, no id to name', 'generic', [7], [undefined]],
    ['sonderplan: bad end', 'sonderplan', { data: [{ id: 's-9', name: 'x', start: '2026-01-05T10:00:00Z', end: 'later' }] }, ['s-9']],
    ['learningspace: bad start', 'learningspace', { events: [{ uuid: 'l-3', title: 'x', start_time: '31.02.2026' }] }, ['l-3']],
    ['caldn: bad date', 'caldn', [{ prokey: 'P1', dates: [{ startDate: '2026-02-31' }] }], ['P1']],
    ['caldn: no dates at all', 'caldn', [{ prokey: 'P2', dates: [] }], ['P2']],
    ['caldn: bad rule with two dates: both events named', 'caldn', [{ prokey: 'P3', recurrence: 'RRULE:FREQ=SOMETIMES', dates: [{ startDate: '2026-01-05' }, { startDate: '2026-01-06' }] }], ['P3-0', 'P3-1']],
  ] as const)('%s', (_name, preset, input, uids) => {
    const r = parseJsonEvents(JSON.parse(JSON.stringify(input)), preset);
    expect(uidsOf(r)).toEqual(uids);
  });

  test('our own event JSON: uid and, for an override, its RECURRENCE-ID in eventKey form', () => {
    const r = parseCalendarInput(JSON.stringify([
      { uid: 'e-1', recurrenceId: { dateTime: '2026-01-05T10:00:00', timeZone: 'Europe/Berlin' }, title: 'x', start: { dateTime: '2026-01-05T10:00:00Z' }, end: { dateTime: 'never' } },
    ]), { preset: 'events' });
    expect(r.errors).toEqual([expect.objectContaining({ item: 0, uid: 'e-1', recurrenceId: '2026-01-05T10:00:00@Europe/Berlin', field: 'end' })]);
  });
});
