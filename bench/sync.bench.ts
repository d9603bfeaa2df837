/**
 * Sync benchmark: the whole run (syncCalendars: list → plan → applyPlan → provider → HTTP) against
 * the emulator with 20 ms added to every request (batch parts included), for Google and
 * Microsoft 365, with (a) 5,000 events into one room and (b) 50 rooms × 200 events.
 *
 * Per scenario: full sync into empty rooms, a no-op re-sync, and a re-sync with 1 % of the events
 * changed. Request counts come from the emulator's request log and are compared with minima
 * computed in the same run (Google: ceil(n/50) batches per room + list pages; Graph: ceil(n/20)
 * + list pages). For Graph (b) the wall time is compared with the bound that 4 concurrent
 * requests per mailbox allow, computed from the latency measured in this run.
 *
 * Modelled limits: Graph's are on (4 concurrent, 10,000 / 10 min per mailbox). Google's 600
 * requests/min per calendar is switched off: with it, 5,000 writes into one calendar cannot take
 * less than 8⅓ minutes whatever the client does (printed as a figure), which would measure the
 * quota, not the engine.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { CalendarEvent } from '../core/event';
import type { RoutingConfig } from '../core/routing';
import type { SyncPolicy } from '../core/sync-types';
import { formatDate, MS } from '../core/time';
import { startEmulatorInProcess, startEmulatorWorker, type BenchEmulator } from './emulator-worker';
import { createFetchHttpPort } from '../providers/http';
import type { CalendarProvider } from '../providers/port';
import { syncCalendars, type SyncRunResult } from '../providers/sync';
import { GoogleCalendarProvider } from '../providers/google';
import { GraphCalendarProvider } from '../providers/graph';
import { report, type Check } from './measure';

const LATENCY_MS = 20;
const NOW = Date.UTC(2026, 10, 22, 8);
const POLICY: SyncPolicy = { syncId: 'bench-sync', window: { pastDays: 7, futureDays: 365 }, floatingTimeZone: 'Europe/Berlin', reportForeign: false };
const GOOGLE_BATCH = 50;
const GRAPH_BATCH = 20;
const GOOGLE_PAGE = 2500;
const GRAPH_PAGE = 500;

interface Scenario {
  name: string;
  rooms: number;
  perRoom: number;
}

const SCENARIOS: Scenario[] = [
  { name: '5,000 events into one room', rooms: 1, perRoom: 5000 },
  { name: '50 rooms × 200 events', rooms: 50, perRoom: 200 },
];

function roomId(kind: 'google' | 'graph', i: number): string {
  return kind === 'google' ? `bench-room-${i + 1}@resource.calendar.google.com` : `bench-room-${i + 1}@contoso.example`;
}

function makeEvents(s: Scenario): CalendarEvent[] {
  const out: CalendarEvent[] = [];
  for (let r = 0; r < s.rooms; r++) {
    for (let i = 0; i < s.perRoom; i++) {
      const day = formatDate(Date.UTC(2026, 11, 1) + (i % 200) * MS.DAY);
      const hour = String(7 + Math.floor(i / 200) % 12).padStart(2, '0');
      out.push({
        uid: `r${r}-e${i}`, sourceId: 'bench', title: `Lecture ${r}/${i}`, location: `Room ${r + 1}`, description: `Course material ${i}`,
        start: { dateTime: `${day}T${hour}:00:00`, timeZone: 'Europe/Berlin' }, end: { dateTime: `${day}T${hour}:45:00`, timeZone: 'Europe/Berlin' },
      });
    }
  }
  return out;
}

function routing(kind: 'google' | 'graph', s: Scenario): RoutingConfig {
  return { by: { kind: 'location' }, map: Object.fromEntries(Array.from({ length: s.rooms }, (_, r) => [`Room ${r + 1}`, roomId(kind, r)])) };
}

async function provider(kind: 'google' | 'graph', emu: BenchEmulator): Promise<CalendarProvider> {
  if (kind === 'google') {
    const token = await emu.googleToken();
    const http = createFetchHttpPort({ token: { getToken: async () => token } });
    // The emulator's Google quota is off here (see above), so the client does not pace to it either.
    return new GoogleCalendarProvider({ http, rootUrl: `${emu.url}/`, defaultTimeZone: 'Europe/Berlin', quota: false });
  }
  const token = await emu.graphToken();
  const http = createFetchHttpPort({ token: { getToken: async () => token } });
  return new GraphCalendarProvider({ http, baseUrl: `${emu.url}/v1.0`, defaultTimeZone: 'Europe/Berlin' });
}

interface Counts {
  /** Top-level HTTP requests (a batch counts once). */
  requests: number;
  batches: number;
  /** Writes executed by the server (batch parts and single write requests). */
  writes: number;
  lists: number;
  throttled: number;
  wallMs: number;
  /** Event-loop busy time of the client's and (in a worker) the emulator's thread during the run. */
  clientBusyMs: number;
  serverBusyMs: number;
  /** Top-level requests per target mailbox/calendar (lists and single writes). */
  perTargetItems: Record<string, number>;
}

