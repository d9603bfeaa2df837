/**
 * The status page in headless Chromium (Debian's `chromium`, installed by scripts/chromium.mjs
 * when absent; driven with playwright-core): the login, a wrong token, then the rendered tables —
 * feeds, subscriptions with their status fields and last errors, the outbox and its delivery
 * errors. The screenshot is kept in .cache/test-artifacts/bridge-status.png.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { createBridge, type Bridge } from '../../bridge/src/server';
import { defaultConfig } from '../../bridge/src/config';
import { createLogger } from '../../bridge/src/logging';
import { openStore } from '../../bridge/src/store';
import { defaultSubscriptionsConfig } from '../../bridge/src/subscriptions';
import { httpRequest, LogSink } from './helpers';

// Functions evaluated in the page: the test's tsconfig has no DOM types, so the page globals are declared loosely.
declare const document: { getElementById(id: string): { textContent: string | null } | null };
declare const sessionStorage: { length: number };

const root = join(__dirname, '..', '..');
const ADMIN = randomBytes(18).toString('base64url');
const BEARER = randomBytes(18).toString('hex');
const artifacts = join(root, '.cache', 'test-artifacts');

function findChromium(): string | undefined {
  const out = execFileSync(process.execPath, [join(root, 'scripts', 'chromium.mjs')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const r = JSON.parse(out.trim().split('\n').pop() as string) as { path?: string; skipped?: string };
  if (r.skipped) console.warn(`status page test skipped: ${r.skipped}`);
  return r.path;
}

describe('status page in headless Chromium', () => {
  let bridge: Bridge;
  let base = '';
  let browser: Browser | undefined;
  let feedServer: Server;
  let executable: string | undefined;

  beforeAll(async () => {
    executable = findChromium();
    feedServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/calendar' }).end('BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:r1@remote\r\nDTSTART:20300110T090000Z\r\nDTEND:20300110T100000Z\r\nSUMMARY:Remote\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n'));
    await new Promise<void>((r) => feedServer.listen(0, '127.0.0.2', () => r()));
    const feedUrl = `http://127.0.0.2:${(feedServer.address() as AddressInfo).port}/rooms.ics`;
    // A port nothing listens on: deliveries fail with ECONNREFUSED.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const closedPort = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const config = {
      ...defaultConfig(), port: 0, dataDir: mkdtempSync(join(tmpdir(), 'cr-status-')), adminToken: ADMIN,
      deliveryUrl: `http://127.0.0.1:${closedPort}/unreachable`,
      outbox: { pollMs: 50, leaseMs: 5000, timeoutMs: 1000, baseBackoffMs: 60_000, maxBackoffMs: 60_000, batch: 8 },
      subscriptions: { ...defaultSubscriptionsConfig(), allowPrivate: ['127.0.0.2/32'] },
      sources: { lms: { bearerToken: BEARER } },
    };
    const store = await openStore({ dataDir: config.dataDir });
    bridge = createBridge(config, { store, log: createLogger('warn', new LogSink()) });
    base = await bridge.listen();
    await bridge.poller.stop();
    const call = (method: string, url: string, body: unknown, token = ADMIN) => httpRequest(base, { method, url, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
    await call('PUT', '/api/feeds/sim-rooms', { events: [{ uid: 'x@y', title: 'X', start: { date: '2030-01-01' }, end: { date: '2030-01-02' } }] });
    await call('POST', '/api/subscriptions', { name: 'Rooms import', calendar_url: feedUrl });
    await call('POST', '/api/subscriptions', { name: 'Refused', calendar_url: 'http://169.254.169.254/latest/meta-data' });
    await bridge.poller.runOnce();
    await call('POST', '/hooks/lms', { events: [{ uid: 'p@lms', title: 'P', start: { date: '2030-01-01' }, end: { date: '2030-01-02' } }] }, BEARER);
    await bridge.dispatcher.runOnce();
    // The sync status a subscription with a sync target records (test/bridge/sync-target.test.ts
    // produces it for real against the emulator): one sync that wrote, one a guard refused.
    const now = Date.now();
    for (const sub of await store.claimSubscriptions(now + 30 * 86_400_000, 10, 60_000, 'status-test')) {
      const wrote = sub.name === 'Rooms import';
      const syncStatus = { target: 'rooms-google', calendar: wrote ? 'lab-1@rooms.example' : 'lab-2@rooms.example', at: now, ok: wrote, hash: wrote ? 'h' : null, created: wrote ? 3 : 0, updated: wrote ? 1 : 0, deleted: 0, kept: wrote ? 2 : 0, failed: 0, guard: wrote ? null : 'SourceEmptyError', error: wrote ? null : 'the source delivered no events' };
      await store.finishPoll(sub.id, 'status-test', { checkedAt: sub.last_checked_date ?? now, fetchState: null, error: sub.last_error, syncStatus }, now + 86_400_000);
    }
    if (executable) browser = await chromium.launch({ executablePath: executable, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await bridge.close();
    await new Promise((r) => feedServer.close(r));
  });

  test('the page itself carries no data and a strict CSP; /api/status needs the token', async () => {
    const page = await httpRequest(base, { method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).not.toContain('sim-rooms');
    expect((await httpRequest(base, { method: 'GET', url: '/api/status' })).statusCode).toBe(401);
  });

  test('login, wrong token, then the rendered status; screenshot kept', async () => {
    if (!browser) {
      if (process.env.CI) throw new Error('Chromium is required on CI');
      return;
    }
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      // Expected: the 401 of the wrong token and the browser's own favicon request.
      if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of (401|404)/.test(m.text())) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(base + '/');
    expect(await page.isVisible('#login')).toBe(true);
    expect(await page.isVisible('#status')).toBe(false);

    await page.fill('#token', 'not-the-token');
    await page.click('#login button[type=submit]');
    await page.waitForFunction(() => document.getElementById('login-error')?.textContent === 'Wrong admin token.');
    expect(await page.isVisible('#status')).toBe(false);

    await page.fill('#token', ADMIN);
    await page.click('#login button[type=submit]');
    await page.waitForSelector('body[data-loaded=true]');
    expect(await page.isVisible('#login')).toBe(false);

    const table = (id: string) => page.$$eval(`#${id} tbody tr`, (rows) => rows.map((r) => Array.from(r.querySelectorAll('td')).map((td) => (td as { textContent: string | null }).textContent ?? '')));
    const feeds = await table('feeds');
    expect(feeds).toEqual([['sim-rooms', '1', '1', expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/)]]);
    const subs = await table('subscriptions');
    expect(subs).toHaveLength(2);
    const [rooms, refused] = subs;
    expect(rooms.slice(0, 3)).toEqual([expect.any(String), 'Rooms import', 'yes']);
    expect(rooms[6]).toMatch(/^\d+$/); // last_checked_filesize
    expect(Number(rooms[6])).toBeGreaterThan(100);
    expect(rooms[8]).toBe('1'); // event_count
    expect(rooms[9]).toMatch(/^rooms-google → lab-1@rooms\.example at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: 3 created, 1 updated, 0 deleted, 2 kept$/);
    expect(rooms[10]).toBe('ok');
    expect(refused[1]).toBe('Refused');
    expect(refused[9]).toMatch(/^rooms-google → lab-2@rooms\.example at .* UTC: refused by SourceEmptyError \(the source delivered no events\)$/);
    expect(await page.$eval('#subscriptions tbody tr:nth-child(2) td:nth-child(10)', (td) => (td as { className: string }).className)).toBe('error');
    expect(refused[10]).toMatch(/169\.254\.169\.254 is a link-local \(cloud metadata\) address; refused/);
    expect(await page.$eval('#subscriptions tbody tr:nth-child(2) td:last-child', (td) => (td as { className: string }).className)).toBe('error');
    const outbox = await table('outbox');
    // The push's diff and the subscription's first import, both undeliverable.
    expect(outbox).toEqual([['pending', '2'], ['delivered', '0'], ['oldest pending', expect.stringMatching(/UTC$/)]]);
    const errors = await table('outbox-errors');
    expect(errors.map((e) => [e[1], e[2], e[4]]).sort()).toEqual([['lms', '1', 'ECONNREFUSED'], [`subscription:${rooms[0]}`, '1', 'ECONNREFUSED']]);

    mkdirSync(artifacts, { recursive: true });
    const shot = join(artifacts, 'bridge-status.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    expect(problems).toEqual([]);
    // Sign out forgets the token.
    await page.click('#logout');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(await page.isVisible('#login')).toBe(true);
  }, 120_000);
});
