/**
 * Old versions are pruned: a webhook source keeps its newest snapshot only (keepSnapshots,
 * default 1) and still diffs correctly; a feed keeps its newest keepFeedVersions. Two instances
 * on one store: the one whose cached feed head names a version the other has pruned (its rendered
 * copy already evicted) still serves the feed — it looks the head up again — instead of a 404.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBridge, type Bridge } from '../../bridge/src/server';
import { defaultConfig, type BridgeConfig } from '../../bridge/src/config';
import { createLogger } from '../../bridge/src/logging';
import { openStore } from '../../bridge/src/store';
import type { Store } from '../../bridge/src/store/types';
import { httpRequest, LogSink } from './helpers';

const ADMIN = 'a'.repeat(32);
const BEARER = 'source-bearer-token-0123456789';

describe('pruning old snapshots and feed versions (two instances, one SQLite store)', () => {
  let a: Bridge;
  let b: Bridge;
  let store: Store;
  let baseA = '';
  let baseB = '';
  const clock = Date.UTC(2030, 0, 1, 12);

  beforeAll(async () => {
    const config: BridgeConfig = {
      ...defaultConfig(),
      port: 0,
      dataDir: mkdtempSync(join(tmpdir(), 'cr-bridge-prune-')),
      adminToken: ADMIN,
      feedCacheMs: 60_000,
      keepFeedVersions: 2,
      sources: { plain: { bearerToken: BEARER } },
    };
    store = await openStore({ dataDir: config.dataDir });
    a = createBridge({ ...config, instanceId: 'a' }, { store, log: createLogger('silent', new LogSink()), now: () => clock });
    b = createBridge({ ...config, instanceId: 'b' }, { store, log: createLogger('silent', new LogSink()), now: () => clock });
    baseA = await a.listen();
    baseB = await b.listen();
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  const event = (uid: string, title: string) => ({ uid, title, start: { dateTime: '2030-01-10T09:00:00Z' }, end: { dateTime: '2030-01-10T10:00:00Z' } });
  const publish = (base: string, title: string) =>
    httpRequest(base, { method: 'PUT', url: '/api/feeds/lobby', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, payload: JSON.stringify({ events: [event('x@lobby', title)] }) });

  test('a webhook source keeps only its newest snapshot, and the next push still diffs against it', async () => {
    const push = (events: unknown[]) => httpRequest(baseA, { method: 'POST', url: '/hooks/plain', headers: { authorization: `Bearer ${BEARER}`, 'content-type': 'application/json' }, payload: JSON.stringify({ events }) });
    await push([event('1', 'One')]);
    await push([event('1', 'One'), event('2', 'Two')]);
    const r = await push([event('1', 'One moved'), event('2', 'Two')]);
    expect(r.json()).toMatchObject({ version: 3, previousVersion: 2, added: 0, changed: 1, removed: 0 });
    expect(await store.countSnapshots('plain')).toBe(1);
  });

  test('a feed keeps its newest versions; an instance holding a pruned head serves the current one', async () => {
    const first = (await publish(baseA, 'v1')).json();
    const file = new URL(first.subscribeUrl).pathname;
    const jsonFile = file.replace(/\.ics$/, '.json');
    expect((await httpRequest(baseA, { method: 'GET', url: jsonFile })).json().events[0].title).toBe('v1'); // A caches the head (v1)
    await publish(baseB, 'v2');
    await publish(baseB, 'v3'); // v1 pruned (keepFeedVersions 2)
    expect(await store.getFeedVersion('lobby', 1)).toBeUndefined();
    // Within feedCacheMs A answers from its memory (v1, as documented); once 64 other feeds pushed
    // the rendered v1 out of A's memory, only its cached head is left, naming a pruned version.
    for (let i = 0; i < 64; i++) {
      const other = (await httpRequest(baseB, { method: 'PUT', url: `/api/feeds/other-${i}`, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, payload: JSON.stringify({ events: [event(`o${i}`, `Other ${i}`)] }) })).json();
      expect((await httpRequest(baseA, { method: 'GET', url: new URL(other.subscribeUrl).pathname })).statusCode).toBe(200);
    }
    const r = await httpRequest(baseA, { method: 'GET', url: jsonFile });
    expect(r.statusCode).toBe(200);
    expect(r.json().events[0].title).toBe('v3');
  });
});
