/**
 * The Google emulator expands series with its own engine (the `rrule` package, emulator/google/
 * recurrence.ts), the sync engine with core/recurrence. This test runs both over the rule shapes
 * Google accepts and lists where they disagree. Known disagreements are pinned by name with the
 * reason; a new one fails (a bug in one of the two engines, to be understood), and so does a
 * known one that went away (update the list).
 */
import { expandSeries } from '../../emulator/google/recurrence';
import { expandOccurrences } from '../../core/recurrence';
import type { CalendarEvent, EventTime } from '../../core/event';
import { eventTimeToUtc } from '../../core/time';

interface Case {
  name: string;
  start: { dateTime?: string; date?: string; timeZone?: string };
  end: { dateTime?: string; date?: string; timeZone?: string };
  recurrence: string[];
}

const B = 'Europe/Berlin';
const NY = 'America/New_York';
const t = (dateTime: string, timeZone = B) => ({ dateTime, timeZone });
const CASES: Case[] = [
  { name: 'weekly COUNT', start: t('2026-01-05T09:00:00'), end: t('2026-01-05T10:00:00'), recurrence: ['RRULE:FREQ=WEEKLY;COUNT=10'] },
  { name: 'weekly across DST (Berlin)', start: t('2026-03-02T09:00:00'), end: t('2026-03-02T10:00:00'), recurrence: ['RRULE:FREQ=WEEKLY;COUNT=8'] },
  { name: 'daily UNTIL in UTC', start: t('2026-03-25T08:00:00'), end: t('2026-03-25T09:00:00'), recurrence: ['RRULE:FREQ=DAILY;UNTIL=20260402T070000Z'] },
  { name: 'daily UNTIL as date', start: t('2026-03-25T08:00:00'), end: t('2026-03-25T09:00:00'), recurrence: ['RRULE:FREQ=DAILY;UNTIL=20260401'] },
  { name: 'weekdays BYDAY INTERVAL=2 WKST=SU', start: t('2026-01-04T18:00:00'), end: t('2026-01-04T19:00:00'), recurrence: ['RRULE:FREQ=WEEKLY;INTERVAL=2;WKST=SU;BYDAY=SU,TU,TH;COUNT=12'] },
  { name: 'monthly last weekday (BYSETPOS=-1)', start: t('2026-01-30T12:00:00'), end: t('2026-01-30T13:00:00'), recurrence: ['RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=12'] },
  { name: 'monthly 2nd Tuesday', start: t('2026-01-13T10:00:00'), end: t('2026-01-13T11:00:00'), recurrence: ['RRULE:FREQ=MONTHLY;BYDAY=2TU;COUNT=12'] },
  { name: 'monthly last day (BYMONTHDAY=-1)', start: t('2026-01-31T10:00:00'), end: t('2026-01-31T11:00:00'), recurrence: ['RRULE:FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=12'] },
  { name: 'monthly on the 31st skips short months', start: t('2026-01-31T10:00:00'), end: t('2026-01-31T11:00:00'), recurrence: ['RRULE:FREQ=MONTHLY;COUNT=7'] },
  { name: 'yearly last day of February', start: t('2026-02-28T10:00:00'), end: t('2026-02-28T11:00:00'), recurrence: ['RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1;COUNT=2'] },
  { name: 'started before the window', start: t('2025-06-02T09:00:00'), end: t('2025-06-02T10:00:00'), recurrence: ['RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=40'] },
  { name: 'yearly BYWEEKNO', start: t('2026-01-05T10:00:00'), end: t('2026-01-05T11:00:00'), recurrence: ['RRULE:FREQ=YEARLY;BYWEEKNO=1,20;BYDAY=MO;COUNT=6'] },
  { name: 'EXDATE with TZID and RDATE', start: t('2026-01-05T09:00:00'), end: t('2026-01-05T10:00:00'), recurrence: ['RRULE:FREQ=WEEKLY;COUNT=6', 'EXDATE;TZID=Europe/Berlin:20260112T090000,20260126T090000', 'RDATE;TZID=Europe/Berlin:20260301T150000'] },
  { name: 'EXDATE in UTC', start: t('2026-01-05T09:00:00'), end: t('2026-01-05T10:00:00'), recurrence: ['RRULE:FREQ=WEEKLY;COUNT=4', 'EXDATE:20260112T080000Z'] },
  { name: 'EXRULE', start: t('2026-01-05T09:00:00'), end: t('2026-01-05T10:00:00'), recurrence: ['RRULE:FREQ=DAILY;COUNT=14', 'EXRULE:FREQ=WEEKLY;BYDAY=SA,SU'] },
  { name: 'time in the spring-forward gap (02:30 Berlin)', start: t('2026-03-22T02:30:00'), end: t('2026-03-22T03:00:00'), recurrence: ['RRULE:FREQ=WEEKLY;COUNT=3'] },
  { name: 'time in the fall-back overlap (02:30 Berlin)', start: t('2026-10-18T02:30:00'), end: t('2026-10-18T03:00:00'), recurrence: ['RRULE:FREQ=WEEKLY;COUNT=3'] },
  { name: 'New York weekly across both DST changes', start: t('2026-03-01T23:30:00', NY), end: t('2026-03-02T00:30:00', NY), recurrence: ['RRULE:FREQ=WEEKLY;UNTIL=20261115T000000Z'] },
  { name: 'all-day weekly', start: { date: '2026-01-05' }, end: { date: '2026-01-06' }, recurrence: ['RRULE:FREQ=WEEKLY;COUNT=5'] },
  { name: 'all-day two days, UNTIL date', start: { date: '2026-01-05' }, end: { date: '2026-01-07' }, recurrence: ['RRULE:FREQ=WEEKLY;UNTIL=20260202'] },
  { name: 'all-day EXDATE as date', start: { date: '2026-01-05' }, end: { date: '2026-01-06' }, recurrence: ['RRULE:FREQ=DAILY;COUNT=5', 'EXDATE;VALUE=DATE:20260107'] },
  { name: 'hourly BYHOUR', start: t('2026-01-05T08:00:00'), end: t('2026-01-05T08:30:00'), recurrence: ['RRULE:FREQ=DAILY;BYHOUR=8,12,16;COUNT=9'] },
  { name: 'endless weekly (window-bounded)', start: t('2026-01-05T09:00:00'), end: t('2026-01-05T10:00:00'), recurrence: ['RRULE:FREQ=WEEKLY;BYDAY=MO,WE'] },
  { name: 'DTSTART not matching the rule', start: t('2026-01-06T09:00:00'), end: t('2026-01-06T10:00:00'), recurrence: ['RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=3'] },
];

