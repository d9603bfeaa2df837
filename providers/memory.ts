/**
 * An in-memory CalendarProvider for tests of the planner and the apply loop, faithful to the port:
 * - ownership stamps are stored and filtered on like Google/Graph extended properties;
 * - foreign events can be seeded (no stamp, or another syncId);
 * - creates use a deterministic id from syncId + key (as the Google provider does), so a retried
 *   create whose first attempt did land reconciles instead of duplicating;
 * - an override can only be written when its series master exists; deleting a master removes
 *   its overrides; deleting a missing event succeeds ("already deleted");
 * - faults can be injected per request (whole batch rejected) and per op (including "applied but
 *   the response was lost"), and concurrency per calendar is measured;
 * - people can be simulated: personCopy (a copy with our stamp and a new id: listed with `copy`)
 *   and personEdit (listed with `edited`, from the digest stored on write, as Google/Graph do).
 */
import type { CalendarEvent } from '../core/event';
import { isRecurringMaster } from '../core/event';
import { sha256Hex } from '../core/fingerprint';
import { overlapsWindow } from '../core/sync-window';
import { contentDigest, editedFields } from './ownership';
import type { CalendarProvider, ProviderCapabilities, Room, TargetEvent, TimeWindow, WriteOp, WriteResult } from './port';
import { ProviderError } from './port';

export interface MemoryFaults {
  /** Return an error to reject the whole write request (ProviderError or TransportError). `n` counts requests to this calendar from 1. */
  request?(calendarId: string, ops: WriteOp[], n: number): Error | undefined;
  /** Return an error to fail one op; with `applied: true` the write happens but the caller is told it failed. `attempt` counts from 1 per op. */
  op?(op: WriteOp, attempt: number): ProviderError | { error: ProviderError; applied: true } | undefined;
  /** Return an error to make listOwned for this calendar fail. */
  list?(calendarId: string): Error | undefined;
}

export interface MemoryProviderOptions {
  kind?: 'google' | 'graph';
  maxBatchSize?: number;
  maxConcurrencyPerCalendar?: number;
  seriesSupport?: ProviderCapabilities['seriesSupport'];
  /** Simulated latency of each write request (real timer), so concurrency can overlap. */
  latencyMs?: number;
  faults?: MemoryFaults;
  rooms?: Room[];
}

const OVERRIDE_SUFFIX = / r:[^ ]+$/;

function clone<T>(x: T): T {
  return JSON.parse(JSON.stringify(x)) as T;
}

export class MemoryCalendarProvider implements CalendarProvider {
  readonly kind: 'google' | 'graph';
  readonly capabilities: ProviderCapabilities;
  private readonly store = new Map<string, Map<string, TargetEvent>>();
  private readonly inFlight = new Map<string, number>();
  private readonly attempts = new Map<string, number>();
  private readonly requestsPerCalendar = new Map<string, number>();
  private etagCounter = 0;
  private seedCounter = 0;
  /** Ids of events people copied (they carry our stamp, but we did not write them). */
  private readonly copies = new Set<string>();
  /** Highest number of concurrent write requests seen per calendar. */
  readonly maxInFlight = new Map<string, number>();
  /** Every write request: calendar and the ops' kinds/keys. */
  readonly requests: Array<{ calendarId: string; ops: Array<{ op: string; key: string }> }> = [];
  faults: MemoryFaults;

  constructor(private readonly opts: MemoryProviderOptions = {}) {
    this.kind = opts.kind ?? 'google';
    this.faults = opts.faults ?? {};
    this.capabilities = {
      maxBatchSize: opts.maxBatchSize ?? 50,
      maxConcurrencyPerCalendar: opts.maxConcurrencyPerCalendar ?? 4,
      seriesSupport: opts.seriesSupport ?? (() => true),
    };
  }

  private cal(calendarId: string): Map<string, TargetEvent> {
    let c = this.store.get(calendarId);
    if (!c) this.store.set(calendarId, (c = new Map()));
    return c;
  }

  /** The deterministic id a create for (syncId, key) gets. */
  static idFor(syncId: string, key: string): string {
    return `m${sha256Hex(`${syncId}\u0000${key}`).slice(0, 26)}`;
  }

