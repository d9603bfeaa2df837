import type { CalendarEvent } from '../../core/event';
import { buildPlan, type DesiredEvent } from '../../core/plan';
import type { SyncPlan, SyncPolicy } from '../../core/sync-types';
import { applyPlan, type ApplyProgress } from '../../providers/apply';
import { RatePacer } from '../../providers/queue';
import { MemoryCalendarProvider } from '../../providers/memory';
import { syncCalendars } from '../../providers/sync';
import { ProviderError, TransportError, type CalendarProvider, type WriteOp } from '../../providers/port';

const NOW = Date.UTC(2025, 0, 15, 12);
const policy: SyncPolicy = { syncId: 'sync-1', window: { pastDays: 7, futureDays: 60 }, allowEmptySource: true };

function ev(uid: string, day = 20, extra: Partial<CalendarEvent> = {}): CalendarEvent {
  const d = String(day).padStart(2, '0');
  return { uid, title: `E ${uid}`, start: { dateTime: `2025-01-${d}T09:00:00Z` }, end: { dateTime: `2025-01-${d}T10:00:00Z` }, ...extra };
}

function many(calendarId: string, n: number, prefix = calendarId): DesiredEvent[] {
  return Array.from({ length: n }, (_, i) => ({ calendarId, event: ev(`${prefix}-${i}`, 16 + (i % 10)) }));
}

async function planFor(provider: MemoryCalendarProvider, desired: DesiredEvent[], calendars: string[]): Promise<SyncPlan> {
  const actual = (await Promise.all(calendars.map((c) => provider.listOwned(c, policy.syncId, { from: 0, to: Date.UTC(2030, 0, 1) })))).flat();
  return buildPlan(desired, actual, policy, NOW);
}

function recorder() {
  const sleeps: number[] = [];
  return { sleeps, sleep: async (ms: number) => { sleeps.push(ms); } };
}

