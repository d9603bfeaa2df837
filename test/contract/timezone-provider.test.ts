/**
 * Time zones: one setting per target calendar (issue 7). Floating times (and, for Microsoft 365,
 * all-day events) are placed in the configured zone or the calendar's/mailbox's own (Google
 * `GET calendars/{id}` → timeZone; Graph mailboxSettings), and the zone is recorded in the stamp,
 * so changing it rewrites the affected events — and only those.
 */
import { startEmulator, type Emulator } from '../../emulator';
import type { CalendarEvent } from '../../core/event';
import { planSync } from '../../core/plan';
import { applyPlan } from '../../providers/apply';
import type { CalendarProvider, TimeWindow } from '../../providers/port';
import { GoogleCalendarProvider, googleFetchPort, staticTokenSource, withBearerAuth } from '../../providers/google';
import { GraphCalendarProvider, clientCredentialsTokenSource, createGraphHttpPort, fetchHttpPort } from '../../providers/graph';

const SYNC = 'sync-tz';
const NOW = Date.UTC(2026, 10, 20);
const WINDOW: TimeWindow = { from: NOW - 7 * 86_400_000, to: NOW + 365 * 86_400_000 };
const GROOM = 'tz-room@resource.calendar.google.com';
const MROOM = 'tz-room@contoso.example';

const floating: CalendarEvent = { uid: 'floating', title: 'Floating', start: { dateTime: '2026-12-01T09:00:00' }, end: { dateTime: '2026-12-01T10:00:00' } };
const zoned: CalendarEvent = { uid: 'zoned', title: 'Zoned', start: { dateTime: '2026-12-02T09:00:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2026-12-02T10:00:00', timeZone: 'Europe/Berlin' } };
const allDay: CalendarEvent = { uid: 'allday', title: 'All day', start: { date: '2026-12-03' }, end: { date: '2026-12-04' } };

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ limits: false });
});
afterAll(async () => {
  await emu.close();
});
beforeEach(() => emu.reset());
afterEach(() => {
  expect(emu.internalErrors).toEqual([]);
});

function google(defaultTimeZone?: string, readRetry = true): GoogleCalendarProvider {
  const http = withBearerAuth(googleFetchPort(), staticTokenSource(emu.google.issueAccessToken()));
  return new GoogleCalendarProvider({ http, rootUrl: emu.url + '/', ...(defaultTimeZone ? { defaultTimeZone } : {}), ...(readRetry ? {} : { readRetry: false as const }) });
}

function graph(defaultTimeZone?: string): GraphCalendarProvider {
  emu.graph.registerApp('client-tz', 'secret', 'tenant');
  const transport = fetchHttpPort();
  const tokenSource = clientCredentialsTokenSource({ http: transport, tenantId: 'tenant', clientId: 'client-tz', clientSecret: 'secret', authority: emu.url });
  const baseUrl = `${emu.url}/v1.0`;
  return new GraphCalendarProvider({ http: createGraphHttpPort({ tokenSource, baseUrl, transport }), baseUrl, ...(defaultTimeZone ? { defaultTimeZone } : {}) });
}

async function sync(p: CalendarProvider, room: string, events: CalendarEvent[]) {
  const plan = planSync(events.map((event) => ({ calendarId: room, event })), await p.listOwned(room, SYNC, WINDOW), { syncId: SYNC, window: WINDOW, seriesSupport: p.capabilities.seriesSupport }, NOW);
  const writes = plan.ops.filter((o) => o.action === 'create' || o.action === 'update' || o.action === 'delete').map((o) => `${o.action} ${o.key}`);
  const report = await applyPlan(plan, p, { quota: false });
  expect(report.ok).toBe(true);
  return writes;
}

describe('Google', () => {
  test('without a configured zone, floating times land in the calendar\'s own zone (not UTC); a zone change rewrites only them', async () => {
    emu.google.createCalendar(GROOM, { timeZone: 'Europe/Berlin' });
    expect(await sync(google(), GROOM, [floating, zoned, allDay])).toHaveLength(3);
    const raw = () => Object.fromEntries(emu.google.listRaw(GROOM).map((g) => [g.summary, g.start]));
    expect(raw().Floating).toEqual({ dateTime: '2026-12-01T09:00:00', timeZone: 'Europe/Berlin' });
    expect(await sync(google(), GROOM, [floating, zoned, allDay])).toEqual([]);
    // The room's zone changes: the floating event moves to 09:00 in the new zone, nothing else is written.
    emu.google.setCalendarTimeZone(GROOM, 'America/New_York');
    const writes = await sync(google(), GROOM, [floating, zoned, allDay]);
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatch(/^update .*floating/);
    expect(raw().Floating).toEqual({ dateTime: '2026-12-01T09:00:00', timeZone: 'America/New_York' });
    expect(await sync(google(), GROOM, [floating, zoned, allDay])).toEqual([]);
    // An explicit setting wins over the calendar's zone, and is recorded the same way.
    expect(await sync(google('Asia/Tokyo'), GROOM, [floating, zoned, allDay])).toHaveLength(1);
    expect(raw().Floating).toEqual({ dateTime: '2026-12-01T09:00:00', timeZone: 'Asia/Tokyo' });
  });

  test('a calendar whose zone cannot be read is not written with a guessed zone', async () => {
    emu.google.createCalendar(GROOM, { timeZone: 'Europe/Berlin' });
    emu.faults.next({ api: 'google', target: GROOM, kind: 'calendar' }, { kind: 'error', status: 503 });
    const p = google(undefined, false);
    await expect(p.listOwned(GROOM, SYNC, WINDOW)).rejects.toThrow(/time zone of calendar/);
    const [w] = await p.write(GROOM, [{ op: 'create', calendarId: GROOM, key: 'k', event: floating, stamp: { syncId: SYNC, sourceKey: 'k', fingerprint: 'f' } }]);
    // Not cached: the next call reads the zone again (the fault is spent) and writes in it.
    expect(w.ok).toBe(true);
    expect(emu.google.listRaw(GROOM)[0].start.timeZone).toBe('Europe/Berlin');
  });
});

describe('Microsoft 365', () => {
  test('floating and all-day events follow the mailbox zone; a changed mailbox zone rewrites them, not zoned events', async () => {
    emu.graph.addRoom({ email: MROOM, displayName: 'TZ room' });
    emu.graph.setMailboxTimeZone(MROOM, 'W. Europe Standard Time');
    expect(await sync(graph(), MROOM, [floating, zoned, allDay])).toHaveLength(3);
    expect(await sync(graph(), MROOM, [floating, zoned, allDay])).toEqual([]);
    emu.graph.setMailboxTimeZone(MROOM, 'Eastern Standard Time');
    const writes = await sync(graph(), MROOM, [floating, zoned, allDay]);
    expect(writes.sort()).toEqual([expect.stringMatching(/^update .*allday/), expect.stringMatching(/^update .*floating/)]);
    const byTitle = Object.fromEntries(emu.graph.listRaw(MROOM).map((e) => [e.fields.subject, e.fields.start]));
    expect(byTitle.Floating.timeZone).toMatch(/New_York|Eastern/);
    expect(await sync(graph(), MROOM, [floating, zoned, allDay])).toEqual([]);
  });
});
