/**
 * History benchmark: does a no-op run grow with the room's history or with the events in the
 * window? One room holds 10,000 owned events written by earlier runs over six years (2022–2027)
 * plus 10,000 foreign ones (people's bookings, same spread); a baseline room holds only the owned
 * events inside the window. The feed delivers the events of the window (a feed's current view).
 * Figures per provider: wall time of the no-op run (median of 3), the client's peak heap growth
 * during it, and the events the listing returned — as history-room / baseline-room ratios (the
 * targets: client time ≤ 1.5×, heap ≤ 2×, listed events ≤ 1.2×; the history is 6× the window). The emulator runs in its own worker
 * thread (bench/emulator-worker.ts: separate heap and event loop, as against the real services),
 * so the heap figure is the client's alone. The emulator scans its stores linearly (real services
 * index), so its serving time is reported and subtracted for the client-side figure (≤ 1.5×).
 */
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { startEmulatorWorker, type BenchEmulator } from './emulator-worker';
import { createFetchHttpPort } from '../providers/http';
import type { CalendarEvent } from '../core/event';
import type { SyncPolicy } from '../core/sync-types';
import { syncCalendars } from '../providers/sync';
import type { CalendarProvider } from '../providers/port';
import { GoogleCalendarProvider } from '../providers/google';
import { GraphCalendarProvider } from '../providers/graph';
import { report, type Check } from './measure';

const NOW = Date.UTC(2026, 10, 22, 8);
const FROM = Date.UTC(2022, 0, 1);
const TO = Date.UTC(2028, 0, 1);
const OWNED = Number(process.env.HISTORY_BENCH_EVENTS ?? 10_000);
const POLICY: SyncPolicy = { syncId: 'bench-history', window: { pastDays: 7, futureDays: 365 }, floatingTimeZone: 'Europe/Berlin', reportForeign: false, allowEmptySource: true };
const EVERYTHING: SyncPolicy = { ...POLICY, window: { from: FROM, to: TO } };

function spread(n: number, prefix: string): CalendarEvent[] {
  const step = (TO - FROM) / n;
  return Array.from({ length: n }, (_, i) => {
    const start = Math.floor((FROM + i * step) / 900_000) * 900_000;
    const iso = (ms: number) => new Date(ms).toISOString().slice(0, 19) + 'Z';
    return { uid: `${prefix}-${i}`, title: `${prefix} ${i}`, start: { dateTime: iso(start) }, end: { dateTime: iso(start + 3_600_000) } };
  });
}

function inWindow(events: CalendarEvent[]): CalendarEvent[] {
  const from = NOW - 7 * 86_400_000;
  const to = NOW + 365 * 86_400_000;
  return events.filter((e) => Date.parse(e.end.dateTime!) > from && Date.parse(e.start.dateTime!) < to);
}

async function noOp(emu: BenchEmulator, provider: CalendarProvider, room: string, desired: CalendarEvent[]) {
  const gc = (globalThis as { gc?: () => void }).gc;
  const times: number[] = [];
  const gcs: number[] = [];
  const server: number[] = [];
  let peak = 0;
  let listed = 0;
  for (let run = 0; run < 3; run++) {
    gc?.();
    const base = process.memoryUsage().heapUsed;
    let max = base;
    const timer = setInterval(() => { max = Math.max(max, process.memoryUsage().heapUsed); }, 5);
    let gcMs = 0;
    const obs = new PerformanceObserver((list) => { for (const e of list.getEntries()) gcMs += e.duration; });
    obs.observe({ entryTypes: ['gc'] });
    await emu.resetLog();
    const t0 = performance.now();
    const r = await syncCalendars({ provider, desired, routing: { target: room }, policy: POLICY, now: NOW, applyOptions: { quota: false } });
    server.push(await emu.servedMs());
    times.push(performance.now() - t0);
    await new Promise((res) => setImmediate(res));
    obs.disconnect();
    gcs.push(gcMs);
    clearInterval(timer);
    max = Math.max(max, process.memoryUsage().heapUsed);
    peak = Math.max(peak, max - base);
    const writes = r.plan.ops.filter((o) => o.action === 'create' || o.action === 'update' || o.action === 'delete').length;
    if (writes) throw new Error(`history bench: the no-op run planned ${writes} writes`);
    listed = r.plan.ops.length;
  }
  const order = times.map((t, i) => i).sort((a, b) => times[a] - times[b]);
  return { ms: times[order[1]], gcMs: gcs[order[1]], serverMs: server[order[1]], heapMb: peak / 1048576, ops: listed };
}

