/**
 * Pure parts of the CalDAV provider: the XML reader, resources ⇄ components (stamps, digest,
 * foreign components kept), resolveCalendar, and the auth ports (basic / bearer, origin-bound).
 */
import { parseIcs } from '../../core/ics/parse';
import { componentFor, createCalDavHttpPort, parseMultistatus, parseResource, parseXml, resolveCalendar, resourceName, serializeResource, XmlError, CalDavCalendarProvider } from '../../providers/caldav';
import type { CalDavCalendar } from '../../providers/caldav';
import type { HttpPort, HttpRequest, HttpResponse } from '../../providers/port';
import { contentDigest } from '../../providers/ownership';
import { CalendarRelayCalDavApi } from '../../credentials/CalendarRelayCalDavApi.credentials';

describe('XML reader', () => {
  test('namespaces by prefix and default, entities, CDATA, comments', () => {
    const el = parseXml(`<?xml version="1.0"?><!-- hi --><d:multistatus xmlns:d="DAV:" xmlns="urn:x"><d:response><d:href>/a%20b/&amp;c.ics</d:href><thing a="1 &lt; 2"><![CDATA[<raw>&amp;]]>&#x41;&#66;</thing></d:response></d:multistatus>`);
    expect(el).toMatchObject({ ns: 'DAV:', name: 'multistatus' });
    const resp = el.children[0];
    expect(resp.children[0]).toMatchObject({ ns: 'DAV:', name: 'href', text: '/a%20b/&c.ics' });
    expect(resp.children[1]).toMatchObject({ ns: 'urn:x', name: 'thing', attrs: { a: '1 < 2' }, text: '<raw>&amp;AB' });
  });
  test.each([
    ['<a><b></a>', /does not match/],
    ['<a>', /unclosed element/],
    ['<x:a/>', /undeclared namespace prefix "x"/],
    ['<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>', /DTDs/],
    ['<a>&bogus;</a>', /unknown entity/],
    ['<a/><b/>', /second root/],
    ['', /no root element/],
  ])('refuses %s', (xml, msg) => {
    expect(() => parseXml(xml)).toThrow(XmlError);
    expect(() => parseXml(xml)).toThrow(msg);
  });
  test('multistatus: props by propstat status, response status, sync-token', () => {
    const ms = parseMultistatus(`<D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
      <D:response><D:href>/cal/a.ics</D:href><D:propstat><D:prop><D:getetag>"1"</D:getetag><C:calendar-data>BEGIN:VCALENDAR&#13;
END:VCALENDAR</C:calendar-data></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>
      <D:propstat><D:prop><D:displayname/></D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat></D:response>
      <D:response><D:href>/cal/gone.ics</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response>
      <D:sync-token>http://x/sync/7</D:sync-token></D:multistatus>`);
    expect(ms.syncToken).toBe('http://x/sync/7');
    expect(ms.responses[0].props.get('{DAV:}getetag')!.text).toBe('"1"');
    expect(ms.responses[0].props.get('{urn:ietf:params:xml:ns:caldav}calendar-data')!.text).toBe('BEGIN:VCALENDAR\r\nEND:VCALENDAR');
    expect([...ms.responses[0].missing]).toEqual(['{DAV:}displayname']);
    expect(ms.responses[1]).toMatchObject({ href: '/cal/gone.ics', status: 404 });
  });
});

const ICS = `BEGIN:VCALENDAR
VERSION:2.0
BEGIN:VEVENT
UID:s@x
DTSTART;TZID=Europe/Berlin:20260302T140000
DTEND;TZID=Europe/Berlin:20260302T150000
RRULE:FREQ=WEEKLY;COUNT=4
SUMMARY:Series
X-KALTURA-ENTRY-ID:0_abc
X-CALENDAR-RELAY-SYNC-ID:spoofed
END:VEVENT
BEGIN:VEVENT
UID:s@x
RECURRENCE-ID;TZID=Europe/Berlin:20260309T140000
DTSTART;TZID=Europe/Berlin:20260309T160000
DTEND;TZID=Europe/Berlin:20260309T170000
SUMMARY:Moved
END:VEVENT
END:VCALENDAR
`;

