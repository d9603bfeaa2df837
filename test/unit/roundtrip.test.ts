/**
 * parse → serialize → parse yields the same events, for every real .ics in test/fixtures/corpus and
 * for our sample feeds. Warnings are diagnostics about the first reading (derived UID, unknown
 * zone…) and are not compared; everything else is, deeply.
 */
import * as fs from 'fs';
import * as path from 'path';
import ICAL from 'ical.js';
import type { CalendarEvent } from '../../core/event';
import { parseIcs } from '../../core/ics/parse';
import { serializeIcs } from '../../core/ics/serialize';
import { parseJsonEvents } from '../../core/json';
import { CORPUS_DIR, fixtureFile } from '../fixtures-path';

const CORPUS = CORPUS_DIR;
fixtureFile(CORPUS, 'MANIFEST.tsv'); // a missing corpus fails by name, not as an empty test table
const FEEDS = path.join(__dirname, '../fixtures/feeds');
const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);

function listIcs(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listIcs(p));
    else if (/\.ics$/i.test(entry.name)) out.push(p);
  }
  return out.sort();
}

function comparable(events: CalendarEvent[]): CalendarEvent[] {
  return events.map((e) => {
    const rest = { ...e };
    delete rest.warnings;
    return rest as CalendarEvent;
  });
}

