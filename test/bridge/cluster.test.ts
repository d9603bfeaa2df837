/**
 * `workers: N` (bridge/src/cluster.ts), as an operator starts it: `calendar-relay-bridge --workers 2`.
 * Requests on new connections are spread over both workers (node:cluster round robin), so these
 * check what must hold whichever worker answers: a publish in one worker is seen by the other at
 * once (no stale 304 even with a 60 s feed cache), /metrics sums both workers, deliveries come from
 * the one background worker, a killed worker is replaced, SIGTERM stops everything with exit 0;
 * the feed budget is shared by both workers through the store (one keep-alive connection stays
 * with one worker).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Agent, get as httpGet } from 'node:http';
import { join } from 'node:path';
import { loadBridgeConfig } from '../../bridge/src/config';
import { httpRequest, Receiver, waitFor } from './helpers';

const root = join(__dirname, '..', '..');
const ADMIN = randomBytes(18).toString('base64url');
const BEARER = randomBytes(18).toString('base64url');

/** The worker processes (the primary also has an esbuild service child in a checkout). */
const children = (pid: number): number[] => {
  try {
    return execFileSync('pgrep', ['-P', String(pid), '-f', 'calendar-relay-bridge.js'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

test('workers comes from --workers, CALENDAR_RELAY_BRIDGE_WORKERS or the file; 1 to 64', () => {
  expect(loadBridgeConfig([], {}).workers).toBe(1);
  expect(loadBridgeConfig(['--workers', '3'], {}).workers).toBe(3);
  expect(loadBridgeConfig([], { CALENDAR_RELAY_BRIDGE_WORKERS: '2' }).workers).toBe(2);
  expect(() => loadBridgeConfig(['--workers', '0'], {})).toThrow('workers must be a whole number from 1 to 64');
});

test('workers that cannot start stop the bridge with exit 1 instead of being forked forever', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cr-cluster-bad-'));
  writeFileSync(join(dir, 'file'), '');
  const bad = spawn(process.execPath, [join(root, 'bridge', 'bin', 'calendar-relay-bridge.js'), '--workers', '2', '--port', '0', '--data-dir', join(dir, 'file', 'data'), '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CALENDAR_RELAY_ADMIN_TOKEN: ADMIN } });
  let text = '';
  bad.stdout?.on('data', (c: Buffer) => (text += c.toString()));
  bad.stderr?.on('data', (c: Buffer) => (text += c.toString()));
  const code = await new Promise<number | null>((resolve) => bad.once('exit', resolve));
  expect(code).toBe(1);
  expect(text).toContain('ENOTDIR');
  expect(text).toMatch(/3 workers in a row exited within 5 s of starting/);
}, 60_000);

describe('bridge with workers: 2', () => {
  const receiver = new Receiver();
  let child: ChildProcess;
  let out = '';
  let base = '';

  beforeAll(async () => {
    await receiver.up();
    const dir = mkdtempSync(join(tmpdir(), 'cr-cluster-'));
    const cfg = join(dir, 'bridge.json');
    writeFileSync(cfg, JSON.stringify({ feedCacheMs: 60_000, feedBudget: { requests: 1000, windowSec: 3600 }, deliveryUrl: receiver.url, sources: { s: { bearerToken: BEARER } }, outbox: { pollMs: 50 } }));
    child = spawn(process.execPath, [join(root, 'bridge', 'bin', 'calendar-relay-bridge.js'), '--workers', '2', '--port', '0', '--data-dir', join(dir, 'data'), '--config', cfg, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CALENDAR_RELAY_ADMIN_TOKEN: ADMIN } });
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    await waitFor(() => /listening on (http:\/\/\S+)/.test(out), 60_000, `the bridge to start: ${out}`);
    base = /listening on (http:\/\/\S+)/.exec(out)![1];
    await waitFor(() => children(child.pid!).length === 2, 10_000, 'two workers');
  }, 90_000);

  afterAll(async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    await receiver.down();
  });

  const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
  const publish = (title: string) => httpRequest(base, { method: 'PUT', url: '/api/feeds/f', headers: auth, payload: JSON.stringify({ events: [{ uid: 'u@x', title, start: { date: '2030-01-01' }, end: { date: '2030-01-02' } }] }) });
  let gets = 0;
  const get = (path: string, headers: Record<string, string>) => {
    gets++;
    return httpRequest(base, { method: 'GET', url: path, headers });
  };

  test('a publish in one worker: every worker answers the new version at once, never a 304 for the old', async () => {
    const path = new URL((await publish('One')).json().subscribeUrl).pathname;
    const gz = { 'accept-encoding': 'gzip' };
    const v1 = await get(path, gz);
    for (let i = 0; i < 10; i++) expect((await get(path, { ...gz, 'if-none-match': String(v1.headers.etag) })).statusCode).toBe(304); // both workers hold version 1 now
    for (let round = 2; round <= 4; round++) {
      const put = await publish(`Round ${round}`);
      expect(put.json().changed).toBe(true);
      const answers = await Promise.all(Array.from({ length: 10 }, () => get(path, { ...gz, 'if-none-match': String(v1.headers.etag) })));
      expect(answers.map((a) => a.statusCode)).toEqual(Array(10).fill(200));
      expect(new Set(answers.map((a) => a.headers.etag)).size).toBe(1);
    }
  }, 60_000);

  test('/metrics sums the requests of both workers', async () => {
    const m = await httpRequest(base, { method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${ADMIN}` } });
    const total = m.body
      .split('\n')
      .filter((l) => l.startsWith('calendar_relay_bridge_http_requests_total{route="/feeds/:file",method="GET"'))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    expect(total).toBe(gets);
  });

  test('deliveries come from one worker only (the background one)', async () => {
    for (let i = 0; i < 6; i++) {
      const r = await httpRequest(base, { method: 'POST', url: '/hooks/s', headers: { authorization: `Bearer ${BEARER}`, 'content-type': 'application/json' }, payload: JSON.stringify({ events: [{ uid: `e${i}@x`, title: `E${i}`, start: { date: '2030-01-01' }, end: { date: '2030-01-02' } }] }) });
      expect(r.statusCode).toBe(200);
    }
    await waitFor(() => receiver.deliveries.length >= 6, 20_000, 'six deliveries');
    expect(new Set(receiver.deliveries.map((d) => d.instance)).size).toBe(1);
  }, 30_000);

  test('a worker that dies is replaced; SIGTERM stops the primary and its workers with exit 0', async () => {
    const [victim] = children(child.pid!);
    process.kill(victim, 'SIGKILL');
    await waitFor(() => out.includes(`worker ${victim} `) && children(child.pid!).length === 2 && !children(child.pid!).includes(victim), 30_000, 'a replacement worker');
    await waitFor(async () => (await httpRequest(base, { method: 'GET', url: '/healthz' })).statusCode === 200, 10_000, 'answers');
    const workers = children(child.pid!);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    expect(child.exitCode).toBe(0);
    for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
  }, 60_000);
});

describe('the feed budget with workers: 2, shared through the store', () => {
  test('one connection (one worker) gets the whole budget, not a share; the other worker then refuses too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cr-cluster-budget-'));
    const cfg = join(dir, 'bridge.json');
    writeFileSync(cfg, JSON.stringify({ feedCacheMs: 60_000, feedBudget: { requests: 6, windowSec: 3600, syncMs: 50 } }));
    const child = spawn(process.execPath, [join(root, 'bridge', 'bin', 'calendar-relay-bridge.js'), '--workers', '2', '--port', '0', '--data-dir', join(dir, 'data'), '--config', cfg, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CALENDAR_RELAY_ADMIN_TOKEN: ADMIN } });
    let out = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      await waitFor(() => /listening on (http:\/\/\S+)/.test(out), 60_000, `the bridge to start: ${out}`);
      const base = /listening on (http:\/\/\S+)/.exec(out)![1];
      await waitFor(() => children(child.pid!).length === 2, 10_000, 'two workers');
      const put = await httpRequest(base, { method: 'PUT', url: '/api/feeds/f', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, payload: JSON.stringify({ events: [{ uid: 'u@x', title: 'One', start: { date: '2030-01-01' }, end: { date: '2030-01-02' } }] }) });
      const path = new URL(put.json().subscribeUrl).pathname;
      // One keep-alive connection stays with one worker: the whole budget there (a split would allow 3).
      const sameConnection = async () => {
        const statuses: number[] = [];
        for (let i = 0; i < 8; i++) {
          statuses.push(await new Promise<number>((resolve, reject) => {
            const req = httpGet(`${base}${path}`, { agent }, (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            });
            req.on('error', reject);
          }));
        }
        return statuses;
      };
      expect(await sameConnection()).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
      await new Promise((r) => setTimeout(r, 1500)); // dozens of syncs of both workers
      // New connections go round robin, so some reach the other worker: it knows the 6 too.
      const others = [];
      for (let i = 0; i < 4; i++) others.push((await httpRequest(base, { method: 'GET', url: path })).statusCode);
      expect(others).toEqual([429, 429, 429, 429]);
    } finally {
      agent.destroy();
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(undefined)));
    }
  }, 90_000);
});
