/**
 * Feed GETs answered from memory (server.ts serveFromMemory, bridge/src/feed-serving.ts), over real
 * HTTP (Fastify's inject would bypass the fast path): the same answers as the Fastify route, the
 * cache never serves a version older than the last publish on this instance (no stale 304), a
 * rotated token is refused at once, the budget, metrics and logs still apply.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBridge, type Bridge } from '../../bridge/src/server';
import { createLogger } from '../../bridge/src/logging';
import { defaultConfig, type BridgeConfig } from '../../bridge/src/config';
import { openStore } from '../../bridge/src/store';
import type { Store } from '../../bridge/src/store/types';
import { httpRequest, LogSink, type HttpReply } from './helpers';

const ADMIN = randomBytes(18).toString('base64url');
const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
const FROM_MEMORY = 'feed served from memory';

function config(dataDir: string, extra: Partial<BridgeConfig> = {}): BridgeConfig {
  return { ...defaultConfig(), port: 0, dataDir, adminToken: ADMIN, feedBudget: { requests: 1000, windowSec: 60 }, ...extra };
}

function feedBody(title: string): string {
  return JSON.stringify({ events: [{ uid: 'u@x', title, start: { dateTime: '2030-01-10T09:00:00', timeZone: 'Europe/Berlin' }, end: { dateTime: '2030-01-10T10:00:00', timeZone: 'Europe/Berlin' } }] });
}

interface Running {
  bridge: Bridge;
  url: string;
  logs: LogSink;
}

async function start(dir: string, extra: Partial<BridgeConfig>, level = 'debug', store?: Store): Promise<Running> {
  const logs = new LogSink();
  store ??= await openStore({ dataDir: dir });
  const bridge = createBridge(config(dir, extra), { store, log: createLogger(level, logs) });
  const url = await bridge.listen();
  return { bridge, url, logs };
}

const count = (text: string, what: string) => text.split(what).length - 1;
const publish = (r: Running, title: string) => httpRequest(r.url, { method: 'PUT', url: '/api/feeds/f', headers: auth, payload: feedBody(title) });
const get = (r: Running, path: string, headers: Record<string, string> = {}) => httpRequest(r.url, { method: 'GET', url: path, headers });

/** Status, headers (without Date and connection management) and bytes: what a client sees. */
function seen(r: HttpReply) {
  const { date: _date, connection: _c, 'keep-alive': _k, ...headers } = r.headers;
  return { status: r.statusCode, headers, body: r.rawPayload.toString('base64') };
}