describe('resources', () => {
  const [master, override] = parseIcs(ICS, { sourceId: 'src' }).events;
  const key = 'k1 src u:s%40x';
  const name = resourceName('sync', key);
  const now = Date.UTC(2026, 2, 1);

  test('no ORGANIZER or ATTENDEE is written (a scheduling server would invite the feed\'s people from the room)', () => {
    const withPeople = { ...master, organizer: { email: 'lecturer@uni.example', name: 'Lecturer' }, attendees: [{ email: 'student@uni.example', name: 'Student' }, { email: 'room1@uni.example', type: 'ROOM' as const }] };
    const text = serializeResource({ components: [componentFor(name, withPeople, { syncId: 'sync', sourceKey: key, fingerprint: 'f1-m' }, now)], timezones: new Map(), others: [] });
    expect(text).toMatch(/^SUMMARY:/m);
    expect(text).not.toMatch(/^(ORGANIZER|ATTENDEE)[;:]/m);
  });

  test('stamps per component, derived UID, source UID restored, spoofed stamps from the source dropped', () => {
    const m = componentFor(name, master, { syncId: 'sync', sourceKey: key, fingerprint: 'f1-m' }, now);
    const o = componentFor(name, override, { syncId: 'sync', sourceKey: `${key} r:20260309T130000Z`, fingerprint: 'f1-o' }, now);
    expect(o.rid).toBe('20260309T130000Z');
    const text = serializeResource({ components: [o, m], timezones: new Map(), others: [] });
    expect(text.match(/^UID:/gm)).toHaveLength(2);
    expect(new Set(text.match(/^UID:.*$/gm))).toEqual(new Set([`UID:${name.replace('.ics', '')}@calendar-relay`]));
    expect(text.indexOf('RRULE:FREQ=WEEKLY')).toBeLessThan(text.indexOf('RECURRENCE-ID')); // master first
    expect(text).not.toContain('spoofed');
    expect(text).toContain('BEGIN:VTIMEZONE');
    const back = parseResource(text);
    expect(back.components.map((c) => [c.rid, c.stamp?.sourceKey, c.event?.uid, c.edited])).toEqual([
      ['', key, 's@x', undefined],
      ['20260309T130000Z', `${key} r:20260309T130000Z`, 's@x', undefined],
    ]);
    // The stamp's digest is the engine's contentDigest of the event as written (providers/ownership.ts).
    expect(back.components[0].stamp!.digest).toBe(contentDigest(master, 'UTC'));
    expect(back.components[1].stamp!.digest).toBe(contentDigest(override, 'UTC'));
    expect(back.components[0].event!.xProps).toEqual([{ name: 'X-KALTURA-ENTRY-ID', value: '0_abc' }]);
  });

  test('a changed SUMMARY or an added EXDATE is seen as an edit; reordered properties are not', () => {
    const m = componentFor(name, master, { syncId: 'sync', sourceKey: key, fingerprint: 'f1-m' }, now);
    const text = serializeResource({ components: [m], timezones: new Map(), others: [] });
    const reordered = text.replace(/(SUMMARY:Series\r\n)([\s\S]*?)(END:VEVENT)/, '$2$1$3');
    expect(reordered).not.toBe(text);
    expect(parseResource(reordered).components[0].edited).toBeUndefined();
    expect(parseResource(text.replace('SUMMARY:Series', 'SUMMARY:Mine')).components[0].edited).toEqual(['title']);
    expect(parseResource(text.replace(/(RRULE:FREQ=WEEKLY[^\r\n]+\r\n)/, '$1EXDATE;TZID=Europe/Berlin:20260316T140000\r\n')).components[0].edited).toEqual(['recurrence']);
  });

  test('a server re-serialising an X- value as TEXT (Radicale, Xandikos escape `;`) is no edit', () => {
    const withSemicolon = { ...master, xProps: [{ name: 'X-KALTURA-CATEGORY', value: 'Lectures;Physics' }] };
    const m = componentFor(name, withSemicolon, { syncId: 'sync', sourceKey: key, fingerprint: 'f1-m' }, now);
    const text = serializeResource({ components: [m], timezones: new Map(), others: [] });
    const stored = text.replace('X-KALTURA-CATEGORY:Lectures;Physics', 'X-KALTURA-CATEGORY:Lectures\\;Physics');
    expect(stored).not.toBe(text);
    const back = parseResource(stored).components[0];
    expect(back.edited).toBeUndefined();
    expect(back.stamp).toMatchObject({ fingerprint: 'f1-m', digest: contentDigest(withSemicolon, 'UTC') });
  });

  test('a digest this version does not read (older resources) is no evidence of an edit', () => {
    const m = componentFor(name, master, { syncId: 'sync', sourceKey: key, fingerprint: 'f1-m' }, now);
    const text = serializeResource({ components: [m], timezones: new Map(), others: [] }).replace(/X-CALENDAR-RELAY-DIGEST:[^\r\n]+/, 'X-CALENDAR-RELAY-DIGEST:f1-0123').replace('SUMMARY:Series', 'SUMMARY:Mine');
    expect(parseResource(text).components[0].edited).toBeUndefined();
  });

  test('rewriting keeps components and zones that are not ours', () => {
    const m = componentFor(name, master, { syncId: 'sync', sourceKey: key, fingerprint: 'f1-m' }, now);
    const personOverride = ['BEGIN:VEVENT', 'UID:x', 'RECURRENCE-ID;TZID=Custom/Zone:20260316T140000', 'DTSTART;TZID=Custom/Zone:20260316T180000', 'SUMMARY:my change', 'END:VEVENT'];
    const tz = ['BEGIN:VTIMEZONE', 'TZID:Custom/Zone', 'BEGIN:STANDARD', 'DTSTART:19700101T000000', 'TZOFFSETFROM:+0100', 'TZOFFSETTO:+0100', 'END:STANDARD', 'END:VTIMEZONE'];
    const base = serializeResource({ components: [m], timezones: new Map(), others: [['BEGIN:VTODO', 'UID:t', 'END:VTODO']] });
    const parsed = parseResource(base.replace('CALSCALE:GREGORIAN\r\n', `CALSCALE:GREGORIAN\r\n${tz.join('\r\n')}\r\n`).replace('END:VCALENDAR', `${personOverride.join('\r\n')}\r\nEND:VCALENDAR`));
    expect(parsed.components.map((c) => !!c.stamp)).toEqual([true, false]);
    const again = serializeResource(parsed);
    expect(again).toContain('SUMMARY:my change');
    expect(again).toContain('TZID:Custom/Zone');
    expect(again).toContain('BEGIN:VTODO');
  });
});