  /** Puts an event straight into a calendar (a person's event, another sync's, or a pre-existing one of ours). */
  seed(calendarId: string, event: CalendarEvent, stamp?: TargetEvent['stamp'], id?: string): TargetEvent {
    const t: TargetEvent = { id: id ?? `seed${++this.seedCounter}`, calendarId, event: clone(event), etag: `e${++this.etagCounter}`, ...(stamp ? { stamp: { ...stamp } } : {}) };
    this.cal(calendarId).set(t.id, t);
    return clone(t);
  }

  /** A person copies an event (same content and stamp, new id); returns the copy's id. */
  personCopy(calendarId: string, id: string): string {
    const t = this.cal(calendarId).get(id);
    if (!t) throw new Error(`memory provider: no event ${id} in ${calendarId}`);
    const copy = this.seed(calendarId, t.event, t.stamp, `copy${++this.seedCounter}`);
    this.copies.add(copy.id);
    return copy.id;
  }

  /** A person edits an event on the target (its stamp stays as we wrote it). */
  personEdit(calendarId: string, id: string, changes: Partial<CalendarEvent>): void {
    const t = this.cal(calendarId).get(id);
    if (!t) throw new Error(`memory provider: no event ${id} in ${calendarId}`);
    t.event = { ...t.event, ...clone(changes) };
    t.etag = `e${++this.etagCounter}`;
  }

  /** A listed copy of a stored event, with what a real provider derives on read (copy, edited). */
  private listed(t: TargetEvent): TargetEvent {
    const out = clone(t);
    if (t.stamp && this.copies.has(t.id)) out.copy = 'copied by a person (memory provider)';
    const edited = t.stamp ? editedFields(t.stamp.digest, t.event, 'UTC') : undefined;
    if (edited) out.edited = edited;
    return out;
  }

  /** Everything in a calendar (copies). */
  events(calendarId: string): TargetEvent[] {
    return [...this.cal(calendarId).values()].map(clone);
  }

  calendarIds(): string[] {
    return [...this.store.keys()];
  }

  private inWindow(t: TargetEvent, window: TimeWindow, all: Map<string, TargetEvent>): boolean {
    try {
      if (overlapsWindow(t.event, window)) return true;
      const m = t.stamp && OVERRIDE_SUFFIX.exec(t.stamp.sourceKey);
      if (!m) {
        // A master whose own occurrences lie outside the window still shows there through an
        // override moved into it (Google lists such masters too, see providers/google).
        if (!t.stamp) return false;
        for (const o of all.values()) {
          if (o === t || o.stamp?.syncId !== t.stamp.syncId) continue;
          const om = OVERRIDE_SUFFIX.exec(o.stamp.sourceKey);
          if (om && o.stamp.sourceKey.slice(0, om.index) === t.stamp.sourceKey && overlapsWindow(o.event, window)) return true;
        }
        return false;
      }
      const masterKey = t.stamp!.sourceKey.slice(0, m.index);
      for (const o of all.values()) if (o.stamp?.syncId === t.stamp!.syncId && o.stamp.sourceKey === masterKey && overlapsWindow(o.event, window)) return true;
      return false;
    } catch {
      return true; // unreadable times: return it and let the planner decide
    }
  }

  async listOwned(calendarId: string, syncId: string, window: TimeWindow): Promise<TargetEvent[]> {
    await Promise.resolve();
    const err = this.faults.list?.(calendarId);
    if (err) throw err;
    const all = this.cal(calendarId);
    return [...all.values()].filter((t) => t.stamp?.syncId === syncId && this.inWindow(t, window, all)).map((t) => this.listed(t));
  }

  async listEvents(calendarId: string, window: TimeWindow): Promise<TargetEvent[]> {
    await Promise.resolve();
    const all = this.cal(calendarId);
    return [...all.values()].filter((t) => this.inWindow(t, window, all)).map((t) => this.listed(t));
  }

  async getEvent(calendarId: string, targetId: string): Promise<TargetEvent | undefined> {
    const t = this.cal(calendarId).get(targetId);
    return t ? clone(t) : undefined;
  }

  async listRooms(): Promise<Room[]> {
    return clone(this.opts.rooms ?? []);
  }

