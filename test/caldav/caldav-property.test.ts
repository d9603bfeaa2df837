/**
 * The planner's convergence property, through the CalDAV provider into REAL Radicale and Xandikos
 * (test/unit/plan.property.test.ts does the same against the in-memory provider).
 *
 * Each run: a fresh calendar holding foreign resources (a person's event, a person's copy that
 * carries our stamp in another file, another sync's event), then a random sequence of small feeds
 * — single events and series (RRULE with EXDATEs and overridden instances), zoned, UTC, all-day
 * and floating, some cancelled — each synced with syncCalendars (listing by calendar-query or by
 * sync-collection, chosen at random). After every feed:
 *   - the calendar's owned events equal the feed's, read back with ical.js (an independent
 *     iCalendar reader, not the code under test) and compared with a model built from the
 *     generator, not from the parser: same UIDs, titles, start/end in the source's form (TZID,
 *     UTC, floating, date), RRULE, EXDATEs, overrides; no duplicates and nothing else ours;
 *   - a re-sync of the same feed plans nothing and sends no PUT or DELETE;
 *   - the foreign resources are byte for byte what they were, with the same ETags.
 */
import fc from 'fast-check';
import ICAL from 'ical.js';
import { parseIcs } from '../../core/ics/parse';
import { CalDavCalendarProvider } from '../../providers/caldav';
import type { HttpPort } from '../../providers/port';
import { MemoryKeyValueStore } from '../../providers/state';
import { syncCalendars } from '../../providers/sync';
import { caldavServersWanted, CalDavTestServer, SERVER_NAMES, type ServerName } from './servers';

const NOW = Date.UTC(2026, 2, 2, 6, 0, 0);
const SYNC_ID = 'caldav-property';
const FAST_RETRY = { maxRetries: 1, baseDelayMs: 5, maxDelayMs: 10 };
/** Runs per server: 2 × 12 = 24 random feed sequences (about a minute on 2 cores). */
const RUNS = Number(process.env.CALDAV_PROPERTY_RUNS ?? 12);
// A fixed seed, so that CI is repeatable; CALDAV_PROPERTY_SEED=random explores, and a failure's
// printed seed and path (CALDAV_PROPERTY_SEED, CALDAV_PROPERTY_PATH) replay it.
const SEED = process.env.CALDAV_PROPERTY_SEED ?? '20261207';
const REPLAY = { ...(SEED === 'random' ? {} : { seed: Number(SEED) }), ...(process.env.CALDAV_PROPERTY_PATH ? { path: process.env.CALDAV_PROPERTY_PATH } : {}) };
const UIDS = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'];

type Kind = 'zoned' | 'utc' | 'floating' | 'allday';
interface Override { index: number; title: string }
interface GenEvent {
  uid: string;
  kind: Kind;
  day: number;
  hour: number;
  title: string;
  cancelled: boolean;
  category?: string;
  series?: { freq: 'DAILY' | 'WEEKLY'; count: number; exdates: number[]; overrides: Override[] };
}

const arbSeries = fc.record({ freq: fc.constantFrom('DAILY' as const, 'WEEKLY' as const), count: fc.integer({ min: 2, max: 4 }), ex: fc.array(fc.nat(), { maxLength: 2 }), ov: fc.array(fc.record({ n: fc.nat(), title: fc.constantFrom('Moved', 'Exam') }), { maxLength: 2 }) })
  .map(({ freq, count, ex, ov }) => {
    // EXDATEs and overrides on instances 1..count-1 (the first occurrence stays), never on the same one.
    const exdates = [...new Set(ex.map((n) => 1 + (n % (count - 1))))].sort((a, b) => a - b);
    const overrides: Override[] = [];
    for (const o of ov) {
      const index = 1 + (o.n % (count - 1));
      if (!exdates.includes(index) && !overrides.some((x) => x.index === index)) overrides.push({ index, title: o.title });
    }
    return { freq, count, exdates, overrides };
  });

