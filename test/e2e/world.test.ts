/**
 * The e2e harness moves the sample feeds to sit around today (test/e2e/world.ts). Moving must
 * change dates only: identities (UIDs with dates in them) and VTIMEZONE rules stay, weekdays stay.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureShiftWeeks, FIXTURE_ANCHOR, shiftDates } from './world';

const feeds = join(__dirname, '..', 'fixtures', 'feeds');
const read = (f: string) => readFileSync(join(feeds, f), 'utf8');

describe('shiftDates', () => {
  it('moves ICS dates by whole weeks and keeps UIDs and VTIMEZONE rules', () => {
    const ics = read('ckalender.ics');
    const moved = shiftDates(ics, 2);
    expect(moved.match(/^UID:.*$/gm)).toEqual(ics.match(/^UID:.*$/gm));
    expect(moved).toContain('UID:ck-20261001-0042@ckalender.example');
    expect(moved).toContain('DTSTART;TZID=Europe/Berlin:20261208T100000');
    expect(moved).toContain('RECURRENCE-ID;TZID=Europe/Berlin:20261222T100000');
    expect(moved).toContain('DTSTART;VALUE=DATE:20261217');
    expect(moved).toContain('DTSTART:19700329T020000');
  });

  it('moves EXDATE lists and UNTIL values', () => {
    const moved = shiftDates('EXDATE;TZID=Europe/Berlin:20261222T100000,20261229T100000\r\nRRULE:FREQ=WEEKLY;UNTIL=20270126T225959Z\r\n', 1);
    expect(moved).toBe('EXDATE;TZID=Europe/Berlin:20261229T100000,20270105T100000\r\nRRULE:FREQ=WEEKLY;UNTIL=20270202T225959Z\r\n');
  });

  it('moves JSON ISO dates and unix seconds, not ids', () => {
    const json = '{"id":"ev-20261124","start":"2026-11-24T09:00:00","date":"2026-11-30","start_s":1,"start":1795420800}';
    expect(shiftDates(json, 2)).toBe('{"id":"ev-20261124","start":"2026-12-08T09:00:00","date":"2026-12-14","start_s":1,"start":1796630400}');
  });

  it('keeps the weekday of every moved date', () => {
    const ics = read('kaltura.ics');
    const before = [...ics.matchAll(/^DTSTART:(\d{4})(\d{2})(\d{2})/gm)].map((m) => new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])).getUTCDay());
    const after = [...shiftDates(ics, 5).matchAll(/^DTSTART:(\d{4})(\d{2})(\d{2})/gm)].map((m) => new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])).getUTCDay());
    expect(after).toEqual(before);
    expect(shiftDates(ics, 0)).toBe(ics);
  });

  it('counts whole weeks since the fixtures\' anchor', () => {
    expect(fixtureShiftWeeks(FIXTURE_ANCHOR - 86_400_000)).toBe(0);
    expect(fixtureShiftWeeks(FIXTURE_ANCHOR + 15 * 86_400_000)).toBe(2);
  });
});
