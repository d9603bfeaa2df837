/**
 * The example workflows of workflows/ (issue 9), run by real n8n against the emulator. Each
 * workflow file is imported as it is; only its example source URLs are pointed at the feed server
 * (SOURCES) and its credential ids are the ones imported here (CREDENTIALS), exactly what a user
 * changes (workflows/README.md). Assertions read the emulator's stored events.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Check, Ctx } from './checks';
import { assert } from './checks';
import { fixture, GOOGLE_SUBJECT, GRAPH_APP, type World } from './world';
import type { RunData } from './n8n';

/** Example URL in a workflow → path on the feed server. */
export const SOURCES: Record<string, string> = {
  'https://rathaus.ckalender.example/ical.php?gruppe=raeume&key=YOUR_FEED_KEY': '/ckalender.ics',
  'https://learningspace.med-uni.example/w/api/v2/public_calendar.json': '/learningspace.json',
  'https://www.kaltura.com/api_v3/service/schedule_scheduleevent/action/list/format/ical/ks/YOUR_KALTURA_KS': '/kaltura.ics',
  'https://api.caldn.net/event/7f3c2a10-5b1e-4e2b-9c55-0a1b2c3d4e01': '/caldn.json',
};

/** The credential ids the example workflows reference, with data pointing at the emulator. */
export function credentials(world: World): Array<{ id: string; name: string; type: string; data: Record<string, unknown> }> {
  const url = world.emu.url;
  return [
    {
      id: 'crGoogleRoomsSA1', name: 'Google service account (room calendars)', type: 'calendarRelayGoogleServiceAccountApi',
      data: { email: world.googleKey.email, privateKey: world.googleKey.privateKeyPem, impersonate: true, delegatedEmail: GOOGLE_SUBJECT, tokenUrl: `${url}/token`, apiRootUrl: `${url}/` },
    },
    {
      id: 'crM365RoomsApp01', name: 'Microsoft 365 app-only (room mailboxes)', type: 'calendarRelayMicrosoftAppOnlyApi',
      data: { tenantId: GRAPH_APP.tenantId, clientId: GRAPH_APP.clientId, clientSecret: GRAPH_APP.clientSecret, loginUrl: url, graphBaseUrl: `${url}/v1.0` },
    },
    { id: 'crCaldnApiToken1', name: 'caldn API token', type: 'calendarRelayFeedAuthApi', data: { authType: 'bearer', token: world.feeds.token } },
  ];
}

/** Reads workflows/<file>, points its example URLs at the feed server, and returns it (with its id). */
export function loadWorkflow(ctx: Ctx, file: string): { id: string; name: string; nodes: Array<{ name: string; type: string }> } {
  let text = readFileSync(join(ctx.root, 'workflows', file), 'utf8');
  for (const [example, path] of Object.entries(SOURCES)) text = text.split(example).join(`${ctx.world.feeds.url}${path}`);
  const wf = JSON.parse(text) as { id: string; name: string; nodes: Array<{ name: string; type: string }> };
  assert(typeof wf.id === 'string' && wf.id.length > 0, `${file}: no top-level "id"`);
  return wf;
}

// ---- reading the emulator ----

interface GEvent {
  id: string;
  status?: string;
  summary?: string;
  recurringEventId?: string;
  start?: { dateTime?: string; date?: string };
  extendedProperties?: { private?: Record<string, string> };
}

/** Live (not cancelled) events in a Google calendar, split into ours (stamped with syncId) and others. */
export function googleEvents(world: World, calendarId: string, syncId: string): { ours: GEvent[]; others: GEvent[] } {
  const live = (world.emu.google.listRaw(calendarId) as unknown as GEvent[]).filter((e) => e.status !== 'cancelled' && !e.recurringEventId);
  const ours = live.filter((e) => e.extendedProperties?.private?.crSyncId === syncId);
  return { ours, others: live.filter((e) => !ours.includes(e)) };
}

export function googleTitles(world: World, calendarId: string, syncId: string): string[] {
  return googleEvents(world, calendarId, syncId).ours.map((e) => e.summary ?? '').sort();
}

/** Every stored Google event (incl. cancelled), id → etag-ish stamp, to prove "nothing written". */
export function googleFingerprint(world: World, calendarIds: string[]): string {
  return JSON.stringify(calendarIds.map((c) => world.emu.google.listRaw(c).map((e) => [e.id, (e as { etag?: string }).etag, (e as { status?: string }).status])));
}

interface MEvent {
  id: string;
  fields: { subject?: string; isCancelled?: boolean; type?: string };
  singleValueExtendedProperties: Array<{ id: string; value: string }>;
}

const GRAPH_SYNC_PROP = 'CalendarRelaySyncId';

