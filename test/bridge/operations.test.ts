/**
 * Operations: /openapi.json names exactly the registered routes; the admin token generated at
 * first start is printed once and stored only as a hash; a graceful close answers every request
 * that was in flight and stores what it acknowledged (nothing stored without an answer).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startBridge } from '../../bridge/src/main';
import { createBridge } from '../../bridge/src/server';
import { createLogger } from '../../bridge/src/logging';
import { defaultConfig, type BridgeConfig } from '../../bridge/src/config';
import { openStore } from '../../bridge/src/store';
import { tokenHash } from '../../bridge/src/tokens';
import { syncTargetOf } from '../../bridge/src/sync-target';
import { httpRequest, LogSink, type HttpReply } from './helpers';

const quiet = () => new LogSink();

function config(dataDir: string, extra: Partial<BridgeConfig> = {}): BridgeConfig {
  return { ...defaultConfig(), port: 0, dataDir, ...extra };
}

describe('/openapi.json', () => {
  test('describes every registered route, and nothing else', async () => {
    const bridge = await startBridge(config(mkdtempSync(join(tmpdir(), 'cr-openapi-')), { adminToken: 'x'.repeat(32) }), { logDestination: quiet() });
    try {
      const r = await httpRequest(bridge.url, { method: 'GET', url: '/openapi.json' });
      expect(r.statusCode).toBe(200);
      const doc = r.json() as { openapi: string; paths: Record<string, Record<string, unknown>> };
      expect(doc.openapi).toBe('3.1.0');
      const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).filter((k) => k !== 'parameters').map((m) => `${m.toUpperCase()} ${path}`)).sort();
      const registered = bridge.routes.map((rt) => `${rt.method} ${rt.url.replace(/:([A-Za-z]+)/g, '{$1}')}`).sort();
      expect(registered.length).toBeGreaterThan(10);
      expect(documented).toEqual(registered);
      // Each path parameter is declared.
      for (const [path, ops] of Object.entries(doc.paths)) {
        const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        const declared = ((ops.parameters ?? []) as Array<{ name: string }>).map((p) => p.name);
        expect({ path, declared: declared.sort() }).toEqual({ path, declared: names.sort() });
      }
    } finally {
      await bridge.close();
    }
  });
});

describe('/openapi.json subscription schemas', () => {
  test('name exactly the fields the API shows, accepts and refuses as read-only (sync_target, sync_calendar, sync_status included)', async () => {
    const syncTargets = { 'rooms-google': syncTargetOf('rooms-google', { provider: 'google', calendar: 'room@example.org', auth: { accessToken: 'not-used' } }, (v) => v) };
    const base = config(mkdtempSync(join(tmpdir(), 'cr-openapi-subs-')), { adminToken: 'y'.repeat(32) });
    const bridge = await startBridge({ ...base, subscriptions: { ...base.subscriptions, syncTargets } }, { logDestination: quiet() });
    const headers = { authorization: `Bearer ${'y'.repeat(32)}`, 'content-type': 'application/json' };
    try {
      const doc = (await httpRequest(bridge.url, { method: 'GET', url: '/openapi.json' })).json() as { components: { schemas: Record<string, { properties: Record<string, { readOnly?: boolean }> }> } };
      const body = doc.components.schemas.SubscriptionBody.properties;
      const shown = doc.components.schemas.Subscription.properties;
      expect(Object.keys(body)).toEqual(expect.arrayContaining(['sync_target', 'sync_calendar']));
      const created = await httpRequest(bridge.url, { method: 'POST', url: '/api/subscriptions', headers, payload: JSON.stringify({ calendar_url: 'https://calendar.example/a.ics', sync_target: 'rooms-google' }) });
      expect(created.statusCode).toBe(201);
      expect(Object.keys(created.json().data).sort()).toEqual(Object.keys(shown).sort());
      for (const field of Object.keys(shown)) {
        const r = await httpRequest(bridge.url, { method: 'POST', url: '/api/subscriptions', headers, payload: JSON.stringify({ calendar_url: 'https://calendar.example/b.ics', [field]: null }) });
        const error = r.statusCode === 400 ? String(r.json().error) : '';
        // Writable fields may refuse null for their own reasons, but never as unknown or read-only.
        if (field in body) expect({ field, error }).toEqual({ field, error: expect.not.stringMatching(/unknown field|read-only/) });
        else expect({ field, error }).toEqual({ field, error: `${field} is read-only` });
      }
    } finally {
      await bridge.close();
    }
  });
});

describe('admin token generated at first start', () => {
  test('shown once, stored as its SHA-256 only, accepted after a restart; a configured token takes over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cr-admin-'));
    const first = await startBridge(config(dir), { logDestination: quiet() });
    const token = first.generatedAdminToken as string;
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect((await httpRequest(first.url, { method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200);
    await first.close();
    const db = new Database(join(dir, 'bridge.sqlite'), { readonly: true });
    const rows = db.prepare('SELECT key, value FROM settings').all() as Array<{ key: string; value: string }>;
    db.close();
    expect(rows.map((r) => r.value)).toEqual([tokenHash(token)]);
    expect(rows[0].key).toMatch(/^admin_token_sha256$/);
    const second = await startBridge(config(dir), { logDestination: quiet() });
    try {
      expect(second.generatedAdminToken).toBeUndefined();
      expect((await httpRequest(second.url, { method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200);
      expect((await httpRequest(second.url, { method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${tokenHash(token)}` } })).statusCode).toBe(401);
      expect((await httpRequest(second.url, { method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}x` } })).statusCode).toBe(401);
    } finally {
      await second.close();
    }
    const mine = 'm'.repeat(40);
    const third = await startBridge(config(dir, { adminToken: mine }), { logDestination: quiet() });
    try {
      expect((await httpRequest(third.url, { method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${mine}` } })).statusCode).toBe(200);
      expect((await httpRequest(third.url, { method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(401);
    } finally {
      await third.close();
    }
  });
});

describe('graceful shutdown', () => {
  test('close() during 40 concurrent pushes: every acknowledged push is stored, nothing stored goes unanswered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cr-shutdown-'));
    const bearer = randomBytes(16).toString('hex');
    const bridge = await startBridge(config(dir, { adminToken: 'a'.repeat(32), sources: { s: { bearerToken: bearer } } }), { logDestination: quiet() });
    const events = (i: number) => JSON.stringify({ events: Array.from({ length: 300 }, (_, k) => ({ uid: `e${k}@x`, title: `push ${i} event ${k}`, start: { dateTime: '2030-01-10T09:00:00Z' }, end: { dateTime: '2030-01-10T10:00:00Z' } })) });
    const results: Array<{ id: string; reply?: HttpReply; error?: string }> = [];
    const pushes = Array.from({ length: 40 }, (_, i) => {
      const id = `push-${i}`;
      return httpRequest(bridge.url, { method: 'POST', url: '/hooks/s', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', 'x-delivery-id': id }, payload: events(i) })
        .then((reply) => results.push({ id, reply }))
        .catch((err: NodeJS.ErrnoException) => results.push({ id, error: err.code ?? err.message }));
    });
    // Close as soon as a few pushes are stored: the others are in flight (received, parsing, queued for the store).
    for (;;) {
      let n = 0;
      for (let i = 0; i < 40; i++) if (await bridge.store.hasReceipt('s', `push-${i}`)) n++;
      if (n >= 3) break;
      await new Promise((r) => setTimeout(r, 1));
    }
    const answeredBeforeClose = results.length; // connections not yet read when close() starts are reset by Node (nothing stored for them)
    await bridge.close();
    await Promise.all(pushes);
    const store = await openStore({ dataDir: dir });
    const stored = new Set<string>();
    for (const r of results) if (await store.hasReceipt('s', r.id)) stored.add(r.id);
    await store.close();
    const acked = results.filter((r) => r.reply?.statusCode === 200).map((r) => r.id);
    const statuses = results.map((r) => r.reply?.statusCode ?? r.error);
    expect(statuses.filter((s) => s === 500)).toEqual([]); // no write hit a closed store
    expect(acked.length).toBeGreaterThan(answeredBeforeClose); // requests in flight at close() were finished
    expect([...stored].sort()).toEqual([...acked].sort());
  }, 60_000);
});

describe('feed lookup cache (feedCacheMs)', () => {
  test('another instance sees a new version and a rotated token within feedCacheMs, this one at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cr-feedcache-'));
    let clock = Date.UTC(2030, 0, 1);
    const cfg = (): BridgeConfig => config(dir, { adminToken: 'c'.repeat(32), feedCacheMs: 1000, feedBudget: { requests: 1000, windowSec: 60 } });
    const a = createBridge(cfg(), { store: await openStore({ dataDir: dir }), log: createLogger('silent'), now: () => clock });
    const b = createBridge(cfg(), { store: await openStore({ dataDir: dir }), log: createLogger('silent'), now: () => clock });
    const [ua, ub] = [await a.listen(), await b.listen()];
    const auth = { authorization: `Bearer ${'c'.repeat(32)}`, 'content-type': 'application/json' };
    const publish = (title: string) => httpRequest(ua, { method: 'PUT', url: '/api/feeds/f', headers: auth, payload: JSON.stringify({ events: [{ uid: 'u@x', title, start: { date: '2030-01-01' }, end: { date: '2030-01-02' } }] }) });
    try {
      const path = new URL((await publish('One')).json().subscribeUrl).pathname;
      expect((await httpRequest(ub, { method: 'GET', url: path })).body).toContain('SUMMARY:One');
      await publish('Two');
      expect((await httpRequest(ua, { method: 'GET', url: path })).body).toContain('SUMMARY:Two'); // this instance: at once
      expect((await httpRequest(ub, { method: 'GET', url: path })).body).toContain('SUMMARY:One'); // the other: cached
      clock += 1001;
      expect((await httpRequest(ub, { method: 'GET', url: path })).body).toContain('SUMMARY:Two');
      await httpRequest(ua, { method: 'POST', url: '/api/feeds/f/rotate-token', headers: auth, payload: '{}' });
      expect((await httpRequest(ua, { method: 'GET', url: path })).statusCode).toBe(404);
      clock += 1001;
      expect((await httpRequest(ub, { method: 'GET', url: path })).statusCode).toBe(404);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
