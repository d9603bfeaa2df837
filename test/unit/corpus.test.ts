/**
 * Walks every .ics file of the vendored real-world corpus (test/fixtures/corpus, 300 files from Google,
 * Outlook/Exchange, Apple, Thunderbird, libical/ical4j test data, fuzz inputs …) and checks the
 * parser against MANIFEST.tsv: no throwing, every VEVENT accounted for (event or error), no
 * errors in files that are not known to be broken, well-formed times with IANA zones.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkEventTime, type CalendarEvent, type ParseResult } from '../../core/event';
import { canonicalTimeZone } from '../../core/time';
import { IcsInputError, parseIcs, SUPERSEDES } from '../../core/ics/parse';
import { CORPUS_DIR, fixtureFile } from '../fixtures-path';
import { corpusFiles } from '../corpus-dir';

const CORPUS = CORPUS_DIR;

interface ManifestRow {
  path: string;
  originalPath: string;
  nVevent: number;
  notes: string;
}

function readManifest(): Map<string, ManifestRow> {
  const rows = new Map<string, ManifestRow>();
  const [, ...lines] = fs.readFileSync(fixtureFile(CORPUS, 'MANIFEST.tsv'), 'utf8').split('\n');
  for (const line of lines) {
    if (!line.trim()) continue;
    const c = line.split('\t');
    rows.set(c[0], { path: c[0], originalPath: c[2], nVevent: Number(c[5]), notes: c[10] ?? '' });
  }
  return rows;
}

/** Files the corpus itself labels as broken (name, original path or notes). */
const BROKEN = /invalid|broken|bad|fuzz|malformed|corrupt|error|crash|malloc|stresstest/i;
const isBroken = (r: ManifestRow) => BROKEN.test(r.path) || BROKEN.test(r.originalPath) || BROKEN.test(r.notes);

/** Not calendars at all: the parser throws IcsInputError (the CLI's exit code 1). */
const NOT_CALENDARS: Record<string, string> = {
  'libical/issue339.ics': 'a vCard (BEGIN:VCARD), no calendar component',
  'libical/issue250.ics': 'fuzz input whose only marker is "BEGIN;\\r\\n", no calendar component',
};

/**
 * Files that end inside a component: a cut-off download is a failed read (IcsInputError), so that a
 * sync deletes nothing because of what is missing. The reason is checked against the file itself.
 */
const TRUNCATED: Record<string, { inside: string; why: string }> = {
  'ical4j/13-MoonPhase.ics': { inside: 'VEVENT', why: 'the file stops in the middle of a DTEND value' },
  'icalendar/big_bad_calendar.ics': { inside: 'VCALENDAR', why: 'BEGIN:VCALENDAR and 20 empty VEVENTs, no END:VCALENDAR' },
  'icalendar/timezone_same_start_and_offset.ics': { inside: 'VCALENDAR', why: 'ends with the typo "END:VCALENDARD", so the calendar is never closed' },
  'libical/issue253.ics': { inside: 'VTHMEZOND', why: 'fuzz input: a mangled "BEGIN:VTHMEZOND" that nothing closes' },
  'libical/malloc.ics': { inside: 'VEVENT', why: 'fuzz input: a VEVENT left open before a mangled "END:VCALEND`R"' },
};

/**
 * A truncated file made whole for the tests that look at what it holds: everything after its
 * last END:VEVENT is replaced by END:VCALENDAR.
 */
function repaired(file: string): Uint8Array {
  const text = fs.readFileSync(path.join(CORPUS, file), 'latin1');
  const cut = text.lastIndexOf('END:VEVENT');
  return Buffer.from(text.slice(0, cut) + 'END:VEVENT\r\nEND:VCALENDAR\r\n', 'latin1');
}

/**
 * Files outside the broken bucket whose VEVENTs are legitimately rejected, and why. Every error in
 * such a file must match the pattern; the VEVENT count still has to add up.
 */
