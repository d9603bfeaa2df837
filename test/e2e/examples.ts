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
  'https://api.sonderplan.com/v2/booking?limit=500': '/sonderplan.json',
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
    // The workflow's placeholder bridge (https://calendar-bridge.example.org in workflows/README.md) is this run's bridge.
    { id: 'crBridgeApiAdmin', name: 'Calendar Relay bridge (admin token)', type: 'calendarRelayBridgeApi', data: { baseUrl: world.bridge.url, token: world.bridge.adminToken } },
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
  sonderplan: { studioA: 'studio-a@media.example', studioB: 'studio-b@media.example', schnitt2: 'schnittplatz-2@media.example' },
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
    for (const [name, mailbox] of [...Object.entries(ROOMS.kaltura), ...Object.entries(ROOMS.sonderplan)]) world.emu.graph.addRoom({ email: mailbox, displayName: name });
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

    assert(JSON.stringify(googleBooking(world, simroom1, booking)) === bookingEtag, 'the person\'s own booking in sim room 1 was changed');

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


/** A person's own booking in a Microsoft 365 room mailbox. */
function seedGraphBooking(world: World, mailbox: string, subject: string, start: string, end: string): string {
  const e = world.emu.graph.seedEvent(mailbox, {
    subject, start: { dateTime: start, timeZone: 'Europe/Berlin' }, end: { dateTime: end, timeZone: 'Europe/Berlin' },
    organizer: { emailAddress: { address: 'bob@e2e.example', name: 'Bob' } },
  } as never) as { id: string };
  return e.id;
}

function graphBooking(world: World, mailbox: string, id: string): string {
  return JSON.stringify(world.emu.graph.listRaw(mailbox).find((e) => e.id === id) ?? null);
}

function localDay(ctx: Ctx, isoDate: string, time: string): string {
  return fixtureDay(ctx, isoDate, time, '');
}

const EMPTY_ICS = 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//e2e//empty//EN\r\nEND:VCALENDAR\r\n';

/** Removes the VEVENT blocks whose UID is `uid` from ICS text. */
function withoutUid(ics: string, uid: string): string {
  return ics.replace(/BEGIN:VEVENT\r?\n[\s\S]*?END:VEVENT\r?\n/g, (block) => (new RegExp(`^UID:${uid.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\r?$`, 'm').test(block) ? '' : block));
}