const WRITE_KINDS = new Set(['google:insert', 'google:import', 'google:patch', 'google:update', 'google:delete', 'graph:create', 'graph:patch', 'graph:delete']);
const LIST_KINDS = new Set(['google:list', 'graph:list', 'graph:calendarView', 'graph:delta']);

async function measured(emu: BenchEmulator, run: () => Promise<SyncRunResult>): Promise<Counts & { result: SyncRunResult; maxConcurrency: Record<string, number> }> {
  await emu.resetLog();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const result = await run();
  const wallMs = performance.now() - t0;
  const clientBusyMs = performance.eventLoopUtilization(elu0).active;
  const log = await emu.log();
  const parts = log.batchSizes.reduce((a, b) => a + b, 0);
  let writes = 0;
  let lists = 0;
  for (const [k, n] of Object.entries(log.byKind)) {
    if (WRITE_KINDS.has(k)) writes += n;
    if (LIST_KINDS.has(k)) lists += n;
  }
  const throttled = Object.entries(log.byRoute).filter(([k]) => / (429|403)$/.test(k)).reduce((a, [, n]) => a + n, 0);
  return { result, requests: log.total - parts, batches: log.batchCount, writes, lists, throttled, wallMs, clientBusyMs, serverBusyMs: log.busyMs, perTargetItems: log.byTarget, maxConcurrency: log.maxConcurrency };
}

