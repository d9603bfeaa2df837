/**
 * RRULE → patternedRecurrence exact-fit check.
 * 1. A table of rules: which fit (and as what) and which do not (and why).
 * 2. Exactness against oracle data: for every RRULE test vector (test/fixtures/rrule-vectors) that the
 *    check accepts, the Graph emulator's independent patternedRecurrence expander must produce
 *    exactly the vector's expected occurrence dates. A rule we accept wrongly fails here.
 * 3. Round trip: patternedRecurrence → RRULE → patternedRecurrence is the identity.
 */
import * as fs from 'node:fs';
import fc from 'fast-check';
import type { CalendarEvent, EventTime } from '../../core/event';
import { parseWall, MS } from '../../core/time';
import { fitRecurrence, recurrenceToRRule, type GraphPatternedRecurrence } from '../../providers/graph/recurrence';
import { occurrenceDates } from '../../emulator/graph/recurrence';
import { fixtureFile, RRULE_VECTORS_DIR } from '../fixtures-path';

function master(start: EventTime, rrule: string | string[], extra: Partial<CalendarEvent['recurrence']> = {}): Pick<CalendarEvent, 'start' | 'recurrence'> {
  return { start, recurrence: { rrule: Array.isArray(rrule) ? rrule : [rrule], rdate: [], exdate: [], ...extra } };
}
const UTC = { zone: 'UTC', zoneName: 'UTC' };
const BERLIN = { zone: 'Europe/Berlin', zoneName: 'Europe/Berlin' };
// 2024-01-01 is a Monday.
const MON = { dateTime: '2024-01-01T09:00:00', timeZone: 'Europe/Berlin' };

