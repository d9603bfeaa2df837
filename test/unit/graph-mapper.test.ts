/** CalendarEvent ⇄ Graph event JSON (pure mapper), table-driven, plus time-zone name mapping. */
import type { CalendarEvent } from '../../core/event';
import type { OwnershipStamp } from '../../providers/port';
import {
  fromGraphEvent, GraphMappingError, PROPERTY_IDS, stampOf, toGraphEvent, transactionIdFor, type GraphEvent, type GraphMapOptions,
} from '../../providers/graph/mapper';
import { graphZoneToIana, ianaToWindows } from '../../providers/graph/timezones';

const STAMP: OwnershipStamp = { syncId: 's1', sourceKey: 'k1 - u:abc', fingerprint: 'f1' };

function ev(start: CalendarEvent['start'], end: CalendarEvent['end'], extra: Partial<CalendarEvent> = {}): CalendarEvent {
  return { uid: 'abc', title: 'T', start, end, ...extra };
}

describe('toGraphEvent: times', () => {
  const rows: [string, CalendarEvent, GraphMapOptions, Partial<GraphEvent>][] = [
    ['zoned IANA', ev({ dateTime: '2024-03-05T09:00:00', timeZone: 'Europe/Berlin' }, { dateTime: '2024-03-05T10:00:00', timeZone: 'Europe/Berlin' }), {},
      { start: { dateTime: '2024-03-05T09:00:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2024-03-05T10:00:00', timeZone: 'Europe/Berlin' }, isAllDay: false }],
    ['zoned, Windows names', ev({ dateTime: '2024-03-05T09:00:00', timeZone: 'America/New_York' }, { dateTime: '2024-03-05T10:00:00', timeZone: 'Europe/London' }), { timeZoneStyle: 'windows' },
      { start: { dateTime: '2024-03-05T09:00:00', timeZone: 'Eastern Standard Time' }, end: { dateTime: '2024-03-05T10:00:00', timeZone: 'GMT Standard Time' } }],
    ['UTC', ev({ dateTime: '2024-03-05T09:00:00Z' }, { dateTime: '2024-03-05T10:00:00Z' }), { timeZoneStyle: 'windows' },
      { start: { dateTime: '2024-03-05T09:00:00', timeZone: 'UTC' }, end: { dateTime: '2024-03-05T10:00:00', timeZone: 'UTC' } }],
    ['floating → default zone', ev({ dateTime: '2024-03-05T09:00:00' }, { dateTime: '2024-03-05T10:00:00' }), { defaultTimeZone: 'Asia/Tokyo' },
      { start: { dateTime: '2024-03-05T09:00:00', timeZone: 'Asia/Tokyo' } }],
    ['all-day', ev({ date: '2024-03-05' }, { date: '2024-03-07' }), { defaultTimeZone: 'Europe/Berlin', timeZoneStyle: 'windows' },
      { isAllDay: true, start: { dateTime: '2024-03-05T00:00:00', timeZone: 'W. Europe Standard Time' }, end: { dateTime: '2024-03-07T00:00:00', timeZone: 'W. Europe Standard Time' } }],
    ['zone without a Windows twin keeps IANA', ev({ dateTime: '2024-03-05T09:00:00', timeZone: 'Etc/GMT+5' }, { dateTime: '2024-03-05T10:00:00', timeZone: 'Etc/GMT+5' }), { timeZoneStyle: 'windows' },
      { start: { dateTime: '2024-03-05T09:00:00', timeZone: 'Etc/GMT+5' } }],
  ];
  test.each(rows)('%s', (_name, e, opts, expected) => {
    expect(toGraphEvent(e, STAMP, opts)).toMatchObject(expected);
  });
});

