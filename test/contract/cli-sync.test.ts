/**
 * `calendar-relay sync` end to end, in-process through main([...]), against the emulator for both
 * providers (Google with a service account, Microsoft 365 with client credentials): first sync
 * creates, a re-run writes nothing, a removed event is deleted, --dry-run writes nothing, a
 * failing source deletes nothing, the empty-source guard stops with its override named, --json,
 * exit codes, and a person's own booking is never touched.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli';
import { startEmulator, type Emulator } from '../../emulator';
import { makeEmulatorCommand } from '../../cli/emulator-command';

const NOW = Date.UTC(2026, 10, 22, 8, 0, 0);
const started = Date.now();
const clock = () => NOW + (Date.now() - started);

const ROOM1 = 'room-1@rooms.example';
const ROOM2 = 'room-2@rooms.example';
const PERSONAL = 'Booked by a person';

let emu: Emulator;
let dir: string;
let server: Server;
let serverUrl: string;
let remote: { status: number; body: string };

function vevent(uid: string, title: string, day: number, location: string): string {
  const d = `202612${String(day).padStart(2, '0')}`;
  return `BEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20261120T000000Z\r\nDTSTART;TZID=Europe/Berlin:${d}T090000\r\nDTEND;TZID=Europe/Berlin:${d}T100000\r\nSUMMARY:${title}\r\nLOCATION:${location}\r\nEND:VEVENT\r\n`;
}
function ics(...events: string[]): string {
  return `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n${events.join('')}END:VCALENDAR\r\n`;
}
const LOCAL_EVENTS = [vevent('a1', 'Alpha', 1, 'Room 1'), vevent('a2', 'Bravo', 2, 'Room 1'), vevent('a3', 'Charlie', 3, 'Room 2')];

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: (t) => void (out += t), stderr: (t) => void (err += t), now: clock });
  return { code, out, err };
}

const WRITE_KINDS = ['google:insert', 'google:import', 'google:patch', 'google:update', 'google:delete', 'graph:create', 'graph:patch', 'graph:delete'];
const writes = () => WRITE_KINDS.reduce((n, k) => n + (emu.log.byKind[k] ?? 0), 0);

beforeAll(async () => {
  emu = await startEmulator({ now: clock, limits: true });
  dir = await mkdtemp(join(tmpdir(), 'cli-sync-'));
  server = createServer((_req, res) => {
    res.writeHead(remote.status, { 'content-type': 'text/calendar' });
    res.end(remote.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/remote.ics`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await emu.close();
  await rm(dir, { recursive: true, force: true });
});

interface Setup {
  config: string;
  /** A person copies / renames a synced event (by title) in the calendar UI. */
  copy(room: string, title: string): void;
  rename(room: string, title: string, to: string): void;
  /** Target events carrying a sync stamp, by room: titles. */
  owned(room: string): string[];
  personalPresent(): boolean;
}

async function setupGoogle(): Promise<Setup> {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  emu.google.registerServiceAccount('relay@test.iam.gserviceaccount.com', publicKey);
  await writeFile(join(dir, 'key.json'), JSON.stringify({ type: 'service_account', client_email: 'relay@test.iam.gserviceaccount.com', private_key: privateKey }));
  for (const r of [ROOM1, ROOM2]) emu.google.createCalendar(r, { timeZone: 'Europe/Berlin' });
  emu.google.seedEvent(ROOM1, { summary: PERSONAL, start: { dateTime: '2026-12-01T12:00:00Z' }, end: { dateTime: '2026-12-01T13:00:00Z' } });
  const live = (room: string) => emu.google.listRaw(room).filter((e) => e.status !== 'cancelled' && !e.recurringEventId);
  return {
    config: `
target:
  provider: google
  rootUrl: ${emu.url}/
  auth:
    serviceAccountKeyFile: key.json
    subject: admin@rooms.example
    tokenUrl: ${emu.url}/token
`,
    owned: (room) => live(room).filter((e) => e.extendedProperties?.private).map((e) => e.summary as string).sort(),
    personalPresent: () => live(ROOM1).some((e) => e.summary === PERSONAL),
    copy: (room, title) => void emu.google.copyEvent(room, live(room).find((e) => e.summary === title && e.extendedProperties)!.id as string),
    rename: (room, title, to) => void emu.google.editEvent(room, live(room).find((e) => e.summary === title && e.extendedProperties)!.id as string, { summary: to }),
  };
}

