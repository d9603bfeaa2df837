import ICAL from 'ical.js';
import fc from 'fast-check';
import type { CalendarEvent } from '../../core/event';
import { encodeParamValue, escapeText, foldLine, serializeEventIcs, serializeIcs } from '../../core/ics/serialize';
import { buildVtimezone, zoneTransitions } from '../../core/ics/vtimezone';
import { formatUtc, formatWall, utcToWall, wallToUtc } from '../../core/time';

const NOW = Date.UTC(2026, 10, 22, 8, 30, 0);

function ev(over: Partial<CalendarEvent> = {}): CalendarEvent {
  return {
    uid: 'evt-1@example.org',
    title: 'Weekly sync',
    start: { dateTime: '2026-11-23T09:00:00', timeZone: 'Europe/Berlin' },
    end: { dateTime: '2026-11-23T10:00:00', timeZone: 'Europe/Berlin' },
    ...over,
  };
}

/** Unfolds RFC 5545 text into logical lines (independent of the serializer's folding). */
function unfold(ics: string): string[] {
  return ics.replace(/\r\n[ \t]/g, '').split('\r\n').filter((l) => l !== '');
}

function vevents(ics: string): ICAL.Component[] {
  return new ICAL.Component(ICAL.parse(ics)).getAllSubcomponents('vevent');
}

function only(ics: string): ICAL.Component {
  const list = vevents(ics);
  expect(list).toHaveLength(1);
  return list[0];
}

