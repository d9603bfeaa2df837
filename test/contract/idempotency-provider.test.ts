/**
 * No duplicate creates, by construction (issue 7), against the emulator for both targets: two
 * workers that list the same room before either writes — across the turn of an hour with the
 * second worker 7 s before and 7 s after the first, and truly simultaneous — leave exactly one
 * event per key (Google: deterministic ids; Graph: a transactionId derived from key, content and
 * what the target held, never from the clock). And once a person deletes a synced Graph event, the
 * re-create carries a new transactionId.
 */
import { startEmulator, type Emulator } from '../../emulator';
import type { CalendarEvent } from '../../core/event';
import { planSync } from '../../core/plan';
import { applyPlan } from '../../providers/apply';
import type { CalendarProvider, HttpPort, TimeWindow } from '../../providers/port';
import { MemoryKeyValueStore } from '../../providers/state';
import { GoogleCalendarProvider, googleFetchPort, staticTokenSource, withBearerAuth, STAMP_KEY } from '../../providers/google';
import { GraphCalendarProvider, clientCredentialsTokenSource, createGraphHttpPort, fetchHttpPort, PROPERTY_IDS } from '../../providers/graph';

const SYNC = 'sync-idem';
const HOUR = 3_600_000;
/** A turn of the hour; the first worker plans 3 s away from it, the second 7 s the other way. */
const H = Date.UTC(2026, 10, 20, 12);
const T = H - 3_000;
const GOOGLE_ROOM = 'idem-room@resource.calendar.google.com';
const GRAPH_ROOM = 'idem-room@contoso.example';
const N = 30;

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

function source(now: number): CalendarEvent[] {
  return Array.from({ length: N }, (_, i) => {
    const day = new Date(now + (1 + i) * 86_400_000).toISOString().slice(0, 10);
    return { uid: `lecture-${i}`, title: `Lecture ${i}`, start: { dateTime: `${day}T09:00:00`, timeZone: 'Europe/Berlin' }, end: { dateTime: `${day}T10:00:00`, timeZone: 'Europe/Berlin' } };
  });
}

function googleWorker(): GoogleCalendarProvider {
  const http = withBearerAuth(googleFetchPort(), staticTokenSource(emu.google.issueAccessToken({ subject: 'relay@example.com' })));
  return new GoogleCalendarProvider({ http, rootUrl: emu.url + '/', defaultTimeZone: 'Europe/Berlin' });
}

function graphWorker(opts: { spy?: (body: string) => void; stateStore?: MemoryKeyValueStore } = {}): GraphCalendarProvider {
  emu.graph.registerApp('client-i', 'secret-i', 'tenant-i');
  const transport = fetchHttpPort();
  const tokenSource = clientCredentialsTokenSource({ http: transport, tenantId: 'tenant-i', clientId: 'client-i', clientSecret: 'secret-i', authority: emu.url });
  const baseUrl = `${emu.url}/v1.0`;
  const inner = createGraphHttpPort({ tokenSource, baseUrl, transport });
  const http: HttpPort = async (req) => {
    if (req.method === 'POST' && typeof req.body === 'string') opts.spy?.(req.body);
    return inner(req);
  };
  return new GraphCalendarProvider({ http, baseUrl, defaultTimeZone: 'Europe/Berlin', ...(opts.stateStore ? { stateStore: opts.stateStore } : {}) });
}

/** Lists, then plans at `now` (nothing written yet); `apply()` writes later. */
async function listAndPlan(p: CalendarProvider, room: string, now: number) {
  const window: TimeWindow = { from: now - 7 * 86_400_000, to: now + 365 * 86_400_000 };
  const actual = await p.listOwned(room, SYNC, window);
  const plan = planSync(source(T).map((event) => ({ calendarId: room, event })), actual, { syncId: SYNC, window, floatingTimeZone: 'Europe/Berlin', seriesSupport: p.capabilities.seriesSupport }, now);
  return { plan, apply: () => applyPlan(plan, p, { quota: false }) };
}