async function setupMicrosoft(): Promise<Setup> {
  emu.graph.registerApp('client-1', 'secret-1', 'tenant-1');
  for (const r of [ROOM1, ROOM2]) emu.graph.addRoom({ email: r, displayName: r });
  emu.graph.seedEvent(ROOM1, { subject: PERSONAL, start: { dateTime: '2026-12-01T12:00:00', timeZone: 'UTC' }, end: { dateTime: '2026-12-01T13:00:00', timeZone: 'UTC' } });
  const live = (room: string) => emu.graph.listRaw(room);
  return {
    config: `
target:
  provider: microsoft
  defaultTimeZone: Europe/Berlin
  baseUrl: ${emu.url}/v1.0
  timeZoneStyle: windows
  auth:
    tenantId: tenant-1
    clientId: client-1
    clientSecret: secret-1
    authority: ${emu.url}
`,
    owned: (room) => live(room).filter((e) => e.singleValueExtendedProperties.length > 0).map((e) => e.fields.subject as string).sort(),
    personalPresent: () => live(ROOM1).some((e) => e.fields.subject === PERSONAL),
    copy: (room, title) => void emu.graph.copyEvent(room, live(room).find((e) => e.fields.subject === title && e.singleValueExtendedProperties.length > 0)!.id),
    rename: (room, title, to) => void emu.graph.editEvent(room, live(room).find((e) => e.fields.subject === title && e.singleValueExtendedProperties.length > 0)!.id, { subject: to }),
  };
}

async function writeConfig(setup: Setup, extra = '', name = 'relay.yaml'): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, `syncId: cli-test
${setup.config}
sources:
  - id: local
    file: local.ics
    preset: ics
  - id: remote
    url: ${serverUrl}
    preset: ics
    timeoutMs: 2000
routing:
  by: location
  map:
    Room 1: ${ROOM1}
    Room 2: ${ROOM2}
${extra}`);
  return file;
}