describe('serializeIcs: calendar envelope', () => {
  test('CRLF only, VERSION/PRODID/DTSTAMP, optional METHOD and calendar name', () => {
    const out = serializeIcs([ev()], { now: NOW, method: 'publish', calendarName: 'Rooms; Level 2', timeZone: 'Europe/Berlin' });
    expect(out.endsWith('\r\n')).toBe(true);
    expect(out.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    const lines = unfold(out);
    expect(lines[0]).toBe('BEGIN:VCALENDAR');
    expect(lines).toContain('VERSION:2.0');
    expect(lines.some((l) => l.startsWith('PRODID:'))).toBe(true);
    expect(lines).toContain('METHOD:PUBLISH');
    expect(lines).toContain('X-WR-CALNAME:Rooms\\; Level 2');
    expect(lines).toContain('X-WR-TIMEZONE:Europe/Berlin');
    expect(lines).toContain('DTSTAMP:20261122T083000Z');
    expect(lines[lines.length - 1]).toBe('END:VCALENDAR');
  });

  test('METHOD and X-WR-CALNAME are absent unless asked for', () => {
    const lines = unfold(serializeIcs([ev()], { now: NOW }));
    expect(lines.some((l) => l.startsWith('METHOD'))).toBe(false);
    expect(lines.some((l) => l.startsWith('X-WR-CALNAME'))).toBe(false);
  });

  test('an empty event list is still a valid calendar', () => {
    const out = serializeIcs([], { now: NOW });
    expect(vevents(out)).toHaveLength(0);
  });
});

describe('serializeIcs: times', () => {
  test.each([
    ['all-day', { date: '2026-11-23' }, { date: '2026-11-24' }, 'DTSTART;VALUE=DATE:20261123', 'DTEND;VALUE=DATE:20261124'],
    ['UTC', { dateTime: '2026-11-23T09:00:00Z' }, { dateTime: '2026-11-23T10:00:00Z' }, 'DTSTART:20261123T090000Z', 'DTEND:20261123T100000Z'],
    ['zoned', { dateTime: '2026-11-23T09:00:00', timeZone: 'America/New_York' }, { dateTime: '2026-11-23T10:00:00', timeZone: 'America/New_York' }, 'DTSTART;TZID=America/New_York:20261123T090000', 'DTEND;TZID=America/New_York:20261123T100000'],
    ['floating', { dateTime: '2026-11-23T09:00:00' }, { dateTime: '2026-11-23T10:00:00' }, 'DTSTART:20261123T090000', 'DTEND:20261123T100000'],
  ])('%s', (_kind, start, end, dtstart, dtend) => {
    const out = serializeIcs([ev({ start, end })], { now: NOW });
    const lines = unfold(out);
    expect(lines).toContain(dtstart);
    expect(lines).toContain(dtend);
    const vtz = lines.filter((l) => l === 'BEGIN:VTIMEZONE').length;
    expect(vtz).toBe('timeZone' in start ? 1 : 0);
    // ical.js agrees on the instant
    const v = only(out);
    const s = v.getFirstPropertyValue('dtstart') as ICAL.Time;
    expect(s.isDate).toBe('date' in start);
  });

  test('one VTIMEZONE per TZID used anywhere (start, end, EXDATE, RDATE, RECURRENCE-ID)', () => {
    const master = ev({
      recurrence: { rrule: ['FREQ=WEEKLY;COUNT=5'], rdate: [{ dateTime: '2026-12-30T09:00:00', timeZone: 'Asia/Kolkata' }], exdate: [{ dateTime: '2026-11-30T09:00:00', timeZone: 'Europe/Berlin' }] },
      end: { dateTime: '2026-11-23T10:00:00', timeZone: 'America/New_York' },
    });
    const override = ev({ recurrenceId: { dateTime: '2026-12-07T09:00:00', timeZone: 'Australia/Sydney' }, start: { dateTime: '2026-12-07T11:00:00Z' }, end: { dateTime: '2026-12-07T12:00:00Z' } });
    const lines = unfold(serializeIcs([master, override], { now: NOW }));
    const tzids = lines.filter((l) => l.startsWith('TZID:')).sort();
    expect(tzids).toEqual(['TZID:America/New_York', 'TZID:Asia/Kolkata', 'TZID:Australia/Sydney', 'TZID:Europe/Berlin']);
  });

  test('RDATE/EXDATE: values of one kind share a line, kinds keep their order', () => {
    const e = ev({
      recurrence: {
        rrule: ['FREQ=DAILY;COUNT=10'],
        rdate: [{ dateTime: '2026-12-24T09:00:00', timeZone: 'Europe/Berlin' }, { dateTime: '2026-12-25T09:00:00', timeZone: 'Europe/Berlin' }, { dateTime: '2026-12-26T08:00:00Z' }],
        exdate: [{ date: '2026-11-24' }, { date: '2026-11-25' }],
        exrule: ['FREQ=WEEKLY;BYDAY=SU'],
      },
    });
    const lines = unfold(serializeIcs([e], { now: NOW }));
    expect(lines).toContain('RRULE:FREQ=DAILY;COUNT=10');
    expect(lines).toContain('EXRULE:FREQ=WEEKLY;BYDAY=SU');
    expect(lines.filter((l) => l.startsWith('RDATE'))).toEqual(['RDATE;TZID=Europe/Berlin:20261224T090000,20261225T090000', 'RDATE:20261226T080000Z']);
    expect(lines.filter((l) => l.startsWith('EXDATE'))).toEqual(['EXDATE;VALUE=DATE:20261124,20261125']);
  });
});

describe('serializeIcs: properties', () => {
  test('every modelled field is written and read back by ical.js', () => {
    const e = ev({
      description: 'Line 1\nLine 2; with, punctuation \\ backslash',
      location: 'Sim Room 1, Level 2',
      status: 'TENTATIVE',
      transparency: 'TRANSPARENT',
      sequence: 10,
      created: '2026-11-01T12:57:25Z',
      lastModified: '2026-11-02T18:20:56Z',
      url: 'https://caldn.net/abc?x=1,2;y',
      categories: ['Simulation', 'OSCE, practice'],
      organizer: { name: 'Doe, Jane', email: 'jane@example.org' },
      attendees: [
        { name: 'Sim Room 1', email: 'simroom1@example.org', type: 'ROOM', role: 'NON-PARTICIPANT', status: 'ACCEPTED', rsvp: false },
        { email: 'bob@example.org', role: 'REQ-PARTICIPANT', rsvp: true },
      ],
      xProps: [
        { name: 'X-KALTURA-RESOURCE-IDS', value: '12,13' },
        { name: 'X-MICROSOFT-CDO-BUSYSTATUS', value: 'BUSY', params: { 'X-FOO': 'a:b' } },
        { name: 'X-ALT-DESC', value: '<p>Hi\\, there</p>', params: { FMTTYPE: 'text/html' } },
      ],
    });
    const out = serializeIcs([e], { now: NOW });
    const lines = unfold(out);
    expect(lines).toContain('ORGANIZER;CN="Doe, Jane":mailto:jane@example.org');
    expect(lines).toContain('ATTENDEE;CN=Sim Room 1;CUTYPE=ROOM;ROLE=NON-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=FALSE:mailto:simroom1@example.org');
    expect(lines).toContain('CATEGORIES:Simulation,OSCE\\, practice');
    // X- properties verbatim: raw value and params as stored
    expect(lines).toContain('X-KALTURA-RESOURCE-IDS:12,13');
    expect(lines).toContain('X-MICROSOFT-CDO-BUSYSTATUS;X-FOO="a:b":BUSY');
    expect(lines).toContain('X-ALT-DESC;FMTTYPE=text/html:<p>Hi\\, there</p>');

    const v = only(out);
    expect(v.getFirstPropertyValue('summary')).toBe(e.title);
    expect(v.getFirstPropertyValue('description')).toBe(e.description);
    expect(v.getFirstPropertyValue('location')).toBe(e.location);
    expect(v.getFirstPropertyValue('status')).toBe('TENTATIVE');
    expect(v.getFirstPropertyValue('transp')).toBe('TRANSPARENT');
    expect(v.getFirstPropertyValue('sequence')).toBe(10);
    expect(String(v.getFirstPropertyValue('created'))).toBe('2026-11-01T12:57:25Z');
    expect(String(v.getFirstPropertyValue('last-modified'))).toBe('2026-11-02T18:20:56Z');
    expect(v.getFirstPropertyValue('url')).toBe(e.url);
    expect(v.getFirstProperty('categories')!.getValues()).toEqual(e.categories);
    expect(v.getFirstProperty('organizer')!.getParameter('cn')).toBe('Doe, Jane');
    const atts = v.getAllProperties('attendee');
    expect(atts.map((a) => a.getFirstValue())).toEqual(['mailto:simroom1@example.org', 'mailto:bob@example.org']);
    expect(atts[1].getParameter('rsvp')).toBe('TRUE');
  });

  test('an organizer without an address still gets a valid CAL-ADDRESS', () => {
    const lines = unfold(serializeIcs([ev({ organizer: { name: 'Jack' } })], { now: NOW }));
    expect(lines).toContain('ORGANIZER;CN=Jack:invalid:nomail');
  });

  test('overrides follow their master directly, with the same UID and a RECURRENCE-ID', () => {
    const a = ev({ uid: 'a', recurrence: { rrule: ['FREQ=WEEKLY;COUNT=4'], rdate: [], exdate: [] } });
    const b = ev({ uid: 'b' });
    const aOverride = ev({ uid: 'a', recurrenceId: { dateTime: '2026-11-30T09:00:00', timeZone: 'Europe/Berlin' }, title: 'moved', start: { dateTime: '2026-11-30T11:00:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2026-11-30T12:00:00', timeZone: 'Europe/Berlin' } });
    const orphan = ev({ uid: 'c', recurrenceId: { date: '2026-12-01' }, start: { date: '2026-12-02' }, end: { date: '2026-12-03' } });
    const out = serializeIcs([aOverride, b, orphan, a], { now: NOW });
    const list = vevents(out);
    expect(list.map((v) => [v.getFirstPropertyValue('uid'), v.hasProperty('recurrence-id')])).toEqual([
      ['b', false], ['c', true], ['a', false], ['a', true],
    ]);
    expect(unfold(out)).toContain('RECURRENCE-ID;TZID=Europe/Berlin:20261130T090000');
    expect(unfold(out)).toContain('RECURRENCE-ID;VALUE=DATE:20261201');
  });

  test('serializeEventIcs writes one UID and rejects several', () => {
    const master = ev({ recurrence: { rrule: ['FREQ=DAILY;COUNT=3'], rdate: [], exdate: [] } });
    const override = ev({ recurrenceId: { dateTime: '2026-11-24T09:00:00', timeZone: 'Europe/Berlin' }, status: 'CANCELLED' });
    expect(vevents(serializeEventIcs([master, override], { now: NOW }))).toHaveLength(2);
    expect(vevents(serializeEventIcs(master, { now: NOW }))).toHaveLength(1);
    expect(() => serializeEventIcs([master, ev({ uid: 'other' })], { now: NOW })).toThrow(/one UID/);
  });

  test('an unknown zone gets no VTIMEZONE instead of failing the export', () => {
    const out = serializeIcs([ev({ start: { dateTime: '2026-11-23T09:00:00', timeZone: 'Mars/Olympus' }, end: { dateTime: '2026-11-23T10:00:00', timeZone: 'Mars/Olympus' } })], { now: NOW });
    expect(unfold(out)).toContain('DTSTART;TZID=Mars/Olympus:20261123T090000');
    expect(out).not.toContain('BEGIN:VTIMEZONE');
  });
});

describe('encoders', () => {
  test.each([
    ['a,b;c\\d', 'a\\,b\\;c\\\\d'],
    ['two\r\nlines\nand\rthree', 'two\\nlines\\nand\\nthree'],
    ['bell\u0007 tab\t', 'bell tab\t'],
  ])('escapeText(%j)', (input, expected) => {
    expect(escapeText(input)).toBe(expected);
  });

  test.each([
    ['plain', 'plain'],
    ['Doe, Jane', '"Doe, Jane"'],
    ['a:b', '"a:b"'],
    ['say "hi"', "say ^'hi^'"],
    ['x\r\nATTENDEE:evil', '"x^nATTENDEE:evil"'],
    ['caret^', 'caret^^'],
  ])('encodeParamValue(%j)', (input, expected) => {
    expect(encodeParamValue(input)).toBe(expected);
  });

  test('folding: ≤ 75 octets per line, never inside a UTF-8 sequence, and lossless', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (s) => {
        const line = 'DESCRIPTION:' + escapeText(s);
        const folded = foldLine(line);
        for (const physical of folded.split('\r\n')) {
          expect(Buffer.byteLength(physical, 'utf8')).toBeLessThanOrEqual(75);
          // a split surrogate pair would not survive UTF-8 encoding
          expect(Buffer.from(physical, 'utf8').toString('utf8')).toBe(physical);
        }
        expect(folded.replace(/\r\n /g, '')).toBe(line);
      }),
      { numRuns: 300 },
    );
  });

  test('folding at exact boundaries with multi-byte characters', () => {
    const line = 'SUMMARY:' + 'ä'.repeat(100) + '😀'.repeat(30);
    const physical = foldLine(line).split('\r\n');
    expect(physical.length).toBeGreaterThan(3);
    expect(physical[0].startsWith('SUMMARY:')).toBe(true);
    expect(Buffer.byteLength(physical[0])).toBeGreaterThanOrEqual(74); // filled, not wasted
    for (const p of physical.slice(1)) expect(p[0]).toBe(' ');
  });
});

