/**
 * The bridge's HTTP API on SQLite, in process (Fastify inject for requests; a real HTTP receiver
 * for outbox deliveries): feeds, intake, bad input, and logs free of secrets.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createBridge, type Bridge } from '../../bridge/src/server';
import { defaultConfig, type BridgeConfig } from '../../bridge/src/config';
import { createLogger } from '../../bridge/src/logging';
import { openStore } from '../../bridge/src/store';
import { signPush } from '../../bridge/src/tokens';
import { parseIcs } from '../../core/ics/parse';
import { httpRequest, LogSink, Receiver, waitFor } from './helpers';

// Random per run, so the log check below cannot pass by accident.
const ADMIN = randomBytes(18).toString('base64url');
const SIGNING_KEY = randomBytes(18).toString('hex');
const BEARER = randomBytes(18).toString('base64url');
const admin = { authorization: `Bearer ${ADMIN}` };

function ev(uid: string, title: string, day = '2030-01-10', extra: Record<string, unknown> = {}) {
  return { uid, title, start: { dateTime: `${day}T09:00:00`, timeZone: 'Europe/Berlin' }, end: { dateTime: `${day}T10:00:00`, timeZone: 'Europe/Berlin' }, ...extra };
}

describe('bridge routes (SQLite)', () => {
  let bridge: Bridge;
  let base = '';
  let config: BridgeConfig;
  const logs = new LogSink();
  const receiver = new Receiver();
  let clock = Date.UTC(2030, 0, 1, 12);

  beforeAll(async () => {
    await receiver.up();
    config = {
      ...defaultConfig(),
      publicUrl: 'https://bridge.example',
      dataDir: mkdtempSync(join(tmpdir(), 'cr-bridge-routes-')),
      adminToken: ADMIN,
      bodyLimit: 64 * 1024,
      feedBudget: { requests: 5, windowSec: 60 },
      deliveryUrl: receiver.url,
      outbox: { pollMs: 20, leaseMs: 5000, timeoutMs: 2000, baseBackoffMs: 20, maxBackoffMs: 100, batch: 8 },
      sources: {
        signed: { hmacSecret: SIGNING_KEY },
        plain: { bearerToken: BEARER },
        lenient: { bearerToken: BEARER, partial: true },
      },
      logLevel: 'debug',
    };
    const store = await openStore({ dataDir: config.dataDir });
    bridge = createBridge(config, { store, log: createLogger('debug', logs), now: () => clock });
    base = await bridge.listen();
    await bridge.dispatcher.stop(); // started by listen(); the intake tests start it when they want deliveries
  });

  afterAll(async () => {
    await bridge.close();
    await receiver.down();
  });

  const inject = (opts: { method: string; url: string; headers?: Record<string, string>; payload?: string }) => httpRequest(base, opts);
  const put = (name: string, body: unknown, headers: Record<string, string> = admin) =>
    inject({ method: 'PUT', url: `/api/feeds/${name}`, headers: { 'content-type': typeof body === 'string' ? 'text/calendar' : 'application/json', ...headers }, payload: typeof body === 'string' ? body : JSON.stringify(body) });
  const tokenOf = (subscribeUrl: string) => /\/feeds\/([^/]+)\.ics$/.exec(subscribeUrl)![1];

  describe('feeds', () => {
    let token: string;

    test('PUT publishes a version and answers with the subscribe URL; the same content again is not a new version', async () => {
      const r1 = await put('rooms', { events: [ev('a@x', 'Alpha'), ev('b@x', 'Beta', '2030-01-11')] });
      expect(r1.statusCode).toBe(200);
      const b1 = r1.json();
      expect(b1).toMatchObject({ feed: 'rooms', version: 1, changed: true, events: 2 });
      expect(b1.subscribeUrl).toMatch(/^https:\/\/bridge\.example\/feeds\/[A-Za-z0-9_-]{43}\.ics$/);
      token = tokenOf(b1.subscribeUrl);
      expect(Buffer.from(token, 'base64url').length).toBeGreaterThanOrEqual(16);
      const r2 = await put('rooms', { events: [ev('a@x', 'Alpha'), ev('b@x', 'Beta', '2030-01-11')] });
      expect(r2.json()).toMatchObject({ version: 1, changed: false, subscribeUrl: b1.subscribeUrl });
      const r3 = await put('rooms', { events: [ev('a@x', 'Alpha 2'), ev('b@x', 'Beta', '2030-01-11')] });
      expect(r3.json()).toMatchObject({ version: 2, changed: true });
    });

    test('GET .ics serves text/calendar with ETag/Last-Modified, 304 on revalidation, gzip on request', async () => {
      const r = await inject({ method: 'GET', url: `/feeds/${token}.ics` });
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toBe('text/calendar; charset=utf-8');
      const parsed = parseIcs(r.body);
      expect(parsed.events.map((e) => [e.uid, e.title]).sort()).toEqual([['a@x', 'Alpha 2'], ['b@x', 'Beta']]);
      const etag = String(r.headers.etag);
      expect(etag).toMatch(/^"[0-9a-f]{32}-ics"$/);
      expect(new Date(String(r.headers['last-modified'])).getTime()).toBe(Math.floor(clock / 1000) * 1000);
      const r304 = await inject({ method: 'GET', url: `/feeds/${token}.ics`, headers: { 'if-none-match': etag } });
      expect(r304.statusCode).toBe(304);
      expect(r304.body).toBe('');
      const ims = await inject({ method: 'GET', url: `/feeds/${token}.ics`, headers: { 'if-modified-since': String(r.headers['last-modified']) } });
      expect(ims.statusCode).toBe(304);
      const gz = await inject({ method: 'GET', url: `/feeds/${token}.ics`, headers: { 'accept-encoding': 'gzip, deflate' } });
      expect(gz.headers['content-encoding']).toBe('gzip');
      expect(gunzipSync(gz.rawPayload).toString('utf8')).toBe(r.body);
    });

    test('GET .json serves our event JSON; one event as .ics by UID', async () => {
      clock += 61_000; // a fresh budget window
      const r = await inject({ method: 'GET', url: `/feeds/${token}.json` });
      expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(r.json().events.map((e: { uid: string }) => e.uid).sort()).toEqual(['a@x', 'b@x']);
      const one = await inject({ method: 'GET', url: `/feeds/${token}/events/${encodeURIComponent('b@x')}.ics` });
      expect(one.statusCode).toBe(200);
      expect(parseIcs(one.body).events.map((e) => e.uid)).toEqual(['b@x']);
      expect((await inject({ method: 'GET', url: `/feeds/${token}/events/nope.ics` })).statusCode).toBe(404);
    });

    test('the per-token budget answers 429 with Retry-After, for that token only', async () => {
      // 5 per window; windows are aligned to the clock: this one ends 40 s from now.
      clock = Math.floor(clock / 60_000) * 60_000 + 80_000;
      for (let i = 0; i < 5; i++) expect((await inject({ method: 'GET', url: `/feeds/${token}.ics` })).statusCode).toBe(200);
      const limited = await inject({ method: 'GET', url: `/feeds/${token}.ics` });
      expect(limited.statusCode).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBe(40);
      const other = tokenOf((await put('other', { events: [ev('c@x', 'C')] })).json().subscribeUrl);
      expect((await inject({ method: 'GET', url: `/feeds/${other}.ics` })).statusCode).toBe(200);
      clock += 60_000;
      expect((await inject({ method: 'GET', url: `/feeds/${token}.ics` })).statusCode).toBe(200);
    });

    test('wrong, truncated or malformed tokens are 404 with the same body', async () => {
      const wrong = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
      for (const t of [wrong, token.slice(0, 30), 'x', `${token}x`]) {
        const r = await inject({ method: 'GET', url: `/feeds/${t}.ics` });
        expect([r.statusCode, r.body]).toEqual([404, '{"error":"not found"}']);
      }
    });

    test('rotating the token retires the old URL', async () => {
      const r = await inject({ method: 'POST', url: '/api/feeds/rooms/rotate-token', headers: admin });
      const fresh = tokenOf(r.json().subscribeUrl);
      expect(fresh).not.toBe(token);
      expect((await inject({ method: 'GET', url: `/feeds/${token}.ics` })).statusCode).toBe(404);
      expect((await inject({ method: 'GET', url: `/feeds/${fresh}.ics` })).statusCode).toBe(200);
      expect((await put('rooms', { events: [ev('a@x', 'Alpha 2'), ev('b@x', 'Beta', '2030-01-11')] })).json().subscribeUrl).toBe(r.json().subscribeUrl);
      token = fresh;
    });

    test('publishing ICS works; bad admin token is 401 and publishes nothing', async () => {
      const ics = readFileSync(join(__dirname, '..', 'fixtures', 'ics', 'kaltura-series.ics'), 'utf8');
      const r = await put('kaltura', ics);
      expect(r.statusCode).toBe(200);
      expect(r.json().events).toBe(parseIcs(ics).events.length);
      for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: ADMIN }] as Array<Record<string, string>>) {
        const bad = await put('sneaky', { events: [ev('s@x', 'S')] }, headers);
        expect(bad.statusCode).toBe(401);
      }
      expect((await inject({ method: 'GET', url: '/api/feeds/sneaky', headers: admin })).statusCode).toBe(404);
    });

    test('invalid events: 400 listing each item, nothing published', async () => {
      const r = await put('rooms', { events: [ev('ok@x', 'fine'), { uid: 'bad@x', title: 'no start' }, ev('bad2@x', 'bad', '2030-13-45')] });
      expect(r.statusCode).toBe(400);
      const items = r.json().items as Array<{ item: number }>;
      expect(items.map((i) => i.item)).toEqual([1, 2]);
      expect((await inject({ method: 'GET', url: '/api/feeds/rooms', headers: admin })).json().version).toBe(3 - 1);
    });
  });

  describe('intake', () => {
    const signed = (body: string, ts = Math.floor(clock / 1000), secret = SIGNING_KEY, extra: Record<string, string> = {}) => ({
      'content-type': 'application/json', 'x-relay-timestamp': String(ts), 'x-relay-signature': signPush(secret, String(ts), body), ...extra,
    });
    const push = (source: string, body: string, headers: Record<string, string>) => inject({ method: 'POST', url: `/hooks/${source}`, headers, payload: body });

    test('a signed push is stored, diffed and delivered; a retry with the same delivery id is answered from the receipt', async () => {
      const body = JSON.stringify({ events: [ev('m1@src', 'Maths'), ev('m2@src', 'Physics')] });
      const r = await push('signed', body, signed(body, undefined, undefined, { 'x-delivery-id': 'push-1' }));
      expect(r.statusCode).toBe(200);
      expect(r.json()).toMatchObject({ version: 1, added: 2, changed: 0, removed: 0, duplicate: false });
      const again = await push('signed', body, signed(body, undefined, undefined, { 'x-delivery-id': 'push-1' }));
      expect(again.json()).toMatchObject({ version: 1, duplicate: true, delivery: r.json().delivery });
      const body2 = JSON.stringify({ events: [ev('m1@src', 'Maths (moved)', '2030-01-12'), ev('m3@src', 'Art')] });
      const r2 = await push('signed', body2, signed(body2, undefined, undefined, { 'x-delivery-id': 'push-2' }));
      expect(r2.json()).toMatchObject({ version: 2, previousVersion: 1, added: 1, changed: 1, removed: 1 });
      bridge.dispatcher.start();
      await waitFor(() => receiver.deliveries.length >= 2, 5000, 'two deliveries');
      const [d1, d2] = receiver.deliveries;
      expect(d1.id).toBe(r.json().delivery);
      expect((d1.body.added as Array<{ uid: string }>).map((e) => e.uid).sort()).toEqual(['m1@src', 'm2@src']);
      expect(d2.body).toMatchObject({ version: 2, pushId: 'push-2', counts: { added: 1, changed: 1, removed: 1 } });
      expect((d2.body.removed as Array<{ uid: string }>)[0].uid).toBe('m2@src');
      expect(receiver.deliveries.length).toBe(2);
    });

    test('the receiver refusing: retried with backoff until it accepts', async () => {
      receiver.status = 503;
      const before = receiver.deliveries.length;
      const body = JSON.stringify({ events: [ev('m1@src', 'Maths (moved)', '2030-01-12')] });
      const r = await push('signed', body, signed(body));
      expect(r.json().removed).toBe(1);
      await new Promise((res) => setTimeout(res, 300));
      expect(receiver.deliveries.length).toBe(before);
      receiver.status = 200;
      // The bridge's clock is frozen here: the retry waits for its backoff (≤ 100 ms) to pass on that clock.
      await new Promise((res) => setTimeout(res, 200));
      expect(receiver.deliveries.length).toBe(before);
      clock += 150;
      await waitFor(() => receiver.deliveries.length === before + 1, 5000, 'the retried delivery');
      expect(receiver.deliveries[before].id).toBe(r.json().delivery);
    });

    test('ICS push with bearer auth', async () => {
      const ics = readFileSync(join(__dirname, '..', 'fixtures', 'ics', 'kaltura-series.ics'), 'utf8');
      const r = await push('plain', ics, { 'content-type': 'text/calendar; charset=utf-8', authorization: `Bearer ${BEARER}` });
      expect(r.statusCode).toBe(200);
      expect(r.json().added).toBe(parseIcs(ics).events.length);
    });

    const latest = async (source: string) => (await bridge.store.latestSnapshot(source))?.version ?? 0;

    test.each([
      ['no signature', () => ({ 'content-type': 'application/json' })],
      ['wrong secret', (b: string) => signed(b, undefined, 'another-secret-0123456789')],
      ['stale timestamp', (b: string) => signed(b, Math.floor(clock / 1000) - 301)],
      ['future timestamp', (b: string) => signed(b, Math.floor(clock / 1000) + 301)],
      ['body altered after signing', (b: string) => signed(b.replace('Chem', 'Chef'))],
    ])('401 and nothing stored: %s', async (_name, headers) => {
      const v = await latest('signed');
      const body = JSON.stringify({ events: [ev('c1@src', 'Chemistry')] });
      const r = await push('signed', body, headers(body) as Record<string, string>);
      expect(r.statusCode).toBe(401);
      expect(await latest('signed')).toBe(v);
    });

    test('bearer source: missing or wrong token 401; unknown source 404', async () => {
      const body = JSON.stringify({ events: [ev('x@src', 'X')] });
      expect((await push('plain', body, { 'content-type': 'application/json' })).statusCode).toBe(401);
      expect((await push('plain', body, { 'content-type': 'application/json', authorization: `Bearer ${BEARER}x` })).statusCode).toBe(401);
      expect((await push('nosuch', body, { 'content-type': 'application/json', authorization: `Bearer ${BEARER}` })).statusCode).toBe(404);
      expect(await bridge.store.latestSnapshot('nosuch')).toBeUndefined();
    });

    test('413 over the body limit, 415 for other content types', async () => {
      const v = await latest('plain');
      const big = JSON.stringify({ events: [ev('big@src', 'x'.repeat(70 * 1024))] });
      const r413 = await push('plain', big, { 'content-type': 'application/json', authorization: `Bearer ${BEARER}` });
      expect(r413.statusCode).toBe(413);
      const r415 = await push('plain', '<xml/>', { 'content-type': 'application/xml', authorization: `Bearer ${BEARER}` });
      expect(r415.statusCode).toBe(415);
      expect(await latest('plain')).toBe(v);
    });

    test('400 with per-item errors; malformed JSON 400; partial sources keep the valid items', async () => {
      const body = JSON.stringify({ events: [ev('ok@src', 'ok'), { uid: 'bad@src', title: 'x', start: { dateTime: 'soon' }, end: { date: '2030-01-01' } }] });
      const v = await latest('plain');
      const r = await push('plain', body, { 'content-type': 'application/json', authorization: `Bearer ${BEARER}` });
      expect(r.statusCode).toBe(400);
      expect(r.json().items).toEqual([expect.objectContaining({ item: 1 })]);
      const junk = await push('plain', '{"events": [', { 'content-type': 'application/json', authorization: `Bearer ${BEARER}` });
      expect(junk.statusCode).toBe(400);
      expect(await latest('plain')).toBe(v);
      const lenient = await push('lenient', body, { 'content-type': 'application/json', authorization: `Bearer ${BEARER}` });
      expect(lenient.statusCode).toBe(200);
      expect(lenient.json()).toMatchObject({ added: 1, rejected: [expect.objectContaining({ item: 1 })] });
    });

    test('a push that would empty a source is refused unless X-Relay-Allow-Empty', async () => {
      const h = { 'content-type': 'application/json', authorization: `Bearer ${BEARER}` };
      const v = await latest('lenient');
      const r = await push('lenient', '{"events": []}', h);
      expect(r.statusCode).toBe(409);
      expect(await latest('lenient')).toBe(v);
      const ok = await push('lenient', '{"events": []}', { ...h, 'x-relay-allow-empty': 'true' });
      expect(ok.json()).toMatchObject({ removed: 1, version: v + 1 });
    });
  });

  test('/readyz answers from the store; /metrics (admin) counts requests, pushes and deliveries without tokens', async () => {
    expect((await inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ ready: true });
    expect((await inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    const m = await inject({ method: 'GET', url: '/metrics', headers: admin });
    expect(m.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const value = (line: string) => Number(m.body.split('\n').find((l) => l.startsWith(line + ' '))?.slice(line.length + 1));
    expect(value('calendar_relay_bridge_pushes_total{source="signed",result="duplicate"}')).toBe(1);
    expect(value('calendar_relay_bridge_pushes_total{source="signed",result="stored"}')).toBe(3);
    expect(value('calendar_relay_bridge_deliveries_total{result="delivered"}')).toBe(receiver.deliveries.length);
    expect(value('calendar_relay_bridge_deliveries_total{result="failed"}')).toBeGreaterThanOrEqual(1);
    expect(value('calendar_relay_bridge_http_requests_total{route="/feeds/:file",method="GET",status="304"}')).toBe(2);
    expect(value('calendar_relay_bridge_http_requests_total{route="/feeds/:file",method="GET",status="429"}')).toBe(1);
    expect(value('calendar_relay_bridge_outbox_pending')).toBe((await bridge.store.outboxStats()).pending);
    const feed = await inject({ method: 'GET', url: '/api/feeds/rooms', headers: admin });
    expect(m.body).not.toContain(tokenOf(feed.json().subscribeUrl));
  });

  test('no token, secret or signature appears in the logs', async () => {
    await bridge.dispatcher.stop();
    const feed = await inject({ method: 'GET', url: '/api/feeds/rooms', headers: admin });
    const token = tokenOf(feed.json().subscribeUrl);
    await inject({ method: 'GET', url: `/feeds/${token}.ics?x=${token}` });
    await inject({ method: 'GET', url: `/feeds/${token}x.ics` });
    const body = '{"events":[]}';
    const sig = signPush(SIGNING_KEY, String(Math.floor(clock / 1000)), body);
    await inject({ method: 'POST', url: '/hooks/signed', headers: { 'content-type': 'application/json', 'x-relay-timestamp': String(Math.floor(clock / 1000)), 'x-relay-signature': sig }, payload: body });
    expect(logs.text).toContain('/feeds/<token>.ics');
    expect(logs.text).toContain('incoming request');
    for (const secret of [ADMIN, SIGNING_KEY, BEARER, token, sig, sig.slice(7)]) expect(logs.text).not.toContain(secret);
  });
});