const EXPLAINED_ERRORS: Record<string, { pattern: RegExp; why: string }> = {
  'libical/outgoing.ics': { pattern: /has no DTSTART/, why: 'iTIP messages (REPLY/CANCEL/REFRESH…) whose VEVENTs omit DTSTART and RECURRENCE-ID, as RFC 5546 allows: no time to build an event from' },
  'libical/incoming.ics': { pattern: /has no DTSTART/, why: 'iTIP messages, as above' },
  'libical/2446.ics': { pattern: /has no DTSTART/, why: 'iTIP messages, as above' },
  'libical/large.ics': { pattern: /has no DTSTART/, why: '1,788 concatenated iTIP messages, as above' },
  'node-ical/attendee-with-url.ics': { pattern: /has no DTSTART/, why: 'node-ical fixture for ATTENDEE parsing, VEVENT without DTSTART' },
  'node-ical/event-with-category.ics': { pattern: /has no DTSTART/, why: 'node-ical fixture for CATEGORIES parsing, VEVENTs without DTSTART' },
  'libical/process-calendar.ics': { pattern: /"19970701T13000Z" is not a date/, why: 'libical test data with a 5-digit time in DTSTART' },
  'libical/process-incoming.ics': { pattern: /"19970701T13000Z" is not a date/, why: 'libical test data with a 5-digit time in DTSTART' },
  'node-ical/multi-event-basic.ics': { pattern: /DTSTART .*"Next Year" is not a date/, why: 'node-ical fixture with DTSTART:Next Year' },
};

const manifest = readManifest();
const files = corpusFiles();
const results = new Map<string, ParseResult>();

function parsed(file: string): ParseResult {
  let r = results.get(file);
  if (!r) {
    r = parseIcs(TRUNCATED[file] ? repaired(file) : new Uint8Array(fs.readFileSync(path.join(CORPUS, file))));
    results.set(file, r);
  }
  return r;
}

function checkEvent(e: CalendarEvent): string[] {
  const problems: string[] = [];
  if (!e.uid) problems.push('empty uid');
  for (const [name, t] of [['start', e.start], ['end', e.end], ['recurrenceId', e.recurrenceId]] as const) {
    if (!t) continue;
    const bad = checkEventTime(t);
    if (bad) problems.push(`${name}: ${bad}`);
    if (t.timeZone && canonicalTimeZone(t.timeZone) !== t.timeZone) problems.push(`${name}: zone "${t.timeZone}" is not canonical IANA`);
  }
  for (const t of [...(e.recurrence?.exdate ?? []), ...(e.recurrence?.rdate ?? [])]) {
    const bad = checkEventTime(t);
    if (bad) problems.push(`exdate/rdate: ${bad}`);
  }
  return problems;
}

describe('corpus', () => {
  test('the corpus is all there: 300 .ics files, each in MANIFEST.tsv', () => {
    expect(files).toHaveLength(300);
    expect(files.filter((f) => !manifest.has(f))).toEqual([]);
  });

  test.each(files)('%s', (file) => {
    const row = manifest.get(file)!;
    if (NOT_CALENDARS[file]) {
      expect(row.nVevent).toBe(0);
      expect(() => parsed(file)).toThrow(IcsInputError);
      return;
    }
    const truncated = TRUNCATED[file];
    if (truncated) {
      const bytes = new Uint8Array(fs.readFileSync(path.join(CORPUS, file)));
      expect(() => parseIcs(bytes)).toThrow(new RegExp(`^truncated iCalendar: the file ends inside ${truncated.inside} `));
      // Independent check: the file's last marker is not the END of its VCALENDAR.
      const markers = Buffer.from(bytes).toString('latin1').split(/\r?\n/).filter((l) => /^(BEGIN|END):/i.test(l));
      expect(markers[markers.length - 1]).not.toMatch(/^END:VCALENDAR\s*$/i);
      return;
    }
    const r = parsed(file);
    // Every VEVENT in the file is an event, an error, or an older revision an event replaced.
    const replaced = r.events.reduce((n, e) => n + (e.warnings ?? []).filter((w) => w.startsWith(SUPERSEDES)).length, 0);
    expect(r.events.length + r.errors.length + replaced).toBe(row.nVevent);
    const explained = EXPLAINED_ERRORS[file];
    if (explained) {
      expect(r.errors.length).toBeGreaterThan(0);
      for (const err of r.errors) expect(err.message).toMatch(explained.pattern);
    } else if (!isBroken(row)) {
      expect(r.errors).toEqual([]);
    }
    for (const err of r.errors) {
      expect(typeof err.line).toBe('number');
      expect(err.message).toMatch(/line \d+/);
    }
    expect(r.events.flatMap((e) => checkEvent(e).map((p) => `${e.uid}: ${p}`))).toEqual([]);
  });

  test('parsing is deterministic across the corpus (same input → deep-equal output)', () => {
    for (const file of files) {
      if (NOT_CALENDARS[file] || TRUNCATED[file]) continue;
      expect(parseIcs(new Uint8Array(fs.readFileSync(path.join(CORPUS, file))))).toEqual(parsed(file));
    }
  });
});

