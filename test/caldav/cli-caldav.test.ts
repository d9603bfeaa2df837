/**
 * `target.provider: caldav` from relay.yaml: the config is validated with named errors, and
 * `calendar-relay sync` runs end to end against real Radicale and Xandikos with room calendars
 * named by display name and by URL: first sync creates, a re-run writes nothing, a removed event
 * is deleted, a person's own booking stays.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli';
import { parseConfig } from '../../cli/config';
import { caldavServersWanted, CalDavTestServer, SERVER_NAMES } from './servers';

const NOW = Date.UTC(2026, 10, 22, 8, 0, 0);

function vevent(uid: string, title: string, day: number, location: string): string {
  const d = `202612${String(day).padStart(2, '0')}`;
  return `BEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20261120T000000Z\r\nDTSTART;TZID=Europe/Berlin:${d}T090000\r\nDTEND;TZID=Europe/Berlin:${d}T100000\r\nSUMMARY:${title}\r\nLOCATION:${location}\r\nEND:VEVENT\r\n`;
}
const ics = (...events: string[]) => `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n${events.join('')}END:VCALENDAR\r\n`;

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: (t) => void (out += t), stderr: (t) => void (err += t), now: () => NOW });
  return { code, out, err };
}

describe('relay.yaml target.provider: caldav', () => {
  const base = (target: string) => `syncId: s\ntarget:\n${target}\nsources:\n  - { id: a, file: a.ics }\nrouting: { target: Room 1 }\n`;
  test('accepted with basic auth, bearer token or none; listMode', () => {
    const c = parseConfig(base('  provider: caldav\n  baseUrl: https://cloud.example/remote.php/dav\n  listMode: incremental\n  auth: { username: anna, password: "${PW}" }'), { file: '/x/relay.yaml', env: { PW: 'app-pass' } });
    expect(c.target).toEqual({ provider: 'caldav', baseUrl: 'https://cloud.example/remote.php/dav', listMode: 'incremental', auth: { kind: 'basic', username: 'anna', password: 'app-pass' } });
    expect(parseConfig(base('  provider: caldav\n  baseUrl: https://x.example/\n  auth: { bearerToken: t0k }'), { file: '/x/r.yaml', env: {} }).target).toMatchObject({ auth: { kind: 'bearer', token: 't0k' } });
    expect(parseConfig(base('  provider: caldav\n  baseUrl: http://127.0.0.1:5232/\n  auth: { none: true }'), { file: '/x/r.yaml', env: {} }).target).toMatchObject({ auth: { kind: 'none' } });
  });
  test.each([
    ['  provider: caldav\n  auth: { username: a, password: b }', /target.baseUrl: is required/],
    ['  provider: caldav\n  baseUrl: https://x.example/\n  auth: { username: a, password: b, bearerToken: t }', /target.auth: has username\/password and bearerToken: choose one/],
    ['  provider: caldav\n  baseUrl: https://x.example/\n  auth: { username: "a:b", password: c }', /target.auth.username: must not contain ":"/],
    ['  provider: caldav\n  baseUrl: https://x.example/\n  auth: { username: a }', /target.auth.password: is required/],
    ['  provider: caldav\n  baseUrl: https://x.example/\n  defaultTimeZone: Europe/Berlin\n  auth: { none: true }', /target.defaultTimeZone: is not a CalDAV setting/],
    ['  provider: caldav\n  baseUrl: https://x.example/', /target.auth: is required/],
  ])('refused with a named error: %s', (target, msg) => {
    expect(() => parseConfig(base(target), { file: '/x/r.yaml', env: {} })).toThrow(msg);
  });
});

const describeServers = caldavServersWanted() ? describe.each(SERVER_NAMES.map((n) => [n])) : describe.skip.each(SERVER_NAMES.map((n) => [n]));

describeServers('calendar-relay sync → CalDAV (%s)', (name) => {
  let server: CalDavTestServer;
  let dir: string;
  beforeAll(async () => {
    server = await CalDavTestServer.start(name as 'radicale' | 'xandikos');
    dir = await mkdtemp(join(tmpdir(), 'cli-caldav-'));
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('rooms by display name and by URL: create, re-run without writes, delete; a person\'s booking stays', async () => {
    const room1 = await server.mkcalendar('hall-1', 'Lecture Hall 1');
    const room2 = await server.mkcalendar('seminar-4', 'Seminar Room 4');
    const personal = new URL('personal.ics', room1).href;
    expect((await server.put(personal, ics(vevent('mine@person', 'Booked by a person', 1, 'Hall 1')))).status).toBe(201);
    await writeFile(join(dir, 'feed.ics'), ics(vevent('a1', 'Alpha', 1, 'Hall 1'), vevent('a2', 'Bravo', 2, 'Hall 1'), vevent('a3', 'Charlie', 3, 'Seminar 4')));
    const auth = server.auth.type === 'basic' ? `{ username: ${server.auth.username}, password: "\${CALDAV_PW}" }` : '{ none: true }';
    process.env.CALDAV_PW = server.auth.type === 'basic' ? server.auth.password : '';
    await writeFile(join(dir, 'relay.yaml'), `syncId: cli-caldav
target:
  provider: caldav
  baseUrl: ${server.url}
  auth: ${auth}
sources:
  - { id: local, file: feed.ics }
routing:
  by: location
  map:
    Hall 1: Lecture Hall 1
    Seminar 4: ${new URL(room2).pathname}
window: { pastDays: 7, futureDays: 365 }
`);
    const first = await run('sync', '--config', join(dir, 'relay.yaml'));
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(first.out).toContain('CalDAV');
    const titles = async (cal: string) => [...(await server.resources(cal)).values()].map((b) => /SUMMARY:([^\r\n]+)/.exec(b)![1]).sort();
    expect(await titles(room1)).toEqual(['Alpha', 'Booked by a person', 'Bravo']);
    expect(await titles(room2)).toEqual(['Charlie']);

    const again = await run('sync', '--config', join(dir, 'relay.yaml'), '--json');
    expect(again.code).toBe(0);
    const j = JSON.parse(again.out) as { rooms: Array<{ created: number; updated: number; deleted: number }> };
    expect(j.rooms.reduce((n, r) => n + r.created + r.updated + r.deleted, 0)).toBe(0);

    await writeFile(join(dir, 'feed.ics'), ics(vevent('a1', 'Alpha', 1, 'Hall 1'), vevent('a3', 'Charlie', 3, 'Seminar 4')));
    const third = await run('sync', '--config', join(dir, 'relay.yaml'));
    expect(third.code).toBe(0);
    expect(await titles(room1)).toEqual(['Alpha', 'Booked by a person']);

    // A room named by a display name that does not exist: a clear error naming it and the calendars found.
    await writeFile(join(dir, 'bad.yaml'), (await readFile(join(dir, 'relay.yaml'), 'utf8')).replace('Hall 1: Lecture Hall 1', 'Hall 1: Lecture Hall 9'));
    const bad = await run('sync', '--config', join(dir, 'bad.yaml'));
    expect(bad.code).not.toBe(0);
    expect(bad.err + bad.out).toMatch(/"Lecture Hall 9": no calendar with that name; found .*"Lecture Hall 1"/);
  });
});