const arbEvent: fc.Arbitrary<GenEvent> = fc.record({
  uid: fc.constantFrom(...UIDS),
  kind: fc.constantFrom<Kind>('zoned', 'utc', 'floating', 'allday'),
  day: fc.integer({ min: 1, max: 20 }),
  hour: fc.integer({ min: 7, max: 17 }),
  title: fc.constantFrom('Lecture', 'Lab', 'Seminar; Physics'),
  cancelled: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  category: fc.option(fc.constantFrom('Lectures', 'Exams,Finals'), { nil: undefined }),
  series: fc.option(arbSeries, { nil: undefined, freq: 2 }),
}).map((e) => (e.category === undefined ? (({ category: _c, ...rest }) => rest)(e) : e) as GenEvent);

/** A feed: up to 5 events with distinct UIDs. */
const arbFeed = fc.uniqueArray(arbEvent, { selector: (e) => e.uid, maxLength: 5 });
const arbScenario = fc.record({ feeds: fc.array(arbFeed, { minLength: 2, maxLength: 3 }), incremental: fc.boolean() });

// --- the model: wall times as the source writes them ---------------------------------------------

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
/** Calendar date `day` days after NOW's date, plus `add` days: [y, m, d]. */
function dateOf(day: number): [number, number, number] {
  const d = new Date(NOW + day * 86_400_000);
  return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
}
/** The form a time has in the source and in ical.js (`tzid|value`, value as ICAL.Time#toString). */
function modelTime(kind: Kind, day: number, hour: number): { ics: string; norm: string } {
  const [y, m, d] = dateOf(day);
  const date = `${y}${pad(m)}${pad(d)}`;
  const iso = `${y}-${pad(m)}-${pad(d)}`;
  if (kind === 'allday') return { ics: `;VALUE=DATE:${date}`, norm: `|${iso}` };
  const t = `${date}T${pad(hour)}0000`;
  const it = `${iso}T${pad(hour)}:00:00`;
  if (kind === 'zoned') return { ics: `;TZID=Europe/Berlin:${t}`, norm: `Europe/Berlin|${it}` };
  if (kind === 'utc') return { ics: `:${t}Z`, norm: `|${it}Z` };
  return { ics: `:${t}`, norm: `|${it}` };
}

const step = (e: GenEvent) => (e.series?.freq === 'WEEKLY' ? 7 : 1);
const startOf = (e: GenEvent, i = 0) => modelTime(e.kind, e.day + i * step(e), e.hour);
const endOf = (e: GenEvent, i = 0) => (e.kind === 'allday' ? modelTime(e.kind, e.day + i * step(e) + 1, 0) : modelTime(e.kind, e.day + i * step(e), e.hour + 1));
/** An override moves its instance by 2 hours (all-day: keeps the date) and renames it. */
const movedStart = (e: GenEvent, i: number) => (e.kind === 'allday' ? startOf(e, i) : modelTime(e.kind, e.day + i * step(e), e.hour + 2));
const movedEnd = (e: GenEvent, i: number) => (e.kind === 'allday' ? endOf(e, i) : modelTime(e.kind, e.day + i * step(e), e.hour + 3));

function esc(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,');
}

function feedIcs(events: GenEvent[]): string {
  const lines = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//property//EN'];
  for (const e of events) {
    lines.push('BEGIN:VEVENT', `UID:${e.uid}@prop`, `DTSTAMP:20260301T000000Z`, `DTSTART${startOf(e).ics}`, `DTEND${endOf(e).ics}`, `SUMMARY:${esc(e.title)}`);
    if (e.cancelled) lines.push('STATUS:CANCELLED');
    if (e.category) lines.push(`X-KALTURA-CATEGORY:${esc(e.category)}`);
    if (e.series) {
      lines.push(`RRULE:FREQ=${e.series.freq};COUNT=${e.series.count}`);
      for (const i of e.series.exdates) lines.push(`EXDATE${startOf(e, i).ics}`);
    }
    lines.push('END:VEVENT');
    for (const o of e.series?.overrides ?? []) {
      lines.push('BEGIN:VEVENT', `UID:${e.uid}@prop`, `DTSTAMP:20260301T000000Z`, `RECURRENCE-ID${startOf(e, o.index).ics}`, `DTSTART${movedStart(e, o.index).ics}`, `DTEND${movedEnd(e, o.index).ics}`, `SUMMARY:${o.title}`, 'END:VEVENT');
    }
  }
  lines.push('END:VCALENDAR', '');
  return lines.join('\r\n');
}

