/**
 * Chaos test of the whole sync (routing → listOwned → planSync → applyPlan → provider → HTTP),
 * for Google and Microsoft 365, against the emulator injecting ~10 % throttling with Retry-After
 * (Graph 429 with fractional Retry-After; Google 403 rateLimitExceeded / userRateLimitExceeded and
 * 429), ~5 % 5xx, ~2 % connection resets, per-part failures inside batches (partial batch
 * failures, Graph answers shuffled), and ~2 % writes whose response is lost after the server
 * executed them. Modelled limits stay on (Google 600/min per calendar, Graph 4 concurrent per
 * mailbox).
 *
 * Many rounds of random source changes (adds, edits, deletes, recurring series with moved and
 * cancelled occurrences, all-day, moves between rooms) over several rooms that hold people's own
 * events and another sync's. After every completed run the target — read raw through the
 * emulator's admin hooks, not through our provider — equals the desired state (key, fingerprint,
 * title, location, description, start, end, recurrence), has one live event per key, and the
 * foreign events are byte-identical to what was seeded. Also: a run aborted halfway and a run
 * whose process dies mid-write both converge on re-run without duplicates; two syncs of the same
 * rooms at once leave no duplicates, also when their clocks straddle the turn of an hour (7 s
 * before and after) (Google: deterministic ids; Graph: transactionId) — and, on the same kind of
 * race, an hour-bucketed transactionId is shown to leave a duplicate of every event — and when
 * they worked from different snapshots of the source, the next run converges (Graph can then hold
 * two events for a key for one run: see docs/performance.md "Concurrency and duplicates").
 *
 * Reproduce a failure with CHAOS_SEED=<seed printed below>; CHAOS_ROUNDS changes the round count.
 */
import { startEmulator, type Emulator } from '../../emulator';
import type { CalendarEvent } from '../../core/event';
import { syncCalendars, type SyncRunResult } from '../../providers/sync';
import type { ApplyOptions } from '../../providers/apply';
import type { CalendarProvider, HttpPort } from '../../providers/port';
import { createHash } from 'node:crypto';
import { createFetchHttpPort } from '../../providers/http';
import { GraphCalendarProvider } from '../../providers/graph';
import { MemoryKeyValueStore } from '../../providers/state';
import {
  CHAOS, NOW, Rng, SOURCE_ID, ZONE, SourceModel, chaosPolicy, desiredState, diffTarget, diffVisible, expectedVisible, fastSleep, googleHarness, graphHarness, type Harness,
} from './chaos-helpers';

const SEED = Number(process.env.CHAOS_SEED ?? 20261122);
const ROUNDS = Number(process.env.CHAOS_ROUNDS ?? 25);
const ROOMS = Number(process.env.CHAOS_ROOMS ?? 5);
const MAX_RUNS = 12;

jest.setTimeout(120_000);

let emu: Emulator;

beforeAll(async () => {
  emu = await startEmulator({ seed: SEED, limits: true });
  console.log(`chaos test: seed ${SEED}, ${ROUNDS} rounds, ${ROOMS} rooms (CHAOS_SEED=${SEED} reproduces this run)`);
});
afterAll(async () => {
  await emu.close();
});

const applyOptions: ApplyOptions = { sleep: fastSleep, retry: { maxRetries: 8, baseDelayMs: 200, maxDelayMs: 2000 } };