describe('feed GETs from memory', () => {
  let dir: string;
  let cached: Running;
  let uncached: Running;
  let path = '';

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cr-feed-serving-'));
    // Both stores are opened before either bridge starts its work loops (which hold SQLite's lock).
    const stores = [await openStore({ dataDir: dir }), await openStore({ dataDir: dir })];
    cached = await start(dir, { feedCacheMs: 60_000 }, 'debug', stores[0]);
    uncached = await start(dir, { feedCacheMs: 0 }, 'debug', stores[1]); // every request takes the Fastify route
    path = new URL((await publish(cached, 'One')).json().subscribeUrl).pathname;
  });

  afterEach(async () => {
    await cached.bridge.close();
    await uncached.bridge.close();
  });

  test('answers exactly as the Fastify route does, for every kind of request', async () => {
    const plain = await get(uncached, path);
    const gz = await get(uncached, path, { 'accept-encoding': 'gzip' });
    const lastModified = String(plain.headers['last-modified']);
    const jsonPath = path.replace(/\.ics$/, '.json');
    const cases: Array<[string, Record<string, string>]> = [
      [path, {}],
      [path, { 'accept-encoding': 'gzip, deflate, br' }],
      [path, { 'accept-encoding': 'gzip;q=0' }],
      [path, { 'if-none-match': String(plain.headers.etag) }],
      [path, { 'if-none-match': String(gz.headers.etag), 'accept-encoding': 'gzip' }],
      [path, { 'if-none-match': String(plain.headers.etag), 'accept-encoding': 'gzip' }], // the other encoding's ETag
      [path, { 'if-none-match': `"nope", W/${String(gz.headers.etag)}`, 'accept-encoding': 'gzip' }],
      [path, { 'if-none-match': '"nope"', 'if-modified-since': lastModified }], // If-None-Match wins
      [path, { 'if-none-match': '*' }],
      [path, { 'if-modified-since': lastModified }],
      [path, { 'if-modified-since': 'Thu, 01 Jan 1970 00:00:00 GMT' }],
      [`${path}?x=1`, {}],
      [jsonPath, { 'accept-encoding': 'gzip' }],
      [jsonPath, { 'if-none-match': `"${String(plain.headers.etag).slice(1, 33)}-json"` }],
    ];
    await get(cached, path); // warms the cache
    for (const [url, headers] of cases) {
      const before = count(cached.logs.text, FROM_MEMORY);
      const fast = await get(cached, url, headers);
      expect(count(cached.logs.text, FROM_MEMORY)).toBe(before + 1); // answered before Fastify
      expect({ url, sent: headers, ...seen(fast) }).toEqual({ url, sent: headers, ...seen(await get(uncached, url, headers)) });
    }
    expect(count(uncached.logs.text, FROM_MEMORY)).toBe(0);
  });

  test('after a publish here the next GET has the new ETag: never a 304 for the old version', async () => {
    const v1 = await get(cached, path, { 'accept-encoding': 'gzip' });
    expect((await get(cached, path, { 'accept-encoding': 'gzip', 'if-none-match': String(v1.headers.etag) })).statusCode).toBe(304);
    expect(count(cached.logs.text, FROM_MEMORY)).toBe(1);
    await publish(cached, 'Two');
    const after = await get(cached, path, { 'accept-encoding': 'gzip', 'if-none-match': String(v1.headers.etag) });
    expect(after.statusCode).toBe(200);
    expect(after.headers.etag).not.toBe(v1.headers.etag);
    const plain = await get(cached, path);
    expect(plain.body).toContain('SUMMARY:Two');
    expect((await get(cached, path, { 'accept-encoding': 'gzip', 'if-none-match': String(after.headers.etag) })).statusCode).toBe(304);
    // Publishing the same content again is no new version: the ETag stays.
    await publish(cached, 'Two');
    expect((await get(cached, path, { 'accept-encoding': 'gzip', 'if-none-match': String(after.headers.etag) })).statusCode).toBe(304);
  });

  test('a rotated token is refused at once although its lookup was cached', async () => {
    expect((await get(cached, path)).statusCode).toBe(200);
    expect((await get(cached, path)).statusCode).toBe(200);
    const rotated = await httpRequest(cached.url, { method: 'POST', url: '/api/feeds/f/rotate-token', headers: auth, payload: '{}' });
    expect((await get(cached, path)).statusCode).toBe(404);
    expect((await get(cached, new URL(rotated.json().subscribeUrl).pathname)).body).toContain('SUMMARY:One');
  });

  test('a wrong token that differs only in its last character is a 404, never served from memory', async () => {
    await get(cached, path);
    const token = path.slice('/feeds/'.length, -'.ics'.length);
    const wrong = `/feeds/${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}.ics`;
    const before = count(cached.logs.text, FROM_MEMORY);
    expect((await get(cached, wrong)).statusCode).toBe(404);
    expect((await get(cached, wrong)).statusCode).toBe(404); // its (empty) lookup is cached now
    expect(count(cached.logs.text, FROM_MEMORY)).toBe(before);
  });
});

