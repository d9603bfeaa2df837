/**
 * The emulator in its own worker thread, for the sync benchmark: server and client then run on
 * separate event loops (and cores), as they do against the real services. In one thread every
 * millisecond the emulator spends validating and storing an event is a millisecond the client
 * cannot send, so latency stops being hidden and the run measures the sum of both CPUs.
 *
 * The worker answers a few admin calls by message; request counts come back as a snapshot of the
 * emulator's request log. `SYNC_BENCH_IN_PROCESS=1` keeps the emulator in the client's thread
 * (for comparison).
 */
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { startEmulator, type Emulator } from '../emulator';

/** The parts of the emulator's request log the benchmark reads. */
export interface LogSnapshot {
  total: number;
  batchSizes: number[];
  batchCount: number;
  byKind: Record<string, number>;
  byRoute: Record<string, number>;
  byTarget: Record<string, number>;
  maxConcurrency: Record<string, number>;
  /** Milliseconds the emulator's event loop was busy since the last resetLog (its CPU share). */
  busyMs: number;
}

/** What the benchmark needs from an emulator, in or out of process. */
export interface BenchEmulator {
  url: string;
  reset(): Promise<void>;
  setLatency(ms: number): Promise<void>;
  /** Google's 600/min quota off (it would measure the quota, not the engine). */
  googleLimitsOff(): Promise<void>;
  addGraphRoom(email: string, displayName: string): Promise<void>;
  createGoogleCalendar(id: string, timeZone: string): Promise<void>;
  graphToken(): Promise<string>;
  googleToken(): Promise<string>;
  resetLog(): Promise<void>;
  log(): Promise<LogSnapshot>;
  /** Every modelled limit off (bulk seeding through HTTP). */
  limitsOff(): Promise<void>;
  /** People's own events, stored through the admin hooks: Google JSON / Graph JSON. */
  seedForeign(kind: 'google' | 'graph', calendarId: string, events: Array<Record<string, unknown>>): Promise<void>;
  /** Serving time (ms) of the top-level requests since the last resetLog. */
  servedMs(): Promise<number>;
  close(): Promise<void>;
}

type Call = { id: number; method: keyof typeof handlers; args: unknown[] };

let served: Emulator | undefined;
let eluMark = performance.eventLoopUtilization();
const handlers = {
  reset: () => served!.reset(),
  setLatency: (ms: unknown) => served!.setLatency(ms as number),
  googleLimitsOff: () => served!.faults.setLimits('google', undefined),
  addGraphRoom: (email: unknown, displayName: unknown) => void served!.graph.addRoom({ email: email as string, displayName: displayName as string, capacity: 10 }),
  createGoogleCalendar: (id: unknown, timeZone: unknown) => void served!.google.createCalendar(id as string, { timeZone: timeZone as string }),
  // Long-lived tokens: the client asks once per provider, not per request.
  graphToken: () => served!.graph.issueToken({ lifetimeS: 24 * 3600 }),
  googleToken: () => served!.google.issueAccessToken(),
  resetLog: () => {
    eluMark = performance.eventLoopUtilization();
    served!.log.reset();
    served!.faults.injected = [];
  },
  log: (): LogSnapshot => snapshot(served!),
  limitsOff: () => void (served!.faults.limitsEnabled = false),
  seedForeign: (kind: unknown, calendarId: unknown, events: unknown) => {
    for (const e of events as Array<Record<string, unknown>>) {
      if (kind === 'google') served!.google.seedEvent(calendarId as string, e);
      else served!.graph.seedEvent(calendarId as string, e);
    }
  },
  servedMs: () => served!.log.recent({ inBatch: false }).reduce((a, x) => a + x.durationMs, 0),
};

function snapshot(emu: Emulator): LogSnapshot {
  const l = emu.log;
  return { total: l.total, batchSizes: [...l.batchSizes], batchCount: l.batchCount, byKind: { ...l.byKind }, byRoute: { ...l.byRoute }, byTarget: { ...l.byTarget }, maxConcurrency: { ...l.maxConcurrency }, busyMs: performance.eventLoopUtilization(eluMark).active };
}