describe.each([
  ['google', setupGoogle],
  ['microsoft', setupMicrosoft],
])('sync into %s', (_provider, setupFn) => {
  let setup: Setup;
  let config: string;

  beforeAll(async () => {
    emu.reset();
    setup = await setupFn();
    config = await writeConfig(setup);
    await writeFile(join(dir, 'local.ics'), ics(...LOCAL_EVENTS));
    const longAgo = vevent('r0', 'Long ago', 4, 'Room 2').replace(/20261204/g, '20200104');
    remote = { status: 200, body: ics(vevent('r1', 'Remote one', 4, 'Room 2'), vevent('r2', 'Unmapped', 5, 'Cellar'), longAgo) };
  });
  afterEach(() => {
    expect(emu.internalErrors).toEqual([]);
  });

  it('first run creates every routed event, with progress lines and a report', async () => {
    const r = await run('sync', '--config', config);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(setup.owned(ROOM1)).toEqual(['Alpha', 'Bravo']);
    expect(setup.owned(ROOM2)).toEqual(['Charlie', 'Remote one']);
    expect(r.out).toContain(`room ${ROOM1} : 2/2 writes`);
    expect(r.out).toContain(`✓ ${ROOM1}  created 2 updated 0 deleted 0 unchanged 0 failed 0`);
    expect(r.out).toContain(`✓ ${ROOM2}  created 2 updated 0 deleted 0 unchanged 0 failed 0`);
    expect(r.out).toMatch(/total\s+4\s+0\s+0\s+0\s+0/);
    expect(r.out).toContain('Unmapped events (1)');
    expect(r.out).toContain('"Unmapped"');
    expect(r.out).toContain('location "Cellar" not in the room map');
    expect(r.out).toContain('\n  1 source event(s) outside the window: not synced, and their copies on the target are left as they are\n');
    expect(setup.personalPresent()).toBe(true);
  });

  it('a re-run writes nothing', async () => {
    const before = writes();
    const r = await run('sync', '--config', config);
    expect(r.code).toBe(0);
    expect(writes()).toBe(before);
    expect(r.out).toContain(`✓ ${ROOM1}  created 0 updated 0 deleted 0 unchanged 2 failed 0`);
    expect(r.out).toMatch(/total\s+0\s+0\s+0\s+4\s+0/);
  });

  it('--dry-run shows the plan with reasons and writes nothing', async () => {
    await writeFile(join(dir, 'local.ics'), ics(LOCAL_EVENTS[0], LOCAL_EVENTS[2], vevent('a4', 'Delta', 6, 'Room 1')));
    const before = writes();
    const r = await run('sync', '--config', config, '--dry-run');
    expect(r.code).toBe(0);
    expect(writes()).toBe(before);
    expect(r.out).toMatch(/create\s+"Delta" 2026-12-06T08:00:00Z — new in source/);
    // A delete is named by the target event's title and time, not only by its id.
    expect(r.out).toMatch(/delete\s+"Bravo" 2026-12-02T08:00:00Z \(event \S+\) — removed from source/);
    expect(r.out).toContain('Dry run (nothing written)');
    expect(setup.owned(ROOM1)).toEqual(['Alpha', 'Bravo']);
  });

  it('the real run then creates and deletes as planned (deletion propagates)', async () => {
    const r = await run('sync', '--config', config);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`✓ ${ROOM1}  created 1 updated 0 deleted 1 unchanged 1 failed 0`);
    expect(setup.owned(ROOM1)).toEqual(['Alpha', 'Delta']);
    expect(setup.personalPresent()).toBe(true);
  });

  it('a failing source is reported, exits 1, and its events are not deleted', async () => {
    remote = { status: 500, body: 'boom' };
    const before = writes();
    const r = await run('sync', '--config', config);
    expect(r.code).toBe(1);
    expect(r.out).toContain('source "remote"');
    expect(r.out).toContain('HTTP 500');
    expect(r.out).toContain('Failed sources (1)');
    expect(writes()).toBe(before);
    expect(setup.owned(ROOM2)).toEqual(['Charlie', 'Remote one']);
    remote = { status: 200, body: ics(vevent('r1', 'Remote one', 4, 'Room 2')) };
  });

  it('an empty source trips SourceEmptyError (exit 1, override named); --allow-empty-source deletes', async () => {
    remote = { status: 200, body: ics() };
    const before = writes();
    const r = await run('sync', '--config', config);
    expect(r.code).toBe(1);
    expect(r.out).toContain('stopped by the SourceEmptyError guard');
    expect(r.err).toContain('--allow-empty-source');
    expect(r.err).toContain('guards.allowEmptySource');
    expect(writes()).toBe(before);
    expect(setup.owned(ROOM2)).toEqual(['Charlie', 'Remote one']);

    const forced = await run('sync', '--config', config, '--allow-empty-source');
    expect(forced.code).toBe(0);
    expect(setup.owned(ROOM2)).toEqual(['Charlie']);
    remote = { status: 200, body: ics(vevent('r1', 'Remote one', 4, 'Room 2')) };
  });

  it('the delete limit stops a large deletion with its override named', async () => {
    const limited = await writeConfig(setup, 'guards:\n  maxDeletes: { count: 1 }\n', 'limited.yaml');
    await writeFile(join(dir, 'local.ics'), ics(vevent('a9', 'Only one left', 9, 'Room 2')));
    const before = writes();
    const r = await run('sync', '--config', limited);
    expect(r.code).toBe(1);
    expect(r.out).toContain('stopped by the DeleteLimitError guard');
    expect(r.err).toContain('--force');
    expect(writes()).toBe(before);
    expect(setup.owned(ROOM1)).toEqual(['Alpha', 'Delta']);
    await writeFile(join(dir, 'local.ics'), ics(LOCAL_EVENTS[0], LOCAL_EVENTS[2], vevent('a4', 'Delta', 6, 'Room 1')));
  });

  it('--json prints the report as JSON (progress on stderr)', async () => {
    const r = await run('sync', '--config', config, '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { ok: boolean; rooms: Array<{ calendarId: string; created: number; unchanged: number }>; unmapped: unknown[]; sources: Array<{ id: string; ok: boolean; events: number }> };
    expect(report.ok).toBe(true);
    expect(report.rooms.map((x) => x.calendarId).sort()).toEqual([ROOM1, ROOM2]);
    expect(report.rooms.find((x) => x.calendarId === ROOM2)!.created).toBe(1); // "Remote one" came back
    expect(report.sources).toEqual([expect.objectContaining({ id: 'local', ok: true, events: 3 }), expect.objectContaining({ id: 'remote', ok: true, events: 1 })]);
    expect(r.err).toContain('source local: 3 event(s)');
  });

  it('an event the parser could not read (its UID known) is kept on the target, not deleted', async () => {
    const broken = vevent('a1', 'Alpha', 1, 'Room 1').replace(/DTSTART;TZID=Europe\/Berlin:\d{8}T\d{6}/, 'DTSTART:garbage');
    await writeFile(join(dir, 'local.ics'), ics(broken, LOCAL_EVENTS[2], vevent('a4', 'Delta', 6, 'Room 1')));
    const before = writes();
    const dry = await run('sync', '--config', config, '--dry-run');
    expect(dry.out).toContain('1× kept: unreadable in source');
    const r = await run('sync', '--config', config);
    expect(r.code).toBe(0);
    expect(writes()).toBe(before);
    expect(setup.owned(ROOM1)).toEqual(['Alpha', 'Delta']);
    await writeFile(join(dir, 'local.ics'), ics(LOCAL_EVENTS[0], LOCAL_EVENTS[2], vevent('a4', 'Delta', 6, 'Room 1')));
  });

  it('an event whose room no longer maps (renamed in the source) is reported and kept, not deleted', async () => {
    await writeFile(join(dir, 'local.ics'), ics(vevent('a1', 'Alpha', 1, 'Raum 1'), LOCAL_EVENTS[2], vevent('a4', 'Delta', 6, 'Room 1')));
    const before = writes();
    const r = await run('sync', '--config', config);
    expect(r.code).toBe(0);
    expect(writes()).toBe(before);
    expect(r.out).toContain('location "Raum 1" not in the room map');
    expect(setup.owned(ROOM1)).toEqual(['Alpha', 'Delta']);
    const dry = await run('sync', '--config', config, '--dry-run');
    expect(dry.out).toContain('1× source event no longer maps to a room: kept');
    await writeFile(join(dir, 'local.ics'), ics(LOCAL_EVENTS[0], LOCAL_EVENTS[2], vevent('a4', 'Delta', 6, 'Room 1')));
  });

  it("a person's copy of a synced event is reported as a conflict and kept; a person's edit is restored", async () => {
    setup.copy(ROOM1, 'Alpha');
    setup.rename(ROOM1, 'Delta', 'Delta (booked over by a person)');
    const r = await run('sync', '--config', config);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Conflicts (1)');
    expect(r.out).toMatch(/copy of a synced event/);
    expect(r.out).toContain('Restored (1)');
    expect(r.out).toContain('edited on the target (title): restored to the source version');
    expect(setup.owned(ROOM1)).toEqual(['Alpha', 'Alpha', 'Delta']);
    expect(setup.personalPresent()).toBe(true);
  });

  it('a room that does not exist fails that room only (exit 1)', async () => {
    const bad = join(dir, 'bad-room.yaml');
    await writeFile(bad, `syncId: cli-test
${setup.config}
sources:
  - id: local
    file: local.ics
routing:
  by: location
  map:
    Room 1: ${ROOM1}
    Room 2: nowhere@rooms.example
`);
    const r = await run('sync', '--config', bad);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/✗ nowhere@rooms\.example/);
    expect(r.out).toContain(`✓ ${ROOM1}`);
    // The 404 once, on one line, with what to do about it (this is the emulator: start it with --rooms).
    const said = (r.out + r.err).split('\n').filter((l) => /\b404\b/.test(l));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^ {2}✗ nowhere@rooms\.example: could not list events: .*404.* — the emulator has no calendar "nowhere@rooms\.example": start it with --rooms .*--rooms nowhere@rooms\.example,…\)$/);
    expect(r.out).toMatch(/✗ nowhere@rooms\.example .* stopped \(why: see the report\)\n/);
  });
});