/** What the calendar must hold for this feed: key `uid|recurrence-id` → fields. */
function expected(events: GenEvent[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of events) {
    if (e.cancelled) continue;
    const rrule = e.series ? `COUNT=${e.series.count};FREQ=${e.series.freq}` : '';
    const exdates = (e.series?.exdates ?? []).map((i) => startOf(e, i).norm).sort().join(',');
    out[`${e.uid}@prop|`] = [e.title, startOf(e).norm, endOf(e).norm, rrule, exdates, e.category ?? ''].join(' ~ ');
    for (const o of e.series?.overrides ?? []) out[`${e.uid}@prop|${startOf(e, o.index).norm}`] = [o.title, movedStart(e, o.index).norm, movedEnd(e, o.index).norm, '', '', ''].join(' ~ ');
  }
  return out;
}

// --- the independent reader ---------------------------------------------------------------------

function timeNorm(prop: ICAL.Property): string {
  const v = prop.getFirstValue() as ICAL.Time;
  const tzid = prop.getParameter('tzid');
  return `${typeof tzid === 'string' ? tzid : ''}|${v.toString()}`;
}

/** Our VEVENTs in the calendar as `uid|recurrence-id` → fields, read with ical.js; duplicates and strays are errors. */
function ownedOnServer(resources: Map<string, string>, foreign: Set<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [href, text] of resources) {
    if (foreign.has(href)) continue;
    const cal = new ICAL.Component(ICAL.parse(text));
    for (const ve of cal.getAllSubcomponents('vevent')) {
      const where = `${href} (${String(ve.getFirstPropertyValue('uid'))})`;
      if (ve.getFirstPropertyValue('x-calendar-relay-sync-id') !== SYNC_ID) throw new Error(`${where}: a VEVENT without our stamp in a resource we wrote`);
      const uid = String(ve.getFirstPropertyValue('x-calendar-relay-source-uid'));
      const ridProp = ve.getFirstProperty('recurrence-id');
      const key = `${uid}|${ridProp ? timeNorm(ridProp) : ''}`;
      if (key in out) throw new Error(`${where}: ${key} twice on the server`);
      const rrule = ve.getFirstPropertyValue('rrule') as ICAL.Recur | null;
      const exdates = ve.getAllProperties('exdate').flatMap((p) => p.getValues().map((v) => {
        const tzid = p.getParameter('tzid');
        return `${typeof tzid === 'string' ? tzid : ''}|${(v as ICAL.Time).toString()}`;
      })).sort().join(',');
      const category = ve.getFirstPropertyValue('x-kaltura-category');
      out[key] = [
        String(ve.getFirstPropertyValue('summary')), timeNorm(ve.getFirstProperty('dtstart')!), timeNorm(ve.getFirstProperty('dtend')!),
        rrule ? rrule.toString().split(';').sort().join(';') : '', exdates, category === null ? '' : unescapeX(String(category)),
      ].join(' ~ ');
    }
  }
  return out;
}

/** ical.js leaves unknown X- values raw; Radicale and Xandikos escape them as TEXT (docs/providers-caldav.md). */
function unescapeX(v: string): string {
  return v.replace(/\\([\\;,])/g, '$1');
}

function countingPort(inner: HttpPort): HttpPort & { writes: string[] } {
  const port = (async (req) => {
    if (req.method === 'PUT' || req.method === 'DELETE') port.writes.push(`${req.method} ${req.url}`);
    return inner(req);
  }) as HttpPort & { writes: string[] };
  port.writes = [];
  return port;
}

const PERSON = (uid: string, summary: string, extra = '') =>
  `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//person//EN\r\nBEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20260301T000000Z\r\nDTSTART:20260305T100000Z\r\nDTEND:20260305T110000Z\r\nSUMMARY:${summary}\r\n${extra}END:VEVENT\r\nEND:VCALENDAR\r\n`;

const describeServers = caldavServersWanted() ? describe.each(SERVER_NAMES.map((n) => [n])) : describe.skip.each(SERVER_NAMES.map((n) => [n]));

