/**
 * applyPlan: the only place that schedules writes.
 *
 * Per calendar, ops run in three phases — deletes; creates/updates of single events and series
 * masters; then series overrides (which need their master) — each chunked into batches of at most
 * capabilities.maxBatchSize and run with at most capabilities.maxConcurrencyPerCalendar batches in
 * flight for that calendar (a keyed limiter), while different calendars proceed in parallel.
 *
 * Pacing: a batch of n ops is sent only when n more requests fit the provider's quota
 * (capabilities.quota, a sliding window per account or per calendar; queue.ts RatePacer), and a
 * `quota-wait` progress event with an estimate is emitted while waiting. Rate-limit answers (403
 * rateLimitExceeded, 429) are retried without spending retry.maxRetries; without a Retry-After the
 * pacer then counts its window as full, so the retry lands in the next quota window.
 *
 * Retries: only the ops that failed with a retryable error are retried, re-batched together,
 * after the largest Retry-After among them (else full-jitter exponential backoff). A rejected
 * write() means every op in that request failed with that error. Errors scoped 'calendar' (Google
 * quotaExceeded) stop that calendar; 'auth' stops every calendar.
 *
 * Why retrying writes is safe here: a retry re-sends the same op (same key, content and stamp; an
 * update only drops its If-Match, since the lost attempt may already have changed the ETag), and
 * the providers make each write idempotent — Google creates use a deterministic event id derived
 * from syncId + key (a 409 duplicate means "already there"; a deleted one is restored), Graph
 * creates carry a transactionId derived from syncId, key, fingerprint and the (hashed) id of the
 * event this sync last created for the key in that mailbox, as recorded in the provider's state
 * store when the mailbox was listed (providers/graph/mapper.ts transactionIdFor, ownership.ts
 * priorIdFor; no clock, no run id), updates rewrite the same content, and deleting an event that
 * is already gone is reported as success. A TransportError (no response) is therefore retryable.
 */
import type { PlannedOp, SyncPlan } from '../core/sync-types';
import type { CalendarProvider, WriteOp, WriteResult } from './port';
import { KeyedLimiter, RatePacer } from './queue';
import type { RetryPolicy, Sleep } from './retry';
import { AbortedError, realSleep, resolveRetryPolicy, retryDelay } from './retry';

export interface ApplyOptions {
  /** Concurrent batches per calendar (default and ceiling: capabilities.maxConcurrencyPerCalendar). */
  concurrencyPerCalendar?: number;
  /** Concurrent batches over all calendars (default unlimited). */
  maxConcurrentRequests?: number;
  /** Ops per batch (default and ceiling: capabilities.maxBatchSize). */
  batchSize?: number;
  retry?: RetryPolicy;
  sleep?: Sleep;
  random?: () => number;
  onProgress?(ev: ApplyProgress): void;
  signal?: AbortSignal;
  /**
   * Request pacing to the provider's quota (capabilities.quota): false switches it off. `pacerFor`
   * lets several applyPlan calls share one budget (e.g. one calendar at a time under one Google
   * user); by default each call paces with its own pacers.
   */
  quota?: false | { pacerFor(calendarId: string): RatePacer | undefined };
  /** Rate-limit answers (403 rateLimitExceeded, 429) are retried this many times per op (default 30) without using up `retry.maxRetries`: they mean "wait", not "failed". */
  maxRateLimitRetries?: number;
  /** Clock for quota waits and estimates (default Date.now). */
  now?: () => number;
}

export type ApplyProgress =
  | { type: 'calendar-start'; calendarId: string; total: number }
  | { type: 'batch-done'; calendarId: string; done: number; failed: number; total: number }
  | { type: 'retry-wait'; calendarId: string; ops: number; delayMs: number; retry: number }
  /** Waiting for the request quota (capabilities.quota); `etaMs` estimates the rest of this calendar's writes at the quota's rate. */
  | { type: 'quota-wait'; calendarId: string; waitMs: number; done: number; total: number; etaMs: number; quota: { maxRequests: number; windowMs: number } }
  | { type: 'calendar-stopped'; calendarId: string; reason: string }
  | { type: 'calendar-done'; calendarId: string; report: CalendarApplyReport };

