/**
 * Smoke test of `calendar-relay demo` (cli/demo.ts) in-process with latency 0: rooms are created
 * for both providers, the first run creates events in them, the second run writes nothing, the
 * third run deletes what was removed from the sources, people's own bookings survive, and the
 * printed output says so.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runDemo, removeVevent, removeJsonItem } from '../../cli/demo';
import { runDemoBridge } from '../../cli/demo-bridge';

describe('demo', () => {
  it('runs the whole story and reports it', async () => {
    const lines: string[] = [];
    const result = await runDemo({ print: (l) => lines.push(l), latencyMs: 0 });
    const out = lines.join('\n');

    expect(result.rooms.google.length).toBeGreaterThanOrEqual(4);
    expect(result.rooms.microsoft.length).toBeGreaterThanOrEqual(4);
    expect(result.configFiles).toHaveLength(7);
    const [first, second, third] = result.runs;
    expect(first.totals.created).toBeGreaterThan(20);
    expect(first.totals.failed).toBe(0);
    expect(first.requests.writes).toBe(first.totals.created);
    // Every room was written in run 1, on both providers.
    const roomsWritten = new Set(first.outcomes.flatMap((o) => o.rooms.filter((r) => r.created > 0).map((r) => r.calendarId)));
    for (const room of [...result.rooms.google, ...result.rooms.microsoft]) expect(roomsWritten).toContain(room);

    expect(second.requests.writes).toBe(0);
    expect(second.requests.lists).toBeGreaterThan(0);
    expect(second.totals.unchanged).toBe(first.totals.created);

    // The CKalender removal reaches its Google room and the Microsoft overview mailbox.
    expect(third.totals.deleted).toBe(3);
    expect(third.totals.created + third.totals.updated).toBe(0);
    const deletedFrom = third.outcomes.flatMap((o) => o.rooms.filter((r) => r.deleted > 0).map((r) => r.calendarId));
    expect(deletedFrom.sort()).toEqual(['foyer-overview@campus.example', 'rathaus-schulungsraum@resource.calendar.google.com', 'studio-b@media.example']);

    // Microsoft 365: series with moved/cancelled occurrences are written as single events (the
    // report says so), batched — the overview mailbox needs a full $batch of 20.
    const run1 = out.slice(out.indexOf('━━ Run 1'), out.indexOf('━━ Run 2'));
    expect(run1).toMatch(/series "Teamrunde Bauamt" .* in foyer-overview@campus\.example written as \d+ single event\(s\)/);
    expect(run1).toMatch(/series "Lecture: Introduction to Pharmacology" .* written as \d+ single event\(s\)/);
    expect(run1).toMatch(/batch requests, the largest with 20\)/);
    expect(first.requests.largestBatch).toBe(20);

    expect(result.personalEventsUntouched).toBe(true);
    expect(result.ok).toBe(true);

    expect(out).toContain('✓ no event rewritten: only list requests');
    expect(out).toMatch(/Run 2[^]*0 event writes/);
    expect(out).toContain('✓ deleted 1 event(s) from studio-b@media.example');
    expect(out).toContain('curl -s -H "Authorization: Bearer');
    // Where to look: it says up front that the emulator stops, and how to run a config by hand.
    const where = out.slice(out.indexOf('━━ Where to look'));
    expect(where.indexOf('the emulator stops when the demo ends')).toBeGreaterThan(-1);
    expect(where.indexOf('the emulator stops when the demo ends')).toBeLessThan(where.indexOf('curl -s'));
    expect(where).toMatch(/export DEMO_EMULATOR='http:\/\/127\.0\.0\.1:\d+'/);
    expect(where).toContain('export DEMO_CLIENT_SECRET=');
    expect(where).toContain('singleEvents=true');
    expect(out).toContain('examples/demo/ckalender-google.yaml');
    expect(out).toMatch(/✓ demo finished in/);

    // The bridge step: the feed was published, served (200, then 304 with its ETag) and read back
    // by an import subscription the bridge polled itself.
    const bridge = result.bridge;
    expect(bridge.ran).toBe(true);
    expect(bridge.feed!.firstStatus).toBe(200);
    expect(bridge.feed!.secondStatus).toBe(304);
    expect(bridge.feed!.etag).toMatch(/^"[^"]+"$/);
    // Independent count: the VEVENT components (a series' moved occurrence counts as one) of the
    // CKalender sample, less the one the demo removed.
    const ckalender = readFileSync(join(__dirname, '..', 'fixtures', 'feeds', 'ckalender.ics'), 'utf8');
    const components = ckalender.split('BEGIN:VEVENT').slice(1).filter((c) => !c.includes('UID:ck-20261105-0108@ckalender.example')).length;
    expect(components).toBe(6);
    expect(bridge.feed!.events).toBe(components);
    const sub = bridge.subscription!;
    expect(sub.calendar_url).toBe(bridge.feed!.subscribeUrl);
    expect(sub.last_checked_date).toEqual(expect.any(Number));
    expect(sub.last_parsed_date).toEqual(expect.any(Number));
    expect(sub.last_error).toBeNull();
    expect(sub.event_count).toBe(components);
    expect(sub.event_count).toBeGreaterThan(0);
    const bridgeOut = out.slice(out.indexOf('━━ Bridge'), out.indexOf('━━ Where to look'));
    expect(bridgeOut).toMatch(/GET {2}→ 200, text\/calendar; charset=utf-8/);
    expect(bridgeOut).toContain('GET with If-None-Match → 304');
    expect(bridgeOut).toMatch(new RegExp(`polled: last_checked_date \\d+ .*, last_parsed_date \\d+ .*, event_count ${components}, last_error null`));
    expect(bridgeOut).toContain('the bridge stops when the demo ends');
    // Its temporary data directory went with the demo's.
    const dataDir = /SQLite in (\S+bridge-data);/.exec(bridgeOut)?.[1];
    expect(dataDir).toBeDefined();
    expect(existsSync(dataDir!)).toBe(false);
  });

  it('skips the bridge step in one line when the bridge package cannot be loaded', async () => {
    const lines: string[] = [];
    const result = await runDemoBridge({
      print: (l) => lines.push(l), dataDir: '/nonexistent', ics: '', what: 'nothing', keep: false,
      load: () => { throw Object.assign(new Error("Cannot find module 'calendar-relay-bridge'"), { code: 'MODULE_NOT_FOUND' }); },
    });
    expect(result.ran).toBe(false);
    expect(result.ok).toBe(true);
    expect(lines.filter((l) => l.includes('skipped'))).toEqual([expect.stringMatching(/skipped: the bridge package \(calendar-relay-bridge\) could not be loaded/)]);
  });
});

describe('demo --keep', () => {
  it('prints curl lines that work while the emulator runs on, with tokens valid for the stated 24 h', async () => {
    const lines: string[] = [];
    let release!: () => void;
    const keepUntil = new Promise<void>((r) => { release = r; });
    let keeping!: () => void;
    const kept = new Promise<'kept'>((r) => { keeping = () => r('kept'); });
    const done = runDemo({ print: (l) => { lines.push(l); if (l === 'Press Ctrl-C to stop.') keeping(); }, latencyMs: 0, keepUntil });
    try {
      expect(await Promise.race([kept, done.then(() => 'ended')])).toBe('kept');
      const out = lines.join('\n');
      const stated = /try these now \(the tokens are valid for 24 h, until (\d{4}-\d\d-\d\d) (\d\d:\d\d) UTC\)/.exec(out);
      expect(stated).not.toBeNull();
      const untilMs = Date.parse(`${stated![1]}T${stated![2]}:00Z`);
      // Stated against the real clock (the sample feeds' clock of the runs is weeks away from it).
      expect(untilMs).toBeGreaterThan(Date.now() + 23.5 * 3_600_000);
      expect(untilMs).toBeLessThan(Date.now() + 24.5 * 3_600_000);
      const curls = lines.map((l) => /curl -s -H "Authorization: Bearer ([^"]+)" '([^']+)'/.exec(l)).filter((m): m is RegExpExecArray => m !== null);
      // Google, Microsoft 365, and the bridge's subscriptions.
      expect(curls).toHaveLength(3);
      for (const [, token, url] of curls) {
        const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
        expect(`${res.status} ${url}`).toBe(`200 ${url}`);
        const body = (await res.json()) as { items?: unknown[]; value?: unknown[]; data?: unknown[] };
        expect((body.items ?? body.value ?? body.data ?? []).length).toBeGreaterThan(0);
      }
      // The bridge's feed lines: 200, then 304 with the printed ETag.
      expect(out).toContain('The bridge keeps running on');
      const feed = /curl -si '([^']+)'/.exec(out)!;
      const etagLine = /curl -si -H 'If-None-Match: ("[^"]+")' '([^']+)'/.exec(out)!;
      expect(etagLine[2]).toBe(feed[1]);
      const full = await fetch(feed[1], { headers: { 'Accept-Encoding': 'identity' } });
      expect(full.status).toBe(200);
      expect(await full.text()).toContain('BEGIN:VCALENDAR');
      const again = await fetch(feed[1], { headers: { 'Accept-Encoding': 'identity', 'If-None-Match': etagLine[1] } });
      expect(again.status).toBe(304);
      // The Microsoft token says its own expiry: not before the stated time.
      const graphToken = curls.find(([, , url]) => url.includes('/v1.0/'))![1];
      const { exp } = JSON.parse(Buffer.from(graphToken.split('.')[1], 'base64url').toString('utf8')) as { exp: number };
      expect(exp * 1000).toBeGreaterThanOrEqual(untilMs);
    } finally {
      release();
      await done;
    }
    // Stopped: the folder with the generated service-account key is gone.
    const keyFile = /\(key in (\S+google-service-account\.json)\)/.exec(lines.join('\n'))?.[1];
    expect(keyFile).toBeDefined();
    expect(existsSync(dirname(keyFile!))).toBe(false);
  });
});

describe('source edits used by the demo', () => {
  it('removeVevent drops every component of a UID and nothing else', () => {
    const ics = 'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID:20260101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';
    expect(removeVevent(ics, 'a')).toBe('BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:b\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n');
    expect(removeVevent(ics, 'zzz')).toBe(ics);
  });

  it('removeJsonItem drops one item by id', () => {
    const out = JSON.parse(removeJsonItem(JSON.stringify({ data: [{ id: 1 }, { id: 2 }], meta: {} }), 'data', 1));
    expect(out).toEqual({ data: [{ id: 2 }], meta: {} });
  });
});