describe('applyPlan', () => {
  test('writes everything and reports counts; a second plan is a no-op', async () => {
    const p = new MemoryCalendarProvider({ maxBatchSize: 10 });
    const desired = many('A', 25);
    const report = await applyPlan(await planFor(p, desired, ['A']), p);
    expect(report.ok).toBe(true);
    expect(report.calendars.A).toMatchObject({ created: 25, failed: 0, batches: 3 });
    expect(report.requests.batches).toBe(3);
    const again = await planFor(p, desired, ['A']);
    expect(again.counts).toMatchObject({ create: 0, update: 0, delete: 0, unchanged: 25 });
    const r2 = await applyPlan(again, p);
    expect(r2.requests.batches).toBe(0);
    expect(r2.calendars.A.unchanged).toBe(25);
  });

  test('the write ops of a plan do not depend on its clock: the same creates, the same on every retry (no run id)', async () => {
    const p = new MemoryCalendarProvider({ maxBatchSize: 5 });
    p.faults.op = (_op, attempt) => (attempt === 1 ? new ProviderError('throttled', { status: 429, retryable: true }) : undefined);
    const seen: WriteOp[] = [];
    const spy: CalendarProvider = Object.assign(Object.create(p) as CalendarProvider, { write: (c: string, ops: WriteOp[]) => { seen.push(...ops); return p.write(c, ops); } });
    const plan = await planFor(p, many('A', 3), ['A']);
    const report = await applyPlan(plan, spy, { sleep: async () => {} });
    expect(report.ok).toBe(true);
    const creates = seen.filter((o) => o.op === 'create');
    expect(creates).toHaveLength(6);
    // Retries re-send the very same op; nothing in it comes from plan.now.
    expect(new Set(creates.map((o) => JSON.stringify(o))).size).toBe(3);
    const later: WriteOp[] = [];
    const spy2: CalendarProvider = Object.assign(Object.create(p) as CalendarProvider, { write: async (_c: string, ops: WriteOp[]) => { later.push(...ops); return ops.map((op) => ({ op, ok: true, targetId: 'x' })); } });
    await applyPlan({ ...plan, now: plan.now + 3_600_000 + 7_000 }, spy2, { sleep: async () => {} });
    expect(later.map((o) => JSON.stringify(o)).sort()).toEqual([...new Set(creates.map((o) => JSON.stringify(o)))].sort());
  });

  test('429 with Retry-After: only the failed ops are retried, after the largest Retry-After', async () => {
    const p = new MemoryCalendarProvider({ maxBatchSize: 5 });
    const throttled = new Set(['A-1', 'A-3', 'A-7']);
    p.faults.op = (op, attempt) => {
      const uid = op.op === 'delete' ? '' : op.event.uid;
      if (attempt === 1 && throttled.has(uid)) return new ProviderError('throttled', { status: 429, retryable: true, retryAfterMs: uid === 'A-3' ? 2128 : 1000 });
      return undefined;
    };
    const { sleeps, sleep } = recorder();
    const report = await applyPlan(await planFor(p, many('A', 10), ['A']), p, { sleep, random: () => 0.5 });
    expect(report.ok).toBe(true);
    expect(report.calendars.A).toMatchObject({ created: 10, retriedOps: 3, batches: 3 });
    expect(sleeps).toEqual([2128]);
    const retryRequest = p.requests[2];
    expect(retryRequest.ops.map((o) => o.op)).toEqual(['create', 'create', 'create']);
    expect(retryRequest.ops.map((o) => o.key.split(' u:')[1]).sort()).toEqual(['A-1', 'A-3', 'A-7']);
  });

  test('5xx without Retry-After: exponential backoff with full jitter from the injected random', async () => {
    const p = new MemoryCalendarProvider({ maxBatchSize: 50 });
    p.faults.op = (op, attempt) => (attempt <= 3 && op.key.endsWith('A-0') ? new ProviderError('backendError', { status: 500, retryable: true }) : undefined);
    const { sleeps, sleep } = recorder();
    const report = await applyPlan(await planFor(p, many('A', 3), ['A']), p, { sleep, random: () => 0.25, retry: { baseDelayMs: 1000, maxDelayMs: 3000 } });
    expect(report.ok).toBe(true);
    expect(sleeps).toEqual([250, 500, 750]); // 0.25 × min(3000, 1000·2^n)
    expect(report.requests.retryRounds).toBe(3);
  });

  test('gives up after maxRetries and reports the error per op', async () => {
    const p = new MemoryCalendarProvider();
    p.faults.op = (op) => (op.key.endsWith('A-1') ? new ProviderError('still busy', { status: 503, code: 'serviceUnavailable', retryable: true }) : undefined);
    const { sleeps, sleep } = recorder();
    const report = await applyPlan(await planFor(p, many('A', 3), ['A']), p, { sleep, retry: { maxRetries: 2 } });
    expect(report.ok).toBe(false);
    expect(sleeps).toHaveLength(2);
    expect(report.calendars.A.created).toBe(2);
    expect(report.calendars.A.errors).toEqual([expect.objectContaining({ op: 'create', status: 503, code: 'serviceUnavailable', attempts: 3, message: expect.stringContaining('gave up after 3 attempts') })]);
  });

  test('a rejected request fails every op in it; they are retried with the same key and stamp', async () => {
    const p = new MemoryCalendarProvider({ maxBatchSize: 4 });
    p.faults.request = (_c, _ops, n) => (n === 2 ? new TransportError('socket hang up', 'ECONNRESET') : undefined);
    const seen: WriteOp[] = [];
    const orig = p.write.bind(p);
    p.write = async (c, ops) => {
      seen.push(...ops);
      return orig(c, ops);
    };
    const report = await applyPlan(await planFor(p, many('A', 8), ['A']), p, { sleep: async () => {}, concurrencyPerCalendar: 1 });
    expect(report.ok).toBe(true);
    expect(report.calendars.A).toMatchObject({ created: 8, retriedOps: 4, batches: 3 });
    const retried = seen.slice(8);
    expect(retried).toHaveLength(4);
    for (const r of retried) expect(seen.slice(0, 8).filter((s) => s.key === r.key)).toEqual([r]);
    expect(p.events('A')).toHaveLength(8);
  });

  test('a lost response on create does not duplicate: the retry reconciles with the deterministic id', async () => {
    const p = new MemoryCalendarProvider();
    p.faults.op = (_op, attempt) => (attempt === 1 ? { error: new ProviderError('gateway timeout', { status: 504, retryable: true }), applied: true } : undefined);
    const report = await applyPlan(await planFor(p, many('A', 3), ['A']), p, { sleep: async () => {} });
    expect(report.ok).toBe(true);
    expect(p.events('A')).toHaveLength(3);
    expect(report.calendars.A.notes.map((n) => n.note)).toEqual(Array(3).fill('already existed (deterministic id) — reconciled'));
  });

  test('non-retryable errors are reported per op, the rest still written', async () => {
    const p = new MemoryCalendarProvider();
    p.faults.op = (op) => (op.key.endsWith('A-2') ? new ProviderError('invalid start', { status: 400, code: 'invalid', retryable: false }) : undefined);
    const { sleeps, sleep } = recorder();
    const report = await applyPlan(await planFor(p, many('A', 5), ['A']), p, { sleep });
    expect(sleeps).toEqual([]);
    expect(report.calendars.A).toMatchObject({ created: 4, failed: 1 });
    expect(report.calendars.A.errors[0]).toMatchObject({ status: 400, code: 'invalid', retryable: false, attempts: 1 });
  });

  test('quota exceeded stops that calendar; other calendars keep running', async () => {
    const p = new MemoryCalendarProvider({ maxBatchSize: 5, maxConcurrencyPerCalendar: 1 });
    p.faults.request = (c, _ops, n) => (c === 'A' && n === 2 ? new ProviderError('Calendar usage limits exceeded.', { status: 403, code: 'quotaExceeded', retryable: false, scope: 'calendar' }) : undefined);
    const report = await applyPlan(await planFor(p, [...many('A', 20), ...many('B', 20)], ['A', 'B']), p, { sleep: async () => {} });
    expect(report.ok).toBe(false);
    expect(report.calendars.A.stopped).toMatch(/calendar stopped: Calendar usage limits exceeded\. \(quotaExceeded\)/);
    expect(report.calendars.A).toMatchObject({ created: 5, failed: 5, notAttempted: 10 });
    expect(report.calendars.B).toMatchObject({ created: 20, failed: 0 });
    expect(report.calendars.B.stopped).toBeUndefined();
    expect(p.requests.filter((r) => r.calendarId === 'A')).toHaveLength(2);
  });

  test('an auth failure stops every calendar', async () => {
    const p = new MemoryCalendarProvider({ maxBatchSize: 2, maxConcurrencyPerCalendar: 1, latencyMs: 2 });
    p.faults.request = (c, _ops, n) => (c === 'A' && n === 1 ? new ProviderError('invalid_grant', { status: 401, retryable: false, scope: 'auth' }) : undefined);
    const report = await applyPlan(await planFor(p, [...many('A', 10), ...many('B', 10)], ['A', 'B']), p, { sleep: async () => {} });
    expect(report.stopped).toMatch(/authentication failed: invalid_grant/);
    expect(report.calendars.A.stopped).toBeDefined();
    expect(report.calendars.B.stopped).toBeDefined();
    expect(report.totals.created + report.totals.failed + report.totals.notAttempted).toBe(20);
    expect(report.calendars.B.created).toBeLessThan(10);
  });

  test('never more than maxConcurrencyPerCalendar batches in flight per calendar; calendars run in parallel', async () => {
    const p = new MemoryCalendarProvider({ maxBatchSize: 3, maxConcurrencyPerCalendar: 4, latencyMs: 3 });
    let inFlight = 0;
    let maxGlobal = 0;
    const orig = p.write.bind(p);
    p.write = async (c, ops) => {
      inFlight++;
      maxGlobal = Math.max(maxGlobal, inFlight);
      try {
        return await orig(c, ops);
      } finally {
        inFlight--;
      }
    };
    const desired = ['A', 'B', 'C'].flatMap((c) => many(c, 60));
    const report = await applyPlan(await planFor(p, desired, ['A', 'B', 'C']), p, { concurrencyPerCalendar: 2 });
    expect(report.ok).toBe(true);
    for (const c of ['A', 'B', 'C']) {
      expect(p.maxInFlight.get(c)).toBeLessThanOrEqual(2);
      expect(p.maxInFlight.get(c)).toBe(2); // the limit is actually used
    }
    expect(maxGlobal).toBeGreaterThan(2);
    // overall limit
    const q = new MemoryCalendarProvider({ maxBatchSize: 3, maxConcurrencyPerCalendar: 4, latencyMs: 3 });
    let qIn = 0;
    let qMax = 0;
    const qOrig = q.write.bind(q);
    q.write = async (c, ops) => {
      qIn++;
      qMax = Math.max(qMax, qIn);
      try { return await qOrig(c, ops); } finally { qIn--; }
    };
    await applyPlan(await planFor(q, desired, ['A', 'B', 'C']), q, { maxConcurrentRequests: 3 });
    expect(qMax).toBeLessThanOrEqual(3);
    expect(Math.max(...q.maxInFlight.values())).toBeLessThanOrEqual(4);
  });

  test('phases: deletes, then masters and singles, then overrides; a failed master holds back its overrides', async () => {
    const p = new MemoryCalendarProvider({ maxBatchSize: 50 });
    p.seed('A', ev('old'), { syncId: 'sync-1', sourceKey: 'k1 - u:old', fingerprint: 'f1-x' });
    const master = ev('s', 16, { recurrence: { rrule: ['FREQ=DAILY;COUNT=5'], rdate: [], exdate: [] } });
    const override = ev('s', 18, { recurrenceId: { dateTime: '2025-01-17T09:00:00Z' }, title: 'moved' });
    const bad = ev('t', 16, { recurrence: { rrule: ['FREQ=DAILY;COUNT=5'], rdate: [], exdate: [] } });
    const badOverride = ev('t', 18, { recurrenceId: { dateTime: '2025-01-17T09:00:00Z' } });
    p.faults.op = (op) => (op.op === 'create' && op.key === 'k1 - u:t' ? new ProviderError('rejected', { status: 400, retryable: false }) : undefined);
    const desired = [master, override, bad, badOverride, ev('single')].map((event) => ({ calendarId: 'A', event }));
    const report = await applyPlan(await planFor(p, desired, ['A']), p, { sleep: async () => {} });
    expect(p.requests.map((r) => r.ops.map((o) => `${o.op} ${o.key}`))).toEqual([
      ['delete k1 - u:old'],
      ['create k1 - u:s', 'create k1 - u:single', 'create k1 - u:t'],
      ['create k1 - u:s r:20250117T090000Z'],
    ]);
    expect(report.calendars.A).toMatchObject({ created: 3, deleted: 1, failed: 2 });
    expect(report.calendars.A.errors.map((e) => e.message)).toEqual(['rejected', 'not written: its series master failed (rejected)']);
  });

  test('a Retry-After longer than the run waits fails now instead of sleeping', async () => {
    const p = new MemoryCalendarProvider();
    p.faults.op = () => new ProviderError('throttled', { status: 429, retryable: true, retryAfterMs: 3_600_000 });
    const { sleeps, sleep } = recorder();
    const report = await applyPlan(await planFor(p, many('A', 2), ['A']), p, { sleep });
    expect(sleeps).toEqual([]);
    expect(report.calendars.A.failed).toBe(2);
    expect(report.calendars.A.errors[0].message).toMatch(/Retry-After 3600 s is longer than/);
  });

  test('abort: nothing further is scheduled, the rest is reported as not attempted', async () => {
    const p = new MemoryCalendarProvider({ maxBatchSize: 2, maxConcurrencyPerCalendar: 1 });
    const ac = new AbortController();
    p.faults.request = (_c, _ops, n) => {
      if (n === 2) ac.abort();
      return undefined;
    };
    const report = await applyPlan(await planFor(p, many('A', 10), ['A']), p, { signal: ac.signal });
    expect(report.stopped).toMatch(/aborted/);
    expect(report.calendars.A.created).toBe(4);
    expect(report.calendars.A.notAttempted).toBe(6);
  });

  test('progress events per calendar', async () => {
    const p = new MemoryCalendarProvider({ maxBatchSize: 2 });
    const events: ApplyProgress[] = [];
    await applyPlan(await planFor(p, [...many('A', 3), ...many('B', 1)], ['A', 'B']), p, { onProgress: (e) => events.push(e) });
    const a = events.filter((e) => e.calendarId === 'A');
    expect(a[0]).toEqual({ type: 'calendar-start', calendarId: 'A', total: 3 });
    expect(a.filter((e) => e.type === 'batch-done').map((e) => (e as { done: number }).done).sort()).toEqual([2, 3]);
    expect(a[a.length - 1]).toMatchObject({ type: 'calendar-done', report: { created: 3 } });
    const lastBatch = a.filter((e) => e.type === 'batch-done').pop() as { done: number; total: number };
    expect(lastBatch).toMatchObject({ done: 3, total: 3 });
    expect(events.some((e) => e.calendarId === 'B' && e.type === 'calendar-done')).toBe(true);
  });

  test('invalid ops in a plan are reported, not thrown', async () => {
    const p = new MemoryCalendarProvider();
    const plan = await planFor(p, many('A', 2), ['A']);
    delete plan.ops[0].event;
    const report = await applyPlan(plan, p);
    expect(report.calendars.A).toMatchObject({ created: 1, failed: 1 });
    expect(report.calendars.A.errors[0].message).toMatch(/invalid plan op/);
  });
});

