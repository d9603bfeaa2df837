import fc from 'fast-check';
import { zoneTransitions } from '../../core/ics/vtimezone';
import { wallToUtc, utcToWall, parseWall, formatUtc, formatWall, addDuration, parseDuration, eventTimeToUtc, zoneOffsetMs, instantToEventTime, instantInZone, disambiguateEnd } from '../../core/time';

const DST_ZONES = ['Europe/Berlin', 'America/New_York', 'Australia/Sydney', 'Europe/London', 'America/Sao_Paulo', 'Australia/Lord_Howe'];

describe('core/time', () => {
  test.each([
    // [wall, zone, expected UTC]
    ['2025-01-15T09:00:00', 'Europe/Berlin', '2025-01-15T08:00:00Z'],
    ['2025-07-15T09:00:00', 'Europe/Berlin', '2025-07-15T07:00:00Z'],
    // spring-forward gap: 02:30 does not exist → read with the offset before the gap
    ['2025-03-30T02:30:00', 'Europe/Berlin', '2025-03-30T01:30:00Z'],
    // fall-back overlap: 02:30 happens twice → the first one (CEST)
    ['2025-10-26T02:30:00', 'Europe/Berlin', '2025-10-26T00:30:00Z'],
    ['2025-03-09T02:30:00', 'America/New_York', '2025-03-09T07:30:00Z'],
    ['2025-11-02T01:30:00', 'America/New_York', '2025-11-02T05:30:00Z'],
    ['2025-06-01T12:00:00', 'Asia/Kolkata', '2025-06-01T06:30:00Z'],
    ['2025-06-01T12:00:00', 'Australia/Lord_Howe', '2025-06-01T01:30:00Z'],
  ])('%s %s → %s', (wall, tz, utc) => {
    const u = wallToUtc(parseWall(wall), tz);
    expect(formatUtc(u)).toBe(utc);
  });

  test('utcToWall inverts wallToUtc outside gaps', () => {
    for (const tz of ['Europe/Berlin', 'America/Sao_Paulo', 'Pacific/Auckland']) {
      for (let t = Date.UTC(2024, 0, 1); t < Date.UTC(2025, 0, 1); t += 3_600_000 * 7) {
        const wall = utcToWall(t, tz);
        const back = wallToUtc(wall, tz);
        expect(utcToWall(back, tz)).toBe(wall);
      }
    }
  });

  test('unknown zone throws a named error', () => {
    expect(() => zoneOffsetMs('Mars/Olympus', 0)).toThrow(/unknown time zone "Mars\/Olympus"/);
  });

  test('durations: days are nominal, hours exact', () => {
    const start = { dateTime: '2025-03-29T09:00:00', timeZone: 'Europe/Berlin' };
    expect(addDuration(start, parseDuration('P1D'))).toEqual({ dateTime: '2025-03-30T09:00:00', timeZone: 'Europe/Berlin' });
    expect(addDuration(start, parseDuration('PT24H'))).toEqual({ dateTime: '2025-03-30T10:00:00', timeZone: 'Europe/Berlin' });
    expect(addDuration({ date: '2024-02-28' }, parseDuration('P2D'))).toEqual({ date: '2024-03-01' });
    expect(addDuration({ dateTime: '2024-01-01T23:30:00Z' }, parseDuration('PT45M'))).toEqual({ dateTime: '2024-01-02T00:15:00Z' });
    expect(parseDuration('-PT15M')).toEqual({ days: 0, ms: -900000 });
    expect(parseDuration('P2W')).toEqual({ days: 14, ms: 0 });
    expect(() => parseDuration('1H')).toThrow(/not a duration/);
    expect(() => parseDuration('PT')).toThrow(/not a duration/);
  });

  test('eventTimeToUtc reads floating/all-day in the given zone', () => {
    expect(formatUtc(eventTimeToUtc({ date: '2025-01-01' }))).toBe('2025-01-01T00:00:00Z');
    expect(formatUtc(eventTimeToUtc({ dateTime: '2025-01-01T10:00:00' }, 'Europe/Berlin'))).toBe('2025-01-01T09:00:00Z');
    expect(formatWall(parseWall('0099-01-01T00:00:00'))).toBe('0099-01-01T00:00:00');
    expect(() => parseWall('2025-02-30')).toThrow(/not a real calendar date/);
  });

  describe('the repeated hour when DST ends', () => {
    test('wallToUtc reads an ambiguous wall time as its first occurrence, or its second when asked', () => {
      const wall = parseWall('2026-10-25T02:30:00');
      expect(formatUtc(wallToUtc(wall, 'Europe/Berlin'))).toBe('2026-10-25T00:30:00Z');
      expect(formatUtc(wallToUtc(wall, 'Europe/Berlin', 'later'))).toBe('2026-10-25T01:30:00Z');
      // unambiguous and gap times do not depend on the preference
      for (const w of ['2026-10-25T03:30:00', '2026-03-29T02:30:00', '2026-07-01T12:00:00']) {
        expect(wallToUtc(parseWall(w), 'Europe/Berlin', 'later')).toBe(wallToUtc(parseWall(w), 'Europe/Berlin'));
      }
    });

    test.each([
      // [start, zone, duration, expected end]
      ['2026-10-25T02:30:00', 'Europe/Berlin', 'PT1H', { dateTime: '2026-10-25T01:30:00Z' }], // 02:30 CET: the second 02:30
      ['2026-10-25T02:00:00', 'Europe/Berlin', 'PT30M', { dateTime: '2026-10-25T02:30:00', timeZone: 'Europe/Berlin' }], // the first 02:30: zoned is exact
      ['2026-10-25T02:00:00', 'Europe/Berlin', 'PT2H', { dateTime: '2026-10-25T03:00:00', timeZone: 'Europe/Berlin' }],
      ['2026-11-01T01:30:00', 'America/New_York', 'PT1H', { dateTime: '2026-11-01T06:30:00Z' }],
      ['2026-11-01T00:45:00', 'America/New_York', 'PT1H30M', { dateTime: '2026-11-01T06:15:00Z' }],
      ['2026-04-05T02:30:00', 'Australia/Sydney', 'PT1H', { dateTime: '2026-04-04T16:30:00Z' }],
    ])('addDuration(%s %s, %s) keeps the instant: %j', (start, tz, dur, end) => {
      const s = { dateTime: start, timeZone: tz };
      const e = addDuration(s, parseDuration(dur));
      expect(e).toEqual(end);
      const d = parseDuration(dur);
      expect(eventTimeToUtc(e) - eventTimeToUtc(s)).toBe(d.ms);
    });

    test('property: instantToEventTime denotes the same instant, zoned whenever the zoned form is exact', () => {
      // half the samples within three hours of a fall-back, where the two readings differ
      const fallBacks = new Map(DST_ZONES.map((tz) => [tz, zoneTransitions(tz, Date.UTC(2000, 0, 1), Date.UTC(2035, 0, 1)).filter((t) => t.to < t.from).map((t) => t.utcMs)]));
      const anywhere = fc.tuple(fc.constantFrom(...DST_ZONES), fc.integer({ min: Date.UTC(2000, 0, 1) / 60_000, max: Date.UTC(2035, 0, 1) / 60_000 }).map((m) => m * 60_000));
      const nearFallBack = fc.tuple(fc.constantFrom(...DST_ZONES), fc.nat(), fc.integer({ min: -180, max: 180 })).map(([tz, i, m]): [string, number] => {
        const list = fallBacks.get(tz)!;
        return [tz, list[i % list.length] + m * 60_000];
      });
      let secondPass = 0;
      fc.assert(
        fc.property(fc.oneof(anywhere, nearFallBack), ([tz, utc]) => {
          const t = instantToEventTime(utc, { dateTime: '2000-01-01T00:00:00', timeZone: tz });
          expect(eventTimeToUtc(t)).toBe(utc);
          if (t.timeZone === undefined) {
            // only the second reading of a repeated wall time needs UTC
            expect(t.dateTime!.endsWith('Z')).toBe(true);
            expect(wallToUtc(utcToWall(utc, tz), tz)).toBeLessThan(utc);
            secondPass++;
          } else expect(t).toEqual({ dateTime: formatWall(utcToWall(utc, tz)), timeZone: tz });
          expect(instantInZone(utc, tz)).toEqual(t);
        }),
        { numRuns: 2000 },
      );
      expect(secondPass).toBeGreaterThan(50);
    });

    test('property: addDuration adds exactly the exact part, around every transition', () => {
      fc.assert(
        fc.property(fc.constantFrom(...DST_ZONES), fc.integer({ min: 2020, max: 2030 }), fc.integer({ min: 0, max: 365 }), fc.integer({ min: -240, max: 240 }), fc.integer({ min: 0, max: 300 }),
          (tz, year, day, minuteNearTransition, durMin) => {
            // pick instants close to this zone's transitions by scanning the day for an offset change
            const dayStart = Date.UTC(year, 0, 1) + day * 86_400_000;
            const startUtc = dayStart + 12 * 3600_000 + minuteNearTransition * 60_000;
            const start = instantToEventTime(startUtc, { dateTime: '2000-01-01T00:00:00', timeZone: tz });
            const end = addDuration(start, { days: 0, ms: durMin * 60_000 });
            expect(eventTimeToUtc(end) - eventTimeToUtc(start)).toBe(durMin * 60_000);
          }),
        { numRuns: 1000 },
      );
      // and explicitly across each 2026 fall-back of these zones
      for (const tz of DST_ZONES) {
        for (let u = Date.UTC(2026, 0, 1); u < Date.UTC(2027, 0, 1); u += 86_400_000) {
          if (zoneOffsetMs(tz, u) <= zoneOffsetMs(tz, u + 86_400_000)) continue;
          for (let m = -180; m <= 180; m += 15) {
            const start = instantToEventTime(u + m * 60_000, { dateTime: '2000-01-01T00:00:00', timeZone: tz });
            for (const durMin of [15, 30, 60, 90, 120]) {
              expect(eventTimeToUtc(addDuration(start, { days: 0, ms: durMin * 60_000 })) - eventTimeToUtc(start)).toBe(durMin * 60_000);
            }
          }
        }
      }
    });

    test.each([
      // [start, end, expected]: RFC "first occurrence" unless that puts the end before the start
      [{ dateTime: '2026-10-25T02:45:00', timeZone: 'Europe/Berlin' }, { dateTime: '2026-10-25T02:30:00', timeZone: 'Europe/Berlin' }, { dateTime: '2026-10-25T01:30:00Z' }],
      [{ dateTime: '2026-10-25T00:45:00Z' }, { dateTime: '2026-10-25T02:30:00', timeZone: 'Europe/Berlin' }, { dateTime: '2026-10-25T01:30:00Z' }],
      [{ dateTime: '2026-10-25T02:00:00', timeZone: 'Europe/Berlin' }, { dateTime: '2026-10-25T02:30:00', timeZone: 'Europe/Berlin' }, { dateTime: '2026-10-25T02:30:00', timeZone: 'Europe/Berlin' }],
      [{ dateTime: '2026-10-25T02:30:00', timeZone: 'Europe/Berlin' }, { dateTime: '2026-10-25T02:30:00', timeZone: 'Europe/Berlin' }, { dateTime: '2026-10-25T02:30:00', timeZone: 'Europe/Berlin' }],
      // not ambiguous: left alone even when it is before the start (that is the parser's to report)
      [{ dateTime: '2026-10-25T04:00:00', timeZone: 'Europe/Berlin' }, { dateTime: '2026-10-25T03:30:00', timeZone: 'Europe/Berlin' }, { dateTime: '2026-10-25T03:30:00', timeZone: 'Europe/Berlin' }],
      // both readings before the start: left alone
      [{ dateTime: '2026-10-25T05:00:00Z' }, { dateTime: '2026-10-25T02:30:00', timeZone: 'Europe/Berlin' }, { dateTime: '2026-10-25T02:30:00', timeZone: 'Europe/Berlin' }],
      [{ date: '2026-10-25' }, { date: '2026-10-26' }, { date: '2026-10-26' }],
    ])('disambiguateEnd(%j, %j) → %j', (start, end, expected) => {
      expect(disambiguateEnd(start, end)).toEqual(expected);
    });
  });
});