describe('fitRecurrence: rules that fit', () => {
  const fits: [string, EventTime, string, Partial<GraphPatternedRecurrence['pattern']>, Partial<GraphPatternedRecurrence['range']>][] = [
    ['daily', MON, 'FREQ=DAILY', { type: 'daily', interval: 1 }, { type: 'noEnd', startDate: '2024-01-01' }],
    ['every 3 days, 10 times', MON, 'FREQ=DAILY;INTERVAL=3;COUNT=10', { type: 'daily', interval: 3 }, { type: 'numbered', numberOfOccurrences: 10 }],
    ['weekdays as DAILY;BYDAY', MON, 'FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR', { type: 'weekly', daysOfWeek: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday'] }, {}],
    ['weekly, day from DTSTART', MON, 'FREQ=WEEKLY', { type: 'weekly', daysOfWeek: ['monday'], firstDayOfWeek: 'monday' }, {}],
    ['biweekly MO,WE with WKST=SU', MON, 'FREQ=WEEKLY;INTERVAL=2;BYDAY=WE,MO;WKST=SU', { type: 'weekly', interval: 2, daysOfWeek: ['monday', 'wednesday'], firstDayOfWeek: 'sunday' }, {}],
    ['monthly on the 1st', MON, 'FREQ=MONTHLY;BYMONTHDAY=1', { type: 'absoluteMonthly', dayOfMonth: 1 }, {}],
    ['monthly, day from DTSTART', MON, 'FREQ=MONTHLY', { type: 'absoluteMonthly', dayOfMonth: 1 }, {}],
    ['first Monday monthly', MON, 'FREQ=MONTHLY;BYDAY=1MO', { type: 'relativeMonthly', daysOfWeek: ['monday'], index: 'first' }, {}],
    ['last Wednesday monthly', { dateTime: '2024-01-31T09:00:00', timeZone: 'Europe/Berlin' }, 'FREQ=MONTHLY;BYDAY=-1WE', { type: 'relativeMonthly', daysOfWeek: ['wednesday'], index: 'last' }, {}],
    ['last weekday (BYSETPOS form)', { dateTime: '2024-01-31T09:00:00', timeZone: 'Europe/Berlin' }, 'FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1', { type: 'relativeMonthly', daysOfWeek: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday'], index: 'last' }, {}],
    ['second Tuesday (BYSETPOS form)', { dateTime: '2024-01-09T09:00:00', timeZone: 'Europe/Berlin' }, 'FREQ=MONTHLY;BYDAY=TU;BYSETPOS=2', { type: 'relativeMonthly', daysOfWeek: ['tuesday'], index: 'second' }, {}],
    ['yearly on Jan 1', MON, 'FREQ=YEARLY', { type: 'absoluteYearly', month: 1, dayOfMonth: 1 }, {}],
    ['yearly BYMONTH/BYMONTHDAY', MON, 'FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1', { type: 'absoluteYearly', month: 1, dayOfMonth: 1 }, {}],
    ['first Monday of January yearly', MON, 'FREQ=YEARLY;BYMONTH=1;BYDAY=1MO', { type: 'relativeYearly', month: 1, daysOfWeek: ['monday'], index: 'first' }, {}],
    ['all-day weekly', { date: '2024-01-01' }, 'FREQ=WEEKLY;UNTIL=20240131', { type: 'weekly' }, { type: 'endDate', endDate: '2024-01-31' }],
    // UNTIL 07:59Z = 08:59 Berlin, before the 09:00 occurrence on Jan 29 → last date Jan 28.
    ['UNTIL before the time of day', MON, 'FREQ=DAILY;UNTIL=20240129T075900Z', { type: 'daily' }, { type: 'endDate', endDate: '2024-01-28' }],
    ['UNTIL exactly at an occurrence', MON, 'FREQ=DAILY;UNTIL=20240129T080000Z', { type: 'daily' }, { type: 'endDate', endDate: '2024-01-29' }],
    // A DATE UNTIL on a timed series is read as that date's midnight (python-dateutil's reading).
    ['UNTIL as a date for a timed series', MON, 'FREQ=DAILY;UNTIL=20240129', { type: 'daily' }, { type: 'endDate', endDate: '2024-01-28' }],
    ['lower-case rule', MON, 'freq=weekly;byday=mo', { type: 'weekly', daysOfWeek: ['monday'] }, {}],
  ];
  test.each(fits)('%s', (_name, start, rrule, pattern, range) => {
    const fit = fitRecurrence(master(start, rrule), start.date ? UTC : BERLIN);
    if (!fit.ok) throw new Error(`expected a fit, got: ${fit.reason}`);
    expect(fit.recurrence.pattern).toMatchObject(pattern);
    expect(fit.recurrence.range).toMatchObject(range);
    expect(fit.recurrence.range.recurrenceTimeZone).toBe(start.date ? 'UTC' : 'Europe/Berlin');
  });

  test('UTC DTSTART is read in the series frame: 23:30Z Sunday is Monday in Berlin', () => {
    const fit = fitRecurrence(master({ dateTime: '2023-12-31T23:30:00Z' }, 'FREQ=WEEKLY;BYDAY=MO'), BERLIN);
    expect(fit.ok).toBe(true);
    const utcFit = fitRecurrence(master({ dateTime: '2023-12-31T23:30:00Z' }, 'FREQ=WEEKLY;BYDAY=MO'), UTC);
    expect(utcFit).toEqual({ ok: false, reason: expect.stringContaining('DTSTART (SU)') });
  });
});

describe('fitRecurrence: rules that do not fit, with reasons', () => {
  const rejects: [string, Pick<CalendarEvent, 'start' | 'recurrence'>, RegExp][] = [
    ['several RRULEs', master(MON, ['FREQ=DAILY', 'FREQ=WEEKLY']), /2 RRULEs/],
    ['RDATE', master(MON, 'FREQ=DAILY', { rdate: [{ dateTime: '2024-02-01T09:00:00', timeZone: 'Europe/Berlin' }] }), /RDATE/],
    ['EXRULE', master(MON, 'FREQ=DAILY', { exrule: ['FREQ=WEEKLY'] }), /EXRULE/],
    ['hourly', master(MON, 'FREQ=HOURLY'), /FREQ=HOURLY/],
    ['BYHOUR', master(MON, 'FREQ=DAILY;BYHOUR=9,17'), /BYHOUR/],
    ['BYMINUTE', master(MON, 'FREQ=DAILY;BYMINUTE=0,30'), /BYMINUTE/],
    ['BYWEEKNO', master(MON, 'FREQ=YEARLY;BYWEEKNO=1'), /BYWEEKNO/],
    ['BYYEARDAY', master(MON, 'FREQ=YEARLY;BYYEARDAY=1'), /BYYEARDAY/],
    ['day 31 monthly (RFC skips, Outlook moves)', master({ dateTime: '2024-01-31T09:00:00', timeZone: 'Europe/Berlin' }, 'FREQ=MONTHLY'), /day 31/],
    ['negative BYMONTHDAY', master(MON, 'FREQ=MONTHLY;BYMONTHDAY=-1'), /BYMONTHDAY=-1/],
    ['several BYMONTHDAY', master(MON, 'FREQ=MONTHLY;BYMONTHDAY=1,15'), /one day of the month/],
    ['fifth Monday', master({ dateTime: '2024-01-29T09:00:00', timeZone: 'Europe/Berlin' }, 'FREQ=MONTHLY;BYDAY=5MO'), /position 5/],
    ['second-to-last Friday', master(MON, 'FREQ=MONTHLY;BYDAY=-2FR'), /position -2/],
    ['two ordinal days', master(MON, 'FREQ=MONTHLY;BYDAY=1MO,3MO'), /several ordinal/],
    ['every Monday of the month', master(MON, 'FREQ=MONTHLY;BYDAY=MO'), /every MO of the month/],
    ['BYSETPOS with two positions', master(MON, 'FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=1,-1'), /several positions/],
    ['weekly with an ordinal BYDAY', master(MON, 'FREQ=WEEKLY;BYDAY=1MO'), /ordinal BYDAY/],
    ['DTSTART not in BYDAY', master(MON, 'FREQ=WEEKLY;BYDAY=TU,TH'), /DTSTART \(MO\) is not one of BYDAY/],
    ['DTSTART not the second Tuesday', master(MON, 'FREQ=MONTHLY;BYDAY=2TU'), /not the occurrence/],
    ['DTSTART day ≠ BYMONTHDAY', master(MON, 'FREQ=MONTHLY;BYMONTHDAY=15'), /DTSTART's day \(1\)/],
    ['yearly on Feb 29', master({ date: '2024-02-29' }, 'FREQ=YEARLY'), /February 29/],
    ['yearly over several months', master(MON, 'FREQ=YEARLY;BYMONTH=1,7'), /one month/],
    ['yearly weekday without month', master(MON, 'FREQ=YEARLY;BYDAY=1MO'), /no BYMONTH/],
    ['monthly with BYMONTH', master(MON, 'FREQ=MONTHLY;BYMONTH=1,2'), /MONTHLY with BYMONTH/],
    ['daily BYDAY with INTERVAL 2', master(MON, 'FREQ=DAILY;INTERVAL=2;BYDAY=MO,WE'), /INTERVAL>1/],
    ['COUNT and UNTIL', master(MON, 'FREQ=DAILY;COUNT=3;UNTIL=20240110T000000Z'), /COUNT and UNTIL/],
    ['UNTIL before DTSTART', master(MON, 'FREQ=DAILY;UNTIL=20231201T000000Z'), /before DTSTART/],
    ['INTERVAL 0', master(MON, 'FREQ=DAILY;INTERVAL=0'), /INTERVAL=0/],
    ['INTERVAL 100', master(MON, 'FREQ=DAILY;INTERVAL=100'), /larger than Outlook accepts/],
    ['no FREQ', master(MON, 'INTERVAL=2'), /no FREQ/],
    ['garbage part', master(MON, 'FREQ=DAILY;JUNK'), /NAME=VALUE/],
    ['bad BYDAY', master(MON, 'FREQ=WEEKLY;BYDAY=XX'), /BYDAY value "XX"/],
    ['no RRULE', { start: MON, recurrence: { rrule: [], rdate: [], exdate: [] } }, /no RRULE/],
  ];
  test.each(rejects)('%s', (_name, m, reason) => {
    const fit = fitRecurrence(m, BERLIN);
    expect(fit.ok).toBe(false);
    if (!fit.ok) expect(fit.reason).toMatch(reason);
  });
});

// ---------------------------------------------------------------------------------------------
// Exactness against oracle vectors

interface Vector { id: string; dtstart: string; rrule?: string; expected: string[] | null; start_at?: string; tags?: string[] }

function isoOf(compact: string): string {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})(?:T(\d{2}):?(\d{2}):?(\d{2})(Z)?)?$/.exec(compact);
  if (!m) throw new Error(`bad vector time ${compact}`);
  return `${m[1]}-${m[2]}-${m[3]}` + (m[4] ? `T${m[4]}:${m[5]}:${m[6]}` : '');
}

const vectors: Vector[] = fs.readFileSync(fixtureFile(RRULE_VECTORS_DIR, 'vectors.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Vector);

describe('fitRecurrence is exact on the shared RRULE vectors', () => {
  const usable = vectors.filter((v) => v.rrule && Array.isArray(v.expected) && v.expected.length > 0 && !v.start_at
    && !(v.tags ?? []).some((t) => /violation|nonstandard|needs-icu/.test(t)) && !/RSCALE|SKIP/i.test(v.rrule));

  test('the vectors are there', () => {
    expect(usable.length).toBeGreaterThan(200);
  });

  test('every accepted vector expands identically through the Graph pattern', () => {
    let accepted = 0;
    const mismatches: string[] = [];
    for (const v of usable) {
      const startIso = isoOf(v.dtstart);
      const start: EventTime = startIso.length === 10 ? { date: startIso } : { dateTime: startIso + 'Z' };
      const fit = fitRecurrence(master(start, v.rrule!), UTC);
      if (!fit.ok) continue;
      accepted++;
      // dateutil turns a DATE DTSTART into midnight date-times: compare dates only then.
      const expected = v.expected!.map(isoOf).map((e) => (start.date ? e.slice(0, 10) : e));
      const tod = startIso.slice(10);
      // We reject BYHOUR & co, so every accepted occurrence keeps DTSTART's time of day.
      if (expected.some((e) => e.slice(10) !== tod)) {
        mismatches.push(`${v.id}: expected times of day differ from DTSTART's`);
        continue;
      }
      const expectedDates = expected.map((e) => e.slice(0, 10));
      const last = parseWall(expectedDates[expectedDates.length - 1]);
      const finite = /COUNT=|UNTIL=/i.test(v.rrule!);
      const bound = finite ? last + 400 * 366 * MS.DAY : last;
      const got = occurrenceDates(fit.recurrence, bound).map((d) => new Date(d).toISOString().slice(0, 10));
      const cmp = finite && expected.length < 1000 ? got : got.filter((d) => d <= expectedDates[expectedDates.length - 1]);
      if (JSON.stringify(cmp) !== JSON.stringify(expectedDates)) {
        mismatches.push(`${v.id} ${v.rrule} from ${v.dtstart}: expected ${expectedDates.slice(0, 5).join(',')}… (${expectedDates.length}), Graph ${cmp.slice(0, 5).join(',')}… (${cmp.length})`);
      }
    }
    expect(mismatches).toEqual([]);
    // Enough of the corpus fits for this test to mean something.
    expect(accepted).toBeGreaterThan(40);
  });
});

// ---------------------------------------------------------------------------------------------
// Round trip

const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;

describe('patternedRecurrence → RRULE → patternedRecurrence', () => {
  test('round trip keeps the pattern and range (property)', () => {
    const startArb = fc.record({ y: fc.integer({ min: 2020, max: 2030 }), m: fc.integer({ min: 1, max: 12 }), d: fc.integer({ min: 1, max: 28 }), h: fc.integer({ min: 0, max: 23 }) });
    fc.assert(fc.property(
      startArb,
      fc.constantFrom('daily', 'weekly', 'absoluteMonthly', 'relativeMonthly', 'absoluteYearly', 'relativeYearly'),
      fc.integer({ min: 1, max: 5 }),
      fc.constantFrom('noEnd', 'numbered', 'endDate'),
      fc.integer({ min: 1, max: 50 }),
      fc.constantFrom('Europe/Berlin', 'America/New_York', 'UTC', 'Asia/Kolkata'),
      fc.boolean(),
      ({ y, m, d, h }, type, interval, rangeType, n, zone, allDay) => {
        const date = `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
        const start: EventTime = allDay ? { date } : { dateTime: `${date}T${String(h).padStart(2, '0')}:15:00`, timeZone: zone };
        const frame = { zone: allDay ? 'UTC' : zone, zoneName: allDay ? 'UTC' : zone };
        // Build a pattern DTSTART satisfies, the way the source would.
        const wall = parseWall(date);
        const dow = new Date(wall).getUTCDay();
        const nth = Math.floor((d - 1) / 7) + 1;
        const pattern: GraphPatternedRecurrence['pattern'] = { type: type as GraphPatternedRecurrence['pattern']['type'], interval };
        if (type === 'weekly') Object.assign(pattern, { daysOfWeek: [DAYS[dow]], firstDayOfWeek: 'monday' });
        if (type === 'absoluteMonthly') pattern.dayOfMonth = d;
        if (type === 'relativeMonthly') Object.assign(pattern, { daysOfWeek: [DAYS[dow]], index: ['first', 'second', 'third', 'fourth'][nth - 1] });
        if (type === 'absoluteYearly') Object.assign(pattern, { month: m, dayOfMonth: d });
        if (type === 'relativeYearly') Object.assign(pattern, { month: m, daysOfWeek: [DAYS[dow]], index: ['first', 'second', 'third', 'fourth'][nth - 1] });
        const endDate = new Date(wall + n * 9 * MS.DAY).toISOString().slice(0, 10);
        const range: GraphPatternedRecurrence['range'] = { type: rangeType as GraphPatternedRecurrence['range']['type'], startDate: date, recurrenceTimeZone: frame.zoneName };
        if (rangeType === 'numbered') range.numberOfOccurrences = n;
        if (rangeType === 'endDate') range.endDate = endDate;
        const rec = { pattern, range };
        const rrule = recurrenceToRRule(rec, { start, zone: frame.zone });
        const back = fitRecurrence(master(start, rrule), frame);
        if (!back.ok) throw new Error(`${rrule}: ${back.reason}`);
        expect(back.recurrence).toEqual(rec);
      },
    ), { numRuns: 300 });
  });
});