describe('corpus: targeted files', () => {
  const events = (file: string) => parsed(file).events;

  test.each([
    ['khal/tz_windows_format.ics', 'Pacific/Auckland'],
    ['icalendar/issue_836_do_not_quote_tzid.ics', 'America/New_York'],
    ['node-ical/vtimezone-year-0001-dtstart.ics', 'Europe/Berlin'],
    ['python-recurring-ical-events/issue_107_omitting_last_event.ics', 'America/Los_Angeles'],
    ['ical4j/tmeher.ics', 'America/Los_Angeles'], // "Pacific Time (US & Canada), Tijuana"
    ['ical4j/2207678.ics', 'Asia/Singapore'], // "Kuala Lumpur, Singapore"
    ['ical4j/evolution2.ics', 'Asia/Dubai'], // "Arabian Standard Time"
    ['icalendar/timezone_same_start_and_offset.ics', 'Asia/Tokyo'], // "Tokyo Standard Time"
    ['ical4j/talios.ics', 'Pacific/Auckland'], // /softwarestudio.org/Olson_20011030_5/Pacific/Auckland
    ['ical4j/evolution.ics', 'America/Chicago'], // /softwarestudio.org/Tzfile/America/Chicago
  ])('Windows / vendor TZID in %s resolves to %s', (file, zone) => {
    const evs = events(file);
    expect(evs.length).toBeGreaterThan(0);
    expect(evs.map((e) => e.start.timeZone)).toContain(zone);
    expect(evs.flatMap((e) => e.warnings ?? []).filter((w) => /time zone/.test(w))).toEqual([]);
  });

  test('Exchange display names with quotes: "(GMT+10:00) Canberra, …" and "(UTC-05:00) Eastern Time (US & Canada)"', () => {
    const zones = new Set(events('node-ical/Office-2012-owa.ics').map((e) => e.start.timeZone));
    expect(zones).toEqual(new Set(['Australia/Sydney', 'America/New_York']));
  });

  test('quoted Windows ids in ms_timezones.ics, including a TZID with a misplaced quote', () => {
    const evs = events('node-ical/ms_timezones.ics');
    expect(parsed('node-ical/ms_timezones.ics').errors).toEqual([]);
    expect(evs.find((e) => e.title === "Log Yesterday's Jira time")?.start).toEqual({ dateTime: '2020-06-09T09:00:00', timeZone: 'Europe/Berlin' });
  });

  test('custom Outlook zone matched by its VTIMEZONE: "(UTC-03:00) Brasília" → America/Sao_Paulo', () => {
    const [e] = events('icalendar/issue_237_fail_to_parse_timezone_with_non_ascii_tzid.ics');
    expect(e.start.timeZone).toBe('America/Sao_Paulo');
  });

  test('X-WR-TIMEZONE: floating Google export gets the calendar zone', () => {
    const [e] = events('x-wr-timezone/single-event-no-tz.in.ics');
    expect(e.start).toEqual({ dateTime: '2021-09-16T21:00:00', timeZone: 'Europe/Brussels' });
    expect(e.end).toEqual({ dateTime: '2021-09-16T22:45:00', timeZone: 'Europe/Brussels' });
    expect(parsed('x-wr-timezone/single-event-no-tz.in.ics').calendar?.timeZone).toBe('Europe/Brussels');
  });

  test('X-WR-TIMEZONE with a UTC recurrence and a UTC RECURRENCE-ID: both shown in the calendar zone', () => {
    const evs = events('x-wr-timezone/moved-event-RECURRENCE-ID.in.ics');
    const master = evs.find((e) => !e.recurrenceId)!;
    const moved = evs.find((e) => e.recurrenceId)!;
    expect(master.start).toEqual({ dateTime: '2021-11-26T21:30:00', timeZone: 'Europe/Berlin' });
    expect(moved.uid).toBe(master.uid);
    expect(moved.recurrenceId).toEqual({ dateTime: '2021-12-31T21:30:00', timeZone: 'Europe/Berlin' });
    expect(moved.start).toEqual({ dateTime: '2021-12-17T21:30:00', timeZone: 'Europe/Berlin' });
  });

  test('RECURRENCE-ID overrides stay with their own series (khal: several UIDs, out of order)', () => {
    const evs = events('khal/mult_uids_and_recuid_no_order.ics');
    const byUid = new Map<string, CalendarEvent[]>();
    for (const e of evs) byUid.set(e.uid, [...(byUid.get(e.uid) ?? []), e]);
    for (const group of byUid.values()) {
      // Master (if any) first, overrides after it, all contiguous in the output.
      const firstOverride = group.findIndex((e) => e.recurrenceId);
      if (firstOverride > 0) expect(group.slice(0, firstOverride).every((e) => !e.recurrenceId)).toBe(true);
    }
    const uids = evs.map((e) => e.uid);
    expect(uids.filter((u, i) => uids.indexOf(u) !== i && uids[i - 1] !== u)).toEqual([]);
  });

  test('RECURRENCE-ID given as DATE for a timed series is read at the series time of day', () => {
    const evs = events('python-recurring-ical-events/issue_36_recurrence_ID_format.ics');
    for (const e of evs.filter((x) => x.recurrenceId)) {
      const master = evs.find((m) => m.uid === e.uid && !m.recurrenceId);
      if (!master) continue;
      expect(e.recurrenceId!.date === undefined).toBe(master.start.date === undefined);
      expect(e.recurrenceId!.timeZone).toBe(master.start.timeZone);
    }
  });

  test('lone CR line ends (libical/issue252.ics, fuzzed) parse to the VEVENT it has', () => {
    const r = parsed('libical/issue252.ics');
    expect(r.events.length + r.errors.length).toBe(1);
  });

  test('non-UTF-8: mostly-UTF-8 Japanese text with one corrupted byte stays UTF-8', () => {
    const [e] = events('ical4j/1106817412.ics');
    expect(e.title).toMatch(/^2005年日本国際/);
  });

  test('UTF-8 BOM: bom_calendar.ics parses (an empty calendar)', () => {
    expect(parsed('icalendar/bom_calendar.ics')).toEqual({ events: [], errors: [] });
  });

  test('missing UIDs (13-MoonPhase.ics, its cut-off last VEVENT removed): derived, distinct, and warned about', () => {
    const evs = events('ical4j/13-MoonPhase.ics');
    expect(evs).toHaveLength(41);
    expect(new Set(evs.map((e) => e.uid)).size).toBe(41);
    expect(evs.every((e) => e.warnings?.some((w) => w.startsWith('no UID: derived')))).toBe(true);
  });

  test('the largest file (4,778 Google events) parses completely', () => {
    const r = parsed('python-recurring-ical-events/issue42.ics');
    expect(r.errors).toEqual([]);
    expect(r.events).toHaveLength(4778);
  });
});