const WORKER_ROLE = 'sync-bench-emulator';

/** True inside the benchmark's emulator worker (bench/run.ts then serves instead of benchmarking). */
export function isEmulatorWorker(): boolean {
  return !isMainThread && (workerData as { role?: string } | null)?.role === WORKER_ROLE;
}

/** Worker side: starts the emulator and answers calls until closed. */
export async function serveEmulatorWorker(): Promise<void> {
  const { latencyMs } = workerData as { latencyMs: number };
  served = await startEmulator({ latencyMs });
  parentPort!.postMessage({ ready: served.url });
  parentPort!.on('message', async (msg: Call | { close: true }) => {
    if ('close' in msg) {
      await served!.close();
      parentPort!.close();
      return;
    }
    try {
      const fn = handlers[msg.method] as (...a: unknown[]) => unknown;
      parentPort!.postMessage({ id: msg.id, result: await fn(...msg.args) });
    } catch (e) {
      parentPort!.postMessage({ id: msg.id, error: (e as Error)?.message ?? String(e) });
    }
  });
}

/** Starts the emulator in a worker thread running this same bundle (`entry`, normally __filename). */
export async function startEmulatorWorker(entry: string, latencyMs: number): Promise<BenchEmulator> {
  const worker = new Worker(entry, { workerData: { role: WORKER_ROLE, latencyMs } });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let seq = 0;
  const url = await new Promise<string>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (m: { ready?: string; id?: number; result?: unknown; error?: string }) => {
      if (m.ready) return resolve(m.ready);
      const p = pending.get(m.id!);
      if (!p) return;
      pending.delete(m.id!);
      if (m.error !== undefined) p.reject(new Error(`emulator worker: ${m.error}`));
      else p.resolve(m.result);
    });
  });
  const call = <T>(method: Call['method'], ...args: unknown[]) => new Promise<T>((resolve, reject) => {
    const id = ++seq;
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    worker.postMessage({ id, method, args });
  });
  return {
    url,
    reset: () => call('reset'),
    setLatency: (ms) => call('setLatency', ms),
    googleLimitsOff: () => call('googleLimitsOff'),
    addGraphRoom: (email, name) => call('addGraphRoom', email, name),
    createGoogleCalendar: (id, tz) => call('createGoogleCalendar', id, tz),
    graphToken: () => call('graphToken'),
    googleToken: () => call('googleToken'),
    resetLog: () => call('resetLog'),
    log: () => call('log'),
    limitsOff: () => call('limitsOff'),
    seedForeign: (kind, calendarId, events) => call('seedForeign', kind, calendarId, events),
    servedMs: () => call('servedMs'),
    close: async () => {
      const exited = new Promise((r) => worker.once('exit', r));
      worker.postMessage({ close: true });
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000).unref())]);
      await worker.terminate();
    },
  };
}

/** The same interface over an emulator in this thread. */
export async function startEmulatorInProcess(latencyMs: number): Promise<BenchEmulator> {
  served = await startEmulator({ latencyMs });
  const emu = served;
  const wrap = <A extends unknown[]>(fn: (...a: A) => unknown) => async (...a: A) => fn(...a) as never;
  return {
    url: emu.url,
    reset: wrap(handlers.reset),
    setLatency: wrap(handlers.setLatency),
    googleLimitsOff: wrap(handlers.googleLimitsOff),
    addGraphRoom: wrap(handlers.addGraphRoom),
    createGoogleCalendar: wrap(handlers.createGoogleCalendar),
    graphToken: wrap(handlers.graphToken),
    googleToken: wrap(handlers.googleToken),
    resetLog: wrap(handlers.resetLog),
    log: wrap(handlers.log),
    limitsOff: wrap(handlers.limitsOff),
    seedForeign: wrap(handlers.seedForeign),
    servedMs: wrap(handlers.servedMs),
    close: () => emu.close(),
  };
}
