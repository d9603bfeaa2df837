/**
 * `calendar-relay demo --caldav`: the seed-shaped sample feeds (CKalender, Kaltura with its
 * X-KALTURA-* properties, LearningSpace) synced into CalDAV room calendars on a CalDAV server given
 * by URL — `node scripts/caldav-servers.mjs demo` starts a throwaway Radicale for it (installed from
 * Debian's packages when absent) and runs this. The package itself spawns no processes (n8n's
 * community-package rules), so starting servers stays in scripts/. The rooms are made with
 * MKCALENDAR and named in the routing by their display names, as a relay.yaml would. Three runs,
 * as in the main demo: first sync, a re-run that writes nothing, and a run after removing an event.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { routingTargets, type RoutingConfig } from '../core/routing';
import { createCalDavHttpPort, mkcalendarBody, parseResource } from '../providers/caldav';
import { MemoryFeedStateStore } from '../providers/feed';
import { loadConfigFile, type RelayConfig } from './config';
import { runRelaySync } from './sync';

export const CALDAV_DEMO_CONFIGS = ['ckalender-google.yaml', 'kaltura-google.yaml', 'learningspace-ics-google.yaml'] as const;
const FEEDS = ['ckalender.ics', 'kaltura.ics', 'learningspace.ics'] as const;

export interface CalDavDemoResult {
  /** False when Radicale was not available (nothing ran). */
  ran: boolean;
  ok: boolean;
  writesOnRerun: number;
  deletedOnThirdRun: number;
  kalturaPropsKept: boolean;
  personalUntouched: boolean;
}

/** "lecture-hall-1@resource.calendar.google.com" → "Lecture Hall 1". */
export function caldavRoomName(email: string): string {
  return email.split('@')[0].split(/[-_.]/).map((w) => (w ? w[0].toUpperCase() + w.slice(1) : w)).join(' ');
}

function renameRouting(r: RoutingConfig, name: (email: string) => string): RoutingConfig {
  const one = (v: string | string[]) => (Array.isArray(v) ? v.map(name) : name(v));
  return {
    ...r,
    ...(r.target !== undefined ? { target: one(r.target) } : {}),
    ...(r.default !== undefined ? { default: one(r.default) } : {}),
    ...(r.map ? { map: Object.fromEntries(Object.entries(r.map).map(([k, v]) => [k, one(v)])) } : {}),
  };
}

export interface CalDavDemoServer {
  baseUrl: string;
  username: string;
  password: string;
  /** Where calendars are made (default: /<username>/ on the server, as Radicale has it). */
  home?: string;
}

