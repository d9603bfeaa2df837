/**
 * Building blocks of the chaos test (test/contract/chaos.test.ts): a seeded random source model
 * (singles, all-day, recurring series with moved and cancelled occurrences, moves between rooms),
 * one harness per provider (rooms, people's own events, chaos rules, providers over lossy
 * transports), and an oracle that reads the target through the emulator's admin `listRaw` — never
 * through our own provider — and lists every way it differs from the desired state.
 */
import type { CalendarEvent, EventTime } from '../../core/event';
import { planSync } from '../../core/plan';
import { expandOccurrences } from '../../core/recurrence/expand';
import { routeEvents, type RoutingConfig } from '../../core/routing';
import type { SyncPolicy } from '../../core/sync-types';
import { formatDate, MS, parseWall, wallToUtc } from '../../core/time';
import { windowsToIana } from '../../core/ics/timezones';
import type { Emulator } from '../../emulator';
import { expandSeries } from '../../emulator/google/recurrence';
import { createFetchHttpPort } from '../../providers/http';
import { TransportError, type CalendarProvider, type HttpPort } from '../../providers/port';
import type { Sleep } from '../../providers/retry';
import { GoogleCalendarProvider, stampFromProperties, stampToProperties } from '../../providers/google';
import { GraphCalendarProvider, PROPERTY_IDS } from '../../providers/graph';
import { seededRandom } from '../../emulator/prng';
import { MemoryKeyValueStore } from '../../providers/state';

export const SYNC_ID = 'chaos-sync';
export const OTHER_SYNC_ID = 'someone-elses-sync';
export const ZONE = 'Europe/Berlin';
export const SOURCE_ID = 'feed';
/** Planner clock (fixed, so plans are reproducible). */
export const NOW = Date.UTC(2026, 10, 22, 8, 0, 0);
export const WINDOW = { from: NOW - 7 * MS.DAY, to: NOW + 150 * MS.DAY };
/** Day 0 of the source model: Monday 2026-11-30. */
const BASE_DAY = Date.UTC(2026, 10, 30);

// ---- seeded randomness ----------------------------------------------------------------------