const kaltura: Check = {
  name: 'kaltura',
  title: 'example 3: Kaltura iCal → Room Sync into Microsoft 365 room mailboxes (X-KALTURA-* kept)',
  async run(ctx) {
    const { world, n8n } = ctx;
    const wf = loadWorkflow(ctx, WORKFLOW_FILES.kaltura);
    const sync = 'lecture-capture-kaltura';
    const { hall1, hall2, auditorium, seminar4 } = ROOMS.kaltura;
    const rooms = [hall1, hall2, auditorium, seminar4];
    const ics = setFixture(ctx, '/kaltura.ics', 'kaltura.ics', 'text/calendar');
    const booking = seedGraphBooking(world, auditorium, 'Faculty meeting (booked directly)', localDay(ctx, '2026-11-26', '09:00:00'), localDay(ctx, '2026-11-26', '10:00:00'));
    const bookingBefore = graphBooking(world, auditorium, booking);

    let r = await n8n.execute(wf.id);
    assert(r.ok, `first run failed: ${r.error}`);
    console.log(`[e2e]     run 1: ${(r.ms / 1000).toFixed(1)} s; rooms: ${rooms.map((m) => `${m}=${JSON.stringify(graphTitles(world, m, sync))}`).join(' ')}`);
    // 88001 (5012,5013 → hall 1) with its moved occurrence in hall 2 (5014); 88120 → auditorium; 88131 → seminar room 4.
    assert(graphTitles(world, hall1, sync).includes('Lecture: Introduction to Pharmacology'), 'lecture hall 1 lacks the weekly lecture');
    assert(graphTitles(world, hall2, sync).includes('Lecture: Introduction to Pharmacology (moved)'), 'lecture hall 2 lacks the moved lecture');
    sameList(graphTitles(world, auditorium, sync), ['Live: Dean\'s town hall'], 'auditorium');
    sameList(graphTitles(world, seminar4, sync), ['Recording: Anatomy tutorial group B'], 'seminar room 4');

    const before = graphFingerprint(world, rooms);
    r = await n8n.execute(wf.id);
    assert(r.ok, `second run failed: ${r.error}`);
    console.log(`[e2e]     run 2 (no change): ${(r.ms / 1000).toFixed(1)} s`);
    assert(graphFingerprint(world, rooms) === before, 'second run changed the room mailboxes');

    world.feeds.set('/kaltura.ics', withoutUid(ics, 'kaltura-schedule-event-88131'), 'text/calendar');
    r = await n8n.execute(wf.id);
    assert(r.ok, `run after removal failed: ${r.error}`);
    sameList(graphTitles(world, seminar4, sync), [], 'seminar room 4 after removing 88131');
    sameList(graphTitles(world, auditorium, sync), ['Live: Dean\'s town hall'], 'auditorium after removing 88131');

    const beforeEmpty = graphFingerprint(world, rooms);
    world.feeds.set('/kaltura.ics', EMPTY_ICS, 'text/calendar');
    r = await n8n.execute(wf.id);
    assert(!r.ok, 'a run with an empty source succeeded: the empty-source guard should stop it');
    assert(/empty|no events/i.test(r.error ?? ''), `the failed run does not name the empty-source guard: ${r.error}`);
    assert(graphFingerprint(world, rooms) === beforeEmpty, 'the empty source changed the room mailboxes');
    assert(graphBooking(world, auditorium, booking) === bookingBefore, 'the person\'s own booking in the auditorium was changed');

    // Issue 9: X-KALTURA-* travel with the event as extended properties (checked last, so the
    // lifecycle above is verified either way).
    const live = graphEvents(world, auditorium, sync).ours[0];
    const kalturaId = live?.singleValueExtendedProperties.find((p) => /X-KALTURA-ID/i.test(p.id));
    assert(kalturaId && kalturaId.value.includes('88120'), `X-KALTURA-ID not kept as an extended property: ${JSON.stringify(live?.singleValueExtendedProperties.map((p) => p.id))}`);
  },
};

