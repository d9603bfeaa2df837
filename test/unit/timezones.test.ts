import ICAL from 'ical.js';
import { canonicalTimeZone } from '../../core/time';
import { buildVTimezone, ianaFromName, matchVTimezone, resolveTimeZone, vtimezoneWallToUtc, windowsToIana, type VTimezoneInfo } from '../../core/ics/timezones';
import { WINDOWS_ZONES } from '../../core/ics/windows-zones';

function vtimezone(tzid: string, body: string, location?: string): VTimezoneInfo {
  const jcal = ICAL.parse(`BEGIN:VTIMEZONE\r\nTZID:${tzid}\r\n${body.trim().split('\n').map((l) => l.trim()).join('\r\n')}\r\nEND:VTIMEZONE\r\n`) as unknown[];
  return location ? { tzid, jcal, location } : { tzid, jcal };
}

const EU_RULES = `
  BEGIN:STANDARD
  DTSTART:16011028T030000
  RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
  TZOFFSETFROM:+0200
  TZOFFSETTO:+0100
  END:STANDARD
  BEGIN:DAYLIGHT
  DTSTART:16010325T020000
  RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
  TZOFFSETFROM:+0100
  TZOFFSETTO:+0200
  END:DAYLIGHT`;

// Israel: DST starts the Friday before the last Sunday of March — two days before the EU.
const ISRAEL_RULES = `
  BEGIN:STANDARD
  DTSTART:20131027T020000
  RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
  TZOFFSETFROM:+0300
  TZOFFSETTO:+0200
  END:STANDARD
  BEGIN:DAYLIGHT
  DTSTART:20130329T020000
  RRULE:FREQ=YEARLY;BYDAY=FR;BYMONTHDAY=23,24,25,26,27,28,29;BYMONTH=3
  TZOFFSETFROM:+0200
  TZOFFSETTO:+0300
  END:DAYLIGHT`;

describe('windowsToIana (CLDR windowsZones, territory 001)', () => {
  test.each([
    ['W. Europe Standard Time', 'Europe/Berlin'],
    ['Pacific Standard Time', 'America/Los_Angeles'],
    ['Eastern Standard Time', 'America/New_York'],
    ['GMT Standard Time', 'Europe/London'],
    ['Tokyo Standard Time', 'Asia/Tokyo'],
    ['New Zealand Standard Time', 'Pacific/Auckland'],
    ['  w. europe   standard time ', 'Europe/Berlin'],
  ])('%s → %s', (name, zone) => {
    expect(windowsToIana(name)).toBe(zone);
  });

  test('unknown names → undefined', () => {
    expect(windowsToIana('Atlantis Standard Time')).toBeUndefined();
  });

  test('every row of the table maps to a zone the runtime knows', () => {
    expect(WINDOWS_ZONES.length).toBeGreaterThan(130);
    expect(WINDOWS_ZONES.filter(([, , iana]) => !canonicalTimeZone(iana)).map((r) => r[2])).toEqual([]);
    expect(WINDOWS_ZONES.filter(([id]) => windowsToIana(id) === undefined)).toEqual([]);
  });
});

describe('resolveTimeZone by name', () => {
  test.each([
    ['Europe/Berlin', 'Europe/Berlin'],
    ['europe/berlin', 'Europe/Berlin'],
    ['US/Central', 'America/Chicago'],
    ['"America/New_York"', 'America/New_York'],
    ['/mozilla.org/20070129_1/Europe/Berlin', 'Europe/Berlin'],
    ['/softwarestudio.org/Olson_20011030_5/America/New_York', 'America/New_York'],
    ['/freeassociation.sourceforge.net/Tzfile/Europe/London', 'Europe/London'],
    ['/citadel.org/20190914_1/Europe/Paris', 'Europe/Paris'],
    ['W. Europe Standard Time', 'Europe/Berlin'],
    ['(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna', 'Europe/Berlin'],
    ['(GMT+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna', 'Europe/Berlin'],
    ['(UTC-05:00) Eastern Time (US & Canada)', 'America/New_York'],
    ['(GMT+10:00) Canberra, Melbourne, Sydney', 'Australia/Sydney'],
    ['(UTC-03:00) Brasília', 'America/Sao_Paulo'],
    ['Pacific Time (US & Canada), Tijuana', 'America/Los_Angeles'],
    ['Kuala Lumpur, Singapore', 'Asia/Singapore'],
    ['(UTC+01:00) Amsterdam, Berlin, Bern, Rom, Stockholm, Wien', 'Europe/Amsterdam'], // localised: first known city
    ['US-Eastern', 'America/New_York'],
    ['UTC', 'UTC'],
    ['UTC+01', 'Etc/GMT-1'],
    ['GMT-05:00', 'Etc/GMT+5'],
  ])('%s → %s', (tzid, zone) => {
    expect(resolveTimeZone(tzid)).toEqual({ timeZone: zone });
  });

  test.each(['Atlantis/Central', 'Customized Time Zone 1', 'tzone', '+01:00', ''])('%j without definition → warning, no zone', (tzid) => {
    const r = resolveTimeZone(tzid);
    expect(r.timeZone).toBeUndefined();
    expect(r.warning).toBe(`unknown time zone "${tzid}" (no VTIMEZONE definition): times read as UTC`);
  });

  test('memoised name resolution returns the same answer', () => {
    expect(ianaFromName('W. Europe Standard Time')).toBe(ianaFromName('W. Europe Standard Time'));
  });
});

