import fc from 'fast-check';
import type { CalendarEvent, EventTime } from '../../core/event';
import { uidKey, overrideKey } from '../../core/sync-key';
import { utcToWall, wallToUtc } from '../../core/time';
import {
  fromGoogleEvent, fromGoogleRecurrence, fromGoogleTime, toGoogleEvent, toGoogleInstancePatch,
  toGoogleRecurrence, toGoogleTime, GoogleMappingError,
} from '../../providers/google/mapper';
import {
  base32hex, googleEventId, googleInstanceId, isDeterministicId, masterIdOfInstance,
  stampFromProperties, stampToProperties, StampTooLongError,
} from '../../providers/google/ids';

describe('toGoogleTime', () => {
  const cases: Array<[string, EventTime, string | undefined, unknown]> = [
    ['all-day', { date: '2026-12-01' }, undefined, { date: '2026-12-01' }],
    ['UTC', { dateTime: '2026-12-01T09:00:00Z' }, undefined, { dateTime: '2026-12-01T09:00:00Z', timeZone: 'UTC' }],
    ['zoned', { dateTime: '2026-12-01T09:00:00', timeZone: 'Europe/Berlin' }, undefined, { dateTime: '2026-12-01T09:00:00', timeZone: 'Europe/Berlin' }],
    ['floating → default zone', { dateTime: '2026-12-01T09:00:00' }, 'America/New_York', { dateTime: '2026-12-01T09:00:00', timeZone: 'America/New_York' }],
    ['floating → UTC when no default', { dateTime: '2026-12-01T09:00:00' }, undefined, { dateTime: '2026-12-01T09:00:00', timeZone: 'UTC' }],
  ];
  it.each(cases)('%s', (_name, input, tz, expected) => {
    expect(toGoogleTime(input, tz)).toEqual(expected);
  });
});

describe('fromGoogleTime', () => {
  const cases: Array<[string, object, EventTime]> = [
    ['date', { date: '2026-12-01' }, { date: '2026-12-01' }],
    ['offset + zone → wall clock in the zone', { dateTime: '2026-12-01T09:00:00+01:00', timeZone: 'Europe/Berlin' }, { dateTime: '2026-12-01T09:00:00', timeZone: 'Europe/Berlin' }],
    ['offset of another zone is converted', { dateTime: '2026-12-01T08:00:00Z', timeZone: 'Europe/Berlin' }, { dateTime: '2026-12-01T09:00:00', timeZone: 'Europe/Berlin' }],
    ['no offset + zone', { dateTime: '2026-07-01T09:00:00', timeZone: 'Europe/Berlin' }, { dateTime: '2026-07-01T09:00:00', timeZone: 'Europe/Berlin' }],
    ['offset only → UTC', { dateTime: '2026-07-01T09:00:00-04:00' }, { dateTime: '2026-07-01T13:00:00Z' }],
    ['UTC zone → Z', { dateTime: '2026-07-01T09:00:00Z', timeZone: 'UTC' }, { dateTime: '2026-07-01T09:00:00Z' }],
    ['fractional seconds dropped', { dateTime: '2026-07-01T09:00:00.000Z' }, { dateTime: '2026-07-01T09:00:00Z' }],
  ];
  it.each(cases)('%s', (_name, input, expected) => {
    expect(fromGoogleTime(input)).toEqual(expected);
  });
  it('names the field and the bad value', () => {
    expect(() => fromGoogleTime({ dateTime: 'tomorrow' }, 'end')).toThrow(/end\.dateTime "tomorrow"/);
    expect(() => fromGoogleTime({ dateTime: '2026-07-01T09:00:00', timeZone: 'Mars/Olympus' }, 'start')).toThrow(GoogleMappingError);
  });
});

