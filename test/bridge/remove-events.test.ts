/**
 * Removing a subscription's events from its room (`remove_events=true`), end to end against the
 * project's emulator: the bridge polls loopback feeds (127.0.0.2, allow-listed) and syncs them into
 * Google rooms (service account) and Microsoft 365 rooms (client credentials).
 *
 * - DELETE …?remove_events=true deletes only the events this subscription created: a person's
 *   booking, a person's copy of a synced event and another subscription's events in the same room
 *   stay byte-identical; the row goes only after the removal succeeded.
 * - A removal that fails (deletes throttled beyond retries — quota —, the room cannot be listed)
 *   keeps the row and its ownership state (a later removal finishes the job) and answers 502 with
 *   the count removed before; a lease another instance holds is waited for briefly, then 409; a
 *   poll in progress is waited for.
 * - PUT with a new room and remove_events=true cleans the old room, then the next poll fills the
 *   new one; without the parameter the old room's events stay (the answer says so) and the
 *   providers' state is reset, so the new room starts clean (a shrink guard fed by the old room's
 *   counts would refuse the first sync there).
 *
 * The Google suite runs on SQLite and on PostgreSQL (scripts/postgres.mjs), the Microsoft 365 one on SQLite.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type Emulator } from '../../emulator';
import type { Bridge } from '../../bridge/src/server';
import { openStore } from '../../bridge/src/store';
import { openPostgresStore } from '../../bridge/src/store/postgres';
import type { Store } from '../../bridge/src/store/types';
import { subscriptionSource } from '../../bridge/src/subscriptions';
import { syncTargetOf } from '../../bridge/src/sync-target';
import { STAMP_SYNC_ID } from '../../providers/google/ids';
import { calendar, createDatabase, FeedServer, httpRequest, startPostgres, startSyncBridge, stopPostgres, vevent, waitFor, type Postgres } from './helpers';

const ADMIN = randomBytes(18).toString('base64url');
const admin = { authorization: `Bearer ${ADMIN}` };
const START = Date.UTC(2030, 0, 1, 12);
const SIX = ['Alpha', 'Bravo', 'Charlie', 'Delta', 'Echo', 'Foxtrot'].map((t, i) => vevent(`${t.toLowerCase()}@a`, t, 10 + i));
const TWO = ['Kilo', 'Lima'].map((t, i) => vevent(`${t.toLowerCase()}@b`, t, 20 + i));

let pg: Postgres | undefined;
beforeAll(() => {
  pg = startPostgres();
}, 300_000);
afterAll(() => stopPostgres(pg));

describe.each(['sqlite', 'postgres'] as const)('removing a subscription\'s events from Google rooms (%s)', (engine) => {
  const ROOM = 'room-1@rooms.example';
  const OTHER_ROOM = 'room-2@rooms.example';
  let emu: Emulator;
  let bridge: Bridge;
  let store: Store;
  let base = '';
  let clock = START;
  let dir = '';
  const feedA = new FeedServer();
  const feedB = new FeedServer();
  const feedC = new FeedServer();
  const ids: Record<'a' | 'b' | 'c', number> = { a: 0, b: 0, c: 0 };
  const skip = () => engine === 'postgres' && !pg;

  const call = (method: string, url: string, body?: unknown) =>
    httpRequest(base, { method, url, headers: { ...admin, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, payload: body === undefined ? undefined : JSON.stringify(body) });
  const live = (room: string) => emu.google.listRaw(room).filter((e) => e.status !== 'cancelled');
  const stampOf = (e: Record<string, unknown>) => (e.extendedProperties as { private?: Record<string, string> } | undefined)?.private?.[STAMP_SYNC_ID];
  /** Titles of the events carrying a subscription's stamp (its sync id) in a room, a person's copies included. */
  const of = (id: number, room: string) => live(room).filter((e) => stampOf(e) === `bridge-sub-${id}`).map((e) => String(e.summary)).sort();
  let copyId = '';
  /** The exact stored JSON of a room's events with the given ids (nothing may change in them). */
  const bytes = (room: string, eventIds: string[]) => JSON.stringify(emu.google.listRaw(room).filter((e) => eventIds.includes(String(e.id))).sort((x, y) => String(x.id).localeCompare(String(y.id))));
  const get = async (id: number) => (await call('GET', `/api/subscriptions/${id}`)).json().data;
  const pollDue = async (n: number) => {
    clock += 301_000;
    expect(await bridge.poller.runOnce()).toBe(n);
  };
  const deletes = () => (emu.log.byKind['google:delete'] ?? 0);

  beforeAll(async () => {
    if (skip()) return;
    emu = await startEmulator({ now: () => clock, limits: false });
    // Holds the service account's generated private key and the SQLite file: removed afterwards.
    dir = mkdtempSync(join(tmpdir(), 'cr-bridge-remove-'));
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    emu.google.registerServiceAccount('relay@test.iam.gserviceaccount.com', publicKey);
    const keyFile = join(dir, 'key.json');
    writeFileSync(keyFile, JSON.stringify({ type: 'service_account', client_email: 'relay@test.iam.gserviceaccount.com', private_key: privateKey }));
    for (const r of [ROOM, OTHER_ROOM]) emu.google.createCalendar(r, { timeZone: 'Europe/Berlin' });
    emu.google.seedEvent(ROOM, { summary: 'Booked by a person', start: { dateTime: '2030-01-12T12:00:00Z' }, end: { dateTime: '2030-01-12T13:00:00Z' } });
    feedA.body = calendar(...SIX);
    feedB.body = calendar(...TWO);
    feedC.body = calendar(...SIX.map((e) => e.replace(/@a/, '@c')));
    for (const f of [feedA, feedB, feedC]) await f.up();
    const syncTargets = {
      'rooms-google': syncTargetOf('rooms-google', { provider: 'google', rootUrl: `${emu.url}/`, auth: { serviceAccountKeyFile: keyFile, subject: 'admin@rooms.example', tokenUrl: `${emu.url}/token` } }, (v) => v),
    };
    store = engine === 'postgres' ? openPostgresStore(await createDatabase(pg!, `remove_${process.pid}`)) : await openStore({ dataDir: dir });
    await store.migrate();
    ({ bridge, base } = await startSyncBridge({ store, adminToken: ADMIN, syncTargets, now: () => clock, config: { dataDir: dir, instanceId: `bridge-${engine}` }, subscriptions: { leaseMs: 1000, leaseWaitMs: 2000 } }));
  }, 60_000);
  afterAll(async () => {
    if (skip()) return;
    await bridge.close();
    for (const f of [feedA, feedB, feedC]) await f.down();
    await emu.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('two subscriptions sync into one room; a person copies one of the synced events', async () => {
    if (skip()) return;
    for (const [k, f] of [['a', feedA], ['b', feedB]] as const) {
      const r = await call('POST', '/api/subscriptions', { calendar_url: `${f.base}/${k}.ics`, interval: 300, sync_target: 'rooms-google', sync_calendar: ROOM });
      expect(r.statusCode).toBe(201);
      ids[k] = r.json().data.id;
    }
    expect(await bridge.poller.runOnce()).toBe(2);
    expect(of(ids.a, ROOM)).toEqual(['Alpha', 'Bravo', 'Charlie', 'Delta', 'Echo', 'Foxtrot']);
    expect(of(ids.b, ROOM)).toEqual(['Kilo', 'Lima']);
    const alpha = live(ROOM).find((e) => e.summary === 'Alpha')!;
    copyId = String(emu.google.copyEvent(ROOM, String(alpha.id)).id);
    expect(of(ids.a, ROOM)).toEqual(['Alpha', 'Alpha', 'Bravo', 'Charlie', 'Delta', 'Echo', 'Foxtrot']);
  });

  test('a bad remove_events value is a 400; nothing is removed or deleted', async () => {
    if (skip()) return;
    const r = await call('DELETE', `/api/subscriptions/${ids.a}?remove_events=yes`);
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toBe('remove_events must be true or false (got "yes")');
    expect((await call('GET', `/api/subscriptions/${ids.a}`)).statusCode).toBe(200);
    expect(of(ids.a, ROOM)).toHaveLength(7);
  });

  test('the room cannot be listed: 502, nothing removed, the subscription stays', async () => {
    if (skip()) return;
    const before = deletes();
    const rule = emu.faults.next({ api: 'google', target: ROOM, kind: 'list' }, { kind: 'quota' }, 50);
    const r = await call('DELETE', `/api/subscriptions/${ids.a}?remove_events=true`);
    rule.remove();
    expect(r.statusCode).toBe(502);
    expect(r.json()).toMatchObject({ removed_events: 0 });
    expect(r.json().error).toMatch(new RegExp(`^removing the events of subscription ${ids.a} from ${ROOM} \\(sync target "rooms-google"\\) failed after 0 of them were removed: .*could not list events.*; the subscription was not deleted`));
    expect(deletes()).toBe(before);
    expect((await call('GET', `/api/subscriptions/${ids.a}`)).statusCode).toBe(200);
    expect(of(ids.a, ROOM)).toHaveLength(7);
  });

  test('deletes throttled beyond retries (quota) part-way: 502 with the count removed; the row and its state stay', async () => {
    if (skip()) return;
    expect((await store.getSubscription(ids.a))!.sync_state).not.toBeNull();
    const rule = emu.faults.script({ api: 'google', target: ROOM, kind: 'delete' }, ['ok', 'ok', ...Array.from({ length: 50 }, () => ({ kind: 'quota' as const }))]);
    const r = await call('DELETE', `/api/subscriptions/${ids.a}?remove_events=true`);
    rule.remove();
    expect(r.statusCode).toBe(502);
    expect(r.json().removed_events).toBe(2);
    expect(r.json().error).toMatch(/failed after 2 of them were removed: .*; the subscription was not deleted \(it keeps its record of the events it still owns; the next poll syncs the feed into the room again\) — retry, or repeat without remove_events to leave the events$/);
    expect(of(ids.a, ROOM)).toHaveLength(5); // 4 of its own and the person's copy
    const row = await store.getSubscription(ids.a);
    expect(row).toBeDefined();
    expect(row!.sync_state).not.toBeNull();
    expect(row!.locked_by).toBeNull(); // the lease was given back
    expect(row!.sync_status).toMatchObject({ ok: false, deleted: 2 });
    expect(await store.countSnapshots(subscriptionSource(ids.a))).toBe(1);
  });

  test('a lease another instance holds is waited for (leaseWaitMs), then 409 with Retry-After; nothing removed', async () => {
    if (skip()) return;
    const before = deletes();
    expect(await store.leaseSubscription(ids.a, clock, 60_000, 'other-instance')).toMatchObject({ leased: true });
    const t0 = Date.now();
    const r = await call('DELETE', `/api/subscriptions/${ids.a}?remove_events=true`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1900);
    expect(r.statusCode).toBe(409);
    expect(r.headers['retry-after']).toBe('60');
    expect(r.json()).toMatchObject({ removed_events: 0, locked_by: 'other-instance' });
    expect(r.json().error).toMatch(/is leased by other-instance until .*nothing was removed and it was not deleted — try again$/);
    expect(deletes()).toBe(before);
    expect(await store.releaseSubscriptionLease(ids.a, 'other-instance')).toBe(true);
  });

  test('DELETE with remove_events=true removes only its own events (also after the failed try); foreign events stay byte-identical', async () => {
    if (skip()) return;
    const foreignIds = live(ROOM).filter((e) => stampOf(e) !== `bridge-sub-${ids.a}` || e.id === copyId).map((e) => String(e.id));
    expect(foreignIds).toHaveLength(4); // the person's booking, the person's copy, B's two events
    const foreignBefore = bytes(ROOM, foreignIds);
    // A poll holds the lease for a moment: the removal waits for it.
    expect(await store.leaseSubscription(ids.a, clock, 60_000, 'bridge-poll')).toMatchObject({ leased: true });
    setTimeout(() => void store.releaseSubscriptionLease(ids.a, 'bridge-poll'), 400);
    const r = await call('DELETE', `/api/subscriptions/${ids.a}?remove_events=true`);
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ deleted: true, removed_events: 4, kept_events: 1, events_left: false, sync_target: 'rooms-google', sync_calendar: ROOM });
    expect(of(ids.a, ROOM)).toEqual(['Alpha']); // the person's copy
    expect(bytes(ROOM, foreignIds)).toBe(foreignBefore);
    expect((await call('GET', `/api/subscriptions/${ids.a}`)).statusCode).toBe(404);
    expect(await store.countSnapshots(subscriptionSource(ids.a))).toBe(0);
    expect((await call('DELETE', `/api/subscriptions/${ids.a}?remove_events=true`)).statusCode).toBe(404);
  });

  test('PUT to another room with remove_events=true cleans the old room first; the next poll fills the new one', async () => {
    if (skip()) return;
    const othersIds = live(ROOM).filter((e) => stampOf(e) !== `bridge-sub-${ids.b}`).map((e) => String(e.id));
    const roomBefore = bytes(ROOM, othersIds);
    const r = await call('PUT', `/api/subscriptions/${ids.b}?remove_events=true`, { sync_calendar: OTHER_ROOM });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ removed_events: 2, events_left: false, data: { sync_calendar: OTHER_ROOM, sync_status: null } });
    expect(r.json().note).toBeUndefined();
    expect(of(ids.b, ROOM)).toEqual([]);
    expect(live(ROOM).map((e) => String(e.id)).sort()).toEqual([...othersIds].sort());
    expect(bytes(ROOM, othersIds)).toBe(roomBefore);
    const row = await store.getSubscription(ids.b);
    expect([row!.sync_state, row!.sync_status, row!.locked_by]).toEqual([null, null, null]);
    expect(await bridge.poller.runOnce()).toBe(1); // a PUT polls at once
    expect(of(ids.b, OTHER_ROOM)).toEqual(['Kilo', 'Lima']);
    expect((await get(ids.b)).sync_status).toMatchObject({ calendar: OTHER_ROOM, ok: true, created: 2 });
  });

  test('PUT to another room without the parameter leaves the old room\'s events (the answer says so) and resets the state: the new room starts clean', async () => {
    if (skip()) return;
    const r0 = await call('POST', '/api/subscriptions', { calendar_url: `${feedC.base}/c.ics`, interval: 300, sync_target: 'rooms-google', sync_calendar: ROOM });
    ids.c = r0.json().data.id;
    expect(await bridge.poller.runOnce()).toBe(1);
    expect(of(ids.c, ROOM)).toHaveLength(6);
    // The feed now has 2 of its 6 events: in the old room the shrink guard would refuse that;
    // the new room holds nothing of it, and a reset state lets its first sync through.
    feedC.body = calendar(...SIX.slice(0, 2).map((e) => e.replace(/@a/, '@c')));
    const oldIds = live(ROOM).map((e) => String(e.id));
    const roomBefore = bytes(ROOM, oldIds);
    const r = await call('PUT', `/api/subscriptions/${ids.c}`, { sync_calendar: OTHER_ROOM });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ removed_events: 0, events_left: true, data: { sync_calendar: OTHER_ROOM, sync_status: null } });
    expect(r.json().note).toBe(`the events this subscription synced into ${ROOM} (sync target "rooms-google") were left there; the same PUT with ?remove_events=true removes them first`);
    expect((await store.getSubscription(ids.c))!.sync_state).toBeNull();
    expect(await bridge.poller.runOnce()).toBe(1);
    const d = await get(ids.c);
    expect(d.sync_status).toMatchObject({ calendar: OTHER_ROOM, ok: true, created: 2, guard: null });
    expect(d.last_error).toBeNull();
    expect(of(ids.c, OTHER_ROOM)).toEqual(['Alpha', 'Bravo']);
    expect(of(ids.c, ROOM)).toHaveLength(6);
    expect(bytes(ROOM, oldIds)).toBe(roomBefore);
  });

  test('DELETE without the parameter deletes the row and leaves the events; the answer says so', async () => {
    if (skip()) return;
    const r = await call('DELETE', `/api/subscriptions/${ids.c}`);
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({
      deleted: true, removed_events: 0, events_left: true, sync_target: 'rooms-google', sync_calendar: OTHER_ROOM,
      note: `the events this subscription synced into ${OTHER_ROOM} (sync target "rooms-google") were left there; DELETE with ?remove_events=true removes them first`,
    });
    expect(of(ids.c, OTHER_ROOM)).toEqual(['Alpha', 'Bravo']);
    await pollDue(1); // only B is left to poll
  });
});