describe('text fields survive ical.js parsing unchanged (property-based)', () => {
  // Control characters other than TAB and line breaks are not allowed in iCalendar text.
  // eslint-disable-next-line no-control-regex -- the expected value drops control characters
  const normalise = (s: string) => s.replace(/\r\n|\r/g, '\n').replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '');
  test('title, description, location, categories, CN', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 120 }), fc.string({ maxLength: 40 }),
        // ical.js reads `\\`, `\;` and `\,` inside a parameter value as `\`, `;` and `,` although
        // RFC 5545 has no escapes there, so backslashes are left out; everything else survives.
        fc.string({ maxLength: 40 }).filter((s) => !s.includes('\\')),
        (text, loc, cn) => {
        const out = serializeIcs([ev({ title: text, description: text, location: loc, categories: [loc || 'x'], organizer: { name: cn || 'n', email: 'a@b.c' } })], { now: NOW });
        const v = only(out);
        expect(v.getFirstPropertyValue('summary')).toBe(normalise(text));
        expect(v.getFirstPropertyValue('description')).toBe(normalise(text));
        expect(v.getFirstPropertyValue('location')).toBe(normalise(loc));
        expect(v.getFirstProperty('categories')!.getValues()).toEqual([normalise(loc || 'x')]);
        expect(v.getFirstProperty('organizer')!.getParameter('cn')).toBe(normalise(cn || 'n'));
      }),
      { numRuns: 200 },
    );
  });
});