describe('recurrence lines', () => {
  it('writes RRULE/EXRULE/RDATE/EXDATE without DTSTART, grouped by kind', () => {
    const lines = toGoogleRecurrence({
      rrule: ['FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20270101T000000Z'],
      exrule: ['FREQ=MONTHLY;BYMONTHDAY=1'],
      rdate: [{ dateTime: '2026-12-24T10:00:00', timeZone: 'Europe/Berlin' }],
      exdate: [
        { dateTime: '2026-12-02T09:00:00', timeZone: 'Europe/Berlin' },
        { dateTime: '2026-12-09T09:00:00', timeZone: 'Europe/Berlin' },
        { dateTime: '2026-12-16T08:00:00Z' },
        { date: '2026-12-23' },
        { dateTime: '2026-12-30T09:00:00' },
      ],
    }, 'America/New_York');
    expect(lines).toEqual([
      'RRULE:FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20270101T000000Z',
      'EXRULE:FREQ=MONTHLY;BYMONTHDAY=1',
      'RDATE;TZID=Europe/Berlin:20261224T100000',
      'EXDATE;TZID=Europe/Berlin:20261202T090000,20261209T090000',
      'EXDATE:20261216T080000Z',
      'EXDATE;VALUE=DATE:20261223',
      'EXDATE;TZID=America/New_York:20261230T090000',
    ]);
    expect(lines.some((l) => l.startsWith('DTSTART'))).toBe(false);
  });

  it('reads them back, including PERIOD rdates and a stray DTSTART', () => {
    expect(fromGoogleRecurrence([
      'DTSTART:20261201T090000Z',
      'RRULE:FREQ=DAILY;COUNT=5',
      'EXDATE;TZID=Europe/Berlin:20261202T090000,20261203T090000',
      'EXDATE;VALUE=DATE:20261223',
      'RDATE;VALUE=PERIOD:20261224T100000Z/PT1H',
    ])).toEqual({
      rrule: ['FREQ=DAILY;COUNT=5'],
      rdate: [{ dateTime: '2026-12-24T10:00:00Z' }],
      exdate: [
        { dateTime: '2026-12-02T09:00:00', timeZone: 'Europe/Berlin' },
        { dateTime: '2026-12-03T09:00:00', timeZone: 'Europe/Berlin' },
        { date: '2026-12-23' },
      ],
    });
  });

  it('rejects a malformed date with the value in the message', () => {
    expect(() => fromGoogleRecurrence(['EXDATE:2026-12-02'])).toThrow(/"2026-12-02"/);
  });
});

const stamp = { syncId: 'sync-A', sourceKey: 'k1 src u:uid-1%40example.org', fingerprint: 'fp1' };

