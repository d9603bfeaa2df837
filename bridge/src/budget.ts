/**
 * The feed request budget per key (feed token hash): `requests` per `windowSec`, in fixed windows
 * aligned to the clock (floor(now / window)), so every process and instance agrees on them.
 *
 * take() is synchronous and never touches the database (feed GETs run at tens of thousands per
 * second): it decides on this process's own count plus the last known count of everyone else.
 * With a BudgetStore, sync() (SharedBudget runs it every `syncMs`) adds this process's new counts
 * to the store in one transaction and reads back the totals of the current window — eventually
 * consistent: a process overshoots only on others' counts it has not seen yet, and a count reaches
 * every process within two syncs (one until its process sends it, one until the others read it),
 * so a token gets at most the requests arriving for it within two syncMs (at all processes) over
 * its budget. A failed sync keeps the counts and sends them next time.
 */
import type { Logger } from 'pino';

export type BudgetAnswer = { ok: true } | { ok: false; retryAfterSec: number };

/** One key's count to add to the store (in the window the call names). */
export interface BudgetDelta {
  key: string;
  count: number;
}

/** What SharedBudget needs from the store (bridge/src/store: SqlStore.addFeedBudgetCounts). */
export interface BudgetStore {
  /**
   * In one transaction: adds each delta to its key's count in the window (an upsert-increment),
   * deletes the rows of windows that ended before `windowStart`, and returns every key's total in
   * this window (all processes' counts).
   */
  addFeedBudgetCounts(input: { windowStart: number; windowMs: number; deltas: BudgetDelta[] }): Promise<Array<{ key: string; total: number }>>;
}

interface KeyCount {
  /** Requests this process admitted in the window. */
  own: number;
  /** Of `own`, how many are in the store (sent by a sync that committed, or in flight). */
  sent: number;
  /** Everyone else's count at the last sync. */
  others: number;
}

/** The counting, with an injected clock (`now` per call): no timers, no I/O. */
export class RequestBudget {
  private windowStart = Number.NEGATIVE_INFINITY;
  private counts = new Map<string, KeyCount>();

  constructor(private readonly requests: number, private readonly windowSec: number) {}

  get windowMs(): number {
    return this.windowSec * 1000;
  }

  /** Counts one request; `retryAfterSec` (to the window's end, ≥ 1) when the key is over its budget. A refusal is not counted. */
  take(key: string, now: number): BudgetAnswer {
    this.roll(now);
    let c = this.counts.get(key);
    if (!c) {
      c = { own: 0, sent: 0, others: 0 };
      this.counts.set(key, c);
    }
    if (c.own + c.others >= this.requests) return { ok: false, retryAfterSec: Math.max(1, Math.ceil((this.windowStart + this.windowMs - now) / 1000)) };
    c.own++;
    return { ok: true };
  }

  /** What the key has used in the window `now` is in, as far as this process knows (own + others at the last sync). */
  used(key: string, now: number): number {
    const start = Math.floor(now / this.windowMs) * this.windowMs;
    const c = start === this.windowStart ? this.counts.get(key) : undefined;
    return c ? c.own + c.others : 0;
  }

  /**
   * The counts not yet in the store, for the window `now` is in; marked as sent. Pass the result
   * to settle() (after the store answered) or to unsend() (when it failed).
   */
  unsent(now: number): { windowStart: number; deltas: BudgetDelta[] } {
    this.roll(now);
    const deltas: BudgetDelta[] = [];
    for (const [key, c] of this.counts) {
      if (c.own > c.sent) {
        deltas.push({ key, count: c.own - c.sent });
        c.sent = c.own;
      }
    }
    // One order for every process: PostgreSQL takes the row locks in it (no deadlock between instances).
    deltas.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { windowStart: this.windowStart, deltas };
  }

  /** The store's totals for `windowStart` (including every count sent so far): everyone else's share is the total minus ours. */
  settle(windowStart: number, totals: Array<{ key: string; total: number }>): void {
    if (windowStart !== this.windowStart) return; // the window ended meanwhile
    for (const { key, total } of totals) {
      let c = this.counts.get(key);
      if (!c) {
        c = { own: 0, sent: 0, others: 0 };
        this.counts.set(key, c);
      }
      c.others = Math.max(0, total - c.sent);
    }
  }

  /** A sync failed: its deltas go out again with the next one. */
  unsend(windowStart: number, deltas: BudgetDelta[]): void {
    if (windowStart !== this.windowStart) return;
    for (const d of deltas) {
      const c = this.counts.get(d.key);
      if (c) c.sent = Math.max(0, c.sent - d.count);
    }
  }

  /** A new window forgets the old one (aligned windows: one for every key); a clock stepping back keeps the current one. */
  private roll(now: number): void {
    const start = Math.floor(now / this.windowMs) * this.windowMs;
    if (start > this.windowStart) {
      this.windowStart = start;
      this.counts = new Map();
    }
  }
}

/** A RequestBudget shared through the store by every process on the same database. */
export class SharedBudget {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private started = false;
  private stopped = false;
  private failing = false;

  constructor(
    readonly budget: RequestBudget,
    private readonly o: { store: BudgetStore; syncMs: number; now: () => number; log: Logger },
  ) {}

  take(key: string, now: number): BudgetAnswer {
    return this.budget.take(key, now);
  }

  /** Starts syncing every `syncMs` (the timer holds no process open; stop() ends it). */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    const tick = () => {
      this.timer = undefined;
      void this.sync().finally(() => {
        if (!this.stopped) {
          this.timer = setTimeout(tick, this.o.syncMs);
          this.timer.unref();
        }
      });
    };
    this.timer = setTimeout(tick, this.o.syncMs);
    this.timer.unref();
  }

  /**
   * One sync: this process's new counts into the store, everyone's totals back. Never throws: a
   * store that fails is logged (once until it works again) and the counts wait for the next sync.
   * Concurrent calls share one run.
   */
  sync(): Promise<void> {
    this.running ??= this.syncOnce().finally(() => (this.running = undefined));
    return this.running;
  }

  private async syncOnce(): Promise<void> {
    const { windowStart, deltas } = this.budget.unsent(this.o.now());
    try {
      const totals = await this.o.store.addFeedBudgetCounts({ windowStart, windowMs: this.budget.windowMs, deltas });
      this.budget.settle(windowStart, totals);
      if (this.failing) this.o.log.info('feed budget sync works again');
      this.failing = false;
    } catch (err) {
      this.budget.unsend(windowStart, deltas);
      if (!this.failing) this.o.log.warn({ err: { message: (err as Error).message } }, 'feed budget sync failed; counting in this process until the store answers');
      this.failing = true;
    }
  }

  /**
   * Stops the timer, then (if it was started) sends the last counts: call it after the last
   * request, before the store closes. A store that does not answer holds it up at most `waitMs`.
   */
  async stop(waitMs = 5000): Promise<void> {
    const started = this.started;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    let timeout: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<void>((resolve) => (timeout = setTimeout(resolve, waitMs)));
    try {
      await Promise.race([this.running, gaveUp]);
      if (started) await Promise.race([this.sync(), gaveUp]);
    } finally {
      clearTimeout(timeout);
    }
  }
}
