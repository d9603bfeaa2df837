/**
 * The same store suite on SQLite and on a real, throwaway PostgreSQL cluster
 * (scripts/postgres.mjs installs and starts it; CI never skips it).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../bridge/src/store/sqlite';
import { openPostgresStore } from '../../bridge/src/store/postgres';
import type { SqlStore } from '../../bridge/src/store/sql-store';
import type { PushPlan, Store } from '../../bridge/src/store/types';
import { snapshotEntries } from '../../bridge/src/snapshot';
import { tokenHash } from '../../bridge/src/tokens';
import { createDatabase, startPostgres, stopPostgres, type Postgres } from './helpers';

let pg: Postgres | undefined;
let dbCounter = 0;

beforeAll(() => {
  pg = startPostgres();
}, 300_000);
afterAll(() => stopPostgres(pg));

type Engine = 'sqlite' | 'postgres';
async function open(engine: Engine): Promise<SqlStore> {
  if (engine === 'sqlite') return openSqliteStore(join(mkdtempSync(join(tmpdir(), 'cr-store-')), 'bridge.sqlite'));
  if (!pg) throw new Error('PostgreSQL not available');
  return openPostgresStore(await createDatabase(pg, `store_${process.pid}_${++dbCounter}`));
}

const ev = (uid: string, title = uid) => ({ uid, title, start: { dateTime: '2030-01-10T09:00:00Z' }, end: { dateTime: '2030-01-10T10:00:00Z' } });

function plan(n: number, outboxId?: string): (prev: unknown) => PushPlan {
  return () => ({
    snapshot: { hash: `h${n}`, entries: snapshotEntries([ev(`e${n}`)]) },
    outbox: outboxId ? { deliveryId: outboxId, url: 'http://127.0.0.1:9/hook', payload: JSON.stringify({ n }) } : undefined,
    response: { n },
  });
}

describe.each<Engine>(['sqlite', 'postgres'])('store on %s', (engine) => {
  let store: SqlStore;
  beforeEach(async () => {
    if (engine === 'postgres' && !pg) return;
    store = await open(engine);
    await store.migrate();
  });
  afterEach(async () => store?.close());
  const skipIfNoPg = () => engine === 'postgres' && !pg;

  test('migrations are recorded and idempotent', async () => {
    if (skipIfNoPg()) return;
    await store.migrate();
    await store.migrate();
    expect(store.kind).toBe(engine);
    expect(await store.outboxStats()).toEqual({ pending: 0, delivered: 0 });
  });

  test('feeds: versions by content hash, lookup by token hash, rotation', async () => {
    if (skipIfNoPg()) return;
    const p1 = await store.publishFeed({ feed: 'f', hash: 'h1', json: '{"events":[]}', ics: 'ICS1', now: 1000, newToken: 'tok-1' });
    expect([p1.changed, p1.record.current?.version, p1.record.token]).toEqual([true, 1, 'tok-1']);
    const same = await store.publishFeed({ feed: 'f', hash: 'h1', json: '{"events":[]}', ics: 'ICS1b', now: 2000, newToken: 'tok-ignored' });
    expect([same.changed, same.record.current?.version, same.record.current?.ics, same.record.token]).toEqual([false, 1, 'ICS1', 'tok-1']);
    const p2 = await store.publishFeed({ feed: 'f', hash: 'h2', json: '{"events":[1]}', ics: 'ICS2', now: 3000, newToken: 'x' });
    expect([p2.changed, p2.record.current?.version, p2.record.current?.createdAt]).toEqual([true, 2, 3000]);
    expect((await store.getFeedByTokenHash(tokenHash('tok-1')))?.name).toBe('f');
    await store.rotateFeedToken('f', 'tok-2', 4000);
    expect(await store.getFeedByTokenHash(tokenHash('tok-1'))).toBeUndefined();
    expect((await store.getFeedByTokenHash(tokenHash('tok-2')))?.current?.ics).toBe('ICS2');
    expect(await store.rotateFeedToken('nope', 'tok-3', 5000)).toBeUndefined();
  });

  test('pushes: versioned snapshots, idempotent receipts, outbox in the same transaction', async () => {
    if (skipIfNoPg()) return;
    const seen: Array<number | undefined> = [];
    const r1 = await store.recordPush({ source: 's', deliveryId: 'd1', now: 1, plan: (prev) => (seen.push(prev?.version), plan(1, 'o1')(prev)) });
    expect(r1).toEqual({ duplicate: false, response: { n: 1 } });
    const dup = await store.recordPush({ source: 's', deliveryId: 'd1', now: 2, plan: () => { throw new Error('must not be called for a known delivery id'); } });
    expect(dup).toEqual({ duplicate: true, response: { n: 1 } });
    await store.recordPush({ source: 's', deliveryId: 'd2', now: 3, plan: (prev) => (seen.push(prev?.version), plan(2, 'o2')(prev)) });
    expect(seen).toEqual([undefined, 1]);
    expect((await store.latestSnapshot('s'))?.entries.map((e) => e.event.uid)).toEqual(['e2']);
    // A plan that throws rolls everything back: no snapshot, no receipt, no outbox entry.
    await expect(store.recordPush({ source: 's', deliveryId: 'd3', now: 4, plan: () => { throw new Error('refused'); } })).rejects.toThrow('refused');
    expect(await store.hasReceipt('s', 'd3')).toBe(false);
    expect((await store.latestSnapshot('s'))?.version).toBe(2);
    expect(await store.outboxStats()).toEqual({ pending: 2, delivered: 0, oldestPendingAt: 1 });
    // The same delivery id under another source is another push.
    expect((await store.recordPush({ source: 't', deliveryId: 'd1', now: 5, plan: plan(9) })).duplicate).toBe(false);
  });

  test('concurrent pushes of one source get consecutive versions; one delivery id is stored once', async () => {
    if (skipIfNoPg()) return;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.recordPush({ source: 'c', deliveryId: `d${i % 10}`, now: i, plan: (prev) => ({ ...plan(i, `oc${i}`)(prev), response: { version: (prev?.version ?? 0) + 1 } }) })));
    expect(results.filter((r) => !r.duplicate).map((r) => r.response.version).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(results.filter((r) => r.duplicate)).toHaveLength(10);
    expect((await store.outboxStats()).pending).toBe(10);
  });

  test('pruning: snapshots and feed versions keep only the newest N (default all); the current one always survives', async () => {
    if (skipIfNoPg()) return;
    for (let n = 1; n <= 4; n++) await store.recordPush({ source: 'all', now: n, plan: plan(n) });
    expect(await store.countSnapshots('all')).toBe(4);
    for (let n = 1; n <= 4; n++) await store.recordPush({ source: 'one', now: n, plan: plan(n), keepSnapshots: 1 });
    expect(await store.countSnapshots('one')).toBe(1);
    expect((await store.latestSnapshot('one'))?.version).toBe(4);
    for (let n = 1; n <= 5; n++) await store.recordPush({ source: 'two', now: n, plan: plan(n), keepSnapshots: 2 });
    expect(await store.countSnapshots('two')).toBe(2);
    expect((await store.latestSnapshot('two'))?.entries[0].event.uid).toBe('e5');
    // A pruned source still diffs against its newest snapshot.
    await store.recordPush({ source: 'one', now: 9, keepSnapshots: 1, plan: (prev) => ({ response: { prevVersion: (prev as { version: number }).version } }) });
    expect(await store.forgetSource('two')).toBe(2);
    expect(await store.countSnapshots('two')).toBe(0);
    expect(await store.latestSnapshot('two')).toBeUndefined();
    for (let n = 1; n <= 5; n++) await store.publishFeed({ feed: 'f', hash: `h${n}`, json: `{"n":${n}}`, ics: 'X', now: n, newToken: `tok-${engine}-prune`, keepVersions: 3 });
    expect(await store.getFeedVersion('f', 2)).toBeUndefined();
    expect((await store.getFeedVersion('f', 3))?.json).toBe('{"n":3}');
    expect((await store.getFeed('f'))?.current?.version).toBe(5);
  });

  test('outbox: oldest entry per source first, leases, retries, delivered entries stay delivered', async () => {
    if (skipIfNoPg()) return;
    for (const [i, src] of ['a', 'a', 'b', 'a'].entries()) await store.recordPush({ source: src, now: 0, plan: plan(i, `o${i}`) });
    const first = await store.claimOutbox(100, 10, 1000);
    expect(first.map((e) => [e.deliveryId, e.attempts])).toEqual([['o0', 1], ['o2', 1]]);
    expect(await store.claimOutbox(100, 10, 1000)).toEqual([]); // leased
    await store.markDelivered(first[0].id, 150);
    await store.markFailed(first[1].id, 500, 'HTTP 503');
    expect((await store.claimOutbox(200, 10, 1000)).map((e) => e.deliveryId)).toEqual(['o1']); // b waits for its retry time
    expect((await store.claimOutbox(1300, 10, 1000)).map((e) => [e.deliveryId, e.attempts])).toEqual([['o1', 2], ['o2', 2]]); // o1's lease expired: a crash before marking means redelivery
    expect(await store.outboxStats()).toEqual({ pending: 3, delivered: 1, oldestPendingAt: 0 });
  });
});

describe('two PostgreSQL pools claiming the same outbox', () => {
  test('SKIP LOCKED: every entry is claimed by exactly one of them', async () => {
    if (!pg) return;
    const url = await createDatabase(pg, `claim_${process.pid}`);
    const a: Store = openPostgresStore(url);
    const b: Store = openPostgresStore(url);
    await Promise.all([a.migrate(), b.migrate()]);
    for (let i = 0; i < 200; i++) await a.recordPush({ source: `s${i % 50}`, now: 0, plan: plan(i, `o${i}`) });
    const claimed: string[] = [];
    let t = 1;
    for (let round = 0; round < 20; round++) {
      const batches = await Promise.all([a, b, a, b].map((s) => s.claimOutbox(t, 7, 10_000_000)));
      for (const batch of batches) for (const e of batch) {
        claimed.push(e.deliveryId);
        await a.markDelivered(e.id, t);
      }
      t++;
    }
    expect(claimed.length).toBe(200);
    expect(new Set(claimed).size).toBe(200);
    await a.close();
    await b.close();
  });
});