const conflicts: Check = {
  name: 'conflicts',
  title: 'example 6: Sonderplan → Microsoft 365 studios with the conflict report → one message per clash',
  async run(ctx) {
    const { world, n8n } = ctx;
    const wf = loadWorkflow(ctx, WORKFLOW_FILES.conflicts);
    const sync = 'studios-sonderplan';
    const { studioA, studioB, schnitt2 } = ROOMS.sonderplan;
    setFixture(ctx, '/sonderplan.json', 'sonderplan.json', 'application/json');
    // Bob books studio B directly, overlapping the imported podcast recording (10:00–11:30 local).
    const clash = seedGraphBooking(world, studioB, 'Tontest (direkt gebucht)', localDay(ctx, '2026-11-25', '10:30:00'), localDay(ctx, '2026-11-25', '11:00:00'));
    const clashBefore = graphBooking(world, studioB, clash);
    // … and studio A at a free time (no clash).
    seedGraphBooking(world, studioA, 'Aufräumen (direkt gebucht)', localDay(ctx, '2026-11-23', '06:00:00'), localDay(ctx, '2026-11-23', '07:00:00'));

    const r = await n8n.execute(wf.id);
    assert(r.ok, `run failed: ${r.error}`);
    console.log(`[e2e]     run 1: ${(r.ms / 1000).toFixed(1)} s`);
    sameList(graphTitles(world, studioA, sync), ['Studio A – Produktfotos Herbstkatalog'], 'studio A');
    sameList(graphTitles(world, studioB, sync), ['Studio B – Podcastaufnahme', 'Studio B – Livestream Gemeinderat'], 'studio B');
    sameList(graphTitles(world, schnitt2, sync), ['Schnittplatz 2 – Imagefilm'], 'Schnittplatz 2');
    const messages = (r.runData['One message per clash']?.[0]?.data?.main?.[0] ?? []).map((i) => i.json);
    assert(messages.length === 1, `expected one clash message, got ${messages.length}: ${JSON.stringify(messages)}`);
    const m = messages[0];
    assert(String(m.room).toLowerCase() === studioB, `clash in ${String(m.room)}, expected ${studioB}`);
    assert(m.foreignEventId === clash, `clash names foreign event ${String(m.foreignEventId)}, expected ${clash}`);
    assert(String(m.text).includes('Tontest') && String(m.text).includes('Podcastaufnahme'), `message text: ${String(m.text)}`);
    assert(graphBooking(world, studioB, clash) === clashBefore, 'the person\'s own booking in studio B was changed');

    const before = graphFingerprint(world, [studioA, studioB, schnitt2]);
    const r2 = await n8n.execute(wf.id);
    assert(r2.ok, `second run failed: ${r2.error}`);
    assert(graphFingerprint(world, [studioA, studioB, schnitt2]) === before, 'second run changed the studios');
    const again = r2.runData['One message per clash']?.[0]?.data?.main?.[0] ?? [];
    assert(again.length === 1, `second run reported ${again.length} clashes, expected the same one`);
  },
};

/** The text of a binary property of an item in `n8n execute` output (inline base64 or n8n's file store). */
function binaryText(ctx: Ctx, item: { binary?: Record<string, { data?: string; id?: string; fileName?: string }> }, prop = 'data'): string {
  const b = item.binary?.[prop];
  assert(b, `item has no binary property "${prop}": ${JSON.stringify(Object.keys(item))}`);
  if (b.id) {
    // "filesystem-v2:workflows/<wf>/executions/<ex>/binary_data/<uuid>" → under the user folder's storage.
    const rel = b.id.replace(/^[^:]+:/, '');
    for (const base of [join(ctx.n8n.userFolder, '.n8n', 'storage'), join(ctx.n8n.userFolder, '.n8n', 'binaryData')]) {
      if (existsSync(join(base, rel))) return readFileSync(join(base, rel), 'utf8');
    }
    throw new Error(`binary data ${b.id} not found under the user folder`);
  }
  return Buffer.from(b.data ?? '', 'base64').toString('utf8');
}

