/**
 * The feed request budget shared by every instance on one database (bridge/src/budget.ts): the
 * counting with an injected clock against an in-memory oracle store, then two real bridges on one
 * PostgreSQL database and on one SQLite file, over real HTTP (the fast path counts too), window
 * rollover, a store that fails during a sync, workers, and the sync timer ending with close().
 */
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RequestBudget, SharedBudget, type BudgetDelta, type BudgetStore } from '../../bridge/src/budget';
import { createBridge, type Bridge } from '../../bridge/src/server';
import { createLogger } from '../../bridge/src/logging';
import { defaultConfig, loadBridgeConfig, type BridgeConfig } from '../../bridge/src/config';
import { openStore } from '../../bridge/src/store';
import type { Store } from '../../bridge/src/store/types';
import { createDatabase, httpRequest, LogSink, startPostgres, stopPostgres, waitFor, type Postgres } from './helpers';

/** The oracle: per (window, key) the plain sum of everything added. */
class MemoryBudgetStore implements BudgetStore {
  readonly sums = new Map<string, number>();
  calls = 0;
  down = false;
  async addFeedBudgetCounts(input: { windowStart: number; windowMs: number; deltas: BudgetDelta[] }) {
    this.calls++;
    if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    for (const d of input.deltas) this.sums.set(`${input.windowStart}/${d.key}`, (this.sums.get(`${input.windowStart}/${d.key}`) ?? 0) + d.count);
    const out: Array<{ key: string; total: number }> = [];
    for (const [k, total] of this.sums) if (k.startsWith(`${input.windowStart}/`)) out.push({ key: k.slice(k.indexOf('/') + 1), total });
    return out;
  }
}

const quiet = () => createLogger('warn', new LogSink());
const oks = (b: { take: RequestBudget['take'] }, key: string, n: number, at: number) => Array.from({ length: n }, () => b.take(key, at).ok);

describe('RequestBudget: clock-aligned windows, own count plus everyone else’s', () => {
  test('windows start at multiples of the window, not at a key’s first request; Retry-After to the window end, at least 1', () => {
    const b = new RequestBudget(3, 10);
    expect(oks(b, 'k', 3, 7000)).toEqual([true, true, true]);
    expect(b.take('k', 7000)).toEqual({ ok: false, retryAfterSec: 3 });
    expect(b.take('k', 9999)).toEqual({ ok: false, retryAfterSec: 1 });
    // 10 s after 0, only 3 s after the key's first request: a new window.
    expect(b.take('k', 10_000).ok).toBe(true);
    expect(b.take('k', 19_000)).toEqual({ ok: true });
    expect(b.take('k', 19_500).ok).toBe(true);
    expect(b.take('k', 19_500)).toEqual({ ok: false, retryAfterSec: 1 });
  });

  test('a process allows what the others left: 6 per window, 4 taken in A, B allows 2 after a sync', async () => {
    const store = new MemoryBudgetStore();
    const t = 120_000 + 5000;
    const a = new SharedBudget(new RequestBudget(6, 60), { store, syncMs: 1000, now: () => t, log: quiet() });
    const b = new SharedBudget(new RequestBudget(6, 60), { store, syncMs: 1000, now: () => t, log: quiet() });
    expect(oks(a, 'k', 4, t)).toEqual([true, true, true, true]);
    await a.sync();
    await b.sync();
    expect(oks(b, 'k', 4, t)).toEqual([true, true, false, false]);
    expect(b.take('k', t)).toEqual({ ok: false, retryAfterSec: 55 });
    // Without a sync B knows nothing of A: each allows the whole budget (the bound documented).
    const c = new SharedBudget(new RequestBudget(6, 60), { store, syncMs: 1000, now: () => t, log: quiet() });
    expect(oks(c, 'k', 7, t)).toEqual([true, true, true, true, true, true, false]);
    await b.sync();
    await a.sync();
    expect(a.take('k', t).ok).toBe(false); // A learns B's 2
    expect(store.sums.get('120000/k')).toBe(6);
    await c.sync();
    expect(store.sums.get('120000/k')).toBe(12);
    expect(oks(b, 'other', 6, t)).toEqual([true, true, true, true, true, true]); // per key
  });

  test('counts are sent once: a sync that fails sends them again with the next one, never twice', async () => {
    const store = new MemoryBudgetStore();
    const logs = new LogSink();
    let t = 60_000;
    const a = new SharedBudget(new RequestBudget(10, 60), { store, syncMs: 1000, now: () => t, log: createLogger('info', logs) });
    oks(a, 'k', 3, t);
    await a.sync();
    store.down = true;
    oks(a, 'k', 2, t);
    await a.sync();
    await a.sync();
    expect(store.sums.get('60000/k')).toBe(3);
    // Still counting in this process meanwhile: 3 + 2 + 5 = 10.
    expect(oks(a, 'k', 6, t)).toEqual([true, true, true, true, true, false]);
    expect(logs.text.split('feed budget sync failed').length - 1).toBe(1); // a warning, once until it works again
    expect(logs.text).toContain('"level":40');
    store.down = false;
    await a.sync();
    expect(store.sums.get('60000/k')).toBe(10);
    await a.sync();
    expect(store.sums.get('60000/k')).toBe(10);
    expect(logs.text).toContain('feed budget sync works again');
    // The next window starts from nothing, here and in the store.
    t = 120_000;
    expect(oks(a, 'k', 10, t).every(Boolean)).toBe(true);
    await a.sync();
    expect(store.sums.get('120000/k')).toBe(10);
  });

  test('stop() waits for a store that never answers at most its limit', async () => {
    const hanging: BudgetStore = { addFeedBudgetCounts: () => new Promise(() => {}) };
    const a = new SharedBudget(new RequestBudget(5, 60), { store: hanging, syncMs: 10, now: () => 0, log: quiet() });
    a.start();
    a.take('k', 0);
    await new Promise((r) => setTimeout(r, 50)); // a sync is hanging now
    const t0 = Date.now();
    await a.stop(200);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
  });

  test('totals of a window that ended meanwhile are ignored', async () => {
    const store = new MemoryBudgetStore();
    let t = 59_000;
    const b = new RequestBudget(5, 60);
    store.sums.set('0/k', 5);
    const { windowStart } = b.unsent(t);
    const totals = await store.addFeedBudgetCounts({ windowStart, windowMs: 60_000, deltas: [] });
    t = 60_000;
    expect(b.take('k', t).ok).toBe(true); // the new window began before the old totals arrived
    b.settle(windowStart, totals);
    expect(oks(b, 'k', 5, t)).toEqual([true, true, true, true, false]);
  });
});

