/**
 * The figure that matters: kill -9 the bridge while 1,000 pushes are in flight, restart it, and
 * check that every push that got a 2xx is stored and its diff reached the receiver exactly once
 * (by delivery id) — while the receiver itself is down for part of the run. On SQLite and on
 * PostgreSQL; then two instances on one PostgreSQL share the outbox without double delivery.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../bridge/src/store/sqlite';
import { openPostgresStore } from '../../bridge/src/store/postgres';
import type { Store } from '../../bridge/src/store/types';
import { createDatabase, httpRequest, Receiver, startPostgres, stopPostgres, waitFor, type Postgres } from './helpers';
import { freePort } from '../free-port';

const BIN = join(__dirname, '..', '..', 'bridge', 'bin', 'calendar-relay-bridge.js');
const SOURCES = 10;
const PUSHES = 1000;
const CONCURRENCY = 32;

let pg: Postgres | undefined;
beforeAll(() => {
  pg = startPostgres();
}, 300_000);
afterAll(() => stopPostgres(pg));

interface Instance {
  child: ChildProcess;
  port: number;
  stderr: string;
}

async function startInstance(cfgFile: string, dataDir: string, port: number, id: string, databaseUrl?: string): Promise<Instance> {
  const env = { ...process.env, DATABASE_URL: databaseUrl ?? '' };
  const child = spawn(process.execPath, [BIN, '--config', cfgFile, '--port', String(port), '--data-dir', dataDir, '--instance-id', id, '--log-level', 'warn'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const inst: Instance = { child, port, stderr: '' };
  child.stderr?.on('data', (c: Buffer) => (inst.stderr += c.toString()));
  child.stdout?.resume();
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`bridge exited early: ${inst.stderr}`);
    try {
      return (await httpRequest(`http://127.0.0.1:${port}`, { method: 'GET', url: '/healthz' })).statusCode === 200;
    } catch {
      return false;
    }
  }, 30_000, `bridge ${id} to listen`);
  return inst;
}

function killHard(inst: Instance): Promise<void> {
  return new Promise((resolve) => {
    if (inst.child.exitCode !== null || inst.child.signalCode !== null) return resolve();
    inst.child.once('exit', () => resolve());
    inst.child.kill('SIGKILL');
  });
}

function stopGracefully(inst: Instance): Promise<void> {
  return new Promise((resolve) => {
    if (inst.child.exitCode !== null || inst.child.signalCode !== null) return resolve();
    inst.child.once('exit', () => resolve());
    inst.child.kill('SIGTERM');
  });
}

function writeConfig(dir: string, deliveryUrl: string, tokens: string[]): string {
  const file = join(dir, 'bridge.json');
  const sources = Object.fromEntries(tokens.map((t, i) => [`s${i}`, { bearerToken: t }]));
  writeFileSync(file, JSON.stringify({ deliveryUrl, feedBudget: '1000/60', outbox: { pollMs: 20, leaseMs: 2000, timeoutMs: 1000, baseBackoffMs: 50, maxBackoffMs: 400, batch: 16 }, sources }));
  return file;
}

const pushBody = (i: number) => JSON.stringify({
  events: [
    { uid: `base-${i % SOURCES}@relay.test`, title: 'Standing meeting', start: { dateTime: '2030-03-01T09:00:00Z' }, end: { dateTime: '2030-03-01T10:00:00Z' } },
    { uid: `push-${i}@relay.test`, title: `Push ${i}`, start: { dateTime: '2030-03-02T09:00:00Z' }, end: { dateTime: '2030-03-02T10:00:00Z' } },
  ],
});

interface PushOutcome {
  acked: boolean;
  ackedBeforeKill: boolean;
  delivery?: string;
  attempts: number;
  /** The 2xx came from the receipt: an earlier attempt was stored but its answer was lost. */
  answeredAsDuplicate?: boolean;
}

