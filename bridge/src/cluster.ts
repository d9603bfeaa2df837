/**
 * `workers: N` (node:cluster): N processes accept HTTP on one port, as nginx's worker processes
 * do. The primary only forks, restarts and relays messages; it opens no store and serves nothing.
 *
 * - Exactly one worker (role `background`) runs the outbox dispatcher and the subscription poller;
 *   the others (`serve`) only answer HTTP. A worker that dies is replaced in the same role.
 * - A publish or token rotation in one worker clears the feed cache of every other worker before
 *   its answer is sent (`broadcast('feeds-changed')` waits for each worker's acknowledgement, at
 *   most ACK_TIMEOUT_MS), so no worker answers 304 for a version older than the last publish.
 * - `/metrics` sums the counters of all workers (`gather('metrics')`).
 * - The feed budget is shared through the store (budget.ts): each worker counts in memory and
 *   syncs its counts every `feedBudget.syncMs`, as another instance would, so a token gets its
 *   budget from all workers (and instances) together — eventually consistent: at most the requests
 *   arriving within two syncMs over it (one until a worker sends a count, one until the others read
 *   it). With syncMs 0 it is split instead: each worker
 *   allows ceil(requests / N) per window, so the instance allows at most the budget + N − 1.
 */
import cluster, { type Worker } from 'node:cluster';

export type WorkerRole = 'background' | 'serve';
export type PeerTopic = 'feeds-changed' | 'metrics';

export const ROLE_ENV = 'CALENDAR_RELAY_BRIDGE_WORKER_ROLE';
const TAG = 'calendar-relay-bridge';
const ACK_TIMEOUT_MS = 2000;
/** A worker that exits sooner than this after its start counts as failing to start... */
const QUICK_EXIT_MS = 5000;
/** ...and this many such exits in a row stop the bridge (exit 1) instead of forking forever. */
const QUICK_EXITS_LIMIT = 3;

interface Envelope {
  tag: typeof TAG;
  kind: 'ask' | 'answer' | 'request' | 'reply';
  id: number;
  topic?: PeerTopic;
  payload?: unknown;
  replies?: unknown[];
}

const isEnvelope = (m: unknown): m is Envelope => typeof m === 'object' && m !== null && (m as Envelope).tag === TAG;

/** What a worker's bridge uses to reach the other workers (server.ts BridgeDeps.peers). */
export interface Peers {
  /** Runs `topic`'s handler in every other worker; resolves with their answers (after at most ACK_TIMEOUT_MS). */
  ask(topic: PeerTopic): Promise<unknown[]>;
  /** The handler this worker runs when another worker asks `topic`. */
  handle(topic: PeerTopic, handler: () => unknown): void;
  /** Processes serving HTTP (for the budget split when feedBudget.syncMs is 0). */
  readonly workers: number;
}

/** The worker side: requests go to the primary, which relays them to the other workers. */
export function workerPeers(workers: number): Peers {
  const handlers = new Map<PeerTopic, () => unknown>();
  const pending = new Map<number, (replies: unknown[]) => void>();
  let next = 0;
  process.on('message', (m: unknown) => {
    if (!isEnvelope(m)) return;
    if (m.kind === 'request' && m.topic) {
      const handler = handlers.get(m.topic);
      process.send?.({ tag: TAG, kind: 'reply', id: m.id, payload: handler ? handler() : undefined } satisfies Envelope);
    } else if (m.kind === 'answer') {
      pending.get(m.id)?.(m.replies ?? []);
      pending.delete(m.id);
    }
  });
  return {
    workers,
    handle: (topic, handler) => void handlers.set(topic, handler),
    ask(topic) {
      const id = ++next;
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          resolve([]);
        }, ACK_TIMEOUT_MS + 500);
        timer.unref();
        pending.set(id, (replies) => {
          clearTimeout(timer);
          resolve(replies);
        });
        process.send?.({ tag: TAG, kind: 'ask', id, topic } satisfies Envelope);
      });
    },
  };
}

export interface PrimaryIo {
  stderr: (text: string) => void;
}

/**
 * The primary: forks `workers` processes running this same program (the role in ROLE_ENV),
 * replaces any that exits unexpectedly, relays `ask`s, and on SIGINT/SIGTERM asks every worker
 * to shut down gracefully and waits for them. Workers that keep failing at start (bad database
 * URL, unwritable data folder, port taken) stop the bridge with exit code 1.
 */
export async function runPrimary(workers: number, io: PrimaryIo): Promise<number> {
  const roles = new Map<Worker, WorkerRole>();
  const startedAt = new Map<Worker, number>();
  let stopping = false;
  let quickExits = 0;
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => (finish = resolve));
  let relayId = 0;
  // relayed request id → what is still awaited and whom to answer
  const relays = new Map<number, { waiting: Set<Worker>; replies: unknown[]; done: () => void }>();

  const relay = (from: Worker, m: Envelope) => {
    if (m.kind === 'reply') {
      const r = relays.get(m.id);
      if (r && r.waiting.delete(from)) {
        r.replies.push(m.payload);
        if (r.waiting.size === 0) r.done();
      }
      return;
    }
    if (m.kind !== 'ask' || !m.topic) return;
    const others = [...roles.keys()].filter((w) => w !== from && w.isConnected());
    const id = ++relayId;
    const r = { waiting: new Set(others), replies: [] as unknown[], done: () => {} };
    const timer = setTimeout(() => r.done(), ACK_TIMEOUT_MS);
    r.done = () => {
      clearTimeout(timer);
      relays.delete(id);
      if (from.isConnected()) from.send({ tag: TAG, kind: 'answer', id: m.id, replies: r.replies } satisfies Envelope);
    };
    relays.set(id, r);
    if (others.length === 0) return r.done();
    for (const w of others) w.send({ tag: TAG, kind: 'request', id, topic: m.topic } satisfies Envelope);
  };

  const fork = (role: WorkerRole) => {
    const w = cluster.fork({ [ROLE_ENV]: role });
    roles.set(w, role);
    startedAt.set(w, Date.now());
    w.on('message', (m: unknown) => {
      if (isEnvelope(m)) relay(w, m);
    });
  };

  cluster.on('exit', (w, code, signal) => {
    const role = roles.get(w);
    const lived = Date.now() - (startedAt.get(w) ?? 0);
    roles.delete(w);
    startedAt.delete(w);
    // A worker that leaves is no longer awaited by any relay.
    for (const r of relays.values()) if (r.waiting.delete(w) && r.waiting.size === 0) r.done();
    if (stopping || !role) return;
    quickExits = lived < QUICK_EXIT_MS ? quickExits + 1 : 0;
    if (quickExits >= QUICK_EXITS_LIMIT) {
      io.stderr(`calendar-relay bridge: ${quickExits} workers in a row exited within ${QUICK_EXIT_MS / 1000} s of starting (last: ${signal ?? `code ${code}`}); stopping\n`);
      finish(1);
      return;
    }
    io.stderr(`calendar-relay bridge: worker ${w.process.pid} (${role}) exited (${signal ?? `code ${code}`}); starting another\n`);
    fork(role);
  });

  fork('background');
  for (let i = 1; i < workers; i++) fork('serve');

  const stop = () => finish(0);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const code = await finished;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  stopping = true;
  const exits = [...roles.keys()].map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve()))));
  for (const w of roles.keys()) if (!w.isDead()) w.process.kill('SIGTERM');
  await Promise.all(exits);
  return code;
}