/** Known disagreements: case name → why (the engine that is right, per RFC 5545 or Google). */
const KNOWN: Record<string, string> = {
  // RFC 5545 requires UNTIL to have DTSTART's value type; Google's own clients write a date UNTIL for
  // timed series to mean "through that day". The emulator includes that day; core reads the date as
  // midnight (start of the day), so the last occurrence is dropped. Unresolved: Google's behaviour
  // is not documented; real-account check needed.
  'daily UNTIL as date': 'core drops the occurrence on the UNTIL day of a timed series',
};

const FROM = Date.UTC(2025, 11, 1);
const TO = Date.UTC(2027, 0, 1);

function coreTime(x: Case['start']): EventTime {
  return x.date ? { date: x.date } : { dateTime: x.dateTime!, timeZone: x.timeZone };
}

function dateList(line: string): EventTime[] {
  const params = line.slice(0, line.indexOf(':')).split(';').slice(1);
  const tz = params.find((p) => p.toUpperCase().startsWith('TZID='))?.slice(5);
  return line.slice(line.indexOf(':') + 1).split(',').map((v) => {
    const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/.exec(v)!;
    if (!m[4]) return { date: `${m[1]}-${m[2]}-${m[3]}` };
    const dateTime = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7] ?? ''}`;
    return !m[7] && tz ? { dateTime, timeZone: tz } : { dateTime };
  });
}

function coreStarts(c: Case): number[] {
  const zone = c.start.timeZone ?? 'UTC';
  const ev: CalendarEvent = { uid: c.name, title: c.name, start: coreTime(c.start), end: coreTime(c.end), recurrence: { rrule: [], rdate: [], exdate: [], exrule: [] } };
  for (const line of c.recurrence) {
    const name = line.slice(0, line.search(/[:;]/)).toUpperCase();
    const value = line.slice(line.indexOf(':') + 1);
    if (name === 'RRULE') ev.recurrence!.rrule.push(value);
    else if (name === 'EXRULE') ev.recurrence!.exrule!.push(value);
    else if (name === 'RDATE') ev.recurrence!.rdate.push(...dateList(line));
    else if (name === 'EXDATE') ev.recurrence!.exdate.push(...dateList(line));
  }
  const { occurrences, errors } = expandOccurrences([ev], FROM, TO, { floatingZone: zone });
  if (errors.length) throw new Error(errors.map((e) => e.message).join('; '));
  return occurrences.map((o) => eventTimeToUtc(o.start, zone)).sort((a, b) => a - b);
}

function emulatorStarts(c: Case): number[] {
  return expandSeries(c, 'UTC', FROM, TO).map((o) => o.startUtc).sort((a, b) => a - b);
}

test('the emulator (rrule) and core/recurrence agree on every Google rule shape, except the known disagreements', () => {
  const found: Record<string, string> = {};
  for (const c of CASES) {
    const core = coreStarts(c);
    const emu = emulatorStarts(c);
    const iso = (xs: number[]) => xs.map((x) => new Date(x).toISOString());
    if (JSON.stringify(core) !== JSON.stringify(emu)) {
      const onlyCore = iso(core.filter((x) => !emu.includes(x)));
      const onlyEmu = iso(emu.filter((x) => !core.includes(x)));
      found[c.name] = `core only: ${onlyCore.join(', ') || '—'}; emulator only: ${onlyEmu.join(', ') || '—'}`;
    }
    if (emu.length === 0 && core.length === 0) found[c.name] = 'both empty: the case tests nothing';
  }
  if (Object.keys(found).length) console.log(found);
  expect(Object.keys(found).sort()).toEqual(Object.keys(KNOWN).sort());
});

test('the emulator refuses rule parts Google refuses, and its expansion needs no core code', () => {
  expect(() => expandSeries({ start: t('2026-01-05T09:00:00'), end: t('2026-01-05T10:00:00'), recurrence: ['RRULE:FREQ=WEEKLY;UNTL=20260101'] }, 'UTC', FROM, TO)).toThrow(/UNTL/);
  expect(() => expandSeries({ start: t('2026-01-05T09:00:00'), end: t('2026-01-05T10:00:00'), recurrence: ['RRULE:COUNT=3'] }, 'UTC', FROM, TO)).toThrow(/FREQ/);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const src = require('node:fs').readFileSync(require.resolve('../../emulator/google/recurrence.ts'), 'utf8') as string;
  expect(src).not.toMatch(/from '[^']*core\/recurrence/);
});
