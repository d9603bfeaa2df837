/**
 * Request scheduling primitives for providers/apply.ts: KeyedLimiter (concurrency) and RatePacer
 * (a sliding-window request quota).
 *
 * A small keyed concurrency limiter ("p-queue or equivalent"; p-queue is ESM-only and this
 * package is CommonJS): at most `perKey` tasks run at once for one key (a calendar / mailbox),
 * at most `total` across all keys. FIFO per key; a key waiting on the global limit does not block
 * a key that has room, beyond the global limit itself.
 */
import { platformSleep } from './platform-sleep';

export interface KeyedLimiterOptions {
  /** Concurrent tasks per key (a number, or per key). */
  perKey: number | ((key: string) => number);
  /** Concurrent tasks overall (default unlimited). */
  total?: number;
}

interface Waiting {
  key: string;
  start: () => void;
}

export class KeyedLimiter {
  private readonly running = new Map<string, number>();
  private runningTotal = 0;
  private readonly waiting: Waiting[] = [];
  /** Highest number of tasks seen running at once, per key (for tests and reports). */
  readonly maxSeen = new Map<string, number>();

  constructor(private readonly opts: KeyedLimiterOptions) {}

  private limitFor(key: string): number {
    const n = typeof this.opts.perKey === 'function' ? this.opts.perKey(key) : this.opts.perKey;
    return Math.max(1, Math.floor(n) || 1);
  }

  private canStart(key: string): boolean {
    return (this.running.get(key) ?? 0) < this.limitFor(key) && this.runningTotal < (this.opts.total ?? Infinity);
  }

  inFlight(key: string): number {
    return this.running.get(key) ?? 0;
  }

  /** Runs `task` when the key and the total have room; resolves/rejects with its result. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        const n = (this.running.get(key) ?? 0) + 1;
        this.running.set(key, n);
        this.runningTotal++;
        if (n > (this.maxSeen.get(key) ?? 0)) this.maxSeen.set(key, n);
        let p: Promise<T>;
        try {
          p = task();
        } catch (err) {
          p = Promise.reject(err);
        }
        p.then(resolve, reject).finally(() => {
          this.running.set(key, (this.running.get(key) ?? 1) - 1);
          this.runningTotal--;
          this.pump();
        });
      };
      if (this.canStart(key) && !this.waiting.some((w) => w.key === key)) start();
      else this.waiting.push({ key, start });
    });
  }

  private pump(): void {
    for (let i = 0; i < this.waiting.length; ) {
      const w = this.waiting[i];
      // FIFO per key: only the first waiter of a key may start.
      const firstOfKey = this.waiting.findIndex((x) => x.key === w.key) === i;
      if (firstOfKey && this.canStart(w.key)) {
        this.waiting.splice(i, 1);
        w.start();
      } else {
        i++;
      }
    }
  }
}

/**
 * A client-side copy of a sliding-window request quota ("at most `maxRequests` per `windowMs`",
 * Google's 600/min per user, Outlook's 10,000 / 10 min per mailbox): `acquire(n)` waits until `n`
 * more requests fit, then reserves them. A reservation is stamped with the time its request
 * *finished* (`release`), which is never earlier than the moment the server admitted it, so the
 * client's window frees a slot no sooner than the server's does and pacing does not earn 403s.
 * Clock and sleep are injected (tests, scaled emulator windows).
 */
export interface RateQuota {
  maxRequests: number;
  windowMs: number;
}

export interface RatePacerOptions extends RateQuota {
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

interface Slot {
  /** Start of the reservation until released, then the finish time. */
  at: number;
  n: number;
}

export class RatePacer {
  readonly maxRequests: number;
  readonly windowMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Reservations in the window, oldest first (released ones may be re-stamped later: kept sorted by `at` lazily). */
  private slots: Slot[] = [];
  /** Acquirers queue FIFO so a big batch is not starved by small ones. */
  private tail: Promise<unknown> = Promise.resolve();
  /** Milliseconds spent waiting for the quota so far. */
  waitedMs = 0;

  constructor(opts: RatePacerOptions) {
    if (!(opts.maxRequests >= 1) || !(opts.windowMs > 0)) throw new RangeError(`rate quota needs maxRequests ≥ 1 and windowMs > 0, got ${opts.maxRequests} / ${opts.windowMs} ms`);
    this.maxRequests = Math.floor(opts.maxRequests);
    this.windowMs = opts.windowMs;
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms) => platformSleep(ms));
  }

  private prune(now: number): number {
    this.slots = this.slots.filter((s) => s.at > now - this.windowMs);
    return this.slots.reduce((a, s) => a + s.n, 0);
  }

  /** Milliseconds until `n` more requests fit in the window (0 = now). */
  waitFor(n: number): number {
    const now = this.now();
    const want = Math.min(n, this.maxRequests);
    let used = this.prune(now);
    if (used + want <= this.maxRequests) return 0;
    const byAge = [...this.slots].sort((a, b) => a.at - b.at);
    for (const s of byAge) {
      used -= s.n;
      if (used + want <= this.maxRequests) return Math.max(1, s.at + this.windowMs - now + 1);
    }
    return this.windowMs;
  }

  /**
   * Waits (FIFO among callers) until `n` requests fit, reserves them and returns a release
   * function to call when the request has finished. `onWait(ms)` is told before each wait.
   */
  acquire(n: number, onWait?: (ms: number) => void, signal?: AbortSignal): Promise<() => void> {
    const turn = this.tail.then(async () => {
      for (;;) {
        const ms = this.waitFor(n);
        if (ms === 0) break;
        onWait?.(ms);
        const t0 = this.now();
        await this.sleep(ms, signal);
        this.waitedMs += Math.max(0, this.now() - t0);
      }
      const slot: Slot = { at: this.now(), n: Math.min(n, this.maxRequests) };
      this.slots.push(slot);
      return () => {
        slot.at = Math.max(slot.at, this.now());
      };
    });
    this.tail = turn.catch(() => undefined);
    return turn;
  }

  /**
   * The server said "over quota" although the client's window had room (requests the pacer did
   * not see: listings, other clients with the same user). Counts the window as full from now on,
   * so the next acquire waits one whole window at most.
   */
  saturate(): void {
    const used = this.prune(this.now());
    if (used < this.maxRequests) this.slots.push({ at: this.now(), n: this.maxRequests - used });
  }
}