describe('removing a subscription\'s events from Microsoft 365 rooms (SQLite)', () => {
  // Graph tells its own events from a person's copies by the ids it created, recorded in the
  // provider state in the subscription's row: the removal must read that record, and a new room
  // must start with a record of its own.
  const ROOM_A = 'room-9@rooms.example';
  const ROOM_B = 'room-10@rooms.example';
  let emu: Emulator;
  let bridge: Bridge;
  let base = '';
  let dir = '';
  let clock = START;
  let id = 0;
  let store: Store;
  const remote = new FeedServer();
  const call = (method: string, url: string, body?: unknown) =>
    httpRequest(base, { method, url, headers: { ...admin, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, payload: body === undefined ? undefined : JSON.stringify(body) });
  const raw = (room: string) => emu.graph.listRaw(room);
  const owned = (room: string) => raw(room).filter((e) => e.singleValueExtendedProperties.length > 0).map((e) => String(e.fields.subject)).sort();
  const bytes = (room: string, ids: string[]) => JSON.stringify(raw(room).filter((e) => ids.includes(e.id)).sort((x, y) => x.id.localeCompare(y.id)));

  beforeAll(async () => {
    emu = await startEmulator({ now: () => clock, limits: false });
    emu.graph.registerApp('client-1', 'secret-1', 'tenant-1');
    for (const [email, displayName] of [[ROOM_A, 'Room 9'], [ROOM_B, 'Room 10']]) emu.graph.addRoom({ email, displayName });
    emu.graph.seedEvent(ROOM_A, { subject: 'Booked by a person', start: { dateTime: '2030-01-12T12:00:00', timeZone: 'UTC' }, end: { dateTime: '2030-01-12T13:00:00', timeZone: 'UTC' } });
    remote.body = calendar(...SIX.slice(0, 3));
    await remote.up();
    const syncTargets = {
      'rooms-m365': syncTargetOf('rooms-m365', {
        provider: 'microsoft', baseUrl: `${emu.url}/v1.0`, defaultTimeZone: 'Europe/Berlin', calendar: ROOM_A,
        auth: { tenantId: 'tenant-1', clientId: 'client-1', clientSecret: 'secret-1', authority: emu.url },
      }, (v) => v),
    };
    dir = mkdtempSync(join(tmpdir(), 'cr-bridge-remove-m365-'));
    store = await openStore({ dataDir: dir });
    ({ bridge, base } = await startSyncBridge({ store, adminToken: ADMIN, syncTargets, now: () => clock, config: { dataDir: dir } }));
  });
  afterAll(async () => {
    await bridge.close();
    await remote.down();
    await emu.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('/openapi.json documents remove_events on PUT and DELETE, with the 409 and 502 answers', async () => {
    const doc = (await httpRequest(base, { method: 'GET', url: '/openapi.json' })).json();
    for (const m of ['put', 'delete']) {
      const op = doc.paths['/api/subscriptions/{id}'][m];
      expect(op.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual(['query:remove_events']);
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '409', '502']));
    }
  });

  test('PUT to another room with remove_events=true: only its own events leave the old room (a person\'s copy stays); the new room fills', async () => {
    const r0 = await call('POST', '/api/subscriptions', { calendar_url: `${remote.base}/m365.ics`, interval: 300, sync_target: 'rooms-m365' });
    expect(r0.statusCode).toBe(201);
    id = r0.json().data.id;
    expect(await bridge.poller.runOnce()).toBe(1);
    expect(owned(ROOM_A)).toEqual(['Alpha', 'Bravo', 'Charlie']);
    const alpha = raw(ROOM_A).find((e) => e.fields.subject === 'Alpha')!;
    const copy = emu.graph.copyEvent(ROOM_A, alpha.id) as { id: string };
    const foreign = raw(ROOM_A).filter((e) => e.singleValueExtendedProperties.length === 0 || e.id === copy.id).map((e) => e.id);
    expect(foreign).toHaveLength(2);
    const before = bytes(ROOM_A, foreign);
    const r = await call('PUT', `/api/subscriptions/${id}?remove_events=true`, { sync_calendar: ROOM_B });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ removed_events: 3, events_left: false, data: { sync_calendar: ROOM_B } });
    expect(owned(ROOM_A)).toEqual(['Alpha']); // the copy
    expect(bytes(ROOM_A, foreign)).toBe(before);
    expect(raw(ROOM_A)).toHaveLength(2);
    expect(await bridge.poller.runOnce()).toBe(1);
    expect(owned(ROOM_B)).toEqual(['Alpha', 'Bravo', 'Charlie']);
  });

  test('DELETE with remove_events=true during a poll\'s sync waits for it, then empties the new room of its events', async () => {
    remote.body = calendar(vevent('alpha@a', 'Alpha moved', 10), SIX[1], SIX[2], vevent('delta@a', 'Delta', 13));
    clock += 301_000;
    emu.setLatency(150);
    const poll = bridge.poller.runOnce();
    await waitFor(async () => (await store.getSubscription(id))?.locked_by !== null, 5000, 'the poll to lease the subscription');
    const r = await call('DELETE', `/api/subscriptions/${id}?remove_events=true`);
    expect(await poll).toBe(1);
    emu.setLatency(0);
    expect(r.statusCode).toBe(200);
    // The poll finished first (it updated one event and created one), then all four of its events went.
    expect(r.json()).toEqual({ deleted: true, removed_events: 4, kept_events: 0, events_left: false, sync_target: 'rooms-m365', sync_calendar: ROOM_B });
    expect(raw(ROOM_B)).toEqual([]);
    expect(owned(ROOM_A)).toEqual(['Alpha']);
    expect(await store.getSubscription(id)).toBeUndefined();
  });
});