describe.each([
  ['google', setupGoogle],
  ['microsoft', setupMicrosoft],
])('a feed that cannot be read completely deletes nothing (%s)', (_provider, setupFn) => {
  let setup: Setup;
  let config: string;
  const full = ics(vevent('r1', 'Remote one', 4, 'Room 2'), vevent('r3', 'Remote three', 7, 'Room 2'));

  beforeAll(async () => {
    emu.reset();
    setup = await setupFn();
    config = await writeConfig(setup, '', 'failed-read.yaml');
    await writeFile(join(dir, 'local.ics'), ics(...LOCAL_EVENTS));
    remote = { status: 200, body: full };
    const first = await run('sync', '--config', config);
    expect(first.code).toBe(0);
    expect(setup.owned(ROOM2)).toEqual(['Charlie', 'Remote one', 'Remote three']);
  });
  afterAll(() => {
    remote = { status: 200, body: ics(vevent('r1', 'Remote one', 4, 'Room 2')) };
  });

  it.each([
    // Each body still holds "Remote one" whole but not "Remote three": read as it is, r3 would be deleted.
    ['cut inside the second VEVENT', full.slice(0, full.indexOf('SUMMARY:Remote three')), /truncated iCalendar: the file ends inside VEVENT/],
    ['without END:VCALENDAR', full.slice(0, full.indexOf('BEGIN:VEVENT\r\nUID:r3')), /truncated iCalendar: the file ends inside VCALENDAR/],
    ['an HTML login page served as 200', '<!DOCTYPE html><html><head><title>Sign in</title></head><body>BEGIN:VEVENT</body></html>', /input is an HTML page \("Sign in"\)/],
  ])('%s: a failed source, exit 1, nothing written', async (_what, body, message) => {
    remote = { status: 200, body };
    const before = writes();
    const r = await run('sync', '--config', config);
    expect(r.code).toBe(1);
    expect(r.out).toContain('Failed sources (1)');
    expect(r.out).toMatch(message);
    expect(writes()).toBe(before);
    expect(setup.owned(ROOM2)).toEqual(['Charlie', 'Remote one', 'Remote three']);
    expect(setup.owned(ROOM1)).toEqual(['Alpha', 'Bravo']);
  });

  it('a feed URL that refuses the connection: said in words, nothing written', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const refused = join(dir, 'refused.yaml');
    await writeFile(refused, (await readFile(config, 'utf8')).replace(serverUrl, `http://127.0.0.1:${port}/remote.ics`));
    const before = writes();
    const r = await run('sync', '--config', refused);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/Failed sources \(1\)[^\n]*\n {2}✗ source "remote": cannot reach http:\/\/127\.0\.0\.1:\d+\/remote\.ics: connection refused \[ECONNREFUSED\]/);
    expect(writes()).toBe(before);
    expect(setup.owned(ROOM2)).toEqual(['Charlie', 'Remote one', 'Remote three']);
  });
});