describe('injection: CR/LF in any field never creates a property or component', () => {
  const hostile = ['x\r\nATTENDEE:evil', 'x\nEND:VEVENT\nBEGIN:VEVENT\nUID:evil', 'END:VEVENT', 'x\rATTENDEE:mailto:evil@x', '"\r\nATTENDEE:evil', 'a\\\r\n ATTENDEE:evil'];
  const allowedNames = new Set([
    'BEGIN', 'END', 'VERSION', 'PRODID', 'CALSCALE', 'DTSTAMP', 'UID', 'DTSTART', 'DTEND', 'SUMMARY', 'DESCRIPTION', 'LOCATION',
    'STATUS', 'TRANSP', 'URL', 'CATEGORIES', 'ORGANIZER', 'RRULE', 'EXRULE', 'RDATE', 'EXDATE', 'RECURRENCE-ID', 'X-SAFE', 'METHOD', 'X-WR-CALNAME',
    'TZID', 'X-LIC-LOCATION', 'TZOFFSETFROM', 'TZOFFSETTO', 'TZNAME', 'SEQUENCE',
  ]);
  test.each(hostile)('%j', (h) => {
    const e = ev({
      uid: h,
      title: h,
      description: h,
      location: h,
      url: 'https://x/' + h,
      categories: [h],
      organizer: { name: h, email: h },
      status: h as never,
      transparency: h as never,
      recurrence: { rrule: ['FREQ=DAILY;COUNT=2' + h], rdate: [], exdate: [] },
      xProps: [{ name: 'X-SAFE', value: h, params: { [`X-P`]: h } }, { name: 'X-EVIL\r\nATTENDEE', value: 'v' }, { name: 'X-OK', value: 'v', params: { ['BAD\r\nATTENDEE']: 'v' } }],
    });
    const out = serializeIcs([e], { now: NOW }, );
    const withMethod = serializeIcs([e], { now: NOW, method: h, calendarName: h });
    for (const text of [out, withMethod]) {
      const lines = unfold(text);
      for (const l of lines) {
        const name = /^[A-Za-z0-9-]+/.exec(l)?.[0] ?? '';
        expect(allowedNames.has(name) || name === 'X-OK').toBe(true);
      }
      expect(lines.filter((l) => l.startsWith('BEGIN:VEVENT'))).toHaveLength(1);
      expect(lines.filter((l) => l.startsWith('END:VEVENT'))).toHaveLength(1);
      expect(text).not.toMatch(/\r\n(?![ A-Z]|$)/); // every line break is CRLF followed by a property or a fold
      const v = only(text);
      expect(v.getAllProperties('attendee')).toHaveLength(0);
      expect(v.getFirstPropertyValue('summary')).toBe(h.replace(/\r\n|\r/g, '\n'));
    }
  });
});

