import { wallToUtc, utcToWall, parseWall, formatUtc, formatWall, addDuration, parseDuration, eventTimeToUtc, zoneOffsetMs } from '../../core/time';

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
});