export function graphEvents(world: World, mailbox: string, syncId: string): { ours: MEvent[]; others: MEvent[] } {
  const all = world.emu.graph.listRaw(mailbox) as unknown as MEvent[];
  const ours = all.filter((e) => e.singleValueExtendedProperties.some((p) => p.id.endsWith(`Name ${GRAPH_SYNC_PROP}`) && p.value === syncId));
  return { ours, others: all.filter((e) => !ours.includes(e)) };
}

export function graphTitles(world: World, mailbox: string, syncId: string): string[] {
  return graphEvents(world, mailbox, syncId).ours.map((e) => e.fields.subject ?? '').sort();
}

export function graphFingerprint(world: World, mailboxes: string[]): string {
  return JSON.stringify(mailboxes.map((m) => world.emu.graph.listRaw(m).map((e) => [e.id, JSON.stringify(e.fields), e.cancelled])));
}

// ---- small helpers ----

export function sameList(actual: string[], expected: string[], what: string): void {
  const a = [...actual].sort();
  const e = [...expected].sort();
  assert(JSON.stringify(a) === JSON.stringify(e), `${what}: expected ${JSON.stringify(e)}, got ${JSON.stringify(a)}`);
}

export function summaryOf(runData: RunData, nodeName: string): Record<string, unknown> {
  const items = runData[nodeName]?.[0]?.data?.main?.[0] ?? [];
  const s = items.map((i) => i.json).find((j) => j.summary === true);
  assert(s, `node "${nodeName}" output no summary item`);
  return s;
}

export function setFixture(ctx: Ctx, path: string, file: string, contentType: string): string {
  const body = fixture(ctx.root, file, ctx.weeks);
  ctx.world.feeds.set(path, body, contentType);
  return body;
}

// ---- the checks ----

/** Google room calendars (Directory resources) and Microsoft 365 room mailboxes the examples write into. */
export const ROOMS = {
  ckalender: {
    'Besprechungsraum 1.07': 'c_1880af0b2c1d@resource.calendar.google.com',
    'Besprechungsraum 2.01': 'c_1881b3d6e7f0@resource.calendar.google.com',
    Sitzungssaal: 'c_18825a4b3c2d@resource.calendar.google.com',
    'Schulungsraum EG': 'c_1883c9d8e7f6@resource.calendar.google.com',
  },
  learningspace: { simroom1: 'c_simroom1@resource.calendar.google.com', simroom2: 'c_simroom2@resource.calendar.google.com', simroom3: 'c_simroom3@resource.calendar.google.com' },
  kaltura: { hall1: 'lecturehall1@uni.example', hall2: 'lecturehall2@uni.example', auditorium: 'auditorium@uni.example', seminar4: 'seminarroom4@uni.example' },
  caldn: 'veranstaltungen@klinik.example',
} as const;

export const WORKFLOW_FILES = {
  ckalender: '01-ckalender-ics-trigger-to-google-rooms.json',
  learningspace: '02-learningspace-json-to-google-rooms.json',
  kaltura: '03-kaltura-ical-to-microsoft-rooms.json',
  caldn: '04-caldn-trigger-to-microsoft-events.json',
  sonderplan: '05-google-rooms-to-ics-feed.json',
  conflicts: '06-room-conflicts.json',
} as const;

/** A person's own booking, made directly in the room calendar (never touched by a sync). */
function seedGoogleBooking(world: World, calendarId: string, title: string, startIso: string, endIso: string): string {
  const e = world.emu.google.seedEvent(calendarId, { summary: title, start: { dateTime: startIso }, end: { dateTime: endIso }, organizer: { email: 'alice@e2e.example' } } as never) as { id: string };
  return e.id;
}

function googleBooking(world: World, calendarId: string, id: string): GEvent | undefined {
  return (world.emu.google.listRaw(calendarId) as unknown as GEvent[]).find((e) => e.id === id && e.status !== 'cancelled');
}

/** Moved like the fixtures: a local wall time on a fixture day, as an ISO string with offset. */
function fixtureDay(ctx: Ctx, isoDate: string, time: string, offset = '+01:00'): string {
  const d = new Date(Date.parse(`${isoDate}T00:00:00Z`) + ctx.weeks * 7 * 86_400_000).toISOString().slice(0, 10);
  return `${d}T${time}${offset}`;
}

const setup: Check = {
  name: 'setup',
  title: 'rooms in the emulator, credentials imported, every example workflow imports as is',
  required: true,
  async run(ctx) {
    const { world, n8n } = ctx;
    for (const [name, id] of [...Object.entries(ROOMS.ckalender), ...Object.entries(ROOMS.learningspace)]) world.emu.google.addRoom({ resourceName: name, resourceEmail: id });
    for (const [name, mailbox] of Object.entries(ROOMS.kaltura)) world.emu.graph.addRoom({ email: mailbox, displayName: name });
    world.emu.graph.createMailbox(ROOMS.caldn, { displayName: 'Veranstaltungen' });
    await n8n.importCredentials(credentials(world));
    // Reported by the "workflows-present" check when one is missing.
    const files = Object.values(WORKFLOW_FILES).filter((file) => existsSync(join(ctx.root, 'workflows', file)));
    await n8n.importWorkflows(files.map((file) => loadWorkflow(ctx, file)));
  },
};

