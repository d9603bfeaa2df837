/**
 * Subscriptions with a sync target, end to end: the bridge polls a loopback feed (127.0.0.2,
 * allow-listed in the safe fetch) and syncs it with core's syncCalendars into a Google room
 * calendar of the project's emulator (service-account auth, as the CLI contract test does). A
 * changed feed updates the room; a 304 writes nothing; a failing, an empty and a shrunken feed
 * leave the room's events as they are and set last_error; a long sync keeps its lease. Also: the
 * sync-target config (secrets from env, errors naming the key), the API fields (the target's
 * credentials never appear), and snapshot pruning.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type Emulator } from '../../emulator';
import type { Bridge } from '../../bridge/src/server';
import { BridgeConfigError, loadBridgeConfig } from '../../bridge/src/config';
import { createLogger } from '../../bridge/src/logging';
import { openStore } from '../../bridge/src/store';
import type { Store } from '../../bridge/src/store/types';
import { subscriptionSource } from '../../bridge/src/subscriptions';
import { syncTargetOf, SyncTargetConfigError } from '../../bridge/src/sync-target';
import { calendar, FeedServer, httpRequest, LogSink, Receiver, startSyncBridge, vevent } from './helpers';

const ADMIN = randomBytes(18).toString('base64url');
const admin = { authorization: `Bearer ${ADMIN}` };
const ROOM = 'room-1@rooms.example';
const OTHER_ROOM = 'room-2@rooms.example';
const PERSONAL = 'Booked by a person';
const START = Date.UTC(2030, 0, 1, 12);

const SIX = ['Alpha', 'Bravo', 'Charlie', 'Delta', 'Echo', 'Foxtrot'].map((t, i) => vevent(`${t.toLowerCase()}@remote`, t, 10 + i));

describe('sync target configuration', () => {
  const noSecrets = (v: unknown) => v;
  test.each([
    [{ provider: 'exchange' }, 'subscriptions.syncTargets.t.provider: must be one of google, microsoft, caldav'],
    [{ provider: 'google' }, 'subscriptions.syncTargets.t.auth must be a mapping'],
    [{ provider: 'google', auth: { accessToken: 'x', refreshToken: 'y' } }, 'subscriptions.syncTargets.t.auth: needs exactly one of'],
    [{ provider: 'google', auth: { accessToken: 'x' }, baseUrl: 'https://x' }, 'subscriptions.syncTargets.t.baseUrl: is not a Google setting'],
    [{ provider: 'google', auth: { accessToken: 'x' }, calender: 'r' }, 'subscriptions.syncTargets.t.calender: unknown key'],
    [{ provider: 'microsoft', auth: { tenantId: 'a', clientId: 'b' } }, 'subscriptions.syncTargets.t.auth.clientSecret: is required'],
    [{ provider: 'caldav', auth: { none: true } }, 'subscriptions.syncTargets.t.baseUrl: is required'],
    [{ provider: 'google', auth: { accessToken: 'x' }, window: { futureDays: -1 } }, 'subscriptions.syncTargets.t.window.futureDays: must be a whole number'],
  ])('%j is refused: %s', (raw, msg) => {
    expect(() => syncTargetOf('t', raw, noSecrets)).toThrow(SyncTargetConfigError);
    expect(() => syncTargetOf('t', raw, noSecrets)).toThrow(msg);
  });

  test('from the config file: secrets as env:NAME, defaults filled; a missing variable is named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cr-synccfg-'));
    const file = join(dir, 'bridge.yaml');
    writeFileSync(file, `subscriptions:
  syncTargets:
    rooms-graph:
      provider: microsoft
      baseUrl: https://graph.example/v1.0
      calendar: room@example.org
      auth: { tenantId: t1, clientId: c1, clientSecret: env:GRAPH_SECRET }
`);
    const c = loadBridgeConfig(['--config', file], { GRAPH_SECRET: 's3cret' });
    expect(c.subscriptions.syncTargets['rooms-graph']).toEqual({
      name: 'rooms-graph', calendar: 'room@example.org', syncIdPrefix: 'bridge', window: { pastDays: 7, futureDays: 365 }, timeoutMs: 600_000,
      target: { provider: 'microsoft', baseUrl: 'https://graph.example/v1.0', auth: { kind: 'clientCredentials', tenantId: 't1', clientId: 'c1', clientSecret: 's3cret' } },
    });
    expect(() => loadBridgeConfig(['--config', file], {})).toThrow(BridgeConfigError);
    expect(() => loadBridgeConfig(['--config', file], {})).toThrow('subscriptions.syncTargets.rooms-graph.auth.clientSecret: environment variable GRAPH_SECRET is not set');
  });
});

describe('a subscription synced into a Google room of the emulator', () => {
  let emu: Emulator;
  let bridge: Bridge;
  let store: Store;
  let base = '';
  let id = 0;
  let clock = START;
  const remote = new FeedServer();
  const receiver = new Receiver();
  const logs = new LogSink();

  const call = (method: string, url: string, body?: unknown) =>
    httpRequest(base, { method, url, headers: { ...admin, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, payload: body === undefined ? undefined : JSON.stringify(body) });
  const live = (room: string) => emu.google.listRaw(room).filter((e) => e.status !== 'cancelled');
  const synced = (room = ROOM) => live(room).filter((e) => e.extendedProperties?.private).map((e) => String(e.summary)).sort();
  const personalPresent = () => live(ROOM).some((e) => e.summary === PERSONAL);
  const WRITE_KINDS = ['google:insert', 'google:import', 'google:patch', 'google:update', 'google:delete'];
  const writes = () => WRITE_KINDS.reduce((n, k) => n + (emu.log.byKind[k] ?? 0), 0);
  const status = async () => (await call('GET', `/api/subscriptions/${id}`)).json().data;
  /** Past the interval, then one claim-and-poll round (which runs the sync). */
  const pollAgain = async () => {
    clock += 301_000;
    expect(await bridge.poller.runOnce()).toBe(1);
  };

  // Holds the service account's generated private key: removed with the bridge's data afterwards.
  let dir = '';
  beforeAll(async () => {
    emu = await startEmulator({ now: () => clock, limits: false });
    dir = mkdtempSync(join(tmpdir(), 'cr-bridge-sync-'));
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    emu.google.registerServiceAccount('relay@test.iam.gserviceaccount.com', publicKey);
    const keyFile = join(dir, 'key.json');
    writeFileSync(keyFile, JSON.stringify({ type: 'service_account', client_email: 'relay@test.iam.gserviceaccount.com', private_key: privateKey }));
    for (const r of [ROOM, OTHER_ROOM]) emu.google.createCalendar(r, { timeZone: 'Europe/Berlin' });
    emu.google.seedEvent(ROOM, { summary: PERSONAL, start: { dateTime: '2030-01-12T12:00:00Z' }, end: { dateTime: '2030-01-12T13:00:00Z' } });
    await remote.up();
    remote.body = calendar(...SIX);
    await receiver.up();
    const syncTargets = {
      'rooms-google': syncTargetOf('rooms-google', { provider: 'google', rootUrl: `${emu.url}/`, auth: { serviceAccountKeyFile: keyFile, subject: 'admin@rooms.example', tokenUrl: `${emu.url}/token` } }, (v) => v),
    };
    store = await openStore({ dataDir: dir });
    ({ bridge, base } = await startSyncBridge({ store, adminToken: ADMIN, syncTargets, now: () => clock, config: { dataDir: dir, deliveryUrl: receiver.url }, subscriptions: { leaseMs: 1000 }, log: createLogger('debug', logs) }));
    bridge.dispatcher.start();
  });
  afterAll(async () => {
    await bridge.close();
    await remote.down();
    await receiver.down();
    await emu.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the API names only configured targets and needs a calendar; the target\'s credentials never appear', async () => {
    let r = await call('POST', '/api/subscriptions', { calendar_url: `${remote.base}/rooms.ics`, sync_target: 'rooms-outlook', sync_calendar: ROOM });
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toBe('sync_target "rooms-outlook" is not configured on this bridge (configured: rooms-google)');
    r = await call('POST', '/api/subscriptions', { calendar_url: `${remote.base}/rooms.ics`, sync_target: 'rooms-google' });
    expect(r.json().error).toBe('sync_calendar is required: sync target "rooms-google" has no default calendar');
    r = await call('POST', '/api/subscriptions', { calendar_url: `${remote.base}/rooms.ics`, sync_calendar: ROOM });
    expect(r.json().error).toBe('sync_calendar needs a sync_target');
    r = await call('POST', '/api/subscriptions', { calendar_url: `${remote.base}/rooms.ics`, interval: 300, sync_target: 'rooms-google', sync_calendar: ROOM, sync_status: null });
    expect(r.json().error).toBe('sync_status is read-only');
    r = await call('POST', '/api/subscriptions', { calendar_url: `${remote.base}/rooms.ics`, interval: 300, sync_target: 'rooms-google', sync_calendar: ROOM });
    expect(r.statusCode).toBe(201);
    expect(r.json().data).toMatchObject({ sync_target: 'rooms-google', sync_calendar: ROOM, sync_status: null });
    expect(r.body).not.toMatch(/key\.json|private_key|admin@rooms/);
    id = r.json().data.id;
  });

  test('the first poll syncs the feed into the room; nothing is forwarded; a person\'s booking stays', async () => {
    expect(await bridge.poller.runOnce()).toBe(1);
    expect(synced()).toEqual(['Alpha', 'Bravo', 'Charlie', 'Delta', 'Echo', 'Foxtrot']);
    expect(personalPresent()).toBe(true);
    expect(synced(OTHER_ROOM)).toEqual([]);
    const d = await status();
    expect(d).toMatchObject({ last_error: null, event_count: 6 });
    expect(d.sync_status).toEqual({ target: 'rooms-google', calendar: ROOM, date: Math.floor(clock / 1000), ok: true, created: 6, updated: 0, deleted: 0, kept: 0, failed: 0, guard: null, error: null });
    expect(receiver.deliveries).toEqual([]);
    expect(await store.latestSnapshot(subscriptionSource(id))).toBeDefined();
  });

  test('a 304 writes nothing; a changed feed updates, creates and deletes only what changed', async () => {
    const before = writes();
    await pollAgain();
    expect(writes()).toBe(before);
    expect((await status()).sync_status.created).toBe(6); // not synced again: the status stays the first sync's
    remote.body = calendar(vevent('alpha@remote', 'Alpha moved', 10), ...SIX.slice(1, 5), vevent('golf@remote', 'Golf', 20));
    await pollAgain();
    expect(synced()).toEqual(['Alpha moved', 'Bravo', 'Charlie', 'Delta', 'Echo', 'Golf']);
    expect((await status()).sync_status).toMatchObject({ ok: true, created: 1, updated: 1, deleted: 1, kept: 4, failed: 0, error: null });
    expect(personalPresent()).toBe(true);
  });

  test('a failing feed leaves the room as it is and sets last_error', async () => {
    const before = writes();
    remote.status = 500;
    await pollAgain();
    const d = await status();
    expect(d.last_error).toMatch(/HTTP 500/);
    expect(d.sync_status.ok).toBe(true); // no sync ran
    expect(writes()).toBe(before);
    expect(synced()).toEqual(['Alpha moved', 'Bravo', 'Charlie', 'Delta', 'Echo', 'Golf']);
    remote.status = 200;
  });

  test('an empty feed deletes nothing: refused as a snapshot, then by the sync\'s SourceEmptyError guard', async () => {
    const before = writes();
    remote.body = calendar();
    await pollAgain();
    let d = await status();
    expect(d.last_error).toMatch(/no valid events but the stored snapshot has 6/);
    // The next poll gets a 304 for the empty body: the sync now sees it, and its guard refuses.
    await pollAgain();
    d = await status();
    expect(d.sync_status).toMatchObject({ ok: false, guard: 'SourceEmptyError', created: 0, deleted: 0 });
    expect(d.last_error).toMatch(/^SourceEmptyError: .*nothing was written/);
    expect(writes()).toBe(before);
    expect(synced()).toEqual(['Alpha moved', 'Bravo', 'Charlie', 'Delta', 'Echo', 'Golf']);
    expect(personalPresent()).toBe(true);
  });

  test('a feed that lost most of its events is refused by the shrink guard (its state kept in the row); nothing is deleted', async () => {
    const before = writes();
    remote.body = calendar(vevent('bravo@remote', 'Bravo', 11));
    await pollAgain();
    const d = await status();
    // SourceShrankError needs the last good run's counts: kept in the subscription's row between polls.
    expect(d.sync_status).toMatchObject({ ok: false, guard: 'SourceShrankError', deleted: 0 });
    expect(d.last_error).toMatch(/^SourceShrankError: /);
    expect(writes()).toBe(before);
    expect(synced()).toEqual(['Alpha moved', 'Bravo', 'Charlie', 'Delta', 'Echo', 'Golf']);
  });

  test('an override is for one poll: allow-shrink passes the shrink guard, then allow-shrink + force the delete limit', async () => {
    let r = await call('PUT', `/api/subscriptions/${id}`, { sync_override: ['delete-everything'] });
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toBe('sync_override must be a list of allow-empty, allow-shrink, force (for the next poll only), or null');
    r = await call('PUT', `/api/subscriptions/${id}`, { sync_override: ['allow-shrink'] });
    expect(r.json().data.sync_override).toEqual(['allow-shrink']);
    expect(await bridge.poller.runOnce()).toBe(1); // a PUT polls at once
    let d = await status();
    // Past the shrink guard, the delete limit (5 of 6) still holds; the override is used up.
    expect(d.sync_status).toMatchObject({ ok: false, guard: 'DeleteLimitError', deleted: 0 });
    expect(d.sync_override).toBeNull();
    expect(synced()).toHaveLength(6);
    await call('PUT', `/api/subscriptions/${id}`, { sync_override: ['allow-shrink', 'force'] });
    expect(await bridge.poller.runOnce()).toBe(1);
    d = await status();
    expect(d.sync_status).toMatchObject({ ok: true, created: 0, deleted: 5, kept: 1, guard: null });
    expect(d.sync_override).toBeNull();
    expect(synced()).toEqual(['Bravo']);
    expect(personalPresent()).toBe(true);
  });

  test('the feed back to normal: the sync runs again and succeeds; last_error clears', async () => {
    remote.body = calendar(vevent('alpha@remote', 'Alpha moved', 10), ...SIX.slice(1, 5), vevent('golf@remote', 'Golf', 20), vevent('hotel@remote', 'Hotel', 21));
    await pollAgain();
    const d = await status();
    expect(d.last_error).toBeNull();
    expect(d.sync_status).toMatchObject({ ok: true, created: 6, updated: 0, deleted: 0, kept: 1, guard: null });
    expect(synced()).toEqual(['Alpha moved', 'Bravo', 'Charlie', 'Delta', 'Echo', 'Golf', 'Hotel']);
  });

  test('a sync longer than the lease renews it: another instance cannot claim the subscription meanwhile', async () => {
    remote.body = calendar(vevent('india@remote', 'India', 22), ...SIX.slice(1, 5), vevent('golf@remote', 'Golf', 20), vevent('hotel@remote', 'Hotel', 21));
    emu.setLatency(400);
    clock += 301_000;
    const round = bridge.poller.runOnce();
    // The lease was taken for 1 s of bridge time; move the clock past it while the sync runs.
    await new Promise((r) => setTimeout(r, 300));
    clock += 5000;
    await new Promise((r) => setTimeout(r, 700)); // renewals run every leaseMs / 3 (333 ms)
    const stolen = await store.claimSubscriptions(clock, 10, 1000, 'other-instance');
    expect(stolen.map((s) => s.id)).toEqual([]);
    expect(await round).toBe(1);
    emu.setLatency(0);
    const d = await status();
    expect(d.sync_status).toMatchObject({ ok: true, created: 1, deleted: 1 });
    expect(synced()).toEqual(['Bravo', 'Charlie', 'Delta', 'Echo', 'Golf', 'Hotel', 'India']);
  });

  test('snapshots are pruned to the newest one; deleting the subscription forgets them, and the room keeps its events (the answer says so)', async () => {
    expect(await store.countSnapshots(subscriptionSource(id))).toBe(1);
    const r = await call('DELETE', `/api/subscriptions/${id}`);
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ deleted: true, removed_events: 0, events_left: true, sync_target: 'rooms-google', sync_calendar: ROOM });
    expect(r.json().note).toMatch(/were left there; DELETE with \?remove_events=true removes them first/);
    expect(await store.countSnapshots(subscriptionSource(id))).toBe(0);
    expect(synced()).toHaveLength(7);
  });
});