async function scenario(emu: BenchEmulator, kind: 'google' | 'graph', provider: CalendarProvider, rooms: { history: string; baseline: string }) {
  const owned = spread(OWNED, 'owned');
  const current = inWindow(owned);
  // Earlier runs wrote the whole history; people booked as much again.
  const first = await syncCalendars({ provider, desired: owned, routing: { target: rooms.history }, policy: EVERYTHING, now: NOW, applyOptions: { quota: false } });
  if (!first.ok) throw new Error(`history bench (${kind}): seeding failed`);
  const foreign = spread(OWNED, 'foreign').map((f) => (kind === 'google'
    ? { summary: f.title, start: { dateTime: f.start.dateTime }, end: { dateTime: f.end.dateTime } }
    : { subject: f.title, start: { dateTime: f.start.dateTime!.slice(0, -1), timeZone: 'UTC' }, end: { dateTime: f.end.dateTime!.slice(0, -1), timeZone: 'UTC' } }));
  for (let i = 0; i < foreign.length; i += 1000) await emu.seedForeign(kind, rooms.history, foreign.slice(i, i + 1000));
  const base = await syncCalendars({ provider, desired: current, routing: { target: rooms.baseline }, policy: POLICY, now: NOW, applyOptions: { quota: false } });
  if (!base.ok) throw new Error(`history bench (${kind}): baseline seeding failed`);
  const h = await noOp(emu, provider, rooms.history, current);
  const b = await noOp(emu, provider, rooms.baseline, current);
  return { h, b, inWindow: current.length };
}

export async function runHistoryBench(entry: string): Promise<boolean> {
  const only = process.env.HISTORY_BENCH_ONLY;
  const emu = await startEmulatorWorker(entry, 0);
  await emu.limitsOff();
  const rows: Array<[string, string]> = [];
  const checks: Check[] = [];
  try {
    for (const kind of ['google', 'graph'] as const) {
      if (only && only !== kind) continue;
      let provider: CalendarProvider;
      let rooms: { history: string; baseline: string };
      if (kind === 'google') {
        rooms = { history: 'history@resource.calendar.google.com', baseline: 'baseline@resource.calendar.google.com' };
        for (const r of Object.values(rooms)) await emu.createGoogleCalendar(r, 'Europe/Berlin');
        const token = await emu.googleToken();
        const http = createFetchHttpPort({ token: { getToken: async () => token } });
        provider = new GoogleCalendarProvider({ http, rootUrl: emu.url + '/', defaultTimeZone: 'Europe/Berlin', quota: false });
      } else {
        rooms = { history: 'history@contoso.example', baseline: 'baseline@contoso.example' };
        for (const r of Object.values(rooms)) await emu.addGraphRoom(r, r);
        const token = await emu.graphToken();
        const http = createFetchHttpPort({ token: { getToken: async () => token } });
        provider = new GraphCalendarProvider({ http, baseUrl: `${emu.url}/v1.0`, defaultTimeZone: 'Europe/Berlin', quota: false });
      }
      console.log(`  ${kind}: writing ${OWNED} owned events over 2022–2027 and ${OWNED} foreign ones …`);
      const { h, b, inWindow: n } = await scenario(emu, kind, provider, rooms);
      const name = kind === 'google' ? 'Google' : 'Microsoft 365';
      rows.push([`${name}: events in the window`, `${n} of ${OWNED} owned`]);
      rows.push([`${name}: no-op run, history room (${OWNED} + ${OWNED} foreign)`, `${h.ms.toFixed(0)} ms (emulator ${h.serverMs.toFixed(0)} ms, GC ${h.gcMs.toFixed(0)} ms), heap +${h.heapMb.toFixed(1)} MB, ${h.ops} plan ops`]);
      rows.push([`${name}: no-op run, baseline room (window only)`, `${b.ms.toFixed(0)} ms (emulator ${b.serverMs.toFixed(0)} ms, GC ${b.gcMs.toFixed(0)} ms), heap +${b.heapMb.toFixed(1)} MB, ${b.ops} plan ops`]);
      // Wall time includes the emulator's linear scan of the whole mailbox (real services index): a figure, not a target.
      rows.push([`${name}: wall time history/baseline`, `${(h.ms / b.ms).toFixed(2)}×`]);
      checks.push({ name: `${name} client time (wall − emulator) history/baseline`, value: (h.ms - h.serverMs) / Math.max(1, b.ms - b.serverMs), limit: 1.5, kind: 'max', unit: '×' });
      checks.push({ name: `${name} heap history/baseline`, value: h.heapMb / Math.max(b.heapMb, 0.1), limit: 2, kind: 'max', unit: '×' });
      // Graph lists owned events beyond the window's end too (an event moved into the window must be
      // found, not created twice): the ~7 weeks after the window of this six-year room.
      checks.push({ name: `${name} plan ops history/baseline`, value: h.ops / b.ops, limit: 1.2, kind: 'max', unit: '×' });
    }
  } finally {
    await emu.close();
  }
  return report(`History: no-op run in a room with ${OWNED} owned + ${OWNED} foreign events over six years`, rows, checks);
}