describe('toGoogleEvent', () => {
  it('maps a zoned recurring master with the stamp, no iCalUID, no attendees by default', () => {
    const e: CalendarEvent = {
      uid: 'uid-1@example.org', sourceId: 'src', title: 'Lecture', description: 'Bring notes', location: 'Room 1',
      start: { dateTime: '2026-12-01T09:00:00', timeZone: 'Europe/Berlin' },
      end: { dateTime: '2026-12-01T10:30:00', timeZone: 'Europe/Berlin' },
      recurrence: { rrule: ['FREQ=WEEKLY;COUNT=10'], rdate: [], exdate: [{ dateTime: '2026-12-08T09:00:00', timeZone: 'Europe/Berlin' }] },
      status: 'CONFIRMED', transparency: 'OPAQUE',
      attendees: [{ email: 'prof@example.org', name: 'Prof' }],
      organizer: { email: 'org@example.org' },
      url: 'https://example.org/lecture',
    };
    const g = toGoogleEvent(e, { id: 'abc123', stamp });
    expect(g).toEqual({
      id: 'abc123', summary: 'Lecture', description: 'Bring notes', location: 'Room 1',
      start: { dateTime: '2026-12-01T09:00:00', timeZone: 'Europe/Berlin' },
      end: { dateTime: '2026-12-01T10:30:00', timeZone: 'Europe/Berlin' },
      recurrence: ['RRULE:FREQ=WEEKLY;COUNT=10', 'EXDATE;TZID=Europe/Berlin:20261208T090000'],
      status: 'confirmed', transparency: 'opaque',
      source: { url: 'https://example.org/lecture', title: 'Lecture' },
      extendedProperties: { private: { crSyncId: 'sync-A', crKey: stamp.sourceKey, crFp: 'fp1', crDg: expect.stringMatching(/^d1 t:[0-9a-f]{8} l:[0-9a-f]{8} s:[0-9a-f]{8} e:[0-9a-f]{8} r:[0-9a-f]{8}$/) } },
    });
    expect(g).not.toHaveProperty('iCalUID');
    expect(g).not.toHaveProperty('attendees');
    expect(g).not.toHaveProperty('organizer');
  });

  it('can list attendees in the description instead of inviting them', () => {
    const g = toGoogleEvent({
      uid: 'u', title: 't', description: 'd', start: { date: '2026-12-01' }, end: { date: '2026-12-02' },
      attendees: [{ email: 'a@x.org', name: 'A' }, { email: 'b@x.org', role: 'OPT-PARTICIPANT' }],
    }, { attendees: 'description' });
    expect(g.description).toBe('d\n\nAttendees:\nA <a@x.org>\nb@x.org (optional)');
    expect(g.attendees).toBeUndefined();
  });

  it("writes attendees as Google attendees only with attendees: 'invite' (the whole list; none clears them)", () => {
    const e: CalendarEvent = {
      uid: 'u', title: 't', description: 'd', start: { dateTime: '2026-12-01T09:00:00Z' }, end: { dateTime: '2026-12-01T10:00:00Z' },
      attendees: [{ email: 'a@x.org', name: 'A', role: 'REQ-PARTICIPANT', status: 'ACCEPTED' }, { email: 'b@x.org', role: 'OPT-PARTICIPANT' }, { name: 'No Mail' }],
    };
    const g = toGoogleEvent(e, { attendees: 'invite' });
    expect(g.attendees).toEqual([{ email: 'a@x.org', displayName: 'A' }, { email: 'b@x.org', optional: true }]);
    expect(g.description).toBe('d');
    expect(toGoogleEvent({ ...e, attendees: undefined }, { attendees: 'invite' }).attendees).toEqual([]);
    expect(toGoogleEvent(e)).not.toHaveProperty('attendees');
    expect(toGoogleEvent(e, { attendees: 'description' })).not.toHaveProperty('attendees');
    const patch = toGoogleInstancePatch({ ...e, recurrenceId: { dateTime: '2026-12-01T09:00:00Z' } }, { attendees: 'invite' });
    expect(patch.attendees).toEqual([{ email: 'a@x.org', displayName: 'A' }, { email: 'b@x.org', optional: true }]);
    expect(toGoogleInstancePatch({ ...e, recurrenceId: { dateTime: '2026-12-01T09:00:00Z' } })).not.toHaveProperty('attendees');
    // Read back: names, required / optional.
    expect(fromGoogleEvent({ ...g, id: 'x', iCalUID: 'u' }).event.attendees).toEqual([
      { email: 'a@x.org', name: 'A', role: 'REQ-PARTICIPANT', type: 'INDIVIDUAL' },
      { email: 'b@x.org', role: 'OPT-PARTICIPANT', type: 'INDIVIDUAL' },
    ]);
  });

  it('writes a non-recurring event without recurrence and marks free time transparent', () => {
    const g = toGoogleEvent({ uid: 'u', title: 't', start: { date: '2026-12-01' }, end: { date: '2026-12-02' }, transparency: 'TRANSPARENT' });
    expect(g.recurrence).toBeUndefined();
    expect(g.transparency).toBe('transparent');
    expect(g.start).toEqual({ date: '2026-12-01' });
  });

  it('skips non-http urls (Google rejects them as source.url)', () => {
    expect(toGoogleEvent({ uid: 'u', title: 't', start: { date: '2026-12-01' }, end: { date: '2026-12-02' }, url: 'mailto:x@y' }).source).toBeUndefined();
  });
});

