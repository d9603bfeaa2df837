/**
 * Import subscriptions: the admin API (Sonderplan's field names and list parameters), polling a
 * loopback feed through the safe fetch (127.0.0.2 allow-listed; 127.0.0.1 refused), conditional
 * GETs, default properties, diffs forwarded through the outbox, and — on a real PostgreSQL —
 * leases: two instances never poll one subscription at the same time.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBridge, type Bridge } from '../../bridge/src/server';
import { defaultConfig, type BridgeConfig } from '../../bridge/src/config';
import { createLogger } from '../../bridge/src/logging';
import { openStore } from '../../bridge/src/store';
import { openPostgresStore } from '../../bridge/src/store/postgres';
import { SubscriptionPoller, defaultSubscriptionsConfig, listSubscriptionsView, subscriptionInputOf } from '../../bridge/src/subscriptions';
import { createSafeFetch } from '../../bridge/src/safe-fetch';
import type { SubscriptionRecord } from '../../bridge/src/store/types';
import { createDatabase, httpRequest, LogSink, Receiver, startPostgres, stopPostgres, waitFor, type Postgres } from './helpers';

const ADMIN = randomBytes(18).toString('base64url');
const FEED_SECRET = randomBytes(12).toString('hex');
const admin = { authorization: `Bearer ${ADMIN}` };

function vevent(uid: string, summary: string, extra = ''): string {
  return `BEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20300101T000000Z\r\nDTSTART:20300110T090000Z\r\nDTEND:20300110T100000Z\r\nSUMMARY:${summary}\r\n${extra}END:VEVENT\r\n`;
}
const calendar = (...events: string[]) => `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n${events.join('')}END:VCALENDAR\r\n`;

/** The remote calendar: serves `body` with an ETag, answers 304 to its ETag, records requests. */
class FeedServer {
  body = calendar(vevent('a@remote', 'Alpha'), vevent('b@remote', 'Beta', 'LOCATION:Room 7\r\n'));
  requests: IncomingHttpHeaders[] = [];
  private server: Server | undefined;
  base = '';
  async up(host: string): Promise<void> {
    this.server = createServer((req, res) => {
      this.requests.push(req.headers);
      const etag = `"${Buffer.from(this.body).length}-${this.body.length % 97}"`;
      if (req.url === '/private.ics' && req.headers.authorization !== `Bearer ${FEED_SECRET}`) return res.writeHead(401).end();
      if (req.headers['if-none-match'] === etag) return res.writeHead(304, { etag }).end();
      res.writeHead(200, { 'content-type': 'text/calendar', etag }).end(this.body);
    });
    await new Promise<void>((r) => this.server!.listen(0, host, () => r()));
    this.base = `http://${host}:${(this.server.address() as AddressInfo).port}`;
  }
  async down(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }
}

