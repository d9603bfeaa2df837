import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { CORPUS_DIR, fixtureFile } from '../fixtures-path';
import { IcsInputError, parseIcs, SUPERSEDES } from '../../core/ics/parse';
import { expandOccurrences } from '../../core/recurrence';
import { eventKey, type CalendarEvent } from '../../core/event';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'ics');
const fixture = (name: string) => new Uint8Array(fs.readFileSync(path.join(FIXTURES, name)));

/** Wraps VEVENT bodies (arrays of lines) into a calendar, joined with `eol`. */
function ics(events: string[][], { eol = '\r\n', calProps = [] as string[] } = {}): string {
  const lines = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', ...calProps];
  for (const e of events) lines.push('BEGIN:VEVENT', ...e, 'END:VEVENT');
  lines.push('END:VCALENDAR');
  return lines.join(eol) + eol;
}

const one = (body: string[], opts?: Parameters<typeof ics>[1]): CalendarEvent => {
  const r = parseIcs(ics([body], opts));
  expect(r.errors).toEqual([]);
  expect(r.events).toHaveLength(1);
  return r.events[0];
};

describe('parseIcs: field mapping', () => {
  test('maps every CalendarEvent field', () => {
    const e = one([
      'UID:full-1@example.com',
      'DTSTART;TZID=Europe/Berlin:20241014T091500',
      'DTEND;TZID=Europe/Berlin:20241014T104500',
      'SUMMARY:Team sync\\, weekly',
      'DESCRIPTION:Agenda:\\n1. news\\; 2. plans',
      'LOCATION:Room 4.12',
      'STATUS:tentative',
      'TRANSP:TRANSPARENT',
      'ORGANIZER;CN="Doe, Jane":mailto:jane@example.com',
      'ATTENDEE;CN=Bob;ROLE=OPT-PARTICIPANT;PARTSTAT=ACCEPTED;CUTYPE=INDIVIDUAL;RSVP=TRUE:mailto:bob@example.com',
      'ATTENDEE;CUTYPE=ROOM;CN=Hall A:MAILTO:hall-a@rooms.example.com',
      'CATEGORIES:Work,Planning',
      'CATEGORIES:Team',
      'URL:https://example.com/meet?id=1',
      'SEQUENCE:7',
      'CREATED:20240101T120000Z',
      'LAST-MODIFIED;TZID=Europe/Berlin:20240601T120000',
    ]);
    expect(e).toEqual({
      uid: 'full-1@example.com',
      title: 'Team sync, weekly',
      description: 'Agenda:\n1. news; 2. plans',
      location: 'Room 4.12',
      start: { dateTime: '2024-10-14T09:15:00', timeZone: 'Europe/Berlin' },
      end: { dateTime: '2024-10-14T10:45:00', timeZone: 'Europe/Berlin' },
      status: 'TENTATIVE',
      transparency: 'TRANSPARENT',
      organizer: { email: 'jane@example.com', name: 'Doe, Jane' },
      attendees: [
        { email: 'bob@example.com', name: 'Bob', role: 'OPT-PARTICIPANT', status: 'ACCEPTED', type: 'INDIVIDUAL', rsvp: true },
        { email: 'hall-a@rooms.example.com', name: 'Hall A', type: 'ROOM' },
      ],
      categories: ['Work', 'Planning', 'Team'],
      url: 'https://example.com/meet?id=1',
      sequence: 7,
      created: '2024-01-01T12:00:00Z',
      lastModified: '2024-06-01T10:00:00Z',
      rooms: ['hall-a@rooms.example.com'],
    });
  });

  test('sourceId is stamped on every event', () => {
    const r = parseIcs(ics([['UID:a', 'DTSTART:20240101T100000Z'], ['UID:b', 'DTSTART:20240102T100000Z']]), { sourceId: 'src-1' });
    expect(r.events.map((e) => e.sourceId)).toEqual(['src-1', 'src-1']);
  });

  test('X- properties are kept verbatim, in order, with parameters; Kaltura resource ids become rooms', () => {
    const r = parseIcs(fixture('kaltura-series.ics'));
    expect(r.errors).toEqual([]);
    const master = r.events[0];
    expect(master.xProps).toEqual([
      { name: 'X-KALTURA-RESOURCE-IDS', value: '4711, 4712' },
      { name: 'X-KALTURA-CATEGORY-IDS', value: '12;13' },
      { name: 'X-KALTURA-PARTNER-ID', value: '2345678', params: { 'X-SOURCE': 'a;b' } },
      { name: 'X-KALTURA-DESCRIPTION', value: 'Line one\\nline two\\, escaped' },
    ]);
    expect(master.rooms).toEqual(['4711', '4712']);
    expect(r.calendar).toEqual({ name: 'Lecture halls', prodId: '-//Kaltura//Room Schedule//EN' });
  });

  test('lower-case X- names are upper-cased, values untouched', () => {
    const e = one(['UID:x', 'DTSTART:20240101T100000Z', 'x-custom-Thing;x-p=1:Some \\, raw: value']);
    expect(e.xProps).toEqual([{ name: 'X-CUSTOM-THING', value: 'Some \\, raw: value', params: { 'X-P': '1' } }]);
  });

  test.each([
    ['RESOURCES values (all lines, escaped commas kept in a value)', ['RESOURCES:Room 1,Hall B', 'RESOURCES;LANGUAGE=en:Lab\\, west wing , Room 1'], ['Room 1', 'Hall B', 'Lab, west wing']],
    ['Kaltura ids, then room attendees, then RESOURCES; de-duplicated', ['RESOURCES:5012,hall@rooms.example', 'ATTENDEE;CUTYPE=ROOM:mailto:hall@rooms.example', 'X-KALTURA-RESOURCE-IDS:5012,5013'], ['5012', '5013', 'hall@rooms.example']],
    ['empty RESOURCES values are dropped', ['RESOURCES:, ,'], undefined],
    ['RESOURCE attendees are rooms, people are not', ['ATTENDEE;CUTYPE=RESOURCE:mailto:beamer@x.example', 'ATTENDEE;CUTYPE=INDIVIDUAL:mailto:bob@x.example'], ['beamer@x.example']],
  ])('rooms: %s', (_name, lines, rooms) => {
    expect(one(['UID:rooms', 'DTSTART:20240101T100000Z', ...lines]).rooms).toEqual(rooms);
  });

  test('recurrence: RRULE text, multi-valued EXDATE over several lines, PERIOD RDATE keeps its start', () => {
    const e = one([
      'UID:r', 'DTSTART;TZID=America/New_York:20240105T090000', 'DTEND;TZID=America/New_York:20240105T100000',
      'RRULE:FREQ=WEEKLY;BYDAY=FR;COUNT=10',
      'EXDATE;TZID=America/New_York:20240112T090000,20240119T090000',
      'EXDATE:20240126T140000Z',
      'RDATE;VALUE=PERIOD:20240301T150000Z/20240301T160000Z',
      'EXRULE:FREQ=MONTHLY;BYMONTHDAY=1',
    ]);
    expect(e.recurrence).toEqual({
      rrule: ['FREQ=WEEKLY;BYDAY=FR;COUNT=10'],
      // A UTC EXDATE is re-expressed in the series' zone so it compares with occurrences as a value.
      exdate: [
        { dateTime: '2024-01-12T09:00:00', timeZone: 'America/New_York' },
        { dateTime: '2024-01-19T09:00:00', timeZone: 'America/New_York' },
        { dateTime: '2024-01-26T09:00:00', timeZone: 'America/New_York' },
      ],
      rdate: [{ dateTime: '2024-03-01T10:00:00', timeZone: 'America/New_York' }],
      exrule: ['FREQ=MONTHLY;BYMONTHDAY=1'],
    });
  });

  test('overrides stay separate events of their own series; RECURRENCE-ID in the master frame', () => {
    const r = parseIcs(fixture('kaltura-series.ics'));
    expect(r.events.map((e) => [e.uid, e.recurrenceId, e.title])).toEqual([
      ['kaltura-1001@rooms.example.edu', undefined, 'Linear Algebra, Lecture 1'],
      ['kaltura-1001@rooms.example.edu', { dateTime: '2024-10-21T09:15:00', timeZone: 'Europe/Berlin' }, 'Linear Algebra, Lecture 2 (moved)'],
    ]);
    expect(r.events[0].recurrence?.exdate).toHaveLength(3);
  });

  test('an override listed before its master, with another series in between, is attached to its own series only', () => {
    const r = parseIcs(ics([
      ['UID:s1', 'RECURRENCE-ID;VALUE=DATE:20240110', 'DTSTART:20240110T150000Z', 'SUMMARY:moved'],
      ['UID:s2', 'DTSTART:20240101T100000Z', 'RRULE:FREQ=DAILY;COUNT=3', 'SUMMARY:other'],
      ['UID:s1', 'DTSTART:20240101T100000Z', 'RRULE:FREQ=DAILY;COUNT=30', 'SUMMARY:master'],
    ]));
    expect(r.events.map((e) => `${e.uid}:${e.title}:${e.recurrenceId?.dateTime ?? '-'}`)).toEqual([
      's1:master:-', 's1:moved:2024-01-10T10:00:00Z', 's2:other:-',
    ]);
  });
});