export async function runCalDavDemo(opts: { print: (line: string) => void; root: string; now: () => number; server: CalDavDemoServer; removeVevent: (ics: string, uid: string) => string }): Promise<CalDavDemoResult> {
  const { print, root, now } = opts;
  const spec = { url: opts.server.baseUrl, username: opts.server.username, password: opts.server.password };
  const home = opts.server.home ?? new URL(`/${spec.username}/`, spec.url).href;
  print('');
  print(`━━ CalDAV: the same sample feeds into CalDAV room calendars on ${spec.url}`);
  const work = await mkdtemp(join(tmpdir(), 'calendar-relay-caldav-demo-'));
  try {
    const http = createCalDavHttpPort({ baseUrl: spec.url, auth: { type: 'basic', username: spec.username, password: spec.password } });
    const feeds = join(work, 'feeds');
    await mkdir(feeds, { recursive: true });
    for (const f of FEEDS) await copyFile(join(root, 'test', 'fixtures', 'feeds', f), join(feeds, f));
    const env = { DEMO_EMULATOR: 'http://unused.invalid', DEMO_DIR: work, DEMO_FEEDS: feeds };
    const configs: RelayConfig[] = [];
    const calendars = new Map<string, string>(); // display name → URL
    for (const file of CALDAV_DEMO_CONFIGS) {
      const c = await loadConfigFile(join(root, 'examples', 'demo', file), env);
      for (const email of routingTargets(c.routing)) {
        const name = caldavRoomName(email);
        if (calendars.has(name)) continue;
        const url = new URL(`${email.split('@')[0]}-${Date.now().toString(36)}/`, home).href;
        const res = await http({ method: 'MKCALENDAR', url, headers: { 'content-type': 'application/xml; charset=utf-8' }, body: mkcalendarBody(name) });
        if (res.status !== 201) throw new Error(`MKCALENDAR ${url}: HTTP ${res.status}`);
        calendars.set(name, url);
      }
      configs.push({ ...c, syncId: `${c.syncId}-caldav`, target: { provider: 'caldav', baseUrl: spec.url, auth: { kind: 'basic', username: spec.username, password: spec.password } }, routing: renameRouting(c.routing, caldavRoomName) });
    }
    print(`▸ ${calendars.size} room calendars (MKCALENDAR), named in the routing by display name: ${[...calendars.keys()].join(', ')}`);
    const personalRoom = calendars.get('Rathaus Raum 107')!;
    const personalUrl = new URL('booked-by-hand.ics', personalRoom).href;
    await http({ method: 'PUT', url: personalUrl, headers: { 'content-type': 'text/calendar' }, body: 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//person//EN\r\nBEGIN:VEVENT\r\nUID:by-hand@rathaus.example\r\nDTSTAMP:20261120T000000Z\r\nDTSTART;VALUE=DATE:20261125\r\nSUMMARY:Personalgespräch (booked by hand)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' });
    print('▸ a person\'s own booking in Rathaus Raum 107: "Personalgespräch (booked by hand)"');

    const feedStore = new MemoryFeedStateStore();
    const run = async (label: string) => {
      print(`  ${label}`);
      const t = { created: 0, updated: 0, deleted: 0, unchanged: 0, failed: 0 };
      let ok = true;
      for (const c of configs) {
        const o = await runRelaySync(c, { now, feedStore });
        ok &&= o.ok;
        for (const r of o.rooms) {
          t.created += r.created;
          t.updated += r.updated;
          t.deleted += r.deleted;
          t.unchanged += r.unchanged;
          t.failed += r.failed + r.notAttempted;
        }
        if (!o.ok) print(`    ✗ ${c.syncId}: ${o.guard?.message ?? o.sources.find((s) => !s.ok)?.failure ?? o.rooms.flatMap((r) => r.errors)[0] ?? 'failed'}`);
      }
      print(`    → created ${t.created}, updated ${t.updated}, deleted ${t.deleted}, unchanged ${t.unchanged}, failed ${t.failed}`);
      return { ok, t };
    };
    const r1 = await run('Run 1: first sync');
    const r2 = await run('Run 2: the same feeds again');
    const writesOnRerun = r2.t.created + r2.t.updated + r2.t.deleted;
    print(writesOnRerun === 0 ? '    ✓ nothing rewritten' : `    ✗ ${writesOnRerun} writes on unchanged feeds`);
    const ck = join(feeds, 'ckalender.ics');
    await writeFile(ck, opts.removeVevent(await readFile(ck, 'utf8'), 'ck-20261105-0108@ckalender.example'));
    print('  ✂ removed UID ck-20261105-0108 from ckalender.ics');
    const r3 = await run('Run 3: after the removal');

    // What Radicale stores: X-KALTURA-* kept, series in one resource, the person's booking as it was.
    let kalturaPropsKept = false;
    let series = 0;
    for (const [name, url] of calendars) {
      const list = await http({ method: 'PROPFIND', url, headers: { depth: '1', 'content-type': 'application/xml' }, body: '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>' });
      const hrefs = [...list.body.matchAll(/<(?:\w+:)?href>([^<]+\.ics)<\/(?:\w+:)?href>/g)].map((m) => new URL(m[1], url).href);
      for (const h of hrefs) {
        const body = (await http({ method: 'GET', url: h })).body;
        const comps = parseResource(body).components;
        if (comps.some((c) => c.event?.xProps?.some((x) => x.name.startsWith('X-KALTURA-')))) kalturaPropsKept = true;
        if (comps.length > 1) series++;
      }
      print(`    ${name.padEnd(24)} ${hrefs.length} resource(s)  ${url}`);
    }
    const personalUntouched = (await http({ method: 'GET', url: personalUrl })).body.includes('booked by hand');
    print(kalturaPropsKept ? '    ✓ X-KALTURA-* properties stored with the events' : '    ✗ no X-KALTURA-* property found');
    print(`    · ${series} resource(s) hold a series with its overridden occurrences`);
    print(personalUntouched ? '    ✓ the person\'s own booking is untouched' : '    ✗ the person\'s own booking changed');
    const ok = r1.ok && r2.ok && r3.ok && writesOnRerun === 0 && r3.t.deleted >= 1 && kalturaPropsKept && personalUntouched;
    return { ran: true, ok, writesOnRerun, deletedOnThirdRun: r3.t.deleted, kalturaPropsKept, personalUntouched };
  } finally {
    if (existsSync(work)) await rm(work, { recursive: true, force: true });
  }
}