export interface ApplyError {
  key: string;
  op: 'create' | 'update' | 'delete';
  targetId?: string;
  message: string;
  status?: number;
  code?: string;
  retryable?: boolean;
  /** Attempts made for this op. */
  attempts: number;
}

export interface CalendarApplyReport {
  calendarId: string;
  /** Milliseconds spent waiting for the request quota (pacing, not failures). */
  quotaWaitMs?: number;
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  skipped: number;
  /** Writes that were attempted and failed for good. */
  failed: number;
  /** Writes never attempted because the calendar (or the whole run) was stopped. */
  notAttempted: number;
  errors: ApplyError[];
  /** Why the calendar stopped early (quota, auth, abort). */
  stopped?: string;
  /** Provider notes on successful writes ("already existed … reconciled", "already deleted"). */
  notes: Array<{ key: string; note: string }>;
  batches: number;
  retriedOps: number;
}

export interface ApplyReport {
  /** No failures, nothing left unattempted, nothing stopped. */
  ok: boolean;
  calendars: Record<string, CalendarApplyReport>;
  totals: { created: number; updated: number; deleted: number; unchanged: number; skipped: number; failed: number; notAttempted: number };
  requests: { batches: number; retryRounds: number; retriedOps: number };
  /** Set when the whole run stopped (auth failure, abort). */
  stopped?: string;
}

interface ErrorInfo {
  message: string;
  status?: number;
  code?: string;
  retryable: boolean;
  retryAfterMs?: number;
  scope: 'op' | 'calendar' | 'auth';
}

/** Reads ProviderError/TransportError by shape, so subclasses and copies from other bundles work too. */
export function describeWriteError(err: unknown): ErrorInfo {
  const e = err as { name?: string; message?: string; details?: Record<string, unknown>; code?: string } | undefined;
  if (e && e.details && typeof e.details.retryable === 'boolean') {
    const d = e.details;
    return {
      message: e.message ?? 'provider error',
      status: typeof d.status === 'number' ? d.status : undefined,
      code: typeof d.code === 'string' ? d.code : undefined,
      retryable: d.retryable as boolean,
      retryAfterMs: typeof d.retryAfterMs === 'number' ? d.retryAfterMs : undefined,
      scope: d.scope === 'calendar' || d.scope === 'auth' ? d.scope : 'op',
    };
  }
  if (e && e.name === 'TransportError') {
    // No response: safe to retry because every write is idempotent (see the file comment).
    return { message: `no response: ${e.message ?? ''}`.trim(), code: e.code, retryable: true, scope: 'op' };
  }
  return { message: e?.message ?? String(err), retryable: false, scope: 'op' };
}

function toWriteOp(p: PlannedOp, syncId: string): WriteOp | string {
  if (p.action === 'delete') {
    if (!p.targetId) return 'delete op without targetId';
    return { op: 'delete', calendarId: p.calendarId, key: p.key, targetId: p.targetId };
  }
  if (!p.event || !p.fingerprint) return `${p.action} op without event/fingerprint`;
  const stamp = { syncId, sourceKey: p.key, fingerprint: p.fingerprint };
  if (p.action === 'create') return { op: 'create', calendarId: p.calendarId, key: p.key, event: p.event, stamp };
  if (!p.targetId) return 'update op without targetId';
  return { op: 'update', calendarId: p.calendarId, key: p.key, targetId: p.targetId, event: p.event, stamp, ...(p.etag ? { etag: p.etag } : {}) };
}

function emptyReport(calendarId: string): CalendarApplyReport {
  return { calendarId, created: 0, updated: 0, deleted: 0, unchanged: 0, skipped: 0, failed: 0, notAttempted: 0, errors: [], notes: [], batches: 0, retriedOps: 0 };
}

function chunk<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

interface Item {
  planned: PlannedOp;
  write: WriteOp;
  attempts: number;
  /** Failed attempts that were not rate limits (count toward retry.maxRetries). */
  failures: number;
  /** Rate-limit answers in a row. */
  rateLimited: number;
  lastError?: ErrorInfo;
}

/** "Slow down" answers: Google 403 rateLimitExceeded/userRateLimitExceeded, any 429 (Graph ApplicationThrottled). */
export function isRateLimit(info: Pick<ErrorInfo, 'status' | 'code'>): boolean {
  return info.status === 429 || (info.status === 403 && (info.code === 'rateLimitExceeded' || info.code === 'userRateLimitExceeded'));
}