test('the documented bound, as a property: n processes syncing every T on their own phases admit at least min(arrivals, budget) and at most the budget + the arrivals within any 2 T', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 10, max: 300 }),
      fc.integer({ min: 1, max: 30 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 3000 }), fc.nat()), { minLength: 0, maxLength: 120 }),
      fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
      async (n, T, requests, arrivalsRaw, phases) => {
        const store = new MemoryBudgetStore();
        let clock = 0;
        const procs = Array.from({ length: n }, () => new SharedBudget(new RequestBudget(requests, 3600), { store, syncMs: T, now: () => clock, log: quiet() }));
        const arrivals = arrivalsRaw.map(([t, p]) => ({ t, p: p % n })).sort((a, b) => a.t - b.t);
        // Events in time order: sync ticks at phase + k T per process (before arrivals at the same ms), arrivals.
        const events: Array<{ t: number; sync?: number; p?: number }> = [];
        for (let i = 0; i < n; i++) for (let t = phases[i] % T; t <= 3000 + 2 * T; t += T) events.push({ t, sync: i });
        for (const a of arrivals) events.push({ t: a.t, p: a.p });
        events.sort((a, b) => a.t - b.t || (a.sync !== undefined ? -1 : 0) - (b.sync !== undefined ? -1 : 0));
        let admitted = 0;
        for (const e of events) {
          clock = e.t;
          if (e.sync !== undefined) await procs[e.sync].sync();
          else if (procs[e.p!].take('k', clock).ok) admitted++;
        }
        let most = 0; // the most arrivals within any closed interval of 2 T
        for (let i = 0, j = 0; j < arrivals.length; j++) {
          while (arrivals[j].t - arrivals[i].t > 2 * T) i++;
          most = Math.max(most, j - i + 1);
        }
        expect(admitted).toBeGreaterThanOrEqual(Math.min(arrivals.length, requests));
        expect(admitted).toBeLessThanOrEqual(requests + (n > 1 ? most : 0));
        // Everything admitted reaches the store by the last syncs.
        expect(store.sums.get('0/k') ?? 0).toBe(admitted);
      },
    ),
    { numRuns: 150 },
  );
});