describe('Google target.listMode: incremental', () => {
  it('lists with sync tokens kept in the stateFile: a re-run writes nothing and sends a syncToken', async () => {
    emu.reset();
    const setup = await setupGoogle();
    await writeFile(join(dir, 'local.ics'), ics(...LOCAL_EVENTS));
    remote = { status: 200, body: ics(vevent('r1', 'Remote one', 4, 'Room 2')) };
    const config = await writeConfig(setup, 'stateFile: incremental-state.json\n', 'incremental.yaml');
    const withMode = (await readFile(config, 'utf8')).replace('  provider: google\n', '  provider: google\n  listMode: incremental\n');
    expect(withMode).toContain('listMode: incremental');
    await writeFile(config, withMode);
    const first = await run('sync', '--config', config);
    expect(first.code).toBe(0);
    expect(setup.owned(ROOM1)).toEqual(['Alpha', 'Bravo']);
    const before = writes();
    const again = await run('sync', '--config', config);
    expect(again.code).toBe(0);
    expect(writes()).toBe(before);
    expect(emu.log.recent({ api: 'google', method: 'GET' }).some((e) => /(^|&)syncToken=/.test(e.query))).toBe(true);
  });
});

describe('usage and config errors', () => {
  it('without --config → exit 2', async () => {
    const r = await run('sync');
    expect(r.code).toBe(2);
    expect(r.err).toContain('sync needs --config');
  });

  it('an invalid config → exit 2 with the path and the problem', async () => {
    const file = join(dir, 'invalid.yaml');
    await writeFile(file, 'syncId: x\ntarget: { provider: google, auth: { accessToken: t } }\nsources:\n  - id: a\n    file: a.ics\n  - id: b\n    file: b.json\n    preset: xml\nrouting: { target: r@x }\n');
    const r = await run('sync', '--config', file);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/sources\[1\]\.preset: must be one of auto, ics, .*\(got "xml"\)/);
  });

  it('a missing config file → exit 2', async () => {
    const r = await run('sync', '--config', join(dir, 'nope.yaml'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('(file): no such file');
  });
});

describe('calendar-relay emulator', () => {
  it('starts, creates the rooms, prints URLs and working tokens', async () => {
    let out = '';
    let running: Emulator | undefined;
    const cmd = makeEmulatorCommand({ onStarted: (e) => void (running = e) });
    const code = await cmd(['--port', '0', '--rooms', 'hall@x.example'], { stdout: (t) => void (out += t), stderr: () => undefined, now: Date.now });
    try {
      expect(code).toBe(0);
      expect(out).toContain(`listening on ${running!.url}`);
      const token = /Google access token \(30 days\):\s+(\S+)/.exec(out)![1];
      const res = await fetch(`${running!.url}/calendar/v3/calendars/hall%40x.example/events`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      const graphToken = /Graph access token \(30 days\):\s+(\S+)/.exec(out)![1];
      const g = await fetch(`${running!.url}/v1.0/users/hall@x.example/events`, { headers: { authorization: `Bearer ${graphToken}` } });
      expect(g.status).toBe(200);
    } finally {
      await running?.close();
    }
  });

  it('needs --port (exit 2)', async () => {
    const r = await run('emulator');
    expect(r.code).toBe(2);
    expect(r.err).toContain('emulator needs --port');
  });
});
