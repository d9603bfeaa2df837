/**
 * Large first syncs finish under the services' quotas (issue 7): 1,500 single events into one room
 * against the emulator's modelled limits, with the quota window scaled down (emulator
 * `limitScale`, provider `quota.windowMs`) so the test takes seconds, not minutes. The request counts are the
 * real ones (Google 600 per window per user; Graph 10,000 per window per mailbox and 4 concurrent,
 * and a tighter per-mailbox count to make Graph wait too). bench/quota.bench.ts runs the same at
 * real-time scale (docs/performance.md).
 */
import { startEmulator, type Emulator } from '../../emulator';
import type { CalendarEvent } from '../../core/event';
import { planSync } from '../../core/plan';
import { applyPlan, type ApplyProgress } from '../../providers/apply';
import type { TimeWindow } from '../../providers/port';
import { GoogleCalendarProvider, googleFetchPort, staticTokenSource, withBearerAuth } from '../../providers/google';
import { GraphCalendarProvider, clientCredentialsTokenSource, createGraphHttpPort, fetchHttpPort } from '../../providers/graph';

const SYNC = 'sync-quota';
const NOW = Date.UTC(2026, 10, 20);
const WINDOW: TimeWindow = { from: NOW - 7 * 86_400_000, to: NOW + 365 * 86_400_000 };
// 600 requests per 9 s for Google: long enough that the emulator's own serving time (2 shared
// cores, other Jest workers) stays small against the quota's, short enough for a test.
const SCALE = 0.15;
const N = 1500;

function events(n: number): CalendarEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const day = new Date(NOW + (1 + (i % 300)) * 86_400_000).toISOString().slice(0, 10);
    const hour = String(7 + Math.floor(i / 300)).padStart(2, '0');
    return { uid: `ev-${i}`, title: `Event ${i}`, start: { dateTime: `${day}T${hour}:00:00`, timeZone: 'Europe/Berlin' }, end: { dateTime: `${day}T${hour}:45:00`, timeZone: 'Europe/Berlin' } };
  });
}

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ limitScale: SCALE });
});
afterAll(async () => {
  await emu.close();
});
afterEach(() => {
  expect(emu.internalErrors).toEqual([]);
});

async function firstSync(provider: GoogleCalendarProvider | GraphCalendarProvider, room: string) {
  const policy = { syncId: SYNC, window: { from: WINDOW.from, to: WINDOW.to }, floatingTimeZone: 'Europe/Berlin', seriesSupport: provider.capabilities.seriesSupport };
  const progress: ApplyProgress[] = [];
  const t0 = Date.now();
  const actual = await provider.listOwned(room, SYNC, WINDOW);
  const plan = planSync(events(N).map((event) => ({ calendarId: room, event })), actual, policy, NOW);
  const report = await applyPlan(plan, provider, { onProgress: (e) => progress.push(e) });
  return { report, progress, ms: Date.now() - t0 };
}

test(`Google: ${N} creates into one room under 600 requests per (scaled) minute per user finish, ok, within 1.3× the quota time`, async () => {
  emu.reset();
  const room = 'big-room@resource.calendar.google.com';
  emu.google.createCalendar(room, { timeZone: 'Europe/Berlin' });
  const windowMs = 60_000 * SCALE;
  const http = withBearerAuth(googleFetchPort(), staticTokenSource(emu.google.issueAccessToken({ subject: 'relay@example.com' })));
  const provider = new GoogleCalendarProvider({ http, rootUrl: emu.url + '/', defaultTimeZone: 'Europe/Berlin', quota: { windowMs } });
  const { report, progress, ms } = await firstSync(provider, room);
  expect(report.ok).toBe(true);
  expect(report.totals.created).toBe(N);
  expect(emu.google.listRaw(room).filter((e) => e.status !== 'cancelled')).toHaveLength(N);
  const quotaMs = (N / 600) * windowMs;
  expect(ms).toBeLessThanOrEqual(1.3 * quotaMs);
  // Paced, not hammering: at most one batch of 403s (the listing the pacer did not count).
  expect(emu.log.count({ api: 'google', fault: 'limit:rate' })).toBeLessThanOrEqual(50);
  const waits = progress.filter((e) => e.type === 'quota-wait');
  expect(waits.length).toBeGreaterThan(0);
}, 90_000);

test(`Microsoft 365: ${N} creates into one mailbox under a per-mailbox request window and 4 concurrent finish, ok, within 1.3× the quota time`, async () => {
  emu.reset();
  const room = 'big-room@contoso.example';
  emu.graph.addRoom({ email: room, displayName: 'Big room' });
  // Outlook's own 10,000 / 10 min would never bind for 1,500 writes; 500 per 10 s makes the client
  // wait twice. One mailbox takes one $batch of 20 at a time (4 concurrent), so the emulator's own
  // serving time is larger than for Google and the window longer.
  const windowMs = 10_000;
  const maxRequests = 500;
  emu.faults.setLimits('graph', { windowMs, maxRequests, maxConcurrent: 4 });
  emu.graph.registerApp('client-q', 'secret-q', 'tenant-q');
  const transport = fetchHttpPort();
  const tokenSource = clientCredentialsTokenSource({ http: transport, tenantId: 'tenant-q', clientId: 'client-q', clientSecret: 'secret-q', authority: emu.url });
  const baseUrl = `${emu.url}/v1.0`;
  const provider = new GraphCalendarProvider({ http: createGraphHttpPort({ tokenSource, baseUrl, transport }), baseUrl, defaultTimeZone: 'Europe/Berlin', quota: { windowMs, maxRequests } });
  const { report, progress, ms } = await firstSync(provider, room);
  expect(report.ok).toBe(true);
  expect(report.totals.created).toBe(N);
  const quotaMs = (N / maxRequests) * windowMs;
  expect(ms).toBeLessThanOrEqual(1.3 * quotaMs);
  expect(emu.log.count({ api: 'graph', fault: 'limit:concurrency' })).toBe(0);
  expect(emu.log.count({ api: 'graph', fault: 'limit:rate' })).toBeLessThanOrEqual(20);
  expect(progress.some((e) => e.type === 'quota-wait')).toBe(true);
}, 90_000);