describe('resolveCalendar', () => {
  const cals: CalDavCalendar[] = [
    { url: 'https://dav.example/cal/u/room-a/', displayName: 'Room A', components: ['VEVENT'] },
    { url: 'https://dav.example/cal/u/room-b/', displayName: 'Room B', components: ['VEVENT'] },
    { url: 'https://dav.example/cal/u/dup1/', displayName: 'Dup', components: [] },
    { url: 'https://dav.example/cal/u/dup2/', displayName: 'Dup', components: [] },
  ];
  test('by name (exact, then case-insensitive), by URL or path; ambiguous and unknown names are named in the error', () => {
    expect(resolveCalendar(cals, 'Room A', 'https://dav.example/').url).toBe(cals[0].url);
    expect(resolveCalendar(cals, 'room b', 'https://dav.example/').url).toBe(cals[1].url);
    expect(resolveCalendar(cals, '/cal/u/room-b', 'https://dav.example/').url).toBe(cals[1].url);
    expect(() => resolveCalendar(cals, 'Dup', 'https://dav.example/')).toThrow(/2 calendars have that name .*dup1.*dup2/);
    expect(() => resolveCalendar(cals, 'Room C', 'https://dav.example/')).toThrow(/"Room C": no calendar with that name; found "Room A", "Room B"/);
    expect(() => resolveCalendar(cals, 'https://dav.example/cal/u/none/', 'https://dav.example/')).toThrow(/no such calendar/);
  });
});