describe('parseIcs: values that must re-parse identically after serializing', () => {
  test('control characters (damaged files) are dropped from values', () => {
    expect(one(['UID:c', 'DTSTART:20240101T100000Z', 'SUMMARY:Bell\u0007 and\u000c feed']).title).toBe('Bell and feed');
  });

  test('"invalid:nomail" is an attendee without address', () => {
    expect(one(['UID:n', 'DTSTART:20240101T100000Z', 'ATTENDEE;CN=Guest:invalid:nomail']).attendees).toEqual([{ name: 'Guest' }]);
  });

  test("an unquoted parameter value with an escaped ';' stays one value (Apple X-TITLE)", () => {
    const e = one(['UID:a', 'DTSTART:20240101T100000Z', 'X-APPLE-STRUCTURED-LOCATION;VALUE=URI;X-TITLE=Main St 1\\;4041 Linz;X-APPLE-RADIUS=70:geo:48.3,14.2']);
    expect(e.xProps).toEqual([{ name: 'X-APPLE-STRUCTURED-LOCATION', value: 'geo:48.3,14.2', params: { VALUE: 'URI', 'X-TITLE': 'Main St 1\\;4041 Linz', 'X-APPLE-RADIUS': '70' } }]);
  });

  test.each([
    ['SEQUENCE:-3', 0, 'SEQUENCE -3 is negative: read as 0'],
    ['SEQUENCE:+4', 4, undefined],
    ['SEQUENCE:99999999999999999999', undefined, 'SEQUENCE 99999999999999999999 is too large: ignored'],
  ])('%s → sequence %s (out-of-range values normalised with a warning)', (line, sequence, warning) => {
    const e = one(['UID:q', 'DTSTART:20240101T100000Z', line]);
    expect(e.sequence).toBe(sequence);
    expect(e.warnings).toEqual(warning ? [warning] : undefined);
  });

  test('no recurrence object when every RDATE is unusable', () => {
    const e = one(['UID:r', 'DTSTART:20240101T100000Z', 'RDATE;VALUE=TIME:083000']);
    expect(e.recurrence).toBeUndefined();
    expect(e.warnings).toEqual(['RDATE value "083000" is not a date (YYYYMMDD) or date-time (YYYYMMDDTHHMMSS): ignored']);
  });

  test.each([
    ['RDATE and EXDATE all unusable', ['RDATE:2024-02-01', 'EXDATE:20240231T100000Z,junk'], ['RDATE value "2024-02-01"', 'EXDATE value "20240231T100000Z"', 'EXDATE value "junk"']],
    ['an empty RDATE and an unusable EXDATE', ['RDATE:', 'EXDATE:1000'], ['EXDATE value "1000"']],
  ])('no recurrence object when %s', (_name, lines, warned) => {
    const e = one(['UID:r', 'DTSTART:20240101T100000Z', ...lines]);
    expect(e.recurrence).toBeUndefined();
    expect(e.warnings).toHaveLength(warned.length);
    warned.forEach((w, i) => expect(e.warnings?.[i]).toContain(w));
  });

  test.each(['icalendar/multiple_timezones.ics', 'libical/issue252.ics'])('corpus %s: events whose recurrence values are all unreadable have no recurrence', (rel) => {
    const r = parseIcs(new Uint8Array(fs.readFileSync(fixtureFile(CORPUS_DIR, rel))));
    const warned = r.events.filter((e) => e.warnings?.some((w) => /^RDATE value .*: ignored$/.test(w)));
    expect(warned.length).toBeGreaterThan(0);
    for (const e of warned) expect(e.recurrence).toBeUndefined();
  });
});

