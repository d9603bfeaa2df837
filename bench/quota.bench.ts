/**
 * Quota benchmark: a first sync of 1,500 single events into one room against the emulator's
 * modelled quotas at REAL time scale (Google 600 requests / 60 s per user; Outlook 10,000 / 10 min
 * and 4 concurrent per mailbox). The figure is the wall time against the time the quota allows
 * (requests ÷ quota rate); the target is ≤ 1.3×. Google's run takes about two minutes by design.
 * `QUOTA_BENCH_SCALE=0.1` scales the windows (emulator limitScale + provider quota) for a quick
 * look; `QUOTA_BENCH_ONLY=google|graph` runs one provider. test/contract/quota-provider.test.ts
 * checks the same with scaled windows.
 */
import { performance } from 'node:perf_hooks';
import { startEmulator } from '../emulator';
import type { CalendarEvent } from '../core/event';
import { planSync } from '../core/plan';
import { applyPlan, type ApplyProgress } from '../providers/apply';
import type { CalendarProvider, TimeWindow } from '../providers/port';
import { GoogleCalendarProvider, googleFetchPort, staticTokenSource, withBearerAuth } from '../providers/google';
import { GraphCalendarProvider, clientCredentialsTokenSource, createGraphHttpPort, fetchHttpPort } from '../providers/graph';
import { report, type Check } from './measure';

const N = 1500;
const SYNC = 'bench-quota';
const NOW = Date.UTC(2026, 10, 22, 8);
const WINDOW: TimeWindow = { from: NOW - 7 * 86_400_000, to: NOW + 365 * 86_400_000 };

function events(): CalendarEvent[] {
  return Array.from({ length: N }, (_, i) => {
    const day = new Date(NOW + (1 + (i % 300)) * 86_400_000).toISOString().slice(0, 10);
    const hour = String(7 + Math.floor(i / 300)).padStart(2, '0');
    return { uid: `q-${i}`, title: `Event ${i}`, start: { dateTime: `${day}T${hour}:00:00`, timeZone: 'Europe/Berlin' }, end: { dateTime: `${day}T${hour}:45:00`, timeZone: 'Europe/Berlin' } };
  });
}

async function run(provider: CalendarProvider, room: string, print: (l: string) => void) {
  const t0 = performance.now();
  const actual = await provider.listOwned(room, SYNC, WINDOW);
  const plan = planSync(events().map((event) => ({ calendarId: room, event })), actual, { syncId: SYNC, window: WINDOW, floatingTimeZone: 'Europe/Berlin', seriesSupport: provider.capabilities.seriesSupport }, NOW);
  let lastLine = 0;
  const r = await applyPlan(plan, provider, {
    onProgress: (e: ApplyProgress) => {
      if (e.type === 'quota-wait' && performance.now() - lastLine > 5_000) {
        lastLine = performance.now();
        print(`    waiting ${Math.round(e.waitMs / 1000)} s for the quota — ${e.done}/${e.total} written, about ${Math.round(e.etaMs / 1000)} s left`);
      }
    },
  });
  return { ok: r.ok, created: r.totals.created, ms: performance.now() - t0, quotaWaitMs: r.calendars[room]?.quotaWaitMs ?? 0 };
}

export async function runQuotaBench(): Promise<boolean> {
  const scale = Number(process.env.QUOTA_BENCH_SCALE ?? 1);
  const only = process.env.QUOTA_BENCH_ONLY;
  const emu = await startEmulator({ limitScale: scale });
  const rows: Array<[string, string]> = [];
  const checks: Check[] = [];
  try {
    if (!only || only === 'google') {
      const room = 'quota-room@resource.calendar.google.com';
      emu.google.createCalendar(room, { timeZone: 'Europe/Berlin' });
      const windowMs = 60_000 * scale;
      const http = withBearerAuth(googleFetchPort(), staticTokenSource(emu.google.issueAccessToken({ subject: 'relay@example.com' })));
      const p = new GoogleCalendarProvider({ http, rootUrl: emu.url + '/', defaultTimeZone: 'Europe/Berlin', quota: { windowMs } });
      console.log(`  Google: ${N} creates, 600 requests / ${windowMs / 1000} s per user …`);
      const g = await run(p, room, console.log);
      const quotaMs = (N / 600) * windowMs;
      rows.push([`Google ${N} creates: wall time`, `${(g.ms / 1000).toFixed(1)} s (ok ${g.ok}, created ${g.created})`]);
      rows.push(['Google: time the quota allows (1,500 ÷ 600/min)', `${(quotaMs / 1000).toFixed(1)} s`]);
      rows.push(['Google: waiting for the quota', `${(g.quotaWaitMs / 1000).toFixed(1)} s`]);
      rows.push(['Google: 403 rateLimitExceeded answers', String(emu.log.count({ api: 'google', fault: 'limit:rate' }))]);
      checks.push({ name: 'Google wall time / quota time', value: g.ms / quotaMs, limit: 1.3, kind: 'max', unit: '×' });
      checks.push({ name: 'Google run ok (1 = yes)', value: g.ok && g.created === N ? 1 : 0, limit: 1, kind: 'min' });
    }
    if (!only || only === 'graph') {
      emu.log.reset();
      const room = 'quota-room@contoso.example';
      emu.graph.addRoom({ email: room, displayName: 'Quota room' });
      emu.graph.registerApp('bench-q', 'secret', 'tenant');
      const transport = fetchHttpPort();
      const tokenSource = clientCredentialsTokenSource({ http: transport, tenantId: 'tenant', clientId: 'bench-q', clientSecret: 'secret', authority: emu.url });
      const baseUrl = `${emu.url}/v1.0`;
      const windowMs = 600_000 * scale;
      const p = new GraphCalendarProvider({ http: createGraphHttpPort({ tokenSource, baseUrl, transport }), baseUrl, defaultTimeZone: 'Europe/Berlin', quota: { windowMs } });
      console.log(`  Microsoft 365: ${N} creates, 10,000 requests / ${windowMs / 1000} s and 4 concurrent per mailbox …`);
      const m = await run(p, room, console.log);
      // 1,500 requests are within one window: the quota allows them at once; the bound is the 4-concurrent limit.
      rows.push([`Microsoft 365 ${N} creates: wall time`, `${(m.ms / 1000).toFixed(1)} s (ok ${m.ok}, created ${m.created})`]);
      rows.push(['Microsoft 365: waiting for the quota', `${(m.quotaWaitMs / 1000).toFixed(1)} s`]);
      rows.push(['Microsoft 365: 429 answers (rate / concurrency)', `${emu.log.count({ api: 'graph', fault: 'limit:rate' })} / ${emu.log.count({ api: 'graph', fault: 'limit:concurrency' })}`]);
      checks.push({ name: 'Microsoft 365 run ok (1 = yes)', value: m.ok && m.created === N ? 1 : 0, limit: 1, kind: 'min' });
    }
  } finally {
    await emu.close();
  }
  return report(`Quota: first sync of ${N} events into one room (scale ${scale})`, rows, checks);
}