describe('subscription body and list parameters', () => {
  const cfg = defaultSubscriptionsConfig();
  test.each([
    [{}, 'calendar_url is required'],
    [{ calendar_url: 'ftp://x/y.ics' }, 'calendar_url must be an http, https or webcal URL'],
    [{ calendar_url: 'https://u:p@x/y.ics' }, 'must not carry credentials'],
    [{ calendar_url: 'https://x/y.ics', interval: 60 }, 'interval must be a whole number of seconds from 300 (the minimum)'],
    [{ calendar_url: 'https://x/y.ics', last_checked_date: 1 }, 'last_checked_date is read-only'],
    [{ calendar_url: 'https://x/y.ics', colour: 'red' }, 'unknown field "colour"'],
    [{ calendar_url: 'https://x/y.ics', auth: { type: 'digest' } }, 'auth.type must be bearer, basic or header'],
    [{ calendar_url: 'https://x/y.ics', booking_property: { status: 'MAYBE' } }, 'booking_property.status must be one of'],
    [{ calendar_url: 'https://x/y.ics', booking_property: { client: [] } }, 'booking_property.client is not supported'],
  ])('%j is refused: %s', (body, msg) => expect(() => subscriptionInputOf(body, cfg)).toThrow(msg));

  test('webcal becomes https; defaults filled', () => {
    expect(subscriptionInputOf({ calendar_url: 'webcal://cal.example/a.ics' }, cfg)).toEqual({ name: 'cal.example', calendar_url: 'https://cal.example/a.ics', enabled: true, interval_sec: 3600, booking_property: {}, auth: null, sync_target: null, sync_calendar: null, sync_override: null });
  });

  const rec = (id: number, name: string, checked: number | null): SubscriptionRecord => ({
    id, name, calendar_url: `https://x/${id}.ics`, enabled: true, interval_sec: 3600, booking_property: {}, auth: null, created_at: 0, updated_at: 0, next_poll_at: 0, locked_until: 0,
    locked_by: null, fetch_state: null, last_checked_date: checked, last_checked_filesize: null, last_parsed_date: null, last_error: null, event_count: id * 10, polls: 0, sync_state: null, sync_status: null,
  });
  const all = [rec(1, 'c', 5000), rec(2, 'a', null), rec(3, 'b', 1000)];
  test('fields, limit, page, order_asc, order_desc, id; pagination meta', () => {
    expect(listSubscriptionsView(all, { fields: 'id,name', order_asc: 'name' }).data).toEqual([{ id: 2, name: 'a' }, { id: 3, name: 'b' }, { id: 1, name: 'c' }]);
    expect(listSubscriptionsView(all, { fields: 'id', order_desc: 'event_count', limit: '2', page: '2' })).toEqual({ data: [{ id: 1 }], meta: { pagination: { total: 3, count: 1, per_page: 2, current_page: 2 } } });
    expect(listSubscriptionsView(all, { fields: 'id,last_checked_date', order_desc: 'last_checked_date' }).data).toEqual([{ id: 1, last_checked_date: 5 }, { id: 3, last_checked_date: 1 }, { id: 2, last_checked_date: null }]);
    expect(listSubscriptionsView(all, { id: '3,1', fields: 'id' }).data).toEqual([{ id: 1 }, { id: 3 }]);
    expect(listSubscriptionsView(all, {}).meta.pagination.per_page).toBe(10);
    expect(() => listSubscriptionsView(all, { fields: 'id,password' })).toThrow('unknown field "password" in fields');
    expect(() => listSubscriptionsView(all, { order_asc: 'auth' })).toThrow('cannot order by "auth"');
    expect(() => listSubscriptionsView(all, { limit: '0' })).toThrow('limit must be a whole number from 1');
  });
});