describe('resolveTimeZone with a VTIMEZONE definition', () => {
  test('a custom name with EU rules → Europe/Berlin (CLDR golden zone comes first)', () => {
    const defs = new Map([['Customized Time Zone', vtimezone('Customized Time Zone', EU_RULES)]]);
    expect(resolveTimeZone('Customized Time Zone', defs, { years: [2024] })).toEqual({ timeZone: 'Europe/Berlin' });
  });

  test('X-LIC-LOCATION is preferred among zones with the same rules', () => {
    const defs = new Map([['My Zone', vtimezone('My Zone', EU_RULES, 'Europe/Madrid')]]);
    expect(resolveTimeZone('My Zone', defs, { years: [2023, 2024] })).toEqual({ timeZone: 'Europe/Madrid' });
  });

  test('rules that differ by two days from the EU (Israel) are told apart', () => {
    const defs = new Map([['Holy Land', vtimezone('Holy Land', ISRAEL_RULES)]]);
    expect(resolveTimeZone('Holy Land', defs, { years: [2015] }).timeZone).toBe('Asia/Jerusalem');
  });

  test('a constant whole-hour offset → Etc/GMT∓N', () => {
    const defs = new Map([['Plus Seven', vtimezone('Plus Seven', 'BEGIN:STANDARD\nDTSTART:16010101T000000\nTZOFFSETFROM:+0700\nTZOFFSETTO:+0700\nEND:STANDARD')]]);
    expect(resolveTimeZone('Plus Seven', defs, { years: [2024] })).toEqual({ timeZone: 'Etc/GMT-7' });
  });

  test('no IANA zone has the offsets → warning; the definition still converts wall time to UTC', () => {
    const info = vtimezone('Mars Base', 'BEGIN:STANDARD\nDTSTART:16010101T000000\nTZOFFSETFROM:+0317\nTZOFFSETTO:+0317\nEND:STANDARD');
    const r = resolveTimeZone('Mars Base', new Map([['Mars Base', info]]), { years: [2024] });
    expect(r).toEqual({ warning: 'time zone "Mars Base" matches no IANA zone: times converted to UTC with its VTIMEZONE definition' });
    const tz = buildVTimezone(info)!;
    expect(new Date(vtimezoneWallToUtc(tz, Date.UTC(2024, 6, 10, 9, 0))).toISOString()).toBe('2024-07-10T05:43:00.000Z');
  });

  test('stale rules matched only at the event times: a weaker match with a warning', () => {
    // Brazil's pre-2019 DST with the October change on the 4th Sunday (IANA: 3rd Sunday in 2016).
    const info = vtimezone('(GMT-03:00)', `
      BEGIN:STANDARD
      DTSTART:16010101T230000
      TZOFFSETFROM:-0200
      TZOFFSETTO:-0300
      RRULE:FREQ=YEARLY;BYMONTH=2;BYDAY=3SU
      END:STANDARD
      BEGIN:DAYLIGHT
      DTSTART:16010101T230000
      TZOFFSETFROM:-0300
      TZOFFSETTO:-0200
      RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=4SU
      END:DAYLIGHT`);
    const tz = buildVTimezone(info)!;
    expect(matchVTimezone(info, tz, [2016])).toBeUndefined();
    const r = resolveTimeZone('(GMT-03:00)', new Map([['(GMT-03:00)', info]]), { years: [2016], walls: [Date.UTC(2016, 4, 18, 12, 30)] });
    expect(r.timeZone).toBe('America/Sao_Paulo');
    expect(r.warning).toMatch(/agree at this event's times/);
  });

  test('a definition ical.js must not evaluate (non-yearly rule) is refused, not looped on', () => {
    const info = vtimezone('Loop', 'BEGIN:STANDARD\nDTSTART:16010101T000000\nRRULE:FREQ=DAILY;BYMONTHDAY=-1\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0100\nEND:STANDARD');
    expect(buildVTimezone(info)).toBeUndefined();
    expect(resolveTimeZone('Loop', new Map([['Loop', info]])).warning).toMatch(/unusable VTIMEZONE definition/);
  });

  test('a name that resolves wins over the definition', () => {
    const defs = new Map([['Europe/Berlin', vtimezone('Europe/Berlin', 'BEGIN:STANDARD\nDTSTART:16010101T000000\nTZOFFSETFROM:+0700\nTZOFFSETTO:+0700\nEND:STANDARD')]]);
    expect(resolveTimeZone('Europe/Berlin', defs)).toEqual({ timeZone: 'Europe/Berlin' });
  });
});

describe('retired Windows ids still found in old Outlook exports', () => {
  test.each([
    ['Mid-Atlantic Standard Time', 'Atlantic/South_Georgia'],
    ['Kamchatka Standard Time', 'Asia/Kamchatka'],
    ['Armenian Standard Time', 'Asia/Yerevan'],
    ['mexico standard time', 'America/Mexico_City'],
  ])('%s → %s', (name, zone) => {
    expect(windowsToIana(name)).toBe(zone);
    expect(resolveTimeZone(name)).toEqual({ timeZone: zone });
  });

  test('an id CLDR still lists is never overridden by the retired table', () => {
    for (const [id, , iana] of WINDOWS_ZONES) expect(windowsToIana(id)).toBe(canonicalTimeZone(iana) ?? iana);
  });
});
