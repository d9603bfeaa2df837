/**
 * Smoke test of `calendar-relay demo` (cli/demo.ts) in-process with latency 0: rooms are created
 * for both providers, the first run creates events in them, the second run writes nothing, the
 * third run deletes what was removed from the sources, people's own bookings survive, and the
 * printed output says so.
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { runDemo, removeVevent, removeJsonItem } from '../../cli/demo';

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
      expect(curls).toHaveLength(2);
      for (const [, token, url] of curls) {
        const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
        expect(`${res.status} ${url}`).toBe(`200 ${url}`);
        const body = (await res.json()) as { items?: unknown[]; value?: unknown[] };
        expect((body.items ?? body.value ?? []).length).toBeGreaterThan(0);
      }
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