describe('subscriptions on SQLite through the API, polled for real', () => {
  let bridge: Bridge;
  let base = '';
  let config: BridgeConfig;
  const logs = new LogSink();
  const receiver = new Receiver();
  const remote = new FeedServer();
  let clock = Date.UTC(2030, 0, 1, 12);

  beforeAll(async () => {
    await receiver.up();
    await remote.up('127.0.0.2');
    config = {
      ...defaultConfig(),
      dataDir: mkdtempSync(join(tmpdir(), 'cr-bridge-subs-')),
      adminToken: ADMIN,
      deliveryUrl: receiver.url,
      outbox: { pollMs: 20, leaseMs: 5000, timeoutMs: 2000, baseBackoffMs: 20, maxBackoffMs: 100, batch: 8 },
      subscriptions: { ...defaultSubscriptionsConfig(), allowPrivate: ['127.0.0.2/32'], timeoutMs: 2000 },
    };
    const store = await openStore({ dataDir: config.dataDir });
    bridge = createBridge(config, { store, log: createLogger('debug', logs), now: () => clock });
    base = await bridge.listen();
    await bridge.poller.stop(); // the tests drive polls with runOnce and their own clock
  });
  afterAll(async () => {
    await bridge.close();
    await receiver.down();
    await remote.down();
  });

  const call = (method: string, url: string, body?: unknown, headers: Record<string, string> = admin) =>
    httpRequest(base, { method, url, headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers }, payload: body !== undefined ? JSON.stringify(body) : undefined });

  let id = 0;
  test('create needs the admin token; answers 201 with the Sonderplan-style record; credentials never shown', async () => {
    expect((await call('POST', '/api/subscriptions', { calendar_url: `${remote.base}/private.ics` }, {})).statusCode).toBe(401);
    const r = await call('POST', '/api/subscriptions', { name: 'Sim rooms', calendar_url: `${remote.base}/private.ics`, interval: 900, booking_property: { room: 'Sim room 1', status: 'TENTATIVE', categories: ['imported'] }, auth: { type: 'bearer', token: FEED_SECRET } });
    expect(r.statusCode).toBe(201);
    const d = r.json().data;
    expect(d).toEqual({
      id: expect.any(Number), name: 'Sim rooms', enabled: true, calendar_url: `${remote.base}/private.ics`, interval: 900,
      booking_property: { room: 'Sim room 1', status: 'TENTATIVE', categories: ['imported'] }, auth: { type: 'bearer' },
      last_checked_date: null, last_checked_filesize: null, last_parsed_date: null, last_error: null, event_count: 0, sync_target: null, sync_calendar: null, sync_override: null, sync_status: null,
      created_date: Math.floor(clock / 1000), updated_date: Math.floor(clock / 1000),
    });
    expect(r.body).not.toContain(FEED_SECRET);
    id = d.id;
    const bad = await call('POST', '/api/subscriptions', { calendar_url: `${remote.base}/x.ics`, interval: 10 });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/interval .* from 300 \(the minimum\)/);
  });

  test('a poll reads the feed with the credentials, applies the defaults, forwards the diff, fills the status fields', async () => {
    bridge.dispatcher.start();
    expect(await bridge.poller.runOnce()).toBe(1);
    expect(remote.requests.at(-1)?.authorization).toBe(`Bearer ${FEED_SECRET}`);
    await waitFor(() => receiver.deliveries.length === 1, 5000, 'the first delivery');
    const body = receiver.deliveries[0].body as { source: string; subscriptionId: number; added: Array<{ uid: string; location?: string; status?: string; categories?: string[] }> };
    expect(body.source).toBe(`subscription:${id}`);
    expect(body.subscriptionId).toBe(id);
    const byUid = Object.fromEntries(body.added.map((e) => [e.uid, e]));
    expect(Object.keys(byUid).sort()).toEqual(['a@remote', 'b@remote']);
    expect(byUid['a@remote']).toMatchObject({ location: 'Sim room 1', status: 'TENTATIVE', categories: ['imported'] });
    expect(byUid['b@remote'].location).toBe('Room 7'); // the event's own value wins
    const d = (await call('GET', `/api/subscriptions/${id}`)).json().data;
    expect(d).toMatchObject({ last_checked_date: Math.floor(clock / 1000), last_parsed_date: Math.floor(clock / 1000), last_checked_filesize: Buffer.byteLength(remote.body), last_error: null, event_count: 2 });
  });

  test('not due before its interval; then a conditional GET (304) changes nothing; a changed feed forwards only the change', async () => {
    clock += 60_000;
    expect(await bridge.poller.runOnce()).toBe(0);
    clock += 900_000;
    expect(await bridge.poller.runOnce()).toBe(1);
    expect(remote.requests.at(-1)?.['if-none-match']).toMatch(/^"/);
    let d = (await call('GET', `/api/subscriptions/${id}`)).json().data;
    expect(d.last_checked_date).toBe(Math.floor(clock / 1000));
    expect(d.last_parsed_date).toBe(Math.floor((clock - 960_000) / 1000)); // not parsed again
    remote.body = calendar(vevent('a@remote', 'Alpha moved'), vevent('b@remote', 'Beta', 'LOCATION:Room 7\r\n'), vevent('c@remote', 'Gamma'));
    clock += 900_000;
    expect(await bridge.poller.runOnce()).toBe(1);
    await waitFor(() => receiver.deliveries.length === 2, 5000, 'the second delivery');
    const diff = receiver.deliveries[1].body as { added: Array<{ uid: string }>; changed: Array<{ after: { title: string } }>; removed: unknown[] };
    expect(diff.added.map((e) => e.uid)).toEqual(['c@remote']);
    expect(diff.changed.map((c) => c.after.title)).toEqual(['Alpha moved']);
    expect(diff.removed).toEqual([]);
    d = (await call('GET', `/api/subscriptions/${id}`)).json().data;
    expect(d.event_count).toBe(3);
  });

  test('a feed going empty or failing keeps the snapshot and reports last_error', async () => {
    remote.body = calendar();
    clock += 900_000;
    await bridge.poller.runOnce();
    let d = (await call('GET', `/api/subscriptions/${id}`)).json().data;
    expect(d.last_error).toMatch(/no valid events but the stored snapshot has 3/);
    expect(d.event_count).toBe(3);
    // Wrong credentials: HTTP 401 from the remote.
    expect((await call('PUT', `/api/subscriptions/${id}`, { auth: { type: 'bearer', token: 'wrong-token-value' } })).statusCode).toBe(200);
    await bridge.poller.runOnce();
    d = (await call('GET', `/api/subscriptions/${id}`)).json().data;
    expect(d.last_error).toMatch(/answered HTTP 401/);
    expect(receiver.deliveries).toHaveLength(2);
    expect(logs.text).not.toContain(FEED_SECRET);
  });

  test('a subscription to a refused address fails without a request; disabled ones are not polled', async () => {
    const trapHits: string[] = [];
    const trap = createServer((req, res) => {
      trapHits.push(String(req.url));
      res.end();
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', () => r()));
    const port = (trap.address() as AddressInfo).port;
    const r = await call('POST', '/api/subscriptions', { calendar_url: `http://localhost:${port}/x.ics`, name: 'local' });
    const local = r.json().data.id;
    const off = (await call('POST', '/api/subscriptions', { calendar_url: `${remote.base}/public.ics`, enabled: false })).json().data.id;
    const before = remote.requests.length;
    await bridge.poller.runOnce();
    const d = (await call('GET', `/api/subscriptions/${local}`)).json().data;
    expect(d.last_error).toMatch(/loopback address; refused/);
    expect(trapHits).toEqual([]);
    expect((await call('GET', `/api/subscriptions/${off}`)).json().data.last_checked_date).toBeNull();
    expect(remote.requests.length).toBe(before);
    await new Promise((res) => trap.close(res));
  });

  test('list with Sonderplan parameters; delete', async () => {
    const l = (await call('GET', '/api/subscriptions?fields=id,name,enabled&order_desc=id&limit=2')).json();
    expect(l.meta.pagination).toEqual({ total: 3, count: 2, per_page: 2, current_page: 1 });
    expect(l.data[0]).toEqual({ id: expect.any(Number), name: '127.0.0.2', enabled: false });
    expect((await call('GET', '/api/subscriptions?fields=secret')).statusCode).toBe(400);
    const del = await call('DELETE', `/api/subscriptions/${id}`);
    expect(del.statusCode).toBe(200);
    expect(del.json()).toEqual({ deleted: true, removed_events: 0, events_left: false }); // it synced into no room
    expect((await call('GET', `/api/subscriptions/${id}`)).statusCode).toBe(404);
    expect((await call('DELETE', `/api/subscriptions/${id}`)).statusCode).toBe(404);
  });
});

describe('leases on PostgreSQL: each subscription is polled by one instance at a time', () => {
  let pg: Postgres | undefined;
  const remote = new FeedServer();
  beforeAll(async () => {
    pg = startPostgres();
    await remote.up('127.0.0.2');
  }, 300_000);
  afterAll(async () => {
    await remote.down();
    stopPostgres(pg);
  });

  test('two instances, 12 due subscriptions, claims racing: every subscription fetched exactly once per interval', async () => {
    if (!pg) return;
    const url = await createDatabase(pg, `subs_${process.pid}`);
    const a = openPostgresStore(url);
    const b = openPostgresStore(url);
    await Promise.all([a.migrate(), b.migrate()]);
    const clock = Date.UTC(2030, 0, 1);
    const cfg = { ...defaultSubscriptionsConfig(), batch: 3, allowPrivate: ['127.0.0.2/32'] };
    for (let i = 0; i < 12; i++) await a.createSubscription(subscriptionInputOf({ calendar_url: `${remote.base}/feed-${i}.ics`, name: `s${i}` }, cfg), clock);
    const log = createLogger('silent');
    const pollers = [a, b].map((store, n) => new SubscriptionPoller({ store, config: cfg, instanceId: `i${n}`, log, now: () => clock, fetch: createSafeFetch({ allow: cfg.allowPrivate }) }));
    const counts = [0, 0];
    for (let round = 0; round < 6; round++) {
      const got = await Promise.all(pollers.map((p) => p.runOnce()));
      counts[0] += got[0];
      counts[1] += got[1];
    }
    expect(counts[0] + counts[1]).toBe(12);
    expect(counts[0]).toBeGreaterThan(0);
    expect(counts[1]).toBeGreaterThan(0);
    const paths = remote.requests.length;
    expect(paths).toBe(12);
    const subs = await a.listSubscriptions();
    expect(subs.every((s) => s.polls === 1 && s.event_count === 2 && s.locked_by === null)).toBe(true);
    // A lease held by one instance keeps the other out, and only the holder may record the poll.
    const later = clock + 3600_000 + 1;
    const claimedByA = await a.claimSubscriptions(later, 1, 60_000, 'i0');
    expect(claimedByA).toHaveLength(1);
    const claimedByB = await b.claimSubscriptions(later, 100, 60_000, 'i1');
    expect(claimedByB.map((s) => s.id)).not.toContain(claimedByA[0].id);
    expect(await b.finishPoll(claimedByA[0].id, 'i1', { checkedAt: later, fetchState: null, error: null }, later)).toBe(false);
    expect(await a.finishPoll(claimedByA[0].id, 'i0', { checkedAt: later, fetchState: null, error: null }, later)).toBe(true);
    // An expired lease (instance died) is taken over.
    const stuck = claimedByB[0].id;
    const after = await a.claimSubscriptions(later + 60_001, 100, 60_000, 'i0');
    expect(after.map((s) => s.id)).toContain(stuck);
    await a.close();
    await b.close();
  }, 60_000);
});
