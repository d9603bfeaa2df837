/** A fixed-window request budget per key (feed token hash): `requests` per `windowSec`. */
export class RequestBudget {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly requests: number, private readonly windowSec: number) {}

  /** Counts one request; `retryAfterSec` when the key is over its budget. */
  take(key: string, now: number): { ok: true } | { ok: false; retryAfterSec: number } {
    const windowMs = this.windowSec * 1000;
    let w = this.windows.get(key);
    if (!w || now - w.start >= windowMs) {
      w = { start: now, count: 0 };
      this.windows.set(key, w);
      if (this.windows.size > 100_000) this.sweep(now);
    }
    if (w.count >= this.requests) return { ok: false, retryAfterSec: Math.max(1, Math.ceil((w.start + windowMs - now) / 1000)) };
    w.count++;
    return { ok: true };
  }

  private sweep(now: number): void {
    for (const [k, w] of this.windows) if (now - w.start >= this.windowSec * 1000) this.windows.delete(k);
  }
}