export class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = seededRandom(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

// ---- the source model -------------------------------------------------------------------------

type SingleKind = 'zoned' | 'utc' | 'allday';
type Pattern = 'weekly' | 'daily2' | 'mwf' | 'hours' | 'allday-weekly' | 'utc-weekly';

interface SingleSpec {
  type: 'single';
  uid: string;
  title: string;
  description?: string;
  room: number;
  kind: SingleKind;
  day: number;
  /** Minutes after midnight (timed kinds). */
  minute: number;
  durationMin: number;
  /** All-day length in days. */
  days: number;
}

type OverrideSpec = { kind: 'moved'; shiftMin: number; title: string; room?: number } | { kind: 'cancelled' };

interface SeriesSpec {
  type: 'series';
  uid: string;
  title: string;
  room: number;
  pattern: Pattern;
  day: number;
  count: number;
  overrides: Map<number, OverrideSpec>;
}

const PATTERNS: Record<Pattern, { rrule: (count: number) => string; minute: number; allDay?: boolean; utc?: boolean; durationMin: number }> = {
  weekly: { rrule: (c) => `FREQ=WEEKLY;COUNT=${c}`, minute: 10 * 60, durationMin: 90 },
  daily2: { rrule: (c) => `FREQ=DAILY;INTERVAL=2;COUNT=${c}`, minute: 14 * 60, durationMin: 60 },
  // Starts on a Monday (series days are multiples of 7).
  mwf: { rrule: (c) => `FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=${c}`, minute: 8 * 60 + 15, durationMin: 45 },
  // Does not fit Graph's patternedRecurrence (BYHOUR): always expanded there.
  hours: { rrule: (c) => `FREQ=DAILY;BYHOUR=9,15;COUNT=${c}`, minute: 9 * 60, durationMin: 30 },
  'allday-weekly': { rrule: (c) => `FREQ=WEEKLY;COUNT=${c}`, minute: 0, allDay: true, durationMin: 0 },
  'utc-weekly': { rrule: (c) => `FREQ=WEEKLY;COUNT=${c}`, minute: 12 * 60, utc: true, durationMin: 60 },
};

function dayDate(day: number): string {
  return formatDate(BASE_DAY + day * MS.DAY);
}

function wallTime(day: number, minute: number): string {
  const ms = BASE_DAY + day * MS.DAY + minute * 60_000;
  return new Date(ms).toISOString().slice(0, 19);
}

/** Offsets (day, minute) of occurrence `k` of a series, from its pattern. */
function occurrenceAt(s: SeriesSpec, k: number): { day: number; minute: number } {
  const p = PATTERNS[s.pattern];
  switch (s.pattern) {
    case 'daily2': return { day: s.day + 2 * k, minute: p.minute };
    case 'mwf': return { day: s.day + 7 * Math.floor(k / 3) + [0, 2, 4][k % 3], minute: p.minute };
    case 'hours': return { day: s.day + Math.floor(k / 2), minute: k % 2 === 0 ? 9 * 60 : 15 * 60 };
    default: return { day: s.day + 7 * k, minute: p.minute };
  }
}

/** The source: what a feed delivers each round. Mutated at random, reproducibly. */
export class SourceModel {
  private readonly specs = new Map<string, SingleSpec | SeriesSpec>();
  private counter = 0;
  /** What the last mutate() did, for failure messages. */
  lastChanges: string[] = [];

  constructor(private readonly rng: Rng, readonly rooms: number) {}

  seed(singles: number, series: number): void {
    for (let i = 0; i < singles; i++) this.addSingle();
    for (let i = 0; i < series; i++) this.addSeries();
  }

  private roomName(n: number): string {
    return `Room ${n + 1}`;
  }

  private addSingle(): SingleSpec {
    const r = this.rng;
    const s: SingleSpec = {
      type: 'single', uid: `s${++this.counter}`, title: `Lecture ${this.counter}`, room: r.int(this.rooms),
      kind: r.pick(['zoned', 'zoned', 'utc', 'allday'] as const), day: r.int(90), minute: (7 + r.int(11)) * 60 + r.pick([0, 15, 30, 45]),
      durationMin: r.pick([30, 45, 60, 90, 120]), days: r.pick([1, 1, 2]),
      ...(r.chance(0.5) ? { description: `Notes ${this.counter}` } : {}),
    };
    this.specs.set(s.uid, s);
    return s;
  }

  private addSeries(): SeriesSpec {
    const r = this.rng;
    const pattern = r.pick(['weekly', 'weekly', 'daily2', 'mwf', 'hours', 'allday-weekly', 'utc-weekly'] as const);
    const s: SeriesSpec = {
      type: 'series', uid: `r${++this.counter}`, title: `Course ${this.counter}`, room: r.int(this.rooms), pattern,
      day: 7 * r.int(10), count: 3 + r.int(4), overrides: new Map(),
    };
    this.specs.set(s.uid, s);
    return s;
  }

  private all<T extends 'single' | 'series'>(type: T): Array<Extract<SingleSpec | SeriesSpec, { type: T }>> {
    return [...this.specs.values()].filter((s) => s.type === type) as Array<Extract<SingleSpec | SeriesSpec, { type: T }>>;
  }

  /** Applies `n` random changes; returns (and keeps) a one-line description of each. */
  mutate(n: number): string[] {
    const r = this.rng;
    const done: string[] = [];
    for (let i = 0; i < n; i++) {
      const singles = this.all('single');
      const series = this.all('series');
      const roll = r.int(100);
      if (roll < 18 || singles.length === 0) {
        done.push(`add single ${this.addSingle().uid}`);
      } else if (roll < 24 || series.length === 0) {
        done.push(`add series ${this.addSeries().uid}`);
      } else if (roll < 34) {
        const s = r.pick(singles);
        s.title = `${s.title}*`;
        done.push(`retitle ${s.uid}`);
      } else if (roll < 42) {
        const s = r.pick(singles);
        s.day = Math.max(0, Math.min(95, s.day + r.pick([-2, -1, 1, 3])));
        s.minute = Math.max(6 * 60, Math.min(20 * 60, s.minute + r.pick([-60, 30, 90])));
        done.push(`reschedule ${s.uid}`);
      } else if (roll < 50) {
        const s = r.pick(singles);
        s.room = (s.room + 1 + r.int(this.rooms - 1)) % this.rooms;
        done.push(`move ${s.uid} to room ${s.room + 1}`);
      } else if (roll < 53) {
        const s = r.pick(singles);
        s.kind = s.kind === 'allday' ? 'zoned' : 'allday';
        done.push(`make ${s.uid} ${s.kind}`);
      } else if (roll < 56) {
        const s = r.pick(singles);
        s.description = s.description ? undefined : `Added notes ${s.uid}`;
        done.push(`change description of ${s.uid}`);
      } else if (roll < 66) {
        const s = r.pick(singles);
        this.specs.delete(s.uid);
        done.push(`delete ${s.uid}`);
      } else if (roll < 70) {
        const s = r.pick(series);
        this.specs.delete(s.uid);
        done.push(`delete series ${s.uid}`);
      } else if (roll < 75) {
        const s = r.pick(series);
        s.title = `${s.title}*`;
        done.push(`retitle series ${s.uid}`);
      } else if (roll < 79) {
        const s = r.pick(series);
        s.room = (s.room + 1 + r.int(this.rooms - 1)) % this.rooms;
        done.push(`move series ${s.uid} to room ${s.room + 1}`);
      } else if (roll < 87) {
        const s = r.pick(series);
        const k = r.int(s.count);
        const elsewhere = r.chance(0.25) ? (s.room + 1) % this.rooms : undefined;
        s.overrides.set(k, { kind: 'moved', shiftMin: PATTERNS[s.pattern].allDay ? 24 * 60 : r.pick([60, 120, -60]), title: `Moved ${s.title} #${k}`, ...(elsewhere !== undefined ? { room: elsewhere } : {}) });
        done.push(`move occurrence ${k} of ${s.uid}${elsewhere !== undefined ? ` to room ${elsewhere + 1}` : ''}`);
      } else if (roll < 94) {
        const s = r.pick(series);
        const k = r.int(s.count);
        s.overrides.set(k, { kind: 'cancelled' });
        done.push(`cancel occurrence ${k} of ${s.uid}`);
      } else {
        const s = r.pick(series);
        const ks = [...s.overrides.keys()];
        if (ks.length) {
          const k = r.pick(ks);
          s.overrides.delete(k);
          done.push(`drop override ${k} of ${s.uid}`);
        } else {
          s.count = Math.min(8, s.count + 1);
          done.push(`lengthen ${s.uid} to ${s.count}`);
        }
      }
    }
    this.lastChanges = done;
    return done;
  }

  /** The feed's events this round. */
  events(): CalendarEvent[] {
    const out: CalendarEvent[] = [];
    for (const s of this.specs.values()) {
      if (s.type === 'single') out.push(this.singleEvent(s));
      else out.push(...this.seriesEvents(s));
    }
    return out;
  }

  private singleEvent(s: SingleSpec): CalendarEvent {
    const base = { uid: s.uid, sourceId: SOURCE_ID, title: s.title, location: this.roomName(s.room), ...(s.description ? { description: s.description } : {}) };
    if (s.kind === 'allday') return { ...base, start: { date: dayDate(s.day) }, end: { date: dayDate(s.day + s.days) } };
    const start = wallTime(s.day, s.minute);
    const end = wallTime(s.day, s.minute + s.durationMin);
    if (s.kind === 'utc') return { ...base, start: { dateTime: `${start}Z` }, end: { dateTime: `${end}Z` } };
    return { ...base, start: { dateTime: start, timeZone: ZONE }, end: { dateTime: end, timeZone: ZONE } };
  }

  private time(p: (typeof PATTERNS)[Pattern], day: number, minute: number): EventTime {
    if (p.allDay) return { date: dayDate(day) };
    const wall = wallTime(day, minute);
    return p.utc ? { dateTime: `${wall}Z` } : { dateTime: wall, timeZone: ZONE };
  }

  private seriesEvents(s: SeriesSpec): CalendarEvent[] {
    const p = PATTERNS[s.pattern];
    const span = (day: number, minute: number) => ({
      start: this.time(p, day, minute),
      end: p.allDay ? this.time(p, day + 1, 0) : this.time(p, day, minute + p.durationMin),
    });
    const master: CalendarEvent = {
      uid: s.uid, sourceId: SOURCE_ID, title: s.title, location: this.roomName(s.room), ...span(s.day, p.minute),
      recurrence: { rrule: [p.rrule(s.count)], rdate: [], exdate: [] },
    };
    const out = [master];
    for (const [k, o] of [...s.overrides].sort((a, b) => a[0] - b[0])) {
      if (k >= s.count) continue;
      const at = occurrenceAt(s, k);
      const recurrenceId = this.time(p, at.day, at.minute);
      if (o.kind === 'cancelled') {
        out.push({ uid: s.uid, sourceId: SOURCE_ID, title: s.title, location: master.location, recurrenceId, status: 'CANCELLED', ...span(at.day, at.minute) });
      } else {
        const shifted = p.allDay ? span(at.day + o.shiftMin / (24 * 60), 0) : span(at.day, at.minute + o.shiftMin);
        out.push({ uid: s.uid, sourceId: SOURCE_ID, title: o.title, location: this.roomName(o.room ?? s.room), recurrenceId, ...shifted });
      }
    }
    return out;
  }
}

// ---- comparing the target with the desired state ----------------------------------------------

/** The content fields compared between the desired state and the raw target. */
export interface Content {
  title: string;
  location: string;
  description: string;
  start: string;
  end: string;
  /** Normalised recurrence: '' for none. */
  recurrence: string;
}

export interface ExpectedEvent {
  fingerprint: string;
  content: Content;
  /**
   * Desired but with nothing to show inside the window (a series whose occurrences are all
   * cancelled or routed elsewhere): a copy written while it still had some may stay on the target,
   * not rewritten (diffVisible checks that nothing of it shows).
   */
  optional?: boolean;
}

export interface RawOwned {
  id: string;
  key: string;
  fingerprint: string;
  content: Content;
  /** False for a series of which nothing falls inside the window (left alone there, like any event outside it). */
  inWindow?: boolean;
}

function instant(dateTime: string, zone: string | undefined): string {
  const dt = dateTime.replace(/\.\d+/, '');
  if (/Z$/.test(dt)) return `T:${parseWall(dt.slice(0, -1))}`;
  const off = /([+-])(\d\d):(\d\d)$/.exec(dt);
  if (off) return `T:${parseWall(dt.slice(0, -6)) - (off[1] === '+' ? 1 : -1) * (Number(off[2]) * 60 + Number(off[3])) * 60_000}`;
  const iana = zone === undefined ? ZONE : zone === 'UTC' ? 'UTC' : (windowsToIana(zone) ?? zone);
  return `T:${wallToUtc(parseWall(dt), iana)}`;
}

function normTime(t: EventTime): string {
  if (t.date !== undefined) return `D:${t.date}`;
  return instant(t.dateTime ?? '', t.timeZone);
}

function normRule(rule: string): string {
  return rule.replace(/^RRULE:/i, '').split(';').filter((p) => p && !/^INTERVAL=1$/i.test(p) && !/^WKST=MO$/i.test(p)).sort().join(';');
}

/** "RRULE parts | EXDATE instants" — the recurrence as both sides must agree on it (Google). */
function recurrenceOf(e: CalendarEvent): string {
  if (!e.recurrence) return '';
  const ex = e.recurrence.exdate.map(normTime).sort();
  return `${e.recurrence.rrule.map(normRule).sort().join(' + ')} | ${ex.join(',')}`;
}

function googleRecurrence(lines: string[] | undefined): string {
  if (!lines?.length) return '';
  const rules: string[] = [];
  const ex: string[] = [];
  for (const line of lines) {
    const m = /^([A-Z]+)((?:;[^:]*)?):(.*)$/i.exec(line);
    if (!m) continue;
    const name = m[1].toUpperCase();
    if (name === 'RRULE') rules.push(normRule(m[3]));
    if (name !== 'EXDATE') continue;
    const params = m[2];
    const tzid = /TZID=([^;:]+)/i.exec(params)?.[1];
    const isDate = /VALUE=DATE(?!-)/i.test(params);
    for (const v of m[3].split(',')) {
      const c = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?$/.exec(v.trim());
      if (!c) continue;
      const date = `${c[1]}-${c[2]}-${c[3]}`;
      if (isDate || !c[4]) ex.push(`D:${date}`);
      else ex.push(instant(`${date}T${c[4]}:${c[5]}:${c[6]}${c[7]}`, c[7] ? undefined : (tzid ?? 'UTC')));
    }
  }
  return `${rules.sort().join(' + ')} | ${ex.sort().join(',')}`;
}

/** Graph keeps a pattern, not an RRULE: compare what both sides can state (recurring, count). */
function graphRecurrenceOfEvent(e: CalendarEvent): string {
  if (!e.recurrence) return '';
  const count = /COUNT=(\d+)/i.exec(e.recurrence.rrule.join(';'))?.[1];
  return `recurring${count ? ` x${count}` : ''}`;
}

function contentOf(e: CalendarEvent, recurrence: (e: CalendarEvent) => string): Content {
  return {
    title: e.title ?? '', location: e.location ?? '', description: e.description ?? '',
    start: normTime(e.start), end: normTime(e.end), recurrence: recurrence(e),
  };
}

/**
 * The desired state per calendar: what a sync into an EMPTY target would create (the planner's
 * view of the desired side: routing, windows, series kept or expanded per provider). The oracle
 * then compares that with what the target actually holds.
 */
export function desiredState(provider: CalendarProvider, events: CalendarEvent[], routing: RoutingConfig, policy: SyncPolicy): Map<string, Map<string, ExpectedEvent>> {
  const plan = planSync(routeEvents(events, routing), [], { ...policy, seriesSupport: (m, o) => provider.capabilities.seriesSupport(m, o) }, NOW);
  const out = new Map<string, Map<string, ExpectedEvent>>();
  const rec = provider.kind === 'google' ? recurrenceOf : graphRecurrenceOfEvent;
  for (const op of plan.ops) {
    const optional = op.action === 'skip' && op.reason === 'outside sync window';
    if (op.action !== 'create' && !optional) continue;
    let m = out.get(op.calendarId);
    if (!m) out.set(op.calendarId, (m = new Map()));
    m.set(op.key, optional ? { fingerprint: '', content: contentOf({ uid: '', title: '', start: { date: '1970-01-01' }, end: { date: '1970-01-02' } }, rec), optional } : { fingerprint: op.fingerprint!, content: contentOf(op.event!, rec) });
  }
  return out;
}

/**
 * An instance override the source no longer has (`<master> r:<occurrence>`) stays on the target
 * written as its series has it (core/plan.ts restoredOccurrence): the master's title, location
 * and description at the occurrence's original start, with the master's duration. Its fingerprint
 * is whatever that content gives (checked through the content, not recomputed here).
 */
function restoredOccurrence(key: string, want: Map<string, ExpectedEvent>): ExpectedEvent | undefined {
  const m = / r:(\d{8})(?:T(\d{2})(\d{2})(\d{2})Z)?$/.exec(key);
  const master = m ? want.get(key.slice(0, m.index)) : undefined;
  if (!m || !master?.content.recurrence || master.optional) return undefined;
  const date = `${m[1].slice(0, 4)}-${m[1].slice(4, 6)}-${m[1].slice(6, 8)}`;
  const { start: ms, end: me } = master.content;
  let start: string;
  let end: string;
  if (!m[2]) {
    if (!ms.startsWith('D:')) return undefined;
    const days = (Date.parse(me.slice(2)) - Date.parse(ms.slice(2))) / MS.DAY;
    start = `D:${date}`;
    end = `D:${formatDate(Date.parse(date) + days * MS.DAY)}`;
  } else {
    if (!ms.startsWith('T:')) return undefined;
    const at = Date.parse(`${date}T${m[2]}:${m[3]}:${m[4]}Z`);
    start = `T:${at}`;
    end = `T:${at + Number(me.slice(2)) - Number(ms.slice(2))}`;
  }
  return { fingerprint: '(restored)', content: { ...master.content, start, end, recurrence: '' } };
}

/** Every difference between the target (raw) and the desired state, as readable lines. */
export function diffTarget(rooms: string[], expected: Map<string, Map<string, ExpectedEvent>>, readOwned: (room: string) => RawOwned[]): string[] {
  const problems: string[] = [];
  for (const room of rooms) {
    const want = expected.get(room) ?? new Map<string, ExpectedEvent>();
    const have = new Map<string, RawOwned[]>();
    for (const r of readOwned(room)) have.set(r.key, [...(have.get(r.key) ?? []), r]);
    for (const [key, rs] of have) {
      if (rs.length > 1) problems.push(`${room}: DUPLICATE ${rs.length} live events for key "${key}" (${rs.map((r) => r.id).join(', ')})`);
      const w = want.get(key) ?? restoredOccurrence(key, want);
      if (!w && rs.every((r) => r.inWindow === false)) continue; // outside the window: neither created nor deleted
      if (!w) {
        problems.push(`${room}: unexpected owned event "${key}" (${rs[0].id}, ${rs[0].content.title})`);
        continue;
      }
      if (w.optional) continue;
      for (const r of rs) {
        if (r.fingerprint !== w.fingerprint && w.fingerprint !== '(restored)') problems.push(`${room}: "${key}" has fingerprint ${r.fingerprint}, desired ${w.fingerprint}`);
        for (const f of Object.keys(w.content) as Array<keyof Content>) {
          if (r.content[f] !== w.content[f]) problems.push(`${room}: "${key}" ${f} is ${JSON.stringify(r.content[f])}, desired ${JSON.stringify(w.content[f])}`);
        }
      }
    }
    for (const [key, w] of want) if (!have.has(key) && !w.optional) problems.push(`${room}: missing "${key}"`);
  }
  return problems;
}

/**
 * The occurrences a person should see per room, computed independently of the planner: the
 * source expanded by core/recurrence (overrides applied, cancelled ones dropped), each occurrence
 * routed by its own location (a moved occurrence can sit in another room than its series).
 */
export function expectedVisible(events: CalendarEvent[], routing: RoutingConfig): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const map = new Map(Object.entries(routing.map ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
  for (const o of expandOccurrences(events, WINDOW.from, WINDOW.to, { floatingZone: ZONE }).occurrences) {
    const room = map.get((o.event.location ?? '').toLowerCase());
    if (!room) continue;
    out.set(room, [...(out.get(room) ?? []), visibleLine(o.title, o.start, o.end)]);
  }
  return out;
}

export function visibleLine(title: string, start: EventTime, end: EventTime): string {
  return `${title} | ${normTime(start)} | ${normTime(end)}`;
}

/** Multiset difference of visible occurrences, per room. */
export async function diffVisible(rooms: string[], expected: Map<string, string[]>, readVisible: (room: string) => Promise<string[]>): Promise<string[]> {
  const problems: string[] = [];
  for (const room of rooms) {
    const want = [...(expected.get(room) ?? [])].sort();
    const have = (await readVisible(room)).sort();
    const left = [...have];
    for (const w of want) {
      const i = left.indexOf(w);
      if (i >= 0) left.splice(i, 1);
      else problems.push(`${room}: occurrence not visible: ${w}`);
    }
    for (const extra of left) problems.push(`${room}: unexpected visible occurrence: ${extra}`);
  }
  return problems;
}

// ---- harnesses: one per provider ---------------------------------------------------------------

export interface ChaosLevels {
  /** Share of requests (top level and batch parts) answered with a throttle + Retry-After. */
  throttle: number;
  serverError: number;
  /** Share of top-level requests whose connection is reset before an answer. */
  reset: number;
  /** Share of writes whose response is lost AFTER the server executed them (transport). */
  lostResponse: number;
}

export const CHAOS: ChaosLevels = { throttle: 0.1, serverError: 0.05, reset: 0.02, lostResponse: 0.02 };

/** Retry-After values are honoured but scaled down, so the test does not wait real seconds. */
export const fastSleep: Sleep = (ms) => new Promise((r) => setTimeout(r, Math.min(15, Math.ceil(ms / 100))));

/**
 * A transport that loses the response of some writes after the server executed them (the most
 * dangerous failure for duplicates), and can be "killed": from then on every request fails
 * without reaching the server, like a process that died.
 */
export class HostileTransport {
  killed = false;
  writes = 0;
  lost = 0;
  /** Kill after this many writes have been sent (their responses are lost too). */
  killAfterWrites = Infinity;
  constructor(private readonly inner: HttpPort, private readonly rng: Rng, private readonly lostShare: number) {}

  readonly port: HttpPort = async (req) => {
    if (this.killed) throw new TransportError(`${req.method} ${req.url}: process killed`, 'KILLED');
    if (req.method === 'GET') return this.inner(req);
    this.writes++;
    const res = await this.inner(req);
    if (this.writes >= this.killAfterWrites) this.killed = true;
    if (this.killed || this.rng.chance(this.lostShare)) {
      this.lost++;
      throw new TransportError(`${req.method} ${req.url}: response lost (the server executed the request)`, 'ECONNRESET');
    }
    return res;
  };
}

export interface Harness {
  kind: 'google' | 'graph';
  rooms: string[];
  routing: RoutingConfig;
  /** A fresh provider (a new worker/process) over its own hostile transport. */
  makeProvider(transport?: HostileTransport): CalendarProvider;
  makeTransport(lostShare?: number): HostileTransport;
  /** Creates the rooms and seeds people's own events (and another sync's); snapshots them. */
  setup(): void;
  injectChaos(levels: ChaosLevels): void;
  /** Live events stamped with SYNC_ID, read raw from the emulator. */
  readOwned(room: string): RawOwned[];
  /**
   * What a person sees in the room: every occurrence of our events (series expanded BY THE
   * EMULATOR — Google singleEvents=true, Graph calendarView), as "title | start | end" lines.
   */
  readVisible(room: string): Promise<string[]>;
  /** Differences between the seeded foreign events now and at setup (must stay empty). */
  foreignProblems(): string[];
  /** Adds an event stamped with `key` that this sync did not write (a person's copy, a leftover no record vouches for). */
  seedDuplicate(room: string, key: string, like: RawOwned): void;
  /** A person copies an event in the calendar UI (same content and stamp, new id); returns the copy's id. */
  copyEvent(room: string, id: string): string;
  /** A person edits an event's title, time or location in the calendar UI. */
  editEvent(room: string, id: string, what: 'title' | 'time' | 'location'): void;
  /** The stored JSON of an event (to show it stayed untouched). */
  rawJson(room: string, id: string): string | undefined;
  /** A person deletes one (plain) occurrence of series `id` inside the window; returns the occurrence's id (Google only: undefined elsewhere). */
  deleteOccurrence(room: string, id: string): Promise<string | undefined>;
}

function roomMap(rooms: string[]): RoutingConfig {
  return { by: { kind: 'location' }, map: Object.fromEntries(rooms.map((r, i) => [`Room ${i + 1}`, r])) };
}

/**
 * Read retries are the providers' own (providers/retry.ts withReadRetries, which each provider
 * puts over its port), with Retry-After scaled down by fastSleep. The transport itself does not
 * retry: a retrying transport under HostileTransport would be hidden from the providers' wrapper
 * and every read would be retried twice, the providers' retries sleeping for real.
 */
const readRetry = { maxRetries: 6, baseDelayMs: 100, maxDelayMs: 1000, sleep: fastSleep };

export function googleHarness(emu: Emulator, roomCount: number, seed: number): Harness {
  const rooms = Array.from({ length: roomCount }, (_, i) => `chaos-room-${i + 1}@resource.calendar.google.com`);
  const rng = new Rng(seed ^ 0x600913);
  const snapshot = new Map<string, string>();
  const foreignIds = new Map<string, string[]>();
  const h: Harness = {
    kind: 'google', rooms, routing: roomMap(rooms),
    makeTransport: (lostShare = CHAOS.lostResponse) => new HostileTransport(
      createFetchHttpPort({ token: { getToken: async () => emu.google.issueAccessToken(), invalidate: () => undefined } }), rng, lostShare),
    makeProvider: (t = h.makeTransport()) => new GoogleCalendarProvider({ http: t.port, rootUrl: `${emu.url}/`, defaultTimeZone: ZONE, readRetry }),
    setup() {
      for (const [i, room] of rooms.entries()) {
        emu.google.createCalendar(room, { timeZone: ZONE });
        const d = dayDate(3 + i);
        const seeded = [
          emu.google.seedEvent(room, { summary: `Booked by a person ${i}`, location: `Room ${i + 1}`, start: { dateTime: `${d}T09:00:00+01:00` }, end: { dateTime: `${d}T10:00:00+01:00` } }),
          emu.google.seedEvent(room, { summary: 'Closed', start: { date: dayDate(20 + i) }, end: { date: dayDate(21 + i) } }),
          emu.google.seedEvent(room, { summary: 'Weekly cleaning', start: { dateTime: `${d}T07:00:00`, timeZone: ZONE }, end: { dateTime: `${d}T07:30:00`, timeZone: ZONE }, recurrence: ['RRULE:FREQ=WEEKLY;COUNT=10'] }),
          // Another sync's event, stamped with the very key our source uses for "s1".
          emu.google.seedEvent(room, {
            summary: 'Other tool', start: { dateTime: `${d}T11:00:00Z` }, end: { dateTime: `${d}T12:00:00Z` },
            extendedProperties: { private: stampToProperties({ syncId: OTHER_SYNC_ID, sourceKey: `k1 ${SOURCE_ID} u:s1`, fingerprint: 'f1-other' }) },
          }),
        ];
        foreignIds.set(room, seeded.map((e) => e.id as string));
        for (const e of emu.google.listRaw(room)) snapshot.set(`${room} ${e.id}`, JSON.stringify(e));
      }
    },
    injectChaos(l) {
      emu.faults.chaos({ api: 'google', inBatch: false, probability: l.reset, faults: [{ kind: 'reset' }] });
      const top = l.throttle + l.serverError;
      // 2:1 throttle to 5xx; throttles as 403 rateLimitExceeded, 403 userRateLimitExceeded and 429.
      const mix = [{ kind: 'throttle' as const }, { kind: 'throttle' as const, status: 429 as const }, { kind: 'throttle' as const, reason: 'userRateLimitExceeded' }, { kind: 'throttle' as const, status: 429 as const }, { kind: 'error' as const, status: 503 as const }, { kind: 'error' as const, status: 500 as const }];
      emu.faults.chaos({ api: 'google', inBatch: false, probability: top / (1 - l.reset), faults: mix });
      emu.faults.chaos({ api: 'google', inBatch: true, probability: top, faults: mix });
    },
    readOwned(room) {
      const raw = emu.google.listRaw(room);
      const byId = new Map(raw.map((e) => [e.id as string, e]));
      const out: RawOwned[] = [];
      for (const e of raw) {
        if (e.status === 'cancelled') continue;
        if (e.recurringEventId && byId.get(e.recurringEventId as string)?.status === 'cancelled') continue;
        const stamp = stampFromProperties((e.extendedProperties as { private?: Record<string, string> } | undefined)?.private);
        if (stamp?.syncId !== SYNC_ID) continue;
        const t = (x: unknown) => x as EventTime;
        const series = e.recurrence ? expandSeries(e as never, ZONE, WINDOW.from, WINDOW.to, 1).length > 0 : true;
        out.push({
          id: e.id as string, key: stamp.sourceKey, fingerprint: stamp.fingerprint, inWindow: series,
          content: {
            title: (e.summary as string) ?? '', location: (e.location as string) ?? '', description: (e.description as string) ?? '',
            start: normTime(t(e.start)), end: normTime(t(e.end)), recurrence: googleRecurrence(e.recurrence as string[] | undefined),
          },
        });
      }
      return out;
    },
    async readVisible(room) {
      const owned = new Set(emu.google.listRaw(room).filter((e) => stampFromProperties((e.extendedProperties as { private?: Record<string, string> } | undefined)?.private)?.syncId === SYNC_ID).map((e) => e.id as string));
      const lines: string[] = [];
      let pageToken: string | undefined;
      do {
        const q = new URLSearchParams({ singleEvents: 'true', timeMin: new Date(WINDOW.from).toISOString(), timeMax: new Date(WINDOW.to).toISOString(), maxResults: '2500' });
        if (pageToken) q.set('pageToken', pageToken);
        const res = await fetch(`${emu.url}/calendar/v3/calendars/${encodeURIComponent(room)}/events?${q}`, { headers: { authorization: `Bearer ${emu.google.issueAccessToken()}` } });
        if (!res.ok) throw new Error(`visible list of ${room}: ${res.status} ${await res.text()}`);
        const page = await res.json() as { items: Array<{ id: string; recurringEventId?: string; summary?: string; start: EventTime; end: EventTime }>; nextPageToken?: string };
        for (const e of page.items) if (owned.has(e.id) || (e.recurringEventId && owned.has(e.recurringEventId))) lines.push(visibleLine(e.summary ?? '', e.start, e.end));
        pageToken = page.nextPageToken;
      } while (pageToken);
      return lines;
    },
    foreignProblems() {
      const problems: string[] = [];
      for (const [room, ids] of foreignIds) {
        const now = new Map(emu.google.listRaw(room).map((e) => [e.id as string, JSON.stringify(e)]));
        for (const id of ids) if (now.get(id) !== snapshot.get(`${room} ${id}`)) problems.push(`${room}: foreign event ${id} changed: ${now.get(id) ?? 'GONE'}`);
      }
      return problems;
    },
    copyEvent: (room, id) => emu.google.copyEvent(room, id).id as string,
    async deleteOccurrence(room, id) {
      const was = emu.faults.enabled;
      emu.faults.enabled = false;
      try {
        const q = new URLSearchParams({ timeMin: new Date(WINDOW.from).toISOString(), timeMax: new Date(WINDOW.to).toISOString(), maxResults: '2500' });
        const res = await fetch(`${emu.url}/calendar/v3/calendars/${encodeURIComponent(room)}/events/${encodeURIComponent(id)}/instances?${q}`, { headers: { authorization: `Bearer ${emu.google.issueAccessToken()}` } });
        const stored = new Set(emu.google.listRaw(room).map((e) => e.id as string));
        const plain = ((await res.json()) as { items?: Array<{ id: string }> }).items?.filter((i) => !stored.has(i.id)) ?? [];
        if (plain.length < 2) return undefined;
        emu.google.deleteEvent(room, plain[1].id);
        return plain[1].id;
      } finally {
        emu.faults.enabled = was;
      }
    },
    editEvent(room, id, what) {
      emu.google.editEvent(room, id, what === 'title' ? { summary: 'Renamed by a person' } : what === 'location' ? { location: 'Moved by a person' }
        : { start: { dateTime: '2026-12-24T18:00:00Z', date: null }, end: { dateTime: '2026-12-24T19:00:00Z', date: null } });
    },
    rawJson: (room, id) => {
      const e = emu.google.listRaw(room).find((x) => x.id === id);
      return e ? JSON.stringify(e) : undefined;
    },
    seedDuplicate(room, key, like) {
      emu.google.seedEvent(room, {
        summary: like.content.title, location: like.content.location, start: { dateTime: '2026-12-15T09:00:00Z' }, end: { dateTime: '2026-12-15T10:00:00Z' },
        extendedProperties: { private: stampToProperties({ syncId: SYNC_ID, sourceKey: key, fingerprint: 'f1-stale-duplicate' }) },
      });
    },
  };
  return h;
}

export function graphHarness(emu: Emulator, roomCount: number, seed: number): Harness {
  const graphState = new MemoryKeyValueStore();
  const rooms = Array.from({ length: roomCount }, (_, i) => `chaos-room-${i + 1}@contoso.example`);
  const rng = new Rng(seed ^ 0x64a9);
  const snapshot = new Map<string, string>();
  const foreignIds = new Map<string, string[]>();
  const prop = (id: string, props: Array<{ id: string; value: string }>) => props.find((p) => p.id.toLowerCase() === id.toLowerCase())?.value;
  const h: Harness = {
    kind: 'graph', rooms, routing: roomMap(rooms),
    makeTransport: (lostShare = CHAOS.lostResponse) => new HostileTransport(
      createFetchHttpPort({ token: { getToken: async () => emu.graph.issueToken(), invalidate: () => undefined } }), rng, lostShare),
    // The workers of one deployment share the provider state (created ids, see providers/graph/ownership.ts).
    makeProvider: (t = h.makeTransport()) => new GraphCalendarProvider({ http: t.port, baseUrl: `${emu.url}/v1.0`, defaultTimeZone: ZONE, readRetry, stateStore: graphState }),
    setup() {
      emu.graph.setBatchOrder({ shuffleSeed: seed });
      for (const [i, room] of rooms.entries()) {
        emu.graph.addRoom({ email: room, displayName: `Room ${i + 1}`, capacity: 10 + i });
        const d = dayDate(3 + i);
        const seeded = [
          emu.graph.seedEvent(room, { subject: `Booked by a person ${i}`, location: { displayName: `Room ${i + 1}` }, start: { dateTime: `${d}T09:00:00`, timeZone: 'W. Europe Standard Time' }, end: { dateTime: `${d}T10:00:00`, timeZone: 'W. Europe Standard Time' } }),
          emu.graph.seedEvent(room, { subject: 'Closed', isAllDay: true, start: { dateTime: `${dayDate(20 + i)}T00:00:00`, timeZone: 'UTC' }, end: { dateTime: `${dayDate(21 + i)}T00:00:00`, timeZone: 'UTC' } }),
          emu.graph.seedEvent(room, {
            subject: 'Weekly cleaning', start: { dateTime: `${d}T07:00:00`, timeZone: ZONE }, end: { dateTime: `${d}T07:30:00`, timeZone: ZONE },
            recurrence: { pattern: { type: 'weekly', interval: 1, daysOfWeek: [new Date(`${d}T12:00:00Z`).toLocaleDateString('en-US', { weekday: 'long', timeZone: 'UTC' }).toLowerCase()], firstDayOfWeek: 'monday' }, range: { type: 'numbered', startDate: d, numberOfOccurrences: 10 } },
          }),
          emu.graph.seedEvent(room, {
            subject: 'Other tool', start: { dateTime: `${d}T11:00:00`, timeZone: 'UTC' }, end: { dateTime: `${d}T12:00:00`, timeZone: 'UTC' },
            singleValueExtendedProperties: [
              { id: PROPERTY_IDS.syncId, value: OTHER_SYNC_ID }, { id: PROPERTY_IDS.sourceKey, value: `k1 ${SOURCE_ID} u:s1` }, { id: PROPERTY_IDS.fingerprint, value: 'f1-other' },
            ],
          }),
        ];
        foreignIds.set(room, seeded.map((e) => (e as { id: string }).id));
        for (const e of emu.graph.listRaw(room)) snapshot.set(`${room} ${e.id}`, JSON.stringify(e));
      }
    },
    injectChaos(l) {
      emu.faults.chaos({ api: 'graph', inBatch: false, probability: l.reset, faults: [{ kind: 'reset' }] });
      const top = l.throttle + l.serverError;
      const mix = [{ kind: 'throttle' as const, retryAfter: '0.35' }, { kind: 'throttle' as const, retryAfter: '2.128' }, { kind: 'throttle' as const, retryAfter: '1' }, { kind: 'throttle' as const }, { kind: 'error' as const, status: 503 as const }, { kind: 'error' as const, status: 504 as const }];
      emu.faults.chaos({ api: 'graph', inBatch: false, probability: top / (1 - l.reset), faults: mix });
      emu.faults.chaos({ api: 'graph', inBatch: true, probability: top, faults: mix });
    },
    readOwned(room) {
      const out: RawOwned[] = [];
      for (const e of emu.graph.listRaw(room)) {
        const props = e.singleValueExtendedProperties;
        if (prop(PROPERTY_IDS.syncId, props) !== SYNC_ID) continue;
        const f = e.fields as { subject?: string; location?: { displayName?: string }; body?: { content?: string }; isAllDay?: boolean; start: { dateTime: string; timeZone?: string }; end: { dateTime: string; timeZone?: string }; recurrence?: { range?: { type?: string; numberOfOccurrences?: number } } | null };
        const time = (t: { dateTime: string; timeZone?: string }) => (f.isAllDay ? `D:${t.dateTime.slice(0, 10)}` : instant(t.dateTime, t.timeZone ?? 'UTC'));
        const range = f.recurrence?.range;
        out.push({
          id: e.id, key: prop(PROPERTY_IDS.sourceKey, props) ?? '', fingerprint: prop(PROPERTY_IDS.fingerprint, props) ?? '',
          content: {
            title: f.subject ?? '', location: f.location?.displayName ?? '', description: f.body?.content ?? '',
            start: time(f.start), end: time(f.end),
            recurrence: f.recurrence ? `recurring${range?.type === 'numbered' ? ` x${range.numberOfOccurrences}` : ''}` : '',
          },
        });
      }
      return out;
    },
    async readVisible(room) {
      const owned = new Set(emu.graph.listRaw(room).filter((e) => prop(PROPERTY_IDS.syncId, e.singleValueExtendedProperties) === SYNC_ID).map((e) => e.id));
      const lines: string[] = [];
      let next: string | undefined = `${emu.url}/v1.0/users/${encodeURIComponent(room)}/calendarView?startDateTime=${new Date(WINDOW.from).toISOString()}&endDateTime=${new Date(WINDOW.to).toISOString()}&$top=1000`;
      while (next) {
        const res = await fetch(next, { headers: { authorization: `Bearer ${emu.graph.issueToken()}`, prefer: `outlook.timezone="${ZONE}"` } });
        if (!res.ok) throw new Error(`calendarView of ${room}: ${res.status} ${await res.text()}`);
        const page = await res.json() as { value: Array<{ id: string; seriesMasterId?: string; subject?: string; isAllDay?: boolean; start: { dateTime: string }; end: { dateTime: string } }>; '@odata.nextLink'?: string };
        for (const e of page.value) {
          if (!owned.has(e.id) && !(e.seriesMasterId && owned.has(e.seriesMasterId))) continue;
          const t = (x: { dateTime: string }): EventTime => (e.isAllDay ? { date: x.dateTime.slice(0, 10) } : { dateTime: x.dateTime.replace(/\.\d+$/, ''), timeZone: ZONE });
          lines.push(visibleLine(e.subject ?? '', t(e.start), t(e.end)));
        }
        next = page['@odata.nextLink'];
      }
      return lines;
    },
    foreignProblems() {
      const problems: string[] = [];
      for (const [room, ids] of foreignIds) {
        const now = new Map(emu.graph.listRaw(room).map((e) => [e.id, JSON.stringify(e)]));
        for (const id of ids) if (now.get(id) !== snapshot.get(`${room} ${id}`)) problems.push(`${room}: foreign event ${id} changed: ${now.get(id) ?? 'GONE'}`);
      }
      return problems;
    },
    copyEvent: (room, id) => emu.graph.copyEvent(room, id).id as string,
    deleteOccurrence: async () => undefined, // not detected on Microsoft 365 (docs/sync.md, Known limits)
    editEvent(room, id, what) {
      emu.graph.editEvent(room, id, what === 'title' ? { subject: 'Renamed by a person' } : what === 'location' ? { location: { displayName: 'Moved by a person' } }
        : { start: { dateTime: '2026-12-24T18:00:00', timeZone: 'UTC' }, end: { dateTime: '2026-12-24T19:00:00', timeZone: 'UTC' } });
    },
    rawJson: (room, id) => {
      const e = emu.graph.listRaw(room).find((x) => x.id === id);
      return e ? JSON.stringify(e) : undefined;
    },
    seedDuplicate(room, key, like) {
      emu.graph.seedEvent(room, {
        subject: like.content.title, start: { dateTime: '2026-12-15T09:00:00', timeZone: 'UTC' }, end: { dateTime: '2026-12-15T10:00:00', timeZone: 'UTC' },
        singleValueExtendedProperties: [
          { id: PROPERTY_IDS.syncId, value: SYNC_ID }, { id: PROPERTY_IDS.sourceKey, value: key }, { id: PROPERTY_IDS.fingerprint, value: 'f1-stale-duplicate' },
        ],
      });
    },
  };
  return h;
}

export function chaosPolicy(): SyncPolicy {
  return { syncId: SYNC_ID, window: { from: WINDOW.from, to: WINDOW.to }, floatingTimeZone: ZONE, reportForeign: false };
}
