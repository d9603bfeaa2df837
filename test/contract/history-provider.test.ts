/**
 * Listing grows with the events in the window, not the room's history (issue 7): Microsoft 365's
 * owned-event listing leaves out, on the server, single events that ended before the window and
 * series whose range ended before it (numbered and endless series stay: their span is judged by
 * the client). Google's listing is bounded by timeMin/timeMax already.
 */
import { startEmulator, type Emulator } from '../../emulator';
import type { CalendarEvent } from '../../core/event';
import type { HttpPort, WriteOp } from '../../providers/port';
import { GraphCalendarProvider, clientCredentialsTokenSource, createGraphHttpPort, fetchHttpPort } from '../../providers/graph';

const ROOM = 'history@contoso.example';
const SYNC = 'sync-history';
const NOW = Date.UTC(2026, 10, 20);
const WINDOW = { from: NOW - 7 * 86_400_000, to: NOW + 90 * 86_400_000 };

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ limits: false });
});
afterAll(async () => {
  await emu.close();
});
afterEach(() => {
  expect(emu.internalErrors).toEqual([]);
});

test('Microsoft 365: past single events and ended series are not listed by the server; live series and window events are', async () => {
  emu.reset();
  emu.graph.addRoom({ email: ROOM, displayName: 'History' });
  emu.graph.registerApp('client-h', 'secret', 'tenant');
  const transport = fetchHttpPort();
  const tokenSource = clientCredentialsTokenSource({ http: transport, tenantId: 'tenant', clientId: 'client-h', clientSecret: 'secret', authority: emu.url });
  const baseUrl = `${emu.url}/v1.0`;
  const inner = createGraphHttpPort({ tokenSource, baseUrl, transport });
  const served: string[] = [];
  const http: HttpPort = async (req) => {
    const res = await inner(req);
    if (req.method === 'GET' && req.url.includes('/events?')) for (const e of (JSON.parse(res.body).value ?? []) as Array<{ subject?: string }>) served.push(e.subject ?? '?');
    return res;
  };
  const p = new GraphCalendarProvider({ http, baseUrl, defaultTimeZone: 'Europe/Berlin' });
  const at = (d: string, h = 9) => ({ dateTime: `${d}T${String(h).padStart(2, '0')}:00:00`, timeZone: 'Europe/Berlin' });
  const ev = (uid: string, d: string, extra: Partial<CalendarEvent> = {}): CalendarEvent => ({ uid, title: uid, start: at(d), end: at(d, 10), ...extra });
  const weekly = (rule: string) => ({ rrule: [rule], rdate: [], exdate: [] });
  const events: CalendarEvent[] = [
    ...Array.from({ length: 40 }, (_, i) => ev(`past-${i}`, `2024-0${1 + (i % 9)}-1${i % 10}`)),
    ev('ended-series', '2024-01-08', { recurrence: weekly('FREQ=WEEKLY;UNTIL=20240401T235959Z') }),
    ev('endless-series', '2024-01-09', { recurrence: weekly('FREQ=WEEKLY') }),
    ev('numbered-series', '2024-01-10', { recurrence: weekly('FREQ=WEEKLY;COUNT=10') }),
    ev('current-series', '2026-10-05', { recurrence: weekly('FREQ=WEEKLY;UNTIL=20261231T235959Z') }),
    ...Array.from({ length: 5 }, (_, i) => ev(`now-${i}`, `2026-11-2${i + 1}`)),
  ];
  const ops: WriteOp[] = events.map((e) => ({ op: 'create', calendarId: ROOM, key: e.uid, event: e, stamp: { syncId: SYNC, sourceKey: e.uid, fingerprint: 'f' } }));
  for (let i = 0; i < ops.length; i += 20) expect((await p.write(ROOM, ops.slice(i, i + 20))).every((r) => r.ok)).toBe(true);
  const owned = await p.listOwned(ROOM, SYNC, WINDOW);
  expect(served.sort()).toEqual(['current-series', 'endless-series', 'now-0', 'now-1', 'now-2', 'now-3', 'now-4', 'numbered-series']);
  // The client keeps numbered series too (a COUNT's end is not computed for listing: safe side).
  expect(owned.map((t) => t.event.title).sort()).toEqual(['current-series', 'endless-series', 'now-0', 'now-1', 'now-2', 'now-3', 'now-4', 'numbered-series']);
});