describe('syncCalendars (route → list → plan → apply)', () => {
  const routing = { by: { kind: 'location' as const }, map: { 'room a': 'A', 'room b': 'B' } };
  const feed = (n: number, loc: string) => Array.from({ length: n }, (_, i) => ev(`${loc}-${i}`, 16 + i, { location: loc }));

  test('dry run plans without writing; a real run writes; the re-run writes nothing; a removal propagates', async () => {
    const p = new MemoryCalendarProvider();
    const desired = [...feed(3, 'Room A'), ...feed(2, 'Room B'), ev('x', 17, { location: 'Mars' })];
    const dry = await syncCalendars({ provider: p, desired, routing, policy, now: NOW, dryRun: true });
    expect(dry.plan.counts.create).toBe(5);
    expect(dry.plan.unmapped.map((u) => u.uid)).toEqual(['x']);
    expect(p.requests).toHaveLength(0);
    const run = await syncCalendars({ provider: p, desired, routing, policy, now: NOW });
    expect(run.ok).toBe(true);
    expect(run.report!.totals.created).toBe(5);
    const again = await syncCalendars({ provider: p, desired, routing, policy, now: NOW });
    expect(again.report!.requests.batches).toBe(0);
    expect(again.plan.counts.unchanged).toBe(5);
    // Room B's events all go away: B is still listed (routing target) and cleaned.
    const gone = await syncCalendars({ provider: p, desired: feed(3, 'Room A'), routing, policy, now: NOW });
    expect(gone.report!.calendars.B.deleted).toBe(2);
    expect(p.events('B')).toEqual([]);
  });

  test('a calendar that cannot be listed is skipped; the others sync', async () => {
    const p = new MemoryCalendarProvider({ faults: { list: (c) => (c === 'B' ? new Error('403 forbidden') : undefined) } });
    const res = await syncCalendars({ provider: p, desired: [...feed(2, 'Room A'), ...feed(2, 'Room B')], routing, policy, now: NOW });
    expect(res.ok).toBe(false);
    expect(res.failedCalendars).toEqual([{ calendarId: 'B', message: 'could not list events: 403 forbidden' }]);
    expect(p.events('A')).toHaveLength(2);
    expect(p.events('B')).toHaveLength(0);
    expect(res.plan.warnings.join()).toMatch(/B: skipped this run/);
  });

  test("series the target cannot store are expanded (provider's seriesSupport)", async () => {
    const p = new MemoryCalendarProvider({ seriesSupport: () => 'BYSETPOS does not fit patternedRecurrence' });
    const series = ev('s', 16, { location: 'Room A', recurrence: { rrule: ['FREQ=DAILY;COUNT=3'], rdate: [], exdate: [] } });
    const res = await syncCalendars({ provider: p, desired: [series], routing, policy, now: NOW });
    expect(res.report!.calendars.A.created).toBe(3);
    expect(p.events('A').every((t) => !t.event.recurrence)).toBe(true);
    expect(res.plan.warnings.join()).toMatch(/BYSETPOS does not fit/);
  });
});

