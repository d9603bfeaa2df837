/**
 * The emulator's request log: every request (batch parts included) is recorded once it has an
 * answer, with counters that tests and benchmarks read ("how many inserts hit calendar X?", "how
 * big were the batches?", "did we ever exceed 4 concurrent requests on this mailbox?") and reset.
 */
import type { RequestScope } from './types';

export interface LoggedRequest {
  /** 1-based arrival order since the last reset. */
  seq: number;
  /** Emulator clock at arrival (ms since epoch). */
  at: number;
  method: string;
  path: string;
  /** Raw query string without the leading "?". */
  query: string;
  api: RequestScope['api'] | 'none';
  target?: string;
  kind: string;
  /** Route pattern such as "/calendar/v3/calendars/{calendarId}/events" (or api:kind). */
  route: string;
  status: number;
  inBatch: boolean;
  /** Real (wall) milliseconds from arrival to answer. */
  durationMs: number;
  /** Set when the fault layer or a modelled limit produced the answer: 'throttle', 'limit:rate', … */
  fault?: string;
}

export interface LogFilter {
  api?: string;
  kind?: string;
  target?: string;
  method?: string;
  status?: number;
  inBatch?: boolean;
  fault?: string;
}

const DEFAULT_RECENT = 5000;

export class RequestLog {
  /** All requests answered (or reset) since the last `reset()`, batch parts included. */
  total = 0;
  /** "METHOD route status" → count, e.g. "POST /calendar/v3/calendars/{calendarId}/events 200". */
  byRoute: Record<string, number> = {};
  /** Lower-cased target (calendar id / mailbox) → count. */
  byTarget: Record<string, number> = {};
  /** "api:kind" → count, e.g. "google:insert". */
  byKind: Record<string, number> = {};
  /** Number of parts in each batch request, in arrival order. */
  batchSizes: number[] = [];
  /** Highest number of simultaneously in-flight requests seen per target. */
  maxConcurrency: Record<string, number> = {};
  /** Highest number of simultaneously in-flight requests seen overall. */
  maxConcurrencyOverall = 0;

  private entries: LoggedRequest[] = [];
  private inFlight = new Map<string, number>();
  private inFlightOverall = 0;
  private seq = 0;

  constructor(private readonly keep = DEFAULT_RECENT) {}

  get batchCount(): number {
    return this.batchSizes.length;
  }

  /** Called by the server when a request starts being served; returns its sequence number. */
  begin(target: string | undefined): number {
    this.inFlightOverall++;
    this.maxConcurrencyOverall = Math.max(this.maxConcurrencyOverall, this.inFlightOverall);
    if (target !== undefined) {
      const n = (this.inFlight.get(target) ?? 0) + 1;
      this.inFlight.set(target, n);
      this.maxConcurrency[target] = Math.max(this.maxConcurrency[target] ?? 0, n);
    }
    return ++this.seq;
  }

  /** Requests currently in flight for `target` (used by the concurrency limit). */
  inFlightFor(target: string): number {
    return this.inFlight.get(target) ?? 0;
  }

  /** Called by the server once the request has an answer (or its socket was destroyed). */
  end(entry: LoggedRequest): void {
    this.inFlightOverall = Math.max(0, this.inFlightOverall - 1);
    if (entry.target !== undefined) {
      const n = (this.inFlight.get(entry.target) ?? 1) - 1;
      if (n <= 0) this.inFlight.delete(entry.target);
      else this.inFlight.set(entry.target, n);
      this.byTarget[entry.target] = (this.byTarget[entry.target] ?? 0) + 1;
    }
    this.total++;
    const routeKey = `${entry.method} ${entry.route} ${entry.status}`;
    this.byRoute[routeKey] = (this.byRoute[routeKey] ?? 0) + 1;
    const kindKey = `${entry.api}:${entry.kind}`;
    this.byKind[kindKey] = (this.byKind[kindKey] ?? 0) + 1;
    this.entries.push(entry);
    if (this.entries.length > this.keep) this.entries.splice(0, this.entries.length - this.keep);
  }

  /** API modules call this from their batch handler with the number of parts. */
  recordBatch(parts: number): void {
    this.batchSizes.push(parts);
  }

  /** The most recent requests (bounded), oldest first, optionally filtered. */
  recent(filter: LogFilter = {}): LoggedRequest[] {
    return this.entries.filter((e) => matches(e, filter));
  }

  /** How many of the retained recent requests match `filter`. */
  count(filter: LogFilter = {}): number {
    return this.recent(filter).length;
  }

  /** Clears counters and entries (in-flight bookkeeping is kept: those requests still end). */
  reset(): void {
    this.total = 0;
    this.byRoute = {};
    this.byTarget = {};
    this.byKind = {};
    this.batchSizes = [];
    this.maxConcurrency = {};
    this.maxConcurrencyOverall = 0;
    this.entries = [];
    this.seq = 0;
  }

  /** A plain-JSON snapshot of the counters (for benchmark output). */
  summary(): { total: number; byRoute: Record<string, number>; byTarget: Record<string, number>; byKind: Record<string, number>; batchSizes: number[]; maxConcurrency: Record<string, number> } {
    return {
      total: this.total,
      byRoute: { ...this.byRoute },
      byTarget: { ...this.byTarget },
      byKind: { ...this.byKind },
      batchSizes: [...this.batchSizes],
      maxConcurrency: { ...this.maxConcurrency },
    };
  }
}

function matches(e: LoggedRequest, f: LogFilter): boolean {
  return (f.api === undefined || e.api === f.api)
    && (f.kind === undefined || e.kind === f.kind)
    && (f.target === undefined || e.target === f.target.toLowerCase())
    && (f.method === undefined || e.method === f.method.toUpperCase())
    && (f.status === undefined || e.status === f.status)
    && (f.inBatch === undefined || e.inBatch === f.inBatch)
    && (f.fault === undefined || e.fault === f.fault);
}