describe('VTIMEZONE generation', () => {
  const zones = ['Europe/Berlin', 'America/New_York', 'Australia/Sydney', 'Asia/Kolkata', 'America/Sao_Paulo'];

  function icalZone(lines: string[]): ICAL.Timezone {
    const comp = new ICAL.Component(ICAL.parse(['BEGIN:VCALENDAR', ...lines, 'END:VCALENDAR'].join('\r\n')));
    return new ICAL.Timezone(comp.getFirstSubcomponent('vtimezone')!);
  }

  test.each(zones)('%s: ical.js conversions with the generated VTIMEZONE agree with Intl (2005–2030)', (tz) => {
    const zone = icalZone(buildVtimezone(tz, 2005, 2030));
    let checked = 0;
    // every ~37 hours (drifts through all hours of the day) plus both sides of every transition
    const instants: number[] = [];
    for (let t = Date.UTC(2005, 0, 1); t < Date.UTC(2031, 0, 1); t += 37 * 3_600_000) instants.push(t);
    for (const tr of zoneTransitions(tz, Date.UTC(2005, 0, 1), Date.UTC(2031, 0, 1))) instants.push(tr.utcMs - 60_000, tr.utcMs, tr.utcMs + 60_000);
    const transitions = zoneTransitions(tz, Date.UTC(2004, 0, 1), Date.UTC(2032, 0, 1)).map((t) => t.utcMs);
    const near = (u: number, h: number) => transitions.some((t) => Math.abs(t - u) < h * 3_600_000);
    for (const u of instants) {
      const wall = utcToWall(u, tz);
      // local → UTC (how readers use a VTIMEZONE), wherever the wall time is unambiguous
      if (!near(u, 3)) {
        const d = new Date(wall);
        const t = ICAL.Time.fromData({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() }, zone);
        expect(formatUtc(t.toUnixTime() * 1000)).toBe(formatUtc(wallToUtc(wall, tz)));
        checked++;
      }
      // UTC → local: ical.js looks the UTC time up as if it were local time, so it is off by an
      // hour within |offset| of a transition whatever the VTIMEZONE says; compare away from those.
      if (!near(u, 15)) {
        const local = ICAL.Time.fromJSDate(new Date(u), true).convertToZone(zone);
        expect(formatWall(Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second))).toBe(formatWall(wall));
      }
    }
    // and wall times just before/after each transition's local onset
    for (const tr of zoneTransitions(tz, Date.UTC(2005, 0, 1), Date.UTC(2031, 0, 1))) {
      for (const delta of [-61, -1, 61, 121]) {
        const u = tr.utcMs + delta * 60_000;
        const wall = utcToWall(u, tz);
        // in a fall-back overlap the wall time happens twice and either reading is legal
        const readings = new Set([wall - tr.from, wall - tr.to].filter((c) => utcToWall(c, tz) === wall));
        if (readings.size > 1) continue;
        const d = new Date(wall);
        const t = ICAL.Time.fromData({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() }, zone);
        expect(formatUtc(t.toUnixTime() * 1000)).toBe(formatUtc(u));
      }
    }
    expect(checked).toBeGreaterThan(5000);
  });

  /** Every observance of a generated VTIMEZONE: kind, offsets and TZNAME. */
  function observances(lines: string[]): { kind: string; dtstart: string; to: string; name?: string }[] {
    const out: { kind: string; dtstart: string; to: string; name?: string }[] = [];
    let cur: { kind: string; dtstart: string; to: string; name?: string } | undefined;
    for (const l of lines) {
      const m = /^BEGIN:(STANDARD|DAYLIGHT)$/.exec(l);
      if (m) cur = { kind: m[1], dtstart: '', to: '' };
      else if (cur && l.startsWith('DTSTART:')) cur.dtstart = l.slice(8);
      else if (cur && l.startsWith('TZOFFSETTO:')) cur.to = l.slice(11);
      else if (cur && l.startsWith('TZNAME:')) cur.name = l.slice(7);
      else if (cur && /^END:(STANDARD|DAYLIGHT)$/.test(l)) { out.push(cur); cur = undefined; }
    }
    return out;
  }

  test.each([
    // [zone, years, {offset: [kind, TZNAME]}] — summer time is DAYLIGHT, named as people name it
    ['Europe/Berlin', [2025, 2027], { '+0200': ['DAYLIGHT', 'CEST'], '+0100': ['STANDARD', 'CET'] }],
    ['Europe/London', [2025, 2027], { '+0100': ['DAYLIGHT', 'BST'], '+0000': ['STANDARD', 'GMT'] }],
    // IANA calls Irish winter time "negative DST"; like Windows, ICU's rearguard data and every
    // calendar client we write summer (the larger offset) as DAYLIGHT
    ['Europe/Dublin', [2025, 2027], { '+0100': ['DAYLIGHT', 'IST'], '+0000': ['STANDARD', 'GMT'] }],
    ['America/New_York', [2025, 2027], { '-0400': ['DAYLIGHT', 'EDT'], '-0500': ['STANDARD', 'EST'] }],
    ['America/Chicago', [2025, 2027], { '-0500': ['DAYLIGHT', 'CDT'], '-0600': ['STANDARD', 'CST'] }],
    ['America/Los_Angeles', [2025, 2027], { '-0700': ['DAYLIGHT', 'PDT'], '-0800': ['STANDARD', 'PST'] }],
    // southern hemisphere: summer straddles the new year, so the 1601 base observance is DAYLIGHT
    ['Australia/Sydney', [2025, 2027], { '+1100': ['DAYLIGHT', 'AEDT'], '+1000': ['STANDARD', 'AEST'] }],
    ['Asia/Kolkata', [2025, 2027], { '+0530': ['STANDARD', 'IST'] }],
    // DST abolished in 2019; Intl has no abbreviation for Brazil in English ("GMT-3"): no TZNAME
    ['America/Sao_Paulo', [2015, 2022], { '-0200': ['DAYLIGHT', undefined], '-0300': ['STANDARD', undefined] }],
  ] as [string, [number, number], Record<string, [string, string | undefined]>][])('%s: observance kinds and TZNAMEs', (tz, [y0, y1], want) => {
    const obs = observances(buildVtimezone(tz, y0, y1));
    expect(obs.length).toBeGreaterThan(0);
    const got: Record<string, [string, string | undefined]> = {};
    for (const o of obs) {
      // every observance with the same offset is of the same kind and name
      if (got[o.to]) expect([o.kind, o.name]).toEqual(got[o.to]);
      got[o.to] = [o.kind, o.name];
    }
    expect(got).toEqual(want);
  });

  test('zoneTransitions flags the summer onsets as daylight, also for 8-month US DST', () => {
    const kinds = (tz: string) => zoneTransitions(tz, Date.UTC(2026, 0, 1), Date.UTC(2027, 0, 1)).map((t) => `${t.to / 3_600_000}:${t.daylight}`);
    expect(kinds('America/New_York')).toEqual(['-4:true', '-5:false']);
    expect(kinds('Europe/Berlin')).toEqual(['2:true', '1:false']);
    expect(kinds('Australia/Sydney')).toEqual(['10:false', '11:true']);
    expect(kinds('Asia/Kolkata')).toEqual([]);
  });

  test('regular rules become RRULEs; open-ended for zones still observing DST', () => {
    const berlin = buildVtimezone('Europe/Berlin', 2025, 2027);
    expect(berlin).toContain('RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU');
    expect(berlin).toContain('RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU');
    expect(berlin).toContain('TZOFFSETFROM:+0100');
    const ny = buildVtimezone('America/New_York', 2025, 2027);
    expect(ny).toContain('RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU');
    expect(ny).toContain('RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU');
  });

  test('a rule that ended gets UNTIL (Sao Paulo abolished DST in 2019)', () => {
    const sp = buildVtimezone('America/Sao_Paulo', 2015, 2022);
    const rrules = sp.filter((l) => l.startsWith('RRULE') || l.startsWith('RDATE'));
    expect(rrules.length).toBeGreaterThan(0);
    for (const r of sp.filter((l) => l.startsWith('RRULE'))) expect(r).toMatch(/UNTIL=20(1[5-9])\d{4}T\d{6}Z/);
    // after 2019 the zone is at -03:00 all year: later instants must not be shifted
    const zone = icalZone(sp);
    for (const month of [1, 2, 11, 12]) {
      const t = ICAL.Time.fromData({ year: 2021, month, day: 15, hour: 12, minute: 0, second: 0 }, zone);
      expect(t.toUnixTime() * 1000).toBe(Date.UTC(2021, month - 1, 15, 15, 0, 0));
    }
  });

  test('a zone without DST has one observance (Asia/Kolkata)', () => {
    const lines = buildVtimezone('Asia/Kolkata', 2025, 2027);
    expect(lines.filter((l) => l.startsWith('BEGIN:STANDARD') || l.startsWith('BEGIN:DAYLIGHT'))).toEqual(['BEGIN:STANDARD']);
    expect(lines).toContain('TZOFFSETTO:+0530');
  });

  test('open-ended rules follow the zone for a decade after any short scan (last vs 4th Sunday)', () => {
    // 2024–2026 has the last Sunday of October on the 27th, 26th and 25th: "4SU" fits the scan
    // but is wrong in 2027 (31st). Every 3-year scan must yield rules that hold afterwards.
    const failures: string[] = [];
    for (const tz of ['Europe/Berlin', 'Europe/London', 'America/New_York', 'Australia/Sydney', 'America/Santiago', 'Pacific/Auckland']) {
      for (let y = 2020; y <= 2030; y++) {
        const zone = icalZone(buildVtimezone(tz, y, y + 2));
        for (const tr of zoneTransitions(tz, Date.UTC(y, 0, 1), Date.UTC(y + 12, 0, 1))) {
          for (const delta of [-61, 121]) {
            const u = tr.utcMs + delta * 60_000;
            const d = new Date(utcToWall(u, tz));
            const t = ICAL.Time.fromData({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: 0 }, zone);
            if (t.toUnixTime() * 1000 !== u) failures.push(`${tz} scan ${y}–${y + 2}: ${formatUtc(u)}`);
          }
        }
      }
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });

  test('open-ended rules keep working for years after the scanned span', () => {
    const zone = icalZone(buildVtimezone('Australia/Sydney', 2025, 2027));
    for (const [y, mo, d] of [[2035, 1, 15], [2035, 7, 15], [2040, 12, 24]]) {
      const t = ICAL.Time.fromData({ year: y, month: mo, day: d, hour: 12, minute: 0, second: 0 }, zone);
      expect(formatUtc(t.toUnixTime() * 1000)).toBe(formatUtc(wallToUtc(Date.UTC(y, mo - 1, d, 12), 'Australia/Sydney')));
    }
  });
});