/** Sends pushes 0..n-1 with bounded concurrency; each push is retried (same delivery id) until a 2xx. */
async function sendAll(n: number, target: (i: number) => { port: number }, tokens: string[], state: { killed: boolean; inFlight: number }, onAck: (count: number) => void | Promise<void>): Promise<PushOutcome[]> {
  const outcomes: PushOutcome[] = Array.from({ length: n }, () => ({ acked: false, ackedBeforeKill: false, attempts: 0 }));
  let next = 0;
  let acked = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const o = outcomes[i];
      while (!o.acked) {
        o.attempts++;
        try {
          state.inFlight++;
          const r = await httpRequest(`http://127.0.0.1:${target(i).port}`, { method: 'POST', url: `/hooks/s${i % SOURCES}`, headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[i % SOURCES]}`, 'x-delivery-id': `push-${i}` }, payload: pushBody(i) }).finally(() => state.inFlight--);
          if (r.statusCode >= 200 && r.statusCode < 300) {
            o.acked = true;
            o.ackedBeforeKill = !state.killed;
            o.delivery = r.json().delivery;
            o.answeredAsDuplicate = r.json().duplicate === true;
            await onAck(++acked);
            break;
          }
          if (r.statusCode !== 503) throw new Error(`push ${i}: unexpected ${r.statusCode} ${r.body}`);
        } catch (err) {
          if ((err as Error).message.startsWith(`push ${i}:`)) throw err;
        }
        await new Promise((res) => setTimeout(res, 50));
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return outcomes;
}

interface Figures {
  sent: number;
  acknowledged: number;
  ackedBeforeKill: number;
  stored: number;
  delivered: number;
  duplicates: number;
  redeliveries: number;
  lost: number;
}

async function figures(outcomes: PushOutcome[], receiver: Receiver, store: Store): Promise<Figures> {
  const byDelivery = new Map<string, number>();
  for (const d of receiver.deliveries) byDelivery.set(d.id, (byDelivery.get(d.id) ?? 0) + 1);
  const pushIdsDelivered = new Map<string, Set<string>>();
  for (const d of receiver.deliveries) {
    const pushId = String(d.body.pushId);
    if (!pushIdsDelivered.has(pushId)) pushIdsDelivered.set(pushId, new Set());
    pushIdsDelivered.get(pushId)!.add(d.id);
  }
  let stored = 0;
  let delivered = 0;
  let lost = 0;
  for (const [i, o] of outcomes.entries()) {
    if (!o.acked) continue;
    if (await store.hasReceipt(`s${i % SOURCES}`, `push-${i}`)) stored++;
    const ids = pushIdsDelivered.get(`push-${i}`);
    if (ids && o.delivery && ids.has(o.delivery)) delivered++;
    else lost++;
  }
  return {
    sent: outcomes.length,
    acknowledged: outcomes.filter((o) => o.acked).length,
    ackedBeforeKill: outcomes.filter((o) => o.ackedBeforeKill).length,
    stored,
    delivered,
    // One push's diff under two different delivery ids would be a real duplicate; the same id twice is a redelivery the receiver drops.
    duplicates: [...pushIdsDelivered.values()].filter((ids) => ids.size > 1).length,
    redeliveries: [...byDelivery.values()].reduce((a, c) => a + c - 1, 0),
    lost,
  };
}

describe.each(['sqlite', 'postgres'] as const)('kill -9 during 1,000 pushes (%s)', (engine) => {
  test('every acknowledged push is stored and its diff delivered exactly once', async () => {
    if (engine === 'postgres' && !pg) return;
    const dir = mkdtempSync(join(tmpdir(), `cr-durability-${engine}-`));
    const databaseUrl = engine === 'postgres' ? await createDatabase(pg!, `durability_${process.pid}`) : undefined;
    const receiver = new Receiver();
    receiver.port = await freePort(); // reserved, but down at the start
    const tokens = Array.from({ length: SOURCES }, () => randomBytes(18).toString('base64url'));
    const cfg = writeConfig(dir, receiver.url, tokens);
    const port = await freePort();
    let inst = await startInstance(cfg, dir, port, 'first', databaseUrl);
    const state = { killed: false, inFlight: 0 };
    const started = Date.now();
    let restart: Promise<void> | undefined;
    let inFlightAtKill = 0;
    const outcomes = await sendAll(PUSHES, () => ({ port }), tokens, state, async (count) => {
      if (count === 300) await receiver.up();
      if (count === 500 && !state.killed) {
        state.killed = true;
        inFlightAtKill = state.inFlight;
        await killHard(inst); // mid-flight: up to CONCURRENCY requests are cut off
        await receiver.down();
        restart = (async () => {
          await new Promise((r) => setTimeout(r, 300));
          inst = await startInstance(cfg, dir, port, 'second', databaseUrl);
          setTimeout(() => void receiver.up(), 1000); // the receiver comes back a second after the bridge
        })();
      }
    });
    await restart;
    await waitFor(() => new Set(receiver.deliveries.map((d) => d.id)).size >= outcomes.filter((o) => o.delivery).length, 90_000, 'all deliveries');
    await stopGracefully(inst);
    const store = engine === 'postgres' ? openPostgresStore(databaseUrl!) : openSqliteStore(join(dir, 'bridge.sqlite'));
    const f = await figures(outcomes, receiver, store);
    await store.close();
    await receiver.down();
    console.log(`durability (${engine}): sent ${f.sent}, acknowledged ${f.acknowledged} (${f.ackedBeforeKill} before the kill), stored ${f.stored}, delivered ${f.delivered}, duplicates ${f.duplicates} (redeliveries of one id dropped by the receiver: ${f.redeliveries}), lost ${f.lost}; ${inFlightAtKill} requests in flight at the kill, ${outcomes.filter((o) => o.answeredAsDuplicate).length} stored before the kill but answered only on retry; ${outcomes.reduce((a, o) => a + o.attempts, 0)} requests in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(inFlightAtKill).toBeGreaterThan(CONCURRENCY / 2);
    expect(f.ackedBeforeKill).toBeGreaterThanOrEqual(500);
    expect(f.ackedBeforeKill).toBeLessThan(PUSHES);
    expect(f).toMatchObject({ sent: PUSHES, acknowledged: PUSHES, stored: PUSHES, delivered: PUSHES, duplicates: 0, lost: 0 });
  }, 240_000);
});