test('feedBudget.syncMs: default 1000, 0 allowed, kept when the budget is given as 20/hour', () => {
  expect(loadBridgeConfig([], {}).feedBudget).toEqual({ requests: 20, windowSec: 3600, syncMs: 1000 });
  expect(loadBridgeConfig(['--feed-budget', '6/minute'], {}).feedBudget).toEqual({ requests: 6, windowSec: 60, syncMs: 1000 });
  expect(() => loadBridgeConfig(['--config', writeJson({ feedBudget: { requests: 5, windowSec: 60, syncMs: -1 } })], {})).toThrow('feedBudget.syncMs must be a whole number from 0 to 3600000');
  expect(loadBridgeConfig(['--config', writeJson({ feedBudget: { requests: 5, windowSec: 60, syncMs: 0 } })], {}).feedBudget).toEqual({ requests: 5, windowSec: 60, syncMs: 0 });
});

function writeJson(o: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'cr-budget-cfg-')), 'bridge.json');
  writeFileSync(file, JSON.stringify(o));
  return file;
}

// ---- Real bridges --------------------------------------------------------------------------------

const ADMIN = randomBytes(18).toString('base64url');
const auth = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
const feedBody = JSON.stringify({ events: [{ uid: 'u@x', title: 'One', start: { dateTime: '2030-01-10T09:00:00Z' }, end: { dateTime: '2030-01-10T10:00:00Z' } }] });

/** The bridges' clock unless a test moves it: 12:30, half an hour before the end of an hourly window. */
const NOW = Date.UTC(2031, 0, 1, 12, 30);

interface Running {
  bridge: Bridge;
  url: string;
  logs: LogSink;
}

async function start(store: Store, budget: BridgeConfig['feedBudget'], extra: { now?: () => number; peers?: { workers: number; ask: () => Promise<unknown[]>; handle: () => void } } = {}): Promise<Running> {
  const logs = new LogSink();
  const config: BridgeConfig = { ...defaultConfig(), port: 0, dataDir: mkdtempSync(join(tmpdir(), 'cr-budget-unused-')), adminToken: ADMIN, feedCacheMs: 60_000, feedBudget: budget };
  const bridge = createBridge(config, { store, log: createLogger('info', logs), now: extra.now ?? (() => NOW), peers: extra.peers, background: false });
  return { bridge, url: await bridge.listen(), logs };
}

const feedPath = async (r: Running) => new URL((await httpRequest(r.url, { method: 'PUT', url: '/api/feeds/f', headers: auth, payload: feedBody })).json().subscribeUrl).pathname;
async function statuses(r: Running, path: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await httpRequest(r.url, { method: 'GET', url: path })).statusCode);
  return out;
}
const sync = async (r: Running) => {
  if (!(r.bridge.budget instanceof SharedBudget)) throw new Error('not a shared budget');
  await r.bridge.budget.sync();
};

let pg: Postgres | undefined;
beforeAll(() => {
  pg = startPostgres();
}, 300_000);
afterAll(() => stopPostgres(pg));

let dbCounter = 0;
type Engine = 'sqlite' | 'postgres';
/** Two stores on one database: one PostgreSQL database, or one SQLite file in one data dir. */
async function twoStores(engine: Engine): Promise<[Store, Store]> {
  if (engine === 'postgres') {
    const url = await createDatabase(pg!, `budget_${process.pid}_${++dbCounter}`);
    return [await openStore({ databaseUrl: url, dataDir: '' }), await openStore({ databaseUrl: url, dataDir: '' })];
  }
  const dir = mkdtempSync(join(tmpdir(), 'cr-budget-'));
  return [await openStore({ dataDir: dir }), await openStore({ dataDir: dir })];
}

