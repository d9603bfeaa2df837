import { PassThrough } from 'node:stream';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { main } from '../../cli';
import { roomHint } from '../../cli/sync';
import { withNetworkWords } from '../../cli/io';
import type { RelayConfig } from '../../cli/config';

async function runCli(argv: string[], stdinText?: string) {
  let stdout = '';
  let stderr = '';
  const stdin = new PassThrough();
  if (stdinText !== undefined) stdin.end(stdinText);
  const code = await main(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), stdin, now: () => Date.parse('2026-11-22T12:00:00Z') });
  return { code, stdout, stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'cr-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const WEEKLY = [
  'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN',
  'BEGIN:VEVENT', 'UID:weekly@test', 'DTSTART;TZID=Europe/Berlin:20260323T090000', 'DTEND;TZID=Europe/Berlin:20260323T100000',
  'RRULE:FREQ=WEEKLY;COUNT=3', 'SUMMARY:Standup', 'END:VEVENT',
  'BEGIN:VEVENT', 'UID:weekly@test', 'RECURRENCE-ID;TZID=Europe/Berlin:20260330T090000', 'DTSTART;TZID=Europe/Berlin:20260330T110000', 'DTEND;TZID=Europe/Berlin:20260330T120000', 'SUMMARY:Standup (moved)', 'END:VEVENT',
  'BEGIN:VEVENT', 'UID:allday@test', 'DTSTART;VALUE=DATE:20260324', 'SUMMARY:Holiday', 'END:VEVENT',
  'BEGIN:VEVENT', 'UID:floating@test', 'DTSTART:20260325T080000', 'DTEND:20260325T083000', 'SUMMARY:Floating', 'END:VEVENT',
  'END:VCALENDAR', '',
].join('\r\n');