describe('toGoogleInstancePatch', () => {
  const base: CalendarEvent = {
    uid: 'u', title: 'Moved', start: { dateTime: '2026-12-08T11:00:00', timeZone: 'Europe/Berlin' },
    end: { dateTime: '2026-12-08T12:00:00', timeZone: 'Europe/Berlin' }, recurrenceId: { dateTime: '2026-12-08T09:00:00', timeZone: 'Europe/Berlin' },
  };
  it('moves an occurrence and clears fields the override lacks', () => {
    const p = toGoogleInstancePatch(base, { stamp });
    expect(p).toMatchObject({ summary: 'Moved', description: null, location: null, status: 'confirmed', start: { dateTime: '2026-12-08T11:00:00', timeZone: 'Europe/Berlin' } });
    expect(p.extendedProperties?.private?.crSyncId).toBe('sync-A');
  });
  it('leaves status out of a first-guess patch when it would only say "confirmed"', () => {
    expect(toGoogleInstancePatch(base, { omitConfirmed: true })).not.toHaveProperty('status');
    expect(toGoogleInstancePatch({ ...base, status: 'TENTATIVE' }, { omitConfirmed: true }).status).toBe('tentative');
  });
  it('cancels an occurrence with status only (and the stamp)', () => {
    expect(toGoogleInstancePatch({ ...base, status: 'CANCELLED' }, { stamp })).toEqual({ status: 'cancelled', extendedProperties: { private: stampToProperties(stamp) } });
  });
});

describe('fromGoogleEvent', () => {
  it('reads an instance exception with originalStartTime as an override with recurrenceId', () => {
    const r = fromGoogleEvent({
      id: 'm_20261208T080000Z', recurringEventId: 'm', iCalUID: 'm@google.com', status: 'confirmed', summary: 'Moved',
      start: { dateTime: '2026-12-08T11:00:00+01:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2026-12-08T12:00:00+01:00', timeZone: 'Europe/Berlin' },
      originalStartTime: { dateTime: '2026-12-08T09:00:00+01:00', timeZone: 'Europe/Berlin' },
      extendedProperties: { private: { crSyncId: 's', crKey: overrideKey(uidKey({ uid: 'uid-9', sourceId: 'src' }), { dateTime: '2026-12-08T09:00:00', timeZone: 'Europe/Berlin' }), crFp: 'f' } },
    });
    expect(r.event.recurrenceId).toEqual({ dateTime: '2026-12-08T09:00:00', timeZone: 'Europe/Berlin' });
    expect(r.event.uid).toBe('uid-9');
    expect(r.event.sourceId).toBe('src');
    expect(r.stamp).toEqual({ syncId: 's', sourceKey: 'k1 src u:uid-9 r:20261208T080000Z', fingerprint: 'f' });
  });

  it('reads a cancelled stub (only id/recurringEventId/originalStartTime)', () => {
    const r = fromGoogleEvent({ id: 'm_20261208', recurringEventId: 'm', status: 'cancelled', originalStartTime: { date: '2026-12-08' } });
    expect(r.event).toMatchObject({ uid: 'm', status: 'CANCELLED', start: { date: '2026-12-08' }, recurrenceId: { date: '2026-12-08' } });
    expect(r.stamp).toBeUndefined();
  });

  it('maps people, timestamps and foreign events (no stamp, uid from iCalUID)', () => {
    const r = fromGoogleEvent({
      id: 'x', iCalUID: 'person@example.org', summary: 'Coffee', start: { dateTime: '2026-12-01T09:00:00Z' }, end: { dateTime: '2026-12-01T09:30:00Z' },
      organizer: { email: 'p@example.org', displayName: 'P' },
      attendees: [{ email: 'q@example.org', optional: true, responseStatus: 'accepted' }, { email: 'room@resource.calendar.google.com', resource: true, responseStatus: 'needsAction' }],
      created: '2026-11-01T10:00:00.123Z', updated: '2026-11-02T10:00:00.000Z', sequence: 2,
    });
    expect(r.stamp).toBeUndefined();
    expect(r.event).toMatchObject({
      uid: 'person@example.org', organizer: { email: 'p@example.org', name: 'P' }, created: '2026-11-01T10:00:00Z', lastModified: '2026-11-02T10:00:00Z', sequence: 2,
      attendees: [
        { email: 'q@example.org', role: 'OPT-PARTICIPANT', status: 'ACCEPTED', type: 'INDIVIDUAL' },
        { email: 'room@resource.calendar.google.com', role: 'REQ-PARTICIPANT', status: 'NEEDS-ACTION', type: 'RESOURCE' },
      ],
    });
  });
});

