/**
 * applyPlan: the only place that schedules writes.
 *
 * Per calendar, ops run in three phases — deletes; creates/updates of single events and series
 * masters; then series overrides (which need their master) — each chunked into batches of at most
 * capabilities.maxBatchSize and run with at most capabilities.maxConcurrencyPerCalendar batches in
 * flight for that calendar (a keyed limiter), while different calendars proceed in parallel.
 *
 * Retries: only the ops that failed with a retryable error are retried, re-batched together,
 * after the largest Retry-After among them (else full-jitter exponential backoff). A rejected
 * write() means every op in that request failed with that error. Errors scoped 'calendar' (Google
 * quotaExceeded) stop that calendar; 'auth' stops every calendar.
 *
 * Why retrying writes is safe here: a retry re-sends the same op (same key, content and stamp; an
 * update only drops its If-Match, since the lost attempt may already have changed the ETag), and
 * the providers make each write idempotent — Google creates use a deterministic event id derived
 * from syncId + key (a 409 duplicate means "already there"), Graph creates carry a transactionId
 * derived from syncId, key, fingerprint and the op's runId (providers/graph/mapper.ts
 * transactionIdFor), updates rewrite the same content, and deleting an event that is already gone
 * is reported as success. A TransportError (no response) is therefore retryable.
 */
import type { PlannedOp, SyncPlan } from '../core/sync-types';
import type { CalendarProvider, WriteOp, WriteResult } from './port';
import { KeyedLimiter } from './queue';
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
}

export type ApplyProgress =
  | { type: 'calendar-start'; calendarId: string; total: number }
  | { type: 'batch-done'; calendarId: string; done: number; failed: number; total: number }
  | { type: 'retry-wait'; calendarId: string; ops: number; delayMs: number; retry: number }
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

/**
 * The run id creates carry (Graph folds it into `transactionId`): the hour the plan was made in.
 * Retries within a run and two workers syncing the same room at the same time share it, so the
 * server drops their repeated creates (issue 4: concurrent syncs make no duplicates); a run in a
 * later hour that re-creates an event a person deleted sends a new one, which a server that
 * remembers the old transactionId cannot mistake for the earlier create.
 */
export function runIdFor(now: number): string {
  return `h${Math.floor(now / 3_600_000)}`;
}

function toWriteOp(p: PlannedOp, syncId: string, runId: string): WriteOp | string {
  if (p.action === 'delete') {
    if (!p.targetId) return 'delete op without targetId';
    return { op: 'delete', calendarId: p.calendarId, key: p.key, targetId: p.targetId };
  }
  if (!p.event || !p.fingerprint) return `${p.action} op without event/fingerprint`;
  const stamp = { syncId, sourceKey: p.key, fingerprint: p.fingerprint };
  if (p.action === 'create') return { op: 'create', calendarId: p.calendarId, key: p.key, event: p.event, stamp, runId };
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
  lastError?: ErrorInfo;
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
      const w = toWriteOp(p, plan.syncId, runIdFor(plan.now));
      if (typeof w === 'string') {
        report.failed++;
        failedSoFar++;
        done++;
        report.errors.push({ key: p.key, op: p.action as ApplyError['op'], message: `invalid plan op: ${w}`, retryable: false, attempts: 0 });
      } else items.push({ planned: p, write: w, attempts: 0 });
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
          try {
            results = await provider.write(calendarId, batch.map((i) => i.write));
          } catch (err) {
            whole = describeWriteError(err); // the whole request failed: every op in it failed with this
            results = [];
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
            if (info.retryable && info.scope === 'op' && !tooLong && round < retry.maxRetries) {
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
        const delayMs = retryDelay(toRetry.map((i) => i.lastError?.retryAfterMs), round, retry, random);
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