describe.each(['postgres', 'sqlite'] as Engine[])('two bridge instances on one %s database', (engine) => {
  const skip = () => engine === 'postgres' && !pg;
  const running: Running[] = [];
  afterEach(async () => {
    for (const r of running.splice(0)) await r.bridge.close();
  });

  // syncMs is long here: the tests sync by hand, so nothing depends on timing.
  test('a budget of 6: 4 GETs to A, a sync, then B answers 429 after 2 (and with syncMs 0 it would not)', async () => {
    if (skip()) return;
    const [sa, sb] = await twoStores(engine);
    const a = await start(sa, { requests: 6, windowSec: 3600, syncMs: 600_000 });
    const b = await start(sb, { requests: 6, windowSec: 3600, syncMs: 600_000 });
    running.push(a, b);
    const path = await feedPath(a);
    expect(await statuses(a, path, 4)).toEqual([200, 200, 200, 200]);
    await sync(a);
    await sync(b);
    const fromB = await statuses(b, path, 4);
    expect(fromB).toEqual([200, 200, 429, 429]);
    const refused = await httpRequest(b.url, { method: 'GET', url: path });
    expect(refused.headers['retry-after']).toBe('1800');
    // A learns B's 2 at its next sync.
    await sync(b);
    await sync(a);
    expect(await statuses(a, path, 1)).toEqual([429]);
  });

  test('close() sends the counts not yet synced', async () => {
    if (skip()) return;
    const [sa, sb] = await twoStores(engine);
    const a = await start(sa, { requests: 6, windowSec: 3600, syncMs: 600_000 });
    const b = await start(sb, { requests: 6, windowSec: 3600, syncMs: 600_000 });
    running.push(b);
    const path = await feedPath(a);
    expect(await statuses(a, path, 5)).toEqual([200, 200, 200, 200, 200]);
    await a.bridge.close();
    await sync(b);
    expect(await statuses(b, path, 2)).toEqual([200, 429]);
  });

  test('the control: with syncMs 0 each instance counts alone and B allows all 4', async () => {
    if (skip()) return;
    const [sa, sb] = await twoStores(engine);
    const a = await start(sa, { requests: 6, windowSec: 3600, syncMs: 0 });
    const b = await start(sb, { requests: 6, windowSec: 3600, syncMs: 0 });
    running.push(a, b);
    expect(a.bridge.budget).toBeInstanceOf(RequestBudget);
    const path = await feedPath(a);
    expect(await statuses(a, path, 4)).toEqual([200, 200, 200, 200]);
    expect(await statuses(b, path, 4)).toEqual([200, 200, 200, 200]);
  });

  test('the sync timer shares the counts by itself (syncMs 50)', async () => {
    if (skip()) return;
    const [sa, sb] = await twoStores(engine);
    const a = await start(sa, { requests: 6, windowSec: 3600, syncMs: 50 });
    const b = await start(sb, { requests: 6, windowSec: 3600, syncMs: 50 });
    running.push(a, b);
    const path = await feedPath(a);
    const key = createHash('sha256').update(path.slice('/feeds/'.length, -'.ics'.length)).digest('hex');
    expect(await statuses(a, path, 4)).toEqual([200, 200, 200, 200]);
    // No hand-made sync: A's timer sends its 4, B's timer reads them back.
    const budgetB = (b.bridge.budget as SharedBudget).budget;
    await waitFor(() => budgetB.used(key, NOW) === 4, 10_000, 'B to learn of A’s 4');
    expect(await statuses(b, path, 4)).toEqual([200, 200, 429, 429]);
    const budgetA = (a.bridge.budget as SharedBudget).budget;
    await waitFor(() => budgetA.used(key, NOW) === 6, 10_000, 'A to learn of B’s 2');
    expect(await statuses(a, path, 1)).toEqual([429]);
  });

  test('window rollover with an injected clock: a new aligned window allows the budget again in both', async () => {
    if (skip()) return;
    const [sa, sb] = await twoStores(engine);
    let clock = Date.UTC(2031, 5, 1, 10, 0, 50); // 10 s before the end of a 60 s window
    const a = await start(sa, { requests: 3, windowSec: 60, syncMs: 600_000 }, { now: () => clock });
    const b = await start(sb, { requests: 3, windowSec: 60, syncMs: 600_000 }, { now: () => clock });
    running.push(a, b);
    const path = await feedPath(a);
    expect(await statuses(a, path, 3)).toEqual([200, 200, 200]);
    await sync(a);
    await sync(b);
    const refused = await httpRequest(b.url, { method: 'GET', url: path });
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('10');
    clock += 9_500;
    expect((await httpRequest(b.url, { method: 'GET', url: path })).headers['retry-after']).toBe('1');
    clock += 500; // 10:01:00, a new window (only 10 s after A's first request)
    expect(await statuses(b, path, 3)).toEqual([200, 200, 200]);
    await sync(b);
    await sync(a);
    expect(await statuses(a, path, 1)).toEqual([429]);
    expect((await httpRequest(a.url, { method: 'GET', url: path })).headers['retry-after']).toBe('60');
  });

  test('a store failing during the sync does not break feed GETs; the counts arrive when it works again', async () => {
    if (skip()) return;
    const [sa, sb] = await twoStores(engine);
    let down = false;
    const failing = new Proxy(sa, {
      get(target, prop, receiver) {
        if (prop === 'addFeedBudgetCounts' && down) return async () => { throw new Error('connect ECONNREFUSED 127.0.0.1:5432'); };
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const a = await start(failing, { requests: 6, windowSec: 3600, syncMs: 600_000 });
    const b = await start(sb, { requests: 6, windowSec: 3600, syncMs: 600_000 });
    running.push(a, b);
    const path = await feedPath(a);
    down = true;
    expect(await statuses(a, path, 2)).toEqual([200, 200]);
    await sync(a);
    expect(await statuses(a, path, 2)).toEqual([200, 200]);
    await sync(a);
    expect(a.logs.text).toContain('feed budget sync failed');
    expect(a.logs.text).toContain('ECONNREFUSED');
    await sync(b);
    expect(await statuses(b, path, 1)).toEqual([200]); // B has not heard of A's 4
    down = false;
    await sync(a);
    await sync(b);
    expect(await statuses(b, path, 2)).toEqual([200, 429]); // 4 from A + 2 from B
  });
});

describe('workers on one store', () => {
  test('with a shared budget each worker counts into the store: no split, the whole budget between them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cr-budget-workers-'));
    const stores = [await openStore({ dataDir: dir }), await openStore({ dataDir: dir })];
    const peers = { workers: 2, ask: async () => [], handle: () => {} };
    const w1 = await start(stores[0], { requests: 5, windowSec: 3600, syncMs: 600_000 }, { peers });
    const w2 = await start(stores[1], { requests: 5, windowSec: 3600, syncMs: 600_000 }, { peers });
    try {
      const path = await feedPath(w1);
      expect(await statuses(w1, path, 4)).toEqual([200, 200, 200, 200]); // more than ceil(5 / 2) in one worker
      await sync(w1);
      await sync(w2);
      expect(await statuses(w2, path, 2)).toEqual([200, 429]);
    } finally {
      await w1.bridge.close();
      await w2.bridge.close();
    }
  });
});