describe('auth ports', () => {
  const recorder = () => {
    const seen: Array<{ url: string; auth?: string }> = [];
    const f = (async (url: string, init: { headers: Record<string, string> }) => {
      seen.push({ url, auth: init.headers.authorization });
      return new Response('ok', { status: 200 });
    }) as unknown as typeof fetch;
    return { seen, f };
  };
  test('basic: RFC 7617 header to the server origin only', async () => {
    const { seen, f } = recorder();
    const port = createCalDavHttpPort({ baseUrl: 'https://dav.example/remote.php/dav/', auth: { type: 'basic', username: 'anna', password: 'äpp pässword' }, fetch: f });
    await port({ method: 'PROPFIND', url: 'https://dav.example/remote.php/dav/' });
    await port({ method: 'GET', url: 'https://elsewhere.example/x' });
    expect(seen[0].auth).toBe(`Basic ${Buffer.from('anna:äpp pässword').toString('base64')}`);
    expect(seen[1].auth).toBeUndefined();
    expect(() => createCalDavHttpPort({ baseUrl: 'https://dav.example/', auth: { type: 'basic', username: 'a:b', password: 'x' } })).toThrow(/must not contain ":"/);
  });
  test('bearer: token header, same origin rule', async () => {
    const { seen, f } = recorder();
    const port = createCalDavHttpPort({ baseUrl: 'https://dav.example/', auth: { type: 'bearer', token: 'tok123' }, fetch: f });
    await port({ method: 'REPORT', url: 'https://dav.example/cal/' });
    await port({ method: 'GET', url: 'https://other.example/' });
    expect(seen.map((s) => s.auth)).toEqual(['Bearer tok123', undefined]);
  });
});

describe('provider over a scripted server', () => {
  test('a 401 is an auth error that stops everything; edited components are listed with the edited marker', async () => {
    const m = componentFor('cr-x.ics', parseIcs(ICS).events[0], { syncId: 's', sourceKey: 'k1 - u:s%40x', fingerprint: 'f1-1' }, 0);
    const body = serializeResource({ components: [m], timezones: new Map(), others: [] }).replace('SUMMARY:Series', 'SUMMARY:Edited');
    const name = resourceName('s', 'k1 - u:s%40x');
    const calls: HttpRequest[] = [];
    const http: HttpPort = async (req) => {
      calls.push(req);
      if (req.url.includes('denied')) return { status: 401, headers: {}, body: '' };
      const xml = `<D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:response><D:href>/cal/${name}</D:href><D:propstat><D:prop><D:getetag>"e1"</D:getetag><C:calendar-data>${body.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</C:calendar-data></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>`;
      return { status: 207, headers: {}, body: xml };
    };
    const p = new CalDavCalendarProvider({ http, readRetry: false });
    const owned = await p.listOwned('https://dav.example/cal/', 's', { from: 0, to: Date.UTC(2030, 0, 1) });
    expect(owned).toHaveLength(1);
    // The merged engine's mechanism: the stamp as written (fingerprint kept) and the edited fields.
    expect(owned[0]).toMatchObject({ id: `/cal/${name}`, etag: '"e1"', stamp: { fingerprint: 'f1-1', digest: expect.stringMatching(/^d1 /) }, edited: ['title'] });
    expect(owned[0].copy).toBeUndefined();
    expect(calls[0].body).toContain('<C:time-range start="19700101T000000Z" end="20300101T000000Z"/>');
    await expect(p.listOwned('https://dav.example/denied/', 's', { from: 0, to: 1 })).rejects.toMatchObject({ scope: 'auth', status: 401 });
  });
});