describe('parseIcs: end time rules (RFC 5545 §3.6.1)', () => {
  test.each([
    ['DATE without DTEND lasts one day', ['DTSTART;VALUE=DATE:20240229'], { date: '2024-03-01' }],
    ['DATE-TIME without DTEND ends when it starts', ['DTSTART:20240229T100000Z'], { dateTime: '2024-02-29T10:00:00Z' }],
    ['DURATION instead of DTEND', ['DTSTART;TZID=Europe/Berlin:20240330T230000', 'DURATION:PT4H'], { dateTime: '2024-03-31T04:00:00', timeZone: 'Europe/Berlin' }],
    ['nominal DURATION keeps the wall clock across DST', ['DTSTART;TZID=Europe/Berlin:20240330T090000', 'DURATION:P1D'], { dateTime: '2024-03-31T09:00:00', timeZone: 'Europe/Berlin' }],
    ['all-day DURATION in days', ['DTSTART;VALUE=DATE:20241230', 'DURATION:P3D'], { date: '2025-01-02' }],
    ['8-digit DTSTART without VALUE=DATE is a date', ['DTSTART:20240101', 'DTEND:20240103'], { date: '2024-01-03' }],
  ])('%s', (_name, lines, end) => {
    expect(one(['UID:e', ...lines]).end).toEqual(end);
  });

  test('DTEND before DTSTART becomes a zero-length event with a warning', () => {
    const e = one(['UID:e', 'DTSTART:20240101T100000Z', 'DTEND:20240101T090000Z']);
    expect(e.end).toEqual(e.start);
    expect(e.warnings?.join()).toMatch(/DTEND is before DTSTART/);
  });
});

