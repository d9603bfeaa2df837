/**
 * CalDAV benchmark on a real Radicale (scripts/caldav-servers.mjs): N single events (default
 * 5,000) into one calendar, then a no-op re-sync with calendar-query (listMode 'full') and with
 * sync-collection (listMode 'incremental', after one run that took the token). Prints requests ÷
 * events and wall time per phase; the figures are recorded in docs/performance.md.
 *
 *   npm run bench -- caldav            (only when named: it needs Radicale, and minutes)
 *   CALDAV_BENCH_EVENTS=1000           events (default 5000)
 *   CALDAV_BENCH_SERVER=xandikos       Xandikos instead (its own settings: none)
 *   CALDAV_BENCH_RADICALE=stock|no-fsync|uid-index|no-fsync,uid-index
 *                                      Radicale settings (default no-fsync,uid-index; what each
 *                                      does and why: radicaleBenchLauncher in scripts/caldav-servers.mjs)
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CalendarEvent } from '../core/event';
import type { SyncPolicy } from '../core/sync-types';
import { CalDavCalendarProvider, createCalDavHttpPort, mkcalendarBody } from '../providers/caldav';
import { MemoryKeyValueStore } from '../providers/state';
import { syncCalendars } from '../providers/sync';
import { freePort } from '../test/free-port';

const NOW = Date.UTC(2026, 10, 22, 8);
const POLICY: SyncPolicy = { syncId: 'bench-caldav', window: { pastDays: 7, futureDays: 365 }, reportForeign: false };

function events(n: number): CalendarEvent[] {
  const out: CalendarEvent[] = [];
  for (let i = 0; i < n; i++) {
    const start = NOW + (i % 360) * 86_400_000 + (8 + (i % 10)) * 3_600_000;
    const iso = (t: number) => new Date(t).toISOString().slice(0, 19) + 'Z';
    out.push({ uid: `bench-${i}@caldav`, sourceId: 'bench', title: `Lecture ${i}`, location: `Hall ${i % 7}`, start: { dateTime: iso(start) }, end: { dateTime: iso(start + 5_400_000) } });
  }
  return out;
}

/** Radicale settings from CALDAV_BENCH_RADICALE (see the header). */
export function radicaleBenchFlags(setting = process.env.CALDAV_BENCH_RADICALE ?? 'no-fsync,uid-index'): string[] {
  const parts = setting.split(',').map((x) => x.trim()).filter(Boolean);
  const bad = parts.filter((p) => !['stock', 'no-fsync', 'uid-index'].includes(p));
  if (bad.length || (parts.includes('stock') && parts.length > 1)) throw new Error(`CALDAV_BENCH_RADICALE=${setting}: use stock, no-fsync, uid-index or no-fsync,uid-index`);
  return parts.filter((p) => p !== 'stock').map((p) => `--${p}`);
}

/**
 * CPU seconds (user + system) a process has used, from /proc (Linux; undefined elsewhere). On a
 * shared machine the wall time mostly measures the queue for the CPU; this does not.
 */
function cpuSeconds(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime (fields 14, 15) in USER_HZ = 100 ticks
  } catch {
    return undefined;
  }
}

export async function runCalDavBench(n = Number(process.env.CALDAV_BENCH_EVENTS ?? 5000), server = process.env.CALDAV_BENCH_SERVER ?? 'radicale'): Promise<boolean> {
  if (server !== 'radicale' && server !== 'xandikos') throw new Error(`CALDAV_BENCH_SERVER=${server}: radicale or xandikos`);
  const flags = server === 'radicale' ? radicaleBenchFlags() : [];
  const script = join(__dirname, '..', '..', 'scripts', 'caldav-servers.mjs');
  const scriptPath = existsSync(script) ? script : join(process.cwd(), 'scripts', 'caldav-servers.mjs');
  execFileSync(process.execPath, [scriptPath, 'install'], { stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'caldav-bench-'));
  const spec = JSON.parse(execFileSync(process.execPath, [scriptPath, 'spec', server, String(await freePort()), dir, ...flags], { encoding: 'utf8' })) as { command: string; args: string[]; url: string; username?: string; password?: string; principal: string };
  const child = spawn(spec.command, spec.args, { stdio: 'ignore' });
  try {
    for (let i = 0; ; i++) {
      try {
        await fetch(spec.url, { method: 'OPTIONS' });
        break;
      } catch {
        if (i > 200) throw new Error(`${server} did not start`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const http = createCalDavHttpPort({ baseUrl: spec.url, auth: spec.username ? { type: 'basic', username: spec.username, password: spec.password ?? '' } : { type: 'none' } });
    // Radicale makes calendars in the principal, Xandikos in its calendars/ home.
    const cal = new URL(`${spec.principal}${server === 'xandikos' ? 'calendars/' : ''}bench/`, spec.url).href;
    const mk = await http({ method: 'MKCALENDAR', url: cal, body: mkcalendarBody('Bench') });
    if (mk.status !== 201) throw new Error(`MKCALENDAR: ${mk.status}`);
    const desired = events(n);
    const store = new MemoryKeyValueStore();
    const phase = async (name: string, listMode: 'full' | 'incremental') => {
      const p = new CalDavCalendarProvider({ http, now: () => NOW, listMode, stateStore: store });
      const t0 = performance.now();
      const server0 = cpuSeconds(child.pid);
      const client0 = process.cpuUsage();
      const r = await syncCalendars({ provider: p, desired, routing: { target: cal }, policy: POLICY, now: NOW });
      const ms = performance.now() - t0;
      const client = process.cpuUsage(client0);
      const server1 = cpuSeconds(child.pid);
      const cpu = `CPU: server ${server0 !== undefined && server1 !== undefined ? `${(server1 - server0).toFixed(1)} s` : '?'}, client ${((client.user + client.system) / 1e6).toFixed(1)} s`;
      const t = r.report!.totals;
      const req = p.dav.requests;
      console.log(`${name.padEnd(34)} ${String(req).padStart(6)} requests  ${(req / n).toFixed(3).padStart(6)} req/event  ${(ms / 1000).toFixed(1).padStart(6)} s (${cpu})  created ${t.created}, updated ${t.updated}, unchanged ${t.unchanged}, failed ${t.failed}  ${JSON.stringify(p.dav.counts)}`);
      return { ok: r.ok, req, ms, t };
    };
    console.log(`\nCalDAV on ${server} (real server, loopback), ${n} single events into one calendar${server === 'radicale' ? `; Radicale settings: ${flags.join(' ') || 'stock'}` : ''}`);
    const first = await phase('first sync (calendar-query)', 'full');
    const noop = await phase('no-op re-sync (calendar-query)', 'full');
    await phase('re-sync taking a sync-token', 'incremental');
    const inc = await phase('no-op re-sync (sync-collection)', 'incremental');
    const ok = first.ok && first.t.created === n && noop.t.created + noop.t.updated + noop.t.deleted === 0 && inc.t.created + inc.t.updated === 0;
    console.log(ok ? 'CalDAV benchmark: converged, 0 writes on re-sync' : 'MISS: CalDAV benchmark did not converge');
    return ok;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

