/**
 * Example 7 in real n8n: CKalender ICS → Room Sync (provider CalDAV) into room calendars on a real
 * Radicale (scripts/caldav-servers.mjs, installed from Debian's packages when absent). The calendars
 * are named in the workflow by display name, so n8n's run discovers them from the credential's base
 * URL. Every assertion reads Radicale over plain WebDAV (PROPFIND + GET here, not the provider).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Check } from './checks';
import { assert } from './checks';
import { waitUntilUp } from '../caldav/servers';
import { freePort } from '../free-port';
import { loadWorkflow, sameList, setFixture, summaryOf } from './examples';

export const CALDAV_WORKFLOW = '07-ckalender-ics-to-caldav-rooms.json';
const SYNC_ID = 'rathaus-ckalender-caldav';
const ROOM_SYNC = 'Room Sync (CalDAV, by LOCATION)';
/** Calendar display name (as the workflow's room table names it) → collection slug on Radicale. */
const CALENDARS: Record<string, string> = { 'Raum 1.07': 'raum-1-07', 'Raum 2.01': 'raum-2-01', Sitzungssaal: 'sitzungssaal', 'Schulungsraum EG': 'schulungsraum-eg' };

interface Spec { command: string; args: string[]; url: string; username: string; password: string; principal: string }

class Radicale {
  private constructor(readonly spec: Spec, readonly dir: string, private readonly child: ChildProcess) {}