describe('parseIcs: real-world mess', () => {
  const base = ['UID:mess-1', 'DTSTART:20240101T100000Z', 'DTEND:20240101T110000Z', 'SUMMARY:Hello wörld, a long title that certainly needs folding somewhere'];
  const expected = parseIcs(ics([base]));

  test.each([
    ['LF', (s: string) => s.replace(/\r\n/g, '\n')],
    ['lone CR', (s: string) => s.replace(/\r\n/g, '\r')],
    ['mixed line ends', (s: string) => s.split('\r\n').map((l, i) => l + ['\r\n', '\n', '\r'][i % 3]).join('')],
    ['BOM', (s: string) => '\ufeff' + s],
    ['blank lines everywhere', (s: string) => s.replace(/\r\n/g, '\r\n\r\n')],
    ['lower-case names', (s: string) => s.replace(/^([A-Z-]+)([:;])/gm, (_m, n: string, d: string) => n.toLowerCase() + d)],
    ['folded with TAB', (s: string) => s.replace('somewhere', 'some\r\n\twhere')],
  ])('%s parses like the clean file', (_name, mangle) => {
    expect(parseIcs(mangle(ics([base])))).toEqual(expected);
  });

  test('property: any line ends and any fold points give the same events', () => {
    fc.assert(fc.property(
      fc.array(fc.constantFrom('\r\n', '\n', '\r'), { minLength: 64, maxLength: 64 }),
      fc.array(fc.integer({ min: 1, max: 70 }), { minLength: 4, maxLength: 4 }),
      (eols, folds) => {
        const lines = ics([base]).split('\r\n').filter(Boolean);
        const folded = lines.flatMap((l, i) => {
          const at = folds[i % folds.length];
          return l.length > at + 1 ? [l.slice(0, at), ' ' + l.slice(at)] : [l];
        });
        const text = folded.map((l, i) => l + eols[i % eols.length]).join('');
        expect(parseIcs(text)).toEqual(expected);
      },
    ), { numRuns: 60 });
  });

  test.each([
    ['a fold inside an escape sequence', ['DESCRIPTION:one\\', ' ntwo\\', ' ,three'], 'one\ntwo,three'],
    ['blank lines and mixed line ends between a line and its continuations', ['DESCRIPTION:a\r', '\n\r\n b', '\r c'], 'abc'],
    ['a continuation of only spaces adds its spaces minus one', ['DESCRIPTION:a', '   ', ' b'], 'a  b'],
  ])('unfolding: %s', (_name, parts, description) => {
    const text = ics([['UID:u', 'DTSTART:20240101T100000Z', '@']]).replace('@', parts.join('\r\n'));
    expect(parseIcs(text).events[0].description).toBe(description);
  });

  test('a continuation line at the very start (nothing to continue) is a line of its own, trimmed', () => {
    const r = parseIcs('  \r\n  BEGIN:VCALENDAR\r\n' + ics([['UID:o', 'DTSTART:20240101T100000Z']]).split('\r\n').slice(1).join('\r\n'));
    expect(r.errors).toEqual([]);
    expect(r.events.map((e) => e.uid)).toEqual(['o']);
  });

  test('property: TEXT values survive RFC 5545 escaping and folding', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }).filter((s) => ![...s].some((ch) => ch.charCodeAt(0) < 32 && ch !== '\n') && s.trim() === s), (title) => {
      const escaped = title.replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,').replace(/\n/g, '\\n');
      const line = `SUMMARY:${escaped}`;
      const folded = line.length > 40 ? line.slice(0, 40) + '\r\n ' + line.slice(40) : line;
      // Folding must not split a surrogate pair in this test's own construction.
      fc.pre(!/[\ud800-\udbff]$/.test(line.slice(0, 40)));
      expect(one(['UID:t', 'DTSTART:20240101T100000Z', folded]).title).toBe(title);
    }), { numRuns: 100 });
  });

  test('non-UTF-8 bytes are read as latin1 (decided per file); valid UTF-8 stays UTF-8', () => {
    const latin1 = Buffer.from(ics([['UID:l', 'DTSTART:20240101T100000Z', 'SUMMARY:Caf\u00e9 M\u00fcnchen']]), 'latin1');
    expect(parseIcs(new Uint8Array(latin1)).events[0].title).toBe('Café München');
    const utf8 = Buffer.from(ics([['UID:u', 'DTSTART:20240101T100000Z', 'SUMMARY:Café München €']]), 'utf8');
    expect(parseIcs(new Uint8Array(utf8)).events[0].title).toBe('Café München €');
    const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...utf8]);
    expect(parseIcs(bom)).toEqual(parseIcs(new Uint8Array(utf8)));
  });

  test('garbage lines are skipped with a warning naming the line; the event survives', () => {
    const r = parseIcs(ics([['UID:g', 'DTSTART:20240101T100000Z', 'this line is garbage', 'SUMMARY:kept']]));
    expect(r.errors).toEqual([]);
    expect(r.events[0].title).toBe('kept');
    expect(r.events[0].warnings).toEqual(['line 7 is not a content line ("this line is garbage"): ignored']);
  });

  test('several concatenated VCALENDARs, each with its own X-WR-TIMEZONE', () => {
    const text = ics([['UID:a', 'DTSTART:20240101T100000']], { calProps: ['X-WR-TIMEZONE:Europe/Berlin'] })
      + ics([['UID:b', 'DTSTART:20240101T100000']], { calProps: ['X-WR-TIMEZONE:America/New_York'] });
    expect(parseIcs(text).events.map((e) => e.start)).toEqual([
      { dateTime: '2024-01-01T10:00:00', timeZone: 'Europe/Berlin' },
      { dateTime: '2024-01-01T10:00:00', timeZone: 'America/New_York' },
    ]);
  });

  test('missing UID: a stable UID derived from the content, with a warning', () => {
    const body = ['DTSTART:20240101T100000Z', 'SUMMARY:No uid here'];
    const a = one(body);
    const b = one(body);
    const c = one(['DTSTART:20240101T100000Z', 'SUMMARY:Another title']);
    expect(a.uid).toMatch(/^derived-[0-9a-f]{14}@calendar-relay$/);
    expect(b.uid).toBe(a.uid);
    expect(c.uid).not.toBe(a.uid);
    expect(a.warnings?.[0]).toMatch(/^no UID: derived "derived-/);
  });
});

