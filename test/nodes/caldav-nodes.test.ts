/**
 * Room Sync and Calendar Event on provider "caldav", in-process (n8n-core WorkflowExecute) against
 * REAL Radicale and Xandikos (test/caldav/servers.ts starts them): the nodes reach the servers only
 * through n8n's request helpers with the calendarRelayCalDavApi credential.
 *
 * Room Sync: rooms by display name and by URL; first sync creates, a re-sync writes nothing
 * (resources and ETags unchanged), an event that left the source is deleted, a person's own event
 * in the same calendar stays byte for byte. Calendar Event: create + get + getMany + update +
 * delete on a calendar named by display name; a person's event is refused for update and delete;
 * Get Many with and without Expand Series.
 * List search: the calendars CalDAV discovery finds, by display name, valued by URL.
 * Room Sync's incremental listing: the sync-token and snapshot in the node's static data, seen
 * through a counting proxy in front of the server (sync-collection on later runs, no
 * calendar-query; a token the server refuses → full listing, still correct).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IDataObject } from 'n8n-workflow';
import { runNode, TestCredentials } from './harness';
import { StaticDataStore } from '../../nodes/RoomSync/listing-state';
import { searchCalendars } from '../../nodes/shared/target';
import { calDavHttpPort } from '../../nodes/shared/transport';
import { fetchTransport } from '../../providers/http';
import { CalendarRelayCalDavApi } from '../../credentials/CalendarRelayCalDavApi.credentials';
import { caldavServersWanted, CalDavTestServer, SERVER_NAMES, type ServerName } from '../caldav/servers';

const CRED = 'calendarRelayCalDavApi';

function day(n: number): string {
  return new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '');
}

function ev(uid: string, room: string, d = 3, title = `Lecture ${uid}`) {
  const date = `${day(d).slice(0, 4)}-${day(d).slice(4, 6)}-${day(d).slice(6)}`;
  return { uid, sourceId: 'ckalender', title, start: { dateTime: `${date}T09:00:00`, timeZone: 'Europe/Berlin' }, end: { dateTime: `${date}T10:00:00`, timeZone: 'Europe/Berlin' }, rooms: [room] };
}

const personIcs = (uid: string) =>
  `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//person//EN\r\nBEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20261120T000000Z\r\nDTSTART:${day(3)}T080000Z\r\nDTEND:${day(3)}T090000Z\r\nSUMMARY:Booked by a person\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`;

/** A pass-through proxy in front of a CalDAV server that logs each request's kind (REPORT by its body). */
async function countingProxy(target: string): Promise<{ url: string; log: string[]; close: () => Promise<void> }> {
  const log: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const text = body.toString('utf8');
      const report = /sync-collection/.test(text) ? 'sync-collection' : /calendar-multiget/.test(text) ? 'multiget' : /calendar-query/.test(text) ? 'calendar-query' : 'other';
      log.push(req.method === 'REPORT' ? `REPORT ${report}` : String(req.method));
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive'].includes(k)) headers[k] = v;
      fetch(new URL(req.url ?? '/', target), { method: req.method, headers, ...(body.length ? { body } : {}), redirect: 'manual' })
        .then(async (r) => {
          const out: Record<string, string> = {};
          r.headers.forEach((v, k) => {
            if (!['content-encoding', 'content-length', 'transfer-encoding', 'connection'].includes(k)) out[k] = v;
          });
          res.writeHead(r.status, out);
          res.end(Buffer.from(await r.arrayBuffer()));
        })
        .catch((err: Error) => {
          res.writeHead(502);
          res.end(err.message);
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, log, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const actions = (items: Array<{ json: Record<string, unknown> }>) => items.filter((i) => i.json.action).map((i) => `${String(i.json.action)} ${String(i.json.calendarId)} ${String(i.json.title ?? i.json.key)}`).sort();
const summary = (items: Array<{ json: Record<string, unknown> }>) => items.find((i) => i.json.summary)!.json;

describe('the nodes\' CalDAV port', () => {
  test('authenticates only requests to the base URL\'s origin; WebDAV methods pass through', async () => {
    const seen: string[] = [];
    const answer = { statusCode: 207, headers: {}, body: '<multistatus/>' };
    const ctx = {
      getNode: () => ({ name: 'x' }) as never,
      helpers: {
        httpRequest: async (o: { method: string; url: string }) => (seen.push(`plain ${o.method} ${o.url}`), answer),
        httpRequestWithAuthentication: async (type: string, o: { method: string; url: string }) => (seen.push(`${type} ${o.method} ${o.url}`), answer),
      },
    };
    const http = calDavHttpPort(ctx as never, 'https://cloud.example.org/remote.php/dav');
    expect(await http({ method: 'PROPFIND', url: 'https://cloud.example.org/remote.php/dav/calendars/a/' })).toMatchObject({ status: 207, body: '<multistatus/>' });
    await http({ method: 'REPORT', url: 'https://p07-caldav.example.net/123/calendars/home/' });
    await http({ method: 'GET', url: 'http://cloud.example.org/remote.php/dav/x.ics' }); // other scheme = other origin
    expect(seen).toEqual([
      `${CRED} PROPFIND https://cloud.example.org/remote.php/dav/calendars/a/`,
      'plain REPORT https://p07-caldav.example.net/123/calendars/home/',
      'plain GET http://cloud.example.org/remote.php/dav/x.ics',
    ]);
  });
});

describe('Room Sync\'s CalDAV listing state in static data', () => {
  test('a snapshot over the size cap is not kept (that calendar is listed in full), and state no calendar of the run used is dropped', () => {
    const data: Record<string, unknown> = { 'caldav:https://x/a/:s': 'old-a', 'caldav:https://x/b/:s': 'old-b', other: 'kept' };
    const store = new StaticDataStore(data as never, 10);
    expect(store.get('caldav:https://x/a/:s')).toBe('old-a');
    store.set('caldav:https://x/a/:s', '0123456789');
    store.set('caldav:https://x/c/:s', '0123456789X'); // 11 chars > 10
    expect(store.dropped).toEqual(['caldav:https://x/c/:s']);
    store.prune();
    expect(data).toEqual({ 'caldav:https://x/a/:s': '0123456789', other: 'kept' });
  });
});

const describeServers = caldavServersWanted() ? describe.each(SERVER_NAMES.map((n) => [n])) : describe.skip.each(SERVER_NAMES.map((n) => [n]));

describeServers('CalDAV nodes on a real %s', (name) => {
  let server: CalDavTestServer;
  let creds: TestCredentials;
  let hall: string;
  let seminar: string;
  beforeAll(async () => {
    server = await CalDavTestServer.start(name as ServerName);
    hall = await server.mkcalendar('hall-1', 'Lecture Hall 1');
    seminar = await server.mkcalendar('seminar-4', 'Seminar Room 4');
    creds = new TestCredentials();
    const a = server.auth;
    creds.set(CRED, { baseUrl: server.url, authType: 'basic', username: a.type === 'basic' ? a.username : '', password: a.type === 'basic' ? a.password : '' });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  test('Room Sync: first sync, no-op re-sync with 0 writes, removal deletes; a person\'s event untouched', async () => {
    const personal = new URL('personal.ics', hall).href;
    expect((await server.put(personal, personIcs('mine@person'))).status).toBe(201);
    const personalBefore = await server.get(personal);
    const parameters = {
      provider: 'caldav', syncId: 'ckalender-rooms', inputFormat: 'events', targetMode: 'mapping', routeBy: 'rooms', routeMatch: 'exact',
      // One room by display name, one by URL path on the server.
      roomMap: { room: [{ value: 'HS 1', calendar: 'Lecture Hall 1' }, { value: 'SR 4', calendar: new URL(seminar).pathname }] },
    };
    const sync = (input: object[]) => runNode({ type: 'roomSync', creds, credentials: [CRED], input: input as never, parameters });

    const input = [ev('a', 'HS 1'), ev('b', 'SR 4'), ev('c', 'HS 1', 4)];
    const first = await sync(input);
    expect(first.error).toBeUndefined();
    expect(actions(first.items)).toEqual([`created ${hall} Lecture a`, `created ${hall} Lecture c`, `created ${seminar} Lecture b`]);
    expect(summary(first.items)).toMatchObject({ ok: true, written: { created: 3, updated: 0, deleted: 0 } });
    const hallAfterFirst = await server.resources(hall);
    expect(hallAfterFirst.size).toBe(3); // a, c and the person's
    expect([...hallAfterFirst.values()].filter((t) => t.includes('SUMMARY:Lecture ')).length).toBe(2);
    expect((await server.resources(seminar)).size).toBe(1);
    const etags = async () => Promise.all([...hallAfterFirst.keys()].map(async (u) => (await server.get(u)).etag));
    const etagsBefore = await etags();

    const second = await sync(input);
    expect(second.error).toBeUndefined();
    expect(actions(second.items).every((x) => x.startsWith('unchanged'))).toBe(true);
    expect(summary(second.items)).toMatchObject({ ok: true, written: { created: 0, updated: 0, deleted: 0 } });
    expect(await etags()).toEqual(etagsBefore);

    const third = await sync([ev('a', 'HS 1'), ev('b', 'SR 4')]);
    expect(third.error).toBeUndefined();
    expect(actions(third.items)).toEqual([`deleted ${hall} k1 ckalender u:c`, `unchanged ${hall} k1 ckalender u:a`, `unchanged ${seminar} k1 ckalender u:b`]);
    expect(summary(third.items)).toMatchObject({ ok: true, written: { created: 0, updated: 0, deleted: 1 } });
    const hallNow = await server.resources(hall);
    expect([...hallNow.values()].filter((t) => t.includes('SUMMARY:Lecture ')).map((t) => /SUMMARY:(.*)\r\n/.exec(t)![1])).toEqual(['Lecture a']);
    const personalAfter = await server.get(personal);
    expect(personalAfter.status).toBe(200);
    expect(personalAfter.body).toBe(personalBefore.body);
    expect(personalAfter.etag).toBe(personalBefore.etag);
  });

  test('Room Sync: an unknown calendar name stops the run with an error naming it, nothing written', async () => {
    const before = (await server.resources(hall)).size;
    const r = await runNode({
      type: 'roomSync', creds, credentials: [CRED], input: [ev('z', 'HS 1')],
      parameters: { provider: 'caldav', syncId: 'other', inputFormat: 'events', targetMode: 'single', calendar: { __rl: true, mode: 'id', value: 'Lecture Hall 9' } },
    });
    expect(r.error?.message).toMatch(/"Lecture Hall 9": no calendar with that name/);
    expect((await server.resources(hall)).size).toBe(before);
  });

  test('Calendar Event: create (calendar by display name) → get → getMany → update → delete; a person\'s event is refused', async () => {
    const target = { provider: 'caldav', calendar: { __rl: true, mode: 'id', value: 'Seminar Room 4' } };
    const from = `${day(9).slice(0, 4)}-${day(9).slice(4, 6)}-${day(9).slice(6)}`;
    const window = { timeMin: `${from}T00:00:00Z`, timeMax: new Date(Date.parse(`${from}T00:00:00Z`) + 3 * 86_400_000).toISOString() };
    const created = await runNode({
      type: 'calendarEvent', creds, credentials: [CRED], input: [{ t: 'Anatomy OSCE' }, { t: 'Biology' }],
      parameters: { ...target, operation: 'create', eventSource: 'fields', title: '={{ $json.t }}', start: `${from}T09:00:00`, end: `${from}T10:30:00`, additionalFields: { timeZone: 'Europe/Berlin', location: 'SR 4' } },
    });
    expect(created.error).toBeUndefined();
    expect(created.items.map((i) => [i.json.title, i.json.calendarId, i.pairedItem])).toEqual([['Anatomy OSCE', seminar, { item: 0 }], ['Biology', seminar, { item: 1 }]]);
    const first = created.items[0].json as { id: string };
    expect(first.id).toMatch(/\.ics$/);
    expect((await server.get(new URL(first.id, seminar).href)).body).toContain('SUMMARY:Anatomy OSCE');

    const got = await runNode({ type: 'calendarEvent', creds, credentials: [CRED], parameters: { ...target, operation: 'get', eventId: first.id } });
    expect(got.items[0].json).toMatchObject({ id: first.id, title: 'Anatomy OSCE', location: 'SR 4', start: { dateTime: `${from}T09:00:00`, timeZone: 'Europe/Berlin' } });

    const many = await runNode({ type: 'calendarEvent', creds, credentials: [CRED], parameters: { ...target, operation: 'getMany', ...window, returnMode: 'events', returnAll: true } });
    expect(many.error).toBeUndefined();
    expect(many.items.map((i) => i.json.title).sort()).toEqual(['Anatomy OSCE', 'Biology']);

    const countBefore = (await server.resources(seminar)).size;
    const updated = await runNode({ type: 'calendarEvent', creds, credentials: [CRED], parameters: { ...target, operation: 'update', eventId: first.id, eventSource: 'fields', title: 'Anatomy OSCE (resit)', start: '', end: '', additionalFields: {} } });
    expect(updated.error).toBeUndefined();
    expect(updated.items[0].json).toMatchObject({ id: first.id, title: 'Anatomy OSCE (resit)', location: 'SR 4' });
    expect((await server.resources(seminar)).size).toBe(countBefore); // rewritten in place: no copy made

    const deleted = await runNode({ type: 'calendarEvent', creds, credentials: [CRED], parameters: { ...target, operation: 'delete', eventId: first.id } });
    expect(deleted.error).toBeUndefined();
    expect(deleted.items[0].json).toMatchObject({ id: first.id, deleted: true });
    expect((await server.get(new URL(first.id, seminar).href)).status).toBe(404);

    // A person's own event: readable, but never changed by the node.
    const personal = new URL('person-2.ics', seminar).href;
    expect((await server.put(personal, personIcs('own@person'))).status).toBe(201);
    const before = await server.get(personal);
    const pid = new URL(personal).pathname;
    for (const operation of ['update', 'delete']) {
      const r = await runNode({ type: 'calendarEvent', creds, credentials: [CRED], parameters: { ...target, operation, eventId: pid, eventSource: 'fields', title: 'Hijacked', start: '', end: '', additionalFields: {} } });
      expect(r.error?.message).toMatch(/only events written by Calendar Relay/);
    }
    const after = await server.get(personal);
    expect([after.body, after.etag]).toEqual([before.body, before.etag]);
    expect([...(await server.resources(seminar)).values()].some((t) => t.includes('Hijacked'))).toBe(false);
  });

  test('Calendar Event Get Many: Expand Series gives one item per occurrence (EXDATE out, override in place, window clips); off gives the series as stored', async () => {
    const cal = await server.mkcalendar('lab-7', 'Lab 7');
    const d = (n: number) => `${day(n).slice(0, 4)}-${day(n).slice(4, 6)}-${day(n).slice(6)}`;
    const series = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//person//EN',
      'BEGIN:VEVENT', 'UID:daily@person', 'DTSTAMP:20261120T000000Z', `DTSTART;TZID=Europe/Berlin:${day(20)}T090000`, `DTEND;TZID=Europe/Berlin:${day(20)}T100000`, 'RRULE:FREQ=DAILY;COUNT=4', `EXDATE;TZID=Europe/Berlin:${day(21)}T090000`, 'SUMMARY:Lab course', 'END:VEVENT',
      'BEGIN:VEVENT', 'UID:daily@person', 'DTSTAMP:20261120T000000Z', `RECURRENCE-ID;TZID=Europe/Berlin:${day(22)}T090000`, `DTSTART;TZID=Europe/Berlin:${day(22)}T110000`, `DTEND;TZID=Europe/Berlin:${day(22)}T120000`, 'SUMMARY:Lab course (moved)', 'END:VEVENT',
      'END:VCALENDAR', ''].join('\r\n');
    const allDay = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//person//EN', 'BEGIN:VEVENT', 'UID:weekly@person', 'DTSTAMP:20261120T000000Z', `DTSTART;VALUE=DATE:${day(25)}`, `DTEND;VALUE=DATE:${day(26)}`, 'RRULE:FREQ=WEEKLY;COUNT=2', 'SUMMARY:Open lab', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
    expect((await server.put(new URL('daily.ics', cal).href, series)).status).toBe(201);
    expect((await server.put(new URL('weekly.ics', cal).href, allDay)).status).toBe(201);
    const getMany = (expandSeries: boolean) => runNode({
      type: 'calendarEvent', creds, credentials: [CRED],
      parameters: { provider: 'caldav', calendar: { __rl: true, mode: 'id', value: 'Lab 7' }, operation: 'getMany', timeMin: `${d(19)}T00:00:00Z`, timeMax: `${d(30)}T00:00:00Z`, expandSeries, returnMode: 'events', returnAll: true },
    });
    const expanded = await getMany(true);
    expect(expanded.error).toBeUndefined();
    const berlin = (n: number, h: string) => ({ dateTime: `${d(n)}T${h}:00:00`, timeZone: 'Europe/Berlin' });
    expect(expanded.items.map((i) => [i.json.title, i.json.start, i.json.recurrence ?? null])).toEqual([
      ['Lab course', berlin(20, '09'), null],
      ['Lab course (moved)', berlin(22, '11'), null],
      ['Lab course', berlin(23, '09'), null],
      ['Open lab', { date: d(25) }, null],
    ]);
    expect(expanded.items.map((i) => String(i.json.id))).toEqual(expect.arrayContaining([expect.stringMatching(/\/daily\.ics#\d{8}T\d{6}Z$/), expect.stringMatching(/\/weekly\.ics#\d{8}$/)]));
    // An occurrence that is no override has no resource part of its own: Get (and Update, Delete) say "not found", never act on the series.
    const plain = String(expanded.items[2].json.id);
    const got = await runNode({ type: 'calendarEvent', creds, credentials: [CRED], parameters: { provider: 'caldav', calendar: { __rl: true, mode: 'id', value: 'Lab 7' }, operation: 'get', eventId: plain } });
    expect(got.error?.message).toMatch(/not found/);
    const stored = await getMany(false);
    expect(stored.error).toBeUndefined();
    expect(stored.items.map((i) => [i.json.title, !!(i.json.recurrence as { rrule?: string[] } | undefined)?.rrule?.length]).sort()).toEqual([['Lab course', true], ['Lab course (moved)', false], ['Open lab', true]].sort());
  });

  test('Room Sync incremental listing: sync-collection from the node\'s static data on later runs; a refused token falls back to a full listing, still correct', async () => {
    const proxy = await countingProxy(server.url);
    try {
      const room = await server.mkcalendar('room-9', 'Room 9');
      const viaProxy = new URL(new URL(room).pathname, proxy.url).href;
      const pcreds = new TestCredentials();
      pcreds.set(CRED, { ...creds.data.get(CRED)!, baseUrl: proxy.url });
      const staticData: IDataObject = {};
      const run = async (input: object[], options: IDataObject = {}) => {
        proxy.log.length = 0;
        const r = await runNode({
          type: 'roomSync', creds: pcreds, credentials: [CRED], input: input as never, staticData,
          parameters: { provider: 'caldav', syncId: 'rooms-inc', inputFormat: 'events', targetMode: 'single', calendar: { __rl: true, mode: 'id', value: 'Room 9' }, options },
        });
        expect(r.error).toBeUndefined();
        const reports = proxy.log.filter((l) => l.startsWith('REPORT') || l === 'GET');
        return { r, reports, writes: proxy.log.filter((l) => l === 'PUT' || l === 'DELETE').length };
      };
      const input = [ev('p', 'R9'), ev('q', 'R9', 4), ev('r', 'R9', 5)];
      const state = () => staticData['node:Under Test'] as IDataObject;
      const key = `caldav:${viaProxy}:rooms-inc`;

      // First run: nothing kept yet → sync-token (PROPFIND) and a full calendar-query; 3 created.
      const first = await run(input);
      expect(summary(first.r.items)).toMatchObject({ ok: true, written: { created: 3 } });
      expect(first.reports).toEqual(['REPORT calendar-query']);
      expect(JSON.parse(String(state()[key]))).toMatchObject({ v: 1, token: expect.any(String) });

      // Second run: one sync-collection; the 3 resources written since come with it (Xandikos names
      // them without data: one multiget). Nothing to write.
      const second = await run(input);
      expect(summary(second.r.items)).toMatchObject({ ok: true, written: { created: 0, updated: 0, deleted: 0 } });
      expect(second.reports).toEqual(name === 'xandikos' ? ['REPORT sync-collection', 'REPORT multiget'] : ['REPORT sync-collection']);
      expect(second.writes).toBe(0);

      // Third run: nothing changed → one sync-collection and nothing else.
      const third = await run(input);
      expect(third.reports).toEqual(['REPORT sync-collection']);
      expect(actions(third.r.items).every((a) => a.startsWith('unchanged'))).toBe(true);

      // An event left the source: deleted, still incrementally.
      const fourth = await run(input.slice(0, 2));
      expect(fourth.reports).toEqual(['REPORT sync-collection']);
      expect(summary(fourth.r.items)).toMatchObject({ ok: true, written: { created: 0, updated: 0, deleted: 1 } });
      const titles = async () => [...(await server.resources(room)).values()].map((t) => /SUMMARY:(.*)\r\n/.exec(t)![1]).sort();
      expect(await titles()).toEqual(['Lecture p', 'Lecture q']);

      // A token the server does not know (expired, another server): sync-collection refused → full listing; nothing written twice.
      const snap = JSON.parse(String(state()[key])) as { token: string };
      state()[key] = JSON.stringify({ ...snap, token: `${snap.token}-unknown` });
      const fifth = await run(input.slice(0, 2));
      expect(fifth.reports).toEqual(['REPORT sync-collection', 'REPORT calendar-query']);
      expect(summary(fifth.r.items)).toMatchObject({ ok: true, written: { created: 0, updated: 0, deleted: 0 } });
      expect(fifth.writes).toBe(0);
      expect(await titles()).toEqual(['Lecture p', 'Lecture q']);
      expect(JSON.parse(String(state()[key])).token).not.toBe(`${snap.token}-unknown`);
      // … and the run after it is incremental again.
      expect((await run(input.slice(0, 2))).reports).toEqual(['REPORT sync-collection']);

      // Listing set to full: a calendar-query every run, and the kept state is dropped.
      const full = await run(input.slice(0, 2), { caldavListing: 'full' });
      expect(full.reports).toEqual(['REPORT calendar-query']);
      expect(state()[key]).toBeUndefined();
    } finally {
      await proxy.close();
    }
  });

  test('list search: the calendars discovery finds, by display name, valued by URL (credential applied by its authenticate)', async () => {
    const params: Record<string, unknown> = { provider: 'caldav' };
    const transport = fetchTransport();
    const send = async (o: { method: string; url: string; headers?: Record<string, string>; body?: string }) => {
      const res = await transport({ method: o.method as 'GET', url: o.url, headers: o.headers ?? {}, body: o.body });
      return { statusCode: res.status, headers: res.headers, body: res.body };
    };
    const credType = new CalendarRelayCalDavApi();
    const ctx = {
      getNode: () => ({ name: 'x' }),
      getCurrentNodeParameter: (n: string) => params[n],
      getNodeParameter: (n: string) => params[n],
      getCredentials: async (type: string) => creds.data.get(type)!,
      helpers: {
        httpRequest: send,
        httpRequestWithAuthentication: async (type: string, o: never) => {
          expect(type).toBe(CRED);
          return send((await credType.authenticate(creds.data.get(CRED)!, o)) as never);
        },
      },
    };
    const all = await searchCalendars.call(ctx as never);
    expect(all.results.map((r) => [r.name, r.value]).sort()).toEqual(expect.arrayContaining([['Lecture Hall 1', hall], ['Seminar Room 4', seminar]]));
    const filtered = await searchCalendars.call(ctx as never, 'seminar');
    expect(filtered.results.map((r) => r.value)).toEqual([seminar]);
  });
});