/**
 * The pacers for a provider's quota (capabilities.quota): one per account, or one per calendar.
 * applyPlan makes its own by default; pass the same object as `quota` to several applyPlan calls
 * (providers/sync.ts: one calendar after the other under one Google user) so they share one budget.
 */
export function quotaPacers(caps: CalendarProvider['capabilities'], opts: Pick<ApplyOptions, 'sleep' | 'now'> = {}): { pacerFor(calendarId: string): RatePacer | undefined } {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? realSleep;
  // An injected sleep (tests) without an injected clock would never move the pacer's window: the
  // pacer's clock then runs ahead by what was "slept".
  let slept = 0;
  const pacerNow = () => now() + slept;
  const pacerSleep: Sleep = async (ms, signal) => {
    await sleep(ms, signal);
    if (opts.sleep && !opts.now) slept += ms;
  };
  const pacers = new Map<string, RatePacer>();
  return {
    pacerFor(calendarId: string): RatePacer | undefined {
      const q = caps.quota;
      if (!q) return undefined;
      const key = q.per === 'account' ? '' : calendarId;
      let p = pacers.get(key);
      if (!p) pacers.set(key, (p = new RatePacer({ maxRequests: q.maxRequests, windowMs: q.windowMs, now: pacerNow, sleep: pacerSleep })));
      return p;
    },
  };
}

