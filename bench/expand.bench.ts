/**
 * Expansion benchmark (issue 2): every event of the 20,000-VEVENT feed expanded over one year,
 * times converted to UTC, versus ical.js's own iterator used correctly (components grouped by
 * UID, exceptions related once, the VTIMEZONE registered), in the same run.
 */
import ICAL from 'ical.js';
import { parseIcs } from '../core/ics/parse';
import { expandOccurrences } from '../core/recurrence';
import { eventTimeToUtc } from '../core/time';
import { generateFeed } from './feed-generator';
import { medianMs, report } from './measure';

const FROM = Date.parse('2026-01-01T00:00:00Z');
const TO = Date.parse('2027-01-01T00:00:00Z');

/** ical.js used correctly: parse once, register zones, group by UID, relate exceptions once. */
function icalJsPrepare(text: string): ICAL.Event[] {
  const root = new ICAL.Component(ICAL.parse(text));
  for (const tz of root.getAllSubcomponents('vtimezone')) ICAL.TimezoneService.register(tz);
  const byUid = new Map<string, ICAL.Component[]>();
  for (const ve of root.getAllSubcomponents('vevent')) {
    const uid = String(ve.getFirstPropertyValue('uid'));
    const list = byUid.get(uid);
    if (list) list.push(ve);
    else byUid.set(uid, [ve]);
  }
  const events: ICAL.Event[] = [];
  for (const comps of byUid.values()) {
    const master = comps.find((c) => !c.hasProperty('recurrence-id')) ?? comps[0];
    const event = new ICAL.Event(master, { strictExceptions: true });
    for (const c of comps) if (c !== master) event.relateException(c);
    events.push(event);
  }
  return events;
}

function icalJsExpand(events: ICAL.Event[]): number {
  const from = ICAL.Time.fromJSDate(new Date(FROM), true);
  const to = ICAL.Time.fromJSDate(new Date(TO), true);
  let count = 0;
  for (const event of events) {
    if (!event.isRecurring()) {
      const s = event.startDate.toUnixTime();
      if (s < to.toUnixTime() && event.endDate.toUnixTime() > from.toUnixTime()) count++;
      continue;
    }
    const it = event.iterator();
    for (let next = it.next(); next; next = it.next()) {
      if (next.compare(to) >= 0) break;
      const details = event.getOccurrenceDetails(next);
      // UTC conversion of both ends, as ours does.
      details.startDate.toUnixTime();
      if (details.endDate.toUnixTime() > from.toUnixTime()) count++;
    }
  }
  return count;
}

export function runExpandBench(): boolean {
  const feed = generateFeed({ events: 20_000 });
  const events = parseIcs(feed).events;
  let ourCount = 0;
  const ours = medianMs(() => {
    const result = expandOccurrences(events, FROM, TO);
    let checksum = 0;
    for (const o of result.occurrences) checksum += eventTimeToUtc(o.start) + eventTimeToUtc(o.end);
    ourCount = result.occurrences.length;
    return checksum;
  }, 3);
  let theirCount = 0;
  const prepared = icalJsPrepare(feed);
  const icaljs = medianMs(() => { theirCount = icalJsExpand(prepared); }, 3);
  if (ourCount !== theirCount) console.log(`  note: occurrence counts differ: ours ${ourCount}, ical.js ${theirCount}`);
  return report('expand: 20,000 events over one year, converted to UTC', [
    ['occurrences', `${ourCount}`],
    ['ical.js RecurIterator grouped by UID (baseline, parse done beforehand)', `${icaljs.toFixed(0)} ms`],
    ['calendar-relay expandOccurrences (parse done beforehand)', `${ours.toFixed(0)} ms`],
  ], [
    { name: 'ours / ical.js', value: ours / icaljs, limit: 1, kind: 'max', unit: '×' },
  ]);
}