describe('listEvents with expandSeries over a scripted server', () => {
  // Stored: a weekly Berlin series (4 instances), the third excluded, the fourth moved by 2 hours.
  const STORED = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//EN',
    'BEGIN:VEVENT', 'UID:s1', 'DTSTAMP:20260301T000000Z', 'DTSTART;TZID=Europe/Berlin:20260302T140000', 'DTEND;TZID=Europe/Berlin:20260302T150000', 'RRULE:FREQ=WEEKLY;COUNT=4', 'EXDATE;TZID=Europe/Berlin:20260316T140000', 'SUMMARY:Seminar', 'END:VEVENT',
    'BEGIN:VEVENT', 'UID:s1', 'DTSTAMP:20260301T000000Z', 'RECURRENCE-ID;TZID=Europe/Berlin:20260323T140000', 'DTSTART;TZID=Europe/Berlin:20260323T160000', 'DTEND;TZID=Europe/Berlin:20260323T170000', 'SUMMARY:Moved', 'END:VEVENT',
    'END:VCALENDAR', ''].join('\r\n');
  // What RFC 4791 §9.6.5 asks of a server (sabre/dav does it): one VEVENT per instance, in UTC.
  const inst = (rid: string, start: string, end: string, title: string) => ['BEGIN:VEVENT', 'UID:s1', 'DTSTAMP:20260301T000000Z', `RECURRENCE-ID:${rid}`, `DTSTART:${start}`, `DTEND:${end}`, `SUMMARY:${title}`, 'END:VEVENT'];
  const EXPANDED = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//EN',
    ...inst('20260302T130000Z', '20260302T130000Z', '20260302T140000Z', 'Seminar'),
    ...inst('20260309T130000Z', '20260309T130000Z', '20260309T140000Z', 'Seminar'),
    ...inst('20260323T130000Z', '20260323T150000Z', '20260323T160000Z', 'Moved'),
    'END:VCALENDAR', ''].join('\r\n');
  // Xandikos 0.2.8's shape: DTSTART moved, the master's DTEND kept.
  const BROKEN = EXPANDED.replace('DTEND:20260309T140000Z', 'DTEND:20260302T140000Z');
  const WINDOW = { from: Date.UTC(2026, 2, 1), to: Date.UTC(2026, 3, 1) };
  const ms = (data: string) => `<D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:response><D:href>/cal/s1.ics</D:href><D:propstat><D:prop><D:getetag>"e1"</D:getetag><C:calendar-data>${data.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</C:calendar-data></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>`;
  function server(expand: 'good' | 'broken' | 'ignored' | 500) {
    const calls: string[] = [];
    const http: HttpPort = async (req): Promise<HttpResponse> => {
      const asksExpand = /<C:expand /.test(String(req.body ?? ''));
      calls.push(`${req.method}${asksExpand ? ' expand' : ''}`);
      if (req.method === 'GET') return { status: 200, headers: { etag: '"e1"' }, body: STORED };
      if (!asksExpand || expand === 'ignored') return { status: 207, headers: {}, body: ms(STORED) };
      if (expand === 500) return { status: 500, headers: {}, body: 'Server got itself in trouble' };
      return { status: 207, headers: {}, body: ms(expand === 'good' ? EXPANDED : BROKEN) };
    };
    return { calls, provider: new CalDavCalendarProvider({ http, readRetry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 1 } }) };
  }
  const shape = (ts: Array<{ id: string; event: { title: string; start: object; recurrenceId?: object; recurrence?: object } }>) => ts.map((t) => [t.id, t.event.title, t.event.start, t.event.recurrence ?? null]);
  const byClient = [
    ['/cal/s1.ics#20260302T130000Z', 'Seminar', { dateTime: '2026-03-02T14:00:00', timeZone: 'Europe/Berlin' }, null],
    ['/cal/s1.ics#20260309T130000Z', 'Seminar', { dateTime: '2026-03-09T14:00:00', timeZone: 'Europe/Berlin' }, null],
    ['/cal/s1.ics#20260323T130000Z', 'Moved', { dateTime: '2026-03-23T16:00:00', timeZone: 'Europe/Berlin' }, null],
  ];

  test('the server\'s CALDAV:expand is used when it expanded (instances in UTC, one REPORT)', async () => {
    const { calls, provider } = server('good');
    expect(shape(await provider.listEvents('https://dav.example/cal/', WINDOW, { expandSeries: true }))).toEqual([
      ['/cal/s1.ics#20260302T130000Z', 'Seminar', { dateTime: '2026-03-02T13:00:00Z' }, null],
      ['/cal/s1.ics#20260309T130000Z', 'Seminar', { dateTime: '2026-03-09T13:00:00Z' }, null],
      ['/cal/s1.ics#20260323T130000Z', 'Moved', { dateTime: '2026-03-23T15:00:00Z' }, null],
    ]);
    expect(calls).toEqual(['REPORT expand']);
  });
  test('a resource the server left unexpanded (Radicale 3.1) is expanded here, from the same answer', async () => {
    const { calls, provider } = server('ignored');
    expect(shape(await provider.listEvents('https://dav.example/cal/', WINDOW, { expandSeries: true }))).toEqual(byClient);
    expect(calls).toEqual(['REPORT expand']);
  });
  test('an expansion that cannot be right (an end before its start) is thrown away: the resource is read and expanded here', async () => {
    const { calls, provider } = server('broken');
    expect(shape(await provider.listEvents('https://dav.example/cal/', WINDOW, { expandSeries: true }))).toEqual(byClient);
    expect(calls).toEqual(['REPORT expand', 'GET']);
  });
  test('a server that refuses expand (Xandikos 0.2.8: 500) is asked once, without retries, then never again for that calendar', async () => {
    const { calls, provider } = server(500);
    expect(shape(await provider.listEvents('https://dav.example/cal/', WINDOW, { expandSeries: true }))).toEqual(byClient);
    expect(calls).toEqual(['REPORT expand', 'REPORT']);
    expect(shape(await provider.listEvents('https://dav.example/cal/', WINDOW, { expandSeries: true }))).toEqual(byClient);
    expect(calls).toEqual(['REPORT expand', 'REPORT', 'REPORT']);
  });
  test('without expandSeries the series comes back as stored (master with its rule, the override)', async () => {
    const { calls, provider } = server('good');
    const stored = await provider.listEvents('https://dav.example/cal/', WINDOW);
    expect(stored.map((t) => [t.id, t.event.title, !!t.event.recurrence?.rrule?.length])).toEqual([['/cal/s1.ics', 'Seminar', true], ['/cal/s1.ics#20260323T130000Z', 'Moved', false]]);
    expect(calls).toEqual(['REPORT']);
  });
});

describe('n8n credential CalendarRelayCalDavApi', () => {
  test('basic and bearer headers; the test request is a PROPFIND of the base URL', async () => {
    const c = new CalendarRelayCalDavApi();
    const basic = await c.authenticate({ authType: 'basic', username: 'anna', password: 'pä ss', baseUrl: 'https://x/' }, { url: 'https://x/', headers: { Depth: '0' } });
    expect(basic.headers).toEqual({ Depth: '0', Authorization: `Basic ${Buffer.from('anna:pä ss').toString('base64')}` });
    const bearer = await c.authenticate({ authType: 'bearer', token: 't1', baseUrl: 'https://x/' }, { url: 'https://x/' });
    expect(bearer.headers).toEqual({ Authorization: 'Bearer t1' });
    expect(c.test.request).toMatchObject({ method: 'PROPFIND', url: '={{$credentials.baseUrl}}' });
  });
});