describe('two bridge instances on one PostgreSQL', () => {
  test('each outbox entry is delivered by exactly one instance', async () => {
    if (!pg) return;
    const dir = mkdtempSync(join(tmpdir(), 'cr-two-'));
    const databaseUrl = await createDatabase(pg, `two_${process.pid}`);
    const receiver = new Receiver();
    await receiver.up();
    const tokens = Array.from({ length: SOURCES }, () => randomBytes(18).toString('base64url'));
    const cfg = writeConfig(dir, receiver.url, tokens);
    const [a, b] = await Promise.all([freePort(), freePort()].map(async (p) => startInstance(cfg, dir, await p, `inst-${await p}`, databaseUrl)));
    const outcomes = await sendAll(400, (i) => (i % 2 ? a : b), tokens, { killed: false, inFlight: 0 }, () => undefined);
    await waitFor(() => receiver.deliveries.length >= 400, 60_000, '400 deliveries');
    await new Promise((r) => setTimeout(r, 500)); // room for any double delivery to show up
    await Promise.all([stopGracefully(a), stopGracefully(b)]);
    const ids = receiver.deliveries.map((d) => d.id);
    const perInstance = new Map<string, number>();
    for (const d of receiver.deliveries) perInstance.set(d.instance, (perInstance.get(d.instance) ?? 0) + 1);
    console.log(`two instances: ${ids.length} deliveries, ${new Set(ids).size} distinct, by instance ${JSON.stringify(Object.fromEntries(perInstance))}`);
    await receiver.down();
    expect(outcomes.every((o) => o.acked)).toBe(true);
    expect(ids.length).toBe(400);
    expect(new Set(ids).size).toBe(400);
    expect(perInstance.size).toBe(2);
    // Per source, diffs arrive in version order.
    for (let s = 0; s < SOURCES; s++) {
      const versions = receiver.deliveries.filter((d) => d.body.source === `s${s}`).map((d) => Number(d.body.version));
      expect(versions).toEqual([...versions].sort((x, y) => x - y));
    }
  }, 180_000);
});