describe('calendar-relay CLI contract', () => {
  test('parse prints events and errors as JSON', async () => {
    const r = await runCli(['parse', file('w.ics', WEEKLY)]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.errors).toEqual([]);
    expect(out.events.map((e: { uid: string }) => e.uid).sort()).toEqual(['allday@test', 'floating@test', 'weekly@test', 'weekly@test']);
  });

  test('expand: UTC for zoned, wall clock for floating, date for all-day, sorted, with recurrenceId', async () => {
    const r = await runCli(['expand', file('w2.ics', WEEKLY), '--from', '2026-03-01', '--to', '2026-05-01']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      { uid: 'weekly@test', recurrenceId: '2026-03-23T08:00:00Z', start: '2026-03-23T08:00:00Z', end: '2026-03-23T09:00:00Z', allDay: false, title: 'Standup' },
      { uid: 'allday@test', recurrenceId: null, start: '2026-03-24', end: '2026-03-25', allDay: true, title: 'Holiday' },
      { uid: 'floating@test', recurrenceId: null, start: '2026-03-25T08:00:00', end: '2026-03-25T08:30:00', allDay: false, title: 'Floating' },
      // DST began on 2026-03-29: 09:00 local is now 07:00Z; this one was moved to 11:00 local
      { uid: 'weekly@test', recurrenceId: '2026-03-30T07:00:00Z', start: '2026-03-30T09:00:00Z', end: '2026-03-30T10:00:00Z', allDay: false, title: 'Standup (moved)' },
      { uid: 'weekly@test', recurrenceId: '2026-04-06T07:00:00Z', start: '2026-04-06T07:00:00Z', end: '2026-04-06T08:00:00Z', allDay: false, title: 'Standup' },
    ]);
  });

  test('expand window edges: start < to and end > from', async () => {
    const r = await runCli(['expand', file('w3.ics', WEEKLY), '--from', '2026-03-23T09:00:00Z', '--to', '2026-03-24T00:00:00Z']);
    expect(JSON.parse(r.stdout)).toEqual([]);
    const r2 = await runCli(['expand', file('w4.ics', WEEKLY), '--from', '2026-03-23T08:59:59Z', '--to', '2026-03-24T00:00:01Z']);
    expect(JSON.parse(r2.stdout).map((o: { uid: string }) => o.uid)).toEqual(['weekly@test', 'allday@test']);
  });

  test('export turns parse output back into ICS, reading stdin', async () => {
    const parsed = await runCli(['parse', file('w5.ics', WEEKLY)]);
    const r = await runCli(['export', '-'], parsed.stdout);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^BEGIN:VCALENDAR\r\n/);
    expect(r.stdout.match(/BEGIN:VEVENT/g)).toHaveLength(4);
    expect(r.stdout).toContain('RECURRENCE-ID;TZID=Europe/Berlin:20260330T090000');
    const again = await runCli(['parse', '-'], r.stdout);
    expect(JSON.parse(again.stdout).events).toEqual(JSON.parse(parsed.stdout).events);
  });

  test.each([
    [{ start: { dateTime: '2026-12-01T09:00:00', timeZone: 'Mars/Olympus' } }, /field start.timeZone: "Mars\/Olympus" is not a known IANA time zone/],
    [{ categories: 'a,b' }, /field categories: must be an array of strings/],
    [{ recurrence: { rrule: ['FREQ=DAILY'], rdate: [null], exdate: [] } }, /field recurrence.rdate.0: must be an object/],
    [{ start: { date: '2026-02-31' }, end: { date: '2026-03-01' } }, /field start: "2026-02-31" is not a real calendar date/],
    [{ description: 5 }, /field description: must be a string/],
    [{ recurrence: { rrule: 'FREQ=DAILY', rdate: [], exdate: [] } }, /field recurrence.rrule: must be an array of rule strings/],
    [{ recurrence: { rrule: [7], rdate: [], exdate: [] } }, /field recurrence.rrule.0: must be a string/],
    [{ status: 'CONFIRMED\r\nX-F:6' }, /field status: must be one of CONFIRMED, TENTATIVE, CANCELLED/],
    [{ transparency: 'bogus' }, /field transparency: must be OPAQUE \(busy\) or TRANSPARENT \(free\)/],
    [{ xProps: [{ name: 'X-OK;EVIL=1', value: 'v' }] }, /field xProps.0.name: .* is not an X- property name/],
    [{ attendees: [{ email: 3 }] }, /field attendees.0.email: must be a string/],
    [{ sequence: 1.5 }, /field sequence: must be a whole number/],
  ])('export skips a malformed event (%j) with a message naming the field, and keeps the rest', async (patch, message) => {
    const good = { uid: 'ok@test', title: 'fine', start: { date: '2026-12-01' }, end: { date: '2026-12-02' } };
    const bad = { uid: 'bad@test', title: 'broken', start: { dateTime: '2026-12-01T09:00:00Z' }, end: { dateTime: '2026-12-01T10:00:00Z' }, ...patch };
    const r = await runCli(['export', '-'], JSON.stringify([bad, good]));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^error: item 0, /);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toContain('UID:ok@test');
    expect(r.stdout).not.toContain('bad@test');
  });

  test.each([
    // [what, patch, written rule (or none), warning on stderr]
    ['RFC 7529 rule in another calendar scale', { recurrence: { rrule: ['RSCALE=HEBREW;FREQ=YEARLY;BYMONTH=5L;BYMONTHDAY=8;SKIP=FORWARD'], rdate: [], exdate: [] } }, 'RRULE:RSCALE=HEBREW;FREQ=YEARLY;BYMONTH=5L;BYMONTHDAY=8;SKIP=FORWARD', /RRULE "RSCALE=HEBREW.*ignored when expanding/],
    ['RFC 7529 13th month', { recurrence: { rrule: ['RSCALE=ETHIOPIC;FREQ=MONTHLY;BYMONTH=13'], rdate: [], exdate: [] } }, 'RRULE:RSCALE=ETHIOPIC;FREQ=MONTHLY;BYMONTH=13', /ignored when expanding/],
    ['unknown rule part UNTL=', { recurrence: { rrule: ['FREQ=WEEKLY;UNTL=20191023;BYDAY=TH'], rdate: [], exdate: [] } }, undefined, /uid bad@test: RRULE "FREQ=WEEKLY;UNTL=20191023;BYDAY=TH" left out \(unknown rule part UNTL\): the event is written without it/],
    ['garbage rule', { recurrence: { rrule: ['AnythingRandom;FREQ=WEEKLY'], rdate: [], exdate: [] } }, undefined, /RRULE "AnythingRandom;FREQ=WEEKLY" left out \("ANYTHINGRANDOM": expected NAME=VALUE\)/],
    ['bad weekday', { recurrence: { rrule: ['FREQ=DAILY;BYDAY=XX'], rdate: [], exdate: [] } }, undefined, /left out \(BYDAY=XX/],
    ['COUNT=-1', { recurrence: { rrule: ['FREQ=DAILY;COUNT=-1'], rdate: [], exdate: [] } }, undefined, /left out \(COUNT=-1: must be a whole number ≥ 1\)/],
  ])('export keeps an event whose rule it cannot use (%s), with a warning', async (_what, patch, written, warning) => {
    const bad = { uid: 'bad@test', title: 'kept', start: { dateTime: '2026-12-01T09:00:00Z' }, end: { dateTime: '2026-12-01T10:00:00Z' }, ...patch };
    const r = await runCli(['export', '-'], JSON.stringify([bad]));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('UID:bad@test');
    expect(r.stderr).toMatch(warning);
    expect(r.stderr).not.toMatch(/^error/m);
    const rules = r.stdout.split('\r\n').filter((l) => l.startsWith('RRULE'));
    expect(rules).toEqual(written ? [written] : []);
  });

  test('export writes a negative sequence as 0, with a warning', async () => {
    const bad = { uid: 'neg@test', title: 'kept', start: { dateTime: '2026-12-01T09:00:00Z' }, end: { dateTime: '2026-12-01T10:00:00Z' }, sequence: -3 };
    const r = await runCli(['export', '-'], JSON.stringify([bad]));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('\r\nSEQUENCE:0\r\n');
    expect(r.stderr).toBe('warning: item 0, uid neg@test: sequence -3 is negative: read as 0\n');
  });

  test('parse and expand read the event JSON that parse prints', async () => {
    const parsed = await runCli(['parse', file('w6.ics', WEEKLY)]);
    const json = file('w6.json', parsed.stdout);
    const fromJson = await runCli(['expand', json, '--from', '2026-03-01', '--to', '2026-05-01']);
    const fromIcs = await runCli(['expand', file('w7.ics', WEEKLY), '--from', '2026-03-01', '--to', '2026-05-01']);
    expect(fromJson.code).toBe(0);
    expect(fromJson.stderr).toBe('');
    expect(JSON.parse(fromJson.stdout)).toEqual(JSON.parse(fromIcs.stdout));
    const again = await runCli(['parse', json]);
    expect(JSON.parse(again.stdout)).toEqual(JSON.parse(parsed.stdout));
    const events = JSON.parse(parsed.stdout).events;
    const withBad = await runCli(['parse', '-', '--preset', 'events'], JSON.stringify([...events, { uid: 'x', start: { date: 'soon' }, end: { date: '2026-01-01' } }]));
    expect(JSON.parse(withBad.stdout).errors).toEqual([{ item: events.length, field: 'start', uid: 'x', message: 'date "soon" is not YYYY-MM-DD' }]);
  });

  test('empty input is a non-calendar input', async () => {
    const r = await runCli(['parse', '-'], '  \n');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('calendar-relay: input is empty\n');
  });

  test('export reports a bad item by index and still exports the rest', async () => {
    const events = [
      { uid: 'ok@test', title: 'fine', start: { date: '2026-12-01' }, end: { date: '2026-12-02' } },
      { uid: 'bad@test', title: 'broken', start: { dateTime: '2026-12-01 09:00' }, end: { date: '2026-12-02' } },
    ];
    const r = await runCli(['export', '-'], JSON.stringify(events));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/item 1, uid bad@test, field start: dateTime "2026-12-01 09:00" is not YYYY-MM-DDTHH:MM:SS/);
    expect(r.stdout).toContain('UID:ok@test');
    expect(r.stdout).not.toContain('bad@test');
  });

  test.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['parse'], /expected exactly one input/],
    [['expand', 'x.ics', '--from', '2026-01-01'], /--to is required/],
    [['expand', 'x.ics', '--from', 'yesterday', '--to', '2026-01-01'], /--from "yesterday" is not an ISO date/],
    [['parse', 'x.ics', '--preset', 'vcard'], /--preset must be one of/],
    [['parse', 'x.json', '--preset', 'generic', '--map', '{"titel":"name"}'], /--map: unknown field "titel"/],
    [['parse', 'x.json', '--preset', 'caldn', '--map', '{"title":"name"}'], /caldn's format is fixed/],
    [['parse', 'x.json', '--map', '{"title":"name"}'], /--map needs --preset learningspace, sonderplan or generic/],
    [['parse', 'x.json', '--preset', 'generic', '--map', '{"id":5}'], /field "id" must be a dot path/],
    [['parse', 'x.json', '--map', '{oops'], /--map is not valid JSON/],
    [['parse', 'x.ics', '--bogus'], /unknown option --bogus/],
  ])('bad arguments %j → exit 2 with one line on stderr', async (argv, message) => {
    const r = await runCli(argv as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  test('--help on a command prints the usage and exits 0; no command is a usage error', async () => {
    const help = await runCli(['expand', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: calendar-relay <command>/);
    expect(help.stdout).toContain('expand <file|url|-> --from <ISO> --to <ISO>');
    const none = await runCli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe('calendar-relay: no command given (calendar-relay --help for usage)\n');
  });

  test('unreadable or non-calendar input → exit 1 with a one-line message', async () => {
    const missing = await runCli(['parse', join(dir, 'nope.ics')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/cannot read .*nope\.ics: no such file/);
    const notCal = await runCli(['parse', file('x.txt', 'hello, this is not a calendar')]);
    expect(notCal.code).toBe(1);
    expect(notCal.stderr).toMatch(/neither iCalendar .* nor JSON/);
    const notEvents = await runCli(['export', '-'], '{"hello": 1}');
    expect(notEvents.code).toBe(1);
  });

  test('JSON presets are detected or chosen', async () => {
    const caldn = [{ prokey: 'p1', status: 'published', dates: [{ name: 'Termin 1', startDate: '2026-12-14', startTime: '10:00', endDate: '2026-12-14', endTime: '11:00', timeZone: 'Europe/Berlin' }], simplified_recurrence: true }];
    const r = await runCli(['parse', file('c.json', JSON.stringify(caldn))]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.events).toHaveLength(1);
    expect(out.events[0]).toMatchObject({ title: 'Termin 1', start: { dateTime: '2026-12-14T10:00:00', timeZone: 'Europe/Berlin' } });
    const generic = await runCli(['parse', file('g.json', JSON.stringify({ rows: [{ key: 'a1', name: 'X', from: '2026-12-01T10:00:00Z', to: '2026-12-01T11:00:00Z' }] })), '--preset', 'generic', '--map', JSON.stringify({ items: 'rows', id: 'key', title: 'name', start: 'from', end: 'to' })]);
    expect(generic.code).toBe(0);
    expect(JSON.parse(generic.stdout).events[0]).toMatchObject({ uid: 'a1', title: 'X', start: { dateTime: '2026-12-01T10:00:00Z' } });
  });
});

describe('first-run messages (issue 10)', () => {
  /** One line, and nothing a terminal would take as a control sequence or raw byte. */
  const clean = (stderr: string) => {
    expect(stderr.trim().split('\n')).toHaveLength(1);
    // eslint-disable-next-line no-control-regex -- looking for control characters is the point
    expect(stderr.trimEnd()).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\ufffd]/);
  };

  test.each([
    ['generic', /preset "generic" expects JSON \(with --map naming its fields.*but the input is iCalendar.*use preset "ics" or "auto"/],
    ['sonderplan', /preset "sonderplan" expects JSON, but the input is iCalendar \(BEGIN:VCALENDAR\)/],
  ])('parse --preset %s on an ICS file says the preset expects JSON', async (preset, message) => {
    const r = await runCli(['parse', file('p.ics', WEEKLY), '--preset', preset]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/neither iCalendar/);
    clean(r.stderr);
  });

  test.each([
    ['a PNG image', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x9b, 0xff, 0x01])],
    ['a PDF document', Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj', 'latin1')],
    ['binary data', Buffer.from(Array.from({ length: 200 }, (_, i) => (i * 37) % 256))],
  ])('a binary file (%s) is named, its bytes are not printed', async (kind, bytes) => {
    const p = join(dir, 'blob.bin');
    writeFileSync(p, bytes);
    for (const preset of ['auto', 'generic', 'ics']) {
      const r = await runCli(['parse', p, '--preset', preset]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`calendar-relay: input is ${kind}, not calendar data (iCalendar or JSON)\n`);
    }
    const exported = await runCli(['export', p]);
    expect(exported.code).toBe(1);
    expect(exported.stderr).toBe(`calendar-relay: input is ${kind}, not event JSON\n`);
  });

  test('JSON whose error message would quote raw bytes is escaped', async () => {
    const r = await runCli(['parse', '-', '--preset', 'caldn'], '\u0007\u001b[31m{oops');
    expect(r.code).toBe(1);
    clean(r.stderr);
    expect(r.stderr).toMatch(/preset "caldn" expects JSON, but the input is not valid JSON/);
  });

  test('an unusable JSON item is named with its id (a caldn item with two dates: both events)', async () => {
    const caldn = [{ prokey: 'P3', recurrence: 'RRULE:FREQ=SOMETIMES', dates: [{ startDate: '2026-01-05' }, { startDate: '2026-01-06' }] }];
    const r = await runCli(['expand', '-', '--preset', 'caldn', '--from', '2026-01-01', '--to', '2026-02-01'], JSON.stringify(caldn));
    expect(r.code).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^warning: item 0, field "recurrence": .* \(uid P3-0\)$/);
    expect(lines[1]).toMatch(/^warning: item 0, field "recurrence": .* \(uid P3-1\)$/);
  });

  test('a cut-off JSON body without a preset says so too', async () => {
    const r = await runCli(['parse', '-'], '[{"uid": "a", "start": {"date": "2026-01-0');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^calendar-relay: input starts like JSON but is not valid JSON \(.*\): it ends too early, a cut-off download\?\n$/);
  });

  test('a cut-off JSON body with a JSON preset says so', async () => {
    const r = await runCli(['parse', '-', '--preset', 'sonderplan'], '{"data": [{"id": "a", "start": "2026-01-0');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/preset "sonderplan" expects JSON, but the input is not valid JSON \(.*\): it ends too early, a cut-off download\?/);
    clean(r.stderr);
  });

  test.each(['auto', 'ics', 'caldn', 'events'])('an HTML page (preset %s) is named with its title, not parsed', async (preset) => {
    const html = '<!DOCTYPE html>\n<html><head><title>Sign in – Campus\n Portal</title></head><body>BEGIN:VEVENT example</body></html>';
    const r = await runCli(['parse', '-', '--preset', preset], html);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('calendar-relay: input is an HTML page ("Sign in – Campus Portal"), not calendar data: the server answered with a web page (a login or error page?) instead of the feed\n');
  });

  test('a truncated ICS is a failed read (exit 1), not a shorter calendar', async () => {
    const cut = WEEKLY.slice(0, WEEKLY.indexOf('SUMMARY:Holiday'));
    const r = await runCli(['parse', file('cut.ics', cut)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^calendar-relay: truncated iCalendar: the file ends inside VEVENT starting at line 18 \(no END:VEVENT\)/);
    expect(r.stdout).toBe('');
  });

  test('a refused connection says "connection refused"', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const r = await runCli(['parse', `http://127.0.0.1:${port}/feed.ics`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^calendar-relay: cannot fetch http://127\\.0\\.0\\.1:${port}/feed\\.ics: connection refused .*\\[ECONNREFUSED\\]\\n$`));
  });
});