describe.each(['google', 'graph'] as const)(`%s under chaos (seed ${SEED})`, (kind) => {
  let h: Harness;
  let source: SourceModel;
  let rng: Rng;
  const stats = { runs: 0, notOk: 0, rounds: 0 };

  function sync(provider: CalendarProvider, desired: CalendarEvent[], extra: ApplyOptions = {}, now = NOW): Promise<SyncRunResult> {
    stats.runs++;
    return syncCalendars({ provider, desired, routing: h.routing, policy: chaosPolicy(), now, applyOptions: { ...applyOptions, ...extra } });
  }

  /** Re-runs (as a scheduler would) until a run completes without failures. */
  async function syncUntilOk(provider: CalendarProvider, desired: CalendarEvent[]): Promise<SyncRunResult> {
    const failures: string[] = [];
    for (let run = 1; run <= MAX_RUNS; run++) {
      const r = await sync(provider, desired);
      if (r.ok) return r;
      stats.notOk++;
      failures.push([...r.failedCalendars.map((f) => f.message), ...Object.values(r.report?.calendars ?? {}).flatMap((c) => c.errors.map((e) => `${e.key}: ${e.message}`))].slice(0, 3).join(' | '));
    }
    throw new Error(`no run completed in ${MAX_RUNS} attempts (seed ${SEED}):\n${failures.join('\n')}`);
  }

  /** Events carrying our stamp that this sync did not write (people's copies): left alone, so not part of the comparison. */
  const leftovers = new Set<string>();

  /** Stored events vs the desired state, what a person sees vs the source expanded, foreign events. */
  async function problems(provider: CalendarProvider, desired: CalendarEvent[], notOurs = new Set<string>()): Promise<string[]> {
    emu.faults.enabled = false; // the oracle's own reads are not under test
    try {
      return [
        ...diffTarget(h.rooms, desiredState(provider, desired, h.routing, chaosPolicy()), (room) => h.readOwned(room).filter((x) => !notOurs.has(x.id))),
        ...(notOurs.size ? [] : await diffVisible(h.rooms, expectedVisible(desired, h.routing), (room) => h.readVisible(room))),
        ...h.foreignProblems(),
      ];
    } finally {
      emu.faults.enabled = true;
    }
  }

  const duplicates = () => h.rooms.flatMap((room) => {
    const keys = h.readOwned(room).map((r) => r.key);
    return keys.filter((k, i) => keys.indexOf(k) !== i).map((k) => `${room}: ${k}`);
  });

  /** With the faults paused: planning again writes nothing (the target describes itself fully). */
  async function expectNoOpReplan(provider: CalendarProvider, desired: CalendarEvent[], label: string): Promise<void> {
    emu.faults.enabled = false;
    try {
      const dry = await syncCalendars({ provider, desired, routing: h.routing, policy: chaosPolicy(), now: NOW, dryRun: true });
      const writes = dry.plan.ops.filter((o) => o.action === 'create' || o.action === 'update' || o.action === 'delete').map((o) => `${o.action} ${o.calendarId} ${o.key}: ${o.reason}`);
      expect({ label, writes }).toEqual({ label, writes: [] });
    } finally {
      emu.faults.enabled = true;
    }
  }

  beforeAll(() => {
    emu.reset();
    emu.faults.seed(SEED);
    h = kind === 'google' ? googleHarness(emu, ROOMS, SEED) : graphHarness(emu, ROOMS, SEED);
    h.setup();
    rng = new Rng(SEED + (kind === 'google' ? 1 : 2));
    source = new SourceModel(new Rng(SEED), ROOMS);
    source.seed(60, 12);
  });
  afterAll(() => {
    const injected = emu.faults.injected.reduce<Record<string, number>>((acc, f) => {
      const k = f.limit ? `limit:${f.limit}` : f.fault;
      acc[k] = (acc[k] ?? 0) + 1;
      return acc;
    }, {});
    console.log(`${kind} chaos (seed ${SEED}): ${stats.rounds} rounds, ${stats.runs} runs (${stats.notOk} incomplete and re-run), ${emu.log.total} requests, faults ${JSON.stringify(injected)}`);
  });
  afterEach(() => {
    expect(emu.internalErrors).toEqual([]);
  });

  test(`${ROUNDS} rounds of random source changes: target = desired, no duplicates, foreign events untouched`, async () => {
    h.injectChaos(CHAOS);
    const provider = h.makeProvider();
    for (let round = 0; round < ROUNDS; round++) {
      const changes = round === 0 ? ['initial sync'] : source.mutate(6 + rng.int(10));
      const desired = source.events();
      await syncUntilOk(provider, desired);
      stats.rounds++;
      expect({ round, changes, problems: await problems(provider, desired) }).toEqual({ round, changes, problems: [] });
      await expectNoOpReplan(provider, desired, `round ${round}`);
    }
    expect(emu.faults.injected.length).toBeGreaterThan(20);
  });

  test('a run aborted halfway (AbortSignal) converges on re-run, with no duplicates at any point', async () => {
    source.mutate(40);
    const desired = source.events();
    const ctrl = new AbortController();
    let batches = 0;
    const killed = await sync(h.makeProvider(), desired, {
      batchSize: 4, concurrencyPerCalendar: 1, signal: ctrl.signal,
      onProgress: (e) => {
        if (e.type === 'batch-done' && ++batches === 3) ctrl.abort(new Error('worker shut down'));
      },
    });
    expect(killed.ok).toBe(false);
    expect(killed.report!.stopped).toMatch(/aborted/);
    expect(killed.report!.totals.notAttempted).toBeGreaterThan(0);
    expect(duplicates()).toEqual([]);
    const provider = h.makeProvider();
    await syncUntilOk(provider, desired);
    expect(await problems(provider, desired)).toEqual([]);
    await expectNoOpReplan(provider, desired, 'after abort');
  });

  test('a process that dies mid-write (the last responses lost, then nothing) converges on re-run', async () => {
    source.mutate(40);
    const desired = source.events();
    const dying = h.makeTransport();
    dying.killAfterWrites = 2;
    const killed = await sync(h.makeProvider(dying), desired, { retry: { maxRetries: 2 } });
    expect(killed.ok).toBe(false);
    expect(dying.killed).toBe(true);
    expect(duplicates()).toEqual([]);
    // A new process: fresh provider, fresh transport, nothing carried over.
    const provider = h.makeProvider();
    await syncUntilOk(provider, desired);
    expect(await problems(provider, desired)).toEqual([]);
  });

  test('two syncs of the same rooms at once (same source) leave no duplicates', async () => {
    source.mutate(30);
    const desired = source.events();
    // Two workers started a few seconds apart, as two schedulers would: their clocks differ.
    const [a, b] = await Promise.all([sync(h.makeProvider(), desired), sync(h.makeProvider(), desired, {}, NOW + 7_000)]);
    expect(duplicates()).toEqual([]);
    if (!a.ok || !b.ok) await syncUntilOk(h.makeProvider(), desired);
    const provider = h.makeProvider();
    expect(await problems(provider, desired)).toEqual([]);
    await expectNoOpReplan(provider, desired, 'after concurrent syncs');
  });

  test.each([
    ['7 s before the first', +3_000, -7_000],
    ['7 s after the first', -3_000, +7_000],
  ])('two syncs at once whose clocks straddle the turn of an hour (the second %s) leave no duplicates', async (_name, first, offset) => {
    source.mutate(30);
    const desired = source.events();
    // NOW is a turn of the hour: the two workers plan in different hours (a clock-derived Graph transactionId would differ).
    const a = NOW + first;
    const b = a + offset;
    expect(Math.floor(a / 3_600_000)).not.toBe(Math.floor(b / 3_600_000));
    const [ra, rb] = await Promise.all([sync(h.makeProvider(), desired, {}, a), sync(h.makeProvider(), desired, {}, b)]);
    expect(duplicates()).toEqual([]);
    if (!ra.ok || !rb.ok) await syncUntilOk(h.makeProvider(), desired);
    expect(duplicates()).toEqual([]);
    const provider = h.makeProvider();
    expect(await problems(provider, desired, leftovers)).toEqual([]);
    await expectNoOpReplan(provider, desired, 'after concurrent syncs across the hour');
  });

  test('two syncs at once from different snapshots of the source converge on the next run', async () => {
    const before = new Set(source.events().map((e) => e.uid));
    source.mutate(30);
    const first = source.events();
    // The feed changed between the two workers' fetches: every event new in this round differs.
    const fresh = new Set(first.filter((e) => !before.has(e.uid)).map((e) => e.uid));
    const second = first.map((e) => (fresh.has(e.uid) ? { ...e, title: `${e.title} (v2)` } : e));
    expect(fresh.size).toBeGreaterThan(0);
    await Promise.all([sync(h.makeProvider(), first), sync(h.makeProvider(), second)]);
    const dupes = duplicates();
    // Diagnostics only on request: a passing run prints nothing alarming (the assertions below decide).
    if (process.env.CHAOS_VERBOSE) console.log(`${kind}: concurrent syncs from different snapshots left ${dupes.length} duplicate key(s) before the next run`);
    // Google: the event id derives from syncId + key, so both workers wrote the same event.
    if (kind === 'google') expect(dupes).toEqual([]);
    const provider = h.makeProvider();
    await syncUntilOk(provider, second);
    expect(await problems(provider, second)).toEqual([]);
    await expectNoOpReplan(provider, second, 'after racing snapshots');
  });

  test('an event stamped with our key that this sync did not write (a copy, a leftover) is never deleted: shown as a conflict', async () => {
    const desired = source.events();
    const room = h.rooms[0];
    const victim = h.readOwned(room).find((r) => !r.content.recurrence)!;
    const before = new Set(h.readOwned(room).map((r) => r.id));
    h.seedDuplicate(room, victim.key, victim);
    const seeded = h.readOwned(room).find((r) => !before.has(r.id))!;
    const raw = h.rawJson(room, seeded.id);
    const provider = h.makeProvider();
    const r = await syncUntilOk(provider, desired);
    expect(r.plan.ops.some((o) => o.action === 'delete' && o.targetId === seeded.id)).toBe(false);
    expect(r.plan.conflicts.map((c) => c.targetId)).toContain(seeded.id);
    expect(h.rawJson(room, seeded.id)).toBe(raw);
    expect(await problems(provider, desired, new Set([seeded.id]))).toEqual([]);
    leftovers.add(seeded.id);
  });

  test('people copy, edit and (Google) delete one occurrence of synced events between runs: copies stay untouched (conflicts), edits are restored, under chaos', async () => {
    h.injectChaos(CHAOS);
    const provider = h.makeProvider();
    let occurrencesDeleted = 0;
    for (let round = 0; round < 4; round++) {
      const changes = source.mutate(4 + rng.int(6));
      const desired = source.events();
      await syncUntilOk(provider, desired);
      // Between runs, people at work in the rooms.
      const copies = new Map<string, string>();
      const edited: string[] = [];
      for (const room of h.rooms) {
        const ours = h.readOwned(room).filter((x) => !x.content.recurrence && x.inWindow && !leftovers.has(x.id));
        if (ours.length < 3) continue;
        const pick = (k: number) => ours[(rng.int(ours.length) + k) % ours.length];
        const copyId = h.copyEvent(room, pick(0).id);
        copies.set(`${room} ${copyId}`, h.rawJson(room, copyId)!);
        leftovers.add(copyId);
        const what = (['title', 'time', 'location'] as const)[rng.int(3)];
        const target = pick(1);
        h.editEvent(room, target.id, what);
        edited.push(`${room} ${target.id} ${what}`);
        const series = h.readOwned(room).find((x) => x.content.recurrence && x.inWindow);
        const occurrence = series ? await h.deleteOccurrence(room, series.id) : undefined;
        if (occurrence) {
          edited.push(`${room} ${occurrence} occurrence deleted`);
          occurrencesDeleted++;
        }
      }
      const r = await syncUntilOk(provider, desired);
      const restored = r.plan.ops.filter((o) => o.restored).map((o) => `${o.calendarId} ${o.targetId}`);
      expect({ round, changes, notRestored: edited.filter((e) => !restored.includes(e.split(' ').slice(0, 2).join(' '))) }).toEqual({ round, changes, notRestored: [] });
      for (const [where, raw] of copies) {
        const [room, id] = where.split(' ');
        expect({ round, copy: where, same: h.rawJson(room, id) === raw }).toEqual({ round, copy: where, same: true });
        expect(r.plan.conflicts.some((c) => c.targetId === id)).toBe(true);
      }
      expect({ round, changes, problems: await problems(provider, desired, leftovers) }).toEqual({ round, changes, problems: [] });
    }
    // Google lists an occurrence a person deleted and restores it; Microsoft 365 does not see it (docs/sync.md).
    if (kind === 'google') expect(occurrencesDeleted).toBeGreaterThan(0);
  });
});