describe('a subscription synced into a Microsoft 365 room of the emulator', () => {
  // Graph tells its own events from a person's copies by the ids it created (kept in the provider
  // state): the second poll must find that state in the subscription's row, or it would see its
  // own events as copies and create duplicates.
  let emu: Emulator;
  let bridge: Bridge;
  let base = '';
  let clock = START;
  const remote = new FeedServer();
  const GRAPH_ROOM = 'room-9@rooms.example';
  let dir = '';
  const owned = () => emu.graph.listRaw(GRAPH_ROOM).filter((e) => e.singleValueExtendedProperties.length > 0).map((e) => String(e.fields.subject)).sort();

  beforeAll(async () => {
    emu = await startEmulator({ now: () => clock, limits: false });
    emu.graph.registerApp('client-1', 'secret-1', 'tenant-1');
    emu.graph.addRoom({ email: GRAPH_ROOM, displayName: 'Room 9' });
    await remote.up();
    remote.body = calendar(...SIX.slice(0, 2));
    const syncTargets = {
      'rooms-m365': syncTargetOf('rooms-m365', {
        provider: 'microsoft', baseUrl: `${emu.url}/v1.0`, defaultTimeZone: 'Europe/Berlin', calendar: GRAPH_ROOM,
        auth: { tenantId: 'tenant-1', clientId: 'client-1', clientSecret: 'env:TEST_GRAPH_SECRET', authority: emu.url },
      }, (v) => (v === 'env:TEST_GRAPH_SECRET' ? 'secret-1' : v)),
    };
    dir = mkdtempSync(join(tmpdir(), 'cr-bridge-sync-m365-'));
    ({ bridge, base } = await startSyncBridge({ store: await openStore({ dataDir: dir }), adminToken: ADMIN, syncTargets, now: () => clock, config: { dataDir: dir } }));
  });
  afterAll(async () => {
    await bridge.close();
    await remote.down();
    await emu.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the target\'s default calendar; a second poll updates in place, no duplicates', async () => {
    const r = await httpRequest(base, { method: 'POST', url: '/api/subscriptions', headers: { ...admin, 'content-type': 'application/json' }, payload: JSON.stringify({ calendar_url: `${remote.base}/m365.ics`, interval: 300, sync_target: 'rooms-m365' }) });
    expect(r.statusCode).toBe(201);
    const id = r.json().data.id;
    expect(await bridge.poller.runOnce()).toBe(1);
    expect(owned()).toEqual(['Alpha', 'Bravo']);
    remote.body = calendar(vevent('alpha@remote', 'Alpha moved', 10), SIX[1], SIX[2]);
    clock += 301_000;
    expect(await bridge.poller.runOnce()).toBe(1);
    expect(owned()).toEqual(['Alpha moved', 'Bravo', 'Charlie']);
    const d = (await httpRequest(base, { method: 'GET', url: `/api/subscriptions/${id}`, headers: admin })).json().data;
    expect(d.last_error).toBeNull();
    expect(d.sync_status).toMatchObject({ target: 'rooms-m365', calendar: GRAPH_ROOM, ok: true, created: 1, updated: 1, deleted: 0, kept: 1 });
  });
});