/** A provider that enforces a sliding-window quota on a virtual clock, as the services do. */
function quotaProvider(opts: { maxRequests: number; windowMs: number; clock: { t: number }; latencyMs?: number; pace?: boolean; code?: string; status?: number; preUsed?: number }) {
  const inner = new MemoryCalendarProvider({ maxBatchSize: 50 });
  const admitted: number[] = Array.from({ length: opts.preUsed ?? 0 }, () => opts.clock.t);
  let throttled = 0;
  const provider: CalendarProvider = Object.assign(Object.create(inner) as CalendarProvider, {
    capabilities: { ...inner.capabilities, maxBatchSize: 50, maxConcurrencyPerCalendar: 4, ...(opts.pace === false ? {} : { quota: { maxRequests: opts.maxRequests, windowMs: opts.windowMs, per: 'account' as const } }) },
    write: async (calendarId: string, ops: WriteOp[]) => {
      opts.clock.t += opts.latencyMs ?? 5;
      const results = [];
      for (const op of ops) {
        while (admitted.length && admitted[0] <= opts.clock.t - opts.windowMs) admitted.shift();
        if (admitted.length >= opts.maxRequests) {
          throttled++;
          results.push({ op, ok: false, error: new ProviderError('rate limit', { status: opts.status ?? 403, code: opts.code ?? 'rateLimitExceeded', retryable: true }) });
          continue;
        }
        admitted.push(opts.clock.t);
        results.push((await inner.write(calendarId, [op]))[0]);
      }
      return results;
    },
  });
  return { provider, inner, throttled: () => throttled };
}

