/**
 * A small keyed concurrency limiter ("p-queue or equivalent"; p-queue is ESM-only and this
 * package is CommonJS): at most `perKey` tasks run at once for one key (a calendar / mailbox),
 * at most `total` across all keys. FIFO per key; a key waiting on the global limit does not block
 * a key that has room, beyond the global limit itself.
 */

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