/** Order-insensitive between components (serialization puts overrides after their master). */
function sorted(events: CalendarEvent[]): CalendarEvent[] {
  const key = (e: CalendarEvent) => JSON.stringify([e.uid, e.recurrenceId ?? null, e.start]);
  return [...events].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/**
 * Rules export leaves out (strict readers would reject the whole file over them), by file: the
 * only difference a round trip may show. Each was checked by hand against the file.
 */
const RULES_LEFT_OUT: Record<string, string[]> = {
  'libical/zday.ics': [
    'a: FREQ=SECONDLY;INTERVAL=0;BYSECOND=0,0;BYMINUTE=0;BYDAY=0FR;BYYEARDAY=0;BYWEEKNO=0;BYMONTH=0;WKST=FR',
    'a: FREQ=SECONDLY;UNTIL=18640509;INTERVAL=-1;BYSECOND=0,0;BYMINUTE=0;BYHOUR=0;BYDAY=0SU;BYMONTHDAY=0,0;BYYEARDAY=0;BYWEEKNO=0,0;WKST=TU',
    'a: FREQ=YEARLY;UNTIL=18640509;BYSECOND=0;BYMINUTE=0,0;BYHOUR=0;BYDAY=SU;BYMONTHDAY=0;BYYEARDAY=0,0;BYWEEKNO=0,0;BYMONTH=0,0;WKST=TU',
    'c: FREQ=DAILY;COUNT=-1;BYMINUTE=0;BYHOUR=0;BYDAY=SU;BYYEARDAY=0,0;BYWEEKNO=0;BYMONTH=0,0;BYSETPOS=0,0;WKST=SU',
  ],
  'node-ical/badRRULE.ics': ['11le1ep09hvog7dbotn6foj38e@google.com: AnythingRandom;FREQ=WEEKLY;BYDAY=FR,MO,TH,TU,WE'],
  'python-recurring-ical-events/bad_rrule_missing_until_event.ics': ['blabla: FREQ=WEEKLY;UNTL=20191023;BYDAY=TH;WKST=SU'],
};

function roundTrip(input: string | Uint8Array, leftOut: string[] = []): { first: CalendarEvent[]; second: CalendarEvent[]; text: string } {
  const first = parseIcs(input);
  const dropped: string[] = [];
  const text = serializeIcs(first.events, {
    now: NOW, method: first.calendar?.method, calendarName: first.calendar?.name,
    onWarning: (w) => dropped.push(`${w.uid}: ${/"(.*)" left out/.exec(w.message)?.[1] ?? w.message}`),
  });
  expect(dropped).toEqual(leftOut);
  const second = parseIcs(text);
  expect(second.errors).toEqual([]);
  const expected = comparable(first.events).map((e) => {
    const gone = e.recurrence?.rrule.filter((r) => leftOut.includes(`${e.uid}: ${r}`)) ?? [];
    if (!gone.length) return e;
    const rrule = e.recurrence!.rrule.filter((r) => !gone.includes(r));
    const recurrence = { ...e.recurrence!, rrule };
    const rest = { ...e };
    // Without its rule, an event with no RDATE/EXDATE has no recurrence at all.
    if (rrule.length || recurrence.rdate.length || recurrence.exdate.length || recurrence.exrule) rest.recurrence = recurrence;
    else delete rest.recurrence;
    return rest;
  });
  return { first: sorted(expected), second: sorted(comparable(second.events)), text };
}

const corpusFiles = listIcs(CORPUS);

describe('round trip over the corpus', () => {
  test('the corpus is there', () => {
    expect(corpusFiles.length).toBeGreaterThanOrEqual(300);
  });

  test.each(corpusFiles.map((f) => [path.relative(CORPUS, f)]))('%s', (rel) => {
    const bytes = fs.readFileSync(path.join(CORPUS, rel));
    let result: ReturnType<typeof roundTrip> | undefined;
    try {
      result = roundTrip(bytes, RULES_LEFT_OUT[rel.split(path.sep).join('/')]);
    } catch (err) {
      // The only acceptable failure: not a calendar at all, so there is nothing to round-trip.
      expect(err).toMatchObject({ name: 'IcsInputError' });
    }
    if (!result) return;
    expect(result.second).toEqual(result.first);
  });
});

describe('round trip of the sample feeds', () => {
  test.each(['ckalender.ics', 'learningspace.ics', 'kaltura.ics'])('%s', (name) => {
    const { first, second, text } = roundTrip(fs.readFileSync(path.join(FEEDS, name)));
    expect(first.length).toBeGreaterThan(3);
    expect(second).toEqual(first);
    if (name === 'kaltura.ics') {
      // X-KALTURA-* verbatim, in order, on master and children
      expect(text).toContain('X-KALTURA-RESOURCE-IDS:5012,5013\r\n');
      expect(text).toContain('X-KALTURA-PARENT-ID:88001\r\n');
      expect(first.find((e) => !e.recurrenceId && e.uid.endsWith('88001'))?.rooms).toEqual(['5012', '5013']);
    }
  });

  test.each([
    ['caldn.json', 'caldn', false],
    ['learningspace.json', 'learningspace', true],
    ['sonderplan.json', 'sonderplan', true],
  ] as const)('%s: JSON → ICS → parse keeps every modelled field', (name, preset, hasRooms) => {
    const json = parseJsonEvents(JSON.parse(fs.readFileSync(path.join(FEEDS, name), 'utf8')), preset);
    expect(json.errors).toEqual([]);
    const back = parseIcs(serializeIcs(json.events, { now: NOW }));
    expect(back.errors).toEqual([]);
    // rooms from JSON travel as RESOURCES and are read back from there
    expect(json.events.some((e) => e.rooms?.length)).toBe(hasRooms);
    expect(sorted(comparable(back.events))).toEqual(sorted(comparable(json.events)));
  });
});

describe("an unquoted X- parameter value with Apple's escaped ';'", () => {
  // ical4j/apple-iphone-os-26-structured-location.ics: `…;X-TITLE=Hauptstraße 1-5\; 4041 Linz;X-APPLE-RADIUS=…`
  const rel = 'ical4j/apple-iphone-os-26-structured-location.ics';
  const unfold = (text: string) => text.replace(/\r?\n[ \t]/g, '');

  test('is one parameter value, kept as written, and is written back quoted', () => {
    const bytes = fs.readFileSync(path.join(CORPUS, rel));
    const first = parseIcs(bytes);
    const x = first.events[0].xProps?.find((p) => p.name === 'X-APPLE-STRUCTURED-LOCATION');
    expect(x?.params?.['X-TITLE']).toBe('Hauptstraße 1-5\\; 4041 Linz');
    expect(Object.keys(x?.params ?? {})).toEqual(['VALUE', 'X-APPLE-MAPKIT-HANDLE', 'X-APPLE-REFERENCEFRAME', 'X-TITLE', 'X-APPLE-RADIUS']);

    const text = serializeIcs(first.events, { now: NOW });
    const line = unfold(text).split('\r\n').find((l) => l.startsWith('X-APPLE-STRUCTURED-LOCATION'))!;
    expect(line).toContain(';X-TITLE="Hauptstraße 1-5\\; 4041 Linz";X-APPLE-RADIUS=');
    expect(comparable(parseIcs(text).events)).toEqual(comparable(first.events));

    // ical.js splits the original at the ';' (RFC 5545 has no escapes in parameter values), but
    // reads the quoted form as one value (it applies TEXT unescaping to parameter values).
    const original = unfold(bytes.toString('utf8')).split(/\r?\n/).find((l) => l.startsWith('X-APPLE-STRUCTURED-LOCATION'))!;
    expect((ICAL.parse.property(original) as unknown[])[1]).toMatchObject({ 'x-title': 'Hauptstraße 1-5\\' });
    expect((ICAL.parse.property(line) as unknown[])[1]).toMatchObject({ 'x-title': 'Hauptstraße 1-5; 4041 Linz' });
  });
});