/**
 * What the Google server does to a written event, modelled for the round trip: offsets are added,
 * the id replaces the UID. Round trip = toGoogleEvent → "server" → fromGoogleEvent.
 */
function serverEcho(g: ReturnType<typeof toGoogleEvent>): ReturnType<typeof toGoogleEvent> {
  return { ...g, kind: 'calendar#event', iCalUID: `${g.id}@google.com`, etag: '"1"', organizer: undefined };
}

describe('round trip CalendarEvent → Google → CalendarEvent', () => {
  const cases: Array<[string, CalendarEvent, Partial<CalendarEvent>]> = [
    ['all-day', { uid: 'a', title: 'Holiday', start: { date: '2026-12-24' }, end: { date: '2026-12-25' } }, {}],
    ['UTC', { uid: 'b 1@example.org', sourceId: 'feed/1', title: 'Call', start: { dateTime: '2026-12-01T09:00:00Z' }, end: { dateTime: '2026-12-01T10:00:00Z' }, status: 'TENTATIVE' }, {}],
    ['zoned', { uid: 'c', title: 'Class', location: 'R1', description: 'x', start: { dateTime: '2026-03-29T01:30:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2026-03-29T04:00:00', timeZone: 'Europe/Berlin' } }, {}],
    // 02:30 does not exist on spring-forward day: RFC 5545 reads it as 03:30, and so does Google.
    ['zoned, in a DST gap', { uid: 'c2', title: 'Gap', start: { dateTime: '2026-03-29T02:30:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2026-03-29T04:00:00', timeZone: 'Europe/Berlin' } },
      { start: { dateTime: '2026-03-29T03:30:00', timeZone: 'Europe/Berlin' } }],
    ['floating → default zone', { uid: 'd', title: 'Local', start: { dateTime: '2026-12-01T09:00:00' }, end: { dateTime: '2026-12-01T10:00:00' } },
      { start: { dateTime: '2026-12-01T09:00:00', timeZone: 'Europe/Vienna' }, end: { dateTime: '2026-12-01T10:00:00', timeZone: 'Europe/Vienna' } }],
    ['recurring with exdates', {
      uid: 'e', title: 'Weekly', start: { dateTime: '2026-12-01T09:00:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2026-12-01T10:00:00', timeZone: 'Europe/Berlin' },
      recurrence: { rrule: ['FREQ=WEEKLY;COUNT=5'], rdate: [{ dateTime: '2026-12-31T09:00:00', timeZone: 'Europe/Berlin' }], exdate: [{ dateTime: '2026-12-08T09:00:00', timeZone: 'Europe/Berlin' }] },
    }, {}],
    ['all-day recurring', { uid: 'f', title: 'Daily', start: { date: '2026-12-01' }, end: { date: '2026-12-02' }, recurrence: { rrule: ['FREQ=DAILY;COUNT=3'], rdate: [], exdate: [{ date: '2026-12-02' }] }, transparency: 'TRANSPARENT' }, {}],
  ];
  it.each(cases)('%s', (_name, e, differences) => {
    const s = { syncId: 'S', sourceKey: uidKey(e), fingerprint: 'F' };
    const back = fromGoogleEvent(serverEcho(toGoogleEvent(e, { id: googleEventId('S', s.sourceKey), stamp: s, defaultTimeZone: 'Europe/Vienna' })));
    // The digest of what was written survives the server's echo: no edit is seen.
    expect(back.stamp).toEqual({ ...s, digest: expect.stringMatching(/^d1 /) });
    expect(back.edited).toBeUndefined();
    // Status and transparency are always written explicitly, so they come back even when unset.
    expect(back.event).toEqual({ transparency: 'OPAQUE', status: 'CONFIRMED', ...e, ...differences });
  });

  it('keeps content of arbitrary zoned timed events (property)', () => {
    const zones = ['Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'UTC'];
    fc.assert(fc.property(
      fc.integer({ min: Date.UTC(2000, 0, 1) / 60000, max: Date.UTC(2037, 0, 1) / 60000 }), fc.constantFrom(...zones), fc.string({ maxLength: 40 }),
      (minute, tz, title) => {
        const wall = new Date(minute * 60000).toISOString().slice(0, 19);
        // Wall times inside a DST gap do not exist; they are covered by the table above.
        fc.pre(tz === 'UTC' || utcToWall(wallToUtc(minute * 60000, tz), tz) === minute * 60000);
        const start: EventTime = tz === 'UTC' ? { dateTime: wall + 'Z' } : { dateTime: wall, timeZone: tz };
        const e: CalendarEvent = { uid: 'p', title, start, end: start, transparency: 'OPAQUE' };
        const back = fromGoogleEvent(toGoogleEvent(e)).event;
        expect(back.start).toEqual(start);
        expect(back.title).toBe(title);
      },
    ), { numRuns: 200 });
  });
});

describe('ids', () => {
  it('base32hex matches RFC 4648 test vectors (lower-case, unpadded)', () => {
    const vectors: Array<[string, string]> = [['', ''], ['f', 'co'], ['fo', 'cpng'], ['foo', 'cpnmu'], ['foob', 'cpnmuog'], ['fooba', 'cpnmuoj1'], ['foobar', 'cpnmuoj1e8']];
    for (const [input, out] of vectors) expect(base32hex(Buffer.from(input))).toBe(out);
  });

  it('event ids are deterministic, valid Google ids, and differ by sync, key and generation', () => {
    fc.assert(fc.property(fc.string(), fc.string(), fc.integer({ min: 0, max: 20 }), (sync, key, gen) => {
      const id = googleEventId(sync, key, gen);
      expect(id).toMatch(/^[a-v0-9]{32}$/);
      expect(isDeterministicId(id)).toBe(true);
      expect(googleEventId(sync, key, gen)).toBe(id);
      expect(googleEventId(sync + 'x', key, gen)).not.toBe(id);
      expect(googleEventId(sync, key + 'x', gen)).not.toBe(id);
      expect(googleEventId(sync, key, gen + 1)).not.toBe(id);
    }), { numRuns: 100 });
  });

  const instanceCases: Array<[string, EventTime, string]> = [
    ['zoned → UTC compact', { dateTime: '2026-12-01T09:00:00', timeZone: 'Europe/Berlin' }, 'm1234_20261201T080000Z'],
    ['UTC', { dateTime: '2026-07-01T09:00:00Z' }, 'm1234_20260701T090000Z'],
    ['floating in the series zone', { dateTime: '2026-07-01T09:00:00' }, 'm1234_20260701T070000Z'],
    ['all-day', { date: '2026-12-01' }, 'm1234_20261201'],
  ];
  it.each(instanceCases)('instance id: %s', (_n, t, expected) => {
    expect(googleInstanceId('m1234', t, 'Europe/Berlin')).toBe(expected);
    expect(masterIdOfInstance(expected)).toBe('m1234');
  });
  it('plain ids are not instances', () => {
    expect(masterIdOfInstance(googleEventId('a', 'b'))).toBeUndefined();
  });

  it('stamps survive long keys by chunking, and refuse what Google would truncate', () => {
    const long = { syncId: 's', sourceKey: 'k'.repeat(2500), fingerprint: 'f' };
    const props = stampToProperties(long);
    expect(Object.keys(props).sort()).toEqual(['crFp', 'crKey', 'crKey1', 'crKey2', 'crSyncId']);
    for (const [k, v] of Object.entries(props)) {
      expect(k.length).toBeLessThanOrEqual(44);
      expect(v.length).toBeLessThanOrEqual(1024);
    }
    expect(stampFromProperties(props)).toEqual(long);
    expect(() => stampToProperties({ ...long, fingerprint: 'x'.repeat(1025) })).toThrow(StampTooLongError);
    expect(stampFromProperties({ crSyncId: 's', crFp: 'f' })).toBeUndefined();
  });
});

describe('reading an instant in the second pass of the repeated hour (DST end)', () => {
  // 2026-10-25 in Berlin: 02:00–03:00 happens twice; 01:30Z is 02:30 CET, the second pass.
  const secondPass = Date.UTC(2026, 9, 25, 1, 30);
  test('an end at 01:30Z read in Europe/Berlin keeps its instant (not 02:30 CEST, an hour earlier)', () => {
    const g = { id: 'x', summary: 'Night', start: { dateTime: '2026-10-25T02:00:00+02:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2026-10-25T01:30:00Z', timeZone: 'Europe/Berlin' } };
    const { event } = fromGoogleEvent(g, 'Europe/Berlin');
    expect(wallToUtc(Date.parse(`${event.end.dateTime!.replace(/Z$/, '')}Z`), event.end.timeZone ?? 'UTC')).toBe(secondPass);
    expect(event.start).toEqual({ dateTime: '2026-10-25T02:00:00', timeZone: 'Europe/Berlin' });
  });
  test('the first pass still reads as Berlin wall clock', () => {
    expect(fromGoogleTime({ dateTime: '2026-10-25T00:30:00Z', timeZone: 'Europe/Berlin' })).toEqual({ dateTime: '2026-10-25T02:30:00', timeZone: 'Europe/Berlin' });
    expect(fromGoogleTime({ dateTime: '2026-10-25T01:30:00Z', timeZone: 'Europe/Berlin' })).toEqual({ dateTime: '2026-10-25T01:30:00Z' });
  });
});

describe('X- properties as extendedProperties.shared (issue 9: X-KALTURA-* kept)', () => {
  const kaltura: CalendarEvent = {
    uid: 'kaltura-schedule-event-88120', title: 'Live: town hall',
    start: { dateTime: '2026-11-26T14:00:00Z' }, end: { dateTime: '2026-11-26T15:00:00Z' },
    xProps: [
      { name: 'X-KALTURA-ID', value: '88120' },
      { name: 'X-KALTURA-RESOURCE-IDS', value: '5020', params: { X: 'y' } },
      { name: 'X-ALT-DESC', value: '<p>' + 'x'.repeat(1100) + '</p>' },
      { name: 'X-' + 'A'.repeat(43), value: 'name too long for Google' },
      { name: 'X-KALTURA-ID', value: 'a repeat' },
    ],
  };
  const stamp = { syncId: 'sync-A', sourceKey: 'k1 src u:kaltura-schedule-event-88120', fingerprint: 'fp1' };

  test('kept next to the stamp, named as in the file; long values / names and repeats left out', () => {
    const g = toGoogleEvent(kaltura, { stamp });
    expect(g.extendedProperties?.shared).toEqual({ 'X-KALTURA-ID': '88120', 'X-KALTURA-RESOURCE-IDS': '5020' });
    expect(g.extendedProperties?.private).toEqual(expect.objectContaining(stampToProperties(stamp)));
    expect(g.extendedProperties?.private?.crDg).toMatch(/^d1 /); // the edit digest rides with the stamp
  });
  test('an event without X- properties writes no shared properties', () => {
    expect(toGoogleEvent({ ...kaltura, xProps: undefined }, { stamp }).extendedProperties).toEqual({ private: expect.objectContaining(stampToProperties(stamp)) });
  });
  test('an override patch carries them too (a cancelled one only the stamp)', () => {
    const patch = toGoogleInstancePatch({ ...kaltura, recurrenceId: { dateTime: '2026-11-26T14:00:00Z' } }, { stamp });
    expect(patch.extendedProperties).toEqual({ private: expect.objectContaining(stampToProperties(stamp)), shared: { 'X-KALTURA-ID': '88120', 'X-KALTURA-RESOURCE-IDS': '5020' } });
    expect(toGoogleInstancePatch({ ...kaltura, status: 'CANCELLED' }, { stamp }).extendedProperties).toEqual({ private: stampToProperties(stamp) });
  });
  test('read back into xProps; shared keys that are not X- names are ignored', () => {
    const g = toGoogleEvent(kaltura, { stamp });
    g.extendedProperties!.shared = { ...g.extendedProperties!.shared, otherApp: '1' };
    const { event } = fromGoogleEvent({ ...g, id: 'x' });
    expect(event.xProps).toEqual([{ name: 'X-KALTURA-ID', value: '88120' }, { name: 'X-KALTURA-RESOURCE-IDS', value: '5020' }]);
    expect(fromGoogleEvent({ ...g, id: 'x', extendedProperties: { private: stampToProperties(stamp) } }).event.xProps).toBeUndefined();
  });
});