test.each([
  ['source "remote": cannot reach http://x.example/feed.ics: ECONNREFUSED', 'source "remote": cannot reach http://x.example/feed.ics: connection refused [ECONNREFUSED]'],
  ['cannot reach http://nohost.example/: ENOTFOUND', 'cannot reach http://nohost.example/: host not found [ENOTFOUND]'],
  ['answered HTTP 500 Internal Server Error', 'answered HTTP 500 Internal Server Error'],
  ['cannot reach http://x/: EWHATEVER', 'cannot reach http://x/: EWHATEVER'],
])('a source failure ending in an error code says it in words: %s', (message, said) => {
  expect(withNetworkWords(message)).toBe(said);
});

describe('sync: a room that cannot be listed gets one line with a hint', () => {
  const config = (target: Record<string, unknown>) => ({ target }) as unknown as RelayConfig;
  test.each([
    ['emulator (Google)', { provider: 'google', rootUrl: 'http://127.0.0.1:8085/' }, '404 notFound', /^the emulator has no calendar "r@x": start it with --rooms/],
    ['emulator (Graph)', { provider: 'microsoft', baseUrl: 'http://localhost:8085/v1.0' }, 'HTTP 404 ErrorInvalidUser', /^the emulator has no calendar "r@x"/],
    ['Google', { provider: 'google' }, 'list events of r@x: 404 notFound', /^check the calendar id "r@x" .*domain-wide delegation with https:\/\/www\.googleapis\.com\/auth\/calendar/],
    ['Google, forbidden', { provider: 'google' }, 'HTTP 403 forbidden', /^the credential may not change "r@x"/],
    ['Microsoft 365', { provider: 'microsoft', baseUrl: 'https://graph.microsoft.com/v1.0' }, 'HTTP 404 ErrorInvalidUser', /^check the mailbox address "r@x" .*Calendars\.ReadWrite application permission/],
    ['Microsoft 365, forbidden', { provider: 'microsoft' }, 'HTTP 403 ErrorAccessDenied', /application access policy/],
  ])('%s', (_name, target, message, hint) => {
    expect(roomHint(config(target), 'r@x', `could not list events: ${message}`)).toMatch(hint);
  });

  test.each([
    ['emulator not running', { provider: 'google', rootUrl: 'http://127.0.0.1:9/' }, 'GET http://127.0.0.1:9/calendar/v3/x: fetch failed (ECONNREFUSED)', /^connection refused: nothing listens at http:\/\/127\.0\.0\.1:9\/ — is the emulator running\? \(calendar-relay emulator --port <N> --rooms r@x,…\)$/],
    ['Graph refused', { provider: 'microsoft' }, 'fetch failed (ECONNREFUSED)', /^connection refused by https:\/\/graph\.microsoft\.com\/v1\.0: check target\.baseUrl/],
    ['unknown host', { provider: 'google', rootUrl: 'https://calendar.example/' }, 'fetch failed (ENOTFOUND)', /^host not found: check target\.rootUrl \(https:\/\/calendar\.example\/\)/],
  ])('%s', (_name, target, message, hint) => {
    expect(roomHint(config(target), 'r@x', `could not list events: ${message}`)).toMatch(hint);
  });

  test('no hint for other failures', () => {
    expect(roomHint(config({ provider: 'google' }), 'r@x', 'could not list events: HTTP 500 backendError')).toBeUndefined();
  });
});