describe('the sync timer', () => {
  test('runs every syncMs while listening and stops with close()', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cr-budget-timer-'));
    const store = await openStore({ dataDir: dir });
    let calls = 0;
    const counted = new Proxy(store, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (prop !== 'addFeedBudgetCounts') return typeof v === 'function' ? v.bind(target) : v;
        return (input: Parameters<Store['addFeedBudgetCounts']>[0]) => {
          calls++;
          return target.addFeedBudgetCounts(input);
        };
      },
    });
    const r = await start(counted, { requests: 5, windowSec: 60, syncMs: 20 });
    await waitFor(() => calls >= 3, 5000, 'three syncs');
    await r.bridge.close();
    const after = calls;
    await new Promise((res) => setTimeout(res, 150));
    expect(calls).toBe(after);
  });
});

describe.each(['postgres', 'sqlite'] as Engine[])('Store.addFeedBudgetCounts on %s', (engine) => {
  test('concurrent upsert-increments from two stores lose nothing; totals per window; ended windows pruned', async () => {
    if (engine === 'postgres' && !pg) return;
    const [s1, s2] = await twoStores(engine);
    try {
      const W = 60_000;
      const add = (s: Store, windowStart: number, deltas: BudgetDelta[], windowMs = W) => s.addFeedBudgetCounts({ windowStart, windowMs, deltas });
      // 2 × 20 calls, each adding to both keys (in opposite orders): 40 × 1 and 40 × 2. Concurrent on
      // PostgreSQL; one after the other on SQLite, whose two connections in one process would wait
      // for each other's lock with the thread blocked (across processes SQLite's lock serialises them).
      const calls = Array.from({ length: 40 }, (_, i) => () => add(i % 2 ? s1 : s2, W, i % 2 ? [{ key: 'a', count: 1 }, { key: 'b', count: 2 }] : [{ key: 'b', count: 2 }, { key: 'a', count: 1 }]));
      if (engine === 'postgres') await Promise.all(calls.map((c) => c()));
      else for (const c of calls) await c();
      const byKey = (rows: Array<{ key: string; total: number }>) => Object.fromEntries(rows.map((r) => [r.key, r.total]));
      expect(byKey(await add(s1, W, []))).toEqual({ a: 40, b: 80 });
      expect(byKey(await add(s2, W, [{ key: 'c', count: 3 }]))).toEqual({ a: 40, b: 80, c: 3 });
      await add(s1, 0, [{ key: 'a', count: 2 }], 3600_000); // an hourly window starting at 0 has not ended at 2 W
      await add(s1, 2 * W, []); // prunes the window W (ended), not the hourly one
      expect(byKey(await add(s2, W, [{ key: 'a', count: 1 }]))).toEqual({ a: 1 });
      expect(byKey(await add(s2, 0, [{ key: 'a', count: 1 }], 3600_000))).toEqual({ a: 3 });
    } finally {
      await s1.close();
      await s2.close();
    }
  });
});