describe('applyPlan paces writes to the provider quota', () => {
  const clockSleep = (clock: { t: number }, log?: number[]) => async (ms: number) => {
    log?.push(ms);
    clock.t += ms;
  };

  test('1,500 creates under 600 requests / 60 s: all written, ok, within 1.3× the quota time, few or no 403s, quota waits reported with an estimate', async () => {
    const clock = { t: NOW };
    const q = quotaProvider({ maxRequests: 600, windowMs: 60_000, clock });
    const events: ApplyProgress[] = [];
    const plan = buildPlan(many('A', 1500), [], policy, NOW);
    const report = await applyPlan(plan, q.provider, { now: () => clock.t, sleep: clockSleep(clock), onProgress: (e) => events.push(e) });
    expect(report.ok).toBe(true);
    expect(report.totals.created).toBe(1500);
    expect((await q.inner.listOwned('A', policy.syncId, { from: 0, to: Date.UTC(2030, 0, 1) })).length).toBe(1500);
    const elapsed = clock.t - NOW;
    expect(elapsed).toBeLessThanOrEqual(1.3 * (1500 / 600) * 60_000);
    expect(q.throttled()).toBe(0);
    const waits = events.filter((e): e is Extract<ApplyProgress, { type: 'quota-wait' }> => e.type === 'quota-wait');
    expect(waits.length).toBeGreaterThan(0);
    expect(waits[0].etaMs).toBeGreaterThanOrEqual(waits[0].waitMs);
    expect(waits[0].quota).toEqual({ maxRequests: 600, windowMs: 60_000 });
    expect(report.calendars.A.quotaWaitMs).toBeGreaterThan(60_000);
  });

  test('rate-limit answers are waited out (not counted as failures) even when the client did not know the quota', async () => {
    const clock = { t: NOW };
    const q = quotaProvider({ maxRequests: 600, windowMs: 60_000, clock, pace: false });
    const plan = buildPlan(many('A', 1500), [], policy, NOW);
    const report = await applyPlan(plan, q.provider, { now: () => clock.t, sleep: clockSleep(clock), random: () => 0.5 });
    expect(report.ok).toBe(true);
    expect(report.totals.created).toBe(1500);
    expect(q.throttled()).toBeGreaterThan(0);
  });

  test('a server that counts requests the client did not (listings): one 403 makes the pacer wait for the next window', async () => {
    const clock = { t: NOW };
    // Someone else (the listing, another tool of this user) used 100 requests of the budget just now.
    const q = quotaProvider({ maxRequests: 600, windowMs: 60_000, clock, preUsed: 100 });
    const plan = buildPlan(many('A', 1000), [], policy, NOW);
    const report = await applyPlan(plan, q.provider, { now: () => clock.t, sleep: clockSleep(clock) });
    expect(report.ok).toBe(true);
    expect(report.totals.created).toBe(1000);
    // One batch's worth of 403s at most, then the pacer waits a whole window instead of hammering.
    expect(q.throttled()).toBeLessThanOrEqual(200);
    expect(clock.t - NOW).toBeLessThanOrEqual(2 * 60_000 + 5_000);
  });

  test('a 429 with Retry-After (Graph, also for its concurrency limit) waits that long, not a whole quota window', async () => {
    const clock = { t: NOW };
    const inner = new MemoryCalendarProvider({ maxBatchSize: 20 });
    inner.faults.op = (_op, attempt) => (attempt === 1 ? new ProviderError('throttled', { status: 429, code: 'ApplicationThrottled', retryable: true, retryAfterMs: 500 }) : undefined);
    const provider: CalendarProvider = Object.assign(Object.create(inner) as CalendarProvider, {
      capabilities: { ...inner.capabilities, quota: { maxRequests: 10_000, windowMs: 600_000, per: 'calendar' as const } },
    });
    const report = await applyPlan(buildPlan(many('A', 40), [], policy, NOW), provider, { now: () => clock.t, sleep: clockSleep(clock) });
    expect(report.ok).toBe(true);
    expect(clock.t - NOW).toBeLessThan(5_000);
  });

  test('RatePacer: a reservation frees its slot one window after its request finished', async () => {
    const clock = { t: 0 };
    const pacer = new RatePacer({ maxRequests: 10, windowMs: 1000, now: () => clock.t, sleep: clockSleep(clock) });
    const r1 = await pacer.acquire(10);
    clock.t = 300;
    r1();
    expect(pacer.waitFor(1)).toBe(1001);
    const waited: number[] = [];
    clock.t = 500;
    const r2 = await pacer.acquire(4, (ms) => waited.push(ms));
    expect(waited).toEqual([801]);
    expect(clock.t).toBe(1301);
    r2();
    expect(() => new RatePacer({ maxRequests: 0, windowMs: 1000 })).toThrow(/maxRequests/);
  });
});