  static async start(root: string): Promise<Radicale> {
    const script = join(root, 'scripts', 'caldav-servers.mjs');
    execFileSync(process.execPath, [script, 'install'], { stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 });
    const dir = mkdtempSync(join(tmpdir(), 'e2e-radicale-'));
    const spec = JSON.parse(execFileSync(process.execPath, [script, 'spec', 'radicale', String(await freePort()), dir], { encoding: 'utf8' })) as Spec;
    const child = spawn(spec.command, spec.args, { stdio: 'ignore' });
    await waitUntilUp(spec.url, child, () => '');
    return new Radicale(spec, dir, child);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && !this.child.signalCode) {
      await new Promise<void>((res) => {
        this.child.once('exit', () => res());
        this.child.kill('SIGTERM');
      });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  async request(method: string, url: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; body: string; etag: string | null }> {
    const auth = `Basic ${Buffer.from(`${this.spec.username}:${this.spec.password}`).toString('base64')}`;
    const res = await fetch(url, { method, headers: { authorization: auth, ...headers }, ...(body !== undefined ? { body } : {}) });
    return { status: res.status, body: await res.text(), etag: res.headers.get('etag') };
  }

  calendarUrl(slug: string): string {
    return new URL(`${this.spec.principal}${slug}/`, this.spec.url).href;
  }

  async mkcalendar(slug: string, displayName: string): Promise<string> {
    const url = this.calendarUrl(slug);
    const body = `<?xml version="1.0" encoding="utf-8"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>${displayName}</D:displayname></D:prop></D:set></C:mkcalendar>`;
    const r = await this.request('MKCALENDAR', url, { 'content-type': 'application/xml; charset=utf-8' }, body);
    assert(r.status === 201, `MKCALENDAR ${url}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
    return url;
  }

  /** href → ETag of every resource in a calendar (PROPFIND depth 1). */
  async etags(calendarUrl: string): Promise<Map<string, string>> {
    const r = await this.request('PROPFIND', calendarUrl, { depth: '1', 'content-type': 'application/xml' }, '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>');
    assert(r.status === 207, `PROPFIND ${calendarUrl}: HTTP ${r.status}`);
    const out = new Map<string, string>();
    for (const m of r.body.matchAll(/<(?:\w+:)?response>([\s\S]*?)<\/(?:\w+:)?response>/g)) {
      const href = /<(?:\w+:)?href>([^<]+)</.exec(m[1])?.[1];
      const etag = /<(?:\w+:)?getetag>([^<]+)</.exec(m[1])?.[1];
      if (href && etag && href.endsWith('.ics')) out.set(new URL(href, calendarUrl).href, etag.replace(/&quot;/g, '"'));
    }
    return out;
  }

  /** Every VEVENT in a calendar as SUMMARY + our stamp's sync id (GET of each resource, unfolded). */
  async events(calendarUrl: string): Promise<Array<{ href: string; summary: string; syncId?: string }>> {
    const out: Array<{ href: string; summary: string; syncId?: string }> = [];
    for (const href of (await this.etags(calendarUrl)).keys()) {
      const r = await this.request('GET', href);
      assert(r.status === 200, `GET ${href}: HTTP ${r.status}`);
      const text = r.body.replace(/\r?\n[ \t]/g, '');
      for (const ev of text.match(/BEGIN:VEVENT[\s\S]*?END:VEVENT/g) ?? []) {
        const summary = /^SUMMARY[^:\r\n]*:(.*?)\r?$/m.exec(ev)?.[1]?.replace(/\\([,;\\])/g, '$1') ?? '';
        const syncId = /^X-CALENDAR-RELAY-SYNC-ID[^:\r\n]*:(.*?)\r?$/m.exec(ev)?.[1];
        out.push({ href, summary, ...(syncId ? { syncId } : {}) });
      }
    }
    return out;
  }
}

/** A person's own booking, PUT straight into Raum 1.07: the sync must never touch it. */
function personalBooking(): string {
  const day = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '');
  return ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//e2e//person//EN', 'BEGIN:VEVENT', 'UID:alice-booking-e2e@rathaus.example', 'DTSTAMP:20261101T080000Z',
    `DTSTART:${day}T070000Z`, `DTEND:${day}T080000Z`, 'SUMMARY:Personalgespräch (direkt gebucht)', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
}

export const caldavCheck: Check = {
  name: 'caldav',
  title: 'example 7: CKalender ICS → Room Sync (CalDAV) into room calendars on a real Radicale; a second run writes nothing',
  async run(ctx) {
    const { n8n } = ctx;
    const t0 = Date.now();
    const rad = await Radicale.start(ctx.root);
    try {
      const urls: Record<string, string> = {};
      for (const [name, slug] of Object.entries(CALENDARS)) urls[name] = await rad.mkcalendar(slug, name);
      const bookingUrl = `${urls['Raum 1.07']}alice-booking.ics`;
      const put = await rad.request('PUT', bookingUrl, { 'content-type': 'text/calendar; charset=utf-8', 'if-none-match': '*' }, personalBooking());
      assert(put.status === 201, `seeding the person's booking: HTTP ${put.status}`);
      const bookingEtag = put.etag ?? (await rad.etags(urls['Raum 1.07'])).get(bookingUrl);
      console.log(`[e2e]     Radicale at ${rad.spec.url} with ${Object.keys(CALENDARS).length} room calendars (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

      await n8n.importCredentials([{ id: 'crCalDavRooms001', name: 'CalDAV (room calendars)', type: 'calendarRelayCalDavApi', data: { baseUrl: rad.spec.url, authType: 'basic', username: rad.spec.username, password: rad.spec.password } }]);
      const wf = loadWorkflow(ctx, CALDAV_WORKFLOW);
      await n8n.importWorkflow(wf);
      setFixture(ctx, '/ckalender.ics', 'ckalender.ics', 'text/calendar');

      // 1. First run: every mapped event lands in its room calendar; the cancelled Jour fixe and
      // the unmapped Kantine event do not.
      let r = await n8n.execute(wf.id);
      assert(r.ok, `first run failed: ${r.error}`);
      const s1 = summaryOf(r.runData, ROOM_SYNC);
      assert(s1.ok === true, `Room Sync summary: ${JSON.stringify(s1)}`);
      console.log(`[e2e]     run 1: ${(r.ms / 1000).toFixed(1)} s, written ${JSON.stringify(s1.written)}`);
      const ours = async (name: string) => (await rad.events(urls[name])).filter((e) => e.syncId === SYNC_ID).map((e) => e.summary);
      const r107 = await ours('Raum 1.07');
      assert(r107.includes('Teamrunde Bauamt') && r107.includes('Bewerbungsgespräche Sachbearbeitung'), `Raum 1.07: ${JSON.stringify(r107)}`);
      const r201 = await ours('Raum 2.01');
      assert(r201.includes('Teamrunde Bauamt (verschoben)'), `Raum 2.01 lacks the moved Teamrunde: ${JSON.stringify(r201)}`);
      assert(!r201.includes('Jour fixe Kämmerei'), 'the cancelled Jour fixe was written');
      sameList(await ours('Sitzungssaal'), ['Ratssitzung – Sitzungssaal gesperrt'], 'Sitzungssaal');
      sameList(await ours('Schulungsraum EG'), ['Schulung: Neues Dokumentenmanagement'], 'Schulungsraum EG');
      const all = (await Promise.all(Object.keys(urls).map((n) => rad.events(urls[n])))).flat();
      assert(!all.some((e) => e.summary === 'Weihnachtsfeier Verwaltung'), 'the unmapped Kantine event was written somewhere');
      assert(all.filter((e) => !e.syncId).map((e) => e.summary).join() === 'Personalgespräch (direkt gebucht)', `unstamped events: ${JSON.stringify(all.filter((e) => !e.syncId))}`);

      // 2. Second run, same feed: nothing written (every href and ETag as before).
      const fingerprint = async () => JSON.stringify(await Promise.all(Object.values(urls).map(async (u) => [...(await rad.etags(u)).entries()].sort())));
      const before = await fingerprint();
      r = await n8n.execute(wf.id);
      assert(r.ok, `second run failed: ${r.error}`);
      const s2 = summaryOf(r.runData, ROOM_SYNC) as { written?: Record<string, number> };
      console.log(`[e2e]     run 2 (no change): ${(r.ms / 1000).toFixed(1)} s, written ${JSON.stringify(s2.written)}`);
      assert(await fingerprint() === before, 'the second run changed the room calendars');
      const w = s2.written ?? {};
      assert((w.created ?? 0) + (w.updated ?? 0) + (w.deleted ?? 0) === 0, `the second run reports writes: ${JSON.stringify(w)}`);
      assert((await rad.etags(urls['Raum 1.07'])).get(bookingUrl) === bookingEtag, 'the person\'s own booking in Raum 1.07 was changed');
    } finally {
      await rad.stop();
    }
  },
};
