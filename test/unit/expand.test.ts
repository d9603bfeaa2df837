import fc from 'fast-check';
import type { CalendarEvent, EventTime } from '../../core/event';
import { expandOccurrences, ExpansionWindowError } from '../../core/recurrence';
import { eventTimeToUtc, utcToWall, formatWall, instantToEventTime, zoneOffsetMs } from '../../core/time';
import { PassThrough } from 'node:stream';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli';

function ev(uid: string, start: EventTime, end: EventTime, extra: Partial<CalendarEvent> = {}): CalendarEvent {
  return { uid, title: uid, start, end, ...extra };
}
const zoned = (dateTime: string, timeZone = 'Europe/Berlin'): EventTime => ({ dateTime, timeZone });
const rec = (rrule: string[], more: Partial<NonNullable<CalendarEvent['recurrence']>> = {}) => ({ rrule, rdate: [], exdate: [], ...more });
const startsUtc = (r: ReturnType<typeof expandOccurrences>) => r.occurrences.map((o) => new Date(eventTimeToUtc(o.start)).toISOString().slice(0, 19) + 'Z');

describe('expandOccurrences', () => {
  test('a 09:00 Europe/Berlin weekly meeting stays 09:00 local across both DST changes', () => {
    const master = ev('w', zoned('2025-03-17T09:00:00'), zoned('2025-03-17T10:00:00'), { recurrence: rec(['FREQ=WEEKLY;COUNT=40']) });
    const r = expandOccurrences([master], '2025-03-01T00:00:00Z', '2025-12-31T00:00:00Z');
    expect(r.errors).toEqual([]);
    expect(r.occurrences).toHaveLength(40);
    for (const o of r.occurrences) {
      expect(o.start.timeZone).toBe('Europe/Berlin');
      expect(o.start.dateTime!.slice(11)).toBe('09:00:00');
      expect(o.end.dateTime!.slice(11)).toBe('10:00:00');
      // and the instant really is 09:00 in Berlin
      expect(formatWall(utcToWall(eventTimeToUtc(o.start), 'Europe/Berlin')).slice(11)).toBe('09:00:00');
    }
    const s = startsUtc(r);
    expect(s[0]).toBe('2025-03-17T08:00:00Z'); // CET, UTC+1
    expect(s[2]).toBe('2025-03-31T07:00:00Z'); // CEST after 30 March, UTC+2
    expect(s).toContain('2025-10-20T07:00:00Z');
    expect(s).toContain('2025-10-27T08:00:00Z'); // CET again after 26 October
  });

  test('each instance gets the master\'s exact elapsed duration, also across a DST change', () => {
    // 01:00–05:00 New York, 4 real hours; on 2025-03-09 that ends at 06:00 local.
    const master = ev('d', zoned('2025-03-07T01:00:00', 'America/New_York'), zoned('2025-03-07T05:00:00', 'America/New_York'), { recurrence: rec(['FREQ=DAILY;COUNT=4']) });
    const r = expandOccurrences([master], '2025-03-01', '2025-04-01');
    const dst = r.occurrences.find((o) => o.start.dateTime === '2025-03-09T01:00:00')!;
    expect(eventTimeToUtc(dst.end) - eventTimeToUtc(dst.start)).toBe(4 * 3600_000);
    expect(dst.end.dateTime).toBe('2025-03-09T06:00:00');
  });

  test('overrides: moved, cancelled, and moved from outside the window into it', () => {
    const master = ev('o', zoned('2025-01-06T09:00:00'), zoned('2025-01-06T10:00:00'), { recurrence: rec(['FREQ=WEEKLY;COUNT=10']) });
    const moved = ev('o', zoned('2025-01-14T15:00:00'), zoned('2025-01-14T16:00:00'), { recurrenceId: zoned('2025-01-13T09:00:00'), title: 'moved' });
    // Cancelled one is written in UTC: 09:00 Berlin = 08:00Z.
    const cancelled = ev('o', zoned('2025-01-20T09:00:00'), zoned('2025-01-20T10:00:00'), { recurrenceId: { dateTime: '2025-01-20T08:00:00Z' }, status: 'CANCELLED' });
    // Original 2025-03-03 (outside the window), moved into it.
    const movedIn = ev('o', zoned('2025-01-29T12:00:00'), zoned('2025-01-29T13:00:00'), { recurrenceId: zoned('2025-03-03T09:00:00'), title: 'moved in' });
    // An override naming no generated instance still appears.
    const stray = ev('o', zoned('2025-01-30T12:00:00'), zoned('2025-01-30T13:00:00'), { recurrenceId: zoned('2025-01-30T09:00:00'), title: 'stray' });
    const r = expandOccurrences([movedIn, master, moved, cancelled, stray], '2025-01-01T00:00:00Z', '2025-02-01T00:00:00Z');
    expect(r.errors).toEqual([]);
    expect(r.occurrences.map((o) => [o.start.dateTime, o.title])).toEqual([
      ['2025-01-06T09:00:00', 'o'],
      ['2025-01-14T15:00:00', 'moved'],
      ['2025-01-27T09:00:00', 'o'],
      ['2025-01-29T12:00:00', 'moved in'],
      ['2025-01-30T12:00:00', 'stray'],
    ]);
    expect(r.occurrences[1].recurrenceId).toEqual(zoned('2025-01-13T09:00:00'));
    expect(r.occurrences[1].event).toBe(moved);
    // The moved-out original is gone from its own window too.
    const march = expandOccurrences([movedIn, master], '2025-03-01', '2025-03-05');
    expect(march.occurrences).toEqual([]);
  });

  test('EXDATE in UTC or as a DATE excludes zoned instances by instant/day', () => {
    const master = ev('x', zoned('2025-06-02T09:00:00'), zoned('2025-06-02T09:30:00'), {
      recurrence: rec(['FREQ=DAILY;COUNT=5'], { exdate: [{ dateTime: '2025-06-03T07:00:00Z' }, { date: '2025-06-05' }, zoned('2025-06-04T09:00:00', 'America/New_York')] }),
    });
    const r = expandOccurrences([master], '2025-06-01', '2025-07-01');
    // 06-04 09:00 New York is not 06-04 09:00 Berlin, so that one stays.
    expect(r.occurrences.map((o) => o.start.dateTime)).toEqual(['2025-06-02T09:00:00', '2025-06-04T09:00:00', '2025-06-06T09:00:00']);
  });

  test('UNTIL in UTC is compared as an instant against zoned instances', () => {
    // 09:00 Berlin = 07:00Z in summer; UNTIL 07:00Z on 06-04 includes 06-04, UNTIL 06:59:59Z excludes it.
    const mk = (until: string) => ev('u', zoned('2025-06-02T09:00:00'), zoned('2025-06-02T10:00:00'), { recurrence: rec([`FREQ=DAILY;UNTIL=${until}`]) });
    expect(expandOccurrences([mk('20250604T070000Z')], '2025-06-01', '2025-07-01').occurrences).toHaveLength(3);
    expect(expandOccurrences([mk('20250604T065959Z')], '2025-06-01', '2025-07-01').occurrences).toHaveLength(2);
  });

  test('all-day yearly series steps by dates, including Feb 29 only in leap years', () => {
    const bday = ev('b', { date: '2024-02-29' }, { date: '2024-03-01' }, { recurrence: rec(['FREQ=YEARLY']) });
    const r = expandOccurrences([bday], '2024-01-01', '2033-01-01');
    expect(r.occurrences.map((o) => o.start.date)).toEqual(['2024-02-29', '2028-02-29', '2032-02-29']);
    expect(r.occurrences.every((o) => o.allDay && o.end.date === `${o.start.date!.slice(0, 4)}-03-01`)).toBe(true);
    // Read in a floating zone, the day starts at local midnight.
    const inTokyo = expandOccurrences([bday], '2028-02-28T14:00:00Z', '2028-02-28T16:00:00Z', { floatingZone: 'Asia/Tokyo' });
    expect(inTokyo.occurrences.map((o) => o.start.date)).toEqual(['2028-02-29']);
  });

  test('floating series stay floating and are placed in floatingZone', () => {
    const f = ev('f', { dateTime: '2025-01-01T08:00:00' }, { dateTime: '2025-01-01T08:30:00' }, { recurrence: rec(['FREQ=DAILY;COUNT=3']) });
    const utc = expandOccurrences([f], '2025-01-01', '2025-01-10');
    expect(utc.occurrences.map((o) => o.start)).toEqual([{ dateTime: '2025-01-01T08:00:00' }, { dateTime: '2025-01-02T08:00:00' }, { dateTime: '2025-01-03T08:00:00' }]);
    // 08:00 in New York is 13:00Z: a window ending at 12:00Z on the 1st excludes the first.
    const ny = expandOccurrences([f], '2025-01-01T12:30:00Z', '2025-01-03T12:30:00Z', { floatingZone: 'America/New_York' });
    expect(ny.occurrences.map((o) => o.start.dateTime)).toEqual(['2025-01-01T08:00:00', '2025-01-02T08:00:00']);
  });

  test('RDATE adds instances (zoned elsewhere, UTC, or DATE at DTSTART\'s time) and duplicates collapse', () => {
    const master = ev('r', zoned('2025-05-05T09:00:00'), zoned('2025-05-05T10:00:00'), {
      recurrence: rec(['FREQ=WEEKLY;COUNT=2'], { rdate: [{ dateTime: '2025-05-07T12:00:00Z' }, { date: '2025-05-20' }, zoned('2025-05-12T09:00:00'), zoned('2025-05-21T03:00:00', 'America/New_York')] }),
    });
    const r = expandOccurrences([master], '2025-05-01', '2025-06-01');
    expect(r.occurrences.map((o) => o.start.dateTime)).toEqual(['2025-05-05T09:00:00', '2025-05-07T14:00:00', '2025-05-12T09:00:00', '2025-05-20T09:00:00', '2025-05-21T09:00:00']);
  });

  test('EXRULE removes what it generates', () => {
    const master = ev('e', { dateTime: '2025-01-01T10:00:00Z' }, { dateTime: '2025-01-01T11:00:00Z' }, { recurrence: rec(['FREQ=DAILY;COUNT=7'], { exrule: ['FREQ=DAILY;INTERVAL=2'] }) });
    const r = expandOccurrences([master], '2025-01-01', '2025-02-01');
    expect(r.occurrences.map((o) => o.start.dateTime)).toEqual(['2025-01-02T10:00:00Z', '2025-01-04T10:00:00Z', '2025-01-06T10:00:00Z']);
  });

  test.each([
    ['start == to is excluded', '2025-01-01T10:00:00Z', '2025-01-01T11:00:00Z', '2025-01-01T00:00:00Z', '2025-01-01T10:00:00Z', 0],
    ['end == from is excluded', '2025-01-01T10:00:00Z', '2025-01-01T11:00:00Z', '2025-01-01T11:00:00Z', '2025-01-02T00:00:00Z', 0],
    ['overlapping the start is included', '2025-01-01T10:00:00Z', '2025-01-01T11:00:00Z', '2025-01-01T10:59:59Z', '2025-01-02T00:00:00Z', 1],
    ['zero-length at from is included', '2025-01-01T10:00:00Z', '2025-01-01T10:00:00Z', '2025-01-01T10:00:00Z', '2025-01-02T00:00:00Z', 1],
    ['zero-length at to is excluded', '2025-01-01T10:00:00Z', '2025-01-01T10:00:00Z', '2025-01-01T00:00:00Z', '2025-01-01T10:00:00Z', 0],
  ])('window edges: %s', (_name, s, e, from, to, n) => {
    const single = ev('s', { dateTime: s }, { dateTime: e });
    const series = ev('t', { dateTime: s.replace('2025-01-01', '2024-12-31') }, { dateTime: e.replace('2025-01-01', '2024-12-31') }, { recurrence: rec(['FREQ=DAILY;COUNT=3']) });
    expect(expandOccurrences([single], from, to).occurrences).toHaveLength(n);
    // The same edge rule applies to generated instances (the second instance sits at the same time).
    expect(expandOccurrences([series], from, to).occurrences.filter((o) => o.start.dateTime === s)).toHaveLength(n);
  });

  test('a runaway rule becomes an error naming uid and rule, without hanging, and other series still expand', () => {
    const runaway = ev('runaway', { dateTime: '2025-01-01T00:00:00Z' }, { dateTime: '2025-01-01T00:00:01Z' }, { recurrence: rec(['FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30']) });
    const fine = ev('fine', { dateTime: '2025-01-01T09:00:00Z' }, { dateTime: '2025-01-01T10:00:00Z' }, { recurrence: rec(['FREQ=DAILY;COUNT=2']) });
    const t0 = Date.now();
    const r = expandOccurrences([runaway, fine], '2025-01-01', '2026-01-01');
    expect(Date.now() - t0).toBeLessThan(20_000); // generous: only proves it terminates
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0].uid).toBe('runaway');
    expect(r.errors[0].message).toContain('FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30');
    // DTSTART still counts, and the other series is complete.
    expect(r.occurrences.map((o) => o.uid)).toEqual(['runaway', 'fine', 'fine']);
  });

  test('FREQ=DAILY;BYMONTHDAY=-1 terminates and yields month ends', () => {
    const m = ev('eom', { dateTime: '2025-01-31T17:00:00Z' }, { dateTime: '2025-01-31T18:00:00Z' }, { recurrence: rec(['FREQ=DAILY;BYMONTHDAY=-1']) });
    const r = expandOccurrences([m], '2025-01-01', '2025-05-01');
    expect(r.occurrences.map((o) => o.start.dateTime!.slice(0, 10))).toEqual(['2025-01-31', '2025-02-28', '2025-03-31', '2025-04-30']);
  });

  test('a broken RRULE is an error for that series only; its DTSTART instance still counts', () => {
    const broken = ev('broken', { dateTime: '2025-01-02T09:00:00Z' }, { dateTime: '2025-01-02T10:00:00Z' }, { recurrence: rec(['FREQ=WEEKLY;BYMONTHDAY=40']) });
    const ok = ev('ok', { date: '2025-01-03' }, { date: '2025-01-04' }, { recurrence: rec(['FREQ=DAILY;COUNT=2']) });
    const r = expandOccurrences([broken, ok], '2025-01-01', '2025-02-01');
    expect(r.errors).toEqual([expect.objectContaining({ uid: 'broken', message: expect.stringContaining('BYMONTHDAY=40') })]);
    expect(r.occurrences.map((o) => [o.uid, o.start.dateTime ?? o.start.date])).toEqual([['broken', '2025-01-02T09:00:00Z'], ['ok', '2025-01-03'], ['ok', '2025-01-04']]);
  });

  test('non-recurring events pass through when they overlap; cancelled ones do not; same uid in two sources stays apart', () => {
    const a = ev('same', { dateTime: '2025-01-05T09:00:00Z' }, { dateTime: '2025-01-05T10:00:00Z' }, { sourceId: 'A', recurrence: rec(['FREQ=DAILY;COUNT=2']) });
    const bOverride = ev('same', { dateTime: '2025-01-05T12:00:00Z' }, { dateTime: '2025-01-05T13:00:00Z' }, { sourceId: 'B', recurrenceId: { dateTime: '2025-01-05T09:00:00Z' } });
    const single = ev('single', { dateTime: '2025-01-05T08:00:00Z' }, { dateTime: '2025-01-05T08:30:00Z' });
    const gone = ev('gone', { dateTime: '2025-01-05T08:00:00Z' }, { dateTime: '2025-01-05T08:30:00Z' }, { status: 'CANCELLED' });
    const outside = ev('outside', { dateTime: '2024-01-05T08:00:00Z' }, { dateTime: '2024-01-05T08:30:00Z' });
    const r = expandOccurrences([a, bOverride, single, gone, outside], '2025-01-01', '2025-02-01');
    expect(r.occurrences.map((o) => `${o.sourceId ?? '-'}:${o.uid}@${o.start.dateTime}`)).toEqual([
      '-:single@2025-01-05T08:00:00Z', 'A:same@2025-01-05T09:00:00Z', 'B:same@2025-01-05T12:00:00Z', 'A:same@2025-01-06T09:00:00Z',
    ]);
    expect(r.occurrences[0].recurrenceId).toBeNull();
  });

  test('a series that started long ago is expanded in a late window (periods before it are skipped, COUNT still counts from DTSTART)', () => {
    const old = ev('old', zoned('1990-01-01T09:00:00'), zoned('1990-01-01T10:00:00'), { recurrence: rec(['FREQ=WEEKLY;BYDAY=MO,TH']) });
    const counted = ev('counted', zoned('1990-01-01T09:00:00'), zoned('1990-01-01T10:00:00'), { recurrence: rec(['FREQ=DAILY;COUNT=20000']) });
    const r = expandOccurrences([old, counted], '2025-03-01', '2025-03-08');
    expect(r.occurrences.filter((o) => o.uid === 'old').map((o) => o.start.dateTime)).toEqual(['2025-03-03T09:00:00', '2025-03-06T09:00:00']);
    expect(r.occurrences.filter((o) => o.uid === 'counted')).toHaveLength(7); // 20,000 days from 1990 run into 2044
  });

  test('bad window bounds raise ExpansionWindowError', () => {
    expect(() => expandOccurrences([], 'yesterday', '2025-01-01')).toThrow(ExpansionWindowError);
    expect(() => expandOccurrences([], '2025-01-01', Number.NaN)).toThrow(ExpansionWindowError);
  });

  test('property: occurrences are sorted, inside the window, and COUNT=n yields n over an unbounded window', () => {
    const freqs = ['DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY', 'HOURLY'];
    const zones = ['Europe/Berlin', 'America/New_York', 'Australia/Sydney', 'UTC'];
    fc.assert(
      fc.property(
        fc.constantFrom(...freqs), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 30 }), fc.constantFrom(...zones),
        fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 180 }),
        fc.integer({ min: 0, max: 4000 }), fc.integer({ min: 1, max: 400 }),
        (freq, interval, count, tz, dayOffset, hour, durMin, fromOffset, windowDays) => {
          const day = new Date(Date.UTC(2020, 0, 1) + dayOffset * 86_400_000).toISOString().slice(0, 10);
          const hh = String(hour).padStart(2, '0');
          const start = zoned(`${day}T${hh}:30:00`, tz);
          const end: EventTime = { dateTime: `${day}T${hh}:30:00`, timeZone: tz };
          const endUtc = eventTimeToUtc(start) + durMin * 60_000;
          end.dateTime = formatWall(utcToWall(endUtc, tz));
          const e = ev('p', start, end, { recurrence: rec([`FREQ=${freq};INTERVAL=${interval};COUNT=${count}`]) });
          const all = expandOccurrences([e], '1900-01-01', '9999-01-01');
          expect(all.errors).toEqual([]);
          expect(all.occurrences).toHaveLength(count);
          const from = Date.UTC(2020, 0, 1) + fromOffset * 86_400_000;
          const to = from + windowDays * 86_400_000;
          const part = expandOccurrences([e], from, to);
          let prev = -Infinity;
          for (const o of part.occurrences) {
            const s = eventTimeToUtc(o.start), en = eventTimeToUtc(o.end);
            expect(s).toBeGreaterThanOrEqual(prev);
            prev = s;
            expect(en - s).toBe(durMin * 60_000);
            expect(s < to && (en > from || (en === s && s >= from))).toBe(true);
          }
          // The window holds exactly the instances of the unbounded expansion that overlap it.
          const expected = all.occurrences.filter((o) => { const s = eventTimeToUtc(o.start), en = eventTimeToUtc(o.end); return s < to && (en > from || (en === s && s >= from)); });
          expect(part.occurrences.map((o) => o.start.dateTime)).toEqual(expected.map((o) => o.start.dateTime));
        },
      ),
      { numRuns: 150 },
    );
  });

  describe('the hour repeated when DST ends', () => {
    test('an occurrence ending in the second pass keeps its real end (New York weekly 01:30–02:30)', () => {
      const master = ev('ny', zoned('2026-10-04T01:30:00', 'America/New_York'), zoned('2026-10-04T02:30:00', 'America/New_York'), { recurrence: rec(['FREQ=WEEKLY;COUNT=6']) });
      const r = expandOccurrences([master], '2026-10-01', '2026-12-01');
      expect(r.errors).toEqual([]);
      for (const o of r.occurrences) expect(eventTimeToUtc(o.end) - eventTimeToUtc(o.start)).toBe(3600_000);
      const nov1 = r.occurrences.find((o) => o.start.dateTime === '2026-11-01T01:30:00')!;
      // the start is the first 01:30 (EDT, RFC 5545); one hour later it is 01:30 EST
      expect(eventTimeToUtc(nov1.start)).toBe(Date.parse('2026-11-01T05:30:00Z'));
      expect(nov1.end).toEqual({ dateTime: '2026-11-01T06:30:00Z' });
      // the other ends stay in the series' zone
      expect(r.occurrences.filter((o) => o !== nov1).every((o) => o.end.timeZone === 'America/New_York')).toBe(true);
    });

    test('a series starting in the repeated hour starts at its first pass (RFC 5545)', () => {
      const master = ev('b', zoned('2026-10-24T02:30:00'), zoned('2026-10-24T03:30:00'), { recurrence: rec(['FREQ=DAILY;COUNT=3']) });
      const r = expandOccurrences([master], '2026-10-01', '2026-11-01');
      const oct25 = r.occurrences[1];
      expect(oct25.start).toEqual(zoned('2026-10-25T02:30:00'));
      expect(eventTimeToUtc(oct25.start)).toBe(Date.parse('2026-10-25T00:30:00Z'));
      expect(eventTimeToUtc(oct25.end)).toBe(Date.parse('2026-10-25T01:30:00Z'));
      expect(oct25.end).toEqual({ dateTime: '2026-10-25T01:30:00Z' }); // 02:30 again, in standard time
    });

    test('an explicit end in the repeated hour that reads as before its start means the second pass', () => {
      // 02:45 summer time → 02:30 standard time: 45 minutes
      const single = ev('s', zoned('2026-10-25T02:45:00'), zoned('2026-10-25T02:30:00'));
      const r = expandOccurrences([single], '2026-10-24', '2026-10-26');
      expect(r.occurrences).toHaveLength(1);
      expect(r.occurrences[0].end).toEqual({ dateTime: '2026-10-25T01:30:00Z' });
      // and a series with such a master gets 45 minutes on every occurrence
      const series = ev('t', zoned('2026-10-25T02:45:00'), zoned('2026-10-25T02:30:00'), { recurrence: rec(['FREQ=DAILY;COUNT=3']) });
      const r2 = expandOccurrences([series], '2026-10-24', '2026-11-01');
      expect(r2.occurrences.map((o) => (eventTimeToUtc(o.end) - eventTimeToUtc(o.start)) / 60_000)).toEqual([45, 45, 45]);
    });

    test('property: every occurrence lasts exactly the master\'s duration, for series around fall-back', () => {
      const zones = ['Europe/Berlin', 'America/New_York', 'Australia/Sydney', 'Europe/London'];
      // instants of each zone's fall-back in 2026
      const fallBacks = zones.map((tz) => {
        for (let u = Date.UTC(2026, 0, 1); ; u += 3600_000) if (zoneOffsetMs(tz, u) > zoneOffsetMs(tz, u + 3600_000)) return u + 3600_000;
      });
      fc.assert(
        fc.property(fc.integer({ min: 0, max: zones.length - 1 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: -240, max: 120 }), fc.integer({ min: 1, max: 180 }), fc.constantFrom('DAILY', 'WEEKLY'),
          (zi, weeksBefore, minuteOffset, durMin, freq) => {
            const tz = zones[zi];
            const firstUtc = fallBacks[zi] + minuteOffset * 60_000 - weeksBefore * 7 * 86_400_000;
            const start = instantToEventTime(firstUtc, { dateTime: '2000-01-01T00:00:00', timeZone: tz });
            const end = instantToEventTime(eventTimeToUtc(start) + durMin * 60_000, start);
            const e = ev('p', start, end, { recurrence: rec([`FREQ=${freq};COUNT=${weeksBefore * 7 + 3}`]) });
            const r = expandOccurrences([e], firstUtc - 86_400_000, fallBacks[zi] + 10 * 86_400_000);
            expect(r.errors).toEqual([]);
            for (const o of r.occurrences) expect(eventTimeToUtc(o.end) - eventTimeToUtc(o.start)).toBe(durMin * 60_000);
          }),
        { numRuns: 300 },
      );
    });

    describe('through the CLI contract', () => {
      const dir = mkdtempSync(join(tmpdir(), 'cr-expand-'));
      afterAll(() => rmSync(dir, { recursive: true, force: true }));
      async function cli(argv: string[], ics: string) {
        const file = join(dir, `f${Math.random().toString(36).slice(2)}.ics`);
        writeFileSync(file, ics);
        let stdout = '', stderr = '';
        const code = await main([argv[0], file, ...argv.slice(1)], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), stdin: new PassThrough(), now: () => Date.parse('2026-11-22T12:00:00Z') });
        return { code, stdout, stderr };
      }
      const cal = (...vevent: string[]) => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', 'BEGIN:VEVENT', 'DTSTAMP:20260101T000000Z', ...vevent, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');

      test('DTSTART 02:30 Europe/Berlin + DURATION PT1H on fall-back day ends at 01:30Z', async () => {
        const ics = cal('UID:dur@test', 'DTSTART;TZID=Europe/Berlin:20261025T023000', 'DURATION:PT1H', 'SUMMARY:Night shift');
        const r = await cli(['expand', '--from', '2026-10-24', '--to', '2026-10-26'], ics);
        expect(r.code).toBe(0);
        expect(JSON.parse(r.stdout)).toEqual([{ uid: 'dur@test', recurrenceId: null, start: '2026-10-25T00:30:00Z', end: '2026-10-25T01:30:00Z', allDay: false, title: 'Night shift' }]);
        const parsed = JSON.parse((await cli(['parse'], ics)).stdout);
        expect(parsed.events[0].end).toEqual({ dateTime: '2026-10-25T01:30:00Z' });
      });

      test('weekly America/New_York 01:30–02:30: the 2026-11-01 occurrence is 05:30Z–06:30Z', async () => {
        const ics = cal('UID:ny@test', 'DTSTART;TZID=America/New_York:20261018T013000', 'DTEND;TZID=America/New_York:20261018T023000', 'RRULE:FREQ=WEEKLY;COUNT=4', 'SUMMARY:Backup');
        const r = await cli(['expand', '--from', '2026-10-01', '--to', '2026-12-01'], ics);
        expect(r.code).toBe(0);
        expect(JSON.parse(r.stdout).map((o: { start: string; end: string }) => `${o.start}–${o.end}`)).toEqual([
          '2026-10-18T05:30:00Z–2026-10-18T06:30:00Z',
          '2026-10-25T05:30:00Z–2026-10-25T06:30:00Z',
          '2026-11-01T05:30:00Z–2026-11-01T06:30:00Z',
          '2026-11-08T06:30:00Z–2026-11-08T07:30:00Z',
        ]);
      });
    });
  });
});
