/**
 * The emulator's patternedRecurrence expansion checked against an independent oracle: rrule
 * (RFC 5545) for the patterns both express the same way (Outlook's "day 31 → last day of month"
 * rule has no RRULE twin, so absolute days stay ≤ 28 here; that rule has its own contract test).
 */
import fc from 'fast-check';
import { RRule, type Options } from 'rrule';
import { occurrenceDates, type PatternedRecurrence } from '../../emulator/graph/recurrence';

const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
const RR_DAYS = [RRule.SU, RRule.MO, RRule.TU, RRule.WE, RRule.TH, RRule.FR, RRule.SA];
const INDEX = { first: 1, second: 2, third: 3, fourth: 4, last: -1 } as const;

const daysArb = fc.uniqueArray(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 3 });
const patternArb = fc.oneof(
  fc.record({ type: fc.constant('daily'), interval: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ type: fc.constant('weekly'), interval: fc.integer({ min: 1, max: 3 }), days: daysArb, fdw: fc.integer({ min: 0, max: 6 }) }),
  fc.record({ type: fc.constant('absoluteMonthly'), interval: fc.integer({ min: 1, max: 3 }), dayOfMonth: fc.integer({ min: 1, max: 28 }) }),
  fc.record({ type: fc.constant('relativeMonthly'), interval: fc.integer({ min: 1, max: 3 }), days: daysArb, index: fc.constantFrom(...(Object.keys(INDEX) as (keyof typeof INDEX)[])) }),
  fc.record({ type: fc.constant('absoluteYearly'), interval: fc.integer({ min: 1, max: 2 }), month: fc.integer({ min: 1, max: 12 }), dayOfMonth: fc.integer({ min: 1, max: 28 }) }),
  fc.record({ type: fc.constant('relativeYearly'), interval: fc.integer({ min: 1, max: 2 }), month: fc.integer({ min: 1, max: 12 }), days: daysArb, index: fc.constantFrom(...(Object.keys(INDEX) as (keyof typeof INDEX)[])) }),
);

type P = { type: string; interval: number; days?: number[]; fdw?: number; dayOfMonth?: number; month?: number; index?: keyof typeof INDEX };

function toGraph(p: P, startDate: string, count: number): PatternedRecurrence {
  return {
    pattern: {
      type: p.type, interval: p.interval, daysOfWeek: p.days?.map((d) => DAYS[d]), firstDayOfWeek: p.fdw !== undefined ? DAYS[p.fdw] : undefined,
      dayOfMonth: p.dayOfMonth, month: p.month, index: p.index,
    },
    range: { type: 'numbered', startDate, numberOfOccurrences: count },
  };
}

function toRRule(p: P, start: Date, count: number): RRule {
  const o: Partial<Options> = { dtstart: start, interval: p.interval, count, wkst: RRule.SU };
  switch (p.type) {
    case 'daily': o.freq = RRule.DAILY; break;
    case 'weekly': Object.assign(o, { freq: RRule.WEEKLY, byweekday: p.days!.map((d) => RR_DAYS[d]), wkst: RR_DAYS[p.fdw!] }); break;
    case 'absoluteMonthly': Object.assign(o, { freq: RRule.MONTHLY, bymonthday: [p.dayOfMonth!] }); break;
    case 'relativeMonthly': Object.assign(o, { freq: RRule.MONTHLY, byweekday: p.days!.map((d) => RR_DAYS[d]), bysetpos: [INDEX[p.index!]] }); break;
    case 'absoluteYearly': Object.assign(o, { freq: RRule.YEARLY, bymonth: [p.month!], bymonthday: [p.dayOfMonth!] }); break;
    case 'relativeYearly': Object.assign(o, { freq: RRule.YEARLY, bymonth: [p.month!], byweekday: p.days!.map((d) => RR_DAYS[d]), bysetpos: [INDEX[p.index!]] }); break;
  }
  return new RRule(o);
}

test('occurrenceDates agrees with rrule for patterns both can express', () => {
  fc.assert(
    fc.property(patternArb, fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-12-31T00:00:00Z'), noInvalidDate: true }), fc.integer({ min: 1, max: 12 }), (p, d, count) => {
      const startDate = d.toISOString().slice(0, 10);
      const start = new Date(`${startDate}T00:00:00Z`);
      const ours = occurrenceDates(toGraph(p as P, startDate, count), Date.UTC(2100, 0, 1)).map((ms) => new Date(ms).toISOString().slice(0, 10));
      const theirs = toRRule(p as P, start, count).all().map((x) => x.toISOString().slice(0, 10));
      expect(ours).toEqual(theirs);
    }),
    { numRuns: 300 },
  );
});