describe('recurrence rules on export: valid ones verbatim, unusable ones left out with a warning', () => {
  test.each([
    // [rule, written?]
    ['FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20270101T000000Z', true],
    ['RSCALE=GREGORIAN;FREQ=YEARLY;SKIP=FORWARD', true],
    ['RSCALE=CHINESE;FREQ=YEARLY', true],
    ['RSCALE=HEBREW;FREQ=YEARLY;BYMONTH=5L;BYMONTHDAY=8;SKIP=FORWARD', true],
    ['RSCALE=ETHIOPIC;FREQ=MONTHLY;BYMONTH=13', true],
    ['FREQ=DAILY;X-VENDOR=1', true],
    ['RSCALE=HEBREW;FREQ=YEARLY;BYMONTH=14', false],
    ['RSCALE=HEBREW;FREQ=YEARLY;SKIP=SIDEWAYS', false],
    ['RSCALE=HEBREW;YEARLY', false],
    ['FREQ=WEEKLY;UNTL=20191023;BYDAY=TH', false],
    ['AnythingRandom;FREQ=WEEKLY', false],
    ['FREQ=DAILY;COUNT=-1', false],
    ['FREQ=DAILY;INTERVAL=0', false],
    ['BYDAY=MO', false],
  ])('%s → written: %s', (rule, written) => {
    const warnings: Array<{ uid: string; message: string }> = [];
    const e: CalendarEvent = { uid: 'r@test', title: 'T', start: { dateTime: '2026-01-05T10:00:00Z' }, end: { dateTime: '2026-01-05T11:00:00Z' }, recurrence: { rrule: [rule], rdate: [], exdate: [] } };
    const text = serializeIcs([e], { now: NOW, onWarning: (w) => warnings.push(w) });
    expect(text.includes(`\r\nRRULE:${rule}\r\n`)).toBe(written);
    expect(text).toContain('UID:r@test');
    expect(warnings).toEqual(written ? [] : [{ uid: 'r@test', message: expect.stringMatching(new RegExp(`^RRULE ".*" left out \\(.+\\): the event is written without it$`)) }]);
    // Whatever is written, ical.js reads the whole file — except a 13th month, which ical.js 2.2.1
    // rejects under any RSCALE although RFC 7529 allows it (written anyway: the rule is valid).
    if (!rule.includes('BYMONTH=13')) expect(() => new ICAL.Component(ICAL.parse(text))).not.toThrow();
  });

  test('a negative sequence is written as 0, with a warning', () => {
    const warnings: string[] = [];
    const e: CalendarEvent = { uid: 's@test', title: 'T', start: { date: '2026-01-05' }, end: { date: '2026-01-06' }, sequence: -2 };
    expect(serializeIcs([e], { now: NOW, onWarning: (w) => warnings.push(w.message) })).toContain('\r\nSEQUENCE:0\r\n');
    expect(warnings).toEqual(['SEQUENCE -2 is negative: written as 0']);
  });
});