function liveKeys(kind: 'google' | 'graph', room: string): string[] {
  if (kind === 'google') return emu.google.listRaw(room).filter((e) => e.status !== 'cancelled').map((e) => e.extendedProperties?.private?.[STAMP_KEY] as string);
  return emu.graph.listRaw(room).map((e) => e.singleValueExtendedProperties.find((x) => x.id.toLowerCase() === PROPERTY_IDS.sourceKey.toLowerCase())?.value ?? '?');
}

describe.each([
  ['google' as const, GOOGLE_ROOM],
  ['graph' as const, GRAPH_ROOM],
])('%s: two workers that saw the same room create each event once', (kind, room) => {
  beforeEach(() => {
    emu.reset();
    if (kind === 'google') emu.google.createCalendar(room, { timeZone: 'Europe/Berlin' });
    else emu.graph.addRoom({ email: room, displayName: 'Idem room' });
  });
  const worker = () => (kind === 'google' ? googleWorker() : graphWorker());

  test.each([
    ['7 s before the first, across the turn of the hour', -7_000],
    ['7 s after the first, across the turn of the hour', +7_000],
    ['at the same moment', 0],
  ])('second worker %s', async (_name, offset) => {
    const first = offset < 0 ? H + 3_000 : offset > 0 ? H - 3_000 : H;
    const second = first + offset;
    // The two plans straddle the hour — the old hour-bucketed transactionId differed here.
    if (offset !== 0) expect(Math.floor(first / HOUR)).not.toBe(Math.floor(second / HOUR));
    const [a, b] = await Promise.all([listAndPlan(worker(), room, first), listAndPlan(worker(), room, second)]);
    expect(a.plan.ops.filter((o) => o.action === 'create')).toHaveLength(N);
    expect(b.plan.ops.filter((o) => o.action === 'create')).toHaveLength(N);
    const [ra, rb] = await Promise.all([a.apply(), b.apply()]);
    expect(ra.ok && rb.ok).toBe(true);
    const keys = liveKeys(kind, room);
    expect(keys).toHaveLength(N);
    expect(new Set(keys).size).toBe(N);
  });
});

describe('graph: the transactionId follows what the target held', () => {
  beforeEach(() => {
    emu.reset();
    emu.graph.addRoom({ email: GRAPH_ROOM, displayName: 'Idem room' });
  });

  test('a person deletes a synced event: the re-create sends a new transactionId and the event is back, once', async () => {
    const txns: string[] = [];
    const spy = (body: string) => {
      const m = body.match(/"transactionId":"([^"]+)"/g);
      if (m) txns.push(...m.map((x) => x.slice(17, -1)));
    };
    const store = new MemoryKeyValueStore();
    const p = graphWorker({ spy, stateStore: store });
    const first = await listAndPlan(p, GRAPH_ROOM, T);
    expect((await first.apply()).totals.created).toBe(N);
    expect(txns).toHaveLength(N);
    const firstTx = new Map(txns.map((t) => [t, true]));
    // A person deletes lecture-0 in Outlook.
    const victim = (await p.listOwned(GRAPH_ROOM, SYNC, { from: T - 86_400_000, to: T + 400 * 86_400_000 })).find((t) => t.stamp?.sourceKey.includes('lecture-0'))!;
    const [gone] = await p.write(GRAPH_ROOM, [{ op: 'delete', calendarId: GRAPH_ROOM, key: victim.stamp!.sourceKey, targetId: victim.id }]);
    expect(gone.ok).toBe(true);
    txns.length = 0;
    // A second worker sharing the state (bridge, n8n static data) and the same worker again agree.
    const other = graphWorker({ spy, stateStore: store });
    const [again, again2] = await Promise.all([listAndPlan(p, GRAPH_ROOM, T + HOUR), listAndPlan(other, GRAPH_ROOM, T + HOUR + 7_000)]);
    expect(again.plan.ops.filter((o) => o.action === 'create').map((o) => o.key)).toEqual([victim.stamp!.sourceKey]);
    const [r1, r2] = await Promise.all([again.apply(), again2.apply()]);
    expect(r1.ok && r2.ok).toBe(true);
    expect(txns).toHaveLength(2);
    expect(txns[0]).toBe(txns[1]);
    expect(firstTx.has(txns[0])).toBe(false);
    const keys = liveKeys('graph', GRAPH_ROOM);
    expect(keys).toHaveLength(N);
    expect(new Set(keys).size).toBe(N);
  });
});
