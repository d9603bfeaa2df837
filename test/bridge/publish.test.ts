/**
 * `calendar-relay publish` against a real bridge started in-process on SQLite: the feed it
 * publishes is served at the URL it prints; refusals (invalid item, wrong token) publish nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createBridge, type Bridge } from '../../bridge/src/server';
import { defaultConfig } from '../../bridge/src/config';
import { createLogger } from '../../bridge/src/logging';
import { openStore } from '../../bridge/src/store';
import { main } from '../../cli';
import { parseIcs } from '../../core/ics/parse';
import { LogSink } from './helpers';

const ADMIN = randomBytes(18).toString('base64url');

async function run(argv: string[], opts: { stdin?: string; env?: Record<string, string | undefined> } = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), now: () => 0,
    stdin: opts.stdin === undefined ? undefined : Readable.from([Buffer.from(opts.stdin)]),
    env: opts.env ?? {},
  });
  return { code, stdout, stderr };
}

const ev = (uid: string, title: string) => ({ uid, title, start: { dateTime: '2030-03-02T09:00:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2030-03-02T10:00:00', timeZone: 'Europe/Berlin' } });

describe('calendar-relay publish (bridge in-process, SQLite)', () => {
  let bridge: Bridge;
  let base = '';
  const dir = mkdtempSync(join(tmpdir(), 'cr-publish-'));

  beforeAll(async () => {
    const config = { ...defaultConfig(), dataDir: join(dir, 'data'), adminToken: ADMIN, logLevel: 'warn' as const };
    const store = await openStore({ dataDir: config.dataDir });
    bridge = createBridge(config, { store, log: createLogger('warn', new LogSink()) });
    base = await bridge.listen();
  });
  afterAll(async () => {
    await bridge.close();
  });

  const feedUids = async (url: string) => {
    const res = await fetch(url);
    expect(res.status).toBe(200);
    return parseIcs(await res.text()).events.map((e) => e.uid).sort();
  };

  let url = '';
  test('event JSON with the token from CALENDAR_RELAY_BRIDGE_TOKEN: prints the subscribe URL, which serves the events', async () => {
    const file = join(dir, 'events.json');
    writeFileSync(file, JSON.stringify({ events: [ev('a@x', 'Alpha'), ev('b@x', 'Beta')] }));
    const r = await run(['publish', file, '--bridge', base, '--name', 'rooms'], { env: { CALENDAR_RELAY_BRIDGE_TOKEN: ADMIN } });
    expect(r.stderr).toBe('feed "rooms": version 1, 2 events\n');
    expect(r.code).toBe(0);
    url = r.stdout.trim();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/feeds\/[A-Za-z0-9_-]+\.ics$/);
    expect(await feedUids(url)).toEqual(['a@x', 'b@x']);
    // The same content again: same URL, no new version.
    const again = await run(['publish', file, '--bridge', `${base}/`, '--name', 'rooms', '--token', ADMIN]);
    expect([again.code, again.stdout.trim(), again.stderr]).toEqual([0, url, 'feed "rooms": version 1 (unchanged), 2 events\n']);
  });

  test('iCalendar from standard input (--token) replaces the feed', async () => {
    const ics = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', 'BEGIN:VEVENT', 'UID:c@x', 'DTSTAMP:20300101T000000Z', 'DTSTART:20300305T090000Z', 'DTEND:20300305T100000Z', 'SUMMARY:Gamma', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
    const r = await run(['publish', '-', '--bridge', base, '--name', 'rooms', '--token', ADMIN], { stdin: ics });
    expect([r.code, r.stdout.trim(), r.stderr]).toEqual([0, url, 'feed "rooms": version 2, 1 events\n']);
    expect(await feedUids(url)).toEqual(['c@x']);
  });

  test('an invalid item: exit 1, the item named, nothing published', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify([ev('d@x', 'Delta'), { uid: 'e@x', title: 'no start' }]));
    const r = await run(['publish', file, '--bridge', base, '--name', 'rooms', '--token', ADMIN]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*start/m);
    expect(r.stderr).toMatch(/calendar-relay: the bridge refused feed "rooms": HTTP 400/);
    expect(r.stdout).toBe('');
    expect(await feedUids(url)).toEqual(['c@x']);
  });

  test('a wrong token: exit 1 naming HTTP 401, nothing published', async () => {
    const file = join(dir, 'events.json');
    const r = await run(['publish', file, '--bridge', base, '--name', 'other', '--token', 'wrong-token-value']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/HTTP 401: missing or wrong admin token \(check --token/);
    const check = await run(['publish', file, '--bridge', base, '--name', 'other', '--token', ADMIN]);
    expect(check.stderr).toContain('version 1,'); // "other" did not exist before
  });

  test('bad usage and non-calendar input are refused before anything is sent', async () => {
    const file = join(dir, 'events.json');
    expect((await run(['publish', file, '--bridge', base, '--name', 'x'])).stderr).toMatch(/admin token is required: --token <token> or CALENDAR_RELAY_BRIDGE_TOKEN/);
    expect((await run(['publish', file, '--name', 'x', '--token', ADMIN])).code).toBe(2);
    expect((await run(['publish', file, '--bridge', 'ftp://h', '--name', 'x', '--token', ADMIN])).stderr).toMatch(/--bridge must be an http\(s\) URL/);
    expect((await run(['publish', file, '--bridge', base, '--token', ADMIN])).stderr).toMatch(/--name <feed> is required/);
    const html = join(dir, 'page.html');
    writeFileSync(html, '<html><body>hi</body></html>');
    const r = await run(['publish', html, '--bridge', base, '--name', 'html', '--token', ADMIN]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not event JSON or iCalendar|neither event JSON/);
    const unreachable = await run(['publish', file, '--bridge', 'http://127.0.0.1:9', '--name', 'x', '--token', ADMIN]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/cannot reach the bridge at http:\/\/127\.0\.0\.1:9/);
  });
});