const learningspace: Check = {
  name: 'learningspace',
  title: 'example 2: LearningSpace JSON → Room Sync into Google sim rooms (+ per-room count, next OSCE)',
  async run(ctx) {
    const { world, n8n } = ctx;
    const wf = loadWorkflow(ctx, WORKFLOW_FILES.learningspace);
    const sync = 'simcentre-learningspace';
    const { simroom1, simroom2, simroom3 } = ROOMS.learningspace;
    const rooms = [simroom1, simroom2, simroom3];
    const feed = JSON.parse(setFixture(ctx, '/learningspace.json', 'learningspace.json', 'application/json')) as { events: Array<{ id: number; title: string }> };
    // A person's own booking in sim room 1, overlapping nothing the sync writes.
    const booking = seedGoogleBooking(world, simroom1, 'Skills practice (booked directly)', fixtureDay(ctx, '2026-11-24', '07:00:00'), fixtureDay(ctx, '2026-11-24', '08:00:00'));
    const bookingEtag = JSON.stringify(googleBooking(world, simroom1, booking));

    // 1. first run creates the events in their rooms (cancelled 4716 is not written).
    let r = await n8n.execute(wf.id);
    assert(r.ok, `first run failed: ${r.error}`);
    console.log(`[e2e]     run 1: ${(r.ms / 1000).toFixed(1)} s`);
    sameList(googleTitles(world, simroom1, sync), ['OSCE circuit A (Year 3)', 'Interprofessional trauma team training'], 'sim room 1');
    sameList(googleTitles(world, simroom2, sync), ['High-fidelity sepsis scenario', 'Debriefing', 'Interprofessional trauma team training'], 'sim room 2');
    sameList(googleTitles(world, simroom3, sync), ['Manikin maintenance'], 'sim room 3');
    const osce = (r.runData['Next event titled OSCE']?.[0]?.data?.main?.[0] ?? []).map((i) => i.json);
    assert(osce.length <= 1, `"Next event titled OSCE" returned ${osce.length} items`);
    if (osce.length === 1) assert(String(osce[0].title).includes('OSCE'), `next OSCE event has title "${String(osce[0].title)}"`);
    const perRoom = (r.runData['Events per room today']?.[0]?.data?.main?.[0] ?? []).map((i) => i.json);
    assert(r.runData['Events per room today'], '"Events per room today" did not run');
    for (const p of perRoom) assert(typeof p.room === 'string' && typeof p.count === 'number' && p.count > 0, `per-room item ${JSON.stringify(p)}`);

    // 2. second run writes nothing.
    const before = googleFingerprint(world, rooms);
    r = await n8n.execute(wf.id);
    assert(r.ok, `second run failed: ${r.error}`);
    console.log(`[e2e]     run 2 (no change): ${(r.ms / 1000).toFixed(1)} s`);
    assert(googleFingerprint(world, rooms) === before, 'second run changed the room calendars');

    // 3. an event removed from the source is deleted in its room.
    feed.events = feed.events.filter((e) => e.id !== 4712);
    world.feeds.set('/learningspace.json', JSON.stringify(feed), 'application/json');
    r = await n8n.execute(wf.id);
    assert(r.ok, `run after removal failed: ${r.error}`);
    sameList(googleTitles(world, simroom2, sync), ['Debriefing', 'Interprofessional trauma team training'], 'sim room 2 after removing 4712');
    sameList(googleTitles(world, simroom1, sync), ['OSCE circuit A (Year 3)', 'Interprofessional trauma team training'], 'sim room 1 after removing 4712');

    // 4. an empty source deletes nothing; the execution reports the guard.
    const beforeEmpty = googleFingerprint(world, rooms);
    world.feeds.set('/learningspace.json', JSON.stringify({ events: [] }), 'application/json');
    r = await n8n.execute(wf.id);
    assert(!r.ok, 'a run with an empty source succeeded: the empty-source guard should stop it');
    assert(/empty|no events/i.test(r.error ?? ''), `the failed run does not name the empty-source guard: ${r.error}`);
    assert(googleFingerprint(world, rooms) === beforeEmpty, 'the empty source changed the room calendars');

    // 5. the person's own booking is untouched throughout.
    assert(JSON.stringify(googleBooking(world, simroom1, booking)) === bookingEtag, 'the person\'s own booking in sim room 1 was changed');
  },
};

const present: Check = {
  name: 'workflows-present',
  title: 'all six example workflows are in workflows/',
  async run(ctx) {
    const missing = Object.values(WORKFLOW_FILES).filter((f) => !existsSync(join(ctx.root, 'workflows', f)));
    assert(missing.length === 0, `missing: ${missing.join(', ')}`);
  },
};

export const EXAMPLE_CHECKS: Check[] = [setup, learningspace, present];