  async write(calendarId: string, ops: WriteOp[]): Promise<WriteResult[]> {
    if (ops.length > this.capabilities.maxBatchSize) {
      throw new Error(`memory provider: batch of ${ops.length} exceeds maxBatchSize ${this.capabilities.maxBatchSize}`);
    }
    const n = (this.inFlight.get(calendarId) ?? 0) + 1;
    this.inFlight.set(calendarId, n);
    if (n > (this.maxInFlight.get(calendarId) ?? 0)) this.maxInFlight.set(calendarId, n);
    const reqNo = (this.requestsPerCalendar.get(calendarId) ?? 0) + 1;
    this.requestsPerCalendar.set(calendarId, reqNo);
    this.requests.push({ calendarId, ops: ops.map((o) => ({ op: o.op, key: o.key })) });
    try {
      if (this.opts.latencyMs) await new Promise((r) => setTimeout(r, this.opts.latencyMs));
      else await Promise.resolve();
      const whole = this.faults.request?.(calendarId, ops, reqNo);
      if (whole) throw whole;
      return ops.map((op) => this.writeOne(calendarId, op));
    } finally {
      this.inFlight.set(calendarId, (this.inFlight.get(calendarId) ?? 1) - 1);
    }
  }

  private writeOne(calendarId: string, op: WriteOp): WriteResult {
    const attemptKey = `${calendarId}\u0000${op.op}\u0000${op.key}\u0000${op.op === 'create' ? '' : op.targetId}`;
    const attempt = (this.attempts.get(attemptKey) ?? 0) + 1;
    this.attempts.set(attemptKey, attempt);
    const fault = this.faults.op?.(op, attempt);
    if (fault instanceof ProviderError) return { op, ok: false, error: fault };
    let result: WriteResult;
    try {
      result = this.execute(calendarId, op);
    } catch (err) {
      result = { op, ok: false, error: err instanceof ProviderError ? err : new ProviderError(String(err), { retryable: false }) };
    }
    if (fault) return { op, ok: false, error: fault.error }; // applied, but the answer was lost
    return result;
  }

  private execute(calendarId: string, op: WriteOp): WriteResult {
    const cal = this.cal(calendarId);
    if (op.op === 'delete') {
      const t = cal.get(op.targetId);
      if (!t) return { op, ok: true, note: 'already deleted' };
      cal.delete(op.targetId);
      if (t.stamp && isRecurringMaster(t.event)) {
        for (const [id, o] of cal) if (o.stamp?.syncId === t.stamp.syncId && o.stamp.sourceKey.startsWith(`${t.stamp.sourceKey} r:`)) cal.delete(id);
      }
      return { op, ok: true };
    }
    if (op.event.recurrenceId) {
      const m = OVERRIDE_SUFFIX.exec(op.key);
      const masterKey = m ? op.key.slice(0, m.index) : undefined;
      const master = [...cal.values()].find((t) => t.stamp?.syncId === op.stamp.syncId && t.stamp.sourceKey === masterKey && isRecurringMaster(t.event));
      if (!master) throw new ProviderError(`series master for ${op.key} not found`, { status: 404, code: 'notFound', retryable: false });
    }
    if (op.op === 'update') {
      const t = cal.get(op.targetId);
      if (!t) throw new ProviderError(`event ${op.targetId} not found`, { status: 404, code: 'notFound', retryable: false });
      if (op.etag && t.etag && op.etag !== t.etag) throw new ProviderError('etag mismatch', { status: 412, code: 'conditionNotMet', retryable: false });
      cal.set(t.id, { ...t, event: clone(op.event), stamp: { ...op.stamp, digest: contentDigest(op.event, 'UTC') }, etag: `e${++this.etagCounter}` });
      return { op, ok: true, targetId: t.id };
    }
    const id = MemoryCalendarProvider.idFor(op.stamp.syncId, op.key);
    const existing = cal.get(id);
    if (existing && (existing.stamp?.syncId !== op.stamp.syncId || existing.stamp?.sourceKey !== op.key)) {
      throw new ProviderError(`id ${id} already used by another event`, { status: 409, code: 'duplicate', retryable: false });
    }
    cal.set(id, { id, calendarId, event: clone(op.event), stamp: { ...op.stamp, digest: contentDigest(op.event, 'UTC') }, etag: `e${++this.etagCounter}` });
    return { op, ok: true, targetId: id, ...(existing ? { note: 'already existed (deterministic id) — reconciled' } : {}) };
  }
}