const exportIcs: Check = {
  name: 'export',
  title: 'example 5: bookings in Google room calendars → Feed Export → one ICS file and a bridge feed (200, then 304)',
  async run(ctx) {
    const { world, n8n } = ctx;
    const wf = loadWorkflow(ctx, WORKFLOW_FILES.sonderplan);
    const rooms = Object.values(ROOMS.learningspace);
    // What the rooms hold (synced events and people's own), read straight from the emulator.
    const now = Date.now();
    const inWindow = (e: GEvent) => {
      const t = Date.parse(e.start?.dateTime ?? `${e.start?.date}T00:00:00Z`);
      return t >= now - 8 * 86_400_000 && t <= now + 90 * 86_400_000;
    };
    const expected = rooms.flatMap((c) => (world.emu.google.listRaw(c) as unknown as GEvent[]).filter((e) => e.status !== 'cancelled' && !e.recurringEventId && inWindow(e)).map((e) => e.summary ?? ''));
    assert(expected.length > 0, 'the sim rooms hold no events: run the learningspace check first');
    const before = googleFingerprint(world, rooms);
    const r = await n8n.execute(wf.id);
    assert(r.ok, `run failed: ${r.error}`);
    console.log(`[e2e]     run: ${(r.ms / 1000).toFixed(1)} s`);
    const out = r.runData['Feed Export (one .ics)']?.[0]?.data?.main?.[0] ?? [];
    assert(out.length === 1, `Feed Export produced ${out.length} items, expected one calendar`);
    const ics = binaryText(ctx, out[0] as never);
    assert(/^BEGIN:VCALENDAR/.test(ics) && /METHOD:PUBLISH/.test(ics), 'the file is not a PUBLISH calendar');
    const unfolded = ics.replace(/\r?\n[ \t]/g, '');
    const summaries = [...unfolded.matchAll(/^SUMMARY[^:]*:(.*)$/gm)].map((m) => m[1].replace(/\\,/g, ',').replace(/\\;/g, ';').trim());
    for (const t of expected) assert(summaries.includes(t), `the ICS file lacks "${t}" (has ${JSON.stringify(summaries)})`);
    const fileEvents = (unfolded.match(/^BEGIN:VEVENT\r?$/gm) ?? []).length;

    // The bridge branch: the same calendar published as the named feed "sim-rooms"; a calendar
    // app fetches it at the returned subscribe URL (200, then 304 with the ETag).
    const pub = (r.runData['Feed Export (bridge feed)']?.[0]?.data?.main?.[0] ?? []).map((i) => i.json);
    assert(pub.length === 1, `Feed Export (bridge feed) produced ${pub.length} items, expected one`);
    const { subscribeUrl, feedName, events: published } = pub[0] as { subscribeUrl?: string; feedName?: string; events?: number };
    assert(feedName === 'sim-rooms', `published as feed ${JSON.stringify(feedName)}, expected "sim-rooms"`);
    assert(typeof subscribeUrl === 'string' && subscribeUrl.startsWith(`${world.bridge.url}/feeds/`) && subscribeUrl.endsWith('.ics'), `subscribe URL ${JSON.stringify(subscribeUrl)} is not a feed of this run's bridge (${world.bridge.url})`);
    assert(published === fileEvents, `the bridge branch published ${published} events, the ICS file holds ${fileEvents}`);
    const plain = { 'Accept-Encoding': 'identity' };
    const first = await fetch(subscribeUrl, { headers: plain });
    const feed = (await first.text()).replace(/\r?\n[ \t]/g, '');
    assert(first.status === 200, `GET ${subscribeUrl} → HTTP ${first.status}: ${feed.slice(0, 200)}`);
    assert(/^text\/calendar/.test(first.headers.get('content-type') ?? ''), `the feed is served as ${first.headers.get('content-type')}`);
    const feedEvents = (feed.match(/^BEGIN:VEVENT\r?$/gm) ?? []).length;
    assert(feedEvents === fileEvents, `the bridge feed holds ${feedEvents} events, the ICS file ${fileEvents}`);
    const feedSummaries = [...feed.matchAll(/^SUMMARY[^:]*:(.*)$/gm)].map((m) => m[1].replace(/\\,/g, ',').replace(/\\;/g, ';').trim());
    for (const t of expected) assert(feedSummaries.includes(t), `the bridge feed lacks "${t}" (has ${JSON.stringify(feedSummaries)})`);
    const etag = first.headers.get('etag');
    assert(etag, 'the bridge feed has no ETag');
    const second = await fetch(subscribeUrl, { headers: { ...plain, 'If-None-Match': etag } });
    await second.arrayBuffer();
    assert(second.status === 304, `GET with If-None-Match ${etag} → HTTP ${second.status}, expected 304`);
    console.log(`[e2e]     bridge feed: ${feedEvents} events at ${subscribeUrl.replace(/\/feeds\/[^/]+\.ics$/, '/feeds/…ics')} (200, then 304)`);
    assert(googleFingerprint(world, rooms) === before, 'exporting changed the room calendars');
  },
};

/** Waits until `cond` holds (polling every 250 ms). */
async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