describe('toGraphEvent: content and ownership', () => {
  test('fields, stamp properties, transactionId only on create', () => {
    const e = ev({ dateTime: '2024-03-05T09:00:00Z' }, { dateTime: '2024-03-05T10:00:00Z' }, {
      title: 'Seminar', description: 'Line 1\nLine 2', location: 'Room 1', categories: ['Lecture'], transparency: 'TRANSPARENT',
      attendees: [{ email: 'x@example.com' }], organizer: { email: 'o@example.com' },
    });
    const created = toGraphEvent(e, STAMP, { create: true });
    expect(created).toMatchObject({
      subject: 'Seminar', body: { contentType: 'text', content: 'Line 1\nLine 2' }, location: { displayName: 'Room 1' },
      categories: ['Lecture'], showAs: 'free', transactionId: transactionIdFor(STAMP),
    });
    expect(created.singleValueExtendedProperties).toEqual([
      { id: PROPERTY_IDS.syncId, value: 's1' }, { id: PROPERTY_IDS.sourceKey, value: 'k1 - u:abc' }, { id: PROPERTY_IDS.fingerprint, value: 'f1' },
      { id: PROPERTY_IDS.digest, value: expect.stringMatching(/^d1 t:[0-9a-f]{8} l:[0-9a-f]{8} s:[0-9a-f]{8} e:[0-9a-f]{8} r:[0-9a-f]{8}$/) },
    ]);
    // Attendees would be invited by the room mailbox: never written.
    expect(created.attendees).toBeUndefined();
    expect(created.organizer).toBeUndefined();
    const updated = toGraphEvent(e, STAMP);
    expect(updated.transactionId).toBeUndefined();
    expect(updated.recurrence).toBeNull();
  });

  test("attendees are written only with attendees: 'invite' (required / optional / resource; the whole list) and read back", () => {
    const e = ev({ dateTime: '2024-03-05T09:00:00Z' }, { dateTime: '2024-03-05T10:00:00Z' }, {
      attendees: [{ email: 'a@example.com', name: 'A' }, { email: 'b@example.com', role: 'OPT-PARTICIPANT' }, { email: 'room@example.com', type: 'ROOM' }, { name: 'No Mail' }],
    });
    const written = toGraphEvent(e, STAMP, { create: true, attendees: 'invite' });
    expect(written.attendees).toEqual([
      { emailAddress: { address: 'a@example.com', name: 'A' }, type: 'required' },
      { emailAddress: { address: 'b@example.com' }, type: 'optional' },
      { emailAddress: { address: 'room@example.com' }, type: 'resource' },
    ]);
    expect(toGraphEvent({ ...e, attendees: undefined }, STAMP, { attendees: 'invite' }).attendees).toEqual([]);
    expect(toGraphEvent(e, STAMP, { attendees: 'omit' }).attendees).toBeUndefined();
    const read = fromGraphEvent({
      ...written, id: 'A',
      attendees: [...written.attendees!.slice(0, 2).map((a, n) => ({ ...a, status: { response: n ? 'declined' : 'accepted' } })), written.attendees![2]],
    }, '').event.attendees;
    expect(read).toEqual([
      { email: 'a@example.com', name: 'A', role: 'REQ-PARTICIPANT', status: 'ACCEPTED' },
      { email: 'b@example.com', role: 'OPT-PARTICIPANT', status: 'DECLINED' },
      { email: 'room@example.com', type: 'RESOURCE' },
    ]);
  });

  test('tentative and busy', () => {
    const base = ev({ dateTime: '2024-03-05T09:00:00Z' }, { dateTime: '2024-03-05T10:00:00Z' });
    expect(toGraphEvent({ ...base, status: 'TENTATIVE' }, STAMP).showAs).toBe('tentative');
    expect(toGraphEvent(base, STAMP).showAs).toBe('busy');
  });

  test('transactionId: deterministic, GUID-shaped, differs by sync, key and content', () => {
    const t = transactionIdFor(STAMP);
    expect(t).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(transactionIdFor({ ...STAMP })).toBe(t);
    expect(new Set([t, transactionIdFor({ ...STAMP, syncId: 's2' }), transactionIdFor({ ...STAMP, sourceKey: 'k2' }), transactionIdFor({ ...STAMP, fingerprint: 'f2' })]).size).toBe(4);
  });

  test('transactionId with a prior id: the same for the same target state, different once the event it created is gone', () => {
    const after = transactionIdFor(STAMP, 'AAMkAD-first');
    expect(transactionIdFor(STAMP, 'AAMkAD-first')).toBe(after);
    expect(transactionIdFor(STAMP, 'AAMkAD-second')).not.toBe(after);
    expect(after).not.toBe(transactionIdFor(STAMP));
    expect(transactionIdFor(STAMP, '')).toBe(transactionIdFor(STAMP));
    expect(toGraphEvent(ev({ dateTime: '2024-03-05T09:00:00Z' }, { dateTime: '2024-03-05T10:00:00Z' }), STAMP, { create: true, priorId: 'AAMkAD-first' }).transactionId).toBe(after);
  });

  test('series that fit get a patternedRecurrence; others throw naming the event', () => {
    const start = { dateTime: '2024-03-04T09:00:00', timeZone: 'Europe/Berlin' };
    const end = { dateTime: '2024-03-04T10:00:00', timeZone: 'Europe/Berlin' };
    const fits = toGraphEvent(ev(start, end, { recurrence: { rrule: ['FREQ=WEEKLY;BYDAY=MO;UNTIL=20240429T070000Z'], rdate: [], exdate: [] } }), STAMP, { timeZoneStyle: 'windows' });
    expect(fits.recurrence).toEqual({
      pattern: { type: 'weekly', interval: 1, daysOfWeek: ['monday'], firstDayOfWeek: 'monday' },
      range: { type: 'endDate', startDate: '2024-03-04', endDate: '2024-04-29', recurrenceTimeZone: 'W. Europe Standard Time' },
    });
    expect(() => toGraphEvent(ev(start, end, { recurrence: { rrule: ['FREQ=DAILY;BYHOUR=9,17'], rdate: [], exdate: [] } }), STAMP))
      .toThrow(/event "abc": recurrence does not fit Graph \(BYHOUR/);
    expect(() => toGraphEvent(ev(start, end, { recurrence: { rrule: ['FREQ=DAILY'], rdate: [], exdate: [start] } }), STAMP)).toThrow(GraphMappingError);
  });

  test('an expanded occurrence (recurrenceId, no rule) is a single event at its own time', () => {
    const occ = ev({ dateTime: '2024-03-06T14:00:00', timeZone: 'Europe/Berlin' }, { dateTime: '2024-03-06T15:00:00', timeZone: 'Europe/Berlin' }, { recurrenceId: { dateTime: '2024-03-06T09:00:00', timeZone: 'Europe/Berlin' } });
    expect(toGraphEvent(occ, STAMP, { create: true })).toMatchObject({ start: { dateTime: '2024-03-06T14:00:00' }, isAllDay: false });
  });

  test('all-day start with a timed end is refused', () => {
    expect(() => toGraphEvent(ev({ date: '2024-03-05' }, { dateTime: '2024-03-05T10:00:00Z' }), STAMP)).toThrow(/all-day/);
  });
});

describe('fromGraphEvent', () => {
  const props = [
    { id: PROPERTY_IDS.syncId.toLowerCase(), value: 's1' },
    { id: PROPERTY_IDS.sourceKey, value: 'k1' },
    { id: PROPERTY_IDS.fingerprint, value: 'f1' },
  ];
  const rows: [string, GraphEvent, Partial<CalendarEvent>][] = [
    ['UTC times re-expressed in the original zone', {
      id: 'A', subject: 'S', start: { dateTime: '2024-03-05T08:00:00.0000000', timeZone: 'UTC' }, end: { dateTime: '2024-03-05T09:00:00.0000000', timeZone: 'UTC' },
      originalStartTimeZone: 'W. Europe Standard Time', originalEndTimeZone: 'W. Europe Standard Time',
    }, { title: 'S', start: { dateTime: '2024-03-05T09:00:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2024-03-05T10:00:00', timeZone: 'Europe/Berlin' } }],
    ['UTC stays UTC without an original zone', {
      id: 'B', start: { dateTime: '2024-03-05T08:00:00.0000000', timeZone: 'UTC' }, end: { dateTime: '2024-03-05T09:00:00.0000000', timeZone: 'UTC' },
    }, { start: { dateTime: '2024-03-05T08:00:00Z' } }],
    ['a zone Graph returned as Windows name', {
      id: 'C', start: { dateTime: '2024-07-05T08:00:00.0000000', timeZone: 'Pacific Standard Time' }, end: { dateTime: '2024-07-05T09:00:00.0000000', timeZone: 'Pacific Standard Time' },
    }, { start: { dateTime: '2024-07-05T08:00:00', timeZone: 'America/Los_Angeles' } }],
    ['custom zone is kept floating', {
      id: 'D', start: { dateTime: '2024-07-05T08:00:00', timeZone: 'tzone://Microsoft/Custom' }, end: { dateTime: '2024-07-05T09:00:00', timeZone: 'tzone://Microsoft/Custom' },
    }, { start: { dateTime: '2024-07-05T08:00:00' } }],
    ['all-day', {
      id: 'E', isAllDay: true, start: { dateTime: '2024-03-05T00:00:00.0000000', timeZone: 'UTC' }, end: { dateTime: '2024-03-06T00:00:00.0000000', timeZone: 'UTC' },
    }, { start: { date: '2024-03-05' }, end: { date: '2024-03-06' } }],
    ['all-day written in Berlin, read back in UTC (Prefer: outlook.timezone="UTC")', {
      id: 'E2', isAllDay: true, originalStartTimeZone: 'W. Europe Standard Time', originalEndTimeZone: 'W. Europe Standard Time',
      start: { dateTime: '2024-03-04T23:00:00.0000000', timeZone: 'UTC' }, end: { dateTime: '2024-03-05T23:00:00.0000000', timeZone: 'UTC' },
    }, { start: { date: '2024-03-05' }, end: { date: '2024-03-06' } }],
    ['all-day written in Auckland (UTC+13), read back in UTC', {
      id: 'E3', isAllDay: true, originalStartTimeZone: 'Pacific/Auckland', originalEndTimeZone: 'Pacific/Auckland',
      start: { dateTime: '2024-03-04T11:00:00.0000000', timeZone: 'UTC' }, end: { dateTime: '2024-03-05T11:00:00.0000000', timeZone: 'UTC' },
    }, { start: { date: '2024-03-05' }, end: { date: '2024-03-06' } }],
    ['all-day in an unknown zone: nearest midnight', {
      id: 'E4', isAllDay: true, originalStartTimeZone: 'tzone://Microsoft/Custom',
      start: { dateTime: '2024-03-04T22:00:00.0000000', timeZone: 'UTC' }, end: { dateTime: '2024-03-05T22:00:00.0000000', timeZone: 'UTC' },
    }, { start: { date: '2024-03-05' }, end: { date: '2024-03-06' } }],
    ['all-day occurrence: recurrenceId is the date in the series zone', {
      id: 'E5', type: 'occurrence', isAllDay: true, originalStartTimeZone: 'Europe/Berlin', originalStart: '2024-03-10T23:00:00Z',
      start: { dateTime: '2024-03-10T23:00:00.0000000', timeZone: 'UTC' }, end: { dateTime: '2024-03-11T23:00:00.0000000', timeZone: 'UTC' },
    }, { start: { date: '2024-03-11' }, recurrenceId: { date: '2024-03-11' } }],
    ['status and transparency', {
      id: 'F', isCancelled: true, showAs: 'free', start: { dateTime: '2024-03-05T08:00:00', timeZone: 'UTC' }, end: { dateTime: '2024-03-05T09:00:00', timeZone: 'UTC' },
    }, { status: 'CANCELLED', transparency: 'TRANSPARENT' }],
    ['series master reads back as RRULE in its zone', {
      id: 'G', type: 'seriesMaster', originalStartTimeZone: 'Europe/Berlin',
      start: { dateTime: '2024-03-04T08:00:00', timeZone: 'UTC' }, end: { dateTime: '2024-03-04T09:00:00', timeZone: 'UTC' },
      recurrence: { pattern: { type: 'relativeMonthly', interval: 2, daysOfWeek: ['monday'], index: 'first' }, range: { type: 'endDate', startDate: '2024-03-04', endDate: '2024-09-02', recurrenceTimeZone: 'Europe/Berlin' } },
    }, { start: { dateTime: '2024-03-04T09:00:00', timeZone: 'Europe/Berlin' }, recurrence: { rrule: ['FREQ=MONTHLY;BYDAY=1MO;INTERVAL=2;UNTIL=20240902T070000Z'], rdate: [], exdate: [] } }],
    ['occurrence carries its original start as recurrenceId', {
      id: 'H', type: 'occurrence', originalStart: '2024-03-11T08:00:00Z', start: { dateTime: '2024-03-11T08:00:00', timeZone: 'UTC' }, end: { dateTime: '2024-03-11T09:00:00', timeZone: 'UTC' },
    }, { recurrenceId: { dateTime: '2024-03-11T08:00:00Z' } }],
  ];
  test.each(rows)('%s', (_name, json, expected) => {
    const t = fromGraphEvent({ ...json, singleValueExtendedProperties: props, '@odata.etag': 'W/"x"' }, 'room@x');
    expect(t).toMatchObject({ id: json.id, calendarId: 'room@x', stamp: { syncId: 's1', sourceKey: 'k1', fingerprint: 'f1' }, etag: 'W/"x"' });
    expect(t.event).toMatchObject(expected);
  });

  test('no stamp when any of the three properties is missing (foreign event)', () => {
    expect(stampOf({ singleValueExtendedProperties: props.slice(0, 2) })).toBeUndefined();
    expect(fromGraphEvent({ id: 'X', start: { dateTime: '2024-03-05T08:00:00', timeZone: 'UTC' }, end: { dateTime: '2024-03-05T09:00:00', timeZone: 'UTC' } }, 'r').stamp).toBeUndefined();
  });
});

describe('round trip CalendarEvent → Graph → CalendarEvent', () => {
  const events: [string, CalendarEvent, GraphMapOptions][] = [
    ['zoned single', ev({ dateTime: '2024-03-05T09:00:00', timeZone: 'Europe/Berlin' }, { dateTime: '2024-03-05T10:00:00', timeZone: 'Europe/Berlin' }, { title: 'X', location: 'L', description: 'D' }), { timeZoneStyle: 'windows' }],
    ['UTC single', ev({ dateTime: '2024-03-05T09:00:00Z' }, { dateTime: '2024-03-05T10:00:00Z' }), {}],
    ['all-day', ev({ date: '2024-03-05' }, { date: '2024-03-06' }), { defaultTimeZone: 'Europe/Berlin' }],
    ['weekly series', ev({ dateTime: '2024-03-04T09:00:00', timeZone: 'America/New_York' }, { dateTime: '2024-03-04T10:00:00', timeZone: 'America/New_York' }, { recurrence: { rrule: ['FREQ=WEEKLY;BYDAY=MO,TH;COUNT=10'], rdate: [], exdate: [] } }), { timeZoneStyle: 'windows' }],
  ];
  test.each(events)('%s', (_name, e, opts) => {
    const json = toGraphEvent(e, STAMP, { ...opts, create: true });
    // What Graph would return: times as written, zone names as written, plus an id.
    const back = fromGraphEvent({ ...json, id: 'ID', type: e.recurrence ? 'seriesMaster' : 'singleInstance', originalStartTimeZone: json.start!.timeZone, originalEndTimeZone: json.end!.timeZone }, 'r');
    // The digest of what was written is recomputed on read: no edit is seen.
    expect(back.stamp).toEqual({ ...STAMP, digest: expect.stringMatching(/^d1 /) });
    expect(back.edited).toBeUndefined();
    expect(back.event.start).toEqual(e.start);
    expect(back.event.end).toEqual(e.end);
    expect(back.event.title).toBe(e.title);
    expect(back.event.recurrence?.rrule).toEqual(e.recurrence?.rrule);
  });
});

describe('zone names', () => {
  test.each([
    ['Europe/Berlin', 'W. Europe Standard Time'],
    ['Europe/Amsterdam', 'W. Europe Standard Time'],
    ['Asia/Calcutta', 'India Standard Time'],
    ['Asia/Kolkata', 'India Standard Time'],
    ['America/New_York', 'Eastern Standard Time'],
    ['UTC', 'UTC'],
    ['Etc/GMT+5', undefined],
    ['Not/AZone', undefined],
  ])('%s → %s', (iana, windows) => {
    expect(ianaToWindows(iana)).toBe(windows);
  });

  test('every Windows name we produce maps back to a zone with the same offsets', () => {
    for (const iana of ['Europe/Berlin', 'Europe/Paris', 'America/Chicago', 'Australia/Sydney', 'Asia/Tokyo', 'America/Sao_Paulo', 'Africa/Cairo']) {
      const win = ianaToWindows(iana)!;
      const back = graphZoneToIana(win)!;
      for (const month of [0, 6]) {
        const at = new Date(Date.UTC(2024, month, 15));
        const fmt = (tz: string) => new Intl.DateTimeFormat('en-US', { timeZone: tz, hour: 'numeric', hourCycle: 'h23' }).format(at);
        expect(`${iana} ${fmt(back)}`).toBe(`${iana} ${fmt(iana)}`);
      }
    }
  });
});

describe('fromGraphEvent: an instant in the second pass of the repeated hour (DST end)', () => {
  test('an end at 01:30 UTC on 2026-10-25 shown in Europe/Berlin keeps its instant', () => {
    const t = fromGraphEvent({
      id: 'e1', subject: 'Night', originalStartTimeZone: 'W. Europe Standard Time', originalEndTimeZone: 'W. Europe Standard Time',
      start: { dateTime: '2026-10-25T00:00:00.0000000', timeZone: 'UTC' }, end: { dateTime: '2026-10-25T01:30:00.0000000', timeZone: 'UTC' },
    } as GraphEvent, 'room@example.com');
    // 02:00 CEST, then 02:30 CET (the second pass): as a Berlin wall clock 02:30 would mean 00:30Z.
    expect(t.event.start).toEqual({ dateTime: '2026-10-25T02:00:00', timeZone: 'Europe/Berlin' });
    expect(t.event.end).toEqual({ dateTime: '2026-10-25T01:30:00Z' });
  });
});

describe('X- properties as singleValueExtendedProperties (issue 9: X-KALTURA-* kept)', () => {
  const ns = '{c6127db8-0620-41c3-adf6-acb7e8348a2c}';
  const e = ev({ dateTime: '2026-11-26T14:00:00Z' }, { dateTime: '2026-11-26T15:00:00Z' }, {
    xProps: [
      { name: 'X-KALTURA-ID', value: '88120' },
      { name: 'X-KALTURA-RESOURCE-IDS', value: '5020' },
      { name: 'X-ALT-DESC', value: 'x'.repeat(1025) },
    ],
  });

  test('written after the stamp as "String {GUID} Name X-…" (values over 1024 chars left out)', () => {
    const g = toGraphEvent(e, STAMP, { create: true });
    expect(g.singleValueExtendedProperties).toEqual([
      { id: PROPERTY_IDS.syncId, value: 's1' }, { id: PROPERTY_IDS.sourceKey, value: 'k1 - u:abc' }, { id: PROPERTY_IDS.fingerprint, value: 'f1' },
      { id: PROPERTY_IDS.digest, value: expect.stringMatching(/^d1 /) },
      { id: `String ${ns} Name X-KALTURA-ID`, value: '88120' },
      { id: `String ${ns} Name X-KALTURA-RESOURCE-IDS`, value: '5020' },
    ]);
    expect(toGraphEvent({ ...e, xProps: undefined }, STAMP).singleValueExtendedProperties).toHaveLength(4);
  });
  test('read back into xProps (any casing of the id); the stamp and foreign namespaces are not X- properties', () => {
    const g = toGraphEvent(e, STAMP);
    g.singleValueExtendedProperties!.push({ id: 'String {00020329-0000-0000-c000-000000000046} Name X-OTHER', value: 'no' });
    g.singleValueExtendedProperties![4] = { id: g.singleValueExtendedProperties![4].id.toLowerCase(), value: '88120' };
    const t = fromGraphEvent({ ...g, id: 'g1' }, 'room@x');
    expect(t.event.xProps).toEqual([{ name: 'X-KALTURA-ID', value: '88120' }, { name: 'X-KALTURA-RESOURCE-IDS', value: '5020' }]);
    expect(t.stamp).toEqual({ ...STAMP, digest: expect.stringMatching(/^d1 /) });
    expect(fromGraphEvent({ ...toGraphEvent({ ...e, xProps: undefined }, STAMP), id: 'g2' }, 'room@x').event.xProps).toBeUndefined();
  });
});