/** Executes the create/update/delete ops of a plan against a provider. Never throws for write failures: they are in the report. */
export async function applyPlan(plan: SyncPlan, provider: CalendarProvider, opts: ApplyOptions = {}): Promise<ApplyReport> {
  const caps = provider.capabilities;
  const perCalendar = Math.max(1, Math.min(opts.concurrencyPerCalendar ?? caps.maxConcurrencyPerCalendar, caps.maxConcurrencyPerCalendar));
  const batchSize = Math.max(1, Math.min(opts.batchSize ?? caps.maxBatchSize, caps.maxBatchSize));
  const retry = resolveRetryPolicy(opts.retry);
  const sleep = opts.sleep ?? realSleep;
  const random = opts.random ?? Math.random;
  const progress = (ev: ApplyProgress) => {
    try {
      opts.onProgress?.(ev);
    } catch {
      // A failing progress callback must not break the writes.
    }
  };
  const limiter = new KeyedLimiter({ perKey: perCalendar, total: opts.maxConcurrentRequests });
  const maxRateLimitRetries = opts.maxRateLimitRetries ?? 30;
  // Pacing to the provider's quota: one pacer per account (Google: per user) or per calendar.
  const quota = opts.quota === false ? undefined : opts.quota ?? quotaPacers(caps, opts);
  const pacerFor = (calendarId: string): RatePacer | undefined => quota?.pacerFor(calendarId);
  const reports: Record<string, CalendarApplyReport> = {};
  const byCalendar = new Map<string, PlannedOp[]>();
  for (const op of plan.ops) {
    const r = (reports[op.calendarId] ??= emptyReport(op.calendarId));
    if (op.action === 'unchanged') r.unchanged++;
    else if (op.action === 'skip') r.skipped++;
    else {
      const list = byCalendar.get(op.calendarId);
      if (list) list.push(op);
      else byCalendar.set(op.calendarId, [op]);
    }
  }

  let globalStop: string | undefined;
  const stopAll = (reason: string) => {
    globalStop ??= reason;
  };
  const onAbort = () => stopAll(`aborted${opts.signal?.reason ? `: ${String((opts.signal.reason as Error)?.message ?? opts.signal.reason)}` : ''}`);
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let retryRounds = 0;

  const runCalendar = async (calendarId: string, planned: PlannedOp[]) => {
    const report = reports[calendarId];
    let stop: string | undefined;
    const stopped = () => stop ?? globalStop;
    const total = planned.length;
    let done = 0;
    let failedSoFar = 0;
    const pacer = pacerFor(calendarId);
    let quotaWaitMs = 0;
    progress({ type: 'calendar-start', calendarId, total });

    const fail = (item: Item, info: ErrorInfo, extra = '') => {
      report.failed++;
      failedSoFar++;
      done++;
      report.errors.push({
        key: item.planned.key, op: item.write.op, ...(item.write.op !== 'create' ? { targetId: item.write.targetId } : {}),
        message: info.message + extra, status: info.status, code: info.code, retryable: info.retryable, attempts: item.attempts,
      });
    };
    const succeed = (item: Item, res: WriteResult) => {
      done++;
      if (item.write.op === 'create') report.created++;
      else if (item.write.op === 'update') report.updated++;
      else report.deleted++;
      if (res.note) report.notes.push({ key: item.planned.key, note: res.note });
    };

    // Invalid planned ops are reported, not thrown: one bad op never sinks the rest.
    const items: Item[] = [];
    for (const p of planned) {
      const w = toWriteOp(p, plan.syncId);
      if (typeof w === 'string') {
        report.failed++;
        failedSoFar++;
        done++;
        report.errors.push({ key: p.key, op: p.action as ApplyError['op'], message: `invalid plan op: ${w}`, retryable: false, attempts: 0 });
      } else items.push({ planned: p, write: w, attempts: 0, failures: 0, rateLimited: 0 });
    }
    const phases: Item[][] = [
      items.filter((i) => i.write.op === 'delete'),
      items.filter((i) => i.write.op !== 'delete' && i.planned.phase !== 'series-override'),
      items.filter((i) => i.write.op !== 'delete' && i.planned.phase === 'series-override'),
    ];
    const failedKeys = new Map<string, string>();

    for (const phase of phases) {
      let pending: Item[] = [];
      for (const item of phase) {
        const masterFailure = item.planned.masterKey ? failedKeys.get(item.planned.masterKey) : undefined;
        if (masterFailure !== undefined) fail(item, { message: `not written: its series master failed (${masterFailure})`, retryable: false, scope: 'op' });
        else pending.push(item);
      }
      let round = 0;
      while (pending.length) {
        if (stopped()) break;
        const toRetry: Item[] = [];
        const ranThisRound = new Set<Item>();
        const runBatch = async (batch: Item[]) => {
          if (stopped()) return; // left pending: reported below
          report.batches++;
          batch.forEach((i) => {
            i.attempts++;
            ranThisRound.add(i);
          });
          let results: Array<WriteResult | undefined>;
          let whole: ErrorInfo | undefined;
          let release: (() => void) | undefined;
          try {
            if (pacer) {
              release = await pacer.acquire(batch.length, (waitMs) => {
                // Only the batch at the head of the pacer's queue waits and says so: the sum is wall time.
                quotaWaitMs += waitMs;
                const left = total - done;
                progress({
                  type: 'quota-wait', calendarId, waitMs, done, total,
                  etaMs: Math.max(waitMs, Math.ceil((left / pacer.maxRequests) * pacer.windowMs)),
                  quota: { maxRequests: pacer.maxRequests, windowMs: pacer.windowMs },
                });
              }, opts.signal);
            }
            if (stopped()) {
              // Stopped while waiting for the quota: nothing was sent.
              release?.();
              batch.forEach((i) => {
                i.attempts--;
                ranThisRound.delete(i);
              });
              report.batches--;
              return;
            }
            results = await provider.write(calendarId, batch.map((i) => i.write));
          } catch (err) {
            if (err instanceof AbortedError || opts.signal?.aborted) {
              onAbort();
              batch.forEach((i) => {
                i.attempts--;
                ranThisRound.delete(i);
              });
              report.batches--;
              return;
            }
            whole = describeWriteError(err); // the whole request failed: every op in it failed with this
            results = [];
          } finally {
            release?.();
          }
          batch.forEach((item, idx) => {
            const res = results[idx];
            if (!whole && res && res.ok) {
              item.lastError = undefined;
              succeed(item, res);
              return;
            }
            const info: ErrorInfo = whole ?? (res?.error ? describeWriteError(res.error) : { message: 'provider returned no result for this op', retryable: false, scope: 'op' });
            item.lastError = info;
            if (info.scope === 'auth') stopAll(`authentication failed: ${info.message}`);
            if (info.scope === 'calendar') stop ??= `calendar stopped: ${info.message}${info.code ? ` (${info.code})` : ''}`;
            const tooLong = info.retryAfterMs !== undefined && info.retryAfterMs > retry.maxRetryAfterMs;
            const rateLimited = isRateLimit(info);
            if (rateLimited) {
              item.rateLimited++;
              // No Retry-After (Google): the server counted requests the pacer did not see (listings,
              // other clients of this user), so wait for the window. A Retry-After (Graph, also for its
              // concurrency limit) says exactly how long: that is waited instead.
              if (info.retryAfterMs === undefined) pacer?.saturate();
            } else {
              item.rateLimited = 0;
              item.failures++;
            }
            const budgetLeft = rateLimited ? item.rateLimited <= maxRateLimitRetries : item.failures <= retry.maxRetries;
            if (info.retryable && info.scope === 'op' && !tooLong && budgetLeft) {
              // The failed attempt may have landed and changed the ETag: a retry must not be refused
              // as a conflict with itself, so it goes without If-Match (same content, same stamp).
              if (item.write.op === 'update' && item.write.etag) {
                const { etag: _dropped, ...rest } = item.write;
                item.write = rest;
              }
              toRetry.push(item);
              return;
            }
            if (item.planned.phase !== 'series-override') failedKeys.set(item.planned.key, info.message);
            fail(item, info, tooLong ? ` (Retry-After ${Math.round(info.retryAfterMs! / 1000)} s is longer than the ${Math.round(retry.maxRetryAfterMs / 1000)} s this run waits)` : info.retryable && info.scope === 'op' ? ` (gave up after ${item.attempts} attempts)` : '');
          });
          progress({ type: 'batch-done', calendarId, done, failed: failedSoFar, total });
        };
        await Promise.all(chunk(pending, batchSize).map((b) => limiter.run(calendarId, () => runBatch(b))));
        // Batches that never ran (the calendar stopped meanwhile) stay pending.
        const unrun = pending.filter((i) => !ranThisRound.has(i));
        pending = [...toRetry, ...unrun];
        if (stopped() || !toRetry.length) continue;
        const onlyRateLimits = toRetry.every((i) => i.lastError && isRateLimit(i.lastError));
        const givenAfter = toRetry.some((i) => i.lastError?.retryAfterMs !== undefined);
        // Rate limits with a pacer: the pacer's next acquire waits for the quota window (and says so); no extra backoff.
        const delayMs = onlyRateLimits && pacer && !givenAfter ? 0
          : retryDelay(toRetry.map((i) => i.lastError?.retryAfterMs), onlyRateLimits ? Math.min(round, 5) : Math.max(0, Math.max(...toRetry.map((i) => i.failures)) - 1), retry, random);
        round++;
        retryRounds++;
        report.retriedOps += toRetry.length;
        progress({ type: 'retry-wait', calendarId, ops: toRetry.length, delayMs, retry: round });
        try {
          await sleep(delayMs, opts.signal);
        } catch (err) {
          if (err instanceof AbortedError || opts.signal?.aborted) onAbort();
          else throw err;
        }
      }
      // Stopped with ops left: those that already failed once are failures, the rest were never tried.
      for (const item of pending) {
        if (item.lastError) fail(item, item.lastError, ` (not retried: ${stopped()})`);
        else report.notAttempted++;
      }
      if (stopped()) {
        // Later phases are not attempted either.
        for (const later of phases.slice(phases.indexOf(phase) + 1)) report.notAttempted += later.length;
        break;
      }
    }
    if (quotaWaitMs > 0) report.quotaWaitMs = quotaWaitMs;
    if (stopped()) {
      report.stopped = stopped();
      progress({ type: 'calendar-stopped', calendarId, reason: report.stopped! });
    }
    progress({ type: 'calendar-done', calendarId, report });
  };

  try {
    await Promise.all([...byCalendar].map(([calendarId, ops]) => runCalendar(calendarId, ops)));
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }

  const totals = { created: 0, updated: 0, deleted: 0, unchanged: 0, skipped: 0, failed: 0, notAttempted: 0 };
  let batches = 0;
  let retriedOps = 0;
  for (const r of Object.values(reports)) {
    for (const k of Object.keys(totals) as Array<keyof typeof totals>) totals[k] += r[k];
    batches += r.batches;
    retriedOps += r.retriedOps;
  }
  const ok = totals.failed === 0 && totals.notAttempted === 0 && !globalStop && Object.values(reports).every((r) => !r.stopped);
  return { ok, calendars: reports, totals, requests: { batches, retryRounds, retriedOps }, ...(globalStop ? { stopped: globalStop } : {}) };
}