describe('parseIcs: broken events become errors, the rest is returned', () => {
  test('a VEVENT without END, one with an unusable DTSTART, one without DTSTART', () => {
    const text = [
      'BEGIN:VCALENDAR', 'VERSION:2.0',
      'BEGIN:VEVENT', 'UID:ok-1', 'DTSTART:20240101T100000Z', 'END:VEVENT',
      'BEGIN:VEVENT', 'UID:bad-date', 'DTSTART:20240231T100000Z', 'END:VEVENT',
      'BEGIN:VEVENT', 'UID:no-start', 'SUMMARY:x', 'END:VEVENT',
      'BEGIN:VEVENT', 'UID:unclosed', 'DTSTART:20240101T100000Z',
      'BEGIN:VEVENT', 'UID:ok-2', 'DTSTART:20240102T100000Z', 'END:VEVENT',
      'END:VCALENDAR',
    ].join('\n');
    const r = parseIcs(text);
    expect(r.events.map((e) => e.uid)).toEqual(['ok-1', 'ok-2']);
    expect(r.errors).toEqual([
      { line: 7, uid: 'bad-date', message: 'VEVENT starting at line 7 (UID bad-date): DTSTART (line 9) "20240231T100000Z" is not a real calendar date; event skipped' },
      { line: 11, uid: 'no-start', message: 'VEVENT starting at line 11 (UID no-start) has no DTSTART; event skipped' },
      { line: 15, uid: 'unclosed', message: 'VEVENT starting at line 15 (UID unclosed) has no END:VEVENT (a new component begins at line 18); event skipped' },
    ]);
  });

  test('a failed override names its UID and RECURRENCE-ID (in the master\'s frame, as eventKey writes it)', () => {
    const text = [
      'BEGIN:VCALENDAR', 'VERSION:2.0',
      'BEGIN:VEVENT', 'UID:series', 'DTSTART;TZID=Europe/Berlin:20240101T100000', 'RRULE:FREQ=DAILY;COUNT=5', 'END:VEVENT',
      // bad DTSTART, RECURRENCE-ID in UTC: 09:00Z is 10:00 in Berlin
      'BEGIN:VEVENT', 'UID:series', 'RECURRENCE-ID:20240102T090000Z', 'DTSTART:20240199T100000Z', 'END:VEVENT',
      // not closed, RECURRENCE-ID as a date-time in the master's zone
      'BEGIN:VEVENT', 'UID:series', 'RECURRENCE-ID;TZID=Europe/Berlin:20240103T100000', 'DTSTART:2024',
      'BEGIN:VEVENT', 'UID:other', 'RECURRENCE-ID:garbage', 'DTSTART:x', 'END:VEVENT',
      'BEGIN:VEVENT', 'UID:no-rid', 'DTSTART:x', 'END:VEVENT',
      'END:VCALENDAR',
    ].join('\r\n');
    const r = parseIcs(text);
    expect(r.events.map((e) => e.uid)).toEqual(['series']);
    expect(r.errors.map(({ uid, recurrenceId }) => ({ uid, recurrenceId }))).toEqual([
      { uid: 'series', recurrenceId: '2024-01-02T10:00:00@Europe/Berlin' },
      { uid: 'series', recurrenceId: '2024-01-03T10:00:00@Europe/Berlin' },
      { uid: 'other', recurrenceId: 'garbage' },
      { uid: 'no-rid', recurrenceId: undefined },
    ]);
    expect(r.errors.every((e) => e.message.includes(`(UID ${e.uid})`))).toBe(true);
    expect(eventKey({ uid: 'series', recurrenceId: { dateTime: '2024-01-02T10:00:00', timeZone: 'Europe/Berlin' } })).toContain(r.errors[0].recurrenceId);
  });

  test('an unknown zone without definition: warning on that event, times read as UTC', () => {
    const e = one(['UID:z', 'DTSTART;TZID=Atlantis/Central:20240710T090000']);
    expect(e.start).toEqual({ dateTime: '2024-07-10T09:00:00Z' });
    expect(e.warnings).toEqual(['unknown time zone "Atlantis/Central" (no VTIMEZONE definition): times read as UTC']);
  });

  test.each([
    ['empty input', ''],
    ['a vCard', 'BEGIN:VCARD\nVERSION:3.0\nFN:Jane\nEND:VCARD\n'],
    ['HTML', '<html><body>404</body></html>'],
  ])('%s is not a calendar: IcsInputError', (_name, text) => {
    expect(() => parseIcs(text)).toThrow(IcsInputError);
  });

  test.each([
    ['cut inside a VEVENT', 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\nDTSTA', 'VEVENT starting at line 7'],
    ['cut between events (no END:VCALENDAR)', 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nEND:VEVENT\r\n', 'VCALENDAR starting at line 1'],
    ['cut inside a VTIMEZONE', 'BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:X\r\nBEGIN:STANDARD\r\n', 'VTIMEZONE starting at line 2'],
    ['bare VEVENTs, the last one cut', 'BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\n', 'VEVENT starting at line 5'],
  ])('truncated (%s): IcsInputError naming where, so the source counts as failed', (_name, text, where) => {
    expect(() => parseIcs(text)).toThrow(IcsInputError);
    expect(() => parseIcs(text)).toThrow(`truncated iCalendar: the file ends inside ${where}`);
  });

  test('not truncated: bare VEVENTs that are all closed, and a VALARM left open inside a closed VEVENT', () => {
    expect(parseIcs('BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nEND:VEVENT\r\n').events).toHaveLength(1);
    const r = parseIcs('BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nBEGIN:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n');
    expect(r.events.map((e) => e.uid)).toEqual(['a']);
  });

  test('a calendar with zero events is fine', () => {
    expect(parseIcs('BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n')).toEqual({ events: [], errors: [] });
  });
});

describe('parseIcs: time zones in events', () => {
  test('Windows zone names, Outlook display names and vendor prefixes resolve to IANA', () => {
    const r = parseIcs(ics([
      ['UID:w1', 'DTSTART;TZID=W. Europe Standard Time:20240710T090000'],
      ['UID:w2', 'DTSTART;TZID="(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna":20240710T090000'],
      ['UID:w3', 'DTSTART;TZID=/mozilla.org/20070129_1/America/New_York:20240710T090000'],
      ['UID:w4', 'DTSTART;TZID=/softwarestudio.org/Olson_20011030_5/America/Chicago:20240710T090000'],
    ]));
    expect(r.events.map((e) => e.start.timeZone)).toEqual(['Europe/Berlin', 'Europe/Berlin', 'America/New_York', 'America/Chicago']);
    expect(r.events.every((e) => !e.warnings)).toBe(true);
  });

  test('custom TZIDs: matched by VTIMEZONE offsets; unmatched converted to UTC; undefined read as UTC', () => {
    const r = parseIcs(fixture('custom-vtimezone.ics'));
    expect(r.errors).toEqual([]);
    const [berlin, mars, atlantis] = r.events;
    expect(berlin.start).toEqual({ dateTime: '2024-07-10T09:00:00', timeZone: 'Europe/Berlin' });
    expect(berlin.warnings).toBeUndefined();
    // +03:17 matches nothing: 09:00 at +03:17 is 05:43 UTC; DURATION applied after conversion.
    expect(mars.start).toEqual({ dateTime: '2024-07-10T05:43:00Z' });
    expect(mars.end).toEqual({ dateTime: '2024-07-10T06:13:00Z' });
    expect(mars.warnings).toEqual(['time zone "Mars Base" matches no IANA zone: times converted to UTC with its VTIMEZONE definition']);
    expect(atlantis.start).toEqual({ dateTime: '2024-07-10T09:00:00Z' });
    expect(atlantis.warnings?.[0]).toMatch(/unknown time zone "Atlantis\/Central"/);
  });

  test('X-WR-TIMEZONE: floating times get the zone, UTC times are shown in it, TZID times are untouched', () => {
    const r = parseIcs(ics([
      ['UID:f', 'DTSTART:20240710T090000', 'DTEND:20240710T100000'],
      ['UID:u', 'DTSTART:20240710T070000Z', 'RRULE:FREQ=WEEKLY;COUNT=3', 'EXDATE:20240717T070000Z'],
      ['UID:t', 'DTSTART;TZID=America/New_York:20240710T090000'],
      ['UID:d', 'DTSTART;VALUE=DATE:20240710'],
    ], { calProps: ['X-WR-TIMEZONE:Europe/Berlin'] }));
    expect(r.events.map((e) => e.start)).toEqual([
      { dateTime: '2024-07-10T09:00:00', timeZone: 'Europe/Berlin' },
      { dateTime: '2024-07-10T09:00:00', timeZone: 'Europe/Berlin' },
      { dateTime: '2024-07-10T09:00:00', timeZone: 'America/New_York' },
      { date: '2024-07-10' },
    ]);
    expect(r.events[1].recurrence?.exdate).toEqual([{ dateTime: '2024-07-17T09:00:00', timeZone: 'Europe/Berlin' }]);
    expect(r.calendar?.timeZone).toBe('Europe/Berlin');
  });

  test('an X-WR-TIMEZONE that cannot be resolved: a warning on each event with a floating time, others untouched', () => {
    const events = [
      ['UID:f', 'DTSTART:20240710T090000', 'DTEND:20240710T100000'],
      ['UID:x', 'DTSTART;VALUE=DATE:20240710', 'EXDATE:20240711T090000'],
      ['UID:u', 'DTSTART:20240710T070000Z'],
      ['UID:t', 'DTSTART;TZID=America/New_York:20240710T090000'],
      ['UID:d', 'DTSTART;VALUE=DATE:20240710'],
    ];
    const r = parseIcs(ics(events, { calProps: ['X-WR-TIMEZONE:Mars/Olympus_Mons'] }));
    const floating = 'calendar time zone X-WR-TIMEZONE "Mars/Olympus_Mons" is not a zone that can be resolved: floating times left floating';
    expect(r.events.map((e) => e.warnings)).toEqual([[floating], [floating], undefined, undefined, undefined]);
    expect(r.events[0].start).toEqual({ dateTime: '2024-07-10T09:00:00' });
    expect(r.events[2].start).toEqual({ dateTime: '2024-07-10T07:00:00Z' });
    expect(r.calendar?.timeZone).toBeUndefined();

    const pinned = parseIcs(ics(events, { calProps: ['X-WR-TIMEZONE:Mars/Olympus_Mons'] }), { defaultTimeZone: 'Europe/Vienna' });
    expect(pinned.events[0].start).toEqual({ dateTime: '2024-07-10T09:00:00', timeZone: 'Europe/Vienna' });
    expect(pinned.events[0].warnings).toEqual(['calendar time zone X-WR-TIMEZONE "Mars/Olympus_Mons" is not a zone that can be resolved: floating times read in Europe/Vienna (the default time zone)']);
    // A resolvable one says nothing.
    expect(parseIcs(ics(events, { calProps: ['X-WR-TIMEZONE:Europe/Berlin'] })).events.every((e) => !e.warnings)).toBe(true);
  });

  test('defaultTimeZone pins floating times; without it they stay floating', () => {
    const text = ics([['UID:f', 'DTSTART:20240710T090000']]);
    expect(parseIcs(text).events[0].start).toEqual({ dateTime: '2024-07-10T09:00:00' });
    expect(parseIcs(text, { defaultTimeZone: 'europe/vienna' }).events[0].start).toEqual({ dateTime: '2024-07-10T09:00:00', timeZone: 'Europe/Vienna' });
  });

  test('IANA aliases are spelled canonically', () => {
    expect(one(['UID:a', 'DTSTART;TZID=US/Central:20240710T090000']).start.timeZone).toBe('America/Chicago');
  });
});

describe('parseIcs: determinism', () => {
  test('parsing is deterministic and JSON-clean (no undefined values)', () => {
    const bytes = fixture('kaltura-series.ics');
    const a = parseIcs(bytes);
    expect(parseIcs(bytes)).toEqual(a);
    expect(JSON.parse(JSON.stringify(a))).toStrictEqual(a);
  });
});

describe('warnings that depend on other modules', () => {
  const cal = (body: string[]) => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//EN', ...body, 'END:VCALENDAR', ''].join('\r\n');

  test('an RRULE expansion will ignore is warned about at parse time, and kept for export', () => {
    const r = parseIcs(cal(['BEGIN:VEVENT', 'UID:bad@t', 'DTSTART:20261101T090000Z', 'RRULE:FREQ=WEEKLY;BYDAY=XX', 'END:VEVENT']));
    expect(r.errors).toEqual([]);
    expect(r.events[0].recurrence?.rrule).toEqual(['FREQ=WEEKLY;BYDAY=XX']);
    expect(r.events[0].warnings).toEqual([expect.stringMatching(/^RRULE "FREQ=WEEKLY;BYDAY=XX" \(line 7\): BYDAY=XX: .*ignored when expanding$/)]);
    const good = parseIcs(cal(['BEGIN:VEVENT', 'UID:ok@t', 'DTSTART:20261101T090000Z', 'RRULE:FREQ=WEEKLY;COUNT=3', 'END:VEVENT']));
    expect(good.events[0].warnings).toBeUndefined();
  });

  test('a DTEND in the repeated DST hour that would precede DTSTART means its second pass', () => {
    const r = parseIcs(cal(['BEGIN:VEVENT', 'UID:o@t', 'DTSTART;TZID=Europe/Berlin:20261025T024500', 'DTEND;TZID=Europe/Berlin:20261025T023000', 'END:VEVENT']));
    expect(r.events[0].end).toEqual({ dateTime: '2026-10-25T01:30:00Z' });
    expect(r.events[0].warnings).toBeUndefined();
    // An unambiguous end before the start is still a zero-length event with a warning.
    const back = parseIcs(cal(['BEGIN:VEVENT', 'UID:b@t', 'DTSTART;TZID=Europe/Berlin:20261026T100000', 'DTEND;TZID=Europe/Berlin:20261026T090000', 'END:VEVENT']));
    expect(back.events[0].end).toEqual(back.events[0].start);
    expect(back.events[0].warnings).toEqual(['DTEND is before DTSTART: zero-length event at DTSTART']);
  });
});

describe('repeated UID + RECURRENCE-ID: one revision is kept', () => {
  const cal = (body: string[]) => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//EN', ...body, 'END:VCALENDAR', ''].join('\r\n');
  const ev = (uid: string, extra: string[]) => ['BEGIN:VEVENT', `UID:${uid}`, 'DTSTART:20261201T090000Z', 'DTEND:20261201T100000Z', ...extra, 'END:VEVENT'];

  test.each([
    ['higher SEQUENCE wins even when it comes first', [...ev('d', ['SEQUENCE:3', 'SUMMARY:new']), ...ev('d', ['SEQUENCE:1', 'SUMMARY:old'])], 'new', 11],
    ['equal SEQUENCE: later LAST-MODIFIED wins', [...ev('d', ['LAST-MODIFIED:20261102T000000Z', 'SUMMARY:new']), ...ev('d', ['LAST-MODIFIED:20261101T000000Z', 'SUMMARY:old'])], 'new', 11],
    ['all equal: the later copy in the file wins', [...ev('d', ['SUMMARY:old']), ...ev('d', ['SUMMARY:new'])], 'new', 4],
  ])('%s', (_name, body, title, droppedLine) => {
    const r = parseIcs(cal(body as string[]));
    expect(r.errors).toEqual([]);
    expect(r.events.map((e) => e.title)).toEqual([title]);
    expect(r.events[0].warnings).toEqual([`${SUPERSEDES} at line ${droppedLine} (same UID; kept the higher SEQUENCE, then the later LAST-MODIFIED, then the later in the file)`]);
  });

  test('two overrides of one occurrence: expand shows the occurrence once, as the newer revision', () => {
    const body = [
      'BEGIN:VEVENT', 'UID:s', 'DTSTART:20261201T090000Z', 'DTEND:20261201T100000Z', 'RRULE:FREQ=DAILY;COUNT=3', 'SUMMARY:series', 'END:VEVENT',
      'BEGIN:VEVENT', 'UID:s', 'RECURRENCE-ID:20261202T090000Z', 'DTSTART:20261202T110000Z', 'DTEND:20261202T120000Z', 'SEQUENCE:2', 'SUMMARY:moved v2', 'END:VEVENT',
      'BEGIN:VEVENT', 'UID:s', 'RECURRENCE-ID:20261202T090000Z', 'DTSTART:20261202T100000Z', 'DTEND:20261202T110000Z', 'SEQUENCE:1', 'SUMMARY:moved v1', 'END:VEVENT',
    ];
    const r = parseIcs(cal(body));
    const { occurrences } = expandOccurrences(r.events, '2026-12-01T00:00:00Z', '2026-12-05T00:00:00Z');
    expect(occurrences.map((o) => [o.start.dateTime, o.title])).toEqual([
      ['2026-12-01T09:00:00Z', 'series'],
      ['2026-12-02T11:00:00Z', 'moved v2'],
      ['2026-12-03T09:00:00Z', 'series'],
    ]);
  });
});

describe('STATUS and TRANSP values', () => {
  const one = (lines: string[]) => parseIcs(['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//EN', 'BEGIN:VEVENT', 'UID:s@t', 'DTSTART:20261201T090000Z', ...lines, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n')).events[0];
  test.each([
    [['STATUS:TENTATIVE', 'TRANSP:TRANSPARENT'], 'TENTATIVE', 'TRANSPARENT', undefined],
    [['STATUS: cancelled ', 'TRANSP:opaque'], 'CANCELLED', 'OPAQUE', undefined],
    [['STATUS:MAYBE', 'TRANSP:SOMETIMES'], undefined, undefined, ['STATUS "MAYBE" is not CONFIRMED, TENTATIVE or CANCELLED: ignored', 'TRANSP "SOMETIMES" is not OPAQUE or TRANSPARENT: ignored']],
    [['STATUS:', 'TRANSP:'], undefined, undefined, undefined],
  ])('%j', (lines, status, transparency, warnings) => {
    const e = one(lines as string[]);
    expect(e.status).toBe(status);
    expect(e.transparency).toBe(transparency);
    expect(e.warnings).toEqual(warnings);
  });
});