describeServers('planner property through the CalDAV provider on %s', (name) => {
  let server: CalDavTestServer;
  let n = 0;
  beforeAll(async () => {
    server = await CalDavTestServer.start(name as ServerName);
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  test(`random feed sequences converge: owned = desired (read with ical.js), no-op re-sync writes nothing, foreign untouched (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(arbScenario, async ({ feeds, incremental }) => {
        const cal = await server.mkcalendar(`prop-${++n}-${Date.now().toString(36)}`, `Property ${n}`);
        // Foreign resources: a person's event, a person's copy of "our" u1 (stamp copied, other file), another sync's event.
        const foreign = new Map<string, string>([
          [new URL('person.ics', cal).href, PERSON('person@example.org', 'Booked by a person')],
          [new URL('copy.ics', cal).href, PERSON('copy@example.org', 'Lecture', `X-CALENDAR-RELAY-SYNC-ID:${SYNC_ID}\r\nX-CALENDAR-RELAY-KEY:k1 prop u:u1@prop\r\nX-CALENDAR-RELAY-FINGERPRINT:f1-x\r\n`)],
          [new URL('other-sync.ics', cal).href, PERSON('other@example.org', 'Other sync', 'X-CALENDAR-RELAY-SYNC-ID:someone-else\r\nX-CALENDAR-RELAY-KEY:k1 prop u:u2@prop\r\nX-CALENDAR-RELAY-FINGERPRINT:f1-y\r\n')],
        ]);
        for (const [url, text] of foreign) expect((await server.put(url, text)).status).toBe(201);
        const foreignBefore = await Promise.all([...foreign.keys()].map((u) => server.get(u)));
        const store = new MemoryKeyValueStore();
        const provider = (http: HttpPort) => new CalDavCalendarProvider({ http, baseUrl: server.url, now: () => NOW, readRetry: FAST_RETRY, ...(incremental ? { listMode: 'incremental' as const, stateStore: store } : {}) });
        const sync = (http: HttpPort, text: string) => {
          const parsed = parseIcs(text, { sourceId: 'prop' });
          expect(parsed.errors).toEqual([]);
          return syncCalendars({ provider: provider(http), desired: parsed.events, routing: { target: cal }, policy: { syncId: SYNC_ID, allowEmptySource: true, force: true }, now: NOW, applyOptions: { retry: FAST_RETRY, sleep: async () => undefined } });
        };
        for (const [k, events] of feeds.entries()) {
          const text = feedIcs(events);
          const r = await sync(server.http, text);
          expect({ feed: k, ok: r.ok, failed: r.failedCalendars }).toEqual({ feed: k, ok: true, failed: [] });
          expect(ownedOnServer(await server.resources(cal), new Set(foreign.keys()))).toEqual(expected(events));
          // The same feed again: nothing to plan, nothing sent.
          const port = countingPort(server.http);
          const again = await sync(port, text);
          expect({ feed: k, counts: again.plan.counts, writes: port.writes }).toMatchObject({ feed: k, counts: { create: 0, update: 0, delete: 0 }, writes: [] });
          const foreignNow = await Promise.all([...foreign.keys()].map((u) => server.get(u)));
          expect(foreignNow.map((f) => [f.status, f.body, f.etag])).toEqual(foreignBefore.map((f) => [f.status, f.body, f.etag]));
        }
      }),
      {
        numRuns: RUNS,
        endOnFailure: true,
        ...REPLAY,
        examples: [
          // Found by this property (seed -1122790316): an override the source drops on a day the new
          // series also has must leave the resource, not stay as a copy of the occurrence.
          [{
            incremental: false,
            feeds: [
              [{ uid: 'u5', kind: 'allday', day: 4, hour: 17, title: 'Lecture', cancelled: false, category: 'Exams,Finals', series: { freq: 'WEEKLY', count: 4, exdates: [1], overrides: [{ index: 2, title: 'Exam' }] } }],
              [{ uid: 'u5', kind: 'allday', day: 17, hour: 16, title: 'Seminar; Physics', cancelled: false, category: 'Lectures', series: { freq: 'DAILY', count: 3, exdates: [], overrides: [] } }],
            ],
          }],
        ],
      },
    );
  }, 150_000);
});