/**
 * The hour boundary, shown both ways on one scenario: two workers sync the same new events into a
 * room, both listing it before either writes (a barrier holds each worker's first write until the
 * other has reached its own), with clocks on either side of the turn of an hour. The transactionId
 * the provider sends (clock-free: key, content, prior id) makes the second POST of each event a
 * duplicate the server drops: 0 duplicates. The same run with the id salted by each worker's hour
 * — what the former hour-bucketed run id did (runIdFor(plan.now) = the hour of the plan), rebuilt
 * here by rewriting the requests' transactionId — leaves a duplicate of every event.
 */
describe('graph: the transactionId across the turn of an hour, clock-free vs hour-bucketed', () => {
  const HOUR = 3_600_000;
  const state = new MemoryKeyValueStore();

  function newEvents(tag: string): CalendarEvent[] {
    return Array.from({ length: 4 }, (_, i) => ({
      uid: `hour-${tag}-${i}`, sourceId: SOURCE_ID, title: `Hour ${tag} ${i}`,
      start: { dateTime: `2026-12-0${i + 1}T10:00:00`, timeZone: ZONE }, end: { dateTime: `2026-12-0${i + 1}T11:00:00`, timeZone: ZONE },
    }));
  }

  /** Two workers' ports: each one's first write waits until both got there (or 5 s passed); `salt` rewrites its creates' transactionId. */
  function workers(salt?: (worker: number) => string): HttpPort[] {
    const inner = createFetchHttpPort({ token: { getToken: async () => emu.graph.issueToken(), invalidate: () => undefined } });
    let arrived = 0;
    let open!: () => void;
    const gate = new Promise<void>((r) => { open = r; });
    const timer = setTimeout(open, 5_000);
    return [0, 1].map((w) => {
      let first = true;
      return async (req) => {
        if (req.method !== 'GET') {
          if (first) {
            first = false;
            if (++arrived === 2) {
              clearTimeout(timer);
              open();
            }
          }
          await gate;
        }
        const body = salt && typeof req.body === 'string'
          ? req.body.replace(/"transactionId":"([^"]+)"/g, (_m, id: string) => `"transactionId":"${hourSalted(id, salt(w))}"`)
          : req.body;
        return inner({ ...req, body });
      };
    });
  }

  /** A GUID-shaped id from the real one and the worker's hour (what an hour-bucketed derivation yields). */
  function hourSalted(id: string, hour: string): string {
    const h = createHash('sha256').update(`${id}|${hour}`).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  }

  const rooms = { before: 'hour-room-before@contoso.example', after: 'hour-room-after@contoso.example' };
  let room = rooms.before;
  const plain = createFetchHttpPort({ token: { getToken: async () => emu.graph.issueToken(), invalidate: () => undefined } });
  const duplicatesIn = () => {
    const keys = emu.graph.listRaw(room).map((e) => e.singleValueExtendedProperties.find((p) => p.id.endsWith('CalendarRelayKey'))?.value).filter(Boolean);
    return keys.filter((k, i) => keys.indexOf(k) !== i);
  };
  const run = (port: HttpPort, desired: CalendarEvent[], now: number) => syncCalendars({
    provider: new GraphCalendarProvider({ http: port, baseUrl: `${emu.url}/v1.0`, defaultTimeZone: ZONE, stateStore: state }),
    desired, routing: { target: [room] }, policy: chaosPolicy(), now,
  });

  let faultsWere = true;
  beforeAll(() => {
    faultsWere = emu.faults.enabled;
    emu.faults.enabled = false; // the timing is the subject here, not the faults
    for (const r of Object.values(rooms)) emu.graph.addRoom({ email: r, displayName: 'Hour room' });
  });
  afterAll(() => {
    emu.faults.enabled = faultsWere;
  });

  test.each([
    ['7 s before the first', +3_000, -7_000],
    ['7 s after the first', -3_000, +7_000],
  ])('second worker %s: clock-free id 0 duplicates, hour-bucketed id a duplicate of every event', async (_name, first, offset) => {
    const a = NOW + first;
    const b = a + offset;
    expect(Math.floor(a / HOUR)).not.toBe(Math.floor(b / HOUR));
    const tag = offset < 0 ? 'before' : 'after';
    room = rooms[tag];
    // The ids as sent.
    const real = workers();
    const clockFree = [...newEvents(`${tag}-real`)];
    const [ra, rb] = await Promise.all([run(real[0], clockFree, a), run(real[1], clockFree, b)]);
    expect(ra.ok && rb.ok).toBe(true);
    expect(ra.plan.counts.create + rb.plan.counts.create).toBe(8); // both planned every create: both listed before either wrote
    expect(duplicatesIn()).toEqual([]);
    // The same, with each worker's hour in the id.
    const hours = [`h${Math.floor(a / HOUR)}`, `h${Math.floor(b / HOUR)}`];
    const bucketed = workers((w) => hours[w]);
    const withHour = [...clockFree, ...newEvents(`${tag}-hour`)];
    const [ha, hb] = await Promise.all([run(bucketed[0], withHour, a), run(bucketed[1], withHour, b)]);
    expect(ha.plan.counts.create + hb.plan.counts.create).toBe(8);
    expect(duplicatesIn().sort()).toEqual(newEvents(`${tag}-hour`).map((e) => `k1 ${SOURCE_ID} u:${e.uid}`).sort());
    // The next run removes them again (exact doubles), as for any race.
    const clean = await run(plain, withHour, b + 60_000);
    expect(clean.ok).toBe(true);
    expect(duplicatesIn()).toEqual([]);
  });
});