describe('feed GETs from memory: budget, metrics, logs', () => {
  test('the budget counts answers from memory; 429 beyond it; /metrics counts them under the route template', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cr-feed-budget-'));
    const r = await start(dir, { feedCacheMs: 60_000, feedBudget: { requests: 4, windowSec: 3600 } }, 'info');
    try {
      const path = new URL((await publish(r, 'One')).json().subscribeUrl).pathname;
      const first = await get(r, path, { 'accept-encoding': 'gzip' });
      const statuses = [first.statusCode];
      for (let i = 0; i < 4; i++) statuses.push((await get(r, path, { 'accept-encoding': 'gzip', 'if-none-match': String(first.headers.etag) })).statusCode);
      expect(statuses).toEqual([200, 304, 304, 304, 429]);
      const refusedAnswer = await get(r, path);
      expect(refusedAnswer.statusCode).toBe(429);
      expect(Number(refusedAnswer.headers['retry-after'])).toBeGreaterThan(0);
      const m = await httpRequest(r.url, { method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${ADMIN}` } });
      const value = (line: string) => Number(m.body.split('\n').find((l) => l.startsWith(line + ' '))?.slice(line.length + 1));
      expect(value('calendar_relay_bridge_http_requests_total{route="/feeds/:file",method="GET",status="200"}')).toBe(1);
      expect(value('calendar_relay_bridge_http_requests_total{route="/feeds/:file",method="GET",status="304"}')).toBe(3);
      expect(value('calendar_relay_bridge_http_requests_total{route="/feeds/:file",method="GET",status="429"}')).toBe(2);
      // At info: successful feed GETs are not logged line by line, refusals are — never with the token.
      const token = path.slice('/feeds/'.length, -'.ics'.length);
      expect(r.logs.text).not.toContain(token);
      expect(r.logs.text).not.toContain(FROM_MEMORY);
      expect(count(r.logs.text, '"statusCode":304')).toBe(0);
      expect(count(r.logs.text, 'feed request refused')).toBe(2);
      expect(r.logs.text).toContain('"url":"/feeds/<token>.ics"');
    } finally {
      await r.bridge.close();
    }
  });
});

describe('feed lookup racing a publish', () => {
  test('a lookup that read the old version before a publish here does not cache it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cr-feed-race-'));
    let hold: Promise<void> | undefined;
    let reads = 0;
    // The store reads the head at once and answers only when `hold` resolves: the read happened
    // before the publish, the answer arrives after it (as with PostgreSQL under load).
    const slowHeads = (s: Store): Store =>
      new Proxy(s, {
        get(target, prop, receiver) {
          if (prop !== 'getFeedHeadByTokenHash') return Reflect.get(target, prop, receiver) as unknown;
          return async (hash: string) => {
            const head = await target.getFeedHeadByTokenHash(hash);
            reads++;
            if (hold) await hold;
            return head;
          };
        },
      });
    const r = await start(dir, { feedCacheMs: 60_000 }, 'debug', slowHeads(await openStore({ dataDir: dir })));
    try {
      const path = new URL((await publish(r, 'One')).json().subscribeUrl).pathname;
      let release = () => {};
      hold = new Promise<void>((resolve) => (release = resolve));
      const inFlight = get(r, path, { 'accept-encoding': 'gzip' });
      while (reads === 0) await new Promise((res) => setTimeout(res, 5));
      hold = undefined;
      await publish(r, 'Two');
      release();
      const old = await inFlight;
      expect(old.statusCode).toBe(200); // it read version 1 before the publish; that answer is fine
      const next = await get(r, path, { 'accept-encoding': 'gzip', 'if-none-match': String(old.headers.etag) });
      expect(next.statusCode).toBe(200);
      expect(next.headers.etag).not.toBe(old.headers.etag);
    } finally {
      await r.bridge.close();
    }
  });
});

describe('feed budget with workers: N', () => {
  // With the shared budget (syncMs > 0) workers count into the store instead: budget-shared.test.ts.
  test('with feedBudget.syncMs 0 each worker allows its share, so the instance never exceeds the budget', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cr-feed-share-'));
    const logs = new LogSink();
    const peers = { workers: 2, ask: async () => [], handle: () => {} };
    const bridge = createBridge(config(dir, { feedCacheMs: 60_000, feedBudget: { requests: 5, windowSec: 3600, syncMs: 0 } }), { store: await openStore({ dataDir: dir }), log: createLogger('warn', logs), peers });
    const r = { bridge, url: await bridge.listen(), logs };
    try {
      const path = new URL((await publish(r, 'One')).json().subscribeUrl).pathname;
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await get(r, path)).statusCode);
      expect(statuses).toEqual([200, 200, 200, 429]); // ceil(5 / 2) = 3 in this worker
    } finally {
      await bridge.close();
    }
  });
});
