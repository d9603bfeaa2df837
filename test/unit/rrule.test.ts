import fc from 'fast-check';
import { expandOccurrences, formatRRule, iterateRRule, parseRRule, RecurrenceLimitError, RRuleError, validateRRule, type RRule } from '../../core/recurrence';
import { formatWall, parseWall } from '../../core/time';

const W = (s: string) => parseWall(s);
const all = (it: Iterable<number>): string[] => [...it].map(formatWall);

describe('parseRRule', () => {
  test.each<[string, Partial<RRule>]>([
    ['FREQ=WEEKLY', { freq: 'WEEKLY', interval: 1, wkst: 0 }],
    ['RRULE:freq=monthly;byday=2tu,-1fr;count=5;', { freq: 'MONTHLY', count: 5, byDay: [{ n: 2, day: 1 }, { n: -1, day: 4 }] }],
    [' FREQ=YEARLY ; INTERVAL=2 ; BYMONTH=1,3 ; WKST=SU ', { freq: 'YEARLY', interval: 2, byMonth: [1, 3], wkst: 6 }],
    ['FREQ=DAILY;UNTIL=20250101T120000Z', { until: { wall: Date.UTC(2025, 0, 1, 12), utc: true, date: false } }],
    ['FREQ=DAILY;UNTIL=20250101', { until: { wall: Date.UTC(2025, 0, 1), utc: false, date: true } }],
    ['FREQ=MONTHLY;BYMONTHDAY=-1;BYSETPOS=-1;X-NAME=whatever', { byMonthDay: [-1], bySetPos: [-1] }],
    ['RSCALE=gregorian;FREQ=MONTHLY;SKIP=FORWARD', { rscale: 'GREGORIAN', skip: 'FORWARD' }],
    ['FREQ=MONTHLY;BYDAY=0MO,SA', { byDay: [{ day: 5 }] }], // a zero ordinal names no day (ical.net)
  ])('%s', (text, expected) => {
    expect(parseRRule(text)).toMatchObject(expected);
  });

  test.each([
    ['', /empty RRULE/],
    ['INTERVAL=2', /FREQ is missing/],
    ['FREQ=FORTNIGHTLY', /^FREQ=FORTNIGHTLY: expected one of/],
    ['FREQ=MONTHLY;BYMONTHDAY=40', /^BYMONTHDAY=40: out of range 1\.\.31 \/ -31\.\.-1$/],
    ['FREQ=MONTHLY;BYMONTHDAY=1,0', /^BYMONTHDAY=1,0: 0 is out of range/],
    ['FREQ=YEARLY;BYMONTH=13', /^BYMONTH=13: out of range 1\.\.12/],
    ['FREQ=YEARLY;BYMONTH=5L', /leap months/],
    ['FREQ=DAILY;BYHOUR=24', /^BYHOUR=24/],
    ['FREQ=WEEKLY;BYDAY=MO=', /^BYDAY=MO=: "MO=" is not a weekday/],
    ['FREQ=WEEKLY;BYDAY=XX', /^BYDAY=XX/],
    ['FREQ=DAILY;INTERVAL=0', /^INTERVAL=0: must be a whole number/],
    ['FREQ=DAILY;COUNT=-3', /^COUNT=-3/],
    ['FREQ=DAILY;UNTIL=20250231', /^UNTIL=20250231: not a real date/],
    ['FREQ=DAILY;UNTIL=tomorrow', /^UNTIL=TOMORROW: expected YYYYMMDD/],
    ['FREQ=DAILY;FREQ=WEEKLY', /FREQ appears more than once/],
    ['FREQ=DAILY;BYWEEKDAY=MO', /unknown rule part BYWEEKDAY/],
    ['FREQ=DAILY;COUNT', /"COUNT": expected NAME=VALUE/],
    ['RSCALE=HEBREW;FREQ=YEARLY', /RSCALE=HEBREW: only GREGORIAN/],
  ])('rejects %j', (text, message) => {
    let err: unknown;
    try { parseRRule(text); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(RRuleError);
    expect((err as Error).message).toMatch(message);
  });

  test('formatRRule is canonical and round-trips (property)', () => {
    const nums = (min: number, max: number, signed: boolean) =>
      fc.option(fc.uniqueArray(fc.integer({ min, max }).map((v) => v).chain((v) => (signed ? fc.constantFrom(v, -v) : fc.constant(v))), { minLength: 1, maxLength: 4 }), { nil: undefined });
    const rule = fc.record({
      freq: fc.constantFrom('SECONDLY', 'MINUTELY', 'HOURLY', 'DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY' as const),
      interval: fc.integer({ min: 1, max: 1000 }),
      count: fc.option(fc.integer({ min: 1, max: 10_000 }), { nil: undefined }),
      bySecond: nums(0, 59, false), byMinute: nums(0, 59, false), byHour: nums(0, 23, false),
      byDay: fc.option(fc.uniqueArray(fc.record({ n: fc.option(fc.integer({ min: -53, max: 53 }).filter((n) => n !== 0), { nil: undefined }), day: fc.integer({ min: 0, max: 6 }) }), { minLength: 1, maxLength: 3, selector: (d) => `${d.n}${d.day}` }), { nil: undefined }),
      byMonthDay: nums(1, 31, true), byYearDay: nums(1, 366, true), byWeekNo: nums(1, 53, true), byMonth: nums(1, 12, false), bySetPos: nums(1, 366, true),
      wkst: fc.integer({ min: 0, max: 6 }),
    });
    fc.assert(fc.property(rule, (r) => {
      const clean = JSON.parse(JSON.stringify(r)) as RRule; // drop undefined keys
      for (const d of clean.byDay ?? []) if ((d as { n?: number }).n === undefined) delete (d as { n?: number }).n;
      const text = formatRRule(clean);
      expect(parseRRule(text)).toEqual(clean);
      expect(formatRRule(parseRRule(text))).toBe(text);
    }), { numRuns: 300 });
  });
});

describe('validateRRule', () => {
  test.each([
    ['FREQ=WEEKLY;BYDAY=XX', /^BYDAY=XX: "XX" is not a weekday/],
    ['FREQ=DAILY;INTERVAL=12345678901234567890', /^INTERVAL=12345678901234567890: must be a whole number/],
    ['FREQ=DAILY;COUNT=99999999999', /^COUNT=99999999999/],
    ['BYDAY=MO', /FREQ is missing/],
    ['FREQ=MONTHLY;BYMONTHDAY=32', /^BYMONTHDAY=32: out of range/],
  ])('%j → a message naming the bad part', (text, message) => {
    expect(validateRRule(text)).toMatch(message);
  });

  test.each(['FREQ=WEEKLY;BYDAY=MO,WE', 'RRULE:freq=monthly;byday=-1fr', 'FREQ=YEARLY;X-VENDOR=1', 'FREQ=WEEKLY;BYWEEKNO=3'])('%j is valid', (text) => {
    expect(validateRRule(text)).toBeUndefined();
  });

  test('property: exactly the rules validateRRule rejects are reported (and ignored) by expandOccurrences', () => {
    const part = fc.oneof(
      fc.constantFrom('FREQ=DAILY', 'FREQ=WEEKLY', 'FREQ=SOMETIMES', 'INTERVAL=2', 'INTERVAL=0', 'INTERVAL=123456789012', 'COUNT=3', 'COUNT=x',
        'BYDAY=MO', 'BYDAY=XX', 'BYDAY=2TU', 'BYMONTHDAY=31', 'BYMONTHDAY=0', 'BYMONTH=13', 'UNTIL=20270101', 'UNTIL=2027', 'WKST=SU', 'X-FOO=1', 'BOGUS=1', ''),
    );
    fc.assert(fc.property(fc.array(part, { minLength: 1, maxLength: 4 }), (parts) => {
      const text = parts.join(';');
      const event = { uid: 'v', title: 'v', start: { dateTime: '2026-01-05T09:00:00Z' }, end: { dateTime: '2026-01-05T10:00:00Z' }, recurrence: { rrule: [text], rdate: [], exdate: [] } };
      const problem = validateRRule(text);
      const { errors } = expandOccurrences([event], '2026-01-01', '2026-03-01');
      const reported = errors.filter((e) => e.message.includes('ignored'));
      if (problem === undefined) expect(reported).toEqual([]);
      else expect(reported.map((e) => e.message)).toEqual([`UID v: RRULE "${text}" ignored: ${problem}`]);
    }), { numRuns: 300 });
  });
});

describe('iterateRRule', () => {
  test('DTSTART comes first and counts for COUNT even when it does not match the rule (RFC 5545)', () => {
    const rule = parseRRule('FREQ=MONTHLY;BYDAY=1FR;COUNT=3');
    expect(all(iterateRRule(rule, W('2025-01-15T09:00:00')))).toEqual(['2025-01-15T09:00:00', '2025-02-07T09:00:00', '2025-03-07T09:00:00']);
    expect(all(iterateRRule(rule, W('2025-01-15T09:00:00'), { includeDtstart: false }))).toEqual(['2025-02-07T09:00:00', '2025-03-07T09:00:00', '2025-04-04T09:00:00']);
    // A matching DTSTART is not doubled.
    expect(all(iterateRRule(rule, W('2025-02-07T09:00:00')))).toEqual(['2025-02-07T09:00:00', '2025-03-07T09:00:00', '2025-04-04T09:00:00']);
  });

  test('UNTIL is inclusive; a UTC UNTIL goes through untilToWall; a DATE UNTIL on a timed series means 00:00', () => {
    const r = (u: string) => parseRRule(`FREQ=DAILY;UNTIL=${u}`);
    expect(all(iterateRRule(r('20250103T090000'), W('2025-01-01T09:00:00')))).toHaveLength(3);
    // Wall frame UTC+2: 07:00Z is 09:00 wall.
    expect(all(iterateRRule(r('20250103T070000Z'), W('2025-01-01T09:00:00'), { untilToWall: (u) => u + 2 * 3600_000 }))).toHaveLength(3);
    expect(all(iterateRRule(r('20250103T065959Z'), W('2025-01-01T09:00:00'), { untilToWall: (u) => u + 2 * 3600_000 }))).toHaveLength(2);
    expect(all(iterateRRule(r('20250103'), W('2025-01-01T09:00:00')))).toEqual(['2025-01-01T09:00:00', '2025-01-02T09:00:00']);
    expect(all(iterateRRule(r('20250103'), W('2025-01-01'), { isDate: true }))).toHaveLength(3);
  });

  test.each([
    ['FREQ=MONTHLY;COUNT=4', '2025-01-31', ['2025-01-31', '2025-03-31', '2025-05-31', '2025-07-31']],
    ['RSCALE=GREGORIAN;FREQ=MONTHLY;SKIP=BACKWARD;COUNT=4', '2025-01-31', ['2025-01-31', '2025-02-28', '2025-03-31', '2025-04-30']],
    ['RSCALE=GREGORIAN;FREQ=MONTHLY;SKIP=FORWARD;COUNT=4', '2025-01-31', ['2025-01-31', '2025-03-01', '2025-03-31', '2025-05-01']],
    ['RSCALE=GREGORIAN;FREQ=YEARLY;SKIP=BACKWARD;COUNT=3', '2024-02-29', ['2024-02-29', '2025-02-28', '2026-02-28']],
    ['FREQ=YEARLY;COUNT=3', '2024-02-29', ['2024-02-29', '2028-02-29', '2032-02-29']],
    ['FREQ=DAILY;BYMONTHDAY=-1;COUNT=3', '2025-01-31', ['2025-01-31', '2025-02-28', '2025-03-31']],
    ['FREQ=YEARLY;BYDAY=20MO;COUNT=2', '1997-05-19', ['1997-05-19', '1998-05-18']],
    ['FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO;COUNT=2', '2024-12-30', ['2024-12-30', '2025-12-29']],
  ])('%s from %s', (text, start, expected) => {
    expect(all(iterateRRule(parseRRule(text), W(start), { isDate: true })).map((s) => s.slice(0, 10))).toEqual(expected);
  });

  test('a rule that can never match again ends cleanly (a full Gregorian cycle of empty periods)', () => {
    expect(all(iterateRRule(parseRRule('FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=31'), W('2022-02-01T08:00:00'), { includeDtstart: false }))).toEqual([]);
    expect(all(iterateRRule(parseRRule('FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30'), W('2022-02-01T08:00:00')))).toEqual(['2022-02-01T08:00:00']);
  });

  test('a runaway rule throws RecurrenceLimitError with the step count, after yielding what it found', () => {
    const got: string[] = [];
    let err: unknown;
    try {
      for (const v of iterateRRule(parseRRule('FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30'), W('2025-01-01T00:00:00'))) got.push(formatWall(v));
    } catch (e) { err = e; }
    expect(got).toEqual(['2025-01-01T00:00:00']);
    expect(err).toBeInstanceOf(RecurrenceLimitError);
    expect((err as RecurrenceLimitError).iterations).toBeGreaterThan(0);
    expect(() => all(iterateRRule(parseRRule('FREQ=SECONDLY'), W('2025-01-01T00:00:00'), { maxIterations: 1000 }))).toThrow(RecurrenceLimitError);
  });

  test('iteration ends at year 9999', () => {
    const years = all(iterateRRule(parseRRule('FREQ=YEARLY;INTERVAL=1000'), W('2024-01-01T00:00:00'))).map((s) => s.slice(0, 4));
    expect(years).toEqual(['2024', '3024', '4024', '5024', '6024', '7024', '8024', '9024']);
  });

  test('property: sub-daily rules with day/hour filters equal brute-force stepping then filtering', () => {
    fc.assert(fc.property(
      fc.constantFrom('HOURLY', 'MINUTELY'), fc.integer({ min: 1, max: 97 }),
      fc.uniqueArray(fc.integer({ min: 0, max: 23 }), { minLength: 1, maxLength: 3 }),
      fc.option(fc.uniqueArray(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 3 }), { nil: undefined }),
      fc.option(fc.uniqueArray(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 2 }), { nil: undefined }),
      fc.integer({ min: 0, max: 5000 }),
      (freq, interval, hours, days, months, startOffset) => {
        const unit = freq === 'HOURLY' ? 3600_000 : 60_000;
        const start = Date.UTC(2020, 0, 1) + startOffset * 3600_000 + (startOffset % 60) * 60_000;
        const names = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];
        const text = `FREQ=${freq};INTERVAL=${interval};BYHOUR=${hours.join(',')}${days ? `;BYDAY=${days.map((d) => names[d]).join(',')}` : ''}${months ? `;BYMONTH=${months.join(',')}` : ''}`;
        // Some combinations never match (odd hours with BYHOUR=0 and INTERVAL=2): compare over a horizon.
        const horizon = start + 20_000 * interval * unit;
        const got: string[] = [];
        try {
          for (const v of iterateRRule(parseRRule(text), start, { includeDtstart: false })) {
            if (v > horizon || got.push(formatWall(v)) >= 30) break;
          }
        } catch (e) {
          expect(e).toBeInstanceOf(RecurrenceLimitError);
        }
        const want: string[] = [];
        for (let t = start; want.length < 30 && t <= horizon; t += interval * unit) {
          const d = new Date(t);
          if (!hours.includes(d.getUTCHours())) continue;
          if (days && !days.includes((d.getUTCDay() + 6) % 7)) continue;
          if (months && !months.includes(d.getUTCMonth() + 1)) continue;
          want.push(formatWall(t));
        }
        expect(got).toEqual(want);
      },
    ), { numRuns: 150 });
  });

  test('property: startAtWall skips whole periods without changing the instances after it', () => {
    const rules = ['FREQ=DAILY;INTERVAL=3', 'FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR', 'FREQ=MONTHLY;BYDAY=-1FR', 'FREQ=MONTHLY;BYMONTHDAY=31',
      'FREQ=YEARLY;BYWEEKNO=1,53;BYDAY=TH;INTERVAL=2', 'FREQ=HOURLY;INTERVAL=7;BYHOUR=3,9', 'FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-2',
      'RSCALE=GREGORIAN;FREQ=MONTHLY;BYMONTHDAY=31;SKIP=FORWARD', 'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29'];
    fc.assert(fc.property(fc.constantFrom(...rules), fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 20_000 }), (text, startDays, skipDays) => {
      const rule = parseRRule(text);
      const start = Date.UTC(2000, 0, 1, 9) + startDays * 86_400_000;
      const at = start + skipDays * 86_400_000;
      const firstAfter = (it: Iterable<number>) => {
        const out: string[] = [];
        for (const v of it) if (v >= at && out.push(formatWall(v)) >= 5) break;
        return out;
      };
      const plain = firstAfter(iterateRRule(rule, start));
      const fast = firstAfter(iterateRRule(rule, start, { startAtWall: at }));
      expect(plain).toHaveLength(5);
      expect(fast).toEqual(plain);
    }), { numRuns: 200 });
  });
});