const polling: Check = {
  name: 'polling',
  title: 'examples 1 and 4 through n8n\'s own polling (publish:workflow + n8n start): CKalender → Google rooms, caldn → Microsoft 365 events',
  async run(ctx) {
    const { world, n8n } = ctx;
    const ck = loadWorkflow(ctx, WORKFLOW_FILES.ckalender);
    const ca = loadWorkflow(ctx, WORKFLOW_FILES.caldn);
    const ckSync = 'rathaus-ckalender';
    const ckRooms = Object.values(ROOMS.ckalender);
    const [r107, r201, saal, schulung] = ckRooms;
    const ckIcs = setFixture(ctx, '/ckalender.ics', 'ckalender.ics', 'text/calendar');
    const caldn = JSON.parse(fixture(ctx.root, 'caldn.json', ctx.weeks)) as Array<{ dates: Array<{ name: string }> }>;
    world.feeds.set('/caldn.json', JSON.stringify(caldn), 'application/json', { auth: true });
    const booking = seedGoogleBooking(world, r107, 'Personalgespräch (direkt gebucht)', fixtureDay(ctx, '2026-11-25', '08:00:00'), fixtureDay(ctx, '2026-11-25', '09:00:00'));
    const bookingBefore = JSON.stringify(googleBooking(world, r107, booking));
    const calEvents = () => graphEvents(world, ROOMS.caldn, 'n8n-calendar-event').ours;

    await n8n.publish(ck.id);
    await n8n.publish(ca.id);
    const poll = async (label: string, expectRuns: boolean): Promise<void> => {
      const ckBefore = world.feeds.get('/ckalender.ics').requests;
      const caBefore = world.feeds.get('/caldn.json').requests;
      const exBefore = [(await n8n.executions(ck.id)).length, (await n8n.executions(ca.id)).length];
      const t0 = Date.now();
      await n8n.start();
      // Activation polls each trigger once.
      await until(() => world.feeds.get('/ckalender.ics').requests > ckBefore && world.feeds.get('/caldn.json').requests > caBefore, 90_000, 'both triggers to poll');
      if (expectRuns) {
        await n8n.waitForExecutions(ck.id, exBefore[0], 90_000);
        await n8n.waitForExecutions(ca.id, exBefore[1], 90_000);
      } else {
        await new Promise((r) => setTimeout(r, 5_000));
      }
      await n8n.stop();
      console.log(`[e2e]     ${label}: ${((Date.now() - t0) / 1000).toFixed(1)} s (start, poll, ${expectRuns ? 'executions stored' : 'no execution expected'}, stop)`);
    };

    // 1. first poll: everything is new.
    await poll('poll 1', true);
    const [ckEx] = await n8n.executions(ck.id);
    assert(ckEx.status === 'success', `CKalender execution ${ckEx.status}: ${ckEx.error}`);
    assert(ckEx.mode === 'trigger', `CKalender execution mode ${ckEx.mode}, expected trigger`);
    const summary = summaryOf(ckEx.runData, 'Room Sync (by LOCATION)');
    assert(summary.ok === true, `Room Sync summary: ${JSON.stringify(summary)}`);
    assert(googleTitles(world, r107, ckSync).includes('Teamrunde Bauamt') && googleTitles(world, r107, ckSync).includes('Bewerbungsgespräche Sachbearbeitung'), `Besprechungsraum 1.07: ${JSON.stringify(googleTitles(world, r107, ckSync))}`);
    assert(googleTitles(world, r201, ckSync).includes('Teamrunde Bauamt (verschoben)'), `Besprechungsraum 2.01: ${JSON.stringify(googleTitles(world, r201, ckSync))}`);
    assert(!googleTitles(world, r201, ckSync).includes('Jour fixe Kämmerei'), 'the cancelled Jour fixe was written');
    sameList(googleTitles(world, saal, ckSync), ['Ratssitzung – Sitzungssaal gesperrt'], 'Sitzungssaal');
    sameList(googleTitles(world, schulung, ckSync), ['Schulung: Neues Dokumentenmanagement'], 'Schulungsraum EG');
    const [caEx] = await n8n.executions(ca.id);
    assert(caEx.status === 'success', `caldn execution ${caEx.status}: ${caEx.error}`);
    const added = (caEx.runData['caldn event changed']?.[0]?.data?.main?.[0] ?? []).map((i) => i.json).filter((j) => j.change === 'added');
    const names = caldn.flatMap((e) => e.dates.map((d) => d.name));
    assert(added.length > 0, 'the caldn trigger reported nothing');
    sameList(calEvents().map((e) => e.fields.subject ?? ''), added.map((a) => String(a.title)), 'Microsoft 365 events vs the trigger\'s added items');
    for (const t of calEvents().map((e) => e.fields.subject ?? '')) assert(names.includes(t), `event "${t}" is not in the caldn feed`);
    assert(world.feeds.get('/caldn.json').unauthorized === 0, 'the caldn feed was read without the bearer credential');

    // 2. no change: the polls fetch (conditional GET) and nothing runs or is written.
    const g1 = googleFingerprint(world, ckRooms);
    const m1 = graphFingerprint(world, [ROOMS.caldn]);
    await poll('poll 2 (no change)', false);
    assert((await n8n.executions(ck.id)).length === 1 && (await n8n.executions(ca.id)).length === 1, 'a poll without changes started an execution');
    assert(googleFingerprint(world, ckRooms) === g1 && graphFingerprint(world, [ROOMS.caldn]) === m1, 'a poll without changes wrote to the calendars');

    // 3. removed from CKalender → deleted in the room; caldn: one date renamed, one removed.
    world.feeds.set('/ckalender.ics', withoutUid(ckIcs, 'ck-20261105-0107@ckalender.example'), 'text/calendar');
    const renamedFrom = caldn[0].dates[1].name;
    const removedName = caldn[0].dates[2].name;
    caldn[0].dates[1].name = `${renamedFrom} (verlegt)`;
    caldn[0].dates.splice(2, 1);
    world.feeds.set('/caldn.json', JSON.stringify(caldn), 'application/json');
    const idOf = (subject: string) => calEvents().find((e) => e.fields.subject === subject)?.id;
    const renamedId = idOf(renamedFrom);
    await poll('poll 3 (removed / changed)', true);
    assert(!googleTitles(world, r107, ckSync).includes('Bewerbungsgespräche Sachbearbeitung'), 'the removed CKalender booking is still in Besprechungsraum 1.07');
    assert(googleTitles(world, r107, ckSync).includes('Teamrunde Bauamt'), 'Teamrunde Bauamt vanished from Besprechungsraum 1.07');
    assert(renamedId && idOf(`${renamedFrom} (verlegt)`) === renamedId, `the renamed caldn date was not updated in place (${JSON.stringify(calEvents().map((e) => [e.id, e.fields.subject]))})`);
    assert(idOf(removedName) === undefined, `the removed caldn date "${removedName}" is still in the calendar`);

    // 4. an empty CKalender feed is treated as broken: nothing runs, nothing is deleted.
    const g3 = googleFingerprint(world, ckRooms);
    const ckRuns = (await n8n.executions(ck.id)).length;
    world.feeds.set('/ckalender.ics', EMPTY_ICS, 'text/calendar');
    await poll('poll 4 (empty CKalender feed)', false);
    assert((await n8n.executions(ck.id)).length === ckRuns, 'the empty CKalender feed started an execution');
    assert(googleFingerprint(world, ckRooms) === g3, 'the empty CKalender feed changed the rooms');
    assert(JSON.stringify(googleBooking(world, r107, booking)) === bookingBefore, 'the person\'s own booking in Besprechungsraum 1.07 was changed');
  },
};

export const EXAMPLE_CHECKS: Check[] = [setup, learningspace, kaltura, conflicts, exportIcs, polling, present];