/** Median wall time of one plain GET through the same transport (20 ms of it is the emulator's). */
async function measureLatency(emu: BenchEmulator): Promise<number> {
  const times: number[] = [];
  const url = `${emu.url}/v1.0/users/bench-room-1@contoso.example/events?$top=1`;
  const token = await emu.graphToken();
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    await res.text();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const fmt = (n: number, d = 0) => n.toFixed(d);

/**
 * The fastest a full sync can be under Outlook's 4 concurrent requests per mailbox, in round
 * trips (RTT) of the slowest mailbox (mailboxes are independent):
 *
 * - `bound` = ceil(requests to the mailbox / 4) × RTT: every list page and every batch item holds
 *   one of the 4 slots for at least one round trip.
 * - `batchBound` = (list pages + Σ over batches of (1 + ceil(items / 4))) × RTT: what `$batch`
 *   can reach. Graph dispatches up to 4 items of a batch at once, so one 20-item batch already
 *   fills the mailbox's 4 slots for 5 round trips and a second batch in flight would be throttled;
 *   each batch also costs one round trip of its own (client → Graph → back) during which its
 *   mailbox runs nothing. For 200 events: 1 + 10 × (1 + 5) = 61 RTT vs ceil(201 / 4) = 51 (1.20×).
 *   Plain requests (4 in flight) would reach `bound` but cost 20× the requests.
 */
function mailboxBounds(perTarget: Record<string, number>, perRoom: number, latency: number): { slowest: number; bound: number; batchBound: number } {
  const slowest = Math.max(...Object.entries(perTarget).filter(([t]) => t.startsWith('bench-room')).map(([, c]) => c));
  const listPages = Math.max(1, slowest - perRoom);
  let trips = listPages;
  for (let left = perRoom; left > 0; left -= GRAPH_BATCH) trips += 1 + Math.ceil(Math.min(GRAPH_BATCH, left) / 4);
  return { slowest, bound: Math.ceil(slowest / 4) * latency, batchBound: trips * latency };
}

/** A fresh full sync of `events` into emptied rooms at `latencyMs`. */
async function freshFullSync(emu: BenchEmulator, kind: 'google' | 'graph', s: Scenario, events: CalendarEvent[], route: RoutingConfig, latencyMs: number): Promise<Counts> {
  await emu.reset();
  await emu.setLatency(latencyMs);
  for (let r = 0; r < s.rooms; r++) await emu.addGraphRoom(roomId(kind, r), `Room ${r + 1}`);
  const p = await provider(kind, emu);
  const m = await measured(emu, () => syncCalendars({ provider: p, desired: events, routing: route, policy: POLICY, now: NOW }));
  await emu.setLatency(LATENCY_MS);
  if (!m.result.ok) throw new Error('bench full sync failed');
  return m;
}

const busy = (m: Counts) => `${fmt(m.clientBusyMs / 1000, 2)} / ${fmt(m.serverBusyMs / 1000, 2)}`;

async function benchOne(emu: BenchEmulator, kind: 'google' | 'graph', s: Scenario): Promise<boolean> {
  await emu.reset();
  await emu.setLatency(LATENCY_MS);
  if (kind === 'google') await emu.googleLimitsOff();
  for (let r = 0; r < s.rooms; r++) {
    if (kind === 'google') await emu.createGoogleCalendar(roomId(kind, r), 'Europe/Berlin');
    else await emu.addGraphRoom(roomId(kind, r), `Room ${r + 1}`);
  }
  const events = makeEvents(s);
  const route = routing(kind, s);
  const p = await provider(kind, emu);
  const run = (desired: CalendarEvent[]) => () => syncCalendars({ provider: p, desired, routing: route, policy: POLICY, now: NOW });
  const B = kind === 'google' ? GOOGLE_BATCH : GRAPH_BATCH;
  const page = kind === 'google' ? GOOGLE_PAGE : GRAPH_PAGE;
  const n = s.perRoom;

  const latency = kind === 'graph' ? await measureLatency(emu) : LATENCY_MS;
  const full = await measured(emu, run(events));
  const maxConc = Math.max(0, ...Object.entries(full.maxConcurrency).filter(([t]) => t.startsWith('bench-room')).map(([, c]) => c));
  const noop = await measured(emu, run(events));
  const changedEvents = events.map((e, i) => (i % 100 === 0 ? { ...e, title: `${e.title} (moved to 2nd floor)` } : e));
  const changedCount = events.length - events.filter((e, i) => changedEvents[i] === e).length;
  const changed = await measured(emu, run(changedEvents));

  // Minima computed from the scenario: one list page per empty room, ceil(n/B) batches per room.
  const minFull = s.rooms * (1 + Math.ceil(n / B));
  const minNoopLists = s.rooms * Math.ceil(n / page);
  const changedPerRoom = changedCount / s.rooms;
  const minChanged = minNoopLists + s.rooms * Math.ceil(changedPerRoom / B);

  const rows: Array<[string, string]> = [
    ['latency added per request (ms)', String(LATENCY_MS)],
    ['full sync: ok / wall time (s)', `${full.result.ok} / ${fmt(full.wallMs / 1000, 2)}`],
    ['full sync: client / emulator thread busy (s)', busy(full)],
    ['full sync: HTTP requests (batch = 1) / minimum', `${full.requests} / ${minFull}`],
    ['full sync: writes executed / events', `${full.writes} / ${events.length}`],
    ['full sync: batches / list requests / throttled answers', `${full.batches} / ${full.lists} / ${full.throttled}`],
    ['no-op re-sync: ok / wall time (s)', `${noop.result.ok} / ${fmt(noop.wallMs / 1000, 2)}`],
    ['no-op re-sync: requests / writes / list pages (minimum)', `${noop.requests} / ${noop.writes} / ${noop.lists} (${minNoopLists})`],
    ['1 % changed: ok / wall time (s)', `${changed.result.ok} / ${fmt(changed.wallMs / 1000, 2)}`],
    ['1 % changed: changed events / writes / batches', `${changedCount} / ${changed.writes} / ${changed.batches}`],
    ['1 % changed: requests / minimum', `${changed.requests} / ${minChanged}`],
  ];
  const checks: Check[] = [
    { name: 'full sync requests ÷ minimum', value: full.requests / minFull, limit: 1.1, kind: 'max', unit: '×' },
    { name: 'full sync writes ÷ events', value: full.writes / events.length, limit: 1.0, kind: 'max', unit: '×' },
    { name: 'no-op re-sync writes', value: noop.writes, limit: 0, kind: 'max' },
    { name: 'no-op re-sync requests ÷ list-page minimum', value: noop.requests / minNoopLists, limit: 1.0, kind: 'max', unit: '×' },
    { name: '1 % changed writes ÷ changed events', value: changed.writes / changedCount, limit: 1.0, kind: 'max', unit: '×' },
    { name: '1 % changed requests ÷ minimum', value: changed.requests / minChanged, limit: 1.1, kind: 'max', unit: '×' },
  ];
  if (kind === 'google' && s.rooms === 1) {
    rows.push(['Google quota floor for these writes at 600/min per calendar (min)', fmt(events.length / 600, 1)]);
  }
  if (kind === 'graph') {
    rows.push(['max concurrent requests seen per mailbox (full sync)', String(maxConc)]);
    checks.push({ name: 'max concurrent requests per mailbox', value: maxConc, limit: 4, kind: 'max' });
    const b = mailboxBounds(full.perTargetItems, n, latency);
    rows.push(['measured round trip of one GET (ms, median)', fmt(latency, 1)]);
    rows.push(['requests per mailbox (slowest mailbox)', String(b.slowest)]);
    rows.push(['bound from 4 concurrent per mailbox (s)', fmt(b.bound / 1000, 2)]);
    rows.push(['bound reachable with 20-item $batch (s)', fmt(b.batchBound / 1000, 2)]);
    rows.push(['full sync wall ÷ 4-concurrent bound / ÷ $batch bound', `${fmt(full.wallMs / b.bound, 2)}× / ${fmt(full.wallMs / b.batchBound, 2)}×`]);
    if (s.rooms > 1) {
      checks.push({ name: 'full sync wall time ÷ 4-concurrent-per-mailbox bound', value: full.wallMs / b.bound, limit: 1.3, kind: 'max', unit: '×' });
      // The same full sync without added latency: the CPU floor of client + emulator on this
      // machine. A run cannot beat max(bound, floor); a wall time near the floor means the
      // latency was hidden and the CPU decided.
      const floor = await freshFullSync(emu, kind, s, events, route, 0);
      rows.push(['CPU floor: same full sync with 0 ms latency (s)', fmt(floor.wallMs / 1000, 2)]);
      rows.push(['CPU floor: client / emulator thread busy (s)', busy(floor)]);
      rows.push(['full sync wall ÷ max($batch bound, CPU floor)', `${fmt(full.wallMs / Math.max(b.batchBound, floor.wallMs), 2)}×`]);
      // With 100 ms per request the latency, not the CPU, decides: the engine's own overhead shows.
      const slow = 100;
      await emu.setLatency(slow);
      const slowLatency = await measureLatency(emu);
      const slowRun = await freshFullSync(emu, kind, s, events, route, slow);
      const sb = mailboxBounds(slowRun.perTargetItems, n, slowLatency);
      rows.push([`at ${slow} ms latency: full sync wall / bound / $batch bound (s)`, `${fmt(slowRun.wallMs / 1000, 2)} / ${fmt(sb.bound / 1000, 2)} / ${fmt(sb.batchBound / 1000, 2)}`]);
      rows.push([`at ${slow} ms latency: wall ÷ 4-concurrent bound / ÷ $batch bound`, `${fmt(slowRun.wallMs / sb.bound, 2)}× / ${fmt(slowRun.wallMs / sb.batchBound, 2)}×`]);
      checks.push({ name: `at ${slow} ms latency: full sync wall time ÷ 4-concurrent bound`, value: slowRun.wallMs / sb.bound, limit: 1.3, kind: 'max', unit: '×' });
      await emu.setLatency(LATENCY_MS);
    }
  }
  return report(`Sync — ${kind === 'google' ? 'Google Calendar' : 'Microsoft 365 (Graph)'} — ${s.name}`, rows, checks);
}

/** `entry`: the bundle to start the emulator worker from (bench/run.ts passes its own file). */
export async function runSyncBench(entry: string): Promise<boolean> {
  const inProcess = process.env.SYNC_BENCH_IN_PROCESS === '1';
  const emu = inProcess ? await startEmulatorInProcess(LATENCY_MS) : await startEmulatorWorker(entry, LATENCY_MS);
  console.log(`\n(emulator ${inProcess ? 'in the client\'s thread' : 'in its own worker thread'}; ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')})`);
  let ok = true;
  try {
    const only = process.env.SYNC_BENCH_ONLY; // e.g. "graph" or "google"
    const onlyRooms = process.env.SYNC_BENCH_ROOMS; // "1" or "50": one scenario
    for (const kind of ['google', 'graph'] as const) {
      if (only && only !== kind) continue;
      for (const s of SCENARIOS) if (!onlyRooms || Number(onlyRooms) === s.rooms) ok = (await benchOne(emu, kind, s)) && ok;
    }
  } finally {
    await emu.close();
  }
  return ok;
}
